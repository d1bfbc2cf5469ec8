//! `emslab analyze` and `emslab simulate` through the binary: formats, the JSON contract,
//! published tables, policies, atomic output, and bad input (exit 2, one message naming
//! the file and the line/column, never a panic).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{design_path, matches_printed};
use serde_json::Value;

fn emslab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args(args)
        .output()
        .expect("run emslab")
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn shipped(name: &str) -> String {
    path_str(&design_path(name))
}

fn ok_stdout(args: &[&str]) -> String {
    let out = emslab(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and expects exit 2 with one clear message; returns it.
fn input_error(args: &[&str]) -> String {
    let out = emslab(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    assert!(out.stdout.is_empty());
    err
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok_stdout(args)).unwrap()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn every_format_for_every_shipped_dataset() {
    for name in [
        "dyestuff",
        "dyestuff2",
        "pastes",
        "machines",
        "montgomery_gauge",
    ] {
        let d = shipped(&format!("{name}.toml"));
        let c = shipped(&format!("{name}.csv"));
        for format in ["text", "markdown", "latex", "csv", "json", "html"] {
            let out = ok_stdout(&["analyze", &d, &c, "--no-reml", "--format", format]);
            assert!(out.len() > 200, "{name} {format}");
        }
        let text = ok_stdout(&[
            "analyze",
            &d,
            &c,
            "--no-reml",
            "--table",
            "anova",
            "--format",
            "csv",
        ]);
        assert!(text.starts_with("Term,df,SS,MS,F,p,Test"), "{text}");
    }
}

#[test]
fn json_report_follows_the_contract() {
    let v = json(&[
        "analyze",
        &shipped("pastes.toml"),
        &shipped("pastes.csv"),
        "--format",
        "json",
        "--no-reml",
    ]);
    assert_eq!(v["emslab_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["model"], "restricted");
    assert_eq!(v["n_observations"], 60);
    assert_eq!(v["design"]["replicates"], 2);
    assert!(v.get("reml").is_none(), "--no-reml: no reml section");
    let terms = v["terms"].as_array().unwrap();
    assert_eq!(terms.len(), 3);
    let batch = &terms[0];
    assert_eq!(batch["term"], "batch");
    assert_eq!(batch["kind"], "random");
    assert_eq!(batch["df"], 9);
    // README (pastes): SS 247.4026667, MS 27.48918519, F 1.5667519 (9, 20), p 0.192555.
    assert!(matches_printed(
        batch["ss"].as_f64().unwrap(),
        "247.4026667"
    ));
    assert!(matches_printed(
        batch["ms"].as_f64().unwrap(),
        "27.48918519"
    ));
    let test = &batch["test"];
    assert_eq!(test["kind"], "exact");
    assert_eq!(test["denominator"][0]["term"], "cask(batch)");
    assert_eq!(test["denominator"][0]["weight"], 1);
    assert_eq!(test["df_num"], 9);
    assert_eq!(test["df_den"], 20);
    assert!(matches_printed(test["f"].as_f64().unwrap(), "1.5667519"));
    assert!(matches_printed(test["p"].as_f64().unwrap(), "0.192555"));
    let ems = batch["ems"].as_array().unwrap();
    assert_eq!(ems.len(), 3);
    assert!(batch["ems_latex"].as_str().unwrap().contains("\\sigma^2"));
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 3);
    let c = &comps[0];
    assert_eq!(c["term"], "batch");
    assert!(matches_printed(
        c["estimate"].as_f64().unwrap(),
        "1.657308642"
    ));
    assert!(matches_printed(
        c["satterthwaite_df"].as_f64().unwrap(),
        "0.9952347323"
    ));
    assert_eq!(c["ci"]["method"], "satterthwaite");
    assert_eq!(c["ci"]["level"], 0.95);
    assert!(matches_printed(
        c["ci"]["lower"].as_f64().unwrap(),
        "0.32916869"
    ));
    assert!(matches_printed(
        c["ci"]["upper"].as_f64().unwrap(),
        "1742.2451"
    ));
    assert_eq!(c["combination"][0]["term"], "batch");
    assert!((c["combination"][0]["weight"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-15);
    assert_eq!(comps[2]["ci"]["method"], "chi-square");
    assert_eq!(c["intervals"][1]["method"], "mls");
    assert_eq!(
        v["data"]["factors"][1]["coding"],
        "restarting within parent"
    );
}

#[test]
fn negative_estimate_is_reported_with_a_note_and_policies_apply() {
    let d = shipped("montgomery_gauge.toml");
    let c = shipped("montgomery_gauge.csv");
    let v = json(&["analyze", &d, &c, "--format", "json", "--no-reml"]);
    let po = &v["components"][2];
    assert_eq!(po["term"], "part:operator");
    assert!(po["estimate"].as_f64().unwrap() < 0.0);
    assert!(po["note"].as_str().unwrap().contains("negative"));
    assert!(po["ci"].is_null());
    assert_eq!(po["ci_note"], "none (estimate <= 0)");
    let v = json(&[
        "analyze",
        &d,
        &c,
        "--format",
        "json",
        "--no-reml",
        "--negative",
        "zero",
    ]);
    assert_eq!(v["components"][2]["estimate"], 0.0);
    assert!(v["components"][2]["computed"].as_f64().unwrap() < 0.0);
    let v = json(&[
        "analyze",
        &d,
        &c,
        "--format",
        "json",
        "--no-reml",
        "--negative",
        "pool",
    ]);
    assert_eq!(v["pooling"][0]["term"], "part:operator");
    assert_eq!(v["pooling"][0]["into"], "Residual");
    assert_eq!(v["terms"][2]["pooled_into"], "Residual");
    assert_eq!(v["terms"][2]["test"]["kind"], "none");
    assert_eq!(v["terms"][3]["pooled_df"], 98);
    let text = ok_stdout(&["analyze", &d, &c, "--no-reml", "--negative", "pool"]);
    assert!(text.contains("pooled into Residual"), "{text}");
}

#[test]
fn restricted_and_unrestricted_test_worker_differently() {
    let d = shipped("machines.toml");
    let c = shipped("machines.csv");
    let r = json(&["analyze", &d, &c, "--format", "json", "--no-reml"]);
    let u = json(&[
        "analyze",
        &d,
        &c,
        "--format",
        "json",
        "--no-reml",
        "--model",
        "unrestricted",
    ]);
    assert_eq!(r["terms"][1]["ms"], u["terms"][1]["ms"]);
    assert!(matches_printed(
        r["terms"][1]["test"]["f"].as_f64().unwrap(),
        "268.6254"
    ));
    assert!(matches_printed(
        u["terms"][1]["test"]["f"].as_f64().unwrap(),
        "5.8232481"
    ));
    assert_eq!(
        u["terms"][1]["test"]["denominator"][0]["term"],
        "Machine:Worker"
    );
}

#[test]
fn summary_table_of_the_pigment_paste() {
    let v = json(&[
        "analyze",
        &shipped("pigment_paste.toml"),
        "--summary",
        &shipped("pigment_paste_summary.csv"),
        "--format",
        "json",
    ]);
    // README, pigment paste: F = 1.49173, p = 0.225616; batch 7.128, nu 1.0717374,
    // [1.4642754, 4653.5995].
    assert!(matches_printed(
        v["terms"][0]["test"]["f"].as_f64().unwrap(),
        "1.49173"
    ));
    assert!(matches_printed(
        v["terms"][0]["test"]["p"].as_f64().unwrap(),
        "0.225616"
    ));
    let b = &v["components"][0];
    assert!(matches_printed(b["estimate"].as_f64().unwrap(), "7.128"));
    assert!(matches_printed(
        b["satterthwaite_df"].as_f64().unwrap(),
        "1.0717374"
    ));
    assert!(matches_printed(
        b["ci"]["lower"].as_f64().unwrap(),
        "1.4642754"
    ));
    assert!(matches_printed(
        b["ci"]["upper"].as_f64().unwrap(),
        "4653.5995"
    ));
    assert_eq!(v["data"]["kind"], "summary");
    assert!(v.get("reml").is_none());
}

#[test]
fn summary_table_errors_name_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let design = shipped("pigment_paste.toml");
    let bad_df = write(
        dir.path(),
        "bad.csv",
        b"term,df,ms\nbatch,14,86.495\nsample(batch),14,57.983\nResidual,30,0.917\n",
    );
    let err = input_error(&["analyze", &design, "--summary", &path_str(&bad_df)]);
    assert!(err.contains("bad.csv: line 3, column 2 (`df`)"), "{err}");
    assert!(err.contains("the design gives 15"), "{err}");
    let unknown = write(
        dir.path(),
        "unknown.csv",
        b"term,df,ms\nbatch,14,86.495\nsample(bach),15,57.983\nResidual,30,0.917\n",
    );
    let err = input_error(&["analyze", &design, "--summary", &path_str(&unknown)]);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("did you mean `sample(batch)`"), "{err}");
    let missing = write(
        dir.path(),
        "missing.csv",
        b"term,df,ms\nbatch,14,86.495\nResidual,30,0.917\n",
    );
    let err = input_error(&["analyze", &design, "--summary", &path_str(&missing)]);
    assert!(err.contains("no row for `sample(batch)`"), "{err}");
    let bad_ms = write(dir.path(), "ms.csv", b"term,df,ms\nbatch,14,x\n");
    let err = input_error(&["analyze", &design, "--summary", &path_str(&bad_ms)]);
    assert!(err.contains("line 2, column 3 (`ms`)"), "{err}");
}

#[test]
fn bad_data_files_exit_2_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let design = shipped("pastes.toml");
    let good = std::fs::read_to_string(design_path("pastes.csv")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let with_line = |k: usize, replacement: &str| {
        let mut l = lines.clone();
        l[k - 1] = replacement;
        l.join("\n") + "\n"
    };
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("empty.csv", String::new(), &["empty.csv", "empty"]),
        (
            "header_only.csv",
            "batch,cask,strength\n".into(),
            &["no data rows"],
        ),
        (
            "no_header.csv",
            lines[1..].join("\n"),
            &["line 1", "not a header"],
        ),
        (
            "ragged.csv",
            with_line(5, "A,b,60.1,7"),
            &["line 5", "4 fields, but the header has 3"],
        ),
        (
            "text.csv",
            with_line(5, "A,b,sixty"),
            &["line 5, column 3 (`strength`)", "\"sixty\" is not a number"],
        ),
        (
            "inf.csv",
            with_line(6, "A,c,-inf"),
            &["line 6, column 3", "not a finite number"],
        ),
        (
            "huge.csv",
            with_line(6, "A,c,1e160"),
            &["line 6, column 3 (`strength`)", "beyond ±1e60"],
        ),
        (
            "extra_level.csv",
            good.clone() + "K,a,60.0\n",
            &[
                "line 62, column 1 (`batch`)",
                "\"K\" is level 11",
                "declares 10",
            ],
        ),
        (
            "extra_cask.csv",
            with_line(61, "J,d,60.0"),
            &["line 61, column 2 (`cask`)", "within batch=J"],
        ),
        (
            "column.csv",
            good.replacen("cask", "barrel", 1),
            &[
                "no column for factor `cask`",
                "`batch`, `barrel`, `strength`",
            ],
        ),
    ];
    for (name, content, needles) in cases {
        let p = write(dir.path(), name, content.as_bytes());
        let err = input_error(&["analyze", &design, &path_str(&p), "--no-reml"]);
        assert_eq!(err.lines().count(), 1, "{name}: one message: {err}");
        assert!(err.contains(name), "{name}: names the file: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: `{n}` in {err}");
        }
    }
    // A factor with one level (design leaves levels to the data).
    let one = write(
        dir.path(),
        "one.toml",
        b"[[factors]]\nname = \"g\"\nkind = \"random\"\n",
    );
    let data = write(dir.path(), "one.csv", b"g,y\nx,1\nx,2\n");
    let err = input_error(&["analyze", &path_str(&one), &path_str(&data), "--no-reml"]);
    assert!(
        err.contains("one.csv: column 1 (`g`)") && err.contains("only one level"),
        "{err}"
    );
    // UTF-16 text.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(good.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let p = write(dir.path(), "utf16.csv", &utf16);
    let err = input_error(&["analyze", &design, &path_str(&p), "--no-reml"]);
    assert!(err.contains("UTF-16"), "{err}");
    // A file that is not there.
    let err = input_error(&["analyze", &design, "no/such/file.csv", "--no-reml"]);
    assert!(err.contains("no/such/file.csv"), "{err}");
    // Bad options.
    input_error(&["analyze", &design, &shipped("pastes.csv"), "--alpha", "1.5"]);
    input_error(&["analyze", &design]);
}

#[test]
fn byte_order_mark_and_crlf_are_read_normally() {
    let dir = tempfile::tempdir().unwrap();
    let design = shipped("pastes.toml");
    let good = std::fs::read_to_string(design_path("pastes.csv")).unwrap();
    let plain = ok_stdout(&[
        "analyze",
        &design,
        &shipped("pastes.csv"),
        "--no-reml",
        "--table",
        "anova",
        "--format",
        "csv",
    ]);
    let excel = format!("\u{FEFF}{}", good.replace('\n', "\r\n"));
    let p = write(dir.path(), "excel.csv", excel.as_bytes());
    let out = ok_stdout(&[
        "analyze",
        &design,
        &path_str(&p),
        "--no-reml",
        "--table",
        "anova",
        "--format",
        "csv",
    ]);
    assert_eq!(out, plain);
    let semi = good.replace(',', ";").replace('.', ",");
    let p = write(dir.path(), "semi.csv", semi.as_bytes());
    let out = ok_stdout(&[
        "analyze",
        &design,
        &path_str(&p),
        "--no-reml",
        "--table",
        "anova",
        "--format",
        "csv",
    ]);
    assert_eq!(out, plain);
}

#[test]
fn unbalanced_data_are_not_analysed_silently() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(design_path("pastes.csv")).unwrap();
    let short: String = good.lines().take(60).collect::<Vec<_>>().join("\n") + "\n";
    let p = write(dir.path(), "short.csv", short.as_bytes());
    // Without REML: the Type III analysis, never the balanced-design numbers.
    let (design, data) = (shipped("pastes.toml"), path_str(&p));
    for extra in [&["--no-reml"][..], &[][..]] {
        let mut args = vec!["analyze", &design, &data, "--format", "json"];
        args.extend_from_slice(extra);
        let v = json(&args);
        assert_eq!(v["balanced"], false);
        assert_eq!(v["ss_type"], "III");
        assert!(
            v["balance_problem"]
                .as_str()
                .unwrap()
                .contains("batch=J, cask=c has 1 (1 short)")
        );
        assert_eq!(v["reml"].is_object(), extra.is_empty());
        // The batch row's EMS: with one cask of batch J holding 1 observation instead of
        // 2, the coefficient of σ²(cask(batch)) is no longer the balanced n = 2.
        let batch = &v["terms"][0];
        assert_eq!(batch["term"], "batch");
        let k = batch["ems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["component"] == "cask(batch)")
            .unwrap()["coefficient"]
            .as_f64()
            .unwrap();
        assert!(k < 2.0 && k > 1.9, "{k}");
        assert!(batch["ems"][0].get("symbolic").is_none());
    }
}

#[test]
fn output_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    std::fs::write(&out, "old").unwrap();
    let o = emslab(&[
        "analyze",
        &shipped("dyestuff.toml"),
        &shipped("dyestuff.csv"),
        "--no-reml",
        "--format",
        "json",
        "--output",
        &path_str(&out),
    ]);
    assert!(o.status.success());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["n_observations"], 30);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    // A failed run leaves the old file alone.
    let o = emslab(&[
        "analyze",
        &shipped("dyestuff.toml"),
        "missing.csv",
        "--output",
        &path_str(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("\"n_observations\": 30")
    );
}

#[test]
fn reml_note_without_no_reml() {
    let text = ok_stdout(&[
        "analyze",
        &shipped("dyestuff.toml"),
        &shipped("dyestuff.csv"),
    ]);
    // No REML numbers are invented: the report says the fit is not there.
    assert!(text.contains("REML"), "{text}");
    let v = json(&[
        "analyze",
        &shipped("dyestuff.toml"),
        &shipped("dyestuff.csv"),
        "--format",
        "json",
    ]);
    if let Some(reml) = v.get("reml") {
        // Once the REML engine is wired in it must carry the contract's fields.
        assert!(reml.get("components").is_some());
    }
}

#[test]
fn simulate_is_seeded_and_analyzable() {
    let dir = tempfile::tempdir().unwrap();
    let design = shipped("three_factor_mixed.toml");
    let args = [
        "simulate",
        design.as_str(),
        "--sigma2",
        "B=2",
        "C=1",
        "A:B=0.5",
        "A:C=0.5",
        "B:C=0.3",
        "A:B:C=0.2",
        "Residual=1",
        "--effect",
        "A=-1,0,1",
        "--mean",
        "50",
        "--seed",
        "42",
    ];
    let a = ok_stdout(&args);
    let b = ok_stdout(&args);
    assert_eq!(a, b, "same seed, same data");
    assert!(a.starts_with("A,B,C,y\n"));
    assert_eq!(a.lines().count(), 1 + 3 * 4 * 5 * 2);
    let mut other = args.to_vec();
    let last = other.len() - 1;
    other[last] = "43";
    assert_ne!(ok_stdout(&other), a);
    // Written atomically, then analysed: A needs a quasi-F.
    let out = dir.path().join("sim.csv");
    let mut with_out = args.to_vec();
    let out_s = path_str(&out);
    with_out.extend(["--output", out_s.as_str(), "--decimals", "4"]);
    ok_stdout(&with_out);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "a data file, not a private temporary file"
        );
    }
    let v = json(&["analyze", &design, &out_s, "--no-reml", "--format", "json"]);
    let t = &v["terms"][0]["test"];
    assert_eq!(t["kind"], "quasi");
    assert!(t["df_den"].as_f64().unwrap().fract() != 0.0);
    assert_eq!(t["alternatives"][0]["form"], "F''");
    assert!(t["alternatives"][0]["f"].as_f64().unwrap() > 0.0);
}

