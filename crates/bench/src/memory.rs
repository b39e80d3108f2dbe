//! Process-level and SQLite memory readings, and the transparent-huge-page setting.

#![allow(unsafe_code)]

use serde::Serialize;

/// Peak resident set size of the whole process (`VmHWM` in /proc/self/status), in bytes.
/// Process-wide: it includes the key arrays, the operation lists and everything else alive.
pub fn peak_rss_bytes() -> Option<u64> {
    proc_status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Current resident set size (`VmRSS`), in bytes.
pub fn rss_bytes() -> Option<u64> {
    proc_status_kib("VmRSS:").map(|kib| kib * 1024)
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// Resets the kernel's peak RSS to the current RSS (writing "5" to /proc/self/clear_refs,
/// Linux 4.0+), so the next `peak_rss_bytes` covers one system's run. Returns whether it
/// worked; when it did not, peak RSS is the peak of the whole process so far.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Bytes SQLite currently holds from its allocator, across all connections of the process
/// (page cache, schema, statements; for an in-memory database, the database itself).
pub fn sqlite_memory_used() -> i64 {
    // SAFETY: sqlite3_memory_used takes no arguments, only reads SQLite's global memory
    // statistics under its own mutex, and is safe to call at any time, even before
    // sqlite3_initialize.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

/// Peak of `sqlite_memory_used` since the last reset; `reset` starts a new window.
pub fn sqlite_memory_highwater(reset: bool) -> i64 {
    // SAFETY: as for sqlite3_memory_used; the flag only asks SQLite to reset its counter.
    unsafe { rusqlite::ffi::sqlite3_memory_highwater(i32::from(reset)) }
}

/// CPU model name from /proc/cpuinfo, for the report header.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// The glibc malloc tunable that makes malloc advise the kernel to back its heap and its
/// mmapped chunks with transparent huge pages (glibc 2.35+), as it appears in
/// `GLIBC_TUNABLES`, up to and including the `=`. Value 1 asks for THP with madvise;
/// 2 and above map hugetlbfs pages instead, which `AnonHugePages` does not count.
pub const MALLOC_HUGETLB: &str = "glibc.malloc.hugetlb=";

/// The `glibc.malloc.hugetlb=...` entry of a `GLIBC_TUNABLES` value (colon-separated
/// `name=value` pairs), as found, whatever its value; `None` when the tunable is absent.
/// The last entry wins, as in glibc.
pub fn parse_malloc_hugetlb(tunables: &str) -> Option<&str> {
    tunables
        .split(':')
        .map(str::trim)
        .rfind(|t| t.starts_with(MALLOC_HUGETLB))
}

/// Whether a `glibc.malloc.hugetlb=...` entry turns huge pages on: any value but 0.
pub fn malloc_hugetlb_enabled(entry: &str) -> bool {
    entry
        .strip_prefix(MALLOC_HUGETLB)
        .is_some_and(|v| !v.trim().is_empty() && v.trim() != "0")
}

/// The `glibc.malloc.hugetlb=...` entry of this process's `GLIBC_TUNABLES`, if any.
pub fn malloc_hugetlb() -> Option<String> {
    let tunables = std::env::var_os("GLIBC_TUNABLES")?;
    parse_malloc_hugetlb(&tunables.to_string_lossy()).map(str::to_string)
}

/// The selected mode in a transparent-huge-page `enabled` file, the bracketed word of
/// e.g. `always [madvise] never`.
pub fn parse_thp_mode(enabled: &str) -> Option<&str> {
    let start = enabled.find('[')? + 1;
    let len = enabled[start..].find(']')?;
    let mode = enabled[start..start + len].trim();
    (!mode.is_empty()).then_some(mode)
}

/// The kernel's transparent-huge-page mode (`always`, `madvise` or `never`) from
/// /sys/kernel/mm/transparent_hugepage/enabled; `None` where it cannot be read.
pub fn thp_mode() -> Option<String> {
    let enabled = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    parse_thp_mode(&enabled).map(str::to_string)
}

/// The `AnonHugePages` figure of a /proc smaps_rollup (or status-like) text, in KiB.
pub fn parse_anon_huge_pages_kib(smaps_rollup: &str) -> Option<u64> {
    let line = smaps_rollup
        .lines()
        .find_map(|l| l.strip_prefix("AnonHugePages:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Whether the mapping that contains `addr`, in the text of a /proc/<pid>/smaps, carries
/// the `VmFlags` flag `flag` (e.g. `hg`, set by `madvise(MADV_HUGEPAGE)`); `None` when no
/// mapping contains `addr` or that mapping has no `VmFlags` line.
pub fn parse_smaps_vmflag(smaps: &str, addr: usize, flag: &str) -> Option<bool> {
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        let range = first.split_once('-').and_then(|(a, b)| {
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        });
        if let Some((start, end)) = range {
            if inside {
                // The containing mapping ended without a VmFlags line.
                return None;
            }
            inside = (start..end).contains(&addr);
        } else if inside {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                return Some(flags.split_whitespace().any(|f| f == flag));
            }
        }
    }
    None
}

/// Whether glibc's malloc is advising the kernel to back the heap with transparent huge
/// pages, as `glibc.malloc.hugetlb=1` asks: makes a 64 MiB allocation (never touched, so it
/// costs address space only) and looks for the `hg` flag on its mapping in /proc/self/smaps.
/// The size is above glibc's largest dynamic mmap threshold (32 MiB), so malloc maps it
/// afresh and freeing it leaves the threshold, and so later allocations, as they were.
/// `None` where smaps cannot be read.
///
/// glibc 2.35 and 2.36 can ignore the tunable: their check of the THP mode compares the
/// `enabled` file's 23 bytes, read into a 24-byte buffer that is never terminated, with
/// `strcmp`, so the outcome rests on one uninitialised stack byte, which varies with the
/// process's layout and address randomisation. Later glibc terminates the buffer.
pub fn malloc_advises_huge_pages() -> Option<bool> {
    let probe: Vec<u8> = Vec::with_capacity(64 << 20);
    let addr = std::hint::black_box(&probe).as_ptr() as usize;
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let advised = parse_smaps_vmflag(&smaps, addr, "hg");
    drop(probe);
    advised
}

/// Anonymous memory of the whole process currently backed by transparent huge pages
/// (`AnonHugePages` in /proc/self/smaps_rollup, Linux 4.14+), in bytes; `None` where it
/// cannot be read.
pub fn anon_huge_pages_bytes() -> Option<u64> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    parse_anon_huge_pages_kib(&rollup).map(|kib| kib * 1024)
}

/// How the run's memory stood with respect to transparent huge pages (THP): the malloc
/// tunable in effect and the kernel's mode. Process-wide, so the same for every system.
#[derive(Debug, Clone, Serialize)]
pub struct HugePageSetting {
    /// The `glibc.malloc.hugetlb=...` entry of `GLIBC_TUNABLES` as found (any value);
    /// `None` when absent, which is malloc's default (no huge-page advice).
    pub malloc_hugetlb: Option<String>,
    /// Whether that entry turns huge pages on (a value other than 0).
    pub enabled: bool,
    /// Whether `--huge-pages` was given (which sets the tunable by re-executing the run).
    pub flag: bool,
    /// The kernel's THP mode (`always`, `madvise`, `never`); `None` where unreadable.
    pub thp_mode: Option<String>,
    /// When the tunable is on: whether malloc was found advising huge pages
    /// (`malloc_advises_huge_pages`); `None` when the tunable is off or smaps unreadable.
    /// In `always` mode glibc leaves the advice out by design (every mapping qualifies).
    pub malloc_advised: Option<bool>,
}

impl HugePageSetting {
    /// Reads the setting of this process; `flag` is whether `--huge-pages` was given.
    pub fn current(flag: bool) -> Self {
        let malloc_hugetlb = malloc_hugetlb();
        let enabled = malloc_hugetlb
            .as_deref()
            .is_some_and(malloc_hugetlb_enabled);
        HugePageSetting {
            enabled,
            malloc_hugetlb,
            flag,
            thp_mode: thp_mode(),
            malloc_advised: if enabled {
                malloc_advises_huge_pages()
            } else {
                None
            },
        }
    }

    /// The tunable is on and the kernel is in `madvise` mode, yet malloc gives no advice:
    /// glibc did not apply the tunable (see `malloc_advises_huge_pages`), so the heap is in
    /// small pages as without it.
    pub fn ignored_by_glibc(&self) -> bool {
        self.enabled
            && self.thp_mode.as_deref() == Some("madvise")
            && self.malloc_advised == Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malloc_hugetlb_entries() {
        assert_eq!(
            parse_malloc_hugetlb("glibc.malloc.hugetlb=1"),
            Some("glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            parse_malloc_hugetlb("glibc.malloc.hugetlb=0"),
            Some("glibc.malloc.hugetlb=0")
        );
        assert_eq!(
            parse_malloc_hugetlb("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"),
            Some("glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            parse_malloc_hugetlb("glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0"),
            Some("glibc.malloc.hugetlb=0")
        );
        assert_eq!(parse_malloc_hugetlb(""), None);
        assert_eq!(parse_malloc_hugetlb("glibc.malloc.arena_max=2"), None);
        assert!(malloc_hugetlb_enabled("glibc.malloc.hugetlb=1"));
        assert!(malloc_hugetlb_enabled("glibc.malloc.hugetlb=2"));
        assert!(!malloc_hugetlb_enabled("glibc.malloc.hugetlb=0"));
        assert!(!malloc_hugetlb_enabled("glibc.malloc.hugetlb="));
        assert!(!malloc_hugetlb_enabled("glibc.malloc.arena_max=2"));
    }

    #[test]
    fn thp_modes() {
        assert_eq!(parse_thp_mode("always [madvise] never\n"), Some("madvise"));
        assert_eq!(parse_thp_mode("[always] madvise never\n"), Some("always"));
        assert_eq!(parse_thp_mode("always madvise [never]"), Some("never"));
        assert_eq!(parse_thp_mode("always madvise never"), None);
        assert_eq!(parse_thp_mode("[]"), None);
        assert_eq!(parse_thp_mode(""), None);
    }

    #[test]
    fn anon_huge_pages() {
        let rollup =
            "55d4c0a8e000-7ffd2b3f9000 ---p 00000000 00:00 0                      [rollup]\n\
                      Rss:             4012345 kB\n\
                      Pss:             4010000 kB\n\
                      Anonymous:       4005000 kB\n\
                      LazyFree:              0 kB\n\
                      AnonHugePages:   4005888 kB\n\
                      ShmemPmdMapped:        0 kB\n\
                      FilePmdMapped:         0 kB\n";
        assert_eq!(parse_anon_huge_pages_kib(rollup), Some(4_005_888));
        assert_eq!(
            parse_anon_huge_pages_kib("Rss: 10 kB\nAnonHugePages:        0 kB\n"),
            Some(0)
        );
        assert_eq!(parse_anon_huge_pages_kib("Rss: 10 kB\n"), None);
        assert_eq!(parse_anon_huge_pages_kib("AnonHugePages: lots\n"), None);
        assert_eq!(parse_anon_huge_pages_kib(""), None);
    }

    #[test]
    fn smaps_vmflags() {
        let smaps = "55d4c0a8e000-55d4c0aaf000 rw-p 00000000 00:00 0                          [heap]\n\
                     Size:                132 kB\n\
                     Rss:                   8 kB\n\
                     VmFlags: rd wr mr mw me ac sd\n\
                     7f3a10000000-7f3a14001000 rw-p 00000000 00:00 0 \n\
                     Size:              65540 kB\n\
                     AnonHugePages:         0 kB\n\
                     VmFlags: rd wr mr mw me ac sd hg\n\
                     7f3a20000000-7f3a20001000 r--p 00000000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6\n\
                     Size:                  4 kB\n";
        assert_eq!(
            parse_smaps_vmflag(smaps, 0x55d4_c0a9_0000, "hg"),
            Some(false)
        );
        assert_eq!(
            parse_smaps_vmflag(smaps, 0x7f3a_1000_0010, "hg"),
            Some(true)
        );
        // The end of a range is outside it.
        assert_eq!(parse_smaps_vmflag(smaps, 0x7f3a_1400_1000, "hg"), None);
        // A mapping without a VmFlags line, and an address in no mapping.
        assert_eq!(parse_smaps_vmflag(smaps, 0x7f3a_2000_0000, "hg"), None);
        assert_eq!(parse_smaps_vmflag(smaps, 0x1000, "hg"), None);
        assert_eq!(parse_smaps_vmflag("", 0x1000, "hg"), None);
    }

    #[test]
    fn ignored_tunable() {
        let mut s = HugePageSetting {
            malloc_hugetlb: Some("glibc.malloc.hugetlb=1".into()),
            enabled: true,
            flag: true,
            thp_mode: Some("madvise".into()),
            malloc_advised: Some(false),
        };
        assert!(s.ignored_by_glibc());
        s.malloc_advised = Some(true);
        assert!(!s.ignored_by_glibc());
        s.malloc_advised = Some(false);
        s.thp_mode = Some("always".into());
        assert!(!s.ignored_by_glibc());
    }

    #[test]
    fn readers_do_not_panic() {
        // Whatever the platform offers: a figure or None, never a panic.
        let _ = thp_mode();
        let _ = anon_huge_pages_bytes();
        let _ = malloc_hugetlb();
        let _ = malloc_advises_huge_pages();
    }
}
