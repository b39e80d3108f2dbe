//! Shared test support: a seeded PRNG (splitmix64), the real OSM key file,
//! a reference ordering for every key type (floats by `total_cmp`, never by
//! the crate's own `to_ordered`), key distributions, and the structural
//! assertions on `stats()` that hold for every map.
//!
//! Each integration test binary includes this module and uses a different
//! part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::cmp::Ordering;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alex::{AlexMap, Config, Key, Layout};

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast and seedable. Its output
/// function is a bijection of the state, so `mix(i)` for distinct `i` gives
/// distinct values.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

/// The splitmix64 output function: a bijection on `u64`.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        let out = mix(self.state);
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        out
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal deviate (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// The keys of a SOSD file (LE u64 count, then that many sorted distinct LE u64
/// keys), checked; panics naming `path` on a malformed file.
pub fn sosd_keys(path: &str, bytes: &[u8]) -> Vec<u64> {
    assert!(bytes.len() >= 8, "{path}: shorter than its header");
    let count = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(
        bytes.len(),
        8 + 8 * count,
        "{path}: size does not match its count"
    );
    let keys: Vec<u64> = bytes[8..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "{path}: keys are not sorted and distinct"
    );
    keys
}

/// The real key set shared by the project, or `None` with a printed note when the
/// file is absent.
pub fn osm_keys() -> Option<Vec<u64>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/osm_coastline_s2cellids_u64"
    );
    match std::fs::read(path) {
        Ok(bytes) => Some(sosd_keys(path, &bytes)),
        Err(e) => {
            println!("note: skipping the OSM key set, cannot read {path}: {e}");
            None
        }
    }
}

/// `f64` ordered by `total_cmp` (so `-0.0 < 0.0`), for the reference map.
#[derive(Debug, Clone, Copy)]
pub struct TotalF64(pub f64);
impl PartialEq for TotalF64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for TotalF64 {}
impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TotalF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// `f32` ordered by `total_cmp`.
#[derive(Debug, Clone, Copy)]
pub struct TotalF32(pub f32);
impl PartialEq for TotalF32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for TotalF32 {}
impl PartialOrd for TotalF32 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TotalF32 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A key type under test, with an ordering for the reference `BTreeMap`
/// that does not go through the crate, and generators for the key
/// distributions.
pub trait TestKey: Key + PartialEq {
    /// The reference map's key.
    type Ord: Ord + Copy + Debug;
    fn ord(self) -> Self::Ord;
    fn unord(o: Self::Ord) -> Self;
    /// Any bit pattern to a valid key, covering the whole type (NaN patterns
    /// become some other valid key).
    fn from_bits_any(x: u64) -> Self;
    /// An integer to the nearest key (saturating at the type's ends).
    fn from_int(x: i128) -> Self;
    /// A non-negative real to a key (saturating).
    fn from_real(x: f64) -> Self;
    /// Whether the type is a float.
    const IS_FLOAT: bool;
    /// Range of integers `from_int` maps to distinct keys.
    const INT_LO: i128;
    const INT_HI: i128;
    /// Scale of the lognormal distribution (keys `exp(2 N(0,1)) * scale`).
    const LOGNORMAL_SCALE: f64;
    /// Boundary values of the type.
    fn extremes() -> Vec<Self>;
    /// A key near `self`: a few representable steps away (floats) or a few
    /// integers away (integers), saturating.
    fn nudge(self, delta: i64) -> Self;
}

macro_rules! int_test_key {
    ($t:ty, $shift:expr, $scale:expr, [$($extra:expr),* $(,)?]) => {
        impl TestKey for $t {
            type Ord = $t;
            fn ord(self) -> $t {
                self
            }
            fn unord(o: $t) -> $t {
                o
            }
            fn from_bits_any(x: u64) -> $t {
                (x >> $shift) as $t
            }
            fn from_int(x: i128) -> $t {
                x.clamp(<$t>::MIN as i128, <$t>::MAX as i128) as $t
            }
            fn from_real(x: f64) -> $t {
                x as $t
            }
            const IS_FLOAT: bool = false;
            const INT_LO: i128 = <$t>::MIN as i128;
            const INT_HI: i128 = <$t>::MAX as i128;
            const LOGNORMAL_SCALE: f64 = $scale;
            fn extremes() -> Vec<$t> {
                let mut v: Vec<$t> = vec![<$t>::MIN, <$t>::MAX, 0, 1, <$t>::MIN + 1, <$t>::MAX - 1];
                $(v.push(Self::from_int($extra));)*
                v
            }
            fn nudge(self, delta: i64) -> $t {
                Self::from_int(self as i128 + delta as i128)
            }
        }
    };
}

