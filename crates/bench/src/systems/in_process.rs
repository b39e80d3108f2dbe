//! In-process maps: AlexMap in its configurations and std BTreeMap. Both implement the small
//! `MapOps` seam so the workload loops are written once and compile to direct calls.

use super::{fold, Phase, System, SystemId, FOLD_NEW};
use crate::error::BenchError;
use crate::workload::{Op, TxnMode, Workload, LOOKUP_BATCH};
use alex::{AlexMap, Config};
use std::collections::BTreeMap;

trait MapOps {
    fn get_value(&self, key: u64) -> Option<u64>;
    fn insert_value(&mut self, key: u64, value: u64) -> Option<u64>;
    fn remove_value(&mut self, key: u64) -> Option<u64>;
    /// Folds the values of up to `len` keys from `start` upward.
    fn scan_fold(&self, start: u64, len: usize, acc: u64) -> u64;
    fn key_count(&self) -> usize;
}

impl MapOps for AlexMap<u64, u64> {
    #[inline]
    fn get_value(&self, key: u64) -> Option<u64> {
        self.get(&key).copied()
    }
    #[inline]
    fn insert_value(&mut self, key: u64, value: u64) -> Option<u64> {
        self.insert(key, value)
    }
    #[inline]
    fn remove_value(&mut self, key: u64) -> Option<u64> {
        self.remove(&key)
    }
    #[inline]
    fn scan_fold(&self, start: u64, len: usize, acc: u64) -> u64 {
        self.range(start..)
            .take(len)
            .fold(acc, |a, (_, v)| fold(a, Some(*v)))
    }
    fn key_count(&self) -> usize {
        self.len()
    }
}

impl MapOps for BTreeMap<u64, u64> {
    #[inline]
    fn get_value(&self, key: u64) -> Option<u64> {
        self.get(&key).copied()
    }
    #[inline]
    fn insert_value(&mut self, key: u64, value: u64) -> Option<u64> {
        self.insert(key, value)
    }
    #[inline]
    fn remove_value(&mut self, key: u64) -> Option<u64> {
        self.remove(&key)
    }
    #[inline]
    fn scan_fold(&self, start: u64, len: usize, acc: u64) -> u64 {
        self.range(start..)
            .take(len)
            .fold(acc, |a, (_, v)| fold(a, Some(*v)))
    }
    fn key_count(&self) -> usize {
        self.len()
    }
}

fn lookups<M: MapOps>(map: &M, keys: &[u64]) -> u64 {
    keys.iter()
        .fold(0u64, |acc, &k| fold(acc, map.get_value(k)))
}

/// `lookups` through `get_many`, `LOOKUP_BATCH` keys per call, into one reused vector.
fn lookup_batches(map: &AlexMap<u64, u64>, keys: &[u64]) -> u64 {
    let mut out = Vec::with_capacity(LOOKUP_BATCH);
    keys.chunks(LOOKUP_BATCH).fold(0u64, |acc, batch| {
        map.get_many(batch, &mut out);
        out.iter().fold(acc, |acc, v| fold(acc, v.copied()))
    })
}

fn range_scans<M: MapOps>(map: &M, starts: &[u64], len: usize) -> u64 {
    starts
        .iter()
        .fold(0u64, |acc, &k| map.scan_fold(k, len, acc))
}

fn inserts<M: MapOps>(map: &mut M, pairs: &[(u64, u64)]) -> u64 {
    pairs.iter().fold(0u64, |acc, &(k, v)| {
        acc.wrapping_add(map.insert_value(k, v).unwrap_or(FOLD_NEW))
    })
}

fn mixed<M: MapOps>(map: &mut M, ops: &[Op]) -> u64 {
    ops.iter().fold(0u64, |acc, op| match *op {
        Op::Get(k) => fold(acc, map.get_value(k)),
        Op::Insert(k, v) => acc.wrapping_add(map.insert_value(k, v).unwrap_or(FOLD_NEW)),
    })
}

fn deletes<M: MapOps>(map: &mut M, keys: &[u64]) -> u64 {
    keys.iter()
        .fold(0u64, |acc, &k| fold(acc, map.remove_value(k)))
}

fn supports_in_process(w: Workload) -> bool {
    // Transactions, commits and files do not exist in process. Both builds by random
    // inserts (`BuildInserts`, `Grow`) run on every map, AlexMap configurations and BTreeMap
    // alike.
    !matches!(
        w,
        Workload::LookupAutocommit | Workload::Reopen | Workload::PutLatency
    )
}

