//! Fault injection through the storage seam: I/O errors and crashes after every possible
//! number of writes, torn final writes, flipped and truncated bytes in every file. Each
//! case must end with the data intact (equal to the model at an allowed point) or a typed
//! error, never a panic.

mod common;

use common::{apply_db, contents, history, matching_state, op};
use omendb::storage::{CrashMode, MemStorage, Storage};
use omendb::{Db, Error, Options, SyncMode};
use std::sync::Arc;

const KEYS: u64 = 40;
const OPS: u64 = 60;

fn options(mem: &MemStorage, sync: SyncMode) -> Options {
    Options {
        storage: Some(Arc::new(mem.clone()) as Arc<dyn Storage>),
        sync,
        auto_checkpoint_log_bytes: Some(8 << 10),
        ..Options::default()
    }
}

/// Runs the workload until the first error. Returns (ops acknowledged, ops durable for
/// sure, whether an op failed).
fn run_until_error(db: &Db<u64>, seed: u64, sync: SyncMode) -> (usize, usize, bool) {
    let mut durable = 0;
    for i in 0..OPS {
        let op = op(seed, i, KEYS);
        match apply_db(db, &op) {
            Ok(()) => {
                if sync == SyncMode::Always
                    || matches!(op, common::Op::Checkpoint | common::Op::Import(_))
                {
                    durable = i as usize + 1;
                }
            }
            Err(e) => {
                assert!(
                    matches!(e, Error::Io { .. } | Error::WritesDisabled(_)),
                    "{e}"
                );
                // Refuses every later write, keeps serving reads.
                assert!(matches!(db.put(1, b"x"), Err(Error::WritesDisabled(_))));
                assert!(matches!(db.checkpoint(), Err(Error::WritesDisabled(_))));
                return (i as usize, durable, true);
            }
        }
    }
    (OPS as usize, durable, false)
}

fn fault_sweep(sync: SyncMode, modes: &[CrashMode], tear_failing_append: bool) -> usize {
    let seed = 11;
    let states = history(seed, OPS, KEYS);
    // Count the writes of a fault-free run to know how far to sweep.
    let total = {
        let mem = MemStorage::new();
        let db = Db::<u64>::open_with("mem", options(&mem, sync)).unwrap();
        run_until_error(&db, seed, sync);
        mem.write_ops()
    };
    let mut cases = 0;
    let mut failures = 0;
    for n in 0..=total {
        for &mode in modes {
            let mem = MemStorage::new();
            mem.set_tear_failing_append(tear_failing_append);
            mem.fail_after(n);
            let (acked, durable) = match Db::<u64>::open_with("mem", options(&mem, sync)) {
                Ok(db) => {
                    let (acked, durable, failed) = run_until_error(&db, seed, sync);
                    // Reads show the acknowledged writes, plus the failed op only if it
                    // took effect anyway (an import whose cleanup failed after its rename).
                    let visible = contents(&db);
                    let in_flight = (acked + 1).min(states.len() - 1);
                    assert!(
                        visible == states[acked] || visible == states[in_flight],
                        "fault at write {n}: reads after the failure show neither {acked} nor {in_flight} ops"
                    );
                    // A fault that hits a background flush or merge after the last
                    // operation fails no operation; every earlier one fails one.
                    failures += usize::from(failed);
                    (acked, durable)
                }
                Err(e) => {
                    assert!(matches!(e, Error::Io { .. }), "open failed with {e}");
                    failures += 1;
                    (0, 0)
                }
            };
            mem.crash(mode);
            let db = Db::<u64>::open_with("mem", options(&mem, sync))
                .unwrap_or_else(|e| panic!("reopen after fault at write {n}, {mode:?}: {e}"));
            let got = contents(&db);
            let lo = if mode == CrashMode::KeepUnsynced {
                acked
            } else {
                durable
            };
            let hi = (acked + 1).min(states.len() - 1);
            assert!(
                matching_state(&got, &states[..=hi], lo).is_some(),
                "fault at write {n}, {mode:?}: state matches no op count in {lo}..={hi} (acked {acked})"
            );
            // Verify as the lock holder would: with no database open (its merges could
            // replace runs under the check).
            drop(db);
            let report = omendb::verify_storage(&mem).unwrap();
            assert_eq!(report.entries, got.len());
            cases += 1;
        }
    }
    println!("{sync:?}: swept faults at each of {total} writes, {cases} cases, {failures} failed an operation");
    assert!(
        failures * 10 >= cases * 8,
        "{failures} of {cases} faults failed an operation"
    );
    cases
}

