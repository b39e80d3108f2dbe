//! `LinearModel`: the position predictor of every node.
//!
//! A model maps a key's ordered image `t` to `slope * (t - base) + intercept`,
//! where `t - base` is the exact signed integer distance converted to `f64`
//! ([`crate::key::ordered_distance`]). Measuring from a node-local `base`
//! keeps predictions exact for keys that are close together even when they
//! are far above 2^53.
//!
//! Guarantee relied on by routing: for `slope >= 0`, `predict` is monotone
//! non-decreasing in `t`, because every step (integer subtraction, the
//! conversion to `f64`, multiplication by a non-negative number, addition,
//! truncation, clamping) is monotone. Two keys in order are therefore never
//! routed to children out of order, whatever rounding does.

use crate::images::Images;
use crate::key::{near_distance, ordered_distance};

/// `position = slope * (t - base) + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LinearModel {
    pub slope: f64,
    pub intercept: f64,
    pub base: u64,
}

/// The base of a model over keys in `lo..=hi`: `lo` itself, unless the keys
/// span 2^63 or more. Then the midpoint, so that every distance within the
/// span fits in an `i64` and takes the one-instruction conversion in
/// [`ordered_distance`] (uniform `u64` keys under a root would otherwise
/// take the slow path half the time), and [`near_distance`] is exact for
/// every key of the span. The midpoint rounds up: `hi - base` is then at
/// most `(2^64 - 1) / 2 = 2^63 - 1` and `lo - base` at least `-2^63`, where
/// rounding down put `u64::MAX` at `+2^63` from the base of `0..=u64::MAX`,
/// which `near_distance` wraps to `-2^63`.
fn base_for(lo: u64, hi: u64) -> u64 {
    if hi - lo < 1 << 63 {
        lo
    } else {
        lo + (hi - lo).div_ceil(2)
    }
}

/// Bounds above this are capped by [`clamp_to_index`]: far beyond any slot
/// or child array, and exactly representable in `f64`.
const MAX_INDEX: usize = 1 << 53;

/// The prediction `p` clamped to `lo..=hi` and truncated to an index; NaN
/// goes to `lo`. Predictions against a bound the caller has not kept as
/// `f64` end here (`LinearModel::predict`, the placement of
/// `DataNode::build`); those against a kept bound end in [`clamp_below`].
#[inline(always)]
pub(crate) fn clamp_to_index(p: f64, lo: usize, hi: usize) -> usize {
    let lo = lo.min(MAX_INDEX) as f64;
    let hi = hi.min(MAX_INDEX) as f64;
    // Clamp in floating point first (NaN fails `p > lo`); each comparison
    // compiles to one max or min instruction.
    let clamped = if p > lo { p } else { lo };
    let clamped = if clamped < hi { clamped } else { hi };
    // SAFETY: `clamped` is `p`, `lo` or `hi`, not NaN, and within
    // `0.0..=2^53` because both bounds were capped at 2^53, so its integer
    // part fits in an i64, which is what `to_int_unchecked` requires. The
    // checked `as` conversion would add saturation code to every prediction
    // of every lookup.
    unsafe { clamped.to_int_unchecked::<i64>() as usize }
}

/// The last index of `len` slots as `f64`, capped at [`MAX_INDEX`] (0 when
/// there are none): the bound a node keeps for [`clamp_below`].
pub(crate) fn max_index_of(len: usize) -> f64 {
    len.saturating_sub(1).min(MAX_INDEX) as f64
}

/// The prediction `p` clamped to `0..=max` and truncated to an index; NaN
/// goes to 0. `max` must come from [`max_index_of`]: the lookup paths keep
/// it in their nodes so that they do not convert a bound on every call.
#[inline(always)]
pub(crate) fn clamp_below(p: f64, max: f64) -> usize {
    clamp_between(p, 0.0, max)
}

/// The index `i` as `f64`, capped at [`MAX_INDEX`]: a lower bound a node
/// keeps for [`clamp_between`].
pub(crate) fn index_bound(i: usize) -> f64 {
    i.min(MAX_INDEX) as f64
}

/// The prediction `p` clamped to `lo..=hi` and truncated to an index; NaN
/// goes to `lo`, and a `lo` above `hi` gives `hi`. Both bounds must come
/// from [`index_bound`] or [`max_index_of`], kept by the node: the same two
/// instructions as [`clamp_below`], with a kept lower bound instead of 0.
#[inline(always)]
pub(crate) fn clamp_between(p: f64, lo: f64, hi: f64) -> usize {
    debug_assert!((0.0..=MAX_INDEX as f64).contains(&lo));
    debug_assert!((0.0..=MAX_INDEX as f64).contains(&hi));
    // NaN fails `p > lo`; each comparison compiles to one max or min.
    let p = if p > lo { p } else { lo };
    let p = if p < hi { p } else { hi };
    // SAFETY: `p` is `lo`, `hi` or a value between them, not NaN, and both
    // bounds are within `0.0..=2^53` (`index_bound`, `max_index_of`; the
    // nodes' copies are verified by `check`), so the integer part fits in
    // an i64, which is what `to_int_unchecked` requires.
    unsafe { p.to_int_unchecked::<i64>() as usize }
}

