//! What a reader sees: a [`Version`] (the memtables and runs live at one moment) and a
//! sequence number. A [`Snapshot`] holds both, so it stays consistent while writers,
//! flushes and merges go on: memtables keep old versions of keys, and runs that a merge
//! replaced stay open (their files deleted from the directory, still readable) for as long
//! as a snapshot holds them.

use crate::error::{Error, Result};
use crate::memtable::Memtable;
use crate::run::{Found, Run, RunCursor};
use alex::Key;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// Live memtables and runs.
#[derive(Debug)]
pub struct Version<K: Key> {
    /// The active memtable first, then frozen ones, newest to oldest.
    pub mems: Vec<Arc<Memtable<K>>>,
    /// Runs newest first (level 0 newest to oldest, then levels 1, 2, ...).
    pub runs: Vec<Arc<Run>>,
}

impl<K: Key> Version<K> {
    /// True when nothing but the given run could hold an entry, and it has no tombstone.
    fn single_clean_run(&self) -> Option<&Run> {
        if self.mems.iter().any(|m| !m.is_empty()) || self.runs.len() != 1 {
            return None;
        }
        let run = &self.runs[0];
        (run.tombstones() == 0).then_some(&**run)
    }
}

thread_local! {
    /// A block buffer per thread, so a lookup allocates nothing of its own.
    static BLOCK: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn check_key<K: Key>(key: K) -> Result<K> {
    if key.is_valid() {
        Ok(key)
    } else {
        Err(Error::InvalidKey(format!(
            "{key:?} (NaN keys are not allowed)"
        )))
    }
}

fn check_bound<K: Key>(bound: Bound<&K>) -> Result<Bound<K>> {
    Ok(match bound {
        Bound::Included(k) => Bound::Included(check_key(*k)?),
        Bound::Excluded(k) => Bound::Excluded(check_key(*k)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// A consistent read view of the database: every batch committed before it was taken,
/// nothing after. Holds no lock; cheap to take and to keep (it keeps the memtables and
/// runs it saw alive).
#[derive(Debug, Clone)]
pub struct Snapshot<K: Key> {
    version: Arc<Version<K>>,
    seq: u64,
}

impl<K: Key> Snapshot<K> {
    pub(crate) fn new(version: Arc<Version<K>>, seq: u64) -> Self {
        Self { version, seq }
    }

    /// Sequence number of the first batch this snapshot does not see.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The value of `key`.
    pub fn get(&self, key: K) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Calls `f` on the value of `key` without copying it.
    pub fn get_with<R>(&self, key: K, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        let key = check_key(key)?;
        let mut f = Some(f);
        let mut call = |v: &[u8]| (f.take().expect("called once"))(v);
        for mem in &self.version.mems {
            if let Some(found) = mem.get_with(key, self.seq, &mut call) {
                return Ok(found_value(found));
            }
        }
        let image = key.to_ordered();
        BLOCK.with(|buf| {
            let mut buf = buf.borrow_mut();
            for run in &self.version.runs {
                if let Some(found) = run.get_with(image, &mut buf, &mut call)? {
                    return Ok(found_value(found));
                }
            }
            Ok(None)
        })
    }

    /// Calls `f(i, value)` for each of `keys` in order, `value` being what
    /// [`Snapshot::get_with`] would pass (`None` when absent). The keys need not be sorted.
    /// Lookups in runs read in place are started a few keys ahead, so their cache misses
    /// overlap.
    pub fn get_many_with(&self, keys: &[K], mut f: impl FnMut(usize, Option<&[u8]>)) -> Result<()> {
        const AHEAD: usize = 8;
        for &key in keys {
            check_key(key)?;
        }
        for (i, &key) in keys.iter().enumerate() {
            if let Some(&next) = keys.get(i + AHEAD) {
                let image = next.to_ordered();
                for run in &self.version.runs {
                    run.prefetch(image);
                }
            }
            if self.get_with(key, |v| f(i, Some(v)))?.is_none() {
                f(i, None);
            }
        }
        Ok(())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: K) -> Result<bool> {
        Ok(self.get_with(key, |_| ())?.is_some())
    }

    /// Calls `f` on each entry with a key in `range`, in key order, until it returns
    /// false. No lock is held while `f` runs: it may write to the database.
    pub fn scan(
        &self,
        range: impl RangeBounds<K>,
        mut f: impl FnMut(K, &[u8]) -> bool,
    ) -> Result<()> {
        let start = check_bound(range.start_bound())?;
        let end = check_bound(range.end_bound())?;
        let mut merge = self.merge_from(start)?;
        while let Some(key) = merge.next_live()? {
            let past = match end {
                Bound::Included(e) => key > e.to_ordered(),
                Bound::Excluded(e) => key >= e.to_ordered(),
                Bound::Unbounded => false,
            };
            if past {
                break;
            }
            let value = merge.value().unwrap_or_default();
            if !f(K::from_ordered(key), value) {
                break;
            }
            merge.advance()?;
        }
        Ok(())
    }

    /// Entries with keys in `range`, in key order.
    pub fn range(&self, range: impl RangeBounds<K>) -> Result<Vec<(K, Vec<u8>)>> {
        let mut out = Vec::new();
        self.scan(range, |k, v| {
            out.push((k, v.to_vec()));
            true
        })?;
        Ok(out)
    }

    /// Number of entries (a scan of the keys, except when one run holds everything).
    pub fn len(&self) -> Result<usize> {
        if let Some(run) = self.version.single_clean_run() {
            return Ok(run.entry_count() as usize);
        }
        let mut merge = self.merge_from(Bound::Unbounded)?;
        let mut n = 0usize;
        while merge.next_live()?.is_some() {
            n += 1;
            merge.advance()?;
        }
        Ok(n)
    }

    /// True when the snapshot holds no entry.
    pub fn is_empty(&self) -> Result<bool> {
        let mut merge = self.merge_from(Bound::Unbounded)?;
        Ok(merge.next_live()?.is_none())
    }

    fn merge_from(&self, start: Bound<K>) -> Result<Merge<K>> {
        let mut sources = Vec::with_capacity(self.version.mems.len() + self.version.runs.len());
        for mem in &self.version.mems {
            sources.push(Source::mem(Arc::clone(mem), start, self.seq));
        }
        let from = match start {
            Bound::Included(k) => Some(k.to_ordered()),
            Bound::Excluded(k) => k.to_ordered().checked_add(1),
            Bound::Unbounded => Some(0),
        };
        if let Some(from) = from {
            for run in &self.version.runs {
                sources.push(Source::Run(RunCursor::seek(Arc::clone(run), from)?));
            }
        }
        Ok(Merge::new(sources))
    }
}

fn found_value<R>(found: Found<R>) -> Option<R> {
    match found {
        Found::Value(v) => Some(v),
        Found::Deleted => None,
    }
}

/// Entries copied out of a memtable per refill.
const MEM_BATCH: usize = 128;

/// One input of a merge: a memtable read in batches, or a run cursor.
#[derive(Debug)]
pub enum Source<K: Key> {
    Mem {
        mem: Arc<Memtable<K>>,
        seq: u64,
        batch: Vec<(u64, Option<Vec<u8>>)>,
        pos: usize,
        done: bool,
    },
    Run(RunCursor),
}

impl<K: Key> Source<K> {
    fn mem(mem: Arc<Memtable<K>>, start: Bound<K>, seq: u64) -> Self {
        let batch = mem.collect(start, seq, MEM_BATCH);
        let done = batch.len() < MEM_BATCH;
        Source::Mem {
            mem,
            seq,
            batch,
            pos: 0,
            done,
        }
    }

    fn key(&self) -> Option<u64> {
        match self {
            Source::Mem { batch, pos, .. } => batch.get(*pos).map(|e| e.0),
            Source::Run(c) => c.key(),
        }
    }

    fn value(&self) -> Option<&[u8]> {
        match self {
            Source::Mem { batch, pos, .. } => batch.get(*pos).and_then(|e| e.1.as_deref()),
            Source::Run(c) => c.value(),
        }
    }

    fn advance(&mut self) -> Result<()> {
        match self {
            Source::Mem {
                mem,
                seq,
                batch,
                pos,
                done,
            } => {
                *pos += 1;
                if *pos == batch.len() && !*done {
                    let last = K::from_ordered(batch[*pos - 1].0);
                    *batch = mem.collect(Bound::Excluded(last), *seq, MEM_BATCH);
                    *done = batch.len() < MEM_BATCH;
                    *pos = 0;
                }
                Ok(())
            }
            Source::Run(c) => c.advance(),
        }
    }
}

/// Merges sources in key order; on equal keys the source listed first (the newest) wins
/// and the others are skipped.
#[derive(Debug)]
pub struct Merge<K: Key> {
    sources: Vec<Source<K>>,
    /// The source holding the current entry.
    current: Option<usize>,
}

impl<K: Key> Merge<K> {
    pub fn new(sources: Vec<Source<K>>) -> Self {
        let mut m = Merge {
            sources,
            current: None,
        };
        m.pick();
        m
    }

    fn pick(&mut self) {
        let mut best: Option<(u64, usize)> = None;
        for (i, s) in self.sources.iter().enumerate() {
            if let Some(k) = s.key() {
                if best.is_none_or(|(b, _)| k < b) {
                    best = Some((k, i));
                }
            }
        }
        self.current = best.map(|(_, i)| i);
    }

    /// The current key, tombstones included.
    pub fn key(&self) -> Option<u64> {
        self.current.and_then(|i| self.sources[i].key())
    }

    /// The current value; `None` for a tombstone.
    pub fn value(&self) -> Option<&[u8]> {
        self.current.and_then(|i| self.sources[i].value())
    }

    /// Moves past the current key in every source.
    pub fn advance(&mut self) -> Result<()> {
        let Some(key) = self.key() else {
            return Ok(());
        };
        for s in &mut self.sources {
            if s.key().is_some_and(|k| k.cmp(&key) == Ordering::Equal) {
                s.advance()?;
            }
        }
        self.pick();
        Ok(())
    }

    /// Skips tombstones; the current key, if any live entry is left.
    pub fn next_live(&mut self) -> Result<Option<u64>> {
        while let Some(k) = self.key() {
            if self.value().is_some() {
                return Ok(Some(k));
            }
            self.advance()?;
        }
        Ok(None)
    }
}
