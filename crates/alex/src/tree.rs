//! The node layer: the arenas that own the inner and data nodes, typed ids
//! into them, the root, and the first and last data nodes in key order.
//!
//! Nodes live in two arenas (`Vec`s) and refer to each other by index:
//! a `DataId` names a data node, an `InnerId` an inner node, and a `NodeRef`
//! (what an inner node's child slots hold) either one, in 4 bytes. Freed
//! entries are kept on free lists and reused by the next allocation; an
//! arena is renumbered only by `compact`.
//!
//! This module reads no keys and knows nothing of models or cost: the
//! algorithms (`bulk_load.rs`, `split.rs`, `remove.rs`) decide what the tree
//! should look like, and change it through the operations here. It relies on
//! its callers for the order of the tree (children in key order, the sibling
//! list in the tree's leaf order), which `check.rs` verifies.
//!
//! Invariants (checked by `check.rs`):
//! - the tree has at least one data node; `root` and every child reference
//!   name live entries, each reachable once;
//! - an arena entry is either reachable or on its free list, once.

use core::fmt;
use core::num::NonZeroU32;
use core::ops::{Index, IndexMut};

use crate::data_node::{DataNode, MIN_SLOTS};
use crate::inner_node::InnerNode;
use crate::key::Key;
use crate::model::LinearModel;

/// The top bit of a `NodeRef` marks a data node; the rest is an index.
const DATA_BIT: u32 = 1 << 31;

/// A data node: its index in the data arena with the top bit set. These are
/// the bits of the `NodeRef` that points at the node, so converting between
/// the two costs nothing, and they are never zero, so an `Option<DataId>` (a
/// sibling link) takes 4 bytes, as the data node's header layout requires.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DataId(NonZeroU32);

impl DataId {
    /// The id of data arena entry `index`.
    fn new(index: usize) -> DataId {
        let index = u32::try_from(index)
            .ok()
            .filter(|&i| i < DATA_BIT)
            .expect("fewer than 2^31 data nodes");
        DataId(NonZeroU32::new(index | DATA_BIT).expect("the data bit is set"))
    }

    /// The node's index in the data arena.
    #[inline(always)]
    pub fn index(self) -> usize {
        (self.0.get() & !DATA_BIT) as usize
    }
}

impl fmt::Debug for DataId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataId({})", self.index())
    }
}

/// An inner node: its index in the inner arena.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct InnerId(u32);

impl InnerId {
    /// The id of inner arena entry `index`.
    fn new(index: usize) -> InnerId {
        let index = u32::try_from(index)
            .ok()
            .filter(|&i| i < DATA_BIT)
            .expect("fewer than 2^31 inner nodes");
        InnerId(index)
    }

    /// The node's index in the inner arena.
    #[inline(always)]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for InnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InnerId({})", self.index())
    }
}

/// A child reference, as inner nodes hold them: a data node or an inner
/// node, in 4 bytes (a data node's `DataId` bits, or an inner node's index).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeRef(u32);

/// What a `NodeRef` names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Child {
    Data(DataId),
    Inner(InnerId),
}

impl NodeRef {
    /// Fills the child slots of an inner node being built, each overwritten
    /// before the node is reachable.
    pub const UNSET: NodeRef = NodeRef(DATA_BIT);

    #[inline(always)]
    pub fn data(id: DataId) -> NodeRef {
        NodeRef(id.0.get())
    }

    #[inline(always)]
    pub fn inner(id: InnerId) -> NodeRef {
        NodeRef(id.0)
    }

    /// The node this refers to.
    #[inline(always)]
    pub fn get(self) -> Child {
        if self.0 & DATA_BIT != 0 {
            Child::Data(DataId(
                NonZeroU32::new(self.0 | DATA_BIT).expect("the data bit is set"),
            ))
        } else {
            Child::Inner(InnerId(self.0))
        }
    }

    #[inline(always)]
    pub fn is_data(self) -> bool {
        self.0 & DATA_BIT != 0
    }
}

impl fmt::Debug for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Child::Data(id) => id.fmt(f),
            Child::Inner(id) => id.fmt(f),
        }
    }
}

/// The nodes of a map: two arenas, their free lists, the root, and the
/// first and last data nodes in key order.
pub(crate) struct Tree<K: Key, V> {
    root: NodeRef,
    inner: Vec<InnerNode>,
    data: Vec<DataNode<K, V>>,
    free_inner: Vec<InnerId>,
    free_data: Vec<DataId>,
    first_leaf: DataId,
    last_leaf: DataId,
}

impl<K: Key, V: Clone> Clone for Tree<K, V> {
    fn clone(&self) -> Self {
        Tree {
            root: self.root,
            inner: self.inner.clone(),
            data: self.data.clone(),
            free_inner: self.free_inner.clone(),
            free_data: self.free_data.clone(),
            first_leaf: self.first_leaf,
            last_leaf: self.last_leaf,
        }
    }
}

