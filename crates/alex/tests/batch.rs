//! Batched lookups (`get_many`, `for_each_get`) against `BTreeMap` and
//! against `get` itself.
//!
//! Every batch must give, for each key in input order, exactly what `get`
//! gives and what the reference map holds: present keys, absent keys (near
//! misses and far ones), repeated keys, the type's extremes, NaN for
//! floats. `for_each_get` must call back once per key, in input order.
//! Batches run over empty and tiny maps, with lengths around the
//! pipeline's depth, and over maps grown by random inserts and shrunk by
//! removes in every key distribution, key type and configuration, as well
//! as over bulk-loaded maps large enough to have inner nodes.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use alex::{AlexMap, Config};
use common::{all_configs, osm_keys, Dist, KeyGen, SplitMix64, TestKey, ALL_DISTS};

/// Batch lengths that straddle the pipeline's depth (16) and its
/// multiples, so that every mix of fill, steady state and drain runs.
const LENGTHS: [usize; 12] = [0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 48, 100];

/// Checks `get_many` and `for_each_get` over `keys` against `reference`
/// and against `map.get`.
fn check_batch<K: TestKey>(
    map: &AlexMap<K, u64>,
    reference: &BTreeMap<K::Ord, u64>,
    keys: &[K],
    ctx: &str,
) {
    // Stale contents, which `get_many` must clear.
    let stale = 7u64;
    let mut out = vec![Some(&stale); 5];
    map.get_many(keys, &mut out);
    assert_eq!(out.len(), keys.len(), "{ctx}: one result per key");
    for (i, &key) in keys.iter().enumerate() {
        let expected = if key.is_valid() {
            reference.get(&key.ord()).copied()
        } else {
            None
        };
        assert_eq!(
            out[i].copied(),
            expected,
            "{ctx}: get_many, key {i} of {}: {key:?}",
            keys.len()
        );
        assert_eq!(out[i], map.get(&key), "{ctx}: get_many differs from get");
    }
    let mut calls = 0;
    map.for_each_get(keys, |i, value| {
        assert_eq!(i, calls, "{ctx}: for_each_get out of order");
        assert_eq!(value, out[i], "{ctx}: for_each_get, key {i}: {:?}", keys[i]);
        calls += 1;
    });
    assert_eq!(calls, keys.len(), "{ctx}: one call per key");
}

/// Lookup keys for a map holding `present`: present keys, near misses,
/// fresh draws from `keygen`, the type's extremes, and repeats of earlier
/// picks, shuffled.
fn lookup_keys<K: TestKey>(
    present: &[K],
    keygen: &mut KeyGen<K>,
    count: usize,
    rng: &mut SplitMix64,
) -> Vec<K> {
    let mut extremes = K::extremes();
    extremes.extend([K::MIN_KEY, K::MAX_KEY]);
    let mut keys: Vec<K> = Vec::with_capacity(count);
    while keys.len() < count {
        let key = match rng.below(10) {
            0..=3 if !present.is_empty() => present[rng.below(present.len())],
            4 | 5 if !present.is_empty() => {
                present[rng.below(present.len())].nudge(rng.below(5) as i64 - 2)
            }
            6 => keygen.next(rng),
            7 => extremes[rng.below(extremes.len())],
            8 if !keys.is_empty() => keys[rng.below(keys.len())],
            _ => K::from_bits_any(rng.next_u64()),
        };
        keys.push(key);
    }
    rng.shuffle(&mut keys);
    keys
}

/// Grows a map by random inserts and shrinks it by removes, in phases,
/// mirrored in a reference map; checks batches after each phase.
fn grow_and_shrink<K: TestKey>(
    dist: Dist,
    name: &str,
    config: &Config,
    osm: Option<Arc<Vec<u64>>>,
    seed: u64,
) {
    let ctx = format!("{} {dist:?} {name} seed {seed}", K::TYPE_NAME);
    let mut rng = SplitMix64::new(seed);
    let mut keygen = KeyGen::<K>::new(dist, 4000, &mut rng, osm);
    let mut map: AlexMap<K, u64> = AlexMap::with_config(config.clone()).unwrap();
    let mut reference = BTreeMap::new();
    for (phase, (inserts, removes)) in [(3000, 0), (0, 2000), (3000, 500), (0, 2500)]
        .into_iter()
        .enumerate()
    {
        for _ in 0..inserts {
            let key = keygen.next(&mut rng);
            let value = rng.next_u64();
            assert_eq!(
                map.insert(key, value),
                reference.insert(key.ord(), value),
                "{ctx}: insert"
            );
        }
        let mut present: Vec<K> = reference.keys().map(|&o| K::unord(o)).collect();
        rng.shuffle(&mut present);
        for &key in present.iter().take(removes) {
            assert_eq!(
                map.remove(&key),
                reference.remove(&key.ord()),
                "{ctx}: remove"
            );
        }
        map.check();
        let present: Vec<K> = reference.keys().map(|&o| K::unord(o)).collect();
        let ctx = format!("{ctx}, phase {phase}, {} keys", map.len());
        for len in LENGTHS {
            let keys = lookup_keys(&present, &mut keygen, len, &mut rng);
            check_batch(&map, &reference, &keys, &ctx);
        }
        let keys = lookup_keys(&present, &mut keygen, 3000, &mut rng);
        check_batch(&map, &reference, &keys, &ctx);
    }
}

