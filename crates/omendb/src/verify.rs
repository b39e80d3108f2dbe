//! Read-only checking of a database directory: every checksum, every validity rule of
//! docs/design.md, and the index's structural invariants after loading.

use crate::db::LOCK_NAME;
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::recover::{recover, stored_key_type};
use crate::storage::{FileStorage, Storage};
use crate::wal::log_name;
use alex::Key;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// What [`verify`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Key type recorded in the files.
    pub key_type: KeyType,
    /// Entries after replaying the logs.
    pub entries: usize,
    /// Entries in the snapshot.
    pub snapshot_entries: u64,
    /// Log files read.
    pub log_files: usize,
    /// Log records read.
    pub log_records: u64,
    /// Batches in those records.
    pub log_batches: u64,
    /// A torn tail that opening would drop: `(file, offset, length)`.
    pub torn_tail: Option<(String, u64, u64)>,
    /// Logs left over from a finished checkpoint (opening deletes them).
    pub stale_logs: usize,
}

/// The key type of the database at `path`.
pub fn key_type_at(path: impl AsRef<Path>) -> Result<KeyType> {
    let path = path.as_ref();
    if !path.join(crate::snapshot::SNAPSHOT_NAME).exists() {
        return Err(Error::NotFound(path.to_path_buf()));
    }
    let storage =
        FileStorage::new(path, false).map_err(|e| Error::io(path.display().to_string(), e))?;
    stored_key_type(&storage)
}

/// Checks the database at `path` without changing it. Takes the database lock.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport> {
    let path = path.as_ref();
    if !path.join(crate::snapshot::SNAPSHOT_NAME).exists() {
        return Err(Error::NotFound(path.to_path_buf()));
    }
    let storage =
        FileStorage::new(path, false).map_err(|e| Error::io(path.display().to_string(), e))?;
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
    let index = &recovered.state.index;
    catch_unwind(AssertUnwindSafe(|| index.check())).map_err(|panic| {
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
    Ok(VerifyReport {
        key_type: KeyType::of::<K>(),
        entries: index.len(),
        snapshot_entries: recovered.snapshot.entry_count,
        log_files: recovered.logs.len(),
        log_records: recovered.logs.iter().map(|(_, s)| s.records).sum(),
        log_batches: recovered.logs.iter().map(|(_, s)| s.batches).sum(),
        torn_tail,
        stale_logs: recovered.stale_logs.len(),
    })
}
