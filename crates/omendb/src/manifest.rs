//! The manifest: which runs are live, in which level, and where the logs take over.
//! Replaced whole by writing `MANIFEST.tmp`, syncing it, renaming it over `MANIFEST` and
//! syncing the directory: the rename is the atomic switch. Layout in docs/design.md.

use crate::error::{Error, Result};
use crate::key_type::KeyType;
use crate::run::format::{get_u32, get_u64};
use crate::storage::{read_all, Storage};

/// The current manifest's name; the database exists if and only if it exists.
pub const MANIFEST_NAME: &str = "MANIFEST";
/// A manifest being written.
pub const MANIFEST_TMP: &str = "MANIFEST.tmp";
/// Magic at offset 0.
pub const MANIFEST_MAGIC: [u8; 8] = *b"OMENMAN\0";
/// Format version written and read.
pub const MANIFEST_VERSION: u32 = 1;
/// Fixed header length.
pub const MANIFEST_HEADER_LEN: usize = 48;
pub const MH_VERSION: usize = 8;
pub const MH_KEY_TYPE: usize = 12;
pub const MH_NEXT_SEQ: usize = 16;
pub const MH_LOG_NUMBER: usize = 24;
pub const MH_NEXT_FILE: usize = 32;
pub const MH_RUN_COUNT: usize = 40;
pub const MH_RESERVED: usize = 44;
/// Bytes of one run entry.
pub const RUN_ENTRY_LEN: usize = 48;
/// Most runs a manifest may name.
pub const MAX_RUNS: u32 = 1 << 16;

/// One live run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunEntry {
    pub file_number: u64,
    /// 0 holds flushed memtables (runs may overlap); each deeper level holds one run
    /// under the leveled policy, several (newest first) under the tiered one.
    pub level: u32,
    pub entry_count: u64,
    pub file_len: u64,
    pub min_key: u64,
    pub max_key: u64,
}

/// The decoded manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub key_type: KeyType,
    /// Sequence of the first batch not contained in the runs.
    pub next_seq: u64,
    /// The first log to replay on top of the runs.
    pub log_number: u64,
    /// The number the next run file gets.
    pub next_file: u64,
    /// Newest first: level 0 newest to oldest, then levels 1, 2, ...
    pub runs: Vec<RunEntry>,
}

impl Manifest {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MANIFEST_HEADER_LEN + self.runs.len() * RUN_ENTRY_LEN + 4);
        b.extend_from_slice(&MANIFEST_MAGIC);
        b.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        b.push(self.key_type.code());
        b.extend_from_slice(&[0; 3]);
        b.extend_from_slice(&self.next_seq.to_le_bytes());
        b.extend_from_slice(&self.log_number.to_le_bytes());
        b.extend_from_slice(&self.next_file.to_le_bytes());
        b.extend_from_slice(&(self.runs.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for r in &self.runs {
            b.extend_from_slice(&r.file_number.to_le_bytes());
            b.extend_from_slice(&r.level.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&r.entry_count.to_le_bytes());
            b.extend_from_slice(&r.file_len.to_le_bytes());
            b.extend_from_slice(&r.min_key.to_le_bytes());
            b.extend_from_slice(&r.max_key.to_le_bytes());
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a whole manifest file.
    pub fn decode(b: &[u8], name: &str) -> Result<Self> {
        let bad = |offset: usize, reason: &str| Error::corrupted(name, offset as u64, reason);
        if b.len() < MANIFEST_HEADER_LEN + 4 {
            return Err(bad(0, "manifest shorter than its header"));
        }
        let body = &b[..b.len() - 4];
        if get_u32(b, b.len() - 4) != Some(crc32c::crc32c(body)) {
            return Err(bad(b.len() - 4, "manifest checksum mismatch"));
        }
        if b[..8] != MANIFEST_MAGIC {
            return Err(bad(0, "bad manifest magic"));
        }
        let version = get_u32(b, MH_VERSION).unwrap_or(0);
        if version != MANIFEST_VERSION {
            return Err(Error::UnsupportedVersion {
                file: name.to_string(),
                version,
            });
        }
        let key_type = KeyType::from_code(b[MH_KEY_TYPE])
            .ok_or_else(|| bad(MH_KEY_TYPE, "unknown key type"))?;
        if b[MH_KEY_TYPE + 1..MH_NEXT_SEQ] != [0; 3] || get_u32(b, MH_RESERVED) != Some(0) {
            return Err(bad(MH_KEY_TYPE + 1, "reserved bytes not zero"));
        }
        let u64_at = |at: usize| get_u64(b, at).unwrap_or(0);
        let count = get_u32(b, MH_RUN_COUNT).unwrap_or(0);
        if count > MAX_RUNS || MANIFEST_HEADER_LEN + count as usize * RUN_ENTRY_LEN + 4 != b.len() {
            return Err(bad(MH_RUN_COUNT, "run count disagrees with the length"));
        }
        let next_file = u64_at(MH_NEXT_FILE);
        let mut runs = Vec::with_capacity(count as usize);
        for i in 0..count as usize {
            let o = MANIFEST_HEADER_LEN + i * RUN_ENTRY_LEN;
            let r = RunEntry {
                file_number: u64_at(o),
                level: get_u32(b, o + 8).unwrap_or(0),
                entry_count: u64_at(o + 16),
                file_len: u64_at(o + 24),
                min_key: u64_at(o + 32),
                max_key: u64_at(o + 40),
            };
            if get_u32(b, o + 12) != Some(0) {
                return Err(bad(o + 12, "reserved bytes not zero"));
            }
            if r.file_number >= next_file || r.min_key > r.max_key {
                return Err(bad(o, "run entry out of range"));
            }
            if let Some(prev) = runs.last() {
                let prev: &RunEntry = prev;
                if r.level < prev.level {
                    return Err(bad(o, "runs out of level order"));
                }
            }
            if runs
                .iter()
                .any(|p: &RunEntry| p.file_number == r.file_number)
            {
                return Err(bad(o, "run named twice"));
            }
            runs.push(r);
        }
        Ok(Manifest {
            key_type,
            next_seq: u64_at(MH_NEXT_SEQ),
            log_number: u64_at(MH_LOG_NUMBER),
            next_file,
            runs,
        })
    }
}

/// Reads and decodes `MANIFEST`.
pub fn read_manifest(storage: &dyn Storage) -> Result<Manifest> {
    let bytes = read_all(storage, MANIFEST_NAME).map_err(|e| Error::io(MANIFEST_NAME, e))?;
    Manifest::decode(&bytes, MANIFEST_NAME)
}

/// Installs `manifest` atomically (temp file, sync, rename, directory sync).
pub fn write_manifest(storage: &dyn Storage, manifest: &Manifest) -> Result<()> {
    let bytes = manifest.encode();
    let mut file = storage
        .create(MANIFEST_TMP)
        .map_err(|e| Error::io(MANIFEST_TMP, e))?;
    file.append(&bytes)
        .map_err(|e| Error::io(MANIFEST_TMP, e))?;
    file.sync().map_err(|e| Error::io(MANIFEST_TMP, e))?;
    drop(file);
    storage
        .rename(MANIFEST_TMP, MANIFEST_NAME)
        .map_err(|e| Error::io(MANIFEST_NAME, e))?;
    storage.sync_dir().map_err(|e| Error::io("directory", e))
}
