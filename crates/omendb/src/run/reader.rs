//! Reading a run: the header and index section are read and checked when the run is
//! opened (fences, block offsets and the model stay in memory, 24 bytes per block plus the
//! segments); blocks are read on demand with `read_at`, through the page cache. A block's
//! checksum and structure are checked the first time this process reads it, and a bit
//! remembers that it passed.

use super::format::{
    get_u32, get_u64, BlockView, RunHeader, BLOCK_CRC_LEN, BLOCK_ENTRY_LEN, INDEX_FIXED_LEN,
    RUN_HEADER_LEN, SEGMENT_LEN,
};
use super::pla::{Pla, Segment};
use super::writer::run_name;
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::storage::{RandomRead, Storage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Asks the processor to start loading the cache line of `p`, without waiting for it.
#[inline(always)]
fn prefetch_line(p: &u8) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: SSE is part of the x86_64 baseline, so the instruction exists; a prefetch
    // reads nothing the program observes and never faults.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            (p as *const u8).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// What a lookup found in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found<T> {
    /// The key's value.
    Value(T),
    /// The key was deleted (a tombstone).
    Deleted,
}

/// Where a block starts in the data, and its entry count.
#[derive(Clone, Copy, Debug)]
struct BlockMeta {
    offset: u64,
    count: u32,
}

/// An open run.
#[derive(Debug)]
pub struct Run {
    name: String,
    file_number: u64,
    file: Arc<dyn RandomRead>,
    header: RunHeader,
    fences: Vec<u64>,
    /// Where each block starts and how many entries it holds, plus one entry past the last
    /// block whose offset is the data's length: block `b` spans
    /// `blocks[b].offset..blocks[b + 1].offset` of the data (from byte 64). Kept together
    /// so that a lookup reads one cache line for them.
    blocks: Vec<BlockMeta>,
    model: Pla,
    min_key: u64,
    max_key: u64,
    verified: Vec<AtomicU64>,
}

impl Run {
    /// Opens run `file_number`, checking the header and the whole index section.
    pub fn open(storage: &dyn Storage, file_number: u64, key_type: KeyType) -> Result<Self> {
        let name = run_name(file_number);
        let file = storage
            .open_random(&name)
            .map_err(|e| Error::io(&name, e))?;
        Self::from_file(name, file_number, file, key_type)
    }

