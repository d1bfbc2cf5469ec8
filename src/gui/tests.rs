//! The app driven through its accessibility tree, without a GPU (egui_kittest): labels are
//! clicked and typed into as a user would, then the app's state and the text it shows are
//! checked.

use std::path::{Path, PathBuf};

use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use emslab::DesignSpec;
use emslab::report::Format;

use super::app::{EmslabApp, View};
use super::dialogs::FixedChooser;
use super::session::Session;
use super::templates;
use super::test_references::{MomentsReference, app_reference};
use super::test_tolerances::{REML_AT_MOMENTS, REML_VS_LME4, matches_printed, rel_close};

pub(super) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A harness around a fresh app whose file dialogs answer with `paths`, in order.
pub(super) fn harness(app: EmslabApp, paths: Vec<PathBuf>) -> Harness<'static, EmslabApp> {
    let app = app.with_chooser(Box::new(FixedChooser::new(paths)));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 2400.0))
        .with_max_steps(16)
        .with_context_setup(super::install_fonts)
        .build_ui_state(|ui, app: &mut EmslabApp| app.frame(ui), app);
    h.run_ok();
    h
}

/// Clicks the control (not a plain text label) with this accessible name.
pub(super) fn click(h: &mut Harness<'_, EmslabApp>, label: &str) {
    let node = h
        .query_all_by_label(label)
        .find(|n| n.accesskit_node().role() != Role::Label)
        .unwrap_or_else(|| panic!("no control labelled {label:?}"));
    node.click();
    h.run_ok();
}

/// Replaces the text of a text field.
pub(super) fn set_text(h: &mut Harness<'_, EmslabApp>, label: &str, text: &str) {
    click(h, label);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run_ok();
    h.get_by_label(label).type_text(text);
    h.run_ok();
    // Leave the field, as a user tabbing on would.
    h.key_press(Key::Escape);
    h.run_ok();
}

/// Whether a text (a label's text, or a control's name) is on screen.
pub(super) fn shows(h: &Harness<'_, EmslabApp>, text: &str) -> bool {
    h.query_all_by_label(text).next().is_some()
}

/// Whether some text on screen contains this.
pub(super) fn shows_part(h: &Harness<'_, EmslabApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn ems_texts(app: &EmslabApp) -> Vec<(String, String)> {
    let t = app.derived.ems.as_ref().expect("the design derives");
    (0..t.terms.len())
        .map(|u| (t.terms[u].name.clone(), t.ems_text(u)))
        .collect()
}

pub(super) fn open_template(h: &mut Harness<'_, EmslabApp>, stem: &str) {
    click(h, "Start");
    click(h, stem);
    assert_eq!(h.state().doc.template.as_deref(), Some(stem));
}

/// The dataset read, if any.
pub(super) fn dataset(h: &Harness<'_, EmslabApp>) -> Option<std::sync::Arc<emslab::data::Dataset>> {
    h.state().data.as_ref().and_then(|d| d.dataset().cloned())
}

/// Whether the design changed, since the data were read, in what the reader uses.
fn data_stale(h: &Harness<'_, EmslabApp>) -> bool {
    let app = h.state();
    app.data
        .as_ref()
        .is_some_and(|d| d.stale(Some(&app.doc.spec)))
}

pub(super) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// What `emslab ems DESIGN --format F [--table KEY] --output FILE` writes: the command line
/// run in-process (`crate::cli::run_in_process`), reading the design file itself.
pub(super) fn cli_output(design: &Path, format: Format, table: Option<&str>) -> Vec<u8> {
    let design = design.to_string_lossy();
    let mut args = vec!["ems", &design, "--format", format.as_str()];
    if let Some(k) = table {
        args.extend(["--table", k]);
    }
    run_cli(&args)
}

/// Runs the command line in-process with `args` and `--output` to a temporary file, and
/// returns what it wrote.
pub(super) fn run_cli(args: &[&str]) -> Vec<u8> {
    let dir = temp_dir();
    let out = dir.path().join("cli.out");
    let out_arg = out.to_string_lossy();
    let mut all = args.to_vec();
    all.extend(["--output", &out_arg]);
    crate::cli::run_in_process(&all).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    std::fs::read(&out).expect("the command wrote its output")
}

#[test]
fn builds_the_pigment_paste_design_by_clicking_and_typing() {
    let mut h = harness(EmslabApp::default(), vec![]);
    assert_eq!(h.state().session.view, View::Start);
    click(&mut h, "New empty design");
    assert_eq!(h.state().session.view, View::Design);
    assert!(h.state().doc.spec.factors.is_empty());

    // batch: random, 15 levels.
    click(&mut h, "Add factor");
    set_text(&mut h, "Name of factor 1", "batch");
    click(&mut h, "Kind of factor 1");
    click(&mut h, "random");
    set_text(&mut h, "Levels of factor 1", "15");

    // sample: random, 2 levels within each batch, symbol s.
    click(&mut h, "Add factor");
    set_text(&mut h, "Name of factor 2", "sample");
    click(&mut h, "Kind of factor 2");
    click(&mut h, "random");
    set_text(&mut h, "Levels of factor 2", "2");
    click(&mut h, "Nested in (factor 2)");
    click(&mut h, "batch");
    h.key_press(Key::Escape);
    h.run_ok();
    set_text(&mut h, "Symbol of factor 2", "s");

    // 2 replicates, the title and the response.
    set_text(&mut h, "Replicates", "2");
    set_text(&mut h, "Title", "Pigment paste moisture");
    set_text(&mut h, "Response column", "moisture");

    let app = h.state();
    let shipped =
        DesignSpec::from_toml_str(templates::by_stem("pigment_paste").expect("shipped").1.toml)
            .expect("parses");
    assert_eq!(app.doc.spec, shipped, "the form built the shipped design");
    assert_eq!(
        ems_texts(app),
        vec![
            (
                "batch".into(),
                "σ² + n σ²(sample(batch)) + s n σ²(batch)".into()
            ),
            ("sample(batch)".into(), "σ² + n σ²(sample(batch))".into()),
            ("Residual".into(), "σ²".into()),
        ]
    );
    // And the EMS table on screen says so, with numbers.
    assert!(shows(&h, "σ² + n σ²(sample(batch)) + s n σ²(batch)"));
    assert!(shows(&h, "σ² + 2 σ²(sample(batch)) + 4 σ²(batch)"));
    assert!(shows(&h, "σ² + n σ²(sample(batch))"));
    // The term checkboxes show the df: 14, 15, Residual 30.
    assert!(shows(&h, "Residual: df 30"));
    assert!(h.state().doc.is_dirty());

    // Undo takes back the last field typed; redo puts it back.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_ok();
    assert_eq!(h.state().doc.spec.response, None);
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run_ok();
    assert_eq!(h.state().doc.spec, shipped);
}

#[test]
fn the_model_switch_changes_the_b_row_everywhere() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "two_factor_mixed");
    let restricted = "σ² + a n σ²(B)";
    let unrestricted = "σ² + n σ²(A:B) + a n σ²(B)";
    assert_eq!(ems_texts(h.state())[1], ("B".into(), restricted.into()));
    assert!(shows(&h, restricted));
    assert!(shows(&h, "MS(B) / MS(Residual)"));

    click(&mut h, "Unrestricted");
    assert_eq!(h.state().session.options.model, emslab::Model::Unrestricted);
    assert_eq!(ems_texts(h.state())[1], ("B".into(), unrestricted.into()));
    assert!(shows(&h, unrestricted));
    assert!(!shows(&h, restricted));
    // The test of B follows: against A:B now.
    assert!(shows(&h, "MS(B) / MS(A:B)"));

    // The derivation view follows too (its subscript table marks 1† entries).
    click(&mut h, "EMS derivation");
    click(&mut h, "Derive B");
    assert!(shows(&h, &format!("E(MS B) = {unrestricted}")));
    click(&mut h, "Restricted");
    assert!(shows(&h, &format!("E(MS B) = {restricted}")));
}

#[test]
fn exports_are_byte_identical_to_the_command_line() {
    let dir = temp_dir();
    let table_file = dir.path().join("ems.tex");
    let report_file = dir.path().join("report.md");
    let json_file = dir.path().join("report.json");
    let mut h = harness(
        EmslabApp::default(),
        vec![table_file.clone(), report_file.clone(), json_file.clone()],
    );
    open_template(&mut h, "pigment_paste");
    click(&mut h, "EMS derivation");

    // One table, LaTeX: `emslab ems designs/pigment_paste.toml --format latex --table ems`.
    click(&mut h, "Save ems as");
    click(&mut h, "Save ems as latex");
    let design = repo().join("designs/pigment_paste.toml");
    assert_eq!(
        std::fs::read(&table_file).expect("the app wrote the table"),
        cli_output(&design, Format::Latex, Some("ems"))
    );

    // The whole report from the File menu, Markdown and JSON.
    for (file, format, item) in [
        (&report_file, Format::Markdown, "Markdown (.md)"),
        (&json_file, Format::Json, "JSON (.json)"),
    ] {
        click(&mut h, "File");
        click(&mut h, "Export EMS report");
        click(&mut h, item);
        assert_eq!(
            std::fs::read(file).expect("the app wrote the report"),
            cli_output(&design, format, None),
            "{}",
            format.as_str()
        );
    }

    // Copy to the clipboard: the same LaTeX.
    click(&mut h, "Copy LaTeX of tests");
    let copied = h.state().last_copied.clone().expect("copied");
    assert_eq!(
        copied.into_bytes(),
        cli_output(&design, Format::Latex, Some("tests"))
    );
}

