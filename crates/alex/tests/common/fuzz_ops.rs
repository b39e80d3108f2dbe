//! Byte-driven differential test of `AlexMap` against `std::collections::BTreeMap`.
//!
//! This file is the body of the `alex_ops` fuzz target (`fuzz/fuzz_targets/alex_ops.rs`
//! includes it by path) and of the stable smoke test `tests/fuzz_smoke.rs`, so CI on
//! stable runs exactly the code the fuzzer runs. It depends on nothing but `alex` and
//! `std`.
//!
//! Input layout: byte 0 picks the configuration (a preset or one built from the next
//! bytes), byte 1 the key type; the rest is a sequence of operations, each an opcode
//! byte followed by its operands. Reading past the end yields zero bytes, and the
//! sequence ends when the input is used up, so every byte string is a valid input.
//!
//! Every operation is applied to both maps and every answer must agree: return values,
//! `len`, range contents read forwards, backwards and from both ends at once,
//! `first`/`last`, bulk-load errors. `check()` runs every [`CHECK_EVERY`] operations
//! and at the end, each time followed by a comparison of the full contents.
//!
//! Keys are drawn so that collisions are likely: small ranges, clustered runs, both ends
//! of the key space, integers around the f64 (or f32) precision edge, keys seen
//! earlier and their neighbours, boundary values, and raw bit patterns. For float keys a
//! NaN must be refused by `try_insert` with `AlexError::NanKey`, leaving the map as it
//! was.
//!
//! Work per input is bounded (operations, map size, bulk-load size, a work budget), so
//! the fuzzer stays fast and the smoke test stays well inside its time limit.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::Bound;

use alex::{AlexError, AlexMap, Config, Layout};

/// Most operations decoded from one input.
const MAX_OPS: usize = 3000;
/// Largest number of keys one bulk load, extend or collect is given.
const MAX_BULK: usize = 4096;
/// Runs of inserts stop growing the map past this many keys.
const MAX_LEN: usize = 8192;
/// Longest run of inserts or removals one operation makes.
const MAX_RUN: usize = 2048;
/// Budget of work units per input (one per operation, plus one per entry a
/// bulk operation, scan or full comparison touches).
const WORK_BUDGET: usize = 400_000;
/// `check()` and a full comparison after every this many operations.
const CHECK_EVERY: usize = 64;
/// Keys remembered for re-use, so removes and lookups hit present keys.
const HISTORY: usize = 64;

/// Runs the operation sequence `data` encodes; panics on any disagreement between
/// `AlexMap` and `BTreeMap` or on a broken invariant.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let config = decode_config(&mut input);
    let trace = std::env::var_os("FUZZ_OPS_TRACE").is_some();
    match input.u8() % 6 {
        0 => Session::<u64>::new(config, trace).run(&mut input),
        1 => Session::<i64>::new(config, trace).run(&mut input),
        2 => Session::<f64>::new(config, trace).run(&mut input),
        3 => Session::<u32>::new(config, trace).run(&mut input),
        4 => Session::<i32>::new(config, trace).run(&mut input),
        _ => Session::<f32>::new(config, trace).run(&mut input),
    }
}

/// The input bytes, read front to back; zeros after the end.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Input { bytes, at: 0 }
    }

    fn is_exhausted(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn u8(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }

    /// A fraction in `[0, 1]`.
    fn unit(&mut self) -> f64 {
        f64::from(self.u8()) / 255.0
    }
}

/// The documented presets, plus valid configurations built from input bytes.
fn decode_config(input: &mut Input) -> Config {
    let config = match input.u8() % 8 {
        0 => Config::default(),
        1 => Config::read_mostly(),
        2 => Config::prototype_single_level(),
        3 => Config::prototype_fixed_leaves(64),
        4 => Config {
            max_data_node_slots: 64,
            max_fanout_log2: 3,
            ..Config::default()
        },
        // Tiny fixed leaves. A single-level root over keys it cannot separate grows to
        // its maximum fan-out, and building one costs time in proportion to it: a
        // maximum below the default 2^21 keeps each input fast.
        5 => Config {
            max_fanout_log2: 8 + u32::from(input.u8() % 6),
            ..Config::prototype_fixed_leaves(2 + usize::from(input.u8() % 15))
        },
        _ => {
            const INIT: [f64; 8] = [0.3, 0.5, 0.6, 0.7, 0.75, 0.9, 0.95, 1.0];
            let layout = if input.u8() % 4 == 0 {
                Layout::SingleLevel
            } else {
                Layout::Adaptive
            };
            let init_density = INIT[usize::from(input.u8() % 8)];
            let max_density = init_density + (1.0 - init_density) * input.unit();
            // Strictly below `init_density`.
            let min_density = init_density * 0.95 * input.unit();
            let max_data_node_slots = 64 << (input.u8() % 5);
            let max_keys_per_data_node = match input.u8() {
                b if b % 3 == 0 => Some(2 + usize::from(b % 63)),
                _ => None,
            };
            // A single-level root too small to separate the keys makes data nodes grow
            // without bound, each insert then costing time in proportion to the map.
            let max_fanout_log2 = match layout {
                Layout::Adaptive => 1 + u32::from(input.u8() % 10),
                Layout::SingleLevel => 8 + u32::from(input.u8() % 6),
            };
            let expected_insert_fraction = input.unit();
            Config {
                layout,
                init_density,
                max_density: max_density.min(1.0),
                min_density,
                max_data_node_slots,
                max_keys_per_data_node,
                max_fanout_log2,
                expected_insert_fraction,
            }
        }
    };
    assert_eq!(
        config.validate(),
        Ok(()),
        "fuzz_ops built an invalid configuration: {config:?}"
    );
    config
}

