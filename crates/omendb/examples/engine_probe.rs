//! Probe: import N sorted entries, reopen, time random gets, then (PUTS) time puts of new
//! random keys. Environment: PROBES (gets), POLICY (`tiered` or leveled), LEVEL_BASE and
//! FREEZE (bytes, for scaled-down write-amplification runs).
use omendb::{Db, MergePolicy, Options, SyncMode};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(10_000_000, |s| s.parse().unwrap());
    let dir = std::path::PathBuf::from(std::env::args().nth(2).unwrap_or("/tmp/eng/db".into()));
    let env = |name: &str| std::env::var(name).ok();
    let opts = || {
        let d = Options::default();
        Options {
            sync: SyncMode::Relaxed,
            merge_policy: match env("POLICY").as_deref() {
                Some("tiered") => MergePolicy::Tiered,
                _ => MergePolicy::Leveled,
            },
            level_base_bytes: env("LEVEL_BASE").map_or(d.level_base_bytes, |s| s.parse().unwrap()),
            auto_checkpoint_log_bytes: env("FREEZE")
                .map_or(d.auto_checkpoint_log_bytes, |s| Some(s.parse().unwrap())),
            ..d
        }
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
    let probe_count: usize = std::env::var("PROBES").map_or(2_000_000, |s| s.parse().unwrap());
    let probes: Vec<u64> = (0..probe_count)
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
    for round in 0..3 {
        let t = Instant::now();
        let mut sum = 0u64;
        for chunk in probes.chunks(256) {
            db.get_many_with(chunk, |_, v| sum = sum.wrapping_add(v.unwrap()[0] as u64))
                .unwrap();
        }
        println!(
            "round {round}: get_many {:.0} ns (checksum {sum})",
            t.elapsed().as_nanos() as f64 / probes.len() as f64
        );
    }
    let puts: usize = std::env::args().nth(3).map_or(0, |s| s.parse().unwrap());
    if puts > 0 {
        let mut lat = Vec::with_capacity(puts);
        let mut windows = Vec::new();
        let start = Instant::now();
        let mut window_start = Instant::now();
        let mut in_window = 0u64;
        for _ in 0..puts {
            let k = rnd();
            let t = Instant::now();
            db.put(k, k.to_le_bytes()).unwrap();
            let now = Instant::now();
            lat.push((now - t).as_nanos() as u64);
            if lat[lat.len() - 1] > 5_000_000 {
                eprintln!(
                    "slow put #{} at {:.2}s: {} us (memtables {})",
                    lat.len(),
                    start.elapsed().as_secs_f64(),
                    lat[lat.len() - 1] / 1000,
                    0
                );
            }
            in_window += 1;
            if now - window_start >= std::time::Duration::from_millis(100) {
                windows.push(in_window as f64 / (now - window_start).as_secs_f64());
                window_start = now;
                in_window = 0;
            }
        }
        let total = start.elapsed().as_secs_f64();
        lat.sort_unstable();
        let q = |f: f64| lat[((lat.len() as f64 * f) as usize).min(lat.len() - 1)];
        windows.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let s = db.stats().unwrap();
        println!(
            "{puts} puts: {:.0}/s; p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns; 100 ms windows: min {:.0}/s, median {:.0}/s; runs {:?}; write amp {:?}",
            puts as f64 / total, q(0.5), q(0.99), q(0.999), lat[lat.len() - 1],
            windows[0], windows[windows.len() / 2],
            s.runs.iter().map(|r| (r.level, r.entries)).collect::<Vec<_>>(),
            s.write_amplification()
        );
        let t = Instant::now();
        let mut sum = 0u64;
        for &k in &probes {
            sum = sum.wrapping_add(db.get_with(k, |v| v[0] as u64).unwrap().unwrap());
        }
        println!(
            "after the puts: get {:.0} ns over {} runs (checksum {sum})",
            t.elapsed().as_nanos() as f64 / probes.len() as f64,
            s.runs.len()
        );
    }
}
