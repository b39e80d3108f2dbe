//! An in-memory backend that models durability exactly and injects faults.
//!
//! Every file keeps two images: the bytes written so far and the bytes as of its last
//! `sync`. The directory likewise keeps its current and its last-`sync_dir` name table.
//! [`MemStorage::crash`] throws away what a power cut would (per [`CrashMode`]), so a
//! test can reopen the database on exactly the state a real disk could hold.
//! [`MemStorage::fail_after`] makes every mutating call past the N-th fail.

use super::{LockGuard, Storage, StorageFile};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Cursor, Read};
use std::sync::{Arc, Mutex, MutexGuard};

/// What survives [`MemStorage::crash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Only synced bytes and synced directory entries survive (a power cut).
    DropUnsynced,
    /// Everything written survives (the process died, the kernel did not).
    KeepUnsynced,
    /// Like `DropUnsynced`, but the file written last keeps this many bytes of its unsynced
    /// tail: a torn final write.
    TearLast(usize),
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Debug, Default)]
struct Fs {
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    dir: BTreeMap<String, u64>,
    durable_dir: BTreeMap<String, u64>,
    locks: HashSet<String>,
    epoch: u64,
    write_ops: u64,
    fail_after: Option<u64>,
    /// Bytes the files may hold in all; past it a write fails as on a full disk.
    capacity: Option<u64>,
    tear_failing_append: bool,
    last_written: Option<u64>,
}

fn injected() -> io::Error {
    io::Error::other("injected I/O error")
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file"))
}

impl Fs {
    /// Counts one mutating operation; fails when the fault budget is spent.
    fn begin_write(&mut self) -> io::Result<()> {
        if let Some(limit) = self.fail_after {
            if self.write_ops >= limit {
                return Err(injected());
            }
        }
        self.write_ops += 1;
        Ok(())
    }

    /// Fails with `StorageFull` when growing file `ino` to `new_len` bytes would pass
    /// the capacity. Every file still held counts, as on a disk.
    fn make_room(&mut self, ino: u64, new_len: usize) -> io::Result<()> {
        let Some(capacity) = self.capacity else {
            return Ok(());
        };
        let old_len = self.inode(ino)?.data.len();
        let used: usize = self.inodes.values().map(|i| i.data.len()).sum();
        if new_len > old_len && (used - old_len + new_len) as u64 > capacity {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (injected)",
            ));
        }
        Ok(())
    }

    fn new_inode(&mut self) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(ino, Inode::default());
        ino
    }

    fn inode(&mut self, ino: u64) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&ino)
            .ok_or_else(|| io::Error::other("stale file handle"))
    }
}

/// The in-memory backend. Clones share one file system.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    fs: Arc<Mutex<Fs>>,
}

impl MemStorage {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock_fs(&self) -> MutexGuard<'_, Fs> {
        // A panic while holding this lock can only come from a test assertion; the state
        // is still consistent, so keep going.
        self.fs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every mutating operation after the next `n` fail with an I/O error.
    pub fn fail_after(&self, n: u64) {
        let mut fs = self.lock_fs();
        fs.fail_after = Some(fs.write_ops + n);
    }

    /// When set, an append that hits the fault limit writes the first half of its bytes
    /// before failing.
    pub fn set_tear_failing_append(&self, tear: bool) {
        self.lock_fs().tear_failing_append = tear;
    }

