//! The entry API of [`AlexMap`], as `BTreeMap` has it: look a key up once,
//! then read, change, insert or remove in place.
//!
//! An occupied entry remembers the data node and slot the lookup found, so
//! reading and changing its value costs no second descent; nothing else
//! can change the map while the entry borrows it. A vacant entry's insert
//! goes through [`AlexMap::insert`] (which may restructure the tree) and
//! then finds the new slot again.

use core::fmt;
use core::mem;

use crate::key::Key;
use crate::tree::DataId;
use crate::AlexMap;

/// A view into one key of an [`AlexMap`], vacant or occupied, from
/// [`AlexMap::entry`].
pub enum Entry<'a, K: Key, V> {
    /// The key is absent.
    Vacant(VacantEntry<'a, K, V>),
    /// The key is present.
    Occupied(OccupiedEntry<'a, K, V>),
}

/// An absent key of an [`AlexMap`]: [`Entry::Vacant`].
pub struct VacantEntry<'a, K: Key, V> {
    map: &'a mut AlexMap<K, V>,
    key: K,
}

/// A present key of an [`AlexMap`]: [`Entry::Occupied`].
pub struct OccupiedEntry<'a, K: Key, V> {
    map: &'a mut AlexMap<K, V>,
    /// The data node and slot holding the key.
    leaf: DataId,
    slot: usize,
}

impl<K: Key, V> AlexMap<K, V> {
    /// The entry for `key`, to read, change, insert or remove in place.
    ///
    /// ```
    /// use alex::AlexMap;
    /// let mut counts: AlexMap<u32, u64> = AlexMap::new();
    /// for word_length in [3, 5, 3, 4, 3] {
    ///     *counts.entry(word_length).or_insert(0) += 1;
    /// }
    /// assert_eq!(counts.get(&3), Some(&3));
    /// counts.entry(5).and_modify(|n| *n += 10).or_default();
    /// assert_eq!(counts.get(&5), Some(&11));
    /// ```
    ///
    /// # Panics
    /// On a NaN key, as [`AlexMap::insert`] does (it could never be
    /// inserted).
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        assert!(
            key.is_valid(),
            "AlexMap::entry: {}",
            crate::AlexError::NanKey
        );
        let t = key.to_ordered();
        let leaf = self.leaf_for(t);
        match self.tree[leaf].find(t) {
            Some(slot) => Entry::Occupied(OccupiedEntry {
                map: self,
                leaf,
                slot,
            }),
            None => Entry::Vacant(VacantEntry { map: self, key }),
        }
    }

    /// The entry with the smallest key, if the map is not empty.
    pub fn first_entry(&mut self) -> Option<OccupiedEntry<'_, K, V>> {
        let key = *self.first_key_value()?.0;
        self.occupied(key)
    }

    /// The entry with the largest key, if the map is not empty.
    pub fn last_entry(&mut self) -> Option<OccupiedEntry<'_, K, V>> {
        let key = *self.last_key_value()?.0;
        self.occupied(key)
    }

    /// The occupied entry of `key`, if present.
    fn occupied(&mut self, key: K) -> Option<OccupiedEntry<'_, K, V>> {
        match self.entry(key) {
            Entry::Occupied(entry) => Some(entry),
            Entry::Vacant(_) => None,
        }
    }
}

impl<'a, K: Key, V> Entry<'a, K, V> {
    /// The entry's key.
    pub fn key(&self) -> &K {
        match self {
            Entry::Vacant(entry) => entry.key(),
            Entry::Occupied(entry) => entry.key(),
        }
    }

    /// The value, inserting `default` first if the key is absent.
    pub fn or_insert(self, default: V) -> &'a mut V {
        match self {
            Entry::Vacant(entry) => entry.insert(default),
            Entry::Occupied(entry) => entry.into_mut(),
        }
    }

    /// The value, inserting `default()` first if the key is absent (and
    /// calling it only then).
    pub fn or_insert_with<F: FnOnce() -> V>(self, default: F) -> &'a mut V {
        match self {
            Entry::Vacant(entry) => entry.insert(default()),
            Entry::Occupied(entry) => entry.into_mut(),
        }
    }

    /// The value, inserting `default(&key)` first if the key is absent.
    pub fn or_insert_with_key<F: FnOnce(&K) -> V>(self, default: F) -> &'a mut V {
        match self {
            Entry::Vacant(entry) => {
                let value = default(&entry.key);
                entry.insert(value)
            }
            Entry::Occupied(entry) => entry.into_mut(),
        }
    }

    /// Calls `f` on the value if the key is present; returns the entry.
    pub fn and_modify<F: FnOnce(&mut V)>(self, f: F) -> Self {
        match self {
            Entry::Occupied(mut entry) => {
                f(entry.get_mut());
                Entry::Occupied(entry)
            }
            vacant => vacant,
        }
    }
}

impl<'a, K: Key, V: Default> Entry<'a, K, V> {
    /// The value, inserting `V::default()` first if the key is absent.
    pub fn or_default(self) -> &'a mut V {
        self.or_insert_with(V::default)
    }
}

impl<'a, K: Key, V> VacantEntry<'a, K, V> {
    /// The key that would be inserted.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The key, giving the entry up.
    pub fn into_key(self) -> K {
        self.key
    }

    /// Inserts `value` under the entry's key; returns it, mutably.
    pub fn insert(self, value: V) -> &'a mut V {
        let VacantEntry { map, key } = self;
        let replaced = map.insert(key, value);
        debug_assert!(replaced.is_none(), "a vacant entry's key was present");
        // The insert may have restructured the tree: find the slot again.
        map.get_mut(&key).expect("the key was just inserted")
    }
}

impl<'a, K: Key, V> OccupiedEntry<'a, K, V> {
    /// The stored key.
    pub fn key(&self) -> &K {
        self.map.tree[self.leaf].key_at(self.slot)
    }

    /// The value.
    pub fn get(&self) -> &V {
        self.map.tree[self.leaf].entry_at(self.slot).1
    }

    /// The value, mutably, for as long as the entry lives.
    pub fn get_mut(&mut self) -> &mut V {
        self.map.tree[self.leaf].value_mut_at(self.slot)
    }

    /// The value, mutably, for as long as the map's borrow lasts.
    pub fn into_mut(self) -> &'a mut V {
        self.map.tree[self.leaf].value_mut_at(self.slot)
    }

    /// Replaces the value; returns the old one.
    pub fn insert(&mut self, value: V) -> V {
        mem::replace(self.get_mut(), value)
    }

    /// Removes the entry; returns its value.
    pub fn remove(self) -> V {
        self.remove_entry().1
    }

    /// Removes the entry; returns the stored key and its value.
    pub fn remove_entry(self) -> (K, V) {
        let key = *self.key();
        let value = self
            .map
            .remove(&key)
            .expect("an occupied entry's key is present");
        (key, value)
    }
}

impl<K: Key + fmt::Debug, V: fmt::Debug> fmt::Debug for Entry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Vacant(entry) => f.debug_tuple("Entry").field(entry).finish(),
            Entry::Occupied(entry) => f.debug_tuple("Entry").field(entry).finish(),
        }
    }
}

impl<K: Key + fmt::Debug, V> fmt::Debug for VacantEntry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VacantEntry").field(self.key()).finish()
    }
}

impl<K: Key + fmt::Debug, V: fmt::Debug> fmt::Debug for OccupiedEntry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OccupiedEntry")
            .field("key", self.key())
            .field("value", self.get())
            .finish()
    }
}
