//! `emslab::analysis::run`, the one analysis the command line and the app run: stages in
//! order, the route as a typed state, REML on unbalanced data, the published-table route,
//! and Cancel (the app's button) stopping it before or inside the REML fit.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use emslab::analysis::{
    self, Analysis, AnalysisError, Cancel, Input, Likelihood, Options, RemlOutcome, Route, Stage,
};
use emslab::data::{DataErrorKind, Dataset, ReadOptions, read_csv};
use emslab::io::read_design;

fn load(name: &str) -> (emslab::Design, Dataset) {
    let design = read_design(&common::design_path(&format!("{name}.toml"))).expect("design");
    let ds = read_csv(
        &common::design_path(&format!("{name}.csv")),
        &design,
        &ReadOptions {
            keep_rows: true,
            ..ReadOptions::default()
        },
    )
    .expect("data");
    (design, ds)
}

fn run(
    design: &emslab::Design,
    ds: &Dataset,
    opts: &Options,
    cancel: &Cancel,
    stage: &mut dyn FnMut(Stage),
) -> Result<Analysis, AnalysisError> {
    let input = Input::Data {
        dataset: ds,
        rows: analysis::Rows::Kept,
    };
    analysis::run(design, input, opts, cancel, stage)
}

#[test]
fn balanced_data_take_both_routes_in_order() {
    let (design, ds) = load("pastes");
    let mut stages = Vec::new();
    let a = run(
        &design,
        &ds,
        &Options::default(),
        &Cancel::none(),
        &mut |s| stages.push(s),
    )
    .expect("analysis");
    assert_eq!(stages, [Stage::Moments, Stage::Reml]);
    assert!(matches!(a.route, Route::Balanced(_)));
    let fits = a.reml.fits().expect("REML ran");
    assert!(fits.ml.is_none());
    // Pastes (tests/data/reml/README.md, lme4 1.1-31): batch 1.657309 by moments and by REML.
    assert!(common::matches_printed(
        fits.reml.fit.variance("batch").expect("batch"),
        "1.657309"
    ));
    let r = emslab::report::analysis_report(&a);
    assert!(r.document.tables.iter().any(|t| t.key == "reml_components"));
    let json = serde_json::to_value(&r.json).expect("JSON");
    assert!(json["reml"].is_object());
    assert_eq!(json["balanced"], true);
}

#[test]
fn the_likelihood_stage_runs_on_its_own_after_the_moments() {
    // The app's order: moments at once, REML when it arrives; the same fit as `run`.
    let (design, ds) = load("machines");
    let a = analysis::analyze_moments(&design, &ds, &Options::default()).expect("moments");
    assert!(a.needs_likelihood());
    assert!(a.balanced().is_some());
    let outcome = analysis::fit_likelihood(&a, &ds, &Cancel::none()).expect("fit");
    let whole = run(
        &design,
        &ds,
        &Options::default(),
        &Cancel::none(),
        &mut |_| {},
    )
    .expect("run");
    let (Some(x), Some(y)) = (outcome.fits(), whole.reml.fits()) else {
        panic!("both fitted");
    };
    assert_eq!(x.reml.fit.theta, y.reml.fit.theta);
    // With the likelihood off, nothing is pending.
    let off = Options {
        likelihood: Likelihood::Off,
        ..Options::default()
    };
    let a = analysis::analyze_moments(&design, &ds, &off).expect("moments");
    assert!(!a.needs_likelihood() && matches!(a.reml, RemlOutcome::Off));
}

#[test]
fn cancel_before_the_start_or_during_the_reml_fit_stops_the_analysis() {
    let (design, ds) = load("machines");
    let flag = Arc::new(AtomicBool::new(false));
    let cancel = Cancel::new(Arc::clone(&flag));
    // Set as the REML stage begins: the fit sees it and the analysis reports Cancelled,
    // not a failed fit.
    let f = Arc::clone(&flag);
    let r = run(&design, &ds, &Options::default(), &cancel, &mut |s| {
        if s == Stage::Reml {
            f.store(true, Ordering::Relaxed);
        }
    });
    assert!(matches!(r, Err(AnalysisError::Cancelled)), "{r:?}");

    // Unset, the same call runs through.
    flag.store(false, Ordering::Relaxed);
    let r = run(&design, &ds, &Options::default(), &cancel, &mut |_| {});
    assert!(r.is_ok_and(|a| a.reml.fits().is_some()));
}