#[test]
fn an_invalid_field_is_shown_next_to_it_and_nothing_is_lost() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "two_factor_mixed");
    set_text(&mut h, "Levels of factor 2", "1");
    let app = h.state();
    assert_eq!(app.doc.spec.factors[1].levels, Some(1), "kept as typed");
    assert!(app.derived.design.is_err());
    assert!(shows_part(
        &h,
        "`levels` is 1; a factor needs at least 2 levels"
    ));
    // A name that is not an identifier.
    set_text(&mut h, "Levels of factor 2", "4");
    set_text(&mut h, "Name of factor 1", "1A");
    assert!(shows_part(&h, "name `1A` is not valid"));
    // Text that is not a number in a count field: reported, the spec keeps its value.
    set_text(&mut h, "Name of factor 1", "A");
    click(&mut h, "Levels of factor 1");
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Levels of factor 1").type_text("three");
    h.run_ok();
    assert!(shows_part(&h, "`three` is not a whole number"));
    assert_eq!(h.state().doc.spec.factors[0].levels, Some(3));
    assert!(h.state().derived.design.is_ok());
}

#[test]
fn unsaved_changes_are_not_lost_without_asking() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "two_factor_mixed");
    set_text(&mut h, "Title", "Changed");
    assert!(h.state().doc.is_dirty());
    click(&mut h, "Start");
    click(&mut h, "rcbd");
    assert!(h.state().pending.is_some(), "asks first");
    assert!(shows(&h, "Unsaved changes"));
    click(&mut h, "Cancel");
    assert_eq!(h.state().doc.spec.title, "Changed");
    assert_eq!(h.state().doc.template.as_deref(), Some("two_factor_mixed"));
    click(&mut h, "rcbd");
    click(&mut h, "Discard changes");
    assert_eq!(h.state().doc.template.as_deref(), Some("rcbd"));
    assert!(!h.state().doc.is_dirty());
}

#[test]
fn saves_and_reopens_a_design_file() {
    let dir = temp_dir();
    let path = dir.path().join("mine.toml");
    let mut h = harness(EmslabApp::default(), vec![path.clone(), path.clone()]);
    open_template(&mut h, "nested_factorial");
    set_text(&mut h, "Title", "Mine");
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run_ok();
    let text = std::fs::read_to_string(&path).expect("saved");
    let spec = DesignSpec::from_toml_str(&text).expect("parses");
    assert_eq!(spec, h.state().doc.spec);
    assert!(!h.state().doc.is_dirty());
    assert_eq!(h.state().doc.path.as_deref(), Some(path.as_path()));

    // Open it again (Ctrl+O answers with the same file).
    set_text(&mut h, "Title", "Mine, edited");
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_ok();
    click(&mut h, "Discard changes");
    assert_eq!(h.state().doc.spec.title, "Mine");
    assert!(!h.state().doc.is_dirty());
}

#[test]
fn the_session_is_restored() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "split_plot");
    click(&mut h, "Unrestricted");
    set_text(&mut h, "Title", "Split plot, edited");
    click(&mut h, "EMS derivation");
    let session = h.state().session_snapshot();
    let text = serde_json::to_string(&session).expect("serialises");
    let back: Session = serde_json::from_str(&text).expect("deserialises");
    let app = EmslabApp::new(back);
    assert_eq!(app.doc.spec.title, "Split plot, edited");
    assert_eq!(app.session.options.model, emslab::Model::Unrestricted);
    assert_eq!(app.session.view, View::Ems);
    // An old session file with unknown or missing fields still loads.
    let partial: Session = serde_json::from_str(r#"{"zoom": 1.5}"#).expect("defaults fill in");
    assert_eq!(partial.zoom, 1.5);
    assert_eq!(partial.options.model, emslab::Model::Restricted);
}

#[test]
fn the_derivation_view_walks_through_each_term() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "three_factor_mixed");
    click(&mut h, "EMS derivation");
    click(&mut h, "Derive A");
    assert!(shows(&h, "Covered columns: i"));
    // The test in the words of the exported tests table.
    assert!(shows_part(&h, "Test: quasi (F′)"));
    click(&mut h, "Derive B:C");
    assert_eq!(h.state().selected_term, 5);
    assert!(shows(&h, "Covered columns: j, k"));
}

/// Steps the app until its background work is done.
pub(super) fn wait_for_jobs(h: &mut Harness<'_, EmslabApp>) {
    let start = std::time::Instant::now();
    while h.state().is_busy() {
        assert!(
            start.elapsed().as_secs() < 120,
            "background work did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run_ok();
}

#[test]
fn loads_a_shipped_csv_and_shows_the_estimates() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    assert_eq!(h.state().session.view, View::Data);
    let loaded = dataset(&h).expect("the data are loaded");
    assert_eq!(loaded.n_rows, 60);
    assert!(shows_part(&h, "Balanced: every cell holds the same number"));
    // The preview shows the first rows of the file.
    assert!(shows(&h, "62.8"));

    click(&mut h, "Run the analysis");
    wait_for_jobs(&mut h);
    assert_eq!(h.state().session.view, View::Results);
    // Moment estimates of lme4's Pastes: 1.657309, 8.433667, 0.678, and MS(batch) =
    // 27.48918519 (R: tests/data/moments/reference.R, case `pastes`), as the screen rounds
    // them.
    let r = MomentsReference::load();
    for (quantity, term, shown) in [
        ("estimate", "batch", "1.657309"),
        ("estimate", "cask(batch)", "8.433667"),
        ("estimate", "Residual", "0.678"),
        ("ms", "batch", "27.48919"),
    ] {
        assert!(matches_printed(r.get("pastes", quantity, term), shown));
        assert!(shows(&h, shown), "{shown} is on screen");
    }
    // REML beside them: balanced, every estimate positive, so they coincide.
    let a = &h
        .state()
        .analysis
        .current
        .as_ref()
        .expect("analysed")
        .analysis;
    let fit = &a.reml.fits().expect("REML ran").reml.fit;
    let reml = fit.variance("batch").expect("batch");
    let moments = r.get("pastes", "estimate", "batch");
    assert!(
        rel_close(reml, moments, REML_AT_MOMENTS),
        "{reml} vs {moments}"
    );
    assert!(shows_part(
        &h,
        "coincide (balanced data, every moment estimate positive)"
    ));

    // Exports are what `emslab analyze DESIGN DATA` writes for the same files.
    let data = h.state().data.as_ref().expect("a data file").path.clone();
    for (table, format) in [
        (None, Format::Json),
        (None, Format::Text),
        (Some("components"), Format::Csv),
        (Some("reml_components"), Format::Latex),
    ] {
        let app_text = h
            .state()
            .render_target(
                &super::command::ExportTarget {
                    doc: super::command::DocKind::Analysis,
                    table: table.map(str::to_string),
                },
                format,
            )
            .expect("renders");
        let cli = cli_analyze(&repo().join("designs/pastes.toml"), &data, format, table);
        assert_eq!(
            app_text.as_bytes(),
            cli.as_slice(),
            "{table:?} {}",
            format.as_str()
        );
    }
}

/// What `emslab analyze DESIGN DATA --format F [--table KEY]` writes (the command line
/// in-process).
pub(super) fn cli_analyze(
    design: &Path,
    data: &Path,
    format: Format,
    table: Option<&str>,
) -> Vec<u8> {
    let (design, data) = (design.to_string_lossy(), data.to_string_lossy());
    let mut args = vec!["analyze", &design, &data, "--format", format.as_str()];
    if let Some(k) = table {
        args.extend(["--table", k]);
    }
    run_cli(&args)
}

#[test]
fn closing_the_window_with_unsaved_changes_asks_first() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "rcbd");
    set_text(&mut h, "Title", "RCBD, edited");
    let close = |h: &mut Harness<'_, EmslabApp>| {
        h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        h.run_ok();
    };
    close(&mut h);
    assert!(matches!(
        h.state().pending,
        Some(super::command::Command::Quit)
    ));
    assert!(!h.state().is_closing(), "the close was cancelled");
    assert!(shows(&h, "Unsaved changes"));
    click(&mut h, "Cancel");
    assert!(h.state().pending.is_none());
    assert_eq!(h.state().doc.spec.title, "RCBD, edited");
    close(&mut h);
    click(&mut h, "Discard changes");
    assert!(h.state().is_closing());
}

#[test]
fn unbalanced_data_get_reml_only_with_the_reason() {
    let dir = temp_dir();
    let csv = dir.path().join("dyestuff_unbalanced.csv");
    // Dyestuff without its last observation: batch F has 4 yields, the others 5.
    let text = std::fs::read_to_string(repo().join("designs/dyestuff.csv")).expect("shipped");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&csv, lines[..lines.len() - 1].join("\n")).expect("written");
    let mut h = harness(EmslabApp::default(), vec![csv]);
    open_template(&mut h, "dyestuff");
    set_text(&mut h, "Replicates", "");
    h.key_press_modifiers(Modifiers::COMMAND, Key::D);
    h.run_ok();
    wait_for_jobs(&mut h);
    assert!(shows_part(&h, "Unbalanced: 1 of 6 cells"));
    click(&mut h, "Run the analysis");
    wait_for_jobs(&mut h);
    assert!(shows(&h, "Unbalanced data"));
    assert!(shows(&h, "Batch=F"), "the short cell is named");
    let c = h.state().analysis.current.as_ref().expect("analysed");
    let anova = c
        .document
        .tables
        .iter()
        .find(|t| t.key == "anova")
        .expect("Type III table");
    assert!(anova.title.contains("Type III"), "{}", anova.title);
    let fit = &c
        .analysis
        .reml
        .fits()
        .expect("REML runs on unbalanced data")
        .reml
        .fit;
    assert!(!fit.balanced);
    // lme4 on the same rows (tests/data/gui/reference.R): Batch 1569.95465136835, Residual
    // 2526.53590189511.
    for term in ["Batch", "Residual"] {
        let lme4 = app_reference("dyestuff_last_dropped", "REML", "variance", term);
        let ours = fit.variance(term).expect("a component");
        assert!(
            rel_close(ours, lme4, REML_VS_LME4),
            "{term}: {ours} vs lme4 {lme4}"
        );
    }
}

