//! The `Key` trait: which numbers can be keys, their total order, and how a
//! model sees them.
//!
//! Every key type maps into `u64` by an order-preserving injection
//! ([`Key::to_ordered`]). The index compares keys only through that image, so
//! comparisons are exact integer comparisons for every type (u64 keys above
//! 2^53 stay exact), and models see the distance between two keys'
//! images as an `f64`, which is exact for nearby keys whatever their size.
//!
//! Floats use the IEEE 754 total order (`-0.0 < +0.0`, `-inf` smallest,
//! `+inf` largest). NaN has no place in that order a user would expect, so it
//! is refused: [`Key::is_valid`] is `false` for NaN, and the map rejects it.

use core::fmt::Debug;

/// A numeric key the index can hold.
///
/// Implemented for `u64`, `i64`, `u32`, `i32`, `f64` and `f32`. The trait is
/// sealed: the index's correctness rests on `to_ordered` being a strictly
/// monotone injection, which the crate checks for its own types only.
pub trait Key: Copy + Debug + Send + Sync + 'static + private::Sealed {
    /// A short name of the type (`"u64"`, `"f32"`, ...), for file headers and
    /// messages.
    const TYPE_NAME: &'static str;

    /// The smallest valid key.
    const MIN_KEY: Self;

    /// The largest valid key.
    const MAX_KEY: Self;

    /// The key's image in `u64`: `a < b` in the key's total order if and only
    /// if `a.to_ordered() < b.to_ordered()`. Defined for valid keys.
    fn to_ordered(self) -> u64;

    /// The inverse of [`Key::to_ordered`] on the images of valid keys.
    /// Values that are no key's image map to some valid key of the type.
    fn from_ordered(ordered: u64) -> Self;

    /// `false` for keys the index refuses (NaN); `true` for all others.
    #[inline]
    fn is_valid(self) -> bool {
        true
    }

    /// Equality in the total order (so `-0.0 != +0.0`).
    #[inline]
    fn key_eq(self, other: Self) -> bool {
        self.to_ordered() == other.to_ordered()
    }

    /// Comparison in the total order.
    #[inline]
    fn key_cmp(self, other: Self) -> core::cmp::Ordering {
        self.to_ordered().cmp(&other.to_ordered())
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for u32 {}
    impl Sealed for i32 {}
    impl Sealed for f64 {}
    impl Sealed for f32 {}
}

const SIGN64: u64 = 1 << 63;
const SIGN32: u32 = 1 << 31;

impl Key for u64 {
    const TYPE_NAME: &'static str = "u64";
    const MIN_KEY: Self = u64::MIN;
    const MAX_KEY: Self = u64::MAX;
    #[inline(always)]
    fn to_ordered(self) -> u64 {
        self
    }
    #[inline(always)]
    fn from_ordered(ordered: u64) -> Self {
        ordered
    }
}

impl Key for i64 {
    const TYPE_NAME: &'static str = "i64";
    const MIN_KEY: Self = i64::MIN;
    const MAX_KEY: Self = i64::MAX;
    #[inline(always)]
    fn to_ordered(self) -> u64 {
        (self as u64) ^ SIGN64
    }
    #[inline(always)]
    fn from_ordered(ordered: u64) -> Self {
        (ordered ^ SIGN64) as i64
    }
}

impl Key for u32 {
    const TYPE_NAME: &'static str = "u32";
    const MIN_KEY: Self = u32::MIN;
    const MAX_KEY: Self = u32::MAX;
    #[inline(always)]
    fn to_ordered(self) -> u64 {
        u64::from(self)
    }
    #[inline(always)]
    fn from_ordered(ordered: u64) -> Self {
        ordered.min(u64::from(u32::MAX)) as u32
    }
}

impl Key for i32 {
    const TYPE_NAME: &'static str = "i32";
    const MIN_KEY: Self = i32::MIN;
    const MAX_KEY: Self = i32::MAX;
    #[inline(always)]
    fn to_ordered(self) -> u64 {
        u64::from((self as u32) ^ SIGN32)
    }
    #[inline(always)]
    fn from_ordered(ordered: u64) -> Self {
        ((ordered.min(u64::from(u32::MAX)) as u32) ^ SIGN32) as i32
    }
}

