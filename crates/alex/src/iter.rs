//! Iteration in key order along the data nodes' sibling links, from both
//! ends, without returning to the root after the first descent.
//!
//! A cursor is a `(data node, occupied slot)` position. A range holds its
//! first and last positions; both ends walk inwards and stop when they meet,
//! which works because positions are visited in one order, the key order.

use core::iter::FusedIterator;
use core::ops::{Bound, RangeBounds};

use crate::data_node::{SlotsMut, NO_NODE};
use crate::key::Key;
use crate::AlexMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    node: u32,
    slot: usize,
}

/// The positions between two cursors, inclusive.
struct Span<'a, K: Key, V> {
    map: &'a AlexMap<K, V>,
    front: Pos,
    back: Pos,
    done: bool,
}

impl<K: Key, V> Clone for Span<'_, K, V> {
    fn clone(&self) -> Self {
        Span {
            map: self.map,
            front: self.front,
            back: self.back,
            done: self.done,
        }
    }
}

impl<'a, K: Key, V> Span<'a, K, V> {
    fn empty(map: &'a AlexMap<K, V>) -> Self {
        let nowhere = Pos {
            node: NO_NODE,
            slot: 0,
        };
        Span {
            map,
            front: nowhere,
            back: nowhere,
            done: true,
        }
    }

    fn entry(&self, pos: Pos) -> (&'a K, &'a V) {
        self.map.data[pos.node as usize].entry_at(pos.slot)
    }

    fn next(&mut self) -> Option<(&'a K, &'a V)> {
        if self.done {
            return None;
        }
        let item = self.entry(self.front);
        if self.front == self.back {
            self.done = true;
        } else {
            match step_forward(self.map, self.front) {
                Some(p) => self.front = p,
                None => self.done = true,
            }
        }
        Some(item)
    }

    fn next_back(&mut self) -> Option<(&'a K, &'a V)> {
        if self.done {
            return None;
        }
        let item = self.entry(self.back);
        if self.front == self.back {
            self.done = true;
        } else {
            match step_back(self.map, self.back) {
                Some(p) => self.back = p,
                None => self.done = true,
            }
        }
        Some(item)
    }
}

/// The first occupied position at or after slot `slot` of node `node`,
/// following sibling links over empty nodes.
fn first_from<K: Key, V>(map: &AlexMap<K, V>, mut node: u32, mut slot: usize) -> Option<Pos> {
    while node != NO_NODE {
        let d = &map.data[node as usize];
        if let Some(s) = d.next_occupied(slot) {
            return Some(Pos { node, slot: s });
        }
        node = d.next;
        slot = 0;
    }
    None
}

/// The last occupied position at or before slot `slot` of node `node`.
fn last_from<K: Key, V>(
    map: &AlexMap<K, V>,
    mut node: u32,
    mut slot: Option<usize>,
) -> Option<Pos> {
    while node != NO_NODE {
        let d = &map.data[node as usize];
        let found = match slot {
            Some(s) => d.prev_occupied(s),
            None => d.last_occupied(),
        };
        if let Some(s) = found {
            return Some(Pos { node, slot: s });
        }
        node = d.prev;
        slot = None;
    }
    None
}

fn step_forward<K: Key, V>(map: &AlexMap<K, V>, pos: Pos) -> Option<Pos> {
    first_from(map, pos.node, pos.slot + 1)
}

fn step_back<K: Key, V>(map: &AlexMap<K, V>, pos: Pos) -> Option<Pos> {
    if pos.slot == 0 {
        last_from(map, map.data[pos.node as usize].prev, None)
    } else {
        last_from(map, pos.node, Some(pos.slot - 1))
    }
}

