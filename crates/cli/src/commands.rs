//! One function per subcommand, generic over the database's key type.

use crate::{Command, Format, KeyTypeArg};
use indicatif::{ProgressBar, ProgressStyle};
use omendb::{Db, KeyType, Options};
use std::fmt::Display;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::ops::Bound;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;

/// A failure reported as one line and exit status 2.
#[derive(Debug)]
pub enum CliError {
    Db(omendb::Error),
    Input(String),
}

impl Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Db(e) => write!(f, "{e}"),
            CliError::Input(msg) => f.write_str(msg),
        }
    }
}

impl From<omendb::Error> for CliError {
    fn from(e: omendb::Error) -> Self {
        CliError::Db(e)
    }
}

type CliResult<T> = Result<T, CliError>;

/// The key types the CLI can parse, print and read from SOSD files.
pub trait CliKey: omendb::Key + FromStr + Display {
    /// Bytes per key in a SOSD file.
    const SOSD_WIDTH: usize;
    /// The key whose little-endian SOSD bytes, zero-extended, are `bits`.
    fn from_sosd(bits: u64) -> Self;
}

macro_rules! cli_key {
    ($($t:ty, $width:expr, $conv:expr;)*) => {$(
        impl CliKey for $t {
            const SOSD_WIDTH: usize = $width;
            fn from_sosd(bits: u64) -> Self {
                let conv: fn(u64) -> $t = $conv;
                conv(bits)
            }
        }
    )*};
}

cli_key! {
    u64, 8, |b| b;
    i64, 8, |b| b as i64;
    u32, 4, |b| b as u32;
    i32, 4, |b| b as u32 as i32;
    f64, 8, f64::from_bits;
    f32, 4, |b| f32::from_bits(b as u32);
}

fn parse_key<K: CliKey>(text: &str) -> CliResult<K> {
    text.trim()
        .parse::<K>()
        .map_err(|_| CliError::Input(format!("{text:?} is not a valid {} key", K::TYPE_NAME)))
}

fn parse_hex(text: &str) -> CliResult<Vec<u8>> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() % 2 != 0 {
        return Err(CliError::Input(
            "hex value needs an even number of digits".into(),
        ));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| CliError::Input(format!("{text:?} is not hexadecimal")))
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn open_existing<K: CliKey>(path: &Path) -> CliResult<Db<K>> {
    let options = Options {
        create_if_missing: false,
        ..Options::default()
    };
    Ok(Db::open_with(path, options)?)
}

/// Writes to stdout; a closed pipe (`| head`) ends output quietly.
fn emit(out: &mut impl Write, bytes: &[u8]) -> CliResult<bool> {
    match out.write_all(bytes) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::Input(format!("writing to stdout: {e}"))),
    }
}

macro_rules! with_key_type {
    ($kt:expr, $f:ident ( $($arg:expr),* )) => {
        match $kt {
            KeyType::U64 => $f::<u64>($($arg),*),
            KeyType::I64 => $f::<i64>($($arg),*),
            KeyType::U32 => $f::<u32>($($arg),*),
            KeyType::I32 => $f::<i32>($($arg),*),
            KeyType::F64 => $f::<f64>($($arg),*),
            KeyType::F32 => $f::<f32>($($arg),*),
        }
    };
}

