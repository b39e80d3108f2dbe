//! The cost model: every weight, threshold and rule the index decides by,
//! and the one function that turns a key layout into an expected cost
//! ([`data_node_cost`]). Nothing else in the crate writes a threshold
//! inline; the algorithms ask here.
//!
//! In order: the weights; how many keys a node takes and how many slots it
//! gets; how costs are estimated (samples); the bulk load's fan-out tree;
//! what a data node with no room does; the root's key domain; deletes; and
//! batches (`extend`, `retain`, `split_off`).
//!
//! Cost is in abstract units, as in ALEX (Ding et al., SIGMOD 2020, §4.3):
//! one exponential-search iteration costs `EXP_SEARCH_ITERATIONS_WEIGHT`,
//! one shifted slot on insert costs `SHIFTS_WEIGHT`, one extra node on the
//! root-to-leaf path costs `NODE_LOOKUP_WEIGHT`, and every byte of inner-node
//! child array costs `MODEL_SIZE_WEIGHT`, spread over the keys below it.
//!
//! The expected cost of a data node over sorted keys comes from simulating
//! a placement (model prediction, then the first free slot to the right,
//! never so far right that the remaining keys would not fit; the node itself
//! places keys closer to their predictions, see [`place`]): the mean of
//! `log2(|actual - predicted| + 1)` estimates search iterations, and for
//! every run of `r` consecutive occupied slots an insert landing in it
//! shifts about `r / 4` slots, which an insert hits with probability
//! `r / n`: `sum(r^2) / (4 n)` expected shifts per insert.

use crate::config::{Config, Layout};
use crate::data_node::MIN_SLOTS;
use crate::images::Images;
use crate::model::LinearModel;

/// Weight of one exponential-search iteration inside a data node.
pub(crate) const EXP_SEARCH_ITERATIONS_WEIGHT: f64 = 20.0;
/// Weight of shifting one slot during an insert.
pub(crate) const SHIFTS_WEIGHT: f64 = 0.5;
/// Weight of visiting one more node from root to leaf.
pub(crate) const NODE_LOOKUP_WEIGHT: f64 = 20.0;
/// Weight of one byte of inner-node child array, per key below it.
pub(crate) const MODEL_SIZE_WEIGHT: f64 = 5e-7;

// Sizes: keys per node and slots per node.

/// Keys that `slots` slots hold at `density`, at least one and fewer than
/// the slots (so an insert always finds a gap).
fn keys_at_density(slots: usize, density: f64) -> usize {
    ((slots as f64 * density) as usize).clamp(1, slots - 1)
}

/// The most keys a node of `slots` slots takes at `density`, and at most
/// `max_keys` (`Config::max_keys_per_data_node`): a data node's limit
/// (`DataNode::set_limit`, at `Config::max_density`) and the most keys a
/// data node is built with ([`max_data_keys`]).
pub(crate) fn key_limit(slots: usize, density: f64, max_keys: Option<usize>) -> usize {
    let by_density = keys_at_density(slots, density);
    max_keys.map_or(by_density, |m| by_density.min(m))
}

/// Most keys one data node may be built with: the largest node at the
/// initial density.
pub(crate) fn max_data_keys(config: &Config) -> usize {
    key_limit(
        config.max_data_node_slots,
        config.init_density,
        config.max_keys_per_data_node,
    )
}

/// Slots that hold `keys` keys at `density`, at least one per key.
fn slots_at_density(keys: usize, density: f64) -> usize {
    ((keys as f64 / density).ceil() as usize).max(keys)
}

/// Slots a data node over `keys` keys gets when built: the initial density,
/// a gap at least, and never fewer than `MIN_SLOTS`.
pub(crate) fn slots_for(config: &Config, keys: usize) -> usize {
    slots_at_density(keys, config.init_density)
        .max(keys + 1)
        .max(MIN_SLOTS)
}

// Estimating costs.

/// Keys read at most when estimating one data node's cost; larger inputs
/// are sampled at an even stride.
pub(crate) const COST_SAMPLE_KEYS: usize = 512;
/// Keys read at most when fitting one model; larger inputs are sampled.
pub(crate) const FIT_SAMPLE_KEYS: usize = 8192;
/// A level of the fan-out tree wider than this, over more keys than
/// [`LEVEL_EXACT_MAX_KEYS`], is priced through this many buckets, those of
/// keys evenly spaced by rank (which samples buckets in proportion to their
/// keys); a smaller one, bucket by bucket.
pub(crate) const LEVEL_SAMPLE_BUCKETS: usize = 64;
/// See [`LEVEL_SAMPLE_BUCKETS`].
pub(crate) const LEVEL_EXACT_MAX_KEYS: usize = 8 * LEVEL_SAMPLE_BUCKETS;

