//! Read access to the ordered images of sorted keys, from a slice of images
//! or straight from a slice of pairs.
//!
//! Planning a subtree and placing a data node's keys read key images many
//! times. Bulk loads and node rebuilds read them from their pairs
//! (`PairImages`) rather than from a copy, which would be written and
//! page-faulted on every load. Callers that already hold an image slice
//! pass `&[u64]`.

use crate::key::Key;

/// Sorted key images, indexed from 0. Views are cheap to copy.
pub(crate) trait Images: Copy {
    /// How many images the view holds.
    fn len(self) -> usize;

    /// The image at `i` (`i < len`).
    fn at(self, i: usize) -> u64;

    /// The images `lo..hi` as a view of their own.
    fn range(self, lo: usize, hi: usize) -> Self;

    /// The first index whose image fails `pred`, for a `pred` true on a
    /// prefix of the view (as `slice::partition_point`).
    #[inline]
    fn partition_point(self, mut pred: impl FnMut(u64) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.at(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl Images for &[u64] {
    #[inline(always)]
    fn len(self) -> usize {
        <[u64]>::len(self)
    }
    #[inline(always)]
    fn at(self, i: usize) -> u64 {
        self[i]
    }
    #[inline(always)]
    fn range(self, lo: usize, hi: usize) -> Self {
        &self[lo..hi]
    }
    #[inline]
    fn partition_point(self, pred: impl FnMut(u64) -> bool) -> usize {
        let mut pred = pred;
        <[u64]>::partition_point(self, |&t| pred(t))
    }
}

/// The images of the keys of sorted pairs.
pub(crate) struct PairImages<'a, K, V>(pub &'a [(K, V)]);

impl<K, V> Clone for PairImages<'_, K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for PairImages<'_, K, V> {}

impl<K: Key, V> Images for PairImages<'_, K, V> {
    #[inline(always)]
    fn len(self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn at(self, i: usize) -> u64 {
        self.0[i].0.to_ordered()
    }
    #[inline(always)]
    fn range(self, lo: usize, hi: usize) -> Self {
        PairImages(&self.0[lo..hi])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_images_match_an_image_slice() {
        let pairs: Vec<(i64, u8)> = (-50..50).map(|k| (k * 7, 0)).collect();
        let ords: Vec<u64> = pairs.iter().map(|(k, _)| k.to_ordered()).collect();
        let (a, b) = (PairImages(&pairs), ords.as_slice());
        assert_eq!(a.len(), b.len());
        for i in 0..a.len() {
            assert_eq!(a.at(i), b.at(i));
        }
        let (a, b) = (a.range(10, 60), b.range(10, 60));
        for cut in [0, 1, 17, 49, 50] {
            let t = b.at(cut.min(49));
            assert_eq!(
                a.partition_point(|x| x < t),
                Images::partition_point(b, |x| x < t)
            );
            assert_eq!(
                a.partition_point(|x| x <= t),
                Images::partition_point(b, |x| x <= t)
            );
        }
    }
}
