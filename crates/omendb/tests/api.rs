//! The public API on the real file system: reads, writes, batches, reopen, checkpoint,
//! import, locking and typed errors.

use omendb::{Db, Error, Options, SyncMode, WriteBatch};
use std::collections::BTreeMap;

fn no_auto() -> Options {
    Options {
        auto_checkpoint_log_bytes: None,
        ..Options::default()
    }
}

#[test]
fn writes_survive_reopen_with_and_without_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    {
        let db = Db::<u64>::open_with(dir.path(), no_auto()).unwrap();
        for i in 0..500u64 {
            let key = i * 7919 % 1000;
            db.put(key, format!("v{i}")).unwrap();
            model.insert(key, format!("v{i}").into_bytes());
        }
        let victim = *model.keys().find(|k| **k >= 100).unwrap();
        db.delete(victim).unwrap();
        model.remove(&victim);
        assert_eq!(db.get(victim).unwrap(), None);
        db.checkpoint().unwrap();
        for i in 0..100u64 {
            db.put(i, b"after").unwrap();
            model.insert(i, b"after".to_vec());
        }
        db.close().unwrap();
    }
    let db = Db::<u64>::open(dir.path()).unwrap();
    let all: BTreeMap<u64, Vec<u8>> = db.iter().unwrap().into_iter().collect();
    assert_eq!(all, model);
    assert_eq!(db.len().unwrap(), model.len());
    assert_eq!(db.get(3).unwrap().as_deref(), Some(&b"after"[..]));
    let got = db.range(10..20).unwrap();
    let want: Vec<_> = model.range(10..20).map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(got, want);
    let (hi, lo) = (20u64, 10u64);
    assert!(
        db.range(hi..lo).unwrap().is_empty(),
        "a reversed range is empty, not a panic"
    );
}

#[test]
fn batches_apply_whole_and_later_ops_win() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::<i32>::open(dir.path()).unwrap();
    db.put(-5, b"old").unwrap();
    let mut batch = WriteBatch::new();
    batch
        .put(-5, b"a")
        .put(3, b"b")
        .delete(-5)
        .put(3, b"c")
        .put(i32::MIN, b"min");
    db.write(batch).unwrap();
    assert_eq!(db.get(-5).unwrap(), None);
    assert_eq!(db.get(3).unwrap(), Some(b"c".to_vec()));
    assert_eq!(db.iter().unwrap().first().map(|e| e.0), Some(i32::MIN));
    drop(db);
    let db = Db::<i32>::open(dir.path()).unwrap();
    assert_eq!(db.len().unwrap(), 2);
    assert_eq!(db.get(3).unwrap(), Some(b"c".to_vec()));
}

#[test]
fn nan_keys_and_wrong_key_types_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::<f64>::open(dir.path()).unwrap();
        assert!(matches!(db.put(f64::NAN, b"x"), Err(Error::InvalidKey(_))));
        assert!(matches!(db.get(f64::NAN), Err(Error::InvalidKey(_))));
        assert!(matches!(
            db.get_many(&[1.0, f64::NAN]),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(db.range(f64::NAN..), Err(Error::InvalidKey(_))));
        db.put(-0.0, b"neg zero").unwrap();
        db.put(f64::INFINITY, b"inf").unwrap();
        assert_eq!(db.len().unwrap(), 2);
    }
    let err = Db::<u64>::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::KeyTypeMismatch {
                stored: "f64",
                requested: "u64"
            }
        ),
        "{err}"
    );
    assert_eq!(
        omendb::key_type_at(dir.path()).unwrap(),
        omendb::KeyType::F64
    );
}

#[test]
fn second_open_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::<u64>::open(dir.path()).unwrap();
    assert!(matches!(Db::<u64>::open(dir.path()), Err(Error::Locked(_))));
    drop(db);
    Db::<u64>::open(dir.path()).unwrap();
}

#[test]
fn missing_and_existing_databases_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let opts = Options {
        create_if_missing: false,
        ..Options::default()
    };
    assert!(matches!(
        Db::<u64>::open_with(&path, opts),
        Err(Error::NotFound(_))
    ));
    drop(Db::<u64>::open(&path).unwrap());
    let opts = Options {
        error_if_exists: true,
        ..Options::default()
    };
    assert!(matches!(
        Db::<u64>::open_with(&path, opts),
        Err(Error::AlreadyExists(_))
    ));
}

#[test]
fn relaxed_mode_keeps_writes_after_flush_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncMode::Relaxed,
        ..no_auto()
    };
    {
        let db = Db::<u32>::open_with(dir.path(), opts.clone()).unwrap();
        for i in 0..1000u32 {
            db.put(i, i.to_le_bytes()).unwrap();
        }
        db.flush().unwrap();
        db.put(5000, b"last").unwrap();
        db.close().unwrap();
    }
    let db = Db::<u32>::open_with(dir.path(), opts).unwrap();
    assert_eq!(db.len().unwrap(), 1001);
    assert_eq!(db.get(999).unwrap(), Some(999u32.to_le_bytes().to_vec()));
}

