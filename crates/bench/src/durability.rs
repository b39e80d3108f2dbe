//! Durable commits: single-key puts, each its own commit, from 1, 2 and 8 writer threads,
//! into OmenDB (fsync per commit with group commit; and relaxed), into a SQLite file in
//! WAL mode (`synchronous=FULL`: fsync per commit; `NORMAL`: fsync at WAL checkpoints), into
//! redb (`Durability::Immediate`: one write transaction per put, fsync at its commit) and into
//! fjall (one `WriteBatch` per put with `PersistMode::SyncData`: the journal fdatasynced at
//! its commit). SQLite gets its best multi-writer setup: one connection behind a mutex (no
//! busy-wait between connections), a prepared statement, autocommit; redb's and fjall's
//! handles are shared by the threads as they are meant to be (redb runs one write transaction
//! at a time, fjall writes its journal under a lock). Every put is of a distinct random key
//! with an 8-byte value; afterwards a fresh open must find as many entries as puts.

use crate::error::BenchError;
use crate::rng::{derive_seed, Rng};
use crate::runner::{scale_label, Record};
use crate::systems::{
    cache_bytes_for, fjall_key, key_to_sql, open_fjall, redb_err, remove_dir_if_present,
    remove_file_if_present, OmendbSystem, REDB_TABLE,
};
use fjall::PersistMode;
use omendb::{Db, Options, SyncMode};
use redb::{Durability, ReadableDatabase, ReadableTableMetadata};
use rusqlite::{params, Connection};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableSystem {
    OmendbSync,
    OmendbRelaxed,
    SqliteFull,
    SqliteNormal,
    RedbImmediate,
    FjallSyncData,
}

impl DurableSystem {
    pub const ALL: [DurableSystem; 6] = [
        DurableSystem::OmendbSync,
        DurableSystem::SqliteFull,
        DurableSystem::RedbImmediate,
        DurableSystem::FjallSyncData,
        DurableSystem::OmendbRelaxed,
        DurableSystem::SqliteNormal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DurableSystem::OmendbSync => "omendb-sync",
            DurableSystem::OmendbRelaxed => "omendb-relaxed",
            DurableSystem::SqliteFull => "sqlite-wal-full",
            DurableSystem::SqliteNormal => "sqlite-wal-normal",
            DurableSystem::RedbImmediate => "redb-immediate",
            DurableSystem::FjallSyncData => "fjall-sync-data",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DurableSystem::OmendbSync => {
                "OmenDB, fsync per commit, group commit (survives power loss)"
            }
            DurableSystem::OmendbRelaxed => {
                "OmenDB, relaxed: written to the OS per commit, fsync when a memtable is written out or at close (survives a process crash)"
            }
            DurableSystem::SqliteFull => {
                "SQLite WAL, synchronous=FULL: fsync per commit (survives power loss)"
            }
            DurableSystem::SqliteNormal => {
                "SQLite WAL, synchronous=NORMAL: fsync at WAL checkpoint (survives a process crash)"
            }
            DurableSystem::RedbImmediate => {
                "redb, Durability::Immediate: one write transaction per put, fsync per commit (survives power loss)"
            }
            DurableSystem::FjallSyncData => {
                "fjall, one WriteBatch per put, PersistMode::SyncData: journal fdatasync per commit (survives power loss)"
            }
        }
    }

    /// Repetitions of this system's figures.
    pub fn reps(self, settings: &DurableSettings) -> usize {
        match self {
            DurableSystem::RedbImmediate | DurableSystem::FjallSyncData => settings.store_reps,
            _ => settings.reps,
        }
        .max(1)
    }

    /// Survives a power cut once the put returns.
    pub fn power_safe(self) -> bool {
        matches!(
            self,
            DurableSystem::OmendbSync
                | DurableSystem::SqliteFull
                | DurableSystem::RedbImmediate
                | DurableSystem::FjallSyncData
        )
    }
}

pub struct DurableSettings {
    /// Puts per run (split between the threads).
    pub puts: usize,
    pub threads: Vec<usize>,
    /// Repetitions of each OmenDB and SQLite figure.
    pub reps: usize,
    /// Repetitions of each redb and fjall figure (`--sqlite-reps`, as in the other tables):
    /// each costs a few seconds of fsyncs.
    pub store_reps: usize,
    pub tmp_dir: PathBuf,
    pub seed: u64,
}

/// What the disk costs: median of `write` of 40 bytes then `fdatasync`, for the report.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DiskProbe {
    pub fdatasync_us: f64,
}

