//! Building a subtree from sorted pairs: the whole map at bulk load, or the
//! replacement of one data node when it splits down.
//!
//! Each node's shape comes from the cost model, as in ALEX's fan-out tree:
//! a node over keys `S` is a data node if its expected cost is below one
//! extra level (`NODE_LOOKUP_WEIGHT`), so no inner node could beat it;
//! otherwise every fan-out `2^d` is priced (traversal cost plus the
//! key-weighted expected cost of the children as data nodes, with an extra
//! level for children too large to be one) and the cheapest wins. Adjacent
//! aligned children that together hold no more than an average child (or
//! `MIN_MERGED_KEYS`, whichever is more) are merged into one child spanning
//! both blocks of slots, so skewed data does not leave a trail of tiny nodes. Children too costly
//! to be data nodes are planned the same way, in turn.
//!
//! The build is iterative (an explicit stack, depth-first, left to right),
//! so it creates data nodes in key order, consumes the pairs in one pass,
//! and never recurses however deep the data makes the tree.

use crate::config::Layout;
use crate::cost::{
    self, EXPENSIVE_NODE_COST, LEVEL_EXACT_MAX_KEYS, LEVEL_SAMPLE_BUCKETS, MIN_DOMAIN_SPREAD,
    NARROW_MAX_LOG2, NODE_LOOKUP_WEIGHT, PLANNED_HEADER_BYTES,
};
use crate::data_node::{DataNode, Placement};

use crate::images::{Images, PairImages};
use crate::inner_node::InnerNode;
use crate::key::Key;
use crate::model::LinearModel;
use crate::tree::{InnerId, LeafRun, NodeRef, Place};
use crate::AlexMap;

/// How the subtree's root is chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Root {
    /// By the cost model (a data node if that is cheapest).
    Free,
    /// Always an inner node. A given model maps the keys' range onto
    /// `[0, 1)` (it comes from the parent's slots) and is replaced by the
    /// line through the end keys if it would not separate them; without
    /// one, a least-squares fit is used.
    Inner(Option<LinearModel>),
}

/// The result of a build: the subtree's root, not yet attached, and its
/// data nodes, linked to each other but not yet to the rest of the map.
pub(crate) struct Built {
    pub root: NodeRef,
    pub leaves: LeafRun,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Data or inner by the cost model; an inner node's model is the given
    /// one (the parent's slots) or fitted.
    Free(Option<LinearModel>),
    Data,
    Inner(Option<LinearModel>),
}

struct Task {
    lo: usize,
    hi: usize,
    parent: Option<(InnerId, usize, usize)>,
    mode: Mode,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    slot: usize,
    len: usize,
    lo: usize,
    hi: usize,
}

enum Plan {
    Data,
    Inner {
        model: LinearModel,
        groups: Vec<Group>,
    },
}

/// Where a build takes its pairs from, in key order: an owned vector, whose
/// pairs move into the nodes, or a borrowed slice, whose pairs are cloned
/// (a bulk load from a slice then makes no copy of the input).
pub(crate) trait PairSource<K, V> {
    /// The pairs not yet taken.
    fn rest(&self) -> &[(K, V)];
    /// Takes the next `m` pairs (at most `rest().len()`).
    fn take_next(&mut self, m: usize) -> impl Iterator<Item = (K, V)>;
}

impl<K, V> PairSource<K, V> for std::vec::IntoIter<(K, V)> {
    fn rest(&self) -> &[(K, V)] {
        self.as_slice()
    }

    fn take_next(&mut self, m: usize) -> impl Iterator<Item = (K, V)> {
        self.by_ref().take(m)
    }
}

/// Pairs cloned out of a borrowed slice.
pub(crate) struct ClonedPairs<'a, K, V>(pub &'a [(K, V)]);

impl<K: Copy, V: Clone> PairSource<K, V> for ClonedPairs<'_, K, V> {
    fn rest(&self) -> &[(K, V)] {
        self.0
    }

    fn take_next(&mut self, m: usize) -> impl Iterator<Item = (K, V)> {
        let (head, tail) = self.0.split_at(m);
        self.0 = tail;
        head.iter().map(|(k, v)| (*k, v.clone()))
    }
}

