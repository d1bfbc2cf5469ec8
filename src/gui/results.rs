//! Results: the analysis of the loaded data through the same library calls as
//! `emslab analyze` (sized design, `anova::from_cells`, `derive`, `moments::analyze`,
//! `report::analysis_document`), the REML fit (`reml::fit`, `reml::compare`), and plots of
//! what they computed: components with their intervals, REML residuals, cell means.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use emslab::data::Dataset;
use emslab::moments::{self, NegativePolicy};
use emslab::reml::{self, Comparison, RemlFit, RemlOptions};
use emslab::report::{self, Align, Cell, Document, Format, Table, fmt_sig};
use emslab::{Design, Model};

use super::command::{Command, DocKind};
use super::ems_view;
use super::jobs::Progress;
use super::table_view::{self, Hooks};

/// What the analysis is run with (the command line's `--model`, `--alpha`, `--negative`,
/// `--no-reml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysisSettings {
    pub model: Model,
    pub alpha: f64,
    pub reml: bool,
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

/// The cell means of the data (all factors), for the interaction plot.
#[derive(Debug, Clone, PartialEq)]
pub struct CellMeans {
    pub factors: Vec<String>,
    pub radix: Vec<u32>,
    /// In the data's units, mixed-radix order (last factor fastest).
    pub means: Vec<f64>,
}

/// A REML fit with its comparison to the moment estimates.
pub struct RemlOutcome {
    pub fit: RemlFit,
    pub comparison: Comparison,
    /// Tables of the fit (components beside the moments, BLUEs, BLUPs, optimiser log).
    pub tables: Vec<Table>,
}

/// Everything the results view shows.
pub struct AnalysisOutput {
    /// The `emslab analyze` document (without a REML section: see [`RemlOutcome::tables`]).
    pub document: Option<Document>,
    pub json: Option<serde_json::Value>,
    /// Why there is no moment analysis (unbalanced data).
    pub no_moments: Option<String>,
    pub components: Vec<ComponentPoint>,
    pub reml: Option<RemlOutcome>,
    pub reml_error: Option<String>,
    /// (fitted, residual) of the REML fit: y − Xβ̂ − Zû against Xβ̂ + Zû.
    pub residuals: Vec<[f64; 2]>,
    pub cells: CellMeans,
    pub settings: AnalysisSettings,
}

fn pair(i: &moments::Interval) -> (f64, f64) {
    (i.lower, i.upper)
}

/// Runs the analysis (off the UI thread).
pub fn analyze(
    design: &Design,
    ds: &Dataset,
    settings: AnalysisSettings,
    progress: &Progress,
) -> Result<AnalysisOutput, String> {
    progress.stage("ANOVA and moment estimates");
    let sized = ds
        .sized_design(design)
        .map_err(|e| format!("The data do not fit the design: {e}"))?;
    let cells = CellMeans {
        factors: sized.factors.iter().map(|f| f.name.clone()).collect(),
        radix: ds.cells.radix.clone(),
        means: ds.cell_means(),
    };
    let opts = moments::Options {
        alpha: settings.alpha,
        negative: settings.negative,
    };
    let mut out = AnalysisOutput {
        document: None,
        json: None,
        no_moments: None,
        components: Vec::new(),
        reml: None,
        reml_error: None,
        residuals: Vec::new(),
        cells,
        settings,
    };
    // Moment estimates of the unrestricted model, the ones REML is compared with.
    let mut unrestricted_moments: Vec<(String, f64)> = Vec::new();
    match ds.require_balanced() {
        Ok(()) => {
            let anova = emslab::anova::from_cells(&sized, &ds.cells)
                .map_err(|e| format!("internal error: {e}"))?;
            let table = emslab::derive(&sized, settings.model);
            let analysis = moments::analyze(&table, &anova, &opts);
            let info = report::DataInfo::from_dataset(ds, Some(&anova));
            let notes: Vec<String> = Vec::new();
            let r = report::AnalysisReport {
                table: &table,
                anova: &anova,
                analysis: &analysis,
                data: &info,
                reml: None,
                reml_notes: &notes,
            };
            out.document = Some(report::analysis_document(&r));
            out.json = Some(report::analysis_json(&r));
            out.components = analysis
                .components
                .iter()
                .map(|c| ComponentPoint {
                    term: c.name.clone(),
                    estimate: c.estimate,
                    ci: c.ci.as_ref().map(pair),
                    mls: c.mls.as_ref().map(pair),
                    reml: None,
                    reml_ci: None,
                })
                .collect();
            let unrestricted = if settings.model == Model::Unrestricted {
                analysis
            } else {
                let t = emslab::derive(&sized, Model::Unrestricted);
                moments::analyze(&t, &anova, &opts)
            };
            unrestricted_moments = unrestricted
                .components
                .iter()
                .map(|c| (c.name.clone(), c.computed))
                .collect();
        }
        Err(e) => out.no_moments = Some(e.to_string()),
    }
    if progress.cancelled() {
        return Err("Cancelled.".into());
    }
    if settings.reml {
        progress.stage("REML fit");
        match ds.reml_input() {
            None => out.reml_error = Some("the rows were not kept for REML".into()),
            Some(input) => {
                let ropts = RemlOptions {
                    level: 1.0 - settings.alpha,
                    start: (!unrestricted_moments.is_empty()).then(|| unrestricted_moments.clone()),
                    ..RemlOptions::default()
                };
                match reml::fit(&sized, &input.codes, &input.y, &ropts) {
                    Ok(fit) => {
                        let comparison = reml::compare(&fit, &unrestricted_moments);
                        for p in &mut out.components {
                            if let Some(c) = fit.component(&p.term) {
                                p.reml = Some(c.variance);
                                p.reml_ci = c.interval.as_ref().map(|i| (i.lower, i.upper));
                            }
                        }
                        if out.components.is_empty() {
                            out.components = fit
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
                                .collect();
                        }
                        if fit.residuals.len() == input.y.len() {
                            out.residuals = input
                                .y
                                .iter()
                                .zip(&fit.residuals)
                                .map(|(y, r)| [y - r, *r])
                                .collect();
                        }
                        let tables = reml_tables(&fit, &comparison);
                        out.reml = Some(RemlOutcome {
                            fit,
                            comparison,
                            tables,
                        });
                    }
                    Err(e) => out.reml_error = Some(e.to_string()),
                }
            }
        }
    }
    Ok(out)
}