/// Frame times of an 8-factor design (255 terms): run in release with
/// `cargo test --release --bin emslab frame_times -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn frame_times_for_eight_factors() {
    let mut spec = DesignSpec {
        replicates: Some(2),
        ..DesignSpec::default()
    };
    for (i, name) in ["A", "B", "C", "D", "E", "F", "G", "H"].iter().enumerate() {
        spec.factors.push(emslab::design::FactorSpec {
            name: name.to_string(),
            kind: if i % 2 == 0 {
                emslab::design::Kind::Fixed
            } else {
                emslab::design::Kind::Random
            },
            levels: Some(3),
            nested_in: vec![],
            symbol: None,
            role: None,
        });
    }
    let t = std::time::Instant::now();
    let d = super::doc::Derived::compute(&spec, emslab::Model::Restricted);
    eprintln!(
        "derive+document 8 factors: {:?}, tables rows: {:?}",
        t.elapsed(),
        d.document
            .as_ref()
            .map(|x| x.tables.iter().map(|t| t.rows.len()).collect::<Vec<_>>())
    );
    let app = EmslabApp::new(Session::default());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 860.0))
        .with_context_setup(super::install_fonts)
        .build_ui_state(|ui, app: &mut EmslabApp| app.frame(ui), app);
    h.state_mut().push(super::command::Command::Edit {
        spec: spec.clone(),
        key: super::command::EditKey::Discrete,
    });
    h.state_mut()
        .push(super::command::Command::ShowView(View::Design));
    h.run_ok();
    let t = std::time::Instant::now();
    for _ in 0..10 {
        h.step();
    }
    eprintln!("design view frame: {:?}", t.elapsed() / 10);
    h.state_mut()
        .push(super::command::Command::ShowView(View::Ems));
    h.run_ok();
    let t = std::time::Instant::now();
    for _ in 0..10 {
        h.step();
    }
    eprintln!("ems view frame: {:?}", t.elapsed() / 10);
}

#[test]
fn a_new_title_does_not_ask_to_reread_the_data_but_new_levels_do() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "dyestuff with data");
    wait_for_jobs(&mut h);
    assert!(dataset(&h).is_some());
    click(&mut h, "Design");
    set_text(&mut h, "Title", "Dyestuff, my notes");
    assert!(!data_stale(&h));
    set_text(&mut h, "Levels of factor 1", "7");
    assert!(data_stale(&h));
    // Undo: the design is the one the data were read with again.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_ok();
    assert!(!data_stale(&h));
}

/// With the `symbolica` feature the tool bar offers the engine; the EMS view says which
/// engine produced its tables, and the tables equal the built-in engine's. The worker is the
/// `emslab` binary next to the test binary when cargo has built it (`cargo test --features
/// symbolica` builds it for the integration tests); otherwise the worker cannot start and
/// the app must say so and fall back.
#[cfg(feature = "symbolica")]
#[test]
fn the_engine_choice_says_which_engine_made_the_tables() {
    use emslab::cas::Engine;
    let mut app = EmslabApp::default();
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent()?.parent().map(|d| d.join("emslab")))
        .filter(|e| e.is_file());
    app.engine.worker_exe = sibling.clone();
    let mut h = harness(app, vec![]);
    // Tall enough for the EMS view down to the solutions table, below the precision of
    // means (eight terms) that comes before it.
    h.set_size(egui::vec2(1500.0, 6000.0));
    open_template(&mut h, "three_factor_random");
    click(&mut h, "EMS derivation");
    assert!(shows(&h, &Engine::Emslab.label()));
    click(&mut h, "Symbolica");
    assert_eq!(h.state().session.engine, Engine::Symbolica);
    let start = std::time::Instant::now();
    while h.state().engine.waiting() {
        assert!(start.elapsed().as_secs() < 120, "Symbolica did not answer");
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
    h.run_ok();
    let out = h.state().derived.output.clone().expect("an engine output");
    assert_eq!(out.requested, Engine::Symbolica);
    let design = h.state().derived.design.clone().expect("the design checks");
    assert_eq!(
        out.table,
        emslab::derive(&design, emslab::Model::Restricted)
    );
    assert!(shows(&h, &out.engine.label()), "the engine is named");
    match out.engine {
        Engine::Symbolica => {
            assert!(out.fallback.is_none());
            assert!(shows(&h, "Symbolic solutions (Symbolica)"));
            assert!(
                shows(&h, "MS(A:B)+MS(A:C)-MS(A:B:C)"),
                "the F′ denominator of A"
            );
        }
        Engine::Emslab => {
            // CI builds the binary first and sets this: there the worker must run.
            assert!(
                std::env::var_os("EMSLAB_REQUIRE_SYMBOLICA").is_none(),
                "Symbolica did not run: {:?}",
                out.fallback
            );
            let why = out.fallback.clone().expect("a reason");
            assert!(shows_part(&h, &why), "the reason is shown: {why}");
            assert!(
                sibling.is_none(),
                "the emslab binary exists but was not used: {why}"
            );
        }
    }
    // Back to the built-in engine: its table, no Symbolica solutions.
    click(&mut h, "emslab");
    assert_eq!(
        h.state().derived.output.as_ref().map(|o| o.engine),
        Some(Engine::Emslab)
    );
    assert!(!shows(&h, "Symbolic solutions (Symbolica)"));
}

/// A data column named otherwise than its factor is mapped in the Data view: the read
/// fails by name, the factor's column chooser picks the column, and the data load.
#[test]
fn maps_a_differently_named_column_to_its_factor() {
    let dir = temp_dir();
    let csv = dir.path().join("pastes_lot.csv");
    let text = std::fs::read_to_string(repo().join("designs/pastes.csv")).expect("shipped");
    let header = text.lines().next().expect("a header").to_string();
    std::fs::write(
        &csv,
        text.replacen(&header, &header.replace("batch", "Lot"), 1),
    )
    .expect("written");
    let mut h = harness(EmslabApp::default(), vec![csv]);
    open_template(&mut h, "pastes");
    h.key_press_modifiers(Modifiers::COMMAND, Key::D);
    h.run_ok();
    wait_for_jobs(&mut h);
    assert!(dataset(&h).is_none());
    assert!(shows_part(&h, "no column named batch"));

    click(&mut h, "Column for factor batch");
    click(&mut h, "Lot (column 1)");
    wait_for_jobs(&mut h);
    assert_eq!(
        h.state().data.as_ref().expect("a data file").columns,
        vec![("batch".to_string(), "Lot".to_string())]
    );
    let loaded = dataset(&h).expect("the data are loaded");
    assert_eq!(loaded.n_rows, 60);
    assert_eq!(loaded.factors[0].header, "Lot");
    assert_eq!(loaded.factors[0].levels, 10);
    assert!(!shows_part(&h, "no column named batch"));
}

// ------------------------------------------------------------------ issue 15

/// Runs the analysis of the loaded data and waits for it (moments and REML).
pub(super) fn run_analysis(h: &mut Harness<'_, EmslabApp>) {
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run_ok();
    wait_for_jobs(h);
}

pub(super) fn current<'a>(h: &'a Harness<'_, EmslabApp>) -> &'a super::current::Current {
    h.state().analysis.current.as_ref().expect("an analysis")
}

/// The figure the results view drew last.
pub(super) fn drawn(h: &Harness<'_, EmslabApp>) -> emslab::chart::Figure {
    current(h).plots.drawn().cloned().expect("a plot was drawn")
}

