//! The markdown report: the prototype's tables (query latency single vs multi level, build
//! time, against SQLite at the largest scale, tree statistics) plus memory and every workload.

use crate::durability::DurableSystem;
use crate::memory::HugePageSetting;
use crate::runner::{MemoryRecord, Record, Results, TreeRecord};
use crate::systems::SystemId;
use crate::workload::{OpCounts, Workload};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Where a key set came from, for the header.
#[derive(Debug, Clone)]
pub struct KeySetInfo {
    pub name: String,
    pub source: String,
}

#[derive(Clone)]
pub struct ReportContext {
    pub command: String,
    pub cpu: String,
    pub cores: usize,
    pub seed: u64,
    pub reps: usize,
    pub sqlite_reps: usize,
    pub build_inserts_reps: usize,
    pub counts: OpCounts,
    pub systems: Vec<SystemId>,
    pub keysets: Vec<KeySetInfo>,
    pub elapsed_s: f64,
    pub peak_rss_reset_works: bool,
    /// The malloc huge-page tunable and the kernel's THP mode the run had.
    pub huge_pages: HugePageSetting,
    /// Set when the run was aborted by the watchdog: the step that stalled.
    pub aborted: Option<String>,
}

const MIB: f64 = 1024.0 * 1024.0;

fn fmt_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn fmt_ratio(reference: Option<f64>, this: f64) -> String {
    match reference {
        Some(r) if this > 0.0 => format!("{:.2}x", r / this),
        _ => "—".to_string(),
    }
}

fn fmt_mib(bytes: Option<u64>) -> String {
    bytes.map_or("—".into(), |b| format!("{:.1}", b as f64 / MIB))
}

/// Whole MiB with thousands separators: "3,912".
fn fmt_mib_grouped(bytes: u64) -> String {
    let digits = ((bytes as f64 / MIB).round() as u64).to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The header's huge-page line (after "- Huge pages: "): the malloc setting, the kernel's
/// THP mode and the largest `AnonHugePages` sampled (`None` when none was).
fn huge_pages_line(h: &HugePageSetting, max_anon_huge: Option<u64>) -> String {
    let setting = match (&h.malloc_hugetlb, h.enabled, h.flag) {
        (Some(t), true, true) => format!("{t} (--huge-pages)"),
        (Some(t), true, false) => format!("{t} (set in GLIBC_TUNABLES)"),
        (Some(t), false, true) => format!("off ({t} in GLIBC_TUNABLES overrode --huge-pages)"),
        (Some(t), false, false) => format!("off ({t} in GLIBC_TUNABLES)"),
        (None, _, _) => "off (default malloc)".to_string(),
    };
    let setting = if h.ignored_by_glibc() {
        format!(
            "{setting} but NOT APPLIED: glibc's malloc gave no huge-page advice (a 64 MiB probe \
             allocation lacked MADV_HUGEPAGE; glibc 2.35/2.36 decide this on an uninitialised byte)"
        )
    } else {
        setting
    };
    let mode = h.thp_mode.as_deref().unwrap_or("unknown");
    let used = match max_anon_huge {
        Some(b) if b > 0 => format!("up to {} MiB of the heap in huge pages", fmt_mib_grouped(b)),
        Some(_) => "0 MiB in huge pages".to_string(),
        None => {
            return format!(
                "{setting}, THP mode {mode}; huge-page use not measured (/proc/self/smaps_rollup \
                 unreadable, or no system's turn completed)"
            )
        }
    };
    format!(
        "{setting}, THP mode {mode}; {used} (the largest process-wide AnonHugePages, sampled \
         before each built structure is cleared and after each system's turn)"
    )
}

fn fmt_per_key(bytes: Option<u64>, keys: usize) -> String {
    bytes.map_or("—".into(), |b| {
        format!("{:.1}", b as f64 / keys.max(1) as f64)
    })
}

/// The (key set, scale) pairs run, in run order.
fn runs(results: &Results) -> Vec<(String, String, usize)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in &results.records {
        if seen.insert((r.keyset.clone(), r.scale.clone())) {
            out.push((r.keyset.clone(), r.scale.clone(), r.keys));
        }
    }
    for m in &results.memory {
        if seen.insert((m.keyset.clone(), m.scale.clone())) {
            out.push((m.keyset.clone(), m.scale.clone(), m.keys));
        }
    }
    out
}

