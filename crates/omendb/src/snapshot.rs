//! Snapshots: the sorted contents of the database at one sequence number, in checksummed
//! blocks (see docs/design.md, "Snapshot file"; the constants here mirror it).
//!
//! A snapshot is written to [`SNAPSHOT_TMP`], synced, renamed over [`SNAPSHOT_NAME`] and
//! the directory synced, so [`SNAPSHOT_NAME`] always names a complete snapshot: any
//! invalid byte in it is [`Error::Corrupted`], never a torn tail.

use crate::batch::MAX_VALUE_LEN;
use crate::error::{Error, Result};
use crate::key_type::{key_from_disk, KeyType};
use crate::storage::Storage;
use alex::Key;
use std::io::{self, Read};

/// The current snapshot.
pub const SNAPSHOT_NAME: &str = "SNAPSHOT";
/// A snapshot being written.
pub const SNAPSHOT_TMP: &str = "SNAPSHOT.tmp";

/// Magic bytes opening a snapshot.
pub const SNAP_MAGIC: [u8; 8] = *b"OMENSNP\0";
/// Format version written and accepted.
pub const SNAP_VERSION: u32 = 1;
/// Length of the snapshot header.
pub const SNAP_HEADER_LEN: usize = 64;
pub const SH_VERSION: usize = 8;
pub const SH_KEY_TYPE: usize = 12;
pub const SH_ENTRY_COUNT: usize = 16;
pub const SH_NEXT_SEQ: usize = 24;
pub const SH_LOG_NUMBER: usize = 32;
pub const SH_DATA_LEN: usize = 40;
pub const SH_VALUE_BYTES: usize = 48;
pub const SH_RESERVED: usize = 56;
pub const SH_CRC: usize = 60;

/// Length of a block header.
pub const BLOCK_HEADER_LEN: usize = 16;
pub const BH_ENTRY_COUNT: usize = 0;
pub const BH_BODY_LEN: usize = 4;
pub const BH_BODY_CRC: usize = 8;
pub const BH_HEADER_CRC: usize = 12;
/// A block is closed once its body reaches this many bytes.
pub const BLOCK_TARGET_BYTES: usize = 256 << 10;
/// Bytes of one entry besides its value.
pub const ENTRY_FIXED_LEN: usize = 12;
/// Largest body a block may declare.
pub const MAX_BLOCK_BODY: usize = BLOCK_TARGET_BYTES + ENTRY_FIXED_LEN + MAX_VALUE_LEN;

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The fields of a snapshot header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub key_type: KeyType,
    pub entry_count: u64,
    /// Sequence number of the first batch not contained.
    pub next_seq: u64,
    /// First log to replay on top of this snapshot.
    pub log_number: u64,
    /// Bytes of blocks after the header.
    pub data_len: u64,
    /// Sum of value lengths.
    pub value_bytes: u64,
}

