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
//!   order, with consistent back links, `head` first and `tail` last;
//! - each data node satisfies its own invariants (`DataNode::check`), keys
//!   increase strictly across nodes in list order, and every key is routed
//!   from the root to the node that holds it;
//! - the entry count equals `len()`.

use std::collections::HashSet;

use crate::data_node::NO_NODE;
use crate::inner_node::NodeRef;
use crate::key::Key;
use crate::AlexMap;

pub(crate) fn check<K: Key, V>(map: &AlexMap<K, V>) {
    let free_inner: HashSet<u32> = map.free_inner.iter().copied().collect();
    let free_data: HashSet<u32> = map.free_data.iter().copied().collect();
    assert_eq!(
        free_inner.len(),
        map.free_inner.len(),
        "inner free list repeats"
    );
    assert_eq!(
        free_data.len(),
        map.free_data.len(),
        "data free list repeats"
    );

    // Depth-first, left to right, collecting leaves in order.
    let mut leaves: Vec<u32> = Vec::new();
    let mut seen_inner: HashSet<usize> = HashSet::new();
    let mut seen_data: HashSet<usize> = HashSet::new();
    let mut stack = vec![map.root];
    while let Some(node) = stack.pop() {
        if node.is_data() {
            let i = node.index();
            assert!(i < map.data.len(), "data node {i} out of arena");
            assert!(
                !free_data.contains(&(i as u32)),
                "freed data node {i} is reachable"
            );
            assert!(seen_data.insert(i), "data node {i} reachable twice");
            leaves.push(i as u32);
            continue;
        }
        let i = node.index();
        assert!(i < map.inner.len(), "inner node {i} out of arena");
        assert!(
            !free_inner.contains(&(i as u32)),
            "freed inner node {i} is reachable"
        );
        assert!(seen_inner.insert(i), "inner node {i} reachable twice");
        let inner = &map.inner[i];
        let fanout = inner.fanout();
        assert!(fanout.is_power_of_two(), "inner node {i} fan-out {fanout}");
        assert!(inner.max_slot_in_step(), "inner node {i}: max_slot");
        assert!(
            inner.model.is_monotone(),
            "inner node {i} model {:?}",
            inner.model
        );
        let mut children: Vec<NodeRef> = Vec::new();
        let mut slot = 0;
        while slot < fanout {
            let child = inner.children[slot];
            let (start, len) = inner.block_of(slot);
            assert_eq!(
                start, slot,
                "inner node {i}: child at {slot} does not start an aligned block"
            );
            assert!(
                inner.children[start..start + len]
                    .iter()
                    .all(|&c| c == child),
                "inner node {i}: block at {start} not uniform"
            );
            assert!(
                start + len == fanout || inner.children[start + len] != child,
                "inner node {i}: child at {start} spans more than one aligned block"
            );
            assert!(
                !children.contains(&child),
                "inner node {i}: a child fills two blocks"
            );
            children.push(child);
            slot += len;
        }
        stack.extend(children.into_iter().rev());
    }
    assert_eq!(
        seen_inner.len() + free_inner.len(),
        map.inner.len(),
        "inner arena holds unreachable, unfreed nodes"
    );
    assert_eq!(
        seen_data.len() + free_data.len(),
        map.data.len(),
        "data arena holds unreachable, unfreed nodes"
    );

    // Sibling links.
    let mut listed = Vec::with_capacity(leaves.len());
    let mut prev = NO_NODE;
    let mut id = map.head;
    while id != NO_NODE {
        assert!(listed.len() <= leaves.len(), "sibling links loop");
        assert_eq!(
            map.data[id as usize].prev, prev,
            "back link of data node {id}"
        );
        listed.push(id);
        prev = id;
        id = map.data[id as usize].next;
    }
    assert_eq!(prev, map.tail, "tail is not the last linked node");
    assert_eq!(listed, leaves, "sibling links disagree with the tree order");

    // Keys: node invariants, global order, routing, count.
    let mut count = 0usize;
    let mut last: Option<u64> = None;
    for &id in &leaves {
        let node = &map.data[id as usize];
        node.check();
        let mut slot = 0;
        while let Some(j) = node.next_occupied(slot) {
            let t = node.key_at(j).to_ordered();
            if let Some(l) = last {
                assert!(l < t, "keys out of order across data nodes at node {id}");
            }
            last = Some(t);
            assert_eq!(
                map.leaf_for(t),
                id as usize,
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
}
