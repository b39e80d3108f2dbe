//! `omendb`: the command-line face of the database. Argument parsing and printing only;
//! every operation is a call into the `omendb` crate.
//!
//! Exit codes: 0 success, 1 `get` of an absent key, 2 any error (one line on stderr).
//! A panic is caught and reported as one line as well; no backtrace reaches the user.

#![forbid(unsafe_code)]

mod commands;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// An embedded, durable, ordered key-value database on a learned index.
#[derive(Debug, Parser)]
#[command(name = "omendb", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Key types a database can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    U64,
    I64,
    U32,
    I32,
    F64,
    F32,
}

/// Input formats for `import`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `key,value` records (RFC 4180: quote a field holding commas, quotes or line
    /// breaks; `""` inside quotes is one quote).
    Csv,
    /// SOSD binary: little-endian u64 count, then that many little-endian keys of the
    /// database's key width; each key is stored with an empty value.
    Sosd,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty database in directory DB.
    Create {
        db: PathBuf,
        /// Key type of the database (fixed for its lifetime).
        #[arg(long, value_enum, default_value = "u64")]
        key_type: KeyTypeArg,
    },
    /// Set KEY to VALUE; exit 0 means the write is durable.
    Put {
        db: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// VALUE is hexadecimal, for raw bytes.
        #[arg(long)]
        hex: bool,
    },
    /// Print the value of KEY; exit 1 if absent.
    Get {
        db: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: String,
        /// Print the value as hexadecimal.
        #[arg(long)]
        hex: bool,
    },
    /// Remove KEY (absent keys are fine); exit 0 means the delete is durable.
    Delete {
        db: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Print `KEY<TAB>VALUE` lines in key order.
    Scan {
        db: PathBuf,
        /// First key (inclusive).
        #[arg(long, allow_hyphen_values = true)]
        from: Option<String>,
        /// Last key (inclusive).
        #[arg(long, allow_hyphen_values = true)]
        to: Option<String>,
        /// At most this many entries.
        #[arg(long)]
        limit: Option<u64>,
        /// Print values as hexadecimal.
        #[arg(long)]
        hex: bool,
    },
    /// Load a file of entries, all or nothing.
    Import {
        db: PathBuf,
        file: PathBuf,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
    },
    /// Print figures about the database.
    Stats { db: PathBuf },
    /// Write the memtable out as a run and start a new log.
    Checkpoint { db: PathBuf },
    /// Merge every run into one, dropping deleted entries.
    Compact { db: PathBuf },
    /// Check every checksum and invariant; exit 2 naming file and offset on failure.
    Verify { db: PathBuf },
}

fn main() -> ExitCode {
    // Panics become one line on stderr and exit 2 (the hook prints, main converts).
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        let msg = msg.lines().next().unwrap_or_default().to_string();
        eprintln!("omendb: internal error: {msg}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprintln!("omendb: a subcommand is required (see omendb --help)");
                return ExitCode::from(2);
            }
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("omendb: {first} (see omendb --help)");
            return ExitCode::from(2);
        }
    };
    match std::panic::catch_unwind(|| commands::run(cli.command)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            let text = e.to_string();
            eprintln!("omendb: {}", text.lines().next().unwrap_or("error"));
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}