#[test]
fn import_merges_all_at_once_and_later_duplicates_win() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::<u64>::open_with(dir.path(), no_auto()).unwrap();
        db.put(1, b"kept").unwrap();
        db.put(2, b"replaced").unwrap();
        let entries = vec![
            (5, b"e".to_vec()),
            (2, b"x".to_vec()),
            (3, b"c".to_vec()),
            (2, b"y".to_vec()),
        ];
        assert_eq!(db.import(entries).unwrap(), 4);
        db.put(9, b"after import").unwrap();
        assert_eq!(db.get(2).unwrap(), Some(b"y".to_vec()));
    }
    let db = Db::<u64>::open(dir.path()).unwrap();
    let keys: Vec<u64> = db.iter().unwrap().into_iter().map(|e| e.0).collect();
    assert_eq!(keys, vec![1, 2, 3, 5, 9]);
    assert_eq!(db.get(2).unwrap(), Some(b"y".to_vec()));
    assert!(matches!(
        db.import(vec![(4, vec![]), (u64::MAX, vec![1])]),
        Ok(2)
    ));
    assert_eq!(db.len().unwrap(), 7);
}

#[test]
fn checkpoint_writes_the_memtable_out_and_keeps_contents() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::<u64>::open_with(dir.path(), no_auto()).unwrap();
    for round in 0..4u8 {
        let mut batch = WriteBatch::new();
        for k in 0..2000u64 {
            batch.put(k, [round; 100]);
        }
        db.write(batch).unwrap();
    }
    let before = db.stats().unwrap();
    assert_eq!(before.memtable_keys, 2000);
    assert!(before.runs.is_empty());
    db.checkpoint().unwrap();
    let after = db.stats().unwrap();
    assert_eq!(after.memtable_keys, 0);
    assert_eq!(after.runs.len(), 1);
    assert_eq!(
        after.runs[0].entries, 2000,
        "only the newest version is written"
    );
    assert_eq!(db.get(1999).unwrap(), Some(vec![3u8; 100]));
    let big = vec![7u8; omendb::LARGE_VALUE * 2];
    db.put(1, &big).unwrap();
    db.checkpoint().unwrap();
    drop(db);
    let db = Db::<u64>::open(dir.path()).unwrap();
    assert_eq!(db.get(1).unwrap(), Some(big));
    assert_eq!(
        omendb::verify(dir.path()).map(|r| r.entries).ok(),
        None,
        "verify needs the lock"
    );
    drop(db);
    let report = omendb::verify(dir.path()).unwrap();
    assert_eq!(report.entries, 2000);
    assert_eq!(report.torn_tail, None);
    assert_eq!(
        report.log_records, 0,
        "a checkpoint leaves nothing to replay"
    );
}

#[test]
fn auto_checkpoint_rotates_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        auto_checkpoint_log_bytes: Some(64 << 10),
        sync: SyncMode::Relaxed,
        ..Options::default()
    };
    let db = Db::<u64>::open_with(dir.path(), opts).unwrap();
    for k in 0..3000u64 {
        db.put(k, [1u8; 40]).unwrap();
    }
    let stats = db.stats().unwrap();
    assert!(
        stats.log_number > 3,
        "log rotated {} times",
        stats.log_number - 1
    );
    assert!(stats.log_bytes < 64 << 10);
    drop(db);
    let db = Db::<u64>::open(dir.path()).unwrap();
    assert_eq!(db.len().unwrap(), 3000);
    db.checkpoint().unwrap();
    let logs = std::fs::read_dir(dir.path()).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("log-")
    });
    assert_eq!(logs.count(), 1, "old logs are deleted");
}

/// Heap bytes per entry held for data in runs, for 8-byte and 100-byte values (printed;
/// run with --nocapture).
#[test]
fn heap_bytes_per_entry_figures() {
    let n = 200_000u64;
    for value_len in [8usize, 100] {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::<u64>::open_with(
            dir.path(),
            Options {
                sync: SyncMode::Relaxed,
                ..no_auto()
            },
        )
        .unwrap();
        let entries: Vec<(u64, Vec<u8>)> =
            (0..n).map(|k| (k * 3, vec![k as u8; value_len])).collect();
        db.import(entries).unwrap();
        let stats = db.stats().unwrap();
        let per_entry = stats.heap_bytes_per_entry();
        println!(
            "value {value_len:>3} B: {per_entry:.2} heap B/entry over {n} entries in {} runs ({} file bytes)",
            stats.runs.len(),
            stats.run_file_bytes()
        );
        // Runs keep fences, offsets and the model in memory: far below 2 bytes per entry.
        assert!(per_entry < 2.0, "{per_entry}");
    }
}
