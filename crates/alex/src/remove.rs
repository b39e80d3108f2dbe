//! Deleting: remove the key from its data node, then let emptied nodes
//! give memory back.
//!
//! A data node whose density falls below `min_density` is rebuilt smaller
//! (contracted). A data node that has almost emptied out merges with its
//! buddy, the sibling filling the other half of the aligned block of slots
//! twice its own (the inverse of a split sideways), when both are data nodes
//! and together they are small. An inner node left with one child over all
//! its slots is replaced by that child (the inverse of a split down).

use crate::cost;
use crate::data_node::Placement;
use crate::iter;
use crate::key::Key;
use crate::tree::{Child, DataId, InnerId, NodeRef, Place};
use crate::{AlexMap, PathStep};

pub(crate) fn remove<K: Key, V>(map: &mut AlexMap<K, V>, t: u64) -> Option<V> {
    let leaf = map.descend_with_path(t);
    let value = map.tree[leaf].remove(t)?;
    map.len -= 1;
    give_back(map, leaf);
    Some(value)
}

/// Removes the first entry (the last if `last`) without a descent: its data
/// node is the first (last) one holding keys, along the sibling links. The
/// descent a merge needs is made only if the node calls for one.
pub(crate) fn pop_end<K: Key, V>(map: &mut AlexMap<K, V>, last: bool) -> Option<(K, V)> {
    let pos = if last {
        iter::last_from(map, Some(map.tree.last_leaf()), None)
    } else {
        iter::first_from(map, Some(map.tree.first_leaf()), 0)
    }?;
    let leaf = pos.node;
    let (key, value) = map.tree[leaf].remove_at(pos.slot);
    map.len -= 1;
    if wants_giving_back(map, leaf) {
        let reached = map.descend_with_path(key.to_ordered());
        debug_assert_eq!(reached, leaf, "a key's descent reaches its node");
        give_back(map, leaf);
    }
    Some((key, value))
}

/// Whether data node `leaf`, which just lost a key, is sparse enough for
/// `give_back` to merge or contract it.
fn wants_giving_back<K: Key, V>(map: &AlexMap<K, V>, leaf: DataId) -> bool {
    wants_merge(map, leaf) || wants_contraction(map, leaf)
}

/// Whether data node `leaf` has almost emptied out (a merge is tried).
fn wants_merge<K: Key, V>(map: &AlexMap<K, V>, leaf: DataId) -> bool {
    let node = &map.tree[leaf];
    cost::wants_merge(node.len(), node.limit())
}

/// Whether data node `leaf` is below `min_density` and can shrink.
fn wants_contraction<K: Key, V>(map: &AlexMap<K, V>, leaf: DataId) -> bool {
    let node = &map.tree[leaf];
    cost::wants_contraction(&map.config, node.len(), node.capacity())
}

/// Lets data node `leaf`, which just lost a key, give memory back: merged
/// with its buddy when it has almost emptied out, or rebuilt smaller below
/// `min_density`. `map.path` holds the descent to it.
fn give_back<K: Key, V>(map: &mut AlexMap<K, V>, leaf: DataId) {
    if wants_merge(map, leaf) && try_merge(map, leaf) {
        compact_if_sparse(map);
        return;
    }
    if wants_contraction(map, leaf) {
        let n = map.tree[leaf].len();
        let slots = cost::slots_for(&map.config, n);
        crate::split::rebuild(map, leaf, slots, Placement::Even, None);
        map.counters.contractions += 1;
    }
}

/// Merges data node `leaf` with its buddy if they qualify, then keeps
/// merging upwards: the merged node with its new buddy, and, when a merge
/// leaves an inner node with one child, that child with its buddy in the
/// parent, so a tree emptied by deletes shrinks level by level. The descent
/// that reached `leaf` is in `map.path`.
fn try_merge<K: Key, V>(map: &mut AlexMap<K, V>, leaf: DataId) -> bool {
    let mut leaf = leaf;
    let mut merged = false;
    while let Some(&step) = map.path.last() {
        let p = step.inner;
        let (start, len) = map.tree[p].block_of(step.slot);
        if len == map.tree[p].fanout() {
            break;
        }
        let buddy_start = start ^ len;
        let Child::Data(buddy) = map.tree[p].children[buddy_start].get() else {
            break;
        };
        if map.tree[p].block_of(buddy_start) != (buddy_start, len) {
            break;
        }
        let merged_keys = map.tree[leaf].len() + map.tree[buddy].len();
        if !cost::merge_fits(&map.config, merged_keys) {
            break;
        }
        leaf = merge_buddies(map, p, leaf, start, len, buddy, buddy_start);
        merged = true;
        if 2 * len == map.tree[p].fanout() {
            let depth = map.path.len() - 1;
            collapse(map, depth, NodeRef::data(leaf));
            map.path.pop();
        }
    }
    merged
}

/// Merges data node `leaf` (block `start`, `len` of inner node `p`) with its
/// buddy; returns the merged node, which keeps the left one's arena slot.
fn merge_buddies<K: Key, V>(
    map: &mut AlexMap<K, V>,
    p: InnerId,
    leaf: DataId,
    start: usize,
    len: usize,
    buddy: DataId,
    buddy_start: usize,
) -> DataId {
    let (left, right) = if buddy_start < start {
        (buddy, leaf)
    } else {
        (leaf, buddy)
    };
    let mut pairs = map.tree[left].drain();
    pairs.extend(map.tree[right].drain());
    let slots = cost::slots_for(&map.config, pairs.len());
    let node = map.build_data(pairs, slots, Placement::Even, &mut Vec::new());
    map.tree.replace_leaf(left, node);
    map.tree.remove_leaf(right);
    let block = Place::Block {
        parent: p,
        start: start.min(buddy_start),
        len: 2 * len,
    };
    map.tree.attach(block, NodeRef::data(left));
    map.counters.merges += 1;
    left
}

/// Replaces the inner node at `map.path[depth]`, whose every slot now holds
/// `only`, by `only` in its own parent (or as the root).
fn collapse<K: Key, V>(map: &mut AlexMap<K, V>, depth: usize, only: NodeRef) {
    let PathStep { inner, .. } = map.path[depth];
    let place = if depth == 0 {
        Place::Root
    } else {
        let up = map.path[depth - 1];
        let (start, len) = map.tree[up.inner].block_of(up.slot);
        Place::Block {
            parent: up.inner,
            start,
            len,
        }
    };
    map.tree.attach(place, only);
    map.tree.free_inner(inner);
}

/// Drops the freed arena entries once they are at least half of an arena
/// (`cost::arena_is_sparse`), so a map emptied by deletes gives the arenas'
/// memory back.
fn compact_if_sparse<K: Key, V>(map: &mut AlexMap<K, V>) {
    if map
        .tree
        .arena_usage()
        .into_iter()
        .any(|(free, all)| cost::arena_is_sparse(free, all))
    {
        map.tree.compact();
    }
}
