//! The node layer: the arenas that own the inner and data nodes, typed ids
//! into them, the root, and the sibling list that chains the data nodes in
//! key order from the first to the last.
//!
//! Nodes live in two arenas (`Vec`s) and refer to each other by index:
//! a `DataId` names a data node, an `InnerId` an inner node, and a `NodeRef`
//! (what an inner node's child slots hold) either one, in 4 bytes. Freed
//! entries are kept on free lists and reused by the next allocation; an
//! arena is renumbered only by `compact`.
//!
//! This module reads no keys and knows nothing of models or cost: the
//! algorithms (`bulk_load.rs`, `split.rs`, `remove.rs`) decide what the tree
//! should look like and change its shape only through these operations:
//! - `push_leaf` builds a run of new data nodes, linked in key order, for a
//!   subtree (a bulk load, a split down, new root slots), and `install`,
//!   `splice`, `append_leaves` or `prepend_leaves` links the run in: as the
//!   whole tree, in place of one data node, or past either end;
//! - `replace_leaf` gives a data node new contents in its place in the list
//!   (an expansion, a contraction, the left half of a split or a merge);
//! - `insert_leaf_after` and `insert_leaf_before` add a data node beside
//!   another (the right half of a split sideways, the nodes a full edge node
//!   hands keys to), `remove_leaf` takes one out (a merge);
//! - `attach` hangs a node at the root or over a block of an inner node's
//!   slots; `alloc_inner` and `free_inner` add and drop inner nodes;
//! - `compact` drops freed arena entries, renumbering every reference.
//!
//! A data node's contents (its entries) and an inner node's model and child
//! array (doubling) are the algorithms' to change, through `&mut` nodes; the
//! sibling links (`Links`) are not: their fields are private here.
//!
//! It relies on its callers for the order of the tree (children in key
//! order; a run spliced in where its keys belong), and keeps:
//! - at least one data node; the root and every child reference name live
//!   entries; an arena entry is reachable or on its free list, not both;
//! - the sibling list runs from the first data node to the last, each
//!   node's `prev` the node whose `next` it is.
//!
//! `check.rs` verifies all of it, and that the list is the tree's leaf
//! order.

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

/// A data node's neighbours in key order, kept in its header. The fields
/// are private to this module: only the tree's operations change the
/// sibling list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Links {
    prev: Option<DataId>,
    next: Option<DataId>,
}

impl Links {
    /// The links of a node in no list.
    pub const NONE: Links = Links {
        prev: None,
        next: None,
    };

    /// The data node holding the keys just below this one's.
    #[inline(always)]
    pub fn prev(self) -> Option<DataId> {
        self.prev
    }

    /// The data node holding the keys just above this one's.
    #[inline(always)]
    pub fn next(self) -> Option<DataId> {
        self.next
    }
}

/// Data nodes linked to each other in key order, from `first` to `last`,
/// and not (yet) to the rest of the list: the leaves of a subtree being
/// built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeafRun {
    pub first: DataId,
    pub last: DataId,
}