// The bulk load's fan-out tree (`bulk_load.rs`).

/// Whether keys whose cost as one data node is `data_cost` make a data
/// node: below one extra level, no inner node can beat it.
pub(crate) fn data_node_suffices(data_cost: f64) -> bool {
    data_cost < NODE_LOOKUP_WEIGHT
}

/// The bytes of data node header a planned child slot is priced at, with
/// its `NodeRef`, in the model-size term of the traversal cost: the
/// header's size when the cost weights and the shapes they give were tuned.
/// Pricing the header's present size changes the shapes (docs/design.md,
/// "Header layout").
pub(crate) const PLANNED_HEADER_BYTES: usize = 192;

/// A node whose cheapest plan costs this much (two levels' worth) also
/// prices routing by its keys' own lines (see `bulk_load::plan_node`).
pub(crate) const EXPENSIVE_NODE_COST: f64 = 2.0 * NODE_LOOKUP_WEIGHT;

/// Keys inside a parent's domain but closer together than this, in units
/// of the domain's width, are beyond what its line can tell apart in
/// floating point: the line through the end keys routes them instead.
pub(crate) const MIN_DOMAIN_SPREAD: f64 = 1e-9;

/// log2 of the largest fan-out used to narrow a parent's domain around keys
/// it does not separate.
pub(crate) const NARROW_MAX_LOG2: u32 = 10;

/// Bulk load merges neighbouring children holding together at most this
/// many keys whatever their cost: below it a node's header outweighs what a
/// finer split could save.
pub(crate) const MIN_MERGED_KEYS: usize = 32;

/// Keys two aligned neighbouring children of a node over `keys` keys at
/// `fanout` may hold together to be merged into one: an average child's,
/// or [`MIN_MERGED_KEYS`], and at most `max_keys`.
pub(crate) fn merge_limit(keys: usize, fanout: usize, max_keys: Option<usize>) -> usize {
    let limit = (keys / fanout).max(MIN_MERGED_KEYS);
    max_keys.map_or(limit, |cap| limit.min(cap))
}

/// In the prototype's fixed-leaf layout, the fan-out starts from the keys
/// over this share of the leaf size.
pub(crate) const FIXED_LEAF_FILL: f64 = 0.75;

// A data node with no room for an insert (`split.rs`).

/// A data node whose measured cost exceeds its expected cost by this factor
/// (and `NODE_LOOKUP_WEIGHT` in absolute terms) is considered for a split.
pub(crate) const SIGNIFICANT_DEVIATION_FACTOR: f64 = 1.5;
/// Shifts per insert beyond which a data node must split rather than grow.
pub(crate) const CATASTROPHIC_SHIFTS_PER_INSERT: f64 = 100.0;
/// Inserts a node must have seen before its measured cost is trusted.
pub(crate) const MIN_INSERTS_FOR_EMPIRICAL_COST: u32 = 64;
/// Fraction of inserts beyond one end of a node that marks it as taking
/// appends (or prepends), so a resize leaves room on that end.
pub(crate) const APPEND_MOSTLY_THRESHOLD: f64 = 0.9;

/// Slots of room a node rebuilt for appends (or prepends) gets at that end,
/// for `used` slots of keys: as many again, so the node doubles.
pub(crate) fn edge_room(used: usize) -> usize {
    used
}

/// Slots of room a node whose inserts are spread gets at an end a key
/// arrived past, for `used` slots of keys: an eighth more. Random inserts
/// reach the ends too, and room for appends would go unused.
pub(crate) fn spread_edge_room(used: usize) -> usize {
    used / 8
}

// Appends and prepends (`edge.rs`).

/// The density at which a node laid out for keys arriving at one end
/// places them: its model's slope is the key rate over this, so a key
/// lands at its predicted slot or, arriving early, right after the last
/// key, and the keys stay a slot or two from their predictions.
pub(crate) const EDGE_PLACEMENT_DENSITY: f64 = 0.9;
/// Slots an edge node is planned with beyond what the keys expected in
/// its part of the parent take at `EDGE_PLACEMENT_DENSITY`: room for a key
/// rate a little above the last node's before the node is full. Planned
/// nodes end about `EDGE_PLACEMENT_DENSITY / EDGE_SLACK` full, under
/// `Config::max_density` (0.85 by default), whose key limit would
/// otherwise cut them short.
pub(crate) const EDGE_SLACK: f64 = 1.1;
/// Share of the largest data node that the keys of one slot of a new root
/// above an edge node fill when planned, so that a key rate up to this
/// much above the one measured still fits one node per slot.
pub(crate) const EDGE_ROOT_SLOT_SHARE: f64 = 0.9;
/// Keys a data node needs for its key rate to plan edge nodes by, or for
/// its own line to place the keys to come.
pub(crate) const EDGE_RATE_MIN_KEYS: usize = 64;

