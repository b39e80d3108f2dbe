//! Bodies of the `wal_decode`, `snapshot_decode`, `run_decode` and `manifest_decode` fuzz
//! targets, shared with the stable
//! smoke test `crates/omendb/tests/fuzz_smoke.rs` (which includes this file by path), so
//! CI on stable runs exactly the code the fuzzer runs.
//!
//! Each check decodes the input twice: as it is, and with every checksum recomputed
//! (see [`fix_wal_checksums`], [`fix_snapshot_checksums`], [`fix_run_checksums`] and
//! [`fix_manifest_checksum`]). Random bytes almost never
//! pass a CRC-32C, so without the second pass a fuzzer would spend its time in the
//! checksum comparisons and rarely reach the parsing behind them. Both passes must end in
//! a value or a typed error ([`Error::Corrupted`], [`Error::KeyTypeMismatch`],
//! [`Error::UnsupportedVersion`]); a `Corrupted` error must name an offset inside the
//! input. Any panic, hang or huge allocation is a bug in the decoder.
//!
//! Each includer uses half of this file, hence the `dead_code` allowance.
#![allow(dead_code)]

use omendb::fuzz::{decode_manifest, decode_run, decode_snapshot, decode_wal};
use omendb::run::format::{RH_CRC, RH_DATA_LEN, RH_INDEX_LEN, RUN_HEADER_LEN};
use omendb::snapshot::{
    BH_BODY_CRC, BH_BODY_LEN, BH_HEADER_CRC, BLOCK_HEADER_LEN, SH_CRC, SH_DATA_LEN, SNAP_HEADER_LEN,
};
use omendb::wal::format::{
    LH_CRC, LOG_HEADER_LEN, RECORD_HEADER_LEN, RH_HEADER_CRC, RH_PAYLOAD_CRC, RH_PAYLOAD_LEN,
};
use omendb::Error;

/// Decodes `bytes` as a log, as given and with its checksums fixed.
pub fn check_wal(bytes: &[u8]) {
    check_both(bytes, decode_wal, fix_wal_checksums, "log");
}

/// Decodes `bytes` as a snapshot, as given and with its checksums and data length fixed.
pub fn check_snapshot(bytes: &[u8]) {
    check_both(bytes, decode_snapshot, fix_snapshot_checksums, "snapshot");
}

/// Decodes `bytes` as a run, as given and with its checksums fixed.
pub fn check_run(bytes: &[u8]) {
    check_both(bytes, decode_run, fix_run_checksums, "run");
}

/// Decodes `bytes` as a manifest, as given and with its checksum fixed.
pub fn check_manifest(bytes: &[u8]) {
    check_both(bytes, decode_manifest, fix_manifest_checksum, "manifest");
}

/// Decodes `bytes` as given, then, when `fix` changes them, with `fix` applied; both must
/// give a value or a typed error.
fn check_both(
    bytes: &[u8],
    decode: fn(&[u8]) -> omendb::Result<u64>,
    fix: fn(&mut [u8]),
    what: &str,
) {
    assert_typed(decode(bytes), bytes.len(), what);
    let mut fixed = bytes.to_vec();
    fix(&mut fixed);
    if fixed != bytes {
        assert_typed(
            decode(&fixed),
            fixed.len(),
            &format!("{what} with fixed checksums"),
        );
    }
}

