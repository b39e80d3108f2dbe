//! The public database: [`Db`].
//!
//! Concurrency: readers take a read lock on the in-memory [`State`]. A writer queues its
//! batch on the log controller; the first writer to find the log free becomes the leader,
//! takes every queued batch, appends them and fsyncs *without* holding the state lock,
//! then applies them to the state under a short write lock, in log order. Readers
//! therefore never wait for an fsync and only ever see committed batches, whole.
//!
//! Failure: after any I/O error while writing, the log controller records the failure
//! and every later write returns [`Error::WritesDisabled`]; reads keep working on the
//! last committed state. Reopening runs recovery, which decides from the bytes on disk.

use crate::arena::Arena;
use crate::batch::{BatchOp, WriteBatch};
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::options::{Options, SyncMode};
use crate::recover::{recover, State};
use crate::snapshot::{write_snapshot, SNAPSHOT_NAME, SNAPSHOT_TMP};
use crate::storage::{FileStorage, LockGuard, Storage};
use crate::wal::format::{batch_encoded_len, LogHeader, MAX_PAYLOAD_LEN};
use crate::wal::writer::LogWriter;
use crate::wal::{log_name, parse_log_name};
use alex::{AlexMap, Key, TreeStats};
use std::cmp::Ordering;
use std::iter::Peekable;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::time::{Duration, Instant};

/// Longest a lone leader waits for the writers of the previous group (group commit).
const GATHER_PAUSE: Duration = Duration::from_micros(60);

/// Name of the lock file.
pub const LOCK_NAME: &str = "LOCK";

/// Group-commit state, guarded by `Db::log`.
#[derive(Debug)]
struct LogCtl<K> {
    /// The open log; `None` while a leader or a checkpoint owns it.
    writer: Option<LogWriter>,
    /// Batches waiting for a leader, tickets `queue_first..next_ticket`.
    queue: Vec<WriteBatch<K>>,
    queue_first: u64,
    next_ticket: u64,
    /// Every ticket below this is committed.
    done: u64,
    /// Batches in the last group committed (for the gathering pause).
    last_group: usize,
    /// `(first failed ticket, message)` once a write failed.
    failure: Option<(u64, String)>,
}

impl<K> LogCtl<K> {
    /// Records the first write failure: tickets from `first` on fail, and queued batches
    /// will never be written (their writers get the error).
    fn fail(&mut self, first: u64, error: &Error) {
        self.failure.get_or_insert((first, error.to_string()));
        self.queue.clear();
    }
}

/// Figures about an open database.
#[derive(Clone, Debug)]
pub struct DbStats {
    /// Key type of the database.
    pub key_type: KeyType,
    /// Entries.
    pub entries: usize,
    /// Bytes of live values.
    pub value_bytes: u64,
    /// Bytes of freed values not yet compacted away.
    pub free_value_bytes: u64,
    /// Heap bytes of the value arena.
    pub arena_heap_bytes: usize,
    /// Index statistics (its heap figure covers keys and 8-byte value handles).
    pub index: TreeStats,
    /// Number of the open log.
    pub log_number: u64,
    /// Bytes in the open log.
    pub log_bytes: u64,
    /// Sequence number the next batch gets.
    pub next_seq: u64,
    /// Commit mode.
    pub sync: SyncMode,
}

impl DbStats {
    /// Heap bytes per entry: index (keys, handles, slack, nodes) plus value arena.
    pub fn heap_bytes_per_entry(&self) -> f64 {
        if self.entries == 0 {
            return 0.0;
        }
        (self.index.heap.total() + self.arena_heap_bytes) as f64 / self.entries as f64
    }
}

/// An open database with keys of type `K` and byte-string values. `Send + Sync`: share
/// it between threads with an `Arc`.
pub struct Db<K: Key> {
    path: PathBuf,
    storage: Arc<dyn Storage>,
    key_type: KeyType,
    sync: SyncMode,
    auto_checkpoint: Option<u64>,
    state: RwLock<State<K>>,
    log: Mutex<LogCtl<K>>,
    log_turn: Condvar,
    _lock: LockGuard,
}

impl<K: Key> std::fmt::Debug for Db<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("key_type", &self.key_type)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

fn check_key<K: Key>(key: K) -> Result<K> {
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

/// Merges two strictly ascending runs; on equal keys the entry of `newer` wins.
struct Merge<'v, K: Key, A: Iterator<Item = (K, &'v [u8])>, B: Iterator<Item = (K, &'v [u8])>> {
    older: Peekable<A>,
    newer: Peekable<B>,
}

