//! Adversarial and boundary cases: the paths where the C++ reference ALEX has
//! open bugs (one-by-one inserts of a large real key set, erasing missing
//! keys after mixed operations, bulk loads of lognormal keys), append-only
//! and prepend-only workloads, NaN keys, bad bulk-load input, range bounds
//! like `BTreeMap`'s, iterator and trait behaviour, and statistics.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use alex::{AlexError, AlexMap, Config};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn osm_keys() -> Option<Vec<u64>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/osm_coastline_s2cellids_u64"
    );
    let bytes = std::fs::read(path).ok()?;
    let count = u64::from_le_bytes(bytes[..8].try_into().ok()?) as usize;
    Some(
        (0..count)
            .map(|i| u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().unwrap()))
            .collect(),
    )
}

fn verify(map: &AlexMap<u64, u64>, keys: &[u64]) {
    map.check();
    assert_eq!(map.len(), keys.len());
    for &k in keys {
        assert_eq!(map.get(&k), Some(&(k ^ 0xABC)), "lost key {k}");
    }
}

#[test]
fn real_keys_inserted_one_by_one_in_order_and_shuffled() {
    let Some(keys) = osm_keys() else {
        eprintln!("note: shared OSM key file absent; skipping");
        return;
    };
    let mut map = AlexMap::new();
    for &k in &keys {
        assert_eq!(map.insert(k, k ^ 0xABC), None);
    }
    verify(&map, &keys);
    let mut shuffled = keys.clone();
    let mut rng = Rng(3);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let mut map = AlexMap::new();
    for &k in &shuffled {
        assert_eq!(map.insert(k, k ^ 0xABC), None);
    }
    verify(&map, &keys);
    // Every key of a real set, removed in random order, leaves nothing.
    for &k in &shuffled {
        assert_eq!(map.remove(&k), Some(k ^ 0xABC));
    }
    map.check();
    assert!(map.is_empty());
}

#[test]
fn erasing_missing_keys_after_mixed_operations() {
    let mut rng = Rng(17);
    let mut map = AlexMap::new();
    let mut model = BTreeMap::new();
    for round in 0..200_000u64 {
        let k = rng.next() % 50_000;
        match round % 3 {
            0 | 1 => assert_eq!(map.insert(k, round), model.insert(k, round)),
            _ => assert_eq!(map.remove(&k), model.remove(&k)),
        }
    }
    map.check();
    for k in 50_000..60_000u64 {
        assert_eq!(map.remove(&k), None);
    }
    for k in 0..50_000u64 {
        if !model.contains_key(&k) {
            assert_eq!(map.remove(&k), None, "missing key {k} was found");
        }
    }
    map.check();
    assert_eq!(map.len(), model.len());
}