/// Runs one subcommand.
pub fn run(command: Command) -> CliResult<ExitCode> {
    match command {
        Command::Create { db, key_type } => {
            let kt = match key_type {
                KeyTypeArg::U64 => KeyType::U64,
                KeyTypeArg::I64 => KeyType::I64,
                KeyTypeArg::U32 => KeyType::U32,
                KeyTypeArg::I32 => KeyType::I32,
                KeyTypeArg::F64 => KeyType::F64,
                KeyTypeArg::F32 => KeyType::F32,
            };
            with_key_type!(kt, create(&db))
        }
        Command::Put {
            db,
            key,
            value,
            hex,
        } => {
            let value = if hex {
                parse_hex(&value)?
            } else {
                value.into_bytes()
            };
            with_key_type!(omendb::key_type_at(&db)?, put(&db, &key, &value))
        }
        Command::Get { db, key, hex } => {
            with_key_type!(omendb::key_type_at(&db)?, get(&db, &key, hex))
        }
        Command::Delete { db, key } => with_key_type!(omendb::key_type_at(&db)?, delete(&db, &key)),
        Command::Scan {
            db,
            from,
            to,
            limit,
            hex,
        } => with_key_type!(
            omendb::key_type_at(&db)?,
            scan(&db, from.as_deref(), to.as_deref(), limit, hex)
        ),
        Command::Import { db, file, format } => {
            with_key_type!(omendb::key_type_at(&db)?, import(&db, &file, format))
        }
        Command::Stats { db } => with_key_type!(omendb::key_type_at(&db)?, stats(&db)),
        Command::Checkpoint { db } => {
            with_key_type!(omendb::key_type_at(&db)?, checkpoint(&db))
        }
        Command::Verify { db } => verify(&db),
    }
}

fn create<K: CliKey>(path: &Path) -> CliResult<ExitCode> {
    let options = Options {
        error_if_exists: true,
        ..Options::default()
    };
    Db::<K>::open_with(path, options)?.close()?;
    Ok(ExitCode::SUCCESS)
}