/// Whether a node's inserts have been at one end (its right one when
/// `right`) rather than spread: all but its first insert (which found it
/// empty), or `APPEND_MOSTLY_THRESHOLD` of them.
pub(crate) fn edge_inserts_dominate(counters: &NodeCounters, right: bool) -> bool {
    let at_end = if right {
        counters.appends
    } else {
        counters.prepends
    };
    let n = counters.inserts;
    n > 0 && at_end as f64 >= APPEND_MOSTLY_THRESHOLD * (n - 1) as f64
}

/// Keys one slot of a new root above an edge node spans, planned.
pub(crate) fn edge_keys_per_root_slot(config: &Config) -> f64 {
    let slots = config.max_data_node_slots as f64 * EDGE_ROOT_SLOT_SHARE;
    slots * EDGE_PLACEMENT_DENSITY / EDGE_SLACK
}

/// Slots for `held` keys laid out for keys at one end: at the placement
/// density.
pub(crate) fn edge_used_slots(held: usize) -> usize {
    (held as f64 / EDGE_PLACEMENT_DENSITY).ceil() as usize
}

/// Slots of an edge node holding `held` keys and planned for `expected`
/// in all: at the placement density with `EDGE_SLACK` to spare, at least
/// twice what `held + 1` keys take at the initial density (so that a node
/// planned small still takes keys), at most the largest node (unless
/// `held + 1` keys need more).
pub(crate) fn edge_node_slots(config: &Config, expected: f64, held: usize) -> usize {
    let planned = (expected.max(0.0) * EDGE_SLACK / EDGE_PLACEMENT_DENSITY).ceil();
    let planned = if planned.is_finite() {
        planned.min(usize::MAX as f64 / 2.0) as usize
    } else {
        0
    };
    let least = 2 * slots_for(config, held + 1);
    planned
        .max(least)
        .min(config.max_data_node_slots)
        .max(slots_for(config, held + 1))
}

/// Whether a node must split whatever the costs, about to hold `keys` keys
/// in `slots` slots: more keys than a node is built with, more slots than a
/// node may have, or room needed at an edge (`edge_room_denied`) that the
/// slot limit does not allow.
pub(crate) fn must_split(
    config: &Config,
    keys: usize,
    slots: usize,
    edge_room_denied: bool,
) -> bool {
    keys > max_data_keys(config) || slots > config.max_data_node_slots || edge_room_denied
}

/// Expected cost after splitting a node into halves costing `left` and
/// `right`: their mean, plus one level if the split adds one (a split down
/// where the parent has no block to halve).
pub(crate) fn split_cost(left: f64, right: f64, adds_level: bool) -> f64 {
    let extra = if adds_level { NODE_LOOKUP_WEIGHT } else { 0.0 };
    (left + right) / 2.0 + extra
}

/// Whether a sideways split of `keys` keys whose larger half would hold
/// `larger` is useless: that half keeps about all of them (15/16 or more)
/// or still more than a node may hold (`max_keys`). The node splits down
/// instead.
pub(crate) fn sideways_split_is_useless(larger: usize, keys: usize, max_keys: usize) -> bool {
    larger >= max_keys || larger * 16 >= keys * 15
}

/// The shifting-node rule, checked before every insert: a node whose
/// inserts shift keys by the hundred is restructured as if full (and the
/// resize rule then splits it, [`decide_resize`]). See
/// [`NodeCounters::shifting_catastrophically`] for what counts. Not in the
/// single-level layout, where a split can be impossible and the node would
/// only be rebuilt, again and again if the inserts crowd one spot.
///
/// Kept apart from `decide_resize`'s catastrophic-shift test, which has no
/// minimum of inserts: merging the two either way changes which nodes split.
#[inline(always)]
pub(crate) fn restructure_before_insert(layout: Layout, counters: &NodeCounters) -> bool {
    layout == Layout::Adaptive && counters.shifting_catastrophically()
}

// The root's key domain (`split.rs`).

/// The root widens its key domain for keys beyond it only if they are at
/// least this dense, relative to the keys inside the domain.
pub(crate) const OUT_OF_DOMAIN_MIN_RELATIVE_DENSITY: f64 = 1.0 / 16.0;

/// Whether `beyond` keys over `new_slots` slots past the root's domain are
/// dense enough to widen it for them, against `inside` keys over the root's
/// `fanout` slots.
pub(crate) fn worth_new_root_slots(
    beyond: usize,
    new_slots: f64,
    inside: usize,
    fanout: f64,
) -> bool {
    let density_inside = inside.max(1) as f64 / fanout;
    let density_beyond = beyond as f64 / new_slots;
    density_beyond >= OUT_OF_DOMAIN_MIN_RELATIVE_DENSITY * density_inside
}