#[test]
fn lognormal_bulk_load_stays_shallow() {
    let mut rng = Rng(23);
    let mut keys: Vec<u64> = (0..500_000)
        .map(|_| {
            let u1 = ((rng.next() >> 11) as f64 / (1u64 << 53) as f64).max(1e-300);
            let u2 = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            ((z * 2.0).exp() * 1e9) as u64
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let map = AlexMap::bulk_load(keys.iter().map(|&k| (k, k ^ 0xABC))).unwrap();
    let stats = map.stats();
    assert!(
        stats.height <= 8,
        "lognormal bulk load degenerated to height {}",
        stats.height
    );
    verify(&map, &keys);
}

#[test]
fn appends_and_prepends_do_not_degrade() {
    let start: Vec<u64> = (0..100_000u64).map(|i| 1_000_000_000 + i * 10).collect();
    let mut map = AlexMap::bulk_load(start.iter().map(|&k| (k, k ^ 0xABC))).unwrap();
    let mut keys = start.clone();
    let mut t = *start.last().unwrap();
    let mut rng = Rng(1);
    for _ in 0..400_000 {
        t += 1 + rng.next() % 20;
        map.insert(t, t ^ 0xABC);
        keys.push(t);
    }
    let s = map.stats();
    assert!(
        s.height <= 6,
        "appends grew the tree to height {}",
        s.height
    );
    assert!(
        s.bytes_per_key() < 40.0,
        "appends cost {} bytes per key",
        s.bytes_per_key()
    );
    verify(&map, &keys);
    // Prepends.
    let mut t = start[0];
    for _ in 0..200_000 {
        t -= 1 + rng.next() % 20;
        map.insert(t, t ^ 0xABC);
        keys.push(t);
    }
    keys.sort_unstable();
    let s = map.stats();
    assert!(
        s.height <= 8,
        "prepends grew the tree to height {}",
        s.height
    );
    assert!(
        s.bytes_per_key() < 40.0,
        "prepends cost {} bytes per key",
        s.bytes_per_key()
    );
    verify(&map, &keys);
}

#[test]
fn repeated_key_and_emptying() {
    let mut map = AlexMap::new();
    for i in 0..10_000u64 {
        assert_eq!(map.insert(42u64, i), i.checked_sub(1));
    }
    assert_eq!(map.len(), 1);
    let keys: Vec<u64> = (0..50_000).collect();
    map.extend(keys.iter().map(|&k| (k, k)));
    for &k in &keys {
        assert_eq!(map.remove(&k), Some(k));
        assert_eq!(map.remove(&k), None);
    }
    map.check();
    assert!(map.is_empty() && map.iter().next().is_none());
    map.extend(keys.iter().map(|&k| (k, k + 1)));
    map.check();
    assert_eq!(map.get(&49_999), Some(&50_000));
}

#[test]
fn nan_is_refused_and_changes_nothing() {
    let mut map: AlexMap<f64, u8> = AlexMap::new();
    map.insert(1.0, 1);
    assert_eq!(map.try_insert(f64::NAN, 2), Err(AlexError::NanKey));
    assert_eq!(map.len(), 1);
    assert_eq!(map.get(&f64::NAN), None);
    assert_eq!(map.remove(&f64::NAN), None);
    let panicked = catch_unwind(AssertUnwindSafe(|| map.insert(f64::NAN, 3)));
    assert!(panicked.is_err());
    map.check();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        map.entry(f64::NAN).or_insert(4);
    }));
    assert!(panicked.is_err());
    map.check();
    assert_eq!(map.len(), 1);
    let err = AlexMap::<f32, u8>::bulk_load([(1.0, 1), (f32::NAN, 2)]).unwrap_err();
    assert_eq!(err, AlexError::NanKey);
}

#[test]
fn bulk_load_rejects_bad_input() {
    let err = AlexMap::<u64, u8>::bulk_load([(1, 0), (3, 0), (2, 0)]).unwrap_err();
    assert_eq!(err, AlexError::UnsortedInput { index: 2 });
    let err = AlexMap::<u64, u8>::bulk_load([(1, 0), (3, 0), (3, 0)]).unwrap_err();
    assert_eq!(err, AlexError::DuplicateKey { index: 2 });
    let bad = Config {
        init_density: 1.5,
        ..Config::default()
    };
    assert!(matches!(
        AlexMap::<u64, u8>::with_config(bad),
        Err(AlexError::InvalidConfig(_))
    ));
    assert!(AlexMap::<u64, u8>::bulk_load(std::iter::empty())
        .unwrap()
        .is_empty());
}

#[test]
fn range_bounds_behave_like_btreemap() {
    let keys = [0u64, 1, 5, 9, u64::MAX - 1, u64::MAX];
    let map: AlexMap<u64, u64> = keys.iter().map(|&k| (k, k)).collect();
    let model: BTreeMap<u64, u64> = keys.iter().map(|&k| (k, k)).collect();
    let pairs = |v: Vec<(&u64, &u64)>| v.into_iter().map(|(k, _)| *k).collect::<Vec<_>>();
    assert_eq!(
        pairs(map.range(..).collect()),
        pairs(model.range(..).collect())
    );
    assert_eq!(pairs(map.range(u64::MAX..).collect()), vec![u64::MAX]);
    assert_eq!(pairs(map.range(..=0).collect()), vec![0]);
    assert_eq!(pairs(map.range(2..5).collect()), Vec::<u64>::new());
    assert_eq!(pairs(map.range(5..5).collect()), Vec::<u64>::new());
    assert_eq!(pairs(map.range(5..=5).collect()), vec![5]);
    use std::ops::Bound::*;
    assert_eq!(
        pairs(map.range((Excluded(u64::MAX), Unbounded)).collect()),
        Vec::<u64>::new()
    );
    assert_eq!(
        pairs(map.range((Excluded(5), Included(5))).collect()),
        Vec::<u64>::new()
    );
    // Start after end panics, as in BTreeMap.
    let (hi, lo) = std::hint::black_box((9u64, 5u64));
    assert!(catch_unwind(|| model.range(hi..lo).count()).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| map.range(hi..lo).count())).is_err());
    assert!(catch_unwind(|| model.range((Excluded(5), Excluded(5))).count()).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| map
        .range((Excluded(5), Excluded(5)))
        .count()))
    .is_err());
}