/// Every finite y of a panel's lines and points.
pub(super) fn ys(p: &emslab::chart::Panel) -> Vec<f64> {
    use emslab::chart::SeriesData;
    let mut v: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| match &s.data {
            SeriesData::Points(q) | SeriesData::Line { points: q, .. } => {
                q.iter().map(|x| x[1]).collect()
            }
            _ => Vec::new(),
        })
        .filter(|y| y.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Item 1: the cell-means plot of a new analysis shows the new data's means (the plot and
/// its cache belong to the analysis; at main the cache was keyed by factor positions and
/// kept the machines' means for the gauge data).
#[test]
fn the_cell_means_plot_follows_new_data() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "machines with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    click(&mut h, "Cell means");
    let machines = ys(&drawn(&h).panels[0]);
    let ds = dataset(&h).expect("machines");
    let mut expected: Vec<f64> = ds.marginal_means(&[0, 1]);
    expected.sort_by(f64::total_cmp);
    assert_eq!(machines, expected);

    click(&mut h, "Start");
    click(&mut h, "montgomery_gauge with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    click(&mut h, "Cell means");
    let gauge = ys(&drawn(&h).panels[0]);
    let ds = dataset(&h).expect("gauge data");
    let mut expected: Vec<f64> = ds.marginal_means(&[0, 1]);
    expected.sort_by(f64::total_cmp);
    assert_eq!(gauge, expected, "the gauge data's means, not the machines'");
    // The y axis is named by the response.
    assert_eq!(drawn(&h).panels[0].y.label, "measurement");
}

/// Item 2: a file that fails to load replaces the old one (no "read and balanced" for the
/// old file, no analysis of it under the new name); a new design or template drops the
/// data; `gui DESIGN --data DATA` over unsaved changes reads nothing before the answer.
#[test]
fn a_file_that_fails_to_load_leaves_no_old_data_behind() {
    let dir = temp_dir();
    let bad = dir.path().join("pastes_bad.csv");
    let text = std::fs::read_to_string(repo().join("designs/pastes.csv")).expect("shipped");
    std::fs::write(&bad, text.replacen("62.8", "sixty-two", 1)).expect("written");
    let mut h = harness(EmslabApp::default(), vec![bad.clone()]);
    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(h.state().analysis.current.is_some());

    h.key_press_modifiers(Modifiers::COMMAND, Key::D);
    h.run_ok();
    wait_for_jobs(&mut h);
    assert!(dataset(&h).is_none(), "the old data are gone");
    assert!(h.state().analysis.current.is_none(), "and their analysis");
    assert!(shows_part(&h, "No data are loaded"));
    assert!(!shows_part(&h, "Balanced: every cell"));
    assert!(!shows_part(&h, "rows read from"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run_ok();
    assert!(h.state().analysis.current.is_none(), "nothing to analyse");
    assert!(h.state().status.as_ref().is_some_and(|s| s.error));

    // A template replaces the design, its data and its response column.
    click(&mut h, "Start");
    click(&mut h, "dyestuff with data");
    wait_for_jobs(&mut h);
    assert!(dataset(&h).is_some());
    click(&mut h, "Start");
    click(&mut h, "rcbd");
    assert!(h.state().data.is_none(), "the template has no data");

    // Launched with a design and data over a session with unsaved changes.
    let mut session = Session::default();
    let mut edited = DesignSpec::from_toml_str(
        templates::by_stem("two_factor_mixed")
            .expect("shipped")
            .1
            .toml,
    )
    .expect("parses");
    edited.title = "Mine, unsaved".into();
    session.design_toml = Some(edited.to_toml_string());
    session.template = Some("two_factor_mixed".into());
    let app = super::make_app(
        session,
        Some(repo().join("designs/pastes.toml")),
        Some(repo().join("designs/pastes.csv")),
    )
    .expect("the files exist");
    let mut h = harness(app, vec![]);
    assert!(shows(&h, "Unsaved changes"), "asks first");
    assert!(h.state().data.is_none(), "no data read into the old design");
    assert_eq!(h.state().doc.spec.title, "Mine, unsaved");
    click(&mut h, "Discard changes");
    wait_for_jobs(&mut h);
    assert_eq!(
        h.state().doc.path.as_deref(),
        Some(repo().join("designs/pastes.toml").as_path())
    );
    assert_eq!(dataset(&h).expect("read for the new design").n_rows, 60);
}

/// Item 3: a REML estimate of 0 is not drawn on the log scale (it is named under the
/// plot), and a rerun with pooling keeps tick labels on the log axis.
#[test]
fn a_zero_estimate_is_not_drawn_on_the_log_axis() {
    use emslab::chart::SeriesData;
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "dyestuff2 with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    let fig = drawn(&h);
    let p = &fig.panels[0];
    assert_eq!(p.y.scale, emslab::chart::Scale::Log10);
    let reml = p
        .series
        .iter()
        .find(|s| s.name == "REML estimate")
        .expect("REML estimates");
    // Batch (x = 0) sits at 0 (lme4: Dyestuff2's Batch variance is 0): only the Residual's.
    let SeriesData::Points(pts) = &reml.data else {
        panic!("points")
    };
    assert!(pts.iter().all(|q| q[0] > 0.5), "{pts:?}");
    assert!(
        p.notes.iter().any(|n| n.contains("Batch REML estimate 0")),
        "{:?}",
        p.notes
    );
    assert!(shows_part(&h, "Not drawn on the log scale"));

    // Pool the negative estimate and run again: the log axis still has ticks to read.
    click(&mut h, "Negative estimates");
    click(&mut h, "pool");
    run_analysis(&mut h);
    let fig = drawn(&h);
    let drawn_panel = fig.panels[0].drawn().into_owned();
    let (lo, hi) = drawn_panel.y_range().expect("values");
    let pad = 0.1 * (hi - lo).max(0.1);
    assert!(emslab::chart::log_ticks(lo - pad, hi + pad).len() >= 2);
}

/// Item 4: the REML table shows the profile-likelihood intervals its note describes.
#[test]
fn the_reml_table_shows_the_profile_intervals() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(shows(&h, "95% CI (profile)"));
    let fit = &current(&h).analysis.reml.fits().expect("fitted").reml.fit;
    let batch = fit.component("batch").expect("batch");
    let p = batch.profile.as_ref().expect("a profile interval");
    let text = format!(
        "[{}, {}]",
        emslab::report::fmt_sig(p.lower, 5),
        emslab::report::fmt_sig(p.upper, 5)
    );
    assert!(shows(&h, &text), "{text} on screen");
}

/// Item 5: results are marked out of date when α, the negative-estimate policy or the
/// model change, and not when they are set back.
#[test]
fn results_are_out_of_date_when_the_options_change() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "machines with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(!shows_part(&h, "Out of date"));
    click(&mut h, "Negative estimates");
    click(&mut h, "zero");
    assert!(shows_part(&h, "the negative-estimate policy changed"));
    click(&mut h, "Negative estimates");
    click(&mut h, "report");
    assert!(!shows_part(&h, "Out of date"));
    click(&mut h, "Unrestricted");
    assert!(shows_part(&h, "the model changed"));
    click(&mut h, "Restricted");
    let mut o = h.state().session.options;
    o.alpha = 0.1;
    h.state_mut()
        .push(super::command::Command::SetAnalysisOptions(o));
    h.run_ok();
    assert!(shows_part(&h, "α changed"));
}

/// Item 6: one run per cell: the term checkboxes are there to drop the interaction the
/// error names.
#[test]
fn one_run_per_cell_shows_the_term_checkboxes() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "rcbd");
    assert!(
        shows(&h, "Term treatment:block"),
        "the pooled term can be put back"
    );
    // Built by hand: two random factors, one run per cell, the full model.
    open_template(&mut h, "two_factor_random");
    set_text(&mut h, "Replicates", "1");
    assert!(h.state().derived.design.is_err());
    assert!(!shows_part(&h, "Fix the factors above"));
    click(&mut h, "Term A:B");
    assert!(h.state().derived.design.is_ok(), "dropping A:B fixes it");
    assert_eq!(
        h.state().doc.spec.terms,
        Some(vec!["A".to_string(), "B".to_string()])
    );
}

/// Item 7: a parent that is not a factor can be unchecked.
#[test]
fn a_parent_that_is_not_a_factor_can_be_removed() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "pigment_paste");
    let mut spec = h.state().doc.spec.clone();
    spec.factors[1].nested_in = vec!["lot".into()];
    h.state_mut().push(super::command::Command::Edit {
        spec,
        key: super::command::EditKey::Discrete,
    });
    h.run_ok();
    assert!(h.state().derived.design.is_err());
    click(&mut h, "Nested in (factor 2)");
    click(&mut h, "lot (no such factor)");
    h.key_press(Key::Escape);
    h.run_ok();
    assert!(h.state().doc.spec.factors[1].nested_in.is_empty());
    assert!(h.state().derived.design.is_ok());
}

/// Item 8: without a portal or zenity, Open falls back to the in-app chooser and says so.
#[test]
fn without_a_system_dialog_the_in_app_chooser_opens() {
    let app = EmslabApp::default().with_chooser(Box::new(super::dialogs::NoSystemChooser));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 1200.0))
        .with_max_steps(16)
        .with_context_setup(super::install_fonts)
        .build_ui_state(|ui, app: &mut EmslabApp| app.frame(ui), app);
    h.run_ok();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_ok();
    assert!(
        h.state().dialogs.builtin.is_some(),
        "the in-app chooser is open"
    );
    assert!(h.state().session.builtin_chooser);
    let status = h.state().status.clone().expect("a message");
    assert!(
        status.text.contains("emslab's own file chooser"),
        "{}",
        status.text
    );
    click(&mut h, "pastes.toml");
    click(&mut h, "Open");
    assert!(h.state().dialogs.builtin.is_none());
    assert_eq!(
        h.state().doc.path.as_ref().and_then(|p| p.file_name()),
        Some(std::ffi::OsStr::new("pastes.toml"))
    );
    // Esc closes it without an answer.
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_ok();
    assert!(h.state().dialogs.builtin.is_some());
    h.key_press(Key::Escape);
    h.run_ok();
    assert!(h.state().dialogs.builtin.is_none());
}

/// Item 9: the ANOVA and moment estimates show while the REML fit runs.
#[test]
fn the_moments_show_before_the_reml_fit() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    h.state_mut().analysis.hold_likelihood = true;
    run_analysis(&mut h);
    assert!(shows(&h, "27.48919"), "the ANOVA is on screen");
    assert!(shows(&h, "1.657309"), "and the moment estimates");
    assert!(current(&h).analysis.needs_likelihood(), "REML has not run");
    assert!(!shows(&h, "95% CI (profile)"));
    let ctx = h.ctx.clone();
    h.state_mut().analysis.release_likelihood(&ctx);
    wait_for_jobs(&mut h);
    assert!(current(&h).analysis.reml.fits().is_some());
    assert!(shows(&h, "95% CI (profile)"));
}

