//! REML engine: reference fits, identities and properties.
//!
//! Provenance of the numbers:
//! - `tests/data/reml/README.md` ("Numbers quoted"): lme4 1.1-31 on R 4.2.2 with tight tolerances (`nloptwrap`,
//!   `xtol_abs = 1e-12`, `ftol_abs = 1e-14`), printed to 8 significant digits, and the moment
//!   estimates of the same data.
//! - `tests/data/reml/reference_fits.csv`: fits we made ourselves with the same lme4 and
//!   settings, written with 15 significant digits by `tests/data/reml/reference_fits.R`
//!   (unbalanced data, ML, BLUPs, conditional variances, the criterion at fixed theta). The
//!   suite reads the CSV and never needs R.
//!
//! Tolerances come from `tests/common/tolerances.rs`.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use std::collections::HashMap;

use emslab::Design;
mod common;

use common::{
    BLUP_VS_LME4, COVARIANCE_VS_CLOSED_FORM, CRITERION_ABS, CRITERION_AT_THETA,
    CRITERION_NOT_WORSE, GRADIENT_AT_OPTIMUM, HAND_FORMULA, LME4_PRINTED, PROFILE_VS_CLOSED_FORM,
    PROFILE_VS_LME4, REML_AT_MOMENTS, REML_EQUALS_MOMENTS_RULE, REML_INVARIANCE, REML_VS_DENSE,
    REML_VS_LME4, SE_VS_CLOSED_FORM,
};
use emslab::reml::{
    ComparisonCase, Criterion, Method, RemlError, RemlFit, RemlOptions, compare, fit,
};
use proptest::prelude::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reml");

// ---- data -----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Data {
    codes: Vec<Vec<u32>>,
    labels: Vec<Vec<String>>,
    y: Vec<f64>,
}

/// Reads a CSV; factor levels are coded in sorted order of their labels (numerically when all
/// labels are numbers), as R's `factor()` does, so that level names match lme4's.
fn load(file: &str, factors: &[&str], response: &str) -> Data {
    let path = format!("{DATA}/{file}");
    let mut rdr = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers = rdr.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let fcols: Vec<usize> = factors.iter().map(|f| col(f)).collect();
    let ycol = col(response);
    let mut raw: Vec<Vec<String>> = vec![Vec::new(); factors.len()];
    let mut y = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("record");
        for (i, &c) in fcols.iter().enumerate() {
            raw[i].push(rec[c].to_string());
        }
        y.push(rec[ycol].trim().parse::<f64>().expect("number"));
    }
    let mut codes = Vec::new();
    let mut labels = Vec::new();
    for col in raw {
        let mut lv: Vec<String> = col.clone();
        lv.sort();
        lv.dedup();
        if lv.iter().all(|s| s.parse::<f64>().is_ok()) {
            lv.sort_by(|a, b| {
                a.parse::<f64>()
                    .unwrap_or(0.0)
                    .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
            });
        }
        let index: HashMap<&String, u32> =
            lv.iter().enumerate().map(|(i, s)| (s, i as u32)).collect();
        codes.push(col.iter().map(|s| index[s]).collect());
        labels.push(lv.clone());
    }
    Data { codes, labels, y }
}

/// Drops rows given 1-based, as R's `d[-c(...), ]`.
fn drop_rows(d: &Data, rows: &[usize]) -> Data {
    let keep: Vec<usize> = (0..d.y.len())
        .filter(|i| !rows.contains(&(i + 1)))
        .collect();
    Data {
        codes: d
            .codes
            .iter()
            .map(|c| keep.iter().map(|&i| c[i]).collect())
            .collect(),
        labels: d.labels.clone(),
        y: keep.iter().map(|&i| d.y[i]).collect(),
    }
}

fn design(toml: &str) -> Design {
    Design::from_toml_str(toml).expect("design")
}

const DYESTUFF: &str = r#"
title = "Dyestuff"
response = "Yield"
[[factors]]
name = "Batch"
kind = "random"
"#;

const PASTES: &str = r#"
title = "Pastes"
response = "strength"
[[factors]]
name = "batch"
kind = "random"
[[factors]]
name = "cask"
kind = "random"
nested_in = ["batch"]
"#;

const MACHINES: &str = r#"
title = "Machines"
response = "score"
[[factors]]
name = "Machine"
kind = "fixed"
[[factors]]
name = "Worker"
kind = "random"
"#;

const GAUGE: &str = r#"
title = "Gauge capability"
response = "measurement"
[[factors]]
name = "part"
kind = "random"
[[factors]]
name = "operator"
kind = "random"
"#;

fn dyestuff() -> (Design, Data) {
    (design(DYESTUFF), load("dyestuff.csv", &["Batch"], "Yield"))
}
fn dyestuff2() -> (Design, Data) {
    (design(DYESTUFF), load("dyestuff2.csv", &["Batch"], "Yield"))
}
fn pastes() -> (Design, Data) {
    (
        design(PASTES),
        load("pastes.csv", &["batch", "cask"], "strength"),
    )
}
fn machines() -> (Design, Data) {
    (
        design(MACHINES),
        load("machines.csv", &["Machine", "Worker"], "score"),
    )
}
fn gauge() -> (Design, Data) {
    (
        design(GAUGE),
        load("montgomery_gauge.csv", &["part", "operator"], "measurement"),
    )
}

fn opts(d: &Data) -> RemlOptions {
    RemlOptions {
        level_labels: Some(d.labels.clone()),
        ..RemlOptions::default()
    }
}

fn run(design: &Design, d: &Data) -> RemlFit {
    fit(design, &d.codes, &d.y, &opts(d)).expect("fit")
}

fn run_ml(design: &Design, d: &Data) -> RemlFit {
    let o = RemlOptions {
        ml: true,
        ..opts(d)
    };
    fit(design, &d.codes, &d.y, &o).expect("fit")
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / b.abs() }
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        rel(got, want) <= tol,
        "{what}: got {got:.12}, want {want:.12} (relative difference {:.3e} > {tol:e})",
        rel(got, want)
    );
}

#[track_caller]
fn var(f: &RemlFit, term: &str) -> f64 {
    f.variance(term)
        .unwrap_or_else(|| panic!("no component `{term}`"))
}

// ---- our own lme4 fits (tests/data/reml/reference_fits.csv) -------------------------------

struct Reference(Vec<[String; 6]>);

impl Reference {
    fn load() -> Reference {
        let path = format!("{DATA}/reference_fits.csv");
        let mut rdr = csv::Reader::from_path(&path).expect("reference_fits.csv");
        let rows = rdr
            .records()
            .map(|r| {
                let r = r.expect("record");
                std::array::from_fn(|i| r[i].to_string())
            })
            .collect();
        Reference(rows)
    }
    #[track_caller]
    fn get(&self, dataset: &str, method: &str, kind: &str, term: &str, name: &str) -> f64 {
        self.0
            .iter()
            .find(|r| {
                r[0] == dataset && r[1] == method && r[2] == kind && r[3] == term && r[4] == name
            })
            .unwrap_or_else(|| panic!("no reference {dataset} {method} {kind} {term} {name}"))[5]
            .parse()
            .expect("number")
    }
    fn all(&self, dataset: &str, method: &str, kind: &str) -> Vec<(String, String, f64)> {
        self.0
            .iter()
            .filter(|r| r[0] == dataset && r[1] == method && r[2] == kind)
            .map(|r| (r[3].clone(), r[4].clone(), r[5].parse().expect("number")))
            .collect()
    }
}

