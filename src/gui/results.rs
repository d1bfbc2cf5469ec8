//! The results view: the settings of the analysis, then its sections. Each section is one
//! function over the current analysis, and [`SECTIONS`] lists them in order: a new result
//! (means, power, a gauge study) is a new function and a line there.

use egui::{RichText, Ui};
use emslab::analysis::{self, Likelihood, RemlOutcome, Route};
use emslab::moments::NegativePolicy;
use emslab::report::{Table, fmt_sig};
use emslab::unbalanced::SsType;

use super::command::{Command, DocKind};
use super::current::{AnalysisState, Current, Fit, Inputs};
use super::display;
use super::gauge_view::{self, GaugeSettings};
use super::means_view;
use super::plots;
use super::table_view::{self, Hooks};

/// What a section draws with.
pub struct SectionCtx<'a> {
    pub current: &'a mut Current,
    /// The gauge study's inputs (changes go to the app as commands).
    pub gauge: &'a GaugeSettings,
    pub commands: &'a mut Vec<Command>,
}

/// A section of the results view.
pub struct Section {
    /// Its heading (a section of one titled table has none: the table's title is it).
    pub title: Option<&'static str>,
    /// Shown folded (detail tables).
    pub folded: bool,
    /// Whether the analysis has this section.
    pub shown: fn(&Current) -> bool,
    pub show: fn(&mut Ui, &mut SectionCtx<'_>),
}

fn always(_: &Current) -> bool {
    true
}

fn unbalanced(c: &Current) -> bool {
    c.analysis.balanced().is_none()
}

fn gauge_design(c: &Current) -> bool {
    gauge_view::has_roles(&c.inputs.spec)
}

/// The sections, in order.
pub const SECTIONS: &[Section] = &[
    Section {
        title: None,
        folded: false,
        shown: unbalanced,
        show: balance_section,
    },
    Section {
        title: None,
        folded: false,
        shown: always,
        show: anova_section,
    },
    Section {
        title: None,
        folded: false,
        shown: unbalanced,
        show: unbalanced_ems_section,
    },
    Section {
        title: None,
        folded: false,
        shown: always,
        show: components_section,
    },
    Section {
        title: Some("Means and comparisons"),
        folded: false,
        shown: means_view::shown,
        show: means_view::means_section,
    },
    Section {
        title: Some("Plots"),
        folded: false,
        shown: always,
        show: plots_section,
    },
    Section {
        title: Some("Gauge R&R study"),
        folded: false,
        shown: gauge_design,
        show: gauge_view::gauge_section,
    },
    Section {
        title: Some("REML fit"),
        folded: false,
        shown: always,
        show: reml_section,
    },
    Section {
        title: Some("Data, design and E(MS) of this analysis"),
        folded: true,
        shown: always,
        show: other_section,
    },
];

/// What the view needs from the app.
pub struct ResultsInput<'a> {
    pub options: &'a analysis::Options,
    /// The inputs an analysis run now would have (`None`: no data loaded).
    pub inputs: Option<&'a Inputs>,
    /// The data loaded (or analysed) are unbalanced: the choice of sums of squares applies.
    pub unbalanced: bool,
    pub gauge: &'a GaugeSettings,
}

/// The results view.
pub fn results_ui(
    ui: &mut Ui,
    state: &mut AnalysisState,
    input: ResultsInput<'_>,
    commands: &mut Vec<Command>,
) {
    let has_data = input.inputs.is_some();
    let running = state.is_busy();
    settings_bar(
        ui,
        input.options,
        (has_data, input.unbalanced),
        state.moments_job().is_some(),
        commands,
    );
    if let Some(j) = state.moments_job()
        && j.ui(ui)
    {
        commands.push(Command::CancelJob);
    }
    if let Some(e) = &state.error {
        ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
    }
    let Some(c) = &mut state.current else {
        ui.add_space(8.0);
        ui.label(if running {
            "Analysing… the results appear here when the work above is done."
        } else if !has_data {
            "Load data on the Data view first (Ctrl+D, or drop a CSV on the window)."
        } else {
            "Run the analysis to see the ANOVA, the variance components and the REML fit."
        });
        return;
    };
    if input.inputs != Some(&c.inputs) {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "⚠ Out of date: {} changed since this analysis. Run it again (Ctrl+R).",
                what_changed(&c.inputs, input.inputs)
            ),
        );
    }
    ui.label(RichText::new(this_analysis(c)).weak());
    let mut ctx = SectionCtx {
        current: c,
        gauge: input.gauge,
        commands,
    };
    for s in SECTIONS {
        if !(s.shown)(ctx.current) {
            continue;
        }
        ui.add_space(8.0);
        match s.title {
            Some(title) => {
                egui::CollapsingHeader::new(RichText::new(title).heading())
                    .id_salt(("section", title))
                    .default_open(!s.folded)
                    .show(ui, |ui| (s.show)(ui, &mut ctx));
            }
            None => (s.show)(ui, &mut ctx),
        }
    }
}

