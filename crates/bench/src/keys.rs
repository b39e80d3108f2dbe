//! Key sets: seeded synthetic generators and the split of a key pool into the keys a
//! structure is built from and the new keys the insert workloads add.
//!
//! Every generator returns exactly `count` keys, sorted ascending and distinct, and the same
//! keys for the same seed.

use crate::rng::{mix64, Rng};
use std::fmt;

/// The synthetic key distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// Uniform random over all of u64.
    Uniform,
    /// exp(N(0, 2)) scaled by 1e12 (heavily skewed, dense near the bottom).
    Lognormal,
    /// N(2^63, 2^60), clamped to u64.
    Normal,
    /// Increasing microsecond timestamps with random gaps (1..1000 us, 1% pauses of up to 1000 s).
    Timestamps,
    /// Dense runs (1..1000 keys, step 1..4) separated by jumps of 2^20..2^40.
    Clustered,
}

impl Distribution {
    pub const ALL: [Distribution; 5] = [
        Distribution::Uniform,
        Distribution::Lognormal,
        Distribution::Normal,
        Distribution::Timestamps,
        Distribution::Clustered,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Distribution::Uniform => "uniform",
            Distribution::Lognormal => "lognormal",
            Distribution::Normal => "normal",
            Distribution::Timestamps => "timestamps",
            Distribution::Clustered => "clustered",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Generates exactly `count` sorted, distinct keys of `dist` from `seed`.
pub fn generate(dist: Distribution, count: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    match dist {
        Distribution::Uniform => sample_distinct(count, &mut rng, |r| r.next_u64()),
        Distribution::Lognormal => sample_distinct(count, &mut rng, |r| {
            // `as` saturates, so the (astronomically rare) overflow lands on u64::MAX.
            ((2.0 * r.normal()).exp() * 1e12) as u64
        }),
        Distribution::Normal => sample_distinct(count, &mut rng, |r| {
            (9.223_372_036_854_776e18 + r.normal() * 1.152_921_504_606_847e18) as u64
        }),
        Distribution::Timestamps => {
            let mut keys = Vec::with_capacity(count);
            let mut t: u64 = 1_600_000_000_000_000;
            for _ in 0..count {
                keys.push(t);
                let gap = if rng.below(100) == 0 {
                    1 + rng.below(1_000_000_000)
                } else {
                    1 + rng.below(1000)
                };
                t = t.saturating_add(gap);
            }
            keys.dedup(); // only matters if saturation ever reached u64::MAX
            top_up(keys, count, &mut rng)
        }
        Distribution::Clustered => {
            let mut keys = Vec::with_capacity(count);
            let mut k: u64 = rng.below(1 << 56);
            while keys.len() < count {
                let run = 1 + rng.below(1000);
                for _ in 0..run {
                    if keys.len() == count {
                        break;
                    }
                    keys.push(k);
                    k = k.saturating_add(1 + rng.below(4));
                }
                k = k.saturating_add((1 << 20) + rng.below(1 << 40));
            }
            keys.dedup();
            top_up(keys, count, &mut rng)
        }
    }
}

/// Draws values until `count` distinct ones exist, then returns them sorted.
fn sample_distinct(count: usize, rng: &mut Rng, mut draw: impl FnMut(&mut Rng) -> u64) -> Vec<u64> {
    let mut keys: Vec<u64> = Vec::with_capacity(count + count / 64 + 16);
    let mut rounds = 0;
    while keys.len() < count {
        let missing = count - keys.len();
        keys.extend((0..missing + missing / 64 + 1).map(|_| draw(rng)));
        keys.sort_unstable();
        keys.dedup();
        rounds += 1;
        if rounds > 64 {
            // A distribution this narrow cannot supply `count` distinct keys; fill the rest
            // uniformly so the caller still gets its count.
            return top_up(keys, count, rng);
        }
    }
    // Dropping a random subset of the surplus keeps the distribution's shape.
    while keys.len() > count {
        let i = rng.index(keys.len());
        keys.swap_remove(i);
    }
    keys.sort_unstable();
    keys
}

/// Adds uniform random keys until `count` distinct keys exist (a fallback for degenerate
/// cases), or truncates.
fn top_up(mut keys: Vec<u64>, count: usize, rng: &mut Rng) -> Vec<u64> {
    while keys.len() < count {
        let missing = count - keys.len();
        keys.extend((0..missing).map(|_| rng.next_u64()));
        keys.sort_unstable();
        keys.dedup();
    }
    keys.truncate(count);
    keys
}

/// The value stored with a key: a fixed function of the key, so every system holds the same
/// pairs and the checksums of their answers must agree.
pub fn value_for(key: u64) -> u64 {
    mix64(key ^ 0x005E_ED0F_0A1E_C0DE)
}

/// The keys of one (key set, scale) run.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// Name used in reports (`uniform`, or a file's stem).
    pub name: String,
    /// The keys every structure is built from, sorted and distinct.
    pub base: Vec<u64>,
    /// New keys (absent from `base`, distinct) in random order, for the insert workloads.
    pub inserts: Vec<u64>,
}

impl KeySet {
    /// Splits a sorted, distinct pool into `base` (up to `n` keys) and `inserts` (up to `m`),
    /// both random subsets of the pool so they follow its distribution.
    ///
    /// When the pool holds fewer than `n + m` keys (a small key file), inserts get at most a
    /// fifth of the pool and the base the rest.
    pub fn split(name: &str, mut pool: Vec<u64>, n: usize, m: usize, seed: u64) -> KeySet {
        let mut rng = Rng::new(seed);
        let (n, m) = if pool.len() >= n + m {
            (n, m)
        } else {
            let m = m.min(pool.len() / 5);
            (pool.len() - m, m)
        };
        // Partial Fisher-Yates: the first n + m slots become a uniform random sample.
        let take = n + m;
        for i in 0..take.min(pool.len().saturating_sub(1)) {
            let j = i + rng.index(pool.len() - i);
            pool.swap(i, j);
        }
        pool.truncate(take);
        let mut base = pool.split_off(m);
        base.sort_unstable();
        KeySet {
            name: name.to_string(),
            base,
            inserts: pool,
        }
    }

