//! `DataNode`: a gapped array of `(key, value)` slots placed by a linear
//! model, with a bitmap of occupied slots.
//!
//! Layout invariants (checked by `check`):
//! - bit `i` of `bitmap` is set if and only if `slots[i].val` is
//!   initialised (this is the safety invariant of every `unsafe` block here);
//! - occupied slots hold strictly increasing keys;
//! - `first` is the first occupied slot (the slot count when there is
//!   none), and `last` the last one (0 when there is none): `entry_at`
//!   trusts `first_occupied` and `last_occupied`, which return them, as it
//!   trusts the bitmap;
//! - a gap from `first` on holds the key of the nearest occupied slot to its
//!   right, or `K::MAX_KEY` when there is none; the leading gaps, before
//!   `first`, hold non-decreasing keys no larger than the key at `first`.
//!   So the key array is non-decreasing and the search needs no bitmap: the
//!   last slot with key `<= t` is occupied whenever its key equals `t` and
//!   it is not before `first` (save the trailing `MAX_KEY` gaps). Leading
//!   gaps keep the keys of removed smallest keys: removing a node's first
//!   key rewrites no gap, so draining a node from the front costs the same
//!   per key as draining it from the back. A new first key that is smaller
//!   than the leading gap before it sets every leading gap to `K::MIN_KEY`
//!   (`lower_leading_gaps`), so a run of prepends rewrites each gap once,
//!   not all of them at every prepend;
//! - `num_keys` is the number of set bits, and at least one slot exists.
//!
//! This module knows nothing about the tree or the cost policy: it reports
//! that it has no room, and the tree decides what to do.

use core::mem::{self, MaybeUninit};

use crate::cost::{self, NodeCounters, PlacementStats, StoredCost};
use crate::images::Images;
use crate::key::{near_distance, Key};
use crate::model::{clamp_between, index_bound, max_index_of, LinearModel};
use crate::simd;
use crate::tree::Links;

/// `find` compares the key with every slot from `WINDOW_LEFT` slots before
/// the prediction to `WINDOW_RIGHT` after it, without branches, and hands
/// keys outside that window to the exponential search. A key in the last
/// slot of the window counts all of it, like a key beyond it, so the window
/// settles keys from two slots before the prediction to one after; the
/// refit of `build` centres keys on that. With the isotonic placement of
/// `build`, keys sit on both sides of their predictions, and most lookups
/// settle in the window. Its five slots always span two cache lines; wider
/// and narrower windows measured no faster (docs/design.md, "Lookup").
const WINDOW_LEFT: usize = 2;
const WINDOW_RIGHT: usize = 2;

/// Fewest slots a data node has.
pub(crate) const MIN_SLOTS: usize = 8;

// `find` relies on every node being wider than its window.
const _: () = assert!(MIN_SLOTS > WINDOW_LEFT + WINDOW_RIGHT);

/// How much of the next node a scan prefetches from its first key on.
const PREFETCH_BYTES: usize = 1024;

/// Asks the processor to bring the memory at `p` into the cache, without
/// waiting for it.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, so the instruction exists;
    // a prefetch reads nothing the program observes and never faults,
    // whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Prefetches the cache lines of `bytes` bytes from `start`.
#[inline(always)]
fn prefetch_bytes(start: *const u8, bytes: usize) {
    let mut off = 0;
    while off < bytes {
        prefetch(start.wrapping_add(off));
        off += 64;
    }
}

pub(crate) struct Slot<K, V> {
    pub key: K,
    pub val: MaybeUninit<V>,
}

/// How a rebuilt node spreads its keys over its slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Keys spread over all slots.
    Even,
    /// Keys in the first `used` slots; the rest is room for appends, which
    /// the model places by extrapolation.
    RoomRight { used: usize },
    /// Keys in the last `used` slots; the rest is room for prepends.
    RoomLeft { used: usize },
}

/// Why an insert did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoom {
    /// The node is at its maximum density.
    Full,
    /// The key goes after the last key and the last slot is taken.
    RightEdge,
    /// The key goes before the first key and the first slot is taken.
    LeftEdge,
}

pub(crate) enum Insert<K, V> {
    Inserted,
    Replaced(V),
    NoRoom(K, V, NoRoom),
}

/// Running sums for a least-squares line of slot against key distance.
#[derive(Default)]
struct RefitSums {
    n: f64,
    x: f64,
    y: f64,
    xx: f64,
    xy: f64,
}

impl RefitSums {
    #[inline(always)]
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.xy += x * y;
    }

    /// The fitted line with `placing`'s base, or `placing` itself when the
    /// fit is degenerate.
    fn fit(&self, placing: LinearModel) -> LinearModel {
        if self.n < 2.0 {
            return placing;
        }
        let sxx = self.xx - self.x * self.x / self.n;
        let sxy = self.xy - self.x * self.y / self.n;
        let slope = sxy / sxx;
        if !(slope.is_finite() && slope > 0.0 && sxx > 0.0) {
            return placing;
        }
        let intercept = (self.y - slope * self.x) / self.n;
        let fitted = LinearModel {
            slope,
            intercept,
            base: placing.base,
        };
        if fitted.is_monotone() {
            fitted
        } else {
            placing
        }
    }
}

// The fields `find` reads (model, `max_pos`, slots, `min_pos`) come first,
// and a node starts a cache line, so a lookup reads one line of the header.
#[repr(C, align(64))]
pub(crate) struct DataNode<K: Key, V> {
    pub model: LinearModel,
    /// The last slot index as `f64`, capped at 2^53: the upper clamp of
    /// `find`'s prediction, kept here so lookups do not convert it.
    max_pos: f64,
    slots: Box<[Slot<K, V>]>,
    /// `first + WINDOW_LEFT` as `f64`: the lower clamp of `find`'s
    /// prediction, which keeps its window clear of the leading gaps.
    min_pos: f64,
    /// The first occupied slot, or the slot count when the node is empty
    /// (see the module's invariants).
    first: u32,
    /// The last occupied slot (0 when the node is empty), so that the
    /// node's largest key is found without scanning back over the slots
    /// that removals of the largest keys emptied.
    last: u32,
    bitmap: Box<[u64]>,
    /// Keys held: below the slot count (see `count_u32`).
    num_keys: u32,
    /// Keys the node takes before an insert reports `NoRoom::Full`; below
    /// the slot count, so a gap always exists for an insert.
    limit: u32,
    /// The neighbours in key order, which the tree keeps (`tree.rs`).
    pub links: Links,
    /// What the cost model expected when the node was built.
    pub expected: StoredCost,
    /// What inserts have cost since the node was built.
    pub counters: NodeCounters,
}

