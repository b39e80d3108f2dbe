//! Stable-toolchain smoke run of the `wal_decode` and `snapshot_decode` fuzz targets'
//! bodies (`fuzz/common/decode_checks.rs`) on inputs from a fixed-seed PRNG: random bytes,
//! logs and snapshots built field by field with random contents, real files of small
//! databases mutated at random (bit flips, byte and field writes, truncation, insertion,
//! deletion, duplication, zeroed runs, splices), and every file of the fuzz corpora and
//! fixed-crash regressions (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`).
//!
//! Every input is decoded as given and with its checksums recomputed, and must give a
//! value or a typed error, never a panic. The nightly fuzzers themselves are run by hand;
//! see `fuzz/README.md`.

#[path = "../../../fuzz/common/decode_checks.rs"]
mod decode_checks;

use omendb::snapshot::SnapshotHeader;
use omendb::snapshot::{
    BH_BODY_CRC, BH_BODY_LEN, BH_ENTRY_COUNT, BH_HEADER_CRC, BLOCK_HEADER_LEN, SH_ENTRY_COUNT,
    SH_LOG_NUMBER, SH_NEXT_SEQ, SH_VALUE_BYTES, SNAP_HEADER_LEN,
};
use omendb::storage::{MemStorage, Storage};
use omendb::wal::format::{
    encode_payload, LogHeader, RecordHeader, LH_LOG_NUMBER, LH_START_SEQ, LOG_HEADER_LEN,
    RH_PAYLOAD_LEN, RH_SEQ,
};
use omendb::{BatchOp, Db, KeyType, Options, WriteBatch};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Inputs of each kind per decoder.
const CASES: u64 = 10_000;

/// splitmix64: tiny and seedable.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5EED_F0CC)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// A u32 field value that sits on a boundary of some check.
    fn interesting_u32(&mut self, len: usize) -> u32 {
        const VALUES: [u32; 12] = [
            0,
            1,
            2,
            12,
            20,
            u32::MAX,
            u32::MAX - 1,
            1 << 31,
            1 << 30,
            (1 << 30) + 1,
            64 << 20,
            (64 << 20) + 1,
        ];
        match self.below(4) {
            0 => len as u32,
            1 => self.next_u64() as u32,
            _ => VALUES[self.index(VALUES.len())],
        }
    }

    /// A u64 field value that sits on a boundary of some check.
    fn interesting_u64(&mut self, len: usize) -> u64 {
        const VALUES: [u64; 8] = [
            0,
            1,
            2,
            40,
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            u32::MAX as u64,
        ];
        match self.below(4) {
            0 => len as u64,
            1 => self.next_u64(),
            _ => VALUES[self.index(VALUES.len())],
        }
    }
}

/// The files of a database built by `fill`: its newest log, a snapshot in the first
/// engine's format of its contents, its runs and its manifest.
struct DbFiles {
    log: Vec<u8>,
    snap: Vec<u8>,
    runs: Vec<Vec<u8>>,
    manifest: Vec<u8>,
}

fn db_files<K: omendb::Key>(fill: impl FnOnce(&Db<K>)) -> DbFiles {
    let mem = MemStorage::new();
    let opts = Options {
        storage: Some(Arc::new(mem.clone()) as Arc<dyn Storage>),
        auto_checkpoint_log_bytes: None,
        // Logs end at their last record, so the mutations reach the records.
        log_preallocate_bytes: 0,
        ..Options::default()
    };
    let db = Db::<K>::open_with("mem", opts).unwrap();
    fill(&db);
    let contents = db.iter().unwrap();
    drop(db);
    let names = mem.names();
    let log = names
        .iter()
        .filter(|n| n.starts_with("log-"))
        .max()
        .expect("a log file");
    let old = MemStorage::new();
    omendb::snapshot::write_snapshot(
        &old,
        KeyType::of::<K>(),
        0,
        1,
        contents.iter().map(|(k, v)| (*k, v.as_slice())),
    )
    .unwrap();
    DbFiles {
        log: mem.file(log).unwrap(),
        snap: old.file("SNAPSHOT").expect("a snapshot"),
        runs: names
            .iter()
            .filter(|n| n.starts_with("run-"))
            .map(|n| mem.file(n).unwrap())
            .collect(),
        manifest: mem.file("MANIFEST").expect("a manifest"),
    }
}

