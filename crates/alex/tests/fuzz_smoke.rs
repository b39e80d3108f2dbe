//! Stable-toolchain smoke run of the `alex_ops` fuzz target's body
//! (`tests/common/fuzz_ops.rs`): a few thousand byte strings from a fixed-seed PRNG, of
//! varied lengths and byte distributions, then every file of the fuzz corpus and of the
//! fixed-crash regressions (`fuzz/corpus/alex_ops/`, `fuzz/regressions/alex_ops/`).
//! Each input runs a sequence of operations on `AlexMap` and `BTreeMap` that must agree.
//! The nightly fuzzer itself is run by hand; see `fuzz/README.md`.

#[path = "common/fuzz_ops.rs"]
mod fuzz_ops;

use std::path::{Path, PathBuf};

/// Pseudo-random inputs per run.
const RANDOM_INPUTS: u64 = 3000;

/// The first two bytes of input `i` (configuration, key type), covering every
/// configuration `fuzz_ops` decodes and every key type in turn. The fixed-leaves preset
/// (configuration 3) comes only once in 40 inputs: its single-level root grows to 2^21
/// slots over keys a line cannot separate, a bulk load then takes up to a few hundred
/// milliseconds, and at an equal share it would take most of the run. For the same reason
/// its inputs are at most 512 bytes long.
fn header(i: u64) -> [u8; 2] {
    const OTHERS: [u8; 7] = [0, 1, 2, 4, 5, 6, 7];
    if i % 40 == 0 {
        [3, ((i / 40) % 6) as u8]
    } else {
        [OTHERS[(i % 7) as usize], ((i / 7) % 6) as u8]
    }
}

/// splitmix64: tiny and seedable.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Input number `i`: mostly short and medium lengths, some long ones; bytes uniform,
/// from a small alphabet (repeated opcodes and key classes, so keys collide), or runs of
/// one byte.
fn input(i: u64) -> Vec<u8> {
    let mut rng = SplitMix64(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA1E5);
    let len = match rng.below(10) {
        0 => rng.below(16),
        1..=5 => 16 + rng.below(240),
        6..=8 => 256 + rng.below(1792),
        _ => 2048 + rng.below(6144),
    } as usize;
    let alphabet: Vec<u8> = (0..1 + rng.below(12))
        .map(|_| rng.next_u64() as u8)
        .collect();
    let style = rng.below(4);
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| match style {
            0 | 1 => rng.next_u64() as u8,
            2 => alphabet[rng.below(alphabet.len() as u64) as usize],
            _ => {
                if rng.below(4) == 0 {
                    rng.next_u64() as u8
                } else {
                    alphabet[0]
                }
            }
        })
        .collect();
    if bytes.len() >= 2 {
        let header = header(i);
        bytes[..2].copy_from_slice(&header);
        if header[0] == 3 {
            // Fewer operations, fewer of its slow bulk loads.
            bytes.truncate(512);
        }
    }
    bytes
}

/// Runs one input; on a panic, saves it for `cargo fuzz run alex_ops <file>` and fails
/// naming the file.
fn run_case(name: &str, bytes: &[u8]) {
    let outcome = std::panic::catch_unwind(|| fuzz_ops::run(bytes));
    if let Err(panic) = outcome {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_smoke_alex_ops");
        std::fs::create_dir_all(&dir).expect("create the failure directory");
        let file = dir.join(name.replace(['/', '\\'], "_"));
        std::fs::write(&file, bytes).expect("save the failing input");
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        panic!(
            "alex_ops input {name} failed: {msg}\nsaved to {} (FUZZ_OPS_TRACE=1 traces it)",
            file.display()
        );
    }
}

/// Every file in `fuzz/<kind>/alex_ops/`, sorted; none when the directory is absent.
fn fuzz_files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join("alex_ops");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("read a fuzz directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn pseudo_random_inputs_match_btreemap() {
    for i in 0..RANDOM_INPUTS {
        run_case(&format!("random-{i}"), &input(i));
    }
}

#[test]
fn edge_inputs_match_btreemap() {
    run_case("empty", &[]);
    for b in 0..=255u8 {
        run_case(&format!("one-{b}"), &[b]);
        run_case(&format!("repeat-{b}"), &[b; 64]);
        for t in 0..6u8 {
            run_case(&format!("header-{b}-{t}"), &[b, t, b, b, b, b, b, b]);
        }
    }
}

#[test]
fn corpus_and_regressions_match_btreemap() {
    for kind in ["corpus", "regressions"] {
        for path in fuzz_files(kind) {
            let bytes = std::fs::read(&path).expect("read a fuzz input");
            run_case(&format!("{kind}-{}", path.display()), &bytes);
        }
    }
}
