//! Differential tests: random operation sequences run against `AlexMap` and
//! `std::collections::BTreeMap` side by side must give the same answers,
//! over many key distributions and every configuration, with `check()` of
//! every structural invariant along the way.

use std::collections::BTreeMap;
use std::ops::Bound;

use alex::{AlexMap, Config, Key};

/// splitmix64: small, fast, seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
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

/// `n` sorted, distinct keys of a named distribution.
fn keyset(kind: &str, n: usize, rng: &mut Rng) -> Vec<u64> {
    let mut keys: Vec<u64> = match kind {
        "uniform" => (0..n).map(|_| rng.next()).collect(),
        "lognormal" => (0..n)
            .map(|_| {
                let (u1, u2) = (rng.unit().max(1e-300), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                ((z * 2.0).exp() * 1e9) as u64
            })
            .collect(),
        "sequential" => (0..n as u64).map(|i| 1_000_000 + 7 * i).collect(),
        "dense" => (0..n as u64).collect(),
        "clustered" => {
            let mut base = 0u64;
            (0..n)
                .map(|i| {
                    if i % 500 == 0 {
                        base = base.wrapping_add(rng.next() >> 6);
                    }
                    base.wrapping_add((i % 500) as u64)
                })
                .collect()
        }
        "extreme" => {
            let mut v = vec![
                0,
                1,
                2,
                u64::MAX,
                u64::MAX - 1,
                u64::MAX - 2,
                1 << 53,
                (1 << 53) + 1,
                (1 << 53) - 1,
            ];
            v.extend((0..n).map(|i| (1u64 << 63) + i as u64));
            v.extend((0..n / 4).map(|i| u64::MAX - 1000 - i as u64 * 3));
            v
        }
        "osm" => match osm_keys() {
            Some(all) => all
                .iter()
                .copied()
                .step_by((all.len() / n).max(1))
                .collect(),
            None => {
                eprintln!("note: shared OSM key file absent, using clustered keys instead");
                return keyset("clustered", n, rng);
            }
        },
        other => panic!("unknown key set {other}"),
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn configs() -> Vec<(&'static str, Config)> {
    vec![
        ("default", Config::default()),
        ("read_mostly", Config::read_mostly()),
        ("single_level", Config::prototype_single_level()),
        ("fixed_leaves_64", Config::prototype_fixed_leaves(64)),
        (
            "tiny_nodes",
            Config {
                max_data_node_slots: 64,
                max_fanout_log2: 3,
                ..Config::default()
            },
        ),
    ]
}

fn assert_same<K: Key + Ord + std::fmt::Debug>(map: &AlexMap<K, u64>, model: &BTreeMap<K, u64>) {
    assert_eq!(map.len(), model.len());
    assert!(map
        .iter()
        .map(|(k, v)| (*k, *v))
        .eq(model.iter().map(|(k, v)| (*k, *v))));
    assert!(map
        .iter()
        .rev()
        .map(|(k, v)| (*k, *v))
        .eq(model.iter().rev().map(|(k, v)| (*k, *v))));
    assert_eq!(map.first_key_value(), model.first_key_value());
    assert_eq!(map.last_key_value(), model.last_key_value());
}

/// Runs `ops` random operations on keys drawn mostly from `keys`.
fn run(keys: &[u64], ops: usize, config: Config, seed: u64, label: &str) {
    let mut rng = Rng(seed);
    let initial: Vec<u64> = keys.iter().copied().step_by(2).collect();
    let mut map =
        AlexMap::bulk_load_with_config(config.clone(), initial.iter().map(|&k| (k, k ^ 1)))
            .unwrap();
    let mut model: BTreeMap<u64, u64> = initial.iter().map(|&k| (k, k ^ 1)).collect();
    map.check();
    let pick = |rng: &mut Rng| -> u64 {
        match rng.below(8) {
            0 => rng.next(),
            1 => keys[rng.below(keys.len())].wrapping_add(1),
            _ => keys[rng.below(keys.len())],
        }
    };
    for step in 0..ops {
        let k = pick(&mut rng);
        match rng.below(100) {
            0..=44 => assert_eq!(
                map.insert(k, step as u64),
                model.insert(k, step as u64),
                "{label}: insert {k}"
            ),
            45..=69 => assert_eq!(map.remove(&k), model.remove(&k), "{label}: remove {k}"),
            70..=79 => {
                assert_eq!(map.get(&k), model.get(&k), "{label}: get {k}");
                assert_eq!(map.contains_key(&k), model.contains_key(&k));
            }
            80..=84 => {
                if let (Some(a), Some(b)) = (map.get_mut(&k), model.get_mut(&k)) {
                    *a += 1;
                    *b += 1;
                } else {
                    assert_eq!(map.get(&k), model.get(&k), "{label}: get_mut {k}");
                }
            }
            85..=97 => {
                let hi = k.saturating_add(rng.next() >> rng.below(64));
                let bounds = match rng.below(4) {
                    0 => (Bound::Included(k), Bound::Included(hi)),
                    1 => (Bound::Included(k), Bound::Unbounded),
                    2 => (Bound::Unbounded, Bound::Excluded(hi)),
                    _ if k < hi => (Bound::Excluded(k), Bound::Included(hi)),
                    _ => (Bound::Included(k), Bound::Included(hi)),
                };
                let take = 1 + rng.below(40);
                let a: Vec<_> = map.range(bounds).take(take).collect();
                let b: Vec<_> = model.range(bounds).take(take).collect();
                assert_eq!(a, b, "{label}: range {bounds:?}");
                let a: Vec<_> = map.range(bounds).rev().take(take).collect();
                let b: Vec<_> = model.range(bounds).rev().take(take).collect();
                assert_eq!(a, b, "{label}: reverse range {bounds:?}");
                // Alternate ends until they meet.
                let (mut x, mut y) = (map.range(bounds), model.range(bounds));
                for i in 0..2 * take {
                    if i % 2 == 0 {
                        assert_eq!(x.next(), y.next(), "{label}: mixed range {bounds:?}");
                    } else {
                        assert_eq!(
                            x.next_back(),
                            y.next_back(),
                            "{label}: mixed range {bounds:?}"
                        );
                    }
                }
            }
            98 => {
                if rng.below(20) == 0 {
                    map.clear();
                    model.clear();
                }
            }
            _ => {
                if rng.below(10) == 0 {
                    let fresh: Vec<u64> =
                        keys.iter().copied().filter(|_| rng.below(3) == 0).collect();
                    map = AlexMap::bulk_load_with_config(
                        config.clone(),
                        fresh.iter().map(|&k| (k, k)),
                    )
                    .unwrap();
                    model = fresh.iter().map(|&k| (k, k)).collect();
                }
            }
        }
        if map.len() < 300 || step % 5000 == 0 {
            map.check();
        }
    }
    map.check();
    assert_same(&map, &model);
}

#[test]
fn every_distribution_and_config_matches_btreemap() {
    let kinds = [
        "uniform",
        "lognormal",
        "sequential",
        "dense",
        "clustered",
        "extreme",
        "osm",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        let keys = keyset(kind, 20_000, &mut Rng(100 + i as u64));
        for (j, (name, config)) in configs().into_iter().enumerate() {
            run(
                &keys,
                60_000,
                config,
                1000 + 10 * i as u64 + j as u64,
                &format!("{kind}/{name}"),
            );
        }
    }
}

#[test]
fn long_mixed_run_on_default_config() {
    let keys = keyset("lognormal", 200_000, &mut Rng(5));
    run(&keys, 1_000_000, Config::default(), 77, "lognormal/long");
    let keys = keyset("osm", 200_000, &mut Rng(6));
    run(&keys, 1_000_000, Config::default(), 78, "osm/long");
}

/// Runs inserts and removes of keys of another type through the same
/// differential check, comparing by the key's own order.
fn typed_run<K: Key + Ord + std::fmt::Debug>(keys: Vec<K>, seed: u64) {
    let mut rng = Rng(seed);
    let mut map: AlexMap<K, u64> = AlexMap::new();
    let mut model: BTreeMap<K, u64> = BTreeMap::new();
    for step in 0..40_000u64 {
        let k = keys[rng.below(keys.len())];
        if rng.below(3) == 0 {
            assert_eq!(map.remove(&k), model.remove(&k));
        } else {
            assert_eq!(map.insert(k, step), model.insert(k, step));
        }
        if step % 4000 == 0 {
            map.check();
        }
    }
    map.check();
    assert_same(&map, &model);
}

#[test]
fn signed_and_narrow_integer_keys() {
    let mut rng = Rng(9);
    let i64s: Vec<i64> = (0..5000)
        .map(|_| rng.next() as i64)
        .chain([i64::MIN, i64::MAX, -1, 0, 1])
        .collect();
    typed_run(i64s, 1);
    let u32s: Vec<u32> = (0..5000)
        .map(|_| rng.next() as u32)
        .chain([0, u32::MAX])
        .collect();
    typed_run(u32s, 2);
    let i32s: Vec<i32> = (0..5000)
        .map(|_| rng.next() as i32)
        .chain([i32::MIN, i32::MAX, 0])
        .collect();
    typed_run(i32s, 3);
}

/// f64 in the total order: compared against a BTreeMap keyed by the
/// ordered image, since f64 is not `Ord`.
#[test]
fn float_keys_follow_the_total_order() {
    let mut rng = Rng(11);
    let mut floats: Vec<f64> = (0..5000).map(|_| (rng.unit() - 0.5) * 1e6).collect();
    floats.extend([
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        5e-324,
        -5e-324,
        f64::MAX,
        f64::MIN,
    ]);
    let mut map: AlexMap<f64, u64> = AlexMap::new();
    let mut model: BTreeMap<u64, (f64, u64)> = BTreeMap::new();
    for step in 0..40_000u64 {
        let k = floats[rng.below(floats.len())];
        if rng.below(3) == 0 {
            assert_eq!(
                map.remove(&k),
                model.remove(&k.to_ordered()).map(|(_, v)| v)
            );
        } else {
            assert_eq!(
                map.insert(k, step),
                model.insert(k.to_ordered(), (k, step)).map(|(_, v)| v)
            );
        }
    }
    map.check();
    let ours: Vec<(u64, u64)> = map.iter().map(|(k, v)| (k.to_bits(), *v)).collect();
    let theirs: Vec<(u64, u64)> = model.values().map(|(k, v)| (k.to_bits(), *v)).collect();
    assert_eq!(ours, theirs);
    // -0.0 and +0.0 are two keys, -0.0 first.
    let mut zeros: AlexMap<f64, u8> = AlexMap::new();
    zeros.insert(0.0, 1);
    zeros.insert(-0.0, 2);
    assert_eq!(zeros.len(), 2);
    assert_eq!(
        zeros.first_key_value().map(|(k, _)| k.to_bits()),
        Some((-0.0f64).to_bits())
    );

    let mut f32s: AlexMap<f32, u32> = AlexMap::new();
    for (i, x) in [3.5f32, -1.0, f32::INFINITY, 0.0, -0.0, f32::MIN_POSITIVE]
        .into_iter()
        .enumerate()
    {
        f32s.insert(x, i as u32);
    }
    f32s.check();
    let order: Vec<f32> = f32s.keys().copied().collect();
    assert_eq!(order.len(), 6);
    assert!(order
        .windows(2)
        .all(|w| w[0].to_ordered() < w[1].to_ordered()));
}