/// Builds a subtree over `pairs` (sorted, distinct). `total_keys` is the
/// size of the whole map, which weighs inner nodes' child arrays in the
/// cost.
pub(crate) fn build_subtree<K: Key, V>(
    map: &mut AlexMap<K, V>,
    mut pairs: impl PairSource<K, V>,
    root: Root,
    total_keys: usize,
) -> Built {
    let n = pairs.rest().len();
    let root_mode = match root {
        Root::Free if map.config.layout == Layout::SingleLevel && n >= 2 => Mode::Inner(None),
        Root::Free => Mode::Free(None),
        Root::Inner(model) => Mode::Inner(model),
    };
    let mut stack = vec![Task {
        lo: 0,
        hi: n,
        parent: None,
        mode: root_mode,
    }];
    let mut root_ref = None;
    // Working memory of `DataNode::build`, reused across the nodes.
    let mut scratch = Vec::new();
    let mut leaves = None;
    // Tasks run depth first, left to right, and each data node consumes its
    // keys' pairs, so the pairs not yet consumed start at the popped task's
    // first key: planning and laying out read the keys from them in place.
    let mut consumed = 0;
    while let Some(task) = stack.pop() {
        debug_assert_eq!(consumed, task.lo);
        let keys = PairImages(&pairs.rest()[..task.hi - task.lo]);
        let plan = match task.mode {
            Mode::Data => Plan::Data,
            Mode::Free(model) => plan_node(map, keys, total_keys, true, model),
            Mode::Inner(model) => plan_node(map, keys, total_keys, false, model),
        };
        let node_ref = match plan {
            Plan::Data => {
                let m = keys.len();
                let slots = cost::slots_for(&map.config, m);
                let layout = DataNode::<K, V>::lay_out(keys, slots, Placement::Even, &mut scratch);
                let node = map.fill_data(layout, pairs.take_next(m), &mut scratch);
                consumed += m;
                NodeRef::data(map.tree.push_leaf(&mut leaves, node))
            }
            Plan::Inner { model, groups } => {
                let fanout = groups.last().map_or(1, |g| g.slot + g.len);
                let id = map.tree.alloc_inner(InnerNode::new(
                    model,
                    vec![NodeRef::UNSET; fanout].into_boxed_slice(),
                ));
                let single = map.config.layout == Layout::SingleLevel;
                let limit = cost::max_data_keys(&map.config);
                for g in groups.iter().rev() {
                    let m = g.hi - g.lo;
                    // A child's domain is its block of the parent's slots:
                    // keys the parent routes to it never fall beyond its
                    // model, so later inserts there (appends into a gap)
                    // spread over its children instead of piling into an
                    // edge one.
                    let unit = model.shifted(-(g.slot as f64)).scaled(1.0 / g.len as f64);
                    let mode = if single || m <= 1 {
                        Mode::Data
                    } else if m > limit {
                        Mode::Inner(Some(unit))
                    } else {
                        Mode::Free(Some(unit))
                    };
                    stack.push(Task {
                        lo: task.lo + g.lo,
                        hi: task.lo + g.hi,
                        parent: Some((id, g.slot, g.len)),
                        mode,
                    });
                }
                NodeRef::inner(id)
            }
        };
        match task.parent {
            None => root_ref = Some(node_ref),
            Some((parent, start, len)) => {
                map.tree
                    .attach(Place::Block { parent, start, len }, node_ref);
            }
        }
    }
    debug_assert!(pairs.rest().is_empty());
    Built {
        root: root_ref.expect("the root task always runs"),
        leaves: leaves.expect("a build makes a data node"),
    }
}