fn find<'a>(
    results: &'a Results,
    keyset: &str,
    scale: &str,
    system: SystemId,
    w: Workload,
) -> Option<&'a Record> {
    results.records.iter().find(|r| {
        r.keyset == keyset
            && r.scale == scale
            && r.system == system.name()
            && r.workload == w.name()
    })
}

fn find_mem<'a>(
    results: &'a Results,
    keyset: &str,
    scale: &str,
    system: SystemId,
) -> Option<&'a MemoryRecord> {
    results
        .memory
        .iter()
        .find(|m| m.keyset == keyset && m.scale == scale && m.system == system)
}

fn seconds(r: &Record) -> f64 {
    r.ns_per_op * r.keys as f64 / 1e9
}

fn short(id: SystemId) -> &'static str {
    match id {
        SystemId::Alex => "multi-level",
        SystemId::AlexSingle => "single-level",
        SystemId::AlexFixed64 => "fixed-64",
        SystemId::AlexReadMostly => "read-mostly",
        SystemId::Btree => "BTreeMap",
        SystemId::SqliteMem => "SQLite mem",
        SystemId::SqliteDisk => "SQLite file",
        SystemId::SqliteMemIndex => "SQLite mem +INDEX",
        SystemId::Omendb => "OmenDB",
        SystemId::Redb => "redb",
        SystemId::Fjall => "fjall",
    }
}

fn header(out: &mut String, cols: &[String]) {
    let _ = writeln!(out, "| {} |", cols.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        cols.iter()
            .enumerate()
            .map(|(i, _)| if i < 2 { " --- |" } else { " ---: |" })
            .collect::<String>()
    );
}

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