/// AlexMap with one configuration.
pub struct AlexSystem {
    id: SystemId,
    config: Config,
    map: Option<AlexMap<u64, u64>>,
}

impl AlexSystem {
    pub fn new(id: SystemId, config: Config) -> Self {
        AlexSystem {
            id,
            config,
            map: None,
        }
    }

    fn map(&mut self) -> &mut AlexMap<u64, u64> {
        self.map.get_or_insert_with(AlexMap::new)
    }
}

impl System for AlexSystem {
    fn id(&self) -> SystemId {
        self.id
    }

    fn supports(&self, w: Workload) -> bool {
        supports_in_process(w)
    }

    fn build_bulk(&mut self, sorted: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.map = None;
        // From the slice: the pairs are cloned into their slots, with no
        // gathered copy of the input (`bulk_load` from an iterator must
        // gather one first, as `BTreeMap::from_iter` does).
        self.map = Some(AlexMap::bulk_load_slice_with_config(
            self.config.clone(),
            sorted,
        )?);
        Ok(Vec::new())
    }

    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.map = None;
        let mut map = AlexMap::with_config(self.config.clone())?;
        for &(k, v) in pairs {
            map.insert(k, v);
        }
        self.map = Some(map);
        Ok(Vec::new())
    }

    fn lookups(&mut self, keys: &[u64], _mode: TxnMode) -> Result<u64, BenchError> {
        Ok(lookups(self.map(), keys))
    }

    fn batches_lookups(&self) -> bool {
        true
    }

    fn lookup_batches(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        Ok(lookup_batches(self.map(), keys))
    }

    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError> {
        Ok(range_scans(self.map(), starts, len))
    }

    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError> {
        Ok(inserts(self.map(), pairs))
    }

    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError> {
        Ok(mixed(self.map(), ops))
    }

    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        Ok(deletes(self.map(), keys))
    }

    fn key_count(&mut self) -> Result<usize, BenchError> {
        Ok(self.map.as_ref().map_or(0, |m| m.key_count()))
    }

    fn tree_stats(&self) -> Option<alex::TreeStats> {
        self.map.as_ref().map(|m| m.stats())
    }

    fn clear(&mut self) -> Result<(), BenchError> {
        self.map = None;
        Ok(())
    }
}

/// std BTreeMap: the in-process baseline.
#[derive(Default)]
pub struct BTreeSystem {
    map: BTreeMap<u64, u64>,
}

impl System for BTreeSystem {
    fn id(&self) -> SystemId {
        SystemId::Btree
    }

    fn supports(&self, w: Workload) -> bool {
        supports_in_process(w)
    }

    fn build_bulk(&mut self, sorted: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.map = BTreeMap::new();
        // from_iter on sorted input is std's bulk build (it sorts, finds it sorted, and
        // builds the tree bottom-up).
        self.map = sorted.iter().copied().collect();
        Ok(Vec::new())
    }

    fn build_inserts(&mut self, pairs: &[(u64, u64)]) -> Result<Vec<Phase>, BenchError> {
        self.map = BTreeMap::new();
        for &(k, v) in pairs {
            self.map.insert(k, v);
        }
        Ok(Vec::new())
    }

    fn lookups(&mut self, keys: &[u64], _mode: TxnMode) -> Result<u64, BenchError> {
        Ok(lookups(&self.map, keys))
    }

    fn range_scans(&mut self, starts: &[u64], len: usize) -> Result<u64, BenchError> {
        Ok(range_scans(&self.map, starts, len))
    }

    fn inserts(&mut self, pairs: &[(u64, u64)]) -> Result<u64, BenchError> {
        Ok(inserts(&mut self.map, pairs))
    }

    fn mixed(&mut self, ops: &[Op]) -> Result<u64, BenchError> {
        Ok(mixed(&mut self.map, ops))
    }

    fn deletes(&mut self, keys: &[u64]) -> Result<u64, BenchError> {
        Ok(deletes(&mut self.map, keys))
    }

    fn key_count(&mut self) -> Result<usize, BenchError> {
        Ok(self.map.key_count())
    }

    fn clear(&mut self) -> Result<(), BenchError> {
        self.map = BTreeMap::new();
        Ok(())
    }
}