/// `f64` in the IEEE total order (`-0.0 < +0.0`), for the reference map.
#[derive(Debug, Clone, Copy)]
struct TotalF64(f64);

impl PartialEq for TotalF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
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

/// `f32` in the IEEE total order.
#[derive(Debug, Clone, Copy)]
struct TotalF32(f32);

impl PartialEq for TotalF32 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
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

/// A key type under test: its order for the reference map (never through the crate's
/// own `to_ordered`) and the constructors the key classes need.
trait FuzzKey: alex::Key {
    type Ord: Ord + Copy + Debug;
    /// Bits of a cluster's base above the run inside it.
    const CLUSTER_SHIFT: u32;
    /// The smallest positive integer the model's float arithmetic can no longer tell
    /// from its neighbour (2^53 for 64-bit types, 2^24 for 32-bit ones).
    const PRECISION_EDGE: i128;
    fn ord(self) -> Self::Ord;
    fn is_nan(self) -> bool;
    /// The key nearest to `x` (saturating for integers, rounding for floats).
    fn from_int(x: i128) -> Self;
    /// Any bit pattern (floats may become NaN).
    fn from_raw(bits: u64) -> Self;
    /// `delta` steps along the key order, saturating at the ends, never onto NaN.
    fn step(self, delta: i64) -> Self;
    /// A NaN built from `payload` (`None` for integer types).
    fn nan(payload: u64) -> Option<Self>;
    /// Boundary values of the type.
    fn specials() -> &'static [Self];
}

macro_rules! int_fuzz_key {
    ($t:ty, $shift:expr, $edge:expr, $specials:expr) => {
        impl FuzzKey for $t {
            type Ord = $t;
            const CLUSTER_SHIFT: u32 = $shift;
            const PRECISION_EDGE: i128 = $edge;
            fn ord(self) -> $t {
                self
            }
            fn is_nan(self) -> bool {
                false
            }
            fn from_int(x: i128) -> $t {
                x.clamp(<$t>::MIN as i128, <$t>::MAX as i128) as $t
            }
            fn from_raw(bits: u64) -> $t {
                bits as $t
            }
            fn step(self, delta: i64) -> $t {
                Self::from_int(self as i128 + delta as i128)
            }
            fn nan(_: u64) -> Option<$t> {
                None
            }
            fn specials() -> &'static [$t] {
                $specials
            }
        }
    };
}

int_fuzz_key!(
    u64,
    40,
    1 << 53,
    &[
        0,
        1,
        u64::MAX,
        u64::MAX - 1,
        1 << 53,
        (1 << 53) + 1,
        1 << 63,
        (1 << 63) - 1,
        u32::MAX as u64,
        u64::MAX - 2048,
    ]
);
int_fuzz_key!(
    i64,
    40,
    1 << 53,
    &[
        0,
        -1,
        1,
        i64::MIN,
        i64::MIN + 1,
        i64::MAX,
        i64::MAX - 1,
        1 << 53,
        -(1 << 53),
        -(1 << 53) - 1,
    ]
);
int_fuzz_key!(
    u32,
    20,
    1 << 24,
    &[
        0,
        1,
        u32::MAX,
        u32::MAX - 1,
        1 << 24,
        (1 << 24) + 1,
        1 << 31
    ]
);
int_fuzz_key!(
    i32,
    20,
    1 << 24,
    &[
        0,
        -1,
        1,
        i32::MIN,
        i32::MIN + 1,
        i32::MAX,
        1 << 24,
        -(1 << 24)
    ]
);

/// Position of a float's bit pattern in the total order, as a signed integer
/// (`-0.0` is -1, `+0.0` is 0).
fn total_rank(bits: u64, sign: u64) -> i128 {
    if bits & sign != 0 {
        -i128::from(bits & !sign) - 1
    } else {
        i128::from(bits)
    }
}

fn from_total_rank(rank: i128, sign: u64) -> u64 {
    if rank < 0 {
        ((-rank - 1) as u64) | sign
    } else {
        rank as u64
    }
}

