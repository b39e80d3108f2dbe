//! The mutable level: recent writes in an [`AlexMap`], each key pointing at its newest
//! version; older versions stay reachable through `prev` links so that a reader holding a
//! snapshot (a sequence number) sees the database as of that snapshot. A memtable receives
//! the writes of one log (and, after recovery, of the logs replayed into it); once frozen it
//! only serves reads until a flush has written it out as a run.
//!
//! Readers take the read lock for one lookup or for one batch of a scan, never across a
//! caller's code; the leader of a group commit takes the write lock to apply the group.

use crate::arena::{Arena, ValueRef};
use crate::batch::{BatchOp, WriteBatch};
use crate::run::Found;
use crate::wal::format::OpRef;
use alex::{AlexMap, Key, TreeStats};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

const NO_VERSION: u64 = u64::MAX;
/// Bytes counted per operation on top of its value, for the size that decides a freeze.
const OP_OVERHEAD: usize = 48;

/// One version of a key: the batch that wrote it, the version before it, and the value
/// (`None` for a delete).
#[derive(Clone, Copy, Debug)]
struct MemVersion {
    seq: u64,
    prev: u64,
    value: Option<ValueRef>,
}

#[derive(Debug)]
struct Inner<K: Key> {
    index: AlexMap<K, u64>,
    versions: Vec<MemVersion>,
    arena: Arena,
    bytes: usize,
    /// Sequence after the last batch applied.
    end_seq: u64,
}

/// A memtable.
#[derive(Debug)]
pub struct Memtable<K: Key> {
    /// The newest log whose writes it holds; once it is flushed, the logs up to this one
    /// are no longer needed.
    last_log: u64,
    /// Set once the first write is applied; lets a lookup skip an empty memtable without
    /// taking its lock.
    written: AtomicBool,
    inner: RwLock<Inner<K>>,
}

