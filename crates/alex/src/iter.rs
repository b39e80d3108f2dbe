//! Iteration in key order along the data nodes' sibling links, from both
//! ends, without returning to the root after the first descent.
//!
//! A position is a `(data node, slot)` pair. An iterator walks runs of
//! occupied slots node by node, from its first position to an end: a
//! position past its last entry, or, for a range with an upper bound, that
//! bound itself, checked against each key on the way. The end position is
//! then found (a second descent) only if the back end is walked: a forward
//! scan of a bounded range costs one descent, as an unbounded one does.

use core::iter::FusedIterator;
use core::ops::{Bound, RangeBounds};

use crate::data_node::{prefetch, DataNode, Slots, SlotsMut};
use crate::key::Key;
use crate::tree::DataId;
use crate::AlexMap;

/// A data node and a slot in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub node: DataId,
    pub slot: usize,
}

/// The entries from a position up to an end, as runs of occupied slots node
/// by node (the way `Flatten` walks its inner iterators): the front run,
/// the nodes between, opened one at a time along the sibling links, and the
/// back run, slots `0..back_end` of `back_node`, opened only when an end
/// reaches it (a forward scan that stops early never reads it). Once both
/// ends are in the same node, its remaining slots are all in `front`.
///
/// The end may be left unknown (`back_node` is `None`) with an inclusive
/// bound `hi` on key images instead: the front stops at the first key
/// above it, and the back finds its position when first walked.
struct Span<'a, K: Key, V> {
    map: &'a AlexMap<K, V>,
    front: Slots<'a, K, V>,
    back: Slots<'a, K, V>,
    front_node: DataId,
    back_node: Option<DataId>,
    back_end: usize,
    back_open: bool,
    /// Keys above this image end the front (`u64::MAX` when the end is a
    /// position: every image passes).
    hi: u64,
}

impl<K: Key, V> Clone for Span<'_, K, V> {
    fn clone(&self) -> Self {
        Span { ..*self }
    }
}

impl<'a, K: Key, V> Span<'a, K, V> {
    fn empty(map: &'a AlexMap<K, V>) -> Self {
        let node = map.tree.first_leaf();
        Span {
            map,
            front: Slots::empty(),
            back: Slots::empty(),
            front_node: node,
            back_node: Some(node),
            back_end: 0,
            back_open: true,
            hi: u64::MAX,
        }
    }

    /// The entries from `front` up to `end` (exclusive), which lies at or
    /// after it: slot `end.slot` of node `end.node` is the first not taken.
    fn between(map: &'a AlexMap<K, V>, front: Pos, end: Pos) -> Self {
        let first = &map.tree[front.node];
        let same = front.node == end.node;
        let span = Span {
            map,
            front: first.slots_between(front.slot, if same { end.slot } else { first.capacity() }),
            back: Slots::empty(),
            front_node: front.node,
            back_node: Some(end.node),
            back_end: end.slot,
            back_open: same,
            hi: u64::MAX,
        };
        if !same {
            span.prefetch_header(first.links.next());
        }
        span
    }

    /// The entries from `front` on whose key images are at most `hi`; the
    /// entry at `front` is one of them.
    fn up_to(map: &'a AlexMap<K, V>, front: Pos, hi: u64) -> Self {
        let first = &map.tree[front.node];
        let span = Span {
            map,
            front: first.slots_between(front.slot, first.capacity()),
            back: Slots::empty(),
            front_node: front.node,
            back_node: None,
            back_end: 0,
            back_open: false,
            hi,
        };
        span.prefetch_header(first.links.next());
        span
    }

    /// Nothing left, from either end.
    fn finish(&mut self) {
        self.front = Slots::empty();
        self.back = Slots::empty();
        self.back_node = Some(self.front_node);
        self.back_open = true;
    }