/// Places keys `ords` by `model` in slots `first_slot..end_slot` (at
/// least `ords.len()` of them) as runs `(offset, count)` in key order, left
/// in `runs`: key `i` goes to slot `i + offset` of its run.
///
/// Key `i` wants slot `q_i = model(ords[i])`; distinct slots in key order
/// mean `pos_i = i + r_i` with `r` non-decreasing. The `r` closest to
/// `q_i - i` in the least-squares sense comes from pooling adjacent
/// violators: a stack of runs, each at the mean of its keys' wishes, merged
/// while a run's mean falls below the one before it. Each run then takes
/// its mean rounded and clamped to `first_slot..=end_slot - n`, which keeps
/// `r` non-decreasing and every slot in range. A crowd of keys thus spreads
/// around its predictions, half of it left, rather than all to the right.
///
/// Wishes are fixed-point integers (the predictions clamped to the slots,
/// with up to 20 fractional bits, fewer for nodes beyond 2^21 slots so that
/// sums stay below 2^62), so every comparison of means is exact and the
/// rounded means of the runs are non-decreasing by construction (in
/// floating point, a rounding error at a tie could put two keys in one
/// slot). The last run is kept in registers and the common step (pool with
/// it or start a new one) is a conditional move, not a branch on every
/// comparison. A cheaper placement (the midpoint of pushing crowds right and
/// pushing them left) sent more lookups past `find`'s window
/// (docs/design.md, "Build").
fn isotonic_runs<O: Images>(
    ords: O,
    model: &LinearModel,
    first_slot: usize,
    end_slot: usize,
    runs: &mut Vec<(i64, i64)>,
) {
    let n = ords.len();
    debug_assert!(end_slot - first_slot >= n);
    let bits = usize::BITS - end_slot.leading_zeros();
    // Nodes hold at most 2^30 slots (`Config`), so `frac >= 0` suffices.
    debug_assert!(2 * bits <= 62);
    let frac = 62u32.saturating_sub(2 * bits).min(20);
    let one = 1i64 << frac;
    let scale = one as f64;
    let (lo, hi) = (first_slot as f64, (end_slot - 1) as f64);
    // runs[..len] are the runs before the last, which stays in (sum,
    // count) in registers. Sums are of fixed-point wishes, each within
    // `end_slot * one` of zero, over at most `n <= end_slot` keys: below
    // 2^62 by the choice of `frac`, and their products with counts below
    // 2^93.
    runs.clear();
    if n == 0 {
        return;
    }
    // The keys lie within 2^63 of the model's base. NaN fails `p > lo` and
    // goes to the first slot; each comparison compiles to one max or min
    // instruction, where `f64::max` and `f64::min` take several each.
    let wish = |t: u64| {
        let p = model.predict_near_f64(t);
        let p = if p > lo { p } else { lo };
        let p = if p < hi { p } else { hi };
        // SAFETY: `p` is within `lo..=hi`, so below `end_slot < 2^bits`,
        // and `scale` is 2^frac with `frac <= 62 - 2 * bits` when that is
        // positive, 0 otherwise: `p * scale` is below 2^(62 - bits) or, for
        // a node of 2^31 slots or more (single-level nodes may outgrow the
        // configured cap), below `end_slot` itself. Either way it is finite,
        // not NaN (NaN fails `p > lo`), and fits in an i64, which is what
        // `to_int_unchecked` requires. The checked `as` conversion adds
        // saturation code for every key of every bulk load.
        unsafe { (p * scale).to_int_unchecked::<i64>() }
    };
    // Each key's wish less its rank, `q_i - i`, in a pass of its own: no
    // state carries from key to key, so it pipelines, and the pooling loop
    // below (whose branches mispredict) has less to redo. Key `i`'s value
    // sits in `runs[i].0`; the pooling reads it at step `i` and by then
    // has written only entries below `i`.
    runs.extend((0..n).map(|i| (wish(ords.at(i)) - (i as i64) * one, 0)));
    let mut len = 0usize;
    // A slice of its own: through the `Vec`, every store in the loop made
    // the compiler reload the buffer's pointer and length.
    let buf = &mut runs[..];
    let (mut sum, mut count) = (buf[0].0, 1i64);
    for i in 1..n {
        let w = buf[i].0;
        let merge = i128::from(sum) > i128::from(w) * i128::from(count);
        // `len < i`: one run is closed per key at most, and the last run
        // (in registers) holds key `i - 1`.
        debug_assert!(len < i);
        // SAFETY: `len < i < n == buf.len()`.
        *unsafe { buf.get_unchecked_mut(len) } = (sum, count);
        len += usize::from(!merge);
        sum = if merge { sum + w } else { w };
        count = if merge { count + 1 } else { 1 };
        while len > 0 {
            // SAFETY: `0 < len <= i < n == buf.len()`.
            let (s, c) = *unsafe { buf.get_unchecked(len - 1) };
            if i128::from(s) * i128::from(count) > i128::from(sum) * i128::from(c) {
                sum += s;
                count += c;
                len -= 1;
            } else {
                break;
            }
        }
    }
    buf[len] = (sum, count);
    runs.truncate(len + 1);
    // Means rounded (floor of mean + 1/2, exactly) and clamped: both
    // monotone, so offsets stay non-decreasing. The floor of
    // `(2s + c one) / (2 c one)` is the floor of `x / c` for `x` the floor
    // of `(2s + c one) / 2 one`, a shift: an `i64` division by the count
    // remains, and none for a run of one key (most runs).
    let (min_off, max_off) = (first_slot as i64, (end_slot - n) as i64);
    for run in runs.iter_mut() {
        let (s, c) = *run;
        let x = ((2 * i128::from(s) + i128::from(c) * i128::from(one)) >> (frac + 1)) as i64;
        let offset = if c == 1 { x } else { x.div_euclid(c) };
        *run = (offset.clamp(min_off, max_off), c);
    }
}

/// What [`DataNode::lay_out`] decided for a node, besides the runs of
/// slots it leaves in the scratch buffer.
pub(crate) struct Layout {
    keys: usize,
    slots: usize,
    /// Stride of the sample of keys the rank fit read.
    stride: usize,
    /// The placing model.
    model: LinearModel,
}

/// Keys at most on which `DataNode::build` chooses its lookup model and
/// estimates its search cost.
const CHOICE_SAMPLE_KEYS: usize = 512;

/// What looking up the sampled `(image, slot)` pairs costs with `model`,
/// in the units of `find`: nothing for a key its window settles (from two
/// slots before the clamped prediction to one after), the exponential
/// search's steps for any other.
fn lookup_cost(sample: &[(i64, i64)], model: &LinearModel, min_pos: f64, max_pos: f64) -> u64 {
    let mut cost = 0;
    for &(t, pos) in sample {
        let start = clamp_between(model.predict_near_f64(t as u64), min_pos, max_pos) as i64;
        let e = pos - start;
        if !(-(WINDOW_LEFT as i64)..WINDOW_RIGHT as i64).contains(&e) {
            cost += u64::from(1 + 64 - e.unsigned_abs().leading_zeros());
        }
    }
    cost
}

/// A key or slot count as a node stores it. The adaptive layout keeps nodes
/// within `Config::max_data_node_slots` (at most 2^30); a single-level node
/// may outgrow that (a root child is a data node whatever its size, and an
/// edge node grows with appends), but one of 2^32 slots would hold 64 GiB of
/// 16-byte slots. Such a node panics here rather than wrap its counts.
#[inline(always)]
fn count_u32(n: usize) -> u32 {
    u32::try_from(n).expect("a data node has fewer than 2^32 slots")
}

/// Sets bits `start..end` (not empty) of `bitmap`.
#[inline(always)]
fn set_bits(bitmap: &mut [u64], start: usize, end: usize) {
    debug_assert!(start < end);
    let (first, last) = (start >> 6, (end - 1) >> 6);
    let low = !0u64 << (start & 63);
    let high = !0u64 >> (63 - ((end - 1) & 63));
    if first == last {
        bitmap[first] |= low & high;
    } else {
        bitmap[first] |= low;
        for word in &mut bitmap[first + 1..last] {
            *word = !0;
        }
        bitmap[last] |= high;
    }
}

/// Shifts at most this many slots by swaps: most inserts shift a slot or
/// two, where the calls `rotate_right` makes into `memmove` cost more than
/// the moves.
const SWAP_SHIFT_MAX: usize = 16;

/// `slots.rotate_right(1)`: the last slot (a gap) moves to the front.
#[inline(always)]
fn shift_right<T>(slots: &mut [T]) {
    if slots.len() <= SWAP_SHIFT_MAX {
        for j in (1..slots.len()).rev() {
            slots.swap(j - 1, j);
        }
    } else {
        slots.rotate_right(1);
    }
}

/// `slots.rotate_left(1)`: the first slot (a gap) moves to the end.
#[inline(always)]
fn shift_left<T>(slots: &mut [T]) {
    if slots.len() <= SWAP_SHIFT_MAX {
        for j in 1..slots.len() {
            slots.swap(j - 1, j);
        }
    } else {
        slots.rotate_left(1);
    }
}

#[inline(always)]
fn ord<K: Key>(k: K) -> u64 {
    k.to_ordered()
}

impl<K: Key, V> DataNode<K, V> {
    /// An empty node with `slots` slots (at least `MIN_SLOTS`).
    pub fn empty(slots: usize) -> Self {
        Self::build(
            core::iter::empty(),
            &[] as &[u64],
            slots.max(MIN_SLOTS),
            Placement::Even,
            &mut Vec::new(),
        )
    }

    /// Builds a node over `pairs`, whose keys' ordered images are `ords`
    /// (sorted, distinct, same length), in `slots` slots.
    ///
    /// `scratch` is working memory, passed in so that a bulk load reuses it
    /// across nodes; its contents on return are unspecified.
    pub fn build<I, O>(
        pairs: I,
        ords: O,
        slots: usize,
        placement: Placement,
        scratch: &mut Vec<(i64, i64)>,
    ) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        O: Images,
    {
        let layout = Self::lay_out(ords, slots, placement, scratch);
        Self::fill(layout, pairs, scratch)
    }