pub fn markdown(results: &Results, ctx: &ReportContext) -> String {
    let mut out = String::new();
    let runs = runs(results);
    let _ = writeln!(out, "# OmenDB benchmark results\n");
    if let Some(step) = &ctx.aborted {
        let _ = writeln!(
            out,
            "**RUN ABORTED: `{step}` stalled past --step-timeout. The tables cover only the key sets and \
             scales completed before it.**\n"
        );
    }
    let _ = writeln!(out, "- Command: `{}`", ctx.command);
    let _ = writeln!(
        out,
        "- Machine: {} ({} cores visible); wall time of the whole run {:.1} s",
        ctx.cpu, ctx.cores, ctx.elapsed_s
    );
    let max_anon_huge = results
        .memory
        .iter()
        .filter_map(|m| m.anon_huge_pages)
        .max();
    let _ = writeln!(
        out,
        "- Huge pages: {}",
        huge_pages_line(&ctx.huge_pages, max_anon_huge)
    );
    let _ = writeln!(
        out,
        "- Master seed: {} (every key set and operation list derives from it; printed seeds reproduce the run)",
        ctx.seed
    );
    for k in &ctx.keysets {
        let _ = writeln!(out, "- Key set `{}`: {}", k.name, k.source);
    }
    let c = &ctx.counts;
    let _ = writeln!(
        out,
        "- Each figure: median of {} repetitions for the in-process maps and OmenDB and {} for SQLite, redb and \
         fjall (`--sqlite-reps`; each rebuilds the table); min and max in the full table. Repetitions run round-robin (every system's \
         first, then every system's second, each round starting one system later), so a slow spell of the \
         machine falls on all systems. Per repetition: \
         a fresh bulk build, {} untimed warm-up lookups, then {} uniform and {} Zipf lookups, {} absent lookups, \
         {} autocommit lookups (SQLite), {} range scans of 100 keys, {} inserts, {} read-heavy and {} write-heavy \
         operations, {} deletes, up to {} single timed puts (put-latency, the databases only; at most half the \
         keys); mutating workloads run last, in that order, on the structure the previous one left; \
         then, each on a structure of its own, a build by random inserts from empty and the grow (an untimed bulk \
         load of two thirds of the keys, every third key held out, then the held-out third inserted in random \
         order, the inserts timed); {} repetition(s) of each (`--build-inserts-reps`), in-process maps and \
         SQLite :memory: only.",
        ctx.reps,
        ctx.sqlite_reps,
        c.warmup,
        c.lookups,
        c.zipf,
        c.absent,
        c.autocommit,
        c.scans,
        c.insert_only,
        c.mixed,
        c.mixed,
        c.deletes,
        c.put_latency,
        ctx.build_inserts_reps
    );
    let _ = writeln!(
        out,
        "- Every lookup reads the value and folds it into a checksum; the checksums of all systems agree on every \
         workload unless listed under *Checksum mismatches*. Keys and values are u64; SQLite stores keys as i64 \
         (`k ^ 2^63`, order-preserving) and values as 8-byte BLOBs, uses prepared statements and a page cache larger \
         than the table; its lookups, scans and mutations run in one transaction per batch unless labelled autocommit. \
         redb (u64 keys, values as 8-byte byte strings) and fjall (keys as 8 big-endian bytes, so byte order is key \
         order) get a cache as large as SQLite's and batch alike: one read transaction (fjall: snapshot) per batch of \
         reads, one write transaction (fjall: atomic write batch) per batch of mutations, written to the OS without \
         fsync (fjall; SQLite, which fsyncs only at the WAL checkpoints a batch's pages trigger) or fsynced once \
         (redb, which has no commit between fsync and none); OmenDB commits every write on its own, written to the \
         OS without fsync."
    );
    let _ = writeln!(
        out,
        "- Memory: *heap* is the counting global allocator's change in live bytes across the build (everything the \
         structure owns on the Rust heap); SQLite's is `sqlite3_memory_used` (its whole allocator: page cache, \
         schema, statements; for `:memory:` the database itself) and the database+WAL file size. Peak RSS is \
         process-wide (VmHWM){}, so it includes the key arrays and operation lists.\n",
        if ctx.peak_rss_reset_works {
            ", reset before each of a system's repetitions at each scale (the highest kept)"
        } else {
            ", never reset (clear_refs unavailable): the peak of the whole process so far"
        }
    );

    if !results.mismatches.is_empty() {
        let _ = writeln!(out, "## Checksum mismatches (RESULTS BELOW ARE SUSPECT)\n");
        header(
            &mut out,
            &[
                "Key set",
                "Keys",
                "Workload",
                "System",
                "Rep",
                "Checksum",
                "Reference",
            ]
            .map(String::from),
        );
        for m in &results.mismatches {
            row(
                &mut out,
                &[
                    m.keyset.clone(),
                    m.scale.clone(),
                    m.workload.clone(),
                    m.system.clone(),
                    m.rep.to_string(),
                    m.checksum.clone(),
                    format!("{} ({})", m.reference, m.reference_system),
                ],
            );
        }
        out.push('\n');
    }

    lookup_table(&mut out, results, ctx, &runs);
    build_table(&mut out, results, ctx, &runs);
    sqlite_table(&mut out, results, ctx, &runs);
    tree_table(&mut out, &results.trees);
    memory_table(&mut out, results, &runs);
    durable_table(&mut out, results);
    put_latency_table(&mut out, results, &runs);
    full_table(&mut out, results, &runs);
    reference_table(&mut out);
    out
}

fn lookup_table(
    out: &mut String,
    results: &Results,
    ctx: &ReportContext,
    runs: &[(String, String, usize)],
) {
    let _ = writeln!(
        out,
        "## Query latency: single vs multi level, by scale\n\nPoint lookups of existing keys, uniform choice, \
         random order; ns per lookup (median). Ratios: the other system's time divided by multi-level's (above 1 \
         means multi-level is faster).\n"
    );
    let systems: Vec<SystemId> = ctx
        .systems
        .iter()
        .copied()
        .filter(|s| *s != SystemId::SqliteDisk)
        .collect();
    let mut cols = vec!["Key set".to_string(), "Keys".to_string()];
    cols.extend(systems.iter().map(|s| short(*s).to_string()));
    cols.extend(
        [
            "multi vs single",
            "multi vs BTreeMap",
            "multi vs SQLite mem",
        ]
        .map(String::from),
    );
    header(out, &cols);
    for (ks, scale, _) in runs {
        let get = |id| find(results, ks, scale, id, Workload::LookupUniform).map(|r| r.ns_per_op);
        let mut cells = vec![ks.clone(), scale.clone()];
        cells.extend(systems.iter().map(|s| get(*s).map_or("—".into(), fmt_ns)));
        let multi = get(SystemId::Alex);
        for other in [SystemId::AlexSingle, SystemId::Btree, SystemId::SqliteMem] {
            cells.push(multi.map_or("—".into(), |m| fmt_ratio(get(other), m)));
        }
        row(out, &cells);
    }
    out.push('\n');
}

