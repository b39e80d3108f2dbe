//! Property tests: random operation sequences on `AlexMap` against
//! `BTreeMap`, under every configuration, over key strategies that make
//! adversarial shapes (tight collisions, clustered runs, both ends of the
//! key space, values above 2^53). proptest shrinks a failure to a short
//! sequence. After each sequence: `check()`, equal contents, equal `len`.

use std::collections::BTreeMap;
use std::ops::Bound;

use alex::{AlexError, AlexMap, Config};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op<K> {
    Insert(K, u32),
    Remove(K),
    Get(K),
    GetMut(K, u32),
    Range(Bound<K>, Bound<K>, bool),
    First,
    Last,
    BulkLoad(Vec<K>),
    Clear,
    Extend(Vec<K>),
    /// Keys past the map's last key (`true`) or before its first, `gap`
    /// apart: appends or prepends.
    EdgeRun(u16, u32, bool),
    /// `extend_sorted` with these keys, sorted and deduplicated unless the
    /// flag says to pass them as drawn (then an error must leave the map
    /// unchanged when they are not strictly ascending).
    ExtendSorted(Vec<K>, bool),
}

fn configs() -> Vec<(&'static str, Config)> {
    vec![
        ("default", Config::default()),
        ("read_mostly", Config::read_mostly()),
        ("single_level", Config::prototype_single_level()),
        ("fixed_leaves_64", Config::prototype_fixed_leaves(64)),
        (
            "small_nodes",
            Config {
                max_data_node_slots: 64,
                max_fanout_log2: 3,
                ..Config::default()
            },
        ),
    ]
}

/// u64 keys: a few tight ranges (many collisions), clustered runs, both
/// ends of the key space and keys above 2^53 that differ in low bits.
fn u64_key() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        0u64..64,
        (0u64..8, 0u64..200).prop_map(|(c, i)| c << 40 | i),
        (0u64..64).prop_map(|i| u64::MAX - i),
        (0u64..64).prop_map(|i| (1u64 << 53) + i),
        any::<u64>(),
    ]
}

fn i64_key() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![
        -32i64..32,
        (0i64..64).prop_map(|i| i64::MIN + i),
        (0i64..64).prop_map(|i| i64::MAX - i),
        any::<i64>(),
    ]
}

fn f64_key() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        (-40i32..40).prop_map(|i| i as f64 / 4.0),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        (0u64..32).prop_map(|i| 9_007_199_254_740_992.0 + 2.0 * i as f64),
        any::<f64>().prop_filter("no NaN", |x| !x.is_nan()),
    ]
}

fn bound<K: Clone + std::fmt::Debug + 'static>(
    key: impl Strategy<Value = K> + Clone,
) -> impl Strategy<Value = Bound<K>> {
    prop_oneof![
        1 => Just(Bound::Unbounded),
        2 => key.clone().prop_map(Bound::Included),
        2 => key.prop_map(Bound::Excluded),
    ]
}

fn op<K: Clone + std::fmt::Debug + 'static>(
    key: impl Strategy<Value = K> + Clone + 'static,
) -> impl Strategy<Value = Op<K>> {
    prop_oneof![
        12 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        6 => key.clone().prop_map(Op::Remove),
        3 => key.clone().prop_map(Op::Get),
        2 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::GetMut(k, v)),
        2 => (bound(key.clone()), bound(key.clone()), any::<bool>())
            .prop_map(|(a, b, rev)| Op::Range(a, b, rev)),
        1 => Just(Op::First),
        1 => Just(Op::Last),
        1 => prop::collection::vec(key.clone(), 0..300).prop_map(Op::BulkLoad),
        1 => Just(Op::Clear),
        1 => prop::collection::vec(key.clone(), 0..300).prop_map(Op::Extend),
        2 => (0u16..600, 1u32..1000, any::<bool>()).prop_map(|(n, gap, right)| Op::EdgeRun(n, gap, right)),
        2 => (prop::collection::vec(key, 0..300), prop::bool::weighted(0.2))
            .prop_map(|(keys, raw)| Op::ExtendSorted(keys, raw)),
    ]
}

/// Keys compared through the map's own total order (`-0.0 < +0.0` for
/// floats), which `BTreeMap` needs a wrapper for.
trait ModelKey: alex::Key + std::fmt::Debug {
    type Ord: Ord + Copy + std::fmt::Debug;
    fn ord(self) -> Self::Ord;
    /// The key `by` above (`up`) or below this one, saturating at the
    /// ends of the type (for floats, plain addition, which may round back
    /// to the same key).
    fn beyond(self, by: u32, up: bool) -> Self;
    /// A key to start from in an empty map.
    fn origin() -> Self;
}

