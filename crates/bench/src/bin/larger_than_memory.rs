//! Larger than memory: N entries with 16-byte values, imported from a key file (SOSD
//! format) into OmenDB and into SQLite, then served (random gets, scans of 100). Each phase
//! runs in a child process of its own; where the machine has a cgroup v1 memory controller,
//! the child runs in a memory cgroup whose limit charges the page cache too, so the data
//! cannot sit in memory. The report gives each child's peak resident set (`VmHWM`) and
//! the cgroup's peak (resident set plus page cache).
//!
//! `cargo run --release -p omendb-bench --bin larger-than-memory -- --dir DIR`

#![deny(unsafe_code)]

use clap::{Parser, ValueEnum};
use omendb::{Db, Options, SyncMode};
use omendb_bench::rng::{mix64, Rng};
use rusqlite::{params, Connection};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(
    about = "Imports N entries with 16-byte values into OmenDB and SQLite and serves \
                   random gets and scans, each phase in a memory-limited child process"
)]
struct Args {
    /// Directory for the key file and the databases (needs about 80 bytes per entry).
    #[arg(long)]
    dir: PathBuf,
    /// Entries (K, M, G suffixes).
    #[arg(long, default_value = "500M", value_parser = parse_count)]
    entries: u64,
    /// Random gets of existing keys per system.
    #[arg(long, default_value = "200K", value_parser = parse_count)]
    gets: u64,
    /// Scans of 100 entries from a random existing key, per system.
    #[arg(long, default_value = "20K", value_parser = parse_count)]
    scans: u64,
    /// Memory limit of each child's cgroup, page cache included (K, M, G suffixes).
    #[arg(long, default_value = "3G", value_parser = parse_bytes)]
    memory_limit: u64,
    /// Systems to run.
    #[arg(long, value_delimiter = ',', default_value = "omendb,sqlite")]
    systems: Vec<System>,
    /// Seed of the keys and of the lookups.
    #[arg(long, default_value_t = 0x5eed_1a26)]
    seed: u64,
    /// Keep the databases afterwards (they are reused by a later run with the same
    /// entries, skipping the import).
    #[arg(long)]
    keep: bool,
    /// Serve OmenDB through `mmap` instead of `pread` (mapped pages then count in its
    /// resident set, up to the cgroup's limit).
    #[arg(long)]
    mmap: bool,
    /// Internal: the phase a child runs.
    #[arg(long, hide = true)]
    phase: Option<Phase>,
    /// Internal: the system a child runs.
    #[arg(long, hide = true)]
    system: Option<System>,
    /// Internal: the cgroup a child joins.
    #[arg(long, hide = true)]
    cgroup: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum System {
    Omendb,
    Sqlite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Phase {
    Import,
    Serve,
}

/// A number with an optional suffix: K, M, G are powers of 1000 for counts
/// (`parse_count`) and of 1024 for sizes (`parse_bytes`).
fn parse_suffixed(s: &str, base: f64) -> Result<u64, String> {
    let s = s.trim();
    let (num, power) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1),
        Some('M' | 'm') => (&s[..s.len() - 1], 2),
        Some('G' | 'g') => (&s[..s.len() - 1], 3),
        _ => (s, 0),
    };
    let n: f64 = num.parse().map_err(|_| format!("not a number: {s}"))?;
    let v = n * base.powi(power);
    if !(1.0..1e19).contains(&v) {
        return Err(format!("out of range: {s}"));
    }
    Ok(v as u64)
}

fn parse_count(s: &str) -> Result<u64, String> {
    parse_suffixed(s, 1000.0)
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    parse_suffixed(s, 1024.0)
}

/// Key `i` of `n`: strictly increasing, spread over all of u64, a random offset inside
/// each key's own stride (so the keys are uniform, and key `i` is known without the file).
fn key_at(i: u64, n: u64, seed: u64) -> u64 {
    let stride = u64::MAX / n;
    i * stride + mix64(seed ^ i) % stride
}

/// The 16-byte value stored under `key`.
fn value_for(key: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&key.to_le_bytes());
    v[8..].copy_from_slice(&mix64(key).to_le_bytes());
    v
}

/// Checks a read value and folds it into the checksum.
fn fold(acc: u64, key: u64, value: Option<&[u8]>) -> Res<u64> {
    match value {
        Some(v) if v == value_for(key) => Ok(acc.wrapping_add(mix64(key))),
        Some(v) => Err(format!("key {key}: wrong value {v:?}").into()),
        None => Err(format!("key {key}: missing").into()),
    }
}