#[test]
fn io_error_then_crash_at_every_write_sync_always() {
    let modes = [
        CrashMode::DropUnsynced,
        CrashMode::KeepUnsynced,
        CrashMode::TearLast(9),
        CrashMode::TearLast(31),
    ];
    let cases = fault_sweep(SyncMode::Always, &modes, false);
    assert!(cases > 400, "{cases}");
}

#[test]
fn torn_failing_appends_then_crash() {
    let cases = fault_sweep(
        SyncMode::Always,
        &[CrashMode::KeepUnsynced, CrashMode::TearLast(3)],
        true,
    );
    assert!(cases > 200, "{cases}");
}

#[test]
fn relaxed_mode_loses_only_a_suffix() {
    let modes = [
        CrashMode::DropUnsynced,
        CrashMode::KeepUnsynced,
        CrashMode::TearLast(17),
    ];
    fault_sweep(SyncMode::Relaxed, &modes, false);
}

/// A database with a run holding entries and a log holding more records.
/// Bytes held by all files of `mem`.
fn used_bytes(mem: &MemStorage) -> u64 {
    mem.names()
        .iter()
        .filter_map(|n| mem.file(n))
        .map(|f| f.len() as u64)
        .sum()
}

/// A full disk at every capacity from almost nothing to more than a run needs: the write
/// that finds the disk full fails with `DiskFull` (or `WritesDisabled` naming it, when a
/// background flush or merge found it first), reads keep serving every acknowledged
/// write, and once there is room again the database reopens with all of them.
#[test]
fn full_disk_is_a_typed_error_and_loses_nothing() {
    const DISK_OPS: u64 = 150;
    let seed = 23;
    let states = history(seed, DISK_OPS, KEYS);
    let options = |mem: &MemStorage| Options {
        level_base_bytes: 16 << 10,
        log_preallocate_bytes: 4 << 10,
        ..options(mem, SyncMode::Relaxed)
    };
    let run = |db: &Db<u64>| -> (usize, Option<Error>) {
        for i in 0..DISK_OPS {
            if let Err(e) = apply_db(db, &op(seed, i, KEYS)) {
                return (i as usize, Some(e));
            }
        }
        (DISK_OPS as usize, None)
    };
    let needed = {
        let mem = MemStorage::new();
        let db = Db::<u64>::open_with("mem", options(&mem)).unwrap();
        assert!(run(&db).1.is_none());
        db.close().unwrap();
        used_bytes(&mem)
    };
    let (mut full, mut cases) = (0, 0);
    for capacity in (0..=needed + needed / 4).step_by((needed / 60).max(1) as usize) {
        let mem = MemStorage::new();
        mem.set_capacity(Some(capacity));
        let acked = match Db::<u64>::open_with("mem", options(&mem)) {
            Err(e) => {
                assert!(matches!(e, Error::DiskFull { .. }), "open failed with {e}");
                0
            }
            Ok(db) => {
                let (acked, err) = run(&db);
                if let Some(e) = &err {
                    let named = matches!(e, Error::DiskFull { .. })
                        || matches!(e, Error::WritesDisabled(m) if m.contains("disk full"));
                    assert!(named, "capacity {capacity}: op {acked} failed with {e}");
                    assert!(matches!(db.put(1, b"x"), Err(Error::WritesDisabled(_))));
                    full += 1;
                }
                // An import may take effect although its cleanup failed afterwards.
                let visible = contents(&db);
                let in_flight = (acked + 1).min(states.len() - 1);
                assert!(
                    visible == states[acked] || visible == states[in_flight],
                    "capacity {capacity}: reads show neither {acked} nor {in_flight} ops"
                );
                drop(db);
                // Still full: opening either works, with the same data, or says so.
                match Db::<u64>::open_with("mem", options(&mem)) {
                    Ok(db) => assert!(
                        matching_state(&contents(&db), &states[..=in_flight], acked).is_some()
                    ),
                    Err(e) => assert!(
                        matches!(e, Error::DiskFull { .. }),
                        "reopen failed with {e}"
                    ),
                }
                acked
            }
        };
        mem.set_capacity(None);
        let db = Db::<u64>::open_with("mem", options(&mem))
            .unwrap_or_else(|e| panic!("capacity {capacity}: reopen with room failed: {e}"));
        let in_flight = (acked + 1).min(states.len() - 1);
        assert!(
            matching_state(&contents(&db), &states[..=in_flight], acked).is_some(),
            "capacity {capacity}: after freeing space the data matches neither {acked} nor {in_flight} ops"
        );
        // With room, writing goes on.
        db.put(KEYS + 1, b"after").unwrap();
        drop(db);
        omendb::verify_storage(&mem).unwrap();
        cases += 1;
    }
    println!("full disk: {cases} capacities up to {needed} bytes, {full} ran out of space");
    assert!(
        full * 4 >= cases * 3,
        "only {full} of {cases} capacities ran out of space"
    );
}

