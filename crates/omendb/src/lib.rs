//! OmenDB: an embedded, durable, ordered key-value database on the ALEX learned index.
//!
//! Keys are one of the index's numeric [`alex::Key`] types per database; values are byte
//! strings. Log-structured: recent writes in a memtable (an `AlexMap`) and a write-ahead
//! log, the rest in immutable sorted runs on disk, merged in the background. Layers, top
//! to bottom:
//! - [`Db`] (db.rs): the API, group commit; [`Snapshot`] (version.rs): read views;
//! - the engine (compact.rs): freeze, flush, merge, import, manifest switches;
//! - memtable.rs: the versioned in-memory level; recover.rs: manifest + runs + log tail;
//! - [`wal`], [`run`], [`manifest`] and [`snapshot`] (the first engine's, read to convert):
//!   byte formats, readers and writers (docs/design.md);
//! - [`storage`]: the backend trait, the file system (runs read through `mmap`) and a
//!   fault-injecting memory model.

// `unsafe` only where a file is mapped into memory (storage/file.rs) and for the
// prefetch instruction (run/reader.rs).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod arena;
mod batch;
mod compact;
mod db;
mod error;
pub mod fuzz;
mod key_type;
#[allow(missing_docs)]
pub mod manifest;
mod memtable;
mod migrate;
mod options;
mod recover;
#[allow(missing_docs)]
pub mod run;
#[allow(missing_docs)]
pub mod snapshot;
pub mod storage;
mod verify;
mod version;
#[allow(missing_docs)]
pub mod wal;

/// The index's key trait: `u64 i64 u32 i32 f64 f32`.
pub use alex::Key;
pub use arena::{Arena, ValueRef, LARGE_VALUE, SMALL_CHUNK_BYTES};
pub use batch::{BatchOp, WriteBatch, MAX_VALUE_LEN};
pub use db::{Db, DbStats, RunStats, CLOSE_CHECKPOINT_BYTES, LOCK_NAME};
pub use error::{Error, Result};
pub use key_type::KeyType;
pub use options::{MergePolicy, Options, SyncMode};
pub use verify::{key_type_at, verify, verify_storage, VerifyReport};
pub use version::Snapshot;

/// Compile-time proof that a database can be shared between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Db<u64>>();
    assert_send_sync::<Db<f32>>();
};
