//! The repository's real key sets (`data/`, see its README): IP-to-AS range starts,
//! 8-byte prefixes of Polish words, and flight departure ids. Each is bulk loaded and
//! inserted one by one (random order, key order, reverse key order, and under the small
//! configurations), checked against the sorted key list and with `check()` after.

mod common;

use alex::{AlexMap, Config};
use common::{assert_stats, mix, small_nodes, sosd_keys, with_watchdog, SplitMix64};
use std::collections::BTreeMap;

/// Seconds before the watchdog fails a test here (release build).
const WATCHDOG_SECS: u64 = 150;

/// The keys of `data/<name>` (SOSD format: a u64 count, then the keys, sorted and
/// distinct). The files are in the repository, so a missing one is an error.
fn real_keys(name: &str) -> Vec<u64> {
    let path = format!("{}/../../data/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    sosd_keys(&path, &bytes)
}

const SETS: [&str; 3] = [
    "ipasn_range_starts_u64",
    "polish_word_prefixes_u64",
    "flight_departure_ids_u64",
];

/// `map` holds exactly `keys` with `!key`, no key next to one of them that is not one,
/// in order, and passes `check()`.
fn holds_exactly(map: &AlexMap<u64, u64>, keys: &[u64], ctx: &str) {
    assert_eq!(map.len(), keys.len(), "{ctx}: len");
    for (i, &k) in keys.iter().enumerate() {
        assert_eq!(map.get(&k), Some(&!k), "{ctx}: key #{i} {k:#x} lost");
        if k < u64::MAX && keys.get(i + 1) != Some(&(k + 1)) {
            assert_eq!(map.get(&(k + 1)), None, "{ctx}: phantom key {:#x}", k + 1);
        }
    }
    assert!(
        map.iter().map(|(k, _)| *k).eq(keys.iter().copied()),
        "{ctx}: iteration order"
    );
    map.check();
    assert_stats(map, ctx);
}

fn insert_one_by_one(config: Config, keys: &[u64], ctx: &str) -> AlexMap<u64, u64> {
    let mut map = AlexMap::with_config(config).unwrap();
    for (i, &k) in keys.iter().enumerate() {
        assert_eq!(map.insert(k, !k), None, "{ctx}: insert #{i} {k:#x}");
    }
    let s = map.stats();
    println!(
        "{ctx}: {} keys, height {}, {} data nodes, {:.1} bytes/key",
        keys.len(),
        s.height,
        s.data_nodes,
        s.bytes_per_key()
    );
    map
}

#[test]
fn real_key_sets_bulk_load_and_answer_like_btreemap() {
    with_watchdog(WATCHDOG_SECS, |p| {
        for name in SETS {
            p.stage(format!("{name}: bulk load"));
            let keys = real_keys(name);
            let map = AlexMap::bulk_load(keys.iter().map(|&k| (k, !k))).unwrap();
            holds_exactly(&map, &keys, name);
            // Ranges from random points against a BTreeMap of a sample.
            let model: BTreeMap<u64, u64> = keys.iter().map(|&k| (k, !k)).collect();
            let mut rng = SplitMix64::new(11);
            for _ in 0..2000 {
                let lo = keys[rng.below(keys.len())].wrapping_add(rng.below(3) as u64);
                let want: Vec<(u64, u64)> =
                    model.range(lo..).take(50).map(|(k, v)| (*k, *v)).collect();
                let got: Vec<(u64, u64)> =
                    map.range(lo..).take(50).map(|(k, v)| (*k, *v)).collect();
                assert_eq!(got, want, "{name}: range from {lo:#x}");
            }
        }
    });
}

#[test]
fn real_key_sets_inserted_in_random_order_then_half_removed_and_reinserted() {
    with_watchdog(WATCHDOG_SECS, |p| {
        for name in ["ipasn_range_starts_u64", "polish_word_prefixes_u64"] {
            let keys = real_keys(name);
            let mut shuffled = keys.clone();
            SplitMix64::new(5).shuffle(&mut shuffled);
            p.stage(format!("{name}: random order"));
            let ctx = format!("{name} in random order");
            let mut map = insert_one_by_one(Config::default(), &shuffled, &ctx);
            holds_exactly(&map, &keys, &ctx);
            p.stage(format!("{name}: remove half, reinsert"));
            for &k in shuffled.iter().step_by(2) {
                assert_eq!(map.remove(&k), Some(!k), "{name}: remove {k:#x}");
            }
            let mut rest: Vec<u64> = shuffled.iter().skip(1).step_by(2).copied().collect();
            rest.sort_unstable();
            holds_exactly(&map, &rest, &format!("{name} after removing half"));
            for &k in shuffled.iter().step_by(2) {
                assert_eq!(map.insert(k, !k), None, "{name}: reinsert {k:#x}");
            }
            holds_exactly(&map, &keys, &format!("{name} after reinserting"));
        }
    });
}

/// Flight ids come in long runs of consecutive ids: appended in key order and prepended
/// in reverse key order, the pattern of a timestamp-keyed table.
#[test]
fn flight_ids_appended_and_prepended() {
    with_watchdog(WATCHDOG_SECS, |p| {
        let keys = real_keys("flight_departure_ids_u64");
        // A contiguous million: every run of consecutive ids in it stays whole.
        let part = &keys[keys.len() / 3..keys.len() / 3 + 1_000_000];
        p.stage("flights in key order");
        let map = insert_one_by_one(Config::default(), part, "flights in key order");
        holds_exactly(&map, part, "flights in key order");
        p.stage("flights in reverse key order");
        let reversed: Vec<u64> = part.iter().rev().copied().collect();
        let map = insert_one_by_one(Config::default(), &reversed, "flights in reverse order");
        holds_exactly(&map, part, "flights in reverse order");
    });
}

/// A random third of the IP and Polish sets under the small-node and fixed-leaf
/// configurations (deep trees, many splits), in random and in key order.
#[test]
fn real_key_sets_under_small_configs() {
    with_watchdog(WATCHDOG_SECS, |p| {
        for name in ["ipasn_range_starts_u64", "polish_word_prefixes_u64"] {
            let sorted: Vec<u64> = real_keys(name)
                .into_iter()
                .filter(|k| mix(*k) % 3 == 0)
                .collect();
            let mut shuffled = sorted.clone();
            SplitMix64::new(6).shuffle(&mut shuffled);
            for (config_name, config) in [
                ("small_nodes", small_nodes()),
                ("fixed_leaves_64", Config::prototype_fixed_leaves(64)),
            ] {
                p.stage(format!("{name} third, {config_name}"));
                let ctx = format!("{name} third in random order, {config_name}");
                let map = insert_one_by_one(config.clone(), &shuffled, &ctx);
                holds_exactly(&map, &sorted, &ctx);
                let ctx = format!("{name} third in key order, {config_name}");
                let map = insert_one_by_one(config, &sorted, &ctx);
                holds_exactly(&map, &sorted, &ctx);
            }
        }
    });
}
