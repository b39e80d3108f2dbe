//! The public database: [`Db`].
//!
//! Layers: recent writes go to the log and then to the active memtable; a memtable that
//! passes its budget is frozen (a new log and memtable take over) and a background thread
//! writes it out as a run; another background thread merges runs by the level policy in
//! `compact.rs`. The manifest, switched atomically, names the live runs and the first log
//! to replay. Readers take a [`Snapshot`] (an `Arc` of the live memtables and runs and a
//! sequence number) and read without holding any lock a writer waits on.
//!
//! Group commit: a writer queues its batch; the first writer to find the log free becomes
//! the leader, takes every queued batch, appends them and fsyncs *without* holding any
//! lock readers need, then applies them to the active memtable and publishes the new
//! visible sequence. Readers therefore never wait for an fsync and only ever see committed
//! batches, whole.
//!
//! Failure: after any I/O error while writing (here or in a background flush or merge),
//! every later write returns [`Error::WritesDisabled`]; reads keep working on the last
//! committed state. Reopening runs recovery, which decides from the bytes on disk.

use crate::batch::WriteBatch;
use crate::compact::{self, Shared};
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::manifest::{write_manifest, Manifest, MANIFEST_NAME, MANIFEST_TMP};
use crate::memtable::Memtable;
use crate::options::{Options, SyncMode};
use crate::recover::recover;
use crate::snapshot::{SNAPSHOT_NAME, SNAPSHOT_TMP};
use crate::storage::{FileStorage, LockGuard, Storage};
use crate::version::Snapshot;
use crate::wal::format::{batch_encoded_len, LogHeader, MAX_PAYLOAD_LEN};
use crate::wal::log_name;
use crate::wal::writer::LogWriter;
use alex::{Key, TreeStats};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest a lone leader waits for the writers of the previous group (group commit).
const GATHER_PAUSE: Duration = Duration::from_micros(60);

/// Name of the lock file.
pub const LOCK_NAME: &str = "LOCK";

/// Writes held in memtables above which [`Db::close`] writes them out as runs.
pub const CLOSE_CHECKPOINT_BYTES: usize = 1 << 20;

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
        // A background failure arrives already wrapped; keep its cause only.
        let cause = match error {
            Error::WritesDisabled(cause) => cause.clone(),
            e => e.to_string(),
        };
        self.failure.get_or_insert((first, cause));
        self.queue.clear();
    }
}

/// One run as [`DbStats`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStats {
    /// File name.
    pub name: String,
    /// Level (0: flushed memtables; each deeper level holds one run).
    pub level: u32,
    /// Entries, tombstones included.
    pub entries: u64,
    /// Tombstones.
    pub tombstones: u64,
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Heap bytes held for it (fences, block offsets, model, verified-block bits).
    pub heap_bytes: usize,
}

/// Figures about an open database.
#[derive(Clone, Debug)]
pub struct DbStats {
    /// Key type of the database.
    pub key_type: KeyType,
    /// Live entries (counted by a scan unless one run holds everything).
    pub entries: usize,
    /// Memtables: the active one and those frozen and waiting for their flush.
    pub memtables: usize,
    /// Keys held in memtables (each key once per memtable).
    pub memtable_keys: usize,
    /// Heap bytes of the memtables (index, versions, values).
    pub memtable_heap_bytes: usize,
    /// Statistics of the active memtable's index.
    pub index: TreeStats,
    /// Live runs, newest first.
    pub runs: Vec<RunStats>,
    /// Number of the open log.
    pub log_number: u64,
    /// Bytes in the open log.
    pub log_bytes: u64,
    /// Sequence number the next batch gets.
    pub next_seq: u64,
    /// Commit mode.
    pub sync: SyncMode,
    /// Bytes appended to logs since open.
    pub bytes_logged: u64,
    /// Bytes of runs written by flushes since open.
    pub bytes_flushed: u64,
    /// Bytes of runs written by merges since open.
    pub bytes_merged: u64,
    /// Bytes of runs written by imports since open.
    pub bytes_imported: u64,
}

