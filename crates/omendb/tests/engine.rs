//! The storage engine against a `BTreeMap`: tiny memtables and levels so that flushes and
//! merges run all the time, reopens in between, snapshots that must not move, scans whose
//! callbacks write, tombstones dropped by the last merge, chunked imports, and databases
//! of the first engine's format converted on open.

mod common;

use common::{Model, Rng};
use omendb::storage::{MemStorage, Storage};
use omendb::wal::format::LogHeader;
use omendb::wal::writer::LogWriter;
use omendb::{BatchOp, Db, KeyType, MergePolicy, Options, SyncMode, WriteBatch};
use std::collections::BTreeMap;
use std::sync::Arc;

fn tiny(mem: &MemStorage) -> Options {
    Options {
        storage: Some(Arc::new(mem.clone()) as Arc<dyn Storage>),
        sync: SyncMode::Relaxed,
        auto_checkpoint_log_bytes: Some(2 << 10),
        level_base_bytes: 8 << 10,
        import_chunk_bytes: 1 << 10,
        ..Options::default()
    }
}

fn value(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(20) {
        0 => 5000,
        1 => 0,
        _ => rng.below(24) as usize,
    };
    (0..len).map(|_| rng.next() as u8).collect()
}

fn check_equal(db: &Db<u64>, model: &Model, rng: &mut Rng) {
    let got: Model = db.iter().unwrap().into_iter().collect();
    assert_eq!(&got, model);
    assert_eq!(db.len().unwrap(), model.len());
    // Batched gets, unsorted, with repeats and absent keys, past the prefetch distance.
    let keys: Vec<u64> = (0..rng.below(100)).map(|_| rng.below(3100)).collect();
    let want: Vec<Option<Vec<u8>>> = keys.iter().map(|k| model.get(k).cloned()).collect();
    assert_eq!(db.get_many(&keys).unwrap(), want, "get_many {keys:?}");
    for _ in 0..200 {
        let k = rng.below(3000);
        assert_eq!(db.get(k).unwrap().as_ref(), model.get(&k), "get {k}");
        let lo = rng.below(3000);
        let hi = lo + rng.below(200);
        let want: Vec<(u64, Vec<u8>)> = model.range(lo..hi).map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(db.range(lo..hi).unwrap(), want, "range {lo}..{hi}");
    }
}

#[test]
fn differential_with_flushes_merges_and_reopens() {
    differential(|_| MergePolicy::Leveled);
}

#[test]
fn differential_tiered() {
    differential(|_| MergePolicy::Tiered);
}

/// Each reopen switches the policy: a leveled database must cope with the several runs
/// per level that the tiered one leaves.
#[test]
fn differential_switching_policies_on_reopen() {
    differential(|reopens| {
        if reopens % 2 == 0 {
            MergePolicy::Tiered
        } else {
            MergePolicy::Leveled
        }
    });
}

