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
            run(
                &crossed_design(10, 3, 2),
                &d.join("sim_kept.csv"),
                &opts(0.05, 6.0, None),
            ),
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
            run(
                &crossed_design(10, 3, 2),
                &d.join("sim_alpha25.csv"),
                &opts(0.05, 6.0, None),
            ),
        ),
        (
            "sim_alpha25_at_025",
            run(
                &crossed_design(10, 3, 2),
                &d.join("sim_alpha25.csv"),
                &opts(0.25, 6.0, None),
            ),
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
        (Some(a), Some(b)) => assert!(rel_close(a, b, GAUGE_VS_R), "{what}: emslab {a:e}, R {b:e}"),
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
        check(
            &w("%contribution"),
            Some(row.pct_contribution),
            num(r, "pct_contribution"),
        );
        check(&w("sd"), Some(row.sd), num(r, "sd"));
        check(&w("study var"), Some(row.study_var), num(r, "study_var"));
        check(
            &w("%study var"),
            Some(row.pct_study_var),
            num(r, "pct_study_var"),
        );
        check(&w("%tolerance"), row.pct_tolerance, num(r, "pct_tolerance"));
        let ci = row.ci.expect("intervals");
        check(
            &w("varcomp lower"),
            Some(ci.varcomp.lower),
            num(r, "varcomp_lower"),
        );
        check(
            &w("varcomp upper"),
            Some(ci.varcomp.upper),
            num(r, "varcomp_upper"),
        );
        let pc = ci.pct_contribution;
        check(
            &w("%contribution lower"),
            pc.map(|b| b.lower),
            num(r, "pct_contribution_lower"),
        );
        check(
            &w("%contribution upper"),
            pc.map(|b| b.upper),
            num(r, "pct_contribution_upper"),
        );
        let sv = ci.pct_study_var;
        check(
            &w("%study var lower"),
            sv.map(|b| b.lower),
            num(r, "pct_study_var_lower"),
        );
        check(
            &w("%study var upper"),
            sv.map(|b| b.upper),
            num(r, "pct_study_var_upper"),
        );
        // The formula of each interval, as the R script names it.
        assert_eq!(
            ci.varcomp_method.as_str(),
            r["varcomp_method"],
            "{}",
            w("varcomp method")
        );
        assert_eq!(
            ci.share_method.map_or("NA", |m| m.as_str()),
            r["share_method"],
            "{}",
            w("share method")
        );
        let pt = ci.pct_tolerance;
        check(
            &w("%tolerance lower"),
            pt.map(|b| b.lower),
            num(r, "pct_tolerance_lower"),
        );
        check(
            &w("%tolerance upper"),
            pt.map(|b| b.upper),
            num(r, "pct_tolerance_upper"),
        );
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
                check(
                    &format!("{what} interaction p"),
                    i.p,
                    num(&r, "interaction_p"),
                );
            }
        }
        check(
            &format!("{what} ndc value"),
            s.ndc_value,
            num(&r, "ndc_value"),
        );
        let ndc_ci = s.ndc_ci.map(|c| c.bounds);
        check(
            &format!("{what} ndc lower"),
            ndc_ci.map(|b| b.lower),
            num(&r, "ndc_lower"),
        );
        check(
            &format!("{what} ndc upper"),
            ndc_ci.map(|b| b.upper),
            num(&r, "ndc_upper"),
        );
        if let Some(c) = s.ndc_ci {
            assert_eq!(c.method.as_str(), r["ndc_method"], "{what} ndc method");
        }
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

/// A printed ANOVA line: DF, SS, MS, and F and P where printed.
type PrintedAnovaRow<'a> = (u64, &'a str, &'a str, Option<(&'a str, &'a str)>);

