//! The one search primitive data nodes use: the first slot in a window whose
//! key satisfies a monotone predicate.
//!
//! A binary search narrows the window, then a branch-free count finishes
//! it: counting the keys that are not yet "right" gives the answer's offset
//! directly, which the compiler turns into straight-line compares. This is
//! the single place to add a target-specific backend; the scalar path here
//! is what every target runs today.
//!
//! Measured and rejected (10M uniform u64 keys, random lookups): a fixed
//! branch-free window of 8 slots around the prediction, tried before the
//! exponential search, made lookups slower (about 140 ns against 100 ns),
//! because it touches two or three cache lines where the exponential search
//! from an accurate prediction touches one. Measured again on 2026-11-30
//! against a short walk from the prediction: an 8-slot window and a count
//! over the predicted slot's 4-slot cache line were both slower. Once bulk
//! loads placed keys on both sides of their predictions, a 5-slot window
//! (two lines) beat the walk; `DataNode::find` now counts over it, and this
//! search serves the keys outside it.

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
