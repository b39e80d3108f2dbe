//! Room for keys past an end of the map: appends (keys above every key)
//! and prepends (below every key).
//!
//! A data node that keeps taking keys past one of its ends and refuses one
//! is not rebuilt bigger, nor split by its count: the keys from the new one
//! on get a data node of their own, beside it, over the parent's slots that
//! route them ("carving" the parent's block of slots). The full node keeps
//! its keys where they are and its slots up to its last key's; the new node
//! is laid out for keys arriving at the end: its model's slope is the
//! recent key rate at `cost::EDGE_PLACEMENT_DENSITY`, and its size is what
//! its slots of the parent will receive at that rate
//! (`cost::edge_node_slots`). So a run of appends fills nodes one after
//! the other, in key order, each about as full as planned, and the tree
//! does not deepen: new nodes hang from the same inner node, which widens
//! in place (its fan-out doubles) when the keys pass its domain.
//!
//! Routing stays exact: the parent's model is unchanged (widening adds
//! slots past its end; doubling scales it by 2, exact in floating point),
//! and every key of the old node goes to the node whose slots its parent
//! slot lies in. The slots between are tiled by aligned power-of-two
//! blocks, as every child fills one (`inner_node.rs`); a block that no key
//! reaches yet holds an empty data node, which becomes an edge node when
//! keys arrive there.
//!
//! A map that is one data node grows it by the usual expansions up to the
//! largest node; then a root of two slots goes above it, one slot per
//! planned node from there on.

use crate::config::Layout;
use crate::cost;
use crate::data_node::{DataNode, Placement};
use crate::inner_node::InnerNode;
use crate::key::{ordered_distance, Key};
use crate::model::LinearModel;
use crate::tree::{DataId, InnerId, NodeRef, Place};
use crate::AlexMap;

/// The end of the map a key arrives past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// Makes room in data node `leaf`, where `t` routes (`map.path` holds the
/// descent), for `t` past one of its ends, if `leaf` has been taking keys
/// there. Returns `false` when this does not apply, and leaves the tree
/// as it was then; otherwise the tree changed (a retry of the insert finds
/// room, or at least a parent with twice the fan-out).
pub(crate) fn make_edge_room<K: Key, V>(map: &mut AlexMap<K, V>, leaf: DataId, t: u64) -> bool {
    if map.config.layout != Layout::Adaptive {
        return false;
    }
    let node = &map.tree[leaf];
    let side = match (node.min_ord(), node.max_ord()) {
        (Some(_), Some(max)) if t > max => Side::Right,
        (Some(min), Some(_)) if t < min => Side::Left,
        _ => return false,
    };
    if !cost::edge_inserts_dominate(&node.counters, side == Side::Right) {
        return false;
    }
    let Some(rate) = key_rate(map, leaf, side) else {
        return false;
    };
    match map.path.last().copied() {
        None => new_root_above(map, leaf, t, side, rate),
        Some(step) => carve(map, leaf, step.inner, step.slot, t, side, rate),
    }
}

/// Keys per unit of key distance, from `leaf` or, when it holds too few
/// keys to tell, its inward neighbour.
fn key_rate<K: Key, V>(map: &AlexMap<K, V>, leaf: DataId, side: Side) -> Option<f64> {
    let links = map.tree[leaf].links;
    let inward = match side {
        Side::Right => links.prev(),
        Side::Left => links.next(),
    };
    let rate_of = |id: DataId| {
        let node = &map.tree[id];
        let (min, max) = (node.min_ord()?, node.max_ord()?);
        let span = ordered_distance(max, min);
        (node.len() >= cost::EDGE_RATE_MIN_KEYS && span > 0.0)
            .then(|| (node.len() - 1) as f64 / span)
    };
    rate_of(leaf).or_else(|| inward.and_then(rate_of))
}