fn build_table(
    out: &mut String,
    results: &Results,
    ctx: &ReportContext,
    runs: &[(String, String, usize)],
) {
    for (w, title, how) in [
        (
            Workload::BuildBulk,
            "Build time by scale: bulk load from sorted pairs",
            "AlexMap: `bulk_load_slice_with_config` on the slice of sorted pairs (each pair cloned into its slot; \
             the iterator form, `bulk_load`, first gathers a copy of the input, as `BTreeMap::from_iter` must); \
             BTreeMap: `from_iter` on the sorted pairs; SQLite: INSERTs of the \
             sorted pairs in one transaction with a prepared statement (plus CREATE INDEX for the prototype path); \
             OmenDB: `Db::import` (the sorted pairs streamed into one run file, fsynced, named by a new manifest); redb: the sorted pairs \
             inserted in one write transaction, committed with fsync; fjall: its ingestion API (sorted tables \
             written and fsynced)",
        ),
        (
            Workload::BuildInserts,
            "Build time by scale: inserts in random order",
            "every system starts empty and inserts the same pairs in the same random order; SQLite in one \
             transaction with a prepared statement (plus CREATE INDEX for the prototype path)",
        ),
    ] {
        let _ = writeln!(
            out,
            "## {title}\n\nSeconds (median); {how}. The last column is the default AlexMap's time over BTreeMap's.\n"
        );
        let mut cols = vec!["Key set".to_string(), "Keys".to_string()];
        cols.extend(ctx.systems.iter().map(|s| short(*s).to_string()));
        cols.push("multi-level / BTreeMap".into());
        header(out, &cols);
        for (ks, scale, _) in runs {
            let get = |id| find(results, ks, scale, id, w).map(seconds);
            let mut cells = vec![ks.clone(), scale.clone()];
            cells.extend(
                ctx.systems
                    .iter()
                    .map(|s| get(*s).map_or("—".into(), |x| format!("{x:.3}"))),
            );
            cells.push(match (get(SystemId::Alex), get(SystemId::Btree)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "—".into(),
            });
            row(out, &cells);
        }
        out.push('\n');
    }
}