/// Decides one node's shape.
fn plan_node<K: Key, V, O: Images>(
    map: &AlexMap<K, V>,
    ords: O,
    total_keys: usize,
    allow_data: bool,
    forced_unit: Option<LinearModel>,
) -> Plan {
    let n = ords.len();
    let cfg = &map.config;
    let limit = cost::max_data_keys(&map.config);
    let ins = cfg.expected_insert_fraction;
    if n < 2 {
        return Plan::Data;
    }
    let mut best_cost = f64::INFINITY;
    let mut best_log2 = 0u32;
    if allow_data && n <= limit {
        let c0 = cost::data_node_cost(ords, cfg.init_density).total(ins);
        if cost::data_node_suffices(c0) {
            return Plan::Data;
        }
        best_cost = c0;
    }
    let child_bytes = core::mem::size_of::<NodeRef>() + PLANNED_HEADER_BYTES;
    let max_log2 = cfg.max_fanout_log2.min(usize::BITS - n.leading_zeros() + 1);
    // The cheapest fan-out for routing by `unit`, against `best`. The
    // children's costs are not monotone in the fan-out (they stay flat
    // while children are too large, then drop), so every level is priced
    // until the traversal cost alone, which grows with the fan-out, reaches
    // the best: children cost nothing less than zero, so no wider level can
    // win. Small nodes, whose child arrays weigh heavily per key, stop
    // early.
    let cheapest = |unit: &LinearModel, mut best: (f64, u32)| {
        for d in 1..=max_log2 {
            let fanout = 1usize << d;
            let traversal = cost::traversal_cost(fanout, child_bytes, n, total_keys);
            if traversal >= best.0 {
                break;
            }
            // A level is priced only while it can still beat the best: the
            // test is the one below, on the children priced so far.
            let c = traversal
                + level_cost(
                    ords,
                    &unit.scaled(fanout as f64),
                    fanout,
                    limit,
                    cfg.init_density,
                    ins,
                    |children| traversal + children >= best.0,
                );
            if c < best.0 {
                best = (c, d);
            }
        }
        best
    };
    let mut unit = match forced_unit {
        Some(m) => m,
        None => fit_unit(ords),
    };
    // Whether the keys lie inside the given domain, where `unit` can still
    // tell them apart in floating point (deep partitions of a wide domain
    // lose precision; the end-point line is rebased at the first key and
    // exact).
    let within = |unit: &LinearModel| {
        let (first, last) = (
            unit.predict_f64(ords.at(0)),
            unit.predict_f64(ords.at(n - 1)),
        );
        (0.0..1.0).contains(&first)
            && (0.0..1.0).contains(&last)
            && last - first > MIN_DOMAIN_SPREAD
    };
    let within_given = forced_unit.is_some() && within(&unit);
    (best_cost, best_log2) = cheapest(&unit, (best_cost, best_log2));
    if best_cost >= EXPENSIVE_NODE_COST && !within_given {
        // A least-squares line clamps the dense end of curved keys into its
        // first or last slot, and so does a parent's domain that these keys
        // overrun (the last child of a skewed set): either way one child
        // gets most keys at any fan-out, and no level looks better than one
        // slow data node, or, for keys too many for one node, than a 2-way
        // split that leaves all but a few of them in the last child, level
        // after level. So a node whose best plan still costs two levels also
        // prices the keys' own lines, the fitted one and the one through
        // the ends. Keys inside their domain keep it (see below): routing
        // them by their own line sent key-order inserts one level deeper at
        // every split (docs/design.md, "Bulk load").
        let spanning = LinearModel::spanning(ords.at(0), ords.at(n - 1), 1);
        // Without a given domain, `unit` is already the fitted line.
        let fitted = forced_unit.map(|_| fit_unit(ords));
        for candidate in fitted.into_iter().chain([spanning]) {
            let (c, d) = cheapest(&candidate, (best_cost, best_log2));
            if c < best_cost {
                (best_cost, best_log2) = (c, d);
                unit = candidate;
            }
        }
    }
    if best_log2 == 0 {
        if allow_data {
            return Plan::Data;
        }
        best_log2 = 1;
    }
    // Prototype layout with capped leaves: widen until every child fits.
    if cfg.layout == Layout::SingleLevel {
        if let Some(cap) = cfg.max_keys_per_data_node {
            let want = (n as f64 / (cap as f64 * cost::FIXED_LEAF_FILL))
                .ceil()
                .max(2.0) as usize;
            best_log2 = best_log2.max(want.next_power_of_two().trailing_zeros());
            // Widen until every child fits, by the fitted line or the one
            // through the end points (the better is chosen below).
            let largest = |log2: u32| {
                let fanout = 1usize << log2;
                largest_bucket(ords, &unit.scaled(fanout as f64), fanout).min(largest_bucket(
                    ords,
                    &LinearModel::spanning(ords.at(0), ords.at(n - 1), fanout),
                    fanout,
                ))
            };
            while best_log2 < cfg.max_fanout_log2 && largest(best_log2) > cap {
                best_log2 += 1;
            }
            best_log2 = best_log2.min(cfg.max_fanout_log2);
        }
    }
    let mut fanout = 1usize << best_log2;
    let mut model = unit.scaled(fanout as f64);
    if let (Layout::SingleLevel, Some(cap)) = (cfg.layout, cfg.max_keys_per_data_node) {
        // A least-squares line can clamp many keys of a skewed set into an
        // edge slot; the line through the end points never clamps.
        let spanning = LinearModel::spanning(ords.at(0), ords.at(n - 1), fanout);
        if largest_bucket(ords, &model, fanout) > cap
            && largest_bucket(ords, &spanning, fanout) < largest_bucket(ords, &model, fanout)
        {
            model = spanning;
        }
    }
    let mut buckets = bucket_bounds(ords, &model, fanout);
    let one_bucket = |b: &[(usize, usize)]| b.iter().any(|&(lo, hi)| hi - lo == n);
    if within_given {
        // A parent's model is kept while the keys lie inside its domain
        // (the line through the end points would send every later key
        // beyond the last one, as appends are, to the last child, one level
        // deeper each time it fills). If it does not separate them, widen
        // the fan-out, to at most 2^NARROW_MAX_LOG2: the one child is then
        // split again, each level narrowing the domain that much.
        let cap = cfg.max_fanout_log2.min(NARROW_MAX_LOG2);
        while one_bucket(&buckets) && best_log2 < cap {
            best_log2 += 1;
            fanout = 1 << best_log2;
            model = unit.scaled(fanout as f64);
            buckets = bucket_bounds(ords, &model, fanout);
        }
    } else if one_bucket(&buckets) {
        // The model does not separate these keys: fall back to the line
        // through the end points, which puts the first key in slot 0 and
        // the last in the last slot.
        model = LinearModel::spanning(ords.at(0), ords.at(n - 1), fanout);
        buckets = bucket_bounds(ords, &model, fanout);
    }
    let merge_limit = cost::merge_limit(n, fanout, cfg.max_keys_per_data_node);
    let mut groups = merge_groups(&buckets, merge_limit);
    if groups.len() == 1 {
        // Merging undid the split: the keys are few enough for one node.
        if allow_data {
            return Plan::Data;
        }
        groups = merge_groups(&buckets, 0);
    }
    Plan::Inner { model, groups }
}