/// The map is the one data node `leaf`: once it is as large as a node may
/// be, a root of two slots goes above it, `leaf` in one and a new edge
/// node for `t` in the other. One slot spans the keys a planned edge node
/// takes at `rate`.
fn new_root_above<K: Key, V>(
    map: &mut AlexMap<K, V>,
    leaf: DataId,
    t: u64,
    side: Side,
    rate: f64,
) -> bool {
    let node = &map.tree[leaf];
    if node.capacity() < map.config.max_data_node_slots {
        return false;
    }
    let per_slot = cost::edge_keys_per_root_slot(&map.config);
    let slope = rate / per_slot;
    // Slot 1 starts at `t` (right) or at the node's first key (left).
    let (base, below, above) = match side {
        Side::Right => (t, node.max_ord().expect("not empty"), t),
        Side::Left => {
            let min = node.min_ord().expect("not empty");
            (min, t, min)
        }
    };
    let model = LinearModel {
        slope,
        intercept: 1.0,
        base,
    };
    if !(model.is_monotone() && model.predict(below, 2) == 0 && model.predict(above, 2) == 1) {
        return false;
    }
    let edge = edge_node(map, Vec::new(), t, side, rate, per_slot);
    let (leaf_slot, edge_slot) = match side {
        Side::Right => (0, 1),
        Side::Left => (1, 0),
    };
    let mut children = vec![NodeRef::UNSET; 2];
    children[leaf_slot] = NodeRef::data(leaf);
    let root = map
        .tree
        .alloc_inner(InnerNode::new(model, children.into_boxed_slice()));
    let edge = match side {
        Side::Right => map.tree.insert_leaf_after(leaf, edge),
        Side::Left => map.tree.insert_leaf_before(leaf, edge),
    };
    map.tree.attach(
        Place::Block {
            parent: root,
            start: edge_slot,
            len: 1,
        },
        NodeRef::data(edge),
    );
    map.tree.attach(Place::Root, NodeRef::inner(root));
    map.counters.splits_down += 1;
    true
}

/// Largest power of two dividing `x` (any, for 0).
fn low_bit(x: usize) -> usize {
    if x == 0 {
        usize::MAX / 2 + 1
    } else {
        1 << x.trailing_zeros()
    }
}

/// Largest power of two at most `x` (`x >= 1`).
fn pow2_at_most(x: usize) -> usize {
    1 << (usize::BITS - 1 - x.leading_zeros())
}

/// Gives the keys of `leaf` from the parent slot of `t` on (on `side`)
/// new data nodes beside it, over the slots of `parent`'s block of `leaf`
/// (`slot` is in it), widened first when `t` lies past the parent's
/// domain on the right.
fn carve<K: Key, V>(
    map: &mut AlexMap<K, V>,
    leaf: DataId,
    parent: InnerId,
    slot: usize,
    t: u64,
    side: Side,
    rate: f64,
) -> bool {
    let max_fanout = 1usize << map.config.max_fanout_log2;
    let max_slots = map.config.max_data_node_slots;
    {
        let p = &map.tree[parent];
        let fanout = p.fanout();
        let model = p.model;
        let (a, len) = p.block_of(slot);
        let e = a + len;
        let jf = model.predict_f64(t);
        // Past the parent's domain on the right: widen it in place, which
        // only the last data node's parent may do (the keys it newly
        // routes sit in that node). Past it on the left, or where the
        // fan-out may not grow, the root's widening (`split.rs`) applies.
        let mut wide = fanout;
        if side == Side::Right && jf >= fanout as f64 {
            if leaf != map.tree.last_leaf() || 2 * fanout > max_fanout {
                return false;
            }
            wide = pow2_at_least(jf + 1.0, max_fanout).max(2 * fanout);
        }
        if side == Side::Left && jf < 0.0 {
            return false;
        }
        let slot_of = |k: u64| model.predict(k, wide);
        let j = slot_of(t);
        let node = &map.tree[leaf];
        let (w0, cover) = match side {
            Side::Right => {
                let q = slot_of(node.max_ord().expect("not empty"));
                let cover = (q + 1 - a).next_power_of_two();
                let fits = |w: usize| a % w == 0 && a + w <= j;
                let w0 = if fits(cover) {
                    cover
                } else if j > a {
                    let mut w = pow2_at_most(j - a);
                    while a % w != 0 {
                        w /= 2;
                    }
                    w
                } else {
                    0
                };
                (w0, cover)
            }
            Side::Left => {
                let q = slot_of(node.min_ord().expect("not empty"));
                let cover = (e - q).next_power_of_two();
                let fits = |w: usize| e % w == 0 && w <= e && e - w > j;
                let w0 = if fits(cover) {
                    cover
                } else if e > j + 1 {
                    let mut w = pow2_at_most(e - 1 - j);
                    while e % w != 0 {
                        w /= 2;
                    }
                    w
                } else {
                    0
                };
                (w0, cover)
            }
        };
        if w0 < cover && node.capacity() < max_slots {
            // Keys would have to move: while the node may grow, it grows,
            // laid out for keys at this end.
            grow(map, leaf, t, side, rate, jf, a, e, model.slope);
            return true;
        }
        if w0 == 0 {
            // `t` and the node's keys share the parent's slot: halve the
            // slots by doubling the parent's fan-out, if it may.
            if 2 * fanout > max_fanout {
                return false;
            }
            map.tree[parent].double();
            map.counters.fanout_doublings += 1;
            // The tree changed (the descent recorded is stale): if the
            // doubling did not separate the keys, the retry of the insert
            // starts over from a new descent.
            carve(map, leaf, parent, 2 * slot, t, side, rate);
            return true;
        }
        if wide != fanout {
            let p = &mut map.tree[parent];
            let mut children = p.children.to_vec();
            children.resize(wide, NodeRef::UNSET);
            p.set_children(children.into_boxed_slice());
            map.counters.root_expansions += 1;
        }
        let hi = if wide != fanout { wide } else { e };
        // The tiles of the slots the leaf gives up, in key order.
        let mut tiles = Vec::new();
        match side {
            Side::Right => {
                let mut x = a + w0;
                while x < hi {
                    let mut size = low_bit(x);
                    while x + size > hi {
                        size /= 2;
                    }
                    tiles.push((x, size));
                    x += size;
                }
            }
            Side::Left => {
                let mut x = e - w0;
                while x > a {
                    let mut size = low_bit(x);
                    while size > x - a {
                        size /= 2;
                    }
                    tiles.push((x - size, size));
                    x -= size;
                }
                tiles.reverse();
            }
        }
        let kept_tile = match side {
            Side::Right => (a, w0),
            Side::Left => (e - w0, w0),
        };
        place_tiles(
            map, leaf, parent, model, wide, kept_tile, &tiles, t, side, rate,
        );
        map.counters.splits_sideways += 1;
        true
    }
}