impl DbStats {
    /// Heap bytes held for runs.
    pub fn run_heap_bytes(&self) -> usize {
        self.runs.iter().map(|r| r.heap_bytes).sum()
    }

    /// Bytes of run files.
    pub fn run_file_bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.file_bytes).sum()
    }

    /// Heap bytes per live entry: memtables plus what runs hold in memory.
    pub fn heap_bytes_per_entry(&self) -> f64 {
        if self.entries == 0 {
            return 0.0;
        }
        (self.memtable_heap_bytes + self.run_heap_bytes()) as f64 / self.entries as f64
    }

    /// Bytes written to disk (logs, flushes, merges) per byte logged, since open;
    /// `None` before anything was logged.
    pub fn write_amplification(&self) -> Option<f64> {
        (self.bytes_logged > 0).then(|| {
            (self.bytes_logged + self.bytes_flushed + self.bytes_merged) as f64
                / self.bytes_logged as f64
        })
    }
}

/// An open database with keys of type `K` and byte-string values. `Send + Sync`: share
/// it between threads with an `Arc`.
pub struct Db<K: Key> {
    path: PathBuf,
    shared: Arc<Shared<K>>,
    sync: SyncMode,
    log: Mutex<LogCtl<K>>,
    log_turn: Condvar,
    workers: Vec<JoinHandle<()>>,
    _lock: LockGuard,
}