/// Components, criterion, fixed effects and their SEs, log-likelihood, AIC and BIC of a fit
/// against one of our lme4 fits.
#[track_caller]
fn check_against_lme4(f: &RemlFit, r: &Reference, dataset: &str, fixef_names: &[(&str, &str)]) {
    let method = f.method.as_str();
    for (term, _, v) in r.all(dataset, method, "variance") {
        if v == 0.0 {
            assert_eq!(var(f, &term), 0.0, "{dataset} {term}: lme4 has exactly 0");
        } else {
            close(
                &format!("{dataset} {method} {term}"),
                var(f, &term),
                v,
                REML_VS_LME4,
            );
        }
    }
    let crit = r.get(dataset, method, "criterion", "", "");
    assert!(
        (f.criterion - crit).abs() < CRITERION_ABS,
        "{dataset}: criterion {} vs lme4 {crit}",
        f.criterion
    );
    assert!(
        f.criterion <= crit + CRITERION_NOT_WORSE,
        "{dataset}: our optimum {} is worse than lme4's {crit}",
        f.criterion
    );
    assert!((f.log_likelihood - r.get(dataset, method, "loglik", "", "")).abs() < CRITERION_ABS);
    assert!((f.aic - r.get(dataset, method, "aic", "", "")).abs() < CRITERION_ABS);
    assert!((f.bic - r.get(dataset, method, "bic", "", "")).abs() < CRITERION_ABS);
    for (ours, theirs) in fixef_names {
        let fe = f
            .fixed_effect(ours)
            .unwrap_or_else(|| panic!("no fixed effect {ours}"));
        close(
            &format!("{dataset} fixef {ours}"),
            fe.estimate,
            r.get(dataset, method, "fixef", "", theirs),
            REML_VS_LME4,
        );
        close(
            &format!("{dataset} se {ours}"),
            fe.se,
            r.get(dataset, method, "fixef_se", "", theirs),
            REML_VS_LME4,
        );
    }
}

/// Profile-likelihood intervals against lme4's `confint(profile(fit))` (squared sd limits).
#[track_caller]
fn check_profiles(f: &RemlFit, r: &Reference, dataset: &str) {
    let method = f.method.as_str();
    let lower = r.all(dataset, method, "profile_lower");
    assert!(!lower.is_empty());
    for (term, _, lo) in lower {
        let hi = r.get(dataset, method, "profile_upper", &term, "");
        let p = f
            .component(&term)
            .and_then(|c| c.profile.as_ref())
            .unwrap_or_else(|| panic!("{dataset} {term}: no profile interval"));
        if lo == 0.0 {
            assert_eq!(p.lower, 0.0, "{dataset} {term}: lower limit 0");
        } else {
            close(
                &format!("{dataset} {term} profile lower"),
                p.lower,
                lo,
                PROFILE_VS_LME4,
            );
        }
        close(
            &format!("{dataset} {term} profile upper"),
            p.upper,
            hi,
            PROFILE_VS_LME4,
        );
    }
}

/// BLUPs and lme4's conditional variances (`ranef(condVar = TRUE)`).
#[track_caller]
fn check_blups(f: &RemlFit, r: &Reference, dataset: &str) {
    let method = f.method.as_str();
    let blups = r.all(dataset, method, "blup");
    assert!(!blups.is_empty());
    for (term, level, v) in blups {
        let re = f
            .blups(&term)
            .unwrap_or_else(|| panic!("no BLUPs for {term}"));
        let b = re
            .levels
            .iter()
            .find(|b| b.level == level)
            .unwrap_or_else(|| panic!("{term}: no level {level}"));
        // BLUPs can be ~0: compare on the scale of the term's standard deviation.
        let sd = var(f, &term).sqrt().max(1e-300);
        assert!(
            (b.estimate - v).abs() <= BLUP_VS_LME4 * sd.max(v.abs()),
            "{dataset} {term} {level}: BLUP {} vs lme4 {v}",
            b.estimate
        );
        let cv = r.get(dataset, method, "pev", &term, &level);
        let ours = b.cond_var.expect("conditional variance");
        if cv == 0.0 {
            assert_eq!(ours, 0.0);
        } else {
            close(
                &format!("{dataset} {term} {level} condVar"),
                ours,
                cv,
                BLUP_VS_LME4,
            );
        }
        let pev = b.pev.expect("pev");
        assert!(
            pev >= ours * (1.0 - HAND_FORMULA),
            "C22 PEV includes the fixed-effect uncertainty"
        );
    }
}

// ---- the reference fits of tests/data/reml/README.md --------------------------------

/// Dyestuff: the REML optimum equals the moment estimate (11271.5 - 2451.25) / 5 = 1764.05;
/// lme4's default optimiser stops early at 1764.0375 (tests/data/reml/README.md; lme4's tests:
/// `expect_equal(VarCorr(fm1)[[1]][1,1], 1764.0375195)  ## "bobyqa": 1764.050060`).
#[test]
fn dyestuff_reml_is_the_true_optimum() {
    let (d, data) = dyestuff();
    let f = run(&d, &data);
    assert_eq!(f.method, Method::Reml);
    assert!(f.converged, "{:?}", f.optimizer);
    assert!(!f.boundary);
    let batch = (11271.5 - 2451.25) / 5.0;
    close("Batch", var(&f, "Batch"), batch, REML_AT_MOMENTS);
    close("Residual", f.sigma2, 2451.25, REML_AT_MOMENTS);
    assert!(
        (var(&f, "Batch") - 1764.0375).abs() > 0.01,
        "not lme4-default's early stop"
    );
    // tests/data/reml/README.md: lme4's REML criterion 319.654277.
    assert!((f.reml_criterion.expect("REML") - 319.654277).abs() < CRITERION_ABS);
    assert_eq!(f.deviance, None);
    // The grand mean of Dyestuff's 30 yields (45825 / 30).
    close("fixef", f.fixed_effects[0].estimate, 1527.5, HAND_FORMULA);
    assert_eq!(f.fixed_effects[0].name, "(Intercept)");
}

/// Dyestuff2: MS_Batch < MS_Error, the moment estimate is negative (-1.3219), REML is exactly 0
/// (boundary), residual 13.80631, REML criterion 161.828278 (tests/data/reml/README.md).
#[test]
fn dyestuff2_batch_variance_is_exactly_zero() {
    let (d, data) = dyestuff2();
    let f = run(&d, &data);
    assert!(f.converged, "{:?}", f.optimizer);
    assert!(f.boundary);
    let batch = f.component("Batch").expect("Batch");
    assert_eq!(batch.variance, 0.0);
    assert_eq!(batch.theta, Some(0.0));
    assert!(batch.boundary);
    assert!(batch.se.is_none() && batch.note.is_some());
    close("Residual", f.sigma2, 13.80631, LME4_PRINTED);
    // With Batch at 0 the residual variance is the total SS over N - 1.
    let total_ss = 41.6816288 + 358.7013504;
    close(
        "Residual = SS_total / 29",
        f.sigma2,
        total_ss / 29.0,
        REML_AT_MOMENTS,
    );
    assert!((f.criterion - 161.828278).abs() < CRITERION_ABS);
    // The boundary is a minimum: the criterion grows away from 0.
    assert!(f.optimizer.boundary_slopes[0].expect("slope") > 0.0);
    assert!(
        f.notes
            .iter()
            .any(|n| matches!(n, emslab::reml::FitNote::Boundary { terms } if terms == &["Batch"]))
    );
    // No Wald interval at the boundary, but a profile interval from 0.
    let p = batch.profile.as_ref().expect("profile");
    assert_eq!(p.lower, 0.0);
    let (lo, hi) = one_way_reml_profile(41.6816288, 358.7013504, 6.0, 5.0, true);
    assert_eq!(lo, 0.0);
    close("Batch profile upper", p.upper, hi, PROFILE_VS_CLOSED_FORM);
    // lme4 profiles the ML deviance: compare our ML fit.
    check_profiles(&run_ml(&d, &data), &Reference::load(), "dyestuff2");
}

