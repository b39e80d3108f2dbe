//! The one search primitive data nodes use: the first slot in a window whose
//! key satisfies a monotone predicate.
//!
//! A binary search narrows the window, then a branch-free count finishes
//! it: counting the keys that are not yet "right" gives the answer's offset
//! directly, which the compiler turns into straight-line compares. This is
//! the single place to add a target-specific backend; the scalar path here
//! is what every target runs today.
//!
//! Wider windows counted before the exponential search, and AVX2 counts
//! of the 5-slot window and of an 8-slot one, were measured and not kept
//! (docs/design.md, "Lookup"): none was faster, so no target-specific path
//! exists.

use crate::data_node::Slot;
use crate::key::Key;

/// Windows at most this long are finished by a linear count.
const LINEAR_WINDOW: usize = 16;

/// First index in `lo..hi` whose key image satisfies `is_right`, or `hi`;
/// `is_right` must be false then true along the window. Also returns the
/// number of comparisons made, for the cost counters.
#[inline(always)]
pub(crate) fn first_right<K: Key, V>(
    slots: &[Slot<K, V>],
    mut lo: usize,
    mut hi: usize,
    is_right: &impl Fn(u64) -> bool,
) -> (usize, u32) {
    let mut probes = 0u32;
    while hi - lo > LINEAR_WINDOW {
        let mid = lo + (hi - lo) / 2;
        probes += 1;
        if is_right(slots[mid].key.to_ordered()) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let window = &slots[lo..hi];
    let left = window
        .iter()
        .map(|s| usize::from(!is_right(s.key.to_ordered())))
        .sum::<usize>();
    probes += u32::from(!window.is_empty());
    (lo + left, probes)
}
