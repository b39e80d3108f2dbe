//! Runs: immutable sorted files of entries (values inline, tombstones for deletes), each
//! with its fences and a piecewise-linear model from key to block persisted beside the
//! blocks. Byte layout in docs/design.md, "Run file".

pub mod format;
pub mod pla;
pub mod reader;
pub mod writer;

pub use reader::{Found, Run, RunCursor};
pub use writer::{parse_run_name, run_name, RunMeta, RunWriter};
