//! Results: the analysis of the loaded data through the same library calls as
//! `emslab analyze` (sized design, `anova::from_cells`, `derive`, `moments::analyze`,
//! `report::analysis_document`), the REML fit (`reml::fit`, `reml::compare`), and plots of
//! what they computed: components with their intervals, REML residuals, cell means.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use emslab::analysis::{
    self, Analysis, AnalysisError, Cancel, Input, Likelihood, RemlOutcome, Route, Stage,
};
use emslab::data::Dataset;
use emslab::moments::{self, NegativePolicy};
use emslab::reml::{Comparison, RemlFit};
use emslab::report::{self, Document, Format, Table, fmt_sig};
use emslab::{Design, Model};

use super::command::{Command, DocKind};
use super::ems_view;
use super::jobs::Progress;
use super::table_view::{self, Hooks};

/// What the analysis is run with (the command line's `--model`, `--alpha`, `--negative`,
/// `--no-reml`, `--ml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysisSettings {
    pub model: Model,
    pub alpha: f64,
    pub reml: bool,
    /// Also fit by maximum likelihood.
    pub ml: bool,
    pub negative: NegativePolicy,
}

/// One component for the plot: moment estimate with its intervals, REML beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentPoint {
    pub term: String,
    pub estimate: f64,
    pub ci: Option<(f64, f64)>,
    pub mls: Option<(f64, f64)>,
    pub reml: Option<f64>,
    pub reml_ci: Option<(f64, f64)>,
}

/// The cells of the data, for the interaction plot (its points come from
/// [`emslab::data::Cells::marginal_means`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CellMeans {
    pub factors: Vec<String>,
    /// Level labels by code (empty when a nested factor's labels differ between parents).
    pub labels: Vec<Vec<String>>,
    pub cells: emslab::data::Cells,
    /// Added to the cells' means (which are relative to it).
    pub offset: f64,
}

impl CellMeans {
    fn label(&self, f: usize, code: u32) -> String {
        self.labels
            .get(f)
            .and_then(|l| l.get(code as usize))
            .cloned()
            .unwrap_or_else(|| (code + 1).to_string())
    }

    /// Marginal means over the factors not in `keep`, in the data's units.
    fn marginal(&self, keep: &[usize]) -> Vec<f64> {
        self.cells
            .marginal_means(keep)
            .into_iter()
            .map(|m| m + self.offset)
            .collect()
    }
}

/// Everything the results view shows: one analysis of one (design, data, options), and
/// what is drawn from it.
pub struct AnalysisOutput {
    /// The analysis itself, as `emslab analyze` computes it.
    pub analysis: Analysis,
    /// Its document (every table format is written from it), built once.
    pub document: Document,
    pub components: Vec<ComponentPoint>,
    pub cells: CellMeans,
    pub settings: AnalysisSettings,
}

fn pair(i: &moments::Interval) -> (f64, f64) {
    (i.lower, i.upper)
}

/// Runs the analysis (off the UI thread) through [`emslab::analysis::run`], the function
/// `emslab analyze` calls, so that every table and the JSON are the command line's.
pub fn analyze(
    design: &Design,
    ds: &Dataset,
    settings: AnalysisSettings,
    progress: &Progress,
) -> Result<AnalysisOutput, String> {
    let cells = CellMeans {
        factors: design.factors.iter().map(|f| f.name.clone()).collect(),
        labels: ds.factors.iter().map(|f| f.labels.clone()).collect(),
        cells: ds.cells.clone(),
        offset: ds.offset_f64(),
    };
    let opts = analysis::Options {
        model: settings.model,
        alpha: settings.alpha,
        negative: settings.negative,
        likelihood: match (settings.reml, settings.ml) {
            (false, _) => Likelihood::Off,
            (true, false) => Likelihood::Reml,
            (true, true) => Likelihood::RemlAndMl,
        },
        // For the residual plot.
        residuals: true,
        ..analysis::Options::default()
    };
    let mut rows = || ds.reml_input().ok_or_else(|| analysis::rows_not_kept(ds));
    let input = Input::Data {
        dataset: ds,
        rows: &mut rows,
    };
    let cancel = Cancel::new(progress.cancel_flag());
    let a = analysis::run(design, input, &opts, &cancel, &mut |s| {
        progress.stage(stage_label(s));
    })
    .map_err(|e| match e {
        AnalysisError::Data(e) if !settings.reml => {
            format!("{e} Switch on the REML cross-check: REML handles unbalanced data.")
        }
        AnalysisError::Cancelled => "Cancelled.".to_string(),
        AnalysisError::Sizes(e) => format!("The data do not fit the design: {e}"),
        e => e.to_string(),
    })?;
    let components = component_points(&a);
    Ok(AnalysisOutput {
        document: report::analysis_document(&a),
        analysis: a,
        components,
        cells,
        settings,
    })
}