    /// The back run, opened now if it was not; the end's position is found
    /// first if it was left to `hi`.
    fn back_run(&mut self) -> Slots<'a, K, V> {
        let back_node = match self.back_node {
            Some(node) => node,
            None => {
                // The front has not passed `hi`, so an entry at most `hi` is
                // left, at or after the front's position.
                let end = range_end(self.map, Some(self.hi)).expect("an entry <= hi is left");
                self.back_node = Some(end.node);
                self.back_end = end.slot;
                if end.node == self.front_node {
                    self.front.limit(end.slot);
                    self.back_open = true;
                    self.back = Slots::empty();
                }
                end.node
            }
        };
        if !self.back_open {
            self.back_open = true;
            self.back = self.map.tree[back_node].slots_between(0, self.back_end);
        }
        self.back
    }

    /// Every occupied slot of node `id`. Walking one node ahead: the next
    /// node's header (prefetched when this one's predecessor was opened,
    /// or when the span was made) names its first slot and bitmap word,
    /// which are prefetched, and the header after it is prefetched in turn.
    /// A scan reaching the next node then finds it cached, where it waited
    /// for the header and then for the slots.
    fn whole(&self, id: DataId) -> Slots<'a, K, V> {
        let node = &self.map.tree[id];
        if let Some(after) = self.map.tree.get_data(node.links.next()) {
            after.prefetch_front();
            self.prefetch_header(after.links.next());
        }
        node.slots_between(0, node.capacity())
    }

    /// Every occupied slot of node `id`, for the back end: the header of
    /// the node before it is prefetched.
    fn whole_back(&self, id: DataId) -> Slots<'a, K, V> {
        let node = &self.map.tree[id];
        self.prefetch_header(node.links.prev());
        node.slots_between(0, node.capacity())
    }

    /// Prefetches the two cache lines of node `id`'s header that a scan
    /// reads (the slots, the bitmap, the sibling links).
    #[inline(always)]
    fn prefetch_header(&self, id: Option<DataId>) {
        if let Some(node) = self.map.tree.get_data(id) {
            let p: *const DataNode<K, V> = node;
            prefetch(p);
            prefetch(p.cast::<u8>().wrapping_add(64));
        }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<(&'a K, &'a V)> {
        match self.front.next_in_word() {
            Some(item) if item.0.to_ordered() <= self.hi => Some(item),
            Some(_) => {
                self.finish();
                None
            }
            None => self.next_slow(),
        }
    }

    /// `next` past the front's bitmap word: later words, later nodes.
    #[inline(never)]
    fn next_slow(&mut self) -> Option<(&'a K, &'a V)> {
        loop {
            if let Some(item) = self.front.next_beyond_word() {
                if item.0.to_ordered() > self.hi {
                    self.finish();
                    return None;
                }
                return Some(item);
            }
            if Some(self.front_node) == self.back_node {
                return None;
            }
            let Some(next) = self.map.tree[self.front_node].links.next() else {
                // Only an end left to `hi` lets the front run off the map.
                debug_assert!(self.back_node.is_none(), "the back lies after the front");
                self.finish();
                return None;
            };
            self.front_node = next;
            self.front = if Some(next) == self.back_node {
                let run = self.back_run();
                self.back = Slots::empty();
                run
            } else {
                self.whole(next)
            };
        }
    }

    fn next_back(&mut self) -> Option<(&'a K, &'a V)> {
        loop {
            if Some(self.front_node) == self.back_node {
                return self.front.next_back();
            }
            self.back_run();
            if Some(self.front_node) == self.back_node {
                continue;
            }
            if let Some(item) = self.back.next_back() {
                return Some(item);
            }
            let back = self.back_node.expect("back_run found the back");
            let prev = self.map.tree[back]
                .links
                .prev()
                .expect("the front lies before the back");
            self.back_node = Some(prev);
            self.back = if prev == self.front_node {
                Slots::empty()
            } else {
                self.whole_back(prev)
            };
        }
    }
}

/// The first occupied position at or after slot `slot` of node `node`,
/// following sibling links over empty nodes.
pub(crate) fn first_from<K: Key, V>(
    map: &AlexMap<K, V>,
    mut node: Option<DataId>,
    mut slot: usize,
) -> Option<Pos> {
    while let Some(id) = node {
        let d = &map.tree[id];
        // No slot before the node's first occupied one is: the bitmap is read
        // from there (a node drained from the front has a long empty run).
        if let Some(first) = d.first_occupied() {
            if let Some(s) = d.next_occupied(slot.max(first)) {
                return Some(Pos { node: id, slot: s });
            }
        }
        node = d.links.next();
        slot = 0;
    }
    None
}

