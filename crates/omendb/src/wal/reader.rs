//! Reading a log: validation, torn-tail detection and replay.
//!
//! Recovery policy (docs/design.md, "Recovery"): in the last log file a torn tail (a record
//! cut short by the end of the file, or a run of zero bytes to the end) is dropped and
//! reported in [`LogScan::torn`]; every other invalid byte, and any torn record in an
//! earlier log, is [`Error::Corrupted`] naming the file and the record's offset.

use super::format::{
    parse_payload, LogHeader, OpRef, RecordHeader, LH_LOG_NUMBER, LH_START_SEQ, LOG_HEADER_LEN,
    MAX_PAYLOAD_LEN, RECORD_HEADER_LEN,
};
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use alex::Key;
use std::io::{self, Read};

/// What the caller knows about a log before reading it.
#[derive(Clone, Debug)]
pub struct LogExpect {
    /// File name, for error messages.
    pub name: String,
    /// Number from the file name; must match the header.
    pub log_number: u64,
    /// Key type of the database.
    pub key_type: KeyType,
    /// Sequence number the log must start at.
    pub start_seq: u64,
    /// Whether this is the newest log (only it may have a torn tail).
    pub is_last: bool,
}

/// The outcome of reading a valid log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogScan {
    /// False when the file header itself was torn (the log is then empty).
    pub header_valid: bool,
    /// Bytes up to the end of the last valid record (the length to truncate to).
    pub valid_len: u64,
    /// Sequence number after the last valid batch.
    pub end_seq: u64,
    /// Valid records read.
    pub records: u64,
    /// Valid batches read.
    pub batches: u64,
    /// `(offset, length)` of a dropped torn tail.
    pub torn: Option<(u64, u64)>,
}

struct Input<'r> {
    reader: &'r mut dyn Read,
    name: &'r str,
}

impl Input<'_> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.reader
            .read_exact(buf)
            .map_err(|e| Error::io(self.name, e))
    }

    /// True when the next `len` bytes are all zero.
    fn rest_is_zero(&mut self, mut len: u64) -> Result<bool> {
        let mut buf = vec![0u8; 64 << 10];
        while len > 0 {
            let n = len.min(buf.len() as u64) as usize;
            self.read_exact(&mut buf[..n])?;
            if buf[..n].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            len -= n as u64;
        }
        Ok(true)
    }
}

/// The granularity at which the kernel copies a write into the page cache: a write cut
/// short by a fatal signal ends at a multiple of it (any larger page size is one too).
const PAGE: u64 = 4096;

/// True when `bytes`, found at file offset `at`, are all zero from a page boundary
/// before their end on: what a write cut short over zeros leaves (its first pages
/// written, the rest not). A record within one page is written whole or not at all.
fn zero_from_page_boundary(at: u64, bytes: &[u8]) -> bool {
    let end = at + bytes.len() as u64;
    let written_to = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(at, |i| at + i as u64 + 1);
    written_to.div_ceil(PAGE) * PAGE < end
}