fn stage_label(s: Stage) -> &'static str {
    match s {
        Stage::Moments => "ANOVA and moment estimates",
        Stage::Reml => "REML fit",
        Stage::RemlUnbalanced => "REML fit (unbalanced data)",
    }
}

/// The components plot's points: moment estimates with their intervals, REML beside them.
fn component_points(a: &Analysis) -> Vec<ComponentPoint> {
    let fit = a.reml.fits().map(|f| &f.reml.fit);
    let reml_of = |term: &str| {
        fit.and_then(|fit| fit.component(term))
            .map(|c| (c.variance, c.interval.as_ref().map(|i| (i.lower, i.upper))))
    };
    match (a.balanced(), fit) {
        (Some(b), _) => b
            .moments
            .components
            .iter()
            .map(|c| {
                let reml = reml_of(&c.name);
                ComponentPoint {
                    term: c.name.clone(),
                    estimate: c.estimate,
                    ci: c.ci.as_ref().map(pair),
                    mls: c.mls.as_ref().map(pair),
                    reml: reml.map(|r| r.0),
                    reml_ci: reml.and_then(|r| r.1),
                }
            })
            .collect(),
        (None, Some(fit)) => fit
            .components
            .iter()
            .map(|c| ComponentPoint {
                term: c.term.clone(),
                estimate: f64::NAN,
                ci: None,
                mls: None,
                reml: Some(c.variance),
                reml_ci: c.interval.as_ref().map(|i| (i.lower, i.upper)),
            })
            .collect(),
        (None, None) => Vec::new(),
    }
}

impl AnalysisOutput {
    /// A table (or the whole report) in a format: what `emslab analyze ... [--table KEY]`
    /// writes for the same data and options.
    pub fn render(&self, table: Option<&str>, format: Format) -> Result<String, String> {
        let json = report::AnalysisJson::new(&self.analysis);
        report::render(&self.document, &json, format, table).map_err(|e| e.to_string())
    }

    /// Why there is no ANOVA or moment analysis (unbalanced data).
    pub fn no_moments(&self) -> Option<String> {
        match &self.analysis.route {
            Route::Unbalanced(u) => Some(u.problem.to_string()),
            Route::Balanced(_) => None,
        }
    }