    /// The first half of [`DataNode::build`], which reads only the key
    /// images: fits the placing model and leaves the runs of slots in
    /// `scratch`. A bulk load lays out a node from its pairs' keys, then
    /// moves the pairs in with [`DataNode::fill`].
    pub fn lay_out<O: Images>(
        ords: O,
        slots: usize,
        placement: Placement,
        scratch: &mut Vec<(i64, i64)>,
    ) -> Layout {
        let n = ords.len();
        let slots = slots.max(n).max(MIN_SLOTS);
        let stride = n.div_ceil(cost::FIT_SAMPLE_KEYS).max(1);
        let ranks = LinearModel::fit_ranks_strided(ords, stride);
        let model = if n == 0 {
            LinearModel::ZERO
        } else {
            match placement {
                Placement::Even => ranks.scaled(slots as f64 / n as f64),
                Placement::RoomRight { used } => {
                    ranks.scaled(used.clamp(n, slots) as f64 / n as f64)
                }
                Placement::RoomLeft { used } => {
                    let used = used.clamp(n, slots);
                    ranks
                        .scaled(used as f64 / n as f64)
                        .shifted((slots - used) as f64)
                }
            }
        };
        // The slots existing keys may take: reserved room stays empty even
        // when the model extrapolates an outlier into it.
        let (first_slot, end_slot) = match placement {
            Placement::Even => (0, slots),
            Placement::RoomRight { used } => (0, used.clamp(n.max(1), slots)),
            Placement::RoomLeft { used } => (slots - used.clamp(n.max(1), slots), slots),
        };
        // Where keys go: as close to the model's predictions as strictly
        // increasing slots allow, in the least-squares sense (an isotonic
        // fit, see `isotonic_runs`). Pushing each colliding key right to
        // the next free slot instead builds long runs of keys displaced one
        // way, which lookups would have to search past.
        isotonic_runs(ords, &model, first_slot, end_slot, scratch);
        Layout {
            keys: n,
            slots,
            stride,
            model,
        }
    }

