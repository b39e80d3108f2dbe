//! SQLite through rusqlite (bundled build), given its best fair setup: prepared statements
//! (prepared once per batch), a page cache larger than the table, and u64 keys mapped
//! order-preservingly into i64 so range scans keep key order. Values are 8-byte BLOBs and
//! every lookup reads the value.

use super::{cache_bytes_for, fold, value_of, ExternalMemory, Phase, System, SystemId, FOLD_NEW};
use crate::error::BenchError;
use crate::memory::sqlite_memory_used;
use crate::workload::{Op, TxnMode, Workload};
use rusqlite::{params, Connection, OptionalExtension, Statement};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Order-preserving map from u64 to i64 (flip the sign bit).
#[inline]
pub fn key_to_sql(k: u64) -> i64 {
    (k ^ (1 << 63)) as i64
}

#[inline]
pub fn key_from_sql(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

#[derive(Debug, Clone)]
pub enum SqliteLayout {
    Memory,
    /// A database file in WAL mode with synchronous=NORMAL.
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSchema {
    /// `(k INTEGER PRIMARY KEY, v BLOB)`: the table is the index (a rowid B-tree).
    PrimaryKey,
    /// The prototype's path: `(k INTEGER, v BLOB)` without a key, loaded, then
    /// `CREATE INDEX` on k, the two timed apart.
    IndexAfterLoad,
}

pub struct SqliteSystem {
    id: SystemId,
    layout: SqliteLayout,
    schema: SqliteSchema,
    conn: Option<Connection>,
    sqlite_baseline: i64,
    /// Page cache of the current table, KiB (kept for a reopen).
    cache_kib: u64,
}

const SELECT: &str = "SELECT v FROM kv WHERE k = ?1";
const INSERT: &str = "INSERT INTO kv (k, v) VALUES (?1, ?2)";
const DELETE: &str = "DELETE FROM kv WHERE k = ?1 RETURNING v";
const SCAN: &str = "SELECT v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2";

impl SqliteSystem {
    pub fn new(id: SystemId, layout: SqliteLayout, schema: SqliteSchema) -> Self {
        SqliteSystem {
            id,
            layout,
            schema,
            conn: None,
            sqlite_baseline: 0,
            cache_kib: 0,
        }
    }

    fn remove_files(&self) -> Result<(), BenchError> {
        match &self.layout {
            SqliteLayout::File(path) => remove_db_files(path),
            SqliteLayout::Memory => Ok(()),
        }
    }

    /// Opens a fresh, empty database sized for `n` rows.
    fn open(&mut self, n: usize) -> Result<&Connection, BenchError> {
        self.conn = None;
        self.remove_files()?;
        self.sqlite_baseline = sqlite_memory_used();
        // A page cache comfortably larger than the table and its index, in KiB as a
        // negative cache_size.
        self.cache_kib = cache_bytes_for(n) / 1024;
        let conn = self.connect()?;
        let ddl = match self.schema {
            SqliteSchema::PrimaryKey => "CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)",
            SqliteSchema::IndexAfterLoad => "CREATE TABLE kv (k INTEGER NOT NULL, v BLOB NOT NULL)",
        };
        conn.execute_batch(ddl)?;
        Ok(self.conn.insert(conn))
    }

    /// A connection with this system's settings (file: WAL, synchronous=NORMAL).
    fn connect(&self) -> Result<Connection, BenchError> {
        let conn = match &self.layout {
            SqliteLayout::Memory => Connection::open_in_memory()?,
            SqliteLayout::File(path) => {
                let conn = Connection::open(path)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn
            }
        };
        conn.pragma_update(None, "cache_size", -(self.cache_kib as i64))?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(conn)
    }

    fn conn(&self) -> Result<&Connection, BenchError> {
        self.conn
            .as_ref()
            .ok_or_else(|| BenchError::Usage("SQLite workload run before a build".into()))
    }

    /// Loads pairs in one transaction, then (prototype path) creates the index.
    fn load(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        let schema = self.schema;
        let conn = self.open(pairs.len())?;
        let t = Instant::now();
        conn.execute_batch("BEGIN")?;
        {
            let mut stmt = conn.prepare(INSERT)?;
            for &(k, v) in pairs {
                stmt.execute(params![key_to_sql(k), &v.to_le_bytes()[..]])?;
            }
        }
        conn.execute_batch("COMMIT")?;
        let mut phases = vec![Phase::new("load", t.elapsed())];
        if schema == SqliteSchema::IndexAfterLoad {
            let t = Instant::now();
            conn.execute_batch("CREATE INDEX kv_k ON kv (k)")?;
            phases.push(Phase::new("index", t.elapsed()));
        }
        Ok(phases)
    }

    fn in_transaction<T>(
        &self,
        body: impl FnOnce(&Connection) -> Result<T, BenchError>,
    ) -> Result<T, BenchError> {
        let conn = self.conn()?;
        conn.execute_batch("BEGIN")?;
        match body(conn) {
            Ok(t) => {
                conn.execute_batch("COMMIT")?;
                Ok(t)
            }
            Err(e) => {
                // The original error matters more than a failed rollback.
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Removes a database file and its WAL and shared-memory files, where present.
pub fn remove_db_files(path: &Path) -> Result<(), BenchError> {
    for p in db_files(path) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BenchError::io(p, e)),
        }
    }
    Ok(())
}

fn db_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

fn get(stmt: &mut Statement<'_>, key: u64) -> Result<Option<u64>, BenchError> {
    let mut rows = stmt.query([key_to_sql(key)])?;
    match rows.next()? {
        Some(row) => Ok(Some(value_of(key, row.get_ref(0)?.as_blob()?)?)),
        None => Ok(None),
    }
}

fn insert(stmt: &mut Statement<'_>, key: u64, value: u64) -> Result<u64, BenchError> {
    stmt.execute(params![key_to_sql(key), &value.to_le_bytes()[..]])?;
    // Every planned insert is of a new key; a duplicate would have failed (primary key) or
    // shown up as a different checksum against the maps.
    Ok(FOLD_NEW)
}

impl System for SqliteSystem {
    fn id(&self) -> SystemId {
        self.id
    }

    fn supports(&self, w: Workload) -> bool {
        match self.schema {
            // A build by random inserts costs ~35 s at 10M (the grow's third of it ~15 s); the
            // in-memory table measures them, and the file variant would add only the WAL
            // writes to the same B-tree work.
            SqliteSchema::PrimaryKey if matches!(w, Workload::BuildInserts | Workload::Grow) => {
                matches!(self.layout, SqliteLayout::Memory)
            }
            // Reopening and relaxed single commits are the file's (a commit to :memory:
            // writes nothing).
            SqliteSchema::PrimaryKey if matches!(w, Workload::Reopen | Workload::PutLatency) => {
                matches!(self.layout, SqliteLayout::File(_))
            }
            SqliteSchema::PrimaryKey => true,
            // The prototype path is there for its build and index times and its lookups;
            // the key-table variants cover every other workload (the grow included).
            SqliteSchema::IndexAfterLoad => {
                matches!(w, Workload::BuildBulk | Workload::LookupUniform)
            }
        }
    }

    fn build_bulk(&mut self, sorted: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.load(sorted)
    }

    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.load(pairs)
    }

    fn lookups(&mut self, keys: &[u64], mode: TxnMode) -> Result<u64, BenchError> {
        let run = |conn: &Connection| -> Result<u64, BenchError> {
            let mut stmt = conn.prepare(SELECT)?;
            let mut acc = 0u64;
            for &k in keys {
                acc = fold(acc, get(&mut stmt, k)?);
            }
            Ok(acc)
        };
        match mode {
            TxnMode::OneTransaction => self.in_transaction(run),
            TxnMode::Autocommit => run(self.conn()?),
        }
    }

    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError> {
        self.in_transaction(|conn| {
            let mut stmt = conn.prepare(SCAN)?;
            let mut acc = 0u64;
            for &k in starts {
                let mut rows = stmt.query(params![key_to_sql(k), len as i64])?;
                while let Some(row) = rows.next()? {
                    acc = fold(acc, Some(value_of(k, row.get_ref(0)?.as_blob()?)?));
                }
            }
            Ok(acc)
        })
    }

    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError> {
        self.in_transaction(|conn| {
            let mut stmt = conn.prepare(INSERT)?;
            let mut acc = 0u64;
            for &(k, v) in pairs {
                acc = acc.wrapping_add(insert(&mut stmt, k, v)?);
            }
            Ok(acc)
        })
    }

    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError> {
        self.in_transaction(|conn| {
            let mut select = conn.prepare(SELECT)?;
            let mut ins = conn.prepare(INSERT)?;
            let mut acc = 0u64;
            for op in ops {
                acc = match *op {
                    Op::Get(k) => fold(acc, get(&mut select, k)?),
                    Op::Insert(k, v) => acc.wrapping_add(insert(&mut ins, k, v)?),
                };
            }
            Ok(acc)
        })
    }

    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        self.in_transaction(|conn| {
            let mut stmt = conn.prepare(DELETE)?;
            let mut acc = 0u64;
            for &k in keys {
                let v = stmt
                    .query_row([key_to_sql(k)], |row| {
                        Ok(row.get_ref(0)?.as_blob()?.to_vec())
                    })
                    .optional()?;
                acc = fold(acc, v.map(|b| value_of(k, &b)).transpose()?);
            }
            Ok(acc)
        })
    }

    fn put(&mut self, key: u64, value: u64) -> Result<(), BenchError> {
        // An autocommit INSERT: its own transaction, appended to the WAL (no fsync with
        // synchronous=NORMAL); the statement stays prepared in the connection's cache.
        let mut stmt = self.conn()?.prepare_cached(INSERT)?;
        insert(&mut stmt, key, value)?;
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), BenchError> {
        if !matches!(self.layout, SqliteLayout::File(_)) {
            return Err(BenchError::Usage(
                "an in-memory SQLite cannot be reopened".into(),
            ));
        }
        // Closing checkpoints the WAL into the database file; the open reads the schema,
        // as a first statement would.
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| e)?;
        }
        let conn = self.connect()?;
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })?;
        self.conn = Some(conn);
        Ok(())
    }

    fn key_count(&mut self) -> Result<usize, BenchError> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT count(*) FROM kv", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    fn external_memory(&self) -> ExternalMemory {
        let file_bytes = match &self.layout {
            SqliteLayout::Memory => None,
            SqliteLayout::File(path) => Some(
                db_files(path)[..2]
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum(),
            ),
        };
        ExternalMemory {
            sqlite_memory_bytes: Some((sqlite_memory_used() - self.sqlite_baseline).max(0) as u64),
            file_bytes,
        }
    }

    fn clear(&mut self) -> Result<(), BenchError> {
        self.conn = None;
        self.remove_files()
    }
}