/// Least fan-out of a new root above the old one: each new root multiplies
/// the domain by at least this, so widenings add levels only
/// logarithmically in the keys' span.
pub(crate) const NEW_ROOT_MIN_FANOUT: usize = 1 << 10;

// Deletes (`remove.rs`).

/// A data node with fewer keys than this fraction of its limit tries to
/// merge with its sibling block.
pub(crate) const MERGE_TRIGGER_FRACTION: f64 = 0.125;
/// Two siblings merge only if together they fill at most this fraction of
/// the largest data node, so the merged node has room to grow.
pub(crate) const MERGE_MAX_FRACTION: f64 = 0.5;

/// Whether a data node of `keys` keys and key limit `limit` has almost
/// emptied out, so a merge is tried.
pub(crate) fn wants_merge(keys: usize, limit: usize) -> bool {
    (keys as f64) < MERGE_TRIGGER_FRACTION * limit as f64
}

/// Whether two buddies holding `keys` keys together may merge.
pub(crate) fn merge_fits(config: &Config, keys: usize) -> bool {
    keys as f64 <= MERGE_MAX_FRACTION * max_data_keys(config) as f64
}

/// Whether a data node of `keys` keys in `slots` slots is below
/// `Config::min_density` and can shrink.
pub(crate) fn wants_contraction(config: &Config, keys: usize, slots: usize) -> bool {
    slots > MIN_SLOTS && (keys as f64) < config.min_density * slots as f64
}

/// An arena with fewer entries than this is never compacted.
const COMPACT_MIN_ENTRIES: usize = 64;

/// Whether an arena of `all` entries, `free` of them freed, is worth
/// compacting: at least half freed. Amortized O(1) per freed node.
pub(crate) fn arena_is_sparse(free: usize, all: usize) -> bool {
    all >= COMPACT_MIN_ENTRIES && 2 * free >= all
}

// Batches (`lib.rs`, `ops.rs`): a rebuild by bulk load (O(n)) against one
// operation per entry. Each rule keeps its own boundary (which side of a
// quarter is rebuilt), as it always had.

/// `Extend` collects and sorts a batch whose size hint says it holds at
/// least this many pairs; shorter ones are inserted as they come.
pub(crate) const EXTEND_SORT_MIN: usize = 64;

/// Whether `Extend` rebuilds a map of `len` entries with a sorted batch of
/// `batch` pairs (at least a quarter of the map), rather than inserting them.
pub(crate) fn extend_rebuilds(batch: usize, len: usize) -> bool {
    batch.saturating_mul(4) >= len
}

/// A group of a sorted run routed to one data node is merged with the
/// node's keys (one rebuild) when it holds at least this share of them;
/// a smaller one is inserted key by key, each next to the one before, in
/// cache, which costs less than copying the whole node.
pub(crate) const SORTED_GROUP_MERGE_SHARE: f64 = 0.125;

/// Whether `extend_sorted` merges a group of `group` keys into a data node
/// holding `keys`.
pub(crate) fn sorted_group_merges(group: usize, keys: usize) -> bool {
    group as f64 >= SORTED_GROUP_MERGE_SHARE * keys as f64
}

/// Whether `retain` rebuilds a map of `len` entries to remove `removed` of
/// them (a quarter or more, rounded up), rather than removing one by one.
pub(crate) fn retain_rebuilds(removed: usize, len: usize) -> bool {
    removed >= len.div_ceil(4)
}

/// Whether `split_off` pops a side of `side` entries out of a map of `len`
/// entries one by one (at most a quarter, rounded down), rather than
/// rebuilding both sides.
pub(crate) fn split_off_pops(side: usize, len: usize) -> bool {
    side <= len / 4
}

/// Expected behaviour of a data node laid out over some keys.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct DataCost {
    /// Mean `log2(|actual - predicted| + 1)` over the keys.
    pub search_iterations: f64,
    /// Expected slots shifted by one insert.
    pub shifts: f64,
}

impl DataCost {
    /// The weighted cost, with inserts making up `insert_fraction` of the
    /// operations.
    pub fn total(&self, insert_fraction: f64) -> f64 {
        EXP_SEARCH_ITERATIONS_WEIGHT * self.search_iterations
            + SHIFTS_WEIGHT * self.shifts * insert_fraction
    }
}

