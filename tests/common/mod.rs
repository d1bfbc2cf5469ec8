//! Shared by the integration tests: fixtures, running the binary, the seeded random-number
//! generator (`rng`), the property-test configuration, and (in `tolerances`, re-exported
//! here) every tolerance, named by what it means, with the comparisons that use them. No
//! test writes a tolerance literal of its own.
#![allow(dead_code)]

pub mod random_design;
pub mod rng;
pub mod tolerances;

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

/// Path of a reference file of the tests (`tests/data/NAME`).
pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
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

/// The moment analyses written by `tests/data/moments/reference.R` (R 4.2.2, base R):
/// `reference.csv`, keyed by (case, quantity, term, other).
pub struct MomentsReference(std::collections::BTreeMap<(String, String, String, String), f64>);

impl MomentsReference {
    pub fn load() -> MomentsReference {
        let path = data_path("moments/reference.csv");
        let mut rdr = csv::Reader::from_path(&path).expect("tests/data/moments/reference.csv");
        let map = rdr
            .records()
            .map(|r| {
                let r = r.expect("a reference row");
                let key = (r[0].into(), r[1].into(), r[2].into(), r[3].into());
                (key, r[4].parse().expect("a reference number"))
            })
            .collect();
        MomentsReference(map)
    }

    /// The value, if R recorded it.
    pub fn find(&self, case: &str, quantity: &str, term: &str, other: &str) -> Option<f64> {
        let key = (case.into(), quantity.into(), term.into(), other.into());
        self.0.get(&key).copied()
    }

    /// The value; panics when R did not record it.
    #[track_caller]
    pub fn get(&self, case: &str, quantity: &str, term: &str) -> f64 {
        self.find(case, quantity, term, "")
            .unwrap_or_else(|| panic!("no reference {case} {quantity} {term}"))
    }

    /// `(other, value)` of every entry of `quantity` for `term` (weights, pooling steps).
    pub fn entries(&self, case: &str, quantity: &str, term: &str) -> Vec<(String, f64)> {
        self.0
            .iter()
            .filter(|((c, q, t, _), _)| c == case && q == quantity && t == term)
            .map(|((_, _, _, o), v)| (o.clone(), *v))
            .collect()
    }

    /// `(quantity, term, value)` of every entry of a case without an `other`.
    pub fn case(&self, case: &str) -> Vec<(String, String, f64)> {
        self.0
            .iter()
            .filter(|((c, _, _, o), _)| c == case && o.is_empty())
            .map(|((_, q, t, _), v)| (q.clone(), t.clone(), *v))
            .collect()
    }

    /// The terms with an entry of `quantity` in a case.
    pub fn terms(&self, case: &str, quantity: &str) -> Vec<String> {
        let mut t: Vec<String> = self
            .0
            .keys()
            .filter(|(c, q, _, _)| c == case && q == quantity)
            .map(|(_, _, t, _)| t.clone())
            .collect();
        t.dedup();
        t
    }
}

/// The lme4 fits of `tests/data/reml/reference_fits.R` (lme4 1.1-31, R 4.2.2, tight
/// tolerances): `reference_fits.csv`, rows `dataset, method, kind, term, name, value`.
pub fn lme4_reference(dataset: &str, method: &str, kind: &str, term: &str, name: &str) -> f64 {
    let path = data_path("reml/reference_fits.csv");
    let mut rdr = csv::Reader::from_path(&path).expect("tests/data/reml/reference_fits.csv");
    rdr.records()
        .map(|r| r.expect("a reference row"))
        .find(|r| {
            r[0] == *dataset && r[1] == *method && r[2] == *kind && r[3] == *term && r[4] == *name
        })
        .unwrap_or_else(|| panic!("no lme4 reference {dataset} {method} {kind} {term} {name}"))[5]
        .parse()
        .expect("a reference number")
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
