//! `emslab::gauge`: gauge R&R studies (crossed with and without the interaction, nested)
//! against an independent R implementation, and the AIAG reference study against the table
//! Minitab prints.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use emslab::Design;
use emslab::data::{ReadOptions, read_csv};
use emslab::gauge::{self, GaugeStudy, InteractionStatus, Options, Source, Tolerance};

use common::{GAUGE_VS_R, rel_close};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gauge")
}

fn run(design: &Design, csv: &Path, opts: &Options) -> GaugeStudy {
    let prepared = gauge::prepare(design, opts).expect("roles");
    let ds = read_csv(
        csv,
        &prepared.design,
        &ReadOptions {
            keep_rows: true,
            ..ReadOptions::default()
        },
    )
    .expect("data");
    gauge::study(&prepared, &ds, opts).expect("study")
}

fn crossed_design(parts: u32, operators: u32, reps: u32) -> Design {
    Design::from_toml_str(&format!(
        r#"
        response = "measurement"
        replicates = {reps}
        [[factors]]
        name = "part"
        kind = "random"
        levels = {parts}
        role = "part"
        [[factors]]
        name = "operator"
        kind = "random"
        levels = {operators}
        role = "operator"
        "#
    ))
    .expect("design")
}

fn nested_design() -> Design {
    Design::from_toml_str(
        r#"
        response = "measurement"
        replicates = 3
        [[factors]]
        name = "operator"
        kind = "random"
        levels = 3
        [[factors]]
        name = "part"
        kind = "random"
        levels = 5
        nested_in = ["operator"]
        "#,
    )
    .expect("design")
}

/// The studies of gauge_reference.R, by its dataset names.
fn studies() -> Vec<(&'static str, GaugeStudy)> {
    let opts = |alpha: f64, k: f64, tol: Option<f64>| Options {
        interaction_alpha: alpha,
        study_var: k,
        tolerance: tol.map(Tolerance::Width),
        ..Options::default()
    };
    let shipped = |name: &str| {
        emslab::io::read_design(&common::design_path(&format!("{name}.toml"))).expect("design")
    };
    let d = data_dir();
    vec![
        (
            "montgomery",
            run(
                &shipped("montgomery_gauge"),
                &common::design_path("montgomery_gauge.csv"),
                &opts(0.05, 6.0, Some(55.0)),
            ),
        ),
        (
            "aiag",
            run(
                &shipped("gauge_aiag"),
                &common::design_path("gauge_aiag.csv"),
                &opts(0.05, 6.0, Some(8.0)),
            ),
        ),
        (
            "sim_kept",
            run(&crossed_design(10, 3, 2), &d.join("sim_kept.csv"), &opts(0.05, 6.0, None)),
        ),
        (
            "sim_removed",
            run(
                &crossed_design(8, 4, 3),
                &d.join("sim_removed.csv"),
                &opts(0.05, 6.0, Some(10.0)),
            ),
        ),
        (
            "sim_alpha25_at_005",
            run(&crossed_design(10, 3, 2), &d.join("sim_alpha25.csv"), &opts(0.05, 6.0, None)),
        ),
        (
            "sim_alpha25_at_025",
            run(&crossed_design(10, 3, 2), &d.join("sim_alpha25.csv"), &opts(0.25, 6.0, None)),
        ),
        (
            "sim_nested",
            run(
                &nested_design(),
                &d.join("sim_nested.csv"),
                &Options {
                    part: Some("part".into()),
                    operator: Some("operator".into()),
                    ..opts(0.05, 5.15, Some(12.0))
                },
            ),
        ),
    ]
}

/// A CSV written by gauge_reference.R: one map per line, values trimmed.
fn reference(file: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(data_dir().join(file)).expect("reference file");
    let headers = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.trim().to_string()))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> Option<f64> {
    row.get(key).and_then(|v| v.parse().ok())
}

fn check(what: &str, ours: Option<f64>, theirs: Option<f64>) {
    match (ours, theirs) {
        (Some(a), Some(b)) => assert!(
            rel_close(a, b, GAUGE_VS_R),
            "{what}: emslab {a:e}, R {b:e}"
        ),
        (None, None) => {}
        (a, b) => panic!("{what}: emslab {a:?}, R {b:?}"),
    }
}

fn source(name: &str) -> Source {
    [
        Source::TotalGageRr,
        Source::Repeatability,
        Source::Reproducibility,
        Source::Operator,
        Source::OperatorPart,
        Source::PartToPart,
        Source::TotalVariation,
    ]
    .into_iter()
    .find(|s| s.name() == name)
    .expect("source name")
}