fn full_span<K: Key, V>(map: &AlexMap<K, V>) -> Span<'_, K, V> {
    match (first_from(map, map.head, 0), last_from(map, map.tail, None)) {
        (Some(front), Some(back)) => Span {
            map,
            front,
            back,
            done: false,
        },
        _ => Span::empty(map),
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
    let span = match range_ends(map, range) {
        Some((front, back)) => Span {
            map,
            front,
            back,
            done: false,
        },
        None => Span::empty(map),
    };
    Range { span }
}

/// The first and last positions of the entries in `range`, if any.
///
/// # Panics
/// On a NaN bound, and on bounds `BTreeMap::range` panics on (start above
/// end, or equal and both excluded).
fn range_ends<K: Key, V, R: RangeBounds<K>>(map: &AlexMap<K, V>, range: R) -> Option<(Pos, Pos)> {
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
    // Inclusive images; an excluded bound at the very end of the order
    // leaves nothing.
    let lo = match start {
        Bound::Included(s) => Some(s),
        Bound::Excluded(s) => s.checked_add(1),
        Bound::Unbounded => Some(0),
    };
    let hi = match end {
        Bound::Included(e) => Some(e),
        Bound::Excluded(e) => e.checked_sub(1),
        Bound::Unbounded => Some(u64::MAX),
    };
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return None;
    };
    if lo > hi {
        return None;
    }
    let front = {
        let leaf = map.leaf_for(lo);
        let node = &map.data[leaf];
        match node.lower_bound_occupied(lo) {
            Some(slot) => Some(Pos {
                node: leaf as u32,
                slot,
            }),
            None => first_from(map, node.next, 0),
        }
    };
    let back = {
        let leaf = map.leaf_for(hi);
        let node = &map.data[leaf];
        match node.last_at_most(hi) {
            Some(slot) => Some(Pos {
                node: leaf as u32,
                slot,
            }),
            None => last_from(map, node.prev, None),
        }
    };
    let (front, back) = (front?, back?);
    let first = map.data[front.node as usize]
        .key_at(front.slot)
        .to_ordered();
    let last = map.data[back.node as usize].key_at(back.slot).to_ordered();
    (first <= last && first <= hi && last >= lo).then_some((front, back))
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
    // The chain of data nodes from the front's to the back's, in key order.
    let mut chain = vec![front.node];
    while *chain.last().expect("not empty") != back.node {
        let next = map.data[*chain.last().expect("not empty") as usize].next;
        debug_assert!(next != NO_NODE, "the back lies after the front");
        chain.push(next);
    }
    // Borrow those nodes mutably, each once: in index order by splitting the
    // arena, then put back in chain order. Costs the chain's length, not the
    // map's node count.
    let mut by_index: Vec<(u32, usize)> =
        chain.iter().enumerate().map(|(at, &id)| (id, at)).collect();
    by_index.sort_unstable();
    let mut nodes: Vec<Option<&mut crate::data_node::DataNode<K, V>>> =
        (0..chain.len()).map(|_| None).collect();
    let mut rest = map.data.as_mut_slice();
    let mut offset = 0usize;
    for (id, at) in by_index {
        let tail = core::mem::take(&mut rest);
        let (node, after) = tail[id as usize - offset..]
            .split_first_mut()
            .expect("node ids are in the arena and distinct");
        nodes[at] = Some(node);
        rest = after;
        offset = id as usize + 1;
    }
    let last = chain.len() - 1;
    let parts: Vec<SlotsMut<'_, K, V>> = nodes
        .into_iter()
        .enumerate()
        .map(|(at, node)| {
            let node = node.expect("every chain node was borrowed");
            let lo = if at == 0 { front.slot } else { 0 };
            let hi = if at == last {
                back.slot + 1
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

/// Data node ids in key order.
pub(crate) fn nodes_in_order<K: Key, V>(map: &AlexMap<K, V>) -> Vec<u32> {
    let mut ids = Vec::new();
    let mut id = map.head;
    while id != NO_NODE {
        ids.push(id);
        id = map.data[id as usize].next;
    }
    ids
}

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
