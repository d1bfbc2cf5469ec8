//! Shared by the integration tests: fixtures, running the binary, the seeded random-number
//! generator (`rng`), the property-test configuration, and (in `tolerances`, re-exported
//! here) every tolerance, named by what it means, with the comparisons that use them. No
//! test writes a tolerance literal of its own.
#![allow(dead_code)]

pub mod random_design;
pub mod references;
pub mod rng;
pub mod tolerances;

#[allow(unused_imports)]
pub use references::{MomentsReference, data_path, lme4_reference};
#[allow(unused_imports)]
pub use rng::SeededRng;
#[allow(unused_imports)]
pub use tolerances::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---- Fixtures --------------------------------------------------------------------------------

/// Path of a shipped design or data file (`designs/NAME`).
pub fn design_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("designs")
        .join(name)
}

/// `designs/NAME` as a command-line argument.
pub fn shipped(name: &str) -> String {
    path_str(&design_path(name))
}

/// A path as a command-line argument.
pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write a test file");
    p
}

/// The shipped design files (`designs/*.toml`), sorted.
pub fn shipped_designs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("designs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("designs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
}

/// A shipped design and its shipped data (`designs/NAME.toml`, `designs/NAME.csv`), read
/// with the default options.
pub fn shipped_data(name: &str) -> (emslab::Design, emslab::data::Dataset) {
    let design = emslab::io::read_design(&design_path(&format!("{name}.toml")))
        .unwrap_or_else(|e| panic!("{name}.toml: {e}"));
    let ds = emslab::data::read_csv(
        &design_path(&format!("{name}.csv")),
        &design,
        &emslab::data::ReadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{name}.csv: {e}"));
    (design, ds)
}

// ---- Running the binary ------------------------------------------------------------------------

/// A command for the built `emslab` binary (for a test that needs stdin, the environment or
/// a child process).
pub fn emslab_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_emslab"))
}

/// Runs the built `emslab` binary with `args` (the one helper every command-line test
/// uses).
pub fn emslab(args: &[&str]) -> Output {
    emslab_command()
        .args(args)
        .output()
        .expect("the emslab binary runs")
}

/// Standard error as text.
pub fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs, expects exit 0, returns standard output.
#[track_caller]
pub fn ok_stdout(args: &[&str]) -> String {
    let out = emslab(args);
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs, expects exit 0 and JSON on standard output.
#[track_caller]
pub fn json_of(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok_stdout(args)).expect("JSON output")
}

/// Runs and expects bad input: exit 2, nothing on standard output, one message on
/// standard error (never a panic); returns it.
#[track_caller]
pub fn input_error(args: &[&str]) -> String {
    let out = emslab(args);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    assert!(out.stdout.is_empty(), "{args:?}: output on bad input");
    err
}

// ---- Property tests ----------------------------------------------------------------------------

/// Configuration of a property test: `cases` cases drawn from the fixed `seed`, printed
/// (shown with a failure) so that a failing run can be repeated.
pub fn proptest_config(cases: u32, seed: u64) -> proptest::test_runner::Config {
    println!("proptest: {cases} cases from seed {seed}");
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..proptest::test_runner::Config::default()
    }
}
