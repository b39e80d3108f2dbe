//! `omendb-bench`: one command that reproduces every benchmark table.
//!
//! `cargo run --release -p omendb-bench -- [--scale 1M,10M] [--keyset uniform,lognormal,file]
//! [--keys PATH] [--grow-to N] [--systems ...] [--workloads ...] [--reps N] [--ops N] [--seed S]
//! [--put-latency-puts N] [--json PATH] [--svg DIR] [--out PATH] [--quick] [--huge-pages]`

#![deny(unsafe_code)]

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use omendb_bench::alloc::CountingAlloc;
use omendb_bench::durability::{probe_disk, run_durability, DurableSettings, DurableSystem};
use omendb_bench::error::BenchError;
use omendb_bench::keyfile::{read_key_file, KeyFileFormat};
use omendb_bench::keys::{generate, grow, Distribution, KeySet};
use omendb_bench::memory::{HugePageSetting, MALLOC_HUGETLB};
use omendb_bench::report::{markdown, KeySetInfo, ReportContext};
use omendb_bench::rng::derive_seed;
use omendb_bench::runner::{run_scale, scale_label, steps, Record, Results, RunSettings, Watchdog};
use omendb_bench::systems::SystemId;
use omendb_bench::workload::{OpCounts, Plan, Workload};
use omendb_bench::{memory, plot};
use serde::Serialize;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const DEFAULT_SEED: u64 = 0x0DE7_B007;
const DEFAULT_OPS: usize = 1_000_000;
const QUICK_OPS: usize = 20_000;
const QUICK_SCALE: usize = 100_000;

#[derive(Parser, Debug)]
#[command(
    name = "omendb-bench",
    version,
    about = "Benchmarks AlexMap against BTreeMap and SQLite, and OmenDB against SQLite, redb and fjall"
)]
struct Cli {
    /// Key counts, comma separated (K, M, G suffixes): e.g. 1M,10M,50M. Default 10M (100K with --quick).
    #[arg(long, value_delimiter = ',', value_parser = parse_scale)]
    scale: Option<Vec<usize>>,
    /// Key sets: uniform, lognormal, normal, timestamps, clustered, file. Default:
    /// uniform,lognormal plus `file`: the --keys files, or else every key file in shared/data
    /// and in this repository's data/ directory.
    #[arg(long, value_delimiter = ',')]
    keyset: Option<Vec<String>>,
    /// Key file(s): SOSD binary (u64 LE count, then keys) or text, one key per line (detected).
    #[arg(long)]
    keys: Vec<PathBuf>,
    /// Grow every key file's set to N keys in the structures (K, M, G suffixes), keeping its
    /// clusters and gaps: each real key stays and is followed by an equal share of new keys,
    /// spaced like the real keys around it and never past the next real key (runs of
    /// consecutive keys grow longer). The new keys the insert workloads need are grown too,
    /// so the file's set holds N plus those; deterministic from --seed. --scale defaults to N;
    /// a file that already holds that many keys is used as it is. Synthetic key sets ignore
    /// it. The report names a grown set `<file>-grown`.
    #[arg(long, value_parser = parse_scale)]
    grow_to: Option<usize>,
    /// Systems to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    systems: Option<Vec<SystemId>>,
    /// Workloads to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Option<Vec<Workload>>,
    /// Repetitions per figure (median reported). Default 3 (2 with --quick).
    #[arg(long)]
    reps: Option<usize>,
    /// Repetitions for the SQLite systems, redb and fjall (each rebuilds a whole table).
    /// Default 1.
    #[arg(long, default_value_t = 1)]
    sqlite_reps: usize,
    /// Repetitions of the two builds by random inserts, build-inserts and grow (the slowest
    /// figures). Default 1.
    #[arg(long, default_value_t = 1)]
    build_inserts_reps: usize,
    /// Uniform lookups per repetition; the other workloads scale from it. Default 1M (20K with --quick).
    #[arg(long)]
    ops: Option<usize>,
    /// Most puts of one put-latency run (each takes at most half the loaded keys). Default a
    /// twentieth of --ops: 50K (1K with --quick).
    #[arg(long)]
    put_latency_puts: Option<usize>,
    /// Master seed; every key set and operation list derives from it.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Write the records as a JSON list here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write SVG plots (latency and memory against scale) into this directory.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Write the markdown report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A run of a few seconds (100K keys, fewer operations) for CI.
    #[arg(long)]
    quick: bool,
    /// Abort (exit status 3) when one step runs longer than this many seconds; 0 = never.
    /// Default 600 (60 with --quick).
    #[arg(long)]
    step_timeout: Option<u64>,
    /// Directory for the on-disk databases, SQLite's, OmenDB's, redb's and fjall's (default:
    /// the system temp directory). The durable-commit figures measure this directory's disk.
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// Single-key durable commits per durable-put figure, split between the writer threads;
    /// 0 skips the table. Runs when `omendb`, `sqlite-disk`, `redb` or `fjall` is among the
    /// systems.
    /// Default 2000 (100 with --quick).
    #[arg(long)]
    durable_puts: Option<usize>,
    /// Writer thread counts for the durable commits.
    #[arg(long, value_delimiter = ',', default_value = "1,2,8")]
    durable_threads: Vec<usize>,
    /// Run every system with glibc's transparent-huge-page malloc tunable
    /// (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, appended to any tunables already set), by
    /// re-executing the benchmark with it set: malloc then advises the kernel to back its heap
    /// with huge pages, which cuts TLB misses on large structures. Process-wide, so it applies
    /// to every system alike. Needs Linux, glibc 2.35 or later and THP in `madvise` or `always`
    /// mode. glibc 2.35/2.36 apply the tunable in only some starts of a process, so a start
    /// where it did not take is dropped, before any work, for another (up to 20). The report
    /// states the setting and how much memory was in huge pages. Off by default, so the
    /// default figures are what an untuned process gets.
    #[arg(long)]
    huge_pages: bool,
}