fn key_file(args: &Args) -> PathBuf {
    args.dir.join(format!("keys-{}.sosd", args.entries))
}

fn write_key_file(args: &Args) -> Res<()> {
    let path = key_file(args);
    if path.exists() && fs::metadata(&path)?.len() == 8 + 8 * args.entries {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    w.write_all(&args.entries.to_le_bytes())?;
    for i in 0..args.entries {
        w.write_all(&key_at(i, args.entries, args.seed).to_le_bytes())?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    fs::rename(tmp, path)?;
    Ok(())
}

/// The keys of the key file, read as a stream.
fn read_keys(path: &Path) -> Res<impl Iterator<Item = std::io::Result<u64>>> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut head = [0u8; 8];
    r.read_exact(&mut head)?;
    let count = u64::from_le_bytes(head);
    Ok((0..count).map(move |_| {
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }))
}

/// Resident-set figures of this process, in bytes: (current, peak).
fn rss() -> (u64, u64) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn dir_bytes(path: &Path) -> u64 {
    fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn db_path(args: &Args, system: System) -> PathBuf {
    match system {
        System::Omendb => args.dir.join(format!("omendb-{}", args.entries)),
        System::Sqlite => args.dir.join(format!("sqlite-{}.db", args.entries)),
    }
}

fn omendb_options(mmap: bool) -> Options {
    Options {
        sync: SyncMode::Relaxed,
        // Through `pread` by default: pages in the OS cache do not count in this
        // process's resident set, as mapped pages would.
        mmap,
        ..Options::default()
    }
}

const SQLITE_CACHE_KIB: i64 = 256 * 1024;

fn sqlite_open(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -SQLITE_CACHE_KIB)?;
    Ok(conn)
}

fn sql_key(k: u64) -> i64 {
    (k ^ (1 << 63)) as i64
}

fn sql_unkey(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

/// One child's findings, printed as `key=value` words on its last line.
fn report(fields: &[(&str, String)]) {
    let (_, peak) = rss();
    let mut line = format!("result peak_rss={peak}");
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    println!("{line}");
}

fn import(args: &Args, system: System) -> Res<()> {
    let path = db_path(args, system);
    let keys = read_keys(&key_file(args))?;
    let t = Instant::now();
    match system {
        System::Omendb => {
            if path.exists() {
                fs::remove_dir_all(&path)?;
            }
            let db = Db::<u64>::open_with(&path, omendb_options(false))?;
            let n = db.try_import(keys.map(|k| {
                k.map(|k| (k, value_for(k)))
                    .map_err(|e| omendb::Error::BadInput(e.to_string()))
            }))?;
            db.close()?;
            assert_eq!(n as u64, args.entries);
        }
        System::Sqlite => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let mut conn = sqlite_open(&path)?;
            conn.execute_batch("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")?;
            let mut keys = keys.peekable();
            while keys.peek().is_some() {
                let tx = conn.transaction()?;
                {
                    let mut stmt = tx.prepare("INSERT INTO kv (k, v) VALUES (?1, ?2)")?;
                    for k in keys.by_ref().take(1 << 20) {
                        let k = k?;
                        stmt.execute(params![sql_key(k), &value_for(k)[..]])?;
                    }
                }
                tx.commit()?;
            }
            conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
            conn.close().map_err(|(_, e)| e)?;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let bytes = match system {
        System::Omendb => dir_bytes(&path),
        System::Sqlite => fs::metadata(&path)?.len(),
    };
    report(&[("secs", format!("{secs:.1}")), ("bytes", bytes.to_string())]);
    Ok(())
}

fn serve(args: &Args, system: System) -> Res<()> {
    let n = args.entries;
    let mut rng = Rng::new(args.seed ^ 0x6e7);
    let gets: Vec<u64> = (0..args.gets)
        .map(|_| key_at(rng.below(n), n, args.seed))
        .collect();
    let scans: Vec<u64> = (0..args.scans)
        .map(|_| key_at(rng.below(n), n, args.seed))
        .collect();
    let path = db_path(args, system);
    let (mut get_sum, mut scan_sum) = (0u64, 0u64);
    let t_open = Instant::now();
    let (open_ms, get_ns, scan_ns);
    match system {
        System::Omendb => {
            let db = Db::<u64>::open_with(&path, omendb_options(args.mmap))?;
            db.get_with(gets[0], |_| ())?;
            open_ms = t_open.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            for &k in &gets {
                let mut r = Ok(0);
                let found = db.get_with(k, |v| r = fold(get_sum, k, Some(v)))?;
                get_sum = if found.is_some() {
                    r?
                } else {
                    fold(get_sum, k, None)?
                };
            }
            get_ns = t.elapsed().as_nanos() as f64 / gets.len() as f64;
            let t = Instant::now();
            for &start in &scans {
                let mut seen = 0;
                let mut bad = None;
                db.scan(start.., |k, v| {
                    if v != value_for(k) {
                        bad = Some(k);
                    }
                    scan_sum = scan_sum.wrapping_add(mix64(k));
                    seen += 1;
                    seen < 100
                })?;
                if let Some(k) = bad {
                    return Err(format!("scan: key {k} has a wrong value").into());
                }
            }
            scan_ns = t.elapsed().as_nanos() as f64 / scans.len() as f64;
            db.close()?;
        }
        System::Sqlite => {
            let conn = sqlite_open(&path)?;
            let mut get = conn.prepare("SELECT v FROM kv WHERE k = ?1")?;
            get.query_row([sql_key(gets[0])], |_| Ok(()))?;
            open_ms = t_open.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            for &k in &gets {
                let mut rows = get.query([sql_key(k)])?;
                let v = match rows.next()? {
                    Some(row) => Some(row.get_ref(0)?.as_blob()?.to_vec()),
                    None => None,
                };
                get_sum = fold(get_sum, k, v.as_deref())?;
            }
            get_ns = t.elapsed().as_nanos() as f64 / gets.len() as f64;
            let mut scan =
                conn.prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT 100")?;
            let t = Instant::now();
            for &start in &scans {
                let mut rows = scan.query([sql_key(start)])?;
                while let Some(row) = rows.next()? {
                    let k = sql_unkey(row.get(0)?);
                    if row.get_ref(1)?.as_blob()? != value_for(k) {
                        return Err(format!("scan: key {k} has a wrong value").into());
                    }
                    scan_sum = scan_sum.wrapping_add(mix64(k));
                }
            }
            scan_ns = t.elapsed().as_nanos() as f64 / scans.len() as f64;
        }
    }
    report(&[
        ("open_ms", format!("{open_ms:.2}")),
        ("get_ns", format!("{get_ns:.0}")),
        ("scan_ns", format!("{scan_ns:.0}")),
        ("get_checksum", format!("{get_sum:016x}")),
        ("scan_checksum", format!("{scan_sum:016x}")),
    ]);
    Ok(())
}

/// A memory cgroup (v1) for one child, under this process's own, when the machine has one
/// that this process may write.
fn make_cgroup(limit: u64, name: &str) -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))?;
    let dir = Path::new("/sys/fs/cgroup/memory")
        .join(rel.trim_start_matches('/'))
        .join(name);
    fs::create_dir_all(&dir).ok()?;
    fs::write(dir.join("memory.limit_in_bytes"), limit.to_string()).ok()?;
    Some(dir)
}

