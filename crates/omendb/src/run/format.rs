//! Byte layout of a run file (docs/design.md, "Run file"). Every offset is a named
//! constant; every decoder returns a typed error and never panics.

use crate::key_type::KeyType;

/// Magic at offset 0.
pub const RUN_MAGIC: [u8; 8] = *b"OMENRUN\0";
/// Format version written and read.
pub const RUN_VERSION: u32 = 1;
/// Header length; blocks start here.
pub const RUN_HEADER_LEN: usize = 64;
pub const RH_VERSION: usize = 8;
pub const RH_KEY_TYPE: usize = 12;
pub const RH_ENTRY_COUNT: usize = 16;
pub const RH_BLOCK_COUNT: usize = 24;
pub const RH_DATA_LEN: usize = 32;
pub const RH_INDEX_LEN: usize = 40;
pub const RH_TOMBSTONES: usize = 48;
pub const RH_RESERVED: usize = 56;
pub const RH_CRC: usize = 60;

/// A block is closed before it would pass this many bytes (unless it holds one entry).
pub const BLOCK_TARGET_BYTES: usize = 4096;
/// Per entry: an 8-byte key followed by its 4-byte value end, so a search finds the
/// value's bounds in the cache line of the key it stopped at.
pub const BLOCK_ENTRY_LEN: usize = 12;
/// Trailing CRC32C of the block.
pub const BLOCK_CRC_LEN: usize = 4;
/// Top bit of a value end: the entry is a tombstone.
pub const TOMBSTONE_BIT: u32 = 1 << 31;

/// Bytes of one segment of the model in the index section.
pub const SEGMENT_LEN: usize = 24;
/// Fixed part of the index section: segment count, epsilon, first key, last key.
pub const INDEX_FIXED_LEN: usize = 24;

/// The run file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunHeader {
    pub key_type: KeyType,
    pub entry_count: u64,
    pub block_count: u64,
    /// Bytes of blocks, from offset 64.
    pub data_len: u64,
    /// Bytes of the index section after the blocks (its CRC included).
    pub index_len: u64,
    /// Entries that are tombstones.
    pub tombstones: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads a little-endian `u32` at `at`, `None` past the end.
pub fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads a little-endian `u64` at `at`, `None` past the end.
pub fn get_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

impl RunHeader {
    /// Offset of the entry count, named in errors about it.
    pub const ENTRY_COUNT_AT: u64 = RH_ENTRY_COUNT as u64;