fn parse_scale(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1e3),
        Some('M') => (&s[..s.len() - 1], 1e6),
        Some('G') => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bad scale {s:?}: expected a count like 500000, 100K, 10M or 1.5M"))?;
    if !v.is_finite() || v < 1.0 || v * mult > 1e10 {
        return Err(format!("scale {s:?} out of range (1 .. 10G)"));
    }
    Ok((v * mult).round() as usize)
}

/// A key set to run: a generator or a loaded file.
enum Source {
    Synthetic(Distribution),
    File {
        name: String,
        keys: Vec<u64>,
        note: String,
        origin: FileOrigin,
    },
}

/// Where a key file came from: the default run treats the repository's own files as extra
/// sets for the in-memory maps (see `trimmed` in `run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileOrigin {
    /// Named with --keys.
    Given,
    /// Found in shared/data.
    Shared,
    /// Found in this repository's data/ directory.
    Repo,
}

/// This repository's data/ directory of key files (see data/README.md).
fn repo_data_dir() -> Option<PathBuf> {
    // Canonical, so the report names the file without the crate's `../..`.
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"))
        .ok()
        .filter(|p| p.is_dir())
}

/// Loads every key file of `dir` (each regular file but the directory's markdown
/// documentation; subdirectories such as data/recipes are skipped), in name order. A file
/// that is not a key file is reported and skipped.
fn load_dir(dir: &Path, origin: FileOrigin, sources: &mut Vec<Source>) -> Result<(), BenchError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BenchError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    found.sort();
    for p in found {
        match load_file(&p, origin) {
            Ok(s) => sources.push(s),
            Err(e) => eprintln!("skipping {}: {e}", p.display()),
        }
    }
    Ok(())
}