    /// The REML fit (and the ML fit when asked for), each with its comparison.
    pub fn fits(&self) -> Vec<(&RemlFit, &Comparison)> {
        self.analysis
            .reml
            .fits()
            .map(|f| {
                std::iter::once(&f.reml)
                    .chain(f.ml.as_ref())
                    .map(|x| (&x.fit, &x.comparison))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Why the REML fit failed.
    pub fn reml_error(&self) -> Option<String> {
        match &self.analysis.reml {
            RemlOutcome::Failed(e) => Some(e.to_string()),
            _ => None,
        }
    }

    /// (fitted, residual) of the REML fit.
    pub fn residuals(&self) -> &[[f64; 2]] {
        self.analysis
            .reml
            .fits()
            .map_or(&[][..], |f| f.residuals.as_slice())
    }
}

/// Which plot is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum PlotKind {
    #[default]
    Components,
    Residuals,
    CellMeans,
}

/// What the results view shows this frame.
pub struct State<'a> {
    pub analysis: Option<&'a AnalysisOutput>,
    /// The design, the model or the data changed since the analysis.
    pub stale: bool,
    pub has_data: bool,
    /// An analysis is running.
    pub running: bool,
}

pub struct ResultsView {
    plot: PlotKind,
    log_scale: bool,
    /// Interaction plot: factor on the x axis, factor of the traces; the other factors
    /// averaged over (marginal means) or held at a level (a slice of the cell means).
    x_factor: usize,
    trace_factor: usize,
    slice: bool,
    held: Vec<u32>,
    /// Marginal means of the last (x, trace) pair drawn.
    marginal: Option<((usize, usize), Vec<f64>)>,
}

impl Default for ResultsView {
    fn default() -> Self {
        ResultsView {
            plot: PlotKind::Components,
            log_scale: true,
            x_factor: 0,
            trace_factor: 1,
            slice: false,
            held: Vec::new(),
            marginal: None,
        }
    }
}

impl ResultsView {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        state: State<'_>,
        settings: &mut AnalysisSettings,
        commands: &mut Vec<Command>,
    ) {
        let State {
            analysis,
            stale,
            has_data,
            running,
        } = state;
        ui.horizontal(|ui| {
            ui.heading("Results");
            ui.add_space(12.0);
            ui.label("α").on_hover_text("Significance level of the tests; the intervals are at 1 − α");
            ui.add(
                egui::DragValue::new(&mut settings.alpha)
                    .range(0.001..=0.5)
                    .speed(0.005)
                    .max_decimals(3),
            )
            .accessible_name("alpha");
            ui.label("Negative estimates").on_hover_text(
                "report: as computed, with a note; zero: reported as 0; pool: the term is pooled into its denominator and the reduced model refitted",
            );
            egui::ComboBox::from_id_salt("negative-policy")
                .selected_text(settings.negative.as_str())
                .show_ui(ui, |ui| {
                    for p in [NegativePolicy::Report, NegativePolicy::Zero, NegativePolicy::Pool] {
                        ui.selectable_value(&mut settings.negative, p, p.as_str());
                    }
                })
                .response
                .accessible_name("Negative estimates");
            ui.checkbox(&mut settings.reml, "REML cross-check")
                .on_hover_text("Also fit the unrestricted mixed model by REML and compare");
            ui.add_enabled(settings.reml, egui::Checkbox::new(&mut settings.ml, "and ML"))
                .on_hover_text("Fit by maximum likelihood as well (the command line's --ml)");
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
        let Some(a) = analysis else {
            ui.add_space(8.0);
            if running {
                ui.label("Analysing… the results appear here when the work above is done.");
            } else if !has_data {
                ui.label("Load data on the Data view first (Ctrl+D, or drop a CSV on the window).");
            } else {
                ui.label("Run the analysis to see the ANOVA, the variance components and the REML cross-check.");
            }
            return;
        };
        if stale {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The design, the model or the data changed since this analysis: run it again.",
            );
        }
        ui.label(
            RichText::new(format!(
                "Model: {}; α = {}; negative estimates: {}.",
                a.settings.model.as_str(),
                fmt_sig(a.settings.alpha, 4),
                a.settings.negative.as_str()
            ))
            .weak(),
        );
        if let Some(m) = &a.no_moments() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("⚠ No ANOVA or moment estimates: {m}"),
            );
        }
        ui.add_space(6.0);
        let doc = &a.document;
        for key in ["anova", "components"] {
            ems_view::titled_table(ui, doc, key, DocKind::Analysis, commands);
        }
        self.plots_ui(ui, a);
        ui.add_space(10.0);
        ui.heading("REML cross-check");
        if let Some(e) = &a.reml_error() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("⚠ The REML fit failed: {e}"),
            );
        }
        if !a.settings.reml {
            ui.label("Not run (switch on “REML cross-check” above).");
        }
        for (fit, cmp) in a.fits() {
            let status = if fit.converged {
                "converged"
            } else {
                "did not converge"
            };
            ui.label(format!(
                "{} fit {status}: {}.",
                fit.method.as_str(),
                cmp.summary
            ));
        }
        for t in doc.tables.iter().filter(|t| t.key.starts_with("reml")) {
            if matches!(t.key.as_str(), "reml_blup" | "reml_log" | "reml_blue") {
                egui::CollapsingHeader::new(&t.title)
                    .id_salt(&t.key)
                    .show(ui, |ui| table_block(ui, t, commands));
            } else {
                table_block(ui, t, commands);
            }
        }
        ui.add_space(10.0);
        egui::CollapsingHeader::new("Data, design and E(MS) of this analysis")
            .id_salt("analysis-other")
            .show(ui, |ui| {
                for p in &doc.preamble {
                    ui.label(p);
                }
                for t in &doc.tables {
                    if !matches!(t.key.as_str(), "anova" | "components")
                        && !t.key.starts_with("reml")
                    {
                        ems_view::titled_table(ui, doc, &t.key, DocKind::Analysis, commands);
                    }
                }
            });
    }

    fn plots_ui(&mut self, ui: &mut Ui, a: &AnalysisOutput) {
        ui.horizontal(|ui| {
            ui.heading("Plot");
            ui.selectable_value(&mut self.plot, PlotKind::Components, "Components")
                .on_hover_text("Each variance component: moment estimate with its χ² and MLS intervals, REML with its Wald interval");
            ui.selectable_value(&mut self.plot, PlotKind::Residuals, "Residuals")
                .on_hover_text("REML conditional residuals against fitted values");
            ui.selectable_value(&mut self.plot, PlotKind::CellMeans, "Cell means")
                .on_hover_text("Cell means by factor levels (an interaction plot)");
        });
        match self.plot {
            PlotKind::Components => {
                components_plot(ui, a, &mut self.log_scale);
                plot_hint(ui);
            }
            PlotKind::Residuals => {
                if a.residuals().is_empty() {
                    ui.label("Residuals come from the REML fit: run the analysis with the REML cross-check.");
                } else {
                    residual_plot(ui, a.residuals());
                    plot_hint(ui);
                }
            }
            PlotKind::CellMeans => {
                self.cell_means_plot(ui, &a.cells);
                plot_hint(ui);
            }
        }
    }

    fn cell_means_plot(&mut self, ui: &mut Ui, cells: &CellMeans) {
        let nf = cells.factors.len();
        let radix = &cells.cells.radix;
        if nf == 0 || radix.len() != nf || cells.cells.mean.is_empty() {
            return;
        }
        self.x_factor = self.x_factor.min(nf - 1);
        self.trace_factor = self.trace_factor.min(nf - 1);
        if nf > 1 && self.trace_factor == self.x_factor {
            self.trace_factor = (self.x_factor + 1) % nf;
        }
        self.held.resize(nf, 0);
        ui.horizontal_wrapped(|ui| {
            ui.label("x axis");
            egui::ComboBox::from_id_salt("x-factor")
                .selected_text(&cells.factors[self.x_factor])
                .show_ui(ui, |ui| {
                    for (i, f) in cells.factors.iter().enumerate() {
                        ui.selectable_value(&mut self.x_factor, i, f);
                    }
                })
                .response
                .accessible_name("x-axis factor");
            if nf > 1 {
                ui.label("one line per level of");
                egui::ComboBox::from_id_salt("trace-factor")
                    .selected_text(&cells.factors[self.trace_factor])
                    .show_ui(ui, |ui| {
                        for (i, f) in cells.factors.iter().enumerate() {
                            if i != self.x_factor {
                                ui.selectable_value(&mut self.trace_factor, i, f);
                            }
                        }
                    })
                    .response
                    .accessible_name("trace factor");
            }
            if nf > 2 {
                ui.separator();
                ui.label("other factors:");
                ui.radio_value(&mut self.slice, false, "averaged")
                    .on_hover_text("Marginal means: each point is the mean of the cell means over the levels of the other factors (on balanced data, the mean of the observations at those levels)");
                ui.radio_value(&mut self.slice, true, "held at a level")
                    .on_hover_text("A slice of the cell means: the other factors are held at the levels chosen here");
            }
            if self.slice {
                for (f, &levels) in radix.iter().enumerate() {
                    if f == self.x_factor || (nf > 1 && f == self.trace_factor) {
                        continue;
                    }
                    ui.label(format!("{} at level", cells.factors[f]));
                    let mut level = self.held[f] as i64 + 1;
                    ui.add(egui::DragValue::new(&mut level).range(1..=i64::from(levels)))
                        .on_hover_text(cells.label(f, self.held[f]))
                        .accessible_name(format!("level of {}", cells.factors[f]));
                    self.held[f] = (level - 1).max(0) as u32;
                }
            }
        });
        let (xf, tf) = (self.x_factor, self.trace_factor);
        let nx = radix[xf];
        let nt = if nf > 1 { radix[tf] } else { 1 };
        let keep: Vec<usize> = if nf > 1 { vec![xf, tf] } else { vec![xf] };
        if !self.slice && self.marginal.as_ref().is_none_or(|(k, _)| *k != (xf, tf)) {
            self.marginal = Some(((xf, tf), cells.marginal(&keep)));
        }
        let point = |x: u32, t: u32| -> f64 {
            if self.slice {
                let mut codes = self.held.clone();
                codes[xf] = x;
                if nf > 1 {
                    codes[tf] = t;
                }
                let i = emslab::data::cell_index(radix, &codes);
                if cells.cells.count.get(i).copied().unwrap_or(0) == 0 {
                    return f64::NAN;
                }
                cells
                    .cells
                    .mean
                    .get(i)
                    .map_or(f64::NAN, |m| m + cells.offset)
            } else {
                let j = (x * nt + t) as usize;
                self.marginal
                    .as_ref()
                    .and_then(|(_, m)| m.get(j).copied())
                    .unwrap_or(f64::NAN)
            }
        };
        let x_name = cells.factors[xf].clone();
        let t_name = if nf > 1 {
            cells.factors[tf].clone()
        } else {
            String::new()
        };
        let x_labels: Vec<String> = (0..nx).map(|x| cells.label(xf, x)).collect();
        let y_label = if self.slice || nf <= 2 {
            "cell mean"
        } else {
            "mean over the other factors"
        };
        Plot::new("cell-means")
            .height(320.0)
            .allow_scroll(false)
            .legend(Legend::default())
            .x_axis_label(x_name)
            .y_axis_label(y_label)
            .x_axis_formatter(move |mark, _range| {
                let v = mark.value;
                let i = v.round();
                if (v - i).abs() < 1e-9 && i >= 1.0 && (i as usize) <= x_labels.len() {
                    x_labels[i as usize - 1].clone()
                } else {
                    String::new()
                }
            })
            .show(ui, |p| {
                const MAX_TRACES: u32 = 40;
                for t in 0..nt.min(MAX_TRACES) {
                    let pts: Vec<[f64; 2]> =
                        (0..nx).map(|x| [f64::from(x + 1), point(x, t)]).collect();
                    let name = if nf > 1 {
                        format!("{t_name} {}", cells.label(tf, t))
                    } else {
                        "mean".into()
                    };
                    let color = trace_color(t);
                    p.line(Line::new(name.clone(), PlotPoints::from(pts.clone())).color(color));
                    p.points(
                        Points::new(name, PlotPoints::from(pts))
                            .radius(3.0)
                            .color(color),
                    );
                }
            });
        if nt > 40 {
            ui.label(RichText::new("The first 40 traces are drawn.").weak());
        }
    }
}

