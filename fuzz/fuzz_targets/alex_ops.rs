//! Random operation sequences on `AlexMap` against `BTreeMap`, decoded from the input
//! bytes; see `crates/alex/tests/common/fuzz_ops.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/alex/tests/common/fuzz_ops.rs"]
mod fuzz_ops;

fuzz_target!(|data: &[u8]| fuzz_ops::run(data));