fn populated() -> (MemStorage, common::Model) {
    let mem = MemStorage::new();
    let opts = Options {
        auto_checkpoint_log_bytes: None,
        // The log ends at its last record: every byte of it is flipped and cut below.
        log_preallocate_bytes: 0,
        ..options(&mem, SyncMode::Always)
    };
    let db = Db::<u64>::open_with("mem", opts).unwrap();
    for k in 0..30u64 {
        db.put(k, vec![k as u8; (k % 5) as usize]).unwrap();
    }
    db.checkpoint().unwrap();
    for k in 20..40u64 {
        db.put(k, vec![1u8; 3]).unwrap();
    }
    db.delete(3).unwrap();
    let model = contents(&db);
    drop(db);
    (mem, model)
}

fn reopen(mem: &MemStorage) -> omendb::Result<Db<u64>> {
    let opts = Options {
        auto_checkpoint_log_bytes: None,
        log_preallocate_bytes: 0,
        ..options(mem, SyncMode::Always)
    };
    Db::<u64>::open_with("mem", opts)
}

#[test]
fn every_flipped_bit_in_every_file_is_a_corruption_error() {
    let (base, model) = populated();
    let files: Vec<String> = base.names().into_iter().filter(|n| n != "LOCK").collect();
    assert_eq!(files.len(), 3, "{files:?}");
    let mut cases = 0;
    for name in &files {
        let bytes = base.file(name).unwrap();
        for offset in 0..bytes.len() as u64 {
            for mask in [0x01u8, 0x80] {
                let (mem, _) = populated();
                assert!(mem.flip(name, offset, mask));
                // The manifest, a run's header and index section, and the logs are checked
                // on open; a run's blocks when first read.
                let outcome = reopen(&mem).and_then(|db| db.iter().map(|_| db));
                match outcome {
                    Err(Error::Corrupted { file, .. }) => assert_eq!(&file, name),
                    Err(e) => panic!("{name}@{offset}: unexpected error {e}"),
                    Ok(db) => panic!(
                        "{name}@{offset}: flip went unnoticed ({} entries, model {})",
                        db.len().unwrap(),
                        model.len()
                    ),
                }
                assert!(matches!(
                    omendb::verify_storage(&mem),
                    Err(Error::Corrupted { .. })
                ));
                cases += 1;
            }
        }
    }
    println!("{cases} flipped bits, each a Corrupted error");
    assert!(cases > 1000, "{cases}");
}

#[test]
fn truncated_log_drops_a_suffix_and_truncated_run_or_manifest_is_an_error() {
    let (base, model) = populated();
    let log = base
        .names()
        .into_iter()
        .find(|n| n.starts_with("log-"))
        .unwrap();
    let log_bytes = base.file(&log).unwrap();
    let run = base
        .names()
        .into_iter()
        .find(|n| n.starts_with("run-"))
        .unwrap();
    let mut last_len = 0;
    for len in 0..=log_bytes.len() {
        let (mem, _) = populated();
        mem.set_file(&log, log_bytes[..len].to_vec());
        let db = reopen(&mem).unwrap_or_else(|e| panic!("log cut at {len}: {e}"));
        let got = contents(&db);
        // Each record is one put/delete; the state is the model minus a suffix of them.
        assert!(got.len() <= model.len() + 1);
        if len == log_bytes.len() {
            assert_eq!(got, model);
        }
        last_len = got.len();
        // After reopening, the torn tail is cut and new writes land cleanly.
        db.put(1000, b"new").unwrap();
        drop(db);
        let db = reopen(&mem).unwrap();
        assert_eq!(db.get(1000).unwrap(), Some(b"new".to_vec()));
    }
    assert_eq!(last_len, model.len());
    for name in [run.as_str(), "MANIFEST"] {
        let bytes = base.file(name).unwrap();
        for len in 0..bytes.len() {
            let (mem, _) = populated();
            mem.set_file(name, bytes[..len].to_vec());
            assert!(
                matches!(reopen(&mem), Err(Error::Corrupted { .. })),
                "{name} cut at {len}"
            );
        }
    }
}

#[test]
fn zero_filled_tail_is_torn_but_garbage_after_a_record_is_corruption() {
    let (mem, model) = populated();
    let log = mem
        .names()
        .into_iter()
        .find(|n| n.starts_with("log-"))
        .unwrap();
    let mut bytes = mem.file(&log).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]);
    mem.set_file(&log, bytes.clone());
    assert_eq!(contents(&reopen(&mem).unwrap()), model);

    let (mem, _) = populated();
    let mut bytes = mem.file(&log).unwrap();
    bytes.extend_from_slice(&[0u8; 30]);
    bytes.push(1);
    mem.set_file(&log, bytes);
    match reopen(&mem) {
        Err(Error::Corrupted { file, offset, .. }) => {
            assert_eq!(file, log);
            assert_eq!(offset, mem.file(&log).unwrap().len() as u64 - 31);
        }
        other => panic!("{other:?}"),
    }
}