impl FuzzKey for f64 {
    type Ord = TotalF64;
    const CLUSTER_SHIFT: u32 = 40;
    const PRECISION_EDGE: i128 = 1 << 53;
    fn ord(self) -> TotalF64 {
        TotalF64(self)
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    fn from_int(x: i128) -> f64 {
        x as f64
    }
    fn from_raw(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn step(self, delta: i64) -> f64 {
        const SIGN: u64 = 1 << 63;
        let lo = total_rank(f64::NEG_INFINITY.to_bits(), SIGN);
        let hi = total_rank(f64::INFINITY.to_bits(), SIGN);
        let rank = total_rank(self.to_bits(), SIGN) + i128::from(delta);
        f64::from_bits(from_total_rank(rank.clamp(lo, hi), SIGN))
    }
    fn nan(payload: u64) -> Option<f64> {
        // Exponent all ones, a non-zero mantissa, either sign.
        let bits = (payload & (1 << 63)) | (0x7ff << 52) | (payload & ((1 << 52) - 1)) | 1;
        Some(f64::from_bits(bits))
    }
    fn specials() -> &'static [f64] {
        &[
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            -5e-324,
            9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            1e300,
            -1e300,
        ]
    }
}

impl FuzzKey for f32 {
    type Ord = TotalF32;
    const CLUSTER_SHIFT: u32 = 20;
    const PRECISION_EDGE: i128 = 1 << 24;
    fn ord(self) -> TotalF32 {
        TotalF32(self)
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    fn from_int(x: i128) -> f32 {
        x as f32
    }
    fn from_raw(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
    fn step(self, delta: i64) -> f32 {
        const SIGN: u64 = 1 << 31;
        let lo = total_rank(u64::from(f32::NEG_INFINITY.to_bits()), SIGN);
        let hi = total_rank(u64::from(f32::INFINITY.to_bits()), SIGN);
        let rank = total_rank(u64::from(self.to_bits()), SIGN) + i128::from(delta);
        f32::from_bits(from_total_rank(rank.clamp(lo, hi), SIGN) as u32)
    }
    fn nan(payload: u64) -> Option<f32> {
        let p = payload as u32;
        let bits = (p & (1 << 31)) | (0xff << 23) | (p & ((1 << 23) - 1)) | 1;
        Some(f32::from_bits(bits))
    }
    fn specials() -> &'static [f32] {
        &[
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            16_777_216.0,
            16_777_218.0,
        ]
    }
}

/// One run: the map under test, the reference model and the decoding state.
struct Session<K: FuzzKey> {
    config: Config,
    map: AlexMap<K, u32>,
    /// Ordered image -> (key as inserted, value).
    model: BTreeMap<K::Ord, (K, u32)>,
    /// Recently drawn valid keys, re-used so that lookups and removes hit.
    history: Vec<K>,
    history_at: usize,
    next_value: u32,
    ops: usize,
    work: usize,
    trace: bool,
}

/// How a range scan pulls items: front only, back only, or alternating by the bits of
/// a pattern byte.
#[derive(Debug, Clone, Copy)]
enum Pull {
    Forward,
    Backward,
    Mixed(u8),
}

impl<K: FuzzKey> Session<K> {
    fn new(config: Config, trace: bool) -> Self {
        let map = AlexMap::with_config(config.clone()).expect("a validated configuration");
        Session {
            config,
            map,
            model: BTreeMap::new(),
            history: Vec::with_capacity(HISTORY),
            history_at: 0,
            next_value: 0,
            ops: 0,
            work: 0,
            trace,
        }
    }

    fn run(mut self, input: &mut Input) {
        if self.trace {
            eprintln!(
                "fuzz_ops: key type {}, config {:?}",
                K::TYPE_NAME,
                self.config
            );
        }
        while !input.is_exhausted() && self.ops < MAX_OPS && self.work < WORK_BUDGET {
            self.ops += 1;
            self.work += 1;
            self.step(input);
            assert_eq!(
                self.map.len(),
                self.model.len(),
                "len after operation {}",
                self.ops
            );
            assert_eq!(self.map.is_empty(), self.model.is_empty());
            if self.ops % CHECK_EVERY == 0 {
                self.check_all();
            }
        }
        self.check_all();
        // Consuming iteration, from both ends.
        let expected: Vec<(K::Ord, u32)> = self.expected_all();
        let forward: Vec<(K::Ord, u32)> = self
            .map
            .clone()
            .into_iter()
            .map(|(k, v)| (k.ord(), v))
            .collect();
        assert_eq!(forward, expected, "into_iter");
        let mut backward: Vec<(K::Ord, u32)> = self
            .map
            .into_iter()
            .rev()
            .map(|(k, v)| (k.ord(), v))
            .collect();
        backward.reverse();
        assert_eq!(backward, expected, "into_iter().rev()");
    }

    fn value(&mut self) -> u32 {
        self.next_value = self.next_value.wrapping_add(1);
        self.next_value
    }

    fn remember(&mut self, key: K) {
        if key.is_nan() {
            return;
        }
        if self.history.len() < HISTORY {
            self.history.push(key);
        } else {
            self.history[self.history_at] = key;
            self.history_at = (self.history_at + 1) % HISTORY;
        }
    }

    /// A key from one of the classes; see the module comment.
    fn key(&mut self, input: &mut Input) -> K {
        let class = input.u8();
        let b = input.u8();
        let key = match class % 12 {
            // A small range: many collisions; unsigned types pile up at 0.
            0 | 1 => K::from_int(i128::from(b % 64) - 16),
            // Clustered runs far apart.
            2 => {
                let j = input.u8();
                K::from_int(((i128::from(b % 8) + 1) << K::CLUSTER_SHIFT) + i128::from(j))
            }
            // Both ends of the key space.
            3 => K::MAX_KEY.step(-i64::from(b % 64)),
            4 => K::MIN_KEY.step(i64::from(b % 64)),
            // Around the precision edge of the models' floats, both signs.
            5 => {
                let x = K::PRECISION_EDGE + i128::from(b) - 64;
                K::from_int(if input.u8() & 1 == 0 { x } else { -x })
            }
            6 => {
                let s = K::specials();
                s[usize::from(b) % s.len()]
            }
            // Keys seen before, and their neighbours.
            7 | 8 if !self.history.is_empty() => self.history[usize::from(b) % self.history.len()],
            9 if !self.history.is_empty() => {
                let delta = i64::from(input.u8() as i8 / 8);
                self.history[usize::from(b) % self.history.len()].step(delta)
            }
            10 => match K::nan(input.u64()) {
                Some(nan) if b % 4 == 0 => nan,
                _ => K::from_raw(input.u64()),
            },
            // Raw bit patterns (NaN now and then for floats).
            _ => K::from_raw(u64::from(b) | u64::from(input.u8()) << 8 | input.u64() << 16),
        };
        self.remember(key);
        key
    }

