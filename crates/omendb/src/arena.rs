//! Value storage: value bytes packed into large chunks, addressed by a one-word handle.
//!
//! The index maps each key to a [`ValueRef`] (8 bytes), so a small value costs its own
//! bytes inside a shared 1 MiB chunk and no allocation of its own. Values of
//! [`LARGE_VALUE`] bytes or more get a chunk each, released as soon as the value is freed.
//! Freed small values leave holes that are only counted ([`Arena::free_bytes`]); a
//! checkpoint compacts the arena when holes pass a quarter of the bytes in use.
//!
//! Invariant: a handle returned by [`Arena::alloc`] stays valid until passed to
//! [`Arena::free`] or until the arena is replaced by [`Arena::compacted`].

/// Capacity of one shared chunk.
pub const SMALL_CHUNK_BYTES: usize = 1 << 20;
/// Values at least this long get a chunk of their own.
pub const LARGE_VALUE: usize = 1 << 16;

const LARGE_TAG: u64 = 1 << 63;
const LEN_BITS: u32 = 20;
const OFFSET_BITS: u32 = 20;
const CHUNK_BITS: u32 = 23;
const LEN_MASK: u64 = (1 << LEN_BITS) - 1;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
const CHUNK_MASK: u64 = (1 << CHUNK_BITS) - 1;

// A small handle is chunk:23 | offset:20 | len:20 below the clear tag bit.
const _: () = assert!(1 + CHUNK_BITS + OFFSET_BITS + LEN_BITS == 64);
const _: () = assert!(SMALL_CHUNK_BYTES <= 1 << OFFSET_BITS);
const _: () = assert!(LARGE_VALUE <= 1 << LEN_BITS);

/// A handle to one value in an [`Arena`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueRef(u64);

impl ValueRef {
    fn small(chunk: usize, offset: usize, len: usize) -> Self {
        debug_assert!(len < LARGE_VALUE && offset < SMALL_CHUNK_BYTES);
        Self(
            ((chunk as u64 & CHUNK_MASK) << (OFFSET_BITS + LEN_BITS))
                | ((offset as u64) << LEN_BITS)
                | len as u64,
        )
    }

    fn large(chunk: usize) -> Self {
        Self(LARGE_TAG | chunk as u64)
    }

    fn is_large(self) -> bool {
        self.0 & LARGE_TAG != 0
    }

    fn chunk(self) -> usize {
        if self.is_large() {
            (self.0 & !LARGE_TAG) as usize
        } else {
            ((self.0 >> (OFFSET_BITS + LEN_BITS)) & CHUNK_MASK) as usize
        }
    }
}

/// Chunks of value bytes.
#[derive(Debug, Default)]
pub struct Arena {
    chunks: Vec<Vec<u8>>,
    /// Index of the small chunk being filled.
    open: Option<usize>,
    /// Large chunks already released, ready for reuse.
    free_large: Vec<usize>,
    live_bytes: u64,
    /// Live bytes inside shared chunks.
    small_live_bytes: u64,
    free_bytes: u64,
}

impl Arena {
    /// An empty arena.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies `value` into the arena.
    pub fn alloc(&mut self, value: &[u8]) -> ValueRef {
        self.live_bytes += value.len() as u64;
        if value.len() >= LARGE_VALUE {
            let chunk = match self.free_large.pop() {
                Some(chunk) => {
                    self.chunks[chunk] = value.to_vec();
                    chunk
                }
                None => {
                    self.chunks.push(value.to_vec());
                    self.chunks.len() - 1
                }
            };
            return ValueRef::large(chunk);
        }
        let fits = self
            .open
            .is_some_and(|c| self.chunks[c].len() + value.len() <= SMALL_CHUNK_BYTES);
        let chunk = if fits {
            self.open.unwrap_or_default()
        } else {
            self.chunks.push(Vec::with_capacity(SMALL_CHUNK_BYTES));
            let chunk = self.chunks.len() - 1;
            self.open = Some(chunk);
            chunk
        };
        self.small_live_bytes += value.len() as u64;
        let bytes = &mut self.chunks[chunk];
        let offset = bytes.len();
        bytes.extend_from_slice(value);
        ValueRef::small(chunk, offset, value.len())
    }

    /// The bytes behind `handle`.
    pub fn get(&self, handle: ValueRef) -> &[u8] {
        let chunk = &self.chunks[handle.chunk()];
        if handle.is_large() {
            chunk
        } else {
            let offset = ((handle.0 >> LEN_BITS) & OFFSET_MASK) as usize;
            let len = (handle.0 & LEN_MASK) as usize;
            &chunk[offset..offset + len]
        }
    }

    /// Releases the value behind `handle`.
    pub fn free(&mut self, handle: ValueRef) {
        let len = self.get(handle).len() as u64;
        self.live_bytes -= len;
        if handle.is_large() {
            let chunk = handle.chunk();
            self.chunks[chunk] = Vec::new();
            self.free_large.push(chunk);
        } else {
            self.small_live_bytes -= len;
            self.free_bytes += len;
        }
    }

    /// Bytes of live values.
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Bytes of freed values still occupying chunks.
    pub fn free_bytes(&self) -> u64 {
        self.free_bytes
    }

    /// Heap bytes held: chunk capacities plus the chunk table.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.free_large.capacity() * std::mem::size_of::<usize>()
    }

    /// Whether holes exceed a quarter of the bytes in small chunks.
    pub fn wants_compaction(&self) -> bool {
        self.free_bytes > 0 && self.free_bytes * 4 >= self.small_live_bytes + self.free_bytes
    }

    /// A fresh arena holding only the values behind `handles`, and their new handles in
    /// the same order.
    pub fn compacted(&self, handles: impl Iterator<Item = ValueRef>) -> (Arena, Vec<ValueRef>) {
        let mut fresh = Arena::new();
        let moved = handles.map(|h| fresh.alloc(self.get(h))).collect();
        (fresh, moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_across_chunks_and_sizes() {
        let mut arena = Arena::new();
        let mut handles = Vec::new();
        for i in 0..5000usize {
            let len = match i % 7 {
                0 => 0,
                1 => LARGE_VALUE + i,
                _ => (i * 37) % 1000,
            };
            let value: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
            handles.push((arena.alloc(&value), value));
        }
        for (h, v) in &handles {
            assert_eq!(arena.get(*h), &v[..]);
        }
        let live: u64 = handles.iter().map(|(_, v)| v.len() as u64).sum();
        assert_eq!(arena.live_bytes(), live);
        for (h, _) in handles.iter().step_by(2) {
            arena.free(*h);
        }
        let kept: Vec<_> = handles.iter().skip(1).step_by(2).collect();
        assert!(arena.wants_compaction());
        let (fresh, moved) = arena.compacted(kept.iter().map(|(h, _)| *h));
        assert_eq!(fresh.free_bytes(), 0);
        for ((_, v), h) in kept.iter().zip(moved) {
            assert_eq!(fresh.get(h), &v[..]);
        }
    }

    #[test]
    fn small_values_share_chunks() {
        let mut arena = Arena::new();
        for i in 0..100_000u64 {
            arena.alloc(&i.to_le_bytes());
        }
        // 800 KB of values fit in one 1 MiB chunk.
        assert_eq!(arena.chunks.len(), 1);
        assert!(arena.heap_bytes() < SMALL_CHUNK_BYTES + 1024);
    }
}
