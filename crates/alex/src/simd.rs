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
//!
//! AVX2, measured on 2026-12-01 (this machine's EPYC has it) and not kept,
//! so no target-specific path exists:
//! - The 5-slot window's count with AVX2 (four keys in one compare, the
//!   fifth scalar), built with `-C target-cpu=native`: lookups no faster
//!   than the scalar count at 10M uniform keys.
//! - An 8-slot window counted with AVX2 (masked loads of the keys only, so a
//!   gap's uninitialised value is never read), taken by a data node when the
//!   lookup cost of its sampled keys priced it cheaper, as it did in the
//!   nodes of read-mostly maps (density 0.9: 31% of keys outside the 5-slot
//!   window, 2% outside the 8-slot one). Per lookup in such a map it ran 7
//!   more instructions and mispredicted 0.36 fewer branches (cachegrind's
//!   branch simulation, 2M lookups over 2M keys: 112 -> 119 instructions,
//!   0.77 -> 0.41 mispredictions); in time, 0.97x-1.05x the scalar
//!   window's speed over three and four maps of 10M keys per side, within
//!   the noise between maps built alike. At density 0.75 it was slower
//!   (69.5 against 64.6 ns, medians of ten processes each).
//!   Counting eight slots without AVX2 made lookups 1.5-1.75x slower, and
//!   calling a function compiled for AVX2 from a portable build (detected at
//!   run time) cost about what it saved.

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