#[test]
fn every_number_of_the_table_matches_the_r_implementation() {
    // R 4.2.2, tests/data/gauge/gauge_reference.R -> gauge_rows.csv.
    let studies: HashMap<_, _> = studies().into_iter().collect();
    let rows = reference("gauge_rows.csv");
    let mut per_study: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        let ds = r["dataset"].as_str();
        let s = &studies[ds];
        let row = s.row(source(&r["source"])).expect("row present");
        *per_study.entry(&r["dataset"]).or_default() += 1;
        let w = |k: &str| format!("{ds} {} {k}", r["source"]);
        check(&w("varcomp"), Some(row.varcomp), num(r, "varcomp"));
        check(&w("%contribution"), Some(row.pct_contribution), num(r, "pct_contribution"));
        check(&w("sd"), Some(row.sd), num(r, "sd"));
        check(&w("study var"), Some(row.study_var), num(r, "study_var"));
        check(&w("%study var"), Some(row.pct_study_var), num(r, "pct_study_var"));
        check(&w("%tolerance"), row.pct_tolerance, num(r, "pct_tolerance"));
        let ci = row.ci.expect("intervals");
        check(&w("varcomp lower"), Some(ci.varcomp.lower), num(r, "varcomp_lower"));
        check(&w("varcomp upper"), Some(ci.varcomp.upper), num(r, "varcomp_upper"));
        let pc = ci.pct_contribution;
        check(&w("%contribution lower"), pc.map(|b| b.lower), num(r, "pct_contribution_lower"));
        check(&w("%contribution upper"), pc.map(|b| b.upper), num(r, "pct_contribution_upper"));
        let sv = ci.pct_study_var;
        check(&w("%study var lower"), sv.map(|b| b.lower), num(r, "pct_study_var_lower"));
        check(&w("%study var upper"), sv.map(|b| b.upper), num(r, "pct_study_var_upper"));
        let pt = ci.pct_tolerance;
        check(&w("%tolerance lower"), pt.map(|b| b.lower), num(r, "pct_tolerance_lower"));
        check(&w("%tolerance upper"), pt.map(|b| b.upper), num(r, "pct_tolerance_upper"));
    }
    // Every row of every study was compared, and no study has rows R lacks.
    for (name, s) in &studies {
        assert_eq!(per_study.get(name), Some(&s.rows.len()), "{name}");
    }
}

#[test]
fn anova_tables_and_interaction_decisions_match_the_r_implementation() {
    // R 4.2.2, tests/data/gauge/gauge_reference.R -> gauge_anova.csv, gauge_summary.csv.
    let studies: HashMap<_, _> = studies().into_iter().collect();
    for r in reference("gauge_anova.csv") {
        let s = &studies[r["dataset"].as_str()];
        let table = if r["model"] == "full" {
            &s.full
        } else {
            s.reduced.as_ref().expect("reduced model")
        };
        let i = match r["term"].as_str() {
            "part" | "operator" if s.layout == gauge::Layout::Crossed => {
                usize::from(r["term"] == "operator")
            }
            "operator" => 0,
            "part_in" => 1,
            "part:operator" => 2,
            "Residuals" => table.anova.rows.len() - 1,
            t => panic!("term {t}"),
        };
        let what = format!("{} {} {}", r["dataset"], r["model"], r["term"]);
        let row = &table.anova.rows[i];
        assert_eq!(row.df as f64, num(&r, "df").expect("df"), "{what} df");
        check(&format!("{what} ss"), row.ss, num(&r, "ss"));
        check(&format!("{what} ms"), Some(row.ms), num(&r, "ms"));
        check(&format!("{what} f"), table.tests[i].f, num(&r, "f"));
        check(&format!("{what} p"), table.tests[i].p, num(&r, "p"));
    }
    for r in reference("gauge_summary.csv") {
        let s = &studies[r["dataset"].as_str()];
        let what = r["dataset"].clone();
        match r["interaction"].as_str() {
            "NA" => assert!(s.interaction.is_none(), "{what}"),
            status => {
                let i = s.interaction.expect("interaction decision");
                assert_eq!(i.status.as_str(), status, "{what}");
                check(&format!("{what} interaction p"), i.p, num(&r, "interaction_p"));
            }
        }
        check(&format!("{what} ndc value"), s.ndc_value, num(&r, "ndc_value"));
        assert_eq!(s.ndc.map(|n| n as f64), num(&r, "ndc"), "{what} ndc");
    }
}

#[test]
fn the_three_interaction_cases_are_covered() {
    let s: HashMap<_, _> = studies().into_iter().collect();
    let status = |n: &str| s[n].interaction.expect("crossed").status;
    assert_eq!(status("sim_kept"), InteractionStatus::Kept);
    assert_eq!(status("sim_removed"), InteractionStatus::Removed);
    assert_eq!(status("sim_alpha25_at_005"), InteractionStatus::Removed);
    assert_eq!(status("sim_alpha25_at_025"), InteractionStatus::Kept);
    assert!(s["sim_kept"].row(Source::OperatorPart).is_some());
    assert!(s["sim_removed"].row(Source::OperatorPart).is_none());
}
