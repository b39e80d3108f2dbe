//! The systems under test, behind one trait so another (the OmenDB database) is one more
//! implementation. A system owns at most one structure at a time; the runner times each
//! call, so every method runs its whole batch and returns a checksum of what it read.

mod fjall_db;
mod in_process;
mod omendb_db;
mod redb_db;
mod sqlite;

pub use fjall_db::{fjall_key, open_fjall, FjallSystem, FJALL_KEYSPACE};
pub use in_process::{AlexSystem, BTreeSystem};
pub use omendb_db::{dir_bytes, remove_dir_if_present, OmendbSystem};
pub use redb_db::{redb_err, RedbSystem, REDB_TABLE};
pub use sqlite::{
    key_from_sql, key_to_sql, remove_db_files, SqliteLayout, SqliteSchema, SqliteSystem,
};

use crate::error::BenchError;
use crate::workload::{Op, TxnMode, Workload};
use clap::ValueEnum;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Added to a checksum for a lookup that found nothing.
pub const FOLD_MISS: u64 = 0x9E37_79B9_7F4A_7C15;
/// Added to a checksum for an insert of a key that was not present.
pub const FOLD_NEW: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// Folds one answer into a checksum. Order-independent (wrapping sum), so any system that
/// answers every operation the same way gives the same checksum.
#[inline]
pub fn fold(acc: u64, answer: Option<u64>) -> u64 {
    acc.wrapping_add(answer.unwrap_or(FOLD_MISS))
}

/// Decodes a stored 8-byte value (little-endian u64), or says which key had another size.
pub fn value_of(key: u64, bytes: &[u8]) -> Result<u64, BenchError> {
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| BenchError::BadValue {
        key,
        len: bytes.len(),
    })?;
    Ok(u64::from_le_bytes(bytes))
}

/// Bytes of page or block cache an on-disk store gets for a table of `n` rows: comfortably
/// more than the table and its index (~64 bytes a row with B-tree overhead, doubled), plus
/// 64 MiB, so its reads are served from memory as OmenDB's are.
pub fn cache_bytes_for(n: usize) -> u64 {
    n as u64 * 128 + (64 << 20)
}

/// Bytes of the regular files under `dir`, subdirectories included (fjall keeps its
/// journals and tables in several).
pub fn tree_bytes(dir: &Path) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let meta = entry.metadata().ok()?;
        if meta.is_dir() {
            total += tree_bytes(&entry.path())?;
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    Some(total)
}

/// Removes a file, where present.
pub fn remove_file_if_present(path: &Path) -> Result<(), BenchError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BenchError::io(path, e)),
    }
}

/// A named sub-phase of a build (for SQLite's load-then-index path).
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
}

impl Phase {
    pub fn new(name: &'static str, d: Duration) -> Self {
        Phase {
            name,
            seconds: d.as_secs_f64(),
        }
    }
}

/// Memory a system reports beyond what the counting allocator sees.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ExternalMemory {
    /// `sqlite3_memory_used` (process-wide SQLite allocator bytes).
    pub sqlite_memory_bytes: Option<u64>,
    /// The database's files on disk (SQLite: database plus WAL; OmenDB, fjall: every file
    /// of its directory; redb: its one file).
    pub file_bytes: Option<u64>,
}

