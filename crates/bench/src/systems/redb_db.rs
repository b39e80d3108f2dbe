//! redb (`redb::Database`): a copy-on-write B-tree in one file, table `u64 -> &[u8]` holding
//! the 8-byte little-endian values as byte strings, as OmenDB and SQLite hold them. u64 keys
//! are redb's own fixed-width key type, compared as integers.
//!
//! Commits: redb has no commit that is written to the OS without an fsync (OmenDB's relaxed
//! commits, SQLite's `synchronous=NORMAL`); it has `Durability::Immediate` (pages written and
//! fsynced at commit) and `Durability::None` (the commit becomes visible, its pages stay in
//! redb's memory, and pages it frees cannot be reused until a durable commit). Every batch of
//! operations is one write transaction, as SQLite file's batches are, committed `Immediate`:
//! one fsync per batch, as SQLite pays one at the WAL checkpoint its batch's pages trigger. A
//! chain of `None` batches instead grows the file (freed pages cannot be reused) into one
//! scattered over many extents, slow to delete between repetitions (BENCHMARKS.md). A single put
//! (the put-latency workload) is its own write transaction with `Durability::None`, as an fsync
//! per put is the durability table's figure (`durability.rs`). A bulk build is one write
//! transaction committed `Immediate`; closing the database persists the `None` commits.

use super::{
    cache_bytes_for, fold, remove_file_if_present, value_of, ExternalMemory, Phase, System,
    SystemId, FOLD_NEW,
};
use crate::error::BenchError;
use crate::workload::{Op, TxnMode, Workload};
use redb::{
    Builder, Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, Table, TableDefinition,
};
use std::path::PathBuf;

/// The one table every redb database here holds.
pub const REDB_TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("kv");

/// Any redb error as the benchmark's (redb has one error type per step; all convert into
/// `redb::Error`).
pub fn redb_err(e: impl Into<redb::Error>) -> BenchError {
    BenchError::Redb(e.into())
}

pub struct RedbSystem {
    path: PathBuf,
    db: Option<Database>,
    /// Page cache of the current database, bytes (kept for a reopen).
    cache_bytes: usize,
}

impl RedbSystem {
    pub fn new(path: PathBuf) -> Self {
        RedbSystem {
            path,
            db: None,
            cache_bytes: cache_bytes_for(0) as usize,
        }
    }

    fn open(&self) -> Result<Database, BenchError> {
        Builder::new()
            .set_cache_size(self.cache_bytes)
            .create(&self.path)
            .map_err(redb_err)
    }

    fn db(&self) -> Result<&Database, BenchError> {
        self.db
            .as_ref()
            .ok_or_else(|| BenchError::Usage("redb workload run before a build".into()))
    }

    fn close(&mut self) -> Result<(), BenchError> {
        match self.db.take() {
            Some(db) => db.close().map_err(redb_err),
            None => Ok(()),
        }
    }

    fn remove_file(&mut self) -> Result<(), BenchError> {
        self.close()?;
        remove_file_if_present(&self.path)
    }

    /// Runs `body` in one write transaction committed with `durability`; an error drops
    /// the transaction, which aborts it.
    fn write<T>(
        &self,
        durability: Durability,
        body: impl FnOnce(&mut Table<'_, u64, &'static [u8]>) -> Result<T, BenchError>,
    ) -> Result<T, BenchError> {
        let mut txn = self.db()?.begin_write().map_err(redb_err)?;
        txn.set_durability(durability).map_err(redb_err)?;
        let out = {
            let mut table = txn.open_table(REDB_TABLE).map_err(redb_err)?;
            body(&mut table)?
        };
        txn.commit().map_err(redb_err)?;
        Ok(out)
    }

    /// Runs `body` in one read transaction.
    fn read<T>(
        &self,
        body: impl FnOnce(&ReadOnlyTable<u64, &'static [u8]>) -> Result<T, BenchError>,
    ) -> Result<T, BenchError> {
        let txn = self.db()?.begin_read().map_err(redb_err)?;
        let table = txn.open_table(REDB_TABLE).map_err(redb_err)?;
        body(&table)
    }
}

fn get(
    table: &impl ReadableTable<u64, &'static [u8]>,
    key: u64,
) -> Result<Option<u64>, BenchError> {
    match table.get(key).map_err(redb_err)? {
        Some(v) => Ok(Some(value_of(key, v.value())?)),
        None => Ok(None),
    }
}

/// Inserts one pair; folds in the old value, or `FOLD_NEW` for a new key (as the maps do).
fn insert(
    table: &mut Table<'_, u64, &'static [u8]>,
    key: u64,
    value: u64,
) -> Result<u64, BenchError> {
    let old = table
        .insert(key, &value.to_le_bytes()[..])
        .map_err(redb_err)?;
    match old {
        Some(v) => value_of(key, v.value()),
        None => Ok(FOLD_NEW),
    }
}

impl System for RedbSystem {
    fn id(&self) -> SystemId {
        SystemId::Redb
    }