impl LinearModel {
    /// A model that sends every key to position 0.
    pub const ZERO: LinearModel = LinearModel {
        slope: 0.0,
        intercept: 0.0,
        base: 0,
    };

    /// The unclamped prediction.
    #[inline(always)]
    pub fn predict_f64(&self, t: u64) -> f64 {
        self.slope * ordered_distance(t, self.base) + self.intercept
    }

    /// The prediction clamped to `0..len` (`len > 0`). NaN goes to 0.
    #[inline(always)]
    pub fn predict(&self, t: u64, len: usize) -> usize {
        clamp_to_index(self.predict_f64(t), 0, len - 1)
    }

    /// `predict(t, len)` for a caller that keeps `max = max_index_of(len)`
    /// at hand: the same value, without converting the bound.
    #[inline(always)]
    pub fn predict_clamped(&self, t: u64, max: f64) -> usize {
        clamp_below(self.predict_f64(t), max)
    }

    /// The unclamped prediction with the distance taken by
    /// [`near_distance`]: equal to [`LinearModel::predict_f64`] for `t`
    /// within 2^63 of the base, as every key of the data node this model
    /// places is.
    #[inline(always)]
    pub fn predict_near_f64(&self, t: u64) -> f64 {
        self.slope * near_distance(t, self.base) + self.intercept
    }

    /// Least-squares fit of position `i` against `ords[i]`, so that the
    /// model predicts ranks in `0..ords.len()`. `ords` must be sorted
    /// ascending. The slope is never negative.
    #[cfg(test)]
    pub fn fit_ranks(ords: &[u64]) -> LinearModel {
        Self::fit_ranks_strided(ords, 1)
    }

    /// Like [`LinearModel::fit_ranks`] but reading every `stride`-th key
    /// only (an approximate fit of large inputs); the result still predicts
    /// ranks in the full `ords`.
    pub fn fit_ranks_strided<O: Images>(ords: O, stride: usize) -> LinearModel {
        let n = ords.len();
        if n == 0 {
            return LinearModel::ZERO;
        }
        if n == 1 || ords.at(n - 1) == ords.at(0) {
            return LinearModel {
                slope: 0.0,
                intercept: 0.0,
                base: ords.at(0),
            };
        }
        let base = base_for(ords.at(0), ords.at(n - 1));
        let stride = stride.max(1);
        // Keys `j * stride` for `j < m`, measured exactly (the short
        // `near_distance` is exact too for keys of the span since the base
        // rounds up, but this fit is not where the time goes).
        let m = (n - 1) / stride + 1;
        let x = |j: usize| ordered_distance(ords.at(j * stride), base);
        // Two passes (means, then centred sums) keep the fit exact enough
        // when the keys span a small range far from zero. Each sum runs in
        // four lanes, so consecutive additions do not wait on each other
        // (a chain of dependent additions bounded this loop); the mean
        // rank has a closed form.
        let lanes = m / 4 * 4;
        let mut sum_x = [0.0f64; 4];
        for j in (0..lanes).step_by(4) {
            for (l, sum) in sum_x.iter_mut().enumerate() {
                *sum += x(j + l);
            }
        }
        for j in lanes..m {
            sum_x[0] += x(j);
        }
        let count = m as f64;
        let mean_x = ((sum_x[0] + sum_x[1]) + (sum_x[2] + sum_x[3])) / count;
        let mean_y = (stride * (m - 1)) as f64 / 2.0;
        let mut sxx = [0.0f64; 4];
        let mut sxy = [0.0f64; 4];
        let mut add = |l: usize, j: usize| {
            let dx = x(j) - mean_x;
            sxx[l] += dx * dx;
            sxy[l] += dx * ((j * stride) as f64 - mean_y);
        };
        for j in (0..lanes).step_by(4) {
            for l in 0..4 {
                add(l, j + l);
            }
        }
        for j in lanes..m {
            add(0, j);
        }
        let sxx = (sxx[0] + sxx[1]) + (sxx[2] + sxx[3]);
        let sxy = (sxy[0] + sxy[1]) + (sxy[2] + sxy[3]);
        let mut slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        if !slope.is_finite() || slope < 0.0 {
            slope = 0.0;
        }
        if slope == 0.0 {
            // Fall back to the line through the end points.
            let span = ordered_distance(ords.at(n - 1), ords.at(0));
            slope = (n - 1) as f64 / span;
        }
        let intercept = mean_y - slope * mean_x;
        LinearModel {
            slope,
            intercept,
            base,
        }
    }