const P53: i128 = 1 << 53;
const P63: i128 = 1 << 63;
const P64: i128 = 1 << 64;

int_test_key!(
    u64,
    0,
    1e9,
    [
        P53 - 1,
        P53,
        P53 + 1,
        P53 + 2,
        3 * P53,
        P63 - 1,
        P63,
        P63 + 1,
        P64 - 2048,
        P64 - 2049,
        P64 - 4097,
        1 << 32,
        (1 << 32) - 1,
    ]
);
int_test_key!(
    i64,
    0,
    1e9,
    [
        P53 - 1,
        P53,
        P53 + 1,
        -P53,
        -P53 - 1,
        -P53 + 1,
        -1,
        P63 - 1025,
        -P63 + 1025,
        1 << 32,
        -(1 << 32),
    ]
);
int_test_key!(
    u32,
    32,
    1e4,
    [1 << 24, (1 << 24) + 1, 1 << 31, (1 << 31) - 1, 1 << 16]
);
int_test_key!(
    i32,
    32,
    1e4,
    [-1, 1 << 24, -(1 << 24), (1 << 24) + 1, -(1 << 31) + 2]
);

impl TestKey for f64 {
    type Ord = TotalF64;
    fn ord(self) -> TotalF64 {
        TotalF64(self)
    }
    fn unord(o: TotalF64) -> f64 {
        o.0
    }
    fn from_bits_any(x: u64) -> f64 {
        let f = f64::from_bits(x);
        if f.is_nan() {
            // Keep the sign and spread over the finite range.
            let g = (x as i64) as f64;
            if x & 1 == 0 {
                g
            } else {
                g * 1e300
            }
        } else {
            f
        }
    }
    fn from_int(x: i128) -> f64 {
        x as f64
    }
    fn from_real(x: f64) -> f64 {
        x
    }
    const IS_FLOAT: bool = true;
    const INT_LO: i128 = -(1 << 52);
    const INT_HI: i128 = 1 << 52;
    const LOGNORMAL_SCALE: f64 = 1.0;
    fn extremes() -> Vec<f64> {
        vec![
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::MAX,
            f64::MIN,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0x000F_FFFF_FFFF_FFFF),
            f64::EPSILON,
            1.0,
            -1.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            1e300,
            -1e300,
        ]
    }
    fn nudge(self, delta: i64) -> f64 {
        // Step through the total order by bit patterns, staying off NaN.
        const SIGN: u64 = 1 << 63;
        let t = |f: f64| {
            let b = f.to_bits();
            if b & SIGN != 0 {
                -((b & !SIGN) as i128) - 1
            } else {
                b as i128
            }
        };
        let inv = |i: i128| {
            if i < 0 {
                f64::from_bits(((-i - 1) as u64) | SIGN)
            } else {
                f64::from_bits(i as u64)
            }
        };
        let lo = t(f64::NEG_INFINITY);
        let hi = t(f64::INFINITY);
        inv((t(self) + delta as i128).clamp(lo, hi))
    }
}

impl TestKey for f32 {
    type Ord = TotalF32;
    fn ord(self) -> TotalF32 {
        TotalF32(self)
    }
    fn unord(o: TotalF32) -> f32 {
        o.0
    }
    fn from_bits_any(x: u64) -> f32 {
        let bits = (x >> 32) as u32;
        let f = f32::from_bits(bits);
        if f.is_nan() {
            ((bits as i32) as f32) * if x & 1 == 0 { 1.0 } else { 1e28 }
        } else {
            f
        }
    }
    fn from_int(x: i128) -> f32 {
        x as f32
    }
    fn from_real(x: f64) -> f32 {
        x as f32
    }
    const IS_FLOAT: bool = true;
    const INT_LO: i128 = -(1 << 23);
    const INT_HI: i128 = 1 << 23;
    const LOGNORMAL_SCALE: f64 = 1.0;
    fn extremes() -> Vec<f32> {
        vec![
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::MAX,
            f32::MIN,
            -0.0,
            0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::from_bits(1),
            -f32::from_bits(1),
            f32::from_bits(0x007F_FFFF),
            f32::EPSILON,
            1.0,
            -1.0,
            16_777_216.0,
            16_777_218.0,
        ]
    }
    fn nudge(self, delta: i64) -> f32 {
        let t = |f: f32| {
            let b = f.to_bits() as i32 as i64;
            if b < 0 {
                -(b & 0x7FFF_FFFF) - 1
            } else {
                b
            }
        };
        let inv = |i: i64| {
            if i < 0 {
                f32::from_bits(((-i - 1) as u32) | 0x8000_0000)
            } else {
                f32::from_bits(i as u32)
            }
        };
        let lo = t(f32::NEG_INFINITY);
        let hi = t(f32::INFINITY);
        inv(t(self).saturating_add(delta).clamp(lo, hi))
    }
}

