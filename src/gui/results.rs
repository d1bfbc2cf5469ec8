//! The results view: the settings of the analysis, then its sections. Each section is one
//! function over the current analysis, and [`SECTIONS`] lists them in order: a new result
//! (means, power, a gauge study) is a new function and a line there.

use egui::{RichText, Ui};
use emslab::analysis::{self, Likelihood, RemlOutcome};
use emslab::moments::NegativePolicy;
use emslab::report::{Table, fmt_sig};

use super::command::{Command, DocKind};
use super::current::{AnalysisState, Current, Fit, Inputs};
use super::display;
use super::plots;
use super::table_view::{self, Hooks};

/// What a section draws with.
pub struct SectionCtx<'a> {
    pub current: &'a mut Current,
    pub commands: &'a mut Vec<Command>,
}

/// A section of the results view.
pub struct Section {
    /// Its heading (a section of one titled table has none: the table's title is it).
    pub title: Option<&'static str>,
    /// Shown folded (detail tables).
    pub folded: bool,
    pub show: fn(&mut Ui, &mut SectionCtx<'_>),
}

/// The sections, in order.
pub const SECTIONS: &[Section] = &[
    Section {
        title: None,
        folded: false,
        show: anova_section,
    },
    Section {
        title: None,
        folded: false,
        show: components_section,
    },
    Section {
        title: Some("Plots"),
        folded: false,
        show: plots_section,
    },
    Section {
        title: Some("REML fit"),
        folded: false,
        show: reml_section,
    },
    Section {
        title: Some("Data, design and E(MS) of this analysis"),
        folded: true,
        show: other_section,
    },
];

/// What the view needs from the app.
pub struct ResultsInput<'a> {
    pub options: &'a analysis::Options,
    /// The inputs an analysis run now would have (`None`: no data loaded).
    pub inputs: Option<&'a Inputs>,
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
        has_data,
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
    let o = &c.inputs.options;
    ui.label(
        RichText::new(format!(
            "This analysis: model {}; α = {}; negative estimates: {}; {}.",
            o.model.as_str(),
            fmt_sig(o.alpha, 4),
            o.negative.as_str(),
            match o.likelihood {
                Likelihood::Off => "no likelihood fit",
                Likelihood::Reml => "REML fit",
                Likelihood::RemlAndMl => "REML and ML fits",
            }
        ))
        .weak(),
    );
    if let Some(m) = c.no_moments() {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!(
                "⚠ Unbalanced data: the sums of squares below are Type {} (unrestricted model), not the balanced-design EMS. {m}",
                o.ss_type.as_str()
            ),
        );
    }
    let mut ctx = SectionCtx {
        current: c,
        commands,
    };
    for s in SECTIONS {
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
    match what.len() {
        0 => "nothing".into(),
        1 => what[0].to_string(),
        n => format!("{} and {}", what[..n - 1].join(", "), what[n - 1]),
    }
}

/// α, the negative-estimate policy, the likelihood fits and Run. Changes go to the app as
/// [`Command::SetAnalysisOptions`].
fn settings_bar(
    ui: &mut Ui,
    options: &analysis::Options,
    has_data: bool,
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

/// A table of the current analysis with its title bar, drawn by the display rules.
pub fn analysis_table(ui: &mut Ui, c: &Current, key: &str, commands: &mut Vec<Command>) {
    let Some(t) = c.document.tables.iter().find(|t| t.key == key) else {
        return;
    };
    screen_table(ui, c, t, commands);
}

fn screen_table(ui: &mut Ui, c: &Current, t: &Table, commands: &mut Vec<Command>) {
    let limit = emslab::chart::analysis::bound_limit(&c.analysis);
    let (shown, tips) = display::for_screen(t, limit, c.analysis.balanced());
    table_view::title_bar(ui, &shown, DocKind::Analysis, commands);
    let tip = |r: usize, col: usize| tips.get(&(r, col)).cloned();
    let salt = format!("{}-{}", c.id, t.key);
    table_view::table_ui(
        ui,
        &shown,
        &salt,
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

fn anova_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    if s.current.analysis.balanced().is_none() {
        ui.label("No ANOVA table: the data are unbalanced (see the REML fit).");
        return;
    }
    analysis_table(ui, s.current, "anova", s.commands);
}

fn components_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    if s.current.analysis.balanced().is_none() {
        ui.label("No moment estimates: the data are unbalanced (see the REML fit).");
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
                    x.comparison.summary
                ));
            }
        }
    }
    let tables: Vec<Table> = c
        .document
        .tables
        .iter()
        .filter(|t| t.key.starts_with("reml_") || t.key.starts_with("ml_"))
        .cloned()
        .collect();
    for t in &tables {
        if t.key.ends_with("_blup") || t.key.ends_with("_log") || t.key.ends_with("_blue") {
            egui::CollapsingHeader::new(&t.title)
                .id_salt((c.id, &t.key))
                .show(ui, |ui| screen_table(ui, c, t, s.commands));
        } else {
            screen_table(ui, c, t, s.commands);
        }
    }
}

fn other_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    let c = &*s.current;
    for p in &c.document.preamble {
        ui.label(p);
    }
    for t in &c.document.tables {
        if !matches!(t.key.as_str(), "anova" | "components")
            && !t.key.starts_with("reml")
            && !t.key.starts_with("ml_")
        {
            screen_table(ui, c, t, s.commands);
        }
    }
}