fn differential(policy: impl Fn(u64) -> MergePolicy) {
    let mem = MemStorage::new();
    let mut model = Model::new();
    let mut rng = Rng::new(7);
    let mut reopens = 0;
    let open = |reopens: u64| {
        let opts = Options {
            merge_policy: policy(reopens),
            ..tiny(&mem)
        };
        Db::<u64>::open_with("mem", opts).unwrap()
    };
    let mut db = open(reopens);
    let mut most_in_a_level = 0;
    let (mut flushed, mut merged) = (false, false);
    for step in 0..12_000u64 {
        match rng.below(100) {
            0..=54 => {
                let (k, v) = (rng.below(3000), value(&mut rng));
                db.put(k, &v).unwrap();
                model.insert(k, v);
            }
            55..=79 => {
                let k = rng.below(3000);
                db.delete(k).unwrap();
                model.remove(&k);
            }
            80..=94 => {
                let mut batch = WriteBatch::new();
                for _ in 0..1 + rng.below(8) {
                    let k = rng.below(3000);
                    if rng.below(3) == 0 {
                        batch.delete(k);
                        model.remove(&k);
                    } else {
                        let v = value(&mut rng);
                        batch.put(k, &v);
                        model.insert(k, v);
                    }
                }
                db.write(batch).unwrap();
            }
            95..=97 => {
                let entries: Vec<(u64, Vec<u8>)> = (0..rng.below(300))
                    .map(|_| (rng.below(3000), value(&mut rng)))
                    .collect();
                for (k, v) in &entries {
                    model.insert(*k, v.clone());
                }
                db.import(entries).unwrap();
            }
            _ => {
                drop(db);
                reopens += 1;
                db = open(reopens);
            }
        }
        if step % 1500 == 0 {
            check_equal(&db, &model, &mut rng);
        }
        if step % 100 == 0 {
            let stats = db.stats().unwrap();
            // Counted since the last open: remember any flush and merge seen.
            flushed |= stats.bytes_flushed > 0;
            merged |= stats.bytes_merged > 0;
            let runs = stats.runs;
            for level in 1..8 {
                let n = runs.iter().filter(|r| r.level == level).count();
                most_in_a_level = most_in_a_level.max(n);
            }
        }
    }
    // Below level 0, the leveled policy keeps one run a level (it may briefly see more
    // after a tiered reopen); the tiered one gathers several.
    if policy(0) == MergePolicy::Tiered && policy(1) == MergePolicy::Tiered {
        assert!(most_in_a_level > 1, "no tier ever held two runs");
    } else if policy(0) == MergePolicy::Leveled && policy(1) == MergePolicy::Leveled {
        assert_eq!(most_in_a_level, 1);
    }
    check_equal(&db, &model, &mut rng);
    let stats = db.stats().unwrap();
    assert!(
        (flushed || stats.bytes_flushed > 0) && (merged || stats.bytes_merged > 0),
        "no flush or no merge during the run: {stats:?}"
    );
    db.compact().unwrap();
    let stats = db.stats().unwrap();
    assert_eq!(stats.runs.len(), 1, "{:?}", stats.runs);
    assert_eq!(stats.runs[0].tombstones, 0);
    assert_eq!(stats.runs[0].entries as usize, model.len());
    check_equal(&db, &model, &mut rng);
    drop(db);
    let report = omendb::verify_storage(&mem).unwrap();
    assert_eq!(report.entries, model.len());
    assert_eq!(report.orphan_runs, 0);
}

#[test]
fn a_snapshot_does_not_move_while_writers_flush_and_merge() {
    let mem = MemStorage::new();
    let db = Db::<u64>::open_with("mem", tiny(&mem)).unwrap();
    for k in 0..500u64 {
        db.put(k, k.to_le_bytes()).unwrap();
    }
    let snap = db.snapshot();
    let before = snap.range(..).unwrap();
    for k in 0..500u64 {
        db.put(k, b"new").unwrap();
        if k % 3 == 0 {
            db.delete(k).unwrap();
        }
    }
    db.compact().unwrap();
    assert_eq!(snap.range(..).unwrap(), before);
    assert_eq!(snap.get(3).unwrap(), Some(3u64.to_le_bytes().to_vec()));
    assert_eq!(snap.len().unwrap(), 500);
    assert_eq!(db.get(3).unwrap(), None);
    assert_eq!(db.get(4).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.len().unwrap(), 500 - 167);
}

#[test]
fn a_scan_callback_may_write_to_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::<u64>::open(dir.path()).unwrap();
    for k in 0..100u64 {
        db.put(k, b"a").unwrap();
    }
    let mut seen = 0;
    db.scan(.., |k, v| {
        assert_eq!(v, b"a", "the scan reads its snapshot");
        db.put(k + 1, b"b").unwrap();
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, 100);
    assert_eq!(db.get(50).unwrap(), Some(b"b".to_vec()));
    assert_eq!(db.len().unwrap(), 101);
}

#[test]
fn the_last_merge_drops_tombstones() {
    let mem = MemStorage::new();
    let db = Db::<u64>::open_with("mem", tiny(&mem)).unwrap();
    for k in 0..2000u64 {
        db.put(k, [7u8; 16]).unwrap();
    }
    for k in (0..2000u64).step_by(2) {
        db.delete(k).unwrap();
    }
    db.compact().unwrap();
    let stats = db.stats().unwrap();
    assert_eq!(stats.runs.len(), 1);
    assert_eq!(stats.runs[0].entries, 1000);
    assert_eq!(stats.runs[0].tombstones, 0);
    assert_eq!(stats.entries, 1000);
    assert!(stats.write_amplification().unwrap() > 1.0);
}