/// The settings of the analysis shown, in a line.
fn this_analysis(c: &Current) -> String {
    let o = &c.inputs.options;
    let ss = if c.analysis.balanced().is_none() {
        format!("; Type {} sums of squares", o.ss_type.as_str())
    } else {
        String::new()
    };
    let kr = if c.analysis.balanced().is_none() && o.kenward_roger {
        " (Kenward-Roger)"
    } else {
        ""
    };
    format!(
        "This analysis: model {}; α = {}; negative estimates: {}; {}{kr}{ss}; comparisons: {}.",
        o.model.as_str(),
        fmt_sig(o.alpha, 4),
        o.negative.as_str(),
        match o.likelihood {
            Likelihood::Off => "no likelihood fit",
            Likelihood::Reml => "REML fit",
            Likelihood::RemlAndMl => "REML and ML fits",
        },
        means_view::adjustment_label(o.adjust)
    )
}

/// What differs between the analysis shown and one run now.
fn what_changed(shown: &Inputs, now: Option<&Inputs>) -> String {
    let Some(now) = now else {
        return "the data".into();
    };
    let mut what = Vec::new();
    if shown.read_id != now.read_id {
        what.push("the data");
    }
    if shown.spec != now.spec {
        what.push("the design");
    }
    let (a, b) = (&shown.options, &now.options);
    if a.model != b.model {
        what.push("the model");
    }
    if a.alpha != b.alpha {
        what.push("α");
    }
    if a.negative != b.negative {
        what.push("the negative-estimate policy");
    }
    if a.likelihood != b.likelihood {
        what.push("the likelihood fits");
    }
    if a.ss_type != b.ss_type {
        what.push("the SS type");
    }
    if a.adjust != b.adjust {
        what.push("the adjustment of the comparisons");
    }
    if a.kenward_roger != b.kenward_roger {
        what.push("the Kenward-Roger choice");
    }
    match what.len() {
        0 => "nothing".into(),
        1 => what[0].to_string(),
        n => format!("{} and {}", what[..n - 1].join(", "), what[n - 1]),
    }
}

/// α, the negative-estimate policy, the likelihood fits, the sums of squares of unbalanced
/// data, the adjustment of the comparisons (and Kenward-Roger on unbalanced data), and
/// Run. Changes go to the app as [`Command::SetAnalysisOptions`].
fn settings_bar(
    ui: &mut Ui,
    options: &analysis::Options,
    (has_data, unbalanced): (bool, bool),
    running: bool,
    commands: &mut Vec<Command>,
) {
    let mut o = *options;
    ui.horizontal_wrapped(|ui| {
        ui.heading("Results");
        ui.add_space(12.0);
        ui.label("α")
            .on_hover_text("Significance level of the tests; the intervals are at 1 − α");
        ui.add(
            egui::DragValue::new(&mut o.alpha)
                .range(0.001..=0.5)
                .speed(0.005)
                .max_decimals(3),
        )
        .accessible_name("alpha");
        ui.label("Negative estimates").on_hover_text(
            "report: as computed, with a note; zero: reported as 0; pool: the term is pooled into its denominator and the reduced model refitted",
        );
        egui::ComboBox::from_id_salt("negative-policy")
            .selected_text(o.negative.as_str())
            .show_ui(ui, |ui| {
                for p in [NegativePolicy::Report, NegativePolicy::Zero, NegativePolicy::Pool] {
                    ui.selectable_value(&mut o.negative, p, p.as_str());
                }
            })
            .response
            .accessible_name("Negative estimates");
        let mut reml = o.likelihood != Likelihood::Off;
        let mut ml = o.likelihood == Likelihood::RemlAndMl;
        ui.checkbox(&mut reml, "REML fit")
            .on_hover_text("Also fit the unrestricted mixed model by REML and compare");
        ui.add_enabled(reml, egui::Checkbox::new(&mut ml, "and ML"))
            .on_hover_text("Fit by maximum likelihood as well (the command line's --ml)");
        o.likelihood = match (reml, ml) {
            (false, _) => Likelihood::Off,
            (true, false) => Likelihood::Reml,
            (true, true) => Likelihood::RemlAndMl,
        };
        if unbalanced {
            ss_type_choice(ui, &mut o.ss_type);
        }
        adjustment_choice(ui, &mut o.adjust);
        if unbalanced {
            ui.checkbox(&mut o.kenward_roger, "Kenward-Roger")
                .on_hover_text(
                    "Unbalanced data: Kenward-Roger df and adjusted standard errors for the REML fit's means and fixed-effect tests (pbkrtest; the command line's --kenward-roger); Satterthwaite otherwise (lmerTest, emmeans)",
                );
        }
        if ui
            .add_enabled(
                has_data && !running,
                egui::Button::new(RichText::new("Run the analysis").strong()),
            )
            .on_hover_text("Ctrl+R")
            .clicked()
        {
            commands.push(Command::RunAnalysis);
        }
    });
    if o != *options {
        commands.push(Command::SetAnalysisOptions(o));
    }
}