/// `log2(x)` for `x >= 1`, exact at powers of two and within 0.09
/// between them (linear between powers): plenty for a cost estimate, and
/// far cheaper than `f64::log2` on the bulk-load path.
/// [`PlacementStats`] sums the same approximation in fixed point.
#[cfg(test)]
pub(crate) fn log2_approx(x: usize) -> f64 {
    if x <= 1 {
        return 0.0;
    }
    let e = usize::BITS - 1 - x.leading_zeros();
    // Times 2^-e (built from its exponent bits): exact, as the division was.
    let frac = (x - (1 << e)) as f64 * f64::from_bits(u64::from(1023 - e) << 52);
    e as f64 + frac
}

/// Fractional bits of [`PlacementStats`]' fixed-point log sum.
const LOG_FRAC_BITS: u32 = 20;

/// Accumulates the two statistics while keys are placed left to right, in
/// integers: this runs for every bulk load and rebuild. Keys come one by
/// one through [`PlacementStats::record_at_least`] (the cost model's
/// simulation), or as search errors of a sample of keys plus the lengths of
/// the blocks of consecutive occupied slots ([`PlacementStats::record_error`] and
/// [`PlacementStats::record_block`], `DataNode::build`); the two are not
/// mixed in one layout.
#[derive(Debug)]
pub(crate) struct PlacementStats {
    /// Sum of `log2_approx(error + 1)` in fixed point (`LOG_FRAC_BITS`):
    /// each term is below 2^(6 + 20), so 2^30 keys stay below 2^56.
    log2_error_sum: u64,
    /// Keys whose error `log2_error_sum` holds.
    errors: u64,
    run_square_sum: u64,
    run: u64,
    /// Slot of the previous key plus one (`usize::MAX` before the first).
    next_pos: usize,
    keys: usize,
}

impl Default for PlacementStats {
    fn default() -> Self {
        PlacementStats {
            log2_error_sum: 0,
            errors: 0,
            run_square_sum: 0,
            run: 0,
            next_pos: usize::MAX,
            keys: 0,
        }
    }
}

impl PlacementStats {
    /// Records a key predicted at `predicted` and placed at `actual`, with
    /// a search error of at least `min_error` slots.
    #[inline(always)]
    pub fn record_at_least(&mut self, predicted: usize, actual: usize, min_error: usize) {
        self.add_error(predicted.abs_diff(actual).max(min_error));
        if self.next_pos == actual {
            self.run += 1;
        } else {
            self.run_square_sum += self.run * self.run;
            self.run = 1;
        }
        self.next_pos = actual + 1;
        self.keys += 1;
    }

    /// Records the search error of one key (of a sample) predicted at
    /// `predicted` and placed at `actual`.
    #[inline(always)]
    pub fn record_error(&mut self, predicted: usize, actual: usize) {
        self.add_error(predicted.abs_diff(actual));
    }

    /// Records a search error of `error` slots.
    #[inline(always)]
    fn add_error(&mut self, error: usize) {
        let x = (error + 1) as u64;
        // log2_approx(x) = e + (x - 2^e) / 2^e: normalise x so its top bit
        // is bit 63; the bits below it are the fraction.
        let e = 63 - x.leading_zeros();
        let fraction = (x << (63 - e) << 1) >> (64 - LOG_FRAC_BITS);
        self.log2_error_sum += (u64::from(e) << LOG_FRAC_BITS) | fraction;
        self.errors += 1;
    }

    /// Records a block of `len` consecutive occupied slots, bounded by gaps
    /// or the ends of the node.
    #[inline(always)]
    pub fn record_block(&mut self, len: usize) {
        self.run_square_sum += (len * len) as u64;
        self.keys += len;
    }

    /// The expected cost of the layout recorded so far.
    pub fn finish(&self) -> DataCost {
        if self.keys == 0 || self.errors == 0 {
            return DataCost::default();
        }
        let n = self.keys as f64;
        let squares = (self.run_square_sum + self.run * self.run) as f64;
        DataCost {
            search_iterations: self.log2_error_sum as f64
                / f64::from(1u32 << LOG_FRAC_BITS)
                / self.errors as f64,
            shifts: squares / (4.0 * n),
        }
    }
}

/// The placement the cost model simulates: the model's slot, moved right to
/// the first free slot, and left if needed so the keys after it still fit.
/// `DataNode::build` places keys by an isotonic fit instead, which spreads
/// crowds to both sides of their predictions; this simpler rule is cheaper
/// to simulate and overstates how far keys sit from their predictions.
#[inline(always)]
pub(crate) fn place(
    predicted: usize,
    next_free: usize,
    remaining_after: usize,
    slots: usize,
) -> usize {
    predicted.max(next_free).min(slots - 1 - remaining_after)
}

