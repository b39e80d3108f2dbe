//! Differential tests against `std::collections::BTreeMap`.
//!
//! A seeded splitmix64 drives random operation sequences (insert,
//! try_insert, remove, get, get_key_value, get_mut, contains_key, range with
//! every bound kind walked forward, backward and with mixed
//! `next`/`next_back`, iter/keys/values/values_mut, first/last_key_value,
//! extend, bulk_load replacing the map, clone, clear, len/is_empty) against
//! an `AlexMap` and a `BTreeMap` side by side; every answer must agree.
//! Growth and shrink phases alternate so that nodes split, expand, contract
//! and merge. Key distributions: uniform, lognormal, sequential,
//! reverse-sequential, dense consecutive, clustered, extreme (MIN, MAX,
//! around and above 2^53, near u64::MAX; for floats -0.0, 0.0, infinities,
//! subnormals) and the real OSM key set, for u64, i64, u32, i32, f64 and f32
//! keys, under the default, read-mostly, single-level, fixed-64-leaf and a
//! small-node configuration. `check()` and the `stats()` invariants run after
//! every mutation while the map has fewer than 2000 keys, and every 1000
//! operations otherwise. The reference orders floats with `total_cmp`, not
//! with the crate's own key mapping. NaN keys must be refused without
//! changing the map.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use alex::{AlexError, AlexMap, Config, Key};
use common::{
    all_configs, assert_stats, osm_keys, small_nodes, with_watchdog, Dist, KeyGen, Progress,
    SplitMix64, TestKey, ALL_DISTS,
};

/// Full `check()` after every mutation below this many keys.
const CHECK_ALWAYS_BELOW: usize = 2000;
/// Otherwise `check()` every this many operations.
const CHECK_EVERY: u64 = 1000;
/// Keys remembered for hits and near misses.
const HISTORY_CAP: usize = 50_000;

/// A NaN of the key type, if it has one.
trait MaybeNan: TestKey {
    fn nan() -> Option<Self>;
}
macro_rules! no_nan {
    ($($t:ty),*) => {$(impl MaybeNan for $t { fn nan() -> Option<$t> { None } })*};
}
no_nan!(u64, i64, u32, i32);
impl MaybeNan for f64 {
    fn nan() -> Option<f64> {
        Some(f64::NAN)
    }
}
impl MaybeNan for f32 {
    fn nan() -> Option<f32> {
        Some(-f32::NAN)
    }
}

struct Run<K: MaybeNan> {
    label: String,
    config: Config,
    rng: SplitMix64,
    gen: KeyGen<K>,
    map: AlexMap<K, u64>,
    model: BTreeMap<K::Ord, u64>,
    history: Vec<K>,
    ops: u64,
    checks: u64,
    last_op: &'static str,
    progress: Progress,
    /// Whether bulk_load and clear (which replace the map) may run.
    replacing_ops: bool,
    /// Chance that a shrink phase empties the map.
    drain_chance: f64,
    /// Most keys the map has held in this run.
    peak_len: usize,
    /// Shrink phases stop at this many keys.
    floor: usize,
}