/// The last occupied position at or before slot `slot` of node `node`.
pub(crate) fn last_from<K: Key, V>(
    map: &AlexMap<K, V>,
    mut node: Option<DataId>,
    mut slot: Option<usize>,
) -> Option<Pos> {
    while let Some(id) = node {
        let d = &map.tree[id];
        let found = match slot {
            Some(s) => d.prev_occupied(s),
            None => d.last_occupied(),
        };
        if let Some(s) = found {
            return Some(Pos { node: id, slot: s });
        }
        node = d.links.prev();
        slot = None;
    }
    None
}

fn full_span<K: Key, V>(map: &AlexMap<K, V>) -> Span<'_, K, V> {
    Span::between(map, head_start(map), tail_end(map))
}

/// Slot 0 of the first data node: where an unbounded range starts.
fn head_start<K: Key, V>(map: &AlexMap<K, V>) -> Pos {
    Pos {
        node: map.tree.first_leaf(),
        slot: 0,
    }
}

/// Past the last slot of the last data node: where an unbounded range ends.
fn tail_end<K: Key, V>(map: &AlexMap<K, V>) -> Pos {
    let node = map.tree.last_leaf();
    Pos {
        node,
        slot: map.tree[node].capacity(),
    }
}

/// An iterator over all entries in key order, from [`AlexMap::iter`].
pub struct Iter<'a, K: Key, V> {
    span: Span<'a, K, V>,
    remaining: usize,
}

impl<K: Key, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter {
            span: self.span.clone(),
            remaining: self.remaining,
        }
    }
}

pub(crate) fn iter<K: Key, V>(map: &AlexMap<K, V>) -> Iter<'_, K, V> {
    Iter {
        span: full_span(map),
        remaining: map.len(),
    }
}

impl<'a, K: Key, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.span.next();
        self.remaining -= usize::from(item.is_some());
        item
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K: Key, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.span.next_back();
        self.remaining -= usize::from(item.is_some());
        item
    }
}

impl<K: Key, V> ExactSizeIterator for Iter<'_, K, V> {}
impl<K: Key, V> FusedIterator for Iter<'_, K, V> {}

/// An iterator over the entries with keys in a range, from
/// [`AlexMap::range`].
pub struct Range<'a, K: Key, V> {
    span: Span<'a, K, V>,
}

impl<K: Key, V> Clone for Range<'_, K, V> {
    fn clone(&self) -> Self {
        Range {
            span: self.span.clone(),
        }
    }
}

impl<'a, K: Key, V> Iterator for Range<'a, K, V> {
    type Item = (&'a K, &'a V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.span.next()
    }
}

impl<K: Key, V> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.span.next_back()
    }
}

impl<K: Key, V> FusedIterator for Range<'_, K, V> {}

fn bound_image<K: Key>(bound: Bound<&K>) -> Bound<u64> {
    match bound {
        Bound::Included(k) => {
            assert!(k.is_valid(), "AlexMap::range: NaN bound");
            Bound::Included(k.to_ordered())
        }
        Bound::Excluded(k) => {
            assert!(k.is_valid(), "AlexMap::range: NaN bound");
            Bound::Excluded(k.to_ordered())
        }
        Bound::Unbounded => Bound::Unbounded,
    }
}

pub(crate) fn range<K: Key, V, R: RangeBounds<K>>(
    map: &AlexMap<K, V>,
    range: R,
) -> Range<'_, K, V> {
    let span = (|| {
        let (lo, hi) = range_bounds(range)?;
        let front = range_start(map, lo, hi)?;
        Some(match hi {
            None => Span::between(map, front, tail_end(map)),
            Some(hi) => Span::up_to(map, front, hi),
        })
    })();
    Range {
        span: span.unwrap_or_else(|| Span::empty(map)),
    }
}

