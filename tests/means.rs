//! Means, comparisons and letters of `emslab analyze` against emmeans, lmerTest, pbkrtest
//! and multcomp; the restricted model's precision against its formulas written out; the
//! grand-mean interval of a published table.
//!
//! Provenance: `tests/data/means/reference.R` (lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2,
//! emmeans 1.8.4-1, multcomp 1.4-22 on R 4.2.2) wrote `reference.csv` and `letters.csv` (15
//! significant digits) and the balanced data it simulated for the shipped designs
//! split_plot, nested_factorial, three_factor_mixed and diet_time; machines and pastes are
//! the shipped data sets; machines_removed is Machines without the rows of
//! `tests/data/reml_inference/machines_removed.csv`. lme4's theta was polished to the exact
//! REML optimum, which on balanced data with every component positive (all are) is the
//! unrestricted moment solution. The suite never needs R.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{
    ADJUSTED_P_VS_EMMEANS, HAND_FORMULA, KENWARD_ROGER_VS_PBKRTEST, MEANS_VS_EMMEANS,
    SATTERTHWAITE_VS_LMERTEST, TUKEY_INTERVAL_VS_QTUKEY, close,
};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/means");

/// `reference.csv`: (dataset, method, kind, term, name) -> value.
fn reference() -> HashMap<(String, String, String, String, String), f64> {
    let mut rdr = csv::Reader::from_path(format!("{DATA}/reference.csv")).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (
                (
                    r[0].to_string(),
                    r[1].to_string(),
                    r[2].to_string(),
                    r[3].to_string(),
                    r[4].to_string(),
                ),
                r[5].parse().unwrap(),
            )
        })
        .collect()
}

/// `letters.csv`: (dataset, term, level key) -> letters.
fn letters() -> HashMap<(String, String, String), String> {
    let mut rdr = csv::Reader::from_path(format!("{DATA}/letters.csv")).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (
                (r[0].to_string(), r[1].to_string(), r[2].to_string()),
                r[3].to_string(),
            )
        })
        .collect()
}