/// A process killed while writing a record that spans pages leaves the record's first
/// pages and zeros after (the log is preallocated): the newest log's torn tail, dropped.
/// Zeros that do not run from a page boundary to the end, or a flipped byte, are damage.
#[test]
fn a_record_cut_at_a_page_boundary_is_a_torn_tail() {
    let write = || {
        let mem = MemStorage::new();
        let opts = Options {
            auto_checkpoint_log_bytes: None,
            ..options(&mem, SyncMode::Always)
        };
        let db = Db::<u64>::open_with("mem", opts).unwrap();
        db.put(1, b"kept").unwrap();
        db.put(2, vec![7u8; 10_000]).unwrap();
        drop(db);
        let log = mem
            .names()
            .into_iter()
            .filter(|n| n.starts_with("log-"))
            .max()
            .unwrap();
        let bytes = mem.file(&log).unwrap();
        let value_at = bytes
            .windows(64)
            .position(|w| w.iter().all(|&b| b == 7))
            .unwrap();
        (mem, log, bytes, value_at)
    };
    // Cut at the first page boundary inside the value: zeros from there on.
    let (mem, log, mut bytes, value_at) = write();
    let boundary = (value_at / 4096 + 1) * 4096;
    assert!(boundary < value_at + 10_000);
    bytes[boundary..].fill(0);
    mem.set_file(&log, bytes);
    let db = reopen(&mem).unwrap();
    assert_eq!(db.get(1).unwrap().as_deref(), Some(&b"kept"[..]));
    assert_eq!(db.get(2).unwrap(), None);
    db.put(3, b"after").unwrap();
    drop(db);
    assert_eq!(contents(&reopen(&mem).unwrap()).len(), 2);

    // Zeros inside the record but its last byte written: not a cut write, damage.
    let (mem, log, mut bytes, value_at) = write();
    let end = value_at + 10_000;
    let inside = (value_at / 4096 + 1) * 4096 + 100;
    bytes[inside..end - 1].fill(0);
    mem.set_file(&log, bytes);
    assert!(matches!(reopen(&mem), Err(Error::Corrupted { .. })));

    // A flipped byte in the whole record: damage.
    let (mem, log, mut bytes, value_at) = write();
    bytes[value_at + 5000] ^= 0x40;
    mem.set_file(&log, bytes);
    assert!(matches!(reopen(&mem), Err(Error::Corrupted { .. })));
}

/// A real full disk: a 4 MiB tmpfs (needs root to mount; run with `--ignored`). Puts run
/// until the file system is full; the failing put is `DiskFull`, and after the file
/// system grows the database reopens with every acknowledged put and takes writes again.
#[test]
#[ignore = "mounts a tmpfs: needs root"]
fn full_tmpfs_is_a_disk_full_error_and_loses_nothing() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let mount = |opts: &str| {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -o {opts} failed");
    };
    mount("size=4m");
    let path = dir.path().join("db");
    let value = vec![7u8; 1000];
    let opts = || Options {
        sync: SyncMode::Always,
        auto_checkpoint_log_bytes: Some(512 << 10),
        ..Options::default()
    };
    let db = Db::<u64>::open_with(&path, opts()).unwrap();
    let mut acked = 0u64;
    let err = loop {
        match db.put(acked, &value) {
            Ok(()) => acked += 1,
            Err(e) => break e,
        }
        assert!(acked < 10_000, "4 MiB never filled up");
    };
    let named = matches!(err, Error::DiskFull { .. })
        || matches!(&err, Error::WritesDisabled(m) if m.contains("disk full"));
    assert!(named, "put {acked} failed with {err}");
    assert_eq!(db.get(acked - 1).unwrap().as_deref(), Some(&value[..]));
    drop(db);
    mount("remount,size=64m");
    let db = Db::<u64>::open_with(&path, opts()).unwrap();
    let keys: Vec<u64> = db.iter().unwrap().into_iter().map(|(k, _)| k).collect();
    // Every acknowledged put, and at most the one that failed.
    assert!(keys.len() as u64 == acked || keys.len() as u64 == acked + 1);
    assert!(keys.iter().enumerate().all(|(i, &k)| k == i as u64));
    db.put(u64::MAX, b"room again").unwrap();
    db.close().unwrap();
    println!("tmpfs of 4 MiB filled after {acked} puts of 1000 bytes: {err}");
    let _ = Command::new("umount").arg(dir.path()).status();
}