fn cgroup_peak(dir: &Path) -> Option<u64> {
    fs::read_to_string(dir.join("memory.max_usage_in_bytes"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Runs one phase in a child; returns its `key=value` findings plus the cgroup's peak.
fn run_child(args: &Args, system: System, phase: Phase) -> Res<Vec<(String, String)>> {
    let name = format!("omendb-ltm-{}-{system:?}-{phase:?}", std::process::id());
    let cgroup = make_cgroup(args.memory_limit, &name);
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--dir")
        .arg(&args.dir)
        .args(["--entries", &args.entries.to_string()])
        .args(["--gets", &args.gets.to_string()])
        .args(["--scans", &args.scans.to_string()])
        .args(["--seed", &args.seed.to_string()]);
    if args.mmap {
        cmd.arg("--mmap");
    }
    cmd.args(["--phase", &format!("{phase:?}").to_lowercase()])
        .args(["--system", &format!("{system:?}").to_lowercase()]);
    if let Some(c) = &cgroup {
        cmd.arg("--cgroup").arg(c);
    }
    let out = cmd.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let peak = cgroup.as_deref().and_then(cgroup_peak);
    if let Some(c) = &cgroup {
        // Drops the page cache charged to this child, so the next phase starts cold.
        let _ = fs::write(c.join("memory.force_empty"), "0");
        let _ = fs::remove_dir(c);
    }
    if !out.status.success() {
        return Err(format!(
            "{system:?} {phase:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with("result "))
        .ok_or("child printed no result")?;
    let mut fields: Vec<(String, String)> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    fields.push((
        "cgroup_peak".into(),
        peak.map_or("no cgroup".into(), |p| p.to_string()),
    ));
    Ok(fields)
}

fn gib(s: &str) -> String {
    s.parse::<f64>().map_or(s.to_string(), |b| {
        format!("{:.2}", b / f64::from(1u32 << 30))
    })
}

fn main() -> Res<()> {
    let args = Args::parse();
    if let (Some(phase), Some(system)) = (args.phase, args.system) {
        if let Some(c) = &args.cgroup {
            fs::write(c.join("cgroup.procs"), std::process::id().to_string())?;
        }
        return match phase {
            Phase::Import => import(&args, system),
            Phase::Serve => serve(&args, system),
        };
    }
    fs::create_dir_all(&args.dir)?;
    let t = Instant::now();
    write_key_file(&args)?;
    eprintln!(
        "key file {} ready ({:.1} s)",
        key_file(&args).display(),
        t.elapsed().as_secs_f64()
    );
    let mut rows = Vec::new();
    for &system in &args.systems {
        let imported = run_child(&args, system, Phase::Import)?;
        eprintln!("{system:?} import: {imported:?}");
        let served = run_child(&args, system, Phase::Serve)?;
        eprintln!("{system:?} serve: {served:?}");
        rows.push((system, imported, served));
        if !args.keep {
            let path = db_path(&args, system);
            let _ = fs::remove_dir_all(&path);
            let _ = fs::remove_file(&path);
            let _ = fs::remove_file(format!("{}-wal", path.display()));
            let _ = fs::remove_file(format!("{}-shm", path.display()));
        }
    }
    let get = |f: &[(String, String)], k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map_or("-".to_string(), |(_, v)| v.clone())
    };
    println!(
        "\n{} entries, 16-byte values, memory limit {} GiB per phase (page cache included where a cgroup applies); {} gets, {} scans of 100; OmenDB reads through {}\n",
        args.entries,
        gib(&args.memory_limit.to_string()),
        args.gets,
        args.scans,
        if args.mmap { "mmap" } else { "pread" }
    );
    println!("| system | import s | file GiB | import peak RSS GiB | import cgroup peak GiB | open+first get ms | get ns | scan ns | serve peak RSS GiB | serve cgroup peak GiB | get checksum | scan checksum |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (system, i, s) in &rows {
        println!(
            "| {system:?} | {} | {} | {} | {} | {} | {} | {} | {} | {} | `{}` | `{}` |",
            get(i, "secs"),
            gib(&get(i, "bytes")),
            gib(&get(i, "peak_rss")),
            gib(&get(i, "cgroup_peak")),
            get(s, "open_ms"),
            get(s, "get_ns"),
            get(s, "scan_ns"),
            gib(&get(s, "peak_rss")),
            gib(&get(s, "cgroup_peak")),
            get(s, "get_checksum"),
            get(s, "scan_checksum"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_increase_strictly_and_span_the_range() {
        for n in [1u64, 2, 3, 1000, 500_000_000] {
            let seed = 7;
            let mut prev = None;
            let step = (n / 1000).max(1);
            let mut at: Vec<u64> = (0..n).step_by(step as usize).chain([n - 1]).collect();
            at.dedup();
            for i in at {
                let k = key_at(i, n, seed);
                assert!(prev.is_none_or(|p| p < k), "n {n} i {i}");
                prev = Some(k);
            }
            if n > 1 {
                assert!(key_at(n - 1, n, seed) > u64::MAX / n * (n - 1));
                assert!(key_at(1, n, seed) > key_at(0, n, seed));
            }
        }
    }

    #[test]
    fn counts_and_sizes_parse_with_their_own_bases() {
        assert_eq!(parse_count("500M"), Ok(500_000_000));
        assert_eq!(parse_count("200K"), Ok(200_000));
        assert_eq!(parse_count("7"), Ok(7));
        assert_eq!(parse_bytes("3G"), Ok(3 << 30));
        assert!(parse_count("x").is_err());
        assert!(parse_count("0").is_err());
    }

    #[test]
    fn the_checksum_rejects_wrong_and_missing_values() {
        let k = 12345;
        assert!(fold(0, k, Some(&value_for(k))).is_ok());
        assert!(fold(0, k, Some(&value_for(k + 1))).is_err());
        assert!(fold(0, k, None).is_err());
    }
}