    /// The second half of [`DataNode::build`]: moves `pairs` (the keys laid
    /// out, in order) into the slots `layout` and `scratch` give them.
    pub fn fill<I>(layout: Layout, pairs: I, scratch: &mut Vec<(i64, i64)>) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
    {
        let Layout {
            keys: n,
            slots,
            stride,
            model,
        } = layout;
        // One sequential pass writes every slot once: gaps before a key take
        // that key (the nearest occupied slot to their right), trailing gaps
        // take MAX_KEY.
        let mut array: Vec<Slot<K, V>> = Vec::with_capacity(slots);
        // Every slot is written once, in order, straight into the spare
        // capacity: `push` and `resize_with` cost a capacity check and a
        // length update per slot.
        let dst = &mut array.spare_capacity_mut()[..slots];
        let mut bitmap = vec![0u64; slots.div_ceil(64)].into_boxed_slice();
        let runs = scratch.len();
        // The first key goes to the first run's offset (key 0 of it).
        let first = if runs == 0 {
            slots
        } else {
            scratch[0].0 as usize
        };
        let mut stats = PlacementStats::default();
        let mut refit = RefitSums::default();
        let mut pairs = pairs.into_iter();
        let mut until_sample = 0;
        let choice_step = n.div_ceil(stride).div_ceil(CHOICE_SAMPLE_KEYS).max(1);
        let mut until_choice = 0;
        let mut i = 0;
        // Slots `..written` are written.
        let mut written = 0;
        // The last key written, for a debug check of the order.
        let mut last_t = 0u64;
        // Length of the block of consecutive occupied slots being written.
        let mut block = 0;
        for r in 0..runs {
            // Both are in range: offsets within `first_slot..=end_slot - n`,
            // counts at most `n`.
            let (offset, count) = scratch[r];
            let (offset, count) = (offset as usize, count as usize);
            let start = i + offset;
            debug_assert!(start >= written && start + count <= slots);
            if start > written && block > 0 {
                stats.record_block(block);
                block = 0;
            }
            block += count;
            let end = start + count;
            // The refit reads the same sample of keys as the rank fit;
            // every `choice_step`-th of them is kept after the runs, as
            // (image, slot), for the choice of model below.
            let mut sample = |t: u64, pos: usize| {
                if until_sample == 0 {
                    refit.add(near_distance(t, model.base), pos as f64);
                    if until_choice == 0 {
                        scratch.push((t as i64, pos as i64));
                        until_choice = choice_step;
                    }
                    until_choice -= 1;
                    until_sample = stride;
                }
                until_sample -= 1;
            };
            // The run's first key, which the gaps before it take too.
            let (key, value) = pairs
                .next()
                .expect("DataNode::build: fewer pairs than keys");
            let t = ord(key);
            debug_assert!(i == 0 || t > last_t, "pairs out of order");
            last_t = t;
            sample(t, start);
            for gap in &mut dst[written..start] {
                gap.write(Slot {
                    key,
                    val: MaybeUninit::uninit(),
                });
            }
            dst[start].write(Slot {
                key,
                val: MaybeUninit::new(value),
            });
            // The rest of the run, in consecutive slots: no gap, no
            // per-key bookkeeping but the sample's countdown.
            for (pos, slot) in (start + 1..end).zip(&mut dst[start + 1..end]) {
                let (key, value) = pairs
                    .next()
                    .expect("DataNode::build: fewer pairs than keys");
                let t = ord(key);
                debug_assert!(t > last_t, "pairs out of order");
                last_t = t;
                sample(t, pos);
                slot.write(Slot {
                    key,
                    val: MaybeUninit::new(value),
                });
            }
            i += count;
            // The run's bits, a word at a time, not a read-modify-write of
            // the bitmap per key.
            set_bits(&mut bitmap, start, end);
            written = end;
        }
        stats.record_block(block);
        // The last run ends at the last key.
        let last = written.saturating_sub(1);
        assert!(
            pairs.next().is_none(),
            "DataNode::build: more pairs than keys"
        );
        for gap in &mut dst[written..] {
            gap.write(Slot {
                key: K::MAX_KEY,
                val: MaybeUninit::uninit(),
            });
        }
        // SAFETY: the loops above wrote every slot of `..slots`, the
        // capacity reserved: the runs' slots, the gaps before each run, and
        // the trailing gaps. (A panic before this line leaves the length at
        // 0: written values leak, none is dropped twice.)
        unsafe { array.set_len(slots) };
        // A line fitted to where the keys went can predict them better than
        // the placing model where keys crowd, but it is pulled by every
        // displaced key: where the keys' order statistics curve (the tail
        // of a skewed distribution), the crowd at one end pulls it away from
        // the many keys that sit where the placing model put them. So both
        // are priced on the sample by what a lookup pays, and the cheaper is
        // kept; neither wins everywhere (docs/design.md, "Build").
        //
        // Either moves up one slot: keys sit at rounded predictions and
        // `predict` truncates (half a slot), and `find`'s window settles
        // keys from two slots before its start to one after (a key in the
        // last slot of the window counts all five and goes to the far
        // search), so its centre lies half a slot before the start (the
        // other half).
        let placing = model.shifted(1.0);
        let refitted = refit.fit(model).shifted(1.0);
        let max_pos = max_index_of(slots);
        let min_pos = index_bound(first + WINDOW_LEFT);
        let sample = &scratch[runs..];
        let model = if lookup_cost(sample, &refitted, min_pos, max_pos)
            <= lookup_cost(sample, &placing, min_pos, max_pos)
        {
            refitted
        } else {
            placing
        };
        for &(t, pos) in sample {
            stats.record_error(
                clamp_between(model.predict_near_f64(t as u64), min_pos, max_pos),
                pos as usize,
            );
        }
        DataNode {
            model,
            max_pos,
            slots: array.into_boxed_slice(),
            min_pos,
            first: count_u32(first),
            last: count_u32(last),
            bitmap,
            num_keys: count_u32(n),
            limit: count_u32(slots - 1),
            links: Links::NONE,
            expected: stats.finish().into(),
            counters: NodeCounters::default(),
        }
    }

    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.num_keys as usize
    }

    #[inline(always)]
    pub fn occupied(&self, i: usize) -> bool {
        self.bitmap[i >> 6] >> (i & 63) & 1 == 1
    }

    #[inline(always)]
    pub fn key_at(&self, i: usize) -> &K {
        &self.slots[i].key
    }

    /// The entry in occupied slot `i`. Callers pass only positions from
    /// `find`, `next_occupied`, `prev_occupied`, `first_occupied`,
    /// `last_occupied`, `lower_bound_occupied` or `last_at_most`, which
    /// return occupied slots. The bitmap is not read here in release builds:
    /// it is a separate allocation, and reading it would cost lookups a
    /// second cache miss.
    #[inline(always)]
    pub fn entry_at(&self, i: usize) -> (&K, &V) {
        debug_assert!(self.occupied(i), "entry_at on a gap");
        // SAFETY: every caller passes an occupied slot (see above): the
        // bitmap helpers return set bits, `first_occupied` and
        // `last_occupied` return the `first` and `last` slots, which every
        // change of occupancy here keeps exact (the module's invariants,
        // checked by `check`), and `find` returns the last slot
        // whose key equals `t` from `first` on (its window starts at
        // `min_pos - 2 = first` or later, and `find_far` rejects slots
        // before `first`), which the gap-key invariant (checked by `check`)
        // makes occupied, falling back to the bitmap for MAX_KEY. A leading
        // gap may hold a removed key: `find` must never report one.
        // An occupied slot is a slot: bits past the last slot are clear
        // (`check`), so `i < slots.len()`. Bit i set means slots[i].val is
        // initialised.
        unsafe {
            let slot = self.slots.get_unchecked(i);
            (&slot.key, slot.val.assume_init_ref())
        }
    }

    /// The value in occupied slot `i`, mutably.
    #[inline(always)]
    pub fn value_mut_at(&mut self, i: usize) -> &mut V {
        assert!(self.occupied(i), "value_mut_at on a gap");
        // SAFETY: bit i is set, so the value is initialised.
        unsafe { self.slots[i].val.assume_init_mut() }
    }

    /// First index in `0..=capacity` whose key's image satisfies `is_right`
    /// (which must be false then true along the non-decreasing keys),
    /// searching exponentially outwards from `start`. Also returns the
    /// number of probes.
    #[inline(always)]
    fn search(&self, start: usize, is_right: impl Fn(u64) -> bool) -> (usize, u32) {
        let slots = &self.slots;
        let n = slots.len();
        let mut probes = 1u32;
        if !is_right(ord(slots[start].key)) {
            // Answer in (start, n].
            let mut lo = start + 1;
            let mut step = 1;
            let hi = loop {
                let probe = start + step;
                if probe >= n {
                    break n;
                }
                probes += 1;
                if is_right(ord(slots[probe].key)) {
                    break probe;
                }
                lo = probe + 1;
                step <<= 1;
            };
            let (pos, p) = simd::first_right(slots, lo, hi, &is_right);
            (pos, probes + p)
        } else {
            // Answer in [0, start].
            let hi = start;
            let mut step = 1;
            let mut hi_bound = hi;
            let lo = loop {
                if step > start {
                    break 0;
                }
                let probe = start - step;
                probes += 1;
                if !is_right(ord(slots[probe].key)) {
                    break probe + 1;
                }
                hi_bound = probe;
                step <<= 1;
            };
            let (pos, p) = simd::first_right(slots, lo, hi_bound, &is_right);
            (pos, probes + p)
        }
    }

    /// The slot `find` starts from: the model's prediction, clamped to the
    /// slots from `first + WINDOW_LEFT` on, so that the window never reads a
    /// leading gap (whose key may be that of a removed key), at no cost: the
    /// lower clamp was against 0 before. A node's first keys, predicted
    /// before that, now settle in the window rather than in the exponential
    /// search. The distance from the model's base is the wrapped difference
    /// read as `i64` (two instructions), which equals the exact distance the
    /// model was fitted with whenever `t` is within 2^63 of the base; a key
    /// farther away only starts its search at a worse slot, and any start
    /// gives the same answer.
    #[inline(always)]
    fn find_start(&self, t: u64) -> usize {
        clamp_between(self.model.predict_near_f64(t), self.min_pos, self.max_pos)
    }

    /// How many keys sit more than `distance` slots from where lookups
    /// start for them.
    #[cfg(test)]
    pub fn keys_farther_than(&self, distance: usize) -> usize {
        (0..self.slots.len())
            .filter(|&i| self.occupied(i))
            .filter(|&i| i.abs_diff(self.find_start(ord(*self.key_at(i)))) > distance)
            .count()
    }

    /// Prefetches the first and last slot of the window `find(t)` reads
    /// first, for a caller that interleaves several lookups (`batch.rs`).
    #[inline(always)]
    pub fn prefetch_find(&self, t: u64) {
        let p = self.find_start(t);
        let slots = self.slots.as_ptr();
        prefetch(slots.wrapping_add(p.saturating_sub(WINDOW_LEFT)));
        prefetch(slots.wrapping_add((p + WINDOW_RIGHT).min(self.slots.len() - 1)));
    }

    /// The occupied slot holding `t`, if any.
    #[inline(always)]
    pub fn find(&self, t: u64) -> Option<usize> {
        match self.upper_bound_near(self.find_start(t), t) {
            Ok(ub) => {
                // `ub > 0` here. `ub - 1` is the last slot holding a key
                // `<= t`. The window starts at `first` or later (`min_pos`),
                // and gaps from `first` on copy the key to their right, so
                // if that key is `t` the slot is occupied (`t` is not
                // MAX_KEY here: a window key exceeds it).
                let j = ub - 1;
                (ord(self.slots[j].key) == t).then_some(j)
            }
            Err(start) => self.find_far(start, t),
        }
    }

    /// The first slot whose key image is `> t`, if the window around `p`
    /// settles it (`Ok`, never 0), or else a slot to search from (`Err`).
    ///
    /// Most keys sit within a few slots of the prediction. Counting the
    /// window's keys `<= t` finds the last such slot without a branch that
    /// depends on the keys: a branch there would be mispredicted for a good
    /// share of searches once the slot's cache miss returns, and each
    /// misprediction discards the independent work the processor had
    /// started after this one. Starts too near either end (a few per node)
    /// go to the exponential search; one comparison tests both ends, as
    /// `p < WINDOW_LEFT` wraps high.
    #[inline(always)]
    fn upper_bound_near(&self, p: usize, t: u64) -> Result<usize, usize> {
        let slots = &*self.slots;
        let n = slots.len();
        const WIDTH: usize = WINDOW_LEFT + WINDOW_RIGHT + 1;
        if p.wrapping_sub(WINDOW_LEFT) >= n - (WIDTH - 1) {
            return Err(p);
        }
        let first = p - WINDOW_LEFT;
        // SAFETY: the test above keeps `first..first + WIDTH` inside `0..n`.
        let window = unsafe { slots.get_unchecked(first..first + WIDTH) };
        let mut at_most = 0usize;
        for slot in window {
            at_most += (ord(slot.key) <= t) as usize;
        }
        // Keys are non-decreasing, so the window's keys `<= t` are a prefix
        // of it. None or all of them: the answer may lie beyond the window.
        // MAX_KEY, which trailing gaps also hold, always counts all of them
        // (no key exceeds it), so it too goes to the exponential search.
        if at_most == 0 {
            return Err(first);
        }
        if at_most == WIDTH {
            return Err(first + WIDTH - 1);
        }
        Ok(first + at_most)
    }

    /// `find` from `start`, by exponential search: for keys far from their
    /// prediction, and for MAX_KEY, which trailing gaps also hold.
    #[cold]
    #[inline(never)]
    fn find_far(&self, start: usize, t: u64) -> Option<usize> {
        let (ub, _) = self.search(start, |x| x > t);
        if ub == 0 {
            return None;
        }
        let j = ub - 1;
        if ord(self.slots[j].key) != t || j < self.first as usize {
            return None;
        }
        // The last slot holding `t` from `first` on is occupied (gaps copy
        // the key to their right), except for trailing MAX_KEY gaps: only
        // the largest key needs the bitmap, which keeps lookups to one cache
        // line.
        if t != ord(K::MAX_KEY) || self.occupied(j) {
            Some(j)
        } else {
            self.last_occupied()
                .filter(|&l| ord(self.slots[l].key) == t)
        }
    }

    /// The first occupied slot with key image `>= t`.
    ///
    /// The first slot holding a key `>= t` is the first holding one
    /// `> t - 1`: `find`'s window settles it for most keys. The slot may be
    /// a gap, which holds the key of the occupied slot after it; the bitmap
    /// word is loaded first, so its cache miss overlaps the slots' instead
    /// of following it (as an insert does).
    pub fn lower_bound_occupied(&self, t: u64) -> Option<usize> {
        let p = self.find_start(t);
        std::hint::black_box(self.bitmap[p >> 6]);
        let lb = t
            .checked_sub(1)
            .map_or(0, |below| self.first_above(p, below));
        self.next_occupied(lb)
    }

    /// The first slot holding a key image `> t` (the slot count if none):
    /// the window around `p` settles it for most keys, the exponential
    /// search from where the window leaves off for the rest.
    fn first_above(&self, p: usize, t: u64) -> usize {
        match self.upper_bound_near(p, t) {
            Ok(ub) => ub,
            Err(start) => self.search(start, |x| x > t).0,
        }
    }

    /// The last occupied slot with key image `<= t`: the occupied slot at
    /// or before the last slot holding a key `<= t` (the window settles
    /// that slot for most keys; leading gaps may hold removed keys, so the
    /// bitmap decides).
    pub fn last_at_most(&self, t: u64) -> Option<usize> {
        let p = self.find_start(t);
        std::hint::black_box(self.bitmap[p >> 6]);
        let ub = self.first_above(p, t);
        if ub == 0 {
            None
        } else {
            self.prev_occupied(ub - 1)
        }
    }

    /// First occupied slot at or after `i`.
    #[inline]
    pub fn next_occupied(&self, i: usize) -> Option<usize> {
        let n = self.slots.len();
        if i >= n {
            return None;
        }
        let mut w = i >> 6;
        let mut word = self.bitmap[w] & (!0u64 << (i & 63));
        loop {
            if word != 0 {
                let pos = (w << 6) + word.trailing_zeros() as usize;
                return (pos < n).then_some(pos);
            }
            w += 1;
            if w >= self.bitmap.len() {
                return None;
            }
            word = self.bitmap[w];
        }
    }

    /// Last occupied slot at or before `i`.
    #[inline]
    pub fn prev_occupied(&self, i: usize) -> Option<usize> {
        let i = i.min(self.slots.len() - 1);
        let mut w = i >> 6;
        let mut word = self.bitmap[w] & (!0u64 >> (63 - (i & 63)));
        loop {
            if word != 0 {
                return Some((w << 6) + 63 - word.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.bitmap[w];
        }
    }

    /// First gap at or after `i`.
    fn next_gap(&self, i: usize) -> Option<usize> {
        let n = self.slots.len();
        if i >= n {
            return None;
        }
        let mut w = i >> 6;
        let mut word = !self.bitmap[w] & (!0u64 << (i & 63));
        loop {
            if word != 0 {
                let pos = (w << 6) + word.trailing_zeros() as usize;
                return (pos < n).then_some(pos);
            }
            w += 1;
            if w >= self.bitmap.len() {
                return None;
            }
            word = !self.bitmap[w];
        }
    }

    /// Last gap at or before `i`.
    fn prev_gap(&self, i: usize) -> Option<usize> {
        let mut w = i >> 6;
        let mut word = !self.bitmap[w] & (!0u64 >> (63 - (i & 63)));
        loop {
            if word != 0 {
                return Some((w << 6) + 63 - word.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = !self.bitmap[w];
        }
    }

    pub fn first_occupied(&self) -> Option<usize> {
        (self.num_keys > 0).then_some(self.first as usize)
    }

    pub fn last_occupied(&self) -> Option<usize> {
        (self.num_keys > 0).then_some(self.last as usize)
    }

    /// Sets how many keys the node takes before it reports
    /// `NoRoom::Full` (the cost model's `key_limit`), but never below the
    /// keys it holds, never up to its slot count.
    pub fn set_limit(&mut self, limit: usize) {
        let cap = self.slots.len();
        self.limit = count_u32(limit.max(self.len()).min(cap - 1));
    }

    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// Inserts or replaces. A new key needs room: when the node is at its
    /// limit, or the key would go past an occupied end slot, the pair comes
    /// back in `Insert::NoRoom` and the node is unchanged.
    pub fn insert(&mut self, key: K, value: V) -> Insert<K, V> {
        let limit = self.limit;
        let t = ord(key);
        let cap = self.slots.len();
        let predicted = self.model.predict(t, cap);
        // Load the bitmap word of the predicted slot now: its address does not
        // depend on the search, so its cache miss overlaps the slots' miss
        // instead of following it (the neighbour lookups below read it).
        std::hint::black_box(self.bitmap[predicted >> 6]);
        let (ub, probes) = match self.upper_bound_near(predicted, t) {
            // What the exponential search would have counted from
            // `predicted`: the cost model compares these counts with its
            // estimate.
            // (The window settles `ub` from `predicted - 1` to
            // `predicted + 2`, where that search counted 3, 2, 2, 3.)
            Ok(ub) => (
                ub,
                2 + u32::from(ub + 1 == predicted || ub == predicted + 2),
            ),
            Err(start) => self.search(start, |x| x > t),
        };
        if ub > 0 && ord(self.slots[ub - 1].key) == t {
            let j = if self.occupied(ub - 1) {
                Some(ub - 1)
            } else {
                self.last_occupied()
                    .filter(|&l| ord(self.slots[l].key) == t)
            };
            if let Some(j) = j {
                return Insert::Replaced(mem::replace(self.value_mut_at(j), value));
            }
        }
        if self.num_keys >= limit {
            return Insert::NoRoom(key, value, NoRoom::Full);
        }
        let prev = if ub == 0 {
            None
        } else {
            self.prev_occupied(ub - 1)
        };
        let next = self.next_occupied(ub);
        if self.num_keys > 0 {
            if next.is_none() && prev == Some(cap - 1) {
                return Insert::NoRoom(key, value, NoRoom::RightEdge);
            }
            if prev.is_none() && next == Some(0) {
                return Insert::NoRoom(key, value, NoRoom::LeftEdge);
            }
        }
        let filled = self.num_keys > 0;
        self.counters.record_insert(
            probes,
            filled && next.is_none(),
            filled && next.is_some() && prev.is_none(),
        );
        let lo = prev.map_or(0, |p| p + 1);
        let hi = next.unwrap_or(cap);
        if lo < hi {
            // A gap between the neighbours: take the model's slot within it.
            // Past an end, a prediction clamped to the array's edge says
            // only "far out": put the key next to its neighbour instead, so
            // the room at that end takes many such keys, not one.
            let q = if next.is_none() && predicted == cap - 1 && self.num_keys > 0 {
                lo
            } else if prev.is_none() && predicted == 0 && self.num_keys > 0 {
                hi - 1
            } else {
                predicted.clamp(lo, hi - 1)
            };
            self.write_gap(q, key, value);
            if next.is_none() {
                self.last = count_u32(q);
            }
            // The gaps before the new key take it where they hold a larger
            // key: all of `lo..q` between two keys (they held the key to
            // their right), and before a new first key the leading gaps
            // down to the first one holding a key no larger (leading gaps
            // are non-decreasing), so a node emptied from the front does not
            // rewrite its whole empty front for a new smallest key.
            if prev.is_none() {
                self.lower_leading_gaps(q, t);
            } else {
                let mut g = q;
                while g > lo && ord(self.slots[g - 1].key) > t {
                    g -= 1;
                    self.slots[g].key = key;
                }
            }
            if prev.is_none() {
                // The key is the node's new first. The gaps after it, up to
                // the old first (or the end), were leading gaps: they may
                // hold the keys of removed smallest keys, and now must hold
                // the key to their right. They are non-decreasing up to that
                // key, so they all hold it when the nearest one does, as they
                // do unless the node lost its smallest keys.
                self.set_first(q);
                let right = if hi < cap {
                    self.slots[hi].key
                } else {
                    K::MAX_KEY
                };
                if q + 1 < hi && ord(self.slots[q + 1].key) != ord(right) {
                    for g in q + 1..hi {
                        self.slots[g].key = right;
                    }
                }
            }
        } else {
            // Neighbours are adjacent: shift towards the nearest gap.
            let ins = hi;
            let right = self.next_gap(ins);
            let left = if ins == 0 {
                None
            } else {
                self.prev_gap(ins - 1)
            };
            let go_right = match (left, right) {
                (Some(l), Some(r)) => r - ins <= ins - 1 - l,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => unreachable!("num_keys < limit < capacity leaves a gap"),
            };
            if go_right {
                let g = right.expect("checked");
                shift_right(&mut self.slots[ins..=g]);
                self.write_gap(ins, key, value);
                self.set_bit(g);
                // Slots `ins..g` were occupied, so the last key moved only
                // if it sat just before `g`.
                if g > self.last as usize {
                    self.last = count_u32(g);
                }
                self.counters.record_shifts(g - ins);
            } else {
                let g = left.expect("checked");
                shift_left(&mut self.slots[g..ins]);
                self.write_gap(ins - 1, key, value);
                self.set_bit(g);
                // Slots `g + 1..ins` were occupied: a leading gap `g` was
                // just before `first`, which moves onto it.
                self.set_first(g.min(self.first as usize));
                self.counters.record_shifts(ins - 1 - g);
            }
        }
        self.num_keys += 1;
        Insert::Inserted
    }

    /// The image of the node's largest key, if it holds any.
    #[inline(always)]
    pub fn max_ord(&self) -> Option<u64> {
        (self.num_keys > 0).then(|| ord(self.slots[self.last as usize].key))
    }

    /// The image of the node's smallest key, if it holds any.
    #[inline(always)]
    pub fn min_ord(&self) -> Option<u64> {
        (self.num_keys > 0).then(|| ord(self.slots[self.first as usize].key))
    }

    /// Inserts a key above every key of the node (which holds at least
    /// one), with no search: the slot is the model's, clamped past the last
    /// key, or the slot right after the last key when the model sends the
    /// key past the end (as `insert` places a key past the end). Refuses as
    /// `insert` would: at the key limit, or when the last slot is taken.
    #[inline]
    pub fn push_back(&mut self, key: K, value: V) -> Insert<K, V> {
        let t = ord(key);
        debug_assert!(self.max_ord().is_some_and(|m| m < t));
        let cap = self.slots.len();
        let last = self.last as usize;
        if self.num_keys >= self.limit {
            return Insert::NoRoom(key, value, NoRoom::Full);
        }
        if last == cap - 1 {
            return Insert::NoRoom(key, value, NoRoom::RightEdge);
        }
        let predicted = self.model.predict(t, cap);
        let q = if predicted == cap - 1 {
            last + 1
        } else {
            predicted.max(last + 1)
        };
        // The trailing gaps before the new key held `MAX_KEY`: they now
        // hold the key to their right.
        for g in last + 1..q {
            self.slots[g].key = key;
        }
        self.write_gap(q, key, value);
        self.last = count_u32(q);
        self.num_keys += 1;
        self.counters.record_insert(1, true, false);
        Insert::Inserted
    }

    /// Inserts a key below every key of the node (which holds at least
    /// one), with no search: the mirror of [`DataNode::push_back`].
    #[inline]
    pub fn push_front(&mut self, key: K, value: V) -> Insert<K, V> {
        let t = ord(key);
        debug_assert!(self.min_ord().is_some_and(|m| t < m));
        let cap = self.slots.len();
        let first = self.first as usize;
        if self.num_keys >= self.limit {
            return Insert::NoRoom(key, value, NoRoom::Full);
        }
        if first == 0 {
            return Insert::NoRoom(key, value, NoRoom::LeftEdge);
        }
        let predicted = self.model.predict(t, cap);
        let q = if predicted == 0 {
            first - 1
        } else {
            predicted.min(first - 1)
        };
        // Gaps between the new key and the old first were leading gaps
        // (which may hold removed keys): now they hold the key to their
        // right. Leading gaps before it must not hold a larger key.
        let right = self.slots[first].key;
        for g in q + 1..first {
            self.slots[g].key = right;
        }
        self.lower_leading_gaps(q, t);
        self.write_gap(q, key, value);
        self.set_first(q);
        self.num_keys += 1;
        self.counters.record_insert(1, false, true);
        Insert::Inserted
    }

    /// Before a new first key `t` goes into slot `q`: if the leading gap
    /// just before it holds a larger key, every leading gap takes the
    /// smallest key (they stay non-decreasing, none above `t`). Rewriting
    /// them to `t` instead would redo them all at each of a run of
    /// prepends; this way a gap is rewritten at most once until a rebuild.
    #[inline]
    fn lower_leading_gaps(&mut self, q: usize, t: u64) {
        if q == 0 || ord(self.slots[q - 1].key) <= t {
            return;
        }
        let floor = ord(K::MIN_KEY);
        let mut g = q;
        while g > 0 && ord(self.slots[g - 1].key) != floor {
            g -= 1;
            self.slots[g].key = K::MIN_KEY;
        }
    }

    /// Writes a pair into slot `i`, which holds no value, and marks it
    /// occupied. The slot's bit may already be set by a shift's bookkeeping
    /// only if the caller sets it for another slot: here it is set for `i`.
    #[inline(always)]
    fn write_gap(&mut self, i: usize, key: K, value: V) {
        self.slots[i] = Slot {
            key,
            val: MaybeUninit::new(value),
        };
        self.set_bit(i);
    }

    /// Records `i` as the first occupied slot (the slot count: none).
    #[inline(always)]
    fn set_first(&mut self, i: usize) {
        self.first = count_u32(i);
        self.min_pos = index_bound(i + WINDOW_LEFT);
    }

    #[inline(always)]
    fn set_bit(&mut self, i: usize) {
        self.bitmap[i >> 6] |= 1 << (i & 63);
    }

    #[inline(always)]
    fn clear_bit(&mut self, i: usize) {
        self.bitmap[i >> 6] &= !(1 << (i & 63));
    }

    /// Removes the key `t` and returns its value.
    pub fn remove(&mut self, t: u64) -> Option<V> {
        let i = self.find(t)?;
        Some(self.remove_at(i).1)
    }

    /// Removes the entry in occupied slot `i`.
    pub fn remove_at(&mut self, i: usize) -> (K, V) {
        assert!(self.occupied(i), "remove_at on a gap");
        self.clear_bit(i);
        // SAFETY: bit i was set (asserted), so the value is initialised; the
        // bit is now clear, so it is read once.
        let value = unsafe { self.slots[i].val.assume_init_read() };
        let key = self.slots[i].key;
        self.num_keys -= 1;
        let was_last = i == self.last as usize;
        if i == self.first as usize {
            // The slot joins the leading gaps, which keep their keys (see the
            // module's invariants): no gap is rewritten. The only key gone,
            // the node is empty.
            let next = if was_last {
                self.last = 0;
                None
            } else {
                self.next_occupied(i + 1)
            };
            self.set_first(next.unwrap_or(self.slots.len()));
            return (key, value);
        }
        // A key before `i` exists (`first`): the previous one, a few slots
        // back unless the node is sparse, becomes the last if `i` was, and
        // the gaps after it up to `i` take the next key, or MAX_KEY after
        // the last one (found without scanning the bitmap to the end, over
        // the slots that removals of the largest keys emptied).
        let prev = self.prev_occupied(i).expect("first is before i");
        let replacement = if was_last {
            self.last = count_u32(prev);
            K::MAX_KEY
        } else {
            self.next_occupied(i + 1)
                .map_or(K::MAX_KEY, |j| self.slots[j].key)
        };
        for slot in &mut self.slots[prev + 1..=i] {
            slot.key = replacement;
        }
        (key, value)
    }

    /// Prefetches where a scan of the whole node starts: the first key's
    /// slot and its bitmap word.
    #[inline(always)]
    pub fn prefetch_front(&self) {
        let first = (self.first as usize).min(self.slots.len() - 1);
        prefetch(self.bitmap.as_ptr().wrapping_add(first >> 6));
        prefetch_bytes(
            self.slots[first..].as_ptr().cast(),
            ((self.slots.len() - first) * mem::size_of::<Slot<K, V>>()).min(PREFETCH_BYTES),
        );
    }

    /// The occupied slots of `lo..hi` in order, shared.
    pub fn slots_between(&self, lo: usize, hi: usize) -> Slots<'_, K, V> {
        assert!(lo <= hi && hi <= self.slots.len());
        // From a word's start, the front loads the word when it first steps
        // (a range's back, or a node a scan never reaches, never reads it);
        // from within a word, it is loaded now with the slots before `lo`
        // masked off.
        let (word_at, word) = if lo & 63 == 0 || lo == hi {
            ((lo >> 6).wrapping_sub(1), 0)
        } else {
            (lo >> 6, self.bitmap[lo >> 6] & (!0u64 << (lo & 63)))
        };
        Slots {
            slots: &self.slots,
            bitmap: &self.bitmap,
            lo,
            hi,
            word_at,
            word,
        }
    }

    /// The occupied slots of `lo..hi` in order, keys shared and values
    /// mutable.
    pub fn iter_mut_between(&mut self, lo: usize, hi: usize) -> SlotsMut<'_, K, V> {
        let DataNode { slots, bitmap, .. } = self;
        SlotsMut {
            slots: slots[lo..hi].iter_mut().enumerate(),
            base: lo,
            bitmap,
        }
    }

    /// Moves every entry out, in key order, leaving the node empty.
    pub fn drain(&mut self) -> Vec<(K, V)> {
        let mut out = Vec::with_capacity(self.len());
        let mut i = 0;
        while let Some(j) = self.next_occupied(i) {
            self.clear_bit(j);
            // SAFETY: bit j was set, so the value is initialised; it is
            // cleared first, so the value is moved out exactly once.
            let value = unsafe { self.slots[j].val.assume_init_read() };
            out.push((self.slots[j].key, value));
            i = j + 1;
        }
        self.num_keys = 0;
        self.set_first(self.slots.len());
        self.last = 0;
        out
    }

    /// Heap bytes: (slot array, bitmap).
    pub fn heap_bytes(&self) -> (usize, usize) {
        (
            self.slots.len() * mem::size_of::<Slot<K, V>>(),
            self.bitmap.len() * mem::size_of::<u64>(),
        )
    }

    /// Checks this node's own invariants; panics with a message otherwise.
    pub fn check(&self) {
        let n = self.slots.len();
        assert!(n >= MIN_SLOTS, "data node with {n} slots");
        assert_eq!(self.max_pos, max_index_of(n), "max_pos of {n} slots");
        assert_eq!(self.bitmap.len(), n.div_ceil(64), "bitmap length");
        let tail_bits = self.bitmap[self.bitmap.len() - 1] >> (n & 63);
        assert!(n & 63 == 0 || tail_bits == 0, "bits set past the last slot");
        let ones: usize = self.bitmap.iter().map(|w| w.count_ones() as usize).sum();
        assert_eq!(ones, self.len(), "bitmap count != num_keys");
        assert!(
            self.model.is_monotone(),
            "non-monotone model {:?}",
            self.model
        );
        let first = (0..n).find(|&i| self.occupied(i)).unwrap_or(n);
        assert_eq!(self.first as usize, first, "first occupied slot");
        let last = (0..n).rev().find(|&i| self.occupied(i)).unwrap_or(0);
        assert_eq!(self.last as usize, last, "last occupied slot");
        assert_eq!(self.min_pos, index_bound(first + WINDOW_LEFT), "min_pos");
        let mut right = K::MAX_KEY;
        let mut right_occupied = false;
        for i in (first..n).rev() {
            let k = self.slots[i].key;
            if self.occupied(i) {
                if right_occupied {
                    assert!(ord(k) < ord(right), "keys out of order at slot {i}");
                }
                right = k;
                right_occupied = true;
            } else {
                assert!(k.key_eq(right), "gap {i} holds {k:?}, expected {right:?}");
            }
        }
        // Leading gaps: non-decreasing up to the first key (or the end).
        let mut next = if first < n {
            ord(self.slots[first].key)
        } else {
            ord(K::MAX_KEY)
        };
        for i in (0..first).rev() {
            let k = ord(self.slots[i].key);
            assert!(k <= next, "leading gap {i} holds a key above its right");
            next = k;
        }
        assert!(
            self.limit() < n && self.limit() >= self.len().min(n - 1),
            "limit {} of {n} slots",
            self.limit
        );
    }
}

/// The occupied slots `lo..hi` of one data node, shared, from both ends:
/// [`DataNode::slots_between`]. The front keeps the bitmap word it is in,
/// its consumed bits cleared, so a step forward within a word is a
/// trailing-zero count and a clear of the lowest bit.
pub(crate) struct Slots<'a, K, V> {
    slots: &'a [Slot<K, V>],
    bitmap: &'a [u64],
    /// Slots `lo..hi` remain; `hi <= slots.len()`.
    lo: usize,
    hi: usize,
    /// Index of the front's bitmap word (one before `lo`'s word, wrapping
    /// below 0, until the front loads that word: see `slots_between`).
    word_at: usize,
    /// That word's bits from `lo` on (bits from `hi` on may be set: the
    /// front checks `hi`).
    word: u64,
}