    fn step(&mut self, input: &mut Input) {
        let opcode = input.u8();
        match opcode % 32 {
            0..=9 => {
                let key = self.key(input);
                self.insert(key, opcode & 0x20 != 0);
            }
            10..=13 => {
                let key = self.key(input);
                self.remove(key);
            }
            14 | 15 if opcode & 0x20 != 0 => self.get_many(input),
            14 | 15 => {
                let key = self.key(input);
                self.get(key);
            }
            16 if opcode & 0x20 != 0 => {
                let key = self.key(input);
                self.entry(key, opcode >> 6);
            }
            16 => {
                let key = self.key(input);
                self.get_mut(key);
            }
            17..=19 => self.range(input, opcode & 0x20 != 0),
            20 if opcode & 0x20 != 0 => self.end_entry(opcode >> 6),
            20 => self.first_last(),
            21 if opcode & 0x20 != 0 => self.edge_run(input),
            21 => self.insert_run(input),
            22 if opcode & 0x20 != 0 => self.retain(input),
            22 => self.remove_run(input),
            23 => self.drain_ends(input),
            24 => self.bulk_load(input),
            25 if opcode & 0x20 != 0 => self.extend_sorted(input),
            25 => self.extend(input),
            26 => self.collect(input),
            27 => {
                self.trace_op(format_args!("clear"));
                self.map.clear();
                self.model.clear();
            }
            28 => {
                self.trace_op(format_args!("clone"));
                let copy = self.map.clone();
                copy.check();
                self.map = copy;
            }
            29 => self.values_mut(opcode & 0x20 != 0),
            30 => self.check_all(),
            _ => self.iter_both_ends(input),
        }
    }

    fn trace_op(&self, what: std::fmt::Arguments) {
        if self.trace {
            eprintln!("op {} (len {}): {what}", self.ops, self.model.len());
        }
    }

    fn insert(&mut self, key: K, through_try: bool) {
        let value = self.value();
        self.trace_op(format_args!("insert {key:?} -> {value}"));
        if key.is_nan() {
            self.nan_insert(key, value);
            return;
        }
        let expected = self.model.insert(key.ord(), (key, value)).map(|e| e.1);
        let got = if through_try {
            self.map.try_insert(key, value)
        } else {
            Ok(self.map.insert(key, value))
        };
        assert_eq!(got, Ok(expected), "insert {key:?} (operation {})", self.ops);
    }

    /// A NaN key: refused with an error, nothing changes, lookups miss.
    fn nan_insert(&mut self, nan: K, value: u32) {
        assert_eq!(
            self.map.try_insert(nan, value),
            Err(AlexError::NanKey),
            "try_insert of NaN {nan:?}"
        );
        assert_eq!(self.map.get(&nan), None);
        assert!(!self.map.contains_key(&nan));
        assert_eq!(self.map.get_mut(&nan), None);
        assert_eq!(self.map.remove(&nan), None);
        assert_eq!(self.map.len(), self.model.len(), "len after a refused NaN");
        self.compare_all("after a refused NaN insert");
    }

    fn remove(&mut self, key: K) {
        self.trace_op(format_args!("remove {key:?}"));
        let expected = if key.is_nan() {
            None
        } else {
            self.model.remove(&key.ord()).map(|e| e.1)
        };
        assert_eq!(
            self.map.remove(&key),
            expected,
            "remove {key:?} (operation {})",
            self.ops
        );
    }

    fn expected_value(&self, key: K) -> Option<u32> {
        if key.is_nan() {
            None
        } else {
            self.model.get(&key.ord()).map(|e| e.1)
        }
    }

    /// A batch of lookups (more keys than the batch's pipeline holds, some repeated or
    /// absent) through `get_many` and `for_each_get`, each answer `get`'s.
    fn get_many(&mut self, input: &mut Input) {
        let len = usize::from(input.u8() % 64);
        let keys: Vec<K> = (0..len).map(|_| self.key(input)).collect();
        self.trace_op(format_args!("get_many {keys:?}"));
        self.work += len;
        let mut out = Vec::new();
        self.map.get_many(&keys, &mut out);
        assert_eq!(out.len(), keys.len(), "get_many length");
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(
                out[i].copied(),
                self.expected_value(key),
                "get_many key {i}: {key:?}"
            );
        }
        let mut next = 0;
        self.map.for_each_get(&keys, |i, v| {
            assert_eq!((i, v), (next, out[i]), "for_each_get order");
            next += 1;
        });
        assert_eq!(next, keys.len(), "for_each_get count");
    }

    fn get(&mut self, key: K) {
        self.trace_op(format_args!("get {key:?}"));
        let expected = self.expected_value(key);
        assert_eq!(self.map.get(&key).copied(), expected, "get {key:?}");
        assert_eq!(self.map.contains_key(&key), expected.is_some());
        let kv = self.map.get_key_value(&key).map(|(k, v)| (k.ord(), *v));
        assert_eq!(
            kv,
            expected.map(|v| (key.ord(), v)),
            "get_key_value {key:?}"
        );
    }

    fn get_mut(&mut self, key: K) {
        let value = self.value();
        self.trace_op(format_args!("get_mut {key:?} := {value}"));
        let expected = self.expected_value(key);
        match self.map.get_mut(&key) {
            Some(v) => {
                assert_eq!(Some(*v), expected, "get_mut {key:?}");
                *v = value;
                self.model.get_mut(&key.ord()).expect("checked above").1 = value;
            }
            None => assert_eq!(expected, None, "get_mut {key:?} missed"),
        }
    }

