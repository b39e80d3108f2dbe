//! Runs every selected workload on every selected system for one (key set, scale), times
//! each repetition, checks that the systems' checksums agree, and measures memory.

use crate::alloc;
use crate::error::BenchError;
use crate::keys::KeySet;
use crate::latency::{median_of, time_puts, PutLatency};
use crate::memory;
use crate::systems::{Phase, System, SystemId, FOLD_NEW};
use crate::workload::{OpCounts, Plan, TxnMode, Workload, SCAN_LEN};
use indicatif::ProgressBar;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Aborts the process, naming the step, when one step (a build or one workload's batch) runs
/// longer than the limit: a system that hangs must fail the run loudly, not stall CI.
/// Called with the stalled step's name before the process exits (to save partial results).
pub type StallHook = Box<dyn Fn(&str) + Send>;

#[derive(Clone)]
pub struct Watchdog {
    current: Arc<Mutex<Option<(String, Instant)>>>,
    on_stall: Arc<Mutex<Option<StallHook>>>,
}

impl Watchdog {
    /// Starts the watching thread; `limit` of zero disables it.
    pub fn start(limit: Duration) -> Self {
        let current: Arc<Mutex<Option<(String, Instant)>>> = Arc::new(Mutex::new(None));
        let on_stall: Arc<Mutex<Option<StallHook>>> = Arc::new(Mutex::new(None));
        if !limit.is_zero() {
            let watched = Arc::clone(&current);
            let hook = Arc::clone(&on_stall);
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(200));
                let stalled = {
                    let guard = watched.lock().unwrap_or_else(PoisonError::into_inner);
                    guard
                        .as_ref()
                        .filter(|(_, since)| since.elapsed() > limit)
                        .map(|(step, _)| step.clone())
                };
                if let Some(step) = stalled {
                    eprintln!(
                        "\n!!!!!!!! STALLED !!!!!!!! {step} has run for more than {} s \
                         (--step-timeout); aborting the benchmark",
                        limit.as_secs()
                    );
                    if let Some(f) = hook.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                        f(&step);
                    }
                    std::process::exit(3);
                }
            });
        }
        Watchdog { current, on_stall }
    }

    /// Installs what to do (write the partial report) when a step stalls.
    pub fn set_on_stall(&self, hook: StallHook) {
        *self.on_stall.lock().unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    /// Marks the start of a step.
    pub fn step(&self, pb: &ProgressBar, label: String) {
        pb.set_message(label.clone());
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((label, Instant::now()));
    }

    /// Between steps: nothing to watch.
    pub fn idle(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

pub struct RunSettings {
    pub watchdog: Watchdog,
    pub reps: usize,
    /// Repetitions for the SQLite systems, redb and fjall (their microsecond figures vary
    /// little between repetitions and each costs a full rebuild of the table).
    pub sqlite_reps: usize,
    /// Repetitions of the two builds by random inserts, `BuildInserts` and `Grow` (the
    /// slowest figures; default 1).
    pub build_inserts_reps: usize,
    pub counts: OpCounts,
    pub workloads: Vec<Workload>,
    pub systems: Vec<SystemId>,
    pub tmp_dir: PathBuf,
}

impl RunSettings {
    pub fn reps_for(&self, id: SystemId) -> usize {
        if id.uses_store_reps() {
            self.sqlite_reps.clamp(1, self.reps)
        } else {
            self.reps
        }
    }
}

/// One figure: a (system, key set, scale, workload) with its repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub system: String,
    pub keyset: String,
    pub scale: String,
    pub workload: String,
    /// Median over repetitions, nanoseconds per operation.
    pub ns_per_op: f64,
    /// 1e9 / ns_per_op.
    pub ops_per_sec: f64,
    /// Fastest and slowest repetition, ns per operation.
    pub min: f64,
    pub max: f64,
    /// Bytes the structure holds after the build this workload ran on (for `Grow`, after its
    /// inserts): counting-allocator delta for in-process maps; `sqlite3_memory_used` delta
    /// plus the Rust-side delta for SQLite (its file is in `file_bytes`).
    pub heap_bytes: Option<u64>,
    /// Process peak RSS (VmHWM) during this system's run at this key set and scale,
    /// process-wide: includes the key arrays and operation lists.
    pub peak_rss_bytes: Option<u64>,
    /// Largest process-wide `AnonHugePages` (anonymous memory in transparent huge pages)
    /// sampled during this system's run at this key set and scale, in bytes.
    pub anon_huge_pages_bytes: Option<u64>,
    pub system_label: String,
    pub keys: usize,
    pub ops: usize,
    pub reps: usize,
    pub checksum: String,
    pub sqlite_memory_bytes: Option<u64>,
    pub file_bytes: Option<u64>,
    /// Build sub-phases (SQLite load / CREATE INDEX), median seconds.
    pub phases: Vec<PhaseSummary>,
    /// The put-latency workload's percentiles and windows (each field's median over
    /// repetitions); absent for every other workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub put_latency: Option<PutLatency>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseSummary {
    pub name: &'static str,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

impl Results {
    pub fn append(&mut self, other: Results) {
        self.records.extend(other.records);
        self.memory.extend(other.memory);
        self.trees.extend(other.trees);
        self.mismatches.extend(other.mismatches);
        self.durable.extend(other.durable);
        self.fdatasync_us = self.fdatasync_us.or(other.fdatasync_us);
    }
}

/// Memory of one system at one key set and scale.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRecord {
    pub system: SystemId,
    pub keyset: String,
    pub scale: String,
    pub keys: usize,
    /// Counting-allocator delta across the bulk build (what the structure holds).
    pub heap_after_bulk: Option<u64>,
    /// Highest allocator level above the pre-build level during the bulk build.
    pub build_peak_heap: Option<u64>,
    /// Counting-allocator delta across the build by random inserts.
    pub heap_after_inserts: Option<u64>,
    /// Counting-allocator delta from before the grow's bulk load of two thirds of the keys
    /// to after its inserts of the last third: what the structure holds after growing 50%.
    pub heap_after_grow: Option<u64>,
    pub sqlite_memory_bulk: Option<u64>,
    pub sqlite_memory_inserts: Option<u64>,
    /// `sqlite3_memory_used` after the grow's inserts.
    pub sqlite_memory_grow: Option<u64>,
    pub file_bytes_bulk: Option<u64>,
    pub peak_rss: Option<u64>,
    pub rss_before: Option<u64>,
    /// Largest process-wide `AnonHugePages` sampled during this system's turns: after each
    /// build's structure is complete (before it is cleared) and after each turn.
    pub anon_huge_pages: Option<u64>,
}

impl MemoryRecord {
    /// Samples `AnonHugePages` (a reading, not a kernel-kept peak) and keeps the largest.
    fn sample_huge_pages(&mut self) {
        self.anon_huge_pages = max_known(self.anon_huge_pages, memory::anon_huge_pages_bytes());
    }
}

/// The larger of two optional readings, or whichever is known.
fn max_known(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// AlexMap's statistics after the bulk build.
#[derive(Debug, Clone, Serialize)]
pub struct TreeRecord {
    pub system: SystemId,
    pub keyset: String,
    pub scale: String,
    pub keys: usize,
    pub height: usize,
    pub inner_nodes: usize,
    pub data_nodes: usize,
    pub min_keys_per_data_node: usize,
    pub mean_keys_per_data_node: f64,
    pub max_keys_per_data_node: usize,
    pub avg_density: f64,
    pub bytes_per_key: f64,
    pub heap_keys: usize,
    pub heap_values: usize,
    pub heap_slack: usize,
    pub heap_index_overhead: usize,
    pub heap_total: usize,
    /// The counting allocator's figure for the same map.
    pub allocator_heap: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub keyset: String,
    pub scale: String,
    pub workload: String,
    pub reference_system: String,
    pub reference: String,
    pub system: String,
    pub rep: usize,
    pub checksum: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    pub records: Vec<Record>,
    pub memory: Vec<MemoryRecord>,
    pub trees: Vec<TreeRecord>,
    pub mismatches: Vec<Mismatch>,
    /// Durable commits (durability.rs), one record per (system, writer threads).
    pub durable: Vec<Record>,
    /// Median `write` + `fdatasync` of the disk the durable commits ran on, microseconds.
    pub fdatasync_us: Option<f64>,
}

/// "10M", "100K", "1.71M".
pub fn scale_label(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000_000 {
        let s = format!("{:.2}", n as f64 / 1e6);
        format!("{}M", s.trim_end_matches('0').trim_end_matches('.'))
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}K", n / 1000)
    } else if n >= 1000 {
        let s = format!("{:.1}", n as f64 / 1e3);
        format!("{}K", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        n.to_string()
    }
}

#[derive(Default)]
struct Samples {
    ns_per_op: Vec<f64>,
    checksums: Vec<u64>,
    phases: Vec<Vec<Phase>>,
    put_latency: Vec<PutLatency>,
    ops: usize,
}

impl Samples {
    /// One repetition: `ops` operations in `dt`, whose answers fold to `checksum`.
    fn push(&mut self, dt: Duration, ops: usize, checksum: u64) {
        self.ns_per_op
            .push(dt.as_nanos() as f64 / ops.max(1) as f64);
        self.checksums.push(checksum);
        self.ops = ops;
    }
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let median = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    (median, s[0], s[s.len() - 1])
}

/// Workload steps for the progress bar: one per (supported workload, repetition) that
/// `run_turn` runs, so the bar ends full.
pub fn steps(settings: &RunSettings) -> u64 {
    settings
        .systems
        .iter()
        .map(|&id| {
            let sys = id.create(&settings.tmp_dir);
            let reps = settings.reps_for(id);
            settings
                .workloads
                .iter()
                .filter(|w| runs(sys.as_ref(), **w))
                .map(|w| match w {
                    Workload::BuildInserts | Workload::Grow => {
                        reps.min(settings.build_inserts_reps)
                    }
                    _ => reps,
                } as u64)
                .sum::<u64>()
        })
        .sum()
}

/// Whether `run_turn` runs `w` on `sys`: the batched lookups only where the system has them.
fn runs(sys: &dyn System, w: Workload) -> bool {
    sys.supports(w) && (w != Workload::LookupBatch || sys.batches_lookups())
}

fn check_len(sys: &mut dyn System, want: usize) -> Result<(), BenchError> {
    let got = sys.key_count()?;
    if got != want {
        return Err(BenchError::Usage(format!(
            "{} holds {got} keys after its build, expected {want}",
            sys.id().name()
        )));
    }
    Ok(())
}

pub fn run_scale(
    ks: &KeySet,
    plan: &Plan,
    settings: &RunSettings,
    pb: &ProgressBar,
    results: &mut Results,
) -> Result<(), BenchError> {
    let n = ks.base.len();
    let scale = scale_label(n);
    let wd = &settings.watchdog;
    // Repetitions run round-robin: every system's first repetition, then every system's
    // second (starting one system later), and so on. On a shared machine whose speed
    // drifts over minutes, this keeps the systems' samples interleaved in time, so a slow
    // spell lands on all of them rather than on whichever system ran through it (the
    // ratios are what the report compares).
    let mut runs: Vec<SystemRun> = settings
        .systems
        .iter()
        .map(|&id| SystemRun {
            id,
            sys: id.create(&settings.tmp_dir),
            samples: BTreeMap::new(),
            mem: MemoryRecord {
                system: id,
                keyset: ks.name.clone(),
                scale: scale.clone(),
                keys: n,
                heap_after_bulk: None,
                build_peak_heap: None,
                heap_after_inserts: None,
                heap_after_grow: None,
                sqlite_memory_bulk: None,
                sqlite_memory_inserts: None,
                sqlite_memory_grow: None,
                file_bytes_bulk: None,
                peak_rss: None,
                rss_before: None,
                anon_huge_pages: None,
            },
        })
        .collect();
    let rounds = runs
        .iter()
        .map(|r| settings.reps_for(r.id))
        .max()
        .unwrap_or(0);
    for rep in 0..rounds {
        // Each round starts one system later, so no system always follows the same one
        // (round 0 keeps the order given).
        let count = runs.len();
        for w in 0..count {
            let run = &mut runs[(w + rep) % count];
            if rep >= settings.reps_for(run.id) {
                continue;
            }
            // Peak RSS covers this system's turns only: reset before each, the highest
            // kept. Where it cannot be reset, only the first round's figure is kept, which
            // covers this system and those before it in the order given.
            let reset = memory::reset_peak_rss();
            if rep == 0 {
                run.mem.rss_before = memory::rss_bytes();
            }
            run_turn(run, rep, ks, plan, settings, pb, results)?;
            wd.idle();
            if reset || rep == 0 {
                run.mem.peak_rss = max_known(run.mem.peak_rss, memory::peak_rss_bytes());
            }
            run.mem.sample_huge_pages();
        }
    }
    // (workload -> system -> samples), systems in the order given.
    let mut all: BTreeMap<Workload, Vec<(SystemId, Samples)>> = BTreeMap::new();
    for run in runs {
        for (w, s) in run.samples {
            all.entry(w).or_default().push((run.id, s));
        }
        results.memory.push(run.mem);
        if pb.is_hidden() {
            eprintln!("  done: {} {scale} {}", ks.name, run.id.name());
        }
    }

    for (w, per_system) in all {
        let Some((ref_id, ref_samples)) = per_system.first() else {
            continue;
        };
        let reference = ref_samples.checksums[0];
        for (id, s) in &per_system {
            for (rep, &c) in s.checksums.iter().enumerate() {
                if c != reference {
                    let m = Mismatch {
                        keyset: ks.name.clone(),
                        scale: scale.clone(),
                        workload: w.name().to_string(),
                        reference_system: ref_id.name().to_string(),
                        reference: format!("{reference:016x}"),
                        system: id.name().to_string(),
                        rep,
                        checksum: format!("{c:016x}"),
                    };
                    pb.suspend(|| {
                        eprintln!(
                            "\n!!!!!!!! CHECKSUM MISMATCH !!!!!!!! {} {} {}: {} rep {} gave {}, {} gave {}\n",
                            m.keyset, m.scale, m.workload, m.system, m.rep, m.checksum,
                            m.reference_system, m.reference
                        )
                    });
                    results.mismatches.push(m);
                }
            }
            let mem = results
                .memory
                .iter()
                .rev()
                .find(|m| m.system == *id && m.keyset == ks.name && m.scale == scale);
            let (median, min, max) = stats(&s.ns_per_op);
            let (heap, sqlite_mem, file) = match mem {
                Some(m) if w == Workload::BuildInserts => {
                    (m.heap_after_inserts, m.sqlite_memory_inserts, None)
                }
                Some(m) if w == Workload::Grow => (m.heap_after_grow, m.sqlite_memory_grow, None),
                Some(m) => (m.heap_after_bulk, m.sqlite_memory_bulk, m.file_bytes_bulk),
                None => (None, None, None),
            };
            let heap_bytes = match (heap, sqlite_mem) {
                (Some(h), Some(q)) => Some(h + q),
                (h, None) => h,
                (None, q) => q,
            };
            let phases = phase_summaries(&s.phases);
            results.records.push(Record {
                system: id.name().to_string(),
                keyset: ks.name.clone(),
                scale: scale.clone(),
                workload: w.name().to_string(),
                ns_per_op: median,
                ops_per_sec: if median > 0.0 { 1e9 / median } else { 0.0 },
                min,
                max,
                heap_bytes,
                peak_rss_bytes: mem.and_then(|m| m.peak_rss),
                anon_huge_pages_bytes: mem.and_then(|m| m.anon_huge_pages),
                system_label: id.label().to_string(),
                keys: n,
                ops: s.ops,
                reps: s.ns_per_op.len(),
                checksum: format!("{:016x}", s.checksums[0]),
                sqlite_memory_bytes: sqlite_mem,
                file_bytes: file,
                phases,
                put_latency: median_of(&s.put_latency),
            });
        }
    }
    Ok(())
}

/// One system's state across its repetitions at one (key set, scale).
struct SystemRun {
    id: SystemId,
    sys: Box<dyn System>,
    samples: BTreeMap<Workload, Samples>,
    mem: MemoryRecord,
}

/// One repetition of one system: the bulk build and the workloads on it, then the build
/// by random inserts and the grow when they are wanted; the system is cleared after each.
fn run_turn(
    run: &mut SystemRun,
    rep: usize,
    ks: &KeySet,
    plan: &Plan,
    settings: &RunSettings,
    pb: &ProgressBar,
    results: &mut Results,
) -> Result<(), BenchError> {
    let n = ks.base.len();
    let scale = scale_label(n);
    let wd = &settings.watchdog;
    let wants = |w: Workload| settings.workloads.contains(&w);
    // The two builds by random inserts make structures of their own.
    let needs_bulk = settings
        .workloads
        .iter()
        .any(|w| !matches!(w, Workload::BuildInserts | Workload::Grow));
    let heap_known = alloc::is_installed();
    let id = run.id;
    let sys = run.sys.as_mut();
    let samples = &mut run.samples;
    let mem = &mut run.mem;
    if needs_bulk {
        wd.step(pb, format!("{} {scale} {}: build-bulk", ks.name, id.name()));
        let heap0 = alloc::current_bytes();
        alloc::reset_peak();
        let t = Instant::now();
        let phases = sys.build_bulk(&plan.sorted_pairs)?;
        let dt = t.elapsed();
        let heap = alloc::current_bytes().saturating_sub(heap0) as u64;
        let peak = alloc::peak_bytes().saturating_sub(heap0) as u64;
        check_len(sys, n)?;
        if rep == 0 {
            let ext = sys.external_memory();
            mem.heap_after_bulk = heap_known.then_some(heap);
            mem.build_peak_heap = heap_known.then_some(peak);
            mem.sqlite_memory_bulk = ext.sqlite_memory_bytes;
            mem.file_bytes_bulk = ext.file_bytes;
            if let Some(t) = sys.tree_stats() {
                results
                    .trees
                    .push(tree_record(id, ks, &scale, &t, mem.heap_after_bulk));
            }
        }
        if wants(Workload::BuildBulk) && sys.supports(Workload::BuildBulk) {
            let s = samples.entry(Workload::BuildBulk).or_default();
            s.push(dt, n, n as u64);
            s.phases.push(phases);
            pb.inc(1);
        }
        // Warm-up: untimed lookups, so caches and branch predictors are in the same
        // state for every system.
        if settings.workloads.iter().any(|w| !w.is_mutating())
            && sys.supports(Workload::LookupUniform)
        {
            std::hint::black_box(sys.lookups(&plan.warmup, TxnMode::OneTransaction)?);
        }
        let order = Workload::ALL.into_iter().filter(|w| {
            !matches!(
                w,
                Workload::BuildBulk | Workload::BuildInserts | Workload::Grow
            )
        });
        for w in order {
            if !wants(w) || !runs(sys, w) {
                continue;
            }
            wd.step(
                pb,
                format!("{} {scale} {}: {}", ks.name, id.name(), w.name()),
            );
            let ops = plan.ops(w, settings.counts.autocommit);
            // Set by the workloads that time themselves (not the whole call).
            let mut measured = None;
            let mut put_latency = None;
            let t = Instant::now();
            let checksum = match w {
                Workload::LookupUniform => sys.lookups(&plan.uniform, TxnMode::OneTransaction)?,
                Workload::LookupBatch => sys.lookup_batches(&plan.uniform)?,
                Workload::LookupZipf => sys.lookups(&plan.zipf, TxnMode::OneTransaction)?,
                Workload::LookupAbsent => sys.lookups(&plan.absent, TxnMode::OneTransaction)?,
                Workload::LookupAutocommit => {
                    sys.lookups(&plan.uniform[..ops], TxnMode::Autocommit)?
                }
                Workload::RangeScan => sys.range_scans(&plan.scan_starts, SCAN_LEN)?,
                Workload::InsertOnly => sys.inserts(&plan.insert_only)?,
                Workload::ReadHeavy => sys.mixed(&plan.read_heavy)?,
                Workload::WriteHeavy => sys.mixed(&plan.write_heavy)?,
                Workload::Delete => sys.deletes(&plan.deletes)?,
                Workload::PutLatency => {
                    let (dt, stats) = time_puts(&plan.put_latency, |k, v| sys.put(k, v))?;
                    measured = Some(dt);
                    put_latency = Some(stats);
                    // Every put is of a new key, as in the insert workloads.
                    FOLD_NEW.wrapping_mul(plan.put_latency.len() as u64)
                }
                Workload::Reopen => {
                    sys.reopen()?;
                    measured = Some(t.elapsed());
                    // Untimed: the count every system must agree on (SQLite's
                    // count(*) reads the whole table).
                    sys.key_count()? as u64
                }
                Workload::BuildBulk | Workload::BuildInserts | Workload::Grow => unreachable!(),
            };
            let dt = measured.unwrap_or_else(|| t.elapsed());
            let s = samples.entry(w).or_default();
            s.push(dt, ops, checksum);
            s.put_latency.extend(put_latency);
            pb.inc(1);
        }
        mem.sample_huge_pages();
        sys.clear()?;
    }
    if wants(Workload::BuildInserts)
        && sys.supports(Workload::BuildInserts)
        && rep < settings.build_inserts_reps
    {
        wd.step(
            pb,
            format!("{} {scale} {}: build-inserts", ks.name, id.name()),
        );
        let heap0 = alloc::current_bytes();
        let t = Instant::now();
        let phases = sys.build_inserts(&plan.shuffled_pairs)?;
        let dt = t.elapsed();
        let heap = alloc::current_bytes().saturating_sub(heap0) as u64;
        check_len(sys, n)?;
        if rep == 0 {
            mem.heap_after_inserts = heap_known.then_some(heap);
            mem.sqlite_memory_inserts = sys.external_memory().sqlite_memory_bytes;
        }
        let s = samples.entry(Workload::BuildInserts).or_default();
        s.push(dt, n, n as u64);
        s.phases.push(phases);
        mem.sample_huge_pages();
        sys.clear()?;
        pb.inc(1);
    }
    // The index's memory target is stated for a bulk load followed by 50% more random
    // inserts: load two thirds of the keys, insert the rest, and measure what is held.
    if wants(Workload::Grow) && sys.supports(Workload::Grow) && rep < settings.build_inserts_reps {
        wd.step(pb, format!("{} {scale} {}: grow", ks.name, id.name()));
        // From before the bulk load: the heap the grown structure holds, whatever of the
        // loaded structure its inserts kept or replaced.
        let heap0 = alloc::current_bytes();
        sys.build_bulk(&plan.grow_base)?;
        let t = Instant::now();
        let checksum = sys.inserts(&plan.grow_inserts)?;
        let dt = t.elapsed();
        let heap = alloc::current_bytes().saturating_sub(heap0) as u64;
        check_len(sys, n)?;
        if rep == 0 {
            mem.heap_after_grow = heap_known.then_some(heap);
            mem.sqlite_memory_grow = sys.external_memory().sqlite_memory_bytes;
        }
        let ops = plan.ops(Workload::Grow, settings.counts.autocommit);
        samples
            .entry(Workload::Grow)
            .or_default()
            .push(dt, ops, checksum);
        mem.sample_huge_pages();
        sys.clear()?;
        pb.inc(1);
    }
    Ok(())
}

fn phase_summaries(reps: &[Vec<Phase>]) -> Vec<PhaseSummary> {
    let Some(first) = reps.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let secs: Vec<f64> = reps
                .iter()
                .filter_map(|r| r.get(i).map(|p| p.seconds))
                .collect();
            let (median_s, min_s, max_s) = stats(&secs);
            PhaseSummary {
                name: p.name,
                median_s,
                min_s,
                max_s,
            }
        })
        .collect()
}