fn sqlite_table(
    out: &mut String,
    results: &Results,
    ctx: &ReportContext,
    runs: &[(String, String, usize)],
) {
    let _ = writeln!(
        out,
        "## Against SQLite at the largest scale\n\nBuild = load (bulk); Index = CREATE INDEX after the load \
         (prototype path only); Total = both. Lookup: uniform existing keys, ns per lookup; *vs SQLite* is \
         SQLite :memory:'s lookup time over this system's. Memory: Rust heap (allocator) for in-process maps and \
         the Rust databases (OmenDB, redb, fjall; their caches included); `sqlite3_memory_used` for SQLite, with \
         the files (SQLite: database + WAL) apart.\n"
    );
    // Largest scale of each key set.
    let mut largest: Vec<(String, String, usize)> = Vec::new();
    for (ks, scale, n) in runs {
        match largest.iter_mut().find(|(k, _, _)| k == ks) {
            Some(entry) if entry.2 < *n => *entry = (ks.clone(), scale.clone(), *n),
            Some(_) => {}
            None => largest.push((ks.clone(), scale.clone(), *n)),
        }
    }
    header(
        out,
        &[
            "Key set",
            "System",
            "Keys",
            "Build (s)",
            "Index (s)",
            "Total (s)",
            "Lookup (ns)",
            "Lookup autocommit (ns)",
            "vs SQLite",
            "Memory (MiB)",
            "File (MiB)",
            "Bytes/key",
        ]
        .map(String::from),
    );
    for (ks, scale, n) in &largest {
        let sqlite_lookup = find(
            results,
            ks,
            scale,
            SystemId::SqliteMem,
            Workload::LookupUniform,
        )
        .map(|r| r.ns_per_op);
        for &id in &ctx.systems {
            let build = find(results, ks, scale, id, Workload::BuildBulk);
            let lookup = find(results, ks, scale, id, Workload::LookupUniform);
            let auto = find(results, ks, scale, id, Workload::LookupAutocommit);
            let mem = find_mem(results, ks, scale, id);
            let (load_s, index_s) = match build {
                Some(b) => {
                    let load = b
                        .phases
                        .iter()
                        .find(|p| p.name == "load")
                        .map(|p| p.median_s);
                    let index = b
                        .phases
                        .iter()
                        .find(|p| p.name == "index")
                        .map(|p| p.median_s);
                    match (load, index) {
                        (Some(l), Some(i)) => (Some(l), Some(i)),
                        _ => (Some(seconds(b)), None),
                    }
                }
                None => (None, None),
            };
            let memory = mem.and_then(|m| {
                if id.is_sqlite() {
                    m.sqlite_memory_bulk
                } else {
                    m.heap_after_bulk
                }
            });
            let total_bytes = memory.map(|b| b + mem.and_then(|m| m.file_bytes_bulk).unwrap_or(0));
            row(
                out,
                &[
                    ks.clone(),
                    id.label().to_string(),
                    scale.clone(),
                    load_s.map_or("—".into(), |s| format!("{s:.3}")),
                    index_s.map_or("—".into(), |s| format!("{s:.3}")),
                    build.map_or("—".into(), |b| format!("{:.3}", seconds(b))),
                    lookup.map_or("—".into(), |r| fmt_ns(r.ns_per_op)),
                    auto.map_or("—".into(), |r| fmt_ns(r.ns_per_op)),
                    lookup.map_or("—".into(), |r| fmt_ratio(sqlite_lookup, r.ns_per_op)),
                    fmt_mib(memory),
                    fmt_mib(mem.and_then(|m| m.file_bytes_bulk)),
                    fmt_per_key(total_bytes, *n),
                ],
            );
        }
    }
    out.push('\n');
}

fn tree_table(out: &mut String, trees: &[TreeRecord]) {
    if trees.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Tree statistics by scale (AlexMap, after the bulk load)\n\nFrom `AlexMap::stats()`; bytes/key is its \
         own heap account (keys + values + slack slots + index overhead); *allocator* is the counting allocator's \
         figure for the same map.\n"
    );
    header(
        out,
        &[
            "Key set",
            "Keys",
            "Config",
            "Height",
            "Inner nodes",
            "Data nodes",
            "Keys/data node min",
            "mean",
            "max",
            "Density",
            "Bytes/key",
            "Allocator bytes/key",
            "Keys MiB",
            "Values MiB",
            "Slack MiB",
            "Overhead MiB",
        ]
        .map(String::from),
    );
    for t in trees {
        row(
            out,
            &[
                t.keyset.clone(),
                t.scale.clone(),
                short(t.system).to_string(),
                t.height.to_string(),
                t.inner_nodes.to_string(),
                t.data_nodes.to_string(),
                t.min_keys_per_data_node.to_string(),
                format!("{:.1}", t.mean_keys_per_data_node),
                t.max_keys_per_data_node.to_string(),
                format!("{:.3}", t.avg_density),
                format!("{:.1}", t.bytes_per_key),
                fmt_per_key(t.allocator_heap, t.keys),
                fmt_mib(Some(t.heap_keys as u64)),
                fmt_mib(Some(t.heap_values as u64)),
                fmt_mib(Some(t.heap_slack as u64)),
                fmt_mib(Some(t.heap_index_overhead as u64)),
            ],
        );
    }
    out.push('\n');
}