impl SnapshotHeader {
    pub fn encode(&self) -> [u8; SNAP_HEADER_LEN] {
        let mut b = [0u8; SNAP_HEADER_LEN];
        b[..8].copy_from_slice(&SNAP_MAGIC);
        b[SH_VERSION..SH_VERSION + 4].copy_from_slice(&SNAP_VERSION.to_le_bytes());
        b[SH_KEY_TYPE] = self.key_type.code();
        b[SH_ENTRY_COUNT..SH_ENTRY_COUNT + 8].copy_from_slice(&self.entry_count.to_le_bytes());
        b[SH_NEXT_SEQ..SH_NEXT_SEQ + 8].copy_from_slice(&self.next_seq.to_le_bytes());
        b[SH_LOG_NUMBER..SH_LOG_NUMBER + 8].copy_from_slice(&self.log_number.to_le_bytes());
        b[SH_DATA_LEN..SH_DATA_LEN + 8].copy_from_slice(&self.data_len.to_le_bytes());
        b[SH_VALUE_BYTES..SH_VALUE_BYTES + 8].copy_from_slice(&self.value_bytes.to_le_bytes());
        let crc = crc32c::crc32c(&b[..SH_CRC]);
        b[SH_CRC..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header.
    pub fn decode(b: &[u8; SNAP_HEADER_LEN], name: &str) -> Result<Self> {
        let corrupt = |offset: usize, reason: String| Error::corrupted(name, offset as u64, reason);
        if crc32c::crc32c(&b[..SH_CRC]) != u32_at(b, SH_CRC) {
            return Err(corrupt(SH_CRC, "snapshot header checksum mismatch".into()));
        }
        if b[..8] != SNAP_MAGIC {
            return Err(corrupt(0, "not a snapshot (bad magic)".into()));
        }
        let version = u32_at(b, SH_VERSION);
        if version != SNAP_VERSION {
            return Err(Error::UnsupportedVersion {
                file: name.to_string(),
                version,
            });
        }
        let key_type = KeyType::from_code(b[SH_KEY_TYPE]).ok_or_else(|| {
            corrupt(
                SH_KEY_TYPE,
                format!("unknown key type code {}", b[SH_KEY_TYPE]),
            )
        })?;
        if b[SH_KEY_TYPE + 1..SH_ENTRY_COUNT] != [0, 0, 0] || u32_at(b, SH_RESERVED) != 0 {
            return Err(corrupt(
                SH_KEY_TYPE + 1,
                "reserved header bytes are not zero".into(),
            ));
        }
        Ok(Self {
            key_type,
            entry_count: u64_at(b, SH_ENTRY_COUNT),
            next_seq: u64_at(b, SH_NEXT_SEQ),
            log_number: u64_at(b, SH_LOG_NUMBER),
            data_len: u64_at(b, SH_DATA_LEN),
            value_bytes: u64_at(b, SH_VALUE_BYTES),
        })
    }
}

/// Writes a complete snapshot of `entries` (strictly ascending keys) and installs it
/// atomically as [`SNAPSHOT_NAME`]. Returns the header written.
pub fn write_snapshot<'v, K: Key>(
    storage: &dyn Storage,
    key_type: KeyType,
    next_seq: u64,
    log_number: u64,
    entries: impl Iterator<Item = (K, &'v [u8])>,
) -> Result<SnapshotHeader> {
    let tmp = SNAPSHOT_TMP;
    let io_err = |e: io::Error| Error::io(tmp, e);
    let mut file = storage.create(tmp).map_err(io_err)?;
    file.append(&[0u8; SNAP_HEADER_LEN]).map_err(io_err)?;

    let mut header = SnapshotHeader {
        key_type,
        entry_count: 0,
        next_seq,
        log_number,
        data_len: 0,
        value_bytes: 0,
    };
    let mut out = Vec::with_capacity(1 << 20);
    let mut body = Vec::with_capacity(BLOCK_TARGET_BYTES + 4096);
    let mut block_entries = 0u32;
    let flush_block = |body: &mut Vec<u8>, count: &mut u32, out: &mut Vec<u8>| {
        if *count == 0 {
            return;
        }
        let mut h = [0u8; BLOCK_HEADER_LEN];
        h[BH_ENTRY_COUNT..BH_ENTRY_COUNT + 4].copy_from_slice(&count.to_le_bytes());
        h[BH_BODY_LEN..BH_BODY_LEN + 4].copy_from_slice(&(body.len() as u32).to_le_bytes());
        h[BH_BODY_CRC..BH_BODY_CRC + 4].copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
        let crc = crc32c::crc32c(&h[..BH_HEADER_CRC]);
        h[BH_HEADER_CRC..].copy_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(body);
        body.clear();
        *count = 0;
    };
    for (key, value) in entries {
        body.extend_from_slice(&key.to_ordered().to_le_bytes());
        body.extend_from_slice(&(value.len() as u32).to_le_bytes());
        body.extend_from_slice(value);
        block_entries += 1;
        header.entry_count += 1;
        header.value_bytes += value.len() as u64;
        if body.len() >= BLOCK_TARGET_BYTES {
            flush_block(&mut body, &mut block_entries, &mut out);
            if out.len() >= 1 << 20 {
                file.append(&out).map_err(io_err)?;
                header.data_len += out.len() as u64;
                out.clear();
            }
        }
    }
    flush_block(&mut body, &mut block_entries, &mut out);
    file.append(&out).map_err(io_err)?;
    header.data_len += out.len() as u64;
    file.write_at(0, &header.encode()).map_err(io_err)?;
    file.sync().map_err(io_err)?;
    drop(file);
    storage
        .rename(tmp, SNAPSHOT_NAME)
        .map_err(|e| Error::io(SNAPSHOT_NAME, e))?;
    storage.sync_dir().map_err(|e| Error::io("directory", e))?;
    Ok(header)
}

/// Reads only the header of [`SNAPSHOT_NAME`].
pub fn read_header(storage: &dyn Storage) -> Result<SnapshotHeader> {
    let (mut reader, len) = storage
        .open_read(SNAPSHOT_NAME)
        .map_err(|e| Error::io(SNAPSHOT_NAME, e))?;
    read_header_from(&mut *reader, len, SNAPSHOT_NAME)
}

fn read_header_from(reader: &mut dyn Read, file_len: u64, name: &str) -> Result<SnapshotHeader> {
    if file_len < SNAP_HEADER_LEN as u64 {
        return Err(Error::corrupted(
            name,
            file_len,
            "snapshot shorter than its header",
        ));
    }
    let mut hb = [0u8; SNAP_HEADER_LEN];
    reader.read_exact(&mut hb).map_err(|e| Error::io(name, e))?;
    SnapshotHeader::decode(&hb, name)
}

/// Reads and validates a whole snapshot, calling `entry` for each entry in key order.
/// Entries of a block are passed only after the block validated; a snapshot that fails
/// later still returns an error, so callers discard what they built.
pub fn load_snapshot<K: Key>(
    reader: &mut dyn Read,
    file_len: u64,
    name: &str,
    mut entry: impl FnMut(K, &[u8]),
) -> Result<SnapshotHeader> {
    let header = read_header_from(reader, file_len, name)?;
    let corrupt = |offset: u64, reason: String| Error::corrupted(name, offset, reason);
    if header.key_type != KeyType::of::<K>() {
        return Err(Error::KeyTypeMismatch {
            stored: header.key_type.name(),
            requested: K::TYPE_NAME,
        });
    }
    let expected_len = (SNAP_HEADER_LEN as u64).checked_add(header.data_len);
    if expected_len != Some(file_len) {
        return Err(corrupt(
            SH_DATA_LEN as u64,
            format!(
                "header declares {} data bytes but the file holds {}",
                header.data_len,
                file_len - SNAP_HEADER_LEN as u64
            ),
        ));
    }
    let mut offset = SNAP_HEADER_LEN as u64;
    let mut entries = 0u64;
    let mut value_bytes = 0u64;
    let mut previous: Option<u64> = None;
    let mut body = Vec::new();
    while offset < file_len {
        if file_len - offset < BLOCK_HEADER_LEN as u64 {
            return Err(corrupt(offset, "file ends inside a block header".into()));
        }
        let mut h = [0u8; BLOCK_HEADER_LEN];
        reader.read_exact(&mut h).map_err(|e| Error::io(name, e))?;
        if crc32c::crc32c(&h[..BH_HEADER_CRC]) != u32_at(&h, BH_HEADER_CRC) {
            return Err(corrupt(offset, "block header checksum mismatch".into()));
        }
        let count = u32_at(&h, BH_ENTRY_COUNT);
        let body_len = u32_at(&h, BH_BODY_LEN) as usize;
        if count == 0 || body_len > MAX_BLOCK_BODY || (count as usize) > body_len / ENTRY_FIXED_LEN
        {
            return Err(corrupt(
                offset,
                format!("block of {count} entries and {body_len} bytes"),
            ));
        }
        let body_start = offset + BLOCK_HEADER_LEN as u64;
        if file_len - body_start < body_len as u64 {
            return Err(corrupt(offset, "file ends inside a block".into()));
        }
        body.resize(body_len, 0);
        reader
            .read_exact(&mut body)
            .map_err(|e| Error::io(name, e))?;
        if crc32c::crc32c(&body) != u32_at(&h, BH_BODY_CRC) {
            return Err(corrupt(offset, "block body checksum mismatch".into()));
        }
        // Validate the block fully, then hand its entries out.
        let mut spans = Vec::with_capacity(count as usize);
        let mut at = 0usize;
        for _ in 0..count {
            if body.len() - at < ENTRY_FIXED_LEN {
                return Err(corrupt(
                    body_start + at as u64,
                    "block ends inside an entry".into(),
                ));
            }
            let ordered = u64_at(&body, at);
            let len = u32_at(&body, at + 8) as usize;
            let key = key_from_disk::<K>(ordered).ok_or_else(|| {
                corrupt(
                    body_start + at as u64,
                    format!("{ordered:#x} is not a valid {} key", K::TYPE_NAME),
                )
            })?;
            if previous.is_some_and(|p| p >= ordered) {
                return Err(corrupt(
                    body_start + at as u64,
                    "keys not strictly ascending".into(),
                ));
            }
            previous = Some(ordered);
            let start = at + ENTRY_FIXED_LEN;
            if len > MAX_VALUE_LEN || body.len() - start < len {
                return Err(corrupt(
                    body_start + at as u64,
                    format!("value of {len} bytes overruns the block"),
                ));
            }
            spans.push((key, start, len));
            at = start + len;
        }
        if at != body.len() {
            return Err(corrupt(
                body_start + at as u64,
                "bytes after the last entry of a block".into(),
            ));
        }
        for (key, start, len) in spans {
            value_bytes += len as u64;
            entry(key, &body[start..start + len]);
        }
        entries += u64::from(count);
        offset = body_start + body_len as u64;
    }
    if entries != header.entry_count {
        return Err(corrupt(
            SH_ENTRY_COUNT as u64,
            format!(
                "header declares {} entries, blocks hold {entries}",
                header.entry_count
            ),
        ));
    }
    if value_bytes != header.value_bytes {
        return Err(corrupt(
            SH_VALUE_BYTES as u64,
            format!(
                "header declares {} value bytes, blocks hold {value_bytes}",
                header.value_bytes
            ),
        ));
    }
    Ok(header)
}

/// Reads a snapshot held in memory; used by tests and fuzzing.
pub fn load_snapshot_bytes<K: Key>(
    bytes: &[u8],
    entry: impl FnMut(K, &[u8]),
) -> Result<SnapshotHeader> {
    let mut reader = io::Cursor::new(bytes);
    load_snapshot(&mut reader, bytes.len() as u64, SNAPSHOT_NAME, entry)
}
