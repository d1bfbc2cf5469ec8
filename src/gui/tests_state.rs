//! The app's analysis state, driven as a user drives it (egui_kittest): new data replace the
//! results and every plot; the results are marked out of date after a design or model
//! change; Cancel stops the work and keeps what is final; the α, negative-estimate, REML and
//! ML settings change the numbers as the command line's flags do; the analysis report
//! exported through the File menu is what `emslab analyze` writes. Numbers are checked
//! against R (`tests/data/moments/reference.R`) and lme4 (`tests/data/reml/reference_fits.R`).

use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use emslab::analysis::RemlOutcome;
use emslab::chart::{Figure, Scale, SeriesData};
use emslab::report::Format;

use super::app::EmslabApp;
use super::current::Fit;
use super::test_references::{MomentsReference, lme4_reference};
use super::test_tolerances::{MOMENTS_VS_R, REML_AT_MOMENTS, REML_VS_LME4, rel_close};
use super::tests::{
    cli_analyze, click, current, dataset, drawn, harness, repo, run_analysis, run_cli, shows_part,
    temp_dir, wait_for_jobs, ys,
};

/// The plots of the results view, by the labels of their tabs.
const PLOTS: [&str; 4] = ["Components", "Residuals", "Cell means", "Variability chart"];

/// Opens a shipped template with its data and waits for the read.
fn open_with_data(h: &mut Harness<'_, EmslabApp>, stem: &str) {
    click(h, "Start");
    click(h, &format!("{stem} with data"));
    wait_for_jobs(h);
    assert!(dataset(h).is_some(), "{stem}: the data are read");
}

/// Clicks the control of this role with this accessible name (a checkbox and a heading can
/// share a label).
fn click_role(h: &mut Harness<'_, EmslabApp>, label: &str, role: Role) {
    let node = h
        .query_all_by_label(label)
        .find(|n| n.accesskit_node().role() == role)
        .unwrap_or_else(|| panic!("no {role:?} labelled {label:?}"));
    node.click();
    h.run_ok();
}

/// Every plot of the current analysis, drawn by clicking its tab.
fn every_plot(h: &mut Harness<'_, EmslabApp>) -> Vec<Figure> {
    PLOTS
        .iter()
        .map(|tab| {
            click(h, tab);
            drawn(h)
        })
        .collect()
}

/// The moment estimate of a component in the current analysis.
fn estimate(h: &Harness<'_, EmslabApp>, term: &str) -> f64 {
    let b = current(h).analysis.balanced().expect("balanced data");
    b.moments
        .components
        .iter()
        .find(|c| c.name == term)
        .unwrap_or_else(|| panic!("no component {term}"))
        .estimate
}

/// The number of points of a panel's first series (observations, residuals).
fn points(p: &emslab::chart::Panel) -> usize {
    match &p.series[0].data {
        SeriesData::Points(q) => q.len(),
        other => panic!("points, not {other:?}"),
    }
}

fn out_of_date(h: &Harness<'_, EmslabApp>) -> bool {
    shows_part(h, "Out of date")
}

/// Loading data B after analysing data A: the results, the REML fit and all four plots are
/// B's (Machines after Pastes), none of A's is left on screen.
#[test]
fn new_data_replace_the_results_and_every_plot() {
    let r = MomentsReference::load();
    let mut h = harness(EmslabApp::default(), vec![]);
    open_with_data(&mut h, "pastes");
    run_analysis(&mut h);
    assert!(rel_close(
        estimate(&h, "batch"),
        r.get("pastes", "estimate", "batch"),
        MOMENTS_VS_R
    ));
    // On screen as the display rounds it: 1.6573086 → 1.657309.
    assert!(shows_part(&h, "1.657309"));
    let pastes = every_plot(&mut h);

    open_with_data(&mut h, "machines");
    assert!(
        h.state().analysis.current.is_none(),
        "new data drop the old analysis"
    );
    run_analysis(&mut h);
    for term in ["Worker", "Machine:Worker", "Residual"] {
        let want = r.get("machines_restricted", "estimate", term);
        assert!(rel_close(estimate(&h, term), want, MOMENTS_VS_R), "{term}");
    }
    assert!(shows_part(&h, "27.49493"), "Worker's estimate 27.494930");
    assert!(!shows_part(&h, "1.657309"), "no Pastes number is left");
    let fit = &current(&h).analysis.reml.fits().expect("REML ran").reml.fit;
    let reml = fit.variance("Worker").expect("Worker");
    let unrestricted = r.get("machines_unrestricted", "estimate", "Worker");
    assert!(rel_close(reml, unrestricted, REML_AT_MOMENTS), "{reml}");

    let machines = every_plot(&mut h);
    for (tab, (old, new)) in PLOTS.iter().zip(pastes.iter().zip(&machines)) {
        assert_ne!(old, new, "{tab} is redrawn");
    }
    // Components: Machines' random terms on the x axis.
    let Scale::Categories(names) = &machines[0].panels[0].x.scale else {
        panic!("component names on the x axis")
    };
    assert_eq!(names, &["Worker", "Machine:Worker", "Residual"]);
    // Residuals versus fits: one point per observation of Machines.
    let n = dataset(&h).expect("machines").n_rows as usize;
    assert_eq!(n, 54);
    assert_eq!(points(&machines[1].panels[1]), n);
    // Cell means: Machines' 18 cell means.
    let mut means = dataset(&h).expect("machines").marginal_means(&[0, 1]);
    means.sort_by(f64::total_cmp);
    assert_eq!(ys(&machines[2].panels[0]), means);
    // Variability chart: every observation.
    assert_eq!(points(&machines[3].panels[0]), n);
}