/// Minitab's printed table for the AIAG study (GAGEAIAG.MTW: the AIAG MSA manual's 10
/// parts x 3 appraisers x 3 trials, shipped as designs/gauge_aiag.csv), Stat > Quality
/// Tools > Gage Study > Gage R&R Study (Crossed), ANOVA method, process tolerance 8: Minitab
/// 19 Help, "Example of Crossed Gage R&R Study" (support.minitab.com, crossed-gage-r-r-study
/// / before-you-start / example), also Minitab Blog, "Crossed Gage R&R: How are the
/// Variance Components Calculated?" (20 February 2015).
#[test]
fn aiag_study_reproduces_minitabs_printed_table() {
    use common::matches_decimals;
    let design = emslab::io::read_design(&common::design_path("gauge_aiag.toml")).expect("design");
    let s = run(
        &design,
        &common::design_path("gauge_aiag.csv"),
        &Options {
            tolerance: Some(Tolerance::Width(8.0)),
            ..Options::default()
        },
    );
    let ok = |what: &str, v: f64, printed: &str| {
        assert!(
            matches_decimals(v, printed),
            "{what}: {v} vs Minitab {printed}"
        );
    };
    // Two-Way ANOVA Table With Interaction (DF, SS, MS, F, P).
    let full: [PrintedAnovaRow; 4] = [
        (9, "88.3619", "9.81799", Some(("492.291", "0.000"))),
        (2, "3.1673", "1.58363", Some(("79.406", "0.000"))),
        (18, "0.3590", "0.01994", Some(("0.434", "0.974"))),
        (60, "2.7589", "0.04598", None),
    ];
    for (i, (df, ss, ms, fp)) in full.iter().enumerate() {
        let row = &s.full.anova.rows[i];
        assert_eq!(row.df, *df);
        ok("SS", row.ss.expect("ss"), ss);
        ok("MS", row.ms, ms);
        if let Some((f, p)) = fp {
            ok("F", s.full.tests[i].f.expect("f"), f);
            ok("P", s.full.tests[i].p.expect("p"), p);
        }
    }
    ok(
        "total SS",
        s.full
            .anova
            .total
            .as_ref()
            .and_then(|t| t.ss)
            .expect("total"),
        "94.6471",
    );
    // p = 0.974 >= 0.05: the interaction is removed.
    assert_eq!(
        s.interaction.expect("crossed").status,
        InteractionStatus::Removed
    );
    // Two-Way ANOVA Table Without Interaction.
    let red = s.reduced.as_ref().expect("reduced");
    let reduced: [PrintedAnovaRow; 3] = [
        (9, "88.3619", "9.81799", Some(("245.614", "0.000"))),
        (2, "3.1673", "1.58363", Some(("39.617", "0.000"))),
        (78, "3.1179", "0.03997", None),
    ];
    for (i, (df, ss, ms, fp)) in reduced.iter().enumerate() {
        let row = &red.anova.rows[i];
        assert_eq!(row.df, *df);
        ok("SS", row.ss.expect("ss"), ss);
        ok("MS", row.ms, ms);
        if let Some((f, p)) = fp {
            ok("F", red.tests[i].f.expect("f"), f);
            ok("P", red.tests[i].p.expect("p"), p);
        }
    }
    // Gage R&R: VarComp, %Contribution; StdDev, Study Var (6 x SD), %Study Var, %Tolerance.
    let table = [
        (
            Source::TotalGageRr,
            "0.09143",
            "7.76",
            "0.30237",
            "1.81423",
            "27.86",
            "22.68",
        ),
        (
            Source::Repeatability,
            "0.03997",
            "3.39",
            "0.19993",
            "1.19960",
            "18.42",
            "14.99",
        ),
        (
            Source::Reproducibility,
            "0.05146",
            "4.37",
            "0.22684",
            "1.36103",
            "20.90",
            "17.01",
        ),
        (
            Source::Operator,
            "0.05146",
            "4.37",
            "0.22684",
            "1.36103",
            "20.90",
            "17.01",
        ),
        (
            Source::PartToPart,
            "1.08645",
            "92.24",
            "1.04233",
            "6.25396",
            "96.04",
            "78.17",
        ),
        (
            Source::TotalVariation,
            "1.17788",
            "100.00",
            "1.08530",
            "6.51180",
            "100.00",
            "81.40",
        ),
    ];
    assert_eq!(
        s.rows.len(),
        table.len(),
        "no Operator*Part row once removed"
    );
    for (src, vc, pc, sd, sv, psv, ptol) in table {
        let r = s.row(src).expect("row");
        ok(src.name(), r.varcomp, vc);
        ok(src.name(), r.pct_contribution, pc);
        ok(src.name(), r.sd, sd);
        ok(src.name(), r.study_var, sv);
        ok(src.name(), r.pct_study_var, psv);
        ok(src.name(), r.pct_tolerance.expect("tolerance"), ptol);
    }
    // Number of Distinct Categories = 4.
    assert_eq!(s.ndc, Some(4));
}