fn num(v: f64, sig: usize) -> Cell {
    if v.is_finite() {
        Cell::num(v, sig)
    } else {
        Cell::empty_dash()
    }
}

/// The REML fit as tables, for display and export through the report writers.
///
/// These rows belong in `report::analysis_tables` once it has a REML section; until then
/// the app builds them here from the fit's fields (no computation beyond formatting).
pub fn reml_tables(fit: &RemlFit, cmp: &Comparison) -> Vec<Table> {
    let level = fit
        .components
        .iter()
        .find_map(|c| c.interval.as_ref().map(|i| i.level))
        .unwrap_or(0.95);
    let mut comps = Table::new(
        "reml_components",
        format!(
            "{} beside the method of moments (unrestricted model)",
            fit.method.as_str()
        ),
    )
    .columns(&[
        ("Component", Align::Left),
        ("Moments", Align::Right),
        ("REML", Align::Right),
        ("SD", Align::Right),
        ("SE", Align::Right),
        ("Wald CI", Align::Left),
        ("Agreement", Align::Left),
    ]);
    comps.headers[0][2] = Cell::text(fit.method.as_str());
    comps.headers[0][5] = Cell::text(format!("{}% CI", fmt_sig(100.0 * level, 4)));
    for c in &fit.components {
        let row = cmp.rows.iter().find(|r| r.term == c.term);
        comps.push(vec![
            Cell::text(&c.term),
            row.and_then(|r| r.moment)
                .map_or_else(Cell::empty_dash, |m| num(m, 7)),
            num(c.variance, 7),
            num(c.sd, 5),
            c.se.map_or_else(Cell::empty_dash, |s| num(s, 4)),
            c.interval.as_ref().map_or_else(Cell::empty_dash, |i| {
                Cell::text(format!(
                    "[{}, {}]",
                    fmt_sig(i.lower, 5),
                    fmt_sig(i.upper, 5)
                ))
            }),
            Cell::text(row.map(|r| r.note.clone()).unwrap_or_default()),
        ]);
    }
    comps.notes.push(format!("{}.", capitalise(&cmp.summary)));
    comps.notes.push(cmp.rule.clone());
    for c in &fit.components {
        if let Some(n) = &c.note {
            comps.notes.push(format!("{}: {n}", c.term));
        }
    }
    comps.notes.extend(fit.notes.iter().cloned());

    let mut summary =
        Table::new("reml_fit", "Fit").columns(&[("", Align::Left), ("", Align::Right)]);
    summary.headers[0][0] = Cell::text("Quantity");
    summary.headers[0][1] = Cell::text("Value");
    let mut kv = |k: &str, v: Cell| summary.push(vec![Cell::text(k), v]);
    kv("Observations", Cell::int(fit.n_observations as u64));
    kv("Fixed-effect columns", Cell::int(fit.n_fixed as u64));
    kv(
        "Converged",
        Cell::text(if fit.converged { "yes" } else { "no" }),
    );
    kv(
        "On the boundary",
        Cell::text(if fit.boundary { "yes" } else { "no" }),
    );
    kv(
        "Balanced",
        Cell::text(if fit.balanced { "yes" } else { "no" }),
    );
    kv("Log-likelihood", num(fit.log_likelihood, 10));
    if let Some(c) = fit.reml_criterion {
        kv("REML criterion", num(c, 10));
    }
    kv("AIC", num(fit.aic, 10));
    kv("BIC", num(fit.bic, 10));
    kv("σ² (Residual)", num(fit.sigma2, 7));

    let mut fixed = Table::new("reml_blue", "Fixed effects (BLUE)").columns(&[
        ("Column", Align::Left),
        ("Estimate", Align::Right),
        ("SE", Align::Right),
    ]);
    for f in &fit.fixed_effects {
        fixed.push(vec![Cell::text(&f.name), num(f.estimate, 7), num(f.se, 5)]);
    }

    let mut blups = Table::new("reml_blup", "Random effects (BLUP)").columns(&[
        ("Term", Align::Left),
        ("Level", Align::Left),
        ("BLUP", Align::Right),
        ("PEV", Align::Right),
    ]);
    const MAX_BLUPS: usize = 200;
    let mut shown = 0usize;
    let mut total = 0usize;
    for re in &fit.random_effects {
        for b in &re.levels {
            total += 1;
            if shown < MAX_BLUPS {
                shown += 1;
                blups.push(vec![
                    Cell::text(&re.term),
                    Cell::text(&b.level),
                    num(b.estimate, 6),
                    b.pev.map_or_else(Cell::empty_dash, |p| num(p, 4)),
                ]);
            }
        }
    }
    if total > shown {
        blups
            .notes
            .push(format!("The first {shown} of {total} levels are shown."));
    }
    blups
        .notes
        .push("PEV: prediction-error variance Var(u − û).".into());

    let log = &fit.optimizer;
    let mut opt = Table::new("reml_log", "Optimiser log")
        .columns(&[("Quantity", Align::Left), ("Value", Align::Left)]);
    let fmt_vec = |v: &[f64]| {
        v.iter()
            .map(|x| fmt_sig(*x, 6))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut kv = |k: &str, v: String| opt.push(vec![Cell::text(k), Cell::text(v)]);
    kv("Algorithm", log.algorithm.clone());
    kv("Terms (θ order)", log.terms.join(", "));
    kv("Starts", log.starts.len().to_string());
    kv("θ at the start", fmt_vec(&log.theta_start));
    kv("θ at the end", fmt_vec(&log.theta_end));
    kv(
        "Criterion start → end",
        format!(
            "{} → {}",
            fmt_sig(log.criterion_start, 10),
            fmt_sig(log.criterion_end, 10)
        ),
    );
    kv("Evaluations", log.evaluations.to_string());
    kv("Gradient at the end", fmt_vec(&log.gradient));
    kv("Hessian eigenvalues", fmt_vec(&log.hessian_eigenvalues));
    kv("Newton decrement", fmt_sig(log.newton_decrement, 4));
    kv(
        "Converged",
        format!(
            "{} ({})",
            if log.converged { "yes" } else { "no" },
            log.message
        ),
    );
    vec![comps, summary, fixed, blups, opt]
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl AnalysisOutput {
    /// The whole report: the `analyze` document, then the REML tables.
    pub fn full_document(&self) -> Document {
        let mut doc = self.document.clone().unwrap_or_else(|| Document {
            title: "Analysis".into(),
            preamble: self.no_moments.iter().cloned().collect(),
            tables: Vec::new(),
        });
        if let Some(r) = &self.reml {
            doc.tables.extend(r.tables.iter().cloned());
        }
        doc
    }

    /// A table (or the whole report) in a format, through the report writers.
    pub fn render(&self, table: Option<&str>, format: Format) -> Result<String, String> {
        let in_analysis = |k: &str| {
            self.document
                .as_ref()
                .is_some_and(|d| d.tables.iter().any(|t| t.key == k))
        };
        match table {
            // A table of the `analyze` document: exactly `emslab analyze ... --table KEY`.
            Some(k) if in_analysis(k) => report::render(
                self.document.as_ref().ok_or("no analysis")?,
                self.json.as_ref(),
                format,
                Some(k),
            ),
            Some(k) => report::render(&self.full_document(), None, format, Some(k)),
            None if self.reml.is_none() && self.document.is_some() => report::render(
                self.document.as_ref().ok_or("no analysis")?,
                self.json.as_ref(),
                format,
                None,
            ),
            None => {
                let mut json = self.json.clone();
                if let (Some(j), Some(r)) = (json.as_mut(), &self.reml) {
                    j["reml"] = serde_json::to_value(&r.fit).unwrap_or_default();
                    j["reml_comparison"] = serde_json::to_value(&r.comparison).unwrap_or_default();
                }
                report::render(&self.full_document(), json.as_ref(), format, None)
            }
        }
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
    /// Interaction plot: factor on the x axis, factor of the traces, others held at a level.
    x_factor: usize,
    trace_factor: usize,
    held: Vec<u32>,
}

impl Default for ResultsView {
    fn default() -> Self {
        ResultsView {
            plot: PlotKind::Components,
            log_scale: true,
            x_factor: 0,
            trace_factor: 1,
            held: Vec::new(),
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
        if let Some(m) = &a.no_moments {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("⚠ No ANOVA or moment estimates: {m}"),
            );
        }
        ui.add_space(6.0);
        if let Some(doc) = &a.document {
            for key in ["anova", "components"] {
                ems_view::titled_table(ui, doc, key, DocKind::Analysis, commands);
            }
        }
        self.plots_ui(ui, a);
        ui.add_space(10.0);
        ui.heading("REML cross-check");
        if let Some(e) = &a.reml_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("⚠ The REML fit failed: {e}"),
            );
        }
        if let Some(r) = &a.reml {
            for t in &r.tables {
                let collapsed = matches!(t.key.as_str(), "reml_blup" | "reml_log" | "reml_blue");
                if collapsed {
                    egui::CollapsingHeader::new(&t.title)
                        .id_salt(&t.key)
                        .show(ui, |ui| table_block(ui, t, commands));
                } else {
                    table_block(ui, t, commands);
                }
            }
        } else if !a.settings.reml {
            ui.label("Not run (switch on “REML cross-check” above).");
        }
        if let Some(doc) = &a.document {
            ui.add_space(10.0);
            egui::CollapsingHeader::new("Data, design and E(MS) of this analysis")
                .id_salt("analysis-other")
                .show(ui, |ui| {
                    for t in &doc.tables {
                        if !matches!(t.key.as_str(), "anova" | "components") {
                            ems_view::titled_table(ui, doc, &t.key, DocKind::Analysis, commands);
                        }
                    }
                });
        }
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
                if a.residuals.is_empty() {
                    ui.label("Residuals come from the REML fit: run the analysis with the REML cross-check.");
                } else {
                    residual_plot(ui, &a.residuals);
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
        if nf == 0 || cells.means.is_empty() {
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
            for f in 0..nf {
                if f == self.x_factor || (nf > 1 && f == self.trace_factor) {
                    continue;
                }
                ui.label(format!("{} at level", cells.factors[f]));
                let mut level = self.held[f] as i64 + 1;
                ui.add(egui::DragValue::new(&mut level).range(1..=i64::from(cells.radix[f])))
                    .on_hover_text("Other factors are held at one level (a slice of the cell means, not an average)")
                    .accessible_name(format!("level of {}", cells.factors[f]));
                self.held[f] = (level - 1).max(0) as u32;
            }
        });
        let nx = cells.radix[self.x_factor];
        let nt = if nf > 1 {
            cells.radix[self.trace_factor]
        } else {
            1
        };
        let x_name = cells.factors[self.x_factor].clone();
        let t_name = if nf > 1 {
            cells.factors[self.trace_factor].clone()
        } else {
            String::new()
        };
        Plot::new("cell-means")
            .height(320.0)
            .allow_scroll(false)
            .legend(Legend::default())
            .x_axis_label(format!("{x_name} (level)"))
            .y_axis_label("cell mean")
            .show(ui, |p| {
                const MAX_TRACES: u32 = 40;
                for t in 0..nt.min(MAX_TRACES) {
                    let pts: Vec<[f64; 2]> = (0..nx)
                        .map(|x| {
                            let mut codes = self.held.clone();
                            codes[self.x_factor] = x;
                            if nf > 1 {
                                codes[self.trace_factor] = t;
                            }
                            let i = emslab::data::cell_index(&cells.radix, &codes);
                            [
                                f64::from(x + 1),
                                cells.means.get(i).copied().unwrap_or(f64::NAN),
                            ]
                        })
                        .collect();
                    let name = if nf > 1 {
                        format!("{t_name} {}", t + 1)
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
