//! `emslab::analysis::analyze`, the one analysis the command line and the app run: stages
//! in order, REML on unbalanced data, and Cancel (the app's button) stopping it before or
//! inside the REML fit.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use emslab::analysis::{self, AnalysisError, Options, Stage};
use emslab::data::{ReadOptions, RemlInput, read_csv};
use emslab::io::read_design;

fn load(name: &str) -> (emslab::Design, emslab::data::Dataset) {
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

fn options() -> Options {
    Options {
        reml: true,
        ..Options::default()
    }
}

#[test]
fn balanced_data_take_both_routes_in_order() {
    let (design, ds) = load("pastes");
    let mut rows = || ds.reml_input().ok_or_else(|| "no rows".to_string());
    let mut stages = Vec::new();
    let a = analysis::analyze(&design, &ds, &mut rows, &options(), &mut |s| stages.push(s))
        .expect("analysis");
    assert_eq!(stages, [Stage::Moments, Stage::Reml]);
    assert!(a.moments.is_some() && a.unbalanced.is_none());
    assert_eq!(a.fits.len(), 1);
    // Pastes (lme4 reference README): batch 1.657309 by moments and by REML.
    let fit = &a.fits[0].0;
    assert!(common::close(
        fit.variance("batch").expect("batch"),
        1.657309,
        1e-6
    ));
    assert!(a.document.tables.iter().any(|t| t.key == "reml_components"));
    assert!(a.json["reml"].is_object());
}

#[test]
fn cancel_before_the_start_or_during_the_reml_fit_stops_the_analysis() {
    let (design, ds) = load("machines");
    let flag = Arc::new(AtomicBool::new(false));
    let opts = Options {
        cancel: Some(Arc::clone(&flag)),
        ..options()
    };
    let mut rows = || ds.reml_input().ok_or_else(|| "no rows".to_string());
    // Set as the REML stage begins: the fit sees it and the analysis reports Cancelled,
    // not a failed fit.
    let f = Arc::clone(&flag);
    let r = analysis::analyze(&design, &ds, &mut rows, &opts, &mut |s| {
        if s == Stage::Reml {
            f.store(true, Ordering::Relaxed);
        }
    });
    assert!(matches!(r, Err(AnalysisError::Cancelled)), "{r:?}");

    // Unset, the same call runs through.
    flag.store(false, Ordering::Relaxed);
    let r = analysis::analyze(&design, &ds, &mut rows, &opts, &mut |_| {});
    assert!(r.is_ok_and(|a| a.fits.len() == 1));
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
    let mut rows =
        || -> Result<RemlInput, String> { ds.reml_input().ok_or_else(|| "no rows".to_string()) };
    let mut stages = Vec::new();
    let a = analysis::analyze(&design, &ds, &mut rows, &options(), &mut |s| stages.push(s))
        .expect("REML handles unbalanced data");
    assert_eq!(stages, [Stage::RemlUnbalanced]);
    assert!(a.moments.is_none());
    assert!(a.unbalanced.as_deref().is_some_and(|p| p.contains("cell")));
    assert_eq!(a.json["balanced"], false);

    let no_reml = Options {
        reml: false,
        ..Options::default()
    };
    let r = analysis::analyze(&design, &ds, &mut rows, &no_reml, &mut |_| {});
    assert!(
        matches!(r, Err(AnalysisError::UnbalancedWithoutReml(_))),
        "{r:?}"
    );
}
