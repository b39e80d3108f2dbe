//! Typed errors of the database. Every failure a caller can see is one of these variants;
//! bytes read from disk never cause a panic, only [`Error::Corrupted`].

use std::io;
use std::path::PathBuf;

/// The result type of every fallible database operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error from the storage backend.
    #[error("I/O error on {file}: {source}")]
    Io {
        /// The file (within the database directory) being accessed.
        file: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The disk (or the storage backend's quota) is full. The write that hit it took no
    /// effect; like any I/O failure it disables writes until the database is reopened,
    /// with every acknowledged write kept. Free space, then reopen.
    #[error("disk full writing {file}: {source}; free space and reopen the database")]
    DiskFull {
        /// The file being written.
        file: String,
        /// The underlying error (`io::ErrorKind::StorageFull`).
        #[source]
        source: io::Error,
    },
    /// A file failed a checksum or a validity rule before its tail (see docs/design.md).
    #[error("corrupted {file} at byte offset {offset}: {reason}")]
    Corrupted {
        /// The file holding the bad bytes.
        file: String,
        /// Byte offset of the first invalid structure (record, block or header).
        offset: u64,
        /// Which rule failed.
        reason: String,
    },
    /// Another process (or another `Db` in this process) holds the database lock.
    #[error("database at {0} is locked by another process")]
    Locked(PathBuf),
    /// No database exists at the path and creation was not requested.
    #[error("no database at {0}")]
    NotFound(PathBuf),
    /// A database already exists at the path and `error_if_exists` was set.
    #[error("a database already exists at {0}")]
    AlreadyExists(PathBuf),
    /// The database was created for another key type.
    #[error("key type mismatch: database holds {stored} keys, opened as {requested}")]
    KeyTypeMismatch {
        /// Key type recorded in the database files.
        stored: &'static str,
        /// Key type asked for by the caller.
        requested: &'static str,
    },
    /// A key that the index cannot hold (NaN).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Input to an import that cannot be read as entries (the message says where).
    #[error("bad input: {0}")]
    BadInput(String),
    /// A value or batch larger than the format allows.
    #[error("too large: {0}")]
    TooLarge(String),
    /// An earlier write failed; the database refuses writes until it is reopened.
    #[error("database refuses writes after an earlier I/O failure ({0}); reopen it")]
    WritesDisabled(String),
    /// The file format version is not one this build reads.
    #[error("{file}: unsupported format version {version}")]
    UnsupportedVersion {
        /// File holding the version field.
        file: String,
        /// The version found.
        version: u32,
    },
    /// An invariant of the in-memory index failed while verifying.
    #[error("index invariant broken: {0}")]
    Invariant(String),
}

impl Error {
    pub(crate) fn io(file: impl Into<String>, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::StorageFull {
            return Error::DiskFull {
                file: file.into(),
                source,
            };
        }
        Error::Io {
            file: file.into(),
            source,
        }
    }

    pub(crate) fn corrupted(
        file: impl Into<String>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corrupted {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }
}