/// The key distributions every differential run is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dist {
    /// Uniform over the type's bit patterns.
    Uniform,
    /// `exp(2 N(0,1)) * scale`: heavily skewed, with saturation at the top.
    Lognormal,
    /// Increasing consecutive integers from a random base (appends).
    Sequential,
    /// Decreasing consecutive integers (prepends).
    ReverseSequential,
    /// Random integers from a small interval: the map fills it densely.
    Dense,
    /// Dense runs around a few random centres, huge gaps between them.
    Clustered,
    /// The type's boundary values and their close neighbours.
    Extreme,
    /// Samples of the real OSM key set.
    Osm,
}

pub const ALL_DISTS: [Dist; 8] = [
    Dist::Uniform,
    Dist::Lognormal,
    Dist::Sequential,
    Dist::ReverseSequential,
    Dist::Dense,
    Dist::Clustered,
    Dist::Extreme,
    Dist::Osm,
];

/// A stateful key source of one distribution.
pub struct KeyGen<K: TestKey> {
    pub dist: Dist,
    counter: i128,
    base: i128,
    span: i128,
    centres: Vec<K>,
    extremes: Vec<K>,
    osm: Option<Arc<Vec<u64>>>,
}

impl<K: TestKey> KeyGen<K> {
    /// A source of `dist` sized for about `expected_keys` distinct keys.
    /// `Dist::Osm` needs `osm`; without it the caller should skip.
    pub fn new(
        dist: Dist,
        expected_keys: usize,
        rng: &mut SplitMix64,
        osm: Option<Arc<Vec<u64>>>,
    ) -> Self {
        let room = (expected_keys as i128).max(64) * 4;
        let lo = K::INT_LO;
        let hi = K::INT_HI;
        // A base with room on both sides: sometimes near the low end, sometimes
        // at a random place (which for 64-bit types is usually above 2^53),
        // sometimes near the high end.
        let base = match rng.below(4) {
            0 => lo + room,
            1 => hi - room,
            2 => 0i128.clamp(lo + room, hi - room),
            _ => {
                let width = (hi - lo - 2 * room) as u128;
                lo + room
                    + (((rng.next_u64() as u128) << 64 | rng.next_u64() as u128) % width) as i128
            }
        };
        // Cluster centres: random integers with room around them, or for
        // floats random bit patterns (any magnitude).
        let centres = (0..8 + rng.below(24))
            .map(|_| {
                if K::IS_FLOAT {
                    K::from_bits_any(rng.next_u64())
                } else {
                    let width = (hi - lo - 2 * room) as u128;
                    K::from_int(lo + room + (rng.next_u64() as u128 % width) as i128)
                }
            })
            .collect();
        let mut extremes = K::extremes();
        extremes.push(K::MIN_KEY);
        extremes.push(K::MAX_KEY);
        KeyGen {
            dist,
            counter: 0,
            base,
            span: (expected_keys as i128 / 2).max(16),
            centres,
            extremes,
            osm,
        }
    }

