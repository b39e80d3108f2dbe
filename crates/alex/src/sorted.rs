//! Inserting a sorted run of pairs: [`AlexMap::extend_sorted`].
//!
//! The run is cut into groups, each the keys one data node receives (found
//! by descents: routing is monotone, so a group is a prefix of what is
//! left, and its end is found by an exponential then binary search). A
//! group large against its node (`cost::sorted_group_merges`) is merged
//! with the node's keys and the node rebuilt once (or, past the largest
//! node, replaced by a subtree built over the merge); a smaller one is
//! inserted key by key, each beside the one before. Keys past the last
//! key of the map (or before the first) go key by key too, where appends
//! (prepends) give them nodes of their own (`edge.rs`) instead of piling
//! them into the edge node.

use crate::config::Layout;
use crate::cost;
use crate::data_node::Placement;
use crate::key::Key;
use crate::split;
use crate::tree::DataId;
use crate::{AlexError, AlexMap};

impl<K: Key, V> AlexMap<K, V> {
    /// Inserts pairs given in strictly ascending key order, replacing the
    /// values of keys already present (as `insert` does). Returns how many
    /// keys were new (the map grew by that many; the rest replaced values,
    /// which are dropped).
    ///
    /// The pairs are checked first: a NaN key, or a key not above the one
    /// before it, is an error naming the first offending pair
    /// ([`AlexError::NanKey`], [`AlexError::UnsortedInput`],
    /// [`AlexError::DuplicateKey`]), and the map is left unchanged.
    ///
    /// Faster than inserting the pairs one by one when many land in the
    /// same data node: those are merged with the node's keys in one pass.
    /// A run of at least a quarter of the map's size rebuilds the map from
    /// the merge of both, as `Extend` does.
    ///
    /// ```
    /// use alex::AlexMap;
    /// let mut map: AlexMap<u64, &str> = AlexMap::bulk_load([(1, "a"), (5, "b")]).unwrap();
    /// assert_eq!(map.extend_sorted([(2, "c"), (5, "d"), (9, "e")]), Ok(2));
    /// assert_eq!(map.get(&5), Some(&"d"));
    /// assert!(map.extend_sorted([(7, "x"), (6, "y")]).is_err());
    /// assert_eq!(map.len(), 4);
    /// ```
    pub fn extend_sorted<I: IntoIterator<Item = (K, V)>>(
        &mut self,
        pairs: I,
    ) -> Result<usize, AlexError> {
        let pairs: Vec<(K, V)> = pairs.into_iter().collect();
        Self::validate_sorted(&pairs)?;
        let before = self.len;
        if pairs.is_empty() {
            return Ok(0);
        }
        if cost::extend_rebuilds(pairs.len(), self.len) {
            self.merge_all(pairs);
            return Ok(self.len - before);
        }
        let ords: Vec<u64> = pairs.iter().map(|(k, _)| k.to_ordered()).collect();
        let mut pairs = pairs.into_iter();
        let mut i = 0;
        while i < ords.len() {
            let leaf = self.leaf_for(ords[i]);
            let end = self.group_end(&ords, i, leaf);
            let group = pairs.by_ref().take(end - i);
            let node = &self.tree[leaf];
            let (min, max) = (node.min_ord(), node.max_ord());
            let past_end = min.is_none_or(|m| ords[end - 1] < m) || max.is_none_or(|m| ords[i] > m);
            let merged_keys = node.len() + (end - i);
            let fits = self.config.layout == Layout::Adaptive
                || merged_keys <= cost::max_data_keys(&self.config);
            if !past_end && fits && cost::sorted_group_merges(end - i, node.len()) {
                self.merge_into(leaf, ords[i], group);
            } else {
                for (k, v) in group {
                    self.insert(k, v);
                }
            }
            i = end;
        }
        Ok(self.len - before)
    }

    /// The end of the group of `ords[start..]` that routes to `leaf` (where
    /// `ords[start]` routes): exponential, then binary search by descents.
    fn group_end(&self, ords: &[u64], start: usize, leaf: DataId) -> usize {
        let routes = |i: usize| self.leaf_for(ords[i]) == leaf;
        // `lo` routes there; `hi` does not, or is the end.
        let mut lo = start;
        let mut step = 1;
        let mut hi = loop {
            let probe = lo + step;
            if probe >= ords.len() {
                break ords.len();
            }
            if !routes(probe) {
                break probe;
            }
            lo = probe;
            step *= 2;
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if routes(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// Merges `group` (sorted, distinct, all routed to `leaf`; its first key
    /// `first`) with the keys of `leaf`: the node is rebuilt over the merge,
    /// or replaced by a subtree when the merge is more than the largest
    /// node takes. Values the group replaces are dropped once the map is
    /// whole again.
    fn merge_into(&mut self, leaf: DataId, first: u64, group: impl Iterator<Item = (K, V)>) {
        let old = self.tree[leaf].drain();
        let old_len = old.len();
        let mut gone = Vec::new();
        let merged = merge_sorted(old, group, &mut gone);
        self.len += merged.len() - old_len;
        let n = merged.len();
        if n <= cost::max_data_keys(&self.config) || self.config.layout != Layout::Adaptive {
            let slots = cost::slots_for(&self.config, n);
            let mut node = self.build_data(merged, slots, Placement::Even, &mut Vec::new());
            if n + 1 >= node.limit() {
                node.set_limit(cost::key_limit(
                    node.capacity(),
                    self.config.max_density,
                    None,
                ));
            }
            self.tree.replace_leaf(leaf, node);
            self.counters.expansions += 1;
        } else {
            let reached = self.descend_with_path(first);
            debug_assert_eq!(reached, leaf);
            let parent = self.path.last().copied();
            split::subtree_in_place(self, leaf, parent, merged);
        }
        drop(gone);
    }

    /// Rebuilds the map from the merge of its entries with `pairs` (sorted,
    /// distinct); `pairs`' values win.
    fn merge_all(&mut self, pairs: Vec<(K, V)>) {
        let old = self.take_sorted();
        let mut gone = Vec::new();
        let merged = merge_sorted(old, pairs.into_iter(), &mut gone);
        self.len = 0;
        self.load_sorted(merged.into_iter());
        drop(gone);
    }
}

/// The merge of two sorted, distinct sequences; of equal keys the pair
/// from `new` stays and the old value goes to `gone`.
fn merge_sorted<K: Key, V>(
    old: Vec<(K, V)>,
    new: impl Iterator<Item = (K, V)>,
    gone: &mut Vec<V>,
) -> Vec<(K, V)> {
    let mut merged = Vec::with_capacity(old.len() + new.size_hint().0);
    let mut old = old.into_iter().peekable();
    for (k, v) in new {
        let t = k.to_ordered();
        while let Some(pair) = old.next_if(|(o, _)| o.to_ordered() < t) {
            merged.push(pair);
        }
        if let Some((_, replaced)) = old.next_if(|(o, _)| o.to_ordered() == t) {
            gone.push(replaced);
        }
        merged.push((k, v));
    }
    merged.extend(old);
    merged
}
