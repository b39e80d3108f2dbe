//! A piecewise-linear model from a run's fence keys to block numbers: each segment
//! predicts a block within `epsilon` blocks of the right one, for every fence key. Built
//! in one pass by the shrinking-cone method (Galakatos et al., FITing-tree), then checked
//! against every fence with the same arithmetic the lookups use, so the stored bound holds
//! exactly.

/// One segment: from `first_key` on, block ≈ `intercept + slope * (key - first_key)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// The first fence key this segment covers.
    pub first_key: u64,
    /// Blocks per unit of key.
    pub slope: f64,
    /// Block predicted at `first_key`.
    pub intercept: f64,
}

impl Segment {
    /// The predicted block, as a real number.
    #[inline]
    pub fn predict(&self, key: u64) -> f64 {
        self.intercept + self.slope * key.wrapping_sub(self.first_key) as f64
    }
}

/// The whole model of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pla {
    /// Segments in ascending `first_key`; the first starts at the first fence.
    pub segments: Vec<Segment>,
    /// Every fence's block is within this many blocks of its prediction.
    pub epsilon: u32,
}

/// The error bound the builder aims for, in blocks.
pub const TARGET_EPSILON: u32 = 4;

impl Pla {
    /// Fits `fences` (strictly ascending) aiming at `epsilon` blocks of error.
    pub fn fit(fences: &[u64], epsilon: u32) -> Self {
        let mut segments = Vec::new();
        let eps = f64::from(epsilon);
        let mut start = 0usize;
        while start < fences.len() {
            let x0 = fences[start];
            let y0 = start as f64;
            let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
            let mut end = start + 1;
            while end < fences.len() {
                let dx = (fences[end] - x0) as f64;
                let dy = end as f64 - y0;
                let new_lo = lo.max((dy - eps) / dx);
                let new_hi = hi.min((dy + eps) / dx);
                if new_lo > new_hi {
                    break;
                }
                lo = new_lo;
                hi = new_hi;
                end += 1;
            }
            let slope = if end == start + 1 {
                0.0
            } else if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                lo
            };
            segments.push(Segment {
                first_key: x0,
                slope,
                intercept: y0,
            });
            start = end;
        }
        let mut model = Pla {
            segments,
            epsilon: 0,
        };
        // The bound actually met, with the lookup's own arithmetic.
        let mut worst = 0u32;
        for (i, &k) in fences.iter().enumerate() {
            let p = model.predict(k, fences.len());
            worst = worst.max(p.abs_diff(i) as u32);
        }
        model.epsilon = worst;
        model
    }

    /// The predicted block for `key` among `blocks` blocks.
    #[inline]
    pub fn predict(&self, key: u64, blocks: usize) -> usize {
        let seg = self.segments.partition_point(|s| s.first_key <= key);
        let Some(segment) = self.segments.get(seg.wrapping_sub(1)) else {
            return 0;
        };
        // A key below the next segment's first fence lies before that fence's block (the
        // next segment's intercept): capping there keeps keys in a wide gap after a
        // segment's last fence from being extrapolated far past it. The cap never moves a
        // prediction away from a fence's own block, so the fitted bound still holds.
        let last = match self.segments.get(seg) {
            Some(next) if next.intercept >= 1.0 => (next.intercept - 1.0).min(blocks as f64),
            _ => blocks as f64,
        };
        let p = segment.predict(key).min(last);
        if p <= 0.0 || p.is_nan() {
            0
        } else {
            (p.round() as usize).min(blocks.saturating_sub(1))
        }
    }

    /// The range of blocks that may hold the last fence at or below `key`.
    #[inline]
    pub fn window(&self, key: u64, blocks: usize) -> (usize, usize) {
        let p = self.predict(key, blocks);
        let e = self.epsilon as usize;
        // A key between fences `b` and `b + 1` is predicted between their predictions,
        // so up to `e + 1` blocks above its own block `b`.
        (p.saturating_sub(e + 1), (p + e + 1).min(blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(fences: &[u64]) {
        let m = Pla::fit(fences, TARGET_EPSILON);
        assert!(m.epsilon <= TARGET_EPSILON + 1, "epsilon {}", m.epsilon);
        for (i, &k) in fences.iter().enumerate() {
            let (lo, hi) = m.window(k, fences.len());
            assert!(lo <= i && i < hi, "fence {i} outside [{lo}, {hi})");
            // Keys between fences too: just after this one, in the middle of the gap,
            // and just before the next fence.
            let next = fences.get(i + 1).copied().unwrap_or(u64::MAX);
            for probe in [k + 1, k + (next - k) / 2, next - 1] {
                if probe > k && probe < next {
                    let (lo, hi) = m.window(probe, fences.len());
                    assert!(
                        lo <= i && i < hi,
                        "key {probe} of block {i} outside [{lo}, {hi})"
                    );
                }
            }
        }
    }

    #[test]
    fn bounds_hold_on_uniform_clustered_and_extreme_keys() {
        check(&[]);
        check(&[7]);
        check(&(0..10_000u64).map(|i| i * 1000).collect::<Vec<_>>());
        let mut x = 1u64;
        let mut v: Vec<u64> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        check(&v);
        let clustered: Vec<u64> = (0..5000u64)
            .map(|i| (i / 100) * (u64::MAX / 64) + i % 100)
            .collect();
        check(&clustered);
        check(&[0, 1, u64::MAX - 1, u64::MAX]);
        assert!(
            Pla::fit(&(0..100_000u64).collect::<Vec<_>>(), 4)
                .segments
                .len()
                == 1
        );
    }
}
