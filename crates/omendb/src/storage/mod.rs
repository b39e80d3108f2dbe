//! The storage backend: the only way the database touches files, and the seam where tests
//! inject I/O errors, crashes, torn writes and flipped bytes.
//!
//! A backend is rooted at one database directory; every name is a plain file name inside
//! it. The database relies on these guarantees, which [`FileStorage`] gets from POSIX and
//! [`MemStorage`] models explicitly:
//! - bytes written to a file are durable only after [`StorageFile::sync`] returns;
//! - a created, renamed or removed name is durable only after [`Storage::sync_dir`];
//! - [`Storage::rename`] replaces the target atomically;
//! - [`Storage::try_lock`] is held until the returned guard is dropped, and excludes every
//!   other holder, in this process or another.

mod file;
mod mem;

pub use file::FileStorage;
pub use mem::{CrashMode, MemStorage};

use std::any::Any;
use std::fmt::Debug;
use std::io::{self, Read};
use std::sync::Arc;

/// An open file, positioned for appends at its end.
pub trait StorageFile: Send + Debug {
    /// Appends `data` at the end of the file.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Writes `data` at `offset` (which may extend the file).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes every byte written so far durable.
    fn sync(&mut self) -> io::Result<()>;
    /// The current length in bytes.
    fn len(&self) -> u64;
    /// True when the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file opened for reads at any offset, shared between threads. Run files are read this
/// way: they never change once written.
pub trait RandomRead: Send + Sync + Debug {
    /// Fills `buf` with the bytes at `offset`; an error when the file ends before.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The length of the file when it was opened.
    fn len(&self) -> u64;
    /// The whole file as one slice, when the backend holds or maps it in memory: readers
    /// then read in place instead of copying through `read_at`.
    fn as_bytes(&self) -> Option<&[u8]> {
        None
    }
    /// True when the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file's bytes held in memory, read at any offset.
#[derive(Debug)]
pub struct BytesFile(pub Vec<u8>);

impl RandomRead for BytesFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.0.get(start..end))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        Some(&self.0)
    }
}

/// A held lock; dropping it releases the lock.
pub type LockGuard = Box<dyn Any + Send + Sync>;

/// A directory of files. Implementations must be usable from many threads.
pub trait Storage: Send + Sync + Debug {
    /// Creates `name` (truncating an existing file) and opens it for writing.
    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing `name` for appending.
    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing `name` for sequential reading; returns the reader and the length.
    fn open_read(&self, name: &str) -> io::Result<(Box<dyn Read + Send>, u64)>;
    /// Opens an existing `name` for reads at any offset. The default reads the whole file
    /// into memory, which suits in-memory backends.
    fn open_random(&self, name: &str) -> io::Result<Arc<dyn RandomRead>> {
        Ok(Arc::new(BytesFile(read_all_from(self, name)?)))
    }
    /// Whether `name` exists.
    fn exists(&self, name: &str) -> io::Result<bool>;
    /// Names of all files in the directory.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes `name`.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes creations, renames and removals in the directory durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Takes the exclusive lock on `name` (creating it if needed); `Ok(None)` when another
    /// holder has it.
    fn try_lock(&self, name: &str) -> io::Result<Option<LockGuard>>;
}

/// Reads the whole of `name` into memory (used for small files and by tests).
pub fn read_all(storage: &dyn Storage, name: &str) -> io::Result<Vec<u8>> {
    read_all_from(storage, name)
}

fn read_all_from<S: Storage + ?Sized>(storage: &S, name: &str) -> io::Result<Vec<u8>> {
    let (mut reader, len) = storage.open_read(name)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 26));
    reader.read_to_end(&mut out)?;
    Ok(out)
}