    /// The line through the two end points `lo -> 0` and `hi -> len`, for
    /// routing a key range evenly over `len` slots.
    pub fn spanning(lo: u64, hi: u64, len: usize) -> LinearModel {
        if hi <= lo {
            return LinearModel {
                slope: 0.0,
                intercept: 0.0,
                base: lo,
            };
        }
        let slope = len as f64 / ordered_distance(hi, lo);
        let base = base_for(lo, hi);
        LinearModel {
            slope,
            intercept: slope * ordered_distance(base, lo),
            base,
        }
    }

    /// Multiplies every prediction by `factor` (`factor >= 0`).
    pub fn scaled(&self, factor: f64) -> LinearModel {
        LinearModel {
            slope: self.slope * factor,
            intercept: self.intercept * factor,
            base: self.base,
        }
    }

    /// Adds `offset` to every prediction.
    pub fn shifted(&self, offset: f64) -> LinearModel {
        LinearModel {
            slope: self.slope,
            intercept: self.intercept + offset,
            base: self.base,
        }
    }

    /// True when the model keeps keys in order (non-negative finite slope,
    /// finite intercept).
    pub fn is_monotone(&self) -> bool {
        self.slope.is_finite() && self.slope >= 0.0 && self.intercept.is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_of_evenly_spaced_keys_is_exact() {
        let ords: Vec<u64> = (0..100).map(|i| 1000 + 10 * i).collect();
        let m = LinearModel::fit_ranks(&ords);
        for (i, &t) in ords.iter().enumerate() {
            assert_eq!(m.predict(t, ords.len()), i);
        }
    }

    #[test]
    fn fit_near_u64_max_keeps_adjacent_keys_apart() {
        let ords: Vec<u64> = (0..64).map(|i| u64::MAX - 63 + i).collect();
        let m = LinearModel::fit_ranks(&ords);
        for (i, &t) in ords.iter().enumerate() {
            assert_eq!(m.predict(t, ords.len()), i);
        }
    }

    #[test]
    fn wide_spans_measure_from_the_midpoint_and_stay_monotone() {
        let m = LinearModel::spanning(0, u64::MAX, 256);
        assert!(m.base.abs_diff(1 << 63) <= 1);
        // Both ends sit within an i64 of the base, so the short distance
        // conversion that data nodes use agrees with the exact one.
        for t in [0, 1, (1 << 63) - 1, 1 << 63, u64::MAX - 1, u64::MAX] {
            assert_eq!(m.predict_near_f64(t), m.predict_f64(t), "{t}");
        }
        assert_eq!(m.predict(0, 256), 0);
        assert_eq!(m.predict(u64::MAX, 256), 255);
        assert_eq!(m.predict((1 << 63) - (1 << 40), 256), 127);
        assert_eq!(m.predict((1 << 63) + (1 << 40), 256), 128);
        let mut last = 0;
        let mut t = 0u64;
        for _ in 0..10_000 {
            let p = m.predict(t, 256);
            assert!(p >= last);
            last = p;
            t = t.wrapping_add(0x0006_8db8_bac7_10cb);
            if t < 0x0006_8db8_bac7_10cb {
                break;
            }
        }
        let ords: Vec<u64> = (0..1000u64).map(|i| i * (u64::MAX / 1000)).collect();
        let fit = LinearModel::fit_ranks(&ords);
        assert!(fit.base > 1 << 62);
        let with_max: Vec<u64> = ords.iter().copied().chain([u64::MAX]).collect();
        let fit_max = LinearModel::fit_ranks(&with_max);
        for &t in [0, u64::MAX].iter().chain(&ords) {
            assert_eq!(fit_max.predict_near_f64(t), fit_max.predict_f64(t), "{t}");
        }
        let preds: Vec<usize> = ords.iter().map(|&t| fit.predict(t, 1000)).collect();
        assert!(preds.windows(2).all(|w| w[0] <= w[1]));
        assert!(preds.iter().enumerate().all(|(i, &p)| p.abs_diff(i) <= 1));
        // Narrow spans keep their first key as the base.
        assert_eq!(LinearModel::spanning(10, 1 << 62, 8).base, 10);
    }

    #[test]
    fn predictions_clamp_and_stay_monotone() {
        let m = LinearModel {
            slope: 1e-3,
            intercept: -5.0,
            base: 1 << 40,
        };
        let mut last = 0;
        for t in [0u64, 1 << 39, 1 << 40, (1 << 40) + 100_000, u64::MAX] {
            let p = m.predict(t, 50);
            assert!(p >= last && p < 50);
            last = p;
        }
        assert_eq!(m.predict(0, 50), 0);
        assert_eq!(m.predict(u64::MAX, 50), 49);
    }

    #[test]
    fn single_key_and_constant_inputs_do_not_produce_nan() {
        let m = LinearModel::fit_ranks(&[42]);
        assert!(m.is_monotone());
        assert_eq!(m.predict(42, 4), 0);
        assert!(LinearModel::fit_ranks(&[]).is_monotone());
    }
}