/// The inclusive images of `range`'s bounds (`None` for an unbounded
/// side), or `None` if no key can lie in it.
///
/// # Panics
/// On a NaN bound, and on bounds `BTreeMap::range` panics on (start above
/// end, or equal and both excluded).
#[allow(clippy::type_complexity)]
fn range_bounds<K: Key, R: RangeBounds<K>>(range: R) -> Option<(Option<u64>, Option<u64>)> {
    let start = bound_image(range.start_bound());
    let end = bound_image(range.end_bound());
    match (start, end) {
        (Bound::Excluded(s), Bound::Excluded(e)) if s == e => {
            panic!("range start and end are equal and excluded in AlexMap")
        }
        (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e))
            if s > e =>
        {
            panic!("range start is greater than range end in AlexMap")
        }
        _ => {}
    }
    // An excluded bound at the very end of the order leaves nothing.
    let lo = match start {
        Bound::Included(s) => Some(s),
        Bound::Excluded(s) => Some(s.checked_add(1)?),
        Bound::Unbounded => None,
    };
    let hi = match end {
        Bound::Included(e) => Some(e),
        Bound::Excluded(e) => Some(e.checked_sub(1)?),
        Bound::Unbounded => None,
    };
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo > hi => None,
        _ => Some((lo, hi)),
    }
}

/// Where the entries from `lo` to `hi` start, if there are any: the map's
/// first slot for a range unbounded on both sides (no descent), else the
/// first entry `>= lo` (a descent; the map's first entry when `lo` is
/// `None`), which must be at most `hi`.
fn range_start<K: Key, V>(map: &AlexMap<K, V>, lo: Option<u64>, hi: Option<u64>) -> Option<Pos> {
    let front = match lo {
        None if hi.is_none() => return Some(head_start(map)),
        None => first_from(map, Some(map.tree.first_leaf()), 0)?,
        Some(lo) => {
            let leaf = map.leaf_for(lo);
            let node = &map.tree[leaf];
            match node.lower_bound_occupied(lo) {
                Some(slot) => Pos { node: leaf, slot },
                None => first_from(map, node.links.next(), 0)?,
            }
        }
    };
    match hi {
        Some(hi) if map.tree[front.node].key_at(front.slot).to_ordered() > hi => None,
        _ => Some(front),
    }
}

/// The position just past the last entry `<= hi` (past the map's last slot
/// when `hi` is `None`: no descent), if there is such an entry.
fn range_end<K: Key, V>(map: &AlexMap<K, V>, hi: Option<u64>) -> Option<Pos> {
    let Some(hi) = hi else {
        return Some(tail_end(map));
    };
    let leaf = map.leaf_for(hi);
    let node = &map.tree[leaf];
    let last = match node.last_at_most(hi) {
        Some(slot) => Pos { node: leaf, slot },
        None => last_from(map, node.links.prev(), None)?,
    };
    Some(Pos {
        node: last.node,
        slot: last.slot + 1,
    })
}

/// Where the entries in `range` start and end (exclusive), if it holds
/// any: both ends found now, for `range_mut`.
fn range_ends<K: Key, V, R: RangeBounds<K>>(map: &AlexMap<K, V>, range: R) -> Option<(Pos, Pos)> {
    let (lo, hi) = range_bounds(range)?;
    // An entry from `lo` to `hi` exists, so one `<= hi` does, at or after it.
    let front = range_start(map, lo, hi)?;
    Some((front, range_end(map, hi)?))
}

/// A mutable iterator over the entries with keys in a range (keys shared,
/// values mutable), from [`AlexMap::range_mut`].
pub struct RangeMut<'a, K: Key, V> {
    inner: core::iter::Flatten<std::vec::IntoIter<SlotsMut<'a, K, V>>>,
}

pub(crate) fn range_mut<K: Key, V, R: RangeBounds<K>>(
    map: &mut AlexMap<K, V>,
    range: R,
) -> RangeMut<'_, K, V> {
    let Some((front, back)) = range_ends(map, range) else {
        return RangeMut {
            inner: Vec::new().into_iter().flatten(),
        };
    };
    if front.node == back.node {
        // One node (most short ranges): borrowed directly, one allocation.
        let node = &mut map.tree[front.node];
        return RangeMut {
            inner: vec![node.iter_mut_between(front.slot, back.slot)]
                .into_iter()
                .flatten(),
        };
    }
    // The chain of data nodes from the front's to the back's, in key order.
    let mut chain = vec![front.node];
    let mut last = front.node;
    while last != back.node {
        last = map.tree[last]
            .links
            .next()
            .expect("the back lies after the front");
        chain.push(last);
    }
    let last = chain.len() - 1;
    let parts: Vec<SlotsMut<'_, K, V>> = map
        .tree
        .leaves_mut(&chain)
        .into_iter()
        .enumerate()
        .map(|(at, node)| {
            let lo = if at == 0 { front.slot } else { 0 };
            let hi = if at == last {
                back.slot
            } else {
                node.capacity()
            };
            node.iter_mut_between(lo, hi)
        })
        .collect();
    RangeMut {
        inner: parts.into_iter().flatten(),
    }
}