impl ModelKey for u64 {
    type Ord = u64;
    fn ord(self) -> u64 {
        self
    }
    fn beyond(self, by: u32, up: bool) -> u64 {
        if up {
            self.saturating_add(u64::from(by))
        } else {
            self.saturating_sub(u64::from(by))
        }
    }
    fn origin() -> u64 {
        1 << 40
    }
}

impl ModelKey for i64 {
    type Ord = i64;
    fn ord(self) -> i64 {
        self
    }
    fn beyond(self, by: u32, up: bool) -> i64 {
        if up {
            self.saturating_add(i64::from(by))
        } else {
            self.saturating_sub(i64::from(by))
        }
    }
    fn origin() -> i64 {
        0
    }
}

impl ModelKey for f64 {
    type Ord = (i8, u64);
    fn ord(self) -> (i8, u64) {
        // The IEEE total order: flip the magnitude bits of negatives.
        let bits = self.to_bits();
        if bits >> 63 == 1 {
            (0, !bits)
        } else {
            (1, bits)
        }
    }
    fn beyond(self, by: u32, up: bool) -> f64 {
        if up {
            self + f64::from(by)
        } else {
            self - f64::from(by)
        }
    }
    fn origin() -> f64 {
        0.5
    }
}

/// The error `extend_sorted` must give for `keys`: the first repeated or
/// descending key, in input order.
fn sorted_run_error<K: ModelKey>(keys: &[K]) -> Option<AlexError> {
    for (index, pair) in keys.windows(2).enumerate() {
        match pair[1].ord().cmp(&pair[0].ord()) {
            std::cmp::Ordering::Equal => return Some(AlexError::DuplicateKey { index: index + 1 }),
            std::cmp::Ordering::Less => return Some(AlexError::UnsortedInput { index: index + 1 }),
            std::cmp::Ordering::Greater => {}
        }
    }
    None
}

fn range_is_valid<K: ModelKey>(a: &Bound<K>, b: &Bound<K>) -> bool {
    use Bound::*;
    match (a, b) {
        (Included(x), Included(y)) => x.ord() <= y.ord(),
        (Included(x), Excluded(y)) | (Excluded(x), Included(y)) => x.ord() <= y.ord(),
        (Excluded(x), Excluded(y)) => x.ord() < y.ord(),
        _ => true,
    }
}

fn in_range<K: ModelKey>(k: K, a: &Bound<K>, b: &Bound<K>) -> bool {
    let lo = match a {
        Bound::Included(x) => k.ord() >= x.ord(),
        Bound::Excluded(x) => k.ord() > x.ord(),
        Bound::Unbounded => true,
    };
    let hi = match b {
        Bound::Included(x) => k.ord() <= x.ord(),
        Bound::Excluded(x) => k.ord() < x.ord(),
        Bound::Unbounded => true,
    };
    lo && hi
}