/// Smallest power of two at least `x` (at least 2), capped at `cap`.
fn pow2_at_least(x: f64, cap: usize) -> usize {
    if x.is_nan() || x >= cap as f64 {
        return cap;
    }
    (x.ceil().max(2.0) as usize).next_power_of_two().min(cap)
}

/// Rebuilds `leaf` (parent block `a..e`, parent slope `slope`) as an edge
/// node planned for the keys its block receives from `t` (parent
/// prediction `jf`) on at `rate`.
#[allow(clippy::too_many_arguments)]
fn grow<K: Key, V>(
    map: &mut AlexMap<K, V>,
    leaf: DataId,
    t: u64,
    side: Side,
    rate: f64,
    jf: f64,
    a: usize,
    e: usize,
    slope: f64,
) {
    let span_slots = match side {
        Side::Right => e as f64 - jf,
        Side::Left => jf - a as f64,
    };
    let pairs = map.tree[leaf].drain();
    let expected = span_slots.max(0.0) / slope * rate;
    let mut node = edge_node(map, pairs, t, side, rate, expected);
    // A node that could not be planned larger than it was: the usual rule
    // for a node at its limit (room at the end) decides the next time.
    if node.capacity() <= node.len() + 1 {
        let used = cost::slots_for(&map.config, node.len());
        let slots = used + cost::edge_room(used);
        let pairs = node.drain();
        let placement = match side {
            Side::Right => Placement::RoomRight { used },
            Side::Left => Placement::RoomLeft { used },
        };
        node = map.build_data(pairs, slots, placement, &mut Vec::new());
    }
    map.tree.replace_leaf(leaf, node);
    map.counters.expansions += 1;
}