/// Real files: small and multi-block snapshots, logs of single operations and of batches,
/// and the files of an i64 database (a key type mismatch for the u64 decoders).
fn valid_files() -> Vec<DbFiles> {
    let small = db_files::<u64>(|db| {
        for k in 0..40u64 {
            db.put(k * 3, vec![k as u8; (k % 9) as usize]).unwrap();
        }
        db.checkpoint().unwrap();
        for k in 0..10u64 {
            db.put(k, b"log").unwrap();
            db.delete(k * 3 + 1).unwrap();
        }
    });
    let batches = db_files::<u64>(|db| {
        // 8 values of 40 KB: a snapshot of more than one block.
        for k in 0..8u64 {
            db.put(u64::MAX - k * 1000, vec![k as u8; 40_000]).unwrap();
        }
        db.put(0, b"").unwrap();
        db.checkpoint().unwrap();
        for i in 0..6u64 {
            let mut batch = WriteBatch::new();
            for j in 0..=i {
                batch.put(i * 100 + j, vec![j as u8; j as usize * 5]);
                batch.delete(u64::MAX - j * 1000);
            }
            db.write(batch).unwrap();
        }
    });
    let empty = db_files::<u64>(|db| {
        db.checkpoint().unwrap();
        db.put(7, b"x").unwrap();
    });
    let signed = db_files::<i64>(|db| {
        for k in -20..20i64 {
            db.put(k * 7, k.to_le_bytes()).unwrap();
        }
        db.checkpoint().unwrap();
        db.put(i64::MIN, b"min").unwrap();
    });
    vec![small, batches, empty, signed]
}

/// A log built field by field: a valid header (sequence numbers anywhere, up to the top
/// of the range), records of well-formed or tweaked payloads with the right sequence
/// numbers, then sometimes a tail of garbage or zeros. The checksums are all correct.
fn random_log(rng: &mut Rng) -> Vec<u8> {
    let start_seq = match rng.below(4) {
        0 => 0,
        1 => rng.below(1000),
        // At the very top, where a record's batches would carry the sequence number
        // past u64::MAX: the decoder must refuse that as corruption, not overflow
        // (found by this test; fuzz/regressions/wal_decode/ keeps the reproducers).
        2 => u64::MAX - rng.below(8),
        _ => rng.next_u64(),
    };
    let mut bytes = LogHeader {
        key_type: KeyType::U64,
        log_number: rng.below(4),
        start_seq,
    }
    .encode()
    .to_vec();
    let mut seq = start_seq;
    for _ in 0..rng.below(5) {
        let batch_count = 1 + rng.below(3);
        let batches: Vec<Vec<BatchOp<u64>>> = (0..batch_count)
            .map(|_| {
                (0..1 + rng.below(4))
                    .map(|_| {
                        let key = match rng.below(3) {
                            0 => rng.below(16),
                            1 => u64::MAX - rng.below(16),
                            _ => rng.next_u64(),
                        };
                        if rng.below(3) == 0 {
                            BatchOp::Delete(key)
                        } else {
                            let len = rng.index(24);
                            BatchOp::Put(key, rng.bytes(len))
                        }
                    })
                    .collect()
            })
            .collect();
        let mut payload = Vec::new();
        encode_payload(batches.iter().map(Vec::as_slice), &mut payload);
        if rng.below(4) == 0 && !payload.is_empty() {
            // Break the payload's structure; the checksum below still covers it.
            let at = rng.index(payload.len());
            payload[at] = rng.next_u64() as u8;
        }
        let header = RecordHeader {
            payload_len: payload.len() as u32,
            seq,
            payload_crc: crc32c::crc32c(&payload),
        };
        bytes.extend_from_slice(&header.encode());
        bytes.extend_from_slice(&payload);
        seq = seq.wrapping_add(batch_count);
    }
    match rng.below(4) {
        0 => {
            let len = rng.index(64);
            bytes.extend(rng.bytes(len));
        }
        1 => bytes.extend(std::iter::repeat_n(0, rng.index(64))),
        _ => {}
    }
    bytes
}

