//! A deterministic workload shared by the crash, fault and concurrency tests, with a
//! `BTreeMap` model of what it does.

#![allow(dead_code)]

use omendb::{Db, Result, WriteBatch};
use std::collections::BTreeMap;

/// xorshift64*: small, seeded, good enough for test workloads.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub type Model = BTreeMap<u64, Vec<u8>>;

#[derive(Clone, Debug)]
pub enum Op {
    Put(u64, Vec<u8>),
    Delete(u64),
    Batch(Vec<(u64, Option<Vec<u8>>)>),
    Checkpoint,
    Import(Vec<(u64, Vec<u8>)>),
}

fn value(rng: &mut Rng, tag: u64) -> Vec<u8> {
    let len = match rng.below(50) {
        0 => 70_000,
        1..=5 => 0,
        _ => rng.below(40) as usize,
    };
    (0..len).map(|i| (tag as usize + i) as u8).collect()
}

/// Op number `i` of the workload with `seed` (keys in 0..key_space).
pub fn op(seed: u64, i: u64, key_space: u64) -> Op {
    let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(i));
    rng.next();
    match rng.below(40) {
        0 | 1 => Op::Checkpoint,
        2 => {
            let n = 1 + rng.below(10);
            Op::Import(
                (0..n)
                    .map(|j| (rng.below(key_space), value(&mut rng, i * 16 + j)))
                    .collect(),
            )
        }
        3..=8 => Op::Delete(rng.below(key_space)),
        9..=16 => {
            let n = 2 + rng.below(6);
            Op::Batch(
                (0..n)
                    .map(|j| {
                        let k = rng.below(key_space);
                        let v = (rng.below(4) != 0).then(|| value(&mut rng, i * 16 + j));
                        (k, v)
                    })
                    .collect(),
            )
        }
        _ => Op::Put(rng.below(key_space), value(&mut rng, i)),
    }
}

pub fn apply_model(model: &mut Model, op: &Op) {
    match op {
        Op::Put(k, v) => {
            model.insert(*k, v.clone());
        }
        Op::Delete(k) => {
            model.remove(k);
        }
        Op::Batch(ops) => {
            for (k, v) in ops {
                match v {
                    Some(v) => model.insert(*k, v.clone()),
                    None => model.remove(k),
                };
            }
        }
        Op::Checkpoint => {}
        Op::Import(entries) => {
            for (k, v) in entries {
                model.insert(*k, v.clone());
            }
        }
    }
}

/// `op` with every key moved up by `offset` (to give threads disjoint key ranges).
pub fn shift_keys(op: Op, offset: u64) -> Op {
    match op {
        Op::Put(k, v) => Op::Put(k + offset, v),
        Op::Delete(k) => Op::Delete(k + offset),
        Op::Batch(ops) => Op::Batch(ops.into_iter().map(|(k, v)| (k + offset, v)).collect()),
        Op::Checkpoint => Op::Checkpoint,
        Op::Import(entries) => {
            Op::Import(entries.into_iter().map(|(k, v)| (k + offset, v)).collect())
        }
    }
}

pub fn apply_db(db: &Db<u64>, op: &Op) -> Result<()> {
    match op {
        Op::Put(k, v) => db.put(*k, v),
        Op::Delete(k) => db.delete(*k),
        Op::Batch(ops) => {
            let mut batch = WriteBatch::new();
            for (k, v) in ops {
                match v {
                    Some(v) => batch.put(*k, v),
                    None => batch.delete(*k),
                };
            }
            db.write(batch)
        }
        Op::Checkpoint => db.checkpoint(),
        Op::Import(entries) => db.import(entries.clone()).map(|_| ()),
    }
}

pub fn contents(db: &Db<u64>) -> Model {
    db.iter().unwrap().into_iter().collect()
}

/// Models after 0, 1, ..., n ops.
pub fn history(seed: u64, n: u64, key_space: u64) -> Vec<Model> {
    let mut model = Model::new();
    let mut out = vec![model.clone()];
    for i in 0..n {
        apply_model(&mut model, &op(seed, i, key_space));
        out.push(model.clone());
    }
    out
}

/// Index of the first state in `allowed` equal to `got`.
pub fn matching_state(got: &Model, allowed: &[Model], from: usize) -> Option<usize> {
    (from..allowed.len()).find(|&i| &allowed[i] == got)
}