impl<K: Key, V> Index<DataId> for Tree<K, V> {
    type Output = DataNode<K, V>;
    #[inline(always)]
    fn index(&self, id: DataId) -> &DataNode<K, V> {
        &self.data[id.index()]
    }
}

impl<K: Key, V> IndexMut<DataId> for Tree<K, V> {
    #[inline(always)]
    fn index_mut(&mut self, id: DataId) -> &mut DataNode<K, V> {
        &mut self.data[id.index()]
    }
}

impl<K: Key, V> Index<InnerId> for Tree<K, V> {
    type Output = InnerNode;
    #[inline(always)]
    fn index(&self, id: InnerId) -> &InnerNode {
        &self.inner[id.index()]
    }
}

impl<K: Key, V> IndexMut<InnerId> for Tree<K, V> {
    #[inline(always)]
    fn index_mut(&mut self, id: InnerId) -> &mut InnerNode {
        &mut self.inner[id.index()]
    }
}

impl<K: Key, V> Tree<K, V> {
    /// A tree of one empty data node.
    pub fn new() -> Self {
        let first = DataId::new(0);
        let mut tree = Tree {
            root: NodeRef::data(first),
            inner: Vec::new(),
            data: Vec::new(),
            free_inner: Vec::new(),
            free_data: Vec::new(),
            first_leaf: first,
            last_leaf: first,
        };
        tree.clear();
        tree
    }

    /// Drops every node, leaving one empty data node. The arenas keep
    /// their memory.
    pub fn clear(&mut self) {
        self.inner.clear();
        self.data.clear();
        self.free_inner.clear();
        self.free_data.clear();
        self.data.push(DataNode::empty(MIN_SLOTS));
        let first = DataId::new(0);
        self.root = NodeRef::data(first);
        self.first_leaf = first;
        self.last_leaf = first;
    }

    /// Drops every node for a build from scratch: as `clear`, with the one
    /// empty data node freed for the build's first allocation. Until
    /// `install` the tree has no root.
    pub fn clear_for_build(&mut self) {
        self.clear();
        self.free_data.push(DataId::new(0));
    }

    /// Makes a subtree built into a tree cleared by `clear_for_build` the
    /// whole tree: its root, and its first and last data nodes.
    pub fn install(&mut self, root: NodeRef, first_leaf: DataId, last_leaf: DataId) {
        self.root = root;
        self.first_leaf = first_leaf;
        self.last_leaf = last_leaf;
    }

    #[inline(always)]
    pub fn root(&self) -> NodeRef {
        self.root
    }

    pub fn set_root(&mut self, root: NodeRef) {
        self.root = root;
    }

    /// The data node holding the smallest keys.
    #[inline(always)]
    pub fn first_leaf(&self) -> DataId {
        self.first_leaf
    }

    /// The data node holding the largest keys.
    #[inline(always)]
    pub fn last_leaf(&self) -> DataId {
        self.last_leaf
    }

    pub fn set_first_leaf(&mut self, id: DataId) {
        self.first_leaf = id;
    }

    pub fn set_last_leaf(&mut self, id: DataId) {
        self.last_leaf = id;
    }

    /// The data node `id`, if there is one (`None` is no node).
    #[inline(always)]
    pub fn get_data(&self, id: Option<DataId>) -> Option<&DataNode<K, V>> {
        id.map(|id| &self[id])
    }

    /// Stores `node` in a free entry of the data arena, or a new one.
    pub fn alloc_data(&mut self, node: DataNode<K, V>) -> DataId {
        if let Some(id) = self.free_data.pop() {
            self[id] = node;
            id
        } else {
            self.data.push(node);
            DataId::new(self.data.len() - 1)
        }
    }

    /// Frees data node `id`, which nothing refers to any more. Its entry
    /// keeps an empty node of the fewest slots until it is reused.
    pub fn free_data(&mut self, id: DataId) {
        self[id] = DataNode::empty(MIN_SLOTS);
        self.free_data.push(id);
    }

    /// Stores `node` in a free entry of the inner arena, or a new one.
    pub fn alloc_inner(&mut self, node: InnerNode) -> InnerId {
        if let Some(id) = self.free_inner.pop() {
            self[id] = node;
            id
        } else {
            self.inner.push(node);
            InnerId::new(self.inner.len() - 1)
        }
    }

    /// Frees inner node `id`, which nothing refers to any more.
    pub fn free_inner(&mut self, id: InnerId) {
        self[id] = InnerNode::new(LinearModel::ZERO, Box::new([]));
        self.free_inner.push(id);
    }

