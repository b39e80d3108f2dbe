//! Fuzz-target bodies: each feeds arbitrary bytes to a decoder, which must return a value
//! or a typed error and never panic. `cargo fuzz` targets call these directly.

use crate::key_type::KeyType;
use crate::manifest::Manifest;
use crate::run::{Found, Run, RunCursor};
use crate::snapshot::load_snapshot_bytes;
use crate::storage::BytesFile;
use crate::wal::format::LogHeader;
use crate::wal::reader::{scan_log_bytes, LogExpect};
use std::sync::Arc;

/// Decodes `bytes` as the newest log of a u64 database; returns the number of operations
/// replayed, or the error.
pub fn decode_wal(bytes: &[u8]) -> crate::Result<u64> {
    // Take the expected numbers from the header when it parses, so the fuzzer reaches the
    // records instead of stopping at a sequence mismatch.
    let (log_number, start_seq) = bytes
        .get(..crate::wal::format::LOG_HEADER_LEN)
        .and_then(|h| <&[u8; 40]>::try_from(h).ok())
        .and_then(|h| LogHeader::decode(h).ok())
        .map_or((1, 0), |h| (h.log_number, h.start_seq));
    let expect = LogExpect {
        name: "fuzz.wal".into(),
        log_number,
        key_type: KeyType::U64,
        start_seq,
        is_last: true,
    };
    let mut ops = 0u64;
    scan_log_bytes::<u64>(bytes, &expect, |_| ops += 1)?;
    Ok(ops)
}

/// Decodes `bytes` as a snapshot of a u64 database; returns the entry count, or the error.
pub fn decode_snapshot(bytes: &[u8]) -> crate::Result<u64> {
    let mut entries = 0u64;
    let mut previous = None;
    load_snapshot_bytes::<u64>(bytes, |k, _| {
        debug_assert!(
            previous.is_none_or(|p| p < k),
            "decoder let unsorted keys through"
        );
        previous = Some(k);
        entries += 1;
    })?;
    Ok(entries)
}

/// Decodes `bytes` as a run of a u64 database: opens it (header and index section),
/// checks every block, walks it with a cursor and looks up each block's first key.
/// Returns the number of entries, or the error.
pub fn decode_run(bytes: &[u8]) -> crate::Result<u64> {
    let run = Arc::new(Run::from_file(
        "fuzz.run".into(),
        1,
        Arc::new(BytesFile(bytes.to_vec())),
        KeyType::U64,
    )?);
    run.verify_all()?;
    let mut cursor = RunCursor::seek(Arc::clone(&run), 0)?;
    let mut entries = 0u64;
    let mut previous = None;
    while let Some(k) = cursor.key() {
        debug_assert!(previous.is_none_or(|p| p < k), "cursor went backwards");
        previous = Some(k);
        entries += 1;
        cursor.advance()?;
    }
    let (min, max) = run.key_range();
    let mut buf = Vec::new();
    for key in [min, max, min / 2 + max / 2] {
        if run.block_count() > 0 {
            let found = run.get_with(key, &mut buf, <[u8]>::len)?;
            debug_assert!(key != min || matches!(found, Some(Found::Value(_) | Found::Deleted)));
        }
    }
    Ok(entries)
}

/// Decodes `bytes` as a manifest; returns the number of runs it names, or the error.
pub fn decode_manifest(bytes: &[u8]) -> crate::Result<u64> {
    Ok(Manifest::decode(bytes, "MANIFEST")?.runs.len() as u64)
}
