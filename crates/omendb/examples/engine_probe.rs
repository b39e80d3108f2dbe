//! Probe: import N sorted entries, reopen, time random gets.
use omendb::{Db, Options, SyncMode};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(10_000_000, |s| s.parse().unwrap());
    let dir = std::path::PathBuf::from(std::env::args().nth(2).unwrap_or("/tmp/eng/db".into()));
    let opts = || Options {
        sync: SyncMode::Relaxed,
        ..Options::default()
    };
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut keys: Vec<u64> = (0..n).map(|_| rnd()).collect();
    keys.sort_unstable();
    keys.dedup();
    if !dir.join("MANIFEST").exists() {
        let db = Db::<u64>::open_with(&dir, opts()).unwrap();
        let t = Instant::now();
        db.import(keys.iter().map(|&k| (k, k.to_le_bytes())))
            .unwrap();
        println!("import {:.2}s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let db = Db::<u64>::open_with(&dir, opts()).unwrap();
    let first = db.get(keys[keys.len() / 2]).unwrap();
    println!(
        "open+first get {:.2} ms ({:?})",
        t.elapsed().as_secs_f64() * 1e3,
        first.map(|v| v.len())
    );
    let probes: Vec<u64> = (0..2_000_000)
        .map(|_| keys[(rnd() % keys.len() as u64) as usize])
        .collect();
    for round in 0..3 {
        let t = Instant::now();
        let mut sum = 0u64;
        for &k in &probes {
            sum = sum.wrapping_add(db.get_with(k, |v| v[0] as u64).unwrap().unwrap());
        }
        println!(
            "round {round}: get {:.0} ns (checksum {sum})",
            t.elapsed().as_nanos() as f64 / probes.len() as f64
        );
    }
}
