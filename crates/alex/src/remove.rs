//! Deleting: remove the key from its data node, then let emptied nodes
//! give memory back.
//!
//! A data node whose density falls below `min_density` is rebuilt smaller
//! (contracted). A data node that has almost emptied out merges with its
//! buddy, the sibling filling the other half of the aligned block of slots
//! twice its own (the inverse of a split sideways), when both are data nodes
//! and together they are small. An inner node left with one child over all
//! its slots is replaced by that child (the inverse of a split down).

use crate::bulk_load;
use crate::cost::{MERGE_MAX_FRACTION, MERGE_TRIGGER_FRACTION};
use crate::data_node::{Placement, MIN_SLOTS, NO_NODE};
use crate::inner_node::NodeRef;
use crate::iter;
use crate::key::Key;
use crate::{AlexMap, PathStep};

pub(crate) fn remove<K: Key, V>(map: &mut AlexMap<K, V>, t: u64) -> Option<V> {
    let leaf = map.descend_with_path(t);
    let value = map.data[leaf].remove(t)?;
    map.len -= 1;
    give_back(map, leaf);
    Some(value)
}

/// Removes the first entry (the last if `last`) without a descent: its data
/// node is the first (last) one holding keys, along the sibling links. The
/// descent a merge needs is made only if the node calls for one.
pub(crate) fn pop_end<K: Key, V>(map: &mut AlexMap<K, V>, last: bool) -> Option<(K, V)> {
    let pos = if last {
        iter::last_from(map, map.tail, None)
    } else {
        iter::first_from(map, map.head, 0)
    }?;
    let leaf = pos.node as usize;
    let (key, value) = map.data[leaf].remove_at(pos.slot);
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
fn wants_giving_back<K: Key, V>(map: &AlexMap<K, V>, leaf: usize) -> bool {
    wants_merge(map, leaf) || wants_contraction(map, leaf)
}

/// Whether data node `leaf` has almost emptied out (a merge is tried).
fn wants_merge<K: Key, V>(map: &AlexMap<K, V>, leaf: usize) -> bool {
    let node = &map.data[leaf];
    (node.len() as f64) < MERGE_TRIGGER_FRACTION * node.limit() as f64
}

/// Whether data node `leaf` is below `min_density` and can shrink.
fn wants_contraction<K: Key, V>(map: &AlexMap<K, V>, leaf: usize) -> bool {
    let node = &map.data[leaf];
    node.capacity() > MIN_SLOTS
        && (node.len() as f64) < map.config.min_density * node.capacity() as f64
}

/// Lets data node `leaf`, which just lost a key, give memory back: merged
/// with its buddy when it has almost emptied out, or rebuilt smaller below
/// `min_density`. `map.path` holds the descent to it.
fn give_back<K: Key, V>(map: &mut AlexMap<K, V>, leaf: usize) {
    if wants_merge(map, leaf) && try_merge(map, leaf) {
        map.compact_if_sparse();
        return;
    }
    if wants_contraction(map, leaf) {
        let n = map.data[leaf].len();
        let slots = bulk_load::slots_for(map, n);
        crate::split::rebuild(map, leaf, slots, Placement::Even, None);
        map.counters.contractions += 1;
    }
}

/// Merges data node `leaf` with its buddy if they qualify, then keeps
/// merging upwards: the merged node with its new buddy, and, when a merge
/// leaves an inner node with one child, that child with its buddy in the
/// parent, so a tree emptied by deletes shrinks level by level. The descent
/// that reached `leaf` is in `map.path`.
fn try_merge<K: Key, V>(map: &mut AlexMap<K, V>, leaf: usize) -> bool {
    let mut leaf = leaf;
    let mut merged = false;
    while let Some(&step) = map.path.last() {
        let p = step.inner as usize;
        let (start, len) = map.inner[p].block_of(step.slot);
        if len == map.inner[p].fanout() {
            break;
        }
        let buddy_start = start ^ len;
        let buddy = map.inner[p].children[buddy_start];
        if !buddy.is_data() || map.inner[p].block_of(buddy_start) != (buddy_start, len) {
            break;
        }
        let merged_keys = map.data[leaf].len() + map.data[buddy.index()].len();
        if merged_keys as f64 > MERGE_MAX_FRACTION * bulk_load::max_data_keys(map) as f64 {
            break;
        }
        leaf = merge_buddies(map, p, leaf, start, len, buddy.index(), buddy_start);
        merged = true;
        if 2 * len == map.inner[p].fanout() {
            let depth = map.path.len() - 1;
            collapse(map, depth, NodeRef::data(leaf as u32));
            map.path.pop();
        }
    }
    merged
}

/// Merges data node `leaf` (block `start`, `len` of inner node `p`) with its
/// buddy; returns the merged node, which keeps the left one's arena slot.
fn merge_buddies<K: Key, V>(
    map: &mut AlexMap<K, V>,
    p: usize,
    leaf: usize,
    start: usize,
    len: usize,
    buddy: usize,
    buddy_start: usize,
) -> usize {
    let (left, right) = if buddy_start < start {
        (buddy, leaf)
    } else {
        (leaf, buddy)
    };
    let mut pairs = map.data[left].drain();
    pairs.extend(map.data[right].drain());
    let slots = bulk_load::slots_for(map, pairs.len());
    let prev = map.data[left].prev;
    let next = map.data[right].next;
    let mut node = map.build_data(pairs, slots, Placement::Even, &mut Vec::new());
    node.prev = prev;
    node.next = next;
    map.data[left] = node;
    if next == NO_NODE {
        map.tail = left as u32;
    } else {
        map.data[next as usize].prev = left as u32;
    }
    map.free_data_node(right as u32);
    let block = start.min(buddy_start);
    map.inner[p].children[block..block + 2 * len].fill(NodeRef::data(left as u32));
    map.counters.merges += 1;
    left
}

/// Replaces the inner node at `map.path[depth]`, whose every slot now holds
/// `only`, by `only` in its own parent (or as the root).
fn collapse<K: Key, V>(map: &mut AlexMap<K, V>, depth: usize, only: NodeRef) {
    let PathStep { inner, .. } = map.path[depth];
    if depth == 0 {
        map.root = only;
    } else {
        let up = map.path[depth - 1];
        let (start, len) = map.inner[up.inner as usize].block_of(up.slot);
        map.inner[up.inner as usize].children[start..start + len].fill(only);
    }
    map.free_inner_node(inner);
}
