//! Process-level and SQLite memory readings.

#![allow(unsafe_code)]

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
