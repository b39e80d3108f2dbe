//! Arbitrary bytes as a manifest of a u64 database: a value or a typed error, never a
//! panic; see `fuzz/common/decode_checks.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/decode_checks.rs"]
mod decode_checks;

fuzz_target!(|data: &[u8]| decode_checks::check_manifest(data));
