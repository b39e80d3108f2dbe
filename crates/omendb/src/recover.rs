//! Rebuilding the in-memory state from the snapshot and the logs, without changing any
//! file. [`crate::Db::open`] then tidies the directory; [`crate::verify`] only reports.

use crate::arena::{Arena, ValueRef};
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::snapshot::{load_snapshot, SnapshotHeader, SNAPSHOT_NAME};
use crate::storage::Storage;
use crate::wal::format::OpRef;
use crate::wal::reader::{scan_log, LogExpect, LogScan};
use crate::wal::{log_name, parse_log_name};
use alex::{AlexMap, Key};

/// The index and the value bytes it points into.
#[derive(Debug)]
pub struct State<K: Key> {
    pub index: AlexMap<K, ValueRef>,
    pub arena: Arena,
}

impl<K: Key> Default for State<K> {
    fn default() -> Self {
        Self {
            index: AlexMap::new(),
            arena: Arena::new(),
        }
    }
}

impl<K: Key> State<K> {
    pub fn put(&mut self, key: K, value: &[u8]) {
        let handle = self.arena.alloc(value);
        if let Some(old) = self.index.insert(key, handle) {
            self.arena.free(old);
        }
    }

    pub fn delete(&mut self, key: K) {
        if let Some(old) = self.index.remove(&key) {
            self.arena.free(old);
        }
    }

    pub fn apply(&mut self, op: OpRef<'_, K>) {
        match op {
            OpRef::Put(k, v) => self.put(k, v),
            OpRef::Delete(k) => self.delete(k),
        }
    }
}

/// What recovery found.
#[derive(Debug)]
pub struct Recovered<K: Key> {
    pub state: State<K>,
    pub snapshot: SnapshotHeader,
    /// Logs replayed, oldest first, with what each held.
    pub logs: Vec<(u64, LogScan)>,
    /// Logs older than the snapshot's first log: leftovers of a finished checkpoint.
    pub stale_logs: Vec<u64>,
}

/// Reads the key type recorded in the snapshot header.
pub fn stored_key_type(storage: &dyn Storage) -> Result<KeyType> {
    Ok(crate::snapshot::read_header(storage)?.key_type)
}

/// Loads the snapshot and replays every log after it.
pub fn recover<K: Key>(storage: &dyn Storage) -> Result<Recovered<K>> {
    let stored = stored_key_type(storage)?;
    if stored != KeyType::of::<K>() {
        return Err(Error::KeyTypeMismatch {
            stored: stored.name(),
            requested: K::TYPE_NAME,
        });
    }
    let (mut reader, len) = storage
        .open_read(SNAPSHOT_NAME)
        .map_err(|e| Error::io(SNAPSHOT_NAME, e))?;
    let mut arena = Arena::new();
    let mut pairs: Vec<(K, ValueRef)> = Vec::new();
    let snapshot = load_snapshot::<K>(&mut *reader, len, SNAPSHOT_NAME, |k, v| {
        pairs.push((k, arena.alloc(v)));
    })?;
    drop(reader);
    let index =
        AlexMap::bulk_load(pairs).map_err(|e| Error::corrupted(SNAPSHOT_NAME, 0, e.to_string()))?;
    let mut state = State { index, arena };

    let names = storage.list().map_err(|e| Error::io("directory", e))?;
    let mut numbers: Vec<u64> = names.iter().filter_map(|n| parse_log_name(n)).collect();
    numbers.sort_unstable();
    let (stale_logs, live): (Vec<u64>, Vec<u64>) =
        numbers.into_iter().partition(|&n| n < snapshot.log_number);
    if live.first() != Some(&snapshot.log_number) {
        return Err(Error::corrupted(
            log_name(snapshot.log_number),
            0,
            "log named by the snapshot is missing",
        ));
    }
    let mut logs = Vec::with_capacity(live.len());
    let mut seq = snapshot.next_seq;
    for (i, &number) in live.iter().enumerate() {
        let name = log_name(number);
        if number != snapshot.log_number + i as u64 {
            return Err(Error::corrupted(
                name,
                0,
                "gap in log numbers before this log",
            ));
        }
        let expect = LogExpect {
            name: name.clone(),
            log_number: number,
            key_type: stored,
            start_seq: seq,
            is_last: i + 1 == live.len(),
        };
        let (mut reader, len) = storage.open_read(&name).map_err(|e| Error::io(&name, e))?;
        let scan = scan_log::<K>(&mut *reader, len, &expect, |op| state.apply(op))?;
        seq = scan.end_seq;
        logs.push((number, scan));
    }
    Ok(Recovered {
        state,
        snapshot,
        logs,
        stale_logs,
    })
}