impl<K, V> Clone for Slots<'_, K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Slots<'_, K, V> {}

impl<'a, K, V> Slots<'a, K, V> {
    /// No slots.
    pub fn empty() -> Self {
        Slots {
            slots: &[],
            bitmap: &[],
            lo: 0,
            hi: 0,
            word_at: 0,
            word: 0,
        }
    }

    /// The pair in slot `i`, occupied and below `hi`.
    #[inline(always)]
    fn entry(&self, i: usize) -> (&'a K, &'a V) {
        debug_assert!(i < self.hi && self.bitmap[i >> 6] >> (i & 63) & 1 == 1);
        // SAFETY: `i < hi <= slots.len()`: both callers check `i < hi`
        // before calling (`next_back` lowers `hi` to `i` only after), `hi`
        // only falls (`limit`, `next_back`), and it starts at most
        // `slots.len()` (`slots_between` asserts it; `empty` has 0 of 0).
        // Bit `i` is set: both callers take `i` from a set bit of a copy of
        // a bitmap word (`word` is `bitmap[word_at]` masked, `next_back`
        // reads the word itself), and the node is borrowed shared for `'a`,
        // so no copy goes stale. A set bit means the value is initialised.
        unsafe {
            let slot = self.slots.get_unchecked(i);
            (&slot.key, slot.val.assume_init_ref())
        }
    }

