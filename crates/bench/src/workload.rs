//! Workloads and their operation plans. A plan is generated once per (key set, scale) from
//! the seed and replayed identically on every system and every repetition, so the checksums
//! of the answers must agree between systems.

use crate::keys::{value_for, KeySet};
use crate::rng::{derive_seed, Rng};
use clap::ValueEnum;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Build from the sorted (key, value) pairs (bulk load; SQLite: sorted INSERTs in one transaction).
    BuildBulk,
    /// Build from empty by inserting every pair in random order.
    BuildInserts,
    /// Point lookups of existing keys chosen uniformly, random order.
    LookupUniform,
    /// The same lookups as `LookupUniform`, through the batched lookup `AlexMap::get_many`,
    /// `LOOKUP_BATCH` keys per call (AlexMap systems only).
    LookupBatch,
    /// Point lookups of existing keys chosen by a Zipf law (theta 0.99), hot keys scattered.
    LookupZipf,
    /// Point lookups of keys absent from the structure (drawn from the gaps between keys).
    LookupAbsent,
    /// Uniform lookups, one statement per autocommit transaction (SQLite only).
    LookupAutocommit,
    /// Short range scans: 100 keys from a random existing key.
    RangeScan,
    /// Inserts of new keys into the bulk-loaded structure.
    InsertOnly,
    /// 95% uniform lookups, 5% inserts of new keys, interleaved at random.
    ReadHeavy,
    /// 50% uniform lookups, 50% inserts of new keys.
    WriteHeavy,
    /// Deletes of random existing keys.
    Delete,
    /// Single puts of new keys, each its own relaxed commit and timed alone (databases
    /// only): percentiles, maximum and throughput per 100 ms window.
    PutLatency,
    /// Close and reopen from the files after every other workload (on-disk systems).
    Reopen,
    /// Bulk load two thirds of the base keys, then insert the held-out third in random
    /// order (50% more keys than were loaded); the index's memory target covers this state.
    Grow,
}

impl Workload {
    pub const ALL: [Workload; 15] = [
        Workload::BuildBulk,
        Workload::BuildInserts,
        Workload::LookupUniform,
        Workload::LookupBatch,
        Workload::LookupZipf,
        Workload::LookupAbsent,
        Workload::LookupAutocommit,
        Workload::RangeScan,
        Workload::InsertOnly,
        Workload::ReadHeavy,
        Workload::WriteHeavy,
        Workload::Delete,
        Workload::PutLatency,
        Workload::Reopen,
        Workload::Grow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::BuildBulk => "build-bulk",
            Workload::BuildInserts => "build-inserts",
            Workload::LookupUniform => "lookup-uniform",
            Workload::LookupBatch => "lookup-batch",
            Workload::LookupZipf => "lookup-zipf",
            Workload::LookupAbsent => "lookup-absent",
            Workload::LookupAutocommit => "lookup-autocommit",
            Workload::RangeScan => "range-scan",
            Workload::InsertOnly => "insert-only",
            Workload::ReadHeavy => "read-heavy",
            Workload::WriteHeavy => "write-heavy",
            Workload::Delete => "delete",
            Workload::PutLatency => "put-latency",
            Workload::Reopen => "reopen",
            Workload::Grow => "grow",
        }
    }

    /// What one operation of this workload is, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Workload::BuildBulk => "build from sorted pairs; ns per key",
            Workload::BuildInserts => "build by inserting pairs in random order; ns per key",
            Workload::LookupUniform => "get existing key, uniform choice; value read",
            Workload::LookupBatch => {
                "lookup-uniform's keys in their order through AlexMap::get_many, 256 per call \
                 into one reused vector, the values read; ns per key (AlexMap systems only)"
            }
            Workload::LookupZipf => "get existing key, Zipf 0.99 choice; value read",
            Workload::LookupAbsent => "get absent key",
            Workload::LookupAutocommit => "get existing key, one autocommit transaction each",
            Workload::RangeScan => "scan 100 keys from an existing key; ns per scan",
            Workload::InsertOnly => "insert new key into the bulk-loaded structure",
            Workload::ReadHeavy => "95% get / 5% insert new key",
            Workload::WriteHeavy => "50% get / 50% insert new key",
            Workload::Delete => "delete existing key; removed value read",
            Workload::PutLatency => {
                "put of a new key as its own relaxed commit, one thread, each put timed alone, on \
                 the database the delete workload left (OmenDB: `put`; SQLite file: an autocommit \
                 INSERT; redb: a write transaction with Durability::None; fjall: `insert`, \
                 journalled to the OS); ns per put (mean); percentiles and 100 ms windows in \
                 their own table"
            }
            Workload::Reopen => {
                "close, then open from the files until ready to answer (OmenDB reads its manifest \
                 and each run's fences and model, and replays the log since its last flush; SQLite reads pages lazily later; redb writes out its \
                 non-durable commits at close and reads its table root; fjall fsyncs its journal at \
                 close and replays it into a memtable); ns per reopen"
            }
            Workload::Grow => {
                "bulk-load two thirds of the base keys (every third key held out), then insert the \
                 held-out third in random order (50% more keys than were loaded); ns per insert \
                 (the inserts only, not the bulk load); the heap is what the structure holds \
                 afterwards, with as many keys as the bulk build, so its bytes/key compare directly"
            }
        }
    }

    /// Workloads that change the structure; they run after the read-only ones, in this
    /// order, each on the structure the previous one left. (The two builds by random
    /// inserts, `BuildInserts` and `Grow`, run apart, each on a structure of its own.)
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Workload::InsertOnly
                | Workload::ReadHeavy
                | Workload::WriteHeavy
                | Workload::Delete
                | Workload::PutLatency
                | Workload::Reopen
        )
    }
}

