//! Byte layout of log files (see docs/design.md, "Log file"). All integers little-endian.

use crate::batch::{BatchOp, MAX_VALUE_LEN};
use crate::key_type::{key_from_disk, KeyType};
use alex::Key;

/// Magic bytes opening every log file.
pub const LOG_MAGIC: [u8; 8] = *b"OMENWAL\0";
/// Format version written and accepted.
pub const LOG_VERSION: u32 = 1;
/// Length of the file header.
pub const LOG_HEADER_LEN: usize = 40;
/// Offsets inside the file header.
pub const LH_VERSION: usize = 8;
pub const LH_KEY_TYPE: usize = 12;
pub const LH_LOG_NUMBER: usize = 16;
pub const LH_START_SEQ: usize = 24;
pub const LH_CRC: usize = 36;

/// Length of a record header.
pub const RECORD_HEADER_LEN: usize = 20;
/// Offsets inside a record header.
pub const RH_PAYLOAD_LEN: usize = 0;
pub const RH_SEQ: usize = 4;
pub const RH_PAYLOAD_CRC: usize = 12;
pub const RH_HEADER_CRC: usize = 16;
/// Largest payload a record may declare.
pub const MAX_PAYLOAD_LEN: u32 = 1 << 30;

/// Operation tags inside a payload.
pub const OP_PUT: u8 = 1;
pub const OP_DELETE: u8 = 2;

/// The fields of a log file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHeader {
    pub key_type: KeyType,
    pub log_number: u64,
    pub start_seq: u64,
}

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

impl LogHeader {
    pub fn encode(&self) -> [u8; LOG_HEADER_LEN] {
        let mut b = [0u8; LOG_HEADER_LEN];
        b[..8].copy_from_slice(&LOG_MAGIC);
        b[LH_VERSION..LH_VERSION + 4].copy_from_slice(&LOG_VERSION.to_le_bytes());
        b[LH_KEY_TYPE] = self.key_type.code();
        b[LH_LOG_NUMBER..LH_LOG_NUMBER + 8].copy_from_slice(&self.log_number.to_le_bytes());
        b[LH_START_SEQ..LH_START_SEQ + 8].copy_from_slice(&self.start_seq.to_le_bytes());
        let crc = crc32c::crc32c(&b[..LH_CRC]);
        b[LH_CRC..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a header; `Err((offset, reason))` names the first failing field.
    pub fn decode(b: &[u8; LOG_HEADER_LEN]) -> Result<Self, (u64, String)> {
        if crc32c::crc32c(&b[..LH_CRC]) != u32_at(b, LH_CRC) {
            return Err((LH_CRC as u64, "log header checksum mismatch".into()));
        }
        if b[..8] != LOG_MAGIC {
            return Err((0, "not a log file (bad magic)".into()));
        }
        let version = u32_at(b, LH_VERSION);
        if version != LOG_VERSION {
            return Err((
                LH_VERSION as u64,
                format!("unsupported log version {version}"),
            ));
        }
        let key_type = KeyType::from_code(b[LH_KEY_TYPE]).ok_or((
            LH_KEY_TYPE as u64,
            format!("unknown key type code {}", b[LH_KEY_TYPE]),
        ))?;
        if b[LH_KEY_TYPE + 1..LH_LOG_NUMBER] != [0, 0, 0] || u32_at(b, 32) != 0 {
            return Err((13, "reserved header bytes are not zero".into()));
        }
        Ok(Self {
            key_type,
            log_number: u64_at(b, LH_LOG_NUMBER),
            start_seq: u64_at(b, LH_START_SEQ),
        })
    }
}

/// A decoded record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub payload_len: u32,
    pub seq: u64,
    pub payload_crc: u32,
}

impl RecordHeader {
    pub fn encode(&self) -> [u8; RECORD_HEADER_LEN] {
        let mut b = [0u8; RECORD_HEADER_LEN];
        b[RH_PAYLOAD_LEN..RH_PAYLOAD_LEN + 4].copy_from_slice(&self.payload_len.to_le_bytes());
        b[RH_SEQ..RH_SEQ + 8].copy_from_slice(&self.seq.to_le_bytes());
        b[RH_PAYLOAD_CRC..RH_PAYLOAD_CRC + 4].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32c::crc32c(&b[..RH_HEADER_CRC]);
        b[RH_HEADER_CRC..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// `None` when the header checksum does not match.
    pub fn decode(b: &[u8; RECORD_HEADER_LEN]) -> Option<Self> {
        (crc32c::crc32c(&b[..RH_HEADER_CRC]) == u32_at(b, RH_HEADER_CRC)).then(|| Self {
            payload_len: u32_at(b, RH_PAYLOAD_LEN),
            seq: u64_at(b, RH_SEQ),
            payload_crc: u32_at(b, RH_PAYLOAD_CRC),
        })
    }
}

/// Encoded size of a batch inside a payload.
pub fn batch_encoded_len<K>(ops: &[BatchOp<K>]) -> usize {
    4 + ops
        .iter()
        .map(|op| match op {
            BatchOp::Put(_, v) => 1 + 8 + 4 + v.len(),
            BatchOp::Delete(_) => 1 + 8,
        })
        .sum::<usize>()
}

/// Appends a payload holding `batches` to `out`.
pub fn encode_payload<'a, K: Key>(
    batches: impl ExactSizeIterator<Item = &'a [BatchOp<K>]>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&(batches.len() as u32).to_le_bytes());
    for ops in batches {
        out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
        for op in ops {
            match op {
                BatchOp::Put(k, v) => {
                    out.push(OP_PUT);
                    out.extend_from_slice(&k.to_ordered().to_le_bytes());
                    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    out.extend_from_slice(v);
                }
                BatchOp::Delete(k) => {
                    out.push(OP_DELETE);
                    out.extend_from_slice(&k.to_ordered().to_le_bytes());
                }
            }
        }
    }
}

/// An operation borrowed from a payload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OpRef<'a, K> {
    Put(K, &'a [u8]),
    Delete(K),
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], (usize, String)> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err((self.at, "payload ends inside an operation".into())),
        }
    }

    fn u32(&mut self) -> Result<u32, (usize, String)> {
        self.take(4).map(|b| u32_at(b, 0))
    }

    fn u64(&mut self) -> Result<u64, (usize, String)> {
        self.take(8).map(|b| u64_at(b, 0))
    }
}