    fn supports(&self, w: Workload) -> bool {
        // As for the SQLite file and OmenDB: the builds by random inserts and the grow are
        // left to the in-memory structures, and lookups have no autocommit variant.
        !matches!(
            w,
            Workload::BuildInserts | Workload::Grow | Workload::LookupAutocommit
        )
    }

    fn build_bulk(&mut self, sorted: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.remove_file()?;
        self.cache_bytes = cache_bytes_for(sorted.len()) as usize;
        self.db = Some(self.open()?);
        // redb has no bulk loader: the sorted pairs go in through one write transaction,
        // committed durably (fsync) as a build ends.
        self.write(Durability::Immediate, |table| {
            for &(k, v) in sorted {
                table.insert(k, &v.to_le_bytes()[..]).map_err(redb_err)?;
            }
            Ok(())
        })?;
        Ok(Vec::new())
    }

    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.remove_file()?;
        self.cache_bytes = cache_bytes_for(pairs.len()) as usize;
        self.db = Some(self.open()?);
        self.write(Durability::Immediate, |table| {
            for &(k, v) in pairs {
                table.insert(k, &v.to_le_bytes()[..]).map_err(redb_err)?;
            }
            Ok(())
        })?;
        Ok(Vec::new())
    }

    fn lookups(&mut self, keys: &[u64], _mode: TxnMode) -> Result<u64, BenchError> {
        self.read(|table| {
            let mut acc = 0u64;
            for &k in keys {
                acc = fold(acc, get(table, k)?);
            }
            Ok(acc)
        })
    }

    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError> {
        self.read(|table| {
            let mut acc = 0u64;
            for &start in starts {
                for entry in table.range(start..).map_err(redb_err)?.take(len) {
                    let (k, v) = entry.map_err(redb_err)?;
                    acc = fold(acc, Some(value_of(k.value(), v.value())?));
                }
            }
            Ok(acc)
        })
    }

    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError> {
        self.write(Durability::Immediate, |table| {
            let mut acc = 0u64;
            for &(k, v) in pairs {
                acc = acc.wrapping_add(insert(table, k, v)?);
            }
            Ok(acc)
        })
    }

    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError> {
        self.write(Durability::Immediate, |table| {
            let mut acc = 0u64;
            for op in ops {
                acc = match *op {
                    Op::Get(k) => fold(acc, get(table, k)?),
                    Op::Insert(k, v) => acc.wrapping_add(insert(table, k, v)?),
                };
            }
            Ok(acc)
        })
    }

    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        self.write(Durability::Immediate, |table| {
            let mut acc = 0u64;
            for &k in keys {
                let old = match table.remove(k).map_err(redb_err)? {
                    Some(v) => Some(value_of(k, v.value())?),
                    None => None,
                };
                acc = fold(acc, old);
            }
            Ok(acc)
        })
    }

    fn put(&mut self, key: u64, value: u64) -> Result<(), BenchError> {
        self.write(Durability::None, |table| {
            table
                .insert(key, &value.to_le_bytes()[..])
                .map_err(redb_err)?;
            Ok(())
        })
    }

    fn reopen(&mut self) -> Result<(), BenchError> {
        // Closing persists the non-durable commits; the open reads the table's root, as a
        // first lookup would.
        self.close()?;
        self.db = Some(self.open()?);
        self.read(|_| Ok(()))
    }

    fn key_count(&mut self) -> Result<usize, BenchError> {
        self.read(|table| Ok(table.len().map_err(redb_err)? as usize))
    }

    fn external_memory(&self) -> ExternalMemory {
        ExternalMemory {
            sqlite_memory_bytes: None,
            file_bytes: std::fs::metadata(&self.path).ok().map(|m| m.len()),
        }
    }

    fn clear(&mut self) -> Result<(), BenchError> {
        self.remove_file()
    }
}

impl Drop for RedbSystem {
    fn drop(&mut self) {
        // Best effort: a leftover temp file is not worth a panic in drop.
        let _ = self.remove_file();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::map_scenario::{answers_like_a_map, build_four};

    #[test]
    fn redb_answers_like_a_map_and_survives_reopen() {
        let path =
            std::env::temp_dir().join(format!("omendb-bench-test-{}.redb", std::process::id()));
        let mut s = RedbSystem::new(path.clone());
        build_four(&mut s);
        answers_like_a_map(&mut s);
        assert!(!path.exists());
    }
}