    /// Ends the slots at `end` if they reach past it.
    pub fn limit(&mut self, end: usize) {
        self.hi = self.hi.min(end);
        self.lo = self.lo.min(self.hi);
    }

    /// The next pair if the front's word holds it: the common step, small
    /// enough to inline into a caller's loop.
    #[inline(always)]
    pub fn next_in_word(&mut self) -> Option<(&'a K, &'a V)> {
        if self.word != 0 {
            let i = (self.word_at << 6) + self.word.trailing_zeros() as usize;
            if i < self.hi {
                self.word &= self.word - 1;
                self.lo = i + 1;
                return Some(self.entry(i));
            }
        }
        None
    }

    /// The next pair from the words after the front's: the step that
    /// `next_in_word` leaves.
    #[inline(never)]
    pub fn next_beyond_word(&mut self) -> Option<(&'a K, &'a V)> {
        loop {
            if let Some(item) = self.next_in_word() {
                return Some(item);
            }
            let next_word = self.word_at.wrapping_add(1);
            if self.word != 0 || next_word << 6 >= self.hi {
                // A set bit at or past `hi`, or no word left.
                self.lo = self.hi;
                self.word = 0;
                return None;
            }
            self.word_at = next_word;
            self.word = self.bitmap[next_word];
        }
    }
}

