//! `emslab analyze` and `emslab simulate` through the binary: formats, the JSON contract,
//! published tables, policies, atomic output, and bad input (exit 2, one message naming
//! the file and the line/column, never a panic).

#![allow(clippy::unwrap_used)]

mod common;

use common::{
    HAND_FORMULA, MOMENTS_VS_R, MomentsReference, REML_AT_MOMENTS, close, data_path, design_path,
    emslab, input_error, json_of as json, matches_printed, ok_stdout, path_str, rel_close, shipped,
    write_file as write,
};
use serde_json::Value;

/// The cells of every table row whose first cell is `term`, in one output format, with
/// each number as the format prints it (LaTeX's and HTML's powers of ten as `e`).
fn rows_of(out: &str, format: &str, term: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in out.lines() {
        let line = line
            .replace("\\times 10^{", "e")
            .replace("&times;10<sup>", "e")
            .replace("</sup>", "")
            .replace(['}', '$'], "");
        let cells: Vec<String> = match format {
            "text" => line.split_whitespace().map(str::to_string).collect(),
            "markdown" => line
                .split('|')
                .skip(1)
                .map(|c| c.trim().to_string())
                .collect(),
            "latex" => line
                .trim_end_matches("\\\\")
                .split(" & ")
                .map(|c| c.trim().to_string())
                .collect(),
            "html" => line
                .split("</td>")
                .map(|c| c.rsplit('>').next().unwrap_or("").trim().to_string())
                .collect(),
            "csv" => {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(line.as_bytes());
                match r.records().next() {
                    Some(Ok(rec)) => rec.iter().map(str::to_string).collect(),
                    _ => Vec::new(),
                }
            }
            _ => unreachable!("{format}"),
        };
        if cells.first().is_some_and(|c| c == term) {
            rows.push(cells);
        }
    }
    rows
}