/// Expected cost of one data node holding the sorted keys `ords` at
/// `density`, with a least-squares model. Reads at most
/// [`COST_SAMPLE_KEYS`] keys: a sample keeps every `stride`-th key and the
/// layout is simulated at the same density over proportionally fewer slots.
///
/// A sample shrinks every distance by its stride, which is right for the
/// small displacements of keys crowding locally (gaps absorb them whatever
/// the scale) but not for keys the model misses by far, as where the keys
/// curve away from the line (the tail of a skewed distribution), whose
/// sample prices them as if they were near (docs/design.md, "Cost model").
/// So each sampled key's error is at least its distance, at full
/// scale, from the slots its rank allows: key `r` of `n` needs `r` slots
/// before it and `n - 1 - r` after.
pub(crate) fn data_node_cost<O: Images>(ords: O, density: f64) -> DataCost {
    let n = ords.len();
    if n <= 1 {
        return DataCost::default();
    }
    let stride = n.div_ceil(COST_SAMPLE_KEYS);
    let sample = n.div_ceil(stride);
    let slots = slots_at_density(sample, density);
    let full_slots = slots_at_density(n, density);
    // The rank model predicts in 0..n; the sample lives in 0..slots.
    let ranks = LinearModel::fit_ranks_strided(ords, stride);
    let model = ranks.scaled(slots as f64 / n as f64);
    let full_model = ranks.scaled(full_slots as f64 / n as f64);
    let room = (full_slots - n) as i64;
    let mut stats = PlacementStats::default();
    let mut next_free = 0;
    for i in 0..sample {
        let t = ords.at(i * stride);
        let predicted = model.predict(t, slots);
        let pos = place(predicted, next_free, sample - 1 - i, slots);
        // Key `rank` may take slots `rank..=full_slots - (n - rank)`.
        let rank = (i * stride) as i64;
        let full = full_model.predict(t, full_slots) as i64;
        let off_range = (rank - full).max(full - (room + rank)).max(0);
        stats.record_at_least(predicted, pos, off_range as usize);
        next_free = pos + 1;
    }
    stats.finish()
}

/// Cost of one more inner level with `fanout` children above `node_keys` of
/// `total_keys` keys: a node visit, plus the child array's bytes weighted by
/// how much of the tree pays for them.
pub(crate) fn traversal_cost(
    fanout: usize,
    child_bytes: usize,
    node_keys: usize,
    total_keys: usize,
) -> f64 {
    let share = total_keys.max(1) as f64 / node_keys.max(1) as f64;
    NODE_LOOKUP_WEIGHT + MODEL_SIZE_WEIGHT * (fanout * child_bytes) as f64 * share
}

/// A [`DataCost`] as a data node keeps it: single precision, so the header
/// fits two cache lines (docs/design.md, "Header layout").
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct StoredCost {
    search_iterations: f32,
    shifts: f32,
}

impl From<DataCost> for StoredCost {
    fn from(c: DataCost) -> Self {
        StoredCost {
            search_iterations: c.search_iterations as f32,
            shifts: c.shifts as f32,
        }
    }
}

impl StoredCost {
    /// [`DataCost::total`] of the stored figures.
    pub fn total(&self, insert_fraction: f64) -> f64 {
        DataCost {
            search_iterations: f64::from(self.search_iterations),
            shifts: f64::from(self.shifts),
        }
        .total(insert_fraction)
    }
}

/// Counters at or above this are all halved (see [`NodeCounters`]).
const COUNTER_HALVING: u32 = 1 << 30;

/// The counters a data node keeps since it was last built, to compare what
/// it costs against what the model expected. Only their ratios are read, so
/// when the count of inserts or of their probes reaches [`COUNTER_HALVING`]
/// (a node that takes inserts and removes without being rebuilt: at about 9
/// probes per insert, after some 120M inserts) all are halved, which keeps
/// them in 32 bits and the header in two cache lines; from then on, later
/// inserts weigh more than earlier ones, as in a decaying average. Shifts,
/// up to a node's slots per insert, are 64-bit: halving on them would keep
/// the insert count of a node shifting by the million below
/// `MIN_INSERTS_FOR_EMPIRICAL_COST`, so it would never be split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NodeCounters {
    pub shifts: u64,
    pub inserts: u32,
    pub search_iterations: u32,
    pub appends: u32,
    pub prepends: u32,
}

impl NodeCounters {
    /// Counts an insert of a new key found with `probes` comparisons, at
    /// the node's right end (`append`), its left end (`prepend`) or
    /// between keys.
    #[inline(always)]
    pub fn record_insert(&mut self, probes: u32, append: bool, prepend: bool) {
        self.inserts += 1;
        self.search_iterations += probes;
        self.appends += u32::from(append);
        self.prepends += u32::from(prepend);
        self.halve_if_large();
    }