    /// The entry API: `or_insert`, `and_modify` then `or_insert`, or an
    /// occupied entry's removal (a vacant one gives its key back).
    fn entry(&mut self, key: K, how: u8) {
        if key.is_nan() {
            // `entry` panics on NaN, as `insert` does.
            return self.get_mut(key);
        }
        let value = self.value();
        self.trace_op(format_args!("entry {key:?} ({how}) with {value}"));
        let present = self.model.contains_key(&key.ord());
        match how % 3 {
            0 => {
                let got = *self.map.entry(key).or_insert(value);
                let expected = self.model.entry(key.ord()).or_insert((key, value)).1;
                assert_eq!(got, expected, "entry {key:?}: or_insert");
            }
            1 => {
                let got = *self
                    .map
                    .entry(key)
                    .and_modify(|v| *v = v.wrapping_add(value))
                    .or_insert(value);
                let e = self
                    .model
                    .entry(key.ord())
                    .and_modify(|e| e.1 = e.1.wrapping_add(value))
                    .or_insert((key, value));
                assert_eq!(got, e.1, "entry {key:?}: and_modify");
            }
            _ => match self.map.entry(key) {
                alex::Entry::Occupied(e) => {
                    assert!(present, "entry {key:?} occupied, absent from the model");
                    let (k, v) = e.remove_entry();
                    let (mk, mv) = self.model.remove(&key.ord()).expect("checked above");
                    assert_eq!((k.ord(), v), (mk.ord(), mv), "entry {key:?}: remove_entry");
                }
                alex::Entry::Vacant(e) => {
                    assert!(!present, "entry {key:?} vacant, present in the model");
                    assert_eq!(e.into_key().ord(), key.ord());
                }
            },
        }
        assert_eq!(self.map.len(), self.model.len(), "len after entry {key:?}");
    }

    /// `first_entry` or `last_entry` (bit 0 of `how`), removing the entry
    /// (bit 1 clear) or adding to its value through `get_mut`.
    fn end_entry(&mut self, how: u8) {
        let last = how & 1 != 0;
        let remove = how & 2 == 0;
        let value = self.value();
        self.trace_op(format_args!(
            "{} entry, {}",
            if last { "last" } else { "first" },
            if remove { "remove" } else { "modify" }
        ));
        let got = if last {
            self.map.last_entry()
        } else {
            self.map.first_entry()
        };
        let mut expected = if last {
            self.model.last_entry()
        } else {
            self.model.first_entry()
        };
        match (got, expected.as_mut()) {
            (None, None) => {}
            (Some(mut e), Some(m)) => {
                assert_eq!(e.key().ord(), *m.key(), "end entry key");
                assert_eq!(*e.get(), m.get().1, "end entry value");
                if remove {
                    let (k, v) = e.remove_entry();
                    assert_eq!((k.ord(), v), (*m.key(), m.get().1), "end entry remove");
                    expected.expect("matched").remove();
                } else {
                    *e.get_mut() = e.get().wrapping_add(value);
                    m.get_mut().1 = m.get().1.wrapping_add(value);
                }
            }
            (g, m) => panic!(
                "end entry: map {:?}, model {:?}",
                g.map(|e| e.key().ord()),
                m.map(|e| *e.key())
            ),
        }
        assert_eq!(self.map.len(), self.model.len(), "len after an end entry");
    }

    fn bound(&mut self, input: &mut Input) -> Bound<K> {
        match input.u8() % 5 {
            0 => Bound::Unbounded,
            1 | 2 => Bound::Included(self.key(input)),
            _ => Bound::Excluded(self.key(input)),
        }
    }

