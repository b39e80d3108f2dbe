//! Compares three ways to find a run's block for a key: the piecewise-linear model the runs
//! store (then a search of the fences inside its error window), an `AlexMap` from fence to
//! block (a predecessor query), and a plain binary search of the fences. Fences are every
//! `per_block`-th key of a key set, as a run of 8-byte values lays them out.
//!
//! `cargo run --release -p omendb --example fence_models -- [KEYS] [PER_BLOCK] [KEYFILE]`
//! (KEYS: count of synthetic keys, default 10M; KEYFILE: a SOSD file used instead of the
//! uniform and lognormal sets).

use alex::AlexMap;
use omendb::run::pla::{Pla, TARGET_EPSILON};
use std::hint::black_box;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn uniform(n: usize, rng: &mut Rng) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).map(|_| rng.next()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn lognormal(n: usize, rng: &mut Rng) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n)
        .map(|_| {
            // Box-Muller; exp(N(0, 2)) scaled, as the benchmark's lognormal set.
            let (a, b) = (rng.f64().max(1e-300), rng.f64());
            let z = (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos();
            ((2.0 * z).exp() * 1e12) as u64
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn read_sosd(path: &str) -> Vec<u64> {
    let bytes = std::fs::read(path).expect("read key file");
    let mut v: Vec<u64> = bytes[8..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ns per lookup (median of 5) and the checksum of the blocks found.
fn time(probes: &[u64], f: impl Fn(u64) -> usize) -> (f64, u64) {
    let mut sum = 0u64;
    let ns = median(
        (0..5)
            .map(|_| {
                sum = 0;
                let t = Instant::now();
                for &k in probes {
                    sum = sum.wrapping_add(f(black_box(k)) as u64);
                }
                t.elapsed().as_nanos() as f64 / probes.len() as f64
            })
            .collect(),
    );
    (ns, sum)
}

fn compare(name: &str, keys: &[u64], per_block: usize, rng: &mut Rng) {
    let fences: Vec<u64> = keys.iter().step_by(per_block).copied().collect();
    let blocks = fences.len();
    // Lookups of keys that exist, in random order.
    let probes: Vec<u64> = (0..1_000_000)
        .map(|_| keys[(rng.next() % keys.len() as u64) as usize])
        .collect();

    let t = Instant::now();
    let pla = Pla::fit(&fences, TARGET_EPSILON);
    let pla_build = t.elapsed().as_secs_f64() * 1e3;
    let pla_block = |k: u64| {
        let (lo, hi) = pla.window(k, blocks);
        if fences[lo] <= k && (hi == blocks || fences[hi] > k) {
            lo + fences[lo..hi].partition_point(|&f| f <= k) - 1
        } else {
            fences.partition_point(|&f| f <= k) - 1
        }
    };
    let t = Instant::now();
    let map = AlexMap::bulk_load(fences.iter().enumerate().map(|(b, &f)| (f, b as u32)))
        .expect("fences are distinct");
    let alex_build = t.elapsed().as_secs_f64() * 1e3;
    let alex_block = |k: u64| *map.range(..=k).next_back().expect("k >= first fence").1 as usize;
    let search_block = |k: u64| fences.partition_point(|&f| f <= k) - 1;
    let outside = probes
        .iter()
        .filter(|&&k| {
            let (lo, hi) = pla.window(k, blocks);
            !(fences[lo] <= k && (hi == blocks || fences[hi] > k))
        })
        .count();

    let (pla_ns, a) = time(&probes, pla_block);
    let (alex_ns, b) = time(&probes, alex_block);
    let (search_ns, c) = time(&probes, search_block);
    assert!(a == b && b == c, "the three disagree");
    let fence_bytes = blocks * 8;
    let pla_bytes = pla.segments.len() * std::mem::size_of_val(&pla.segments[0]);
    let alex_bytes = map.stats().heap.total();
    println!(
        "| {name} | {} | {blocks} | {pla_ns:.0} | {alex_ns:.0} | {search_ns:.0} | {} segments, eps {}: {pla_bytes} + fences {fence_bytes} | {alex_bytes} (fences inside) | {pla_build:.1} / {alex_build:.1} | {outside} | `{a:x}` |",
        keys.len(),
        pla.segments.len(),
        pla.epsilon,
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000_000, |s| s.parse().expect("KEYS"));
    let per_block: usize = args.next().map_or(204, |s| s.parse().expect("PER_BLOCK"));
    let file = args.next();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    println!("| keys | entries | blocks | PLA ns | AlexMap ns | binary search ns | PLA bytes | AlexMap bytes | build ms (PLA / AlexMap) | lookups outside the PLA window | checksum |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    match file {
        Some(path) => compare(&path, &read_sosd(&path), per_block, &mut rng),
        None => {
            let u = uniform(n, &mut rng);
            compare("uniform", &u, per_block, &mut rng);
            drop(u);
            let l = lognormal(n, &mut rng);
            compare("lognormal", &l, per_block, &mut rng);
        }
    }
}