/// Item 10: Minitab's four residual plots, a nested factor's means drawn within each
/// parent, JMP's variability chart; every plot saves as PNG and SVG, and the HTML report
/// includes them.
#[test]
fn residual_plots_nested_means_variability_chart_and_exports() {
    use emslab::chart::SeriesData;
    let dir = temp_dir();
    let png = dir.path().join("plot.png");
    let svg = dir.path().join("plot.svg");
    let html = dir.path().join("report.html");
    let mut h = harness(
        EmslabApp::default(),
        vec![png.clone(), svg.clone(), html.clone()],
    );
    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    click(&mut h, "Residuals");
    let fig = drawn(&h);
    let titles: Vec<&str> = fig.panels.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Normal probability plot",
            "Versus fits",
            "Histogram",
            "Versus order"
        ]
    );
    assert_eq!(fig.panels[1].y.label, "Residual (strength)");

    click(&mut h, "Cell means");
    click(&mut h, "x-axis factor");
    click(&mut h, "cask");
    let p = &drawn(&h).panels[0];
    // Three casks within each of ten batches: ten groups, never joined across batches.
    assert_eq!(p.bands.len(), 10);
    let SeriesData::Line { points, .. } = &p.series[0].data else {
        panic!("a line")
    };
    assert_eq!(points.iter().filter(|q| q[1].is_nan()).count(), 9);
    assert_eq!(points.iter().filter(|q| q[1].is_finite()).count(), 30);

    click(&mut h, "Variability chart");
    let fig = drawn(&h);
    assert_eq!(fig.panels.len(), 2);
    let SeriesData::Points(obs) = &fig.panels[0].series[0].data else {
        panic!("points")
    };
    assert_eq!(obs.len(), 60, "every observation");

    click(&mut h, "Save PNG…");
    click(&mut h, "Save SVG…");
    assert!(
        std::fs::read(&png)
            .expect("PNG written")
            .starts_with(b"\x89PNG")
    );
    assert!(
        std::fs::read_to_string(&svg)
            .expect("SVG written")
            .contains("<svg")
    );
    click(&mut h, "File");
    click(&mut h, "Export analysis report");
    click(&mut h, "HTML (.html)");
    let report = std::fs::read_to_string(&html).expect("HTML written");
    assert!(
        report.matches("<svg").count() >= 4,
        "the plots are in the report"
    );
}

/// Item 11: p-values below 10⁻⁴ read `< 0.0001` on screen (the export keeps the value);
/// errors name fields as the form does.
#[test]
fn small_p_values_and_field_names_read_as_a_user_expects() {
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(
        shows(&h, "< 0.0001"),
        "cask(batch) p = 4e-14 reads < 0.0001"
    );
    let csv = h
        .state()
        .render_target(
            &super::command::ExportTarget {
                doc: super::command::DocKind::Analysis,
                table: Some("anova".into()),
            },
            Format::Csv,
        )
        .expect("renders");
    assert!(!csv.contains("< 0.0001"), "exports keep the value");

    open_template(&mut h, "two_factor_mixed");
    set_text(&mut h, "Levels of factor 2", "1");
    assert!(shows_part(&h, "factor B (row 2)"));
    assert!(!shows_part(&h, "factors[1]"));
}

/// Item 12: each table's "?" opens its entry in the Help view.
#[test]
fn each_table_links_to_its_help() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "three_factor_mixed");
    click(&mut h, "EMS derivation");
    click(&mut h, "Help on tests");
    assert_eq!(h.state().session.view, View::Help);
    assert_eq!(h.state().help_topic.as_deref(), Some("tests"));
    assert!(shows_part(&h, "exact when one mean square does"));
}

/// Item 13: Esc cancels the unsaved-changes question and Enter saves (its default button);
/// the question shows at once after a file dialog; a restored session keeps the unsaved
/// marker.
#[test]
fn dialogs_answer_to_keys_and_the_unsaved_marker_survives_a_restart() {
    let dir = temp_dir();
    let path = dir.path().join("saved.toml");
    let mut h = harness(
        EmslabApp::default(),
        vec![repo().join("designs/rcbd.toml"), path.clone()],
    );
    open_template(&mut h, "two_factor_mixed");
    set_text(&mut h, "Title", "Edited");
    // A restart keeps the marker (the design came from a template).
    let restored = EmslabApp::new(h.state().session_snapshot());
    assert!(restored.doc.is_dirty(), "a restored edit is still unsaved");

    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_ok();
    assert!(h.state().pending.is_some(), "asks at once after the dialog");
    assert!(shows(&h, "Unsaved changes"));
    h.key_press(Key::Escape);
    h.run_ok();
    assert!(h.state().pending.is_none(), "Esc cancels");
    assert_eq!(h.state().doc.spec.title, "Edited");

    click(&mut h, "Start");
    click(&mut h, "rcbd");
    assert!(shows(&h, "Unsaved changes"));
    h.key_press(Key::Enter);
    h.run_ok();
    // Save is the default: the design is saved (the dialog answers `path`), then rcbd opens.
    let saved = std::fs::read_to_string(&path).expect("saved");
    assert!(saved.contains("Edited"));
    assert_eq!(h.state().doc.template.as_deref(), Some("rcbd"));
}

// ------------------------------------------------------------------ issues 12, 13, 14

/// Types a number into a drag value: click to edit, select all, type, Enter.
fn set_value(h: &mut Harness<'_, EmslabApp>, label: &str, text: &str) {
    click(h, label);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run_ok();
    h.get_by_label(label).type_text(text);
    h.run_ok();
    h.key_press(Key::Enter);
    h.run_ok();
}

/// The built binary's output for these arguments, when cargo built it (it does for the
/// integration tests).
/// What the command line writes for `args` (run in-process, as `run_cli`).
fn cli_run(args: &[std::ffi::OsString]) -> Vec<u8> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(std::ffi::OsString::from).collect()
}

/// The Plan view's plan.
fn plan_result<'a>(h: &'a Harness<'_, EmslabApp>) -> &'a super::plan::PlanResult {
    h.state().plan.result().expect("a plan")
}

/// The power of every test of two_factor_mixed (restricted) with B at `b` levels, σ²(B) =
/// 0.5, σ²(A:B) = 0.25, σ² = 1 and effects of A -1, 0, 1: each size's own design, derived
/// and evaluated from scratch (a brute force beside the view's solve).
fn two_factor_power(b: u32) -> Vec<Option<f64>> {
    let spec = DesignSpec::from_toml_str(
        templates::by_stem("two_factor_mixed")
            .expect("shipped")
            .1
            .toml,
    )
    .expect("parses");
    let d = emslab::Design::try_from(spec)
        .expect("valid")
        .with_sizes(&[None, Some(b)], None)
        .expect("sizes");
    let m = emslab::Model::Restricted;
    let s = emslab::power::PowerSpec::new(
        &d,
        m,
        &[("B", 0.5), ("A:B", 0.25), ("Residual", 1.0)],
        &[("A", vec![-1.0, 0.0, 1.0])],
        0.05,
    )
    .expect("inputs");
    emslab::power::power(&emslab::derive(&d, m), &s)
        .rows
        .iter()
        .map(|r| r.power)
        .collect()
}

