//! `emslab ems` through the binary: formats, the JSON contract, atomic output, and bad
//! design files (exit 2, one message naming the file and the field, never a panic).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::emslab;

fn design(name: &str) -> String {
    common::design_path(name).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("emslab-test-{tag}-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    fn file(&self, name: &str, content: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, content).expect("write");
        p.display().to_string()
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// The interface contract's JSON example ("JSON report") is the pigment paste design.
#[test]
fn json_report_follows_the_contract() {
    let o = emslab(&["ems", &design("pigment_paste.toml"), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["model"], "restricted");
    assert_eq!(v["emslab_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["design"]["replicates"], 2);
    assert_eq!(v["design"]["factors"][1]["nested_in"][0], "batch");
    let batch = &v["terms"][0];
    assert_eq!(batch["term"], "batch");
    assert_eq!(batch["kind"], "random");
    assert_eq!(batch["df"], 14);
    let ems = batch["ems"].as_array().expect("ems array");
    let entries: Vec<(String, u64, String)> = ems
        .iter()
        .map(|e| {
            (
                e["component"].as_str().unwrap_or_default().to_string(),
                e["coefficient"].as_u64().unwrap_or(0),
                e["symbolic"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("Residual".to_string(), 1, "1".to_string()),
            ("sample(batch)".to_string(), 2, "n".to_string()),
            ("batch".to_string(), 4, "s n".to_string()),
        ]
    );
    assert_eq!(
        batch["ems_latex"],
        "\\sigma^2 + n\\sigma^2_{S(B)} + sn\\sigma^2_{B}"
    );
    assert_eq!(batch["test"]["kind"], "exact");
    assert_eq!(batch["test"]["denominator"][0]["term"], "sample(batch)");
    assert_eq!(batch["test"]["denominator"][0]["weight"], 1);
    assert_eq!(batch["test"]["df_num"], 14);
    assert_eq!(batch["test"]["df_den"], 15);
    // No data: no ss, ms, f, p, estimates.
    assert!(batch.get("ss").is_none() && batch["test"].get("f").is_none());
    let comps = v["components"].as_array().expect("components");
    assert_eq!(comps.len(), 3);
    assert_eq!(comps[0]["term"], "batch");
    assert_eq!(comps[0]["combination"][0]["weight"], 0.25);
    assert_eq!(comps[0]["combination"][1]["weight"], -0.25);
    assert!(comps[0].get("estimate").is_none());
}

#[test]
fn quasi_test_in_json() {
    let o = emslab(&[
        "ems",
        &design("three_factor_mixed.toml"),
        "--format",
        "json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    let a = &v["terms"][0];
    assert_eq!(a["term"], "A");
    assert_eq!(a["kind"], "fixed");
    assert_eq!(a["test"]["kind"], "quasi");
    let den: Vec<(String, i64)> = a["test"]["denominator"]
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["term"].as_str().unwrap_or_default().to_string(),
                e["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        den,
        vec![("A:B".into(), 1), ("A:C".into(), 1), ("A:B:C".into(), -1)]
    );
    assert_eq!(a["test"]["alternatives"][0]["form"], "F''");
    // The fixed effect's own entry carries Montgomery's bcn.
    let own = a["ems"]
        .as_array()
        .expect("ems")
        .last()
        .cloned()
        .unwrap_or_default();
    assert_eq!(own["component"], "A");
    assert_eq!(own["symbolic"], "b c n");
    assert_eq!(own["coefficient"], 40);
}

#[test]
fn every_format_renders() {
    let d = design("two_factor_mixed.toml");
    let text = stdout(&emslab(&["ems", &d]));
    assert!(text.contains("σ² + n σ²(A:B) + b n φ(A)"), "{text}");
    let md = stdout(&emslab(&["ems", &d, "--format", "markdown"]));
    assert!(
        md.contains("| Term | Kind | df | df value | E(MS) | E(MS), numeric |"),
        "{md}"
    );
    let tex = stdout(&emslab(&[
        "ems",
        &d,
        "--format",
        "latex",
        "--model",
        "unrestricted",
    ]));
    assert!(tex.contains("\\toprule") && tex.contains("\\bottomrule"));
    assert!(
        tex.contains("$\\sigma^2 + n\\sigma^2_{AB} + an\\sigma^2_{B}$"),
        "{tex}"
    );
    let html = stdout(&emslab(&["ems", &d, "--format", "html"]));
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("σ<sup>2</sup><sub>A:B</sub>"));
    let csv_out = stdout(&emslab(&["ems", &d, "--format", "csv", "--table", "ems"]));
    let mut rdr = csv::Reader::from_reader(csv_out.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("csv row")).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(&rows[1][0], "B");
    assert_eq!(&rows[1][4], "σ² + a n σ²(B)");
}

#[test]
fn unknown_table_key_is_a_usage_error() {
    let o = emslab(&["ems", &design("rcbd.toml"), "--table", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no table `nope`"));
}

#[test]
fn output_is_written_atomically_and_replaces_old_content() {
    let dir = TempDir::new("out");
    let target = dir.path("ems.json");
    std::fs::write(&target, "old content").expect("write");
    let o = emslab(&[
        "ems",
        &design("gauge_rr.toml"),
        "--format",
        "json",
        "--output",
        &target.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).expect("read")).expect("json");
    assert_eq!(v["terms"][0]["term"], "part");
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    // A new file is readable as usual (0644), not private like the temporary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let fresh = dir.path("fresh.md");
        let o = emslab(&[
            "ems",
            &design("rcbd.toml"),
            "--format",
            "markdown",
            "-o",
            &fresh.display().to_string(),
        ]);
        assert!(o.status.success());
        let mode = std::fs::metadata(&fresh)
            .expect("written")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644);
    }
    // A failing run leaves the existing file untouched.
    let bad = dir.file("bad.toml", "factors = 3\n");
    let o = emslab(&["ems", &bad, "--output", &target.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        std::fs::read_to_string(&target)
            .expect("read")
            .contains("\"part\"")
    );
}

/// A bad design: exit 2, one line on stderr naming the file and what is wrong.
fn rejects(content: &str, expected: &[&str]) {
    let dir = TempDir::new("bad");
    let path = dir.file("design.toml", content);
    let o = emslab(&["ems", &path]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{content}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("design.toml"), "message names the file: {err}");
    for e in expected {
        assert!(err.contains(e), "expected `{e}` in: {err}");
    }
    assert_eq!(err.trim_end().lines().count(), 1, "one message: {err}");
    assert!(o.stdout.is_empty());
}

const A: &str = "[[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 3\n";
const B: &str = "[[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 4\n";

#[test]
fn malformed_toml() {
    rejects("replicates = 2\n[[factors]\nname = \"A\"\n", &["line 2"]);
}

#[test]
fn unknown_key() {
    rejects(
        &format!("replicates = 2\n{A}[[factors]]\nname = \"B\"\nkindd = \"random\"\nlevels = 4\n"),
        &["line 8, column 1", "unknown field `kindd`"],
    );
}

#[test]
fn bad_kind_value() {
    rejects(
        "replicates = 2\n[[factors]]\nname = \"A\"\nkind = \"mixed\"\nlevels = 3\n",
        &["line 4", "mixed"],
    );
}

#[test]
fn duplicate_factor_names() {
    rejects(
        &format!("replicates = 2\n{A}{A}"),
        &["factors[1]", "`A`", "factors[0]"],
    );
}

#[test]
fn unknown_parent() {
    rejects(
        "replicates = 2\n[[factors]]\nname = \"batch\"\nkind = \"random\"\nlevels = 3\n[[factors]]\nname = \"sample\"\nkind = \"random\"\nlevels = 2\nnested_in = [\"bach\"]\n",
        &[
            "factors[1]",
            "`sample`",
            "unknown factor `bach`",
            "did you mean `batch`",
        ],
    );
}

#[test]
fn cyclic_nesting() {
    rejects(
        "replicates = 2\n[[factors]]\nname = \"A\"\nkind = \"random\"\nlevels = 3\nnested_in = [\"B\"]\n[[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 2\nnested_in = [\"A\"]\n",
        &["cyclic", "A is nested in B is nested in A"],
    );
}

#[test]
fn too_few_levels() {
    rejects(
        &format!("replicates = 2\n{A}[[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 1\n"),
        &["factors[1]", "`B`", "at least 2 levels"],
    );
}

#[test]
fn zero_replicates() {
    rejects(&format!("replicates = 0\n{A}{B}"), &["replicates"]);
}

#[test]
fn bad_factor_name() {
    rejects(
        "replicates = 2\n[[factors]]\nname = \"1st\"\nkind = \"fixed\"\nlevels = 3\n",
        &["factors[0]", "`1st`"],
    );
}

#[test]
fn impossible_term() {
    rejects(
        &format!(
            "replicates = 2\nterms = [\"A\", \"A:B(A)\"]\n{A}[[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 4\nnested_in = [\"A\"]\n"
        ),
        &["terms[1]", "`A:B(A)`", "B(A)"],
    );
}

#[test]
fn term_missing_its_parent() {
    rejects(
        &format!(
            "replicates = 2\nterms = [\"A\", \"B\"]\n{A}[[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 4\nnested_in = [\"A\"]\n"
        ),
        &["terms[1]", "write `B(A)`"],
    );
}

#[test]
fn unknown_term_factor() {
    rejects(
        &format!("replicates = 2\nterms = [\"A\", \"C\"]\n{A}{B}"),
        &["terms[1]", "unknown factor `C`"],
    );
}

#[test]
fn zero_residual_df_says_what_to_drop() {
    rejects(
        &format!("replicates = 1\n{A}{B}"),
        &[
            "0 degrees of freedom",
            "drop `A:B`",
            "terms = [\"A\", \"B\"]",
        ],
    );
}

#[test]
fn missing_file() {
    let o = emslab(&["ems", "/nonexistent/design.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/design.toml"));
}

#[test]
fn bad_usage_exits_2() {
    let o = emslab(&["ems", &design("rcbd.toml"), "--model", "both"]);
    assert_eq!(o.status.code(), Some(2));
    let o = emslab(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn steps_show_the_derivation() {
    let o = emslab(&[
        "ems",
        &design("two_factor_mixed.toml"),
        "--steps",
        "--table",
        "derivation",
        "--model",
        "unrestricted",
    ]);
    assert!(o.status.success());
    let s = stdout(&o);
    // B's EMS picks up the A:B row because its fixed live column is 1 (†) when unrestricted.
    assert!(s.contains("i: 1†, k: n"), "{s}");
}
