//! Property test: random byte strings, and random mutations of the shipped designs, data
//! files and summary tables, never make the binary panic: it exits 0 or 2 (bad input: one
//! message), within a time limit (issue 16).
//!
//! Short by default (a few dozen cases per input kind, fixed seed); the long run is
//! `cargo test --test fuzz -- --ignored` (7,500 cases, a few minutes; another generator
//! seed with `EMSLAB_FUZZ_SEED=N`, 0-255). Every input a run found is committed
//! under tests/data/fuzz/ and replayed by `found_inputs_exit_0_or_2`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// The longest a single run may take (debug build, slow shared machine).
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// What a mutated file is given to.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Design,
    Data,
    Summary,
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Seeds: every shipped file of each kind.
fn seeds(kind: Kind) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo("designs"))
        .expect("designs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            match kind {
                Kind::Design => name.ends_with(".toml"),
                Kind::Data => name.ends_with(".csv") && !name.contains("summary"),
                Kind::Summary => name.ends_with("summary.csv"),
            }
        })
        .collect();
    out.sort();
    out
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Replaces the token (run of non-separators) at `at` by a hostile value.
    Token {
        at: usize,
        value: &'static str,
    },
    DuplicateLine {
        at: usize,
    },
    Truncate {
        at: usize,
    },
}

const HOSTILE: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "1e308",
    "-1e308",
    "1e160",
    "nan",
    "inf",
    "-inf",
    "4294967296",
    "99999999999999999999",
    "1000000000",
    "65536",
    "",
    "\"\"",
    "Residual",
    "A:",
    "(",
    ")",
    ",",
    "[",
    "]",
    "=",
    "#",
    "\"random\"",
    "\"fixed\"",
    "[\"A\"]",
    "\u{FEFF}",
    "é",
    "\u{0}",
    "0x10",
    "1.5",
    "-0",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Flip { at, byte }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), proptest::sample::select(HOSTILE))
            .prop_map(|(at, value)| Edit::Token { at, value }),
        any::<usize>().prop_map(|at| Edit::DuplicateLine { at }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ]
}