impl<'v, K: Key, A, B> Iterator for Merge<'v, K, A, B>
where
    A: Iterator<Item = (K, &'v [u8])>,
    B: Iterator<Item = (K, &'v [u8])>,
{
    type Item = (K, &'v [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.older.peek(), self.newer.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.0.to_ordered().cmp(&b.0.to_ordered()),
        };
        match order {
            Ordering::Less => self.older.next(),
            Ordering::Greater => self.newer.next(),
            Ordering::Equal => {
                self.older.next();
                self.newer.next()
            }
        }
    }
}

impl<K: Key> Db<K> {
    /// Opens (creating if missing) the database in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Options::default())
    }

    /// Opens the database in directory `path` with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let storage: Arc<dyn Storage> = match &options.storage {
            Some(s) => Arc::clone(s),
            None => {
                if !options.create_if_missing && !path.join(SNAPSHOT_NAME).exists() {
                    return Err(Error::NotFound(path));
                }
                let fs = FileStorage::new(&path, options.create_if_missing)
                    .map_err(|e| Error::io(path.display().to_string(), e))?;
                Arc::new(fs)
            }
        };
        let lock = storage
            .try_lock(LOCK_NAME)
            .map_err(|e| Error::io(LOCK_NAME, e))?
            .ok_or_else(|| Error::Locked(path.clone()))?;
        let exists = storage
            .exists(SNAPSHOT_NAME)
            .map_err(|e| Error::io(SNAPSHOT_NAME, e))?;
        let key_type = KeyType::of::<K>();
        let (state, writer) = if exists {
            if options.error_if_exists {
                return Err(Error::AlreadyExists(path));
            }
            Self::recover_for_writing(&*storage)?
        } else {
            if !options.create_if_missing {
                return Err(Error::NotFound(path));
            }
            Self::create_files(&*storage, key_type)?
        };
        Ok(Self {
            path,
            storage,
            key_type,
            sync: options.sync,
            auto_checkpoint: options.auto_checkpoint_log_bytes,
            state: RwLock::new(state),
            log: Mutex::new(LogCtl {
                writer: Some(writer),
                queue: Vec::new(),
                queue_first: 0,
                next_ticket: 0,
                done: 0,
                last_group: 0,
                failure: None,
            }),
            log_turn: Condvar::new(),
            _lock: lock,
        })
    }

    /// A new database: log 1 first, then the empty snapshot naming it (the snapshot's
    /// rename is the moment the database exists).
    fn create_files(storage: &dyn Storage, key_type: KeyType) -> Result<(State<K>, LogWriter)> {
        let header = LogHeader {
            key_type,
            log_number: 1,
            start_seq: 0,
        };
        let writer = LogWriter::create(storage, header)?;
        write_snapshot::<K>(storage, key_type, 0, 1, std::iter::empty())?;
        Ok((State::default(), writer))
    }

    /// Recovery, then tidying: stale logs and temp files go, a torn tail is cut off.
    fn recover_for_writing(storage: &dyn Storage) -> Result<(State<K>, LogWriter)> {
        let recovered = recover::<K>(storage)?;
        let mut tidied = false;
        for n in &recovered.stale_logs {
            let name = log_name(*n);
            storage.remove(&name).map_err(|e| Error::io(&name, e))?;
            tidied = true;
        }
        if storage
            .exists(SNAPSHOT_TMP)
            .map_err(|e| Error::io(SNAPSHOT_TMP, e))?
        {
            storage
                .remove(SNAPSHOT_TMP)
                .map_err(|e| Error::io(SNAPSHOT_TMP, e))?;
            tidied = true;
        }
        if tidied {
            storage.sync_dir().map_err(|e| Error::io("directory", e))?;
        }
        // recover() guarantees at least one log.
        let (number, scan) = recovered.logs.last().ok_or_else(|| {
            Error::corrupted(log_name(recovered.snapshot.log_number), 0, "missing log")
        })?;
        let writer = if scan.header_valid {
            LogWriter::reopen(storage, *number, scan.valid_len, scan.end_seq)?
        } else {
            let header = LogHeader {
                key_type: KeyType::of::<K>(),
                log_number: *number,
                start_seq: scan.end_seq,
            };
            LogWriter::create(storage, header)?
        };
        Ok((recovered.state, writer))
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State<K>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State<K>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_log(&self) -> MutexGuard<'_, LogCtl<K>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value of `key`.
    pub fn get(&self, key: K) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Calls `f` on the value of `key` without copying it (under the read lock: keep `f`
    /// short).
    pub fn get_with<R>(&self, key: K, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        let key = check_key(key)?;
        let state = self.read_state();
        Ok(state.index.get(&key).map(|h| f(state.arena.get(*h))))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: K) -> Result<bool> {
        let key = check_key(key)?;
        Ok(self.read_state().index.contains_key(&key))
    }

    /// Entries with keys in `range`, in key order (a consistent snapshot).
    pub fn range(&self, range: impl RangeBounds<K>) -> Result<Vec<(K, Vec<u8>)>> {
        let mut out = Vec::new();
        self.scan(range, |k, v| {
            out.push((k, v.to_vec()));
            true
        })?;
        Ok(out)
    }

    /// Every entry in key order.
    pub fn iter(&self) -> Result<Vec<(K, Vec<u8>)>> {
        self.range(..)
    }

    /// Calls `f` on each entry with a key in `range`, in key order, until it returns
    /// false. Runs under the read lock: other readers proceed, but committed writes wait
    /// to be applied until it returns, so keep `f` short, and never write to this
    /// database from inside `f` (the write would wait for this read to end: deadlock).
    pub fn scan(
        &self,
        range: impl RangeBounds<K>,
        mut f: impl FnMut(K, &[u8]) -> bool,
    ) -> Result<()> {
        let bounds = (
            check_bound(range.start_bound())?,
            check_bound(range.end_bound())?,
        );
        if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) =
            bounds
        {
            let both_inclusive = matches!(bounds, (Bound::Included(_), Bound::Included(_)));
            match a.to_ordered().cmp(&b.to_ordered()) {
                Ordering::Greater => return Ok(()),
                Ordering::Equal if !both_inclusive => return Ok(()),
                _ => {}
            }
        }
        let state = self.read_state();
        for (k, h) in state.index.range(bounds) {
            if !f(*k, state.arena.get(*h)) {
                break;
            }
        }
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read_state().index.len()
    }

    /// True when the database holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets `key` to `value`. Returns once durable (per [`SyncMode`]).
    pub fn put(&self, key: K, value: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value);
        self.write(batch)
    }

    /// Removes `key` (absent keys are fine). Returns once durable.
    pub fn delete(&self, key: K) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch)
    }

    /// Commits `batch` atomically. Returns once durable (per [`SyncMode`]); on error the
    /// batch may or may not be on disk, and the database refuses further writes.
    pub fn write(&self, batch: WriteBatch<K>) -> Result<()> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(());
        }
        if batch_encoded_len(&batch.ops) + 4 > MAX_PAYLOAD_LEN as usize {
            return Err(Error::TooLarge("batch exceeds the log record limit".into()));
        }
        let mut ctl = self.lock_log();
        if let Some((_, msg)) = &ctl.failure {
            return Err(Error::WritesDisabled(msg.clone()));
        }
        let ticket = ctl.next_ticket;
        ctl.next_ticket += 1;
        ctl.queue.push(batch);
        loop {
            if ctl.done > ticket {
                return Ok(());
            }
            if let Some((first, msg)) = &ctl.failure {
                if ticket >= *first {
                    return Err(Error::WritesDisabled(msg.clone()));
                }
            }
            let Some(mut writer) = ctl.writer.take() else {
                ctl = self
                    .log_turn
                    .wait(ctl)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            // Leader. Alone in the queue right after a group of several, it pauses briefly
            // (a fraction of an fsync) for that group's writers, which wake one by one on
            // few cores, so they share this fsync instead of each paying their own.
            if self.sync == SyncMode::Always && ctl.queue.len() == 1 && ctl.last_group > 1 {
                let deadline = Instant::now() + GATHER_PAUSE;
                while ctl.queue.len() < ctl.last_group && Instant::now() < deadline {
                    drop(ctl);
                    std::thread::yield_now();
                    ctl = self.lock_log();
                }
            }
            // Commit every queued batch, ours included.
            let group = std::mem::take(&mut ctl.queue);
            ctl.last_group = group.len();
            let group_first = ctl.queue_first;
            let group_end = ctl.next_ticket;
            ctl.queue_first = group_end;
            drop(ctl);
            let result = self.commit_group(&mut writer, &group);
            let checkpoint = match (&result, self.auto_checkpoint) {
                (Ok(()), Some(limit)) if writer.len() >= limit => {
                    Some(self.checkpoint_owned(&mut writer))
                }
                _ => None,
            };
            ctl = self.lock_log();
            ctl.writer = Some(writer);
            match &result {
                Ok(()) => ctl.done = group_end,
                Err(e) => ctl.fail(group_first, e),
            }
            if let Some(Err(e)) = &checkpoint {
                ctl.fail(group_end, e);
            }
            self.log_turn.notify_all();
            drop(ctl);
            return result;
        }
    }

    /// Appends `group` as one or more records (each batch whole in one record), syncs,
    /// then applies it to the state.
    fn commit_group(&self, writer: &mut LogWriter, group: &[WriteBatch<K>]) -> Result<()> {
        let mut start = 0;
        while start < group.len() {
            let mut size = 4usize;
            let mut end = start;
            while end < group.len() {
                let len = batch_encoded_len(&group[end].ops);
                if end > start && size + len > MAX_PAYLOAD_LEN as usize {
                    break;
                }
                size += len;
                end += 1;
            }
            writer.append(group[start..end].iter().map(|b| b.ops.as_slice()))?;
            start = end;
        }
        if self.sync == SyncMode::Always {
            writer.sync()?;
        }
        let mut state = self.write_state();
        for batch in group {
            for op in &batch.ops {
                match op {
                    BatchOp::Put(k, v) => state.put(*k, v),
                    BatchOp::Delete(k) => state.delete(*k),
                }
            }
        }
        Ok(())
    }

    /// Waits for and takes the log for exclusive use.
    fn acquire_log(&self) -> Result<LogWriter> {
        let mut ctl = self.lock_log();
        loop {
            if let Some((_, msg)) = &ctl.failure {
                return Err(Error::WritesDisabled(msg.clone()));
            }
            if let Some(writer) = ctl.writer.take() {
                return Ok(writer);
            }
            ctl = self
                .log_turn
                .wait(ctl)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Returns the log; a failed operation disables writes from here on.
    fn release_log<T>(&self, writer: LogWriter, result: Result<T>) -> Result<T> {
        let mut ctl = self.lock_log();
        ctl.writer = Some(writer);
        if let Err(e) = &result {
            let first = ctl.queue_first;
            ctl.fail(first, e);
        }
        self.log_turn.notify_all();
        result
    }

    /// Makes every acknowledged write durable (needed only in [`SyncMode::Relaxed`]).
    pub fn flush(&self) -> Result<()> {
        let mut writer = self.acquire_log()?;
        let result = writer.sync();
        self.release_log(writer, result)
    }

    /// Writes a snapshot of the current contents and starts a new, empty log.
    pub fn checkpoint(&self) -> Result<()> {
        let mut writer = self.acquire_log()?;
        let result = self.checkpoint_owned(&mut writer);
        self.release_log(writer, result)
    }

    /// Checkpoint steps, with the log owned by the caller (no commit can run):
    /// sync the old log, create the next log, install the snapshot naming it, delete the
    /// old logs, compact the arena if it is holey.
    fn checkpoint_owned(&self, writer: &mut LogWriter) -> Result<()> {
        writer.sync()?;
        let next = self.next_log(writer)?;
        {
            let state = self.read_state();
            let entries = state.index.iter().map(|(k, h)| (*k, state.arena.get(*h)));
            write_snapshot(
                &*self.storage,
                self.key_type,
                next.next_seq(),
                next.log_number(),
                entries,
            )?;
        }
        *writer = next;
        self.remove_logs_before(writer.log_number())?;
        self.compact_if_holey();
        Ok(())
    }

    fn next_log(&self, writer: &LogWriter) -> Result<LogWriter> {
        let header = LogHeader {
            key_type: self.key_type,
            log_number: writer.log_number() + 1,
            start_seq: writer.next_seq(),
        };
        LogWriter::create(&*self.storage, header)
    }

    fn remove_logs_before(&self, first_kept: u64) -> Result<()> {
        let names = self.storage.list().map_err(|e| Error::io("directory", e))?;
        for name in names {
            if parse_log_name(&name).is_some_and(|n| n < first_kept) {
                self.storage
                    .remove(&name)
                    .map_err(|e| Error::io(&name, e))?;
            }
        }
        self.storage
            .sync_dir()
            .map_err(|e| Error::io("directory", e))
    }

    /// Rebuilds the arena when freed bytes pass a quarter of it. Runs with the log owned,
    /// so the index cannot change between the copy and the swap.
    fn compact_if_holey(&self) {
        let (fresh, handles) = {
            let state = self.read_state();
            if !state.arena.wants_compaction() {
                return;
            }
            state.arena.compacted(state.index.values().copied())
        };
        let mut state = self.write_state();
        let State { index, arena } = &mut *state;
        for (slot, handle) in index.values_mut().zip(handles) {
            *slot = handle;
        }
        *arena = fresh;
    }

    /// Adds `entries` all-or-nothing: they (overriding existing keys, later duplicates
    /// winning) and the current contents are written as a new snapshot, installed by one
    /// atomic rename, and the index is rebuilt by bulk load. Returns the entry count
    /// afterwards.
    ///
    /// Values are anything byte-like (`Vec<u8>`, `&[u8]`, `[u8; 8]`), so a caller that
    /// has them in another buffer pays no allocation per entry. Input already in key order
    /// costs one pass to confirm it.
    pub fn import<V: AsRef<[u8]>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<usize> {
        let mut entries: Vec<(K, V)> = entries.into_iter().collect();
        let mut batch_check = WriteBatch::new();
        for (k, v) in &entries {
            check_key(*k)?;
            if v.as_ref().len() > crate::batch::MAX_VALUE_LEN {
                batch_check.put(*k, v);
                batch_check.validate()?;
            }
        }
        entries.sort_by_key(|(k, _)| k.to_ordered());
        // Keep the last of each run of equal keys (the sort is stable): `dedup_by` drops
        // the later element, so move its value into the kept one first.
        entries.dedup_by(|later, kept| {
            let same = later.0.to_ordered() == kept.0.to_ordered();
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        let mut writer = self.acquire_log()?;
        let result = self.import_owned(&mut writer, &entries);
        self.release_log(writer, result)
    }

    fn import_owned<V: AsRef<[u8]>>(
        &self,
        writer: &mut LogWriter,
        imported: &[(K, V)],
    ) -> Result<usize> {
        writer.sync()?;
        let next = self.next_log(writer)?;
        let (index, arena) = {
            let state = self.read_state();
            let merged = || Merge {
                older: state
                    .index
                    .iter()
                    .map(|(k, h)| (*k, state.arena.get(*h)))
                    .peekable(),
                newer: imported.iter().map(|(k, v)| (*k, v.as_ref())).peekable(),
            };
            write_snapshot(
                &*self.storage,
                self.key_type,
                next.next_seq(),
                next.log_number(),
                merged(),
            )?;
            let mut arena = Arena::new();
            let pairs: Vec<_> = merged().map(|(k, v)| (k, arena.alloc(v))).collect();
            let index = AlexMap::bulk_load(pairs).map_err(|e| Error::Invariant(e.to_string()))?;
            (index, arena)
        };
        let len = index.len();
        *self.write_state() = State { index, arena };
        *writer = next;
        self.remove_logs_before(writer.log_number())?;
        Ok(len)
    }

    /// Figures about the database.
    pub fn stats(&self) -> DbStats {
        let (log_number, log_bytes, next_seq) = {
            let mut ctl = self.lock_log();
            loop {
                if let Some(w) = &ctl.writer {
                    break (w.log_number(), w.len(), w.next_seq());
                }
                ctl = self
                    .log_turn
                    .wait(ctl)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let state = self.read_state();
        DbStats {
            key_type: self.key_type,
            entries: state.index.len(),
            value_bytes: state.arena.live_bytes(),
            free_value_bytes: state.arena.free_bytes(),
            arena_heap_bytes: state.arena.heap_bytes(),
            index: state.index.stats(),
            log_number,
            log_bytes,
            next_seq,
            sync: self.sync,
        }
    }

    /// Flushes and closes the database, releasing its lock.
    pub fn close(self) -> Result<()> {
        self.flush()
    }
}

impl<K: Key> Drop for Db<K> {
    fn drop(&mut self) {
        if self.sync == SyncMode::Relaxed {
            let mut ctl = self.lock_log();
            if let Some(writer) = ctl.writer.as_mut() {
                // Best effort: an error here is reported by the next open's recovery.
                let _ = writer.sync();
            }
        }
    }
}