#[test]
fn simulate_errors() {
    let design = shipped("pastes.toml");
    let err = input_error(&["simulate", &design, "--sigma2", "batch=1"]);
    assert!(err.contains("Residual"), "{err}");
    let err = input_error(&["simulate", &design, "--sigma2", "bach=1", "Residual=1"]);
    assert!(err.contains("did you mean `batch`"), "{err}");
    let err = input_error(&["simulate", &design, "--sigma2", "batch=-1", "Residual=1"]);
    assert!(err.contains(">= 0"), "{err}");
    let err = input_error(&["simulate", &design, "--sigma2", "batch", "Residual=1"]);
    assert!(err.contains("NAME=VALUE"), "{err}");
    let err = input_error(&[
        "simulate",
        &shipped("machines.toml"),
        "--sigma2",
        "Machine=1",
        "Residual=1",
    ]);
    assert!(err.contains("fixed"), "{err}");
    let err = input_error(&[
        "simulate",
        &shipped("machines.toml"),
        "--sigma2",
        "Residual=1",
        "--effect",
        "Machine=1,2",
    ]);
    assert!(err.contains("3 cells"), "{err}");
    // Level counts given on the command line.
    let out = ok_stdout(&[
        "simulate",
        &design,
        "--sigma2",
        "Residual=1",
        "--levels",
        "batch=2",
        "--replicates",
        "3",
    ]);
    assert_eq!(out.lines().count(), 1 + 2 * 3 * 3);
}

