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
        Command::Compact { db } => {
            with_key_type!(omendb::key_type_at(&db)?, compact(&db))
        }
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
    let reader = BufReader::with_capacity(1 << 20, input);
    let name = file.display().to_string();
    // Both readers stream: the database writes runs as entries arrive, so a file larger
    // than memory imports without being held.
    let count = match format {
        Format::Csv => db.try_import(CsvEntries::<K, _>::new(reader, name, bar.clone())),
        Format::Sosd => db.try_import(SosdEntries::<K, _>::new(reader, name, len, bar.clone())?),
    };
    bar.finish_and_clear();
    let count = count.map_err(|e| match e {
        omendb::Error::BadInput(msg) => CliError::Input(msg),
        other => CliError::Db(other),
    })?;
    db.close()?;
    println!("imported {count} entries");
    Ok(ExitCode::SUCCESS)
}

/// `key,value` records of a CSV file (RFC 4180): fields may be quoted, a quoted field may
/// hold commas, line breaks and doubled quotes (`""` for `"`); quotes are removed. Each
/// record has exactly two fields. Blank lines are skipped.
struct CsvEntries<K, R> {
    reader: R,
    file: String,
    line: u64,
    bar: ProgressBar,
    buf: Vec<u8>,
    failed: bool,
    _key: std::marker::PhantomData<K>,
}

impl<K: CliKey, R: BufRead> CsvEntries<K, R> {
    fn new(reader: R, file: String, bar: ProgressBar) -> Self {
        Self {
            reader,
            file,
            line: 0,
            bar,
            buf: Vec::new(),
            failed: false,
            _key: std::marker::PhantomData,
        }
    }

    fn bad(&self, line: u64, why: &str) -> omendb::Error {
        omendb::Error::BadInput(format!("{}:{line}: {why}", self.file))
    }

    /// Reads one line (with its line break) into `buf`; false at the end of the file.
    fn read_line(&mut self) -> Result<bool, omendb::Error> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| omendb::Error::BadInput(format!("{}: {e}", self.file)))?;
        self.bar.inc(n as u64);
        if n > 0 {
            self.line += 1;
        }
        Ok(n > 0)
    }

    /// The next record's fields and the line it starts on.
    fn record(&mut self) -> Result<Option<CsvRecord>, omendb::Error> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            let body = trim_line_break(&self.buf);
            if !body.is_empty() {
                break;
            }
        }
        let first_line = self.line;
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut quoted = false;
        let mut in_quotes = false;
        let mut closed = false;
        loop {
            let line = std::mem::take(&mut self.buf);
            let body = trim_line_break(&line);
            let mut skip_quote = false;
            for (i, &b) in body.iter().enumerate() {
                if skip_quote {
                    skip_quote = false;
                    continue;
                }
                if in_quotes {
                    if b == b'"' {
                        // A doubled quote is one quote.
                        if body.get(i + 1) == Some(&b'"') {
                            field.push(b'"');
                            skip_quote = true;
                        } else {
                            in_quotes = false;
                            closed = true;
                        }
                    } else {
                        field.push(b);
                    }
                } else if b == b',' {
                    fields.push(std::mem::take(&mut field));
                    quoted = false;
                    closed = false;
                } else if closed {
                    return Err(self.bad(self.line, "unexpected character after a closing quote"));
                } else if b == b'"' && field.is_empty() && !quoted {
                    quoted = true;
                    in_quotes = true;
                } else {
                    field.push(b);
                }
            }
            if in_quotes {
                // The quoted field goes on: its line break is part of the value.
                field.extend_from_slice(&line[body.len()..]);
            }
            self.buf = line;
            if !in_quotes {
                break;
            }
            if !self.read_line()? {
                return Err(self.bad(first_line, "quoted field never closed"));
            }
        }
        fields.push(field);
        Ok(Some((first_line, fields)))
    }
}

/// One CSV record: the line it starts on and its unquoted fields.
type CsvRecord = (u64, Vec<Vec<u8>>);

fn trim_line_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl<K: CliKey, R: BufRead> Iterator for CsvEntries<K, R> {
    type Item = Result<(K, Vec<u8>), omendb::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = match self.record() {
            Ok(None) => return None,
            Err(e) => Err(e),
            Ok(Some((line, fields))) => self.entry(line, fields),
        };
        self.failed = item.is_err();
        Some(item)
    }
}