/// The results say they are out of date when the design or the model changes after a run,
/// and why; undoing the change, or running again, clears it.
#[test]
fn results_are_out_of_date_after_a_design_or_model_change() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_with_data(&mut h, "machines");
    run_analysis(&mut h);
    assert!(!out_of_date(&h));

    click(&mut h, "Design");
    click(&mut h, "Kind of factor 1");
    click(&mut h, "random");
    click(&mut h, "Results");
    assert!(shows_part(&h, "Out of date: the design changed"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_ok();
    assert!(!out_of_date(&h), "undo restores the design analysed");

    click(&mut h, "Design");
    click(&mut h, "Term Machine:Worker");
    click(&mut h, "Results");
    assert!(shows_part(&h, "Out of date: the design changed"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_ok();
    assert!(!out_of_date(&h));

    click(&mut h, "Unrestricted");
    assert!(shows_part(&h, "Out of date: the model changed"));
    run_analysis(&mut h);
    assert!(!out_of_date(&h), "a new run is current");
    // The new run is the unrestricted analysis: Worker against Machine:Worker.
    let r = MomentsReference::load();
    let want = r.get("machines_unrestricted", "estimate", "Worker");
    assert!(rel_close(estimate(&h, "Worker"), want, MOMENTS_VS_R));
}

/// Cancel during the REML fit keeps the ANOVA and moments (final) and says the fit was
/// cancelled; Cancel during the moment stage leaves no analysis; running again fits.
#[test]
fn cancel_stops_the_work_and_keeps_what_is_final() {
    let r = MomentsReference::load();
    let mut h = harness(EmslabApp::default(), vec![]);
    open_with_data(&mut h, "pastes");
    h.state_mut().analysis.hold_likelihood = true;
    run_analysis(&mut h);
    let ctx = h.ctx.clone();
    h.state_mut().analysis.release_likelihood(&ctx);
    assert!(current(&h).fitting(), "the REML fit runs");
    // The Cancel button's command, before the fit is collected.
    h.state_mut()
        .apply(super::command::Command::CancelJob, &ctx);
    h.run_ok();
    assert!(matches!(current(&h).fit, Fit::Cancelled));
    assert!(shows_part(&h, "The REML fit was cancelled"));
    assert!(matches!(current(&h).analysis.reml, RemlOutcome::Pending));
    assert!(rel_close(
        estimate(&h, "batch"),
        r.get("pastes", "estimate", "batch"),
        MOMENTS_VS_R
    ));
    assert!(!out_of_date(&h));

    // Cancel while the moment stage runs (before its answer is collected): no analysis,
    // and the status says so.
    h.state_mut()
        .apply(super::command::Command::RunAnalysis, &ctx);
    assert!(
        h.state().analysis.moments_job().is_some(),
        "the moment stage runs"
    );
    h.state_mut()
        .apply(super::command::Command::CancelJob, &ctx);
    h.run_ok();
    wait_for_jobs(&mut h);
    assert!(h.state().analysis.current.is_none());
    assert!(shows_part(&h, "Cancelled."));

    h.state_mut().analysis.hold_likelihood = false;
    run_analysis(&mut h);
    let fit = &current(&h).analysis.reml.fits().expect("REML ran").reml.fit;
    let batch = fit.variance("batch").expect("batch");
    assert!(rel_close(
        batch,
        r.get("pastes", "estimate", "batch"),
        REML_AT_MOMENTS
    ));
}

/// α = 0.10 gives R's 90% intervals; `zero` and `pool` give R's numbers for Montgomery's
/// gauge study (part:operator negative); the REML fit switched off is not run; ML beside
/// REML gives lme4's ML fit.
#[test]
fn the_settings_change_the_numbers_as_the_flags_do() {
    let r = MomentsReference::load();
    let mut h = harness(EmslabApp::default(), vec![]);
    open_with_data(&mut h, "pastes");
    click(&mut h, "Results");
    click(&mut h, "alpha");
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("alpha").type_text("0.1");
    h.key_press(Key::Enter);
    h.run_ok();
    assert_eq!(h.state().session.options.alpha, 0.1);
    run_analysis(&mut h);
    let b = current(&h).analysis.balanced().expect("balanced");
    for c in &b.moments.components {
        let ci = c.ci.expect("an interval");
        assert_eq!(ci.level, 0.9);
        let lo = r.get("pastes_alpha10", "ci_lower", &c.name);
        let hi = r.get("pastes_alpha10", "ci_upper", &c.name);
        assert!(rel_close(ci.lower, lo, MOMENTS_VS_R), "{}", c.name);
        assert!(rel_close(ci.upper, hi, MOMENTS_VS_R), "{}", c.name);
    }

    open_with_data(&mut h, "montgomery_gauge");
    click(&mut h, "Results");
    click(&mut h, "Negative estimates");
    click(&mut h, "zero");
    run_analysis(&mut h);
    assert_eq!(estimate(&h, "part:operator"), 0.0);
    let part = r.get("montgomery_gauge", "estimate", "part");
    assert!(rel_close(estimate(&h, "part"), part, MOMENTS_VS_R));
    click(&mut h, "Negative estimates");
    click(&mut h, "pool");
    run_analysis(&mut h);
    let pooled = r.get("montgomery_gauge_pool", "estimate", "part");
    assert!(rel_close(estimate(&h, "part"), pooled, MOMENTS_VS_R));
    assert!(shows_part(&h, "pooled into"));

    click_role(&mut h, "REML fit", Role::CheckBox);
    run_analysis(&mut h);
    assert!(matches!(current(&h).analysis.reml, RemlOutcome::Off));
    assert!(shows_part(&h, "Not run (switch on"));

    open_with_data(&mut h, "dyestuff");
    click(&mut h, "Results");
    click_role(&mut h, "REML fit", Role::CheckBox);
    click_role(&mut h, "and ML", Role::CheckBox);
    run_analysis(&mut h);
    let fits = current(&h).analysis.reml.fits().expect("fitted");
    let ml = &fits.ml.as_ref().expect("the ML fit").fit;
    for term in ["Batch", "Residual"] {
        let lme4 = lme4_reference("dyestuff", "ML", "variance", term, "");
        let ours = ml.variance(term).expect("a component");
        assert!(
            rel_close(ours, lme4, REML_VS_LME4),
            "ML {term}: {ours} vs {lme4}"
        );
    }
    assert!(shows_part(&h, "ML fit converged"));
}

/// File > Export analysis report writes what `emslab analyze` writes for the same files and
/// options (JSON and Markdown), and the JSON carries R's numbers.
#[test]
fn the_analysis_report_exported_through_the_menu_is_the_commands() {
    let dir = temp_dir();
    let json_file = dir.path().join("report.json");
    let md_file = dir.path().join("report.md");
    let mut h = harness(
        EmslabApp::default(),
        vec![json_file.clone(), md_file.clone(), json_file.clone()],
    );
    open_with_data(&mut h, "pastes");
    run_analysis(&mut h);
    let data = h.state().data.as_ref().expect("a data file").path.clone();
    let design = repo().join("designs/pastes.toml");
    for (file, format, item) in [
        (&json_file, Format::Json, "JSON (.json)"),
        (&md_file, Format::Markdown, "Markdown (.md)"),
    ] {
        click(&mut h, "File");
        click(&mut h, "Export analysis report");
        click(&mut h, item);
        let written = std::fs::read(file).expect("the app wrote the report");
        assert_eq!(
            written,
            cli_analyze(&design, &data, format, None),
            "{}",
            format.as_str()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_file).expect("JSON")).expect("parses");
    let r = MomentsReference::load();
    for c in v["components"].as_array().expect("components") {
        let name = c["term"].as_str().expect("a name");
        let want = r.get("pastes", "estimate", name);
        let got = c["estimate"].as_f64().expect("a number");
        assert!(
            rel_close(got, want, MOMENTS_VS_R),
            "{name}: {got} vs {want}"
        );
    }
    // With the options changed in the app, the export follows them (the command's flags).
    click(&mut h, "Unrestricted");
    click(&mut h, "Negative estimates");
    click(&mut h, "pool");
    run_analysis(&mut h);
    click(&mut h, "File");
    click(&mut h, "Export analysis report");
    click(&mut h, "JSON (.json)");
    let (d, f) = (design.to_string_lossy(), data.to_string_lossy());
    let cli = run_cli(&[
        "analyze",
        &d,
        &f,
        "--format",
        "json",
        "--model",
        "unrestricted",
        "--negative",
        "pool",
    ]);
    assert_eq!(
        std::fs::read(&json_file).expect("written again"),
        cli,
        "unrestricted, pool"
    );
}