pub trait System {
    /// Stable identifier used on the command line and in JSON.
    fn id(&self) -> SystemId;
    /// Human label for tables (says what the figures include).
    fn label(&self) -> String {
        self.id().label().to_string()
    }
    fn supports(&self, w: Workload) -> bool;
    /// Builds from sorted, distinct pairs, replacing any previous structure. Returns
    /// sub-phase times when the build has distinct phases worth reporting.
    fn build_bulk(&mut self, sorted: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError>;
    /// Builds from empty by inserting `pairs` in the given (random) order.
    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError>;
    fn lookups(&mut self, keys: &[u64], mode: TxnMode) -> Result<u64, BenchError>;
    /// Whether the system has a batched lookup (`lookup_batches`): `Workload::LookupBatch`
    /// runs on those that have, whatever `supports` says.
    fn batches_lookups(&self) -> bool {
        false
    }
    /// The lookups of `keys`, in their order, through the system's batched lookup,
    /// `LOOKUP_BATCH` keys per call; folds the values as `lookups` does, so the checksums
    /// agree.
    fn lookup_batches(&mut self, _keys: &[u64]) -> Result<u64, BenchError> {
        Err(BenchError::Usage(format!(
            "{} has no batched lookup",
            self.id().name()
        )))
    }
    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError>;
    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError>;
    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError>;
    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError>;
    /// One put of a new key as its own commit, in the system's relaxed setting (systems that
    /// support `Workload::PutLatency`, which times each call).
    fn put(&mut self, _key: u64, _value: u64) -> Result<(), BenchError> {
        Err(BenchError::Usage(format!(
            "{} has no single-put commit",
            self.id().name()
        )))
    }
    /// Closes the structure and opens it again from its files, ready to answer (systems
    /// that support `Workload::Reopen`).
    fn reopen(&mut self) -> Result<(), BenchError> {
        Err(BenchError::Usage(format!(
            "{} cannot be reopened",
            self.id().name()
        )))
    }
    /// Number of keys held (checked after each build).
    fn key_count(&mut self) -> Result<usize, BenchError>;
    fn external_memory(&self) -> ExternalMemory {
        ExternalMemory::default()
    }
    /// AlexMap's own statistics.
    fn tree_stats(&self) -> Option<alex::TreeStats> {
        None
    }
    /// Drops the structure (and removes files).
    fn clear(&mut self) -> Result<(), BenchError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemId {
    /// AlexMap, default configuration (adaptive multi-level).
    Alex,
    /// AlexMap, Config::prototype_single_level().
    AlexSingle,
    /// AlexMap, Config::prototype_fixed_leaves(64).
    AlexFixed64,
    /// AlexMap, Config::read_mostly().
    AlexReadMostly,
    /// std::collections::BTreeMap.
    Btree,
    /// SQLite in memory, (k INTEGER PRIMARY KEY, v BLOB).
    SqliteMem,
    /// SQLite file, WAL, synchronous=NORMAL, (k INTEGER PRIMARY KEY, v BLOB).
    SqliteDisk,
    /// SQLite in memory, the prototype's path: table without key, load, then CREATE INDEX.
    SqliteMemIndex,
    /// The OmenDB database: a directory of runs, a manifest and a log, relaxed commits.
    Omendb,
    /// redb file, a copy-on-write B-tree, one write transaction per batch committed with
    /// Durability::Immediate; single puts with Durability::None.
    Redb,
    /// fjall LSM-tree directory, one write batch per batch, written to the OS, no fsync.
    Fjall,
}

impl SystemId {
    pub const ALL: [SystemId; 11] = [
        SystemId::Alex,
        SystemId::AlexSingle,
        SystemId::AlexFixed64,
        SystemId::AlexReadMostly,
        SystemId::Btree,
        SystemId::SqliteMem,
        SystemId::SqliteDisk,
        SystemId::SqliteMemIndex,
        SystemId::Omendb,
        SystemId::Redb,
        SystemId::Fjall,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SystemId::Alex => "alex",
            SystemId::AlexSingle => "alex-single",
            SystemId::AlexFixed64 => "alex-fixed64",
            SystemId::AlexReadMostly => "alex-read-mostly",
            SystemId::Btree => "btree",
            SystemId::SqliteMem => "sqlite-mem",
            SystemId::SqliteDisk => "sqlite-disk",
            SystemId::SqliteMemIndex => "sqlite-mem-index",
            SystemId::Omendb => "omendb",
            SystemId::Redb => "redb",
            SystemId::Fjall => "fjall",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SystemId::Alex => "AlexMap multi-level (default)",
            SystemId::AlexSingle => "AlexMap single-level (prototype shape)",
            SystemId::AlexFixed64 => "AlexMap fixed 64-key leaves (prototype shape)",
            SystemId::AlexReadMostly => "AlexMap read-mostly",
            SystemId::Btree => "std BTreeMap",
            SystemId::SqliteMem => "SQLite :memory: (INTEGER PRIMARY KEY)",
            SystemId::SqliteDisk => "SQLite file, WAL, synchronous=NORMAL (INTEGER PRIMARY KEY)",
            SystemId::SqliteMemIndex => {
                "SQLite :memory: no key, load then CREATE INDEX (prototype path)"
            }
            SystemId::Omendb => {
                "OmenDB database directory (runs, manifest, log), relaxed commits (fsync when a memtable is written out)"
            }
            SystemId::Redb => {
                "redb file, Durability::Immediate per batch (fsync per batch), Durability::None per \
                 single put (kept in process memory) (u64 key table)"
            }
            SystemId::Fjall => {
                "fjall LSM directory, PersistMode::Buffer (written to the OS per commit, no fsync) \
                 (big-endian byte keys)"
            }
        }
    }

    pub fn is_sqlite(self) -> bool {
        matches!(
            self,
            SystemId::SqliteMem | SystemId::SqliteDisk | SystemId::SqliteMemIndex
        )
    }

    /// Systems whose repetitions take `--sqlite-reps` (each rebuilds a table on disk or in
    /// SQLite's memory): SQLite, redb and fjall.
    pub fn uses_store_reps(self) -> bool {
        self.is_sqlite() || matches!(self, SystemId::Redb | SystemId::Fjall)
    }

    pub fn is_alex(self) -> bool {
        matches!(
            self,
            SystemId::Alex
                | SystemId::AlexSingle
                | SystemId::AlexFixed64
                | SystemId::AlexReadMostly
        )
    }

    /// Creates the system; `tmp_dir` holds on-disk databases.
    pub fn create(self, tmp_dir: &Path) -> Box<dyn System> {
        use alex::Config;
        match self {
            SystemId::Alex => Box::new(AlexSystem::new(self, Config::default())),
            SystemId::AlexSingle => {
                Box::new(AlexSystem::new(self, Config::prototype_single_level()))
            }
            SystemId::AlexFixed64 => {
                Box::new(AlexSystem::new(self, Config::prototype_fixed_leaves(64)))
            }
            SystemId::AlexReadMostly => Box::new(AlexSystem::new(self, Config::read_mostly())),
            SystemId::Btree => Box::new(BTreeSystem::default()),
            SystemId::SqliteMem => Box::new(SqliteSystem::new(
                self,
                SqliteLayout::Memory,
                SqliteSchema::PrimaryKey,
            )),
            SystemId::SqliteDisk => Box::new(SqliteSystem::new(
                self,
                SqliteLayout::File(
                    tmp_dir.join(format!("omendb-bench-{}.sqlite", std::process::id())),
                ),
                SqliteSchema::PrimaryKey,
            )),
            SystemId::SqliteMemIndex => Box::new(SqliteSystem::new(
                self,
                SqliteLayout::Memory,
                SqliteSchema::IndexAfterLoad,
            )),
            SystemId::Omendb => Box::new(OmendbSystem::new(
                tmp_dir.join(format!("omendb-bench-{}.omendb", std::process::id())),
            )),
            SystemId::Redb => Box::new(RedbSystem::new(
                tmp_dir.join(format!("omendb-bench-{}.redb", std::process::id())),
            )),
            SystemId::Fjall => Box::new(FjallSystem::new(
                tmp_dir.join(format!("omendb-bench-{}.fjall", std::process::id())),
            )),
        }
    }
}

/// The scenario every database system's test runs: keys at both ends of the `u64` range,
/// a scan across 2^63, a batch that reads its own writes, deletes of a key twice, a put,
/// and a reopen that must keep all of it.
#[cfg(test)]
pub(crate) mod map_scenario {
    use super::{fold, System, FOLD_MISS, FOLD_NEW};
    use crate::workload::{Op, TxnMode};