impl<K: Key> Memtable<K> {
    /// An empty memtable receiving the writes of log `last_log`.
    pub fn new(last_log: u64) -> Self {
        Self {
            last_log,
            written: AtomicBool::new(false),
            inner: RwLock::new(Inner {
                index: AlexMap::new(),
                versions: Vec::new(),
                arena: Arena::new(),
                bytes: 0,
                end_seq: 0,
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner<K>> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<K>> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn last_log(&self) -> u64 {
        self.last_log
    }

    /// Applies committed batches; batch `i` has sequence `first_seq + i`.
    pub fn apply_group(&self, first_seq: u64, group: &[WriteBatch<K>]) {
        let mut inner = self.write();
        for (i, batch) in group.iter().enumerate() {
            let seq = first_seq + i as u64;
            for op in &batch.ops {
                match op {
                    BatchOp::Put(k, v) => inner.push_version(*k, seq, Some(v)),
                    BatchOp::Delete(k) => inner.push_version(*k, seq, None),
                }
            }
        }
        inner.end_seq = first_seq + group.len() as u64;
        if group.iter().any(|b| !b.ops.is_empty()) {
            self.written.store(true, Ordering::Release);
        }
    }

    /// Sequence after the last batch it holds.
    pub fn end_seq(&self) -> u64 {
        self.read().end_seq
    }

    /// Sets the sequence after the last batch, once replay has read the logs.
    pub fn set_end_seq(&self, seq: u64) {
        self.write().end_seq = seq;
    }

    /// Applies one replayed operation. No snapshot can exist during recovery, so the
    /// key's version is replaced instead of chained.
    pub fn apply_replayed(&self, op: OpRef<'_, K>) {
        let (key, value) = match op {
            OpRef::Put(k, v) => (k, Some(v)),
            OpRef::Delete(k) => (k, None),
        };
        let mut inner = self.write();
        let inner = &mut *inner;
        self.written.store(true, Ordering::Release);
        inner.bytes += OP_OVERHEAD + value.map_or(0, <[u8]>::len);
        let value = value.map(|v| inner.arena.alloc(v));
        match inner.index.get(&key) {
            Some(&at) => {
                let old = std::mem::replace(&mut inner.versions[at as usize].value, value);
                if let Some(old) = old {
                    inner.arena.free(old);
                }
            }
            None => {
                let at = inner.versions.len() as u64;
                inner.versions.push(MemVersion {
                    seq: 0,
                    prev: NO_VERSION,
                    value,
                });
                inner.index.insert(key, at);
            }
        }
    }

    /// The newest version of `key` written before sequence `seq`, if any.
    pub fn get_with<R>(&self, key: K, seq: u64, f: impl FnOnce(&[u8]) -> R) -> Option<Found<R>> {
        // A write that a snapshot sees was applied before the snapshot's sequence was
        // published, so the flag is already set for it.
        if !self.written.load(Ordering::Acquire) {
            return None;
        }
        let inner = self.read();
        let v = inner.visible(*inner.index.get(&key)?, seq)?;
        Some(match v.value {
            Some(h) => Found::Value(f(inner.arena.get(h))),
            None => Found::Deleted,
        })
    }

    /// Up to `limit` entries from `from` on, each the newest version before `seq` (a
    /// delete as `None`), in key order, with their key images.
    pub fn collect(&self, from: Bound<K>, seq: u64, limit: usize) -> Vec<(u64, Option<Vec<u8>>)> {
        let inner = self.read();
        let mut out = Vec::with_capacity(limit.min(inner.index.len()));
        for (k, &at) in inner.index.range((from, Bound::Unbounded)) {
            if let Some(v) = inner.visible(at, seq) {
                out.push((k.to_ordered(), v.value.map(|h| inner.arena.get(h).to_vec())));
                if out.len() == limit {
                    break;
                }
            }
        }
        out
    }

    /// Calls `f` on every key's newest version (a delete as `None`), in key order. Used
    /// to write a frozen memtable out, which no writer changes any more.
    pub fn for_each_newest(
        &self,
        mut f: impl FnMut(u64, Option<&[u8]>) -> crate::Result<()>,
    ) -> crate::Result<()> {
        let inner = self.read();
        for (k, &at) in inner.index.iter() {
            let v = inner.versions[at as usize];
            f(k.to_ordered(), v.value.map(|h| inner.arena.get(h)))?;
        }
        Ok(())
    }

    /// Distinct keys held.
    pub fn len(&self) -> usize {
        self.read().index.len()
    }

    /// True when no write reached it.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of operations applied (values plus a fixed cost each): what decides a freeze.
    pub fn bytes(&self) -> usize {
        self.read().bytes
    }

    /// Heap bytes: index, versions, value arena.
    pub fn heap_bytes(&self) -> usize {
        let inner = self.read();
        inner.index.stats().heap.total()
            + inner.versions.capacity() * std::mem::size_of::<MemVersion>()
            + inner.arena.heap_bytes()
    }

    /// Runs the index's `check()` of every structural invariant (panics on a broken one).
    pub fn check(&self) {
        let inner = self.read();
        inner.index.check();
        for (_, &at) in inner.index.iter() {
            assert!(
                (at as usize) < inner.versions.len(),
                "memtable version out of range"
            );
        }
    }

    /// The index's own statistics.
    pub fn index_stats(&self) -> TreeStats {
        self.read().index.stats()
    }
}

impl<K: Key> Inner<K> {
    fn push_version(&mut self, key: K, seq: u64, value: Option<&[u8]>) {
        self.bytes += OP_OVERHEAD + value.map_or(0, <[u8]>::len);
        let value = value.map(|v| self.arena.alloc(v));
        let at = self.versions.len() as u64;
        let prev = match self.index.get_mut(&key) {
            Some(slot) => std::mem::replace(slot, at),
            None => {
                self.index.insert(key, at);
                NO_VERSION
            }
        };
        self.versions.push(MemVersion { seq, prev, value });
    }

    fn visible(&self, mut at: u64, seq: u64) -> Option<MemVersion> {
        while at != NO_VERSION {
            let v = self.versions[at as usize];
            if v.seq < seq {
                return Some(v);
            }
            at = v.prev;
        }
        None
    }
}