fn memory_table(out: &mut String, results: &Results, runs: &[(String, String, usize)]) {
    let _ = writeln!(
        out,
        "## Memory\n\nHeap: counting-allocator live bytes the structure holds after its build (per key in \
         brackets); build peak: highest live-byte level above the start during the bulk build (transient \
         buffers included). *+50% inserts*: after the grow (bulk load of two thirds of the keys, then the other \
         third inserted in random order), measured from before its bulk load; it ends with as many keys as the \
         bulk build, so its bytes/key compare with the bulk column directly. SQLite: `sqlite3_memory_used` after \
         each build. File: the database's files on disk after the bulk build (SQLite: database + WAL; OmenDB and \
         fjall: their directory; redb: its file). fjall's ingestion writes its tables to disk, so its heap after \
         the bulk build is near zero: its block cache fills as it reads. Peak RSS: process-wide VmHWM during this system's run at this key set and scale; RSS before: process \
         RSS when the system started (key arrays and operation lists).\n"
    );
    header(
        out,
        &[
            "Key set",
            "Keys",
            "System",
            "Heap bulk MiB (B/key)",
            "Build peak MiB",
            "Heap random inserts MiB (B/key)",
            "Heap +50% inserts MiB (B/key)",
            "SQLite mem bulk MiB (B/key)",
            "SQLite mem inserts MiB",
            "SQLite mem +50% inserts MiB (B/key)",
            "File MiB",
            "Peak RSS MiB",
            "RSS before MiB",
        ]
        .map(String::from),
    );
    for (ks, scale, _) in runs {
        for m in results
            .memory
            .iter()
            .filter(|m| &m.keyset == ks && &m.scale == scale)
        {
            let with_per_key = |b: Option<u64>| {
                b.map_or("—".into(), |b| {
                    format!("{} ({})", fmt_mib(Some(b)), fmt_per_key(Some(b), m.keys))
                })
            };
            let sqlite = m.system.is_sqlite();
            row(
                out,
                &[
                    ks.clone(),
                    scale.clone(),
                    short(m.system).to_string(),
                    if sqlite {
                        "—".into()
                    } else {
                        with_per_key(m.heap_after_bulk)
                    },
                    if sqlite {
                        "—".into()
                    } else {
                        fmt_mib(m.build_peak_heap)
                    },
                    if sqlite {
                        "—".into()
                    } else {
                        with_per_key(m.heap_after_inserts)
                    },
                    if sqlite {
                        "—".into()
                    } else {
                        with_per_key(m.heap_after_grow)
                    },
                    with_per_key(m.sqlite_memory_bulk),
                    fmt_mib(m.sqlite_memory_inserts),
                    with_per_key(m.sqlite_memory_grow),
                    fmt_mib(m.file_bytes_bulk),
                    fmt_mib(m.peak_rss),
                    fmt_mib(m.rss_before),
                ],
            );
        }
    }
    out.push('\n');
}

fn durable_table(out: &mut String, results: &Results) {
    if results.durable.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Durable commits: single-key puts, each its own commit\n\nDistinct random u64 keys, 8-byte values, \
         into an empty database on disk; the writer threads share one database (SQLite: one connection behind a \
         mutex, its best multi-writer setup; OmenDB: one `Db`, whose concurrent commits share an fsync; redb: one \
         `Database`, which runs one write transaction at a time; fjall: one `Database`, whose commits write and \
         sync its journal under a lock). Wall time per put, median over repetitions (redb and fjall take \
         `--sqlite-reps`, as in the other tables); after each run a fresh open must find every put. This disk's \
         `write` + `fdatasync` of 40 bytes takes {} µs (median), the floor of a commit that fsyncs alone.\n",
        results
            .fdatasync_us
            .map_or("—".into(), |us| format!("{us:.0}"))
    );
    header(
        out,
        &[
            "System",
            "Survives",
            "Writers",
            "Puts",
            "µs/put",
            "min",
            "max",
            "Puts/s",
            "vs SQLite FULL",
            "Reps",
        ]
        .map(String::from),
    );
    for r in &results.durable {
        let full = results
            .durable
            .iter()
            .find(|s| s.system == DurableSystem::SqliteFull.name() && s.workload == r.workload)
            .map(|s| s.ns_per_op);
        let power = DurableSystem::ALL
            .iter()
            .any(|d| d.name() == r.system && d.power_safe());
        row(
            out,
            &[
                r.system_label.clone(),
                if power { "power loss" } else { "process crash" }.into(),
                r.workload
                    .trim_start_matches("durable-put-")
                    .trim_end_matches('t')
                    .to_string(),
                r.ops.to_string(),
                format!("{:.1}", r.ns_per_op / 1e3),
                format!("{:.1}", r.min / 1e3),
                format!("{:.1}", r.max / 1e3),
                format!("{:.0}", r.ops_per_sec),
                fmt_ratio(full, r.ns_per_op),
                r.reps.to_string(),
            ],
        );
    }
    out.push('\n');
}

