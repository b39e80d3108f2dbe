//! fjall (`fjall::Database`): an LSM-tree in a directory (journal, memtable, sorted tables
//! with LZ4 blocks, its defaults), one keyspace. Keys are the u64 in big-endian bytes, so
//! fjall's byte order is integer order; values the 8-byte little-endian byte strings.
//!
//! Commits: every batch of operations is one atomic `WriteBatch`, as SQLite file's batches
//! are one transaction, committed with fjall's default `PersistMode::Buffer`: the journal is
//! written to the OS at each commit and not fsynced (fsync when fjall rotates its journal,
//! and at close), the promise of OmenDB's relaxed commits and SQLite's `synchronous=NORMAL`.
//! A batch's reads see its own earlier writes through a small overlay, as a transaction's
//! would. The bulk build is fjall's ingestion API, which writes sorted tables directly and
//! fsyncs them. Fsync-per-commit figures are in the durability table (`durability.rs`).

use super::{
    cache_bytes_for, fold, remove_dir_if_present, tree_bytes, value_of, ExternalMemory, Phase,
    System, SystemId, FOLD_NEW,
};
use crate::error::BenchError;
use crate::workload::{Op, TxnMode, Workload};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, Readable, Snapshot};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The one keyspace every fjall database here holds.
pub const FJALL_KEYSPACE: &str = "kv";

/// Opens (or creates) the database in `dir` with a block cache of `cache_bytes`, and its
/// keyspace.
pub fn open_fjall(dir: &Path, cache_bytes: u64) -> Result<(Database, Keyspace), BenchError> {
    let db = Database::builder(dir).cache_size(cache_bytes).open()?;
    let ks = db.keyspace(FJALL_KEYSPACE, KeyspaceCreateOptions::default)?;
    Ok((db, ks))
}

/// The key's bytes in fjall: big-endian, so byte order is integer order.
#[inline]
pub fn fjall_key(key: u64) -> [u8; 8] {
    key.to_be_bytes()
}

fn key_of(bytes: &[u8]) -> Result<u64, BenchError> {
    let b: [u8; 8] = bytes
        .try_into()
        .map_err(|_| BenchError::Usage(format!("fjall returned a key of {} bytes", bytes.len())))?;
    Ok(u64::from_be_bytes(b))
}

pub struct FjallSystem {
    dir: PathBuf,
    /// The database and its keyspace (dropped together: dropping the database joins its
    /// background workers).
    open: Option<(Database, Keyspace)>,
    /// Block cache of the current database, bytes (kept for a reopen).
    cache_bytes: u64,
    /// Nothing but the bulk build's ingestion of distinct keys has written to the database,
    /// so fjall's O(1) approximate count is exact.
    ingested_only: bool,
}

impl FjallSystem {
    pub fn new(dir: PathBuf) -> Self {
        FjallSystem {
            dir,
            open: None,
            cache_bytes: cache_bytes_for(0),
            ingested_only: false,
        }
    }

    fn open(&self) -> Result<&(Database, Keyspace), BenchError> {
        self.open
            .as_ref()
            .ok_or_else(|| BenchError::Usage("fjall workload run before a build".into()))
    }

    fn remove_dir(&mut self) -> Result<(), BenchError> {
        // Dropping the database persists its journal and stops its workers before the
        // files go.
        self.open = None;
        remove_dir_if_present(&self.dir)
    }

    fn fresh(&mut self, n: usize) -> Result<&(Database, Keyspace), BenchError> {
        self.remove_dir()?;
        self.ingested_only = false;
        self.cache_bytes = cache_bytes_for(n);
        let opened = open_fjall(&self.dir, self.cache_bytes)?;
        Ok(self.open.insert(opened))
    }
}

/// One atomic batch of writes whose reads see its own earlier writes: the snapshot taken when
/// it began, overlaid with what it has written (`None`: removed).
struct Batch<'a> {
    ks: &'a Keyspace,
    snapshot: Snapshot,
    batch: fjall::OwnedWriteBatch,
    written: HashMap<u64, Option<u64>>,
}

impl<'a> Batch<'a> {
    fn new(open: &'a (Database, Keyspace)) -> Self {
        let (db, ks) = open;
        Batch {
            ks,
            snapshot: db.snapshot(),
            // The database's default durability: written to the OS at commit, no fsync.
            batch: db.batch(),
            written: HashMap::new(),
        }
    }

    fn get(&self, key: u64) -> Result<Option<u64>, BenchError> {
        match self.written.get(&key) {
            Some(&v) => Ok(v),
            None => get(&self.snapshot, self.ks, key),
        }
    }

    fn insert(&mut self, key: u64, value: u64) {
        self.batch
            .insert(self.ks, &fjall_key(key)[..], &value.to_le_bytes()[..]);
        self.written.insert(key, Some(value));
    }

    fn remove(&mut self, key: u64) {
        self.batch.remove(self.ks, &fjall_key(key)[..]);
        self.written.insert(key, None);
    }

    fn commit(self) -> Result<(), BenchError> {
        Ok(self.batch.commit()?)
    }
}

