//! Appends and prepends into an empty map, one `insert` at a time, against
//! `BTreeMap` doing the same; and sorted runs inserted into a loaded map by
//! `extend_sorted`, one `insert` at a time, and `BTreeMap::extend`.
//!
//! `cargo run --release -p alex --example append -- [keys] [reps]`
//!
//! Keys are timestamp-like: increasing by a random gap of 1..=1000 (a fixed
//! seed). Each repetition builds both maps from empty, alternating which
//! goes first; the figures are medians over the repetitions. The checksum
//! (a fold of every key and value read back in order) shows both maps hold
//! the same entries.

use std::collections::BTreeMap;
use std::time::Instant;

use alex::AlexMap;

/// xorshift64: fixed-seed keys without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` increasing keys with gaps of 1..=1000 from a fixed seed.
fn timestamps(n: usize) -> Vec<u64> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut t = 1_700_000_000_000_000u64;
    (0..n)
        .map(|_| {
            t += 1 + rng.next() % 1000;
            t
        })
        .collect()
}

fn checksum<'a>(pairs: impl Iterator<Item = (&'a u64, &'a u64)>) -> u64 {
    pairs.fold(0u64, |h, (k, v)| {
        h.rotate_left(5) ^ k.wrapping_mul(0x100_0000_01B3) ^ v
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Nanoseconds per key of `build`, and what it built.
fn timed<T>(n: usize, build: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let built = build();
    (start.elapsed().as_nanos() as f64 / n as f64, built)
}

struct Side {
    alex: Vec<f64>,
    btree: Vec<f64>,
}

/// Builds both maps from `keys` in the order given, `reps` times.
fn one_by_one(name: &str, keys: &[u64], reps: usize) {
    let n = keys.len();
    let mut side = Side {
        alex: Vec::new(),
        btree: Vec::new(),
    };
    let mut shown = false;
    for rep in 0..reps {
        let run_alex = |side: &mut Side, shown: &mut bool| {
            let (ns, map) = timed(n, || {
                let mut map = AlexMap::new();
                for (i, &k) in keys.iter().enumerate() {
                    map.insert(k, i as u64);
                }
                map
            });
            side.alex.push(ns);
            if !*shown {
                *shown = true;
                let s = map.stats();
                println!(
                    "{name}: alex height {} data nodes {} inner nodes {} slot fill {:.3} bytes/key {:.1} checksum {:016x}",
                    s.height,
                    s.data_nodes,
                    s.inner_nodes,
                    s.avg_density,
                    s.bytes_per_key(),
                    checksum(map.iter())
                );
                println!("{name}: alex counters {:?}", s.counters);
            }
        };
        let run_btree = |side: &mut Side| {
            let (ns, map) = timed(n, || {
                let mut map = BTreeMap::new();
                for (i, &k) in keys.iter().enumerate() {
                    map.insert(k, i as u64);
                }
                map
            });
            side.btree.push(ns);
            if rep == 0 {
                println!("{name}: btree checksum {:016x}", checksum(map.iter()));
            }
        };
        if rep % 2 == 0 {
            run_alex(&mut side, &mut shown);
            run_btree(&mut side);
        } else {
            run_btree(&mut side);
            run_alex(&mut side, &mut shown);
        }
    }
    let (a, b) = (median(side.alex), median(side.btree));
    println!(
        "{name}: {n} keys, median of {reps}: alex {a:.1} ns/key, btree {b:.1} ns/key, btree/alex {:.2}x",
        b / a
    );
}

/// A sorted run inserted into a map of `base` (sorted, distinct), timed per
/// pair: `extend_sorted`, the same run inserted one by one, and
/// `BTreeMap::extend` on a `BTreeMap` of the same entries. The maps are
/// built before the clock starts.
fn sorted_run(name: &str, base: &[(u64, u64)], run: &[(u64, u64)], reps: usize) {
    let m = run.len();
    let (mut batch, mut single, mut btree) = (Vec::new(), Vec::new(), Vec::new());
    let mut sums = [0u64; 3];
    for _ in 0..reps {
        let mut map = AlexMap::bulk_load_slice(base).expect("sorted");
        let (ns, _) = timed(m, || {
            map.extend_sorted(run.iter().copied()).expect("sorted")
        });
        batch.push(ns);
        sums[0] = checksum(map.iter());
        drop(map);
        let mut map = AlexMap::bulk_load_slice(base).expect("sorted");
        let (ns, _) = timed(m, || {
            for &(k, v) in run {
                map.insert(k, v);
            }
        });
        single.push(ns);
        sums[1] = checksum(map.iter());
        drop(map);
        let mut map: BTreeMap<u64, u64> = base.iter().copied().collect();
        let (ns, _) = timed(m, || map.extend(run.iter().copied()));
        btree.push(ns);
        sums[2] = checksum(map.iter());
    }
    assert!(sums.iter().all(|&s| s == sums[0]), "the maps differ");
    let (b, s, t) = (median(batch), median(single), median(btree));
    println!(
        "{name}: run of {m} into {} keys, median of {reps}: extend_sorted {b:.1} ns/pair, one by one {s:.1}, btree extend {t:.1}; one-by-one/extend_sorted {:.2}x, btree/extend_sorted {:.2}x, checksum {:016x}",
        base.len(),
        s / b,
        t / b,
        sums[0]
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000_000, |a| a.parse().expect("keys"));
    let reps: usize = args.next().map_or(5, |a| a.parse().expect("reps"));
    let keys = timestamps(n);
    one_by_one("append", &keys, reps);
    let reversed: Vec<u64> = keys.iter().rev().copied().collect();
    one_by_one("prepend", &reversed, reps);

    // Sorted runs into a map of uniform random keys: spread over the whole
    // key range, or dense in one spot (consecutive integers).
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut base: Vec<u64> = (0..n / 5).map(|_| rng.next() >> 1).collect();
    base.sort_unstable();
    base.dedup();
    let base: Vec<(u64, u64)> = base.into_iter().map(|k| (k, k)).collect();
    for m in [n / 100, n / 20] {
        let mut run: Vec<u64> = (0..m).map(|_| rng.next() >> 1).collect();
        run.sort_unstable();
        run.dedup();
        let run: Vec<(u64, u64)> = run.into_iter().map(|k| (k, !k)).collect();
        sorted_run("sorted run, spread", &base, &run, reps);
        let start = base[base.len() / 3].0 + 1;
        let dense: Vec<(u64, u64)> = (0..m as u64).map(|i| (start + i, i)).collect();
        sorted_run("sorted run, dense", &base, &dense, reps);
    }
}