/// Pastes: batch random (10), cask nested in batch (3 per batch, labels a-c repeating),
/// 2 tests per cask. tests/data/reml/README.md: lme4 batch 1.6573088, cask(batch) 8.4336664,
/// residual 0.67800001, REML criterion 246.990746; moments 1.657308642, 8.433666667, 0.678.
#[test]
fn pastes_nested_matches_lme4_and_moments() {
    let (d, data) = pastes();
    let f = run(&d, &data);
    assert!(f.converged && !f.boundary);
    close("batch", var(&f, "batch"), 1.6573088, LME4_PRINTED);
    close(
        "cask(batch)",
        var(&f, "cask(batch)"),
        8.4336664,
        LME4_PRINTED,
    );
    close("Residual", f.sigma2, 0.67800001, LME4_PRINTED);
    close(
        "batch = moments",
        var(&f, "batch"),
        (27.48918519 - 17.54533333) / 6.0,
        REML_EQUALS_MOMENTS_RULE,
    );
    close(
        "cask = moments",
        var(&f, "cask(batch)"),
        (17.54533333 - 0.678) / 2.0,
        REML_EQUALS_MOMENTS_RULE,
    );
    close(
        "Residual = moments",
        f.sigma2,
        20.34 / 30.0,
        REML_EQUALS_MOMENTS_RULE,
    );
    assert!((f.criterion - 246.990746).abs() < CRITERION_ABS);
    let r = Reference::load();
    check_blups(&f, &r, "pastes");
    check_profiles(&run_ml(&d, &data), &r, "pastes");
}

/// Machines (Machine fixed 3, Worker random 6, Machine:Worker random, 3 replicates),
/// unrestricted model. tests/data/reml/README.md: lme4 Worker 22.858443, Machine:Worker 13.909458, residual
/// 0.92462962, REML criterion 215.687568 (= the unrestricted moment estimates 22.85844444,
/// 13.90945679, 0.9246296296; the restricted Worker estimate 27.49 has no likelihood twin).
#[test]
fn machines_unrestricted_matches_lme4_and_moments() {
    let (d, data) = machines();
    let f = run(&d, &data);
    assert!(f.converged && !f.boundary && f.balanced);
    assert_eq!(f.model, "unrestricted");
    close("Worker", var(&f, "Worker"), 22.858443, LME4_PRINTED);
    close(
        "Machine:Worker",
        var(&f, "Machine:Worker"),
        13.909458,
        LME4_PRINTED,
    );
    close("Residual", f.sigma2, 0.92462962, LME4_PRINTED);
    close(
        "Worker = moments",
        var(&f, "Worker"),
        (248.379 - 42.653) / 9.0,
        REML_EQUALS_MOMENTS_RULE,
    );
    close(
        "Machine:Worker = moments",
        var(&f, "Machine:Worker"),
        (42.653 - 33.28666667 / 36.0) / 3.0,
        REML_EQUALS_MOMENTS_RULE,
    );
    assert!((f.criterion - 215.687568).abs() < CRITERION_ABS);
    let names: Vec<&str> = f.fixed_effects.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["(Intercept)", "Machine=B", "Machine=C"]);
    let r = Reference::load();
    check_against_lme4(
        &f,
        &r,
        "machines",
        &[
            ("(Intercept)", "(Intercept)"),
            ("Machine=B", "MachineB"),
            ("Machine=C", "MachineC"),
        ],
    );
    check_blups(&f, &r, "machines");
}

// ---- unbalanced data, ML, boundaries with several components: our lme4 fits ----------------

/// `Machines[-c(1, 2, 10), ]`, as lme4 users drop rows: REML and ML against lme4.
#[test]
fn machines_unbalanced_matches_lme4() {
    let (d, data) = machines();
    let data = drop_rows(&data, &[1, 2, 10]);
    let r = Reference::load();
    let fixef = [
        ("(Intercept)", "(Intercept)"),
        ("Machine=B", "MachineB"),
        ("Machine=C", "MachineC"),
    ];
    let f = run(&d, &data);
    assert!(f.converged && !f.balanced);
    assert_eq!(f.n_observations, 51);
    check_against_lme4(&f, &r, "machines_unbalanced", &fixef);
    check_blups(&f, &r, "machines_unbalanced");
    let m = run_ml(&d, &data);
    check_profiles(&m, &r, "machines_unbalanced");
    assert_eq!(m.method, Method::Ml);
    assert!(m.converged && m.reml_criterion.is_none() && m.deviance.is_some());
    check_against_lme4(&m, &r, "machines_unbalanced", &fixef);
    check_blups(&m, &r, "machines_unbalanced");
}

/// Pastes with rows 1, 7, 8, 33 dropped (a cask with one test, another cask gone).
#[test]
fn pastes_unbalanced_matches_lme4() {
    let (d, data) = pastes();
    let data = drop_rows(&data, &[1, 7, 8, 33]);
    let f = run(&d, &data);
    assert!(f.converged && !f.balanced);
    let r = Reference::load();
    check_against_lme4(
        &f,
        &r,
        "pastes_unbalanced",
        &[("(Intercept)", "(Intercept)")],
    );
    check_blups(&f, &r, "pastes_unbalanced");
}

/// Montgomery's gauge study: the interaction's moment estimate is negative (-0.14); REML puts
/// part:operator at exactly 0 and the others shift (lme4: part 10.2513, operator 0.010629,
/// residual 0.883163).
#[test]
fn gauge_interaction_on_the_boundary_matches_lme4() {
    let (d, data) = gauge();
    let f = run(&d, &data);
    assert!(f.converged, "{:?}", f.optimizer);
    assert!(f.boundary);
    assert_eq!(var(&f, "part:operator"), 0.0);
    let r = Reference::load();
    check_against_lme4(&f, &r, "gauge", &[("(Intercept)", "(Intercept)")]);
    check_blups(&f, &r, "gauge");
    // compare(): the moment estimates of tests/data/reml/README.md (Montgomery prints 10.28, 0.015, -0.14, 0.99).
    let moments = [
        ("part".to_string(), 10.27982456),
        ("operator".to_string(), 0.0149122807),
        ("part:operator".to_string(), -0.1399122807),
        ("Residual".to_string(), 0.9916666667),
    ];
    let c = compare(&f, &moments);
    assert_eq!(c.case, ComparisonCase::NegativeMoment);
    assert!(c.consistent);
    let row = |t: &str| c.rows.iter().find(|r| r.term == t).expect("row");
    assert!(matches!(
        row("part:operator").note,
        emslab::reml::RowNote::NotPositive { boundary: true, .. }
    ));
    // The residual absorbs the interaction's share: it falls from 0.99 to 0.88.
    assert!(row("Residual").difference.expect("difference") < -0.1);
    assert!(matches!(
        row("Residual").note,
        emslab::reml::RowNote::Shifted { by } if by < -0.1
    ));
}

/// Dyestuff by ML (lme4: Batch 1388.3333, residual 2451.25, deviance 327.327060).
#[test]
fn dyestuff_ml_matches_lme4() {
    let (d, data) = dyestuff();
    let f = run_ml(&d, &data);
    let r = Reference::load();
    check_against_lme4(&f, &r, "dyestuff", &[("(Intercept)", "(Intercept)")]);
    check_blups(&f, &r, "dyestuff");
    // Balanced one-way ML in closed form: s_b^2 = ((1 - 1/a) MS_A - MS_E) / n.
    check_profiles(&f, &r, "dyestuff");
    close(
        "Batch ML",
        var(&f, "Batch"),
        ((1.0 - 1.0 / 6.0) * 11271.5 - 2451.25) / 5.0,
        REML_AT_MOMENTS,
    );
    assert_eq!(compare(&f, &[]).case, ComparisonCase::MaximumLikelihood);
}