/// Whether SQLite lookups share one read transaction or each run in their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnMode {
    OneTransaction,
    Autocommit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Get(u64),
    Insert(u64, u64),
}

/// Length of every range scan.
pub const SCAN_LEN: usize = 100;
/// Keys per call of the batched lookups (`LookupBatch`): enough that filling and draining
/// `get_many`'s pipeline of 16 lookups is a small share of a call.
pub const LOOKUP_BATCH: usize = 256;
/// Fraction of inserts in the read-heavy mix.
const READ_HEAVY_INSERT_PERCENT: u64 = 5;
const WRITE_HEAVY_INSERT_PERCENT: u64 = 50;
const ZIPF_THETA: f64 = 0.99;

/// How many operations each workload runs, from the lookup count `ops`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OpCounts {
    pub lookups: usize,
    pub zipf: usize,
    pub warmup: usize,
    pub absent: usize,
    pub autocommit: usize,
    pub scans: usize,
    pub insert_only: usize,
    pub mixed: usize,
    pub deletes: usize,
    /// Most puts of one put-latency run (each run takes at most half the loaded keys).
    pub put_latency: usize,
}

impl OpCounts {
    pub fn from_lookups(ops: usize) -> Self {
        let ops = ops.max(10);
        // The headline uniform lookups get the full count; the rest are sized so the default
        // 10M run (SQLite included) stays within a few minutes on 2 cores.
        OpCounts {
            lookups: ops,
            zipf: ops,
            warmup: (ops / 10).max(1000),
            absent: (ops / 10).max(1),
            autocommit: (ops / 20).max(1),
            scans: (ops / 50).max(1),
            insert_only: (ops / 10).max(1),
            mixed: (ops / 5).max(1),
            deletes: (ops / 10).max(1),
            put_latency: (ops / 20).max(1),
        }
    }

    /// New keys the insert workloads need beyond the base set.
    pub fn new_keys_needed(&self) -> usize {
        let mixed_inserts = |pct: u64| (self.mixed as u64 * pct).div_ceil(100) as usize + 64;
        self.insert_only
            + mixed_inserts(READ_HEAVY_INSERT_PERCENT)
            + mixed_inserts(WRITE_HEAVY_INSERT_PERCENT)
            + self.put_latency
    }
}