    /// Limits the bytes all files may hold together (`None`: no limit). A write that would
    /// pass it fails with `io::ErrorKind::StorageFull` and changes nothing, as on a full
    /// disk; removing files makes room again.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.lock_fs().capacity = bytes;
    }

    /// Removes the fault limit.
    pub fn clear_faults(&self) {
        self.lock_fs().fail_after = None;
    }

    /// Mutating operations performed so far.
    pub fn write_ops(&self) -> u64 {
        self.lock_fs().write_ops
    }

    /// Simulates a crash: open handles go stale, locks are released, and file contents
    /// and names fall back per `mode`.
    pub fn crash(&self, mode: CrashMode) {
        let mut fs = self.lock_fs();
        fs.epoch += 1;
        fs.locks.clear();
        fs.fail_after = None;
        let last = fs.last_written;
        if mode != CrashMode::KeepUnsynced {
            fs.dir = fs.durable_dir.clone();
            for (&ino, inode) in fs.inodes.iter_mut() {
                let mut kept = inode.durable.clone();
                if let CrashMode::TearLast(extra) = mode {
                    if Some(ino) == last && inode.data.starts_with(&inode.durable) {
                        let end = (inode.durable.len() + extra).min(inode.data.len());
                        kept = inode.data[..end].to_vec();
                    }
                }
                inode.data = kept;
            }
        }
        let live: HashSet<u64> = fs.dir.values().copied().collect();
        fs.inodes.retain(|ino, _| live.contains(ino));
        for inode in fs.inodes.values_mut() {
            inode.durable = inode.data.clone();
        }
        fs.durable_dir = fs.dir.clone();
    }

    /// Flips the bits of `mask` in byte `offset` of `name` (both images). False when the
    /// file or offset does not exist.
    pub fn flip(&self, name: &str, offset: u64, mask: u8) -> bool {
        let mut fs = self.lock_fs();
        let Some(&ino) = fs.dir.get(name) else {
            return false;
        };
        let Ok(inode) = fs.inode(ino) else {
            return false;
        };
        let Ok(at) = usize::try_from(offset) else {
            return false;
        };
        if at >= inode.data.len() {
            return false;
        }
        inode.data[at] ^= mask;
        if at < inode.durable.len() {
            inode.durable[at] ^= mask;
        }
        true
    }

    /// The current bytes of `name`.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        let fs = self.lock_fs();
        let ino = fs.dir.get(name)?;
        fs.inodes.get(ino).map(|i| i.data.clone())
    }

    /// Replaces the bytes of `name` (both images), creating it durably if needed.
    pub fn set_file(&self, name: &str, bytes: Vec<u8>) {
        let mut fs = self.lock_fs();
        let ino = match fs.dir.get(name) {
            Some(&ino) => ino,
            None => {
                let ino = fs.new_inode();
                fs.dir.insert(name.to_string(), ino);
                fs.durable_dir.insert(name.to_string(), ino);
                ino
            }
        };
        if let Some(inode) = fs.inodes.get_mut(&ino) {
            inode.durable = bytes.clone();
            inode.data = bytes;
        }
    }

    /// Names currently in the directory.
    pub fn names(&self) -> Vec<String> {
        self.lock_fs().dir.keys().cloned().collect()
    }
}

#[derive(Debug)]
struct MemFile {
    fs: Arc<Mutex<Fs>>,
    ino: u64,
    epoch: u64,
}

impl MemFile {
    fn with<T>(&self, write: bool, f: impl FnOnce(&mut Fs) -> io::Result<T>) -> io::Result<T> {
        let mut fs = self.fs.lock().unwrap_or_else(|e| e.into_inner());
        if fs.epoch != self.epoch {
            return Err(io::Error::other("file handle from before a crash"));
        }
        if write {
            fs.begin_write()?;
            fs.last_written = Some(self.ino);
        }
        f(&mut fs)
    }
}

impl StorageFile for MemFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let ino = self.ino;
        let result = self.with(true, |fs| {
            let len = fs.inode(ino)?.data.len();
            fs.make_room(ino, len + data.len())?;
            fs.inode(ino)?.data.extend_from_slice(data);
            Ok(())
        });
        if result.is_err() {
            // A failing append may still have written part of its bytes.
            let mut fs = self.fs.lock().unwrap_or_else(|e| e.into_inner());
            if fs.tear_failing_append && fs.epoch == self.epoch {
                fs.last_written = Some(ino);
                if let Ok(inode) = fs.inode(ino) {
                    inode.data.extend_from_slice(&data[..data.len() / 2]);
                }
            }
        }
        result
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let ino = self.ino;
        self.with(true, |fs| {
            let inode = fs.inode(ino)?;
            let at = usize::try_from(offset).map_err(|_| io::Error::other("offset too large"))?;
            let new_len = inode.data.len().max(at + data.len());
            fs.make_room(ino, new_len)?;
            let inode = fs.inode(ino)?;
            if inode.data.len() < at + data.len() {
                inode.data.resize(at + data.len(), 0);
            }
            inode.data[at..at + data.len()].copy_from_slice(data);
            Ok(())
        })
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let ino = self.ino;
        self.with(true, |fs| {
            let len = usize::try_from(len).map_err(|_| io::Error::other("length too large"))?;
            fs.make_room(ino, len)?;
            fs.inode(ino)?.data.resize(len, 0);
            Ok(())
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        let ino = self.ino;
        self.with(true, |fs| {
            let inode = fs.inode(ino)?;
            inode.durable = inode.data.clone();
            Ok(())
        })
    }

    fn len(&self) -> u64 {
        self.with(false, |fs| Ok(fs.inode(self.ino)?.data.len() as u64))
            .unwrap_or(0)
    }
}

