//! A counting global allocator: wraps the system allocator and keeps atomic counts of the
//! bytes currently allocated and the peak since the last reset. The binary installs it with
//! `#[global_allocator]`; in-process structures are measured as the change in current bytes
//! around building them, which counts everything they own on the Rust heap.
//!
//! SQLite allocates through libc's malloc directly, so it is invisible here; it is measured
//! with `sqlite3_memory_used` instead (see `memory.rs`).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

pub struct CountingAlloc;

impl CountingAlloc {
    fn added(size: usize) {
        let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    fn removed(size: usize) {
        CURRENT.fetch_sub(size, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's layout and pointer unchanged,
// so `System`'s guarantees carry over; the counters are plain atomics with no effect on the
// allocation itself.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's (non-zero size layout).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::added(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::added(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Self::removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            Self::removed(layout.size());
            Self::added(new_size);
        }
        p
    }
}

/// Bytes currently allocated through the Rust global allocator.
pub fn current_bytes() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// Peak of `current_bytes` since the last `reset_peak`.
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Sets the peak to the current value, so a following `peak_bytes` covers only what happens
/// after this call.
pub fn reset_peak() {
    PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Whether `CountingAlloc` is the global allocator (it has seen an allocation). Heap figures
/// are reported only when it is.
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::Relaxed) != 0
}