/// The multiplicity adjustment of the pairwise comparisons of means (`--adjust`).
fn adjustment_choice(ui: &mut Ui, adjust: &mut emslab::means::Adjustment) {
    ui.label("Comparisons").on_hover_text(
        "The adjustment of the p-values and intervals of each fixed term's pairwise comparisons: Tukey (studentized range, as emmeans' pairs), Bonferroni, Šidák, or none",
    );
    egui::ComboBox::from_id_salt("adjustment")
        .selected_text(means_view::adjustment_label(*adjust))
        .show_ui(ui, |ui| {
            for a in means_view::ADJUSTMENTS {
                ui.selectable_value(adjust, a, means_view::adjustment_label(a));
            }
        })
        .response
        .accessible_name("Adjustment of the comparisons");
}

/// The sums of squares of unbalanced data (`--ss-type`).
fn ss_type_choice(ui: &mut Ui, ss: &mut SsType) {
    ui.label("Sums of squares").on_hover_text(
        "Unbalanced data: Type III (each term adjusted for every other; SAS GLM, car::Anova type 3) or Type I (sequential, in the order of the term list; SAS VARCOMP METHOD=TYPE1, VCA)",
    );
    egui::ComboBox::from_id_salt("ss-type")
        .selected_text(format!("Type {}", ss.as_str()))
        .show_ui(ui, |ui| {
            for t in [SsType::III, SsType::I] {
                ui.selectable_value(ss, t, format!("Type {}", t.as_str()));
            }
        })
        .response
        .accessible_name("Sums of squares");
}

/// A table of the current analysis with its title bar, drawn by the display rules.
pub fn analysis_table(ui: &mut Ui, c: &Current, key: &str, commands: &mut Vec<Command>) {
    let Some(t) = c.document.tables.iter().find(|t| t.key == key) else {
        return;
    };
    screen_table(ui, c, t, commands);
}

fn screen_table(ui: &mut Ui, c: &Current, t: &Table, commands: &mut Vec<Command>) {
    let limit = emslab::chart::analysis::bound_limit(&c.analysis);
    let salt = format!("{}-{}", c.id, t.key);
    let (shown, tips) = display::for_screen(t, limit, c.analysis.balanced());
    shown_table(ui, &shown, &tips, DocKind::Analysis, &salt, commands);
}

/// A report table (of the Plan view, the gauge study) with its title bar, drawn by the
/// display rules; `salt` identifies its widget state.
pub fn report_table(ui: &mut Ui, t: &Table, doc: DocKind, salt: &str, commands: &mut Vec<Command>) {
    let (shown, tips) = display::for_screen(t, None, None);
    shown_table(ui, &shown, &tips, doc, salt, commands);
}

fn shown_table(
    ui: &mut Ui,
    shown: &Table,
    tips: &display::Tips,
    doc: DocKind,
    salt: &str,
    commands: &mut Vec<Command>,
) {
    table_view::title_bar(ui, shown, doc, commands);
    let tip = |r: usize, col: usize| tips.get(&(r, col)).cloned();
    table_view::table_ui(
        ui,
        shown,
        salt,
        &Hooks {
            cell_tip: Some(&tip),
            column_tip: Some(&|col| {
                shown
                    .headers
                    .iter()
                    .filter_map(|h| h.get(col))
                    .map(|x| x.text.as_str())
                    .find(|s| !s.trim().is_empty())
                    .and_then(super::help::column_tip)
                    .map(str::to_string)
            }),
            ..Hooks::default()
        },
    );
    ui.add_space(12.0);
}

