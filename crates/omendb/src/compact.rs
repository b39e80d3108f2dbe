//! The engine's shared state and its background work: freezing the active memtable,
//! flushing frozen memtables to level-0 runs, merging runs by the level policy, importing,
//! and every manifest switch. Shared by the [`crate::Db`] handle and two worker threads.
//!
//! Level policy (leveled, one run per level below 0): level 0 holds flushed memtables and
//! imported chunks, which may overlap; once it has [`L0_MERGE_RUNS`] runs they are merged
//! with level 1 into a new level-1 run. Level `i >= 1` may hold `level_base_bytes * 8^(i-1)`
//! bytes; a larger run is merged into level `i + 1`. Tombstones are dropped by a merge
//! whose output has no run below it. Why leveled by default rather than tiered
//! ([`MergePolicy::Tiered`], [`TIER_RUNS`] runs a tier): reads probe one run per level,
//! and the write amplification this costs is measured (docs/design.md).
//!
//! Lock order: `files`, then `current`; `work` is never held while taking another.

use crate::batch::MAX_VALUE_LEN;
use crate::db::{DbStats, RunStats};
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::manifest::{write_manifest, Manifest, RunEntry};
use crate::memtable::Memtable;
use crate::options::{MergePolicy, Options, SyncMode};
use crate::run::{run_name, Run, RunCursor, RunMeta, RunWriter};
use crate::storage::Storage;
use crate::version::{check_key, Merge, Snapshot, Source, Version};
use crate::wal::format::LogHeader;
use crate::wal::parse_log_name;
use crate::wal::writer::LogWriter;
use crate::WriteBatch;
use alex::Key;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// Level-0 runs that start a merge into level 1.
pub const L0_MERGE_RUNS: usize = 4;
/// Level-0 runs at which writers wait for the merge.
pub const L0_STALL_RUNS: usize = 16;
/// Frozen memtables at which writers wait for a flush.
pub const MAX_FROZEN: usize = 2;
/// Growth factor between levels.
pub const LEVEL_RATIO: u64 = 8;

/// Runs a tier holds before they are merged into the next (tiered policy).
pub const TIER_RUNS: usize = 4;
/// Entries a merge writes between checks for shutdown.
const SHUTDOWN_CHECK: u64 = 4096;

struct Current<K: Key> {
    version: Arc<Version<K>>,
    /// Every batch below this sequence is applied and visible.
    visible_seq: u64,
}

struct Files {
    manifest: Manifest,
    open: HashMap<u64, Arc<Run>>,
}

impl Files {
    fn alloc_file(&mut self) -> u64 {
        let n = self.manifest.next_file;
        self.manifest.next_file += 1;
        n
    }

    fn runs(&self) -> Vec<Arc<Run>> {
        self.manifest
            .runs
            .iter()
            .filter_map(|r| self.open.get(&r.file_number).cloned())
            .collect()
    }
}

#[derive(Default)]
struct Work {
    shutdown: bool,
    failure: Option<String>,
    merge_wanted: bool,
}

/// A merge to run: its inputs (newest first), the output level, and whether tombstones
/// can go.
struct Plan {
    inputs: Vec<u64>,
    level: u32,
    drop_tombstones: bool,
    /// One run with nothing at the levels it passes: the manifest moves it, no rewrite.
    trivial_move: bool,
}

