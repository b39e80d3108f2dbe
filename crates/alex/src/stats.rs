//! What the tree looks like and what it costs in memory.

/// Heap bytes held by a map, split by what they store. Everything the map
/// allocates is in exactly one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapBytes {
    /// Occupied slots' keys.
    pub keys: usize,
    /// Occupied slots' values (the inline `V`; heap memory a `V` owns
    /// itself, like a `Vec`'s buffer, is not seen by the map).
    pub values: usize,
    /// Gap slots: the key and value room of slots not holding an entry.
    pub slack: usize,
    /// Everything else: models, bitmaps, node headers, inner nodes' child
    /// arrays, and the unused capacity of the node arenas.
    pub index_overhead: usize,
}

impl HeapBytes {
    /// All heap bytes of the map.
    pub fn total(&self) -> usize {
        self.keys + self.values + self.slack + self.index_overhead
    }
}

/// The shape and size of a map, from [`crate::AlexMap::stats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TreeStats {
    /// Number of entries.
    pub num_keys: usize,
    /// Nodes on the longest root-to-leaf path, counting the data node.
    pub height: usize,
    /// Number of inner (routing) nodes.
    pub inner_nodes: usize,
    /// Number of data nodes.
    pub data_nodes: usize,
    /// Fewest keys in a data node.
    pub min_keys_per_data_node: usize,
    /// Mean keys per data node.
    pub mean_keys_per_data_node: f64,
    /// Most keys in a data node.
    pub max_keys_per_data_node: usize,
    /// Total slots over all data nodes.
    pub data_slots: usize,
    /// Occupied slots over all slots.
    pub avg_density: f64,
    /// Sum over inner nodes of their fan-out (child-pointer slots).
    pub inner_child_slots: usize,
    /// Heap bytes, by what they hold.
    pub heap: HeapBytes,
    /// Structural changes since the map was built.
    pub counters: Counters,
}

impl TreeStats {
    /// Heap bytes per entry (`0.0` for an empty map).
    pub fn bytes_per_key(&self) -> f64 {
        if self.num_keys == 0 {
            0.0
        } else {
            self.heap.total() as f64 / self.num_keys as f64
        }
    }
}

/// Counts of structural changes, for seeing what the cost model chose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Data nodes grown (and retrained) in place.
    pub expansions: u64,
    /// Data nodes shrunk after deletes.
    pub contractions: u64,
    /// Data nodes split into two siblings under the same parent.
    pub splits_sideways: u64,
    /// Data nodes replaced by a new inner node over new data nodes.
    pub splits_down: u64,
    /// Times an inner node doubled its fan-out to make room for a split.
    pub fanout_doublings: u64,
    /// Times the root's key domain grew to take keys beyond it.
    pub root_expansions: u64,
    /// Pairs of sibling data nodes merged after deletes.
    pub merges: u64,
}

use crate::data_node::Slot;
use crate::key::Key;
use crate::tree::{Child, NodeRef};
use crate::AlexMap;
use core::mem::size_of;

pub(crate) fn collect<K: Key, V>(map: &AlexMap<K, V>) -> TreeStats {
    let mut s = TreeStats {
        num_keys: map.len(),
        counters: map.counters,
        min_keys_per_data_node: usize::MAX,
        ..Default::default()
    };
    // Height and inner nodes, from the root.
    let mut stack: Vec<(NodeRef, usize)> = vec![(map.tree.root(), 1)];
    let mut last_child = None;
    while let Some((node, depth)) = stack.pop() {
        s.height = s.height.max(depth);
        let Child::Inner(id) = node.get() else {
            continue;
        };
        let inner = &map.tree[id];
        s.inner_nodes += 1;
        s.inner_child_slots += inner.fanout();
        s.heap.index_overhead += inner.fanout() * size_of::<NodeRef>();
        for &child in inner.children.iter() {
            if Some(child) != last_child && !child.is_data() {
                stack.push((child, depth + 1));
            } else if child.is_data() && Some(child) != last_child {
                s.height = s.height.max(depth + 1);
            }
            last_child = Some(child);
        }
    }
    // Data nodes, along the sibling links.
    let slot_bytes = size_of::<Slot<K, V>>();
    let padding = slot_bytes - size_of::<K>() - size_of::<V>();
    for id in map.tree.leaves() {
        let node = &map.tree[id];
        let n = node.len();
        s.data_nodes += 1;
        s.min_keys_per_data_node = s.min_keys_per_data_node.min(n);
        s.max_keys_per_data_node = s.max_keys_per_data_node.max(n);
        s.data_slots += node.capacity();
        let (slots, bitmap) = node.heap_bytes();
        s.heap.keys += n * size_of::<K>();
        s.heap.values += n * size_of::<V>();
        s.heap.slack += (node.capacity() - n) * (size_of::<K>() + size_of::<V>());
        s.heap.index_overhead += node.capacity() * padding + bitmap;
        debug_assert_eq!(slots, node.capacity() * slot_bytes);
    }
    // Freed data nodes keep a minimal slot array.
    for &f in map.tree.free_data_ids() {
        let (slots, bitmap) = map.tree[f].heap_bytes();
        s.heap.index_overhead += slots + bitmap;
    }
    // Node headers, arena slack and scratch vectors.
    s.heap.index_overhead +=
        map.tree.arena_bytes() + map.path.capacity() * size_of::<crate::PathStep>();
    if s.data_nodes == 0 {
        s.min_keys_per_data_node = 0;
    } else {
        s.mean_keys_per_data_node = s.num_keys as f64 / s.data_nodes as f64;
    }
    s.avg_density = if s.data_slots == 0 {
        0.0
    } else {
        s.num_keys as f64 / s.data_slots as f64
    };
    s
}