/// Grid marks of a log10 axis at 1, 2, 5 times each power of ten (and only the powers
/// when the range is wide).
fn decades(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let wide = hi - lo > 6.0;
    let mut marks = Vec::new();
    for k in (lo.floor() as i64 - 1)..=(hi.ceil() as i64) {
        for (d, step) in [(1.0f64, 1.0), (2.0, 0.3), (5.0, 0.3)] {
            if wide && d != 1.0 {
                continue;
            }
            let v = k as f64 + d.log10();
            if v >= lo && v <= hi {
                marks.push(egui_plot::GridMark {
                    value: v,
                    step_size: step,
                });
            }
        }
    }
    marks
}

fn plot_hint(ui: &mut Ui) {
    ui.label(
        RichText::new("Drag to pan, Ctrl + mouse wheel to zoom, double-click to reset.").weak(),
    );
}

/// Well-separated colours for the traces of a plot (golden-ratio hues).
fn trace_color(i: u32) -> egui::Color32 {
    let h = (f64::from(i) * 0.618_033_988_75).fract() as f32;
    egui::ecolor::Hsva::new(h, 0.7, 0.9, 1.0).into()
}

fn table_block(ui: &mut Ui, t: &Table, commands: &mut Vec<Command>) {
    table_view::title_bar(ui, t, DocKind::Analysis, commands);
    table_view::table_ui(ui, t, &t.key, &Hooks::default());
    ui.add_space(12.0);
}