/// The profiled criterion at fixed theta against lme4's `devFunOnly = TRUE` function: tests
/// the likelihood independently of the optimiser (MixedModels.jl sets theta before comparing).
#[test]
fn criterion_at_fixed_theta_matches_lme4_devfun() {
    let (d, data) = machines();
    let data = drop_rows(&data, &[1, 2, 10]);
    let mut c = Criterion::new(&d, &data.codes, &data.y, Method::Reml).expect("criterion");
    assert_eq!(
        c.terms,
        ["Machine:Worker", "Worker"],
        "lme4's order: decreasing levels"
    );
    assert_eq!(c.n_fixed(), 3);
    let r = Reference::load();
    let cases = r.all("machines_unbalanced", "REML", "devfun");
    assert_eq!(cases.len(), 4);
    for (mw, w, want) in cases {
        let t1: f64 = mw
            .trim_start_matches("Machine:Worker=")
            .parse()
            .expect("theta");
        let t2: f64 = w.trim_start_matches("Worker=").parse().expect("theta");
        let got = c.eval(&[t1, t2]);
        assert!(
            (got - want).abs() < CRITERION_AT_THETA,
            "theta ({t1}, {t2}): {got} vs lme4 {want}"
        );
    }
}

// ---- identities ------------------------------------------------------------------------------

/// Dyestuff BLUPs and conditional variances against lme4, and the full C22 prediction-error
/// variance in closed form: balanced one-way, sigma^2 theta^2 [1/(1+n theta^2) +
/// n^2 theta^2 / ((1+n theta^2) N)].
#[test]
fn dyestuff_blups_and_prediction_error_variances() {
    let (d, data) = dyestuff();
    let f = run(&d, &data);
    check_blups(&f, &Reference::load(), "dyestuff");
    let t2 = f.theta[0] * f.theta[0];
    let (n, big_n) = (5.0, 30.0);
    let want = f.sigma2 * t2 * (1.0 / (1.0 + n * t2) + n * n * t2 / ((1.0 + n * t2) * big_n));
    for b in &f.blups("Batch").expect("blups").levels {
        close("PEV", b.pev.expect("pev"), want, REML_VS_DENSE);
    }
    // Conditional residuals: pwrss = |e|^2 + |u/theta|^2 = sigma^2 (n - p) (REML).
    let pen: f64 = f.random_effects[0]
        .levels
        .iter()
        .map(|b| (b.estimate / f.theta[0]).powi(2))
        .sum();
    let rss: f64 = f.residuals.iter().map(|e| e * e).sum();
    close("pwrss", rss + pen, f.sigma2 * 29.0, REML_VS_DENSE);
}

/// Standard errors from the observed information against the balanced one-way closed form:
/// at an interior REML optimum on balanced data the information of (s^2 + n s_b^2, s^2) is
/// diagonal with (a-1)/(2 MS_A^2) and (N-a)/(2 MS_E^2).
#[test]
fn dyestuff_standard_errors_match_closed_form() {
    let (d, data) = dyestuff();
    let f = run(&d, &data);
    let (ms_a, ms_e, n, a, big_n): (f64, f64, f64, f64, f64) = (11271.5, 2451.25, 5.0, 6.0, 30.0);
    let var_e = 2.0 * ms_e * ms_e / (big_n - a);
    let var_b = 2.0 / (n * n) * (ms_a * ms_a / (a - 1.0) + ms_e * ms_e / (big_n - a));
    let batch = f.component("Batch").expect("Batch");
    close(
        "se Batch",
        batch.se.expect("se"),
        var_b.sqrt(),
        SE_VS_CLOSED_FORM,
    );
    close(
        "se Residual",
        f.component("Residual").and_then(|c| c.se).expect("se"),
        var_e.sqrt(),
        SE_VS_CLOSED_FORM,
    );
    let cov = f.component_covariance.as_ref().expect("covariance");
    assert_eq!(f.covariance_terms, ["Batch", "Residual"]);
    close("cov", cov[0][1], -var_e / n, COVARIANCE_VS_CLOSED_FORM);
    let ci = batch.interval.as_ref().expect("interval");
    assert!(ci.lower < batch.variance && batch.variance < ci.upper);
    close(
        "log-symmetric",
        (ci.lower * ci.upper).sqrt(),
        batch.variance,
        HAND_FORMULA,
    );
    // REML profile intervals against the closed-form profile of the balanced one-way model.
    let (lo, hi) = one_way_reml_profile(56357.5, 58830.0, 6.0, 5.0, true);
    let p = batch.profile.as_ref().expect("profile");
    close("Batch profile lower", p.lower, lo, PROFILE_VS_CLOSED_FORM);
    close("Batch profile upper", p.upper, hi, PROFILE_VS_CLOSED_FORM);
    let (lo, hi) = one_way_reml_profile(56357.5, 58830.0, 6.0, 5.0, false);
    let p = f
        .component("Residual")
        .and_then(|c| c.profile.as_ref())
        .expect("profile");
    close(
        "Residual profile lower",
        p.lower,
        lo,
        PROFILE_VS_CLOSED_FORM,
    );
    close(
        "Residual profile upper",
        p.upper,
        hi,
        PROFILE_VS_CLOSED_FORM,
    );
}

/// Profile-likelihood 95% limits of the balanced one-way REML criterion
/// (a-1) ln(s2 + n v) + SS_A / (s2 + n v) + (N-a) ln s2 + SS_E / s2, by brute force: the
/// other parameter minimised by golden section, the limits by bisection (for `batch`, v is
/// profiled and s2 re-optimised; otherwise s2 is profiled and v >= 0 re-optimised).
fn one_way_reml_profile(ss_a: f64, ss_e: f64, a: f64, n: f64, batch: bool) -> (f64, f64) {
    let big_n = a * n;
    let dev = |v: f64, s2: f64| {
        let l1 = s2 + n * v;
        (a - 1.0) * l1.ln() + ss_a / l1 + (big_n - a) * s2.ln() + ss_e / s2
    };
    let golden = |g: &dyn Fn(f64) -> f64, mut lo: f64, mut hi: f64| -> f64 {
        let r = 0.5 * (5f64.sqrt() - 1.0);
        for _ in 0..300 {
            let (x1, x2) = (hi - r * (hi - lo), lo + r * (hi - lo));
            if g(x1) < g(x2) { hi = x2 } else { lo = x1 }
        }
        g(0.5 * (lo + hi))
    };
    // Profile of the fixed parameter x (v or s2): minimise over the other on a log scale.
    let prof = |x: f64| -> f64 {
        if batch {
            golden(&|ls: f64| dev(x, ls.exp()), -20.0, 20.0)
        } else {
            // v >= 0: v = exp(lv), or exactly 0.
            golden(&|lv: f64| dev(lv.exp(), x), -40.0, 20.0).min(dev(0.0, x))
        }
    };
    let ms_a = ss_a / (a - 1.0);
    let ms_e = ss_e / (big_n - a);
    let (v_hat, s2_hat) = if ms_a > ms_e {
        ((ms_a - ms_e) / n, ms_e)
    } else {
        (0.0, (ss_a + ss_e) / (big_n - 1.0))
    };
    let d_min = dev(v_hat, s2_hat);
    let cutoff = 3.841_458_820_694_124;
    let x_hat = if batch { v_hat } else { s2_hat };
    let excess = |x: f64| prof(x) - d_min - cutoff;
    let solve = |mut inside: f64, mut outside: f64| {
        for _ in 0..200 {
            let mid = 0.5 * (inside + outside);
            if excess(mid) < 0.0 {
                inside = mid
            } else {
                outside = mid
            }
        }
        0.5 * (inside + outside)
    };
    let mut up = x_hat.max(1e-3) * 2.0;
    while excess(up) < 0.0 {
        up *= 2.0;
    }
    let hi = solve(x_hat, up);
    let lo = if x_hat == 0.0 || excess(0.0) <= 0.0 {
        0.0
    } else {
        let mut down = x_hat / 2.0;
        while excess(down) < 0.0 {
            down /= 2.0;
        }
        solve(x_hat, down)
    };
    (lo, hi)
}