/// Walks a payload, calling `batch_start(op_count)` before each batch and `op` for each
/// operation. Returns the batch count, or `(offset within payload, reason)` for the first
/// invalid byte. Callers validate with no-op closures first, so a bad payload applies
/// nothing.
pub fn parse_payload<'a, K: Key>(
    payload: &'a [u8],
    mut op: impl FnMut(OpRef<'a, K>),
) -> Result<u32, (usize, String)> {
    let mut c = Cursor {
        bytes: payload,
        at: 0,
    };
    let batches = c.u32()?;
    if batches == 0 {
        return Err((0, "record holds no batch".into()));
    }
    for _ in 0..batches {
        let at = c.at;
        let ops = c.u32()?;
        if ops == 0 {
            return Err((at, "empty batch".into()));
        }
        for _ in 0..ops {
            let at = c.at;
            let tag = c.take(1)?[0];
            let ordered = c.u64()?;
            let key = key_from_disk::<K>(ordered).ok_or((
                at + 1,
                format!("{ordered:#x} is not a valid {} key", K::TYPE_NAME),
            ))?;
            match tag {
                OP_PUT => {
                    let len = c.u32()? as usize;
                    if len > MAX_VALUE_LEN {
                        return Err((at + 9, format!("value length {len} over the limit")));
                    }
                    op(OpRef::Put(key, c.take(len)?));
                }
                OP_DELETE => op(OpRef::Delete(key)),
                other => return Err((at, format!("unknown operation tag {other}"))),
            }
        }
    }
    if c.at != payload.len() {
        return Err((c.at, "bytes after the last batch".into()));
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bytes_never_pass_a_header_checksum() {
        // docs/design.md relies on this: an all-zero header is never a valid one.
        assert_ne!(crc32c::crc32c(&[0u8; RH_HEADER_CRC]), 0);
        assert_ne!(crc32c::crc32c(&[0u8; LH_CRC]), 0);
        assert!(RecordHeader::decode(&[0u8; RECORD_HEADER_LEN]).is_none());
        assert!(LogHeader::decode(&[0u8; LOG_HEADER_LEN]).is_err());
    }

    #[test]
    fn headers_round_trip() {
        let h = LogHeader {
            key_type: KeyType::I32,
            log_number: 7,
            start_seq: 99,
        };
        assert_eq!(LogHeader::decode(&h.encode()), Ok(h));
        let r = RecordHeader {
            payload_len: 12,
            seq: 5,
            payload_crc: 0xdead_beef,
        };
        assert_eq!(RecordHeader::decode(&r.encode()), Some(r));
    }
}
