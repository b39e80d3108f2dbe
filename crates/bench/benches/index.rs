//! Criterion micro-benchmarks of the index's hot paths: point lookup, insert into a
//! bulk-loaded map, and a search within one data-node-sized map, each beside BTreeMap.
//! Sample sizes are small so `cargo bench` stays short; the harness binary gives the
//! figures of record.

use alex::AlexMap;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use omendb_bench::keys::{generate, value_for, Distribution, KeySet};
use omendb_bench::rng::Rng;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

const MAP_KEYS: usize = 200_000;
const BATCH: usize = 1024;
/// About the number of keys one data node holds: searches stay inside one node.
const NODE_KEYS: usize = 256;

fn pairs(keys: &[u64]) -> Vec<(u64, u64)> {
    keys.iter().map(|&k| (k, value_for(k))).collect()
}

fn probes(keys: &[u64], seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    (0..BATCH).map(|_| keys[rng.index(keys.len())]).collect()
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup_1024");
    for dist in [Distribution::Uniform, Distribution::Lognormal] {
        let keys = generate(dist, MAP_KEYS, 1);
        let p = pairs(&keys);
        let alex = AlexMap::bulk_load(p.iter().copied()).expect("sorted distinct keys");
        let btree: BTreeMap<u64, u64> = p.iter().copied().collect();
        let q = probes(&keys, 2);
        g.bench_function(format!("alex/{}", dist.name()), |b| {
            b.iter(|| {
                q.iter().fold(0u64, |a, k| {
                    a.wrapping_add(*alex.get(black_box(k)).unwrap_or(&0))
                })
            })
        });
        g.bench_function(format!("btree/{}", dist.name()), |b| {
            b.iter(|| {
                q.iter().fold(0u64, |a, k| {
                    a.wrapping_add(*btree.get(black_box(k)).unwrap_or(&0))
                })
            })
        });
    }
    g.finish();
}

fn insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("insert_1024_into_bulk_loaded");
    let ks = KeySet::split(
        "uniform",
        generate(Distribution::Uniform, MAP_KEYS + BATCH, 3),
        MAP_KEYS,
        BATCH,
        4,
    );
    let base = pairs(&ks.base);
    let new = pairs(&ks.inserts);
    let alex = AlexMap::bulk_load(base.iter().copied()).expect("sorted distinct keys");
    let btree: BTreeMap<u64, u64> = base.iter().copied().collect();
    g.bench_function("alex/uniform", |b| {
        b.iter_batched(
            || alex.clone(),
            |mut m| {
                for &(k, v) in &new {
                    m.insert(k, v);
                }
                m
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("btree/uniform", |b| {
        b.iter_batched(
            || btree.clone(),
            |mut m| {
                for &(k, v) in &new {
                    m.insert(k, v);
                }
                m
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn node_search(c: &mut Criterion) {
    let mut g = c.benchmark_group("node_sized_search_1024");
    let keys = generate(Distribution::Uniform, NODE_KEYS, 5);
    let p = pairs(&keys);
    let alex = AlexMap::bulk_load(p.iter().copied()).expect("sorted distinct keys");
    let q = probes(&keys, 6);
    g.bench_function("alex", |b| {
        b.iter(|| {
            q.iter().fold(0u64, |a, k| {
                a.wrapping_add(*alex.get(black_box(k)).unwrap_or(&0))
            })
        })
    });
    g.bench_function("sorted_slice_binary_search", |b| {
        b.iter(|| {
            q.iter().fold(0u64, |a, k| {
                a.wrapping_add(keys.binary_search(black_box(k)).map_or(0, |i| p[i].1))
            })
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lookup, insert, node_search
}
criterion_main!(benches);