#[test]
fn iterators_and_traits() {
    let map: AlexMap<u64, String> = (0..1000u64).rev().map(|k| (k, k.to_string())).collect();
    assert_eq!(map.len(), 1000);
    let mut it = map.iter();
    assert_eq!(it.len(), 1000);
    assert_eq!(it.next().map(|(k, _)| *k), Some(0));
    assert_eq!(it.next_back().map(|(k, _)| *k), Some(999));
    assert_eq!(it.len(), 998);
    let middle: Vec<u64> = it.map(|(k, _)| *k).collect();
    assert_eq!(middle, (1..999).collect::<Vec<_>>());
    // The mutable iterators are Send, Sync and fused, as BTreeMap's are:
    // a thread can take one, and `None` stays `None`.
    fn send_sync_fused<T: Send + Sync + std::iter::FusedIterator>(_: &T) {}
    let mut owned = map.clone();
    let mut it = owned.iter_mut();
    send_sync_fused(&it);
    std::thread::scope(|s| {
        s.spawn(|| {
            for (k, v) in it.by_ref().take(10) {
                v.push_str(&k.to_string());
            }
        });
    });
    assert_eq!(it.len(), 990);
    assert_eq!(it.by_ref().count(), 990);
    assert!(it.next().is_none() && it.next_back().is_none() && it.next().is_none());
    assert_eq!(owned.get(&9).map(String::as_str), Some("99"));
    let values = owned.values_mut();
    send_sync_fused(&values);
    assert_eq!(values.rev().map(|v| v.len()).last(), Some(2));
    let mut copy = map.clone();
    copy.insert(5000, "x".into());
    *copy.get_mut(&1).unwrap() = "changed".into();
    assert_eq!(map.len(), 1000);
    assert_eq!(map.get(&1).map(String::as_str), Some("1"));
    for v in copy.values_mut() {
        v.push('!');
    }
    assert!(copy.values().all(|v| v.ends_with('!')));
    let owned: Vec<(u64, String)> = map.clone().into_iter().collect();
    assert_eq!(owned.len(), 1000);
    assert!(owned.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(map.keys().next_back(), Some(&999));
    // FromIterator keeps the last of repeated keys, like BTreeMap.
    let dup: AlexMap<u64, u8> = [(3, 1), (1, 1), (3, 2)].into_iter().collect();
    assert_eq!(dup.get(&3), Some(&2));
    let text = format!("{:?}", dup);
    assert_eq!(text, "{1: 1, 3: 2}");
    let empty: AlexMap<u64, u8> = AlexMap::default();
    assert!(empty.first_key_value().is_none() && empty.last_key_value().is_none());
}

/// `map` passes `check()` and holds exactly `model`'s entries.
fn assert_same(map: &AlexMap<u64, u64>, model: &BTreeMap<u64, u64>) {
    map.check();
    assert_eq!(map.len(), model.len());
    assert!(map
        .iter()
        .map(|(k, v)| (*k, *v))
        .eq(model.iter().map(|(k, v)| (*k, *v))));
}

/// The default configuration, the read-mostly preset and the prototype's
/// fixed 64-key leaves: the three shapes most edge-case tests run through.
fn three_configs() -> [Config; 3] {
    [
        Config::default(),
        Config::read_mostly(),
        Config::prototype_fixed_leaves(64),
    ]
}

/// A map of `config` and its `BTreeMap` model, both built by inserting
/// `keys[i] -> i` in order.
fn inserted(config: &Config, keys: &[u64]) -> (AlexMap<u64, u64>, BTreeMap<u64, u64>) {
    let mut map = AlexMap::with_config(config.clone()).unwrap();
    let mut model = BTreeMap::new();
    for (i, &k) in keys.iter().enumerate() {
        map.insert(k, i as u64);
        model.insert(k, i as u64);
    }
    (map, model)
}

#[test]
fn entry_api_behaves_like_btreemap() {
    use alex::Entry;
    use std::collections::btree_map::Entry as BEntry;
    for config in [
        Config::default(),
        Config::read_mostly(),
        Config::prototype_fixed_leaves(64),
        Config::prototype_single_level(),
    ] {
        let mut rng = Rng(5);
        let mut map: AlexMap<u64, u64> = AlexMap::with_config(config).unwrap();
        let mut model: BTreeMap<u64, u64> = BTreeMap::new();
        for step in 0..40_000u64 {
            // Few distinct keys, so entries are often occupied.
            let k = rng.next() % 12_000;
            match step % 6 {
                0 => {
                    *map.entry(k).or_insert(0) += step;
                    *model.entry(k).or_insert(0) += step;
                }
                1 => {
                    let a = *map.entry(k).and_modify(|v| *v ^= 7).or_insert_with(|| step);
                    let b = *model
                        .entry(k)
                        .and_modify(|v| *v ^= 7)
                        .or_insert_with(|| step);
                    assert_eq!(a, b);
                }
                2 => {
                    let a = map.entry(k).or_default();
                    *a = a.wrapping_mul(3);
                    let b = model.entry(k).or_default();
                    *b = b.wrapping_mul(3);
                }
                3 => match (map.entry(k), model.entry(k)) {
                    (Entry::Occupied(a), BEntry::Occupied(b)) => {
                        assert_eq!((a.key(), a.get()), (b.key(), b.get()));
                        assert_eq!(a.remove_entry(), b.remove_entry());
                    }
                    (Entry::Vacant(a), BEntry::Vacant(b)) => {
                        assert_eq!(a.key(), b.key());
                        assert_eq!(*a.insert(step), *b.insert(step));
                    }
                    (a, _) => panic!("entry {a:?} disagrees with BTreeMap"),
                },
                4 => match map.entry(k) {
                    Entry::Occupied(mut e) => {
                        assert_eq!(Some(e.insert(step)), model.insert(k, step));
                        *e.get_mut() += 1;
                        *model.get_mut(&k).unwrap() += 1;
                        assert_eq!(Some(e.get()), model.get(&k));
                    }
                    Entry::Vacant(e) => {
                        assert!(!model.contains_key(&k));
                        assert_eq!(e.into_key(), k);
                    }
                },
                _ => {
                    if step % 12 == 5 {
                        let a = map.first_entry().map(|e| e.remove_entry());
                        assert_eq!(a, model.first_entry().map(|e| e.remove_entry()));
                    } else if let Some(mut e) = map.last_entry() {
                        *e.get_mut() ^= 1;
                        let mut b = model.last_entry().unwrap();
                        *b.get_mut() ^= 1;
                        assert_eq!((e.key(), e.get()), (b.key(), b.get()));
                    }
                }
            }
            if step % 5000 == 0 {
                assert_same(&map, &model);
            }
        }
        assert_same(&map, &model);
    }
}

#[test]
fn range_mut_split_off_append_and_the_rest_behave_like_btreemap() {
    let mut rng = Rng(77);
    let keys: Vec<u64> = (0..120_000).map(|_| rng.next() >> 20).collect();
    for config in three_configs() {
        let (mut map, mut model) = inserted(&config, &keys);
        // range_mut over short and long ranges, from both ends, with bounds
        // on and between keys, across data nodes.
        for r in 0..300u64 {
            let a = rng.next() >> 20;
            let span = if r % 10 == 0 { 1 << 43 } else { 1 << 30 };
            let b = a.saturating_add(rng.next() % span);
            let mut it = map.range_mut(a..=b);
            let mut mt = model.range_mut(a..=b);
            let mut step = 0u64;
            loop {
                // Forwards, backwards, or both ends interleaved.
                step += 1;
                let back = match r % 3 {
                    0 => false,
                    1 => true,
                    _ => (step ^ r) & 2 != 0,
                };
                let (x, y) = if back {
                    (it.next_back(), mt.next_back())
                } else {
                    (it.next(), mt.next())
                };
                match (x, y) {
                    (Some((k1, v1)), Some((k2, v2))) => {
                        assert_eq!((k1, *v1), (k2, *v2));
                        *v1 = v1.wrapping_mul(31) ^ r;
                        *v2 = v2.wrapping_mul(31) ^ r;
                    }
                    (None, None) => break,
                    (x, y) => panic!("range_mut({a}..={b}): {x:?} against {y:?}"),
                }
            }
            assert!(it.next().is_none() && it.next_back().is_none());
        }
        assert_eq!(map.range_mut(5..5).count(), 0);
        assert_same(&map, &model);
        // split_off at a key, between keys, and where either side is small
        // (moved out entry by entry) or both are large (rebuilt).
        let sorted: Vec<u64> = model.keys().copied().collect();
        for at in [
            sorted[sorted.len() / 2],
            sorted[sorted.len() / 2] + 1,
            sorted[sorted.len() - 100],
            sorted[100] - 1,
            0,
            u64::MAX,
        ] {
            let mut left = map.clone();
            let mut model_left = model.clone();
            // The map that stays keeps its history of structural changes
            // (the pops that move a small side out may add to it).
            let history = left.stats().counters;
            let right = left.split_off(&at);
            let kept = left.stats().counters;
            assert!(
                kept.expansions >= history.expansions
                    && kept.splits_sideways >= history.splits_sideways
                    && kept.splits_down >= history.splits_down
                    && kept.contractions >= history.contractions,
                "split_off at {at}: counters {kept:?} lost {history:?}"
            );
            let model_right = model_left.split_off(&at);
            assert_same(&left, &model_left);
            assert_same(&right, &model_right);
            assert_eq!(right.config(), &config);
            // append puts them back together; a key in both takes the
            // appended map's value.
            let mut back = left;
            let mut other = right;
            let mut model_back = model_left;
            let mut model_other = model_right;
            if let Some((&k, _)) = model_back.iter().next() {
                other.insert(k, 999);
                model_other.insert(k, 999);
            }
            back.append(&mut other);
            model_back.append(&mut model_other);
            assert!(other.is_empty());
            other.check();
            assert_same(&back, &model_back);
        }
        // Equality, indexing, owning key and value iterators, arrays.
        let copy = map.clone();
        assert!(copy == map);
        let mut changed = map.clone();
        *changed.get_mut(&sorted[7]).unwrap() += 1;
        assert!(changed != map);
        assert_eq!(map[&sorted[3]], model[&sorted[3]]);
        assert!(!model.contains_key(&u64::MAX));
        let absent = catch_unwind(AssertUnwindSafe(|| map[&u64::MAX]));
        assert!(absent.is_err());
        assert!(copy.clone().into_keys().eq(model.keys().copied()));
        assert!(copy.into_values().rev().eq(model.values().rev().copied()));
    }
    let small = AlexMap::from([(3u32, 'c'), (1, 'a'), (3, 'd')]);
    assert_eq!(small, AlexMap::from([(1u32, 'a'), (3, 'd')]));
    assert_eq!(small.into_keys().collect::<Vec<_>>(), vec![1, 3]);
    let zeros = AlexMap::from([(0.0f64, 1u8)]);
    assert!(zeros != AlexMap::from([(-0.0f64, 1u8)]));
    // Ordering and hashing agree with BTreeMap's and with equality;
    // extending from references copies.
    use std::hash::{DefaultHasher, Hash, Hasher};
    let hash_of = |m: &AlexMap<i64, u8>| {
        let mut h = DefaultHasher::new();
        m.hash(&mut h);
        h.finish()
    };
    let pairs = [
        vec![(-5i64, 1u8), (3, 2)],
        vec![(-5, 1), (3, 3)],
        vec![(-5, 1)],
        vec![(-6, 9), (3, 2)],
        vec![],
    ];
    for a in &pairs {
        for b in &pairs {
            let (ma, mb): (AlexMap<i64, u8>, AlexMap<i64, u8>) =
                (a.iter().copied().collect(), b.iter().copied().collect());
            let (ba, bb): (BTreeMap<i64, u8>, BTreeMap<i64, u8>) =
                (a.iter().copied().collect(), b.iter().copied().collect());
            assert_eq!(ma.cmp(&mb), ba.cmp(&bb), "{a:?} against {b:?}");
            assert_eq!(ma.partial_cmp(&mb), ba.partial_cmp(&bb));
            assert_eq!(ma == mb, hash_of(&ma) == hash_of(&mb));
        }
    }
    let mut target: AlexMap<i64, u8> = AlexMap::new();
    let source = BTreeMap::from([(1i64, 10u8), (2, 20)]);
    target.extend(&source);
    assert_eq!(
        target.into_iter().collect::<Vec<_>>(),
        vec![(1, 10), (2, 20)]
    );
}

#[test]
fn draining_from_the_front_like_a_queue() {
    // A priority-queue pattern: pop the smallest key, look up what was
    // popped, push larger keys and now and then one below the smallest.
    // Removing a node's first key leaves the removed keys in its leading
    // gaps; no lookup may find them, and an insert before the first key
    // must make them ordinary gaps again.
    let mut rng = Rng(97);
    let mut keys: Vec<u64> = (0..150_000).map(|_| rng.next() >> 4).collect();
    keys.sort_unstable();
    keys.dedup();
    for config in three_configs() {
        let pairs: Vec<(u64, u64)> = keys.iter().map(|&k| (k, k ^ 3)).collect();
        let mut map = AlexMap::bulk_load_with_config(config, pairs.iter().copied()).unwrap();
        let mut model: BTreeMap<u64, u64> = pairs.into_iter().collect();
        let mut popped = Vec::new();
        for step in 0..120_000u64 {
            let got = map.pop_first();
            assert_eq!(got, model.pop_first());
            let (k, _) = got.unwrap();
            assert_eq!(map.get(&k), None);
            popped.push(k);
            if step % 7 == 0 {
                // A key popped a while ago: below the smallest key now.
                let old = popped[popped.len() / 2];
                assert_eq!(map.get(&old), None);
                assert_eq!(map.insert(old, step), model.insert(old, step));
            }
            if step % 5 == 0 {
                let k = rng.next() >> 4;
                assert_eq!(map.insert(k, step), model.insert(k, step));
            }
            if step % 20_000 == 0 {
                assert_same(&map, &model);
            }
        }
        for &k in &popped {
            assert_eq!(map.get(&k), model.get(&k));
        }
        assert_same(&map, &model);
        while let Some(e) = map.pop_first() {
            assert_eq!(Some(e), model.pop_first());
        }
        assert!(model.is_empty());
        map.check();
    }
}

#[test]
fn iter_mut_pop_and_retain_behave_like_btreemap() {
    let mut rng = Rng(41);
    let keys: Vec<u64> = (0..200_000).map(|_| rng.next() >> 8).collect();
    for config in three_configs() {
        let (mut map, mut model) = inserted(&config, &keys);
        // iter_mut: both ends, exact length, values written through it.
        let mut it = map.iter_mut();
        assert_eq!(it.len(), model.len());
        let (k, v) = it.next_back().unwrap();
        assert_eq!(Some(k), model.keys().next_back());
        *v += 1;
        let (k, v) = it.next().unwrap();
        assert_eq!(Some(k), model.keys().next());
        *v += 1;
        assert_eq!(it.len(), model.len() - 2);
        for (_, v) in it {
            *v += 1;
        }
        for v in model.values_mut() {
            *v += 1;
        }
        assert_same(&map, &model);
        // Pops from both ends.
        for _ in 0..1000 {
            assert_eq!(map.pop_first(), model.pop_first());
            assert_eq!(map.pop_last(), model.pop_last());
        }
        assert_eq!(
            map.remove_entry(&keys[5000]),
            model.remove_entry(&keys[5000])
        );
        assert_eq!(map.remove_entry(&keys[5000]), None);
        map.check();
        // A few removed (one by one), then most of them (a rebuild), each
        // time changing the values kept.
        for modulus in [97, 3] {
            let mut seen = Vec::new();
            map.retain(|k, v| {
                seen.push(*k);
                *v ^= *k & 0xff;
                *k % modulus != 1
            });
            assert!(
                seen.iter().eq(model.keys()),
                "retain visits every key once, in order"
            );
            model.retain(|k, v| {
                *v ^= *k & 0xff;
                *k % modulus != 1
            });
            assert_same(&map, &model);
        }
        // A contiguous run of the smallest keys, one by one (under a
        // quarter), then the rest but the largest (a rebuild).
        let cut = *model.keys().nth(model.len() / 5).unwrap();
        map.retain(|k, _| *k >= cut);
        model.retain(|k, _| *k >= cut);
        assert_same(&map, &model);
        // The rebuilt map keeps its configuration and takes inserts.
        assert_eq!(map.config(), &config);
        for &k in &keys[..10_000] {
            assert_eq!(map.insert(k, 1), model.insert(k, 1));
        }
        map.retain(|_, _| false);
        assert!(map.is_empty() && map.pop_first().is_none() && map.pop_last().is_none());
        map.check();
    }
}

#[test]
fn extend_merges_large_batches_like_btreemap() {
    let mut rng = Rng(77);
    for config in [Config::default(), Config::read_mostly()] {
        let mut map = AlexMap::with_config(config.clone()).unwrap();
        let mut model = BTreeMap::new();
        // Into an empty map, then batches of a quarter or more (merged by a
        // rebuild) and small ones (inserted), with keys repeated within a
        // batch and over the map's.
        for (round, size) in [100_000usize, 30_000, 1_000, 63, 200_000]
            .into_iter()
            .enumerate()
        {
            let batch: Vec<(u64, u64)> = (0..size)
                .map(|i| (rng.next() % 400_000, (round * 1_000_000 + i) as u64))
                .collect();
            map.extend(batch.iter().copied());
            model.extend(batch.iter().copied());
            assert_same(&map, &model);
        }
        // A batch under a quarter of the map, inserted in key order, with
        // many repeats: the later pair of a key wins.
        let batch: Vec<(u64, u64)> = (0..5_000u64).map(|i| (rng.next() % 700, i)).collect();
        map.extend(batch.iter().copied());
        model.extend(batch.iter().copied());
        assert_same(&map, &model);
        assert_eq!(map.config(), &config);
    }
    // A rebuild keeps the map's history of structural changes.
    let mut grown = AlexMap::new();
    for _ in 0..100_000 {
        grown.insert(rng.next(), 1u64);
    }
    let before = grown.stats().counters;
    assert!(before.expansions > 0);
    grown.extend((0..50_000).map(|_| (rng.next(), 2u64)));
    assert_eq!(grown.stats().counters, before);
    grown.check();
    // An iterator that overstates its size: merged all the same.
    struct Overstated(std::vec::IntoIter<(u64, u64)>);
    impl Iterator for Overstated {
        type Item = (u64, u64);
        fn next(&mut self) -> Option<(u64, u64)> {
            self.0.next()
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (usize::MAX, None)
        }
    }
    let mut small: AlexMap<u64, u64> = (0..10).map(|k| (k, k)).collect();
    small.extend(Overstated(vec![(3, 30), (20, 200), (3, 31)].into_iter()));
    let got: Vec<(u64, u64)> = small.iter().map(|(k, v)| (*k, *v)).collect();
    let mut want: BTreeMap<u64, u64> = (0..10).map(|k| (k, k)).collect();
    want.extend([(3, 30), (20, 200), (3, 31)]);
    assert!(got.into_iter().eq(want));
    // A NaN anywhere in a merged batch panics before the map changes.
    let mut floats: AlexMap<f64, u32> = (0..1000).map(|i| (i as f64, i)).collect();
    let mut batch: Vec<(f64, u32)> = (0..500).map(|i| (i as f64 + 0.5, 7)).collect();
    batch[250].0 = f64::NAN;
    let outcome = catch_unwind(AssertUnwindSafe(|| floats.extend(batch)));
    assert!(outcome.is_err());
    floats.check();
    assert_eq!(floats.len(), 1000);
    assert!(floats.iter().all(|(k, v)| *k == *v as f64));
    // So does one too small to merge but long enough to sort (64 pairs).
    let mut batch: Vec<(f64, u32)> = (0..64).map(|i| (i as f64 + 0.25, 7)).collect();
    batch[63].0 = f64::NAN;
    let outcome = catch_unwind(AssertUnwindSafe(|| floats.extend(batch)));
    assert!(outcome.is_err());
    floats.check();
    assert_eq!(floats.len(), 1000);
}

#[test]
fn stats_account_for_every_entry() {
    let keys: Vec<u64> = (0..200_000u64).map(|i| i * 977).collect();
    let map = AlexMap::bulk_load(keys.iter().map(|&k| (k, k))).unwrap();
    let s = map.stats();
    assert_eq!(s.num_keys, 200_000);
    assert_eq!(s.heap.keys, 200_000 * 8);
    assert_eq!(s.heap.values, 200_000 * 8);
    assert_eq!(s.heap.slack, (s.data_slots - 200_000) * 16);
    assert!(s.heap.index_overhead > 0);
    assert!(s.min_keys_per_data_node <= s.max_keys_per_data_node);
    assert!((s.avg_density - 200_000.0 / s.data_slots as f64).abs() < 1e-12);
    assert!(
        s.bytes_per_key() > 16.0 && s.bytes_per_key() < 24.0,
        "{}",
        s.bytes_per_key()
    );
    let dense = AlexMap::bulk_load_with_config(Config::read_mostly(), keys.iter().map(|&k| (k, k)))
        .unwrap();
    assert!(
        dense.stats().bytes_per_key() <= 18.0,
        "{}",
        dense.stats().bytes_per_key()
    );
}

/// A range with an upper bound leaves its end to that bound until its back
/// is walked, and finds the end's position then: whatever the front has
/// taken by that point (nothing, part of a node, a whole node, up to the
/// last entry, past it), the back must continue exactly where `BTreeMap`'s
/// does. Emptied nodes between the ends (removed key runs) and emptied
/// fronts of nodes (leading gaps holding removed keys) are on the way.
#[test]
fn bounded_ranges_switch_ends_anywhere() {
    for config in three_configs() {
        let keys: Vec<u64> = (0..4000u64).map(|i| i * 5).collect();
        let (mut map, mut model) = inserted(&config, &keys);
        // Empty whole stretches (nodes of the fixed-leaf map become empty)
        // and thin others out, from the front of their runs.
        for k in (2000..3000u64)
            .chain(9000..9400)
            .chain((12000..16000).step_by(15))
        {
            assert_eq!(map.remove(&k), model.remove(&k));
        }
        map.check();
        let bounds: Vec<(u64, u64)> = vec![
            (0, 60),
            (1, 59),
            (1990, 3010),
            (2500, 2600),
            (8990, 9410),
            (11990, 12300),
            (0, 19995),
            (19990, u64::MAX),
            (15000, 15001),
            (3, 4),
        ];
        for (lo, hi) in bounds {
            let expected: Vec<u64> = model.range(lo..=hi).map(|(k, _)| *k).collect();
            // Keep the work bounded for the wide ranges: every split point
            // for short ranges, a spread of them for long ones.
            let step = (expected.len() / 40).max(1);
            for split in (0..=expected.len() + 1).step_by(step) {
                for inclusive in [true, false] {
                    let mut it: Box<dyn DoubleEndedIterator<Item = (&u64, &u64)>> = if inclusive {
                        Box::new(map.range(lo..=hi))
                    } else {
                        Box::new(map.range(lo..hi))
                    };
                    let mut want: Box<dyn DoubleEndedIterator<Item = (&u64, &u64)>> = if inclusive {
                        Box::new(model.range(lo..=hi))
                    } else {
                        Box::new(model.range(lo..hi))
                    };
                    for _ in 0..split {
                        assert_eq!(it.next(), want.next(), "{lo}..{hi} next, split {split}");
                    }
                    loop {
                        let (a, b) = (it.next_back(), want.next_back());
                        assert_eq!(a, b, "{lo}..{hi} next_back after {split}");
                        if a.is_none() {
                            break;
                        }
                    }
                    assert!(it.next().is_none() && it.next_back().is_none());
                }
            }
        }
    }
}

/// A clone of a partly consumed iterator continues from where the original
/// stood, from both ends (a clone that forgot the back's progress passed
/// every other test).
#[test]
fn clones_of_partly_consumed_ranges_continue_like_btreemap() {
    for config in [
        Config::default(),
        Config::prototype_fixed_leaves(64),
        Config {
            max_data_node_slots: 64,
            ..Config::default()
        },
    ] {
        let keys: Vec<u64> = (0..3000u64).map(|i| i * 3).collect();
        let (mut map, mut model) = inserted(&config, &keys);
        for k in (3000..4500u64).chain(6000..6100) {
            assert_eq!(map.remove(&k), model.remove(&k));
        }
        map.check();
        for (lo, hi) in [(0, 9000), (10, 8000), (2990, 4600), (5999, 6200)] {
            for (front, back) in [(0, 1), (1, 0), (3, 200), (200, 3), (5, 5)] {
                let (mut it, mut want) = (map.range(lo..hi), model.range(lo..hi));
                for _ in 0..front {
                    assert_eq!(it.next(), want.next());
                }
                for _ in 0..back {
                    assert_eq!(it.next_back(), want.next_back());
                }
                assert!(it.clone().rev().eq(want.clone().rev()), "{lo}..{hi}");
                assert!(it.eq(want), "{lo}..{hi}");
            }
        }
        let (mut it, mut want) = (map.iter(), model.iter());
        it.next_back();
        want.next_back();
        let c = it.clone();
        assert_eq!(c.len(), want.len());
        assert!(c.rev().eq(want.rev()));
    }
}

/// `next_back` in a build with debug assertions (its slot check once ran
/// after it had moved the run's end, and failed on every call).
#[test]
fn next_back_in_a_checked_build() {
    let mut map: AlexMap<u64, u64> = AlexMap::new();
    map.insert(0, 0);
    map.insert(7, 1);
    assert_eq!(
        map.range(0..=7).rev().collect::<Vec<_>>(),
        vec![(&7, &1), (&0, &0)]
    );
}