#[test]
fn unsorted_imports_go_through_sorted_chunks_and_later_duplicates_win() {
    let mem = MemStorage::new();
    let db = Db::<i64>::open_with("mem", tiny(&mem)).unwrap();
    let mut rng = Rng::new(3);
    let mut model = BTreeMap::new();
    let entries: Vec<(i64, Vec<u8>)> = (0..5000)
        .map(|i| {
            let k = rng.below(4000) as i64 - 2000;
            let v = (i as u32).to_le_bytes().to_vec();
            model.insert(k, v.clone());
            (k, v)
        })
        .collect();
    assert_eq!(db.import(entries).unwrap(), 5000);
    let got: BTreeMap<i64, Vec<u8>> = db.iter().unwrap().into_iter().collect();
    assert_eq!(got, model);
    // A failing source makes nothing visible and leaves no file behind.
    let names = mem.names();
    let failing = (0..100).map(|i| {
        if i == 50 {
            Err(omendb::Error::BadInput("line 50".into()))
        } else {
            Ok((10_000 + i, vec![1u8]))
        }
    });
    assert!(matches!(
        db.try_import(failing),
        Err(omendb::Error::BadInput(_))
    ));
    assert_eq!(db.get(10_001).unwrap(), None);
    db.put(1, b"writes still work").unwrap();
    assert!(mem.names().len() <= names.len() + 1, "{:?}", mem.names());
}

#[test]
fn a_database_of_the_first_engine_is_converted_on_open() {
    let mem = MemStorage::new();
    let entries: Vec<(u64, Vec<u8>)> = (0..300u64).map(|k| (k * 5, vec![k as u8; 3])).collect();
    // What the first engine left: a snapshot naming log 4, and log 4 with one batch.
    omendb::snapshot::write_snapshot(
        &mem,
        KeyType::U64,
        9,
        4,
        entries.iter().map(|(k, v)| (*k, v.as_slice())),
    )
    .unwrap();
    let mut log = LogWriter::create(
        &mem,
        LogHeader {
            key_type: KeyType::U64,
            log_number: 4,
            start_seq: 9,
        },
    )
    .unwrap();
    let ops = [BatchOp::Put(1u64, b"one".to_vec()), BatchOp::Delete(0u64)];
    log.append([&ops[..]].into_iter()).unwrap();
    log.sync().unwrap();
    drop(log);
    let opts = Options {
        storage: Some(Arc::new(mem.clone()) as Arc<dyn Storage>),
        ..Options::default()
    };
    let db = Db::<u64>::open_with("mem", opts).unwrap();
    let mut want: BTreeMap<u64, Vec<u8>> = entries.into_iter().collect();
    want.insert(1, b"one".to_vec());
    want.remove(&0);
    let got: BTreeMap<u64, Vec<u8>> = db.iter().unwrap().into_iter().collect();
    assert_eq!(got, want);
    drop(db);
    let names = mem.names();
    assert!(!names.iter().any(|n| n == "SNAPSHOT"), "{names:?}");
    assert!(names.iter().any(|n| n == "MANIFEST"), "{names:?}");
}

/// Regression: `Db::compact` planned its merge before taking the merge lock, so a
/// background merge finishing in between left it naming runs no longer open ("merge input
/// not open"), and a background merge planned beside a compaction could fail the same way
/// and disable writes. `a_snapshot_does_not_move_while_writers_flush_and_merge` hit it in
/// about one run of four; this test drives compactions against a writer to exercise the
/// same interleaving (it did not reproduce the failure on its own in three runs).
#[test]
fn compactions_and_background_merges_never_plan_on_stale_runs() {
    let mem = MemStorage::new();
    let db = Arc::new(Db::<u64>::open_with("mem", tiny(&mem)).unwrap());
    // A writer keeps flushes and background merges going while compactions run.
    let writer = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            let mut model = Model::new();
            for i in 0..20_000u64 {
                let key = (i * 7919) % 1500;
                db.put(key, i.to_le_bytes()).unwrap();
                model.insert(key, i.to_le_bytes().to_vec());
            }
            model
        })
    };
    for _ in 0..40 {
        db.compact().unwrap();
    }
    let model = writer.join().unwrap();
    let got: Model = db.iter().unwrap().into_iter().collect();
    assert_eq!(got, model);
    db.put(1, b"still writable").unwrap();
}