impl<'a, K, V> Iterator for Slots<'a, K, V> {
    type Item = (&'a K, &'a V);
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_in_word() {
            Some(item) => Some(item),
            None => self.next_beyond_word(),
        }
    }
}

impl<K, V> DoubleEndedIterator for Slots<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        while self.hi > self.lo {
            let last = self.hi - 1;
            let w = last >> 6;
            // The bits of word `w` at `lo..=last`.
            let mut word = self.bitmap[w] & (!0u64 >> (63 - (last & 63)));
            if w == self.lo >> 6 {
                word &= !0u64 << (self.lo & 63);
            }
            if word != 0 {
                let i = (w << 6) + 63 - word.leading_zeros() as usize;
                let item = self.entry(i);
                self.hi = i;
                return Some(item);
            }
            self.hi = (w << 6).max(self.lo);
        }
        None
    }
}

impl<K, V> core::iter::FusedIterator for Slots<'_, K, V> {}

/// The occupied slots of one data node in order, keys shared and values
/// mutable: [`DataNode::iter_mut_between`].
pub(crate) struct SlotsMut<'a, K, V> {
    slots: core::iter::Enumerate<core::slice::IterMut<'a, Slot<K, V>>>,
    /// The index of the first slot in `slots`.
    base: usize,
    bitmap: &'a [u64],
}

impl<'a, K, V> SlotsMut<'a, K, V> {
    #[inline]
    fn yield_if_occupied(
        &self,
        (i, slot): (usize, &'a mut Slot<K, V>),
    ) -> Option<(&'a K, &'a mut V)> {
        let i = self.base + i;
        if self.bitmap[i >> 6] >> (i & 63) & 1 == 1 {
            let Slot { key, val } = slot;
            // SAFETY: bit i is set, so the value is initialised; the slice
            // iterator yields each slot once, so no value is lent twice.
            Some((&*key, unsafe { val.assume_init_mut() }))
        } else {
            None
        }
    }
}

impl<'a, K, V> Iterator for SlotsMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let slot = self.slots.next()?;
            if let Some(item) = self.yield_if_occupied(slot) {
                return Some(item);
            }
        }
    }
}

impl<K, V> DoubleEndedIterator for SlotsMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            let slot = self.slots.next_back()?;
            if let Some(item) = self.yield_if_occupied(slot) {
                return Some(item);
            }
        }
    }
}

impl<K, V> core::iter::FusedIterator for SlotsMut<'_, K, V> {}

impl<K: Key, V> Drop for DataNode<K, V> {
    fn drop(&mut self) {
        if mem::needs_drop::<V>() {
            let mut i = 0;
            while let Some(j) = self.next_occupied(i) {
                // SAFETY: bit j is set, so the value is initialised; the node
                // is being dropped, so no one reads it again.
                unsafe { self.slots[j].val.assume_init_drop() };
                i = j + 1;
            }
        }
    }
}

