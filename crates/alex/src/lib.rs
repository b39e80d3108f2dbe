//! A multi-level ALEX learned index (Ding et al., "ALEX: An Updatable
//! Adaptive Learned Index", SIGMOD 2020) as an ordered map with the API of
//! `std::collections::BTreeMap`.
//!
//! Inner nodes route a key to a child with a linear model over a
//! power-of-two array of child references. Data nodes keep `(key, value)`
//! slots in a gapped array placed by their own linear model, with a bitmap of
//! occupied slots. A cost model (`cost.rs`) decides fan-outs at bulk load and
//! whether a full data node expands, splits sideways or splits down.
//!
//! Layers, from the bottom: a node's contents (`data_node.rs`,
//! `inner_node.rs`); the tree's shape (`tree.rs`: the arenas, typed ids,
//! the root and the sibling list of data nodes); the algorithms that change
//! the shape through the tree's operations (`bulk_load.rs`, `split.rs`,
//! `edge.rs`, `remove.rs`), deciding by `cost.rs`; and this map
//! (`sorted.rs` adds sorted runs to it).
//!
//! A key past the last key of the map (or before the first) goes straight
//! to the data node the previous such key went to, with no descent and no
//! search, while the tree keeps its shape (`EdgeHint`); when that node is
//! full, the keys from the new one on get a node of their own beside it
//! (`edge.rs`), so appended keys fill nodes in order and the tree stays
//! shallow.
//!
//! Keys are numbers ([`Key`]: `u64 i64 u32 i32 f64 f32`); models predict in
//! floating point but every comparison is exact, on the key's ordered `u64`
//! image. Floats use the IEEE total order; NaN is refused.
//!
//! The crate does no I/O and has no dependencies. `unsafe` is confined to
//! `data_node.rs`, where slots hold values only where the bitmap says so,
//! and to the two float-to-integer conversions of clamped predictions in
//! `model.rs`.
#![deny(unsafe_code)]

mod batch;
mod bulk_load;
mod check;
mod config;
mod cost;
#[allow(unsafe_code)]
mod data_node;
mod edge;
mod entry;
mod error;
mod images;
mod inner_node;
mod iter;
mod key;
#[allow(unsafe_code)]
mod model;
mod ops;
mod remove;
mod simd;
mod sorted;
mod split;
mod stats;
mod tree;

pub use config::{Config, Layout};
pub use entry::{Entry, OccupiedEntry, VacantEntry};
pub use error::AlexError;
pub use iter::{IntoIter, Iter, IterMut, Keys, Range, RangeMut, Values, ValuesMut};
pub use key::Key;
pub use ops::{IntoKeys, IntoValues};
pub use stats::{Counters, HeapBytes, TreeStats};

use core::fmt;
use core::ops::RangeBounds;

use data_node::{DataNode, Insert, NoRoom};
use tree::{Child, DataId, InnerId, Tree};

/// Restructurings one insert may trigger before it is treated as a bug.
const MAX_INSERT_ROUNDS: u32 = 256;

/// One step of a root-to-leaf descent: the inner node and the slot taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathStep {
    pub inner: InnerId,
    pub slot: usize,
}

/// Where the last key past an end of the map went, valid while the tree's
/// shape is unchanged: a key beyond `leaf`'s keys on that side that
/// `parent` (`None`: the leaf is the root) routes to `leaf` belongs there,
/// with no descent and no search. `parent` is on the tree's edge (its
/// subtree holds the first or last data node), so such a key passes
/// through it: routing is monotone, and the key lies beyond a key of that
/// subtree, toward the subtree's end of the map.
///
/// `bound` is at least the leaf's largest key image (right) or at most its
/// smallest (left): every insert that moves the leaf's end updates it, and
/// removes only move the end inward. So a key not past it is told apart
/// without reading the leaf, and random inserts pay one comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EdgeHint {
    pub shape: u64,
    pub parent: Option<InnerId>,
    pub leaf: DataId,
    pub bound: u64,
}

/// An ordered map from numeric keys to values, indexed by a multi-level
/// ALEX learned index.
///
/// ```
/// use alex::AlexMap;
/// let mut map: AlexMap<u64, &str> = AlexMap::bulk_load([(1, "a"), (5, "b"), (9, "c")]).unwrap();
/// map.insert(7, "d");
/// assert_eq!(map.get(&7), Some(&"d"));
/// assert_eq!(map.range(2..8).map(|(k, _)| *k).collect::<Vec<_>>(), vec![5, 7]);
/// assert_eq!(map.remove(&1), Some("a"));
/// ```
pub struct AlexMap<K: Key, V> {
    config: Config,
    tree: Tree<K, V>,
    len: usize,
    /// Structural changes since the map was built (for `stats`).
    counters: Counters,
    /// Scratch for the descent of the operation in progress.
    path: Vec<PathStep>,
    /// Where appends and prepends go (`EdgeHint`).
    right_hint: Option<EdgeHint>,
    left_hint: Option<EdgeHint>,
}

