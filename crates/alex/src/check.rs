//! `check()`: every structural invariant of the tree, verified by walking
//! it whole. Tests call it after mutations; it panics with the first broken
//! invariant it finds.
//!
//! Invariants:
//! - every inner node's fan-out is a power of two, its model is monotone,
//!   and each child fills exactly one aligned power-of-two block of slots;
//! - every node is reachable from the root exactly once (no sharing between
//!   parents, nothing freed is reachable, nothing reachable is freed);
//! - the data nodes' sibling links list the leaves in the tree's left-to-right
//!   order, with consistent back links, the first data node first and the last
//!   last;
//! - each data node satisfies its own invariants (`DataNode::check`), keys
//!   increase strictly across nodes in list order, and every key is routed
//!   from the root to the node that holds it;
//! - the entry count equals `len()`;
//! - an edge hint (where the last key past an end went, `lib.rs`) that is
//!   current (its shape is the tree's) names a live data node and, if any,
//!   its parent, an inner node on that edge of the tree, and a bound no
//!   nearer the middle than the node's end key (every ancestor's
//!   step to it is its first block, or its last) with the node among its
//!   children; with no parent, the node is the root.

use std::collections::HashSet;

use crate::key::Key;
use crate::tree::{Child, DataId, InnerId, NodeRef};
use crate::AlexMap;

pub(crate) fn check<K: Key, V>(map: &AlexMap<K, V>) {
    let tree = &map.tree;
    let free_inner: HashSet<InnerId> = tree.free_inner_ids().iter().copied().collect();
    let free_data: HashSet<DataId> = tree.free_data_ids().iter().copied().collect();
    assert_eq!(
        free_inner.len(),
        tree.free_inner_ids().len(),
        "inner free list repeats"
    );
    assert_eq!(
        free_data.len(),
        tree.free_data_ids().len(),
        "data free list repeats"
    );
    let [(_, data_len), (_, inner_len)] = tree.arena_usage();

    // Depth-first, left to right, collecting leaves in order.
    let mut leaves: Vec<DataId> = Vec::new();
    let mut seen_inner: HashSet<InnerId> = HashSet::new();
    let mut seen_data: HashSet<DataId> = HashSet::new();
    let mut stack = vec![tree.root()];
    while let Some(node) = stack.pop() {
        let i = match node.get() {
            Child::Data(i) => {
                assert!(i.index() < data_len, "{i:?} out of arena");
                assert!(!free_data.contains(&i), "freed {i:?} is reachable");
                assert!(seen_data.insert(i), "{i:?} reachable twice");
                leaves.push(i);
                continue;
            }
            Child::Inner(i) => i,
        };
        assert!(i.index() < inner_len, "{i:?} out of arena");
        assert!(!free_inner.contains(&i), "freed {i:?} is reachable");
        assert!(seen_inner.insert(i), "{i:?} reachable twice");
        let inner = &tree[i];
        let fanout = inner.fanout();
        assert!(fanout.is_power_of_two(), "{i:?} fan-out {fanout}");
        assert!(inner.max_slot_in_step(), "{i:?}: max_slot");
        assert!(inner.model.is_monotone(), "{i:?} model {:?}", inner.model);
        let mut children: Vec<NodeRef> = Vec::new();
        let mut slot = 0;
        while slot < fanout {
            let child = inner.children[slot];
            let (start, len) = inner.block_of(slot);
            assert_eq!(
                start, slot,
                "{i:?}: child at {slot} does not start an aligned block"
            );
            assert!(
                inner.children[start..start + len]
                    .iter()
                    .all(|&c| c == child),
                "{i:?}: block at {start} not uniform"
            );
            assert!(
                start + len == fanout || inner.children[start + len] != child,
                "{i:?}: child at {start} spans more than one aligned block"
            );
            assert!(
                !children.contains(&child),
                "{i:?}: a child fills two blocks"
            );
            children.push(child);
            slot += len;
        }
        stack.extend(children.into_iter().rev());
    }
    assert_eq!(
        seen_inner.len() + free_inner.len(),
        inner_len,
        "inner arena holds unreachable, unfreed nodes"
    );
    assert_eq!(
        seen_data.len() + free_data.len(),
        data_len,
        "data arena holds unreachable, unfreed nodes"
    );

    // Sibling links.
    let mut listed = Vec::with_capacity(leaves.len());
    let mut prev = None;
    let mut next = Some(tree.first_leaf());
    while let Some(id) = next {
        assert!(listed.len() <= leaves.len(), "sibling links loop");
        assert_eq!(tree[id].links.prev(), prev, "back link of {id:?}");
        listed.push(id);
        prev = Some(id);
        next = tree[id].links.next();
    }
    assert_eq!(
        prev,
        Some(tree.last_leaf()),
        "the last data node is not the last linked"
    );
    assert_eq!(listed, leaves, "sibling links disagree with the tree order");

    // Keys: node invariants, global order, routing, count.
    let mut count = 0usize;
    let mut last: Option<u64> = None;
    for &id in &leaves {
        let node = &tree[id];
        node.check();
        let mut slot = 0;
        while let Some(j) = node.next_occupied(slot) {
            let t = node.key_at(j).to_ordered();
            if let Some(l) = last {
                assert!(l < t, "keys out of order across data nodes at {id:?}");
            }
            last = Some(t);
            assert_eq!(
                map.leaf_for(t),
                id,
                "key {:?} is not routed to its node",
                node.key_at(j)
            );
            assert_eq!(
                node.find(t),
                Some(j),
                "key {:?} not found in its node",
                node.key_at(j)
            );
            count += 1;
            slot = j + 1;
        }
    }
    assert_eq!(count, map.len, "entry count != len()");

    for (hint, right) in [(map.right_hint, true), (map.left_hint, false)] {
        let Some(h) = hint.filter(|h| h.shape == tree.shape()) else {
            continue;
        };
        assert!(seen_data.contains(&h.leaf), "edge hint names a dead node");
        let node = &tree[h.leaf];
        if right {
            assert!(
                node.max_ord().is_none_or(|m| m <= h.bound),
                "right edge hint's bound below its node's largest key"
            );
        } else {
            assert!(
                node.min_ord().is_none_or(|m| m >= h.bound),
                "left edge hint's bound above its node's smallest key"
            );
        }
        let Some(parent) = h.parent else {
            assert_eq!(tree.root(), NodeRef::data(h.leaf), "edge hint: no root");
            continue;
        };
        assert!(
            tree[parent].children.contains(&NodeRef::data(h.leaf)),
            "edge hint: the node is not the parent's child"
        );
        // Down the edge from the root, the parent must be met.
        let mut at = tree.root();
        loop {
            let Child::Inner(i) = at.get() else {
                panic!("edge hint: the parent is not on the edge (right: {right})");
            };
            if i == parent {
                break;
            }
            let children = &tree[i].children;
            at = if right {
                children[children.len() - 1]
            } else {
                children[0]
            };
        }
    }
}
