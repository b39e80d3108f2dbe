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

use crate::key::ordered_distance;

/// `position = slope * (t - base) + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LinearModel {
    pub slope: f64,
    pub intercept: f64,
    pub base: u64,
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
        let p = self.predict_f64(t);
        // Clamp in floating point first (NaN fails `p > 0.0` and becomes
        // 0), so the conversion is a plain signed one; `len` is far below
        // 2^53, so both conversions are exact.
        let last = (len - 1) as i64 as f64;
        let clamped = if p > 0.0 { p.min(last) } else { 0.0 };
        clamped as i64 as usize
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
    pub fn fit_ranks_strided(ords: &[u64], stride: usize) -> LinearModel {
        let n = ords.len();
        if n == 0 {
            return LinearModel::ZERO;
        }
        let base = ords[0];
        if n == 1 || ords[n - 1] == base {
            return LinearModel {
                slope: 0.0,
                intercept: 0.0,
                base,
            };
        }
        let stride = stride.max(1);
        // Two passes (means, then centred sums) keep the fit exact enough
        // when the keys span a small range far from zero.
        let mut count = 0.0f64;
        let mut sum_x = 0.0f64;
        let mut sum_y = 0.0f64;
        let mut i = 0;
        while i < n {
            sum_x += ordered_distance(ords[i], base);
            sum_y += i as f64;
            count += 1.0;
            i += stride;
        }
        let mean_x = sum_x / count;
        let mean_y = sum_y / count;
        let mut sxx = 0.0f64;
        let mut sxy = 0.0f64;
        let mut i = 0;
        while i < n {
            let dx = ordered_distance(ords[i], base) - mean_x;
            sxx += dx * dx;
            sxy += dx * (i as f64 - mean_y);
            i += stride;
        }
        let mut slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        if !slope.is_finite() || slope < 0.0 {
            slope = 0.0;
        }
        if slope == 0.0 {
            // Fall back to the line through the end points.
            let span = ordered_distance(ords[n - 1], base);
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
        LinearModel {
            slope: len as f64 / ordered_distance(hi, lo),
            intercept: 0.0,
            base: lo,
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