/// State shared by the database handle and its workers.
pub(crate) struct Shared<K: Key> {
    pub storage: Arc<dyn Storage>,
    pub key_type: KeyType,
    log_preallocate: u64,
    freeze_bytes: Option<u64>,
    level_base_bytes: u64,
    merge_policy: MergePolicy,
    import_chunk_bytes: usize,
    current: RwLock<Current<K>>,
    files: Mutex<Files>,
    /// Held by whoever plans and runs a merge, from the plan to the switch: one merge at
    /// a time, and no plan goes stale.
    merging: Mutex<()>,
    work: Mutex<Work>,
    work_cv: Condvar,
    /// Level-0 runs in the manifest, kept beside it so writers check the backlog without
    /// the `files` lock (held across manifest writes).
    l0_runs: AtomicU64,
    bytes_logged: AtomicU64,
    bytes_flushed: AtomicU64,
    bytes_merged: AtomicU64,
    bytes_imported: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn entry_of(meta: &RunMeta, level: u32) -> RunEntry {
    RunEntry {
        file_number: meta.file_number,
        level,
        entry_count: meta.entry_count,
        file_len: meta.file_len,
        min_key: meta.min_key,
        max_key: meta.max_key,
    }
}

impl<K: Key> Shared<K> {
    pub fn new(
        storage: Arc<dyn Storage>,
        options: &Options,
        manifest: Manifest,
        runs: Vec<Arc<Run>>,
        mem: Memtable<K>,
    ) -> Self {
        let visible_seq = mem.end_seq();
        let l0 = manifest.runs.iter().filter(|r| r.level == 0).count();
        let open = runs
            .iter()
            .map(|r| (r.file_number(), Arc::clone(r)))
            .collect();
        let freeze_bytes = options.auto_checkpoint_log_bytes;
        Self {
            key_type: manifest.key_type,
            storage,
            log_preallocate: options.log_preallocate_bytes,
            freeze_bytes,
            level_base_bytes: options.level_base_bytes.max(1),
            merge_policy: options.merge_policy,
            import_chunk_bytes: options.import_chunk_bytes.max(1),
            current: RwLock::new(Current {
                version: Arc::new(Version {
                    mems: vec![Arc::new(mem)],
                    runs,
                }),
                visible_seq,
            }),
            files: Mutex::new(Files { manifest, open }),
            merging: Mutex::new(()),
            work: Mutex::new(Work {
                merge_wanted: true,
                ..Work::default()
            }),
            work_cv: Condvar::new(),
            l0_runs: AtomicU64::new(l0 as u64),
            bytes_logged: AtomicU64::new(0),
            bytes_flushed: AtomicU64::new(0),
            bytes_merged: AtomicU64::new(0),
            bytes_imported: AtomicU64::new(0),
        }
    }

