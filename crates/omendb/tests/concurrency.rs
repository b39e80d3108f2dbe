//! Readers on several threads during concurrent writers see only committed states: every
//! batch writes one version to a whole group of keys, so a reader that ever sees a group
//! with mixed versions saw half a batch. Versions seen by one reader never go backwards.

use omendb::{Db, Options, SyncMode, WriteBatch};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const GROUPS: u64 = 16;
const GROUP_SIZE: u64 = 8;
const WRITERS: u64 = 4;
const BATCHES_PER_WRITER: u64 = 150;

fn check_groups(entries: &[(u64, Vec<u8>)], last_seen: &mut [u64]) {
    let mut versions = vec![None::<u64>; GROUPS as usize];
    let mut counts = vec![0u64; GROUPS as usize];
    for (k, v) in entries {
        let group = (k / GROUP_SIZE) as usize;
        let version = u64::from_le_bytes(v[..8].try_into().unwrap());
        match versions[group] {
            None => versions[group] = Some(version),
            Some(seen) => assert_eq!(
                seen, version,
                "group {group} holds two versions: half a batch"
            ),
        }
        counts[group] += 1;
    }
    for (group, version) in versions.into_iter().enumerate() {
        if let Some(v) = version {
            assert_eq!(counts[group], GROUP_SIZE, "group {group} partially written");
            assert!(
                v >= last_seen[group],
                "group {group} went back from {} to {v}",
                last_seen[group]
            );
            last_seen[group] = v;
        }
    }
}

#[test]
fn readers_see_only_whole_committed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncMode::Always,
        auto_checkpoint_log_bytes: Some(256 << 10),
        ..Options::default()
    };
    let db = Arc::new(Db::<u64>::open_with(dir.path(), opts.clone()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let db = Arc::clone(&db);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut last_seen = vec![0u64; GROUPS as usize];
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) || reads < 10 {
                    if r == 0 {
                        let group = reads % GROUPS;
                        let part = db
                            .range(group * GROUP_SIZE..(group + 1) * GROUP_SIZE)
                            .unwrap();
                        let mut mine = last_seen.clone();
                        check_groups(&part, &mut mine);
                        last_seen[group as usize] = mine[group as usize];
                    } else {
                        check_groups(&db.iter().unwrap(), &mut last_seen);
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    // Versions are unique per (writer, batch) and increase per writer; each writer owns
    // the groups congruent to its number, so per-group versions only grow.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                for b in 1..=BATCHES_PER_WRITER {
                    let group = w + WRITERS * (b % (GROUPS / WRITERS));
                    let version = b;
                    let mut batch = WriteBatch::new();
                    for k in group * GROUP_SIZE..(group + 1) * GROUP_SIZE {
                        let mut value = version.to_le_bytes().to_vec();
                        value.extend_from_slice(&[w as u8; 20]);
                        batch.put(k, value);
                    }
                    db.write(batch).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let final_state = db.iter().unwrap();
    check_groups(&final_state, &mut vec![0; GROUPS as usize]);
    let stats = db.stats().unwrap();
    drop(db);
    let report = omendb::verify(dir.path()).unwrap();
    println!(
        "{reads} consistent reads during {} batches; last log: {} records for {} batches (group commit)",
        WRITERS * BATCHES_PER_WRITER,
        report.log_records,
        report.log_batches
    );
    assert!(stats.next_seq == WRITERS * BATCHES_PER_WRITER);
    let db = Db::<u64>::open_with(dir.path(), opts).unwrap();
    assert_eq!(db.iter().unwrap(), final_state);
}

mod slow_sync {
    //! A backend whose fsync takes a long time, to show readers do not wait for it.
    use omendb::storage::{LockGuard, MemStorage, Storage, StorageFile};
    use std::io::{self, Read};
    use std::time::Duration;

    pub const SYNC_TIME: Duration = Duration::from_millis(300);

    #[derive(Debug)]
    pub struct SlowSync(pub MemStorage);

    #[derive(Debug)]
    struct SlowFile(Box<dyn StorageFile>);

    impl StorageFile for SlowFile {
        fn append(&mut self, data: &[u8]) -> io::Result<()> {
            self.0.append(data)
        }
        fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
            self.0.write_at(offset, data)
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.0.set_len(len)
        }
        fn sync(&mut self) -> io::Result<()> {
            std::thread::sleep(SYNC_TIME);
            self.0.sync()
        }
        fn len(&self) -> u64 {
            self.0.len()
        }
    }

    impl Storage for SlowSync {
        fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
            Ok(Box::new(SlowFile(self.0.create(name)?)))
        }
        fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
            Ok(Box::new(SlowFile(self.0.open(name)?)))
        }
        fn open_read(&self, name: &str) -> io::Result<(Box<dyn Read + Send>, u64)> {
            self.0.open_read(name)
        }
        fn exists(&self, name: &str) -> io::Result<bool> {
            self.0.exists(name)
        }
        fn list(&self) -> io::Result<Vec<String>> {
            self.0.list()
        }
        fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            self.0.rename(from, to)
        }
        fn remove(&self, name: &str) -> io::Result<()> {
            self.0.remove(name)
        }
        fn sync_dir(&self) -> io::Result<()> {
            self.0.sync_dir()
        }
        fn try_lock(&self, name: &str) -> io::Result<Option<LockGuard>> {
            self.0.try_lock(name)
        }
    }
}

#[test]
fn readers_do_not_wait_for_an_fsync() {
    use slow_sync::{SlowSync, SYNC_TIME};
    use std::time::{Duration, Instant};
    let opts = Options {
        storage: Some(Arc::new(SlowSync(omendb::storage::MemStorage::new()))),
        auto_checkpoint_log_bytes: None,
        ..Options::default()
    };
    let db = Arc::new(Db::<u64>::open_with("mem", opts).unwrap());
    db.put(1, b"before").unwrap();
    let writer = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            let t = Instant::now();
            db.put(2, b"slow").unwrap();
            t.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    // The writer is inside its fsync now: reads answer at once, without its write.
    let t = Instant::now();
    let mut reads = 0;
    while t.elapsed() < Duration::from_millis(150) {
        assert_eq!(db.get(1).unwrap(), Some(b"before".to_vec()));
        assert_eq!(db.get(2).unwrap(), None, "visible before durable");
        reads += 1;
    }
    let write_time = writer.join().unwrap();
    assert!(write_time >= SYNC_TIME, "the put waited for its fsync");
    assert!(reads > 100, "only {reads} reads in 150 ms");
    assert_eq!(db.get(2).unwrap(), Some(b"slow".to_vec()));
}
