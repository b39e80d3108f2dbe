//! Errors the index reports instead of corrupting itself.

use core::fmt;

/// Why the map refused an operation. The map is unchanged after any error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlexError {
    /// A NaN float key: it has no place in the total order.
    NanKey,
    /// `bulk_load` input was not in ascending order; `index` is the position
    /// (0-based) of the first key smaller than the one before it.
    UnsortedInput {
        /// Position of the offending pair in the input.
        index: usize,
    },
    /// `bulk_load` input held the same key twice; `index` is the position of
    /// the second copy.
    DuplicateKey {
        /// Position of the offending pair in the input.
        index: usize,
    },
    /// A [`crate::Config`] field out of its documented range.
    InvalidConfig(&'static str),
}

impl fmt::Display for AlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlexError::NanKey => f.write_str("NaN is not a valid key"),
            AlexError::UnsortedInput { index } => {
                write!(f, "bulk load input is not sorted: pair {index} is smaller than the pair before it")
            }
            AlexError::DuplicateKey { index } => {
                write!(f, "bulk load input repeats a key: pair {index} has the same key as the pair before it")
            }
            AlexError::InvalidConfig(why) => write!(f, "invalid index configuration: {why}"),
        }
    }
}

impl std::error::Error for AlexError {}