impl<'a, K: Key, V> Iterator for RangeMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl<K: Key, V> DoubleEndedIterator for RangeMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}

impl<K: Key, V> FusedIterator for RangeMut<'_, K, V> {}

impl<K: Key, V> core::fmt::Debug for RangeMut<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RangeMut").finish_non_exhaustive()
    }
}

impl<K: Key, V> core::fmt::Debug for IterMut<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IterMut")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// An iterator over the keys in order, from [`AlexMap::keys`].
pub struct Keys<'a, K: Key, V> {
    pub(crate) inner: Iter<'a, K, V>,
}

impl<'a, K: Key, V> Iterator for Keys<'a, K, V> {
    type Item = &'a K;
    fn next(&mut self) -> Option<&'a K> {
        self.inner.next().map(|(k, _)| k)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K: Key, V> DoubleEndedIterator for Keys<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, _)| k)
    }
}

impl<K: Key, V> ExactSizeIterator for Keys<'_, K, V> {}

/// An iterator over the values in key order, from [`AlexMap::values`].
pub struct Values<'a, K: Key, V> {
    pub(crate) inner: Iter<'a, K, V>,
}

impl<'a, K: Key, V> Iterator for Values<'a, K, V> {
    type Item = &'a V;
    fn next(&mut self) -> Option<&'a V> {
        self.inner.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K: Key, V> DoubleEndedIterator for Values<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(_, v)| v)
    }
}

impl<K: Key, V> ExactSizeIterator for Values<'_, K, V> {}

/// A mutable iterator over the entries in key order (keys shared, values
/// mutable), from [`AlexMap::iter_mut`].
pub struct IterMut<'a, K: Key, V> {
    inner: core::iter::Flatten<std::vec::IntoIter<SlotsMut<'a, K, V>>>,
    remaining: usize,
}

pub(crate) fn iter_mut<K: Key, V>(map: &mut AlexMap<K, V>) -> IterMut<'_, K, V> {
    let remaining = map.len();
    IterMut {
        inner: range_mut(map, ..).inner,
        remaining,
    }
}

impl<'a, K: Key, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        self.remaining -= usize::from(item.is_some());
        item
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K: Key, V> DoubleEndedIterator for IterMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.inner.next_back();
        self.remaining -= usize::from(item.is_some());
        item
    }
}

impl<K: Key, V> ExactSizeIterator for IterMut<'_, K, V> {}

impl<K: Key, V> FusedIterator for IterMut<'_, K, V> {}

/// A mutable iterator over the values in key order, from
/// [`AlexMap::values_mut`].
pub struct ValuesMut<'a, K: Key, V> {
    pub(crate) inner: IterMut<'a, K, V>,
}

impl<'a, K: Key, V> Iterator for ValuesMut<'a, K, V> {
    type Item = &'a mut V;
    fn next(&mut self) -> Option<&'a mut V> {
        self.inner.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K: Key, V> DoubleEndedIterator for ValuesMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(_, v)| v)
    }
}

impl<K: Key, V> ExactSizeIterator for ValuesMut<'_, K, V> {}

impl<K: Key, V> FusedIterator for ValuesMut<'_, K, V> {}

/// An owning iterator over the entries in key order, from
/// `AlexMap::into_iter`.
pub struct IntoIter<K, V> {
    inner: std::vec::IntoIter<(K, V)>,
}

pub(crate) fn into_iter<K: Key, V>(mut map: AlexMap<K, V>) -> IntoIter<K, V> {
    IntoIter {
        inner: map.take_sorted().into_iter(),
    }
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);
    fn next(&mut self) -> Option<(K, V)> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for IntoIter<K, V> {
    fn next_back(&mut self) -> Option<(K, V)> {
        self.inner.next_back()
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}
impl<K, V> FusedIterator for IntoIter<K, V> {}