/// Splits `leaf`'s keys by the parent slot they route to: those in
/// `kept` stay (the node is rebuilt only if some leave), the rest go to
/// one new data node per tile, in key order, linked in beside `leaf`; the
/// tile of `t` gets an edge node.
#[allow(clippy::too_many_arguments)]
fn place_tiles<K: Key, V>(
    map: &mut AlexMap<K, V>,
    leaf: DataId,
    parent: InnerId,
    model: LinearModel,
    fanout: usize,
    kept: (usize, usize),
    tiles: &[(usize, usize)],
    t: u64,
    side: Side,
    rate: f64,
) {
    let slot_of = |k: u64| model.predict(k, fanout);
    let in_kept = |k: u64| (kept.0..kept.0 + kept.1).contains(&slot_of(k));
    let node = &map.tree[leaf];
    let all_kept = match side {
        Side::Right => in_kept(node.max_ord().expect("not empty")),
        Side::Left => in_kept(node.min_ord().expect("not empty")),
    };
    let mut moved: Vec<(K, V)> = Vec::new();
    if !all_kept {
        let mut pairs = map.tree[leaf].drain();
        let cut = match side {
            Side::Right => pairs.partition_point(|(k, _)| in_kept(k.to_ordered())),
            Side::Left => pairs.partition_point(|(k, _)| !in_kept(k.to_ordered())),
        };
        let rest = pairs.split_off(cut);
        let (stay, go) = match side {
            Side::Right => (pairs, rest),
            Side::Left => (rest, pairs),
        };
        moved = go;
        let slots = cost::slots_for(&map.config, stay.len());
        let rebuilt = map.build_data(stay, slots, Placement::Even, &mut Vec::new());
        map.tree.replace_leaf(leaf, rebuilt);
    }
    map.tree.attach(
        Place::Block {
            parent,
            start: kept.0,
            len: kept.1,
        },
        NodeRef::data(leaf),
    );
    let j = slot_of(t);
    let jf = model.predict_f64(t);
    let mut moved = moved.into_iter().peekable();
    let mut nodes = Vec::with_capacity(tiles.len());
    for &(start, len) in tiles {
        let mut pairs = Vec::new();
        while let Some(pair) = moved.next_if(|(k, _)| slot_of(k.to_ordered()) < start + len) {
            pairs.push(pair);
        }
        let node = if (start..start + len).contains(&j) {
            let span_slots = match side {
                Side::Right => (start + len) as f64 - jf,
                Side::Left => jf - start as f64,
            };
            let expected = pairs.len() as f64 + span_slots.max(0.0) / model.slope * rate;
            edge_node(map, pairs, t, side, rate, expected)
        } else {
            let slots = cost::slots_for(&map.config, pairs.len());
            map.build_data(pairs, slots, Placement::Even, &mut Vec::new())
        };
        nodes.push(((start, len), node));
    }
    debug_assert!(moved.next().is_none(), "every moved key has a tile");
    // Linked in key order beside `leaf`.
    let mut at = leaf;
    let ordered: Vec<_> = match side {
        Side::Right => nodes.into_iter().collect(),
        Side::Left => nodes.into_iter().rev().collect(),
    };
    for ((start, len), node) in ordered {
        at = match side {
            Side::Right => map.tree.insert_leaf_after(at, node),
            Side::Left => map.tree.insert_leaf_before(at, node),
        };
        map.tree
            .attach(Place::Block { parent, start, len }, NodeRef::data(at));
    }
}

/// A data node over `pairs` (sorted; beyond `t` on the inward side) laid
/// out for keys arriving past `t`'s end at `rate`, sized for `expected`
/// keys in all (`cost::edge_node_slots`).
fn edge_node<K: Key, V>(
    map: &AlexMap<K, V>,
    pairs: Vec<(K, V)>,
    t: u64,
    side: Side,
    rate: f64,
    expected: f64,
) -> DataNode<K, V> {
    let m = pairs.len();
    let slots = cost::edge_node_slots(&map.config, expected, m);
    let used = cost::edge_used_slots(m).min(slots);
    let placement = match side {
        Side::Right => Placement::RoomRight { used },
        Side::Left => Placement::RoomLeft { used },
    };
    let mut node = map.build_data(pairs, slots, placement, &mut Vec::new());
    if m < cost::EDGE_RATE_MIN_KEYS {
        // Too few keys for their own line: the key rate places the keys
        // to come, from the slot past the ones taken.
        let slope = rate / cost::EDGE_PLACEMENT_DENSITY;
        let intercept = match side {
            Side::Right => node.last_occupied().map_or(0, |l| l + 1) as f64,
            Side::Left => node.first_occupied().unwrap_or(slots).saturating_sub(1) as f64,
        };
        let line = LinearModel {
            slope,
            intercept,
            base: t,
        };
        if line.is_monotone() {
            node.model = line;
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two() {
        assert_eq!(low_bit(12), 4);
        assert_eq!(low_bit(1), 1);
        assert_eq!(pow2_at_most(1), 1);
        assert_eq!(pow2_at_most(12), 8);
        assert_eq!(pow2_at_least(3.0, 1 << 10), 4);
        assert_eq!(pow2_at_least(1e30, 1 << 10), 1 << 10);
    }
}