fn tree_record(
    id: SystemId,
    ks: &KeySet,
    scale: &str,
    t: &alex::TreeStats,
    allocator_heap: Option<u64>,
) -> TreeRecord {
    TreeRecord {
        system: id,
        keyset: ks.name.clone(),
        scale: scale.to_string(),
        keys: t.num_keys,
        height: t.height,
        inner_nodes: t.inner_nodes,
        data_nodes: t.data_nodes,
        min_keys_per_data_node: t.min_keys_per_data_node,
        mean_keys_per_data_node: t.mean_keys_per_data_node,
        max_keys_per_data_node: t.max_keys_per_data_node,
        avg_density: t.avg_density,
        bytes_per_key: t.bytes_per_key(),
        heap_keys: t.heap.keys,
        heap_values: t.heap.values,
        heap_slack: t.heap.slack,
        heap_index_overhead: t.heap.index_overhead,
        heap_total: t.heap.total(),
        allocator_heap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_labels() {
        assert_eq!(scale_label(10_000_000), "10M");
        assert_eq!(scale_label(1_712_923), "1.71M");
        assert_eq!(scale_label(100_000), "100K");
        assert_eq!(scale_label(1_500), "1.5K");
        assert_eq!(scale_label(999), "999");
    }

    #[test]
    fn median_min_max() {
        assert_eq!(stats(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(stats(&[4.0, 1.0]), (2.5, 1.0, 4.0));
    }
}