impl<K: Key, V: Clone> Clone for DataNode<K, V> {
    fn clone(&self) -> Self {
        let slots = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| Slot {
                key: s.key,
                val: if self.occupied(i) {
                    // SAFETY: bit i is set, so the value is initialised.
                    MaybeUninit::new(unsafe { s.val.assume_init_ref() }.clone())
                } else {
                    MaybeUninit::uninit()
                },
            })
            .collect();
        DataNode {
            model: self.model,
            max_pos: self.max_pos,
            slots,
            min_pos: self.min_pos,
            first: self.first,
            last: self.last,
            bitmap: self.bitmap.clone(),
            num_keys: self.num_keys,
            limit: self.limit,
            links: self.links,
            expected: self.expected,
            counters: self.counters,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_as_documented() {
        // docs/design.md, "Header layout": one cache line holds what a lookup
        // reads.
        assert_eq!(core::mem::size_of::<DataNode<u64, u64>>(), 128);
        assert_eq!(core::mem::align_of::<DataNode<u64, u64>>(), 64);
        assert_eq!(core::mem::size_of::<crate::inner_node::InnerNode>(), 64);
        let node = DataNode::<u64, u64>::empty(8);
        let start = &node as *const _ as usize;
        let slots = &node.slots as *const _ as usize;
        assert!(slots + core::mem::size_of_val(&node.slots) - start <= 64);
        let first = &node.first as *const _ as usize;
        assert!(first + core::mem::size_of_val(&node.first) - start <= 64);
    }
    use std::collections::BTreeMap;

    fn node_of(keys: &[u64], slots: usize) -> DataNode<u64, u64> {
        DataNode::build(
            keys.iter().map(|&k| (k, k.wrapping_mul(10))),
            keys,
            slots,
            Placement::Even,
            &mut Vec::new(),
        )
    }

    #[test]
    fn build_find_and_gap_keys() {
        let keys: Vec<u64> = (0..100).map(|i| i * i).collect();
        let node = node_of(&keys, 160);
        node.check();
        for &k in &keys {
            let i = node.find(k).unwrap();
            assert_eq!(node.entry_at(i), (&k, &k.wrapping_mul(10)));
        }
        assert!(node.find(2).is_none());
        assert!(node.find(u64::MAX).is_none());
    }

    #[test]
    fn removing_first_keys_leaves_leading_gaps_unread() {
        // Removing a node's smallest key rewrites no gap: the leading gaps
        // keep removed keys, which lookups must not report, and an insert
        // before the first key must put the gaps after it right again.
        let keys: Vec<u64> = (0..300).map(|i| 1000 + 7 * i).collect();
        let mut node = node_of(&keys, 512);
        let mut model: BTreeMap<u64, u64> = keys.iter().map(|&k| (k, k * 10)).collect();
        for &k in &keys[..200] {
            assert_eq!(node.remove(k), model.remove(&k));
            node.check();
            assert_eq!(node.find(k), None, "removed key {k} found");
            assert_eq!(
                node.first_occupied().map(|i| *node.key_at(i)),
                model.keys().next().copied()
            );
        }
        for &k in &keys[..200] {
            assert_eq!(node.find(k), None, "removed key {k} found");
            assert_eq!(
                node.lower_bound_occupied(k).map(|i| *node.key_at(i)),
                Some(keys[200])
            );
            assert_eq!(node.last_at_most(k), None);
        }
        for &k in &keys[200..] {
            assert_eq!(node.find(k).map(|i| *node.key_at(i)), Some(k));
        }
        // Re-insert some removed keys and keys between them, below the
        // first key: the stale gaps after each new first key are rewritten.
        for (step, k) in [1350u64, 1351, 1000, 2390, 1002, 1700, 999]
            .into_iter()
            .enumerate()
        {
            match node.insert(k, step as u64) {
                Insert::Inserted => assert!(model.insert(k, step as u64).is_none()),
                Insert::Replaced(old) => assert_eq!(model.insert(k, step as u64), Some(old)),
                Insert::NoRoom(..) => panic!("room expected"),
            }
            node.check();
            for (&mk, &mv) in &model {
                let i = node.find(mk).expect("key present");
                assert_eq!(*node.entry_at(i).1, mv);
            }
            for &gone in &keys[..200] {
                assert_eq!(node.find(gone).is_some(), model.contains_key(&gone));
            }
        }
        // Empty it from the front, then refill: the trailing gaps take
        // MAX_KEY again.
        let remaining: Vec<u64> = model.keys().copied().collect();
        for k in remaining {
            assert_eq!(node.remove(k), model.remove(&k));
            node.check();
        }
        assert_eq!(node.len(), 0);
        assert_eq!(node.first_occupied(), None);
        for k in [2000u64, 1200, 2900, 1001] {
            assert!(matches!(node.insert(k, 1), Insert::Inserted));
            node.check();
            assert!(node.find(k).is_some());
        }
        assert_eq!(node.find(1), None);
        assert_eq!(node.find(1000), None);
    }

    #[test]
    fn the_last_slot_follows_removals_appends_and_shifts_at_the_back() {
        // Keys 0, 10, .., 390 in 64 slots; pops from the back, then keys
        // past the end, then keys squeezed in before the last one (which
        // shift it right when its neighbours are adjacent).
        let keys: Vec<u64> = (0..40).map(|i| i * 10).collect();
        let mut node = node_of(&keys, 64);
        let mut model: BTreeMap<u64, u64> = keys.iter().map(|&k| (k, k * 10)).collect();
        let check = |node: &DataNode<u64, u64>, model: &BTreeMap<u64, u64>| {
            node.check();
            let last = node.last_occupied().map(|i| *node.key_at(i));
            assert_eq!(last, model.keys().next_back().copied());
        };
        for _ in 0..25 {
            let (&k, _) = model.iter().next_back().unwrap();
            assert_eq!(node.remove(k), model.remove(&k));
            check(&node, &model);
        }
        for k in [500, 501, 502, 389, 388, 387, 503, 149, 148] {
            match node.insert(k, k) {
                Insert::Inserted => assert!(model.insert(k, k).is_none()),
                Insert::Replaced(_) => panic!("{k} was absent"),
                Insert::NoRoom(..) => break,
            }
            check(&node, &model);
        }
        while let Some((&k, _)) = model.iter().next_back() {
            assert_eq!(node.remove(k), model.remove(&k));
            check(&node, &model);
        }
        assert_eq!(node.last_occupied(), None);
    }

    #[test]
    fn inserts_and_removes_match_btreemap() {
        let mut node = DataNode::<u64, u64>::empty(64);
        let mut model = BTreeMap::new();
        let mut x = 12345u64;
        for step in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = x % 300;
            if step % 3 == 2 {
                assert_eq!(node.remove(k), model.remove(&k));
            } else {
                match node.insert(k, step) {
                    Insert::Inserted => assert!(model.insert(k, step).is_none()),
                    Insert::Replaced(old) => assert_eq!(model.insert(k, step), Some(old)),
                    Insert::NoRoom(k, v, _) => {
                        let mut pairs = node.drain();
                        pairs.push((k, v));
                        pairs.sort_by_key(|p| p.0);
                        let ords: Vec<u64> = pairs.iter().map(|p| p.0).collect();
                        let slots = pairs.len() * 2;
                        node = DataNode::build(
                            pairs,
                            ords.as_slice(),
                            slots,
                            Placement::Even,
                            &mut Vec::new(),
                        );
                        assert!(model.insert(k, v).is_none());
                    }
                }
            }
            node.check();
            assert_eq!(node.len(), model.len());
        }
        let drained = node.drain();
        let expected: Vec<(u64, u64)> = model.into_iter().collect();
        assert_eq!(drained, expected);
    }

    #[test]
    fn a_node_spanning_every_key_starts_lookups_near_both_ends() {
        // Keys from 0 to u64::MAX: the model measures from the middle of
        // the span, and the top key must not wrap to the far side of it.
        let step = u64::MAX / 99;
        let keys: Vec<u64> = (0..99).map(|i| i * step).chain([u64::MAX]).collect();
        let node = node_of(&keys, 160);
        node.check();
        assert_eq!(node.keys_farther_than(2), 0);
        for &k in &keys {
            assert_eq!(node.entry_at(node.find(k).unwrap()).0, &k);
        }
    }

    #[test]
    fn max_key_and_trailing_gaps() {
        let keys = [1u64, 5, u64::MAX];
        let node = node_of(&keys, 16);
        node.check();
        assert!(node.find(u64::MAX).is_some());
        let node = node_of(&[1, 5], 16);
        assert!(node.find(u64::MAX).is_none());
        assert_eq!(node.last_at_most(u64::MAX), node.find(5));
        assert_eq!(node.lower_bound_occupied(6), None);
        assert_eq!(node.lower_bound_occupied(2), node.find(5));
    }

    #[test]
    fn drop_runs_for_owned_values() {
        let keys: Vec<u64> = (0..50).collect();
        let values: Vec<std::rc::Rc<()>> = (0..50).map(|_| std::rc::Rc::new(())).collect();
        let probe = values[7].clone();
        let mut node = DataNode::build(
            keys.iter().copied().zip(values),
            keys.as_slice(),
            80,
            Placement::Even,
            &mut Vec::new(),
        );
        let cloned = node.clone();
        assert_eq!(std::rc::Rc::strong_count(&probe), 3);
        drop(cloned);
        node.remove(3);
        drop(node);
        assert_eq!(std::rc::Rc::strong_count(&probe), 1);
    }
}
