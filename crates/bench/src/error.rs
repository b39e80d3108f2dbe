use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    KeyFile(#[from] crate::keyfile::KeyFileError),
    #[error("index error: {0}")]
    Alex(#[from] alex::AlexError),
    #[error("OmenDB error: {0}")]
    Omendb(#[from] omendb::Error),
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("redb error: {0}")]
    Redb(#[from] redb::Error),
    #[error("fjall error: {0}")]
    Fjall(#[from] fjall::Error),
    #[error("SQLite value of unexpected type: {0}")]
    SqliteValue(#[from] rusqlite::types::FromSqlError),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("plot error: {0}")]
    Plot(String),
    #[error("{0}")]
    Usage(String),
    #[error("--huge-pages: could not re-run {exe} with GLIBC_TUNABLES={tunables}: {source}")]
    Reexec {
        exe: String,
        tunables: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a store returned a value of {len} bytes for key {key}; every value is 8 bytes")]
    BadValue { key: u64, len: usize },
}

impl BenchError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BenchError::Io {
            path: path.into(),
            source,
        }
    }
}
