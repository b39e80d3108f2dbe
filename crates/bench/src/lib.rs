//! The OmenDB benchmark harness: key sets, workloads, systems under test, measurement and
//! reports. The binary `omendb-bench` drives it; the Criterion benches reuse the key
//! generators.
//!
//! Unsafe code is denied except in the two modules that need it: the counting global
//! allocator and the call into SQLite's memory statistics.

#![deny(unsafe_code)]

pub mod alloc;
pub mod durability;
pub mod error;
pub mod keyfile;
pub mod keys;
pub mod latency;
pub mod memory;
pub mod plot;
pub mod report;
pub mod rng;
pub mod runner;
pub mod systems;
pub mod workload;
