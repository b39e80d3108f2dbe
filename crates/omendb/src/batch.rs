//! Atomic write batches: every operation of a batch is applied, or none is.

use crate::error::{Error, Result};
use alex::Key;

/// Longest value the database stores.
pub const MAX_VALUE_LEN: usize = 64 << 20;

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOp<K> {
    /// Set `key` to the bytes.
    Put(K, Vec<u8>),
    /// Remove `key` (absent keys are fine).
    Delete(K),
}

/// A group of puts and deletes committed together: after a crash either all of them are
/// in the database or none is. Later operations on a key override earlier ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteBatch<K> {
    pub(crate) ops: Vec<BatchOp<K>>,
}

impl<K: Key> WriteBatch<K> {
    /// An empty batch.
    pub fn new() -> Self {
        Self { ops: Vec::new() }
    }

    /// Adds a put.
    pub fn put(&mut self, key: K, value: impl AsRef<[u8]>) -> &mut Self {
        self.ops.push(BatchOp::Put(key, value.as_ref().to_vec()));
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: K) -> &mut Self {
        self.ops.push(BatchOp::Delete(key));
        self
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations in order.
    pub fn ops(&self) -> &[BatchOp<K>] {
        &self.ops
    }

    /// Checks every key and value before anything is logged.
    pub(crate) fn validate(&self) -> Result<()> {
        for op in &self.ops {
            let (key, value_len) = match op {
                BatchOp::Put(k, v) => (k, v.len()),
                BatchOp::Delete(k) => (k, 0),
            };
            if !key.is_valid() {
                return Err(Error::InvalidKey(format!(
                    "{key:?} (NaN keys are not allowed)"
                )));
            }
            if value_len > MAX_VALUE_LEN {
                return Err(Error::TooLarge(format!(
                    "value of {value_len} bytes exceeds the limit of {MAX_VALUE_LEN}"
                )));
            }
        }
        Ok(())
    }
}