/// Issue 13 item 5: the Plan view beside Design (Ctrl+3): the components and effects typed
/// in give every test's power (scipy's values), the table follows the model and the design's
/// sizes as they are edited, the solve finds the levels of B a brute force finds, and the
/// table, the report and the curve export as `emslab power` writes them.
#[test]
fn the_plan_view_gives_power_live_and_solves_for_the_levels() {
    use emslab::report::fmt_sig;
    let dir = temp_dir();
    let (csv, json, png) = (
        dir.path().join("power.csv"),
        dir.path().join("power.json"),
        dir.path().join("curve.png"),
    );
    let mut h = harness(
        EmslabApp::default(),
        vec![csv.clone(), json.clone(), png.clone()],
    );
    open_template(&mut h, "two_factor_mixed");
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num3);
    h.run_ok();
    assert_eq!(h.state().session.view, View::Plan);
    set_value(&mut h, "Variance of B", "0.5");
    set_value(&mut h, "Variance of A:B", "0.25");
    set_text(&mut h, "Effects of A", "-1, 0, 1");
    assert_eq!(h.state().session.plan.variance("B"), Some(0.5));
    assert_eq!(h.state().session.plan.variance("Residual"), Some(1.0));
    // tests/data/power/exact.csv, rows `crossed` (scipy.stats ncf.sf / f.sf): A 0.6078235989,
    // B 0.4822532005 (restricted), 0.2883249151 (unrestricted), A:B 0.1449562704.
    let shown = |h: &Harness<'_, EmslabApp>, p: f64| shows(h, &fmt_sig(p, 4));
    let powers: Vec<f64> = plan_result(&h)
        .power
        .rows
        .iter()
        .map(|r| r.power.expect("a test"))
        .collect();
    assert_eq!(powers.len(), 3);
    for (p, scipy) in
        powers
            .iter()
            .zip([0.6078235989119101, 0.4822532004835052, 0.1449562704178717])
    {
        assert_eq!(fmt_sig(*p, 6), fmt_sig(scipy, 6), "{p} vs scipy {scipy}");
        assert!(shown(&h, scipy), "{scipy} on screen");
    }
    click(&mut h, "Unrestricted");
    assert!(shown(&h, 0.28832491508019303));
    assert!(!shown(&h, 0.4822532004835052));
    click(&mut h, "Restricted");

    // Live: B at 6 levels in the sizes row edits the design, and the table follows.
    set_value(&mut h, "Plan levels of B", "6");
    assert_eq!(h.state().doc.spec.factors[1].levels, Some(6));
    let at6 = two_factor_power(6);
    assert_eq!(
        plan_result(&h)
            .power
            .rows
            .iter()
            .map(|r| r.power)
            .collect::<Vec<_>>(),
        at6
    );
    assert!(shown(&h, at6[0].expect("A")));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_ok();
    assert_eq!(h.state().doc.spec.factors[1].levels, Some(4));
    assert!(shown(&h, 0.6078235989119101));

    // How many levels of B for power 0.8 in the test of A (the defaults: the first random
    // factor, the first fixed term): the smallest n a brute force finds.
    let n = (2..=1000u32)
        .find(|&b| two_factor_power(b)[0].is_some_and(|p| p >= 0.8))
        .expect("reachable");
    let sol = plan_result(&h).solution.clone().expect("solved");
    assert_eq!(sol.size, Some(n));
    assert!(shows_part(&h, &format!("B: {n} levels")));
    assert_eq!(
        drawn_plan(&h).title,
        "Power of the test of A against the levels of B"
    );

    // The table, the whole report and the curve, as `emslab power` writes them.
    click(&mut h, "Save power as");
    click(&mut h, "Save power as csv");
    click(&mut h, "File");
    click(&mut h, "Export power report");
    click(&mut h, "JSON (.json)");
    click(&mut h, "Save power curve PNG…");
    assert!(std::fs::read(&png).expect("PNG").starts_with(b"\x89PNG"));
    let design = repo().join("designs/two_factor_mixed.toml");
    let base = [
        "power",
        "",
        "--sigma2",
        "B=0.5",
        "A:B=0.25",
        "Residual=1",
        "--effect",
        "A=-1,0,1",
        "--target",
        "0.8",
        "--solve",
        "B",
        "--term",
        "A",
        "--format",
    ];
    for (file, tail) in [
        (&csv, vec!["csv", "--table", "power"]),
        (&json, vec!["json"]),
    ] {
        let mut args = os(&base);
        args[1] = design.clone().into_os_string();
        args.extend(os(&tail));
        let app = std::fs::read(file).expect("written");
        assert_eq!(app, cli_run(&args), "{tail:?}");
        assert!(!app.is_empty());
    }

    // The curve against the effect size: one line per test.
    click(&mut h, "against the effect size");
    let fig = drawn_plan(&h);
    assert_eq!(fig.title, "Power against the effect size");
    let names: Vec<&str> = fig.panels[0]
        .series
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names[..3], ["A", "B", "A:B"]);
    // Take the answer into the design.
    click(&mut h, &format!("Set B to {n} in the design"));
    assert_eq!(h.state().doc.spec.factors[1].levels, Some(n));
    // The wrong number of effects: said next to the field, A's power is α.
    set_text(&mut h, "Effects of A", "1, 2");
    assert!(shows_part(&h, "2 given: 3 values, one per level of A"));
    assert!(shown(&h, 0.05));
    // Solving for the replicates of a test with power α: unreachable, and said so.
    click(&mut h, "Solve for");
    click(&mut h, "replicates");
    let sol = plan_result(&h).solution.clone().expect("solved");
    assert_eq!(sol.spec.vary, emslab::power::Vary::Replicates);
    assert_eq!(sol.size, None);
    assert!(shows_part(&h, "No size up to 1000 reaches 0.8"));
    // The inputs are kept with the session.
    let back: Session =
        serde_json::from_str(&serde_json::to_string(&h.state().session_snapshot()).expect("json"))
            .expect("reads");
    assert_eq!(back.plan.variance("A:B"), Some(0.25));
}

fn drawn_plan(h: &Harness<'_, EmslabApp>) -> emslab::chart::Figure {
    h.state().plan.figure().cloned().expect("a curve")
}

fn gauge_shown<'a>(h: &'a Harness<'_, EmslabApp>) -> &'a super::gauge_view::Shown {
    current(h).gauge.shown().expect("a gauge study")
}

/// Issue 14 item 1: the AIAG study (designs/gauge_aiag.*, `role` on its factors) gets a
/// Gauge section reproducing Minitab's printed table (Minitab 19 Help, "Example of Crossed
/// Gage R&R Study", tolerance 8: 7.76 %Contribution, 27.86 %Study Var, 22.68 %Tolerance,
/// 4 distinct categories, the interaction removed at p = 0.974); its inputs recompute it at
/// once; its six charts and tables export as `emslab gauge` writes them; a design with the
/// factors in the other order is read again for the study; without roles there is no
/// section.
#[test]
fn the_gauge_section_reproduces_minitab_and_follows_its_inputs() {
    use emslab::gauge::{InteractionStatus, Source};
    let dir = temp_dir();
    let (png, svg, csv, html) = (
        dir.path().join("gauge.png"),
        dir.path().join("gauge.svg"),
        dir.path().join("evaluation.csv"),
        dir.path().join("report.html"),
    );
    let mut h = harness(
        EmslabApp::default(),
        vec![png.clone(), svg.clone(), csv.clone(), html.clone()],
    );
    let design = repo().join("designs/gauge_aiag.toml");
    let data = repo().join("designs/gauge_aiag.csv");
    h.state_mut().push(super::command::Command::OpenDesign {
        path: design.clone(),
        data: Some(data.clone()),
    });
    h.run_ok();
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(shows(&h, "Gauge R&R study"));
    click(&mut h, "Tolerance");
    set_value(&mut h, "Gauge tolerance", "8");
    assert_eq!(h.state().session.gauge.tolerance, Some(8.0));
    let s = &gauge_shown(&h).study;
    let gauge = s.row(Source::TotalGageRr).expect("gauge row");
    for (v, printed) in [
        (gauge.pct_contribution, "7.76"),
        (gauge.pct_study_var, "27.86"),
        (gauge.pct_tolerance.expect("tolerance"), "22.68"),
    ] {
        assert_eq!(format!("{v:.2}"), printed);
        assert!(shows(&h, printed), "{printed} on screen");
    }
    assert_eq!(s.ndc, Some(4));
    let i = s.interaction.expect("crossed");
    assert_eq!(i.status, InteractionStatus::Removed);
    assert_eq!(format!("{:.3}", i.p.expect("tested")), "0.974");
    assert!(shows(&h, "Two-way ANOVA without interaction"));
    let first: Vec<f64> = s.rows.iter().map(|r| r.varcomp).collect();

    // The interaction kept at alpha 0.99 (> 0.974), study variation 5.15 × SD.
    set_value(&mut h, "Interaction alpha", "0.99");
    set_value(&mut h, "Study variation multiplier", "5.15");
    let s = &gauge_shown(&h).study;
    assert_eq!(
        s.interaction.expect("crossed").status,
        InteractionStatus::Kept
    );
    assert!(s.row(Source::OperatorPart).is_some());
    assert!(shows(&h, "Two-way ANOVA with interaction"));
    assert!(!shows(&h, "Two-way ANOVA without interaction"));
    assert!(shows(&h, "Study Var (5.15 × SD)"));

    // The six charts, saved; a table as `emslab gauge ... --table gauge_evaluation` writes it.
    let titles: Vec<String> = gauge_shown(&h)
        .figure
        .panels
        .iter()
        .map(|p| p.title.clone())
        .collect();
    assert_eq!(
        titles,
        [
            "Components of Variation",
            "measurement by part",
            "R Chart by operator",
            "measurement by operator",
            "Xbar Chart by operator",
            "part * operator Interaction"
        ]
    );
    click(&mut h, "Save gauge PNG…");
    click(&mut h, "Save gauge SVG…");
    assert!(std::fs::read(&png).expect("PNG").starts_with(b"\x89PNG"));
    assert!(std::fs::read_to_string(&svg).expect("SVG").contains("<svg"));
    click(&mut h, "Save gauge_evaluation as");
    click(&mut h, "Save gauge_evaluation as csv");
    let app = std::fs::read(&csv).expect("written");
    let mut args = vec![
        "gauge".into(),
        design.clone().into_os_string(),
        data.clone().into_os_string(),
    ];
    args.extend(os(&[
        "--tolerance",
        "8",
        "--study-var",
        "5.15",
        "--interaction-alpha",
        "0.99",
        "--format",
        "csv",
        "--table",
        "gauge_evaluation",
    ]));
    assert_eq!(app, cli_run(&args));
    // The HTML analysis report carries the gauge charts with the other plots.
    click(&mut h, "File");
    click(&mut h, "Export analysis report");
    click(&mut h, "HTML (.html)");
    let report = std::fs::read_to_string(&html).expect("HTML written");
    assert!(report.contains("Gage R&amp;R (ANOVA) Report for measurement"));
    set_value(&mut h, "Interaction alpha", "0.05");
    set_value(&mut h, "Study variation multiplier", "6");

    // The operator declared first: the study reads the file again for its own design
    // (parts first) and finds the same components.
    let mut spec = h.state().doc.spec.clone();
    spec.factors.swap(0, 1);
    h.state_mut().push(super::command::Command::Edit {
        spec,
        key: super::command::EditKey::Discrete,
    });
    h.state_mut().push(super::command::Command::RereadData);
    h.run_ok();
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    wait_for_jobs(&mut h);
    let again: Vec<f64> = gauge_shown(&h)
        .study
        .rows
        .iter()
        .map(|r| r.varcomp)
        .collect();
    assert_eq!(again, first);

    // No roles, no section.
    click(&mut h, "Design");
    click(&mut h, "Role of factor 1");
    click(&mut h, "—");
    assert_eq!(h.state().doc.spec.factors[0].role, None);
    run_analysis(&mut h);
    assert!(!shows(&h, "Gauge R&R study"));
}