pub fn probe_disk(dir: &Path) -> Result<DiskProbe, BenchError> {
    let path = dir.join(format!("omendb-bench-fsync-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).map_err(|e| BenchError::io(&path, e))?;
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        f.write_all(&[7u8; 40])
            .and_then(|()| f.sync_data())
            .map_err(|e| BenchError::io(&path, e))?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(f);
    std::fs::remove_file(&path).map_err(|e| BenchError::io(&path, e))?;
    times.sort_by(f64::total_cmp);
    Ok(DiskProbe {
        fdatasync_us: times[times.len() / 2],
    })
}

/// Distinct random keys, one list per thread.
fn key_lists(puts: usize, threads: usize, seed: u64) -> Vec<Vec<u64>> {
    let mut rng = Rng::new(seed);
    let mut seen = std::collections::HashSet::with_capacity(puts);
    let mut all = Vec::with_capacity(puts);
    while all.len() < puts {
        let k = rng.next_u64();
        if seen.insert(k) {
            all.push(k);
        }
    }
    let per = puts.div_ceil(threads.max(1));
    all.chunks(per.max(1)).map(<[u64]>::to_vec).collect()
}

/// Runs the puts of `lists` (one thread each) and returns the wall time and the number of
/// entries the database holds afterwards.
fn run_once(
    system: DurableSystem,
    lists: &[Vec<u64>],
    dir: &Path,
) -> Result<(Duration, usize), BenchError> {
    match system {
        DurableSystem::OmendbSync | DurableSystem::OmendbRelaxed => {
            let path = dir.join(format!("omendb-bench-durable-{}", std::process::id()));
            crate::systems::remove_dir_if_present(&path)?;
            let options = Options {
                sync: if system == DurableSystem::OmendbSync {
                    SyncMode::Always
                } else {
                    SyncMode::Relaxed
                },
                ..OmendbSystem::options()
            };
            let db = Db::<u64>::open_with(&path, options)?;
            let t = Instant::now();
            run_writers(lists, |k| Ok(db.put(k, k.wrapping_mul(3).to_le_bytes())?))?;
            let dt = t.elapsed();
            db.close()?;
            // Count what a fresh open finds: the commits are on disk, not just in memory.
            let db = Db::<u64>::open_with(&path, OmendbSystem::options())?;
            let n = db.len()?;
            db.close()?;
            crate::systems::remove_dir_if_present(&path)?;
            Ok((dt, n))
        }
        DurableSystem::SqliteFull | DurableSystem::SqliteNormal => {
            let path = dir.join(format!(
                "omendb-bench-durable-{}.sqlite",
                std::process::id()
            ));
            crate::systems::remove_db_files(&path)?;
            let conn = Connection::open(&path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(
                None,
                "synchronous",
                if system == DurableSystem::SqliteFull {
                    "FULL"
                } else {
                    "NORMAL"
                },
            )?;
            conn.execute_batch("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")?;
            let shared = Mutex::new(conn);
            let t = Instant::now();
            run_writers(lists, |k| {
                let conn = shared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let mut stmt = conn.prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2)")?;
                stmt.execute(params![key_to_sql(k), &k.wrapping_mul(3).to_le_bytes()[..]])?;
                Ok(())
            })?;
            let dt = t.elapsed();
            let conn = shared
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            conn.close().map_err(|(_, e)| e)?;
            let conn = Connection::open(&path)?;
            let n: i64 = conn.query_row("SELECT count(*) FROM kv", [], |r| r.get(0))?;
            conn.close().map_err(|(_, e)| e)?;
            crate::systems::remove_db_files(&path)?;
            Ok((dt, n as usize))
        }
        DurableSystem::RedbImmediate => {
            let path = dir.join(format!("omendb-bench-durable-{}.redb", std::process::id()));
            remove_file_if_present(&path)?;
            let db = redb::Database::create(&path).map_err(redb_err)?;
            // The table exists before the clock starts, as SQLite's does.
            let txn = db.begin_write().map_err(redb_err)?;
            txn.open_table(REDB_TABLE).map_err(redb_err)?;
            txn.commit().map_err(redb_err)?;
            let t = Instant::now();
            run_writers(lists, |k| {
                let mut txn = db.begin_write().map_err(redb_err)?;
                txn.set_durability(Durability::Immediate)
                    .map_err(redb_err)?;
                txn.open_table(REDB_TABLE)
                    .map_err(redb_err)?
                    .insert(k, &k.wrapping_mul(3).to_le_bytes()[..])
                    .map_err(redb_err)?;
                txn.commit().map_err(redb_err)?;
                Ok(())
            })?;
            let dt = t.elapsed();
            db.close().map_err(redb_err)?;
            let db = redb::Database::open(&path).map_err(redb_err)?;
            let n = db
                .begin_read()
                .map_err(redb_err)?
                .open_table(REDB_TABLE)
                .map_err(redb_err)?
                .len()
                .map_err(redb_err)?;
            db.close().map_err(redb_err)?;
            remove_file_if_present(&path)?;
            Ok((dt, n as usize))
        }
        DurableSystem::FjallSyncData => {
            let path = dir.join(format!("omendb-bench-durable-{}.fjall", std::process::id()));
            remove_dir_if_present(&path)?;
            let (db, ks) = open_fjall(&path, cache_bytes_for(0))?;
            let t = Instant::now();
            run_writers(lists, |k| {
                let mut batch = db.batch().durability(Some(PersistMode::SyncData));
                batch.insert(&ks, &fjall_key(k)[..], &k.wrapping_mul(3).to_le_bytes()[..]);
                batch.commit()?;
                Ok(())
            })?;
            let dt = t.elapsed();
            drop((db, ks));
            let (db, ks) = open_fjall(&path, cache_bytes_for(0))?;
            let n = ks.len()?;
            drop((db, ks));
            remove_dir_if_present(&path)?;
            Ok((dt, n))
        }
    }
}

/// Puts every key of `lists[i]` from thread `i`, all threads at once; the first error
/// (or a panicked thread) is the result.
fn run_writers(
    lists: &[Vec<u64>],
    put: impl Fn(u64) -> Result<(), BenchError> + Sync,
) -> Result<(), BenchError> {
    std::thread::scope(|s| {
        let handles: Vec<_> = lists
            .iter()
            .map(|keys| {
                let put = &put;
                s.spawn(move || keys.iter().try_for_each(|&k| put(k)))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| BenchError::Usage("a writer thread panicked".into()))?
        })
    })
}

/// Every (system, thread count), `reps` times each; one record per pair, the median.
pub fn run_durability(
    settings: &DurableSettings,
    mut on_step: impl FnMut(&str),
) -> Result<Vec<Record>, BenchError> {
    let mut records = Vec::new();
    for &threads in &settings.threads {
        let lists = key_lists(
            settings.puts,
            threads,
            derive_seed(settings.seed, &format!("durable:{threads}")),
        );
        let puts: usize = lists.iter().map(Vec::len).sum();
        for system in DurableSystem::ALL {
            on_step(&format!("durable puts: {} x{threads}", system.name()));
            let mut ns = Vec::new();
            for _ in 0..system.reps(settings) {
                let (dt, n) = run_once(system, &lists, &settings.tmp_dir)?;
                if n != puts {
                    return Err(BenchError::Usage(format!(
                        "{} with {threads} writers holds {n} entries after {puts} puts",
                        system.name()
                    )));
                }
                ns.push(dt.as_nanos() as f64 / puts as f64);
            }
            ns.sort_by(f64::total_cmp);
            let median = ns[ns.len() / 2];
            records.push(Record {
                system: system.name().to_string(),
                keyset: "uniform".into(),
                scale: scale_label(puts),
                workload: format!("durable-put-{threads}t"),
                ns_per_op: median,
                ops_per_sec: 1e9 / median,
                min: ns[0],
                max: ns[ns.len() - 1],
                heap_bytes: None,
                peak_rss_bytes: None,
                anon_huge_pages_bytes: None,
                system_label: system.label().to_string(),
                keys: puts,
                ops: puts,
                reps: ns.len(),
                checksum: format!("{puts:016x}"),
                sqlite_memory_bytes: None,
                file_bytes: None,
                phases: Vec::new(),
                put_latency: None,
            });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_keeps_every_put() {
        let dir = std::env::temp_dir().join(format!("omendb-durable-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = DurableSettings {
            puts: 40,
            threads: vec![1, 3],
            reps: 1,
            store_reps: 1,
            tmp_dir: dir.clone(),
            seed: 1,
        };
        let records = run_durability(&settings, |_| {}).unwrap();
        assert_eq!(records.len(), 2 * DurableSystem::ALL.len());
        assert!(records.iter().all(|r| r.ops == 40 && r.ns_per_op > 0.0));
        assert!(probe_disk(&dir).unwrap().fdatasync_us > 0.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_lists_are_distinct_and_split() {
        let lists = key_lists(10, 3, 5);
        assert_eq!(lists.len(), 3);
        let mut all: Vec<u64> = lists.concat();
        assert_eq!(all.len(), 10);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10);
    }
}
