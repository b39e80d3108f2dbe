//! How a database is opened.

use crate::storage::Storage;
use std::sync::Arc;

/// When a commit is made durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Every commit returns only after its log record is fsynced. Concurrent writers
    /// share one fsync (group commit).
    #[default]
    Always,
    /// Relaxed: commits are written to the operating system but not fsynced. They survive
    /// a crash of the process, not of the machine; [`crate::Db::flush`], `checkpoint` and
    /// `close` make everything before them durable.
    Relaxed,
}

/// How runs are merged in the background.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergePolicy {
    /// One run per level below level 0, each level eight times larger than the one above
    /// ([`Options::level_base_bytes`] for level 1): a get probes at most one run per level;
    /// each entry is rewritten about eight times per level it passes.
    #[default]
    Leveled,
    /// Size-tiered: once a tier holds four runs they are merged into one run of the next
    /// tier. Each entry is rewritten once per tier, but a get may probe up to three runs
    /// per tier.
    Tiered,
}

/// Options for [`crate::Db::open_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Create the database when none exists (default true).
    pub create_if_missing: bool,
    /// Fail with [`crate::Error::AlreadyExists`] when a database exists (default false).
    pub error_if_exists: bool,
    /// Durability of each commit (default [`SyncMode::Always`]).
    pub sync: SyncMode,
    /// Freeze the active memtable (start a new log and write the memtable out as a run in
    /// the background) once the writes it holds pass this many bytes (default 64 MiB;
    /// `None`: only [`crate::Db::checkpoint`] writes memtables out).
    pub auto_checkpoint_log_bytes: Option<u64>,
    /// Bytes level 1 may hold before it is merged into level 2; each deeper level may hold
    /// eight times more (default 256 MiB). Leveled merging only.
    pub level_base_bytes: u64,
    /// How runs are merged (default [`MergePolicy::Leveled`]). A database may be reopened
    /// with the other policy: the runs it has stay readable and later merges follow the
    /// new one.
    pub merge_policy: MergePolicy,
    /// Bytes of unsorted input an import sorts in memory before writing them as a run
    /// (default 256 MiB); sorted input streams straight into one run whatever its size.
    pub import_chunk_bytes: usize,
    /// Bytes of zeros the log is extended by ahead of its records (default 1 MiB; 0:
    /// the log grows with each append). A commit's fsync then flushes only the record,
    /// not a change of the file's size: durable commits are faster.
    pub log_preallocate_bytes: u64,
    /// Read runs through `mmap` (default true) or with `pread` (false). Mapped reads copy
    /// nothing; pages a process touched count in its resident set while the kernel keeps
    /// them cached. `pread` leaves the resident set to the heap. Applies to the file
    /// system backend.
    pub mmap: bool,
    /// Storage backend; `None` uses the file system at the given path. Tests pass a
    /// [`crate::storage::MemStorage`] here to inject faults.
    pub storage: Option<Arc<dyn Storage>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            create_if_missing: true,
            error_if_exists: false,
            sync: SyncMode::Always,
            auto_checkpoint_log_bytes: Some(64 << 20),
            level_base_bytes: 256 << 20,
            merge_policy: MergePolicy::Leveled,
            import_chunk_bytes: 256 << 20,
            mmap: true,
            log_preallocate_bytes: 1 << 20,
            storage: None,
        }
    }
}