/// compare(): balanced data with positive moment estimates coincide; the rule is stated.
#[test]
fn compare_states_the_rule() {
    let (d, data) = dyestuff();
    let f = run(&d, &data);
    let moments = [
        ("Batch".to_string(), 1764.05),
        ("Residual".to_string(), 2451.25),
    ];
    let c = compare(&f, &moments);
    assert_eq!(c.case, ComparisonCase::Coincide);
    assert!(c.consistent);
    let rule = emslab::report::reml_words::COMPARISON_RULE;
    assert!(rule.contains("1e-6") && rule.contains("boundary") && rule.contains("unbalanced"));
    assert!(
        c.rows
            .iter()
            .all(|r| r.relative_difference.expect("rel") < REML_EQUALS_MOMENTS_RULE)
    );
    // A wrong "moment estimate" is flagged as a bug.
    let wrong = [
        ("Batch".to_string(), 1764.0375),
        ("Residual".to_string(), 2451.25),
    ];
    assert!(!compare(&f, &wrong).consistent);
    // Dyestuff2: negative moment estimate.
    let (d2, data2) = dyestuff2();
    let f2 = run(&d2, &data2);
    let c2 = compare(
        &f2,
        &[
            ("Batch".to_string(), -1.321912768),
            ("Residual".to_string(), 14.9458896),
        ],
    );
    assert_eq!(c2.case, ComparisonCase::NegativeMoment);
    // Unbalanced.
    let (dm, datam) = machines();
    let fu = run(&dm, &drop_rows(&datam, &[1, 2, 10]));
    assert_eq!(
        compare(&fu, &[("Worker".to_string(), 22.0)]).case,
        ComparisonCase::Unbalanced
    );
}

/// Moment estimates as the first start give the same optimum, and the log says so.
#[test]
fn moment_start_and_optimiser_log() {
    let (d, data) = machines();
    let o = RemlOptions {
        start: Some(vec![
            ("Worker".into(), 22.85844444),
            ("Machine:Worker".into(), 13.90945679),
            ("Residual".into(), 0.9246296296),
        ]),
        ..opts(&data)
    };
    let f = fit(&d, &data.codes, &data.y, &o).expect("fit");
    let log = &f.optimizer;
    assert_eq!(log.starts[0].label, "moments");
    assert_eq!(log.starts.len(), 3);
    assert_eq!(log.terms, ["Worker", "Machine:Worker"]);
    assert!(log.evaluations > 0 && log.converged);
    assert!(log.newton_decrement < REML_AT_MOMENTS);
    assert!(
        log.gradient.iter().all(|g| g.abs() < GRADIENT_AT_OPTIMUM),
        "{:?}",
        log.gradient
    );
    assert!(log.hessian_eigenvalues.iter().all(|&e| e > 0.0));
    close(
        "Worker",
        var(&f, "Worker"),
        22.85844444,
        REML_EQUALS_MOMENTS_RULE,
    );
    let json = serde_json::to_string(&f).expect("json");
    assert!(json.contains("\"method\":\"REML\"") && json.contains("optimizer"));
}

/// Results do not change when rows are shuffled and levels relabelled; scaling y by c scales
/// every component by c^2 (ARCHITECTURE.md, "Tests that teach").
#[test]
fn invariant_to_row_order_labels_and_scale() {
    let (d, data) = machines();
    let data = drop_rows(&data, &[1, 2, 10]);
    let base = run(&d, &data);
    let n = data.y.len();
    let perm: Vec<usize> = (0..n).map(|i| (i * 13 + 5) % n).collect();
    let mut shuffled = data.clone();
    for (f, c) in shuffled.codes.iter_mut().enumerate() {
        *c = perm.iter().map(|&i| data.codes[f][i]).collect();
    }
    shuffled.y = perm.iter().map(|&i| data.y[i]).collect();
    // Relabel workers: code w -> 5 - w; and make codes sparse (x 7).
    shuffled.codes[1] = shuffled.codes[1].iter().map(|&w| (5 - w) * 7).collect();
    let o = RemlOptions::default();
    let f = fit(&d, &shuffled.codes, &shuffled.y, &o).expect("fit");
    for c in &base.components {
        close(&c.term, var(&f, &c.term), c.variance, REML_AT_MOMENTS);
    }
    assert!((f.criterion - base.criterion).abs() < CRITERION_AT_THETA);
    let c = 3.0;
    let scaled: Vec<f64> = data.y.iter().map(|v| v * c).collect();
    let g = fit(&d, &data.codes, &scaled, &o).expect("fit");
    for comp in &base.components {
        close(
            &comp.term,
            var(&g, &comp.term),
            comp.variance * c * c,
            REML_AT_MOMENTS,
        );
    }
}

#[test]
fn errors_name_the_culprit() {
    let (d, data) = dyestuff();
    let o = RemlOptions::default();
    assert_eq!(
        fit(&d, &[], &data.y, &o).unwrap_err(),
        RemlError::FactorCount {
            expected: 1,
            found: 0
        }
    );
    let short = vec![data.codes[0][..10].to_vec()];
    let e = fit(&d, &short, &data.y, &o).unwrap_err();
    assert!(matches!(e, RemlError::LengthMismatch { .. }));
    assert!(e.to_string().contains("`Batch`"));
    assert_eq!(
        fit(&d, &[vec![]], &[], &o).unwrap_err(),
        RemlError::NoObservations
    );
    let mut y = data.y.clone();
    y[3] = f64::NAN;
    assert_eq!(
        fit(&d, &data.codes, &y, &o).unwrap_err(),
        RemlError::NonFiniteResponse { index: 3 }
    );
    let bad = RemlOptions {
        level: 1.5,
        ..RemlOptions::default()
    };
    assert!(matches!(
        fit(&d, &data.codes, &data.y, &bad),
        Err(RemlError::BadLevel(_))
    ));
    // A constant response: nothing to decompose.
    let flat = vec![1.0; data.y.len()];
    assert_eq!(
        fit(&d, &data.codes, &flat, &o).unwrap_err(),
        RemlError::ExactFit
    );
}

// ---- cancellation -----------------------------------------------------------------------------

fn flag(set: bool) -> Option<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(set)))
}

#[test]
fn a_cancelled_fit_returns_cancelled() {
    let (d, data) = pastes();
    let o = RemlOptions {
        cancel: flag(true),
        ..opts(&data)
    };
    let e = fit(&d, &data.codes, &data.y, &o).unwrap_err();
    assert_eq!(e, RemlError::Cancelled);
    assert_eq!(e.to_string(), "the REML fit was cancelled");
}

#[test]
fn an_unset_flag_changes_nothing() {
    for (d, data) in [pastes(), machines()] {
        let plain = run(&d, &data);
        let o = RemlOptions {
            cancel: flag(false),
            ..opts(&data)
        };
        let flagged = fit(&d, &data.codes, &data.y, &o).expect("fit");
        assert_eq!(
            serde_json::to_string(&plain).expect("json"),
            serde_json::to_string(&flagged).expect("json")
        );
        assert_eq!(plain.residuals, flagged.residuals);
    }
}