    fn version(&self) -> Arc<Version<K>> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .version,
        )
    }

    pub fn snapshot(&self) -> Snapshot<K> {
        let c = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot::new(Arc::clone(&c.version), c.visible_seq)
    }

    /// Wakes the workers and anyone waiting for them.
    fn signal(&self) {
        let _w = lock(&self.work);
        self.work_cv.notify_all();
    }

    fn fail(&self, e: &Error) {
        let mut w = lock(&self.work);
        w.failure.get_or_insert_with(|| e.to_string());
        self.work_cv.notify_all();
    }

    /// An error once a background flush or merge failed.
    pub fn check_background(&self) -> Result<()> {
        match &lock(&self.work).failure {
            Some(msg) => Err(Error::WritesDisabled(msg.clone())),
            None => Ok(()),
        }
    }

    pub fn count_logged(&self, bytes: u64) {
        self.bytes_logged.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Applies a committed group to the active memtable and makes it visible. Called by
    /// the leader, which owns the log, so the active memtable cannot change meanwhile.
    pub fn apply(&self, first_seq: u64, group: &[WriteBatch<K>]) {
        let version = self.version();
        version.mems[0].apply_group(first_seq, group);
        self.current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .visible_seq = first_seq + group.len() as u64;
    }

    /// After a commit: freezes the active memtable when it passed its budget, then waits
    /// while flushes or merges are too far behind.
    pub fn after_commit(&self, writer: &mut LogWriter) -> Result<()> {
        let active = Arc::clone(&self.version().mems[0]);
        if self
            .freeze_bytes
            .is_some_and(|limit| active.bytes() as u64 >= limit)
        {
            self.freeze(writer)?;
        }
        self.wait_for_room()
    }

    /// Starts the next log and puts a new active memtable in front of the old, now frozen
    /// one. The old log is sealed first: cut to its last record (only the newest log may
    /// end in zeros) and synced, since the next log's header names the sequence it starts
    /// at, and an old log that lost its tail in a power cut would leave a gap where
    /// recovery must find a prefix of the commits.
    fn freeze(&self, writer: &mut LogWriter) -> Result<()> {
        writer.seal()?;
        let header = LogHeader {
            key_type: self.key_type,
            log_number: writer.log_number() + 1,
            start_seq: writer.next_seq(),
        };
        *writer = LogWriter::create(&*self.storage, header)?.preallocating(self.log_preallocate);
        let mem = Memtable::new(writer.log_number());
        mem.set_end_seq(writer.next_seq());
        {
            let mut c = self.current.write().unwrap_or_else(PoisonError::into_inner);
            let mut mems = vec![Arc::new(mem)];
            mems.extend(c.version.mems.iter().cloned());
            c.version = Arc::new(Version {
                mems,
                runs: c.version.runs.clone(),
            });
        }
        self.signal();
        Ok(())
    }

    fn backlog(&self) -> (usize, usize) {
        let frozen = self.version().mems.len() - 1;
        (frozen, self.l0_runs.load(Ordering::Relaxed) as usize)
    }

    /// Waits until `done` holds of (frozen memtables, level-0 runs), or a worker failed.
    fn wait_until(&self, done: impl Fn(usize, usize) -> bool) -> Result<()> {
        loop {
            let (frozen, l0) = self.backlog();
            let w = lock(&self.work);
            if let Some(msg) = &w.failure {
                return Err(Error::WritesDisabled(msg.clone()));
            }
            if done(frozen, l0) {
                return Ok(());
            }
            // A worker signals under the lock after each step; the timeout covers a
            // step that finished between the count and the wait.
            drop(
                self.work_cv
                    .wait_timeout(w, Duration::from_millis(5))
                    .unwrap_or_else(PoisonError::into_inner),
            );
        }
    }

    fn wait_for_room(&self) -> Result<()> {
        let room = |frozen: usize, l0: usize| frozen <= MAX_FROZEN && l0 < L0_STALL_RUNS;
        // The common case, on every commit, without the `work` lock; a worker failure is
        // seen by the next commit's check.
        let (frozen, l0) = self.backlog();
        if room(frozen, l0) {
            return Ok(());
        }
        self.wait_until(room)
    }

    /// Freezes a non-empty active memtable and waits until every frozen one is written.
    pub fn checkpoint_owned(&self, writer: &mut LogWriter) -> Result<()> {
        if self.version().mems[0].is_empty() {
            writer.sync()?;
        } else {
            self.freeze(writer)?;
        }
        self.wait_until(|frozen, _| frozen == 0)
    }

    /// Bytes of writes held in all memtables (what a reopen would replay).
    pub fn memtable_bytes(&self) -> usize {
        self.version().mems.iter().map(|m| m.bytes()).sum()
    }

    fn oldest_frozen(&self) -> Option<Arc<Memtable<K>>> {
        let v = self.version();
        (v.mems.len() > 1).then(|| Arc::clone(v.mems.last().expect("two or more")))
    }

    /// Replaces the published version's runs by the manifest's, and its memtables by
    /// `mems(old)`.
    fn publish(
        &self,
        files: &Files,
        mems: impl FnOnce(&[Arc<Memtable<K>>]) -> Vec<Arc<Memtable<K>>>,
    ) {
        let l0 = files.manifest.runs.iter().filter(|r| r.level == 0).count();
        self.l0_runs.store(l0 as u64, Ordering::Relaxed);
        let runs = files.runs();
        let mut c = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let mems = mems(&c.version.mems);
        c.version = Arc::new(Version { mems, runs });
    }

    /// Writes `entries` as a new run, or nothing when there are none.
    fn write_run(
        &self,
        file_number: u64,
        fill: impl FnOnce(&mut RunWriter) -> Result<()>,
    ) -> Result<Option<(RunMeta, Arc<Run>)>> {
        let mut w = RunWriter::create(&*self.storage, file_number, self.key_type)?;
        let name = w.name().to_string();
        let filled = fill(&mut w);
        if filled.is_err() || w.entries() == 0 {
            drop(w);
            let _ = self.storage.remove(&name);
            return filled.map(|()| None);
        }
        let meta = w.finish()?;
        let run = Run::open(&*self.storage, file_number, self.key_type)?;
        run.mark_written_here();
        Ok(Some((meta, Arc::new(run))))
    }

    fn remove_files(&self, names: impl IntoIterator<Item = String>) -> Result<()> {
        for name in names {
            self.storage
                .remove(&name)
                .map_err(|e| Error::io(&name, e))?;
        }
        self.storage
            .sync_dir()
            .map_err(|e| Error::io("directory", e))
    }

    /// Writes the oldest frozen memtable out as a level-0 run and switches the manifest
    /// to it and the logs after it.
    fn flush(&self, mem: &Arc<Memtable<K>>) -> Result<()> {
        let file_number = lock(&self.files).alloc_file();
        let written = self.write_run(file_number, |w| mem.for_each_newest(|k, v| w.add(k, v)))?;
        self.storage
            .sync_dir()
            .map_err(|e| Error::io("directory", e))?;
        let mut files = lock(&self.files);
        let mut m = files.manifest.clone();
        if let Some((meta, _)) = &written {
            m.runs.insert(0, entry_of(meta, 0));
        }
        m.log_number = mem.last_log() + 1;
        m.next_seq = mem.end_seq();
        write_manifest(&*self.storage, &m)?;
        let first_log = m.log_number;
        files.manifest = m;
        if let Some((meta, run)) = written {
            self.bytes_flushed
                .fetch_add(meta.file_len, Ordering::Relaxed);
            files.open.insert(meta.file_number, run);
        }
        // The logs go before the memtable leaves the version, so whoever waits for the
        // flush (a checkpoint) finds them gone.
        let names = self.storage.list().map_err(|e| Error::io("directory", e))?;
        self.remove_files(
            names
                .into_iter()
                .filter(|n| parse_log_name(n).is_some_and(|l| l < first_log)),
        )?;
        self.publish(&files, |mems| {
            mems.iter()
                .filter(|m| !Arc::ptr_eq(m, mem))
                .cloned()
                .collect()
        });
        Ok(())
    }

    fn pick(&self) -> Option<Plan> {
        let files = lock(&self.files);
        let runs = &files.manifest.runs;
        if self.merge_policy == MergePolicy::Tiered {
            return pick_tiered(runs);
        }
        // A level below 0 holding several runs (left by the tiered policy) is first merged
        // into one, so that each level again holds one run.
        if let Some(level) = runs
            .windows(2)
            .find(|w| w[0].level >= 1 && w[0].level == w[1].level)
            .map(|w| w[0].level)
        {
            let inputs: Vec<u64> = runs
                .iter()
                .filter(|r| r.level == level)
                .map(|r| r.file_number)
                .collect();
            let drop_tombstones = nothing_below(runs, &inputs, level);
            return Some(Plan {
                inputs,
                level,
                drop_tombstones,
                trivial_move: false,
            });
        }
        let l0: Vec<u64> = runs
            .iter()
            .filter(|r| r.level == 0)
            .map(|r| r.file_number)
            .collect();
        let at_level = |level: u32| runs.iter().find(|r| r.level == level);
        let (inputs, level) = if l0.len() >= L0_MERGE_RUNS {
            let mut inputs = l0;
            inputs.extend(at_level(1).map(|r| r.file_number));
            (inputs, 1)
        } else {
            let over = runs
                .iter()
                .find(|r| r.level >= 1 && r.file_len > self.level_limit(r.level))?;
            if let Some(below) = at_level(over.level + 1) {
                (vec![over.file_number, below.file_number], over.level + 1)
            } else {
                // Nothing directly below: move it down to where it fits, short of the next
                // run below, without rewriting it.
                let next = runs
                    .iter()
                    .map(|r| r.level)
                    .filter(|&l| l > over.level)
                    .min();
                let mut level = over.level + 1;
                while over.file_len > self.level_limit(level) && next != Some(level + 1) {
                    level += 1;
                }
                return Some(Plan {
                    inputs: vec![over.file_number],
                    level,
                    drop_tombstones: false,
                    trivial_move: true,
                });
            }
        };
        let drop_tombstones = nothing_below(runs, &inputs, level);
        Some(Plan {
            inputs,
            level,
            drop_tombstones,
            trivial_move: false,
        })
    }

    /// Bytes level `level >= 1` may hold.
    fn level_limit(&self, level: u32) -> u64 {
        self.level_base_bytes
            .saturating_mul(LEVEL_RATIO.saturating_pow(level.saturating_sub(1)))
    }

    /// Moves a run to a deeper level in the manifest only.
    fn move_run(&self, plan: &Plan) -> Result<()> {
        let mut files = lock(&self.files);
        let mut m = files.manifest.clone();
        for r in m.runs.iter_mut() {
            if plan.inputs.contains(&r.file_number) {
                r.level = plan.level;
            }
        }
        // Stable: level-0 runs keep their order, newest first.
        m.runs.sort_by_key(|r| r.level);
        write_manifest(&*self.storage, &m)?;
        files.manifest = m;
        self.publish(&files, <[_]>::to_vec);
        Ok(())
    }

    /// Merges the plan's runs into one run at its level and switches the manifest.
    /// The caller holds `merging` from picking the plan to here, so no other merge
    /// replaced its inputs meanwhile.
    fn merge(&self, plan: Plan) -> Result<()> {
        if plan.trivial_move {
            return self.move_run(&plan);
        }
        let (inputs, file_number) = {
            let mut files = lock(&self.files);
            let inputs: Option<Vec<Arc<Run>>> = plan
                .inputs
                .iter()
                .map(|n| files.open.get(n).cloned())
                .collect();
            (inputs, files.alloc_file())
        };
        let inputs = inputs.ok_or_else(|| Error::Invariant("merge input not open".into()))?;
        let mut sources = Vec::with_capacity(inputs.len());
        for run in &inputs {
            sources.push(Source::<K>::Run(RunCursor::seek(Arc::clone(run), 0)?));
        }
        let mut merge = Merge::new(sources);
        let mut stopped = false;
        let written = self.write_run(file_number, |w| {
            let mut n = 0u64;
            while let Some(k) = merge.key() {
                let v = merge.value();
                if v.is_some() || !plan.drop_tombstones {
                    w.add(k, v)?;
                }
                merge.advance()?;
                n += 1;
                if n % SHUTDOWN_CHECK == 0 && lock(&self.work).shutdown {
                    stopped = true;
                    return Err(Error::Invariant("merge stopped by shutdown".into()));
                }
            }
            Ok(())
        });
        let written = match written {
            Err(_) if stopped => return Ok(()),
            other => other?,
        };
        self.storage
            .sync_dir()
            .map_err(|e| Error::io("directory", e))?;
        {
            let mut files = lock(&self.files);
            let mut m = files.manifest.clone();
            m.runs.retain(|r| !plan.inputs.contains(&r.file_number));
            if let Some((meta, _)) = &written {
                // First in its level: a merge's output is newer than any run left there
                // (tiered levels hold several runs, newest first).
                let at = m
                    .runs
                    .iter()
                    .position(|r| r.level >= plan.level)
                    .unwrap_or(m.runs.len());
                m.runs.insert(at, entry_of(meta, plan.level));
            }
            write_manifest(&*self.storage, &m)?;
            files.manifest = m;
            for n in &plan.inputs {
                files.open.remove(n);
            }
            if let Some((meta, run)) = written {
                self.bytes_merged
                    .fetch_add(meta.file_len, Ordering::Relaxed);
                files.open.insert(meta.file_number, run);
            }
            self.publish(&files, <[_]>::to_vec);
        }
        self.remove_files(plan.inputs.iter().map(|&n| run_name(n)))?;
        self.signal();
        Ok(())
    }

    /// Merges every run into one at the deepest level in use (at least 1).
    pub fn compact_all(&self) -> Result<()> {
        let _one = lock(&self.merging);
        let plan = {
            let files = lock(&self.files);
            let runs = &files.manifest.runs;
            if runs.is_empty() || (runs.len() == 1 && runs[0].level > 0) {
                // One run below level 0 may still hold tombstones worth dropping.
                let clean = runs.first().is_none_or(|r| {
                    files
                        .open
                        .get(&r.file_number)
                        .is_some_and(|run| run.tombstones() == 0)
                });
                if clean {
                    return Ok(());
                }
            }
            Plan {
                inputs: runs.iter().map(|r| r.file_number).collect(),
                level: runs.iter().map(|r| r.level).max().unwrap_or(1).max(1),
                drop_tombstones: true,
                trivial_move: false,
            }
        };
        self.merge(plan)
    }

    /// Imports with the log owned: memtables are written out first (so the imported
    /// entries are newer than everything), then the entries stream into runs, and one
    /// manifest switch makes them live.
    pub fn import_owned<V: AsRef<[u8]>>(
        &self,
        writer: &mut LogWriter,
        entries: impl Iterator<Item = Result<(K, V)>>,
    ) -> Result<usize> {
        self.checkpoint_owned(writer)?;
        let mut written: Vec<(RunMeta, Arc<Run>)> = Vec::new();
        let result = self.import_runs(entries, &mut written);
        let count = match result {
            Ok(n) => n,
            Err(e) => {
                let _ = self.remove_files(written.iter().map(|(m, _)| run_name(m.file_number)));
                return Err(e);
            }
        };
        if written.is_empty() {
            return Ok(count);
        }
        {
            let mut files = lock(&self.files);
            let mut m = files.manifest.clone();
            // Written oldest first; newest first in the manifest. A single run into an
            // empty database goes straight to the first level below 0 that fits it.
            let level = if m.runs.is_empty() && written.len() == 1 {
                let mut level = 1;
                while written[0].0.file_len > self.level_limit(level) {
                    level += 1;
                }
                level
            } else {
                0
            };
            for (meta, _) in &written {
                m.runs.insert(0, entry_of(meta, level));
            }
            if let Err(e) = write_manifest(&*self.storage, &m) {
                drop(files);
                let _ = self.remove_files(written.iter().map(|(m, _)| run_name(m.file_number)));
                return Err(e);
            }
            files.manifest = m;
            for (meta, run) in written {
                self.bytes_imported
                    .fetch_add(meta.file_len, Ordering::Relaxed);
                files.open.insert(meta.file_number, run);
            }
            self.publish(&files, <[_]>::to_vec);
        }
        lock(&self.work).merge_wanted = true;
        self.signal();
        Ok(count)
    }

    fn import_runs<V: AsRef<[u8]>>(
        &self,
        entries: impl Iterator<Item = Result<(K, V)>>,
        written: &mut Vec<(RunMeta, Arc<Run>)>,
    ) -> Result<usize> {
        let mut count = 0usize;
        // Sorted input streams into `sorted`; from the first key out of order on, entries
        // are gathered in chunks, each sorted and written as a run of its own.
        let mut sorted = Some(RunWriter::create(
            &*self.storage,
            lock(&self.files).alloc_file(),
            self.key_type,
        )?);
        let mut last: Option<u64> = None;
        let mut chunk: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut chunk_bytes = 0usize;
        for item in entries {
            let (key, value) = item?;
            let key = check_key(key)?;
            let value = value.as_ref();
            if value.len() > MAX_VALUE_LEN {
                return Err(Error::TooLarge(format!(
                    "value of {} bytes for key {key:?} exceeds the limit of {MAX_VALUE_LEN}",
                    value.len()
                )));
            }
            count += 1;
            let image = key.to_ordered();
            if let Some(w) = sorted.as_mut() {
                if last.is_none_or(|l| image > l) {
                    last = Some(image);
                    w.add(image, Some(value))?;
                    continue;
                }
                let w = sorted.take().expect("checked");
                self.finish_import_run(w, written)?;
            }
            chunk_bytes += value.len() + 48;
            chunk.push((image, value.to_vec()));
            if chunk_bytes >= self.import_chunk_bytes {
                self.write_chunk(&mut chunk, written)?;
                chunk_bytes = 0;
            }
        }
        if let Some(w) = sorted {
            self.finish_import_run(w, written)?;
        }
        self.write_chunk(&mut chunk, written)?;
        Ok(count)
    }

    fn finish_import_run(
        &self,
        w: RunWriter,
        written: &mut Vec<(RunMeta, Arc<Run>)>,
    ) -> Result<()> {
        if w.entries() == 0 {
            let name = w.name().to_string();
            drop(w);
            return self.remove_files([name]);
        }
        let meta = w.finish()?;
        self.storage
            .sync_dir()
            .map_err(|e| Error::io("directory", e))?;
        let run = Run::open(&*self.storage, meta.file_number, self.key_type)?;
        run.mark_written_here();
        written.push((meta, Arc::new(run)));
        Ok(())
    }

    /// Sorts a chunk (stable, so the last of equal keys is kept) and writes it as a run.
    fn write_chunk(
        &self,
        chunk: &mut Vec<(u64, Vec<u8>)>,
        written: &mut Vec<(RunMeta, Arc<Run>)>,
    ) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        chunk.sort_by_key(|e| e.0);
        let file_number = lock(&self.files).alloc_file();
        let mut w = RunWriter::create(&*self.storage, file_number, self.key_type)?;
        for (i, (k, v)) in chunk.iter().enumerate() {
            if chunk.get(i + 1).is_some_and(|next| next.0 == *k) {
                continue;
            }
            w.add(*k, Some(v))?;
        }
        chunk.clear();
        self.finish_import_run(w, written)
    }

    pub fn stats(
        &self,
        sync: SyncMode,
        log_number: u64,
        log_bytes: u64,
        next_seq: u64,
    ) -> Result<DbStats> {
        let runs = {
            let files = lock(&self.files);
            files
                .manifest
                .runs
                .iter()
                .filter_map(|e| {
                    let run = files.open.get(&e.file_number)?;
                    Some(RunStats {
                        name: run.name().to_string(),
                        level: e.level,
                        entries: run.entry_count(),
                        tombstones: run.tombstones(),
                        file_bytes: run.file_len(),
                        heap_bytes: run.heap_bytes(),
                    })
                })
                .collect()
        };
        let version = self.version();
        let entries = self.snapshot().len()?;
        Ok(DbStats {
            key_type: self.key_type,
            entries,
            memtables: version.mems.len(),
            memtable_keys: version.mems.iter().map(|m| m.len()).sum(),
            memtable_heap_bytes: version.mems.iter().map(|m| m.heap_bytes()).sum(),
            index: version.mems[0].index_stats(),
            runs,
            log_number,
            log_bytes,
            next_seq,
            sync,
            bytes_logged: self.bytes_logged.load(Ordering::Relaxed),
            bytes_flushed: self.bytes_flushed.load(Ordering::Relaxed),
            bytes_merged: self.bytes_merged.load(Ordering::Relaxed),
            bytes_imported: self.bytes_imported.load(Ordering::Relaxed),
        })
    }

    pub fn shut_down(&self) {
        lock(&self.work).shutdown = true;
        self.work_cv.notify_all();
    }
}