    pub fn encode(&self) -> [u8; RUN_HEADER_LEN] {
        let mut b = [0u8; RUN_HEADER_LEN];
        b[..8].copy_from_slice(&RUN_MAGIC);
        b[RH_VERSION..RH_VERSION + 4].copy_from_slice(&RUN_VERSION.to_le_bytes());
        b[RH_KEY_TYPE] = self.key_type.code();
        b[RH_ENTRY_COUNT..RH_ENTRY_COUNT + 8].copy_from_slice(&self.entry_count.to_le_bytes());
        b[RH_BLOCK_COUNT..RH_BLOCK_COUNT + 8].copy_from_slice(&self.block_count.to_le_bytes());
        b[RH_DATA_LEN..RH_DATA_LEN + 8].copy_from_slice(&self.data_len.to_le_bytes());
        b[RH_INDEX_LEN..RH_INDEX_LEN + 8].copy_from_slice(&self.index_len.to_le_bytes());
        b[RH_TOMBSTONES..RH_TOMBSTONES + 8].copy_from_slice(&self.tombstones.to_le_bytes());
        let crc = crc32c::crc32c(&b[..RH_CRC]);
        b[RH_CRC..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a header; `Err((offset, reason))` names the failing field.
    pub fn decode(b: &[u8; RUN_HEADER_LEN]) -> Result<Self, (u64, String)> {
        if crc32c::crc32c(&b[..RH_CRC]) != u32_at(b, RH_CRC) {
            return Err((RH_CRC as u64, "run header checksum mismatch".into()));
        }
        if b[..8] != RUN_MAGIC {
            return Err((0, "bad run magic".into()));
        }
        let version = u32_at(b, RH_VERSION);
        if version != RUN_VERSION {
            return Err((
                RH_VERSION as u64,
                format!("unsupported run version {version}"),
            ));
        }
        let key_type = KeyType::from_code(b[RH_KEY_TYPE])
            .ok_or((RH_KEY_TYPE as u64, "unknown key type code".to_string()))?;
        if b[RH_KEY_TYPE + 1..RH_ENTRY_COUNT] != [0; 3] || u32_at(b, RH_RESERVED) != 0 {
            return Err((RH_KEY_TYPE as u64 + 1, "reserved bytes not zero".into()));
        }
        let h = RunHeader {
            key_type,
            entry_count: u64_at(b, RH_ENTRY_COUNT),
            block_count: u64_at(b, RH_BLOCK_COUNT),
            data_len: u64_at(b, RH_DATA_LEN),
            index_len: u64_at(b, RH_INDEX_LEN),
            tombstones: u64_at(b, RH_TOMBSTONES),
        };
        if h.block_count > h.entry_count
            || (h.entry_count > 0) != (h.block_count > 0)
            || h.tombstones > h.entry_count
        {
            return Err((
                RH_ENTRY_COUNT as u64,
                "entry, block and tombstone counts disagree".into(),
            ));
        }
        Ok(h)
    }

    /// Bytes of the whole file this header describes.
    pub fn file_len(&self) -> Option<u64> {
        (RUN_HEADER_LEN as u64)
            .checked_add(self.data_len)?
            .checked_add(self.index_len)
    }

    /// Bytes the index section must have for this header's block count and `segments`.
    pub fn index_len_for(block_count: u64, segments: u64) -> Option<u64> {
        // fence keys, block offsets (one more than blocks), entry counts, fixed part,
        // segments, CRC.
        block_count
            .checked_mul(8)?
            .checked_add(block_count.checked_add(1)?.checked_mul(8)?)?
            .checked_add(block_count.checked_mul(4)?)?
            .checked_add(INDEX_FIXED_LEN as u64)?
            .checked_add(segments.checked_mul(SEGMENT_LEN as u64)?)?
            .checked_add(4)
    }
}

/// Encoded length of a block of `n` entries with `value_bytes` bytes of values.
pub fn block_len(n: usize, value_bytes: usize) -> usize {
    n * BLOCK_ENTRY_LEN + value_bytes + BLOCK_CRC_LEN
}

/// A view of one block's bytes whose entry count `n` comes from the index section. Every
/// accessor stays in bounds for any bytes (a damaged block reads as wrong keys or empty
/// values, never a panic); [`BlockView::parse`] checks the structure once.
#[derive(Clone, Copy, Debug)]
pub struct BlockView<'b> {
    bytes: &'b [u8],
    n: usize,
}

impl<'b> BlockView<'b> {
    /// A view of `n` entries, unchecked.
    #[inline]
    pub fn new(bytes: &'b [u8], n: usize) -> Self {
        BlockView { bytes, n }
    }

    /// Checks a block's structure: its length, value ends, strictly ascending keys.
    pub fn parse(bytes: &'b [u8], n: usize) -> Result<Self, String> {
        if n == 0 {
            return Err("block with no entries".into());
        }
        let fixed = n
            .checked_mul(BLOCK_ENTRY_LEN)
            .and_then(|e| e.checked_add(BLOCK_CRC_LEN))
            .filter(|&f| f <= bytes.len())
            .ok_or("block shorter than its entries")?;
        let values = bytes.len() - fixed;
        let view = BlockView { bytes, n };
        let mut prev_end = 0u32;
        let mut prev_key = None;
        for i in 0..n {
            let raw = view.raw_end(i);
            let end = raw & !TOMBSTONE_BIT;
            if end < prev_end || end as usize > values {
                return Err(format!("value end of entry {i} out of order"));
            }
            if raw & TOMBSTONE_BIT != 0 && end != prev_end {
                return Err(format!("tombstone entry {i} holds value bytes"));
            }
            prev_end = end;
            let k = view.key(i);
            if prev_key.is_some_and(|p| p >= k) {
                return Err(format!("keys not ascending at entry {i}"));
            }
            prev_key = Some(k);
        }
        if prev_end as usize != values {
            return Err("value ends do not cover the value bytes".into());
        }
        Ok(view)
    }