/// Reads and validates a whole log of `file_len` bytes, calling `apply` for each operation
/// of each valid record in order. A record's operations are passed only after the whole
/// record validated, so a bad record applies nothing.
pub fn scan_log<K: Key>(
    reader: &mut dyn Read,
    file_len: u64,
    expect: &LogExpect,
    mut apply: impl FnMut(OpRef<'_, K>),
) -> Result<LogScan> {
    let name = expect.name.as_str();
    let mut input = Input { reader, name };
    let corrupt = |offset: u64, reason: String| Error::corrupted(name, offset, reason);
    let mut scan = LogScan {
        end_seq: expect.start_seq,
        ..LogScan::default()
    };

    let header_len = LOG_HEADER_LEN as u64;
    if file_len < header_len {
        if !expect.is_last {
            return Err(corrupt(
                0,
                format!("log of {file_len} bytes has no full header"),
            ));
        }
        scan.torn = (file_len > 0).then_some((0, file_len));
        return Ok(scan);
    }
    let mut hb = [0u8; LOG_HEADER_LEN];
    input.read_exact(&mut hb)?;
    let header = match LogHeader::decode(&hb) {
        Ok(h) => h,
        Err(_)
            if expect.is_last
                && hb.iter().all(|&b| b == 0)
                && input.rest_is_zero(file_len - header_len)? =>
        {
            scan.torn = Some((0, file_len));
            return Ok(scan);
        }
        Err((offset, reason)) => return Err(corrupt(offset, reason)),
    };
    if header.key_type != expect.key_type {
        return Err(Error::KeyTypeMismatch {
            stored: header.key_type.name(),
            requested: expect.key_type.name(),
        });
    }
    if header.log_number != expect.log_number {
        return Err(corrupt(
            LH_LOG_NUMBER as u64,
            format!(
                "header says log {} but the file name says {}",
                header.log_number, expect.log_number
            ),
        ));
    }
    if header.start_seq != expect.start_seq {
        return Err(corrupt(
            LH_START_SEQ as u64,
            format!(
                "log starts at sequence {} but {} was expected",
                header.start_seq, expect.start_seq
            ),
        ));
    }
    scan.header_valid = true;
    scan.valid_len = header_len;

    let mut payload = Vec::new();
    let mut offset = header_len;
    while offset < file_len {
        let remaining = file_len - offset;
        let torn = |scan: &mut LogScan| -> Result<()> {
            if expect.is_last {
                scan.torn = Some((offset, remaining));
                Ok(())
            } else {
                Err(Error::corrupted(
                    name,
                    offset,
                    "torn record in a log that is not the newest",
                ))
            }
        };
        if remaining < RECORD_HEADER_LEN as u64 {
            torn(&mut scan)?;
            break;
        }
        let mut rb = [0u8; RECORD_HEADER_LEN];
        input.read_exact(&mut rb)?;
        let Some(record) = RecordHeader::decode(&rb) else {
            if (rb.iter().all(|&b| b == 0) || zero_from_page_boundary(offset, &rb))
                && input.rest_is_zero(remaining - RECORD_HEADER_LEN as u64)?
            {
                torn(&mut scan)?;
                break;
            }
            return Err(corrupt(offset, "record header checksum mismatch".into()));
        };
        if record.seq != scan.end_seq {
            return Err(corrupt(
                offset,
                format!(
                    "record sequence {} where {} was expected",
                    record.seq, scan.end_seq
                ),
            ));
        }
        if record.payload_len > MAX_PAYLOAD_LEN {
            return Err(corrupt(
                offset,
                format!("payload length {} over the limit", record.payload_len),
            ));
        }
        let end = offset + RECORD_HEADER_LEN as u64 + u64::from(record.payload_len);
        if end > file_len {
            torn(&mut scan)?;
            break;
        }
        payload.resize(record.payload_len as usize, 0);
        input.read_exact(&mut payload)?;
        if crc32c::crc32c(&payload) != record.payload_crc {
            // A write cut short by the death of the process, over zeros written ahead:
            // its pages up to some page boundary, zeros from there to the end of the file.
            let payload_at = offset + RECORD_HEADER_LEN as u64;
            if expect.is_last
                && zero_from_page_boundary(payload_at, &payload)
                && input.rest_is_zero(file_len - end)?
            {
                torn(&mut scan)?;
                break;
            }
            return Err(corrupt(offset, "record payload checksum mismatch".into()));
        }
        let batches = parse_payload::<K>(&payload, |_| {}).map_err(|(at, reason)| {
            corrupt(offset + RECORD_HEADER_LEN as u64 + at as u64, reason)
        })?;
        // A sequence past u64::MAX cannot come from a real log (it would take 2^64
        // batches): refuse it before applying anything.
        let end_seq = scan
            .end_seq
            .checked_add(u64::from(batches))
            .ok_or_else(|| corrupt(offset, "batch sequence numbers overflow u64".into()))?;
        parse_payload::<K>(&payload, &mut apply).map_err(|(at, reason)| {
            corrupt(offset + RECORD_HEADER_LEN as u64 + at as u64, reason)
        })?;
        scan.records += 1;
        scan.batches += u64::from(batches);
        scan.end_seq = end_seq;
        offset = end;
        scan.valid_len = end;
    }
    Ok(scan)
}

/// Reads a log held in memory; used by tests and fuzzing.
pub fn scan_log_bytes<K: Key>(
    bytes: &[u8],
    expect: &LogExpect,
    apply: impl FnMut(OpRef<'_, K>),
) -> Result<LogScan> {
    let mut reader = io::Cursor::new(bytes);
    scan_log(&mut reader, bytes.len() as u64, expect, apply)
}