/// Where a node hangs: as the root, or over the block of `len` slots from
/// `start` of inner node `parent`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place {
    Root,
    Block {
        parent: InnerId,
        start: usize,
        len: usize,
    },
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
    /// Changes with every change of shape (any node allocated, freed,
    /// replaced, attached or relinked, any inner node borrowed mutably), so
    /// that a note of where the last append went (`AlexMap`'s edge hints)
    /// is known stale without tracking what made it so.
    shape: u64,
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
            shape: self.shape,
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
        self.shape += 1;
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
            shape: 0,
        };
        tree.clear();
        tree
    }

    /// Drops every node, leaving one empty data node. The arenas keep
    /// their memory.
    pub fn clear(&mut self) {
        self.shape += 1;
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
    /// whole tree: its root, and its leaves the sibling list.
    pub fn install(&mut self, root: NodeRef, leaves: LeafRun) {
        self.shape += 1;
        self.root = root;
        self.first_leaf = leaves.first;
        self.last_leaf = leaves.last;
    }

    /// The shape's version: equal values mean no change of shape between.
    #[inline(always)]
    pub fn shape(&self) -> u64 {
        self.shape
    }

    #[inline(always)]
    pub fn root(&self) -> NodeRef {
        self.root
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

    /// The data node `id`, if there is one (`None` is no node).
    #[inline(always)]
    pub fn get_data(&self, id: Option<DataId>) -> Option<&DataNode<K, V>> {
        id.map(|id| &self[id])
    }

    /// Hangs `child` at `place`: makes it the root, or fills a block of an
    /// inner node's slots with it. What was there is the caller's to free.
    pub fn attach(&mut self, place: Place, child: NodeRef) {
        self.shape += 1;
        match place {
            Place::Root => self.root = child,
            Place::Block { parent, start, len } => {
                self[parent].children[start..start + len].fill(child);
            }
        }
    }

    /// Allocates `node` as the next data node of `run` (which it starts
    /// when there is none), linked after the run's last node.
    pub fn push_leaf(&mut self, run: &mut Option<LeafRun>, mut node: DataNode<K, V>) -> DataId {
        node.links = Links {
            prev: run.map(|r| r.last),
            next: None,
        };
        let id = self.alloc_data(node);
        match run {
            None => {
                *run = Some(LeafRun {
                    first: id,
                    last: id,
                })
            }
            Some(run) => {
                self[run.last].links.next = Some(id);
                run.last = id;
            }
        }
        id
    }

    /// Gives data node `id` the contents `node`, keeping its place in the
    /// sibling list; the old contents are dropped.
    pub fn replace_leaf(&mut self, id: DataId, mut node: DataNode<K, V>) {
        self.shape += 1;
        node.links = self[id].links;
        self[id] = node;
    }

    /// Allocates `node` and links it into the sibling list right after
    /// data node `id`.
    pub fn insert_leaf_after(&mut self, id: DataId, node: DataNode<K, V>) -> DataId {
        let new = self.alloc_data(node);
        let next = self[id].links.next;
        self.link(
            Some(id),
            LeafRun {
                first: new,
                last: new,
            },
            next,
        );
        new
    }

    /// Allocates `node` and links it into the sibling list right before
    /// data node `id`.
    pub fn insert_leaf_before(&mut self, id: DataId, node: DataNode<K, V>) -> DataId {
        let new = self.alloc_data(node);
        let prev = self[id].links.prev;
        self.link(
            prev,
            LeafRun {
                first: new,
                last: new,
            },
            Some(id),
        );
        new
    }

    /// Puts `run` into the sibling list in place of data node `old`, which
    /// is freed.
    pub fn splice(&mut self, old: DataId, run: LeafRun) {
        let Links { prev, next } = self[old].links;
        self.link(prev, run, next);
        self.free_data(old);
    }

    /// Links `run` in after the last data node.
    pub fn append_leaves(&mut self, run: LeafRun) {
        self.link(Some(self.last_leaf), run, None);
    }

    /// Links `run` in before the first data node.
    pub fn prepend_leaves(&mut self, run: LeafRun) {
        self.link(None, run, Some(self.first_leaf));
    }

    /// Unlinks data node `id` (not the only one) from the sibling list and
    /// frees it.
    pub fn remove_leaf(&mut self, id: DataId) {
        self.shape += 1;
        let Links { prev, next } = self[id].links;
        match prev {
            None => self.first_leaf = next.expect("a tree keeps a data node"),
            Some(prev) => self[prev].links.next = next,
        }
        match next {
            None => self.last_leaf = prev.expect("a tree keeps a data node"),
            Some(next) => self[next].links.prev = prev,
        }
        self.free_data(id);
    }

    /// Links `run` in between `prev` and `next`, neighbours in the list
    /// (`None` past an end).
    fn link(&mut self, prev: Option<DataId>, run: LeafRun, next: Option<DataId>) {
        self.shape += 1;
        self[run.first].links.prev = prev;
        self[run.last].links.next = next;
        match prev {
            None => self.first_leaf = run.first,
            Some(prev) => self[prev].links.next = Some(run.first),
        }
        match next {
            None => self.last_leaf = run.last,
            Some(next) => self[next].links.prev = Some(run.last),
        }
    }

    /// Stores `node` in a free entry of the data arena, or a new one.
    fn alloc_data(&mut self, node: DataNode<K, V>) -> DataId {
        self.shape += 1;
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
    fn free_data(&mut self, id: DataId) {
        self.shape += 1;
        self[id] = DataNode::empty(MIN_SLOTS);
        self.free_data.push(id);
    }

    /// Stores `node` in a free entry of the inner arena, or a new one.
    pub fn alloc_inner(&mut self, node: InnerNode) -> InnerId {
        self.shape += 1;
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
        self.shape += 1;
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
            node.links = Links {
                prev: node.links.prev.map(data_id),
                next: node.links.next.map(data_id),
            };
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
        self.next = self.tree[id].links.next;
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type T = Tree<u64, u64>;

    fn leaf() -> DataNode<u64, u64> {
        DataNode::empty(MIN_SLOTS)
    }

    /// The list front to back, checked against its back links and ends.
    fn list(tree: &T) -> Vec<DataId> {
        let ids: Vec<DataId> = tree.leaves().collect();
        let mut back = Vec::new();
        let mut at = Some(tree.last_leaf());
        while let Some(id) = at {
            back.push(id);
            at = tree[id].links.prev();
        }
        back.reverse();
        assert_eq!(ids, back, "back links");
        assert_eq!(ids.first(), Some(&tree.first_leaf()));
        ids
    }

    /// A root inner node over `n` new data nodes, one slot each.
    fn tree_of(n: usize) -> (T, InnerId, Vec<DataId>) {
        let mut tree = T::new();
        tree.clear_for_build();
        let root = tree.alloc_inner(InnerNode::new(
            LinearModel::ZERO,
            vec![NodeRef::UNSET; n].into_boxed_slice(),
        ));
        let mut run = None;
        let mut ids = Vec::new();
        for slot in 0..n {
            let id = tree.push_leaf(&mut run, leaf());
            let block = Place::Block {
                parent: root,
                start: slot,
                len: 1,
            };
            tree.attach(block, NodeRef::data(id));
            ids.push(id);
        }
        tree.install(NodeRef::inner(root), run.unwrap());
        (tree, root, ids)
    }

    #[test]
    fn data_ids_share_their_node_refs_bits() {
        let id = DataId::new(12345);
        assert_eq!(id.index(), 12345);
        assert_eq!(NodeRef::data(id).get(), Child::Data(id));
        let inner = InnerId::new(7);
        assert_eq!(NodeRef::inner(inner).get(), Child::Inner(inner));
        assert_eq!(core::mem::size_of::<Option<DataId>>(), 4);
        assert_eq!(core::mem::size_of::<Links>(), 8);
    }

    #[test]
    fn list_operations_keep_links_and_ends() {
        let (mut tree, _, ids) = tree_of(3);
        assert_eq!(list(&tree), ids);
        // The build reused the empty node a cleared tree keeps.
        assert_eq!(ids[0].index(), 0);
        let after_last = tree.insert_leaf_after(ids[2], leaf());
        let after_first = tree.insert_leaf_after(ids[0], leaf());
        assert_eq!(
            list(&tree),
            [ids[0], after_first, ids[1], ids[2], after_last]
        );
        tree.remove_leaf(ids[0]);
        tree.remove_leaf(after_last);
        assert_eq!(list(&tree), [after_first, ids[1], ids[2]]);
        // Freed entries are reused last freed first.
        let mut run = None;
        let a = tree.push_leaf(&mut run, leaf());
        let b = tree.push_leaf(&mut run, leaf());
        assert_eq!((a, b), (after_last, ids[0]));
        tree.splice(ids[1], run.unwrap());
        assert_eq!(list(&tree), [after_first, a, b, ids[2]]);
        let mut run = None;
        let c = tree.push_leaf(&mut run, leaf());
        tree.prepend_leaves(run.unwrap());
        let mut run = None;
        let d = tree.push_leaf(&mut run, leaf());
        let e = tree.push_leaf(&mut run, leaf());
        tree.append_leaves(run.unwrap());
        assert_eq!(list(&tree), [c, after_first, a, b, ids[2], d, e]);
        let before = tree.first_leaf();
        tree.replace_leaf(a, DataNode::empty(4 * MIN_SLOTS));
        assert_eq!(tree[a].capacity(), 4 * MIN_SLOTS);
        assert_eq!(list(&tree), [before, after_first, a, b, ids[2], d, e]);
    }

    #[test]
    fn compaction_renumbers_every_reference() {
        let (mut tree, root, ids) = tree_of(8);
        // Merge away every other data node, as buddies merge: the left one
        // takes the right one's block.
        for pair in ids.chunks(2) {
            tree.remove_leaf(pair[1]);
            let start = tree[root]
                .children
                .iter()
                .position(|&c| c == NodeRef::data(pair[0]))
                .unwrap();
            let block = Place::Block {
                parent: root,
                start,
                len: 2,
            };
            tree.attach(block, NodeRef::data(pair[0]));
        }
        // An inner node allocated and freed, so both arenas hold holes.
        let spare = tree.alloc_inner(InnerNode::new(LinearModel::ZERO, Box::new([])));
        tree.free_inner(spare);
        tree.compact();
        assert_eq!(tree.arena_usage(), [(0, 4), (0, 1)]);
        let listed = list(&tree);
        assert_eq!(
            listed.iter().map(|id| id.index()).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        let Child::Inner(root) = tree.root().get() else {
            panic!("the root stays an inner node");
        };
        let children: Vec<NodeRef> = tree[root].children.to_vec();
        let want: Vec<NodeRef> = listed
            .iter()
            .flat_map(|&id| [NodeRef::data(id); 2])
            .collect();
        assert_eq!(children, want);
    }
}
