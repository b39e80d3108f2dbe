//! Measures batched lookups (`AlexMap::get_many`) against one `get` per key.
//!
//! ```text
//! cargo run --release -p alex --example get_many -- [KEYS] [REPS] [BATCH] [LOOKUPS]
//! ```
//!
//! Bulk-loads `KEYS` (default 10M) distinct uniform random `u64` keys with
//! `u64` values, then draws `LOOKUPS` (default 5M) lookup keys uniformly from
//! the loaded keys, in random order (fixed seeds). Each of `REPS` (default
//! 7) repetitions times the same lookup keys three ways, in an order that
//! rotates between repetitions: `get` in a loop; `get_many` over
//! consecutive batches of `BATCH` keys (default 256) into one reused
//! vector; `for_each_get` over the same batches. Each folds the values
//! found into a checksum, printed so that the work cannot be skipped and so
//! that the three can be compared.
//!
//! A pass's time covers only the lookups and the fold, and is taken two
//! ways: wall-clock, and the thread's time on a processor (Linux's
//! `/proc/thread-self/schedstat`, when readable), which leaves out the
//! time other processes held the processor, not the cache they took. The
//! summary gives the medians and the median of each repetition's ratio,
//! on processor time when it is available.

use std::time::Instant;

use alex::AlexMap;

/// The splitmix64 output function: a bijection, so distinct inputs give
/// distinct keys.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const KEY_SEED: u64 = 0x5EED_0001;
const LOOKUP_SEED: u64 = 0x5EED_0002;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .map(|a| {
            a.replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("argument {i} must be a count, not {a:?}"))
        })
        .unwrap_or(default)
}

fn median(xs: &[f64]) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// This thread's time on a processor so far, in ns, if the kernel says.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// The process's anonymous memory in transparent huge pages, as Linux reports it (in
/// `/proc/self/smaps_rollup`), if readable: whether the map's memory was in huge pages
/// (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1` asks glibc's malloc for them) changes both
/// times, through the TLB misses of every lookup.
fn huge_pages() -> Option<String> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = rollup.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    Some(
        line.split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Per-lookup times of one pass: wall-clock and on-processor, in ns.
#[derive(Clone, Copy)]
struct PassTime {
    wall: f64,
    cpu: Option<f64>,
}

impl PassTime {
    /// The time ratios are taken on.
    fn best(self) -> f64 {
        self.cpu.unwrap_or(self.wall)
    }
}

/// Times `pass` over `lookups` keys; returns its time and checksum.
fn timed(lookups: usize, pass: impl FnOnce() -> u64) -> (PassTime, u64) {
    let cpu_start = cpu_ns();
    let start = Instant::now();
    let sum = pass();
    let wall = start.elapsed().as_nanos() as f64;
    let cpu = cpu_start
        .zip(cpu_ns())
        .map(|(a, b)| b.saturating_sub(a) as f64 / lookups as f64);
    let wall = wall / lookups as f64;
    (PassTime { wall, cpu }, sum)
}

fn pass_get(map: &AlexMap<u64, u64>, lookups: &[u64]) -> u64 {
    let mut sum = 0u64;
    for k in lookups {
        if let Some(v) = map.get(k) {
            sum = sum.wrapping_add(*v);
        }
    }
    sum
}

fn pass_get_many(map: &AlexMap<u64, u64>, lookups: &[u64], batch: usize) -> u64 {
    let mut sum = 0u64;
    let mut out = Vec::with_capacity(batch);
    for chunk in lookups.chunks(batch) {
        map.get_many(chunk, &mut out);
        for v in out.iter().flatten() {
            sum = sum.wrapping_add(**v);
        }
    }
    sum
}

fn pass_for_each(map: &AlexMap<u64, u64>, lookups: &[u64], batch: usize) -> u64 {
    let mut sum = 0u64;
    for chunk in lookups.chunks(batch) {
        map.for_each_get(chunk, |_, v| {
            if let Some(v) = v {
                sum = sum.wrapping_add(*v);
            }
        });
    }
    sum
}

const NAMES: [&str; 3] = ["get", "get_many", "for_each_get"];

fn main() {
    let n = arg(1, 10_000_000).max(1);
    let reps = arg(2, 7).max(1);
    let batch = arg(3, 256).max(1);
    let m = arg(4, 5_000_000).max(1);

    let mut keys: Vec<u64> = (0..n as u64).map(|i| mix(KEY_SEED ^ mix(i))).collect();
    keys.sort_unstable();
    let pairs: Vec<(u64, u64)> = keys.iter().map(|&k| (k, mix(k))).collect();
    let build = Instant::now();
    let map = AlexMap::bulk_load_slice(&pairs).expect("distinct sorted keys");
    let build_s = build.elapsed().as_secs_f64();
    drop(pairs);
    let stats = map.stats();
    println!(
        "keys {n}, lookups {m}, batch {batch}, reps {reps}; built in {build_s:.1} s: height {}, {} inner nodes, {} data nodes",
        stats.height, stats.inner_nodes, stats.data_nodes
    );
    let lookups: Vec<u64> = (0..m as u64)
        .map(|i| keys[(mix(LOOKUP_SEED ^ mix(i)) % n as u64) as usize])
        .collect();
    drop(keys);
    if let Some(huge) = huge_pages() {
        println!("anonymous memory in huge pages: {huge}");
    }

    let mut times: [Vec<PassTime>; 3] = Default::default();
    let mut sums = [None; 3];
    for rep in 0..reps {
        for j in 0..3 {
            let which = (rep + j) % 3;
            let (time, sum) = timed(m, || match which {
                0 => pass_get(&map, &lookups),
                1 => pass_get_many(&map, &lookups, batch),
                _ => pass_for_each(&map, &lookups, batch),
            });
            times[which].push(time);
            assert_eq!(*sums[which].get_or_insert(sum), sum, "checksum changed");
        }
        let line: Vec<String> = (0..3)
            .map(|w| {
                let t = times[w][rep];
                match t.cpu {
                    Some(cpu) => format!("{} {:.1} ns ({:.1} wall)", NAMES[w], cpu, t.wall),
                    None => format!("{} {:.1} ns wall", NAMES[w], t.wall),
                }
            })
            .collect();
        println!("rep {rep}: {}", line.join(", "));
    }
    let on_cpu = times.iter().flatten().all(|t| t.cpu.is_some());
    let clock = if on_cpu { "on-processor" } else { "wall-clock" };
    let med = |w: usize, f: fn(PassTime) -> f64| {
        median(&times[w].iter().map(|&t| f(t)).collect::<Vec<_>>())
    };
    let ratio = |w: usize| {
        let r: Vec<f64> = (0..reps)
            .map(|rep| times[0][rep].best() / times[w][rep].best())
            .collect();
        median(&r)
    };
    println!(
        "median ({clock}): get {:.1} ns/lookup, get_many {:.1}, for_each_get {:.1}; wall-clock: {:.1}, {:.1}, {:.1}",
        med(0, PassTime::best),
        med(1, PassTime::best),
        med(2, PassTime::best),
        med(0, |t| t.wall),
        med(1, |t| t.wall),
        med(2, |t| t.wall),
    );
    println!(
        "median ratio of get's time to: get_many {:.2}, for_each_get {:.2}",
        ratio(1),
        ratio(2)
    );
    let sums = sums.map(|s| s.expect("at least one repetition"));
    println!(
        "checksums: get {:#018x}, get_many {:#018x}, for_each_get {:#018x}",
        sums[0], sums[1], sums[2]
    );
    assert!(sums[0] == sums[1] && sums[1] == sums[2], "checksums differ");
}