/// Issue 12 item 6: unbalanced data (designs/machines.csv with 8 of 54 rows dropped,
/// tests/data/unbalanced/machines_seed1201.csv) show their balance report on top, the
/// Type III table with its EMS and tests and the moment estimates, the REML fit; the choice
/// of Type I marks the results out of date and gives the sequential sums of squares. The SS
/// are R's (tests/data/unbalanced/reference.csv: car::Anova type 3 and anova(lm)).
#[test]
fn unbalanced_data_show_their_balance_type_iii_and_type_i() {
    use emslab::report::fmt_sig;
    let csv = repo().join("tests/data/unbalanced/machines_seed1201.csv");
    let mut h = harness(EmslabApp::default(), vec![csv]);
    open_template(&mut h, "machines");
    set_text(&mut h, "Replicates", "");
    h.key_press_modifiers(Modifiers::COMMAND, Key::D);
    h.run_ok();
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(shows(&h, "Unbalanced data"));
    assert!(shows(&h, "Cells short or extra"));
    assert!(shows_part(&h, "cells do not hold 3 observations"));
    let emslab::analysis::Route::Unbalanced(u) = &current(&h).analysis.route else {
        panic!("the unbalanced route")
    };
    let short = u.balance.problems[0].cell.clone();
    assert!(shows(&h, &short), "{short} is named");
    let ss_of = |h: &Harness<'_, EmslabApp>, term: &str| {
        let c = current(h);
        let t = c
            .document
            .tables
            .iter()
            .find(|t| t.key == "anova")
            .expect("an ANOVA table");
        let r = t.rows.iter().find(|r| r[0].text == term).expect("the row");
        (t.title.clone(), r[2].text.clone())
    };
    // Type III: SS(Machine) = 1421.7238268733852 (car::Anova, type 3).
    let (title, ss) = ss_of(&h, "Machine");
    assert_eq!(title, "Analysis of variance (Type III sums of squares)");
    assert_eq!(ss, fmt_sig(1421.7238268733852, 7));
    assert!(shows(&h, &title));
    assert!(shows(&h, &ss));
    assert!(shows(
        &h,
        "Expected mean squares of the Type III mean squares"
    ));
    assert!(shows(
        &h,
        "Variance components (moments of the Type III mean squares)"
    ));
    assert!(current(&h).analysis.reml.fits().is_some(), "REML ran");
    assert!(shows_part(&h, "beside the method of moments"));

    // Type I: out of date until run again, then the sequential SS(Machine) =
    // 1489.3282246376807 (anova(lm)).
    click(&mut h, "Sums of squares");
    click(&mut h, "Type I");
    assert_eq!(
        h.state().session.options.ss_type,
        emslab::unbalanced::SsType::I
    );
    assert!(shows_part(&h, "the SS type changed"));
    run_analysis(&mut h);
    assert!(!shows_part(&h, "Out of date"));
    let (title, ss) = ss_of(&h, "Machine");
    assert_eq!(title, "Analysis of variance (Type I sums of squares)");
    assert_eq!(ss, fmt_sig(1489.3282246376807, 7));
    assert!(shows(&h, &ss));
    // Kept with the session's options.
    let back: Session =
        serde_json::from_str(&serde_json::to_string(&h.state().session_snapshot()).expect("json"))
            .expect("reads");
    assert_eq!(back.options.ss_type, emslab::unbalanced::SsType::I);
}

// ---- Means and comparisons (issue 11, item 6) ------------------------------------------

/// The analysis JSON (`emslab analyze DESIGN DATA --format json [--adjust A]
/// [--kenward-roger]`) as a value: made by the library calls the command makes (read,
/// `analysis::run`, `AnalysisJson`), independently of the app, and compared with the
/// built binary's output when cargo built it.
fn analyze_json(
    design: &Path,
    data: &Path,
    adjust: emslab::means::Adjustment,
    kenward_roger: bool,
) -> serde_json::Value {
    use emslab::analysis::{self, Input, Likelihood, Rows};
    let d = emslab::io::read_design(design).expect("design reads");
    let ds = emslab::data::read_csv(
        data,
        &d,
        &emslab::data::ReadOptions {
            keep_rows: true,
            ..Default::default()
        },
    )
    .expect("data read");
    let opts = analysis::Options {
        adjust,
        kenward_roger,
        likelihood: Likelihood::Reml,
        ..Default::default()
    };
    let a = analysis::run(
        &d,
        Input::Data {
            dataset: &ds,
            rows: Rows::Kept,
        },
        &opts,
        &analysis::Cancel::none(),
        &mut |_| {},
    )
    .expect("analysed");
    // Through text, as the binary's output is read (serde_json's parse may differ from
    // the f64 in the last bit: both sides are parsed alike).
    let text = serde_json::to_string(&emslab::report::AnalysisJson::new(&a)).expect("serialises");
    let lib: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut args = os(&["analyze"]);
    args.extend([design.as_os_str().to_owned(), data.as_os_str().to_owned()]);
    args.extend(os(&["--format", "json", "--adjust", adjust.as_str()]));
    if kenward_roger {
        args.extend(os(&["--kenward-roger"]));
    }
    {
        let out = cli_run(&args);
        let cli: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        for key in [
            "grand_mean",
            "means",
            "comparisons",
            "letters",
            "adjustment",
        ] {
            assert_eq!(
                cli[key], lib[key],
                "{key}: the binary and the library agree"
            );
        }
    }
    lib
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().expect("a number")
}

/// A mean's row of the means table as the report writes it: mean (7 significant digits),
/// SE and df (5), the interval (6).
fn mean_cells(m: &serde_json::Value) -> [String; 4] {
    use emslab::report::fmt_sig;
    [
        fmt_sig(f(&m["mean"]), 7),
        fmt_sig(f(&m["se"]), 5),
        fmt_sig(f(&m["df"]), 5),
        format!(
            "[{}, {}]",
            fmt_sig(f(&m["ci"]["lower"]), 6),
            fmt_sig(f(&m["ci"]["upper"]), 6)
        ),
    ]
}

/// The means of machines (balanced: each variance from the precision table, Satterthwaite
/// df), the Tukey comparisons, the letters and the plot are in the Means section with the
/// numbers `emslab analyze` gives; loading and running pastes (no fixed term) replaces them
/// with its grand mean alone.
#[test]
fn the_means_section_shows_machines_then_pastes_grand_mean() {
    use emslab::chart::SeriesData;
    use emslab::means::Adjustment;
    let dir = temp_dir();
    let png = dir.path().join("means.png");
    let svg = dir.path().join("means.svg");
    let mut h = harness(EmslabApp::default(), vec![png.clone(), svg.clone()]);
    click(&mut h, "Start");
    click(&mut h, "machines with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    let machines = analyze_json(
        &repo().join("designs/machines.toml"),
        &repo().join("designs/machines.csv"),
        Adjustment::Tukey,
        false,
    );
    assert!(shows(&h, "Means and comparisons"));
    assert!(shows(&h, "Pairwise comparisons"));
    assert!(shows(&h, "p (Tukey)"));
    for m in
        std::iter::once(&machines["grand_mean"]).chain(machines["means"].as_array().expect("means"))
    {
        for cell in mean_cells(m) {
            assert!(shows(&h, &cell), "{cell} of {m} is on screen");
        }
    }
    // The comparisons: difference, SE, t and the Tukey p (4 digits; `< 0.0001` below).
    for c in machines["comparisons"].as_array().expect("comparisons") {
        use emslab::report::fmt_sig;
        let p = f(&c["p_adjusted"]);
        for cell in [
            fmt_sig(f(&c["difference"]), 6),
            fmt_sig(f(&c["t"]), 5),
            fmt_sig(p, 4),
        ] {
            assert!(shows(&h, &cell), "{cell} of {c} is on screen");
        }
    }
    // Letters: A differs from B and C (a, b, b).
    let letters: Vec<&str> = machines["letters"]
        .as_array()
        .expect("letters")
        .iter()
        .map(|l| l["letters"].as_str().expect("text"))
        .collect();
    assert_eq!(letters, ["a", "b", "b"]);
    assert!(shows_part(&h, "Tukey adjustment; compact letters"));
    // The plot: each mean with its interval, the grand mean, the letters by the levels.
    let fig = current(&h)
        .means
        .figure()
        .cloned()
        .expect("a plot of means");
    let p = &fig.panels[0];
    assert_eq!(p.title, "Means of Machine with 95% confidence intervals");
    assert_eq!(
        p.x.scale,
        emslab::chart::Scale::Categories(vec!["A (a)".into(), "B (b)".into(), "C (b)".into()])
    );
    let SeriesData::Intervals(marks) = &p.series[0].data else {
        panic!("interval bars")
    };
    for (mark, m) in marks
        .iter()
        .zip(machines["means"].as_array().expect("means"))
    {
        assert_eq!(
            (mark.center, mark.lower, mark.upper),
            (f(&m["mean"]), f(&m["ci"]["lower"]), f(&m["ci"]["upper"]))
        );
    }
    assert!(p.series.iter().any(|s| matches!(
        s.data,
        SeriesData::Level { value, .. } if value == f(&machines["grand_mean"]["mean"])
    )));
    // The covariance of two observations, folded under the means: the correlations of
    // `covariances` (same Worker 0.6064, same Machine and Worker 0.9755).
    click(&mut h, "Covariance and correlation of two observations");
    for c in machines["covariances"].as_array().expect("covariances") {
        let r = emslab::report::fmt_sig(f(&c["correlation"]), 4);
        assert!(shows(&h, &r), "correlation {r} is on screen");
    }
    click(&mut h, "Save means PNG…");
    click(&mut h, "Save means SVG…");
    assert!(
        std::fs::read(&png)
            .expect("PNG written")
            .starts_with(b"\x89PNG")
    );
    assert!(
        std::fs::read_to_string(&svg)
            .expect("SVG written")
            .contains("Means of Machine")
    );

    click(&mut h, "Start");
    click(&mut h, "pastes with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    let pastes = analyze_json(
        &repo().join("designs/pastes.toml"),
        &repo().join("designs/pastes.csv"),
        Adjustment::Tukey,
        false,
    );
    assert_eq!(pastes["means"].as_array().map(Vec::len), Some(0));
    assert!(shows(&h, "Means and comparisons"));
    for cell in mean_cells(&pastes["grand_mean"]) {
        assert!(shows(&h, &cell), "pastes' grand mean: {cell} is on screen");
    }
    let [machines_mean, ..] = mean_cells(&machines["means"][0]);
    assert!(
        !shows(&h, &machines_mean),
        "no mean of the machines is left"
    );
    assert!(
        !shows(&h, "Pairwise comparisons"),
        "no fixed term, no pairs"
    );
    assert!(
        current(&h).means.figure().is_none(),
        "no fixed term to plot"
    );
}

