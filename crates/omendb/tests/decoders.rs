//! The log, snapshot, run and manifest decoders on arbitrary and mutated bytes: they return a value or a
//! typed error, never panic. These are also the fuzz targets' bodies (`omendb::fuzz`).

use omendb::fuzz::{decode_manifest, decode_run, decode_snapshot, decode_wal};
use omendb::storage::{MemStorage, Storage};
use omendb::wal::format::{LogHeader, RecordHeader};
use omendb::{Db, Error, KeyType, Options};
use proptest::prelude::*;
use std::sync::Arc;

/// Valid files of a u64 database: the newest log, a snapshot of the first engine's format
/// holding the same entries as the run, the run, and the manifest.
struct Files {
    log: Vec<u8>,
    snap: Vec<u8>,
    run: Vec<u8>,
    manifest: Vec<u8>,
}

fn valid_files() -> Files {
    let mem = MemStorage::new();
    let opts = Options {
        storage: Some(Arc::new(mem.clone()) as Arc<dyn Storage>),
        auto_checkpoint_log_bytes: None,
        // Logs end at their last record, so truncation and mutation tests stay small.
        log_preallocate_bytes: 0,
        ..Options::default()
    };
    let db = Db::<u64>::open_with("mem", opts).unwrap();
    for k in 0..40u64 {
        db.put(k * 3, vec![k as u8; (k % 9) as usize]).unwrap();
    }
    db.checkpoint().unwrap();
    let contents = db.iter().unwrap();
    for k in 0..10u64 {
        db.put(k, b"log").unwrap();
        db.delete(k * 3 + 1).unwrap();
    }
    drop(db);
    let names = mem.names();
    let log = names.iter().find(|n| n.starts_with("log-")).unwrap();
    let run = names.iter().find(|n| n.starts_with("run-")).unwrap();
    let old = MemStorage::new();
    omendb::snapshot::write_snapshot(
        &old,
        KeyType::U64,
        0,
        1,
        contents.iter().map(|(k, v)| (*k, v.as_slice())),
    )
    .unwrap();
    Files {
        log: mem.file(log).unwrap(),
        snap: old.file("SNAPSHOT").unwrap(),
        run: mem.file(run).unwrap(),
        manifest: mem.file("MANIFEST").unwrap(),
    }
}

fn is_typed(e: &Error) -> bool {
    matches!(
        e,
        Error::Corrupted { .. } | Error::KeyTypeMismatch { .. } | Error::UnsupportedVersion { .. }
    )
}

#[test]
fn valid_files_decode() {
    let f = valid_files();
    assert_eq!(decode_wal(&f.log).unwrap(), 20);
    assert_eq!(decode_snapshot(&f.snap).unwrap(), 40);
    assert_eq!(decode_run(&f.run).unwrap(), 40);
    assert_eq!(decode_manifest(&f.manifest).unwrap(), 1);
}

#[test]
fn every_truncation_of_snapshot_run_and_manifest_is_corrupted_and_of_the_log_a_prefix() {
    let Files {
        log,
        snap,
        run,
        manifest,
    } = valid_files();
    for (what, file, decode) in [
        (
            "snapshot",
            &snap,
            decode_snapshot as fn(&[u8]) -> omendb::Result<u64>,
        ),
        ("run", &run, decode_run),
        ("manifest", &manifest, decode_manifest),
    ] {
        for len in 0..file.len() {
            let err = decode(&file[..len]).unwrap_err();
            assert!(
                matches!(err, Error::Corrupted { .. }),
                "{what} cut at {len}: {err}"
            );
        }
    }
    let mut previous = 0;
    for len in 0..=log.len() {
        let ops = decode_wal(&log[..len]).unwrap();
        assert!(ops >= previous, "a longer prefix never replays less");
        previous = ops;
    }
    assert_eq!(previous, 20);
}

/// A log holding one record with `payload`, its checksums correct.
fn log_with_payload(payload: &[u8]) -> Vec<u8> {
    let mut bytes = LogHeader {
        key_type: KeyType::U64,
        log_number: 1,
        start_seq: 0,
    }
    .encode()
    .to_vec();
    let header = RecordHeader {
        payload_len: payload.len() as u32,
        seq: 0,
        payload_crc: crc32c::crc32c(payload),
    };
    bytes.extend_from_slice(&header.encode());
    bytes.extend_from_slice(payload);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Err(e) = decode_wal(&bytes) {
            prop_assert!(is_typed(&e), "{e}");
        }
        if let Err(e) = decode_snapshot(&bytes) {
            prop_assert!(is_typed(&e), "{e}");
        }
        if let Err(e) = decode_run(&bytes) {
            prop_assert!(is_typed(&e), "{e}");
        }
        if let Err(e) = decode_manifest(&bytes) {
            prop_assert!(is_typed(&e), "{e}");
        }
    }

    #[test]
    fn checksummed_random_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let bytes = log_with_payload(&payload);
        if let Err(e) = decode_wal(&bytes) {
            prop_assert!(matches!(e, Error::Corrupted { .. }), "{e}");
        }
    }

    #[test]
    fn mutated_valid_files_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let Files { mut log, mut snap, mut run, mut manifest } = valid_files();
        for (at, byte) in &edits {
            for file in [&mut log, &mut snap, &mut run, &mut manifest] {
                let i = at % file.len();
                file[i] = *byte;
            }
        }
        log.truncate(log.len() - cut % 64);
        if let Err(e) = decode_wal(&log) {
            prop_assert!(is_typed(&e), "{e}");
        }
        for (file, decode) in [
            (&snap, decode_snapshot as fn(&[u8]) -> omendb::Result<u64>),
            (&run, decode_run),
            (&manifest, decode_manifest),
        ] {
            if let Err(e) = decode(file) {
                prop_assert!(is_typed(&e), "{e}");
            }
        }
    }
}

/// A log starting at sequence `start_seq` with one well-formed, correctly checksummed
/// record holding one batch (`delete 7`).
fn one_batch_log(start_seq: u64) -> Vec<u8> {
    use omendb::wal::format::encode_payload;
    let mut bytes = LogHeader {
        key_type: KeyType::U64,
        log_number: 1,
        start_seq,
    }
    .encode()
    .to_vec();
    let batch = [omendb::BatchOp::Delete(7u64)];
    let mut payload = Vec::new();
    encode_payload([&batch[..]].into_iter(), &mut payload);
    let header = RecordHeader {
        payload_len: payload.len() as u32,
        seq: start_seq,
        payload_crc: crc32c::crc32c(&payload),
    };
    bytes.extend_from_slice(&header.encode());
    bytes.extend_from_slice(&payload);
    bytes
}

/// Found by the stable fuzz smoke test: a valid record whose batches carry the sequence
/// number past u64::MAX overflowed `end_seq` (a panic with overflow checks, a wrap to 0
/// without). It is corruption, reported at the record. The same bytes are kept in
/// fuzz/regressions/wal_decode/end-seq-overflow-valid-checksums.
#[test]
fn sequence_overflow_is_corruption() {
    assert_eq!(decode_wal(&one_batch_log(u64::MAX - 1)).unwrap(), 1);
    match decode_wal(&one_batch_log(u64::MAX)) {
        Err(Error::Corrupted { offset, reason, .. }) => {
            assert_eq!(offset, 40);
            assert!(reason.contains("overflow"), "{reason}");
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }
}