impl<K: Key, V> Default for AlexMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key, V: fmt::Debug> fmt::Debug for AlexMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Key, V: Clone> Clone for AlexMap<K, V> {
    fn clone(&self) -> Self {
        AlexMap {
            config: self.config.clone(),
            tree: self.tree.clone(),
            len: self.len,
            counters: self.counters,
            path: Vec::new(),
            right_hint: self.right_hint,
            left_hint: self.left_hint,
        }
    }
}

impl<K: Key, V> AlexMap<K, V> {
    /// An empty map with the default (adaptive multi-level) configuration.
    pub fn new() -> Self {
        Self::with_config(Config::default()).expect("the default configuration is valid")
    }

    /// An empty map with `config`, which is validated first.
    pub fn with_config(config: Config) -> Result<Self, AlexError> {
        config.validate()?;
        Ok(AlexMap {
            config,
            tree: Tree::new(),
            len: 0,
            counters: Counters::default(),
            path: Vec::new(),
            right_hint: None,
            left_hint: None,
        })
    }

    fn reset_to_empty(&mut self) {
        self.tree.clear();
        self.len = 0;
    }

    /// Moves every entry out, in key order, leaving the map empty (its
    /// configuration and counters stay).
    pub(crate) fn take_sorted(&mut self) -> Vec<(K, V)> {
        let mut all = Vec::with_capacity(self.len);
        let leaves: Vec<DataId> = self.tree.leaves().collect();
        for id in leaves {
            all.extend(self.tree[id].drain());
        }
        self.reset_to_empty();
        all
    }

    /// The configuration the map was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Builds a map from pairs in strictly ascending key order, with the
    /// default configuration. Unsorted input, a repeated key or a NaN key is
    /// an error naming the first offending pair; nothing is built then.
    pub fn bulk_load<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Result<Self, AlexError> {
        Self::bulk_load_with_config(Config::default(), pairs)
    }

    /// [`AlexMap::bulk_load`] with a configuration.
    pub fn bulk_load_with_config<I: IntoIterator<Item = (K, V)>>(
        config: Config,
        pairs: I,
    ) -> Result<Self, AlexError> {
        let mut map = Self::with_config(config)?;
        // The build reads every key before it places any, so a single-pass
        // iterator is gathered first.
        let pairs: Vec<(K, V)> = pairs.into_iter().collect();
        Self::validate_sorted(&pairs)?;
        map.load_sorted(pairs.into_iter());
        Ok(map)
    }

    /// Builds a map from a slice of pairs in strictly ascending key order,
    /// with the default configuration, cloning each pair into its slot. The
    /// same errors as [`AlexMap::bulk_load`]; unlike it, no copy of the
    /// input is gathered first, which saves memory the size of the input
    /// and the time to write it.
    pub fn bulk_load_slice(pairs: &[(K, V)]) -> Result<Self, AlexError>
    where
        V: Clone,
    {
        Self::bulk_load_slice_with_config(Config::default(), pairs)
    }

    /// [`AlexMap::bulk_load_slice`] with a configuration.
    pub fn bulk_load_slice_with_config(config: Config, pairs: &[(K, V)]) -> Result<Self, AlexError>
    where
        V: Clone,
    {
        let mut map = Self::with_config(config)?;
        Self::validate_sorted(pairs)?;
        map.load_sorted(bulk_load::ClonedPairs(pairs));
        Ok(map)
    }

    /// Checks that `pairs` have valid keys in strictly ascending order,
    /// naming the first that does not.
    fn validate_sorted(pairs: &[(K, V)]) -> Result<(), AlexError> {
        let mut last = None;
        for (index, (key, _)) in pairs.iter().enumerate() {
            if !key.is_valid() {
                return Err(AlexError::NanKey);
            }
            let t = key.to_ordered();
            if let Some(last) = last {
                if t == last {
                    return Err(AlexError::DuplicateKey { index });
                }
                if t < last {
                    return Err(AlexError::UnsortedInput { index });
                }
            }
            last = Some(t);
        }
        Ok(())
    }

