//! The OmenDB database (`omendb::Db<u64>`) in a directory on disk, values 8-byte byte
//! strings. In the shared workloads it commits in relaxed mode (each put is its own
//! atomic commit written to the operating system, fsynced when a memtable is written out and at close): the
//! same promise as SQLite's WAL with `synchronous=NORMAL`, which the `sqlite-disk` rows
//! give. Fsync-per-commit figures are in the durability table (`durability.rs`).

use super::{fold, value_of, ExternalMemory, Phase, System, SystemId, FOLD_MISS, FOLD_NEW};
use crate::error::BenchError;
use crate::workload::{Op, TxnMode, Workload};
use omendb::{Db, Options, SyncMode};
use std::path::{Path, PathBuf};

pub struct OmendbSystem {
    dir: PathBuf,
    db: Option<Db<u64>>,
}

impl OmendbSystem {
    pub fn new(dir: PathBuf) -> Self {
        OmendbSystem { dir, db: None }
    }

    /// Options of every open in the shared workloads.
    pub fn options() -> Options {
        Options {
            sync: SyncMode::Relaxed,
            ..Options::default()
        }
    }

    fn db(&self) -> Result<&Db<u64>, BenchError> {
        self.db
            .as_ref()
            .ok_or_else(|| BenchError::Usage("OmenDB workload run before a build".into()))
    }

    fn remove_dir(&mut self) -> Result<(), BenchError> {
        if let Some(db) = self.db.take() {
            db.close()?;
        }
        remove_dir_if_present(&self.dir)
    }
}

pub fn remove_dir_if_present(dir: &Path) -> Result<(), BenchError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BenchError::io(dir, e)),
    }
}

/// Bytes of the regular files directly inside `dir` (an OmenDB database keeps no
/// subdirectories).
pub fn dir_bytes(dir: &Path) -> Option<u64> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .filter_map(|e| e.ok()?.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum(),
    )
}

fn get(db: &Db<u64>, key: u64) -> Result<Option<u64>, BenchError> {
    db.get_with(key, |v| value_of(key, v))?.transpose()
}

impl System for OmendbSystem {
    fn id(&self) -> SystemId {
        SystemId::Omendb
    }

    fn supports(&self, w: Workload) -> bool {
        // A build by one relaxed commit per key is the insert-only figure times n; like the
        // SQLite file it is left to the insert workloads, and so is the grow (its heap
        // figure is the index's, which the AlexMap systems measure). Lookups need no
        // transaction, so the autocommit variant would repeat the uniform one.
        !matches!(
            w,
            Workload::BuildInserts | Workload::Grow | Workload::LookupAutocommit
        )
    }

    fn build_bulk(&mut self, sorted: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.remove_dir()?;
        let db = Db::open_with(&self.dir, Self::options())?;
        db.import(sorted.iter().map(|&(k, v)| (k, v.to_le_bytes())))?;
        self.db = Some(db);
        Ok(Vec::new())
    }

    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.remove_dir()?;
        let db = Db::open_with(&self.dir, Self::options())?;
        for &(k, v) in pairs {
            db.put(k, v.to_le_bytes())?;
        }
        self.db = Some(db);
        Ok(Vec::new())
    }

    fn lookups(&mut self, keys: &[u64], _mode: TxnMode) -> Result<u64, BenchError> {
        let db = self.db()?;
        let mut acc = 0u64;
        for &k in keys {
            acc = fold(acc, get(db, k)?);
        }
        Ok(acc)
    }

    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError> {
        let db = self.db()?;
        let mut acc = 0u64;
        for &start in starts {
            let mut left = len;
            let mut bad = None;
            db.scan(start.., |k, v| {
                match value_of(k, v) {
                    Ok(v) => acc = fold(acc, Some(v)),
                    Err(e) => bad = Some(e),
                }
                left -= 1;
                left > 0 && bad.is_none()
            })?;
            if let Some(e) = bad {
                return Err(e);
            }
        }
        Ok(acc)
    }

    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError> {
        let db = self.db()?;
        for &(k, v) in pairs {
            db.put(k, v.to_le_bytes())?;
        }
        // Every planned insert is of a new key (the maps check it and fold the answer).
        Ok(FOLD_NEW.wrapping_mul(pairs.len() as u64))
    }

    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError> {
        let db = self.db()?;
        let mut acc = 0u64;
        for op in ops {
            acc = match *op {
                Op::Get(k) => fold(acc, get(db, k)?),
                Op::Insert(k, v) => {
                    db.put(k, v.to_le_bytes())?;
                    acc.wrapping_add(FOLD_NEW)
                }
            };
        }
        Ok(acc)
    }

    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        let db = self.db()?;
        let mut acc = 0u64;
        for &k in keys {
            // `delete` does not return the old value; read it first, as SQLite's
            // `DELETE ... RETURNING` does in the same statement.
            match get(db, k)? {
                Some(v) => {
                    db.delete(k)?;
                    acc = acc.wrapping_add(v);
                }
                None => acc = acc.wrapping_add(FOLD_MISS),
            }
        }
        Ok(acc)
    }

    fn put(&mut self, key: u64, value: u64) -> Result<(), BenchError> {
        Ok(self.db()?.put(key, value.to_le_bytes())?)
    }

    fn reopen(&mut self) -> Result<(), BenchError> {
        if let Some(db) = self.db.take() {
            db.close()?;
        }
        self.db = Some(Db::open_with(&self.dir, Self::options())?);
        Ok(())
    }

    fn key_count(&mut self) -> Result<usize, BenchError> {
        Ok(self.db()?.len()?)
    }

    fn external_memory(&self) -> ExternalMemory {
        ExternalMemory {
            sqlite_memory_bytes: None,
            file_bytes: dir_bytes(&self.dir),
        }
    }

    fn clear(&mut self) -> Result<(), BenchError> {
        self.remove_dir()
    }
}

impl Drop for OmendbSystem {
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
    fn omendb_answers_like_a_map_and_survives_reopen() {
        let dir = std::env::temp_dir().join(format!("omendb-bench-test-{}", std::process::id()));
        let mut s = OmendbSystem::new(dir.clone());
        build_four(&mut s);
        answers_like_a_map(&mut s);
        assert!(!dir.exists());
    }
}