fn put<K: CliKey>(path: &Path, key: &str, value: &[u8]) -> CliResult<ExitCode> {
    let key = parse_key::<K>(key)?;
    let db = open_existing::<K>(path)?;
    db.put(key, value)?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

fn get<K: CliKey>(path: &Path, key: &str, hex: bool) -> CliResult<ExitCode> {
    let key = parse_key::<K>(key)?;
    let db = open_existing::<K>(path)?;
    match db.get(key)? {
        Some(value) => {
            let mut out = io::stdout().lock();
            if hex {
                emit(&mut out, to_hex(&value).as_bytes())?;
            } else {
                emit(&mut out, &value)?;
            }
            emit(&mut out, b"\n")?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("omendb: key {key} not found");
            Ok(ExitCode::from(1))
        }
    }
}

fn delete<K: CliKey>(path: &Path, key: &str) -> CliResult<ExitCode> {
    let key = parse_key::<K>(key)?;
    let db = open_existing::<K>(path)?;
    db.delete(key)?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

fn scan<K: CliKey>(
    path: &Path,
    from: Option<&str>,
    to: Option<&str>,
    limit: Option<u64>,
    hex: bool,
) -> CliResult<ExitCode> {
    let start = from
        .map(parse_key::<K>)
        .transpose()?
        .map_or(Bound::Unbounded, Bound::Included);
    let end = to
        .map(parse_key::<K>)
        .transpose()?
        .map_or(Bound::Unbounded, Bound::Included);
    let db = open_existing::<K>(path)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut left = limit.unwrap_or(u64::MAX);
    let mut failure = None;
    db.scan((start, end), |k, v| {
        if left == 0 {
            return false;
        }
        left -= 1;
        let mut line = format!("{k}\t").into_bytes();
        if hex {
            line.extend_from_slice(to_hex(v).as_bytes());
        } else {
            line.extend_from_slice(v);
        }
        line.push(b'\n');
        match emit(&mut out, &line) {
            Ok(more) => more,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(CliError::Input(format!("writing to stdout: {e}")))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("reading");
    bar
}

fn import<K: CliKey>(path: &Path, file: &Path, format: Format) -> CliResult<ExitCode> {
    let db = open_existing::<K>(path)?;
    let input =
        File::open(file).map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
    let len = input.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress(len);
    let entries = match format {
        Format::Csv => read_csv::<K>(input, file, &bar)?,
        Format::Sosd => read_sosd::<K>(input, file, len, &bar)?,
    };
    bar.set_message("writing snapshot");
    let count = entries.len();
    let total = db.import(entries)?;
    bar.finish_and_clear();
    db.close()?;
    println!("imported {count} entries; the database holds {total}");
    Ok(ExitCode::SUCCESS)
}

fn read_csv<K: CliKey>(
    input: File,
    file: &Path,
    bar: &ProgressBar,
) -> CliResult<Vec<(K, Vec<u8>)>> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut entries = Vec::new();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
        if n == 0 {
            break;
        }
        number += 1;
        bar.inc(n as u64);
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        let bad = |why: &str| CliError::Input(format!("{}:{number}: {why}", file.display()));
        let comma = text
            .iter()
            .position(|&b| b == b',')
            .ok_or_else(|| bad("expected key,value"))?;
        let key_text = std::str::from_utf8(&text[..comma]).map_err(|_| bad("key is not UTF-8"))?;
        let key = key_text
            .trim()
            .parse::<K>()
            .map_err(|_| bad(&format!("{key_text:?} is not a valid {} key", K::TYPE_NAME)))?;
        if !key.is_valid() {
            return Err(bad("NaN keys are not allowed"));
        }
        entries.push((key, text[comma + 1..].to_vec()));
    }
    Ok(entries)
}

fn read_sosd<K: CliKey>(
    input: File,
    file: &Path,
    len: u64,
    bar: &ProgressBar,
) -> CliResult<Vec<(K, Vec<u8>)>> {
    let width = K::SOSD_WIDTH as u64;
    let bad = |why: String| CliError::Input(format!("{}: {why}", file.display()));
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut count = [0u8; 8];
    reader
        .read_exact(&mut count)
        .map_err(|e| bad(format!("reading the count: {e}")))?;
    let count = u64::from_le_bytes(count);
    if count.checked_mul(width).and_then(|b| b.checked_add(8)) != Some(len) {
        return Err(bad(format!(
            "SOSD header says {count} keys of {width} bytes but the file has {len} bytes"
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut buf = vec![0u8; (width as usize) * 65536];
    let mut left = count;
    bar.inc(8);
    while left > 0 {
        let n = left.min(65536) as usize;
        let chunk = &mut buf[..n * width as usize];
        reader
            .read_exact(chunk)
            .map_err(|e| bad(format!("reading keys: {e}")))?;
        for raw in chunk.chunks_exact(width as usize) {
            let mut bits = [0u8; 8];
            bits[..raw.len()].copy_from_slice(raw);
            let key = K::from_sosd(u64::from_le_bytes(bits));
            if !key.is_valid() {
                return Err(bad("a key is NaN".into()));
            }
            entries.push((key, Vec::new()));
        }
        bar.inc(chunk.len() as u64);
        left -= n as u64;
    }
    Ok(entries)
}

fn stats<K: CliKey>(path: &Path) -> CliResult<ExitCode> {
    let db = open_existing::<K>(path)?;
    let s = db.stats();
    let files: u64 = std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let mut out = String::new();
    out += &format!("key type\t{}\n", s.key_type);
    out += &format!("entries\t{}\n", s.entries);
    out += &format!("value bytes\t{}\n", s.value_bytes);
    out += &format!("freed value bytes\t{}\n", s.free_value_bytes);
    out += &format!("heap bytes per entry\t{:.1}\n", s.heap_bytes_per_entry());
    out += &format!("index height\t{}\n", s.index.height);
    out += &format!("index data nodes\t{}\n", s.index.data_nodes);
    out += &format!("log number\t{}\n", s.log_number);
    out += &format!("log bytes\t{}\n", s.log_bytes);
    out += &format!("next sequence\t{}\n", s.next_seq);
    out += &format!("file bytes\t{files}\n");
    emit(&mut io::stdout().lock(), out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn checkpoint<K: CliKey>(path: &Path) -> CliResult<ExitCode> {
    let db = open_existing::<K>(path)?;
    db.checkpoint()?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

fn verify(path: &Path) -> CliResult<ExitCode> {
    let report = omendb::verify(path)?;
    let mut out = format!(
        "ok: {} {} entries ({} in the snapshot, {} log records in {} files)\n",
        report.entries,
        report.key_type,
        report.snapshot_entries,
        report.log_records,
        report.log_files
    );
    if let Some((file, offset, len)) = &report.torn_tail {
        out += &format!(
            "note: torn tail of {len} bytes at {file} offset {offset} will be dropped on open\n"
        );
    }
    emit(&mut io::stdout().lock(), out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