fn components_plot(ui: &mut Ui, a: &AnalysisOutput, log: &mut bool) {
    ui.checkbox(log, "Logarithmic scale")
        .on_hover_text("Interval bounds of components with few degrees of freedom can be a thousand times the estimate");
    let log = *log;
    let names: Vec<String> = a.components.iter().map(|c| c.term.clone()).collect();
    // On the log scale a value is drawn at log10(value); bounds at 0 are drawn at the floor.
    let positive = a
        .components
        .iter()
        .flat_map(|c| {
            [
                Some(c.estimate),
                c.reml,
                c.ci.map(|x| x.0),
                c.mls.map(|x| x.0),
            ]
        })
        .flatten()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if positive.is_finite() {
        positive / 10.0
    } else {
        1e-3
    };
    let y = move |v: f64| if log { v.max(floor).log10() } else { v };
    let mut hidden = Vec::new();
    let mut plot = Plot::new(("components", log));
    if log {
        plot = plot.y_grid_spacer(decades);
    }
    plot.height(300.0)
        .set_margin_fraction(egui::vec2(0.05, 0.12))
        .allow_scroll(false)
        .legend(Legend::default())
        .y_axis_label(if log {
            "variance (log scale)"
        } else {
            "variance"
        })
        .y_axis_formatter(move |m, _| {
            if log {
                fmt_sig(10f64.powf(m.value), 3)
            } else {
                fmt_sig(m.value, 4)
            }
        })
        .x_axis_formatter(move |m, _| {
            let i = m.value.round();
            if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |p| {
            let bar = |x: f64, lo: f64, hi: f64| {
                Line::new("", PlotPoints::from(vec![[x, y(lo)], [x, y(hi)]]))
            };
            let moment_color = egui::Color32::from_rgb(60, 130, 220);
            let mls_color = egui::Color32::from_rgb(150, 185, 240);
            let reml_color = egui::Color32::from_rgb(230, 120, 40);
            let mut est = Vec::new();
            let mut rem = Vec::new();
            for (i, c) in a.components.iter().enumerate() {
                let x = i as f64;
                if c.estimate.is_finite() {
                    if log && c.estimate <= 0.0 {
                        hidden.push(format!("{} ({})", c.term, fmt_sig(c.estimate, 5)));
                    } else {
                        est.push([x - 0.1, y(c.estimate)]);
                    }
                }
                if let Some((lo, hi)) = c.ci {
                    p.line(
                        bar(x - 0.1, lo, hi)
                            .color(moment_color)
                            .width(2.5)
                            .name("moments: χ² CI"),
                    );
                }
                if let Some((lo, hi)) = c.mls {
                    p.line(
                        bar(x - 0.2, lo, hi)
                            .color(mls_color)
                            .width(2.5)
                            .name("moments: MLS CI"),
                    );
                }
                if let Some(r) = c.reml {
                    rem.push([x + 0.1, y(r)]);
                }
                if let Some((lo, hi)) = c.reml_ci {
                    p.line(
                        bar(x + 0.1, lo, hi)
                            .color(reml_color)
                            .width(2.5)
                            .name("REML: Wald CI (unrestricted model)"),
                    );
                }
            }
            p.points(
                Points::new("moment estimate", PlotPoints::from(est))
                    .radius(5.0)
                    .color(moment_color),
            );
            p.points(
                Points::new("REML estimate (unrestricted model)", PlotPoints::from(rem))
                    .radius(5.0)
                    .color(reml_color),
            );
        });
    if !hidden.is_empty() {
        ui.label(
            RichText::new(format!(
                "Not drawn on the log scale (not positive): {}.",
                hidden.join(", ")
            ))
            .weak(),
        );
    }
}

fn residual_plot(ui: &mut Ui, res: &[[f64; 2]]) {
    // Large data: draw at most 20 000 points (every k-th), which keeps a frame fast.
    let step = (res.len() / 20_000).max(1);
    let pts: Vec<[f64; 2]> = res.iter().step_by(step).copied().collect();
    Plot::new("residuals")
        .height(300.0)
        .allow_scroll(false)
        .x_axis_label("fitted (REML)")
        .y_axis_label("residual")
        .show(ui, |p| {
            p.points(Points::new("residuals", PlotPoints::from(pts)).radius(2.0));
            p.hline(egui_plot::HLine::new("0", 0.0));
        });
    if step > 1 {
        ui.label(
            RichText::new(format!(
                "Every {step}th of {} residuals is drawn.",
                res.len()
            ))
            .weak(),
        );
    }
}