    /// Counts `slots` slots shifted by the insert just counted.
    #[inline(always)]
    pub fn record_shifts(&mut self, slots: usize) {
        self.shifts += slots as u64;
    }

    /// The 32-bit counts are below `COUNTER_HALVING` before an insert,
    /// which adds one insert and a few dozen probes: none reaches 2^32.
    #[inline(always)]
    fn halve_if_large(&mut self) {
        if (self.inserts | self.search_iterations) >= COUNTER_HALVING {
            self.halve();
        }
    }

    #[cold]
    fn halve(&mut self) {
        self.shifts /= 2;
        for c in [
            &mut self.inserts,
            &mut self.search_iterations,
            &mut self.appends,
            &mut self.prepends,
        ] {
            *c /= 2;
        }
    }

    /// Measured cost per insert, or `None` before enough inserts.
    pub fn empirical_cost(&self, insert_fraction: f64) -> Option<f64> {
        if self.inserts < MIN_INSERTS_FOR_EMPIRICAL_COST {
            return None;
        }
        let n = f64::from(self.inserts);
        Some(
            EXP_SEARCH_ITERATIONS_WEIGHT * f64::from(self.search_iterations) / n
                + SHIFTS_WEIGHT * self.shifts as f64 / n * insert_fraction,
        )
    }

    /// Whether enough inserts have been seen to trust it and they shifted
    /// more than [`CATASTROPHIC_SHIFTS_PER_INSERT`] slots each on average.
    #[inline]
    pub fn shifting_catastrophically(&self) -> bool {
        self.inserts >= MIN_INSERTS_FOR_EMPIRICAL_COST
            && self.shifts > CATASTROPHIC_SHIFTS_PER_INSERT as u64 * u64::from(self.inserts)
    }

    /// Whether enough inserts have been seen to tell where they land, and
    /// no end takes most of them.
    pub fn inserts_spread(&self) -> bool {
        self.inserts >= MIN_INSERTS_FOR_EMPIRICAL_COST && self.edge_pattern() == EdgePattern::Spread
    }

    /// Shifts per insert so far.
    pub fn shifts_per_insert(&self) -> f64 {
        if self.inserts == 0 {
            0.0
        } else {
            self.shifts as f64 / self.inserts as f64
        }
    }

    /// Which end, if any, takes almost all inserts.
    pub fn edge_pattern(&self) -> EdgePattern {
        if self.inserts < MIN_INSERTS_FOR_EMPIRICAL_COST {
            return EdgePattern::Spread;
        }
        let n = self.inserts as f64;
        if self.appends as f64 >= APPEND_MOSTLY_THRESHOLD * n {
            EdgePattern::Appends
        } else if self.prepends as f64 >= APPEND_MOSTLY_THRESHOLD * n {
            EdgePattern::Prepends
        } else {
            EdgePattern::Spread
        }
    }
}

/// Where a data node's inserts land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgePattern {
    Spread,
    Appends,
    Prepends,
}

/// What to do with a data node that has no room for an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resize {
    /// Rebuild it larger, with a retrained model.
    Expand,
    /// Replace it by smaller nodes.
    Split,
}