fn is_separator(b: u8) -> bool {
    matches!(b, b',' | b'\n' | b'\r' | b' ' | b'=' | b'\t' | b';' | b'"')
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len();
        let pos = |at: usize| if n == 0 { 0 } else { at % (n + 1) };
        match e {
            Edit::Flip { at, byte } if n > 0 => bytes[at % n] = *byte,
            Edit::Flip { .. } => {}
            Edit::Insert { at, bytes: b } => {
                let p = pos(*at);
                bytes.splice(p..p, b.iter().copied());
            }
            Edit::Delete { at, len } => {
                let p = pos(*at);
                let end = (p + len).min(n);
                bytes.drain(p..end);
            }
            Edit::Token { at, value } => {
                let p = pos(*at).min(n);
                let start = bytes[..p]
                    .iter()
                    .rposition(|&b| is_separator(b))
                    .map_or(0, |i| i + 1);
                let end = bytes[p..]
                    .iter()
                    .position(|&b| is_separator(b))
                    .map_or(n, |i| p + i);
                bytes.splice(start..end, value.bytes());
            }
            Edit::DuplicateLine { at } => {
                let p = pos(*at).min(n);
                let start = bytes[..p]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = bytes[p..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(n, |i| p + i + 1);
                let line: Vec<u8> = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
            Edit::Truncate { at } => bytes.truncate(pos(*at)),
        }
    }
    bytes
}

/// The command line for a file of a kind: the design is the file itself, or the design
/// that goes with the data or summary table (`pastes.csv` with `pastes.toml`).
fn command(kind: Kind, file: &Path, seed: &Path, variant: u8) -> Vec<String> {
    let f = file.display().to_string();
    let partner = |suffix: &str| {
        let stem = seed
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .trim_end_matches("_summary");
        repo("designs")
            .join(format!("{stem}{suffix}"))
            .display()
            .to_string()
    };
    let model = if variant.is_multiple_of(2) {
        "restricted"
    } else {
        "unrestricted"
    };
    let format = ["text", "json", "latex", "csv", "html", "markdown"][usize::from(variant) % 6];
    let mut args: Vec<String> = match kind {
        Kind::Design => vec![
            "ems".into(),
            f,
            "--steps".into(),
            "--format".into(),
            format.into(),
        ],
        Kind::Data => vec![
            "analyze".into(),
            partner(".toml"),
            f,
            "--format".into(),
            format.into(),
        ],
        Kind::Summary => vec![
            "analyze".into(),
            partner(".toml"),
            "--summary".into(),
            f,
            "--format".into(),
            format.into(),
        ],
    };
    args.extend(["--model".into(), model.into()]);
    // REML on every other data file: the likelihood fit sees the hostile data too.
    if matches!(kind, Kind::Data) && variant % 4 >= 2 {
        args.push("--no-reml".into());
    }
    args
}

/// Runs the binary; `Err` with what went wrong when it panicked, exited otherwise than 0
/// or 2, or ran out of time.
fn run(args: &[String]) -> Result<(), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{args:?}: still running after {TIME_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let err = reader.join().unwrap_or_default();
    let code = status.code();
    if err.contains("panicked") || !matches!(code, Some(0 | 2)) {
        return Err(format!("{args:?}: exit {code:?}: {err}"));
    }
    if code == Some(2) && err.trim().is_empty() {
        return Err(format!("{args:?}: exit 2 without a message"));
    }
    Ok(())
}

/// Where a failing input is kept (the long run writes them; commit them).
fn keep(kind: Kind, seed: &Path, bytes: &[u8]) -> PathBuf {
    let dir = repo("tests/data/fuzz");
    let _ = std::fs::create_dir_all(&dir);
    let stem = seed
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("random");
    let ext = match kind {
        Kind::Design => "toml",
        Kind::Data | Kind::Summary => "csv",
    };
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{stem}.{hash:016x}.{ext}"));
    let _ = std::fs::write(&path, bytes);
    path
}

/// The generator's seed: fixed (16), or `EMSLAB_FUZZ_SEED` for another long run.
fn rng_seed() -> u8 {
    std::env::var("EMSLAB_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
}

fn fuzz(kind: Kind, cases: u32, random_bytes: bool) {
    let seeds = seeds(kind);
    assert!(!seeds.is_empty());
    let dir = tempfile::tempdir().expect("dir");
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[rng_seed(); 32]),
    );
    let strategy = (
        0..seeds.len(),
        proptest::collection::vec(edit(), 1..6),
        proptest::collection::vec(any::<u8>(), 0..400),
        any::<u8>(),
    );
    let result = runner.run(&strategy, |(s, edits, noise, variant)| {
        let seed = &seeds[s];
        let bytes = if random_bytes {
            noise
        } else {
            apply(std::fs::read(seed).expect("seed"), &edits)
        };
        let ext = match kind {
            Kind::Design => "toml",
            _ => "csv",
        };
        let file = dir.path().join(format!("case.{ext}"));
        std::fs::write(&file, &bytes).expect("write");
        if let Err(e) = run(&command(kind, &file, seed, variant)) {
            let kept = keep(kind, seed, &bytes);
            return Err(TestCaseError::fail(format!(
                "{e}\n(input kept as {})",
                kept.display()
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn mutated_designs_exit_0_or_2() {
    fuzz(Kind::Design, 24, false);
}

#[test]
fn mutated_data_files_exit_0_or_2() {
    fuzz(Kind::Data, 16, false);
}

#[test]
fn mutated_summary_tables_exit_0_or_2() {
    fuzz(Kind::Summary, 16, false);
}

#[test]
fn random_bytes_exit_0_or_2() {
    fuzz(Kind::Design, 8, true);
    fuzz(Kind::Data, 8, true);
    fuzz(Kind::Summary, 8, true);
}

#[test]
#[ignore = "long run: cargo test --test fuzz -- --ignored"]
fn long_run() {
    fuzz(Kind::Design, 3000, false);
    fuzz(Kind::Data, 1500, false);
    fuzz(Kind::Summary, 1500, false);
    fuzz(Kind::Design, 500, true);
    fuzz(Kind::Data, 500, true);
    fuzz(Kind::Summary, 500, true);
}

/// Every input a fuzz run found, as a regular test: its name says which seed it came
/// from, and so which command and partner file it is run with.
#[test]
fn found_inputs_exit_0_or_2() {
    let Ok(entries) = std::fs::read_dir(repo("tests/data/fuzz")) else {
        return;
    };
    let mut failures = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let stem = name.split('.').next().unwrap_or("");
        let (kind, seed) = if name.ends_with(".toml") {
            (Kind::Design, repo("designs").join(format!("{stem}.toml")))
        } else if stem.ends_with("_summary") {
            (Kind::Summary, repo("designs").join(format!("{stem}.csv")))
        } else if name.ends_with(".csv") {
            (Kind::Data, repo("designs").join(format!("{stem}.csv")))
        } else {
            continue;
        };
        for variant in 0..6u8 {
            if let Err(e) = run(&command(kind, &path, &seed, variant)) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
