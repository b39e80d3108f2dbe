//! Appends and prepends (keys past an end of the map) against `BTreeMap`:
//! from empty, after a bulk load, mixed with random inserts and removes,
//! under small node limits that make every structural path run often, and
//! the shape they leave (height, slot fill).

mod common;

use std::collections::BTreeMap;

use alex::{AlexMap, Config};
use common::SplitMix64;

/// Configurations: the default, and small nodes and fan-outs, so that edge
/// nodes fill, carve their parent and widen it many times over few keys.
fn configs() -> Vec<Config> {
    vec![
        Config::default(),
        Config {
            max_data_node_slots: 256,
            ..Config::default()
        },
        Config {
            max_data_node_slots: 64,
            max_fanout_log2: 4,
            ..Config::default()
        },
        Config::read_mostly(),
        Config::prototype_single_level(),
    ]
}

/// `n` increasing keys from `start`, gaps drawn from `1..=max_gap`.
fn ascending(rng: &mut SplitMix64, start: u64, n: usize, max_gap: u64) -> Vec<u64> {
    let mut t = start;
    (0..n)
        .map(|_| {
            t += 1 + rng.next_u64() % max_gap;
            t
        })
        .collect()
}

fn assert_same(map: &AlexMap<u64, u64>, model: &BTreeMap<u64, u64>, ctx: &str) {
    map.check();
    assert_eq!(map.len(), model.len(), "len {ctx}");
    assert!(
        map.iter()
            .map(|(k, v)| (*k, *v))
            .eq(model.iter().map(|(k, v)| (*k, *v))),
        "contents {ctx}"
    );
}

#[test]
fn appends_and_prepends_from_empty_match_btreemap() {
    for config in configs() {
        for descending in [false, true] {
            let mut rng = SplitMix64::new(7);
            let mut keys = ascending(&mut rng, 1 << 40, 30_000, 1000);
            if descending {
                keys.reverse();
            }
            let mut map = AlexMap::with_config(config.clone()).unwrap();
            let mut model = BTreeMap::new();
            for (i, &k) in keys.iter().enumerate() {
                assert_eq!(map.insert(k, i as u64), model.insert(k, i as u64));
                if i % 5000 == 0 {
                    assert_same(&map, &model, &format!("after {i} ({config:?})"));
                }
                if i % 97 == 0 {
                    // Lookups of the newest key and of one earlier.
                    assert_eq!(map.get(&k), Some(&(i as u64)));
                    let old = keys[i / 2];
                    assert_eq!(map.get(&old), model.get(&old));
                }
            }
            assert_same(&map, &model, &format!("at the end ({config:?})"));
        }
    }
}

#[test]
fn appends_mixed_with_random_inserts_and_removes() {
    for config in configs() {
        let mut rng = SplitMix64::new(11);
        let mut map = AlexMap::with_config(config.clone()).unwrap();
        let mut model = BTreeMap::new();
        let mut high = 1u64 << 50;
        let mut low = 1u64 << 50;
        for i in 0..40_000u64 {
            match rng.below(10) {
                // Appends and prepends, in runs.
                0..=3 => {
                    for _ in 0..rng.below(64) {
                        high += 1 + rng.next_u64() % 100;
                        assert_eq!(map.insert(high, i), model.insert(high, i));
                    }
                }
                4 | 5 => {
                    for _ in 0..rng.below(64) {
                        low -= 1 + rng.next_u64() % 100;
                        assert_eq!(map.insert(low, i), model.insert(low, i));
                    }
                }
                // A key anywhere in the span, present or not.
                6 | 7 => {
                    let k = low + rng.next_u64() % (high - low + 1);
                    assert_eq!(map.insert(k, i), model.insert(k, i));
                }
                8 => {
                    let k = low + rng.next_u64() % (high - low + 1);
                    assert_eq!(map.remove(&k), model.remove(&k));
                }
                // Removes at the ends, so edge nodes empty out.
                _ => {
                    for _ in 0..rng.below(32) {
                        let popped = if rng.below(2) == 0 {
                            (map.pop_last(), model.pop_last())
                        } else {
                            (map.pop_first(), model.pop_first())
                        };
                        assert_eq!(popped.0, popped.1);
                    }
                }
            }
            if i % 4000 == 0 {
                assert_same(&map, &model, &format!("after {i} ({config:?})"));
            }
        }
        assert_same(&map, &model, &format!("at the end ({config:?})"));
    }
}