/// Every operation list of one (key set, scale).
#[derive(Debug)]
pub struct Plan {
    pub sorted_pairs: Vec<(u64, u64)>,
    pub shuffled_pairs: Vec<(u64, u64)>,
    pub warmup: Vec<u64>,
    pub uniform: Vec<u64>,
    pub zipf: Vec<u64>,
    pub absent: Vec<u64>,
    pub scan_starts: Vec<u64>,
    pub insert_only: Vec<(u64, u64)>,
    pub read_heavy: Vec<Op>,
    pub write_heavy: Vec<Op>,
    pub deletes: Vec<u64>,
    /// `PutLatency`'s puts: new keys, none of the other workloads' (up to half the base set).
    pub put_latency: Vec<(u64, u64)>,
    /// `Grow`'s bulk load: the base keys but every third (ranks 2, 5, 8, ...), sorted.
    /// Empty unless the plan was made for `Grow`.
    pub grow_base: Vec<(u64, u64)>,
    /// `Grow`'s inserts: the held-out third of the base keys, in random order. Empty unless
    /// the plan was made for `Grow`.
    pub grow_inserts: Vec<(u64, u64)>,
}

impl Plan {
    /// `grow`: build `Grow`'s two lists. Without it they stay empty, so runs that do not
    /// ask for `Grow` hold no third copy of the pairs (800 MB at 50M keys).
    pub fn new(ks: &KeySet, counts: &OpCounts, seed: u64, grow: bool) -> Plan {
        let base = &ks.base;
        let n = base.len();
        let sorted_pairs: Vec<(u64, u64)> = base.iter().map(|&k| (k, value_for(k))).collect();
        let mut shuffled_pairs = sorted_pairs.clone();
        Rng::new(derive_seed(seed, "build-order")).shuffle(&mut shuffled_pairs);

        let uniform_from = |purpose: &str, count: usize| -> Vec<u64> {
            let mut rng = Rng::new(derive_seed(seed, purpose));
            if n == 0 {
                return Vec::new();
            }
            (0..count).map(|_| base[rng.index(n)]).collect()
        };
        let warmup = uniform_from("warmup", counts.warmup);
        let uniform = uniform_from("lookup-uniform", counts.lookups);
        let scan_starts = uniform_from("range-scan", counts.scans);

        let zipf = if n == 0 {
            Vec::new()
        } else {
            let gen = Zipf::new(n, ZIPF_THETA);
            let perm = IndexPermutation::new(n, derive_seed(seed, "zipf-perm"));
            let mut rng = Rng::new(derive_seed(seed, "lookup-zipf"));
            (0..counts.zipf)
                .map(|_| base[perm.apply(gen.sample(&mut rng))])
                .collect()
        };

        let absent = ks.absent_keys(counts.absent, &mut Rng::new(derive_seed(seed, "absent")));

        let mut new_keys = ks.inserts.iter().map(|&k| (k, value_for(k)));
        let insert_only: Vec<(u64, u64)> = new_keys.by_ref().take(counts.insert_only).collect();
        // Drawn before the mixes, whose inserts may run past their expected count (they then
        // fall back to gets), so that the put-latency run always gets its count. Its puts
        // run after every other insert, on the database those workloads left.
        let put_latency: Vec<(u64, u64)> = new_keys
            .by_ref()
            .take(counts.put_latency.min(n / 2))
            .collect();
        let mut mix = |purpose: &str, pct: u64| -> Vec<Op> {
            let mut rng = Rng::new(derive_seed(seed, purpose));
            let mut ops = Vec::with_capacity(counts.mixed);
            for _ in 0..counts.mixed {
                if n > 0 && rng.below(100) >= pct {
                    ops.push(Op::Get(base[rng.index(n)]));
                } else if let Some((k, v)) = new_keys.next() {
                    ops.push(Op::Insert(k, v));
                } else if n > 0 {
                    ops.push(Op::Get(base[rng.index(n)]));
                }
            }
            ops
        };
        let read_heavy = mix("read-heavy", READ_HEAVY_INSERT_PERCENT);
        let write_heavy = mix("write-heavy", WRITE_HEAVY_INSERT_PERCENT);

        let deletes = if n == 0 {
            Vec::new()
        } else {
            let perm = IndexPermutation::new(n, derive_seed(seed, "delete"));
            (0..counts.deletes.min(n))
                .map(|i| base[perm.apply(i)])
                .collect()
        };

        // Every third key by rank is held out: the loaded two thirds and the inserted third
        // both follow the key set's distribution, and file key sets need no extra keys.
        let (grow_base, grow_inserts) = if grow {
            let mut kept = Vec::with_capacity(n - n / 3);
            let mut held = Vec::with_capacity(n / 3);
            for (i, &pair) in sorted_pairs.iter().enumerate() {
                if i % 3 == 2 {
                    held.push(pair);
                } else {
                    kept.push(pair);
                }
            }
            Rng::new(derive_seed(seed, "grow")).shuffle(&mut held);
            (kept, held)
        } else {
            (Vec::new(), Vec::new())
        };

        Plan {
            sorted_pairs,
            shuffled_pairs,
            warmup,
            uniform,
            zipf,
            absent,
            scan_starts,
            insert_only,
            read_heavy,
            write_heavy,
            deletes,
            put_latency,
            grow_base,
            grow_inserts,
        }
    }