impl<K: Key> std::fmt::Debug for Db<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("key_type", &self.shared.key_type)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
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
                if !options.create_if_missing
                    && !path.join(MANIFEST_NAME).exists()
                    && !path.join(SNAPSHOT_NAME).exists()
                {
                    return Err(Error::NotFound(path));
                }
                let fs = FileStorage::new(&path, options.create_if_missing)
                    .map_err(|e| Error::io(path.display().to_string(), e))?
                    .with_mmap(options.mmap);
                Arc::new(fs)
            }
        };
        let lock = storage
            .try_lock(LOCK_NAME)
            .map_err(|e| Error::io(LOCK_NAME, e))?
            .ok_or_else(|| Error::Locked(path.clone()))?;
        let exists_file = |name: &str| storage.exists(name).map_err(|e| Error::io(name, e));
        let key_type = KeyType::of::<K>();
        if !exists_file(MANIFEST_NAME)? && exists_file(SNAPSHOT_NAME)? {
            crate::migrate::snapshot_to_run::<K>(&*storage)?;
        }
        let (shared, writer) = if exists_file(MANIFEST_NAME)? {
            if options.error_if_exists {
                return Err(Error::AlreadyExists(path));
            }
            Self::recover_for_writing(storage, &options)?
        } else {
            if !options.create_if_missing {
                return Err(Error::NotFound(path));
            }
            Self::create_files(storage, key_type, &options)?
        };
        let shared = Arc::new(shared);
        let workers = compact::start_workers(&shared)?;
        Ok(Self {
            path,
            shared,
            sync: options.sync,
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
            workers,
            _lock: lock,
        })
    }

    /// A new database: log 1 first, then the empty manifest naming it (the manifest's
    /// rename is the moment the database exists).
    fn create_files(
        storage: Arc<dyn Storage>,
        key_type: KeyType,
        options: &Options,
    ) -> Result<(Shared<K>, LogWriter)> {
        let header = LogHeader {
            key_type,
            log_number: 1,
            start_seq: 0,
        };
        let writer =
            LogWriter::create(&*storage, header)?.preallocating(options.log_preallocate_bytes);
        let manifest = Manifest {
            key_type,
            next_seq: 0,
            log_number: 1,
            next_file: 1,
            runs: Vec::new(),
        };
        write_manifest(&*storage, &manifest)?;
        let shared = Shared::new(storage, options, manifest, Vec::new(), Memtable::new(1));
        Ok((shared, writer))
    }

    /// Recovery, then tidying: stale logs, orphan runs and temp files go, a torn tail is
    /// cut off.
    fn recover_for_writing(
        storage: Arc<dyn Storage>,
        options: &Options,
    ) -> Result<(Shared<K>, LogWriter)> {
        let recovered = recover::<K>(&*storage)?;
        let mut doomed: Vec<String> = recovered.stale_logs.iter().map(|n| log_name(*n)).collect();
        doomed.extend(recovered.orphan_runs.iter().cloned());
        for name in [MANIFEST_TMP, SNAPSHOT_TMP, SNAPSHOT_NAME] {
            if storage.exists(name).map_err(|e| Error::io(name, e))? {
                doomed.push(name.to_string());
            }
        }
        for name in &doomed {
            storage.remove(name).map_err(|e| Error::io(name, e))?;
        }
        if !doomed.is_empty() {
            storage.sync_dir().map_err(|e| Error::io("directory", e))?;
        }
        // recover() guarantees at least one log.
        let (number, scan) = recovered.logs.last().ok_or_else(|| {
            Error::corrupted(log_name(recovered.manifest.log_number), 0, "missing log")
        })?;
        let writer = if scan.header_valid {
            LogWriter::reopen(&*storage, *number, scan.valid_len, scan.end_seq)?
        } else {
            let header = LogHeader {
                key_type: KeyType::of::<K>(),
                log_number: *number,
                start_seq: scan.end_seq,
            };
            LogWriter::create(&*storage, header)?
        }
        .preallocating(options.log_preallocate_bytes);
        let shared = Shared::new(
            storage,
            options,
            recovered.manifest,
            recovered.runs,
            recovered.mem,
        );
        Ok((shared, writer))
    }

    fn lock_log(&self) -> MutexGuard<'_, LogCtl<K>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent read view: every batch committed before this call, none after. It
    /// holds no lock; writers, flushes and merges go on while it is read.
    pub fn snapshot(&self) -> Snapshot<K> {
        self.shared.snapshot()
    }

    /// The value of `key`.
    pub fn get(&self, key: K) -> Result<Option<Vec<u8>>> {
        self.snapshot().get(key)
    }

    /// Calls `f` on the value of `key` without copying it.
    pub fn get_with<R>(&self, key: K, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.snapshot().get_with(key, f)
    }

    /// The values of `keys`, in their order, from one snapshot; `None` for a key that is
    /// absent. Faster than a `get` per key: the snapshot is taken once and lookups are
    /// overlapped (see [`Snapshot::get_many_with`]).
    pub fn get_many(&self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = vec![None; keys.len()];
        self.snapshot()
            .get_many_with(keys, |i, v| out[i] = v.map(<[u8]>::to_vec))?;
        Ok(out)
    }

    /// Calls `f(i, value)` for each of `keys` in order without copying the values, from
    /// one snapshot (see [`Snapshot::get_many_with`]).
    pub fn get_many_with(&self, keys: &[K], f: impl FnMut(usize, Option<&[u8]>)) -> Result<()> {
        self.snapshot().get_many_with(keys, f)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: K) -> Result<bool> {
        self.snapshot().contains_key(key)
    }

    /// Entries with keys in `range`, in key order (a consistent snapshot).
    pub fn range(&self, range: impl RangeBounds<K>) -> Result<Vec<(K, Vec<u8>)>> {
        self.snapshot().range(range)
    }

    /// Every entry in key order.
    pub fn iter(&self) -> Result<Vec<(K, Vec<u8>)>> {
        self.range(..)
    }

    /// Calls `f` on each entry with a key in `range`, in key order, until it returns
    /// false. Reads a snapshot taken when the call starts; no lock is held while `f` runs,
    /// so `f` may write to this database (its writes are not seen by this scan).
    pub fn scan(&self, range: impl RangeBounds<K>, f: impl FnMut(K, &[u8]) -> bool) -> Result<()> {
        self.snapshot().scan(range, f)
    }

    /// Number of entries. Counts by a scan of the keys unless a single run holds
    /// everything: O(entries).
    pub fn len(&self) -> Result<usize> {
        self.snapshot().len()
    }

    /// True when the database holds no entry.
    pub fn is_empty(&self) -> Result<bool> {
        self.snapshot().is_empty()
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
            let after = match &result {
                Ok(()) => self.shared.after_commit(&mut writer),
                Err(_) => Ok(()),
            };
            ctl = self.lock_log();
            ctl.writer = Some(writer);
            match &result {
                Ok(()) => ctl.done = group_end,
                Err(e) => ctl.fail(group_first, e),
            }
            if let Err(e) = &after {
                ctl.fail(group_end, e);
            }
            self.log_turn.notify_all();
            drop(ctl);
            return result;
        }
    }

    /// Appends `group` as one or more records (each batch whole in one record), syncs,
    /// then applies it to the active memtable and makes it visible.
    fn commit_group(&self, writer: &mut LogWriter, group: &[WriteBatch<K>]) -> Result<()> {
        self.shared.check_background()?;
        let first_seq = writer.next_seq();
        let before = writer.len();
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
        self.shared.count_logged(writer.len() - before);
        self.shared.apply(first_seq, group);
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

    /// Writes the memtables out as runs and waits for it: afterwards the log holds
    /// nothing older than this call and opening replays nothing.
    pub fn checkpoint(&self) -> Result<()> {
        let mut writer = self.acquire_log()?;
        let result = self.shared.checkpoint_owned(&mut writer);
        self.release_log(writer, result)
    }

    /// Merges every run into one (tombstones dropped) and waits for it.
    pub fn compact(&self) -> Result<()> {
        self.checkpoint()?;
        self.shared.compact_all()
    }

    /// Adds `entries` all-or-nothing, overriding existing keys (later duplicates win).
    /// Streams: sorted input is written straight into one run; unsorted input is sorted
    /// in chunks of a bounded size, each written as a run; one manifest switch then makes
    /// all of them live at once. Returns the number of entries read.
    ///
    /// Values are anything byte-like (`Vec<u8>`, `&[u8]`, `[u8; 8]`), so a caller that
    /// has them in another buffer pays no allocation per entry.
    pub fn import<V: AsRef<[u8]>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<usize> {
        self.try_import(entries.into_iter().map(Ok))
    }

    /// [`Db::import`] from a source that can fail (a file being parsed): the first
    /// error aborts the import, and nothing of it becomes visible.
    pub fn try_import<V: AsRef<[u8]>>(
        &self,
        entries: impl IntoIterator<Item = Result<(K, V)>>,
    ) -> Result<usize> {
        let mut writer = self.acquire_log()?;
        let result = self.shared.import_owned(&mut writer, entries.into_iter());
        // A failed read of the source is the caller's error, not a storage failure.
        match result {
            Err(e @ (Error::InvalidKey(_) | Error::TooLarge(_) | Error::BadInput(_))) => {
                self.release_log(writer, Ok(()))?;
                Err(e)
            }
            other => self.release_log(writer, other),
        }
    }

    /// Figures about the database.
    pub fn stats(&self) -> Result<DbStats> {
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
        self.shared
            .stats(self.sync, log_number, log_bytes, next_seq)
    }

    /// Closes the database, releasing its lock. Memtables holding more than
    /// [`CLOSE_CHECKPOINT_BYTES`] of writes are written out first (a [`Db::checkpoint`]), so
    /// the next open replays little log; smaller ones stay in the synced log, so a short
    /// session (one `omendb put`) leaves no run of its own. Dropping a `Db` instead only
    /// syncs a relaxed log.
    pub fn close(self) -> Result<()> {
        if self.shared.memtable_bytes() > CLOSE_CHECKPOINT_BYTES {
            self.checkpoint()?;
        }
        // The log is left ending at its last record, without the zeros written ahead.
        let mut writer = self.acquire_log()?;
        let result = writer.seal();
        self.release_log(writer, result)
    }
}

impl<K: Key> Drop for Db<K> {
    fn drop(&mut self) {
        self.shared.shut_down();
        for worker in self.workers.drain(..) {
            // A worker that panicked has already recorded nothing more to do.
            let _ = worker.join();
        }
        if self.sync == SyncMode::Relaxed {
            let mut ctl = self.lock_log();
            if let Some(writer) = ctl.writer.as_mut() {
                // Best effort: an error here is reported by the next open's recovery.
                let _ = writer.sync();
            }
        }
    }
}
