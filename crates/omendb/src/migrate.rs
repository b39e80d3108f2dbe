//! Opening a database written by the first engine (a `SNAPSHOT` and logs): its snapshot
//! becomes run 1 at level 1 and a manifest names it and the snapshot's first log. Until the
//! manifest's rename the snapshot stays the truth (a crash leaves an orphan run, written
//! again next time); after it, opening deletes the snapshot as a leftover.

use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::manifest::{write_manifest, Manifest, RunEntry};
use crate::run::RunWriter;
use crate::snapshot::{load_snapshot, SNAPSHOT_NAME};
use crate::storage::Storage;
use alex::Key;

/// Writes the snapshot out as a run and installs a manifest naming it.
pub fn snapshot_to_run<K: Key>(storage: &dyn Storage) -> Result<()> {
    let (mut reader, len) = storage
        .open_read(SNAPSHOT_NAME)
        .map_err(|e| Error::io(SNAPSHOT_NAME, e))?;
    let key_type = KeyType::of::<K>();
    let mut writer = RunWriter::create(storage, 1, key_type)?;
    let mut failed = None;
    let header = load_snapshot::<K>(&mut *reader, len, SNAPSHOT_NAME, |k, v| {
        if failed.is_none() {
            failed = writer.add(k.to_ordered(), Some(v)).err();
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let mut runs = Vec::new();
    if writer.entries() > 0 {
        let meta = writer.finish()?;
        runs.push(RunEntry {
            file_number: meta.file_number,
            level: 1,
            entry_count: meta.entry_count,
            file_len: meta.file_len,
            min_key: meta.min_key,
            max_key: meta.max_key,
        });
    } else {
        drop(writer);
    }
    storage.sync_dir().map_err(|e| Error::io("directory", e))?;
    write_manifest(
        storage,
        &Manifest {
            key_type,
            next_seq: header.next_seq,
            log_number: header.log_number,
            next_file: 2,
            runs,
        },
    )
}