fn flush_loop<K: Key>(shared: &Shared<K>) {
    loop {
        let mem = {
            let mut w = lock(&shared.work);
            loop {
                if w.shutdown || w.failure.is_some() {
                    return;
                }
                if let Some(mem) = shared.oldest_frozen() {
                    break mem;
                }
                w = shared
                    .work_cv
                    .wait(w)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        match shared.flush(&mem) {
            Ok(()) => {
                lock(&shared.work).merge_wanted = true;
                shared.signal();
            }
            Err(e) => shared.fail(&e),
        }
    }
}

/// True when no run outside `inputs` lies at `level` or below: a merge into `level` then
/// sees every older version of its keys, and may drop tombstones.
fn nothing_below(runs: &[RunEntry], inputs: &[u64], level: u32) -> bool {
    !runs
        .iter()
        .any(|r| r.level >= level && !inputs.contains(&r.file_number))
}

/// Tiered policy: the shallowest level holding [`TIER_RUNS`] runs or more is merged, all
/// of its runs, into one run at the next level.
fn pick_tiered(runs: &[RunEntry]) -> Option<Plan> {
    let deepest = runs.iter().map(|r| r.level).max()?;
    let level =
        (0..=deepest).find(|&l| runs.iter().filter(|r| r.level == l).count() >= TIER_RUNS)?;
    let inputs: Vec<u64> = runs
        .iter()
        .filter(|r| r.level == level)
        .map(|r| r.file_number)
        .collect();
    let drop_tombstones = nothing_below(runs, &inputs, level + 1);
    Some(Plan {
        inputs,
        level: level + 1,
        drop_tombstones,
        trivial_move: false,
    })
}

fn merge_loop<K: Key>(shared: &Shared<K>) {
    loop {
        {
            let mut w = lock(&shared.work);
            loop {
                if w.shutdown || w.failure.is_some() {
                    return;
                }
                if w.merge_wanted {
                    w.merge_wanted = false;
                    break;
                }
                w = shared
                    .work_cv
                    .wait(w)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        // One merge at a time, each planned under the same hold of `merging` that runs
        // it (Db::compact merges too).
        loop {
            let one = lock(&shared.merging);
            let Some(plan) = shared.pick() else {
                break;
            };
            if let Err(e) = shared.merge(plan) {
                shared.fail(&e);
                return;
            }
            drop(one);
            if lock(&shared.work).shutdown {
                return;
            }
        }
    }
}

/// Starts the flush and merge threads.
pub(crate) fn start_workers<K: Key>(shared: &Arc<Shared<K>>) -> Result<Vec<JoinHandle<()>>> {
    let spawn = |name: &str, f: fn(&Shared<K>)| {
        let shared = Arc::clone(shared);
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || f(&shared))
            .map_err(|e| Error::io("thread", e))
    };
    Ok(vec![
        spawn("omendb-flush", flush_loop::<K>)?,
        spawn("omendb-merge", merge_loop::<K>)?,
    ])
}
