//! Data files through the binary: missing values dropped with a note (issue 12 item 5),
//! responses too large for binary64 sums refused (issue 16 item 1), long fields quoted
//! short (issue 16 item 10). Exit 2 with one message naming the file and line.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{design_path, emslab};
use serde_json::Value;

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Exit 2, one line on stderr, nothing on stdout, no panic; the message.
fn input_error(args: &[&str]) -> String {
    let out = emslab(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "one message: {err}");
    err
}

fn text_lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// pastes.csv with line `k` (1-based, header = 1) replaced.
fn pastes_with(replacements: &[(usize, &str)]) -> String {
    let good = std::fs::read_to_string(design_path("pastes.csv")).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    for &(k, r) in replacements {
        lines[k - 1] = r.to_string();
    }
    lines.join("\n") + "\n"
}

/// Today (before this change) each of these exited 0 with sums of squares computed from
/// an overflowed sum (1e160, 1e200, 1e308: a Residual SS without the big cell; ±1e308:
/// every SS "—" and R² = NaN).
#[test]
fn huge_responses_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let design = path_str(&design_path("pastes.toml"));
    let cases: [(&str, &[(usize, &str)]); 4] = [
        ("e160.csv", &[(8, "B,a,1e160")]),
        ("e200.csv", &[(8, "B,a,1e200")]),
        ("e308.csv", &[(8, "B,a,1e308")]),
        ("pm308.csv", &[(8, "B,a,1e308"), (9, "B,a,-1e308")]),
    ];
    for (name, replacements) in cases {
        let p = write(dir.path(), name, pastes_with(replacements).as_bytes());
        for extra in [&["--no-reml"][..], &[][..], &["--format", "json"][..]] {
            let mut args = vec!["analyze", &design, p.to_str().unwrap()];
            args.extend_from_slice(extra);
            let err = input_error(&args);
            assert!(
                err.contains(&format!("{name}: line 8, column 3 (`strength`)")),
                "{err}"
            );
            assert!(err.contains("1e"), "{err}");
        }
    }
}

/// The mirror: pastes in units of 1e-200 gave every SS 0 and every component 0, exit 0.
#[test]
fn tiny_responses_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let design = path_str(&design_path("pastes.toml"));
    let p = write(
        dir.path(),
        "tiny.csv",
        pastes_with(&[(8, "B,a,6.1e-200")]).as_bytes(),
    );
    let err = input_error(&["analyze", &design, p.to_str().unwrap(), "--no-reml"]);
    assert!(
        err.contains("tiny.csv: line 8, column 3 (`strength`)"),
        "{err}"
    );
    assert!(err.contains("underflow"), "{err}");
}

/// A row with NA or an empty response, or an empty label, is dropped: the analysis runs
/// (the data are then unbalanced and go to REML), and the report says how many rows and
/// which lines.
#[test]
fn missing_values_are_dropped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let design = path_str(&design_path("pastes.toml"));
    let text = pastes_with(&[(3, "A,a,NA"), (10, "B,b,"), (20, ",c,60")]);
    let p = write(dir.path(), "na.csv", text.as_bytes());
    let out = emslab(&["analyze", &design, p.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["balanced"], false);
    // The REML fit ran on the 57 rows kept.
    assert!(v["reml"].is_object(), "{}", v["reml"]);
    let problem = v["balance_problem"].as_str().unwrap();
    assert!(
        problem.contains("after dropping 3 rows with a missing value: lines 3, 10, 20"),
        "{problem}"
    );
    // Balanced after dropping (both rows of a cell gone would unbalance it; here a whole
    // batch of 6 rows is dropped from a design that takes its level count from the data):
    // the moment route runs, and the data notes say which rows went.
    let no_levels = write(
        dir.path(),
        "free.toml",
        std::fs::read_to_string(design_path("pastes.toml"))
            .unwrap()
            .replace("levels = 10", "")
            .as_bytes(),
    );
    let mut lines: Vec<String> = text_lines(&pastes_with(&[]));
    for l in lines.iter_mut().filter(|l| l.starts_with("J,")) {
        *l = l.replacen("J,", "NA,", 1);
    }
    let p2 = write(
        dir.path(),
        "na_batch.csv",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let out = emslab(&[
        "analyze",
        &path_str(&no_levels),
        p2.to_str().unwrap(),
        "--format",
        "json",
        "--no-reml",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"]["n_rows"], 54);
    let notes: Vec<&str> = v["data"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("6 rows dropped for a missing value")
                && n.contains("lines 56, 57, 58, 59, 60, ... (6 in all)")
                && n.contains("`batch` 6")),
        "{notes:?}"
    );
    // Without REML: the Type III analysis, whose balance report says rows were dropped.
    let out = emslab(&[
        "analyze",
        &design,
        p.to_str().unwrap(),
        "--no-reml",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = v["balance_problem"].as_str().unwrap();
    assert!(
        problem
            .contains("unbalanced (after dropping 3 rows with a missing value: lines 3, 10, 20)"),
        "{problem}"
    );
    assert!(
        problem.contains("batch=A, cask=a has 1 (1 short)"),
        "{problem}"
    );
    assert_eq!(v["n_observations"], 57);
}

/// A 10 MB field is quoted as its first 40 characters and its length.
#[test]
fn messages_cut_long_fields() {
    let dir = tempfile::tempdir().unwrap();
    let design = path_str(&design_path("pastes.toml"));
    let huge = "1".repeat(10_000_000);
    let cut = format!("{}… (10000000 bytes)", "1".repeat(40));
    let row = format!("B,a,{huge}");
    let p = write(dir.path(), "long.csv", pastes_with(&[(8, &row)]).as_bytes());
    let err = input_error(&["analyze", &design, p.to_str().unwrap(), "--no-reml"]);
    assert!(
        err.len() < 300 && err.contains(&cut),
        "{}",
        &err[..err.len().min(300)]
    );
    // A summary table: a long mean square, a long df, a long term.
    let summary_design = path_str(&design_path("pigment_paste.toml"));
    for (name, row) in [
        ("ms.csv", format!("batch,14,{huge}")),
        ("df.csv", format!("batch,{huge},86.495")),
        ("term.csv", format!("{huge},14,86.495")),
    ] {
        let text = format!("term,df,ms\n{row}\nsample(batch),15,57.983\nResidual,30,0.917\n");
        let p = write(dir.path(), name, text.as_bytes());
        let err = input_error(&["analyze", &summary_design, "--summary", p.to_str().unwrap()]);
        assert!(
            err.len() < 400 && err.contains(&cut),
            "{name}: {}",
            &err[..err.len().min(400)]
        );
        assert!(err.contains("line 2"), "{err}");
    }
}

/// A summary table's mean square beyond 1e120 (the square of the largest response) is
/// refused: its square, in the Satterthwaite df, would overflow.
#[test]
fn huge_mean_squares_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let summary_design = path_str(&design_path("pigment_paste.toml"));
    let text = "term,df,ms\nbatch,14,1e200\nsample(batch),15,57.983\nResidual,30,0.917\n";
    let p = write(dir.path(), "big.csv", text.as_bytes());
    let err = input_error(&["analyze", &summary_design, "--summary", p.to_str().unwrap()]);
    assert!(err.contains("big.csv: line 2, column 3 (`ms`)"), "{err}");
    assert!(err.contains("beyond 1e120"), "{err}");
}