/// Unbalanced data: which cells are short or extra, and what replaces the balanced-design
/// EMS.
fn balance_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    let c = &*s.current;
    let Route::Unbalanced(u) = &c.analysis.route else {
        return;
    };
    let b = &u.balance;
    ui.heading("Unbalanced data");
    ui.colored_label(
        ui.visuals().warn_fg_color,
        format!(
            "⚠ {} of {} cells do not hold {} observations: the balanced-design expected mean squares and tests do not hold for these data.",
            b.n_problems, b.n_cells, b.replicates
        ),
    );
    // The report's words, but for the data line: the table below names the cells.
    for p in c
        .document
        .preamble
        .iter()
        .filter(|p| !p.starts_with("Data: "))
    {
        ui.add(egui::Label::new(RichText::new(p).weak()).wrap());
    }
    let t = super::data_view::balance_table(b);
    ui.label(RichText::new(&t.title).strong());
    table_view::table_ui(ui, &t, &format!("{}-balance", c.id), &Hooks::default());
    for n in &b.level_notes {
        table_view::notes_label(ui, &n.to_string());
    }
}

/// Why an unbalanced analysis has no Type III (or I) tables.
fn no_sums_of_squares(ui: &mut Ui, c: &Current) -> bool {
    if let Route::Unbalanced(u) = &c.analysis.route
        && let Err(e) = &u.anova
    {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!("⚠ No sums of squares for these data ({e}); the REML fit below handles them."),
        );
        return true;
    }
    false
}

fn anova_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    if !no_sums_of_squares(ui, s.current) {
        analysis_table(ui, s.current, "anova", s.commands);
    }
}

/// The expected mean squares of the Type III (or I) mean squares and each test's
/// denominator.
fn unbalanced_ems_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    if matches!(&s.current.analysis.route, Route::Unbalanced(u) if u.anova.is_ok()) {
        analysis_table(ui, s.current, "ems", s.commands);
    }
}

fn components_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    if matches!(&s.current.analysis.route, Route::Unbalanced(u) if u.anova.is_err()) {
        return;
    }
    analysis_table(ui, s.current, "components", s.commands);
}

fn plots_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    plots::plots_ui(ui, s.current, s.commands);
}

fn reml_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    let c = &mut *s.current;
    match &c.fit {
        Fit::Running(j) => {
            if j.ui(ui) {
                s.commands.push(Command::CancelJob);
            }
            ui.label("The ANOVA and the moment estimates above are final; the REML fit appears here when it is done.");
        }
        Fit::Cancelled => {
            ui.label("The REML fit was cancelled; run the analysis again to fit it.");
        }
        Fit::Lost => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                "The REML fit failed unexpectedly (the worker stopped).",
            );
        }
        Fit::Settled => {}
    }
    match &c.analysis.reml {
        RemlOutcome::Off => {
            ui.label("Not run (switch on “REML fit” above).");
        }
        RemlOutcome::Failed(e) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("⚠ The REML fit failed: {e}"),
            );
        }
        RemlOutcome::NoObservations | RemlOutcome::Pending => {}
        RemlOutcome::Fitted(f) => {
            for x in std::iter::once(&f.reml).chain(f.ml.as_ref()) {
                let status = if x.fit.converged {
                    "converged"
                } else {
                    "did not converge"
                };
                ui.label(format!(
                    "{} fit {status}: {}.",
                    x.fit.method.as_str(),
                    emslab::report::reml_words::comparison_summary(&x.comparison)
                ));
            }
        }
    }
    let mut tables: Vec<&Table> = c
        .document
        .tables
        .iter()
        .filter(|t| t.key.starts_with("reml_") || t.key.starts_with("ml_"))
        .collect();
    // The components, the fixed-effect tests and the fit open; the details folded.
    tables.sort_by_key(|t| reml_rank(&t.key));
    for t in tables {
        if reml_rank(&t.key).1 {
            egui::CollapsingHeader::new(&t.title)
                .id_salt((c.id, &t.key))
                .show(ui, |ui| screen_table(ui, c, t, s.commands));
        } else {
            screen_table(ui, c, t, s.commands);
        }
    }
}

/// Where a likelihood-fit table goes: (REML before ML, whether folded, position).
fn reml_rank(key: &str) -> (bool, bool, usize) {
    const OPEN: [&str; 3] = ["_components", "_fixed_tests", "_fit"];
    let ml = key.starts_with("ml_");
    match OPEN.iter().position(|k| key.ends_with(k)) {
        Some(i) => (ml, false, i),
        None => (ml, true, OPEN.len()),
    }
}

fn other_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    let c = &*s.current;
    for p in &c.document.preamble {
        ui.label(p);
    }
    let unbalanced = c.analysis.balanced().is_none();
    for t in &c.document.tables {
        let shown_above = matches!(t.key.as_str(), "anova" | "components")
            || means_view::KEYS.contains(&t.key.as_str())
            || (unbalanced && t.key == "ems")
            || t.key.starts_with("reml")
            || t.key.starts_with("ml_");
        if !shown_above {
            screen_table(ui, c, t, s.commands);
        }
    }
}