impl<K: CliKey, R: BufRead> CsvEntries<K, R> {
    fn entry(&self, line: u64, mut fields: Vec<Vec<u8>>) -> Result<(K, Vec<u8>), omendb::Error> {
        if fields.len() != 2 {
            return Err(self.bad(
                line,
                &format!(
                    "expected 2 fields (key,value), found {}; quote a value that holds commas",
                    fields.len()
                ),
            ));
        }
        let value = fields.pop().unwrap_or_default();
        let key_field = fields.pop().unwrap_or_default();
        let key_text =
            std::str::from_utf8(&key_field).map_err(|_| self.bad(line, "key is not UTF-8"))?;
        let key = key_text.trim().parse::<K>().map_err(|_| {
            self.bad(
                line,
                &format!("{key_text:?} is not a valid {} key", K::TYPE_NAME),
            )
        })?;
        if !key.is_valid() {
            return Err(self.bad(line, "NaN keys are not allowed"));
        }
        Ok((key, value))
    }
}

/// Keys of a SOSD binary file, read a chunk at a time, each with an empty value.
struct SosdEntries<K, R> {
    reader: R,
    file: String,
    left: u64,
    chunk: Vec<K>,
    at: usize,
    bar: ProgressBar,
    failed: bool,
}

impl<K: CliKey, R: Read> SosdEntries<K, R> {
    fn new(mut reader: R, file: String, len: u64, bar: ProgressBar) -> CliResult<Self> {
        let width = K::SOSD_WIDTH as u64;
        let mut count = [0u8; 8];
        reader
            .read_exact(&mut count)
            .map_err(|e| CliError::Input(format!("{file}: reading the count: {e}")))?;
        let count = u64::from_le_bytes(count);
        if count.checked_mul(width).and_then(|b| b.checked_add(8)) != Some(len) {
            return Err(CliError::Input(format!(
                "{file}: SOSD header says {count} keys of {width} bytes but the file has {len} bytes"
            )));
        }
        bar.inc(8);
        Ok(Self {
            reader,
            file,
            left: count,
            chunk: Vec::new(),
            at: 0,
            bar,
            failed: false,
        })
    }

    fn refill(&mut self) -> Result<(), omendb::Error> {
        let width = K::SOSD_WIDTH;
        let n = self.left.min(65536) as usize;
        let mut raw = vec![0u8; n * width];
        self.reader
            .read_exact(&mut raw)
            .map_err(|e| omendb::Error::BadInput(format!("{}: reading keys: {e}", self.file)))?;
        self.chunk.clear();
        for bytes in raw.chunks_exact(width) {
            let mut bits = [0u8; 8];
            bits[..bytes.len()].copy_from_slice(bytes);
            let key = K::from_sosd(u64::from_le_bytes(bits));
            if !key.is_valid() {
                return Err(omendb::Error::BadInput(format!(
                    "{}: a key is NaN",
                    self.file
                )));
            }
            self.chunk.push(key);
        }
        self.bar.inc(raw.len() as u64);
        self.left -= n as u64;
        self.at = 0;
        Ok(())
    }
}

impl<K: CliKey, R: Read> Iterator for SosdEntries<K, R> {
    type Item = Result<(K, [u8; 0]), omendb::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.at == self.chunk.len() {
            if self.left == 0 {
                return None;
            }
            if let Err(e) = self.refill() {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let key = self.chunk[self.at];
        self.at += 1;
        Some(Ok((key, [])))
    }
}

fn stats<K: CliKey>(path: &Path) -> CliResult<ExitCode> {
    let db = open_existing::<K>(path)?;
    let s = db.stats()?;
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
    out += &format!("heap bytes per entry\t{:.2}\n", s.heap_bytes_per_entry());
    out += &format!("memtables\t{}\n", s.memtables);
    out += &format!("memtable keys\t{}\n", s.memtable_keys);
    out += &format!("memtable heap bytes\t{}\n", s.memtable_heap_bytes);
    out += &format!("runs\t{}\n", s.runs.len());
    out += &format!("run file bytes\t{}\n", s.run_file_bytes());
    out += &format!("run heap bytes\t{}\n", s.run_heap_bytes());
    for r in &s.runs {
        out += &format!(
            "run\t{}\tlevel {}\t{} entries\t{} tombstones\t{} bytes\n",
            r.name, r.level, r.entries, r.tombstones, r.file_bytes
        );
    }
    out += &format!("log number\t{}\n", s.log_number);
    out += &format!("log bytes\t{}\n", s.log_bytes);
    out += &format!("next sequence\t{}\n", s.next_seq);
    out += &format!("file bytes\t{files}\n");
    // Counters start at open, so a fresh `omendb stats` process shows what it wrote itself.
    match s.write_amplification() {
        Some(w) => out += &format!("write amplification since open\t{w:.2}\n"),
        None => out += "write amplification since open\t-\n",
    }
    emit(&mut io::stdout().lock(), out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn compact<K: CliKey>(path: &Path) -> CliResult<ExitCode> {
    let db = open_existing::<K>(path)?;
    db.compact()?;
    db.close()?;
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
        "ok: {} {} entries ({} runs with {} entries in {} blocks, {} log records in {} files)\n",
        report.entries,
        report.key_type,
        report.runs,
        report.run_entries,
        report.run_blocks,
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