fn run<K: ModelKey>(config: &Config, ops: &[Op<K>]) -> Result<(), TestCaseError> {
    let mut map: AlexMap<K, u32> = AlexMap::with_config(config.clone()).unwrap();
    let mut model: BTreeMap<K::Ord, (K, u32)> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Insert(k, v) => {
                let old = model.insert(k.ord(), (*k, *v)).map(|(_, v)| v);
                prop_assert_eq!(map.insert(*k, *v), old);
            }
            Op::Remove(k) => {
                let old = model.remove(&k.ord()).map(|(_, v)| v);
                prop_assert_eq!(map.remove(k), old);
            }
            Op::Get(k) => {
                prop_assert_eq!(map.get(k).copied(), model.get(&k.ord()).map(|e| e.1));
                prop_assert_eq!(map.contains_key(k), model.contains_key(&k.ord()));
            }
            Op::GetMut(k, v) => match (map.get_mut(k), model.get_mut(&k.ord())) {
                (Some(a), Some(b)) => {
                    *a = *v;
                    b.1 = *v;
                }
                (None, None) => {}
                (a, b) => prop_assert!(false, "get_mut {:?}: {:?} vs {:?}", k, a, b),
            },
            Op::Range(a, b, rev) => {
                if !range_is_valid(a, b) {
                    continue;
                }
                let expected: Vec<(K::Ord, u32)> = model
                    .values()
                    .filter(|(k, _)| in_range(*k, a, b))
                    .map(|(k, v)| (k.ord(), *v))
                    .collect();
                let mut got: Vec<(K::Ord, u32)> = if *rev {
                    map.range((*a, *b))
                        .rev()
                        .map(|(k, v)| (k.ord(), *v))
                        .collect()
                } else {
                    map.range((*a, *b)).map(|(k, v)| (k.ord(), *v)).collect()
                };
                if *rev {
                    got.reverse();
                }
                prop_assert_eq!(got, expected);
            }
            Op::First => prop_assert_eq!(
                map.first_key_value().map(|(k, v)| (k.ord(), *v)),
                model.values().next().map(|(k, v)| (k.ord(), *v))
            ),
            Op::Last => prop_assert_eq!(
                map.last_key_value().map(|(k, v)| (k.ord(), *v)),
                model.values().next_back().map(|(k, v)| (k.ord(), *v))
            ),
            Op::BulkLoad(keys) => {
                let mut fresh: BTreeMap<K::Ord, (K, u32)> = BTreeMap::new();
                for (i, k) in keys.iter().enumerate() {
                    fresh.insert(k.ord(), (*k, i as u32));
                }
                map = AlexMap::bulk_load_with_config(config.clone(), fresh.values().copied())
                    .unwrap();
                model = fresh;
            }
            Op::Clear => {
                map.clear();
                model.clear();
            }
            Op::Extend(keys) => {
                let pairs: Vec<(K, u32)> = keys.iter().map(|k| (*k, 7)).collect();
                map.extend(pairs.iter().copied());
                for (k, v) in pairs {
                    model.insert(k.ord(), (k, v));
                }
            }
            Op::EdgeRun(count, gap, up) => {
                let end = if *up {
                    model.values().next_back()
                } else {
                    model.values().next()
                };
                let mut k = end.map_or(K::origin(), |e| e.0);
                for i in 0..*count {
                    k = k.beyond(*gap, *up);
                    let old = model.insert(k.ord(), (k, u32::from(i))).map(|(_, v)| v);
                    prop_assert_eq!(map.insert(k, u32::from(i)), old);
                }
            }
            Op::ExtendSorted(keys, raw) => {
                let mut keys = keys.clone();
                if !raw {
                    keys.sort_by_key(|k| k.ord());
                    keys.dedup_by_key(|k| k.ord());
                }
                let pairs: Vec<(K, u32)> = keys.iter().map(|k| (*k, 9)).collect();
                let got = map.extend_sorted(pairs.iter().copied());
                match sorted_run_error(&keys) {
                    Some(e) => prop_assert_eq!(got, Err(e)),
                    None => {
                        let new = keys
                            .iter()
                            .filter(|k| !model.contains_key(&k.ord()))
                            .count();
                        for (k, v) in pairs {
                            model.insert(k.ord(), (k, v));
                        }
                        prop_assert_eq!(got, Ok(new));
                    }
                }
            }
        }
        prop_assert_eq!(map.len(), model.len());
    }
    map.check();
    let got: Vec<(K::Ord, u32)> = map.iter().map(|(k, v)| (k.ord(), *v)).collect();
    let expected: Vec<(K::Ord, u32)> = model.values().map(|(k, v)| (k.ord(), *v)).collect();
    prop_assert_eq!(got, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn u64_ops_match_btreemap(ops in prop::collection::vec(op(u64_key()), 1..400)) {
        for (_, config) in configs() {
            run(&config, &ops)?;
        }
    }

    #[test]
    fn i64_ops_match_btreemap(ops in prop::collection::vec(op(i64_key()), 1..400)) {
        for (_, config) in configs() {
            run(&config, &ops)?;
        }
    }

    #[test]
    fn f64_ops_match_btreemap(ops in prop::collection::vec(op(f64_key()), 1..400)) {
        for (_, config) in configs() {
            run(&config, &ops)?;
        }
    }

    /// A NaN key is refused with an error and leaves the map as it was.
    #[test]
    fn nan_keys_are_refused(keys in prop::collection::vec(f64_key(), 0..200), bits in any::<u64>()) {
        let nan = f64::from_bits((0x7ffu64 << 52) | (bits & ((1 << 52) - 1)) | 1);
        prop_assume!(nan.is_nan());
        let mut map: AlexMap<f64, u32> = AlexMap::new();
        for (i, k) in keys.iter().enumerate() {
            map.insert(*k, i as u32);
        }
        let before: Vec<(u64, u32)> = map.iter().map(|(k, v)| (k.to_bits(), *v)).collect();
        prop_assert_eq!(map.try_insert(nan, 1), Err(AlexError::NanKey));
        prop_assert_eq!(map.get(&nan), None);
        prop_assert_eq!(map.remove(&nan), None);
        map.check();
        let after: Vec<(u64, u32)> = map.iter().map(|(k, v)| (k.to_bits(), *v)).collect();
        prop_assert_eq!(before, after);
    }
}