    /// `range`, or `range_mut` when `through_mut` (which also adds 1 to
    /// every value it yields, in both maps).
    fn range(&mut self, input: &mut Input, through_mut: bool) {
        let lo = self.bound(input);
        let hi = self.bound(input);
        let pull = match input.u8() % 4 {
            0 => Pull::Forward,
            1 => Pull::Backward,
            _ => Pull::Mixed(input.u8()),
        };
        // 255 reads the whole range; otherwise at most 1..=255 items.
        let limit = match input.u8() {
            255 => usize::MAX,
            n => usize::from(n) + 1,
        };
        self.trace_op(format_args!(
            "range{} {lo:?}..{hi:?} {pull:?} limit {limit}",
            if through_mut { "_mut" } else { "" }
        ));
        let ord = |b: &Bound<K>| match *b {
            Bound::Included(k) => Bound::Included(k.ord()),
            Bound::Excluded(k) => Bound::Excluded(k.ord()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let nan =
            |b: &Bound<K>| matches!(*b, Bound::Included(k) | Bound::Excluded(k) if k.is_nan());
        if nan(&lo) || nan(&hi) {
            // Documented to panic, as `BTreeMap` would on an invalid range.
            return;
        }
        let (mlo, mhi) = (ord(&lo), ord(&hi));
        let valid = match (mlo, mhi) {
            (Bound::Excluded(a), Bound::Excluded(b)) => a < b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a <= b
            }
            _ => true,
        };
        if !valid {
            return;
        }
        let expected = pull_items(
            self.model.range((mlo, mhi)).map(|(o, e)| (*o, e.1)),
            pull,
            limit,
        );
        let got = if through_mut {
            let got = pull_items(
                self.map.range_mut((lo, hi)).map(|(k, v)| {
                    let before = *v;
                    *v = v.wrapping_add(1);
                    (k.ord(), before)
                }),
                pull,
                limit,
            );
            for (o, _) in got.iter().flatten() {
                let e = self
                    .model
                    .get_mut(o)
                    .expect("range_mut yields present keys");
                e.1 = e.1.wrapping_add(1);
            }
            got
        } else {
            pull_items(
                self.map.range((lo, hi)).map(|(k, v)| (k.ord(), *v)),
                pull,
                limit,
            )
        };
        self.work += got.len();
        assert_eq!(got, expected, "range {lo:?}..{hi:?} {pull:?} limit {limit}");
    }

    fn first_last(&mut self) {
        self.trace_op(format_args!("first/last"));
        let first = self.map.first_key_value().map(|(k, v)| (k.ord(), *v));
        let last = self.map.last_key_value().map(|(k, v)| (k.ord(), *v));
        assert_eq!(
            first,
            self.model.first_key_value().map(|(o, e)| (*o, e.1)),
            "first_key_value"
        );
        assert_eq!(
            last,
            self.model.last_key_value().map(|(o, e)| (*o, e.1)),
            "last_key_value"
        );
    }

    /// `count` keys from `start` on, `stride` steps apart (negative: descending).
    fn run_keys(start: K, stride: i64, count: usize) -> impl Iterator<Item = K> {
        (0..count).map(move |i| start.step(stride.saturating_mul(i as i64)))
    }

    fn stride(input: &mut Input) -> i64 {
        let b = input.u8();
        let magnitude = match b % 8 {
            0..=3 => 1,
            4 => 2,
            5 => 3,
            6 => 1 + i64::from(b >> 3),
            _ => 1i64 << (b >> 3 & 31),
        };
        if input.u8() & 1 == 0 {
            magnitude
        } else {
            -magnitude
        }
    }

    /// Sequential, reverse or strided inserts: many splits from a few input bytes.
    fn insert_run(&mut self, input: &mut Input) {
        let start = self.key(input);
        let stride = Self::stride(input);
        let count = usize::from(input.u16()) % (MAX_RUN + 1);
        let count = count.min(MAX_LEN.saturating_sub(self.model.len()));
        self.trace_op(format_args!(
            "insert run from {start:?} stride {stride} count {count}"
        ));
        if start.is_nan() {
            let value = self.value();
            self.nan_insert(start, value);
            return;
        }
        self.work += count;
        for key in Self::run_keys(start, stride, count) {
            let value = self.value();
            let expected = self.model.insert(key.ord(), (key, value)).map(|e| e.1);
            assert_eq!(
                self.map.insert(key, value),
                expected,
                "insert {key:?} in a run (operation {})",
                self.ops
            );
        }
        assert_eq!(self.map.len(), self.model.len(), "len after an insert run");
    }

    /// Appends (keys above the map's largest, increasing) or prepends (below
    /// its smallest, decreasing), gaps drawn from a range the input picks:
    /// edge nodes fill, hand keys on and widen their parents.
    fn edge_run(&mut self, input: &mut Input) {
        let up = input.u8() & 1 == 0;
        let max_gap = 1 + i64::from(input.u8()) * i64::from(input.u8() % 16 + 1);
        let count = usize::from(input.u16()) % (MAX_RUN + 1);
        let count = count.min(MAX_LEN.saturating_sub(self.model.len()));
        let end = if up {
            self.model.values().next_back()
        } else {
            self.model.values().next()
        };
        let mut key = match end {
            Some(e) => e.0,
            None => self.key(input),
        };
        self.trace_op(format_args!(
            "edge run from {key:?} up {up} gaps to {max_gap} count {count}"
        ));
        if key.is_nan() {
            return;
        }
        self.work += count;
        let mut seed = u64::from(input.u16()) | 1;
        for _ in 0..count {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let gap = 1 + (seed % max_gap as u64) as i64;
            key = key.step(if up { gap } else { -gap });
            let value = self.value();
            let expected = self.model.insert(key.ord(), (key, value)).map(|e| e.1);
            assert_eq!(
                self.map.insert(key, value),
                expected,
                "insert {key:?} in an edge run (operation {})",
                self.ops
            );
        }
        assert_eq!(self.map.len(), self.model.len(), "len after an edge run");
    }

    /// `extend_sorted`: a sorted, deduplicated run (from one of the bulk key
    /// shapes, so runs overlap present keys, are empty, one key, or span
    /// many nodes), or now and then the keys as drawn, which must fail with
    /// the first offending pair and leave the map unchanged unless they
    /// happen to be strictly ascending.
    fn extend_sorted(&mut self, input: &mut Input) {
        let raw = input.u8() % 4 == 0;
        let mut keys = self.bulk_keys(input);
        if !raw {
            keys.retain(|k| !k.is_nan());
            keys.sort_by_key(|k| k.ord());
            keys.dedup_by_key(|k| k.ord());
        }
        keys.truncate(MAX_LEN.saturating_sub(self.model.len()));
        let pairs: Vec<(K, u32)> = keys.iter().map(|&k| (k, self.value())).collect();
        self.trace_op(format_args!(
            "extend_sorted with {} pairs, raw {raw}",
            pairs.len()
        ));
        let got = self.map.extend_sorted(pairs.iter().copied());
        match bulk_load_error(&keys) {
            Some(e) => {
                assert_eq!(got, Err(e), "extend_sorted error");
                self.compare_all("after a refused extend_sorted");
            }
            None => {
                let new = keys
                    .iter()
                    .filter(|k| !self.model.contains_key(&k.ord()))
                    .count();
                for (k, v) in pairs {
                    self.model.insert(k.ord(), (k, v));
                }
                assert_eq!(got, Ok(new), "extend_sorted's count of new keys");
            }
        }
        assert_eq!(self.map.len(), self.model.len(), "len after extend_sorted");
    }

    /// Strided removes, present or not: shrinks and merges.
    fn remove_run(&mut self, input: &mut Input) {
        let start = self.key(input);
        let stride = Self::stride(input);
        let count = usize::from(input.u16()) % (MAX_RUN + 1);
        self.trace_op(format_args!(
            "remove run from {start:?} stride {stride} count {count}"
        ));
        if start.is_nan() {
            assert_eq!(self.map.remove(&start), None);
            return;
        }
        self.work += count;
        for key in Self::run_keys(start, stride, count) {
            let expected = self.model.remove(&key.ord()).map(|e| e.1);
            assert_eq!(
                self.map.remove(&key),
                expected,
                "remove {key:?} in a run (operation {})",
                self.ops
            );
        }
        assert_eq!(self.map.len(), self.model.len(), "len after a remove run");
    }

    /// `retain` with a predicate on the value (which it also changes for
    /// the entries it keeps), against `BTreeMap::retain`.
    fn retain(&mut self, input: &mut Input) {
        let modulus = u32::from(input.u8() % 8) + 1;
        let residue = u32::from(input.u8()) % modulus;
        self.trace_op(format_args!("retain values % {modulus} != {residue}"));
        self.work += 2 * self.model.len();
        let keep = |v: &mut u32| {
            let kept = *v % modulus != residue;
            if kept {
                *v = v.wrapping_add(7);
            }
            kept
        };
        let mut calls = 0usize;
        self.map.retain(|_, v| {
            calls += 1;
            keep(v)
        });
        assert_eq!(
            calls,
            self.model.len(),
            "retain calls its predicate once per entry"
        );
        self.model.retain(|_, e| keep(&mut e.1));
        assert_eq!(self.map.len(), self.model.len(), "len after retain");
        self.map.check();
    }

    /// Removes the first or last key `count` times, found through the map itself.
    fn drain_ends(&mut self, input: &mut Input) {
        let how = input.u8();
        let from_back = how & 1 == 1;
        let count = usize::from(input.u16()) % (MAX_RUN + 1);
        self.trace_op(format_args!(
            "drain {count} from the back: {from_back}, by pop: {}",
            how & 2 != 0
        ));
        self.work += count;
        if how & 2 != 0 {
            for _ in 0..count {
                let (got, expected) = if from_back {
                    (self.map.pop_last(), self.model.pop_last())
                } else {
                    (self.map.pop_first(), self.model.pop_first())
                };
                assert_eq!(
                    got.map(|(k, v)| (k.ord(), v)),
                    expected.map(|(o, e)| (o, e.1)),
                    "pop (from the back: {from_back})"
                );
                if got.is_none() {
                    break;
                }
            }
            assert_eq!(self.map.len(), self.model.len(), "len after pops");
            return;
        }
        for _ in 0..count {
            let end = if from_back {
                self.map.last_key_value().map(|(k, _)| *k)
            } else {
                self.map.first_key_value().map(|(k, _)| *k)
            };
            let expected = if from_back {
                self.model.pop_last()
            } else {
                self.model.pop_first()
            };
            let Some(key) = end else {
                assert_eq!(expected.map(|e| e.0), None, "map empty before the model");
                break;
            };
            let (ord, (_, value)) = expected.expect("model empty before the map");
            assert_eq!(key.ord(), ord, "end key while draining");
            assert_eq!(
                self.map.remove(&key),
                Some(value),
                "remove {key:?} at an end"
            );
        }
    }

    /// Keys for a bulk operation: drawn one by one, a strided run, or a run with drawn
    /// keys mixed in.
    fn bulk_keys(&mut self, input: &mut Input) -> Vec<K> {
        let mode = input.u8();
        let count = usize::from(input.u16()) % (MAX_BULK + 1);
        self.work += count;
        match mode % 3 {
            0 => (0..count.min(512)).map(|_| self.key(input)).collect(),
            1 => {
                let start = self.key(input);
                let stride = Self::stride(input);
                Self::run_keys(start, stride, count).collect()
            }
            _ => {
                let start = self.key(input);
                let stride = Self::stride(input);
                let mut keys: Vec<K> = Self::run_keys(start, stride, count).collect();
                for _ in 0..(input.u8() % 16) {
                    let k = self.key(input);
                    let at = usize::from(input.u16()) % (keys.len() + 1);
                    keys.insert(at, k);
                }
                keys
            }
        }
    }

    /// `bulk_load_with_config`: valid input must load exactly; raw input must load or
    /// fail with the error naming the first offending pair, leaving the old map.
    fn bulk_load(&mut self, input: &mut Input) {
        let raw = input.u8() % 3 == 0;
        let keys = self.bulk_keys(input);
        let pairs: Vec<(K, u32)> = keys.iter().map(|&k| (k, self.value())).collect();
        self.trace_op(format_args!("bulk load of {} keys, raw {raw}", pairs.len()));
        if raw {
            let expected_err = bulk_load_error(&keys);
            match AlexMap::bulk_load_with_config(self.config.clone(), pairs.iter().copied()) {
                Ok(map) => {
                    assert_eq!(expected_err, None, "bulk load accepted bad input");
                    self.map = map;
                    self.model = pairs.iter().map(|&(k, v)| (k.ord(), (k, v))).collect();
                }
                Err(e) => assert_eq!(Some(e), expected_err, "bulk load error"),
            }
        } else {
            let fresh: BTreeMap<K::Ord, (K, u32)> = pairs
                .iter()
                .filter(|(k, _)| !k.is_nan())
                .map(|&(k, v)| (k.ord(), (k, v)))
                .collect();
            self.map = AlexMap::bulk_load_with_config(self.config.clone(), fresh.values().copied())
                .expect("bulk load of sorted distinct keys");
            self.model = fresh;
        }
        self.map.check();
        self.compare_all("after a bulk load");
    }

    fn extend(&mut self, input: &mut Input) {
        let keys = self.bulk_keys(input);
        let room = MAX_LEN.saturating_sub(self.model.len());
        let pairs: Vec<(K, u32)> = keys
            .into_iter()
            .filter(|k| !k.is_nan())
            .take(room)
            .map(|k| (k, self.value()))
            .collect();
        self.trace_op(format_args!("extend with {} pairs", pairs.len()));
        self.map.extend(pairs.iter().copied());
        for (k, v) in pairs {
            self.model.insert(k.ord(), (k, v));
        }
        assert_eq!(self.map.len(), self.model.len(), "len after extend");
    }

    /// `FromIterator`: a fresh map (default configuration) where the last of repeated
    /// keys wins.
    fn collect(&mut self, input: &mut Input) {
        let keys = self.bulk_keys(input);
        let pairs: Vec<(K, u32)> = keys
            .into_iter()
            .filter(|k| !k.is_nan())
            .map(|k| (k, self.value()))
            .collect();
        self.trace_op(format_args!("collect {} pairs", pairs.len()));
        self.map = pairs.iter().copied().collect();
        self.model = pairs.into_iter().map(|(k, v)| (k.ord(), (k, v))).collect();
        self.map.check();
        self.compare_all("after collect");
    }

    fn values_mut(&mut self, with_keys: bool) {
        self.trace_op(format_args!("values_mut (through iter_mut: {with_keys})"));
        self.work += self.model.len();
        if with_keys {
            let mut keys = Vec::with_capacity(self.model.len());
            let iter = self.map.iter_mut();
            assert_eq!(iter.len(), self.model.len(), "iter_mut().len()");
            for (k, v) in iter {
                keys.push(k.ord());
                *v = v.wrapping_mul(3).wrapping_add(1);
            }
            assert!(keys.iter().eq(self.model.keys()), "iter_mut keys in order");
        } else {
            for v in self.map.values_mut() {
                *v = v.wrapping_mul(3).wrapping_add(1);
            }
        }
        for e in self.model.values_mut() {
            e.1 = e.1.wrapping_mul(3).wrapping_add(1);
        }
    }

    /// The whole-map iterator pulled from both ends by a pattern, and its exact length.
    fn iter_both_ends(&mut self, input: &mut Input) {
        let pull = Pull::Mixed(input.u8());
        self.trace_op(format_args!("iter {pull:?}"));
        assert_eq!(self.map.iter().len(), self.model.len(), "iter().len()");
        let expected = pull_items(self.model.iter().map(|(o, e)| (*o, e.1)), pull, usize::MAX);
        let got = pull_items(
            self.map.iter().map(|(k, v)| (k.ord(), *v)),
            pull,
            usize::MAX,
        );
        self.work += got.len();
        assert_eq!(got, expected, "iter pulled from both ends ({pull:?})");
    }

    fn expected_all(&self) -> Vec<(K::Ord, u32)> {
        self.model.iter().map(|(o, e)| (*o, e.1)).collect()
    }

    /// Full contents, keys, values and both directions against the model.
    fn compare_all(&mut self, ctx: &str) {
        self.work += 2 * self.model.len();
        let expected = self.expected_all();
        let got: Vec<(K::Ord, u32)> = self.map.iter().map(|(k, v)| (k.ord(), *v)).collect();
        assert_eq!(got, expected, "contents {ctx} (operation {})", self.ops);
        let mut back: Vec<(K::Ord, u32)> =
            self.map.iter().rev().map(|(k, v)| (k.ord(), *v)).collect();
        back.reverse();
        assert_eq!(back, expected, "contents backwards {ctx}");
        assert!(
            self.map
                .keys()
                .map(|k| k.ord())
                .eq(expected.iter().map(|e| e.0)),
            "keys() {ctx}"
        );
        assert!(
            self.map.values().copied().eq(expected.iter().map(|e| e.1)),
            "values() {ctx}"
        );
        assert_eq!(self.map.len(), expected.len(), "len {ctx}");
    }

    fn check_all(&mut self) {
        self.trace_op(format_args!("check"));
        self.work += 4 * self.model.len();
        self.map.check();
        let stats = self.map.stats();
        assert_eq!(stats.num_keys, self.map.len(), "stats().num_keys");
        assert!(stats.data_slots >= self.map.len(), "fewer slots than keys");
        self.compare_all("at a check");
    }
}

/// The error `bulk_load` must report for `keys`, if any: the first NaN, repeated or
/// descending key, in input order.
fn bulk_load_error<K: FuzzKey>(keys: &[K]) -> Option<AlexError> {
    let mut previous: Option<K::Ord> = None;
    for (index, k) in keys.iter().enumerate() {
        if k.is_nan() {
            return Some(AlexError::NanKey);
        }
        let o = k.ord();
        match previous.map(|p| o.cmp(&p)) {
            Some(Ordering::Equal) => return Some(AlexError::DuplicateKey { index }),
            Some(Ordering::Less) => return Some(AlexError::UnsortedInput { index }),
            _ => {}
        }
        previous = Some(o);
    }
    None
}

/// Pulls up to `limit` items from `iter` as `pull` says, then one more from each end
/// (which must be `None` once the iterator is spent), recording every answer.
fn pull_items<T, I>(mut iter: I, pull: Pull, limit: usize) -> Vec<Option<T>>
where
    I: DoubleEndedIterator<Item = T>,
{
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < limit {
        let back = match pull {
            Pull::Forward => false,
            Pull::Backward => true,
            Pull::Mixed(pattern) => pattern >> (i % 8) & 1 == 1,
        };
        let item = if back { iter.next_back() } else { iter.next() };
        let done = item.is_none();
        out.push(item);
        if done {
            // A spent iterator stays spent at both ends.
            out.push(iter.next());
            out.push(iter.next_back());
            break;
        }
        i += 1;
    }
    out
}