fn every_dist_and_config<K: TestKey>(seed: u64) {
    let osm = osm_keys().map(Arc::new);
    for (d, dist) in ALL_DISTS.into_iter().enumerate() {
        if dist == Dist::Osm && osm.is_none() {
            continue;
        }
        for (c, (name, config)) in all_configs().into_iter().enumerate() {
            let seed = seed ^ ((d as u64) << 8 | c as u64);
            grow_and_shrink::<K>(dist, name, &config, osm.clone(), seed);
        }
    }
}

#[test]
fn u64_keys_match_the_reference() {
    every_dist_and_config::<u64>(0xB47C_0001);
}

#[test]
fn i64_keys_match_the_reference() {
    every_dist_and_config::<i64>(0xB47C_0002);
}

#[test]
fn f64_keys_match_the_reference() {
    every_dist_and_config::<f64>(0xB47C_0003);
}

#[test]
fn u32_i32_f32_keys_match_the_reference() {
    every_dist_and_config::<u32>(0xB47C_0004);
    every_dist_and_config::<i32>(0xB47C_0005);
    every_dist_and_config::<f32>(0xB47C_0006);
}

#[test]
fn empty_batches_and_empty_maps() {
    let empty: AlexMap<u64, u64> = AlexMap::new();
    let reference = BTreeMap::new();
    for len in LENGTHS {
        let keys: Vec<u64> = (0..len as u64).map(|k| k * 3).collect();
        check_batch(&empty, &reference, &keys, "empty map");
    }
    let map: AlexMap<u64, u64> = (0..100).map(|k| (k, k)).collect();
    let mut out = vec![Some(&0); 3];
    map.get_many(&[], &mut out);
    assert!(out.is_empty(), "an empty batch clears the output");
    map.for_each_get(&[], |i, _| panic!("called back for key {i} of none"));
}

#[test]
fn tiny_maps_every_length() {
    let mut rng = SplitMix64::new(0xB47C_0010);
    for size in 0..=20u64 {
        let pairs: Vec<(u64, u64)> = (0..size).map(|i| (10 * i + 5, i)).collect();
        let map = AlexMap::bulk_load(pairs.iter().copied()).unwrap();
        let reference: BTreeMap<u64, u64> = pairs.iter().copied().collect();
        for len in 0..=40 {
            // Present, absent between and around them, and the ends.
            let keys: Vec<u64> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => u64::MAX,
                    1 => rng.below(10 * size as usize + 20) as u64,
                    _ => 10 * rng.below(size.max(1) as usize) as u64 + 5,
                })
                .collect();
            check_batch(&map, &reference, &keys, &format!("{size} keys"));
        }
    }
}

#[test]
fn one_key_repeated_and_every_key_once() {
    let map: AlexMap<u64, u64> = (0..5000).map(|k| (k * k, k)).collect();
    let reference: BTreeMap<u64, u64> = (0..5000).map(|k| (k * k, k)).collect();
    check_batch(&map, &reference, &[49; 100], "one key repeated");
    check_batch(&map, &reference, &[50; 100], "one absent key repeated");
    let mut keys: Vec<u64> = reference.keys().copied().collect();
    check_batch(&map, &reference, &keys, "every key in order");
    keys.reverse();
    check_batch(&map, &reference, &keys, "every key in reverse");
}

#[test]
fn nan_keys_are_absent_in_place() {
    let map: AlexMap<f64, u64> = (0..1000).map(|k| (k as f64 / 8.0, k)).collect();
    let reference: BTreeMap<_, u64> = (0..1000).map(|k| ((k as f64 / 8.0).ord(), k)).collect();
    let mut keys: Vec<f64> = (0..200).map(|k| k as f64 / 4.0).collect();
    for i in (0..keys.len()).step_by(7) {
        keys[i] = if i % 2 == 0 { f64::NAN } else { -f64::NAN };
    }
    keys.extend([f64::NAN; 40]);
    check_batch(&map, &reference, &keys, "NaN among the keys");
    check_batch(&map, &reference, &[f64::NAN; 3], "only NaN");
}

/// Bulk-loaded maps large enough to have inner nodes, where the lookups
/// of a batch reach many data nodes.
#[test]
fn large_bulk_loaded_maps() {
    let mut rng = SplitMix64::new(0xB47C_0020);
    for (name, config) in all_configs() {
        for dist in [Dist::Uniform, Dist::Lognormal, Dist::Clustered] {
            let mut keygen = KeyGen::<u64>::new(dist, 200_000, &mut rng, None);
            let reference: BTreeMap<u64, u64> = (0..200_000)
                .map(|_| (keygen.next(&mut rng), rng.next_u64()))
                .collect();
            let map = AlexMap::bulk_load_with_config(
                config.clone(),
                reference.iter().map(|(&k, &v)| (k, v)),
            )
            .unwrap();
            assert!(map.stats().inner_nodes > 0 || name == "single_level");
            let present: Vec<u64> = reference.keys().copied().collect();
            let keys = lookup_keys(&present, &mut keygen, 50_000, &mut rng);
            check_batch(&map, &reference, &keys, &format!("{dist:?} {name}"));
        }
    }
}