fn shared_data_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        PathBuf::from("../shared/data"),
        manifest.join("../../../shared/data"),
        PathBuf::from("/work/shared/data"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

fn load_file(path: &Path, origin: FileOrigin) -> Result<Source, BenchError> {
    let f = read_key_file(path)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let note = format!(
        "{} ({} format, {} keys{}{})",
        path.display(),
        match f.format {
            KeyFileFormat::Sosd => "SOSD",
            KeyFileFormat::Text => "text",
        },
        f.keys.len(),
        if f.duplicates_removed > 0 {
            format!(", {} duplicates removed", f.duplicates_removed)
        } else {
            String::new()
        },
        if f.was_sorted { "" } else { ", sorted on load" }
    );
    Ok(Source::File {
        name,
        keys: f.keys,
        note,
        origin,
    })
}

fn resolve_sources(cli: &Cli) -> Result<Vec<Source>, BenchError> {
    let explicit = cli.keyset.clone();
    let names = explicit
        .clone()
        .unwrap_or_else(|| vec!["uniform".into(), "lognormal".into(), "file".into()]);
    let mut sources = Vec::new();
    for name in &names {
        let name = name.trim().to_ascii_lowercase();
        if name == "file" {
            if cli.keys.is_empty() {
                let dirs = [
                    (shared_data_dir(), FileOrigin::Shared),
                    (repo_data_dir(), FileOrigin::Repo),
                ];
                let mut any = false;
                for (dir, origin) in dirs {
                    if let Some(dir) = dir {
                        load_dir(&dir, origin, &mut sources)?;
                        any = true;
                    }
                }
                if !any && explicit.is_some() {
                    return Err(BenchError::Usage(
                        "--keyset file needs --keys PATH (no shared/data or data directory found)"
                            .into(),
                    ));
                }
                continue;
            }
            for p in &cli.keys {
                sources.push(load_file(p, FileOrigin::Given)?);
            }
        } else {
            let dist = Distribution::from_name(&name).ok_or_else(|| {
                BenchError::Usage(format!(
                    "unknown key set {name:?}: expected uniform, lognormal, normal, timestamps, clustered or file"
                ))
            })?;
            sources.push(Source::Synthetic(dist));
        }
    }
    Ok(sources)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.huge_pages {
        match reexec_with_huge_pages() {
            Ok(Some(code)) => std::process::exit(code),
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let huge_pages = HugePageSetting::current(cli.huge_pages);
    if huge_pages.ignored_by_glibc() {
        if let Some(attempt) = huge_pages_attempt() {
            if attempt < HUGE_PAGES_ATTEMPTS {
                // Before any work: the launching process starts another.
                std::process::exit(EXIT_RETRY_HUGE_PAGES);
            }
        }
        eprintln!(
            "omendb-bench: WARNING: {} is set but glibc's malloc is not applying it; the heap \
             is in small pages (the report says so)",
            huge_pages
                .malloc_hugetlb
                .as_deref()
                .unwrap_or(MALLOC_HUGETLB)
        );
    }
    match run(&cli, huge_pages) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("\nERROR: checksum mismatch between systems; see the report's first table.");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The tunable `--huge-pages` sets.
const HUGE_PAGES_TUNABLE: &str = "glibc.malloc.hugetlb=1";

/// Starts of the benchmark `--huge-pages` makes at most, looking for one whose glibc applies
/// the tunable (see `memory::malloc_advises_huge_pages`: on glibc 2.35/2.36 whether it does
/// varies from one start to the next, about half of them here). A start that does not costs
/// a few milliseconds, as it exits before any work.
const HUGE_PAGES_ATTEMPTS: u32 = 20;

/// Exit status of a `--huge-pages` child whose glibc did not apply the tunable.
const EXIT_RETRY_HUGE_PAGES: i32 = 75;

/// Environment variable numbering the starts of a `--huge-pages` child, from 1.
const HUGE_PAGES_ATTEMPT_VAR: &str = "OMENDB_BENCH_HUGE_PAGES_ATTEMPT";

/// Which start of a `--huge-pages` child this process is; `None` when it was not started
/// by `--huge-pages`. An unreadable number counts as the last start (no further retries).
fn huge_pages_attempt() -> Option<u32> {
    let v = std::env::var_os(HUGE_PAGES_ATTEMPT_VAR)?;
    Some(
        v.to_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(HUGE_PAGES_ATTEMPTS),
    )
}

/// `GLIBC_TUNABLES` with the huge-page tunable appended to what was there (if anything).
fn tunables_with_huge_pages(existing: Option<&OsStr>) -> OsString {
    match existing {
        Some(t) if !t.is_empty() => {
            let mut v = t.to_os_string();
            v.push(":");
            v.push(HUGE_PAGES_TUNABLE);
            v
        }
        _ => OsString::from(HUGE_PAGES_TUNABLE),
    }
}

/// For `--huge-pages`: glibc reads its tunables once, at start-up, so the benchmark runs
/// again as a child with the tunable in its environment and the same arguments (so the
/// report's command line is unchanged). A child whose glibc did not apply the tunable exits
/// at once with `EXIT_RETRY_HUGE_PAGES` and another is started, up to `HUGE_PAGES_ATTEMPTS`
/// (the last runs regardless and its report says so). Returns the exit code to leave with,
/// or `None` when this process should run the benchmark itself: `GLIBC_TUNABLES` already
/// names `glibc.malloc.hugetlb=` (this is the child, or the user chose a value, kept).
fn reexec_with_huge_pages() -> Result<Option<i32>, BenchError> {
    if let Some(entry) = omendb_bench::memory::malloc_hugetlb() {
        if !omendb_bench::memory::malloc_hugetlb_enabled(&entry) {
            eprintln!(
                "omendb-bench: --huge-pages: GLIBC_TUNABLES already sets {entry}; \
                 keeping it (huge pages off)"
            );
        }
        return Ok(None);
    }
    let existing = std::env::var_os("GLIBC_TUNABLES");
    let tunables = tunables_with_huge_pages(existing.as_deref());
    let reexec_error = |exe: String, source| BenchError::Reexec {
        exe,
        tunables: tunables.to_string_lossy().into_owned(),
        source,
    };
    let exe = std::env::current_exe()
        .map_err(|e| reexec_error("the benchmark (its path is unavailable)".into(), e))?;
    eprintln!(
        "omendb-bench: --huge-pages: re-running with GLIBC_TUNABLES={}",
        tunables.to_string_lossy()
    );
    let mut attempt = 1;
    let status = loop {
        let status = std::process::Command::new(&exe)
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", &tunables)
            .env(HUGE_PAGES_ATTEMPT_VAR, attempt.to_string())
            .status()
            .map_err(|e| reexec_error(exe.display().to_string(), e))?;
        if status.code() == Some(EXIT_RETRY_HUGE_PAGES) && attempt < HUGE_PAGES_ATTEMPTS {
            attempt += 1;
            continue;
        }
        break status;
    };
    if attempt > 1 {
        eprintln!(
            "omendb-bench: --huge-pages: glibc ignored the tunable in {} start(s) of the \
             benchmark before the one that ran",
            attempt - 1
        );
    }
    Ok(Some(match status.code() {
        Some(code) => code,
        None => {
            eprintln!("omendb-bench: the re-run benchmark ended without an exit code ({status})");
            killed_exit_code(&status)
        }
    }))
}

/// The shell's convention for a child killed by a signal: 128 + the signal number.
#[cfg(unix)]
fn killed_exit_code(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().map_or(1, |s| 128 + s)
}

#[cfg(not(unix))]
fn killed_exit_code(_status: &std::process::ExitStatus) -> i32 {
    1
}

fn run(cli: &Cli, huge_pages: HugePageSetting) -> Result<bool, BenchError> {
    let started = Instant::now();
    let scales = cli.scale.clone().unwrap_or_else(|| {
        vec![cli
            .grow_to
            .unwrap_or(if cli.quick { QUICK_SCALE } else { 10_000_000 })]
    });
    let reps = cli.reps.unwrap_or(if cli.quick { 2 } else { 3 }).max(1);
    let ops = cli
        .ops
        .unwrap_or(if cli.quick { QUICK_OPS } else { DEFAULT_OPS });
    let mut counts = OpCounts::from_lookups(ops);
    if let Some(puts) = cli.put_latency_puts {
        counts.put_latency = puts.max(1);
    }
    let mut systems = cli
        .systems
        .clone()
        .unwrap_or_else(|| SystemId::ALL.to_vec());
    systems.dedup();
    let mut workloads = cli
        .workloads
        .clone()
        .unwrap_or_else(|| Workload::ALL.to_vec());
    workloads.sort();
    workloads.dedup();
    let step_timeout = cli.step_timeout.unwrap_or(if cli.quick { 60 } else { 600 });
    let mut settings = RunSettings {
        watchdog: Watchdog::start(Duration::from_secs(step_timeout)),
        reps,
        sqlite_reps: cli.sqlite_reps.clamp(1, reps),
        build_inserts_reps: cli.build_inserts_reps.clamp(1, reps),
        counts,
        workloads,
        systems: systems.clone(),
        tmp_dir: cli.tmp_dir.clone().unwrap_or_else(std::env::temp_dir),
    };
    let mut sources = resolve_sources(cli)?;
    if sources.is_empty() {
        return Err(BenchError::Usage("no key set to run".into()));
    }

    // (source index, scale) pairs; file key sets run at most at their own size, once per size.
    let m = counts.new_keys_needed();
    if let Some(target) = cli.grow_to {
        for src in &mut sources {
            if let Source::File {
                name, keys, note, ..
            } = src
            {
                grow_file_keys(name, keys, note, target + m, cli.seed)?;
            }
        }
    }
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let mut sizes: Vec<usize> = Vec::new();
        for &s in &scales {
            let n = match src {
                Source::Synthetic(_) => s,
                Source::File { keys, .. } => {
                    if keys.len() >= s + m {
                        s
                    } else {
                        keys.len() - m.min(keys.len() / 5)
                    }
                }
            };
            if !sizes.contains(&n) {
                sizes.push(n);
                jobs.push((i, n));
            }
        }
    }

    let durable_puts = if systems.iter().any(|s| {
        matches!(
            s,
            SystemId::Omendb | SystemId::SqliteDisk | SystemId::Redb | SystemId::Fjall
        )
    }) {
        cli.durable_puts
            .unwrap_or(if cli.quick { 100 } else { 2000 })
    } else {
        0
    };
    let mut durable_threads: Vec<usize> = cli.durable_threads.iter().map(|&t| t.max(1)).collect();
    durable_threads.sort_unstable();
    durable_threads.dedup();
    let durable_steps = if durable_puts > 0 {
        (durable_threads.len() * DurableSystem::ALL.len()) as u64
    } else {
        0
    };
    // The default run keeps redb and fjall to the first synthetic key set and the key
    // files of shared/data: on lognormal keys they repeat uniform's story at a minute and a
    // half per 10M, which the default run's ten-minute budget cannot spare. The
    // repository's own key files (data/) are there to test the learned index on more kinds
    // of real keys: the default run gives them to the default AlexMap and BTreeMap alone
    // (every system on all of them would add over two minutes).
    let first_synthetic = sources
        .iter()
        .position(|s| matches!(s, Source::Synthetic(_)));
    let trimmed = |i: usize, systems: &[SystemId]| -> Vec<SystemId> {
        let keep = |s: &SystemId| -> bool {
            if cli.systems.is_some() {
                return true;
            }
            match &sources[i] {
                Source::Synthetic(_) => {
                    Some(i) == first_synthetic || !matches!(s, SystemId::Redb | SystemId::Fjall)
                }
                Source::File { origin, .. } => {
                    *origin != FileOrigin::Repo || matches!(s, SystemId::Alex | SystemId::Btree)
                }
            }
        };
        systems.iter().copied().filter(keep).collect()
    };
    let all_systems = settings.systems.clone();
    let per_scale: u64 = jobs
        .iter()
        .map(|&(i, _)| {
            settings.systems = trimmed(i, &all_systems);
            steps(&settings)
        })
        .sum();
    settings.systems = all_systems.clone();
    // Grow's lists are another copy of the pairs; made only when some system will run it.
    let grow = settings.workloads.contains(&Workload::Grow)
        && settings
            .systems
            .iter()
            .any(|id| id.create(&settings.tmp_dir).supports(Workload::Grow));
    let pb = ProgressBar::with_draw_target(
        Some(per_scale + durable_steps),
        ProgressDrawTarget::stderr(),
    );
    pb.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| BenchError::Usage(e.to_string()))?
            .progress_chars("=> "),
    );
    let peak_rss_reset_works = memory::reset_peak_rss();
    eprintln!(
        "omendb-bench: master seed {} ({:#x}), {} repetitions, {} lookups per lookup workload",
        cli.seed, cli.seed, reps, counts.lookups
    );

    let shared = Arc::new(Mutex::new(Partial {
        results: Results::default(),
        infos: Vec::new(),
    }));
    let outputs = Outputs {
        out: cli.out.clone(),
        json: cli.json.clone(),
        svg: cli.svg.clone(),
    };
    let context = |infos: Vec<KeySetInfo>, aborted: Option<String>| ReportContext {
        command: command_line(),
        cpu: memory::cpu_model(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seed: cli.seed,
        reps,
        sqlite_reps: cli.sqlite_reps.clamp(1, reps),
        build_inserts_reps: cli.build_inserts_reps.clamp(1, reps),
        counts,
        systems: systems.clone(),
        keysets: infos,
        elapsed_s: started.elapsed().as_secs_f64(),
        peak_rss_reset_works,
        huge_pages: huge_pages.clone(),
        aborted,
    };
    {
        let shared = Arc::clone(&shared);
        let outputs = outputs.clone();
        let base_ctx = context(Vec::new(), None);
        settings.watchdog.set_on_stall(Box::new(move |step| {
            let partial = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let mut ctx = base_ctx.clone();
            ctx.keysets = partial.infos.clone();
            ctx.elapsed_s = started.elapsed().as_secs_f64();
            ctx.aborted = Some(step.to_string());
            if let Err(e) = outputs.write(&partial.results, &ctx) {
                eprintln!("could not write the partial report: {e}");
            }
        }));
    }
    let mut infos: Vec<KeySetInfo> = Vec::new();
    for &(i, n) in &jobs {
        let src = &sources[i];
        let (name, pool, key_seed, describe) = match src {
            Source::Synthetic(d) => {
                let key_seed = derive_seed(cli.seed, &format!("keys:{}:{}", d.name(), n));
                settings
                    .watchdog
                    .step(&pb, format!("generating {} x {}", scale_label(n), d.name()));
                let pool = generate(*d, n + m, key_seed);
                (d.name().to_string(), pool, key_seed, describe_dist(*d))
            }
            Source::File {
                name, keys, note, ..
            } => {
                let key_seed = derive_seed(cli.seed, &format!("file:{name}:{n}"));
                (
                    name.clone(),
                    keys.clone(),
                    key_seed,
                    format!("key file {note}"),
                )
            }
        };
        let split_seed = derive_seed(key_seed, "split");
        let ks = KeySet::split(&name, pool, n, m, split_seed);
        let plan_seed = derive_seed(cli.seed, &format!("plan:{name}:{}", ks.base.len()));
        let seed_note = format!(
            "{}: {} keys + {} new keys for inserts, key seed {key_seed:#018x}, split seed {split_seed:#018x}, plan seed {plan_seed:#018x}",
            scale_label(ks.base.len()),
            ks.base.len(),
            ks.inserts.len()
        );
        pb.suspend(|| eprintln!("key set {name} at {seed_note}"));
        match infos.iter_mut().find(|k| k.name == name) {
            Some(info) => info.source.push_str(&format!("; {seed_note}")),
            None => infos.push(KeySetInfo {
                name: name.clone(),
                source: format!("{describe}; {seed_note}"),
            }),
        }
        let plan = Plan::new(&ks, &counts, plan_seed, grow);
        {
            let mut partial = shared.lock().unwrap_or_else(PoisonError::into_inner);
            partial.infos = infos.clone();
        }
        settings.watchdog.idle();
        let mut results = Results::default();
        settings.systems = trimmed(i, &all_systems);
        run_scale(&ks, &plan, &settings, &pb, &mut results)?;
        settings.systems = all_systems.clone();
        settings.watchdog.idle();
        shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .results
            .append(results);
    }
    if durable_puts > 0 {
        let probe = probe_disk(&settings.tmp_dir)?;
        pb.suspend(|| {
            eprintln!(
                "durable commits: {durable_puts} puts per figure; this disk's write + fdatasync takes {:.0} us (median)",
                probe.fdatasync_us
            )
        });
        let durable = run_durability(
            &DurableSettings {
                puts: durable_puts,
                threads: durable_threads,
                reps,
                store_reps: settings.sqlite_reps,
                tmp_dir: settings.tmp_dir.clone(),
                seed: cli.seed,
            },
            |step| {
                settings.watchdog.step(&pb, step.to_string());
                pb.inc(1);
            },
        )?;
        settings.watchdog.idle();
        let mut partial = shared.lock().unwrap_or_else(PoisonError::into_inner);
        partial.results.durable = durable;
        partial.results.fdatasync_us = Some(probe.fdatasync_us);
    }
    pb.finish_and_clear();

    let results = shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .results
        .clone();
    outputs.write(&results, &context(infos, None))?;
    if !results.mismatches.is_empty() {
        for m in &results.mismatches {
            eprintln!(
                "CHECKSUM MISMATCH: {} {} {}: {} rep {} gave {}, {} gave {}",
                m.keyset,
                m.scale,
                m.workload,
                m.system,
                m.rep,
                m.checksum,
                m.reference_system,
                m.reference
            );
        }
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(results.mismatches.is_empty())
}

/// What completed so far, for the report written when a step stalls.
struct Partial {
    results: Results,
    infos: Vec<KeySetInfo>,
}

/// One element of the JSON list: a record, with the run's huge-page setting beside it.
#[derive(Serialize)]
struct JsonRecord<'a> {
    #[serde(flatten)]
    record: &'a Record,
    huge_pages: &'a HugePageSetting,
}

#[derive(Clone)]
struct Outputs {
    out: Option<PathBuf>,
    json: Option<PathBuf>,
    svg: Option<PathBuf>,
}

impl Outputs {
    fn write(&self, results: &Results, ctx: &ReportContext) -> Result<(), BenchError> {
        let report = markdown(results, ctx);
        match &self.out {
            Some(path) => {
                std::fs::write(path, &report).map_err(|e| BenchError::io(path, e))?;
                eprintln!("report written to {}", path.display());
            }
            None => print!("{report}"),
        }
        if let Some(path) = &self.json {
            let all: Vec<JsonRecord> = results
                .records
                .iter()
                .chain(&results.durable)
                .map(|record| JsonRecord {
                    record,
                    huge_pages: &ctx.huge_pages,
                })
                .collect();
            let json = serde_json::to_string_pretty(&all)?;
            std::fs::write(path, json).map_err(|e| BenchError::io(path, e))?;
            eprintln!("JSON records written to {}", path.display());
        }
        if let Some(dir) = &self.svg {
            for p in plot::write_plots(results, &ctx.systems, dir)? {
                eprintln!("plot written to {}", p.display());
            }
        }
        Ok(())
    }
}

/// `--grow-to`: grows a key file's set to `pool` keys (the structures' count plus the new
/// keys for inserts) with `keys::grow`, renames it `<name>-grown` and says so in its note. A
/// file that already holds `pool` keys is left as it is (its note says so).
fn grow_file_keys(
    name: &mut String,
    keys: &mut Vec<u64>,
    note: &mut String,
    pool: usize,
    seed: u64,
) -> Result<(), BenchError> {
    if keys.len() >= pool {
        note.push_str(&format!(
            "; not grown: already {} keys, --grow-to asks for {pool} with the insert keys",
            keys.len()
        ));
        return Ok(());
    }
    let grow_seed = derive_seed(seed, &format!("grow:{name}:{pool}"));
    let real = keys.len();
    *keys = grow(keys, pool, grow_seed)
        .map_err(|e| BenchError::Usage(format!("--grow-to on {name}: {e}")))?;
    name.push_str("-grown");
    note.push_str(&format!(
        "; grown from {real} to {pool} keys (each real key followed by an equal share of new \
         keys at its local spacing, before the next real key), grow seed {grow_seed:#018x}"
    ));
    Ok(())
}

fn describe_dist(d: Distribution) -> String {
    match d {
        Distribution::Uniform => "uniform random u64, distinct".into(),
        Distribution::Lognormal => "lognormal: exp(N(0, 2)) x 1e12 as u64, distinct".into(),
        Distribution::Normal => "normal: N(2^63, 2^60) as u64, distinct".into(),
        Distribution::Timestamps => {
            "timestamps: increasing microseconds, gaps 1..1000 us with 1% pauses up to 1000 s"
                .into()
        }
        Distribution::Clustered => {
            "clustered: runs of 1..1000 keys (step 1..4) separated by jumps of 2^20..2^40".into()
        }
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        "cargo run --release -p omendb-bench".into()
    } else {
        format!("cargo run --release -p omendb-bench -- {}", args.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_parse() {
        assert_eq!(parse_scale("10M"), Ok(10_000_000));
        assert_eq!(parse_scale("100k"), Ok(100_000));
        assert_eq!(parse_scale("1.5M"), Ok(1_500_000));
        assert_eq!(parse_scale("12345"), Ok(12_345));
        assert!(parse_scale("ten").is_err());
        assert!(parse_scale("0").is_err());
        assert!(parse_scale("-1M").is_err());
    }

    #[test]
    fn cli_parses_lists() {
        let cli = Cli::try_parse_from([
            "omendb-bench",
            "--scale",
            "1M,10M",
            "--systems",
            "alex,btree,sqlite-mem",
            "--workloads",
            "lookup-uniform,build-bulk,grow",
            "--quick",
        ])
        .unwrap();
        assert_eq!(cli.scale, Some(vec![1_000_000, 10_000_000]));
        assert_eq!(
            cli.systems,
            Some(vec![SystemId::Alex, SystemId::Btree, SystemId::SqliteMem])
        );
        assert_eq!(
            cli.workloads,
            Some(vec![
                Workload::LookupUniform,
                Workload::BuildBulk,
                Workload::Grow
            ])
        );
        assert!(Cli::try_parse_from(["omendb-bench", "--systems", "oracle"]).is_err());
        assert_eq!(cli.grow_to, None);
        let cli = Cli::try_parse_from(["omendb-bench", "--grow-to", "10M"]).unwrap();
        assert_eq!(cli.grow_to, Some(10_000_000));
        assert!(!cli.huge_pages);
        let cli = Cli::try_parse_from(["omendb-bench", "--quick", "--huge-pages"]).unwrap();
        assert!(cli.huge_pages);
    }

    #[test]
    fn grow_to_grows_file_sets_and_renames_them() {
        let (mut name, mut keys, mut note) = ("f".to_string(), vec![10, 20, 30], String::new());
        grow_file_keys(&mut name, &mut keys, &mut note, 9, 1).unwrap();
        assert_eq!((name.as_str(), keys.len()), ("f-grown", 9));
        assert!(note.contains("grown from 3 to 9 keys"), "{note}");
        // A set already that large is used as it is.
        let (mut name, mut keys, mut note) = ("g".to_string(), vec![1, 2, 3], String::new());
        grow_file_keys(&mut name, &mut keys, &mut note, 3, 1).unwrap();
        assert_eq!((name.as_str(), keys), ("g", vec![1, 2, 3]));
        assert!(note.contains("not grown"), "{note}");
        // A set that cannot grow (a key at u64::MAX) is a usage error, not a panic.
        let (mut name, mut keys, mut note) = ("h".to_string(), vec![u64::MAX], String::new());
        assert!(grow_file_keys(&mut name, &mut keys, &mut note, 2, 1).is_err());
    }

    #[test]
    fn the_repository_key_files_load() {
        // data/ holds the repository's own key files; the default run reads them all.
        let dir = repo_data_dir().expect("the repository has a data/ directory");
        let mut sources = Vec::new();
        load_dir(&dir, FileOrigin::Repo, &mut sources).unwrap();
        assert!(sources.len() >= 3);
        for src in &sources {
            let Source::File {
                name, keys, origin, ..
            } = src
            else {
                panic!("a file source")
            };
            assert_eq!(*origin, FileOrigin::Repo);
            assert!(keys.len() >= 500_000, "{name}: {} keys", keys.len());
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{name}");
        }
    }

    #[test]
    fn huge_page_tunables() {
        assert_eq!(
            tunables_with_huge_pages(None),
            OsString::from("glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            tunables_with_huge_pages(Some(OsStr::new(""))),
            OsString::from("glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            tunables_with_huge_pages(Some(OsStr::new("glibc.malloc.arena_max=2"))),
            OsString::from("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1")
        );
        assert!(HUGE_PAGES_TUNABLE.starts_with(MALLOC_HUGETLB));
    }
}
