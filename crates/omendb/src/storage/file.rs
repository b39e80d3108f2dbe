//! The real backend: files in one directory of the operating system's file system.

use super::{LockGuard, RandomRead, Storage, StorageFile};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files under one directory.
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
    mmap: bool,
}

impl FileStorage {
    /// A backend rooted at `dir`, creating the directory if `create` is set.
    pub fn new(dir: impl AsRef<Path>, create: bool) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if create && !dir.exists() {
            fs::create_dir_all(&dir)?;
            // Make the new directory's own name durable.
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                File::open(parent)?.sync_all()?;
            }
        }
        if !dir.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a directory"));
        }
        Ok(Self { dir, mmap: true })
    }

    /// Whether files opened for random reads are mapped into memory (the default) or read
    /// with `pread`. Mapped pages a process has touched count in its resident set while the
    /// kernel keeps them; `pread` copies each block but leaves the resident set to the heap.
    pub fn with_mmap(mut self, mmap: bool) -> Self {
        self.mmap = mmap;
        self
    }

    /// The directory this backend is rooted at.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> io::Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "file names must stay inside the database directory",
            ));
        }
        Ok(self.dir.join(name))
    }
}

#[derive(Debug)]
struct OsFile {
    file: File,
    len: u64,
}

impl StorageFile for OsFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(self.len))?;
        self.file.write_all(data)?;
        self.len += data.len() as u64;
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.write_all(data)?;
        self.len = self.len.max(offset + data.len() as u64);
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// A file read with `pread`, through the operating system's page cache.
#[derive(Debug)]
struct OsRandom {
    file: File,
    len: u64,
}

impl RandomRead for OsRandom {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// A file mapped read-only into memory; reads go through the page cache without a copy.
#[derive(Debug)]
struct MappedFile {
    map: memmap2::Mmap,
}

impl RandomRead for MappedFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.map.get(start..end))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.map.len() as u64
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        Some(&self.map)
    }
}

impl Storage for FileStorage {
    fn open_random(&self, name: &str) -> io::Result<Arc<dyn RandomRead>> {
        let file = File::open(self.path(name)?)?;
        let len = file.metadata()?.len();
        if !self.mmap || len == 0 {
            return Ok(Arc::new(OsRandom { file, len }));
        }
        // SAFETY: the map is read-only, and the database only maps files it never changes
        // again: a run is mapped after it was written in full and synced, and is deleted,
        // never truncated or rewritten, once no manifest names it (an unlinked file stays
        // readable while mapped). The directory lock keeps other OmenDB processes from
        // writing to it; a process that truncates a mapped run behind the lock's back makes
        // reads of the lost pages fault (SIGBUS), the one hazard of mapping files.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file)? };
        // Lookups jump around the file: no read-ahead around each touched page.
        let _ = map.advise(memmap2::Advice::Random);
        Ok(Arc::new(MappedFile { map }))
    }

    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.path(name)?)?;
        Ok(Box::new(OsFile { file, len: 0 }))
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(name)?)?;
        let len = file.metadata()?.len();
        Ok(Box::new(OsFile { file, len }))
    }

    fn open_read(&self, name: &str) -> io::Result<(Box<dyn Read + Send>, u64)> {
        let file = File::open(self.path(name)?)?;
        let len = file.metadata()?.len();
        Ok((Box::new(BufReader::with_capacity(1 << 20, file)), len))
    }

    fn exists(&self, name: &str) -> io::Result<bool> {
        self.path(name)?.try_exists()
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.path(from)?, self.path(to)?)
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.path(name)?)
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    fn try_lock(&self, name: &str) -> io::Result<Option<LockGuard>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.path(name)?)?;
        // flock(2): held per open file description, so a second open in this process
        // conflicts as well; released when `file` is closed.
        if fs4::fs_std::FileExt::try_lock_exclusive(&file)? {
            Ok(Some(Box::new(file)))
        } else {
            Ok(None)
        }
    }
}
