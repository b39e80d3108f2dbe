//! Opening a database's files without changing any: the manifest, every run it names
//! (header and index section checked), then the logs from the manifest's `log_number` on,
//! replayed into one memtable. Work in proportion to the runs' blocks (their fences) and
//! to the log tail, never to the entries in runs. [`crate::Db::open`] then tidies the
//! directory; [`crate::verify`] only reports.

use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::manifest::{read_manifest, Manifest, MANIFEST_NAME};
use crate::memtable::Memtable;
use crate::run::{parse_run_name, Run};
use crate::storage::Storage;
use crate::wal::reader::{scan_log, LogExpect, LogScan};
use crate::wal::{log_name, parse_log_name};
use alex::Key;
use std::sync::Arc;

/// What recovery found.
#[derive(Debug)]
pub struct Recovered<K: Key> {
    pub manifest: Manifest,
    /// The manifest's runs, in its order.
    pub runs: Vec<Arc<Run>>,
    /// The logs' operations.
    pub mem: Memtable<K>,
    /// Logs replayed, oldest first, with what each held.
    pub logs: Vec<(u64, LogScan)>,
    /// Logs older than the manifest's first log: already written out as runs.
    pub stale_logs: Vec<u64>,
    /// Run files the manifest does not name: left by a flush, merge or import that did
    /// not finish.
    pub orphan_runs: Vec<String>,
}

/// The key type recorded in the manifest.
pub fn stored_key_type(storage: &dyn Storage) -> Result<KeyType> {
    Ok(read_manifest(storage)?.key_type)
}

/// Reads the manifest, opens its runs and replays the logs after them.
pub fn recover<K: Key>(storage: &dyn Storage) -> Result<Recovered<K>> {
    let manifest = read_manifest(storage)?;
    if manifest.key_type != KeyType::of::<K>() {
        return Err(Error::KeyTypeMismatch {
            stored: manifest.key_type.name(),
            requested: K::TYPE_NAME,
        });
    }
    let mut runs = Vec::with_capacity(manifest.runs.len());
    for entry in &manifest.runs {
        let run = Run::open(storage, entry.file_number, manifest.key_type)?;
        if run.entry_count() != entry.entry_count
            || run.file_len() != entry.file_len
            || run.key_range() != (entry.min_key, entry.max_key)
        {
            return Err(Error::corrupted(
                run.name(),
                0,
                "run disagrees with its manifest entry",
            ));
        }
        runs.push(Arc::new(run));
    }
    let names = storage.list().map_err(|e| Error::io("directory", e))?;
    let orphan_runs = names
        .iter()
        .filter(|n| {
            parse_run_name(n).is_some_and(|f| !manifest.runs.iter().any(|r| r.file_number == f))
        })
        .cloned()
        .collect();
    let mut numbers: Vec<u64> = names.iter().filter_map(|n| parse_log_name(n)).collect();
    numbers.sort_unstable();
    let (stale_logs, live): (Vec<u64>, Vec<u64>) =
        numbers.into_iter().partition(|&n| n < manifest.log_number);
    if live.first() != Some(&manifest.log_number) {
        return Err(Error::corrupted(
            log_name(manifest.log_number),
            0,
            format!("log named by the {MANIFEST_NAME} is missing"),
        ));
    }
    let mem = Memtable::new(*live.last().unwrap_or(&manifest.log_number));
    let mut logs = Vec::with_capacity(live.len());
    let mut seq = manifest.next_seq;
    for (i, &number) in live.iter().enumerate() {
        let name = log_name(number);
        if number != manifest.log_number + i as u64 {
            return Err(Error::corrupted(
                name,
                0,
                "gap in log numbers before this log",
            ));
        }
        let expect = LogExpect {
            name: name.clone(),
            log_number: number,
            key_type: manifest.key_type,
            start_seq: seq,
            is_last: i + 1 == live.len(),
        };
        let (mut reader, len) = storage.open_read(&name).map_err(|e| Error::io(&name, e))?;
        let scan = scan_log::<K>(&mut *reader, len, &expect, |op| mem.apply_replayed(op))?;
        seq = scan.end_seq;
        logs.push((number, scan));
    }
    mem.set_end_seq(seq);
    Ok(Recovered {
        manifest,
        runs,
        mem,
        logs,
        stale_logs,
        orphan_runs,
    })
}