impl Drop for SqliteSystem {
    fn drop(&mut self) {
        self.conn = None;
        // Best effort: a leftover temp file is not worth a panic in drop.
        let _ = self.remove_files();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_key_mapping_preserves_order_and_round_trips() {
        let keys = [0, 1, (1 << 63) - 1, 1 << 63, u64::MAX - 1, u64::MAX];
        for w in keys.windows(2) {
            assert!(key_to_sql(w[0]) < key_to_sql(w[1]));
        }
        for k in keys {
            assert_eq!(key_from_sql(key_to_sql(k)), k);
        }
    }

    #[test]
    fn sqlite_answers_like_a_map() {
        let mut s = SqliteSystem::new(
            SystemId::SqliteMem,
            SqliteLayout::Memory,
            SqliteSchema::PrimaryKey,
        );
        crate::systems::map_scenario::build_four(&mut s);
        let got = s
            .lookups(&[5, 6, u64::MAX], TxnMode::OneTransaction)
            .unwrap();
        let want = fold(fold(fold(0, Some(5 ^ 7)), None), Some(u64::MAX ^ 7));
        assert_eq!(got, want);
        assert_eq!(
            s.lookups(&[5, 6, u64::MAX], TxnMode::Autocommit).unwrap(),
            want
        );
        // A scan from 2 sees 5, 2^63, MAX in key order, limited to 2.
        let scan = s.range_scans(&[2], 2).unwrap();
        assert_eq!(scan, fold(fold(0, Some(5 ^ 7)), Some((1 << 63) ^ 7)));
        assert_eq!(
            s.deletes(&[5, 5]).unwrap(),
            fold(fold(0, Some(5 ^ 7)), None)
        );
        assert_eq!(s.key_count().unwrap(), 3);
        s.put(11, 110).unwrap();
        assert_eq!(
            s.lookups(&[11], TxnMode::Autocommit).unwrap(),
            fold(0, Some(110))
        );
        assert_eq!(s.key_count().unwrap(), 4);
    }
}