    /// Entries in the block.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for a view of no entries.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The key image of entry `i`.
    #[inline]
    pub fn key(&self, i: usize) -> u64 {
        get_u64(self.bytes, i * BLOCK_ENTRY_LEN).unwrap_or(0)
    }

    #[inline]
    fn raw_end(&self, i: usize) -> u32 {
        get_u32(self.bytes, i * BLOCK_ENTRY_LEN + 8).unwrap_or(0)
    }

    /// The value of entry `i`, `None` for a tombstone.
    #[inline]
    pub fn value(&self, i: usize) -> Option<&'b [u8]> {
        let raw = self.raw_end(i);
        if raw & TOMBSTONE_BIT != 0 {
            return None;
        }
        let start = if i == 0 {
            0
        } else {
            self.raw_end(i - 1) & !TOMBSTONE_BIT
        } as usize;
        let base = self.n * BLOCK_ENTRY_LEN;
        Some(
            self.bytes
                .get(base + start..base + raw as usize)
                .unwrap_or_default(),
        )
    }

    /// A byte of the values near where entry `i`'s value lies if values were of equal
    /// size (0 when the block is empty): read ahead of time to start loading its line.
    #[inline]
    pub fn value_hint(&self, i: usize) -> u8 {
        self.bytes.get(self.value_hint_at(i)).copied().unwrap_or(0)
    }

    /// Where [`BlockView::value_hint`] reads: entry `i`'s share of the value bytes.
    #[inline]
    pub fn value_hint_at(&self, i: usize) -> usize {
        let base = self.n * BLOCK_ENTRY_LEN;
        let values = self.bytes.len().saturating_sub(base + BLOCK_CRC_LEN);
        base + i.saturating_mul(values).checked_div(self.n).unwrap_or(0)
    }

    /// The index of the first entry whose key is `>= key`, starting from a guess: the
    /// search gallops from `guess` towards the answer, so a guess off by `d` entries costs
    /// about `2 log2(d)` probes, mostly in the guess's own cache lines.
    #[inline]
    pub fn lower_bound_from(&self, key: u64, guess: usize) -> usize {
        let n = self.n;
        if n == 0 {
            return 0;
        }
        let g = guess.min(n - 1);
        let (mut lo, mut hi);
        if self.key(g) < key {
            lo = g + 1;
            hi = lo;
            let mut step = 1;
            while hi < n && self.key(hi) < key {
                lo = hi + 1;
                hi = (hi + step).min(n);
                step *= 2;
            }
        } else {
            hi = g;
            lo = g;
            let mut step = 1;
            while lo > 0 && self.key(lo - 1) >= key {
                hi = lo - 1;
                lo = lo.saturating_sub(step);
                step *= 2;
            }
        }
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.key(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The index of the first entry whose key is `>= key` (`len()` when none).
    #[inline]
    pub fn lower_bound(&self, key: u64) -> usize {
        self.lower_bound_from(key, self.n / 2)
    }
}

/// Appends one block of `entries` (key image, value or tombstone) to `out`.
pub fn encode_block(entries: &[(u64, Option<&[u8]>)], out: &mut Vec<u8>) {
    let start = out.len();
    let mut end = 0u32;
    for (k, v) in entries {
        out.extend_from_slice(&k.to_le_bytes());
        let raw = match v {
            Some(v) => {
                end += v.len() as u32;
                end
            }
            None => end | TOMBSTONE_BIT,
        };
        out.extend_from_slice(&raw.to_le_bytes());
    }
    for v in entries.iter().filter_map(|(_, v)| *v) {
        out.extend_from_slice(v);
    }
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}
