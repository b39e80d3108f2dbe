//! The write-ahead log: checksummed records, one per group commit, each holding one or
//! more whole batches. Byte layouts and the recovery policy are in docs/design.md
//! ("Log file"); the constants in [`mod@format`] mirror that section.

pub mod format;
pub mod reader;
pub mod writer;

/// The file name of log number `n`.
pub fn log_name(n: u64) -> String {
    format!("log-{n:016x}.wal")
}

/// The log number of a file name, if it names a log.
pub fn parse_log_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("log-")?.strip_suffix(".wal")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_round_trip() {
        assert_eq!(parse_log_name(&log_name(0x1f)), Some(0x1f));
        assert_eq!(parse_log_name("log-1.wal"), None);
        assert_eq!(parse_log_name("SNAPSHOT"), None);
    }
}