/// A snapshot built field by field: blocks of entries with mostly ascending keys and
/// header totals that mostly match, every checksum correct.
fn random_snapshot(rng: &mut Rng) -> Vec<u8> {
    let mut data = Vec::new();
    let mut entries = 0u64;
    let mut value_bytes = 0u64;
    let mut key = match rng.below(3) {
        0 => 0,
        1 => u64::MAX - rng.below(64),
        _ => rng.next_u64(),
    };
    for _ in 0..rng.below(4) {
        let count = 1 + rng.below(6) as u32;
        let mut body = Vec::new();
        for _ in 0..count {
            let len = rng.index(20);
            body.extend_from_slice(&key.to_le_bytes());
            body.extend_from_slice(&(len as u32).to_le_bytes());
            body.extend(rng.bytes(len));
            value_bytes += len as u64;
            key = match rng.below(8) {
                0 => key,
                1 => key.wrapping_sub(1),
                _ => key.wrapping_add(1 + rng.below(100)),
            };
        }
        entries += u64::from(count);
        let declared = if rng.below(8) == 0 { count + 1 } else { count };
        let mut h = [0u8; BLOCK_HEADER_LEN];
        h[BH_ENTRY_COUNT..BH_ENTRY_COUNT + 4].copy_from_slice(&declared.to_le_bytes());
        h[BH_BODY_LEN..BH_BODY_LEN + 4].copy_from_slice(&(body.len() as u32).to_le_bytes());
        h[BH_BODY_CRC..BH_BODY_CRC + 4].copy_from_slice(&crc32c::crc32c(&body).to_le_bytes());
        let crc = crc32c::crc32c(&h[..BH_HEADER_CRC]);
        h[BH_HEADER_CRC..].copy_from_slice(&crc.to_le_bytes());
        data.extend_from_slice(&h);
        data.extend_from_slice(&body);
    }
    let header = SnapshotHeader {
        key_type: KeyType::U64,
        entry_count: if rng.below(8) == 0 {
            rng.next_u64()
        } else {
            entries
        },
        next_seq: rng.next_u64(),
        log_number: rng.below(8),
        data_len: data.len() as u64,
        value_bytes: if rng.below(8) == 0 {
            value_bytes.wrapping_add(1)
        } else {
            value_bytes
        },
    };
    let mut bytes = header.encode().to_vec();
    bytes.extend_from_slice(&data);
    bytes
}