impl Storage for MemStorage {
    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let mut fs = self.lock_fs();
        fs.begin_write()?;
        let ino = match fs.dir.get(name) {
            Some(&ino) => {
                fs.inode(ino)?.data.clear();
                ino
            }
            None => {
                let ino = fs.new_inode();
                fs.dir.insert(name.to_string(), ino);
                ino
            }
        };
        fs.last_written = Some(ino);
        Ok(Box::new(MemFile {
            fs: Arc::clone(&self.fs),
            ino,
            epoch: fs.epoch,
        }))
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let fs = self.lock_fs();
        let &ino = fs.dir.get(name).ok_or_else(|| not_found(name))?;
        Ok(Box::new(MemFile {
            fs: Arc::clone(&self.fs),
            ino,
            epoch: fs.epoch,
        }))
    }

    fn open_read(&self, name: &str) -> io::Result<(Box<dyn Read + Send>, u64)> {
        let data = self.file(name).ok_or_else(|| not_found(name))?;
        let len = data.len() as u64;
        Ok((Box::new(Cursor::new(data)), len))
    }

    fn exists(&self, name: &str) -> io::Result<bool> {
        Ok(self.lock_fs().dir.contains_key(name))
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.names())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut fs = self.lock_fs();
        fs.begin_write()?;
        let ino = fs.dir.remove(from).ok_or_else(|| not_found(from))?;
        fs.dir.insert(to.to_string(), ino);
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut fs = self.lock_fs();
        fs.begin_write()?;
        fs.dir.remove(name).ok_or_else(|| not_found(name))?;
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut fs = self.lock_fs();
        fs.begin_write()?;
        fs.durable_dir = fs.dir.clone();
        Ok(())
    }

    fn try_lock(&self, name: &str) -> io::Result<Option<LockGuard>> {
        let mut fs = self.lock_fs();
        if !fs.locks.insert(name.to_string()) {
            return Ok(None);
        }
        Ok(Some(Box::new(MemLock {
            fs: Arc::clone(&self.fs),
            name: name.to_string(),
            epoch: fs.epoch,
        })))
    }
}

#[derive(Debug)]
struct MemLock {
    fs: Arc<Mutex<Fs>>,
    name: String,
    epoch: u64,
}

impl Drop for MemLock {
    fn drop(&mut self) {
        let mut fs = self.fs.lock().unwrap_or_else(|e| e.into_inner());
        if fs.epoch == self.epoch {
            fs.locks.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_cut_keeps_only_synced_bytes_and_names() {
        let mem = MemStorage::new();
        let mut f = mem.create("a").unwrap();
        f.append(b"hello").unwrap();
        f.sync().unwrap();
        mem.sync_dir().unwrap();
        f.append(b" world").unwrap();
        let mut g = mem.create("b").unwrap();
        g.append(b"x").unwrap();
        g.sync().unwrap();
        mem.crash(CrashMode::DropUnsynced);
        assert_eq!(mem.file("a").unwrap(), b"hello");
        assert!(
            mem.file("b").is_none(),
            "name never synced into the directory"
        );
        assert!(f.append(b"late").is_err(), "handles go stale after a crash");
    }

    #[test]
    fn torn_last_write_keeps_a_prefix() {
        let mem = MemStorage::new();
        let mut f = mem.create("a").unwrap();
        mem.sync_dir().unwrap();
        f.append(b"abc").unwrap();
        f.sync().unwrap();
        f.append(b"defgh").unwrap();
        mem.crash(CrashMode::TearLast(2));
        assert_eq!(mem.file("a").unwrap(), b"abcde");
    }

    #[test]
    fn faults_fire_after_n_writes_and_locks_exclude() {
        let mem = MemStorage::new();
        let mut f = mem.create("a").unwrap();
        mem.fail_after(2);
        f.append(b"1").unwrap();
        f.append(b"2").unwrap();
        assert!(f.append(b"3").is_err());
        assert!(mem.sync_dir().is_err());
        mem.clear_faults();
        f.append(b"4").unwrap();
        assert_eq!(mem.file("a").unwrap(), b"124");

        let guard = mem.try_lock("LOCK").unwrap();
        assert!(guard.is_some());
        assert!(mem.try_lock("LOCK").unwrap().is_none());
        drop(guard);
        assert!(mem.try_lock("LOCK").unwrap().is_some());
    }
}