    /// Freed and all entries of the data arena, then of the inner arena.
    pub fn arena_usage(&self) -> [(usize, usize); 2] {
        [
            (self.free_data.len(), self.data.len()),
            (self.free_inner.len(), self.inner.len()),
        ]
    }

    /// The freed data arena entries.
    pub fn free_data_ids(&self) -> &[DataId] {
        &self.free_data
    }

    /// The freed inner arena entries.
    pub fn free_inner_ids(&self) -> &[InnerId] {
        &self.free_inner
    }

    /// Heap bytes of the arenas themselves: node headers over their whole
    /// capacity, and the free lists (not what the nodes own).
    pub fn arena_bytes(&self) -> usize {
        use core::mem::size_of;
        self.data.capacity() * size_of::<DataNode<K, V>>()
            + self.inner.capacity() * size_of::<InnerNode>()
            + self.free_data.capacity() * size_of::<DataId>()
            + self.free_inner.capacity() * size_of::<InnerId>()
    }

    /// The data nodes in key order, along the sibling links.
    pub fn leaves(&self) -> Leaves<'_, K, V> {
        Leaves {
            tree: self,
            next: Some(self.first_leaf),
        }
    }

    /// The data nodes `ids` (distinct), mutably, in the order given. Costs
    /// the number of ids, not the arena's size.
    pub fn leaves_mut(&mut self, ids: &[DataId]) -> Vec<&mut DataNode<K, V>> {
        // Borrowed in index order by splitting the arena, then put back in
        // the order given.
        let mut by_index: Vec<(DataId, usize)> =
            ids.iter().enumerate().map(|(at, &id)| (id, at)).collect();
        by_index.sort_unstable();
        let mut nodes: Vec<Option<&mut DataNode<K, V>>> = (0..ids.len()).map(|_| None).collect();
        let mut rest = self.data.as_mut_slice();
        let mut offset = 0usize;
        for (id, at) in by_index {
            let tail = core::mem::take(&mut rest);
            let (node, after) = tail[id.index() - offset..]
                .split_first_mut()
                .expect("node ids are in the arena and distinct");
            nodes[at] = Some(node);
            rest = after;
            offset = id.index() + 1;
        }
        nodes
            .into_iter()
            .map(|node| node.expect("every id was borrowed"))
            .collect()
    }

    /// Drops the freed arena entries, renumbering every reference (child
    /// slots, sibling links, the root and the ends of the list), and gives
    /// the arenas' spare memory back.
    pub fn compact(&mut self) {
        let data_map = renumber(self.free_data.iter().map(|id| id.index()), self.data.len());
        let inner_map = renumber(
            self.free_inner.iter().map(|id| id.index()),
            self.inner.len(),
        );
        let data = std::mem::take(&mut self.data);
        self.data = data
            .into_iter()
            .enumerate()
            .filter(|(i, _)| data_map[*i].is_some())
            .map(|(_, node)| node)
            .collect();
        let inner = std::mem::take(&mut self.inner);
        self.inner = inner
            .into_iter()
            .enumerate()
            .filter(|(i, _)| inner_map[*i].is_some())
            .map(|(_, node)| node)
            .collect();
        let data_id = |id: DataId| DataId::new(data_map[id.index()].expect("a live data node"));
        let remap = |r: NodeRef| match r.get() {
            Child::Data(id) => NodeRef::data(data_id(id)),
            Child::Inner(id) => NodeRef::inner(InnerId::new(
                inner_map[id.index()].expect("a live inner node"),
            )),
        };
        for node in &mut self.data {
            node.prev = node.prev.map(data_id);
            node.next = node.next.map(data_id);
        }
        for node in &mut self.inner {
            for c in node.children.iter_mut() {
                *c = remap(*c);
            }
        }
        self.root = remap(self.root);
        self.first_leaf = data_id(self.first_leaf);
        self.last_leaf = data_id(self.last_leaf);
        // Collecting in place keeps the old allocations: give them back.
        self.data.shrink_to_fit();
        self.inner.shrink_to_fit();
        self.free_data = Vec::new();
        self.free_inner = Vec::new();
    }
}

/// The new index of each of `len` arena entries, `None` for the freed ones.
fn renumber(free: impl Iterator<Item = usize>, len: usize) -> Vec<Option<usize>> {
    let mut map = vec![Some(0); len];
    for i in free {
        map[i] = None;
    }
    for (next, m) in map.iter_mut().flatten().enumerate() {
        *m = next;
    }
    map
}

/// The data nodes in key order: [`Tree::leaves`].
pub(crate) struct Leaves<'a, K: Key, V> {
    tree: &'a Tree<K, V>,
    next: Option<DataId>,
}

impl<K: Key, V> Iterator for Leaves<'_, K, V> {
    type Item = DataId;
    fn next(&mut self) -> Option<DataId> {
        let id = self.next?;
        self.next = self.tree[id].next;
        Some(id)
    }
}