/// `--column FACTOR=COL` reads a factor from a column with another name: the report equals
/// the one from the file with the factor's name (but for the file name); a factor the
/// design lacks, or a malformed mapping, is bad input (exit 2).
#[test]
fn column_option_maps_a_factor_to_another_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(design_path("pastes.csv")).unwrap();
    let header = text.lines().next().unwrap().to_string();
    assert!(header.contains("batch"), "{header}");
    let renamed = text.replacen(&header, &header.replace("batch", "Lot"), 1);
    let csv = write(dir.path(), "pastes_lot.csv", renamed.as_bytes());
    let design = shipped("pastes.toml");
    let mapped = json(&[
        "analyze",
        &design,
        &path_str(&csv),
        "--column",
        "batch=Lot",
        "--format",
        "json",
    ]);
    let original = json(&[
        "analyze",
        &design,
        &shipped("pastes.csv"),
        "--format",
        "json",
    ]);
    assert_eq!(mapped["anova"], original["anova"]);
    assert_eq!(mapped["components"], original["components"]);
    assert_eq!(mapped["reml"], original["reml"]);

    let err = input_error(&["analyze", &design, &path_str(&csv)]);
    assert!(err.contains("batch") && err.contains("Lot"), "{err}");
    let err = input_error(&["analyze", &design, &path_str(&csv), "--column", "lot=Lot"]);
    assert!(
        err.contains("no factor `lot`") && err.contains("`batch`"),
        "{err}"
    );
    let err = input_error(&["analyze", &design, &path_str(&csv), "--column", "batch"]);
    assert!(err.contains("FACTOR=COLUMN"), "{err}");
    let err = input_error(&[
        "analyze",
        &design,
        &path_str(&csv),
        "--column",
        "batch=Lots",
    ]);
    assert!(
        err.contains("pastes_lot.csv") && err.contains("`Lots`"),
        "{err}"
    );
}