    /// Operations one run of `w` performs (the divisor of its time).
    pub fn ops(&self, w: Workload, autocommit: usize) -> usize {
        match w {
            Workload::BuildBulk | Workload::BuildInserts => self.sorted_pairs.len(),
            Workload::LookupUniform | Workload::LookupBatch => self.uniform.len(),
            Workload::LookupZipf => self.zipf.len(),
            Workload::LookupAbsent => self.absent.len(),
            Workload::LookupAutocommit => autocommit.min(self.uniform.len()),
            Workload::RangeScan => self.scan_starts.len(),
            Workload::InsertOnly => self.insert_only.len(),
            Workload::ReadHeavy => self.read_heavy.len(),
            Workload::WriteHeavy => self.write_heavy.len(),
            Workload::Delete => self.deletes.len(),
            Workload::PutLatency => self.put_latency.len(),
            Workload::Reopen => 1,
            Workload::Grow => self.grow_inserts.len(),
        }
    }
}

/// A bijection of `0..n` (i -> (a*i + b) mod n with gcd(a, n) = 1): scatters ranks and picks
/// distinct indices without materialising a permutation.
#[derive(Debug, Clone, Copy)]
pub struct IndexPermutation {
    n: u64,
    a: u64,
    b: u64,
}

impl IndexPermutation {
    pub fn new(n: usize, seed: u64) -> Self {
        let n = n.max(1) as u64;
        let mut rng = Rng::new(seed);
        let mut a = (rng.below(n) | 1) % n;
        while a == 0 || gcd(a, n) != 1 {
            a = (a + 1) % n;
            if n == 1 {
                a = 1;
                break;
            }
        }
        IndexPermutation {
            n,
            a,
            b: rng.below(n),
        }
    }