    /// Replaces the contents with sorted, distinct, validated pairs.
    fn load_sorted(&mut self, pairs: impl bulk_load::PairSource<K, V>) {
        let len = pairs.rest().len();
        self.tree.clear_for_build();
        let built = bulk_load::build_subtree(self, pairs, bulk_load::Root::Free, len);
        self.tree.install(built.root, built.leaves);
        self.len = len;
    }

    /// Inserts a pair; returns the previous value of the key, if any.
    ///
    /// # Panics
    /// On a NaN key (use [`AlexMap::try_insert`] to get an error instead).
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.try_insert(key, value) {
            Ok(old) => old,
            Err(e) => panic!("AlexMap::insert: {e}"),
        }
    }

    /// Inserts a pair, refusing a NaN key with [`AlexError::NanKey`] (the
    /// map is then unchanged).
    pub fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, AlexError> {
        if !key.is_valid() {
            return Err(AlexError::NanKey);
        }
        let t = key.to_ordered();
        let (mut key, mut value) = (key, value);
        // A key past an end of the map, where the last such key went: no
        // descent, no search.
        if let Some((leaf, right)) = self.edge_target(t) {
            let node = &mut self.tree[leaf];
            let done = if right {
                node.push_back(key, value)
            } else {
                node.push_front(key, value)
            };
            match done {
                Insert::Inserted => {
                    self.len += 1;
                    let hint = if right {
                        &mut self.right_hint
                    } else {
                        &mut self.left_hint
                    };
                    if let Some(h) = hint {
                        h.bound = t;
                    }
                    return Ok(None);
                }
                Insert::Replaced(_) => unreachable!("an edge key is new"),
                Insert::NoRoom(k, v, why) => {
                    (key, value) = (k, v);
                    split::make_room(self, leaf, t, why);
                }
            }
        }
        // Each round makes room (see split.rs); a bounded number of rounds
        // always suffices, so running past the bound is a bug to report
        // loudly rather than a loop to hang in.
        let mut rounds = 0u32;
        loop {
            rounds += 1;
            assert!(
                rounds <= MAX_INSERT_ROUNDS,
                "AlexMap::insert made no progress after {MAX_INSERT_ROUNDS} restructurings (a bug: please report)"
            );
            // The path is recorded only for a restructuring, which is rare
            // (`split::make_room` records it): pushing it on every insert
            // cost more instructions than the descent itself.
            let leaf = self.leaf_for(t);
            // Random inserts into a node rebuilt with room at one end pack
            // its keys and push every later insert's shift toward that room,
            // thousands of slots away, while the node stays below its key
            // limit: such a node is restructured as if full, and the cost
            // model splits it.
            if cost::restructure_before_insert(self.config.layout, &self.tree[leaf].counters) {
                split::make_room(self, leaf, t, NoRoom::Full);
                continue;
            }
            match self.tree[leaf].insert(key, value) {
                Insert::Inserted => {
                    self.len += 1;
                    self.note_edge_insert(leaf, t);
                    return Ok(None);
                }
                Insert::Replaced(old) => return Ok(Some(old)),
                Insert::NoRoom(k, v, why) => {
                    key = k;
                    value = v;
                    split::make_room(self, leaf, t, why);
                }
            }
        }
    }

    /// The data node a key image past an end of the map belongs in, and
    /// whether that end is the right one, when an edge hint says so.
    #[inline(always)]
    fn edge_target(&self, t: u64) -> Option<(DataId, bool)> {
        let valid = |hint: Option<EdgeHint>| hint.filter(|h| h.shape == self.tree.shape());
        let routes = |h: EdgeHint| match h.parent {
            None => true,
            Some(p) => {
                let p = &self.tree[p];
                p.children[p.slot_for(t)] == tree::NodeRef::data(h.leaf)
            }
        };
        // An emptied leaf has no end to go past: its keys' place is found
        // by a descent.
        let holds_keys = |h: EdgeHint| self.tree[h.leaf].len() > 0;
        if let Some(h) = valid(self.right_hint) {
            if t > h.bound && routes(h) && holds_keys(h) {
                return Some((h.leaf, true));
            }
        }
        if let Some(h) = valid(self.left_hint) {
            if t < h.bound && routes(h) && holds_keys(h) {
                return Some((h.leaf, false));
            }
        }
        None
    }

    /// After `t` was inserted into `leaf` by a descent: if it became the
    /// node's largest (smallest) key and the node hangs from an inner node
    /// on the tree's right (left) edge, notes where later keys past it go.
    fn note_edge_insert(&mut self, leaf: DataId, t: u64) {
        // A hint's bound follows its leaf's ends.
        if let Some(h) = self.right_hint.as_mut().filter(|h| h.leaf == leaf) {
            h.bound = h.bound.max(t);
        }
        if let Some(h) = self.left_hint.as_mut().filter(|h| h.leaf == leaf) {
            h.bound = h.bound.min(t);
        }
        let node = &self.tree[leaf];
        if node.len() < 2 {
            return;
        }
        let right = node.max_ord() == Some(t);
        if !right && node.min_ord() != Some(t) {
            return;
        }
        let hint = self.tree.shape();
        let reached = self.descend_with_path(t);
        debug_assert_eq!(reached, leaf);
        let Some((last, above)) = self.path.split_last() else {
            let max = self.tree[leaf].max_ord().expect("not empty");
            let min = self.tree[leaf].min_ord().expect("not empty");
            self.right_hint = Some(EdgeHint {
                shape: hint,
                parent: None,
                leaf,
                bound: max,
            });
            self.left_hint = Some(EdgeHint {
                shape: hint,
                parent: None,
                leaf,
                bound: min,
            });
            return;
        };
        let on_edge = above.iter().all(|step| {
            let inner = &self.tree[step.inner];
            let (start, len) = inner.block_of(step.slot);
            if right {
                start + len == inner.fanout()
            } else {
                start == 0
            }
        });
        if on_edge {
            let hint = Some(EdgeHint {
                shape: hint,
                parent: Some(last.inner),
                leaf,
                bound: t,
            });
            if right {
                self.right_hint = hint;
            } else {
                self.left_hint = hint;
            }
        }
    }

    /// The data node a key image routes to.
    #[inline(always)]
    fn leaf_for(&self, t: u64) -> DataId {
        let mut node = self.tree.root();
        loop {
            match node.get() {
                Child::Data(id) => return id,
                Child::Inner(id) => {
                    let inner = &self.tree[id];
                    node = inner.children[inner.slot_for(t)];
                }
            }
        }
    }

    /// Like `leaf_for`, recording the path in `self.path`.
    fn descend_with_path(&mut self, t: u64) -> DataId {
        self.path.clear();
        let mut node = self.tree.root();
        loop {
            match node.get() {
                Child::Data(id) => return id,
                Child::Inner(id) => {
                    let inner = &self.tree[id];
                    let slot = inner.slot_for(t);
                    self.path.push(PathStep { inner: id, slot });
                    node = inner.children[slot];
                }
            }
        }
    }

    /// The value of `key`, if present.
    #[inline(always)]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.get_key_value(key).map(|(_, v)| v)
    }

    /// The stored key and value of `key`, if present.
    #[inline(always)]
    pub fn get_key_value(&self, key: &K) -> Option<(&K, &V)> {
        if !key.is_valid() {
            return None;
        }
        let t = key.to_ordered();
        let node = &self.tree[self.leaf_for(t)];
        node.find(t).map(|i| node.entry_at(i))
    }

    /// The value of `key`, mutably, if present.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        if !key.is_valid() {
            return None;
        }
        let t = key.to_ordered();
        let leaf = self.leaf_for(t);
        let node = &mut self.tree[leaf];
        let i = node.find(t)?;
        Some(node.value_mut_at(i))
    }

    /// Whether `key` is present.
    #[inline]
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Removes `key`; returns its value if it was present.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        if !key.is_valid() {
            return None;
        }
        remove::remove(self, key.to_ordered())
    }

    /// Removes `key`; returns the stored key and its value if it was
    /// present.
    pub fn remove_entry(&mut self, key: &K) -> Option<(K, V)> {
        self.remove(key).map(|v| (*key, v))
    }

    /// Removes and returns the entry with the smallest key.
    ///
    /// The first data node holding keys is found along the sibling links,
    /// not by a descent (one is made only when the node is sparse enough to
    /// merge or shrink), and removing a node's first key rewrites none of
    /// the gaps before it.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        remove::pop_end(self, false)
    }

    /// Removes and returns the entry with the largest key, as `pop_first`
    /// does from the other end: each data node keeps its last occupied
    /// slot, so draining a map from the back costs about what draining it
    /// from the front does, with no scan of the bitmap back over the slots
    /// emptied before.
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        remove::pop_end(self, true)
    }

    /// Keeps only the entries for which `keep` returns true, calling it
    /// once per entry in key order (as `BTreeMap::retain` does).
    ///
    /// A first pass asks `keep` about every entry. Fewer than a quarter
    /// removed are then removed one by one; more, and the map is rebuilt
    /// from the entries kept by a bulk load (O(n)), in its configuration.
    pub fn retain<F: FnMut(&K, &mut V) -> bool>(&mut self, mut keep: F) {
        // One bit per entry, in key order: set for the entries to remove;
        // and their keys, while they are few enough to remove one by one.
        let len = self.len;
        let mut doomed = vec![0u64; len.div_ceil(64)];
        let mut doomed_keys = Vec::new();
        let mut removed = 0;
        for (i, (k, v)) in self.iter_mut().enumerate() {
            if !keep(k, v) {
                doomed[i / 64] |= 1 << (i % 64);
                removed += 1;
                if !cost::retain_rebuilds(removed, len) {
                    doomed_keys.push(*k);
                }
            }
        }
        if removed == 0 {
            return;
        }
        if !cost::retain_rebuilds(removed, len) {
            // Largest first: a removal rewrites the gaps left of its slot
            // back to the previous key, so removing a run of neighbours in
            // ascending order would rewrite the gaps the earlier removals
            // left, again and again.
            for k in doomed_keys.iter().rev() {
                self.remove(k);
            }
            return;
        }
        // `gone` is dropped once the map is whole again, so that a value's
        // `Drop` that panics cannot leave it half rebuilt.
        let mut i = 0;
        let (gone, kept): (Vec<_>, Vec<_>) = self.take_sorted().into_iter().partition(|_| {
            let is_doomed = doomed[i / 64] >> (i % 64) & 1 == 1;
            i += 1;
            is_doomed
        });
        self.load_sorted(kept.into_iter());
        drop(gone);
    }

    /// Entries with keys in `range`, in key order (double-ended).
    ///
    /// # Panics
    /// Like `BTreeMap::range`: when the start is after the end, or both are
    /// the same excluded key. A NaN bound panics too.
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> Range<'_, K, V> {
        iter::range(self, range)
    }

    /// The entries with keys in `range`, in key order, values mutably
    /// (double-ended).
    ///
    /// # Panics
    /// As [`AlexMap::range`].
    pub fn range_mut<R: RangeBounds<K>>(&mut self, range: R) -> RangeMut<'_, K, V> {
        iter::range_mut(self, range)
    }

    /// All entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        iter::iter(self)
    }

    /// All keys in order.
    pub fn keys(&self) -> Keys<'_, K, V> {
        Keys { inner: self.iter() }
    }

    /// All values in key order.
    pub fn values(&self) -> Values<'_, K, V> {
        Values { inner: self.iter() }
    }

    /// All values in key order, mutably.
    pub fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        ValuesMut {
            inner: self.iter_mut(),
        }
    }

    /// All entries in key order, values mutably (double-ended).
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        iter::iter_mut(self)
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.iter().next()
    }

    /// The entry with the largest key: the last occupied slot of the last
    /// data node holding keys, kept by each node, so no bitmap is scanned
    /// back over slots that removals of the largest keys emptied.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        let pos = iter::last_from(self, Some(self.tree.last_leaf()), None)?;
        Some(self.tree[pos.node].entry_at(pos.slot))
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every entry; the configuration stays.
    pub fn clear(&mut self) {
        self.reset_to_empty();
    }

    /// Shape, size and structural-change counts of the tree.
    pub fn stats(&self) -> TreeStats {
        stats::collect(self)
    }

    /// Validates every structural invariant and panics with a description
    /// of the first one broken. Walks the whole tree and routes every key
    /// from the root: O(n * height). Meant for tests.
    pub fn check(&self) {
        check::check(self)
    }

    /// Builds a data node over `pairs` (sorted, distinct) with this map's
    /// key limit, reading the keys' images from the pairs themselves.
    pub(crate) fn build_data(
        &self,
        pairs: Vec<(K, V)>,
        slots: usize,
        placement: data_node::Placement,
        scratch: &mut Vec<(i64, i64)>,
    ) -> DataNode<K, V> {
        let layout =
            DataNode::<K, V>::lay_out(images::PairImages(&pairs), slots, placement, scratch);
        self.fill_data(layout, pairs, scratch)
    }

    /// Fills a laid-out data node (`DataNode::fill`) with this map's key
    /// limit.
    pub(crate) fn fill_data(
        &self,
        layout: data_node::Layout,
        pairs: impl IntoIterator<Item = (K, V)>,
        scratch: &mut Vec<(i64, i64)>,
    ) -> DataNode<K, V> {
        let mut node = DataNode::fill(layout, pairs, scratch);
        node.set_limit(cost::key_limit(
            node.capacity(),
            self.config.max_density,
            self.config.max_keys_per_data_node,
        ));
        node
    }
}