    /// Keys absent from `base`, drawn from the gaps between its keys (so they follow its
    /// distribution); falls back to keys above the maximum when no gap is wider than one.
    pub fn absent_keys(&self, count: usize, rng: &mut Rng) -> Vec<u64> {
        let base = &self.base;
        let mut out = Vec::with_capacity(count);
        if base.len() < 2 {
            let start = base.last().map_or(0, |k| k.saturating_add(1));
            out.extend((0..count as u64).map(|i| start.wrapping_add(i)));
            return out;
        }
        let mut misses = 0usize;
        while out.len() < count {
            let i = rng.index(base.len() - 1);
            let gap = base[i + 1] - base[i];
            if gap > 1 {
                out.push(base[i] + 1 + rng.below(gap - 1));
            } else {
                misses += 1;
                if misses > 64 * count + 1024 {
                    break;
                }
            }
        }
        let mut next = base[base.len() - 1];
        while out.len() < count && next < u64::MAX {
            next += 1;
            out.push(next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_distinct(keys: &[u64]) -> bool {
        keys.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn generators_give_count_sorted_distinct_and_are_deterministic() {
        for dist in Distribution::ALL {
            for count in [0usize, 1, 2, 1000, 20_000] {
                let a = generate(dist, count, 42);
                assert_eq!(a.len(), count, "{dist} count {count}");
                assert!(sorted_distinct(&a), "{dist} not sorted/distinct");
                let b = generate(dist, count, 42);
                assert_eq!(a, b, "{dist} not deterministic");
            }
            let c = generate(dist, 1000, 43);
            assert_ne!(generate(dist, 1000, 42), c, "{dist} ignores its seed");
        }
    }

    #[test]
    fn lognormal_is_skewed_and_timestamps_increase_slowly() {
        let keys = generate(Distribution::Lognormal, 10_000, 1);
        let median = keys[keys.len() / 2];
        let mean = keys.iter().map(|&k| k as f64).sum::<f64>() / keys.len() as f64;
        assert!(
            mean > 2.0 * median as f64,
            "lognormal mean {mean} median {median}"
        );
        let ts = generate(Distribution::Timestamps, 10_000, 1);
        assert!(ts[ts.len() - 1] - ts[0] < 10_000 * 1_000_000_001);
    }

    #[test]
    fn split_gives_disjoint_base_and_inserts() {
        let pool = generate(Distribution::Uniform, 1200, 5);
        let ks = KeySet::split("u", pool.clone(), 1000, 200, 9);
        assert_eq!(ks.base.len(), 1000);
        assert_eq!(ks.inserts.len(), 200);
        assert!(sorted_distinct(&ks.base));
        for k in &ks.inserts {
            assert!(ks.base.binary_search(k).is_err());
            assert!(pool.binary_search(k).is_ok());
        }
        // A pool too small for n + m: inserts take at most a fifth.
        let small = KeySet::split("s", generate(Distribution::Uniform, 100, 5), 1000, 200, 9);
        assert_eq!((small.base.len(), small.inserts.len()), (80, 20));
    }

    #[test]
    fn absent_keys_are_absent() {
        let ks = KeySet::split("c", generate(Distribution::Clustered, 5000, 3), 5000, 0, 1);
        let mut rng = Rng::new(11);
        let absent = ks.absent_keys(3000, &mut rng);
        assert_eq!(absent.len(), 3000);
        for k in absent {
            assert!(ks.base.binary_search(&k).is_err());
        }
        // Dense consecutive keys: no gap, so keys above the maximum are used.
        let dense = KeySet {
            name: "d".into(),
            base: (10..20).collect(),
            inserts: vec![],
        };
        assert_eq!(dense.absent_keys(3, &mut rng), vec![20, 21, 22]);
    }
}