fn assert_typed(result: omendb::Result<u64>, len: usize, what: &str) {
    match result {
        Ok(_) => {}
        Err(Error::Corrupted { offset, .. }) => assert!(
            offset <= len as u64,
            "{what} of {len} bytes: Corrupted names offset {offset}, past the end"
        ),
        Err(Error::KeyTypeMismatch { .. } | Error::UnsupportedVersion { .. }) => {}
        Err(e) => panic!("{what} of {len} bytes: untyped decoder error: {e:?}"),
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn put_u32(b: &mut [u8], at: usize, x: u32) {
    b[at..at + 4].copy_from_slice(&x.to_le_bytes());
}

/// Rewrites the header checksum, and each record's header and payload checksums, walking
/// records by their declared lengths. A record header of all zero bytes is left alone (the
/// decoder may treat a zero run as a torn tail), and so is a payload cut short by the end
/// of the input. The log header's other fields and the records' sequence numbers are not
/// touched: the fuzzer must find them.
pub fn fix_wal_checksums(bytes: &mut [u8]) {
    if bytes.len() < LOG_HEADER_LEN {
        return;
    }
    let crc = crc32c::crc32c(&bytes[..LH_CRC]);
    put_u32(bytes, LH_CRC, crc);
    let mut at = LOG_HEADER_LEN;
    while bytes.len() - at >= RECORD_HEADER_LEN {
        if bytes[at..at + RECORD_HEADER_LEN].iter().all(|&b| b == 0) {
            return;
        }
        let payload_len = u32_at(bytes, at + RH_PAYLOAD_LEN) as usize;
        let start = at + RECORD_HEADER_LEN;
        let end = start
            .checked_add(payload_len)
            .filter(|&end| end <= bytes.len());
        if let Some(end) = end {
            let crc = crc32c::crc32c(&bytes[start..end]);
            put_u32(bytes, at + RH_PAYLOAD_CRC, crc);
        }
        let crc = crc32c::crc32c(&bytes[at..at + RH_HEADER_CRC]);
        put_u32(bytes, at + RH_HEADER_CRC, crc);
        match end {
            Some(end) => at = end,
            None => return,
        }
    }
}

/// Sets the header's data length to the bytes after the header, rewrites the header
/// checksum, and each block's header and body checksums, walking blocks by their declared
/// lengths. Entry counts and value-byte totals are left for the fuzzer to get right.
pub fn fix_snapshot_checksums(bytes: &mut [u8]) {
    if bytes.len() < SNAP_HEADER_LEN {
        return;
    }
    let data_len = (bytes.len() - SNAP_HEADER_LEN) as u64;
    bytes[SH_DATA_LEN..SH_DATA_LEN + 8].copy_from_slice(&data_len.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..SH_CRC]);
    put_u32(bytes, SH_CRC, crc);
    let mut at = SNAP_HEADER_LEN;
    while bytes.len() - at >= BLOCK_HEADER_LEN {
        let body_len = u32_at(bytes, at + BH_BODY_LEN) as usize;
        let start = at + BLOCK_HEADER_LEN;
        let end = start
            .checked_add(body_len)
            .filter(|&end| end <= bytes.len());
        if let Some(end) = end {
            let crc = crc32c::crc32c(&bytes[start..end]);
            put_u32(bytes, at + BH_BODY_CRC, crc);
        }
        let crc = crc32c::crc32c(&bytes[at..at + BH_HEADER_CRC]);
        put_u32(bytes, at + BH_HEADER_CRC, crc);
        match end {
            Some(end) => at = end,
            None => return,
        }
    }
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Rewrites a run's header checksum, its index section's checksum and, walking the block
/// offsets the index section declares, every block's trailing checksum. Lengths and counts
/// are left for the fuzzer to get right.
pub fn fix_run_checksums(bytes: &mut [u8]) {
    if bytes.len() < RUN_HEADER_LEN {
        return;
    }
    let crc = crc32c::crc32c(&bytes[..RH_CRC]);
    put_u32(bytes, RH_CRC, crc);
    let (Some(data_len), Some(index_len)) =
        (u64_at(bytes, RH_DATA_LEN), u64_at(bytes, RH_INDEX_LEN))
    else {
        return;
    };
    let index_at = (RUN_HEADER_LEN as u64).saturating_add(data_len);
    let index_end = index_at.saturating_add(index_len);
    if index_len < 4 || index_end > bytes.len() as u64 {
        return;
    }
    let (index_at, index_end) = (index_at as usize, index_end as usize);
    let blocks = u64_at(bytes, 24).unwrap_or(0);
    if blocks.saturating_mul(16) < (index_end - index_at) as u64 {
        let blocks = blocks as usize;
        let offsets_at = index_at + blocks * 8;
        for b in 0..blocks {
            let (Some(start), Some(end)) = (
                u64_at(bytes, offsets_at + b * 8),
                u64_at(bytes, offsets_at + b * 8 + 8),
            ) else {
                break;
            };
            let start = (RUN_HEADER_LEN as u64).saturating_add(start);
            let end = (RUN_HEADER_LEN as u64).saturating_add(end);
            if start.saturating_add(4) > end || end > index_at as u64 {
                break;
            }
            let (start, end) = (start as usize, end as usize);
            let crc = crc32c::crc32c(&bytes[start..end - 4]);
            put_u32(bytes, end - 4, crc);
        }
    }
    let crc = crc32c::crc32c(&bytes[index_at..index_end - 4]);
    put_u32(bytes, index_end - 4, crc);
}

/// Rewrites a manifest's trailing checksum.
pub fn fix_manifest_checksum(bytes: &mut [u8]) {
    if bytes.len() < 4 {
        return;
    }
    let end = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..end]);
    put_u32(bytes, end, crc);
}