impl Key for f64 {
    const TYPE_NAME: &'static str = "f64";
    const MIN_KEY: Self = f64::NEG_INFINITY;
    const MAX_KEY: Self = f64::INFINITY;
    #[inline(always)]
    fn to_ordered(self) -> u64 {
        let bits = self.to_bits();
        if bits & SIGN64 != 0 {
            !bits
        } else {
            bits | SIGN64
        }
    }
    #[inline(always)]
    fn from_ordered(ordered: u64) -> Self {
        let bits = if ordered & SIGN64 != 0 {
            ordered & !SIGN64
        } else {
            !ordered
        };
        let value = f64::from_bits(bits);
        if value.is_nan() {
            if value.is_sign_negative() {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        } else {
            value
        }
    }
    #[inline(always)]
    fn is_valid(self) -> bool {
        !self.is_nan()
    }
}

impl Key for f32 {
    const TYPE_NAME: &'static str = "f32";
    const MIN_KEY: Self = f32::NEG_INFINITY;
    const MAX_KEY: Self = f32::INFINITY;
    #[inline(always)]
    fn to_ordered(self) -> u64 {
        let bits = self.to_bits();
        let ordered = if bits & SIGN32 != 0 {
            !bits
        } else {
            bits | SIGN32
        };
        u64::from(ordered)
    }
    #[inline(always)]
    fn from_ordered(ordered: u64) -> Self {
        let ordered = ordered.min(u64::from(u32::MAX)) as u32;
        let bits = if ordered & SIGN32 != 0 {
            ordered & !SIGN32
        } else {
            !ordered
        };
        let value = f32::from_bits(bits);
        if value.is_nan() {
            if value.is_sign_negative() {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            }
        } else {
            value
        }
    }
    #[inline(always)]
    fn is_valid(self) -> bool {
        !self.is_nan()
    }
}

/// `a - b` as an `f64` for `a` within 2^63 of `b` either way: the wrapped
/// difference read as `i64` (two instructions), equal to
/// [`ordered_distance`] there. A data node's keys all lie within 2^63 of
/// its model's base (the first key, or the midpoint of spans of 2^63 or
/// more), so building a node can use it; a lookup may too, as any start
/// slot gives the same answer. Not monotone beyond that range.
#[inline(always)]
pub(crate) fn near_distance(a: u64, b: u64) -> f64 {
    a.wrapping_sub(b) as i64 as f64
}

/// The signed distance `a - b` between two ordered images, as an `f64`.
///
/// Exact when the distance is below 2^53, correctly rounded otherwise, and
/// monotone in `a` for a fixed `b`: the property model routing relies on.
#[inline(always)]
pub(crate) fn ordered_distance(a: u64, b: u64) -> f64 {
    // Fast path: the wrapped difference read as i64 is exact whenever the
    // true difference fits in i64, which its sign agreeing with `a >= b`
    // tells; the signed conversion is one instruction on x86-64, the
    // unsigned one is not.
    let wrapped = a.wrapping_sub(b) as i64;
    if (a >= b) == (wrapped >= 0) {
        wrapped as f64
    } else if a >= b {
        (a - b) as f64
    } else {
        -((b - a) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_monotone<K: Key>(sorted: &[K]) {
        for pair in sorted.windows(2) {
            assert!(
                pair[0].to_ordered() < pair[1].to_ordered(),
                "{:?} !< {:?}",
                pair[0],
                pair[1]
            );
        }
        for &k in sorted {
            assert!(K::from_ordered(k.to_ordered()).key_eq(k), "{k:?}");
        }
    }

    #[test]
    fn integer_images_preserve_order() {
        assert_monotone(&[0u64, 1, 1 << 53, (1 << 53) + 1, u64::MAX - 1, u64::MAX]);
        assert_monotone(&[i64::MIN, -1, 0, 1, i64::MAX]);
        assert_monotone(&[0u32, 7, u32::MAX]);
        assert_monotone(&[i32::MIN, -5, 0, 5, i32::MAX]);
    }

    #[test]
    fn float_images_follow_total_order() {
        assert_monotone(&[
            f64::NEG_INFINITY,
            f64::MIN,
            -1.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.5,
            f64::MAX,
            f64::INFINITY,
        ]);
        assert_monotone(&[f32::NEG_INFINITY, -2.0f32, -0.0, 0.0, 3.0, f32::INFINITY]);
        assert!(!f64::NAN.is_valid());
        assert!(!f32::NAN.is_valid());
        assert!(!(-0.0f64).key_eq(0.0));
    }

    #[test]
    fn distance_is_exact_near_large_keys() {
        let base = u64::MAX - 10;
        assert_eq!(ordered_distance(u64::MAX, base), 10.0);
        assert_eq!(ordered_distance(base, u64::MAX), -10.0);
        assert_eq!(ordered_distance(u64::MAX, 0), u64::MAX as f64);
        assert_eq!(ordered_distance(0, u64::MAX), -(u64::MAX as f64));
        assert_eq!(ordered_distance(1 << 63, 0), (1u64 << 63) as f64);
        assert_eq!(ordered_distance(0, 1 << 63), -((1u64 << 63) as f64));
        assert_eq!(
            ordered_distance((1 << 63) - 1, 0),
            ((1u64 << 63) - 1) as f64
        );
        let mut last = f64::NEG_INFINITY;
        for a in [
            0,
            1,
            1 << 62,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX,
        ] {
            let d = ordered_distance(a, 1 << 62);
            assert!(d >= last, "distance not monotone at {a}");
            last = d;
        }
    }
}
