//! The `omendb` binary against its contract: exit codes, output formats, one-line errors.

use std::path::Path;
use std::process::{Command, Output};

fn omendb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omendb"))
        .args(args)
        .output()
        .unwrap()
}

fn run_ok(args: &[&str]) -> String {
    let out = omendb(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts exit `code` and a single stderr line without panic text; returns the line.
fn run_fail(args: &[&str], code: i32) -> String {
    let out = omendb(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line expected, got {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn put_get_delete_scan_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = p(&db);
    run_ok(&["create", db]);
    run_ok(&["put", db, "10", "ten"]);
    run_ok(&["put", db, "20", "twenty"]);
    run_ok(&["put", db, "30", "--hex", "00ff7f"]);
    assert_eq!(run_ok(&["get", db, "10"]), "ten\n");
    assert_eq!(run_ok(&["get", db, "30", "--hex"]), "00ff7f\n");
    let absent = run_fail(&["get", db, "15"], 1);
    assert!(absent.contains("not found"), "{absent}");
    let scan = omendb(&["scan", db]);
    assert_eq!(scan.stdout, b"10\tten\n20\ttwenty\n30\t\x00\xff\x7f\n");
    assert_eq!(
        run_ok(&["scan", db, "--from", "15", "--to", "20"]),
        "20\ttwenty\n"
    );
    assert_eq!(run_ok(&["scan", db, "--limit", "1"]), "10\tten\n");
    assert_eq!(
        run_ok(&["scan", db, "--hex", "--from", "30"]),
        "30\t00ff7f\n"
    );
    run_ok(&["delete", db, "20"]);
    run_ok(&["delete", db, "999"]);
    assert_eq!(run_ok(&["scan", db, "--to", "29"]), "10\tten\n");
    run_ok(&["checkpoint", db]);
    let stats = run_ok(&["stats", db]);
    assert!(stats.contains("entries\t2\n"), "{stats}");
    assert!(run_ok(&["verify", db]).starts_with("ok: 2 u64 entries"));
}

#[test]
fn signed_and_float_keys_parse_with_leading_minus() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f");
    let db = p(&db);
    run_ok(&["create", db, "--key-type", "f64"]);
    run_ok(&["put", db, "-1.5", "-neg"]);
    run_ok(&["put", db, "2.25", "pos"]);
    assert_eq!(
        run_ok(&["scan", db, "--from", "-2"]),
        "-1.5\t-neg\n2.25\tpos\n"
    );
    run_fail(&["put", db, "NaN", "x"], 2);
    let wrong = run_fail(&["put", db, "abc", "x"], 2);
    assert!(wrong.contains("not a valid f64 key"), "{wrong}");
}

#[test]
fn errors_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = p(&db);
    run_fail(&["get", db, "1"], 2);
    run_ok(&["create", db, "--key-type", "u32"]);
    run_fail(&["create", db], 2);
    run_fail(&["put", db, "4294967296", "too big for u32"], 2);
    run_fail(&["put", db, "1", "--hex", "abc"], 2);
    run_fail(&["frobnicate"], 2);
    run_fail(&[], 2);
    run_fail(&["create", db, "--key-type", "u128"], 2);
    run_fail(&["import", db, "/nonexistent/file.csv"], 2);
}

#[test]
fn csv_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = p(&db);
    run_ok(&["create", db, "--key-type", "i64"]);
    run_ok(&["put", db, "0", "zero"]);
    let good = dir.path().join("good.csv");
    // Quoted fields are unquoted: commas, doubled quotes and line breaks inside quotes.
    std::fs::write(
        &good,
        "3,three\r\n-1,\"minus,one\"\n\n2,two\n\" 5\",\"say \"\"hi\"\"\"\n6,\"two\nlines\"\n3,THREE\n",
    )
    .unwrap();
    let out = run_ok(&["import", db, p(&good)]);
    assert!(out.contains("imported 6"), "{out}");
    assert_eq!(
        run_ok(&["scan", db]),
        "-1\tminus,one\n0\tzero\n2\ttwo\n3\tTHREE\n5\tsay \"hi\"\n6\ttwo\nlines\n"
    );
    assert!(run_ok(&["stats", db]).contains("entries\t6\n"));
    for (text, line) in [
        ("7,seven\n8 eight\n", ":2:"),
        ("7,seven\n8,a,b\n", ":2:"),
        ("7,seven\n8,\"open\n\n", ":2:"),
        ("7,seven\n\n9,\"x\"y\n", ":3:"),
    ] {
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, text).unwrap();
        let msg = run_fail(&["import", db, p(&bad)], 2);
        assert!(msg.contains(line), "names the line: {msg}");
        run_fail(&["get", db, "7"], 1);
    }
}