/// Numbers in the cells (intervals `[a, b]` give two; `0*` is 0; `15.4%` is 15.4).
fn numbers_in(cells: &[String]) -> Vec<String> {
    cells
        .iter()
        .flat_map(|c| {
            c.split(['[', ']', '(', ')', ',', ' '])
                .map(|t| t.trim_end_matches(['*', '%']).trim_end_matches('\\'))
                .filter(|t| !t.is_empty() && t.parse::<f64>().is_ok())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every number R recorded for `case` (df, SS, MS, F, its df, p, estimate, ν, SE, the χ²
/// and MLS bounds) is printed, to the digits shown, in a row of that term in `out`. The
/// rows in `pooled` (which absorbed a pooled term) print their own mean square; the pooled
/// one is in the JSON report and in the notes.
#[track_caller]
fn check_printed(out: &str, format: &str, r: &MomentsReference, case: &str, pooled: &[String]) {
    let shown = [
        "df",
        "ss",
        "ms",
        "f",
        "df_den",
        "p",
        "estimate",
        "satterthwaite_df",
        "se",
        "ci_lower",
        "ci_upper",
        "mls_lower",
        "mls_upper",
    ];
    let mut checked = 0;
    for (quantity, term, value) in r.case(case) {
        let own_row = ["df", "ss", "ms"].contains(&quantity.as_str());
        if !shown.contains(&quantity.as_str()) || (own_row && pooled.contains(&term)) {
            continue;
        }
        let tokens: Vec<String> = rows_of(out, format, &term)
            .iter()
            .flat_map(|row| numbers_in(&row[1..]))
            .collect();
        assert!(
            tokens.iter().any(|t| shows(t, value)),
            "{case} {format}: {quantity} of {term} = {value} not printed in its rows: {tokens:?}"
        );
        checked += 1;
    }
    assert!(checked > 10, "{case}: only {checked} numbers checked");
}

/// A printed number shows `value`: to its printed digits, or (CSV's full precision) to the
/// agreement with R.
fn shows(printed: &str, value: f64) -> bool {
    matches_printed(value, printed)
        || printed
            .parse::<f64>()
            .is_ok_and(|p| rel_close(p, value, MOMENTS_VS_R))
}

#[track_caller]
fn agree(what: &str, json: &Value, want: f64) {
    let got = json
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {json} is not a number"));
    assert!(
        rel_close(got, want, MOMENTS_VS_R),
        "{what}: {got:e} vs R {want:e}"
    );
}

/// The JSON report against every number R recorded for `case`: mean squares (pooled ones
/// where a row absorbed a pooled term), tests with their denominators and F″, components
/// with both intervals, and the pooling steps in order. Returns the rows that absorbed a
/// pooled term.
#[track_caller]
fn check_json(v: &Value, r: &MomentsReference, case: &str) -> Vec<String> {
    let terms = v["terms"].as_array().unwrap();
    let term = |name: &str| {
        terms
            .iter()
            .find(|t| t["term"] == name)
            .unwrap_or_else(|| panic!("{case}: no term {name}"))
    };
    let mut absorbing = Vec::new();
    for name in r.terms(case, "df") {
        let t = term(&name);
        let ctx = format!("{case} {name}");
        let (df, ms) = if t.get("pooled_df").is_some() {
            absorbing.push(name.clone());
            (&t["pooled_df"], &t["pooled_ms"])
        } else {
            (&t["df"], &t["ms"])
        };
        agree(&format!("{ctx} df"), df, r.get(case, "df", &name));
        agree(&format!("{ctx} MS"), ms, r.get(case, "ms", &name));
        let den = r.entries(case, "den_weight", &name);
        let test = &t["test"];
        if den.is_empty() {
            assert_eq!(test["kind"], "none", "{ctx}");
            continue;
        }
        assert_eq!(
            test["denominator"].as_array().unwrap().len(),
            den.len(),
            "{ctx}"
        );
        for (v, w) in &den {
            let d = test["denominator"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["term"] == v.as_str())
                .unwrap_or_else(|| panic!("{ctx}: denominator lacks {v}"));
            agree(&format!("{ctx} weight of {v}"), &d["weight"], *w);
        }
        for (key, q) in [("f", "f"), ("p", "p"), ("df_den", "df_den")] {
            agree(&format!("{ctx} {key}"), &test[key], r.get(case, q, &name));
        }
        if let Some(f2) = r.find(case, "f2", &name, "") {
            let alt = &test["alternatives"][0];
            assert_eq!(alt["form"], "F''", "{ctx}");
            agree(&format!("{ctx} F''"), &alt["f"], f2);
            agree(
                &format!("{ctx} F'' df1"),
                &alt["df_num"],
                r.get(case, "f2_df_num", &name),
            );
            agree(
                &format!("{ctx} F'' df2"),
                &alt["df_den"],
                r.get(case, "f2_df_den", &name),
            );
            agree(
                &format!("{ctx} F'' p"),
                &alt["p"],
                r.get(case, "f2_p", &name),
            );
        }
    }
    for name in r.terms(case, "estimate") {
        let c = v["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["term"] == name.as_str())
            .unwrap_or_else(|| panic!("{case}: no component {name}"));
        let ctx = format!("{case} component {name}");
        for (key, q) in [
            ("estimate", "estimate"),
            ("satterthwaite_df", "satterthwaite_df"),
            ("se", "se"),
        ] {
            agree(&format!("{ctx} {key}"), &c[key], r.get(case, q, &name));
        }
        match r.find(case, "ci_lower", &name, "") {
            Some(lo) => {
                agree(&format!("{ctx} CI lower"), &c["ci"]["lower"], lo);
                agree(
                    &format!("{ctx} CI upper"),
                    &c["ci"]["upper"],
                    r.get(case, "ci_upper", &name),
                );
            }
            None => assert!(c["ci"].is_null(), "{ctx}: R has no interval"),
        }
        let mls = c["intervals"]
            .as_array()
            .and_then(|i| i.iter().find(|i| i["method"] == "mls"));
        match (mls, r.find(case, "mls_lower", &name, "")) {
            (Some(m), Some(lo)) => {
                agree(&format!("{ctx} MLS lower"), &m["lower"], lo);
                agree(
                    &format!("{ctx} MLS upper"),
                    &m["upper"],
                    r.get(case, "mls_upper", &name),
                );
            }
            (None, None) => {}
            (m, lo) => panic!("{ctx}: MLS {m:?} vs R {lo:?}"),
        }
    }
    let steps = v["pooling"].as_array().map_or(&[][..], |p| p.as_slice());
    assert_eq!(
        steps.len(),
        r.terms(case, "pool_step").len(),
        "{case}: pooling steps"
    );
    for (i, step) in steps.iter().enumerate() {
        let name = step["term"].as_str().unwrap();
        let into = r.entries(case, "pool_step", name);
        assert_eq!(
            step["into"],
            into[0].0.as_str(),
            "{case}: {name} pooled into"
        );
        agree(
            &format!("{case} pooled {name}"),
            &step["computed"],
            into[0].1,
        );
        assert_eq!(
            r.get(case, "pool_order", name),
            (i + 1) as f64,
            "{case}: {name} is step {}",
            i + 1
        );
    }
    absorbing
}

const FORMATS: [&str; 5] = ["text", "markdown", "latex", "csv", "html"];

/// Every format of every shipped data set prints R's numbers (tests/data/moments/reference.R)
/// to the digits it shows; the JSON report has them to 1e-10.
#[test]
fn every_format_for_every_shipped_dataset() {
    let r = MomentsReference::load();
    for (name, case) in [
        ("dyestuff", "dyestuff"),
        ("dyestuff2", "dyestuff2"),
        ("pastes", "pastes"),
        ("machines", "machines_restricted"),
        ("montgomery_gauge", "montgomery_gauge"),
    ] {
        let d = shipped(&format!("{name}.toml"));
        let c = shipped(&format!("{name}.csv"));
        let v = json(&["analyze", &d, &c, "--no-reml", "--format", "json"]);
        assert!(
            check_json(&v, &r, case).is_empty(),
            "{case}: nothing pooled"
        );
        for format in FORMATS {
            let out = ok_stdout(&["analyze", &d, &c, "--no-reml", "--format", format]);
            check_printed(&out, format, &r, case, &[]);
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

/// `--summary` with `--model unrestricted --negative pool` on a crossed random design
/// (Montgomery's gauge study: part:operator pooled), a mixed design (Machines: nothing to
/// pool) and a quasi-F design (three-factor random: A:B:C, B:C and C pooled in a chain),
/// in every format, against R's refits of the reduced models
/// (tests/data/moments/reference.R; the tables are its `*_summary.csv`).
#[test]
fn summary_tables_with_pooling_in_every_format() {
    let r = MomentsReference::load();
    for (design, case) in [
        ("montgomery_gauge", "montgomery_gauge_pool"),
        ("machines", "machines_unrestricted_pool"),
        ("three_factor_random", "three_factor_random_pool"),
    ] {
        let d = shipped(&format!("{design}.toml"));
        let table = path_str(&data_path(&format!("moments/{design}_summary.csv")));
        let args = |format: &'static str| {
            vec![
                "analyze".to_string(),
                d.clone(),
                "--summary".into(),
                table.clone(),
                "--model".into(),
                "unrestricted".into(),
                "--negative".into(),
                "pool".into(),
                "--format".into(),
                format.into(),
            ]
        };
        let run = |format: &'static str| {
            let a = args(format);
            ok_stdout(&a.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let v: Value = serde_json::from_str(&run("json")).unwrap();
        assert_eq!(v["model"], "unrestricted");
        assert_eq!(v["negative_policy"], "pool");
        assert_eq!(v["data"]["kind"], "summary");
        let absorbing = check_json(&v, &r, case);
        for format in FORMATS {
            check_printed(&run(format), format, &r, case, &absorbing);
        }
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
    // Every number against R (tests/data/moments/reference.R, case `pastes`): SS 247.4026667,
    // MS 27.48918519, F 1.5667519 on (9, 20), p 0.192555, ...
    let r = MomentsReference::load();
    assert!(check_json(&v, &r, "pastes").is_empty());
    let test = &batch["test"];
    assert_eq!(test["kind"], "exact");
    assert_eq!(test["denominator"][0]["term"], "cask(batch)");
    assert_eq!(test["denominator"][0]["weight"], 1);
    assert_eq!(test["df_num"], 9);
    assert_eq!(test["df_den"], 20);
    let ems = batch["ems"].as_array().unwrap();
    assert_eq!(ems.len(), 3);
    assert!(batch["ems_latex"].as_str().unwrap().contains("\\sigma^2"));
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 3);
    let c = &comps[0];
    assert_eq!(c["term"], "batch");
    assert_eq!(c["ci"]["method"], "satterthwaite");
    assert_eq!(c["ci"]["level"], 0.95);
    // σ²(batch) = (MS(batch) - MS(cask(batch))) / 6: weights ±1/6.
    assert_eq!(c["combination"][0]["term"], "batch");
    agree(
        "weight",
        &c["combination"][0]["weight"],
        r.find("pastes", "est_weight", "batch", "batch").unwrap(),
    );
    agree(
        "weight",
        &c["combination"][1]["weight"],
        r.find("pastes", "est_weight", "batch", "cask(batch)")
            .unwrap(),
    );
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
    // R (tests/data/moments/reference.R): part:operator -0.1399122807 (Montgomery, Example
    // 13.2, prints -0.14).
    let r = MomentsReference::load();
    let negative = r.get("montgomery_gauge", "estimate", "part:operator");
    let po = &v["components"][2];
    assert_eq!(po["term"], "part:operator");
    agree("part:operator", &po["estimate"], negative);
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
    agree("computed", &v["components"][2]["computed"], negative);
    agree(
        "part",
        &v["components"][0]["estimate"],
        r.get("montgomery_gauge", "estimate", "part"),
    );
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
    // The reduced model's numbers: R's refit without part:operator.
    assert_eq!(check_json(&v, &r, "montgomery_gauge_pool"), ["Residual"]);
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
    // R (tests/data/moments/reference.R): Worker's F is 268.6254 against the Residual in the
    // restricted model, 5.8232481 against Machine:Worker in the unrestricted one.
    let reference = MomentsReference::load();
    check_json(&r, &reference, "machines_restricted");
    check_json(&u, &reference, "machines_unrestricted");
    assert_eq!(r["terms"][1]["test"]["denominator"][0]["term"], "Residual");
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
    // The mean squares are Box, Hunter and Hunter's (§9.3); everything computed from them
    // against R (tests/data/moments/reference.R, case `pigment_paste`): F = 1.49173,
    // p = 0.225616; batch 7.128 on 1.0717374 df, [1.4642754, 4653.5995], ...
    check_json(&v, &MomentsReference::load(), "pigment_paste");
    // The book's own estimate: (86.495 - 57.983) / 4.
    assert!(matches_printed(
        v["components"][0]["estimate"].as_f64().unwrap(),
        "7.128"
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

/// Without `--no-reml` the report has the REML fit beside the moments: on Dyestuff (balanced,
/// every moment estimate positive) REML equals the moment estimates, 1764.05 and 2451.25
/// (R: tests/data/moments/reference.R; lme4 with tight tolerances agrees,
/// tests/data/reml/reference_fits.csv).
#[test]
fn reml_fit_beside_the_moments_without_no_reml() {
    let text = ok_stdout(&[
        "analyze",
        &shipped("dyestuff.toml"),
        &shipped("dyestuff.csv"),
    ]);
    assert!(text.contains("REML beside the method of moments"), "{text}");
    let batch = rows_of(&text, "text", "Batch");
    assert!(
        batch.iter().any(|r| r[1..3] == ["1764.05", "1764.05"]),
        "moments and REML in the Batch row: {batch:?}"
    );
    let v = json(&[
        "analyze",
        &shipped("dyestuff.toml"),
        &shipped("dyestuff.csv"),
        "--format",
        "json",
    ]);
    let r = MomentsReference::load();
    let comps = v["reml"]["components"].as_array().expect("REML components");
    assert_eq!(comps.len(), 2);
    for c in comps {
        let name = c["term"].as_str().unwrap();
        let moments = r.get("dyestuff", "estimate", name);
        let reml = c["estimate"].as_f64().unwrap();
        assert!(
            rel_close(reml, moments, REML_AT_MOMENTS),
            "{name}: REML {reml} vs moments {moments}"
        );
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
    // F′ = MS(A) / (MS(A:B) + MS(A:C) - MS(A:B:C)) with the Satterthwaite df of the
    // denominator, F″ = (MS(A) + MS(A:B:C)) / (MS(A:B) + MS(A:C)) (Montgomery §13.6).
    let (ms, df) = (
        |k: usize| v["terms"][k]["ms"].as_f64().unwrap(),
        |k: usize| v["terms"][k]["df"].as_f64().unwrap(),
    );
    let (a, ab, ac, abc) = (0, 3, 4, 6);
    assert_eq!(v["terms"][abc]["term"], "A:B:C");
    let den = ms(ab) + ms(ac) - ms(abc);
    let nu = den.powi(2)
        / (ms(ab).powi(2) / df(ab) + ms(ac).powi(2) / df(ac) + ms(abc).powi(2) / df(abc));
    assert!(close(t["f"].as_f64().unwrap(), ms(a) / den, HAND_FORMULA));
    assert!(close(t["df_den"].as_f64().unwrap(), nu, HAND_FORMULA));
    assert_eq!(t["alternatives"][0]["form"], "F''");
    let f2 = (ms(a) + ms(abc)) / (ms(ab) + ms(ac));
    assert!(close(
        t["alternatives"][0]["f"].as_f64().unwrap(),
        f2,
        HAND_FORMULA
    ));
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
    for key in ["terms", "components", "reml"] {
        assert!(
            mapped[key].as_array().is_some() || mapped[key].is_object(),
            "{key} is in the report"
        );
        assert_eq!(mapped[key], original[key], "{key}");
    }
    assert_eq!(mapped["terms"].as_array().unwrap().len(), 3);

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

/// Pastes with its casks labelled uniquely across batches (`Aa`, `Ab`, ..., 30 labels)
/// instead of `a`, `b`, `c` restarting in each batch: the command reads the nesting from
/// either coding, and the ANOVA, the moment estimates and the REML fit (which streams the
/// same rows) are those of the shipped file, R's numbers (tests/data/moments/reference.R,
/// case `pastes`).
#[test]
fn globally_unique_nested_labels_give_the_same_analysis_and_reml_fit() {
    let shipped_csv = std::fs::read_to_string(design_path("pastes.csv")).unwrap();
    let unique: String = shipped_csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            if i == 0 {
                format!("{l}\n")
            } else {
                format!("{},{}{},{}\n", f[0], f[0], f[1], f[2])
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pastes_unique.csv", unique.as_bytes());
    let design = shipped("pastes.toml");
    let a = json(&[
        "analyze",
        &design,
        &shipped("pastes.csv"),
        "--format",
        "json",
    ]);
    let b = json(&["analyze", &design, &path_str(&file), "--format", "json"]);
    assert_eq!(a["terms"], b["terms"], "the ANOVA and its tests");
    assert_eq!(a["components"], b["components"], "the moment estimates");
    let r = MomentsReference::load();
    for c in b["components"].as_array().unwrap() {
        let name = c["term"].as_str().unwrap();
        agree(name, &c["estimate"], r.get("pastes", "estimate", name));
    }
    let (ra, rb) = (&a["reml"]["components"], &b["reml"]["components"]);
    assert_eq!(ra.as_array().unwrap().len(), 3);
    for (x, y) in ra.as_array().unwrap().iter().zip(rb.as_array().unwrap()) {
        assert_eq!(x["term"], y["term"]);
        let (x, y) = (
            x["estimate"].as_f64().unwrap(),
            y["estimate"].as_f64().unwrap(),
        );
        assert!(rel_close(y, x, REML_AT_MOMENTS), "REML {y} vs {x}");
    }
}