/// A least-squares model mapping the keys onto `[0, 1)`.
fn fit_unit<O: Images>(ords: O) -> LinearModel {
    let n = ords.len();
    let stride = n.div_ceil(cost::FIT_SAMPLE_KEYS).max(1);
    LinearModel::fit_ranks_strided(ords, stride).scaled(1.0 / n as f64)
}

/// `(lo, hi)` key-index bounds of each of the `fanout` buckets.
fn bucket_bounds<O: Images>(ords: O, model: &LinearModel, fanout: usize) -> Vec<(usize, usize)> {
    // Few buckets over many keys: binary search for each boundary.
    if fanout.saturating_mul(32) < ords.len() {
        let mut bounds = Vec::with_capacity(fanout);
        let mut start = 0;
        for b in 1..=fanout {
            let end = if b == fanout {
                ords.len()
            } else {
                start
                    + ords
                        .range(start, ords.len())
                        .partition_point(|t| model.predict(t, fanout) < b)
            };
            bounds.push((start, end));
            start = end;
        }
        return bounds;
    }
    let mut bounds = Vec::with_capacity(fanout);
    let mut start = 0;
    let mut bucket = 0;
    for i in 0..ords.len() {
        let b = model.predict(ords.at(i), fanout);
        while bucket < b {
            bounds.push((start, i));
            start = i;
            bucket += 1;
        }
    }
    while bucket < fanout {
        bounds.push((start, ords.len()));
        start = ords.len();
        bucket += 1;
    }
    bounds
}

