//! Writing a run: entries in strictly ascending key order are packed into blocks and
//! streamed to the file; fences, block offsets and the model are written after the blocks,
//! the header last. Memory held while writing: one block and 16 bytes per block.

use super::format::{
    block_len, encode_block, RunHeader, BLOCK_TARGET_BYTES, INDEX_FIXED_LEN, RUN_HEADER_LEN,
};
use super::pla::{Pla, TARGET_EPSILON};
use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::storage::{Storage, StorageFile};

/// Bytes gathered before one append to the file.
const WRITE_BUFFER: usize = 1 << 20;
/// Bytes appended between syncs while writing. Writing a large run otherwise leaves
/// hundreds of megabytes dirty, and the kernel then throttles every writer of the
/// process, the log's included: foreground commits stall for milliseconds.
const SYNC_EVERY: u64 = 8 << 20;

/// What a finished run holds, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunMeta {
    pub file_number: u64,
    pub entry_count: u64,
    pub tombstones: u64,
    pub file_len: u64,
    /// Smallest and largest key image (both 0 in an empty run).
    pub min_key: u64,
    pub max_key: u64,
}

/// File name of run number `n`.
pub fn run_name(n: u64) -> String {
    format!("run-{n:016x}.run")
}

/// The run number in a file name, if it is one.
pub fn parse_run_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("run-")?.strip_suffix(".run")?;
    if hex.len() != 16
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// A run being written.
#[derive(Debug)]
pub struct RunWriter {
    file: Box<dyn StorageFile>,
    name: String,
    file_number: u64,
    key_type: KeyType,
    /// Entries of the open block: key image, value (`None` for a tombstone).
    block: Vec<(u64, Option<Vec<u8>>)>,
    block_bytes: usize,
    out: Vec<u8>,
    fences: Vec<u64>,
    offsets: Vec<u64>,
    counts: Vec<u32>,
    data_len: u64,
    entries: u64,
    tombstones: u64,
    last_key: Option<u64>,
}

impl RunWriter {
    /// Creates run file `file_number` (replacing a leftover of that name).
    pub fn create(storage: &dyn Storage, file_number: u64, key_type: KeyType) -> Result<Self> {
        let name = run_name(file_number);
        let mut file = storage.create(&name).map_err(|e| Error::io(&name, e))?;
        // The header is filled in last; zeros until then fail its checksum.
        file.append(&[0u8; RUN_HEADER_LEN])
            .map_err(|e| Error::io(&name, e))?;
        Ok(Self {
            file,
            name,
            file_number,
            key_type,
            block: Vec::new(),
            block_bytes: 0,
            out: Vec::with_capacity(WRITE_BUFFER + BLOCK_TARGET_BYTES),
            fences: Vec::new(),
            offsets: Vec::new(),
            counts: Vec::new(),
            data_len: 0,
            entries: 0,
            tombstones: 0,
            last_key: None,
        })
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes written or buffered so far (an estimate of the final size).
    pub fn bytes(&self) -> u64 {
        self.data_len + self.out.len() as u64 + self.block_bytes as u64
    }

    /// The file's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds one entry; keys must be strictly ascending across calls.
    pub fn add(&mut self, key: u64, value: Option<&[u8]>) -> Result<()> {
        if self.last_key.is_some_and(|k| k >= key) {
            return Err(Error::Invariant(format!(
                "run {} given keys out of order",
                self.name
            )));
        }
        self.last_key = Some(key);
        let grown = block_len(
            self.block.len() + 1,
            self.block_bytes + value.map_or(0, <[u8]>::len),
        );
        if !self.block.is_empty() && grown > BLOCK_TARGET_BYTES {
            self.finish_block()?;
        }
        self.block_bytes += value.map_or(0, <[u8]>::len);
        self.block.push((key, value.map(<[u8]>::to_vec)));
        self.entries += 1;
        self.tombstones += u64::from(value.is_none());
        Ok(())
    }

    fn finish_block(&mut self) -> Result<()> {
        let Some(&(first, _)) = self.block.first() else {
            return Ok(());
        };
        let start = self.out.len();
        let entries: Vec<(u64, Option<&[u8]>)> =
            self.block.iter().map(|(k, v)| (*k, v.as_deref())).collect();
        encode_block(&entries, &mut self.out);
        self.fences.push(first);
        self.counts.push(self.block.len() as u32);
        // `data_len` counts drained bytes; the block starts `start` bytes into the buffer.
        self.offsets.push(self.data_len + start as u64);
        self.block.clear();
        self.block_bytes = 0;
        if self.out.len() >= WRITE_BUFFER {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        self.file
            .append(&self.out)
            .map_err(|e| Error::io(&self.name, e))?;
        let before = self.data_len;
        self.data_len += self.out.len() as u64;
        self.out.clear();
        if before / SYNC_EVERY != self.data_len / SYNC_EVERY {
            self.file.sync().map_err(|e| Error::io(&self.name, e))?;
        }
        Ok(())
    }

    /// Writes the rest, the index section and the header, syncs, and returns what the
    /// run holds. The caller syncs the directory before naming the run in a manifest.
    pub fn finish(mut self) -> Result<RunMeta> {
        self.finish_block()?;
        self.drain()?;
        let model = Pla::fit(&self.fences, TARGET_EPSILON);
        let mut index = Vec::with_capacity(
            self.fences.len() * 20 + 8 + INDEX_FIXED_LEN + model.segments.len() * 24 + 4,
        );
        for f in &self.fences {
            index.extend_from_slice(&f.to_le_bytes());
        }
        for o in self.offsets.iter().chain(std::iter::once(&self.data_len)) {
            index.extend_from_slice(&o.to_le_bytes());
        }
        for c in &self.counts {
            index.extend_from_slice(&c.to_le_bytes());
        }
        index.extend_from_slice(&(model.segments.len() as u32).to_le_bytes());
        index.extend_from_slice(&model.epsilon.to_le_bytes());
        let min_key = self.fences.first().copied().unwrap_or(0);
        let max_key = self.last_key.unwrap_or(0);
        index.extend_from_slice(&min_key.to_le_bytes());
        index.extend_from_slice(&max_key.to_le_bytes());
        for s in &model.segments {
            index.extend_from_slice(&s.first_key.to_le_bytes());
            index.extend_from_slice(&s.slope.to_bits().to_le_bytes());
            index.extend_from_slice(&s.intercept.to_bits().to_le_bytes());
        }
        let crc = crc32c::crc32c(&index);
        index.extend_from_slice(&crc.to_le_bytes());
        self.file
            .append(&index)
            .map_err(|e| Error::io(&self.name, e))?;
        let header = RunHeader {
            key_type: self.key_type,
            entry_count: self.entries,
            block_count: self.fences.len() as u64,
            data_len: self.data_len,
            index_len: index.len() as u64,
            tombstones: self.tombstones,
        };
        self.file
            .write_at(0, &header.encode())
            .map_err(|e| Error::io(&self.name, e))?;
        self.file.sync().map_err(|e| Error::io(&self.name, e))?;
        Ok(RunMeta {
            file_number: self.file_number,
            entry_count: self.entries,
            tombstones: self.tombstones,
            file_len: self.file.len(),
            min_key,
            max_key,
        })
    }
}
