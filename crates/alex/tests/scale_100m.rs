//! The scale check, ignored by default (about a minute and 5.4 GB of
//! memory at full size): bulk load 100M random u64 keys, insert 20M more one
//! by one in random order, delete 10M in random order, then verify every
//! key present or absent, `check()` and a full ordered scan.
//!
//! `cargo test --release -p alex --test scale_100m -- --ignored --nocapture`
//! (`ALEX_SCALE_KEYS=2000000` for a smaller run).

use std::time::Instant;

use alex::AlexMap;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn value(k: u64) -> u64 {
    k.rotate_left(17) ^ 0x5555
}

#[test]
#[ignore = "100M keys: about a minute and 5.4 GB; run with --ignored"]
fn bulk_100m_insert_20m_delete_10m_lose_nothing() {
    let n: usize = std::env::var("ALEX_SCALE_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    let (extra, deleted) = (n / 5, n / 10);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let start = Instant::now();
    // Distinct keys: draw a few more than needed, dedup, shuffle, split.
    let mut all: Vec<u64> = (0..(n + extra) + (n + extra) / 50)
        .map(|_| rng.next())
        .collect();
    all.sort_unstable();
    all.dedup();
    assert!(all.len() >= n + extra, "too many repeated draws");
    all.truncate(n + extra);
    rng.shuffle(&mut all);
    let inserted = all.split_off(n);
    let mut base = all;
    base.sort_unstable();
    println!("{} + {} keys ready in {:.2?}", n, extra, start.elapsed());

    let t = Instant::now();
    let mut map = AlexMap::bulk_load(base.iter().map(|&k| (k, value(k)))).unwrap();
    let s = map.stats();
    println!(
        "bulk load of {n} in {:.2?}: height {}, {} inner, {} data nodes, {:.2} B/key",
        t.elapsed(),
        s.height,
        s.inner_nodes,
        s.data_nodes,
        s.bytes_per_key()
    );

    let t = Instant::now();
    for &k in &inserted {
        assert_eq!(map.insert(k, value(k)), None, "insert of {k:#x}");
    }
    let s = map.stats();
    println!(
        "{} inserts in {:.2?}: len {}, height {}, {} data nodes, {:.2} B/key",
        inserted.len(),
        t.elapsed(),
        map.len(),
        s.height,
        s.data_nodes,
        s.bytes_per_key()
    );

    let mut doomed: Vec<u64> = base.iter().step_by(10).copied().take(deleted).collect();
    rng.shuffle(&mut doomed);
    let t = Instant::now();
    for &k in &doomed {
        assert_eq!(map.remove(&k), Some(value(k)), "remove of {k:#x}");
    }
    let s = map.stats();
    println!(
        "{} deletes in {:.2?}: len {}, height {}, {} data nodes, {:.2} B/key",
        doomed.len(),
        t.elapsed(),
        map.len(),
        s.height,
        s.data_nodes,
        s.bytes_per_key()
    );
    assert_eq!(map.len(), n + extra - deleted);

    let t = Instant::now();
    map.check();
    doomed.sort_unstable();
    let mut present = 0usize;
    for &k in &base {
        if doomed.binary_search(&k).is_ok() {
            assert_eq!(map.get(&k), None, "deleted key {k:#x} found");
        } else {
            assert_eq!(map.get(&k), Some(&value(k)), "key {k:#x} lost");
            present += 1;
        }
    }
    for &k in &inserted {
        assert_eq!(map.get(&k), Some(&value(k)), "inserted key {k:#x} lost");
        present += 1;
    }
    assert_eq!(present, map.len());
    let mut scanned = 0usize;
    let mut previous = None;
    for (k, v) in map.iter() {
        assert_eq!(*v, value(*k));
        assert!(previous < Some(*k), "scan out of order at {k:#x}");
        previous = Some(*k);
        scanned += 1;
    }
    assert_eq!(scanned, map.len());
    println!(
        "check(), {present} present and {} deleted keys and a full scan verified in {:.2?}; {:.2?} in all",
        doomed.len(),
        t.elapsed(),
        start.elapsed()
    );
}
