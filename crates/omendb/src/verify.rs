//! Read-only checking of a database directory: every checksum and validity rule of
//! docs/design.md (manifest, every block of every run, the logs), and the memtable
//! index's structural invariants after replay.

use crate::db::LOCK_NAME;
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::manifest::MANIFEST_NAME;
use crate::recover::{recover, stored_key_type};
use crate::snapshot::SNAPSHOT_NAME;
use crate::storage::{FileStorage, Storage};
use crate::version::{Snapshot, Version};
use crate::wal::log_name;
use alex::Key;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

/// What [`verify`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Key type recorded in the files.
    pub key_type: KeyType,
    /// Live entries after replaying the logs.
    pub entries: usize,
    /// Runs the manifest names.
    pub runs: usize,
    /// Entries in those runs, tombstones included.
    pub run_entries: u64,
    /// Blocks read and checked.
    pub run_blocks: u64,
    /// Log files read.
    pub log_files: usize,
    /// Log records read.
    pub log_records: u64,
    /// Batches in those records.
    pub log_batches: u64,
    /// A torn tail that opening would drop: `(file, offset, length)`.
    pub torn_tail: Option<(String, u64, u64)>,
    /// Logs already written out as runs (opening deletes them).
    pub stale_logs: usize,
    /// Run files no manifest names (opening deletes them).
    pub orphan_runs: usize,
}

fn require_database(path: &Path) -> Result<FileStorage> {
    if !path.join(MANIFEST_NAME).exists() {
        if path.join(SNAPSHOT_NAME).exists() {
            return Err(Error::UnsupportedVersion {
                file: format!(
                    "{} (first-engine format; opening it converts it)",
                    SNAPSHOT_NAME
                ),
                version: 1,
            });
        }
        return Err(Error::NotFound(path.to_path_buf()));
    }
    FileStorage::new(path, false).map_err(|e| Error::io(path.display().to_string(), e))
}

/// The key type of the database at `path`.
pub fn key_type_at(path: impl AsRef<Path>) -> Result<KeyType> {
    let path = path.as_ref();
    if !path.join(MANIFEST_NAME).exists() && path.join(SNAPSHOT_NAME).exists() {
        let storage =
            FileStorage::new(path, false).map_err(|e| Error::io(path.display().to_string(), e))?;
        return Ok(crate::snapshot::read_header(&storage)?.key_type);
    }
    stored_key_type(&require_database(path)?)
}

/// Checks the database at `path` without changing it. Takes the database lock.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport> {
    let path = path.as_ref();
    let storage = require_database(path)?;
    let _lock = storage
        .try_lock(LOCK_NAME)
        .map_err(|e| Error::io(LOCK_NAME, e))?
        .ok_or_else(|| Error::Locked(path.to_path_buf()))?;
    verify_storage(&storage)
}

/// [`verify`] on any backend (the caller holds the lock).
pub fn verify_storage(storage: &dyn Storage) -> Result<VerifyReport> {
    match stored_key_type(storage)? {
        KeyType::U64 => verify_typed::<u64>(storage),
        KeyType::I64 => verify_typed::<i64>(storage),
        KeyType::U32 => verify_typed::<u32>(storage),
        KeyType::I32 => verify_typed::<i32>(storage),
        KeyType::F64 => verify_typed::<f64>(storage),
        KeyType::F32 => verify_typed::<f32>(storage),
    }
}

fn verify_typed<K: Key>(storage: &dyn Storage) -> Result<VerifyReport> {
    let recovered = recover::<K>(storage)?;
    let mut run_blocks = 0u64;
    for run in &recovered.runs {
        run.verify_all()?;
        run_blocks += run.block_count() as u64;
    }
    let mem = &recovered.mem;
    catch_unwind(AssertUnwindSafe(|| mem.check())).map_err(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "check() failed".into());
        Error::Invariant(msg)
    })?;
    let torn_tail = recovered
        .logs
        .iter()
        .find_map(|(n, scan)| scan.torn.map(|(off, len)| (log_name(*n), off, len)));
    let run_entries = recovered.runs.iter().map(|r| r.entry_count()).sum();
    let runs = recovered.runs.len();
    let logs = &recovered.logs;
    let report = VerifyReport {
        key_type: KeyType::of::<K>(),
        entries: 0,
        runs,
        run_entries,
        run_blocks,
        log_files: logs.len(),
        log_records: logs.iter().map(|(_, s)| s.records).sum(),
        log_batches: logs.iter().map(|(_, s)| s.batches).sum(),
        torn_tail,
        stale_logs: recovered.stale_logs.len(),
        orphan_runs: recovered.orphan_runs.len(),
    };
    let version = Version {
        mems: vec![Arc::new(recovered.mem)],
        runs: recovered.runs,
    };
    let entries = Snapshot::new(Arc::new(version), u64::MAX).len()?;
    Ok(VerifyReport { entries, ..report })
}