fn get(snapshot: &Snapshot, ks: &Keyspace, key: u64) -> Result<Option<u64>, BenchError> {
    match snapshot.get(ks, fjall_key(key))? {
        Some(v) => Ok(Some(value_of(key, &v)?)),
        None => Ok(None),
    }
}

impl System for FjallSystem {
    fn id(&self) -> SystemId {
        SystemId::Fjall
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
        let (_, ks) = self.fresh(sorted.len())?;
        let mut ingestion = ks.start_ingestion()?;
        for &(k, v) in sorted {
            ingestion.write(&fjall_key(k)[..], &v.to_le_bytes()[..])?;
        }
        ingestion.finish()?;
        self.ingested_only = true;
        Ok(Vec::new())
    }

    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        let open = self.fresh(pairs.len())?;
        let mut batch = Batch::new(open);
        for &(k, v) in pairs {
            batch.insert(k, v);
        }
        batch.commit()?;
        Ok(Vec::new())
    }

    fn lookups(&mut self, keys: &[u64], _mode: TxnMode) -> Result<u64, BenchError> {
        // One snapshot per batch, as SQLite reads in one transaction.
        let (db, ks) = self.open()?;
        let snapshot = db.snapshot();
        let mut acc = 0u64;
        for &k in keys {
            acc = fold(acc, get(&snapshot, ks, k)?);
        }
        Ok(acc)
    }

    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError> {
        let (db, ks) = self.open()?;
        let snapshot = db.snapshot();
        let mut acc = 0u64;
        for &start in starts {
            for guard in snapshot.range(ks, fjall_key(start)..).take(len) {
                let (k, v) = guard.into_inner()?;
                acc = fold(acc, Some(value_of(key_of(&k)?, &v)?));
            }
        }
        Ok(acc)
    }

    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError> {
        self.ingested_only = false;
        // Blind writes: the batch alone, no read overlay.
        let (db, ks) = self.open()?;
        let mut batch = db.batch();
        for &(k, v) in pairs {
            batch.insert(ks, &fjall_key(k)[..], &v.to_le_bytes()[..]);
        }
        batch.commit()?;
        // Every planned insert is of a new key (the maps check it and fold the answer).
        Ok(FOLD_NEW.wrapping_mul(pairs.len() as u64))
    }

    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError> {
        self.ingested_only = false;
        let mut batch = Batch::new(self.open()?);
        let mut acc = 0u64;
        for op in ops {
            acc = match *op {
                Op::Get(k) => fold(acc, batch.get(k)?),
                Op::Insert(k, v) => {
                    batch.insert(k, v);
                    acc.wrapping_add(FOLD_NEW)
                }
            };
        }
        batch.commit()?;
        Ok(acc)
    }

    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        // fjall's remove does not return the old value; read it first, as SQLite's
        // `DELETE ... RETURNING` does in the same statement.
        self.ingested_only = false;
        let mut batch = Batch::new(self.open()?);
        let mut acc = 0u64;
        for &k in keys {
            let old = batch.get(k)?;
            if old.is_some() {
                batch.remove(k);
            }
            acc = fold(acc, old);
        }
        batch.commit()?;
        Ok(acc)
    }

    fn put(&mut self, key: u64, value: u64) -> Result<(), BenchError> {
        // A single insert is its own atomic write, journalled to the OS before it returns.
        self.ingested_only = false;
        let (_, ks) = self.open()?;
        ks.insert(&fjall_key(key)[..], &value.to_le_bytes()[..])?;
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), BenchError> {
        // Dropping persists the journal and stops the workers; the open recovers the
        // journal into a memtable and opens the keyspace's tables.
        self.open = None;
        self.open = Some(open_fjall(&self.dir, self.cache_bytes)?);
        Ok(())
    }

    fn key_count(&mut self) -> Result<usize, BenchError> {
        let (_, ks) = self.open()?;
        if self.ingested_only {
            // Exact after an ingestion of distinct keys: the tables' entry counts.
            return Ok(ks.approximate_len());
        }
        // A full scan: the O(1) count also counts overwritten and removed keys.
        Ok(ks.len()?)
    }

    fn external_memory(&self) -> ExternalMemory {
        ExternalMemory {
            sqlite_memory_bytes: None,
            file_bytes: tree_bytes(&self.dir),
        }
    }

    fn clear(&mut self) -> Result<(), BenchError> {
        self.remove_dir()
    }
}

impl Drop for FjallSystem {
    fn drop(&mut self) {
        // Best effort: a leftover temp directory is not worth a panic in drop.
        let _ = self.remove_dir();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::map_scenario::{answers_like_a_map, build_four};

    #[test]
    fn fjall_answers_like_a_map_and_survives_reopen() {
        let dir =
            std::env::temp_dir().join(format!("omendb-bench-test-{}.fjall", std::process::id()));
        let mut s = FjallSystem::new(dir.clone());
        build_four(&mut s);
        let (_, ks) = s.open().unwrap();
        assert_eq!(ks.len().unwrap(), 4);
        answers_like_a_map(&mut s);
        assert!(!dir.exists());
    }
}
