//! Prints the database's headline figures on this machine:
//! heap bytes per entry (8-byte and 100-byte values), import and reopen time, and
//! durable puts per second with 1, 2 and 8 writer threads (group commit) and relaxed.
//!
//! `cargo run --release -p omendb --example figures -- [entries] [dir]`
//! (entries default 1,000,000; dir default a fresh temp dir, on the disk you want measured).

use omendb::{Db, Options, SyncMode};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn temp_dir(base: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dir = base.join(format!("omendb-figures-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn puts_per_second(base: &std::path::Path, threads: u64, sync: SyncMode) -> f64 {
    let dir = temp_dir(base, &format!("puts-{threads}-{sync:?}"));
    let opts = Options {
        sync,
        ..Options::default()
    };
    let db = Arc::new(Db::<u64>::open_with(&dir, opts).unwrap());
    let run_for = Duration::from_secs(2);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < run_for {
                    db.put(t << 40 | n, n.to_le_bytes()).unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let rate = total as f64 / start.elapsed().as_secs_f64();
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let base = args.next().map_or_else(std::env::temp_dir, Into::into);
    for value_len in [8usize, 100] {
        let dir = temp_dir(&base, &format!("v{value_len}"));
        let db = Db::<u64>::open(&dir).unwrap();
        let entries: Vec<(u64, Vec<u8>)> = (0..n)
            .map(|i| {
                (
                    i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    vec![i as u8; value_len],
                )
            })
            .collect();
        let t = Instant::now();
        db.import(entries).unwrap();
        let import = t.elapsed();
        let s = db.stats().unwrap();
        drop(db);
        let t = Instant::now();
        let db = Db::<u64>::open(&dir).unwrap();
        let reopen = t.elapsed();
        assert_eq!(db.len().unwrap() as u64, n);
        let files: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        println!(
            "{n} entries, {value_len:>3}-byte values: {:.2} heap B/entry (memtables and what runs hold in memory); import {:.2}s, reopen {:.2}s, files {:.1} MB",
            s.heap_bytes_per_entry(),
            import.as_secs_f64(),
            reopen.as_secs_f64(),
            files as f64 / 1e6
        );
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
    for threads in [1, 2, 8] {
        let rate = puts_per_second(&base, threads, SyncMode::Always);
        println!("durable puts/s, fsync per commit, {threads} writer thread(s): {rate:.0}");
    }
    let rate = puts_per_second(&base, 1, SyncMode::Relaxed);
    println!("relaxed puts/s, 1 writer thread: {rate:.0}");
}