impl<K: MaybeNan> Run<K> {
    fn new(
        label: String,
        config: Config,
        dist: Dist,
        expected_keys: usize,
        seed: u64,
        osm: Option<Arc<Vec<u64>>>,
    ) -> Self {
        // ALEX_TEST_SEED varies every run's sequence, to explore beyond the
        // fixed seeds the suite uses by default.
        let extra = std::env::var("ALEX_TEST_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let seed = seed ^ extra.map_or(0, common::mix);
        let label = match extra {
            Some(x) => format!("{label} (ALEX_TEST_SEED={x})"),
            None => label,
        };
        let mut rng = SplitMix64::new(seed);
        let gen = KeyGen::new(dist, expected_keys, &mut rng, osm);
        let map = AlexMap::with_config(config.clone())
            .unwrap_or_else(|e| panic!("{label}: config refused: {e}"));
        Run {
            label,
            config,
            rng,
            gen,
            map,
            model: BTreeMap::new(),
            history: Vec::new(),
            ops: 0,
            checks: 0,
            last_op: "start",
            progress: Progress::default(),
            replacing_ops: true,
            drain_chance: 0.15,
            peak_len: 0,
            floor: 0,
        }
    }

    fn remember(&mut self, k: K) {
        if self.history.len() < HISTORY_CAP {
            self.history.push(k);
        } else {
            let i = self.rng.below(HISTORY_CAP);
            self.history[i] = k;
        }
    }

    /// A key for a lookup or removal: one seen before (a likely hit), a
    /// close neighbour of one (a near miss), the present key following a
    /// new one (a sure hit), or a new one (a likely miss).
    fn probe_key(&mut self) -> K {
        let r = self.rng.below(10);
        if self.history.is_empty() || r >= 8 {
            let k = self.gen.next(&mut self.rng);
            if r == 9 {
                return k;
            }
            let next = self
                .model
                .range(k.ord()..)
                .next()
                .map(|(o, _)| K::unord(*o));
            next.unwrap_or(k)
        } else {
            let k = self.history[self.rng.below(self.history.len())];
            if r < 6 {
                k
            } else {
                k.nudge(self.rng.below(7) as i64 - 3)
            }
        }
    }

    fn bound_key(&mut self) -> K {
        match self.rng.below(20) {
            0 => K::MIN_KEY,
            1 => K::MAX_KEY,
            _ => self.probe_key(),
        }
    }

    fn verify_structure(&mut self, mutated: bool) {
        self.peak_len = self.peak_len.max(self.model.len());
        let due = self.ops % CHECK_EVERY == 0;
        if (mutated && self.map.len() < CHECK_ALWAYS_BELOW) || due {
            self.map.check();
            assert_stats(&self.map, &self.fail_context());
            self.checks += 1;
        }
    }

    /// The tree never degenerates into a chain: its height stays within
    /// twice a binary tree's for the most keys it has held (plus slack for
    /// small maps). A learned index with power-of-two fan-outs of at least 2
    /// has no reason to be deeper.
    fn verify_height(&self) {
        let s = self.map.stats();
        let bound = 8 + 2 * (usize::BITS - self.peak_len.leading_zeros()) as usize;
        assert!(
            s.height <= bound,
            "{}: height {} over {bound} (peak len {}): a degenerate chain? {s:?}",
            self.fail_context(),
            s.height,
            self.peak_len
        );
    }

    fn fail_context(&self) -> String {
        format!(
            "{} after {} operations, the last {} (len {})",
            self.label,
            self.ops,
            self.last_op,
            self.model.len()
        )
    }

    /// Every entry, both directions, keys, values, first and last.
    fn verify_all(&self) {
        let ctx = self.fail_context();
        assert_eq!(self.map.len(), self.model.len(), "{ctx}: len");
        assert_eq!(
            self.map.is_empty(),
            self.model.is_empty(),
            "{ctx}: is_empty"
        );
        let mut a = self.map.iter();
        let mut b = self.model.iter();
        loop {
            let x = a.next().map(|(k, v)| (k.ord(), *v));
            let y = b.next().map(|(k, v)| (*k, *v));
            assert_eq!(x, y, "{ctx}: iter");
            if x.is_none() {
                break;
            }
        }
        assert!(
            a.next().is_none() && a.next_back().is_none(),
            "{ctx}: iter not fused"
        );
        let back: Vec<K::Ord> = self.map.iter().rev().map(|(k, _)| k.ord()).collect();
        let want: Vec<K::Ord> = self.model.keys().rev().copied().collect();
        assert_eq!(back, want, "{ctx}: iter().rev()");
        assert!(
            self.map
                .keys()
                .map(|k| k.ord())
                .eq(self.model.keys().copied()),
            "{ctx}: keys()"
        );
        assert!(self.map.values().eq(self.model.values()), "{ctx}: values()");
        assert!(
            (&self.map)
                .into_iter()
                .map(|(k, v)| (k.ord(), *v))
                .eq(self.model.iter().map(|(k, v)| (*k, *v))),
            "{ctx}: (&map).into_iter()"
        );
        self.verify_ends();
    }

    fn verify_ends(&self) {
        let ctx = self.fail_context();
        assert_eq!(
            self.map.first_key_value().map(|(k, v)| (k.ord(), *v)),
            self.model.first_key_value().map(|(k, v)| (*k, *v)),
            "{ctx}: first_key_value"
        );
        assert_eq!(
            self.map.last_key_value().map(|(k, v)| (k.ord(), *v)),
            self.model.last_key_value().map(|(k, v)| (*k, *v)),
            "{ctx}: last_key_value"
        );
    }

    fn op_insert(&mut self) {
        let k = self.gen.next(&mut self.rng);
        self.progress.op(self.ops, "insert", k.to_ordered());
        let v = self.rng.next_u64();
        let got = if self.rng.chance(0.5) {
            self.map.insert(k, v)
        } else {
            self.map
                .try_insert(k, v)
                .unwrap_or_else(|e| panic!("{}: try_insert({k:?}): {e}", self.fail_context()))
        };
        let want = self.model.insert(k.ord(), v);
        assert_eq!(got, want, "{}: insert({k:?})", self.fail_context());
        self.remember(k);
    }

    fn op_remove(&mut self) {
        let k = self.probe_key();
        self.progress.op(self.ops, "remove", k.to_ordered());
        let got = self.map.remove(&k);
        let want = self.model.remove(&k.ord());
        assert_eq!(got, want, "{}: remove({k:?})", self.fail_context());
        assert!(
            !self.map.contains_key(&k),
            "{}: {k:?} still there after remove",
            self.fail_context()
        );
    }

    fn op_get(&mut self) {
        let k = self.probe_key();
        let want = self.model.get(&k.ord()).copied();
        let ctx = || self.fail_context();
        assert_eq!(self.map.get(&k).copied(), want, "{}: get({k:?})", ctx());
        assert_eq!(
            self.map.contains_key(&k),
            want.is_some(),
            "{}: contains_key({k:?})",
            ctx()
        );
        match self.map.get_key_value(&k) {
            Some((sk, sv)) => {
                assert_eq!(sk.ord(), k.ord(), "{}: get_key_value({k:?}) key", ctx());
                assert_eq!(Some(*sv), want, "{}: get_key_value({k:?}) value", ctx());
            }
            None => assert_eq!(want, None, "{}: get_key_value({k:?}) missed", ctx()),
        }
    }

    fn op_get_mut(&mut self) {
        let k = self.probe_key();
        let delta = self.rng.next_u64() | 1;
        let got = self.map.get_mut(&k).map(|v| {
            *v = v.wrapping_add(delta);
            *v
        });
        let want = self.model.get_mut(&k.ord()).map(|v| {
            *v = v.wrapping_add(delta);
            *v
        });
        assert_eq!(got, want, "{}: get_mut({k:?})", self.fail_context());
        assert_eq!(
            self.map.get(&k).copied(),
            want,
            "{}: get after get_mut",
            self.fail_context()
        );
    }

    fn random_bound(&mut self, k: K) -> Bound<K> {
        match self.rng.below(3) {
            0 => Bound::Included(k),
            1 => Bound::Excluded(k),
            _ => Bound::Unbounded,
        }
    }

    fn op_range(&mut self) {
        let (mut a, mut b) = (self.bound_key(), self.bound_key());
        if a.ord() > b.ord() {
            std::mem::swap(&mut a, &mut b);
        }
        let lo = self.random_bound(a);
        let mut hi = self.random_bound(b);
        if let (Bound::Excluded(x), Bound::Excluded(y)) = (lo, hi) {
            if x.ord() == y.ord() {
                // BTreeMap panics on this one; adversarial.rs checks both do.
                hi = Bound::Included(y);
            }
        }
        let conv = |b: Bound<K>| match b {
            Bound::Included(k) => Bound::Included(k.ord()),
            Bound::Excluded(k) => Bound::Excluded(k.ord()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (lo_o, hi_o) = (conv(lo), conv(hi));
        let mode = self.rng.below(3);
        let big = self.model.len() > 10_000;
        let limit = if self.rng.chance(if big { 0.02 } else { 0.2 }) {
            usize::MAX
        } else {
            1 + self.rng.below(100)
        };
        let ctx = format!("{}: range({lo:?}, {hi:?}) mode {mode}", self.fail_context());
        let mut x = self.map.range((lo, hi));
        let mut y = self.model.range((lo_o, hi_o));
        let mut steps = 0;
        let mut exhausted = false;
        while steps < limit {
            let front = match mode {
                0 => true,
                1 => false,
                _ => self.rng.chance(0.5),
            };
            let (p, q) = if front {
                (x.next(), y.next())
            } else {
                (x.next_back(), y.next_back())
            };
            let p = p.map(|(k, v)| (k.ord(), *v));
            let q = q.map(|(k, v)| (*k, *v));
            assert_eq!(
                p,
                q,
                "{ctx}: step {steps} ({})",
                if front { "next" } else { "next_back" }
            );
            if p.is_none() {
                exhausted = true;
                break;
            }
            steps += 1;
        }
        if exhausted {
            assert!(x.next().is_none(), "{ctx}: next after the end");
            assert!(x.next_back().is_none(), "{ctx}: next_back after the end");
        }
    }

    fn op_bulk_load(&mut self) {
        let n = match self.rng.below(10) {
            0 => 0,
            1..=3 => self.rng.below(50),
            4..=8 => self.rng.below(3000),
            _ => self.rng.below(30_000),
        };
        let mut fresh = BTreeMap::new();
        for _ in 0..n {
            let k = if self.rng.chance(0.2) && !self.history.is_empty() {
                self.history[self.rng.below(self.history.len())]
            } else {
                self.gen.next(&mut self.rng)
            };
            fresh.insert(k.ord(), self.rng.next_u64());
        }
        let pairs: Vec<(K, u64)> = fresh.iter().map(|(k, v)| (K::unord(*k), *v)).collect();
        for &(k, _) in pairs.iter().step_by(7) {
            self.remember(k);
        }
        // Half the loads clone from the slice instead of moving the pairs.
        let loaded = if self.rng.chance(0.5) {
            AlexMap::bulk_load_slice_with_config(self.config.clone(), &pairs)
        } else {
            AlexMap::bulk_load_with_config(self.config.clone(), pairs)
        };
        self.map = loaded
            .unwrap_or_else(|e| panic!("{}: bulk_load of {n} keys: {e}", self.fail_context()));
        self.model = fresh;
        self.peak_len = self.peak_len.max(self.model.len());
        assert_eq!(
            self.map.config(),
            &self.config,
            "{}: bulk_load lost the config",
            self.label
        );
        self.map.check();
        assert_stats(&self.map, &self.fail_context());
        self.verify_all();
    }

    fn op_extend(&mut self) {
        let n = 1 + self.rng.below(20);
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            let k = if self.rng.chance(0.3) && !batch.is_empty() {
                // A duplicate within the batch: the last value must win.
                let (k, _): (K, u64) = batch[self.rng.below(batch.len())];
                k
            } else {
                self.gen.next(&mut self.rng)
            };
            batch.push((k, self.rng.next_u64()));
        }
        self.map.extend(batch.iter().copied());
        for &(k, v) in &batch {
            self.model.insert(k.ord(), v);
            self.remember(k);
        }
        for &(k, _) in &batch {
            assert_eq!(
                self.map.get(&k),
                self.model.get(&k.ord()),
                "{}: extend, key {k:?}",
                self.fail_context()
            );
        }
    }

    fn op_values_mut(&mut self) {
        let delta = self.rng.next_u64();
        for v in self.map.values_mut() {
            *v = v.wrapping_add(delta);
        }
        for v in self.model.values_mut() {
            *v = v.wrapping_add(delta);
        }
        self.verify_all();
    }

    fn op_clone(&mut self) {
        let copy = self.map.clone();
        copy.check();
        assert_eq!(
            copy.config(),
            self.map.config(),
            "{}: clone config",
            self.label
        );
        // Continue with the copy; the original is dropped.
        self.map = copy;
        self.verify_all();
    }

    fn op_nan(&mut self) {
        let Some(nan) = K::nan() else { return };
        let len = self.map.len();
        let ctx = self.fail_context();
        assert_eq!(
            self.map.try_insert(nan, 1),
            Err(AlexError::NanKey),
            "{ctx}: try_insert(NaN)"
        );
        assert_eq!(self.map.len(), len, "{ctx}: try_insert(NaN) changed len");
        assert_eq!(self.map.get(&nan), None, "{ctx}: get(NaN)");
        assert!(!self.map.contains_key(&nan), "{ctx}: contains_key(NaN)");
        assert_eq!(self.map.remove(&nan), None, "{ctx}: remove(NaN)");
        assert_eq!(self.map.len(), len, "{ctx}: remove(NaN) changed len");
    }

    fn step(&mut self, grow: bool) {
        self.ops += 1;
        self.progress.op(self.ops, "step", 0);
        let roll = self.rng.below(10_000);
        let (insert_w, remove_w) = if grow { (4500, 1000) } else { (1000, 4500) };
        let mut r = roll;
        let mut mutated = false;
        let mut take = |w: usize| {
            if r < w {
                true
            } else {
                r -= w;
                false
            }
        };
        if take(insert_w) {
            self.last_op = "insert";
            self.op_insert();
            mutated = true;
        } else if take(remove_w) {
            self.last_op = "remove";
            self.op_remove();
            mutated = true;
        } else if take(1500) {
            self.last_op = "get";
            self.op_get();
        } else if take(600) {
            self.last_op = "get_mut";
            self.op_get_mut();
        } else if take(1800) {
            self.last_op = "range";
            self.op_range();
        } else if take(250) {
            self.last_op = "first/last";
            self.verify_ends();
        } else if take(300) {
            self.last_op = "extend";
            self.op_extend();
            mutated = true;
        } else if take(40) {
            self.last_op = "nan";
            self.op_nan();
        } else if self.replacing_ops && take(4) {
            self.last_op = "bulk_load";
            self.op_bulk_load();
            mutated = true;
        } else if self.replacing_ops && take(2) {
            self.last_op = "clear";
            self.map.clear();
            self.model.clear();
            assert!(
                self.map.is_empty() && self.map.iter().next().is_none(),
                "{}: clear",
                self.label
            );
            assert_eq!(
                self.map.config(),
                &self.config,
                "{}: clear lost the config",
                self.label
            );
            mutated = true;
        } else if take(2) {
            self.last_op = "clone";
            self.op_clone();
        } else if take(1) {
            self.last_op = "values_mut";
            self.op_values_mut();
        } else {
            self.last_op = "get";
            self.op_get();
        }
        assert_eq!(
            self.map.len(),
            self.model.len(),
            "{}: len",
            self.fail_context()
        );
        self.verify_structure(mutated);
        if self.ops % 20_000 == 0 {
            self.verify_all();
            self.verify_height();
            if std::env::var_os("ALEX_TEST_VERBOSE").is_some() {
                let s = self.map.stats();
                println!(
                    "    {}: {} ops, len {}, height {}, data nodes {}",
                    self.label, self.ops, s.num_keys, s.height, s.data_nodes
                );
            }
        }
    }

    /// `ops` operations in growth and shrink phases of random lengths.
    fn run(&mut self, ops: u64, initial_keys: usize) {
        if initial_keys > 0 {
            let mut fresh = BTreeMap::new();
            for _ in 0..initial_keys {
                let k = self.gen.next(&mut self.rng);
                fresh.insert(k.ord(), self.rng.next_u64());
            }
            let pairs: Vec<(K, u64)> = fresh.iter().map(|(k, v)| (K::unord(*k), *v)).collect();
            for &(k, _) in &pairs {
                self.remember(k);
            }
            self.map = AlexMap::bulk_load_with_config(self.config.clone(), pairs)
                .unwrap_or_else(|e| panic!("{}: initial bulk_load: {e}", self.label));
            self.model = fresh;
            self.peak_len = self.model.len();
            self.map.check();
            assert_stats(&self.map, &self.fail_context());
            self.verify_all();
        }
        // Alternate growth and shrink phases. A growth phase runs until the
        // map has gained a random number of keys; a shrink phase until it
        // has lost a random fraction of them (sometimes all), so nodes both
        // split and contract or merge. Each phase is capped in operations.
        let mut growing = false;
        let mut target = 0usize;
        let mut phase_left = 0u64;
        while self.ops < ops {
            let len = self.model.len();
            let reached = if growing {
                len >= target
            } else {
                len <= target
            };
            if phase_left == 0 || reached {
                growing = !growing;
                let remaining = (ops - self.ops) as usize;
                target = if growing {
                    len + 50 + self.rng.below(remaining / 3 + 1)
                } else if self.rng.chance(self.drain_chance) {
                    self.floor
                } else {
                    self.floor
                        .max((len as f64 * (0.3 + 0.6 * self.rng.unit())) as usize)
                };
                phase_left = 4 * len.abs_diff(target) as u64 + 200;
            }
            phase_left -= 1;
            self.step(growing);
        }
        self.map.check();
        assert_stats(&self.map, &self.fail_context());
        self.verify_all();
        self.verify_height();
        assert!(self.checks > 0, "{}: check() never ran", self.label);
    }
}

fn shared_osm() -> Option<Arc<Vec<u64>>> {
    static OSM: std::sync::OnceLock<Option<Arc<Vec<u64>>>> = std::sync::OnceLock::new();
    OSM.get_or_init(|| osm_keys().map(Arc::new)).clone()
}

fn verbose() -> bool {
    std::env::var_os("ALEX_TEST_VERBOSE").is_some()
}

/// Every distribution under one configuration, for key type `K`.
/// `ops` operations per distribution, split over runs starting empty, from a
/// small bulk load and from a larger one.
fn every_distribution<K: MaybeNan>(
    progress: &Progress,
    config_name: &str,
    config: &Config,
    ops: u64,
    seed: u64,
) {
    let start = std::time::Instant::now();
    let osm = shared_osm();
    let mut total_ops = 0;
    for (d, &dist) in ALL_DISTS.iter().enumerate() {
        if dist == Dist::Osm && osm.is_none() {
            println!(
                "note: {} {config_name}: no OSM key file, distribution skipped",
                K::TYPE_NAME
            );
            continue;
        }
        let starts: [(u64, usize); 3] = [(ops / 2, 0), (ops / 4, 100), (ops / 4, 20_000)];
        for (i, &(run_ops, initial)) in starts.iter().enumerate() {
            let label = format!("{} {config_name} {dist:?} start={initial}", K::TYPE_NAME);
            let run_seed = seed ^ common::mix((d * 16 + i) as u64);
            let expected = initial + run_ops as usize;
            let mut run =
                Run::<K>::new(label, config.clone(), dist, expected, run_seed, osm.clone());
            progress.stage(run.label.clone());
            run.progress = progress.clone();
            let t = std::time::Instant::now();
            run.run(run_ops, initial);
            total_ops += run.ops;
            if verbose() {
                println!(
                    "  {}: {} ops, {} checks, final len {}, {:.2?}",
                    run.label,
                    run.ops,
                    run.checks,
                    run.map.len(),
                    t.elapsed()
                );
            }
        }
    }
    println!(
        "{} {config_name}: {total_ops} operations in {:.2?}",
        K::TYPE_NAME,
        start.elapsed()
    );
}

fn config_named(name: &str) -> Config {
    all_configs()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c)
        .expect("known configuration")
}

/// Operations per distribution per configuration for u64 (the main key type).
const U64_OPS: u64 = 24_000;
/// The same for the other key types.
const OTHER_OPS: u64 = 8_000;
/// Seconds a differential test may take in release before the watchdog
/// fails it (they take a few seconds; this only catches livelocks).
const WATCHDOG_SECS: u64 = 150;

fn u64_config(name: &'static str, seed: u64) {
    with_watchdog(WATCHDOG_SECS, move |p| {
        every_distribution::<u64>(&p, name, &config_named(name), U64_OPS, seed)
    });
}

#[test]
fn u64_default_config() {
    u64_config("default", 0xA1);
}

#[test]
fn u64_read_mostly_config() {
    u64_config("read_mostly", 0xA2);
}

#[test]
fn u64_single_level_config() {
    u64_config("single_level", 0xA3);
}

#[test]
fn u64_fixed_leaves_config() {
    u64_config("fixed_leaves_64", 0xA4);
}

#[test]
fn u64_small_nodes_config() {
    u64_config("small_nodes", 0xA5);
}

fn other_type_all_configs<K: MaybeNan>(seed: u64) {
    with_watchdog(WATCHDOG_SECS, move |p| {
        for (i, (name, config)) in all_configs().into_iter().enumerate() {
            every_distribution::<K>(&p, name, &config, OTHER_OPS, seed ^ common::mix(i as u64));
        }
    });
}

#[test]
fn i64_all_configs() {
    other_type_all_configs::<i64>(0xB1);
}

#[test]
fn u32_all_configs() {
    other_type_all_configs::<u32>(0xB2);
}

#[test]
fn i32_all_configs() {
    other_type_all_configs::<i32>(0xB3);
}

#[test]
fn f64_all_configs() {
    other_type_all_configs::<f64>(0xB4);
}

#[test]
fn f32_all_configs() {
    other_type_all_configs::<f32>(0xB5);
}

/// Long runs on large maps (deep trees under the small-node config), with
/// `check()` every 1000 operations. No bulk_load or clear here: the map
/// must stay large.
#[test]
fn u64_large_maps_long_runs() {
    with_watchdog(WATCHDOG_SECS, |p| {
        let osm = shared_osm();
        for (name, config) in [
            ("default", Config::default()),
            ("small_nodes", small_nodes()),
        ] {
            for (i, dist) in [
                Dist::Uniform,
                Dist::Lognormal,
                Dist::Clustered,
                Dist::Sequential,
            ]
            .into_iter()
            .enumerate()
            {
                let start = std::time::Instant::now();
                let label = format!("u64 {name} {dist:?} large");
                let mut run = Run::<u64>::new(
                    label.clone(),
                    config.clone(),
                    dist,
                    300_000,
                    0xC0 + i as u64,
                    osm.clone(),
                );
                run.replacing_ops = false;
                run.drain_chance = 0.0;
                run.floor = LARGE_INITIAL / 2;
                p.stage(label.clone());
                run.progress = p.clone();
                run.run(LARGE_OPS, LARGE_INITIAL);
                let s = run.map.stats();
                // Clustered draws repeat keys, so the distinct initial
                // count is far below LARGE_INITIAL there.
                assert!(
                    run.peak_len >= 10_000,
                    "{label}: the map never held 10000 keys (peak {})",
                    run.peak_len
                );
                println!(
                    "{label}: {} ops in {:.2?}, len {}, height {}, data nodes {}, {:.1} bytes/key",
                    run.ops,
                    start.elapsed(),
                    s.num_keys,
                    s.height,
                    s.data_nodes,
                    s.bytes_per_key()
                );
            }
        }
    });
}

const LARGE_OPS: u64 = 150_000;
const LARGE_INITIAL: usize = 150_000;

/// Extreme keys in every configuration, with more operations: the boundary
/// values are few, so runs keep inserting and removing the same ones.
#[test]
fn extreme_keys_every_type_and_config() {
    fn one<K: MaybeNan>(p: &Progress, seed: u64) {
        for (i, (name, config)) in all_configs().into_iter().enumerate() {
            let label = format!("{} {name} Extreme long", K::TYPE_NAME);
            let mut run = Run::<K>::new(label, config, Dist::Extreme, 2000, seed ^ i as u64, None);
            p.stage(run.label.clone());
            run.progress = p.clone();
            run.run(20_000, 0);
        }
    }
    with_watchdog(WATCHDOG_SECS, |p| {
        one::<u64>(&p, 1);
        one::<i64>(&p, 2);
        one::<u32>(&p, 3);
        one::<i32>(&p, 4);
        one::<f64>(&p, 5);
        one::<f32>(&p, 6);
    });
}

/// The reference order used above agrees with the crate's key order:
/// `key_cmp`, `key_eq` and `to_ordered` follow the integer order and the
/// floats' total order, and `from_ordered` inverts `to_ordered`.
#[test]
fn key_order_matches_reference_order() {
    fn one<K: MaybeNan>(seed: u64) {
        let mut rng = SplitMix64::new(seed);
        let mut keys = K::extremes();
        keys.push(K::MIN_KEY);
        keys.push(K::MAX_KEY);
        for _ in 0..5000 {
            keys.push(K::from_bits_any(rng.next_u64()));
        }
        for i in 0..keys.len() {
            keys.push(keys[i].nudge(1));
            keys.push(keys[i].nudge(-1));
        }
        for &k in &keys {
            assert!(k.is_valid(), "{k:?} not valid");
            let back = K::from_ordered(k.to_ordered());
            assert_eq!(back.ord(), k.ord(), "from_ordered(to_ordered({k:?}))");
            assert!(
                K::MIN_KEY.ord() <= k.ord() && k.ord() <= K::MAX_KEY.ord(),
                "{k:?} outside MIN..=MAX"
            );
        }
        for _ in 0..50_000 {
            let a = keys[rng.below(keys.len())];
            let b = keys[rng.below(keys.len())];
            let want = a.ord().cmp(&b.ord());
            assert_eq!(a.key_cmp(b), want, "key_cmp({a:?}, {b:?})");
            assert_eq!(
                a.to_ordered().cmp(&b.to_ordered()),
                want,
                "to_ordered order of {a:?}, {b:?}"
            );
            assert_eq!(a.key_eq(b), want.is_eq(), "key_eq({a:?}, {b:?})");
        }
    }
    one::<u64>(11);
    one::<i64>(12);
    one::<u32>(13);
    one::<i32>(14);
    one::<f64>(15);
    one::<f32>(16);
    assert!(!f64::NAN.is_valid() && !f32::NAN.is_valid() && !(-f64::NAN).is_valid());
}

/// Floats: -0.0 and 0.0 are two keys; infinities and subnormals are keys.
#[test]
fn float_special_values_are_distinct_keys() {
    let specials = f64::extremes();
    let mut map: AlexMap<f64, usize> = AlexMap::new();
    let mut model = BTreeMap::new();
    for (i, &k) in specials.iter().enumerate() {
        assert_eq!(map.insert(k, i), None, "insert {k:?}");
        model.insert(k.ord(), i);
        map.check();
    }
    assert_eq!(map.len(), model.len());
    assert_eq!(map.get(&-0.0), Some(&4), "-0.0");
    assert_eq!(map.get(&0.0), Some(&5), "0.0");
    assert_eq!(
        map.first_key_value().map(|(k, _)| *k),
        Some(f64::NEG_INFINITY)
    );
    assert_eq!(map.last_key_value().map(|(k, _)| *k), Some(f64::INFINITY));
    let order: Vec<u64> = map.keys().map(|k| k.to_bits()).collect();
    let want: Vec<u64> = model.keys().map(|k| k.0.to_bits()).collect();
    assert_eq!(order, want, "float key order");
    // The zero range holds exactly the two zeros, -0.0 first.
    let zeros: Vec<u64> = map.range(-0.0..=0.0).map(|(k, _)| k.to_bits()).collect();
    assert_eq!(zeros, vec![(-0.0f64).to_bits(), 0.0f64.to_bits()]);
    assert_eq!(map.remove(&-0.0), Some(4));
    assert_eq!(map.get(&0.0), Some(&5), "removing -0.0 removed 0.0");
    map.check();

    let mut map32: AlexMap<f32, u8> = AlexMap::new();
    map32.insert(0.0, 1);
    map32.insert(-0.0, 2);
    map32.insert(f32::from_bits(1), 3);
    map32.insert(f32::NEG_INFINITY, 4);
    assert_eq!(map32.len(), 4);
    assert_eq!(
        map32.values().copied().collect::<Vec<_>>(),
        vec![4, 2, 1, 3]
    );
    map32.check();
}

fn nan_refused<K: MaybeNan + Default>() {
    let nan = K::nan().expect("float type");
    let mut map: AlexMap<K, u64> = (0..500u32)
        .map(|i| (K::from_int(i as i128), u64::from(i)))
        .collect();
    let before: Vec<(K::Ord, u64)> = map.iter().map(|(k, v)| (k.ord(), *v)).collect();
    assert_eq!(map.try_insert(nan, 7), Err(AlexError::NanKey));
    assert_eq!(map.len(), 500);
    assert!(map.get(&nan).is_none() && !map.contains_key(&nan) && map.get_mut(&nan).is_none());
    assert_eq!(map.remove(&nan), None);
    let after: Vec<(K::Ord, u64)> = map.iter().map(|(k, v)| (k.ord(), *v)).collect();
    assert_eq!(before, after, "a refused NaN changed the map");
    map.check();
    let mut empty: AlexMap<K, u64> = AlexMap::new();
    assert_eq!(empty.try_insert(nan, 1), Err(AlexError::NanKey));
    assert!(empty.is_empty());
    empty.check();
    // bulk_load refuses it too.
    let bad = [(K::from_int(1), 1), (nan, 2), (K::from_int(3), 3)];
    assert_eq!(
        AlexMap::bulk_load(bad).err(),
        Some(AlexError::NanKey),
        "bulk_load of a NaN key"
    );
    // A panic in insert leaves the map usable and unchanged.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map.insert(nan, 9)));
    assert!(caught.is_err(), "insert(NaN) did not panic");
    assert_eq!(
        map.iter().map(|(k, v)| (k.ord(), *v)).collect::<Vec<_>>(),
        before
    );
    map.check();
    assert_eq!(
        map.insert(K::default(), 5),
        Some(0),
        "map unusable after a NaN panic"
    );
}

#[test]
fn nan_keys_are_refused_and_change_nothing() {
    nan_refused::<f64>();
    nan_refused::<f32>();
}

#[test]
#[should_panic(expected = "NaN is not a valid key")]
fn insert_of_f64_nan_panics() {
    let mut map: AlexMap<f64, u8> = AlexMap::new();
    map.insert(1.0, 1);
    map.insert(f64::NAN, 2);
}

#[test]
#[should_panic(expected = "NaN is not a valid key")]
fn insert_of_f32_nan_panics() {
    let mut map: AlexMap<f32, u8> = AlexMap::new();
    map.insert(f32::NAN, 2);
}