/// What a data node that refused an insert does. Refused at an edge
/// (`edge`), it grows with room on that edge unless it must split.
/// Otherwise ALEX's rule: grow in place unless the node must split
/// ([`must_split`]), its inserts have shifted more than
/// [`CATASTROPHIC_SHIFTS_PER_INSERT`] slots each on average (however few
/// inserts it has seen: the shifting-node rule,
/// [`restructure_before_insert`], is the one that waits for enough), or its
/// measured cost has drifted well above what was expected and splitting is
/// expected to be cheaper.
pub(crate) fn decide_resize(
    edge: bool,
    must_split: bool,
    counters: &NodeCounters,
    expected_cost: f64,
    insert_fraction: f64,
    expand_cost: impl FnOnce() -> f64,
    split_cost: impl FnOnce() -> f64,
) -> Resize {
    if edge && !must_split {
        return Resize::Expand;
    }
    if must_split || counters.shifts_per_insert() > CATASTROPHIC_SHIFTS_PER_INSERT {
        return Resize::Split;
    }
    let drifted = counters.empirical_cost(insert_fraction).is_some_and(|c| {
        c > NODE_LOOKUP_WEIGHT && c > SIGNIFICANT_DEVIATION_FACTOR * expected_cost
    });
    if drifted && split_cost() < expand_cost() {
        Resize::Split
    } else {
        Resize::Expand
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_counters_halve_and_keep_their_ratios() {
        // A node that is never rebuilt: a billion inserts would overflow
        // the 32-bit counts. Start just below the halving point.
        let mut c = NodeCounters {
            inserts: COUNTER_HALVING - 10,
            search_iterations: 3 * (COUNTER_HALVING / 4),
            shifts: 700 * u64::from(COUNTER_HALVING - 10),
            appends: COUNTER_HALVING / 2,
            prepends: 0,
        };
        for _ in 0..20 {
            c.record_insert(1, true, false);
            c.record_shifts(700);
        }
        assert!(c.inserts < COUNTER_HALVING, "{c:?}");
        assert!((c.shifts_per_insert() - 700.0).abs() < 1.0, "{c:?}");
        assert!(c.shifting_catastrophically());
        let probes = f64::from(c.search_iterations) / f64::from(c.inserts);
        assert!((probes - 0.75).abs() < 0.01, "{c:?}");
        assert_eq!(c.edge_pattern(), EdgePattern::Spread);
        // Probes reach the halving point first; the insert count stays
        // far above what the empirical cost needs.
        let mut c = NodeCounters::default();
        for _ in 0..20_000_000 {
            c.record_insert(60, true, false);
        }
        assert!(c.search_iterations < COUNTER_HALVING, "{c:?}");
        assert!(c.inserts > 1 << 20, "{c:?}");
        assert_eq!(c.edge_pattern(), EdgePattern::Appends);
        // Shifts of a billion slots per insert never halve the count of
        // inserts, so such a node is still caught shifting.
        let mut c = NodeCounters::default();
        for _ in 0..200 {
            c.record_insert(2, false, false);
            c.record_shifts(1 << 30);
        }
        assert_eq!(c.inserts, 200);
        assert!(c.shifting_catastrophically());
    }

    #[test]
    fn stored_costs_total_as_the_full_precision_ones() {
        for c in [
            DataCost {
                search_iterations: 2.375,
                shifts: 14.25,
            },
            DataCost {
                search_iterations: 0.1 + 1.0 / 3.0,
                shifts: 1_234.567_890_123,
            },
        ] {
            for ins in [0.0, 0.5, 1.0] {
                let (stored, full) = (StoredCost::from(c).total(ins), c.total(ins));
                assert!((stored - full).abs() <= full * 1e-7, "{stored} vs {full}");
            }
        }
    }

    #[test]
    fn evenly_spaced_keys_cost_nothing_to_search() {
        let ords: Vec<u64> = (0..1000).map(|i| i * 100).collect();
        let cost = data_node_cost(ords.as_slice(), 0.5);
        assert!(cost.search_iterations < 0.01, "{cost:?}");
        assert!(cost.shifts < 1.0, "{cost:?}");
    }

    #[test]
    fn a_dense_cluster_costs_more_than_even_keys() {
        let even: Vec<u64> = (0..1000).map(|i| i * 100).collect();
        // Half the keys packed together, half spread far apart: no line fits.
        let mut skewed: Vec<u64> = (0..500).collect();
        skewed.extend((0..500).map(|i| (1 << 40) + (i << 30)));
        let d = 0.7;
        let (s, e) = (
            data_node_cost(skewed.as_slice(), d),
            data_node_cost(even.as_slice(), d),
        );
        assert!(s.total(1.0) > e.total(1.0) + 10.0, "{s:?} vs {e:?}");
    }

    #[test]
    fn placement_stats_sum_the_log2_approximation() {
        let mut stats = PlacementStats::default();
        let mut want = 0.0;
        let mut pos = 0;
        for (i, err) in [0usize, 1, 2, 3, 7, 100, 65_535, 1 << 29]
            .into_iter()
            .enumerate()
        {
            pos += 1 + i % 2;
            stats.record_at_least(pos + err, pos, 0);
            want += log2_approx(err + 1);
        }
        let got = stats.finish().search_iterations * 8.0;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }

    #[test]
    fn log2_approx_is_close() {
        for x in 1..5000usize {
            assert!((log2_approx(x) - (x as f64).log2()).abs() < 0.09, "{x}");
        }
        assert_eq!(log2_approx(1 << 40), 40.0);
    }

    #[test]
    fn catastrophic_shifts_force_a_split() {
        let counters = NodeCounters {
            inserts: 1000,
            shifts: 1000 * 200,
            ..Default::default()
        };
        let r = decide_resize(false, false, &counters, 1.0, 1.0, || 0.0, || 1e9);
        assert_eq!(r, Resize::Split);
        let calm = NodeCounters {
            inserts: 1000,
            shifts: 1000,
            ..Default::default()
        };
        assert_eq!(
            decide_resize(false, false, &calm, 100.0, 1.0, || 0.0, || 0.0),
            Resize::Expand
        );
    }
}
