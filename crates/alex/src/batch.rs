//! Batched point lookups: `AlexMap::get_many` and `AlexMap::for_each_get`.
//!
//! A lookup in a large map waits on memory once it reaches its data node:
//! the slots of `find`'s window, two cache lines, are rarely cached (the
//! inner nodes and the data nodes' headers, read by every lookup, mostly
//! are). Lookups in a loop overlap those misses only as far as the
//! processor's reorder window reaches, about two lookups.
//!
//! Here the lookups of a batch run as a software pipeline of two stages
//! (group prefetching, Chen et al., "Improving Hash Join Performance
//! through Prefetching", ICDE 2004, in its pipelined form). The first stage
//! descends to the key's data node, predicts its slot and prefetches the
//! window's two lines; the second, `LOOKAHEAD` keys later, runs the data
//! node's `find`, by when the lines have arrived. So up to `LOOKAHEAD`
//! lookups' misses are in flight at once, and results come out in the
//! order of the keys.
//!
//! Both stages read what `get` reads, through the same node functions
//! (`leaf_for`, `DataNode::find`), so the answers are `get`'s. The inner
//! nodes are not interleaved: on large maps they stay cached, and the miss
//! worth hiding is the data node's window. Why this shape and not others
//! (AMAC over every level, a third stage, a header-prefetch stage), with
//! the figures: docs/design.md and BENCHMARKS.md.

use crate::data_node::DataNode;
use crate::key::Key;
use crate::AlexMap;

/// Lookups in flight between the two stages: enough that the window's
/// lines arrive before the second stage needs them.
const LOOKAHEAD: usize = 16;

/// A lookup between its stages: its data node and its key's image, or
/// `None` for a key the map cannot hold (NaN), which is absent.
type Pending<'a, K, V> = Option<(&'a DataNode<K, V>, u64)>;

impl<K: Key, V> AlexMap<K, V> {
    /// The values of `keys`, in their order, in `out` (cleared first):
    /// `out[i]` is `self.get(&keys[i])`.
    ///
    /// The keys need not be sorted and may repeat or be absent. Up to 16
    /// lookups are in flight at once: while one waits for memory, the
    /// next ones advance, so keys scattered over a map much larger than
    /// the cache are found faster than by calling `get` for each. A batch
    /// pays for filling the pipeline once: a few hundred keys per call
    /// amortise it.
    ///
    /// ```
    /// use alex::AlexMap;
    /// let map: AlexMap<u64, char> = AlexMap::bulk_load([(1, 'a'), (5, 'b'), (9, 'c')]).unwrap();
    /// let mut out = Vec::new();
    /// map.get_many(&[9, 2, 1, 9], &mut out);
    /// assert_eq!(out, vec![Some(&'c'), None, Some(&'a'), Some(&'c')]);
    /// ```
    pub fn get_many<'a>(&'a self, keys: &[K], out: &mut Vec<Option<&'a V>>) {
        out.clear();
        out.reserve(keys.len());
        self.for_each_get(keys, |_, value| out.push(value));
    }

    /// Calls `f(i, self.get(&keys[i]))` for each index `i` of `keys`, in
    /// order, with the lookups interleaved as in [`AlexMap::get_many`]:
    /// the form to fold the values into something without storing them.
    ///
    /// ```
    /// use alex::AlexMap;
    /// let map: AlexMap<u64, u64> = (0..1000).map(|k| (k, 2 * k)).collect();
    /// let mut sum = 0;
    /// map.for_each_get(&[3, 5000, 7], |_, value| sum += value.copied().unwrap_or(0));
    /// assert_eq!(sum, 20);
    /// ```
    pub fn for_each_get<'a, F>(&'a self, keys: &[K], mut f: F)
    where
        F: FnMut(usize, Option<&'a V>),
    {
        // Key `i` waits in `ring[i % LOOKAHEAD]` from its first stage to
        // its second, which runs just before key `i + LOOKAHEAD`'s first.
        let mut ring: [Pending<'a, K, V>; LOOKAHEAD] = [None; LOOKAHEAD];
        let (head, rest) = keys.split_at(keys.len().min(LOOKAHEAD));
        for (place, &key) in ring.iter_mut().zip(head) {
            *place = self.route_and_prefetch(key);
        }
        for (i, &key) in rest.iter().enumerate() {
            let place = &mut ring[i % LOOKAHEAD];
            f(i, Self::search_routed(*place));
            *place = self.route_and_prefetch(key);
        }
        for i in rest.len()..keys.len() {
            f(i, Self::search_routed(ring[i % LOOKAHEAD]));
        }
    }

    /// The first stage: the data node `key` routes to, with the slots its
    /// search reads first prefetched.
    #[inline(always)]
    fn route_and_prefetch(&self, key: K) -> Pending<'_, K, V> {
        if !key.is_valid() {
            return None;
        }
        let t = key.to_ordered();
        let node = &self.tree[self.leaf_for(t)];
        node.prefetch_find(t);
        Some((node, t))
    }

    /// The second stage: the search of the data node, as `get` makes it.
    #[inline(always)]
    fn search_routed(pending: Pending<'_, K, V>) -> Option<&V> {
        let (node, t) = pending?;
        node.find(t).map(|i| node.entry_at(i).1)
    }
}