impl<K: Key, V> IntoIterator for AlexMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(self) -> IntoIter<K, V> {
        iter::into_iter(self)
    }
}

impl<'a, K: Key, V> IntoIterator for &'a AlexMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: Key, V> FromIterator<(K, V)> for AlexMap<K, V> {
    /// Builds through a bulk load: the pairs are sorted, and of repeated
    /// keys the last one wins, as with `BTreeMap`.
    ///
    /// # Panics
    /// On a NaN key.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut pairs: Vec<(K, V)> = iter.into_iter().collect();
        assert!(
            pairs.iter().all(|(k, _)| k.is_valid()),
            "AlexMap::from_iter: {}",
            AlexError::NanKey
        );
        pairs.sort_by_key(|(k, _)| k.to_ordered());
        // Keep the last of each run of equal keys.
        let mut deduped: Vec<(K, V)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match deduped.last_mut() {
                Some(last) if last.0.key_eq(pair.0) => *last = pair,
                _ => deduped.push(pair),
            }
        }
        let mut map = AlexMap::new();
        map.load_sorted(deduped.into_iter());
        map
    }
}

impl<K: Key, V> Extend<(K, V)> for AlexMap<K, V> {
    /// Inserts every pair; of repeated keys the last one wins, as with
    /// `BTreeMap`.
    ///
    /// A batch whose size hint says it holds at least 64 pairs is collected
    /// and sorted (stably). If it holds at least a quarter as many pairs as
    /// the map, it is merged with the map's entries and the map is rebuilt
    /// from the merge by a bulk load: O((n + m) + m log m) instead of m
    /// inserts, and still linear in total over any sequence of such
    /// batches, since each rebuild costs at most five times its batch (for
    /// iterators whose size hint is honest: an overstated lower bound can
    /// make a few pairs rebuild the map). Otherwise its pairs are inserted
    /// in key order, each next to the one before and so most likely in
    /// cache. Batches under 64 pairs are inserted as they come.
    ///
    /// # Panics
    /// On a NaN key. A batch of 64 pairs or more is checked before the map
    /// is touched, so the map is then unchanged, as it is if the iterator
    /// itself panics; a shorter one keeps the pairs before the NaN.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        let hint = iter.size_hint().0;
        if hint < cost::EXTEND_SORT_MIN {
            for (k, v) in iter {
                self.insert(k, v);
            }
            return;
        }
        // Pushed one by one: `collect` would reserve the hint's lower
        // bound, which an iterator may overstate.
        let mut batch: Vec<(K, V)> = Vec::with_capacity(hint.min(1 << 20));
        for pair in iter {
            batch.push(pair);
        }
        assert!(
            batch.iter().all(|(k, _)| k.is_valid()),
            "AlexMap::extend: {}",
            AlexError::NanKey
        );
        // Stable: of equal keys the later pair stays later.
        batch.sort_by_key(|(k, _)| k.to_ordered());
        if !cost::extend_rebuilds(batch.len(), self.len) {
            // Inserted in key order: consecutive inserts land in the same
            // or neighbouring slots, already in cache.
            for (k, v) in batch {
                self.insert(k, v);
            }
            return;
        }
        // The map is emptied in place: its configuration and its counts of
        // structural changes carry over to the rebuilt map.
        let mut old = self.take_sorted().into_iter().peekable();
        let mut merged: Vec<(K, V)> = Vec::with_capacity(old.len() + batch.len());
        // Values replaced are dropped once the map is whole again.
        let mut gone: Vec<V> = Vec::new();
        for (k, v) in batch {
            let t = k.to_ordered();
            while let Some(pair) = old.next_if(|(o, _)| o.to_ordered() < t) {
                merged.push(pair);
            }
            if let Some((_, replaced)) = old.next_if(|(o, _)| o.to_ordered() == t) {
                gone.push(replaced);
            }
            match merged.last_mut() {
                Some(last) if last.0.to_ordered() == t => {
                    gone.push(std::mem::replace(last, (k, v)).1)
                }
                _ => merged.push((k, v)),
            }
        }
        merged.extend(old);
        self.load_sorted(merged.into_iter());
        drop(gone);
    }
}