/// The flag set from another thread while the fit runs (at whatever stage it has reached):
/// the fit returns `Cancelled` or, if it finished first, exactly the uncancelled result; never
/// a partial one.
#[test]
fn cancelling_from_another_thread_gives_cancelled_or_the_full_fit() {
    let s = Sim {
        factors: vec![
            SimFactor {
                random: true,
                levels: 40,
                nested: false,
            },
            SimFactor {
                random: true,
                levels: 6,
                nested: false,
            },
        ],
        replicates: 3,
        seed: 77,
    };
    let d = design(&sim_toml(&s));
    let (codes, y) = simulate(&d, &s);
    let reference = fit(&d, &codes, &y, &RemlOptions::default()).expect("fit");
    let reference = serde_json::to_string(&reference).expect("json");
    for delay_us in [0u64, 200, 2_000, 20_000] {
        let cancel = flag(false);
        let setter = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_micros(delay_us));
                if let Some(c) = cancel {
                    c.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let o = RemlOptions {
            cancel,
            ..RemlOptions::default()
        };
        match fit(&d, &codes, &y, &o) {
            Err(e) => assert_eq!(e, RemlError::Cancelled),
            Ok(f) => assert_eq!(serde_json::to_string(&f).expect("json"), reference),
        }
        setter.join().expect("thread");
    }
}

// ---- property: balanced data with positive moment estimates ---------------------------------

#[derive(Clone, Debug)]
struct SimFactor {
    random: bool,
    levels: u32,
    /// Nested in the previous factor.
    nested: bool,
}

#[derive(Clone, Debug)]
struct Sim {
    factors: Vec<SimFactor>,
    replicates: u32,
    seed: u64,
}

fn sim_strategy() -> impl Strategy<Value = Sim> {
    (
        prop::collection::vec((any::<bool>(), 2u32..=4, prop::bool::weighted(0.35)), 1..=3),
        2u32..=3,
        any::<u64>(),
    )
        .prop_map(|(fs, replicates, seed)| {
            let mut factors: Vec<SimFactor> = fs
                .into_iter()
                .enumerate()
                .map(|(i, (random, levels, nested))| SimFactor {
                    random,
                    levels,
                    nested: nested && i > 0,
                })
                .collect();
            if !factors.iter().any(|f| f.random) {
                let last = factors.len() - 1;
                factors[last].random = true;
            }
            Sim {
                factors,
                replicates,
                seed,
            }
        })
}

fn sim_toml(s: &Sim) -> String {
    let mut t = String::from("title = \"sim\"\n");
    for (i, f) in s.factors.iter().enumerate() {
        t.push_str(&format!(
            "[[factors]]\nname = \"F{i}\"\nkind = \"{}\"\n",
            if f.random { "random" } else { "fixed" }
        ));
        if f.nested {
            t.push_str(&format!("nested_in = [\"F{}\"]\n", i - 1));
        }
    }
    t
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.next().max(1e-300);
        let u2 = self.next();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Balanced data for the design: every cell (codes restart within parents) x replicates;
/// y = sum of effects of every term (random ~ N(0, s_T^2), fixed uniform) + N(0, 1).
fn simulate(d: &Design, s: &Sim) -> (Vec<Vec<u32>>, Vec<f64>) {
    let nf = s.factors.len();
    let mut rng = Rng(s.seed | 1);
    let mut cells: Vec<Vec<u32>> = vec![Vec::new()];
    for f in &s.factors {
        cells = cells
            .into_iter()
            .flat_map(|c| {
                (0..f.levels).map(move |l| {
                    let mut c = c.clone();
                    c.push(l);
                    c
                })
            })
            .collect();
    }
    let mut effects: Vec<HashMap<Vec<u32>, f64>> = vec![HashMap::new(); d.terms.len()];
    let sds: Vec<f64> = d.terms.iter().map(|_| 1.0 + 2.0 * rng.next()).collect();
    let mut codes = vec![Vec::new(); nf];
    let mut y = Vec::new();
    for cell in &cells {
        for _ in 0..s.replicates {
            let mut v = 10.0 + rng.normal();
            for (ti, t) in d.terms.iter().enumerate() {
                let key: Vec<u32> = t.subscripts.iter().map(|f| cell[f]).collect();
                let e = *effects[ti].entry(key).or_insert_with(|| {
                    if t.random {
                        sds[ti] * rng.normal()
                    } else {
                        4.0 * rng.next() - 2.0
                    }
                });
                v += e;
            }
            for f in 0..nf {
                codes[f].push(cell[f]);
            }
            y.push(v);
        }
    }
    (codes, y)
}

/// Moment estimates of the unrestricted model for balanced data: SS_T from the balanced
/// projections (alternating sums of cell means over the subsets of the live factors, with the
/// dead ones always kept), E(MS_T) = s^2 + sum over random U containing T of
/// (N / #levels(U)) s_U^2, solved from the largest terms down.
fn moment_estimates(d: &Design, s: &Sim, codes: &[Vec<u32>], y: &[f64]) -> Vec<(String, f64)> {
    let n = y.len();
    let nf = s.factors.len();
    let mean_over = |set: u64| -> Vec<f64> {
        let mut sums: HashMap<Vec<u32>, (f64, f64)> = HashMap::new();
        let key = |o: usize| -> Vec<u32> {
            (0..nf)
                .filter(|f| set >> f & 1 == 1)
                .map(|f| codes[f][o])
                .collect()
        };
        for o in 0..n {
            let e = sums.entry(key(o)).or_insert((0.0, 0.0));
            e.0 += y[o];
            e.1 += 1.0;
        }
        (0..n)
            .map(|o| {
                let e = sums[&key(o)];
                e.0 / e.1
            })
            .collect()
    };
    let levels_of = |set: u64| -> f64 {
        (0..nf)
            .filter(|f| set >> f & 1 == 1)
            .map(|f| f64::from(s.factors[f].levels))
            .product()
    };
    let mut ms = Vec::new();
    for t in &d.terms {
        let live: Vec<usize> = t.live.iter().collect();
        let dead = t.dead.0;
        let mut eff = vec![0.0; n];
        for mask in 0u64..(1 << live.len()) {
            let mut set = dead;
            for (i, &f) in live.iter().enumerate() {
                if mask >> i & 1 == 1 {
                    set |= 1 << f;
                }
            }
            let sign = if (live.len() - mask.count_ones() as usize).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            for (e, m) in eff.iter_mut().zip(mean_over(set)) {
                *e += sign * m;
            }
        }
        let ss: f64 = eff.iter().map(|e| e * e).sum();
        let df: f64 = live
            .iter()
            .map(|&f| f64::from(s.factors[f].levels) - 1.0)
            .product::<f64>()
            * t.dead
                .iter()
                .map(|f| f64::from(s.factors[f].levels))
                .product::<f64>();
        ms.push(ss / df);
    }
    let all = (1u64 << nf) - 1;
    let cell_means = mean_over(all);
    let sse: f64 = y
        .iter()
        .zip(&cell_means)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let sigma2 = sse / (n as f64 - levels_of(all));
    let mut est: Vec<Option<f64>> = vec![None; d.terms.len()];
    let mut order: Vec<usize> = (0..d.terms.len()).filter(|&i| d.terms[i].random).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(d.terms[i].subscripts.len()));
    for &i in &order {
        let t = &d.terms[i];
        let mut rhs = ms[i] - sigma2;
        for (j, u) in d.terms.iter().enumerate() {
            if j != i && u.random && u.subscripts.is_superset(t.subscripts) {
                rhs -= n as f64 / levels_of(u.subscripts.0) * est[j].expect("larger terms first");
            }
        }
        est[i] = Some(rhs / (n as f64 / levels_of(t.subscripts.0)));
    }
    let mut out: Vec<(String, f64)> = order
        .iter()
        .map(|&i| (d.terms[i].name.clone(), est[i].unwrap_or(0.0)))
        .collect();
    out.push(("Residual".into(), sigma2));
    out
}

proptest! {
    // A fixed seed, printed: every run tries the same designs. A failure prints the case;
    // keep it as a regression test like `fixed_factor_nested_in_random_equals_moments`.
    #![proptest_config(ProptestConfig {
        max_global_rejects: 4000,
        ..common::proptest_config(40, 2104)
    })]

    /// On balanced data whose unrestricted moment estimates are all positive, REML equals them
    /// to 1e-6 relative (crossed and nested, fixed and random factors).
    #[test]
    fn balanced_reml_equals_positive_moment_estimates(s in sim_strategy()) {
        check_reml_equals_moments(&s)?;
    }
}

