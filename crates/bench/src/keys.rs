//! Key sets: seeded synthetic generators and the split of a key pool into the keys a
//! structure is built from and the new keys the insert workloads add.
//!
//! Every generator returns exactly `count` keys, sorted ascending and distinct, and the same
//! keys for the same seed. [`grow`] expands a real key set the same way: exact count, sorted,
//! distinct, fixed by the seed.

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

/// Why a key set cannot be grown to the requested count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrowError {
    #[error("cannot grow an empty key set")]
    Empty,
    #[error("cannot grow {have} keys to {target}: the target is smaller")]
    TargetBelowCount { have: usize, target: usize },
    #[error("cannot grow {have} keys to {target}: too few free u64 values above the first key")]
    NoRoom { have: usize, target: usize },
}

/// Expands a sorted, distinct real key set to exactly `target` keys, keeping its clusters and
/// gaps: every real key stays, and each is followed by its share of the new keys, placed
/// close after it and never at or past the next real key.
///
/// How many: every real key gets the same share, `target / len - 1` new keys, and the
/// remainder goes one each to keys chosen at random, so the key set's distribution at any
/// scale coarser than its own gaps is kept.
///
/// Where: a key's *local spacing* is the smaller of its two gaps (to the key before and the
/// key after; the first key has only the gap after, the last key's gap after runs to the end
/// of u64). When the share fits inside one local spacing, the new keys subdivide it: inside a
/// cluster the cluster only gets denser, and at a cluster's edge the wide gap beyond stays
/// empty because the spacing is the cluster's, not the gap's. When it does not fit (runs of
/// consecutive keys, or spacing tighter than the share), the key keeps what fits and hands the
/// rest on to the next key; a key with a wider gap after it (a run's end) then places all it
/// holds at the local spacing, up to its gap, so a run of consecutive keys goes on as a
/// longer run and a tight cluster grows longer at its own spacing. Inside the span it covers,
/// a key's new keys sit one per equal stratum, at a seeded random place in the stratum.
///
/// Fails with `NoRoom` when what reaches the last keys cannot fit below 2^64 (a key at
/// u64::MAX has no room for any share).
///
/// Deterministic: the same keys, target and seed give the same keys.
pub fn grow(keys: &[u64], target: usize, seed: u64) -> Result<Vec<u64>, GrowError> {
    if keys.is_empty() {
        return Err(GrowError::Empty);
    }
    debug_assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "keys must be sorted and distinct"
    );
    if target < keys.len() {
        return Err(GrowError::TargetBelowCount {
            have: keys.len(),
            target,
        });
    }
    let no_room = GrowError::NoRoom {
        have: keys.len(),
        target,
    };
    // Free values above the first key: 2^64 - first - len. Checked before any allocation.
    let free = (1u128 << 64) - u128::from(keys[0]) - keys.len() as u128;
    if ((target - keys.len()) as u128) > free {
        return Err(no_room);
    }
    let mut rng = Rng::new(seed);
    let shares = equal_shares(keys.len(), target - keys.len(), &mut rng);
    let gaps = gaps_after(keys);
    let mut out = Vec::with_capacity(target);
    let mut carried: u128 = 0;
    for (i, &key) in keys.iter().enumerate() {
        out.push(key);
        let demand = carried + u128::from(shares[i]);
        if demand == 0 {
            continue;
        }
        let gap = gaps[i];
        let spacing = if i == 0 { gap } else { gap.min(gaps[i - 1]) };
        // The span (key, key + span) the new keys use: one local spacing when they fit in it,
        // else as many spacings as they need, never past the next key.
        let span = if spacing > demand {
            spacing
        } else {
            gap.min((demand + 1).saturating_mul(spacing))
        };
        let room = span - 1;
        let placed = demand.min(room);
        carried = demand - placed;
        // One new key per stratum of the free offsets 1..=room: strata are disjoint and
        // ascending, so the new keys come out distinct and sorted.
        for j in 0..placed {
            let lo = 1 + room * j / placed;
            let hi = 1 + room * (j + 1) / placed;
            let offset = lo + u128::from(rng.below((hi - lo) as u64));
            out.push((u128::from(key) + offset) as u64);
        }
    }
    if carried > 0 {
        // Only reachable when the keys above the last real key run out of u64.
        return Err(no_room);
    }
    debug_assert_eq!(out.len(), target);
    Ok(out)
}

/// For each key, the distance to the next key; for the last, the distance to 2^64 (one past
/// u64::MAX), so `key + gap - 1` never overflows u64.
fn gaps_after(keys: &[u64]) -> Vec<u128> {
    keys.iter()
        .enumerate()
        .map(|(i, &k)| {
            let next = keys.get(i + 1).map_or(1u128 << 64, |&n| u128::from(n));
            next - u128::from(k)
        })
        .collect()
}