/// The adjustment of the comparisons is a setting of the analysis: changing it marks the
/// results out of date, and the run gives the Bonferroni p-values `emslab analyze
/// --adjust bonferroni` gives (min(1, 3 p) for machines' three pairs).
#[test]
fn the_adjustment_setting_marks_results_stale_and_changes_adjusted_p() {
    use emslab::means::Adjustment;
    let mut h = harness(EmslabApp::default(), vec![]);
    click(&mut h, "Start");
    click(&mut h, "machines with data");
    wait_for_jobs(&mut h);
    run_analysis(&mut h);
    assert!(shows(&h, "p (Tukey)"));
    click(&mut h, "Adjustment of the comparisons");
    click(&mut h, "Bonferroni");
    assert_eq!(h.state().session.options.adjust, Adjustment::Bonferroni);
    assert!(shows_part(&h, "the adjustment of the comparisons changed"));
    run_analysis(&mut h);
    assert!(!shows_part(&h, "Out of date"));
    assert!(shows(&h, "p (Bonferroni)"));
    let json = analyze_json(
        &repo().join("designs/machines.toml"),
        &repo().join("designs/machines.csv"),
        Adjustment::Bonferroni,
        false,
    );
    let means = current(&h).analysis.means.as_ref().expect("means");
    assert_eq!(means.adjustment, Adjustment::Bonferroni);
    let shown: Vec<Option<f64>> = means.terms[0]
        .comparisons
        .iter()
        .map(|c| c.p_adjusted)
        .collect();
    let cli: Vec<Option<f64>> = json["comparisons"]
        .as_array()
        .expect("comparisons")
        .iter()
        .map(|c| c["p_adjusted"].as_f64())
        .collect();
    assert_eq!(shown, cli);
    for c in &means.terms[0].comparisons {
        let (p, adjusted) = (c.p.expect("p"), c.p_adjusted.expect("adjusted p"));
        assert_eq!(adjusted, (3.0 * p).min(1.0), "Bonferroni over 3 pairs");
        assert!(shows(&h, &emslab::report::fmt_sig(adjusted, 4)));
    }
}

/// Unbalanced data: the means come from the REML fit (after it), Kenward-Roger is a
/// setting that marks the results out of date, and the run gives pbkrtest's method as
/// `emslab analyze --kenward-roger` does.
#[test]
fn unbalanced_means_come_from_the_reml_fit_with_kenward_roger_as_a_setting() {
    use emslab::means::{Adjustment, MeanMethod};
    let dir = temp_dir();
    let csv = dir.path().join("machines_unbalanced.csv");
    // Machines without three observations (lines 5, 12 and 30 of the file).
    let text = std::fs::read_to_string(repo().join("designs/machines.csv")).expect("shipped");
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| ![4, 11, 29].contains(i))
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&csv, kept.join("\n")).expect("written");
    let mut h = harness(EmslabApp::default(), vec![csv.clone()]);
    open_template(&mut h, "machines");
    h.key_press_modifiers(Modifiers::COMMAND, Key::D);
    h.run_ok();
    wait_for_jobs(&mut h);
    h.state_mut().analysis.hold_likelihood = true;
    run_analysis(&mut h);
    assert!(current(&h).analysis.means.is_none());
    assert!(shows_part(
        &h,
        "The means of unbalanced data are the REML fit's"
    ));
    let ctx = h.ctx.clone();
    h.state_mut().analysis.release_likelihood(&ctx);
    wait_for_jobs(&mut h);
    let satterthwaite = analyze_json(
        &repo().join("designs/machines.toml"),
        &csv,
        Adjustment::Tukey,
        false,
    );
    assert_eq!(satterthwaite["means_method"], "reml-satterthwaite");
    for m in satterthwaite["means"].as_array().expect("means") {
        for cell in mean_cells(m) {
            assert!(shows(&h, &cell), "{cell} of {m} is on screen");
        }
    }
    click(&mut h, "Kenward-Roger");
    assert!(h.state().session.options.kenward_roger);
    assert!(shows_part(&h, "the Kenward-Roger choice changed"));
    run_analysis(&mut h);
    let kr = analyze_json(
        &repo().join("designs/machines.toml"),
        &csv,
        Adjustment::Tukey,
        true,
    );
    let means = current(&h).analysis.means.as_ref().expect("means");
    assert_eq!(means.method, MeanMethod::RemlKenwardRoger);
    assert_eq!(kr["means_method"], "reml-kenward-roger");
    for m in kr["means"].as_array().expect("means") {
        for cell in mean_cells(m) {
            assert!(shows(&h, &cell), "{cell} of {m} is on screen");
        }
    }
    assert!(shows_part(
        &h,
        "with Kenward-Roger df and adjusted standard errors"
    ));
}

/// The EMS view walks through the precision of each mean: which mean, its variance in the
/// components of both models, the estimators put in, the combination of mean squares (the
/// rows of `emslab ems --table precision`), in numbers for the sized design.
#[test]
fn the_ems_view_shows_the_precision_of_means_step_by_step() {
    let mut h = harness(EmslabApp::default(), vec![]);
    open_template(&mut h, "machines");
    click(&mut h, "EMS derivation");
    assert!(shows(&h, "Precision of means, step by step"));
    // The rows as `emslab ems designs/machines.toml --table precision --format csv` has them.
    let csv = cli_output(
        &repo().join("designs/machines.toml"),
        Format::Csv,
        Some("precision"),
    );
    let mut rdr = csv::Reader::from_reader(csv.as_slice());
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.expect("a row").iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows.len(),
        5,
        "grand mean, Machine mean and difference, Worker, cell"
    );
    let step_lines = |h: &Harness<'_, EmslabApp>, r: &[String]| {
        assert!(shows_part(h, &format!("Var = {}", r[2])), "{}", r[2]);
        assert!(shows_part(
            h,
            &format!("restricted model (this design's model): Var = {}", r[3])
        ));
        assert!(shows_part(
            h,
            &format!("unrestricted model: Var = {}", r[4])
        ));
    };
    // The grand mean first: MS(Worker) / (m w n) = MS(Worker) / 54.
    step_lines(&h, &rows[0]);
    assert!(shows_part(
        &h,
        "1. Which mean: the mean of all observations."
    ));
    assert!(shows_part(
        &h,
        &format!("= {} MS(Worker)", emslab::report::fmt_sig(1.0 / 54.0, 6))
    ));
    click(&mut h, "Precision of Machine: mean");
    step_lines(&h, &rows[1]);
    // σ²(Worker) and σ²(Machine:Worker) and σ² replaced by their estimators.
    assert!(shows_part(
        &h,
        "σ²(Worker)  →  (MS(Worker) - MS(Residual)) / (m n)"
    ));
    assert!(shows_part(
        &h,
        "σ²(Machine:Worker)  →  (MS(Machine:Worker) - MS(Residual)) / n"
    ));
    assert!(shows_part(&h, "σ²  →  MS(Residual)"));
    // (MS(Worker) + (m-1) MS(Machine:Worker)) / (m w n): 1/54 and 2/54.
    assert!(shows_part(
        &h,
        &format!(
            "= {} MS(Worker) + {} MS(Machine:Worker)",
            emslab::report::fmt_sig(1.0 / 54.0, 6),
            emslab::report::fmt_sig(2.0 / 54.0, 6)
        )
    ));
    click(&mut h, "Precision of Machine: difference (Machine differs)");
    step_lines(&h, &rows[2]);
    assert_eq!(rows[2][2], "2 MS(Machine:Worker) / (w n)");
    // The table itself, as exported.
    assert!(shows(&h, "Precision of means"));
    assert!(shows(&h, "Covariance of two observations"));
}