/// Regression (found by the property test with a random seed): F0 random (3 levels), F1
/// fixed nested in F0 (2), F2 fixed (4), 3 replicates. The criterion is very flat along
/// theta_F0 (smallest Hessian eigenvalue 0.023, F0 has 2 degrees of freedom), so the
/// truncation error (~3e-8) of the finite-difference gradient moved the optimum: REML F0
/// was 0.13758858 vs moments 0.13758872, 1.01e-6 relative (a smaller step made it worse,
/// rounding). The final Newton polish on the analytic gradient lands on the moments to
/// ~1e-10.
#[test]
fn fixed_factor_nested_in_random_equals_moments() {
    let s = Sim {
        factors: vec![
            SimFactor {
                random: true,
                levels: 3,
                nested: false,
            },
            SimFactor {
                random: false,
                levels: 2,
                nested: true,
            },
            SimFactor {
                random: false,
                levels: 4,
                nested: false,
            },
        ],
        replicates: 3,
        seed: 9935584836838353936,
    };
    if let Err(e) = check_reml_equals_moments(&s) {
        panic!("{e}");
    }
}

/// Regressions (found by the property test with random seeds once the case above was fixed):
/// a component just above the test's floor (moments 1e-3 sigma^2) makes the criterion very
/// flat along its theta (smallest Hessian eigenvalue 9e-5 and 7e-5). There second differences
/// of criterion values are noise (they gave 5e-4 for the first), the finite-difference Newton
/// stopped 14% off in theta, and a polish with a fixed Hessian converged only linearly: F1
/// missed the moments by 7.6e-4 and F0 by 1.6e-5. The polish takes its Hessian from
/// differences of the analytic gradient and updates it (BFGS) along its steps: 1.7e-9 and
/// 1.1e-8 (the conditioning's limit: gradient rounding over the curvature).
#[test]
fn tiny_component_along_a_flat_direction_equals_moments() {
    let fixed_crossed = Sim {
        factors: vec![
            SimFactor {
                random: false,
                levels: 2,
                nested: false,
            },
            SimFactor {
                random: true,
                levels: 2,
                nested: false,
            },
        ],
        replicates: 3,
        seed: 8406084317395635624,
    };
    let nested = Sim {
        factors: vec![
            SimFactor {
                random: true,
                levels: 3,
                nested: false,
            },
            SimFactor {
                random: true,
                levels: 2,
                nested: true,
            },
            SimFactor {
                random: true,
                levels: 4,
                nested: true,
            },
        ],
        replicates: 3,
        seed: 8240401715533826518,
    };
    for s in [fixed_crossed, nested] {
        if let Err(e) = check_reml_equals_moments(&s) {
            panic!("{e}");
        }
    }
}

fn check_reml_equals_moments(s: &Sim) -> Result<(), TestCaseError> {
    {
        let s = s.clone();
        let d = design(&sim_toml(&s));
        let (codes, y) = simulate(&d, &s);
        let moments = moment_estimates(&d, &s, &codes, &y);
        let sigma2 = moments.last().map_or(1.0, |m| m.1);
        prop_assume!(moments.iter().all(|(_, v)| *v > 1e-3 * sigma2));
        let o = RemlOptions {
            profile: false,
            ..RemlOptions::default()
        };
        let f = fit(&d, &codes, &y, &o).expect("fit");
        prop_assert!(f.balanced);
        prop_assert!(f.converged, "{:?}", f.optimizer);
        for (term, m) in &moments {
            let r = f.variance(term).expect("component");
            prop_assert!(
                rel(r, *m) <= REML_EQUALS_MOMENTS_RULE,
                "{}: REML {} vs moments {} ({:e})\n{}",
                term,
                r,
                m,
                rel(r, *m),
                sim_toml(&s)
            );
        }
        let c = compare(&f, &moments);
        prop_assert_eq!(c.case, ComparisonCase::Coincide);
        prop_assert!(c.consistent);
    }
    Ok(())
}

// ---- property: the blocked Cholesky against dense formulas, unbalanced data -----------------

/// Balanced data from `simulate`, then a pseudo-random third of the rows dropped.
fn unbalanced(d: &Design, s: &Sim) -> (Vec<Vec<u32>>, Vec<f64>) {
    let (codes, y) = simulate(d, s);
    let mut rng = Rng(s.seed.rotate_left(17) | 1);
    let keep: Vec<usize> = (0..y.len()).filter(|_| rng.next() > 0.33).collect();
    (
        codes
            .iter()
            .map(|c| keep.iter().map(|&i| c[i]).collect())
            .collect(),
        keep.iter().map(|&i| y[i]).collect(),
    )
}

/// Z_k for a term: one column per level (combination of its factors' codes) present.
fn dense_z(d: &Design, term: usize, codes: &[Vec<u32>]) -> (nalgebra::DMatrix<f64>, Vec<Vec<u32>>) {
    let n = codes[0].len();
    let fs: Vec<usize> = d.terms[term].subscripts.iter().collect();
    let key = |o: usize| -> Vec<u32> { fs.iter().map(|&f| codes[f][o]).collect() };
    let mut levels: Vec<Vec<u32>> = (0..n).map(key).collect();
    levels.sort();
    levels.dedup();
    let mut z = nalgebra::DMatrix::zeros(n, levels.len());
    for o in 0..n {
        let c = levels.binary_search(&key(o)).expect("level");
        z[(o, c)] = 1.0;
    }
    (z, levels)
}

fn all_random(s: &Sim) -> Sim {
    let mut s = s.clone();
    for f in &mut s.factors {
        f.random = true;
    }
    s
}