#[test]
fn sosd_import_loads_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = p(&db);
    run_ok(&["create", db]);
    let file = dir.path().join("keys.sosd");
    let keys: Vec<u64> = (0..5000u64).map(|i| i * i + 7).collect();
    let mut bytes = (keys.len() as u64).to_le_bytes().to_vec();
    for k in &keys {
        bytes.extend_from_slice(&k.to_le_bytes());
    }
    std::fs::write(&file, &bytes).unwrap();
    run_ok(&["import", db, p(&file), "--format", "sosd"]);
    assert!(run_ok(&["stats", db]).contains("entries\t5000\n"));
    assert_eq!(run_ok(&["get", db, "7"]), "\n");
    bytes.pop();
    std::fs::write(&file, &bytes).unwrap();
    run_fail(&["import", db, p(&file), "--format", "sosd"], 2);
}

#[test]
fn verify_names_file_and_offset_of_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let dbs = p(&db);
    run_ok(&["create", dbs]);
    for k in 0..20 {
        run_ok(&["put", dbs, &k.to_string(), "value"]);
    }
    run_ok(&["checkpoint", dbs]);
    run_ok(&["put", dbs, "100", "in the log"]);
    // Byte 100 lies in the run's first block, which starts after the 64-byte header.
    let run = db.join("run-0000000000000001.run");
    let mut bytes = std::fs::read(&run).unwrap();
    bytes[100] ^= 0x10;
    std::fs::write(&run, &bytes).unwrap();
    let msg = run_fail(&["verify", dbs], 2);
    assert!(
        msg.contains("run-0000000000000001.run") && msg.contains("offset 64"),
        "{msg}"
    );
    run_ok(&["get", dbs, "100"]);
    let msg = run_fail(&["get", dbs, "1"], 2);
    assert!(msg.contains("corrupted run-0000000000000001.run"), "{msg}");
}

#[test]
fn a_second_process_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    run_ok(&["create", p(&db)]);
    let open = omendb::Db::<u64>::open(&db).unwrap();
    let msg = run_fail(&["put", p(&db), "1", "x"], 2);
    assert!(msg.contains("locked"), "{msg}");
    run_fail(&["verify", p(&db)], 2);
    drop(open);
    run_ok(&["put", p(&db), "1", "x"]);
}

#[test]
fn verify_notes_a_torn_tail_and_open_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    run_ok(&["create", p(&db)]);
    run_ok(&["put", p(&db), "1", "one"]);
    let log = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wal"))
        .unwrap();
    let mut bytes = std::fs::read(&log).unwrap();
    let valid = bytes.len();
    bytes.extend_from_slice(&[0xff; 7]); // a cut record header: an interrupted append
    std::fs::write(&log, &bytes).unwrap();
    let out = run_ok(&["verify", p(&db)]);
    assert!(
        out.contains("torn tail of 7 bytes at") && out.contains(&format!("offset {valid}")),
        "{out}"
    );
    run_ok(&["put", p(&db), "2", "two"]);
    assert!(!run_ok(&["verify", p(&db)]).contains("torn"));
    assert_eq!(run_ok(&["scan", p(&db)]), "1\tone\n2\ttwo\n");

    // The same bytes before a valid record are corruption: exit 2 naming the offset.
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[valid] ^= 0x01;
    std::fs::write(&log, &bytes).unwrap();
    let msg = run_fail(&["verify", p(&db)], 2);
    assert!(
        msg.contains(".wal") && msg.contains(&format!("offset {valid}")),
        "{msg}"
    );
}
