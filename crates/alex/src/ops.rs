//! The rest of the `BTreeMap` surface a user reaches for: `append`,
//! `split_off`, `into_keys`, `into_values`, indexing, equality, ordering,
//! hashing, extending from references and building from an array.

use core::fmt;
use core::iter::FusedIterator;
use core::ops::Index;

use crate::cost;
use crate::iter::IntoIter;
use crate::key::Key;
use crate::AlexMap;

impl<K: Key, V> AlexMap<K, V> {
    /// Moves every entry of `other` into `self`, leaving `other` empty; a
    /// key in both takes `other`'s value (as `BTreeMap::append`). A large
    /// `other` (a quarter of `self` or more) is merged by one rebuild, a
    /// small one inserted entry by entry (see `Extend`).
    pub fn append(&mut self, other: &mut Self) {
        let moved = other.take_sorted();
        self.extend(moved);
    }

    /// Splits the map at `key`: `self` keeps the keys below it, the map
    /// returned (with `self`'s configuration) holds `key` and the keys
    /// above it.
    ///
    /// The smaller side is moved out entry by entry from its end of the map
    /// (pops cost about a lookup each) when it is at most a quarter of the
    /// map; otherwise both sides are rebuilt by bulk loads, in time linear
    /// in the map's size.
    ///
    /// # Panics
    /// On a NaN key.
    pub fn split_off(&mut self, key: &K) -> Self {
        assert!(
            key.is_valid(),
            "AlexMap::split_off: {}",
            crate::AlexError::NanKey
        );
        let t = key.to_ordered();
        let mut right = AlexMap::with_config(self.config().clone())
            .expect("the map's own configuration is valid");
        let above = self.range(key..).count();
        let below = self.len() - above;
        if cost::split_off_pops(above, self.len()) {
            let mut moved = Vec::with_capacity(above);
            while self
                .last_key_value()
                .is_some_and(|(k, _)| k.to_ordered() >= t)
            {
                moved.push(self.pop_last().expect("not empty"));
            }
            moved.reverse();
            right.load_sorted(moved.into_iter());
        } else if cost::split_off_pops(below, self.len()) {
            let mut moved = Vec::with_capacity(below);
            while self
                .first_key_value()
                .is_some_and(|(k, _)| k.to_ordered() < t)
            {
                moved.push(self.pop_first().expect("not empty"));
            }
            // `self` now holds the upper part: it becomes the result, and
            // the lower part is loaded into the map that stays, which keeps
            // its history of structural changes (as the other paths do).
            core::mem::swap(self, &mut right);
            core::mem::swap(&mut self.counters, &mut right.counters);
            self.load_sorted(moved.into_iter());
        } else {
            let mut all = self.take_sorted();
            let upper = all.split_off(below);
            self.load_sorted(all.into_iter());
            right.load_sorted(upper.into_iter());
        }
        right
    }

    /// The keys in order, consuming the map.
    pub fn into_keys(self) -> IntoKeys<K, V> {
        IntoKeys {
            inner: self.into_iter(),
        }
    }

    /// The values in key order, consuming the map.
    pub fn into_values(self) -> IntoValues<K, V> {
        IntoValues {
            inner: self.into_iter(),
        }
    }
}

/// An owning iterator over the keys in order, from [`AlexMap::into_keys`].
pub struct IntoKeys<K, V> {
    inner: IntoIter<K, V>,
}

/// An owning iterator over the values in key order, from
/// [`AlexMap::into_values`].
pub struct IntoValues<K, V> {
    inner: IntoIter<K, V>,
}

impl<K, V> Iterator for IntoKeys<K, V> {
    type Item = K;
    fn next(&mut self) -> Option<K> {
        self.inner.next().map(|(k, _)| k)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for IntoKeys<K, V> {
    fn next_back(&mut self) -> Option<K> {
        self.inner.next_back().map(|(k, _)| k)
    }
}

impl<K, V> ExactSizeIterator for IntoKeys<K, V> {}
impl<K, V> FusedIterator for IntoKeys<K, V> {}

impl<K, V> Iterator for IntoValues<K, V> {
    type Item = V;
    fn next(&mut self) -> Option<V> {
        self.inner.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for IntoValues<K, V> {
    fn next_back(&mut self) -> Option<V> {
        self.inner.next_back().map(|(_, v)| v)
    }
}

impl<K, V> ExactSizeIterator for IntoValues<K, V> {}
impl<K, V> FusedIterator for IntoValues<K, V> {}

impl<K: Key + fmt::Debug, V> fmt::Debug for IntoKeys<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoKeys")
            .field("remaining", &self.inner.len())
            .finish()
    }
}

impl<K: Key + fmt::Debug, V> fmt::Debug for IntoValues<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoValues")
            .field("remaining", &self.inner.len())
            .finish()
    }
}

impl<K: Key, V> Index<&K> for AlexMap<K, V> {
    type Output = V;

    /// The value of `key`.
    ///
    /// # Panics
    /// When the key is absent, as `BTreeMap`'s indexing does.
    fn index(&self, key: &K) -> &V {
        self.get(key).expect("key not found in AlexMap")
    }
}

impl<K: Key, V: PartialEq> PartialEq for AlexMap<K, V> {
    /// Equal when both hold the same keys (compared exactly, as the map
    /// orders them: `-0.0` and `0.0` differ) with equal values.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((a, x), (b, y))| a.to_ordered() == b.to_ordered() && x == y)
    }
}

impl<K: Key, V: Eq> Eq for AlexMap<K, V> {}

impl<K: Key, V: PartialOrd> PartialOrd for AlexMap<K, V> {
    /// Lexicographic over the entries in key order, keys compared as the
    /// map orders them, as `BTreeMap` compares.
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        self.iter()
            .map(|(k, v)| (k.to_ordered(), v))
            .partial_cmp(other.iter().map(|(k, v)| (k.to_ordered(), v)))
    }
}

impl<K: Key, V: Ord> Ord for AlexMap<K, V> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.iter()
            .map(|(k, v)| (k.to_ordered(), v))
            .cmp(other.iter().map(|(k, v)| (k.to_ordered(), v)))
    }
}

impl<K: Key, V: core::hash::Hash> core::hash::Hash for AlexMap<K, V> {
    /// Hashes the length, then each key's ordered image and value, so equal
    /// maps hash equally.
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for (k, v) in self {
            k.to_ordered().hash(state);
            v.hash(state);
        }
    }
}

impl<'a, K: Key, V: Copy> Extend<(&'a K, &'a V)> for AlexMap<K, V> {
    /// As `Extend<(K, V)>`, copying each pair.
    fn extend<I: IntoIterator<Item = (&'a K, &'a V)>>(&mut self, iter: I) {
        self.extend(iter.into_iter().map(|(k, v)| (*k, *v)));
    }
}

impl<K: Key, V, const N: usize> From<[(K, V); N]> for AlexMap<K, V> {
    /// As `FromIterator`: sorted, and of repeated keys the last one wins.
    ///
    /// # Panics
    /// On a NaN key.
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}