proptest! {
    #![proptest_config(common::proptest_config(24, 2105))]

    /// The profiled REML and ML criteria from the blocked sparse Cholesky equal the dense
    /// formulas log|V| + log|X'V^{-1}X| + (n-p)(1 + log(2 pi r / (n-p))), V = I + sum
    /// theta_k^2 Z_k Z_k', r = y'(V^{-1} - V^{-1}X(X'V^{-1}X)^{-1}X'V^{-1})y, on unbalanced
    /// data from random crossed and nested designs (intercept-only X).
    #[test]
    fn blocked_criterion_equals_dense_formula(s in sim_strategy(), t in prop::collection::vec(0.0f64..2.5, 7)) {
        let s = all_random(&s);
        let d = design(&sim_toml(&s));
        let (codes, y) = unbalanced(&d, &s);
        let n = y.len();
        prop_assume!(n >= 8);
        let mut v = nalgebra::DMatrix::<f64>::identity(n, n);
        let mut c = Criterion::new(&d, &codes, &y, Method::Reml).expect("criterion");
        let mut m = Criterion::new(&d, &codes, &y, Method::Ml).expect("criterion");
        let mut theta = vec![0.0; c.terms.len()];
        for (i, ti) in c.design_index.iter().enumerate() {
            theta[i] = t[i % t.len()];
            let (z, _) = dense_z(&d, *ti, &codes);
            v += &z * z.transpose() * (theta[i] * theta[i]);
        }
        let x = nalgebra::DMatrix::<f64>::from_element(n, 1, 1.0);
        let yv = nalgebra::DVector::from_vec(y.clone());
        let chol = v.clone().cholesky().expect("V positive definite");
        let logdet_v = 2.0 * chol.l().diagonal().iter().map(|x| x.ln()).sum::<f64>();
        let vix = chol.solve(&x);
        let viy = chol.solve(&yv);
        let xvx = (x.transpose() * &vix)[(0, 0)];
        let beta = (x.transpose() * &viy)[(0, 0)] / xvx;
        let resid = &yv - &x * beta;
        let r = (resid.transpose() * chol.solve(&resid))[(0, 0)];
        let two_pi = 2.0 * std::f64::consts::PI;
        let nf = n as f64;
        let reml = logdet_v + xvx.ln() + (nf - 1.0) * (1.0 + (two_pi * r / (nf - 1.0)).ln());
        let ml = logdet_v + nf * (1.0 + (two_pi * r / nf).ln());
        let got = c.eval(&theta);
        prop_assert!((got - reml).abs() < CRITERION_AT_THETA * (1.0 + reml.abs()), "REML {} vs dense {}\n{}", got, reml, sim_toml(&s));
        let got = m.eval(&theta);
        prop_assert!((got - ml).abs() < CRITERION_AT_THETA * (1.0 + ml.abs()), "ML {} vs dense {}", got, ml);
    }

    /// REML on unbalanced data from random crossed and nested designs does not depend on
    /// the order of the rows or the labels of the levels (each factor's codes reversed and
    /// spread out), and multiplying y by c multiplies every variance component by c².
    #[test]
    fn reml_is_invariant_to_row_order_labels_and_scale(
        s in sim_strategy(),
        order_seed in any::<u64>(),
        c in 0.01f64..100.0,
    ) {
        let d = design(&sim_toml(&s));
        let (codes, y) = unbalanced(&d, &s);
        let n = y.len();
        prop_assume!(n >= 8);
        let o = RemlOptions { profile: false, ..RemlOptions::default() };
        let base = fit(&d, &codes, &y, &o).expect("fit");
        let mut perm: Vec<usize> = (0..n).collect();
        common::SeededRng::new(order_seed).shuffle(&mut perm);
        let relabelled: Vec<Vec<u32>> = codes
            .iter()
            .zip(&s.factors)
            .map(|(col, f)| perm.iter().map(|&i| (f.levels - 1 - col[i]) * 7 + 3).collect())
            .collect();
        let shuffled_y: Vec<f64> = perm.iter().map(|&i| y[i]).collect();
        let other = fit(&d, &relabelled, &shuffled_y, &o).expect("fit");
        let scaled: Vec<f64> = y.iter().map(|v| v * c).collect();
        let bigger = fit(&d, &codes, &scaled, &o).expect("fit");
        for comp in &base.components {
            let floor = REML_INVARIANCE * base.sigma2;
            let same = var(&other, &comp.term);
            prop_assert!(
                (same - comp.variance).abs() <= REML_INVARIANCE * comp.variance.abs() + floor,
                "{}: {} vs {} (shuffled, relabelled)\n{}", comp.term, same, comp.variance, sim_toml(&s)
            );
            let times = var(&bigger, &comp.term) / (c * c);
            prop_assert!(
                (times - comp.variance).abs() <= REML_INVARIANCE * comp.variance.abs() + floor,
                "{}: {} vs {} (scaled by {})\n{}", comp.term, times, comp.variance, c, sim_toml(&s)
            );
        }
    }

    /// BLUPs, prediction-error variances (C22) and conditional variances from the selected
    /// inverse equal the dense inverse of the mixed-model equations, on unbalanced data.
    #[test]
    fn blups_and_pevs_equal_dense_inverse(s in sim_strategy()) {
        let s = all_random(&s);
        let d = design(&sim_toml(&s));
        let (codes, y) = unbalanced(&d, &s);
        let n = y.len();
        prop_assume!(n >= 8);
        let o = RemlOptions { profile: false, ..RemlOptions::default() };
        let f = fit(&d, &codes, &y, &o).expect("fit");
        // Columns: intercept, then each random term's levels scaled by theta.
        let mut blocks = Vec::new();
        for (ti, t) in d.terms.iter().enumerate() {
            let (z, levels) = dense_z(&d, ti, &codes);
            let k = f.optimizer.terms.iter().position(|x| *x == t.name).expect("term");
            blocks.push((t.name.clone(), z * f.theta[k], levels, f.theta[k]));
        }
        let q: usize = blocks.iter().map(|b| b.1.ncols()).sum();
        let mut w = nalgebra::DMatrix::<f64>::zeros(n, q + 1);
        w.column_mut(0).fill(1.0);
        let mut col = 1;
        for b in &blocks {
            w.view_mut((0, col), (n, b.1.ncols())).copy_from(&b.1);
            col += b.1.ncols();
        }
        let mut mme = w.transpose() * &w;
        for i in 1..=q {
            mme[(i, i)] += 1.0;
        }
        let inv = mme.clone().try_inverse().expect("MME invertible");
        let sol = &inv * (w.transpose() * nalgebra::DVector::from_vec(y.clone()));
        let zonly = mme.view((1, 1), (q, q)).into_owned().try_inverse().expect("Z part invertible");
        close("intercept", f.fixed_effects[0].estimate, sol[0], REML_VS_DENSE);
        close("intercept variance", f.fixed_covariance[0][0], f.sigma2 * inv[(0, 0)], REML_VS_DENSE);
        let mut col = 1;
        for (name, z, levels, theta) in &blocks {
            let re = f.blups(name).expect("blups");
            prop_assert_eq!(re.levels.len(), levels.len());
            for (c, lv) in levels.iter().enumerate() {
                let b = re.levels.iter().find(|b| &b.codes == lv).expect("level");
                let want = theta * sol[col + c];
                prop_assert!((b.estimate - want).abs() <= REML_VS_DENSE * (1.0 + want.abs()), "{} BLUP {} vs {}", name, b.estimate, want);
                let pev = f.sigma2 * theta * theta * inv[(col + c, col + c)];
                let cv = f.sigma2 * theta * theta * zonly[(col - 1 + c, col - 1 + c)];
                prop_assert!((b.pev.expect("pev") - pev).abs() <= REML_VS_DENSE * (f64::MIN_POSITIVE + pev.abs()), "{} PEV {:?} vs {}", name, b.pev, pev);
                prop_assert!((b.cond_var.expect("cv") - cv).abs() <= REML_VS_DENSE * (f64::MIN_POSITIVE + cv.abs()), "{} condVar {:?} vs {}", name, b.cond_var, cv);
            }
            col += z.ncols();
        }
        // Conditional residuals: y - X b - Z u.
        let fitted = &w * &sol;
        for (o, e) in f.residuals.iter().enumerate() {
            prop_assert!((e - (y[o] - fitted[o])).abs() < REML_VS_DENSE * (1.0 + y[o].abs()));
        }
    }
}

/// No random term: REML reduces to least squares (residual variance = SS_E / (n - p)), and
/// the BLUEs are the treatment-contrast estimates (tests/data/reml/README.md: the Machines
/// sums of squares, and R's `coef(lm(score ~ Machine))` 52.35555555555553, 7.966666666666661).
#[test]
fn fixed_effects_only_is_least_squares() {
    let d = design(
        r#"
[[factors]]
name = "Machine"
kind = "fixed"
"#,
    );
    let data = load("machines.csv", &["Machine"], "score");
    let f = run(&d, &data);
    assert!(f.converged && f.theta.is_empty() && f.random_effects.is_empty());
    let ss_e = 1241.895 + 426.53 + 33.28666667;
    close("sigma2", f.sigma2, ss_e / 51.0, LME4_PRINTED);
    close(
        "intercept",
        f.fixed_effects[0].estimate,
        52.35555555555553,
        HAND_FORMULA,
    );
    close(
        "B",
        f.fixed_effect("Machine=B").expect("B").estimate,
        7.966666666666661,
        HAND_FORMULA,
    );
    // SE of a difference of two means of 18 observations.
    close(
        "se B",
        f.fixed_effect("Machine=B").expect("B").se,
        (f.sigma2 * 2.0 / 18.0).sqrt(),
        HAND_FORMULA,
    );
    assert_eq!(f.components.len(), 1);
}