    /// Opens a run from any readable bytes (used by `open` and the fuzz targets).
    pub fn from_file(
        name: String,
        file_number: u64,
        file: Arc<dyn RandomRead>,
        key_type: KeyType,
    ) -> Result<Self> {
        let corrupt = |offset: u64, reason: &str| Error::corrupted(&name, offset, reason);
        if file.len() < RUN_HEADER_LEN as u64 {
            return Err(corrupt(0, "run shorter than its header"));
        }
        let mut hb = [0u8; RUN_HEADER_LEN];
        file.read_at(0, &mut hb).map_err(|e| Error::io(&name, e))?;
        let header = RunHeader::decode(&hb).map_err(|(o, r)| Error::corrupted(&name, o, r))?;
        if header.key_type != key_type {
            return Err(corrupt(12, "run key type differs from the database's"));
        }
        if header.file_len() != Some(file.len()) {
            return Err(corrupt(
                RUN_HEADER_LEN as u64,
                "file length disagrees with the header",
            ));
        }
        let index_at = RUN_HEADER_LEN as u64 + header.data_len;
        let blocks = usize::try_from(header.block_count)
            .map_err(|_| corrupt(24, "block count too large"))?;
        let min_index = RunHeader::index_len_for(header.block_count, 0)
            .ok_or_else(|| corrupt(24, "block count too large"))?;
        if header.index_len < min_index {
            return Err(corrupt(index_at, "index section too short for its blocks"));
        }
        let index_len = usize::try_from(header.index_len)
            .map_err(|_| corrupt(index_at, "index section too large"))?;
        let mut index = vec![0u8; index_len];
        file.read_at(index_at, &mut index)
            .map_err(|e| Error::io(&name, e))?;
        let body = &index[..index_len - 4];
        if get_u32(&index, index_len - 4) != Some(crc32c::crc32c(body)) {
            return Err(corrupt(
                index_at + index_len as u64 - 4,
                "index section checksum mismatch",
            ));
        }
        let at = |i: usize| get_u64(body, i).unwrap_or(0);
        let fences: Vec<u64> = (0..blocks).map(|b| at(b * 8)).collect();
        let offsets: Vec<u64> = (0..=blocks).map(|b| at(blocks * 8 + b * 8)).collect();
        if fences.windows(2).any(|w| w[0] >= w[1]) {
            return Err(corrupt(index_at, "fence keys not ascending"));
        }
        let counts_at = blocks * 16 + 8;
        let counts: Vec<u32> = (0..blocks)
            .map(|b| get_u32(body, counts_at + b * 4).unwrap_or(0))
            .collect();
        if offsets[0] != 0 || offsets[blocks] != header.data_len {
            return Err(corrupt(index_at, "block offsets do not tile the data"));
        }
        for (b, (w, &n)) in offsets.windows(2).zip(&counts).enumerate() {
            // Each block holds its entries and its checksum at least.
            let least = u64::from(n) * BLOCK_ENTRY_LEN as u64 + BLOCK_CRC_LEN as u64;
            if n == 0 || w[1] < w[0] || w[1] - w[0] < least {
                return Err(corrupt(
                    index_at + (counts_at + b * 4) as u64,
                    "block length disagrees with its entry count",
                ));
            }
        }
        if counts.iter().map(|&n| u64::from(n)).sum::<u64>() != header.entry_count {
            return Err(corrupt(
                index_at,
                "block entry counts disagree with the header",
            ));
        }
        let fixed = blocks * 20 + 8;
        let seg_count = get_u32(body, fixed).unwrap_or(0) as usize;
        let epsilon = get_u32(body, fixed + 4).unwrap_or(0);
        let min_key = at(fixed + 8);
        let max_key = at(fixed + 16);
        if RunHeader::index_len_for(header.block_count, seg_count as u64) != Some(header.index_len)
        {
            return Err(corrupt(index_at, "index section length disagrees with it"));
        }
        let mut segments = Vec::with_capacity(seg_count);
        for s in 0..seg_count {
            let o = fixed + INDEX_FIXED_LEN + s * SEGMENT_LEN;
            let seg = Segment {
                first_key: at(o),
                slope: f64::from_bits(at(o + 8)),
                intercept: f64::from_bits(at(o + 16)),
            };
            if !seg.slope.is_finite() || !seg.intercept.is_finite() {
                return Err(corrupt(index_at + o as u64, "model segment not finite"));
            }
            segments.push(seg);
        }
        if segments
            .windows(2)
            .any(|w| w[0].first_key >= w[1].first_key)
            || segments.first().map(|s| s.first_key) != fences.first().copied()
            || (blocks > 0 && (min_key != fences[0] || max_key < fences[blocks - 1]))
            || (blocks == 0 && (min_key != 0 || max_key != 0))
            || epsilon as usize > blocks
        {
            return Err(corrupt(index_at, "model or key bounds inconsistent"));
        }
        let metas = (0..=blocks)
            .map(|b| BlockMeta {
                offset: offsets[b],
                count: counts.get(b).copied().unwrap_or(0),
            })
            .collect();
        let verified = (0..blocks.div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        Ok(Run {
            name,
            file_number,
            file,
            header,
            fences,
            blocks: metas,
            model: Pla { segments, epsilon },
            min_key,
            max_key,
            verified,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn file_number(&self) -> u64 {
        self.file_number
    }

    pub fn entry_count(&self) -> u64 {
        self.header.entry_count
    }

    pub fn tombstones(&self) -> u64 {
        self.header.tombstones
    }

    pub fn file_len(&self) -> u64 {
        self.file.len()
    }

    pub fn block_count(&self) -> usize {
        self.fences.len()
    }

    /// Smallest and largest key image.
    pub fn key_range(&self) -> (u64, u64) {
        (self.min_key, self.max_key)
    }

    /// Takes every block as checked: for a run this process has just written, whose block
    /// checksums it computed from the entries it held. Runs opened from an existing file
    /// are checked block by block on first read.
    pub fn mark_written_here(&self) {
        let blocks = self.block_count();
        for (i, word) in self.verified.iter().enumerate() {
            let bits = (blocks - i * 64).min(64);
            word.store(
                if bits == 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                },
                Ordering::Relaxed,
            );
        }
    }

    /// Heap bytes held for this run: fences, offsets, model, verified bits.
    pub fn heap_bytes(&self) -> usize {
        self.fences.capacity() * 8
            + self.blocks.capacity() * std::mem::size_of::<BlockMeta>()
            + self.model.segments.capacity() * std::mem::size_of::<Segment>()
            + self.verified.capacity() * 8
            + std::mem::size_of::<Self>()
    }

    /// The block that may hold `key`, if any: the last block whose fence is `<= key`.
    pub fn block_for(&self, key: u64) -> Option<usize> {
        if self.fences.is_empty() || key < self.min_key || key > self.max_key {
            return None;
        }
        let (lo, hi) = self.model.window(key, self.fences.len());
        // The window holds the answer when the model's bound holds (it always does for a
        // model the writer fitted); otherwise the fences on the side the answer lies are
        // searched. `key >= min_key`, the first fence, so each search finds at least one
        // fence `<= key`.
        let fences = &self.fences;
        let b = if fences[lo] > key {
            fences[..lo].partition_point(|&f| f <= key) - 1
        } else if hi < fences.len() && fences[hi] <= key {
            hi + fences[hi..].partition_point(|&f| f <= key) - 1
        } else {
            lo + fences[lo..hi].partition_point(|&f| f <= key) - 1
        };
        Some(b)
    }

    /// Calls `f` on block `b`'s bytes: read in place when the file is mapped or in
    /// memory, else copied into `buf`. The block is checked the first time.
    pub fn with_block<R>(
        &self,
        b: usize,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        let start = self.blocks[b].offset;
        let len = (self.blocks[b + 1].offset - start) as usize;
        let at = RUN_HEADER_LEN as u64 + start;
        let bytes: &[u8] = match self.file.as_bytes() {
            // The offsets tile the data inside the file's length (checked on open).
            Some(all) => &all[at as usize..at as usize + len],
            None => {
                buf.resize(len, 0);
                self.file
                    .read_at(at, buf)
                    .map_err(|e| Error::io(&self.name, e))?;
                buf
            }
        };
        self.check_block(b, bytes, at)?;
        Ok(f(bytes))
    }

    /// Copies block `b` into `buf` (checked the first time), reusing its capacity.
    pub fn read_block(&self, b: usize, buf: &mut Vec<u8>) -> Result<()> {
        if self.file.as_bytes().is_none() {
            // `pread` fills `buf` itself.
            return self.with_block(b, buf, |_| ());
        }
        self.with_block(b, &mut Vec::new(), |bytes| {
            buf.clear();
            buf.extend_from_slice(bytes);
        })
    }

    /// Entries in block `b`.
    pub fn block_entries(&self, b: usize) -> usize {
        self.blocks[b].count as usize
    }

    fn check_block(&self, b: usize, bytes: &[u8], at: u64) -> Result<()> {
        let bit = 1u64 << (b % 64);
        if self.verified[b / 64].load(Ordering::Relaxed) & bit == 0 {
            self.verify_block(b, bytes, at)?;
            self.verified[b / 64].fetch_or(bit, Ordering::Relaxed);
        }
        Ok(())
    }

    fn verify_block(&self, b: usize, buf: &[u8], at: u64) -> Result<()> {
        let len = buf.len();
        if get_u32(buf, len - BLOCK_CRC_LEN) != Some(crc32c::crc32c(&buf[..len - BLOCK_CRC_LEN])) {
            return Err(Error::corrupted(&self.name, at, "block checksum mismatch"));
        }
        let view = BlockView::parse(buf, self.block_entries(b))
            .map_err(|r| Error::corrupted(&self.name, at, r))?;
        if let Some(i) =
            (0..view.len()).find(|&i| !self.header.key_type.image_is_valid(view.key(i)))
        {
            return Err(Error::corrupted(
                &self.name,
                at,
                format!("entry {i} holds no valid {} key", self.header.key_type),
            ));
        }
        let last = view.key(view.len() - 1);
        let next_fence = self.fences.get(b + 1).copied();
        if view.key(0) != self.fences[b]
            || next_fence.is_some_and(|f| last >= f)
            || (next_fence.is_none() && last != self.max_key)
        {
            return Err(Error::corrupted(
                &self.name,
                at,
                "block keys disagree with the fences",
            ));
        }
        Ok(())
    }

    /// Reads and checks every block; the entry and tombstone counts must match the header.
    pub fn verify_all(&self) -> Result<()> {
        let mut buf = Vec::new();
        let (mut entries, mut tombstones) = (0u64, 0u64);
        for b in 0..self.block_count() {
            // Checked afresh even if this process read the block before.
            self.verified[b / 64].fetch_and(!(1u64 << (b % 64)), Ordering::Relaxed);
            self.read_block(b, &mut buf)?;
            let view = BlockView::new(&buf, self.block_entries(b));
            entries += view.len() as u64;
            tombstones += (0..view.len()).filter(|&i| view.value(i).is_none()).count() as u64;
        }
        if entries != self.header.entry_count || tombstones != self.header.tombstones {
            return Err(Error::corrupted(
                &self.name,
                RunHeader::ENTRY_COUNT_AT,
                "blocks hold another number of entries or tombstones than the header",
            ));
        }
        Ok(())
    }

    /// Starts loading the lines a lookup of `key` will read first (the guessed key and
    /// value lines of its block) without waiting for them, when the run is read in place.
    /// For batches: prefetched a few keys ahead, the lines arrive while the lookups before
    /// are served.
    pub fn prefetch(&self, key: u64) {
        let (Some(all), Some(b)) = (self.file.as_bytes(), self.block_for(key)) else {
            return;
        };
        let start = RUN_HEADER_LEN + self.blocks[b].offset as usize;
        let end = RUN_HEADER_LEN + self.blocks[b + 1].offset as usize;
        let Some(bytes) = all.get(start..end) else {
            return;
        };
        let view = BlockView::new(bytes, self.block_entries(b));
        let guess = self.entry_guess(b, key).min(view.len().saturating_sub(1));
        for at in [guess * BLOCK_ENTRY_LEN, view.value_hint_at(guess)] {
            if let Some(byte) = bytes.get(at) {
                prefetch_line(byte);
            }
        }
    }

    /// The entry of block `b` that `key` would be, interpolated between the block's fence
    /// and the next (the last block's between its fence and the largest key).
    #[inline]
    fn entry_guess(&self, b: usize, key: u64) -> usize {
        let lo_key = self.fences[b];
        let hi_key = self.fences.get(b + 1).copied().unwrap_or(self.max_key);
        let span = u128::from(hi_key - lo_key).max(1);
        (u128::from(key.saturating_sub(lo_key)) * self.block_entries(b) as u128 / span) as usize
    }

    /// Looks `key` up, reading at most one block into `buf`; calls `f` on the value.
    pub fn get_with<R>(
        &self,
        key: u64,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<Found<R>>> {
        let Some(b) = self.block_for(key) else {
            return Ok(None);
        };
        // A learned guess inside the block, corrected by a galloping search.
        let guess = self.entry_guess(b, key);
        let n = self.block_entries(b);
        self.with_block(b, buf, |bytes| {
            let view = BlockView::new(bytes, n);
            // Load the byte where the value probably lies before searching the keys, so
            // that the two cache misses (key line, value line) overlap.
            std::hint::black_box(view.value_hint(guess));
            let i = view.lower_bound_from(key, guess);
            if i == view.len() || view.key(i) != key {
                return None;
            }
            Some(match view.value(i) {
                Some(v) => Found::Value(f(v)),
                None => Found::Deleted,
            })
        })
    }
}

/// A position in a run, moving forward block by block.
#[derive(Debug)]
pub struct RunCursor {
    run: Arc<Run>,
    block: usize,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl RunCursor {
    /// A cursor at the first entry with a key `>= key`.
    pub fn seek(run: Arc<Run>, key: u64) -> Result<Self> {
        let blocks = run.block_count();
        let block = if key <= run.min_key {
            0
        } else if key > run.max_key {
            blocks
        } else {
            run.block_for(key).unwrap_or(blocks)
        };
        let mut c = RunCursor {
            run,
            block,
            buf: Vec::new(),
            pos: 0,
            len: 0,
        };
        c.load()?;
        if c.len > 0 {
            c.pos = c.view().lower_bound(key);
            if c.pos == c.len {
                c.block += 1;
                c.load()?;
            }
        }
        Ok(c)
    }

    fn load(&mut self) -> Result<()> {
        self.pos = 0;
        self.len = 0;
        if self.block < self.run.block_count() {
            self.run.read_block(self.block, &mut self.buf)?;
            self.len = self.run.block_entries(self.block);
        }
        Ok(())
    }

    /// The current key image, `None` at the end.
    #[inline]
    pub fn key(&self) -> Option<u64> {
        (self.pos < self.len).then(|| self.view().key(self.pos))
    }

    /// The current value (`None` for a tombstone); call only when `key()` is `Some`.
    #[inline]
    pub fn value(&self) -> Option<&[u8]> {
        self.view().value(self.pos)
    }

    #[inline]
    fn view(&self) -> BlockView<'_> {
        BlockView::new(&self.buf, self.len)
    }

    /// Moves to the next entry.
    pub fn advance(&mut self) -> Result<()> {
        self.pos += 1;
        if self.pos >= self.len && self.len > 0 {
            self.block += 1;
            self.load()?;
        }
        Ok(())
    }
}