/// `extra` new keys split over `len` keys: `extra / len` each, and one more for
/// `extra % len` keys chosen uniformly at random.
fn equal_shares(len: usize, extra: usize, rng: &mut Rng) -> Vec<u64> {
    let mut shares = vec![(extra / len) as u64; len];
    let mut order: Vec<usize> = (0..len).collect();
    // Partial Fisher-Yates: the first `extra % len` slots become a uniform random choice.
    for i in 0..extra % len {
        let j = i + rng.index(len - i);
        order.swap(i, j);
        shares[order[i]] += 1;
    }
    shares
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

    /// Checks every promise of `grow` for one input; returns the grown keys.
    fn check_grow(keys: &[u64], target: usize, seed: u64) -> Vec<u64> {
        let grown = grow(keys, target, seed).unwrap();
        assert_eq!(grown.len(), target, "count");
        assert!(sorted_distinct(&grown), "sorted and distinct");
        // Every real key kept; new keys only ever come after a real key, below the next
        // one (sortedness with every real key present), so none crosses into another gap.
        for k in keys {
            assert!(grown.binary_search(k).is_ok(), "real key {k} dropped");
        }
        assert_eq!(grown[0], keys[0], "a new key below the first real key");
        assert_eq!(grow(keys, target, seed).unwrap(), grown, "deterministic");
        grown
    }

    /// The new keys following each real key (by index of the real key).
    fn followers(keys: &[u64], grown: &[u64]) -> Vec<Vec<u64>> {
        let mut out = vec![Vec::new(); keys.len()];
        for &k in grown {
            if keys.binary_search(&k).is_err() {
                out[keys.partition_point(|&r| r < k) - 1].push(k);
            }
        }
        out
    }

    #[test]
    fn grow_keeps_every_key_and_gives_the_exact_count() {
        for dist in Distribution::ALL {
            let keys = generate(dist, 5_000, 7);
            for target in [5_000, 5_001, 12_345, 100_000] {
                check_grow(&keys, target, 3);
            }
            assert_ne!(
                grow(&keys, 50_000, 3).unwrap(),
                grow(&keys, 50_000, 4).unwrap(),
                "{dist}: the seed is ignored"
            );
        }
    }

    #[test]
    fn grow_subdivides_clusters_and_keeps_wide_gaps_empty() {
        // Two clusters of step 10 with a gap of 2^40 between them; 9 new keys per real key
        // fit within one spacing, so the clusters get denser and the gap stays empty.
        let mut keys: Vec<u64> = (0..100).map(|i| 1_000 + 10 * i).collect();
        keys.extend((0..100).map(|i| (1 << 40) + 10 * i));
        let grown = check_grow(&keys, 2_000, 1);
        for (i, f) in followers(&keys, &grown).iter().enumerate() {
            assert_eq!(f.len(), 9);
            assert!(f.iter().all(|&k| k - keys[i] < 10), "key {i}: {f:?}");
        }
        // An uneven share (2_100 = 200 x 10.5): half the keys get a tenth new key, which does
        // not fit in one spacing.
        // Keys that cannot fit theirs in one spacing hand the rest on to the cluster's last
        // key, which places it at the cluster's spacing: the cluster grows longer, by at most
        // the hundred keys handed on, and the gap beyond stays empty.
        let grown = check_grow(&keys, 2_100, 1);
        let last_of_first = 1_990;
        assert!(grown
            .iter()
            .all(|&k| k <= last_of_first + 10 * 101 || k >= 1 << 40));
    }

    #[test]
    fn grow_extends_runs_of_consecutive_keys() {
        // Runs of 5 consecutive keys (like ids numbered within one second), 1000 apart: the
        // run's keys have no room and hand their share to the run's last key, which goes on
        // counting up: each run becomes a run of 15 consecutive keys.
        let keys: Vec<u64> = (0..50u64)
            .flat_map(|r| (0..5).map(move |i| r * 1000 + i))
            .collect();
        let grown = check_grow(&keys, 750, 5);
        let expected: Vec<u64> = (0..50u64)
            .flat_map(|r| (0..15).map(move |i| r * 1000 + i))
            .collect();
        assert_eq!(grown, expected);
    }

    #[test]
    fn grow_near_the_top_of_u64_and_refusals() {
        let top = [u64::MAX - 30, u64::MAX - 20, u64::MAX - 10];
        let grown = check_grow(&top, 21, 2);
        assert!(grown[20] > u64::MAX - 10);
        // A key at u64::MAX cannot be followed: its share has nowhere to go.
        assert_eq!(
            grow(&[u64::MAX - 20, u64::MAX], 4, 2),
            Err(GrowError::NoRoom { have: 2, target: 4 })
        );
        assert_eq!(grow(&[], 10, 1), Err(GrowError::Empty));
        assert_eq!(
            grow(&[1, 2, 3], 2, 1),
            Err(GrowError::TargetBelowCount { have: 3, target: 2 })
        );
        // Four values from u64::MAX - 3 up: two keys grow to four, not to five.
        let near = [u64::MAX - 3, u64::MAX - 1];
        assert_eq!(
            check_grow(&near, 4, 1),
            vec![u64::MAX - 3, u64::MAX - 2, u64::MAX - 1, u64::MAX]
        );
        assert_eq!(
            grow(&near, 5, 1),
            Err(GrowError::NoRoom { have: 2, target: 5 })
        );
        assert_eq!(grow(&[5, 6], 2, 1).unwrap(), vec![5, 6]);
    }
}