#[test]
fn appends_after_a_bulk_load_and_at_the_key_space_ends() {
    for config in configs() {
        let mut rng = SplitMix64::new(3);
        let loaded: Vec<(u64, u64)> = ascending(&mut rng, 1 << 62, 20_000, 50)
            .into_iter()
            .map(|k| (k, k))
            .collect();
        let mut map = AlexMap::bulk_load_with_config(config.clone(), loaded.clone()).unwrap();
        let mut model: BTreeMap<u64, u64> = loaded.into_iter().collect();
        // Appends at a faster rate than the loaded keys, up to u64::MAX.
        let mut t = *model.keys().next_back().unwrap();
        while t < u64::MAX - (1 << 50) {
            t += 1 + rng.next_u64() % (1 << 48);
            assert_eq!(map.insert(t, 1), model.insert(t, 1));
        }
        for k in (u64::MAX - 3000)..=u64::MAX {
            assert_eq!(map.insert(k, 2), model.insert(k, 2));
        }
        // Prepends down to 0, slowly then densely.
        let mut t = *model.keys().next().unwrap();
        while t > 1 << 52 {
            t -= 1 + rng.next_u64() % (1 << 50);
            assert_eq!(map.insert(t, 3), model.insert(t, 3));
        }
        for k in (0..3000).rev() {
            assert_eq!(map.insert(k, 4), model.insert(k, 4));
        }
        assert_same(&map, &model, &format!("{config:?}"));
    }
}

#[test]
fn signed_and_float_keys_append_and_prepend() {
    let mut map: AlexMap<i64, u32> = AlexMap::with_config(Config {
        max_data_node_slots: 128,
        ..Config::default()
    })
    .unwrap();
    let mut model = BTreeMap::new();
    for i in 0..20_000i64 {
        let (a, b) = (i * 37, -1 - i * 41);
        assert_eq!(map.insert(a, 0), model.insert(a, 0));
        assert_eq!(map.insert(b, 1), model.insert(b, 1));
    }
    map.check();
    assert!(map.iter().map(|(k, v)| (*k, *v)).eq(model.into_iter()));

    let mut map: AlexMap<f64, u32> = AlexMap::new();
    let mut x = 1.0f64;
    let mut count = 0;
    while x < 1e300 {
        map.insert(x, 0);
        map.insert(-x, 1);
        x *= 1.01;
        count += 2;
    }
    map.check();
    assert_eq!(map.len(), count);
    assert!(map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b));
}

#[test]
fn appended_timestamps_leave_a_shallow_dense_tree() {
    // Timestamp-like keys appended one at a time into an empty map: the
    // tree stays shallow and its slots mostly full, and lookups find every
    // key.
    let mut rng = SplitMix64::new(42);
    let keys = ascending(&mut rng, 1_700_000_000_000_000, 1_000_000, 1000);
    for reversed in [false, true] {
        let mut map = AlexMap::new();
        let order: Vec<u64> = if reversed {
            keys.iter().rev().copied().collect()
        } else {
            keys.clone()
        };
        for &k in &order {
            map.insert(k, k ^ 1);
        }
        map.check();
        let stats = map.stats();
        assert!(stats.height <= 3, "height {} ({reversed})", stats.height);
        assert!(
            stats.avg_density >= 0.7,
            "slot fill {} ({reversed})",
            stats.avg_density
        );
        assert!(keys.iter().step_by(7).all(|k| map.get(k) == Some(&(k ^ 1))));
        assert_eq!(map.get(&(keys[0] - 1)), None);
    }
}