fn json(args: &[&str]) -> Value {
    let o = common::emslab(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `factor=label;factor=label` of a level set (in the term's factor order).
fn key(levels: &Value) -> String {
    levels
        .as_object()
        .unwrap()
        .iter()
        .map(|(f, l)| format!("{f}={}", l.as_str().unwrap()))
        .collect::<Vec<_>>()
        .join(";")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

struct Check<'a> {
    refs: &'a HashMap<(String, String, String, String, String), f64>,
    dataset: &'a str,
    method: &'a str,
    failures: Vec<String>,
}

impl Check<'_> {
    fn get(&self, kind: &str, term: &str, name: &str) -> Option<f64> {
        self.refs
            .get(&(
                self.dataset.to_string(),
                self.method.to_string(),
                kind.to_string(),
                term.to_string(),
                name.to_string(),
            ))
            .copied()
    }

    /// `|value - reference| <= tol * max(1, |reference|)`, or absolute with `absolute`.
    fn at(&mut self, kind: &str, term: &str, name: &str, value: f64, tol: f64, absolute: bool) {
        let Some(r) = self.get(kind, term, name) else {
            self.failures.push(format!(
                "{}: no reference {kind} {term} {name}",
                self.dataset
            ));
            return;
        };
        let ok = if absolute {
            (value - r).abs() <= tol
        } else {
            close(value, r, tol)
        };
        if !ok {
            self.failures.push(format!(
                "{} {}: {kind} {term} {name}: emslab {value} vs R {r}",
                self.dataset, self.method
            ));
        }
    }
}

/// Tolerances of a method: (means and differences, df-dependent quantities).
fn tolerances(method: &str) -> (f64, f64) {
    match method {
        "kenward-roger" => (KENWARD_ROGER_VS_PBKRTEST, KENWARD_ROGER_VS_PBKRTEST),
        _ => (MEANS_VS_EMMEANS, MEANS_VS_EMMEANS),
    }
}

/// Compares an analysis' grand mean, means, comparisons at every adjustment and (with
/// Tukey) letters with the references of `dataset`.
fn compare(dataset: &str, method: &str, analyze: &[&str], df_tol: Option<f64>) -> Vec<String> {
    let refs = reference();
    let lets = letters();
    let mut c = Check {
        refs: &refs,
        dataset,
        method,
        failures: Vec::new(),
    };
    let (tol, df_default) = tolerances(method);
    let dtol = df_tol.unwrap_or(df_default);
    for adj in ["tukey", "bonferroni", "sidak", "none"] {
        let mut args = analyze.to_vec();
        args.extend(["--adjust", adj, "--format", "json"]);
        let v = json(&args);
        if adj == "tukey" {
            let g = &v["grand_mean"];
            c.at("grand_mean", "", "", num(&g["mean"]), tol, false);
            c.at("grand_mean_se", "", "", num(&g["se"]), tol, false);
            c.at("grand_mean_df", "", "", num(&g["df"]), dtol, false);
            c.at(
                "grand_mean_lower",
                "",
                "",
                num(&g["ci"]["lower"]),
                dtol,
                false,
            );
            c.at(
                "grand_mean_upper",
                "",
                "",
                num(&g["ci"]["upper"]),
                dtol,
                false,
            );
            for m in v["means"].as_array().unwrap() {
                let (term, k) = (m["term"].as_str().unwrap(), key(&m["levels"]));
                c.at("mean", term, &k, num(&m["mean"]), tol, false);
                c.at("mean_se", term, &k, num(&m["se"]), tol, false);
                c.at("mean_df", term, &k, num(&m["df"]), dtol, false);
                c.at("mean_lower", term, &k, num(&m["ci"]["lower"]), dtol, false);
                c.at("mean_upper", term, &k, num(&m["ci"]["upper"]), dtol, false);
            }
            for l in v["letters"].as_array().unwrap() {
                let (term, k) = (l["term"].as_str().unwrap(), key(&l["levels"]));
                let want = lets.get(&(dataset.to_string(), term.to_string(), k.clone()));
                if method == "satterthwaite" && want.map(String::as_str) != l["letters"].as_str() {
                    c.failures.push(format!(
                        "{dataset}: letters {term} {k}: emslab {} vs multcomp {want:?}",
                        l["letters"]
                    ));
                }
            }
        }
        let comparisons = v["comparisons"].as_array().unwrap();
        for p in comparisons {
            assert_eq!(p["adjustment"], adj);
            let term = p["term"].as_str().unwrap();
            let (a, b) = (key(&p["a"]), key(&p["b"]));
            // R's pair is a|b in its level order; the same pair the other way round has
            // the difference, t and interval negated.
            let (name, sign) = if c.get("pair", term, &format!("{a}|{b}")).is_some() {
                (format!("{a}|{b}"), 1.0)
            } else {
                (format!("{b}|{a}"), -1.0)
            };
            if adj == "none" {
                c.at(
                    "pair",
                    term,
                    &name,
                    sign * num(&p["difference"]),
                    tol,
                    false,
                );
                c.at("pair_se", term, &name, num(&p["se"]), tol, false);
                c.at("pair_df", term, &name, num(&p["df"]), dtol, false);
                c.at("pair_t", term, &name, sign * num(&p["t"]), dtol, false);
            }
            let kind = format!("p_{adj}");
            c.at(
                &kind,
                term,
                &name,
                num(&p["p_adjusted"]),
                ADJUSTED_P_VS_EMMEANS.max(dtol),
                true,
            );
            let itol = if adj == "tukey" {
                TUKEY_INTERVAL_VS_QTUKEY
            } else {
                dtol
            };
            let (lo, hi) = (num(&p["ci"]["lower"]), num(&p["ci"]["upper"]));
            let (lo, hi) = if sign > 0.0 { (lo, hi) } else { (-hi, -lo) };
            c.at(&format!("lower_{adj}"), term, &name, lo, itol, false);
            c.at(&format!("upper_{adj}"), term, &name, hi, itol, false);
        }
        if comparisons.is_empty() && dataset != "pastes" {
            c.failures.push(format!("{dataset}: no comparisons"));
        }
    }
    c.failures
}

fn design(name: &str) -> String {
    common::design_path(name).display().to_string()
}

fn balanced_sets() -> Vec<(&'static str, String, String)> {
    let shipped = |n: &str| (design(&format!("{n}.toml")), design(&format!("{n}.csv")));
    let simulated = |n: &str| (design(&format!("{n}.toml")), format!("{DATA}/{n}.csv"));
    vec![
        ("machines", shipped("machines").0, shipped("machines").1),
        ("pastes", shipped("pastes").0, shipped("pastes").1),
        (
            "split_plot",
            simulated("split_plot").0,
            simulated("split_plot").1,
        ),
        (
            "nested_factorial",
            simulated("nested_factorial").0,
            simulated("nested_factorial").1,
        ),
        (
            "three_factor_mixed",
            simulated("three_factor_mixed").0,
            simulated("three_factor_mixed").1,
        ),
        (
            "diet_time",
            simulated("diet_time").0,
            simulated("diet_time").1,
        ),
    ]
}

/// Balanced data, method `ems` (unrestricted model): every mean, SE, df and interval, every
/// pair at every adjustment and the letters agree with emmeans on the lme4 fit at its
/// optimum and with multcomp.
#[test]
fn balanced_means_agree_with_emmeans_on_lme4() {
    let mut failures = Vec::new();
    for (name, d, data) in balanced_sets() {
        failures.extend(compare(
            name,
            "satterthwaite",
            &["analyze", &d, &data, "--model", "unrestricted", "--no-reml"],
            None,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The means' standard errors and df do not depend on the model (their variance is the same
/// combination of mean squares in both), and the restricted model's precision equals its
/// formulas in the restricted components, written out here for each design and evaluated
/// at the restricted moment estimates of the same report.
#[test]
fn restricted_precision_equals_its_formulas() {
    for (name, d, data) in balanced_sets() {
        // (--adjust none: this test is about the variances, not the studentized range.)
        let r = json(&[
            "analyze",
            &d,
            &data,
            "--no-reml",
            "--adjust",
            "none",
            "--format",
            "json",
        ]);
        let u = json(&[
            "analyze",
            &d,
            &data,
            "--no-reml",
            "--adjust",
            "none",
            "--model",
            "unrestricted",
            "--format",
            "json",
        ]);
        for (x, y) in r["means"]
            .as_array()
            .unwrap()
            .iter()
            .zip(u["means"].as_array().unwrap())
        {
            assert!(close(num(&x["se"]), num(&y["se"]), HAND_FORMULA), "{name}");
            assert!(close(num(&x["df"]), num(&y["df"]), HAND_FORMULA), "{name}");
        }
        let comp: HashMap<&str, f64> = r["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["term"].as_str().unwrap(), num(&c["estimate"])))
            .collect();
        let s = |t: &str| comp[t];
        let row = |term: &str, quantity: &str| -> f64 {
            let p = r["precision"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["term"] == term && p["quantity"] == quantity)
                .unwrap_or_else(|| panic!("{name}: precision row {term} {quantity}"));
            num(&p["estimate"])
        };
        // Restricted model: a mixed effect U with fixed live factors F keeps the share
        // Π (n_f - 1)/n_f in a mean over F, and differences of such means see it fully.
        let expected: Vec<(&str, &str, f64, f64)> = match name {
            "machines" => {
                let (m, w, n) = (3.0, 6.0, 3.0);
                vec![
                    (
                        "Machine",
                        "mean",
                        row("Machine", "mean"),
                        s("Worker") / w
                            + (m - 1.0) / m * s("Machine:Worker") / w
                            + s("Residual") / (w * n),
                    ),
                    (
                        "Machine",
                        "difference",
                        row("Machine", "difference"),
                        2.0 * s("Machine:Worker") / w + 2.0 * s("Residual") / (w * n),
                    ),
                ]
            }
            "split_plot" => {
                let (r_, a, b) = (3.0, 3.0, 4.0);
                vec![(
                    "method",
                    "mean",
                    row("method", "mean"),
                    s("day") / r_ + (a - 1.0) / a * s("day:method") / r_ + s("Residual") / (r_ * b),
                )]
            }
            "nested_factorial" => {
                let (a, b, c, n) = (3.0, 2.0, 4.0, 2.0);
                vec![(
                    "fixture",
                    "mean",
                    row("fixture", "mean"),
                    s("operator(layout)") / (b * c)
                        + (a - 1.0) / a * s("fixture:operator(layout)") / (b * c)
                        + s("Residual") / (b * c * n),
                )]
            }
            "three_factor_mixed" => {
                let (a, b, c, n) = (3.0, 4.0, 5.0, 2.0);
                let k = (a - 1.0) / a;
                vec![
                    (
                        "A",
                        "mean",
                        row("A", "mean"),
                        s("B") / b
                            + s("C") / c
                            + k * s("A:B") / b
                            + k * s("A:C") / c
                            + s("B:C") / (b * c)
                            + k * s("A:B:C") / (b * c)
                            + s("Residual") / (b * c * n),
                    ),
                    (
                        "A",
                        "difference",
                        row("A", "difference"),
                        2.0 * (s("A:B") / b
                            + s("A:C") / c
                            + s("A:B:C") / (b * c)
                            + s("Residual") / (b * c * n)),
                    ),
                ]
            }
            "diet_time" => {
                let (s_, t, n) = (6.0, 6.0, 1.0);
                vec![
                    (
                        "diet:time",
                        "mean",
                        row("diet:time", "mean"),
                        s("subject(diet)") / s_ + s("Residual") / (s_ * n),
                    ),
                    (
                        "subject(diet)",
                        "mean",
                        row("subject(diet)", "mean"),
                        s("subject(diet)") + s("Residual") / (t * n),
                    ),
                ]
            }
            _ => Vec::new(),
        };
        for (term, q, got, want) in expected {
            assert!(
                close(got, want, HAND_FORMULA),
                "{name} {term} {q}: precision {got} vs restricted formula {want}"
            );
        }
    }
}

/// Unbalanced data: the means come from the REML fit (Satterthwaite, and Kenward-Roger with
/// --kenward-roger), adjusted as for balanced data.
#[test]
fn unbalanced_means_agree_with_emmeans_and_pbkrtest() {
    let csv = std::fs::read_to_string(design("machines.csv")).unwrap();
    let removed: Vec<usize> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/reml_inference/machines_removed.csv"
    ))
    .unwrap()
    .lines()
    .skip(1)
    .map(|l| l.trim().parse().unwrap())
    .collect();
    let kept: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !removed.contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("machines_removed.csv");
    std::fs::write(&path, kept).unwrap();
    let (d, p) = (design("machines.toml"), path.display().to_string());
    let v = json(&["analyze", &d, &p, "--format", "json"]);
    assert_eq!(v["balanced"], false);
    assert_eq!(v["means"][0]["method"], "reml-satterthwaite");
    assert!(v["means"][0].get("variance").is_none());
    assert!(v["fixed_tests"].as_array().is_some_and(|t| !t.is_empty()));
    let mut failures = compare(
        "machines_removed",
        "satterthwaite",
        &["analyze", &d, &p],
        Some(SATTERTHWAITE_VS_LMERTEST),
    );
    let kr = json(&["analyze", &d, &p, "--kenward-roger", "--format", "json"]);
    assert_eq!(kr["means"][0]["method"], "reml-kenward-roger");
    let methods: Vec<&str> = kr["fixed_tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ddf_method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["satterthwaite", "kenward-roger"]);
    failures.extend(compare(
        "machines_removed",
        "kenward-roger",
        &["analyze", &d, &p, "--kenward-roger"],
        None,
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The pigment paste's published table (Box, Hunter and Hunter, §9.3: MS(batch) = 86.495 on
/// 14 df) with a grand mean: Var(ȳ) = MS(batch) / (b s n) on 14 df; the half-width is
/// qt(0.975, 14) sqrt(86.495 / 60) = 2.5751586002038196 (R 4.2.2).
#[test]
fn published_table_grand_mean_interval_on_14_df() {
    let v = json(&[
        "analyze",
        &design("pigment_paste.toml"),
        "--summary",
        &design("pigment_paste_summary.csv"),
        "--grand-mean",
        "26.78",
        "--format",
        "json",
    ]);
    let g = &v["grand_mean"];
    assert_eq!(g["df"], 14.0);
    assert_eq!(g["variance_symbolic"], "MS(batch) / (b s n)");
    assert!(close(
        num(&g["se"]),
        (86.495f64 / 60.0).sqrt(),
        HAND_FORMULA
    ));
    let half = 2.5751586002038196;
    assert!(close(num(&g["ci"]["lower"]), 26.78 - half, HAND_FORMULA));
    assert!(close(num(&g["ci"]["upper"]), 26.78 + half, HAND_FORMULA));
    // Without the grand mean: no interval, and a note says why.
    let v = json(&[
        "analyze",
        &design("pigment_paste.toml"),
        "--summary",
        &design("pigment_paste_summary.csv"),
        "--format",
        "json",
    ]);
    assert!(v.get("grand_mean").is_none());
    // --grand-mean needs --summary.
    let o = common::emslab(&[
        "analyze",
        &design("machines.toml"),
        &design("machines.csv"),
        "--grand-mean",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// The course's diet × time questions: the covariance matrix of one subject's observations
/// is compound symmetric (σ²(subject) off the diagonal, σ²(subject) + σ² on it), Var(ȳ_ij.)
/// = MS(subject(diet)) / (t n) on the 15 df of subject(diet), and Var(ȳ_i.k) is the
/// synthetic (MS(subject(diet)) + (t-1) MS(Residual)) / (s t n). The components are lme4's
/// REML estimates at the optimum (reference.csv: diet:subject 12.585942741726, Residual
/// 2.78499559255084), equal to the moment estimates here.
#[test]
fn diet_time_covariance_and_precision() {
    let refs = reference();
    let var = |g: &str| {
        refs[&(
            "diet_time".into(),
            String::new(),
            "variance".into(),
            g.into(),
            String::new(),
        )]
    };
    let (s2s, s2) = (var("diet:subject"), var("Residual"));
    let v = json(&[
        "analyze",
        &design("diet_time.toml"),
        &format!("{DATA}/diet_time.csv"),
        "--no-reml",
        "--adjust",
        "none",
        "--format",
        "json",
    ]);
    let cov = v["covariances"].as_array().unwrap();
    assert_eq!(cov[0]["covariance_symbolic"], "σ²(subject(diet)) + σ²");
    assert!(close(num(&cov[0]["estimate"]), s2s + s2, MEANS_VS_EMMEANS));
    let subject = cov
        .iter()
        .find(|c| c["shared"] == serde_json::json!(["subject(diet)"]))
        .unwrap();
    assert_eq!(subject["covariance_symbolic"], "σ²(subject(diet))");
    assert!(close(num(&subject["estimate"]), s2s, MEANS_VS_EMMEANS));
    assert!(close(
        num(&subject["correlation"]),
        s2s / (s2s + s2),
        MEANS_VS_EMMEANS
    ));
    let row = |term: &str| {
        v["precision"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["term"] == term && p["quantity"] == "mean")
            .unwrap()
            .clone()
    };
    let cell = row("subject(diet)");
    assert_eq!(cell["variance_symbolic"], "MS(subject(diet)) / (t n)");
    assert_eq!(cell["df"], 15.0);
    assert!(close(
        num(&cell["estimate"]),
        s2s + s2 / 6.0,
        MEANS_VS_EMMEANS
    ));
    let dt = row("diet:time");
    assert_eq!(
        dt["variance_symbolic"],
        "(MS(subject(diet)) + (t-1) MS(Residual)) / (s t n)"
    );
    assert!(close(
        num(&dt["estimate"]),
        s2s / 6.0 + s2 / 6.0,
        MEANS_VS_EMMEANS
    ));
    assert!(num(&dt["df"]) > 15.0 && num(&dt["df"]) < 90.0);
}

/// `--negative pool`: Dyestuff2's batch estimate is negative, Batch is pooled into the
/// Residual, and the grand mean's variance is that of the reduced model, σ² / (b n) with
/// σ² the pooled mean square on 5 + 24 = 29 df; the symbolic form (the full model's
/// MS(Batch) / (b n)) is then left out and a note says why. Without pooling, MS(Batch) /
/// (b n) on Batch's 5 df.
#[test]
fn pooling_gives_the_reduced_models_precision() {
    let (d, data) = (design("dyestuff2.toml"), design("dyestuff2.csv"));
    let full = json(&["analyze", &d, &data, "--no-reml", "--format", "json"]);
    let g = &full["grand_mean"];
    let ms = |v: &Value, term: &str| {
        num(&v["terms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["term"] == term)
            .unwrap()["ms"])
    };
    assert_eq!(g["df"], 5.0);
    assert_eq!(g["variance_symbolic"], "MS(Batch) / (b n)");
    assert!(close(
        num(&g["se"]),
        (ms(&full, "Batch") / 30.0).sqrt(),
        HAND_FORMULA
    ));
    let pooled = json(&[
        "analyze",
        &d,
        &data,
        "--no-reml",
        "--negative",
        "pool",
        "--format",
        "json",
    ]);
    let g = &pooled["grand_mean"];
    assert_eq!(g["df"], 29.0);
    assert!(g.get("variance_symbolic").is_none());
    let ss: f64 = pooled["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| num(&t["ss"]))
        .sum();
    assert!(close(
        num(&g["se"]),
        (ss / 29.0 / 30.0).sqrt(),
        HAND_FORMULA
    ));
    assert!(
        pooled["means_notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("reduced model"))
    );
}