    pub fn next(&mut self, rng: &mut SplitMix64) -> K {
        match self.dist {
            Dist::Uniform => K::from_bits_any(rng.next_u64()),
            Dist::Lognormal => K::from_real((2.0 * rng.normal()).exp() * K::LOGNORMAL_SCALE),
            Dist::Sequential => {
                self.counter += 1;
                K::from_int(self.base + self.counter)
            }
            Dist::ReverseSequential => {
                self.counter += 1;
                K::from_int(self.base - self.counter)
            }
            Dist::Dense => K::from_int(self.base + rng.below(self.span as usize) as i128),
            Dist::Clustered => {
                let centre = self.centres[rng.below(self.centres.len())];
                centre.nudge(rng.below(512) as i64)
            }
            Dist::Extreme => {
                let e = self.extremes[rng.below(self.extremes.len())];
                if rng.chance(0.4) {
                    e
                } else {
                    e.nudge(rng.below(64) as i64 - 32)
                }
            }
            Dist::Osm => {
                let keys = self.osm.as_ref().expect("Dist::Osm without the key file");
                K::from_bits_any(keys[rng.below(keys.len())])
            }
        }
    }
}

/// The five configurations every differential run covers, with names.
pub fn all_configs() -> Vec<(&'static str, Config)> {
    vec![
        ("default", Config::default()),
        ("read_mostly", Config::read_mostly()),
        ("single_level", Config::prototype_single_level()),
        ("fixed_leaves_64", Config::prototype_fixed_leaves(64)),
        ("small_nodes", small_nodes()),
    ]
}

/// Tiny data nodes and fan-outs: forces many splits and deep trees.
pub fn small_nodes() -> Config {
    Config {
        max_data_node_slots: 64,
        max_fanout_log2: 3,
        ..Config::default()
    }
}

/// Asserts what `stats()` must say of any map, whatever its shape: counts
/// agree with `len`, bytes are accounted by what they hold, and the
/// configuration's documented limits hold.
pub fn assert_stats<K: Key, V>(map: &AlexMap<K, V>, ctx: &str) {
    let s = map.stats();
    let n = map.len();
    assert_eq!(s.num_keys, n, "{ctx}: stats.num_keys != len: {s:?}");
    assert_eq!(
        s.heap.keys,
        n * size_of::<K>(),
        "{ctx}: heap.keys != len * size_of K: {s:?}"
    );
    assert_eq!(
        s.heap.values,
        n * size_of::<V>(),
        "{ctx}: heap.values != len * size_of V: {s:?}"
    );
    assert!(s.data_slots >= n, "{ctx}: fewer slots than keys: {s:?}");
    assert_eq!(
        s.heap.slack,
        (s.data_slots - n) * (size_of::<K>() + size_of::<V>()),
        "{ctx}: heap.slack is not the key+value room of the empty slots: {s:?}"
    );
    assert!(s.height >= 1, "{ctx}: height 0: {s:?}");
    assert!(
        s.data_nodes >= 1 || n == 0,
        "{ctx}: keys but no data node: {s:?}"
    );
    if s.inner_nodes == 0 {
        assert!(
            s.height <= 1,
            "{ctx}: height {} without inner nodes",
            s.height
        );
    } else {
        assert!(s.height >= 2, "{ctx}: inner nodes but height {}", s.height);
        assert!(
            s.inner_child_slots + 1 >= s.data_nodes + s.inner_nodes,
            "{ctx}: fewer child slots than non-root nodes: {s:?}"
        );
    }
    if n > 0 {
        assert!(
            s.heap.total() > 0,
            "{ctx}: non-empty map with no heap: {s:?}"
        );
        assert!(
            s.min_keys_per_data_node <= s.max_keys_per_data_node,
            "{ctx}: {s:?}"
        );
        assert!(s.max_keys_per_data_node <= n, "{ctx}: {s:?}");
        assert!(
            s.mean_keys_per_data_node >= s.min_keys_per_data_node as f64 - 1e-9
                && s.mean_keys_per_data_node <= s.max_keys_per_data_node as f64 + 1e-9,
            "{ctx}: mean keys per node outside [min, max]: {s:?}"
        );
        let mean = n as f64 / s.data_nodes as f64;
        assert!(
            (s.mean_keys_per_data_node - mean).abs() <= 1e-6 * mean.max(1.0),
            "{ctx}: mean keys per node != len / data_nodes: {s:?}"
        );
        let density = n as f64 / s.data_slots as f64;
        assert!(
            (s.avg_density - density).abs() <= 1e-9 && s.avg_density > 0.0 && s.avg_density <= 1.0,
            "{ctx}: avg_density != len / data_slots: {s:?}"
        );
        assert!(
            (s.bytes_per_key() - s.heap.total() as f64 / n as f64).abs() < 1e-9,
            "{ctx}: bytes_per_key != total / len"
        );
    } else {
        assert_eq!(s.bytes_per_key(), 0.0);
    }
    let c = map.config();
    if c.layout == Layout::SingleLevel {
        assert!(
            s.height <= 2,
            "{ctx}: single-level layout at height {}: {s:?}",
            s.height
        );
        assert!(
            s.inner_nodes <= 1,
            "{ctx}: single-level layout with {} inner nodes",
            s.inner_nodes
        );
    }
    // The limit binds in the adaptive layout; a single-level root can split a
    // node only by doubling its fan-out, so there it may be exceeded (see
    // `Config::max_keys_per_data_node`).
    if let (Some(limit), Layout::Adaptive) = (c.max_keys_per_data_node, c.layout) {
        assert!(
            s.max_keys_per_data_node <= limit,
            "{ctx}: a data node holds {} keys, over the limit {limit}",
            s.max_keys_per_data_node
        );
    }
    // The same exception for the slot limit.
    assert!(
        s.data_slots <= s.data_nodes * c.max_data_node_slots
            || n == 0
            || c.layout == Layout::SingleLevel,
        "{ctx}: data slots {} over data_nodes {} * max_data_node_slots {}",
        s.data_slots,
        s.data_nodes,
        c.max_data_node_slots
    );
    if c.layout == Layout::Adaptive {
        assert!(
            s.inner_child_slots <= s.inner_nodes << c.max_fanout_log2,
            "{ctx}: inner child slots {} over inner_nodes {} * 2^max_fanout_log2 {}",
            s.inner_child_slots,
            s.inner_nodes,
            c.max_fanout_log2
        );
    }
}