fn put_latency_table(out: &mut String, results: &Results, runs: &[(String, String, usize)]) {
    let rows: Vec<&Record> = runs
        .iter()
        .flat_map(|(ks, scale, _)| {
            results.records.iter().filter(move |r| {
                &r.keyset == ks
                    && &r.scale == scale
                    && r.workload == Workload::PutLatency.name()
                    && r.put_latency.is_some()
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Put latency: single relaxed puts, each timed alone\n\nOne thread puts new keys (absent from the \
         database, drawn as the insert workloads' are) into the bulk-loaded database after the insert, mixed and \
         delete workloads, each put its own commit in the system's relaxed setting: OmenDB `put` (its log record \
         written to the OS, no fsync), SQLite file an autocommit INSERT (WAL, synchronous=NORMAL: fsync only at \
         WAL checkpoints), redb a write transaction with `Durability::None` (kept in redb's memory, not written to \
         the OS), fjall `insert` (journal written to the OS, no fsync). What is timed, with `Instant`, is each put \
         call from just before it to its return, nothing else; percentiles are nearest-rank over the puts. \
         Puts/s is the puts over the loop's wall time (the timer reads included); a window is each complete \
         100 ms of the loop from the first put's start (a partial last one left out), counting the puts that \
         ended in it: the slowest window shows a stall that a mean hides. With several repetitions each figure \
         is the median of the repetitions'.\n"
    );
    header(
        out,
        &[
            "Key set",
            "Keys",
            "System",
            "Puts",
            "p50 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs",
            "Puts/s",
            "Slowest 100 ms window (puts/s)",
            "Median 100 ms window (puts/s)",
            "Windows",
            "Reps",
        ]
        .map(String::from),
    );
    let us = |ns: f64| format!("{:.1}", ns / 1e3);
    let rate = |r: Option<f64>| r.map_or("—".into(), |r| format!("{r:.0}"));
    for r in rows {
        let Some(p) = r.put_latency else { continue };
        row(
            out,
            &[
                r.keyset.clone(),
                r.scale.clone(),
                r.system.clone(),
                p.puts.to_string(),
                us(p.p50_ns),
                us(p.p99_ns),
                us(p.p999_ns),
                us(p.max_ns),
                format!("{:.0}", p.puts_per_sec),
                rate(p.min_window_puts_per_sec),
                rate(p.median_window_puts_per_sec),
                p.windows.to_string(),
                r.reps.to_string(),
            ],
        );
    }
    out.push('\n');
}

fn full_table(out: &mut String, results: &Results, runs: &[(String, String, usize)]) {
    let _ = writeln!(
        out,
        "## Every workload\n\nns per operation: median [min, max] over repetitions. Ratios: BTreeMap's (or \
         SQLite :memory:'s) median on the same workload over this one (above 1 = faster than it).\n"
    );
    let mut what = String::new();
    for w in Workload::ALL {
        let _ = write!(what, "`{}`: {}; ", w.name(), w.describe());
    }
    let _ = writeln!(out, "Workloads: {}\n", what.trim_end_matches("; "));
    header(
        out,
        &[
            "Key set",
            "Keys",
            "System",
            "Workload",
            "Ops",
            "ns/op",
            "min",
            "max",
            "Mops/s",
            "vs BTreeMap",
            "vs SQLite mem",
            "Reps",
            "Checksum",
        ]
        .map(String::from),
    );
    for (ks, scale, _) in runs {
        for w in Workload::ALL {
            let of = |id: SystemId| find(results, ks, scale, id, w).map(|r| r.ns_per_op);
            let (btree, sqlite) = (of(SystemId::Btree), of(SystemId::SqliteMem));
            for r in results
                .records
                .iter()
                .filter(|r| &r.keyset == ks && &r.scale == scale && r.workload == w.name())
            {
                row(
                    out,
                    &[
                        ks.clone(),
                        scale.clone(),
                        r.system.clone(),
                        r.workload.clone(),
                        r.ops.to_string(),
                        fmt_ns(r.ns_per_op),
                        fmt_ns(r.min),
                        fmt_ns(r.max),
                        format!("{:.2}", r.ops_per_sec / 1e6),
                        fmt_ratio(btree, r.ns_per_op),
                        fmt_ratio(sqlite, r.ns_per_op),
                        r.reps.to_string(),
                        format!("`{}`", r.checksum),
                    ],
                );
            }
        }
    }
    out.push('\n');
}

fn reference_table(out: &mut String) {
    let _ = writeln!(
        out,
        "## Reference: the C++ implementation (microsoft/ALEX), not part of this run\n\nMeasured earlier on this \
         machine (g++ -O3 -march=native, u64 keys and payloads) beside the same baselines, as given in the index \
         issue; it cannot be built here, so these figures are quoted, not re-measured.\n"
    );
    header(
        out,
        &["Figure", "Keys", "C++ ALEX", "BTreeMap", "SQLite :memory:"].map(String::from),
    );
    for cells in [
        ["Uniform lookups (ns)", "10M", "105", "783", "1638"],
        ["Uniform lookups (ns)", "50M", "160", "1094", "—"],
        [
            "Inserts into bulk-loaded map (ns)",
            "—",
            "325",
            "861 (random inserts)",
            "—",
        ],
        [
            "Bulk load, uniform (s)",
            "10M",
            "0.64",
            "0.05-0.26 (from_iter)",
            "—",
        ],
        [
            "Bulk load, lognormal (s)",
            "10M",
            "3.15",
            "0.05-0.26 (from_iter)",
            "—",
        ],
        [
            "Heap bytes per (u64, u64)",
            "—",
            "~23",
            "18.2 (bulk), 27.1 (random inserts)",
            "—",
        ],
    ] {
        row(out, &cells.map(String::from));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(tunable: Option<&str>, flag: bool, mode: Option<&str>) -> HugePageSetting {
        HugePageSetting {
            malloc_hugetlb: tunable.map(String::from),
            enabled: tunable.is_some_and(crate::memory::malloc_hugetlb_enabled),
            flag,
            thp_mode: mode.map(String::from),
            malloc_advised: tunable.map(|_| true),
        }
    }

    #[test]
    fn grouped_mib() {
        assert_eq!(fmt_mib_grouped(0), "0");
        assert_eq!(fmt_mib_grouped(512 * 1024 * 1024), "512");
        assert_eq!(fmt_mib_grouped(3912 * 1024 * 1024), "3,912");
        assert_eq!(fmt_mib_grouped(1_234_567 * 1024 * 1024), "1,234,567");
    }

    #[test]
    fn huge_page_lines() {
        let on = setting(Some("glibc.malloc.hugetlb=1"), true, Some("madvise"));
        assert!(huge_pages_line(&on, Some(3912 * 1024 * 1024)).starts_with(
            "glibc.malloc.hugetlb=1 (--huge-pages), THP mode madvise; up to 3,912 MiB of the heap in huge pages"
        ));
        let off = setting(None, false, Some("madvise"));
        assert!(huge_pages_line(&off, Some(0))
            .starts_with("off (default malloc), THP mode madvise; 0 MiB in huge pages"));
        let env = setting(Some("glibc.malloc.hugetlb=1"), false, None);
        assert!(huge_pages_line(&env, None).starts_with(
            "glibc.malloc.hugetlb=1 (set in GLIBC_TUNABLES), THP mode unknown; huge-page use not measured"
        ));
        let mut ignored = setting(Some("glibc.malloc.hugetlb=1"), true, Some("madvise"));
        ignored.malloc_advised = Some(false);
        assert!(huge_pages_line(&ignored, Some(0))
            .starts_with("glibc.malloc.hugetlb=1 (--huge-pages) but NOT APPLIED: "));
        let zero = setting(Some("glibc.malloc.hugetlb=0"), true, Some("always"));
        assert!(huge_pages_line(&zero, Some(0))
            .starts_with("off (glibc.malloc.hugetlb=0 in GLIBC_TUNABLES overrode --huge-pages)"));
    }
}