/// The AIAG data sheet (MSA manual, 4th ed., Gauge Repeatability and Reproducibility Data
/// Collection Sheet) prints R̄ = 0.3417 and X̿ = 0.0014 for these data; the limits use
/// A2 = 1.023 and D4 = 2.574 for subgroups of 3 (Montgomery, Introduction to Statistical
/// Quality Control, Appendix VI).
#[test]
fn xbar_and_r_charts_of_the_aiag_study() {
    use emslab::chart::gauge::{constants, xbar_r};
    let design = emslab::io::read_design(&common::design_path("gauge_aiag.toml")).expect("design");
    let s = run(
        &design,
        &common::design_path("gauge_aiag.csv"),
        &Options::default(),
    );
    let c = xbar_r(&s.observations).expect("charts");
    assert_eq!(c.n, 3);
    assert!(common::matches_decimals(c.r.center, "0.3417"));
    assert!(common::matches_decimals(c.xbar.center, "0.0014"));
    let k = constants(3).expect("n = 3");
    assert_eq!((k.a2, k.d3, k.d4), (1.023, 0.0, 2.574));
    assert!(rel_close(
        c.r.upper,
        2.574 * c.r.center,
        common::RELATIVE_EXACT
    ));
    assert_eq!(c.r.lower, 0.0);
    assert!(rel_close(
        c.xbar.upper - c.xbar.center,
        1.023 * c.r.center,
        common::RELATIVE_EXACT
    ));
    // Appraiser A, part 1: trials 0.29, 0.41, 0.64 (the data sheet's average 0.447, range
    // 0.350); appraiser C, part 10: -1.49, -1.77, -2.16 (-1.807, 0.670).
    assert!(common::matches_decimals(c.means[0][0], "0.447"));
    assert!(common::matches_decimals(c.ranges[0][0], "0.350"));
    assert!(common::matches_decimals(c.means[2][9], "-1.807"));
    assert!(common::matches_decimals(c.ranges[2][9], "0.670"));
    assert!(constants(1).is_none() && constants(26).is_none());
    assert_eq!(constants(7).map(|k| k.d3), Some(0.076));
}

#[test]
fn the_figure_holds_the_six_panels_with_their_data() {
    use emslab::chart::{SeriesData, gauge::figure};
    let design = emslab::io::read_design(&common::design_path("gauge_aiag.toml")).expect("design");
    let s = run(
        &design,
        &common::design_path("gauge_aiag.csv"),
        &Options {
            tolerance: Some(Tolerance::Width(8.0)),
            ..Options::default()
        },
    );
    let f = figure(&s, "measurement");
    assert_eq!(f.panels.len(), 6);
    assert_eq!(f.columns, 2);
    // Components of variation: three bar series (%Contribution, %Study Var, %Tolerance) over
    // Gage R&R, Repeat, Reprod, Part-to-Part, heights from the table.
    let comp = &f.panels[0];
    assert_eq!(comp.series.len(), 3);
    let SeriesData::Bars(contrib) = &comp.series[0].data else {
        panic!("bars")
    };
    let heights: Vec<f64> = contrib.iter().map(|b| b.height).collect();
    let want: Vec<f64> = [
        Source::TotalGageRr,
        Source::Repeatability,
        Source::Reproducibility,
        Source::PartToPart,
    ]
    .iter()
    .map(|&src| s.row(src).expect("row").pct_contribution)
    .collect();
    assert_eq!(heights, want);
    // Measurement by part: all 90 points; the interaction plot: one line per operator
    // through the 10 cell means.
    let SeriesData::Points(p) = &f.panels[1].series[0].data else {
        panic!("points")
    };
    assert_eq!(p.len(), 90);
    let inter = &f.panels[5];
    assert_eq!(inter.series.len(), 3);
    let SeriesData::Line { points, .. } = &inter.series[0].data else {
        panic!("line")
    };
    assert_eq!(points.len(), 10);
    assert!(common::matches_decimals(points[0][1], "0.447"));
    // The R chart: 30 subgroups (NaN breaks between operators) and its three limits.
    let r = &f.panels[2];
    let SeriesData::Line { points, .. } = &r.series[0].data else {
        panic!("line")
    };
    assert_eq!(points.iter().filter(|q| q[1].is_finite()).count(), 30);
    assert_eq!(r.bands.len(), 3);
    let levels: Vec<f64> = r
        .series
        .iter()
        .filter_map(|s| match &s.data {
            SeriesData::Level { value, .. } => Some(*value),
            _ => None,
        })
        .collect();
    assert_eq!(levels.len(), 3);
}