    /// Builds four pairs `(k, k ^ 7)`: 1, 5, 2^63 and `u64::MAX`.
    pub fn build_four(s: &mut dyn System) {
        let pairs: Vec<(u64, u64)> = [1u64, 5, 1 << 63, u64::MAX]
            .iter()
            .map(|&k| (k, k ^ 7))
            .collect();
        s.build_bulk(&pairs).unwrap();
        assert_eq!(s.key_count().unwrap(), 4);
    }

    /// After [`build_four`]: every answer, through a reopen, then `clear`.
    pub fn answers_like_a_map(s: &mut dyn System) {
        let want = fold(fold(fold(0, Some(5 ^ 7)), None), Some(u64::MAX ^ 7));
        assert_eq!(
            s.lookups(&[5, 6, u64::MAX], TxnMode::OneTransaction)
                .unwrap(),
            want
        );
        // Key order is integer order: from 2, the scan sees 5 then 2^63.
        let scan = s.range_scans(&[2], 2).unwrap();
        assert_eq!(scan, fold(fold(0, Some(5 ^ 7)), Some((1 << 63) ^ 7)));
        assert_eq!(s.inserts(&[(9, 90)]).unwrap(), FOLD_NEW);
        // A batch reads its own writes.
        let mixed = s
            .mixed(&[Op::Get(9), Op::Insert(10, 100), Op::Get(10)])
            .unwrap();
        assert_eq!(
            mixed,
            fold(fold(0, Some(90)), Some(100)).wrapping_add(FOLD_NEW)
        );
        assert_eq!(
            s.deletes(&[5, 5]).unwrap(),
            fold(fold(0, Some(5 ^ 7)), None)
        );
        s.put(11, 110).unwrap();
        s.reopen().unwrap();
        assert_eq!(s.key_count().unwrap(), 6);
        assert_eq!(
            s.lookups(&[9, 5, 11], TxnMode::OneTransaction).unwrap(),
            fold(fold(fold(0, Some(90)), None), Some(110))
        );
        assert_eq!(s.lookups(&[6], TxnMode::OneTransaction).unwrap(), FOLD_MISS);
        assert!(s.external_memory().file_bytes.unwrap() > 0);
        s.clear().unwrap();
    }
}