#[test]
fn unbalanced_data_go_to_reml_or_say_why_not() {
    let (design, full) = load("dyestuff");
    // Dyestuff without its last observation.
    let text = std::fs::read_to_string(common::design_path("dyestuff.csv")).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    let short = lines[..lines.len() - 1].join("\n");
    let ds = emslab::data::read_csv_from(
        short.as_bytes(),
        "dyestuff_short.csv",
        &design,
        &ReadOptions {
            keep_rows: true,
            ..ReadOptions::default()
        },
    )
    .expect("data");
    assert!(full.balance.is_balanced() && !ds.balance.is_balanced());
    let mut stages = Vec::new();
    let a = run(
        &design,
        &ds,
        &Options::default(),
        &Cancel::none(),
        &mut |s| stages.push(s),
    )
    .expect("REML handles unbalanced data");
    assert_eq!(stages, [Stage::Moments, Stage::RemlUnbalanced]);
    let Route::Unbalanced(u) = &a.route else {
        panic!("unbalanced route");
    };
    assert!(matches!(u.problem.kind, DataErrorKind::Unbalanced(_)));
    assert_eq!(u.balance.n_problems, 1);
    let json = serde_json::to_value(emslab::report::analysis_report(&a).json).expect("JSON");
    assert_eq!(json["balanced"], false);

    let no_reml = Options {
        likelihood: Likelihood::Off,
        ..Options::default()
    };
    // Without REML the Type III analysis stands on its own: the one-way Type III SS of
    // Batch equals the one-way ANOVA's between-batch SS of the 29 observations.
    let a = run(&design, &ds, &no_reml, &Cancel::none(), &mut |_| {}).expect("Type III");
    assert!(matches!(a.reml, RemlOutcome::Off));
    let Route::Unbalanced(u) = &a.route else {
        panic!("unbalanced route");
    };
    let t3 = u.anova.as_ref().expect("Type III table");
    let batch = t3.row("Batch").expect("Batch row");
    assert_eq!(
        (batch.df, t3.row("Residual").expect("Residual").df),
        (5, 23)
    );
    let y: Vec<f64> = ds.reml_input().expect("rows").y;
    let codes = ds.reml_input().expect("rows").codes;
    let grand = y.iter().sum::<f64>() / y.len() as f64;
    let between: f64 = (0..6u32)
        .map(|b| {
            let g: Vec<f64> = y
                .iter()
                .zip(&codes[0])
                .filter(|(_, c)| **c == b)
                .map(|(v, _)| *v)
                .collect();
            let m = g.iter().sum::<f64>() / g.len() as f64;
            g.len() as f64 * (m - grand).powi(2)
        })
        .sum();
    assert!(
        common::close(batch.ss, between, common::SS_IDENTITY),
        "{} vs {between}",
        batch.ss
    );
}

#[test]
fn a_published_table_goes_through_the_same_entry_point() {
    // Pigment paste (Box, Hunter and Hunter; tests/data/README.md): batch 7.128 from the
    // published mean squares 86.495, 57.983, 0.917 on 14, 15, 30 df.
    let design = read_design(&common::design_path("pigment_paste.toml")).expect("design");
    let summary =
        emslab::data::summary::read_summary(&common::design_path("pigment_paste_summary.csv"))
            .expect("summary");
    let a = analysis::run(
        &design,
        Input::Summary {
            table: &summary,
            grand_mean: None,
        },
        &Options::default(),
        &Cancel::none(),
        &mut |_| {},
    )
    .expect("analysis");
    assert!(matches!(a.reml, RemlOutcome::NoObservations));
    let b = a.balanced().expect("ANOVA-table route");
    let batch = b
        .moments
        .components
        .iter()
        .find(|c| c.name == "batch")
        .expect("batch");
    assert!(common::close(
        batch.estimate,
        (86.495 - 57.983) / 4.0,
        common::HAND_FORMULA
    ));
}
