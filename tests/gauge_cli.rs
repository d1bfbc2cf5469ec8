//! `emslab gauge`: the command's JSON keys (the interface contract's `gauge` object), the
//! chart files, and its messages for bad input.

mod common;

use std::process::Output;

use common::emslab;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn json_has_the_contracts_gauge_object() {
    let o = emslab(&[
        "gauge",
        "designs/montgomery_gauge.toml",
        "designs/montgomery_gauge.csv",
        "--tolerance",
        "55",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let g = &v["gauge"];
    assert_eq!(g["interaction"], "removed");
    assert_eq!(g["interaction_alpha"], 0.05);
    assert_eq!(g["study_var_multiplier"], 6.0);
    assert_eq!(g["tolerance"], 55.0);
    assert_eq!(g["ndc"], 4);
    // Montgomery's example with p = 0.86: Operator*Part is absent once removed.
    let sources: Vec<&str> = g["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["source"].as_str().expect("source"))
        .collect();
    assert_eq!(
        sources,
        [
            "Total Gage R&R",
            "Repeatability",
            "Reproducibility",
            "Operator",
            "Part-To-Part",
            "Total Variation"
        ]
    );
    let row = &g["rows"][0];
    for key in [
        "varcomp",
        "pct_contribution",
        "sd",
        "study_var",
        "pct_study_var",
        "pct_tolerance",
    ] {
        assert!(row[key].is_number(), "{key}");
    }
    for key in ["level", "lower", "upper"] {
        assert!(row["ci"]["varcomp"][key].is_number(), "{key}");
    }
    // The part x operator test, MS(part:operator) / MS(Residual) on (38, 60) df: p =
    // 0.86143449541746131 (R 4.2.2, tests/data/moments/reference.R, case montgomery_gauge;
    // Montgomery prints 0.8614).
    let want = common::MomentsReference::load().get("montgomery_gauge", "p", "part:operator");
    let got = g["interaction_p"].as_f64().expect("p");
    assert!(
        common::rel_close(got, want, common::MOMENTS_VS_R),
        "{got} vs {want}"
    );
}

#[test]
fn plot_writes_svg_and_png() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["six.svg", "six.png"] {
        let path = dir.path().join(name);
        let o = emslab(&[
            "gauge",
            "designs/gauge_aiag.toml",
            "designs/gauge_aiag.csv",
            "--plot",
            path.to_str().expect("path"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let bytes = std::fs::read(&path).expect("chart file");
        if name.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        } else {
            let text = String::from_utf8(bytes).expect("utf-8");
            assert!(text.starts_with("<svg") && text.contains("Components of Variation"));
        }
    }
}

#[test]
fn bad_input_exits_2_with_one_message() {
    // No roles and no flags: the message names the design file and lists the factors.
    let o = emslab(&[
        "gauge",
        "designs/two_factor_random.toml",
        "designs/gauge_aiag.csv",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("designs/two_factor_random.toml") && e.contains("--part"),
        "{e}"
    );
    // An unknown factor in --part.
    let o = emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        "designs/gauge_aiag.csv",
        "--part",
        "widget",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no factor `widget`"), "{}", stderr(&o));
    // A chart file of another kind, and specification limits the wrong way round.
    let o = emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        "designs/gauge_aiag.csv",
        "--plot",
        "x.pdf",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".svg or .png"));
    let o = emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        "designs/gauge_aiag.csv",
        "--lsl",
        "5",
        "--usl",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--lsl 5 --usl 1"), "{}", stderr(&o));
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("json")
}

#[test]
fn column_and_response_flags_read_renamed_columns() {
    // The AIAG data with every column renamed: --column maps the factors, --response the
    // measurement, and the study is the one of the original file.
    let dir = tempfile::tempdir().expect("tempdir");
    let original = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/designs/gauge_aiag.csv"
    ))
    .expect("data");
    let renamed = original.replacen(
        "part,operator,trial,measurement",
        "Sample,Appraiser,Trial,Reading",
        1,
    );
    let path = dir.path().join("renamed.csv");
    std::fs::write(&path, renamed).expect("write");
    let base = json(&emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        "designs/gauge_aiag.csv",
        "--format",
        "json",
    ]));
    let moved = json(&emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        path.to_str().expect("path"),
        "--column",
        "part=Sample",
        "--column",
        "Operator=appraiser",
        "--response",
        "Reading",
        "--format",
        "json",
    ]));
    assert_eq!(base["gauge"]["rows"], moved["gauge"]["rows"]);
    assert_eq!(moved["response"], "Reading");
    // A factor the design lacks: exit 2, naming the design and its factors.
    let o = emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        path.to_str().expect("path"),
        "--column",
        "widget=Sample",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("designs/gauge_aiag.toml") && e.contains("no factor `widget`"),
        "{e}"
    );
    let o = emslab(&[
        "gauge",
        "designs/gauge_aiag.toml",
        "designs/gauge_aiag.csv",
        "--column",
        "part",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FACTOR=COLUMN"), "{}", stderr(&o));
}

#[test]
fn json_names_the_formula_of_every_interval() {
    // Montgomery's example (interaction removed): the book's closed forms for Part-To-Part,
    // Total Gage R&R and the operator rows, exact chi-square for repeatability.
    let v = json(&emslab(&[
        "gauge",
        "designs/montgomery_gauge.toml",
        "designs/montgomery_gauge.csv",
        "--format",
        "json",
    ]));
    let g = &v["gauge"];
    let method = |row: usize, key: &str| g["rows"][row]["ci"][key]["method"].clone();
    let want = [
        ("mls-graybill-wang", Some("mls-part-gauge-ratio")),
        ("chi-square", Some("mls-inverted")),
        ("mls-ting", Some("mls-operator-ratio")),
        ("mls-ting", Some("mls-operator-ratio")),
        ("mls-ting", Some("mls-part-gauge-ratio")),
        ("mls-graybill-wang", None),
    ];
    for (i, (v, s)) in want.iter().enumerate() {
        for key in ["varcomp", "sd", "study_var"] {
            assert_eq!(method(i, key), *v, "row {i} {key}");
        }
        for key in ["pct_contribution", "pct_study_var"] {
            match s {
                Some(s) => assert_eq!(method(i, key), *s, "row {i} {key}"),
                None => assert!(g["rows"][i]["ci"][key].is_null(), "row {i} {key}"),
            }
        }
    }
    assert_eq!(g["ndc_ci"]["method"], "mls-part-gauge-ratio");
}
