//! Reading key files: the SOSD binary format (little-endian u64 count, then that many
//! little-endian u64 keys) or text with one unsigned decimal key per line.
//!
//! The format is detected from the bytes: a file is SOSD if and only if it is at least 8
//! bytes long and its length is exactly `8 + 8 * count` for the count in its first 8 bytes.
//! Otherwise it is read as text if it is valid UTF-8 without control characters other than
//! whitespace; anything else is reported as a damaged SOSD file. Bad input is an error, never
//! a panic. Keys are returned sorted and deduplicated (SOSD sets may hold duplicates); the
//! number of duplicates dropped is reported.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {path} is empty or holds no keys")]
    Empty { path: PathBuf },
    #[error(
        "key file {path} is neither text nor a valid SOSD file: its header says {header_count} \
         keys ({expected_bytes} bytes with the header) but the file has {actual_bytes} bytes \
         (truncated or corrupt?)"
    )]
    BadSosdLength {
        path: PathBuf,
        header_count: u64,
        expected_bytes: u128,
        actual_bytes: u64,
    },
    #[error(
        "key file {path} is binary but shorter than the 8-byte SOSD header ({actual_bytes} bytes)"
    )]
    TooShort { path: PathBuf, actual_bytes: u64 },
    #[error("key file {path}, line {line}: {content:?} is not an unsigned 64-bit integer")]
    BadLine {
        path: PathBuf,
        line: usize,
        content: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFileFormat {
    Sosd,
    Text,
}

#[derive(Debug, Clone)]
pub struct KeyFile {
    pub keys: Vec<u64>,
    pub format: KeyFileFormat,
    /// Keys in the file before deduplication.
    pub raw_count: usize,
    pub duplicates_removed: usize,
    pub was_sorted: bool,
}

pub fn read_key_file(path: &Path) -> Result<KeyFile, KeyFileError> {
    let bytes = std::fs::read(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_key_bytes(path, &bytes)
}

/// Parses the bytes of a key file; `path` is only used in error messages.
pub fn parse_key_bytes(path: &Path, bytes: &[u8]) -> Result<KeyFile, KeyFileError> {
    let (keys, format) = if let Some(keys) = try_sosd(bytes) {
        (keys, KeyFileFormat::Sosd)
    } else if let Some(text) = as_text(bytes) {
        (parse_text(path, text)?, KeyFileFormat::Text)
    } else if bytes.len() < 8 {
        return Err(KeyFileError::TooShort {
            path: path.to_path_buf(),
            actual_bytes: bytes.len() as u64,
        });
    } else {
        let header_count = read_u64(&bytes[..8]);
        return Err(KeyFileError::BadSosdLength {
            path: path.to_path_buf(),
            header_count,
            expected_bytes: 8 + 8 * u128::from(header_count),
            actual_bytes: bytes.len() as u64,
        });
    };
    if keys.is_empty() {
        return Err(KeyFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let raw_count = keys.len();
    let was_sorted = keys.windows(2).all(|w| w[0] <= w[1]);
    let mut keys = keys;
    if !was_sorted {
        keys.sort_unstable();
    }
    keys.dedup();
    Ok(KeyFile {
        duplicates_removed: raw_count - keys.len(),
        keys,
        format,
        raw_count,
        was_sorted,
    })
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_le_bytes(a)
}

fn try_sosd(bytes: &[u8]) -> Option<Vec<u64>> {
    if bytes.len() < 8 || !bytes.len().is_multiple_of(8) {
        return None;
    }
    let count = read_u64(&bytes[..8]);
    if u128::from(count) * 8 + 8 != bytes.len() as u128 {
        return None;
    }
    Some(bytes[8..].chunks_exact(8).map(read_u64).collect())
}

fn as_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || c.is_whitespace())
        .then_some(text)
}

fn parse_text(path: &Path, text: &str) -> Result<Vec<u64>, KeyFileError> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line.parse::<u64>().map_err(|_| KeyFileError::BadLine {
            path: path.to_path_buf(),
            line: i + 1,
            content: line.chars().take(40).collect(),
        })?;
        keys.push(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sosd(keys: &[u64]) -> Vec<u8> {
        let mut b = (keys.len() as u64).to_le_bytes().to_vec();
        for k in keys {
            b.extend_from_slice(&k.to_le_bytes());
        }
        b
    }

    fn p() -> &'static Path {
        Path::new("test-keys")
    }

    #[test]
    fn reads_sosd_sorting_and_deduplicating() {
        let f = parse_key_bytes(p(), &sosd(&[5, 1, u64::MAX, 5, 0])).unwrap();
        assert_eq!(f.format, KeyFileFormat::Sosd);
        assert_eq!(f.keys, vec![0, 1, 5, u64::MAX]);
        assert_eq!(
            (f.raw_count, f.duplicates_removed, f.was_sorted),
            (5, 1, false)
        );
    }

    #[test]
    fn reads_text_with_blank_and_comment_lines() {
        let f = parse_key_bytes(p(), b"# keys\n3\n\n 18446744073709551615 \r\n1\n").unwrap();
        assert_eq!(f.format, KeyFileFormat::Text);
        assert_eq!(f.keys, vec![1, 3, u64::MAX]);
    }

    #[test]
    fn truncated_sosd_is_a_clear_error() {
        let mut b = sosd(&[1, 2, 3, 4]);
        b.truncate(b.len() - 3);
        let err = parse_key_bytes(p(), &b).unwrap_err();
        assert!(matches!(
            err,
            KeyFileError::BadSosdLength {
                header_count: 4,
                actual_bytes: 37,
                ..
            }
        ));
        assert!(err.to_string().contains("truncated"), "{err}");
        // Cut to a whole number of words: still not SOSD, still an error.
        let mut b = sosd(&[1, 2, 3, 4]);
        b.truncate(24);
        assert!(matches!(
            parse_key_bytes(p(), &b),
            Err(KeyFileError::BadSosdLength { .. })
        ));
    }

    #[test]
    fn corrupt_inputs_are_errors_not_panics() {
        // Header claims more keys than u64 arithmetic on usize could hold.
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(
            parse_key_bytes(p(), &b),
            Err(KeyFileError::BadSosdLength { .. })
        ));
        assert!(matches!(
            parse_key_bytes(p(), &[0, 1, 2]),
            Err(KeyFileError::TooShort { .. })
        ));
        let err = parse_key_bytes(p(), b"12\n-4\n").unwrap_err();
        assert!(
            matches!(err, KeyFileError::BadLine { line: 2, .. }),
            "{err}"
        );
        assert!(matches!(
            parse_key_bytes(p(), b"99999999999999999999999\n"),
            Err(KeyFileError::BadLine { line: 1, .. })
        ));
        assert!(matches!(
            parse_key_bytes(p(), b""),
            Err(KeyFileError::Empty { .. })
        ));
        assert!(matches!(
            parse_key_bytes(p(), &sosd(&[])),
            Err(KeyFileError::Empty { .. })
        ));
    }

    #[test]
    fn reads_a_file_from_disk_and_reports_missing_files() {
        let dir = std::env::temp_dir().join(format!("omendb-bench-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.bin");
        std::fs::write(&path, sosd(&[10, 20, 30])).unwrap();
        assert_eq!(read_key_file(&path).unwrap().keys, vec![10, 20, 30]);
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(read_key_file(&path), Err(KeyFileError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