/// What a watched test is doing, for the watchdog's message.
#[derive(Clone, Default)]
pub struct Progress(Arc<ProgressInner>);

#[derive(Default)]
pub struct ProgressInner {
    stage: Mutex<String>,
    ops: AtomicU64,
    last_key: AtomicU64,
    last_op: Mutex<&'static str>,
}

impl Progress {
    pub fn stage(&self, stage: impl Into<String>) {
        *self.0.stage.lock().unwrap_or_else(|e| e.into_inner()) = stage.into();
        self.0.ops.store(0, AtomicOrdering::Relaxed);
    }

    /// Records an operation: its number in the stage, its name, and the
    /// key's ordered image.
    pub fn op(&self, ops: u64, name: &'static str, key_image: u64) {
        self.0.ops.store(ops, AtomicOrdering::Relaxed);
        self.0.last_key.store(key_image, AtomicOrdering::Relaxed);
        if let Ok(mut last) = self.0.last_op.try_lock() {
            *last = name;
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "stage '{}', operation {} ({}, key image {:#x})",
            self.0.stage.lock().unwrap_or_else(|e| e.into_inner()),
            self.0.ops.load(AtomicOrdering::Relaxed),
            self.0.last_op.lock().unwrap_or_else(|e| e.into_inner()),
            self.0.last_key.load(AtomicOrdering::Relaxed),
        )
    }
}

/// Runs `body` on its own thread and fails the test loudly, naming what was
/// in progress, if it has not finished within `release_secs` seconds (times
/// 20 in debug builds; `ALEX_TEST_WATCHDOG_SECS` overrides). A livelocked
/// index then fails the test instead of stalling the whole run. On time-out
/// the stuck thread is left spinning until the test process exits.
pub fn with_watchdog<F>(release_secs: u64, body: F)
where
    F: FnOnce(Progress) + Send + 'static,
{
    let secs = std::env::var("ALEX_TEST_WATCHDOG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            release_secs * 20
        } else {
            release_secs
        });
    let progress = Progress::default();
    let theirs = progress.clone();
    let (done_tx, done_rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(
            std::thread::current()
                .name()
                .unwrap_or("watched")
                .to_string(),
        )
        .spawn(move || {
            body(theirs);
            let _ = done_tx.send(());
        })
        .expect("spawn the watched test thread");
    match done_rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!(
            "watchdog: no result after {secs} s (livelock or pathological slowness in the index?); {}",
            progress.describe()
        ),
    }
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `catch_unwind` for panics a test expects: they are not printed (and no
/// backtrace is captured for them), while panics on other threads, or
/// outside this call, still go to the previous hook.
pub fn catch_quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET_PANICS.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(false));
    result
}