fn largest_bucket<O: Images>(ords: O, model: &LinearModel, fanout: usize) -> usize {
    // Predictions are monotone over sorted keys, so a bucket is a run of
    // equal predictions: one pass, no allocation, whatever the fan-out.
    let mut largest = 0;
    let mut run = 0;
    let mut current = usize::MAX;
    for i in 0..ords.len() {
        let b = model.predict(ords.at(i), fanout);
        if b == current {
            run += 1;
        } else {
            current = b;
            run = 1;
        }
        largest = largest.max(run);
    }
    largest
}

/// Merges aligned neighbouring buckets bottom-up while the pair holds at
/// most `limit` keys.
fn merge_groups(buckets: &[(usize, usize)], limit: usize) -> Vec<Group> {
    let mut groups: Vec<Group> = buckets
        .iter()
        .enumerate()
        .map(|(slot, &(lo, hi))| Group {
            slot,
            len: 1,
            lo,
            hi,
        })
        .collect();
    let mut size = 1;
    while size < buckets.len() {
        let mut merged = Vec::with_capacity(groups.len());
        let mut any = false;
        let mut i = 0;
        while i < groups.len() {
            let g = groups[i];
            if g.len == size && g.slot % (2 * size) == 0 && i + 1 < groups.len() {
                let h = groups[i + 1];
                if h.len == size && h.slot == g.slot + size && h.hi - g.lo <= limit {
                    merged.push(Group {
                        slot: g.slot,
                        len: 2 * size,
                        lo: g.lo,
                        hi: h.hi,
                    });
                    any = true;
                    i += 2;
                    continue;
                }
            }
            merged.push(g);
            i += 1;
        }
        groups = merged;
        if !any {
            break;
        }
        size *= 2;
    }
    groups
}