#[test]
fn sequential_keys_with_removes_under_small_nodes() {
    // Sequential keys (each above the last) mixed with removes of present
    // keys and small batches, under tiny nodes and fan-outs, every answer
    // and every invariant checked every 64 operations.
    for base in [0u64, u64::MAX - 60_000] {
        let mut rng = SplitMix64::new(5);
        let mut map = AlexMap::with_config(common::small_nodes()).unwrap();
        let mut model = BTreeMap::new();
        let mut next = base;
        for op in 0..12_000u64 {
            match rng.below(10) {
                0..=5 => {
                    next += 1;
                    assert_eq!(map.insert(next, op), model.insert(next, op));
                }
                6 | 7 if !model.is_empty() => {
                    let k = base + 1 + rng.next_u64() % (next - base);
                    assert_eq!(map.remove(&k), model.remove(&k), "remove {k} at {op}");
                }
                _ => {
                    let batch: Vec<(u64, u64)> = (0..1 + rng.below(20))
                        .map(|_| {
                            next += 1;
                            (next - rng.below(3) as u64, op)
                        })
                        .collect();
                    map.extend(batch.iter().copied());
                    model.extend(batch.iter().copied());
                }
            }
            if op % 64 == 0 {
                map.check();
            }
            for k in [next, next - 1, base + 1 + rng.next_u64() % (next - base)] {
                assert_eq!(map.get(&k), model.get(&k), "get {k} after op {op}");
            }
        }
        assert_same(&map, &model, "at the end");
    }
}

#[test]
fn sorted_runs_match_btreemap_and_unsorted_runs_change_nothing() {
    // Runs of every shape into maps of every configuration: empty, one
    // key, overlapping present keys, dense in one node, spread over many
    // nodes, past either end, and as large as the map (the rebuild path).
    // A run out of order, or with a repeated key, is refused whole.
    use alex::AlexError;
    for config in configs() {
        let mut rng = SplitMix64::new(19);
        let base: Vec<(u64, u64)> = ascending(&mut rng, 1 << 30, 20_000, 1 << 20)
            .into_iter()
            .map(|k| (k, k))
            .collect();
        let mut map = AlexMap::bulk_load_with_config(config.clone(), base.clone()).unwrap();
        let mut model: BTreeMap<u64, u64> = base.iter().copied().collect();
        let (lo, hi) = (base[0].0, base[base.len() - 1].0);
        let present: Vec<u64> = base.iter().map(|p| p.0).collect();
        for round in 0..60u64 {
            let mut keys: Vec<u64> = match round % 6 {
                0 => Vec::new(),
                1 => vec![present[rng.below(present.len())] + rng.below(2) as u64],
                2 => (0..rng.below(3000))
                    .map(|_| present[rng.below(present.len())])
                    .collect(),
                3 => {
                    let at = lo + rng.next_u64() % (hi - lo);
                    (0..rng.below(5000) as u64).map(|i| at + i).collect()
                }
                4 => (0..rng.below(4000))
                    .map(|_| lo / 2 + rng.next_u64() % (2 * hi))
                    .collect(),
                _ => (0..rng.below(8000))
                    .map(|_| rng.next_u64() % (4 * hi))
                    .collect(),
            };
            keys.sort_unstable();
            keys.dedup();
            let run: Vec<(u64, u64)> = keys.iter().map(|&k| (k, round)).collect();
            let new = keys.iter().filter(|k| !model.contains_key(k)).count();
            assert_eq!(map.extend_sorted(run.iter().copied()), Ok(new));
            model.extend(run);
            if keys.len() >= 2 {
                let mut bad: Vec<(u64, u64)> = keys.iter().map(|&k| (k, 0)).collect();
                let i = 1 + rng.below(bad.len() - 1);
                bad.swap(i - 1, i);
                assert_eq!(
                    map.extend_sorted(bad.iter().copied()),
                    Err(AlexError::UnsortedInput { index: i })
                );
                bad.swap(i - 1, i);
                bad[i].0 = bad[i - 1].0;
                assert_eq!(
                    map.extend_sorted(bad),
                    Err(AlexError::DuplicateKey { index: i })
                );
            }
            if round % 10 == 0 {
                assert_same(&map, &model, &format!("round {round} ({config:?})"));
            }
        }
        assert_same(&map, &model, &format!("at the end ({config:?})"));
    }
}