    pub fn apply(&self, i: usize) -> usize {
        ((u128::from(self.a) * i as u128 + u128::from(self.b)) % u128::from(self.n)) as usize
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The YCSB Zipfian generator (Gray et al., "Quickly generating billion-record synthetic
/// databases"): rank 0 is the hottest.
#[derive(Debug, Clone)]
pub struct Zipf {
    n: f64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
}

impl Zipf {
    pub fn new(n: usize, theta: f64) -> Self {
        let zetan = zeta(n, theta);
        let zeta2 = 1.0 + 0.5f64.powf(theta);
        let nf = n as f64;
        Zipf {
            n: nf,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            eta: (1.0 - (2.0 / nf).powf(1.0 - theta)) / (1.0 - zeta2 / zetan),
        }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        let uz = u * self.zetan;
        if uz < 1.0 || self.n < 2.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1;
        }
        let r = (self.n * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as usize;
        r.min(self.n as usize - 1)
    }
}

/// sum_{i=1..n} i^-theta: exact up to 1M terms, Euler-Maclaurin beyond.
fn zeta(n: usize, theta: f64) -> f64 {
    const EXACT: usize = 1 << 20;
    let m = n.min(EXACT);
    let mut s: f64 = (1..=m).map(|i| (i as f64).powf(-theta)).sum();
    if n > m {
        let (nf, mf) = (n as f64, m as f64);
        s += (nf.powf(1.0 - theta) - mf.powf(1.0 - theta)) / (1.0 - theta)
            + (nf.powf(-theta) - mf.powf(-theta)) / 2.0;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{generate, Distribution};

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1usize, 2, 10, 97, 1000] {
            let p = IndexPermutation::new(n, 3);
            let mut seen: Vec<usize> = (0..n).map(|i| p.apply(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let z = Zipf::new(10_000, 0.99);
        let mut rng = Rng::new(1);
        let mut hits0 = 0;
        for _ in 0..100_000 {
            let r = z.sample(&mut rng);
            assert!(r < 10_000);
            hits0 += usize::from(r == 0);
        }
        // P(rank 0) = 1 / zeta(10^4, 0.99) ~ 0.1.
        assert!((7_000..13_000).contains(&hits0), "{hits0}");
    }

    #[test]
    fn plan_uses_existing_keys_for_gets_and_new_keys_for_inserts() {
        let pool = generate(Distribution::Uniform, 12_000, 2);
        let counts = OpCounts::from_lookups(4000);
        let ks = KeySet::split("u", pool, 10_000, counts.new_keys_needed(), 4);
        let plan = Plan::new(&ks, &counts, 8, false);
        let exists = |k: &u64| ks.base.binary_search(k).is_ok();
        assert!(plan.uniform.iter().chain(&plan.zipf).all(exists));
        assert!(!plan.absent.iter().any(exists));
        let mut inserted: Vec<u64> = plan.insert_only.iter().map(|p| p.0).collect();
        // Put-latency keys: new, valued like the others, at most half the base set.
        assert_eq!(plan.put_latency.len(), counts.put_latency.min(10_000 / 2));
        for &(k, v) in &plan.put_latency {
            assert!(!exists(&k));
            assert_eq!(v, value_for(k));
            inserted.push(k);
        }
        for op in plan.read_heavy.iter().chain(&plan.write_heavy) {
            match op {
                Op::Get(k) => assert!(exists(k)),
                Op::Insert(k, v) => {
                    assert!(!exists(k));
                    assert_eq!(*v, value_for(*k));
                    inserted.push(*k);
                }
            }
        }
        let before = inserted.len();
        inserted.sort_unstable();
        inserted.dedup();
        assert_eq!(before, inserted.len(), "a new key is inserted twice");
        let mut deletes = plan.deletes.clone();
        deletes.sort_unstable();
        deletes.dedup();
        assert_eq!(deletes.len(), counts.deletes);
        assert!(plan.deletes.iter().all(exists));
        // Without the flag, no copy of the pairs for `Grow`.
        assert!(plan.grow_base.is_empty() && plan.grow_inserts.is_empty());
        assert_eq!(plan.ops(Workload::Grow, 0), 0);
    }

    #[test]
    fn grow_splits_the_base_set_into_a_sorted_two_thirds_and_a_shuffled_third() {
        for n in [0usize, 1, 2, 3, 10, 10_000, 10_001] {
            let pool = generate(Distribution::Lognormal, n + 100, 5);
            let counts = OpCounts::from_lookups(1000);
            let ks = KeySet::split("l", pool, n, 100, 6);
            let plan = Plan::new(&ks, &counts, 9, true);
            let pairs = |v: &[(u64, u64)]| v.iter().all(|&(k, v)| v == value_for(k));
            assert!(pairs(&plan.grow_base) && pairs(&plan.grow_inserts));
            assert_eq!(plan.grow_base.len(), n - n / 3);
            assert_eq!(plan.grow_inserts.len(), n / 3);
            assert_eq!(plan.ops(Workload::Grow, 0), n / 3);
            // Sorted and distinct: a valid bulk load.
            assert!(plan.grow_base.windows(2).all(|w| w[0].0 < w[1].0));
            // Together exactly the base set, so no key is in both and the final count is n.
            let mut all: Vec<u64> = plan
                .grow_base
                .iter()
                .chain(&plan.grow_inserts)
                .map(|p| p.0)
                .collect();
            all.sort_unstable();
            assert_eq!(all, ks.base);
            if n >= 10_000 {
                // Shuffled, not left in key order.
                assert!(plan.grow_inserts.windows(2).any(|w| w[0].0 > w[1].0));
                // Deterministic: every system and repetition replays the same order.
                assert_eq!(
                    Plan::new(&ks, &counts, 9, true).grow_inserts,
                    plan.grow_inserts
                );
            }
        }
    }
}
