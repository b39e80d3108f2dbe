//! The key type of a database, recorded as one byte in every file header.

use alex::Key;

/// One of the index's key types. A database holds keys of exactly one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `u64`, code 1.
    U64,
    /// `i64`, code 2.
    I64,
    /// `u32`, code 3.
    U32,
    /// `i32`, code 4.
    I32,
    /// `f64`, code 5.
    F64,
    /// `f32`, code 6.
    F32,
}

impl KeyType {
    /// All key types, in code order.
    pub const ALL: [KeyType; 6] = [
        KeyType::U64,
        KeyType::I64,
        KeyType::U32,
        KeyType::I32,
        KeyType::F64,
        KeyType::F32,
    ];

    /// The byte stored in file headers.
    pub fn code(self) -> u8 {
        match self {
            KeyType::U64 => 1,
            KeyType::I64 => 2,
            KeyType::U32 => 3,
            KeyType::I32 => 4,
            KeyType::F64 => 5,
            KeyType::F32 => 6,
        }
    }

    /// Inverse of [`KeyType::code`]; `None` for an unknown byte.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The Rust name of the type ("u64", ...), equal to `Key::TYPE_NAME`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::U64 => "u64",
            KeyType::I64 => "i64",
            KeyType::U32 => "u32",
            KeyType::I32 => "i32",
            KeyType::F64 => "f64",
            KeyType::F32 => "f32",
        }
    }

    /// Inverse of [`KeyType::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The key type of `K`.
    pub fn of<K: Key>() -> Self {
        // TYPE_NAME is one of the six names by the sealed trait's contract.
        Self::from_name(K::TYPE_NAME).unwrap_or(KeyType::U64)
    }
}

impl KeyType {
    /// Whether `image` is the ordered image of a valid key of this type.
    pub fn image_is_valid(self, image: u64) -> bool {
        match self {
            KeyType::U64 => key_from_disk::<u64>(image).is_some(),
            KeyType::I64 => key_from_disk::<i64>(image).is_some(),
            KeyType::U32 => key_from_disk::<u32>(image).is_some(),
            KeyType::I32 => key_from_disk::<i32>(image).is_some(),
            KeyType::F64 => key_from_disk::<f64>(image).is_some(),
            KeyType::F32 => key_from_disk::<f32>(image).is_some(),
        }
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Decodes an ordered key image read from disk, rejecting images that no key of type `K`
/// produces (out of range for a 32-bit type, or NaN).
pub(crate) fn key_from_disk<K: Key>(ordered: u64) -> Option<K> {
    let key = K::from_ordered(ordered);
    (key.to_ordered() == ordered && key.is_valid()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for t in KeyType::ALL {
            assert_eq!(KeyType::from_code(t.code()), Some(t));
            assert_eq!(KeyType::from_name(t.name()), Some(t));
        }
        assert_eq!(KeyType::from_code(0), None);
        assert_eq!(KeyType::of::<f32>(), KeyType::F32);
        assert_eq!(KeyType::of::<i64>(), KeyType::I64);
    }

    #[test]
    fn foreign_images_are_rejected() {
        assert_eq!(key_from_disk::<u32>(7), Some(7u32));
        assert_eq!(key_from_disk::<u32>(u64::MAX), None);
        assert_eq!(key_from_disk::<f64>(f64::NAN.to_bits() | (1 << 63)), None);
    }
}