/// `base` with one to four random edits; `other` supplies splices. `fields` are offsets of
/// header fields worth overwriting with boundary values.
fn mutate(rng: &mut Rng, base: &[u8], other: &[u8], fields: &[usize]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            let n = 1 + rng.index(64);
            b = rng.bytes(n);
        }
        let len = b.len();
        match rng.below(11) {
            0 => {
                let at = rng.index(len);
                b[at] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.index(len);
                b[at] = rng.next_u64() as u8;
            }
            2 if len >= 4 => {
                let at = rng.index(len - 3);
                let v = rng.interesting_u32(len);
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 if len >= 8 => {
                let at = rng.index(len - 7);
                let v = rng.interesting_u64(len);
                b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            4 => b.truncate(rng.index(len + 1)),
            5 => {
                let at = rng.index(len + 1);
                let n = 1 + rng.index(32);
                let extra = rng.bytes(n);
                b.splice(at..at, extra);
            }
            6 => {
                let at = rng.index(len);
                let end = (at + 1 + rng.index(64)).min(len);
                b.drain(at..end);
            }
            7 => {
                let at = rng.index(len);
                let end = (at + 1 + rng.index(256)).min(len);
                let chunk = b[at..end].to_vec();
                let to = rng.index(len + 1);
                b.splice(to..to, chunk);
            }
            8 if !other.is_empty() => {
                let cut = rng.index(len + 1);
                let from = rng.index(other.len());
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            9 => {
                let at = rng.index(len);
                let end = if rng.below(2) == 0 {
                    len
                } else {
                    (at + 1 + rng.index(64)).min(len)
                };
                b[at..end].fill(0);
            }
            _ => {
                let at = fields[rng.index(fields.len())];
                if at + 8 <= len {
                    let v = rng.interesting_u64(len);
                    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    b
}

/// Offsets of u64 fields in a log: its header, and the first records' headers.
fn log_fields(log: &[u8]) -> Vec<usize> {
    let mut fields = vec![LH_LOG_NUMBER, LH_START_SEQ];
    let mut at = LOG_HEADER_LEN;
    while at + 20 <= log.len() && fields.len() < 12 {
        fields.push(at + RH_SEQ);
        fields.push(at + RH_PAYLOAD_LEN);
        let len = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        at += 20 + len;
    }
    fields
}

/// Offsets of fields in a snapshot: its header, and the first blocks' headers.
fn snapshot_fields(snap: &[u8]) -> Vec<usize> {
    let mut fields = vec![SH_ENTRY_COUNT, SH_NEXT_SEQ, SH_LOG_NUMBER, SH_VALUE_BYTES];
    let mut at = SNAP_HEADER_LEN;
    while at + BLOCK_HEADER_LEN <= snap.len() && fields.len() < 12 {
        fields.push(at + BH_ENTRY_COUNT);
        let len = u32::from_le_bytes(snap[at + 4..at + 8].try_into().unwrap()) as usize;
        fields.push(at + BLOCK_HEADER_LEN);
        at += BLOCK_HEADER_LEN + len;
    }
    fields
}

/// Offsets of a manifest's header fields, where a mutation is most likely to matter.
fn manifest_fields() -> Vec<usize> {
    use omendb::manifest::{
        MANIFEST_HEADER_LEN, MH_LOG_NUMBER, MH_NEXT_FILE, MH_NEXT_SEQ, MH_RUN_COUNT,
    };
    vec![
        MH_NEXT_SEQ,
        MH_LOG_NUMBER,
        MH_NEXT_FILE,
        MH_RUN_COUNT,
        MANIFEST_HEADER_LEN,
    ]
}

/// Offsets of a run's header fields and of its index section.
fn run_fields(run: &[u8]) -> Vec<usize> {
    use omendb::run::format::{
        RH_BLOCK_COUNT, RH_DATA_LEN, RH_ENTRY_COUNT, RH_INDEX_LEN, RH_TOMBSTONES, RUN_HEADER_LEN,
    };
    let mut fields = vec![
        RH_ENTRY_COUNT,
        RH_BLOCK_COUNT,
        RH_DATA_LEN,
        RH_INDEX_LEN,
        RH_TOMBSTONES,
        RUN_HEADER_LEN,
        RUN_HEADER_LEN + 8,
    ];
    let data_len = u64::from_le_bytes(run[RH_DATA_LEN..RH_DATA_LEN + 8].try_into().unwrap());
    let index_at = RUN_HEADER_LEN + data_len as usize;
    fields.extend((index_at..run.len().saturating_sub(8)).step_by(8));
    fields
}

/// Runs the `target` check on `bytes`; on a panic, saves the input for
/// `cargo fuzz run <target> <file>` and fails naming the file.
fn check(target: &str, bytes: &[u8]) {
    let outcome = std::panic::catch_unwind(|| match target {
        "wal_decode" => decode_checks::check_wal(bytes),
        "run_decode" => decode_checks::check_run(bytes),
        "manifest_decode" => decode_checks::check_manifest(bytes),
        _ => decode_checks::check_snapshot(bytes),
    });
    if let Err(panic) = outcome {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_smoke_failures");
        std::fs::create_dir_all(&dir).expect("create the failure directory");
        let file = dir.join(format!("{target}-{:016x}", fnv1a(bytes)));
        std::fs::write(&file, bytes).expect("save the failing input");
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        panic!("{target} failed: {msg}\ninput saved to {}", file.display());
    }
}

fn check_wal(bytes: &[u8]) {
    check("wal_decode", bytes);
}

fn check_snapshot(bytes: &[u8]) {
    check("snapshot_decode", bytes);
}

fn check_run(bytes: &[u8]) {
    check("run_decode", bytes);
}

fn check_manifest(bytes: &[u8]) {
    check("manifest_decode", bytes);
}

/// A name for a failing input.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Every file in `fuzz/<kind>/<target>/`, sorted; none when the directory is absent.
fn fuzz_files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("read a fuzz directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn valid_files_decode_through_the_checks() {
    for f in valid_files() {
        check_wal(&f.log);
        check_snapshot(&f.snap);
        check_manifest(&f.manifest);
        for run in &f.runs {
            check_run(run);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(1);
    for _ in 0..CASES {
        let len = match rng.below(4) {
            0 => rng.index(48),
            1 => rng.index(128),
            _ => rng.index(2048),
        };
        let bytes = rng.bytes(len);
        check_wal(&bytes);
        check_snapshot(&bytes);
        check_run(&bytes);
        check_manifest(&bytes);
    }
}

#[test]
fn built_files_never_panic() {
    let mut rng = Rng::new(2);
    for _ in 0..CASES {
        let log = random_log(&mut rng);
        check_wal(&log);
        let snap = random_snapshot(&mut rng);
        check_snapshot(&snap);
        // And a mutated copy of each.
        let fields = log_fields(&log);
        check_wal(&mutate(&mut rng, &log, &[], &fields));
        let fields = snapshot_fields(&snap);
        check_snapshot(&mutate(&mut rng, &snap, &[], &fields));
    }
}

#[test]
fn mutated_database_files_never_panic() {
    let files = valid_files();
    let mut rng = Rng::new(3);
    for i in 0..CASES {
        let f = &files[i as usize % files.len()];
        let other = &files[rng.index(files.len())];
        check_wal(&mutate(&mut rng, &f.log, &other.log, &log_fields(&f.log)));
        check_snapshot(&mutate(
            &mut rng,
            &f.snap,
            &other.snap,
            &snapshot_fields(&f.snap),
        ));
        check_manifest(&mutate(
            &mut rng,
            &f.manifest,
            &other.manifest,
            &manifest_fields(),
        ));
        if let (Some(run), Some(other_run)) = (f.runs.first(), other.runs.last()) {
            check_run(&mutate(&mut rng, run, other_run, &run_fields(run)));
        }
    }
}

#[test]
fn corpus_and_regressions_never_panic() {
    for kind in ["corpus", "regressions"] {
        for path in fuzz_files(kind, "wal_decode") {
            check_wal(&std::fs::read(&path).expect("read a fuzz input"));
        }
        for path in fuzz_files(kind, "snapshot_decode") {
            check_snapshot(&std::fs::read(&path).expect("read a fuzz input"));
        }
        for path in fuzz_files(kind, "run_decode") {
            check_run(&std::fs::read(&path).expect("read a fuzz input"));
        }
        for path in fuzz_files(kind, "manifest_decode") {
            check_manifest(&std::fs::read(&path).expect("read a fuzz input"));
        }
    }
}