/// Key-weighted expected cost of the children at `fanout`, each priced as
/// a data node (plus one level if it is too large to be one). Small levels
/// are priced exactly; wide ones through the buckets of
/// [`cost::LEVEL_SAMPLE_BUCKETS`] keys evenly spaced by rank, which samples
/// buckets in proportion to their keys.
///
/// Pricing stops, returning infinity, once `hopeless` holds for the cost of
/// the children priced so far: no child costs less than nothing, a sum of
/// non-negative terms never falls in floating point, and rounding is
/// monotone, so a caller whose test is monotone in the cost (the level's
/// cost plus the traversal's, against the best so far) gets the plan a full
/// pricing would give, without pricing every fan-out of many small, costly
/// inner nodes over all their keys.
fn level_cost<O: Images>(
    ords: O,
    model: &LinearModel,
    fanout: usize,
    limit: usize,
    density: f64,
    insert_fraction: f64,
    hopeless: impl Fn(f64) -> bool,
) -> f64 {
    let n = ords.len();
    let bucket_cost = |lo: usize, hi: usize| {
        if hi - lo > limit {
            // Too big for one node: it becomes a level more over nodes of at
            // most `limit` keys, priced by a run of that size (pricing all
            // of it as one node samples it thinly and underestimates it,
            // which at high densities chose chains of 2-way levels).
            cost::data_node_cost(ords.range(lo, lo + limit), density).total(insert_fraction)
                + NODE_LOOKUP_WEIGHT
        } else {
            cost::data_node_cost(ords.range(lo, hi), density).total(insert_fraction)
        }
    };
    if fanout <= LEVEL_SAMPLE_BUCKETS || n <= LEVEL_EXACT_MAX_KEYS {
        let mut sum = 0.0;
        for (lo, hi) in bucket_bounds(ords, model, fanout) {
            if hi > lo {
                sum += bucket_cost(lo, hi) * (hi - lo) as f64;
                if hopeless(sum / n as f64) {
                    return f64::INFINITY;
                }
            }
        }
        return sum / n as f64;
    }
    let mut sum = 0.0;
    let mut last: Option<(usize, f64)> = None;
    for s in 0..LEVEL_SAMPLE_BUCKETS {
        let rank = (2 * s + 1) * n / (2 * LEVEL_SAMPLE_BUCKETS);
        let b = model.predict(ords.at(rank), fanout);
        let c = match last {
            Some((lb, c)) if lb == b => c,
            _ => {
                let lo = ords.partition_point(|t| model.predict(t, fanout) < b);
                let hi = ords.partition_point(|t| model.predict(t, fanout) <= b);
                bucket_cost(lo, hi)
            }
        };
        last = Some((b, c));
        sum += c;
        if hopeless(sum / LEVEL_SAMPLE_BUCKETS as f64) {
            return f64::INFINITY;
        }
    }
    sum / LEVEL_SAMPLE_BUCKETS as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    /// Keys drawn from a lognormal distribution (sigma 2, times 1e9), as in
    /// the benchmark's key set, sorted and distinct.
    fn lognormal_keys(n: usize) -> Vec<u64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut keys: Vec<u64> = (0..n)
            .map(|_| {
                let (u1, u2) = (uniform() + 1e-300, uniform());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos();
                ((2.0 * z).exp() * 1e9) as u64
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    #[test]
    fn skewed_tails_are_not_left_in_one_slow_node() {
        // The tails of a lognormal set once stayed single data nodes whose
        // keys sat thousands of slots from the lookup line (the cost of a
        // sample understated them, and the parent's domain or a fitted line
        // kept every fan-out from separating them): 0.9% of these keys were
        // more than 256 slots away, now 0.07%.
        let keys = lognormal_keys(5_000_000);
        let map = AlexMap::bulk_load(keys.iter().map(|&k| (k, k))).unwrap();
        map.check();
        let far: usize = map
            .tree
            .leaves()
            .map(|id| map.tree[id].keys_farther_than(256))
            .sum();
        assert!(
            far * 1000 < keys.len(),
            "{far} of {} keys more than 256 slots from their lookup start",
            keys.len()
        );
    }

    #[test]
    fn overrunning_tails_too_big_for_one_node_are_not_chained() {
        // The keys beyond the root's domain (the upper tail) go to its last
        // child, whose domain they overrun. Too many for one data node,
        // they were once split 2 ways at a time, each level keeping all but
        // a few keys in its last child (its domain's upper half, still
        // overrun): 181K keys of 50M lognormal ones were 8 levels deep, the
        // tree 10 high. Smaller nodes show it on fewer keys: heights 6 and
        // 7 here then, 4 now.
        for (n, slots_log2) in [(3_000_000, 12), (6_000_000, 10)] {
            let keys = lognormal_keys(n);
            let config = Config {
                max_data_node_slots: 1 << slots_log2,
                ..Config::default()
            };
            let map = AlexMap::bulk_load_with_config(config, keys.iter().map(|&k| (k, k))).unwrap();
            map.check();
            let height = map.stats().height;
            assert!(
                height <= 5,
                "{n} keys, 2^{slots_log2} slots: height {height}"
            );
        }
    }

    #[test]
    fn merging_keeps_blocks_aligned() {
        let buckets = vec![
            (0, 0),
            (0, 1),
            (1, 1),
            (1, 1),
            (1, 10),
            (10, 20),
            (20, 20),
            (20, 20),
        ];
        let groups = merge_groups(&buckets, 5);
        for g in &groups {
            assert!(g.len.is_power_of_two());
            assert_eq!(g.slot % g.len, 0);
        }
        let covered: usize = groups.iter().map(|g| g.len).sum();
        assert_eq!(covered, 8);
        assert_eq!(groups[0].len, 4);
    }

    #[test]
    fn bucket_bounds_cover_every_key_once() {
        let ords: Vec<u64> = (0..1000).map(|i| i * i).collect();
        let model = fit_unit(ords.as_slice()).scaled(16.0);
        let b = bucket_bounds(ords.as_slice(), &model, 16);
        assert_eq!(b.len(), 16);
        assert_eq!(b[0].0, 0);
        assert_eq!(b[15].1, 1000);
        for w in b.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
    }
}
