//! The Plan view (issue 13 item 5): power and sample size of the design being edited,
//! before any data exist. Its inputs are the variance components and fixed effects the user
//! expects (kept in the session by term name); everything it shows is the library's
//! ([`emslab::power`]), recomputed whenever the design, the model or an input changes: the
//! power of every F test as the `power` table of `emslab power`'s report, the smallest level
//! count of a random factor (or replicates) at which one test reaches a target power, and
//! a power curve ([`emslab::chart::power`]) that saves as PNG or SVG like the other plots.

use egui::{RichText, Ui};
use emslab::chart::Figure;
use emslab::chart::power::{effect_curve_panel, single, solve_panel};
use emslab::power::{
    self, EffectCurve, PowerError, PowerSpec, PowerTable, Solution, SolveSpec, Vary,
};
use emslab::report::power_tables::{PowerReport, power_document, power_json};
use emslab::report::{self, Document, Format, fmt_sig};
use emslab::simulate::SimError;
use emslab::{Design, DesignSpec, EmsTable, Model};
use serde::{Deserialize, Serialize};

use super::command::{ChartSource, Command, DocKind, EditKey};
use super::doc::Derived;
use super::plots;
use super::results::report_table;
use super::table_view::notes_label;

/// Which curve the plot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CurveKind {
    /// The solved test's power against the size being solved.
    #[default]
    Sizes,
    /// Every test's power against an effect-size multiplier.
    Effect,
}

/// What the Plan view is given, by term and factor name (an edit of the design keeps what
/// still applies); persisted with the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanSettings {
    /// The expected variance of each random term and of the Residual.
    pub sigma2: Vec<(String, f64)>,
    /// The effects (or level means) of each fixed term, as typed: `-1, 0, 1`.
    pub effects: Vec<(String, String)>,
    pub alpha: f64,
    /// The power a solve must reach.
    pub target: f64,
    /// What a solve varies: a random factor's name or `replicates` (`None`: the first
    /// random factor).
    pub vary: Option<String>,
    /// The term whose test a solve is for (`None`: the first fixed term with a test).
    pub term: Option<String>,
    pub curve: CurveKind,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            sigma2: Vec::new(),
            effects: Vec::new(),
            alpha: 0.05,
            target: 0.8,
            vary: None,
            term: None,
            curve: CurveKind::Sizes,
        }
    }
}

/// The variance a random term starts with.
const DEFAULT_VARIANCE: f64 = 1.0;
/// The name of the replicates in the solve's choice.
const REPLICATES: &str = "replicates";

impl PlanSettings {
    pub fn variance(&self, term: &str) -> Option<f64> {
        self.sigma2.iter().find(|(t, _)| t == term).map(|x| x.1)
    }

    pub fn set_variance(&mut self, term: &str, v: f64) {
        match self.sigma2.iter_mut().find(|(t, _)| t == term) {
            Some(x) => x.1 = v,
            None => self.sigma2.push((term.to_string(), v)),
        }
    }

    pub fn effects_text(&self, term: &str) -> &str {
        self.effects
            .iter()
            .find(|(t, _)| t == term)
            .map_or("", |x| x.1.as_str())
    }

    pub fn set_effects(&mut self, term: &str, text: String) {
        match self.effects.iter_mut().find(|(t, _)| t == term) {
            Some(x) => x.1 = text,
            None => self.effects.push((term.to_string(), text)),
        }
    }

    /// Gives every random term and the Residual of the table a variance (1 until set).
    fn complete(&mut self, table: &EmsTable) {
        for t in table.terms.iter().filter(|t| t.random) {
            if self.variance(&t.name).is_none() {
                self.set_variance(&t.name, DEFAULT_VARIANCE);
            }
        }
    }
}

/// The plan of one (design, model, settings).
pub struct PlanResult {
    pub table: EmsTable,
    pub spec: PowerSpec,
    pub power: PowerTable,
    pub curve: EffectCurve,
    /// The solve, or why there is none.
    pub solution: Result<Solution, String>,
    /// `emslab power`'s document for the same inputs.
    pub document: Document,
    /// The curve the settings ask for.
    pub figure: Figure,
}

/// What the view shows.
pub enum Plan {
    /// The design cannot be planned yet (in the app's words).
    NoDesign(String),
    /// The inputs do not make a power calculation.
    Invalid(String),
    Ready(Box<PlanResult>),
}

/// The plan of the last (design, model, settings), and the effects that could not be used.
#[derive(Default)]
pub struct PlanState {
    key: Option<(DesignSpec, Model, PlanSettings)>,
    plan: Option<Plan>,
    /// Effects left out of the calculation: (term, why).
    pub effect_errors: Vec<(String, String)>,
}

impl PlanState {
    /// Recomputes the plan when the design, the model or the settings changed.
    pub fn update(
        &mut self,
        spec: &DesignSpec,
        derived: &Derived,
        model: Model,
        settings: &PlanSettings,
    ) {
        if self
            .key
            .as_ref()
            .is_some_and(|(s, m, p)| s == spec && *m == model && p == settings)
            && self.plan.is_some()
        {
            return;
        }
        let (plan, errors) = match (&derived.design, &derived.ems) {
            (Ok(d), Some(t)) => compute(d, t, settings),
            (Err(e), _) => (
                Plan::NoDesign(super::display::user_words(&e.to_string())),
                Vec::new(),
            ),
            _ => (
                Plan::NoDesign("The EMS of the design are being derived.".into()),
                Vec::new(),
            ),
        };
        self.plan = Some(plan);
        self.effect_errors = errors;
        self.key = Some((spec.clone(), model, settings.clone()));
    }

    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    pub fn result(&self) -> Option<&PlanResult> {
        match &self.plan {
            Some(Plan::Ready(r)) => Some(r),
            _ => None,
        }
    }

    /// A table (or the whole report) of the plan: what `emslab power DESIGN --sigma2 ...
    /// --effect ... --target ... --solve ... --term ... [--table KEY]` writes.
    pub fn render(&self, table: Option<&str>, format: Format) -> Result<String, String> {
        let r = self
            .result()
            .ok_or("There is no plan to export: open the Plan view with a valid design.")?;
        let report = PowerReport {
            table: &r.table,
            spec: &r.spec,
            power: &r.power,
            curve: &r.curve,
            solution: r.solution.as_ref().ok(),
            simulation: None,
        };
        report::render(&r.document, &power_json(&report), format, table).map_err(|e| e.to_string())
    }

    /// The curve shown (for exports).
    pub fn figure(&self) -> Option<&Figure> {
        self.result().map(|r| &r.figure)
    }
}

/// Numbers separated by commas, semicolons or spaces.
fn parse_numbers(text: &str) -> Result<Vec<f64>, String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{s}` is not a number"))
        })
        .collect()
}

/// How many effects a fixed term takes, and in what order.
fn effects_hint(design: &Design, term: &emslab::design::Term) -> (u64, String) {
    let n = design.cells(term.subscripts).unwrap_or(0);
    let names: Vec<&str> = term
        .subscripts
        .iter()
        .filter_map(|i| design.factors.get(i).map(|f| f.name.as_str()))
        .collect();
    let what = match names.as_slice() {
        [one] => format!("one per level of {one}"),
        many => format!("one per cell of {} (the last fastest)", many.join(" × ")),
    };
    (n, format!("{n} values, {what}; centred"))
}

/// The random factors a solve can vary, then the replicates.
fn vary_choices(design: &Design) -> Vec<(Vary, String)> {
    let mut v: Vec<(Vary, String)> = (0..design.factors.len())
        .filter(|&i| power::is_random_factor(design, i))
        .map(|i| (Vary::Factor(i), design.factors[i].name.clone()))
        .collect();
    v.push((Vary::Replicates, REPLICATES.to_string()));
    v
}

/// The terms with an F test.
fn tested_terms(table: &EmsTable) -> Vec<usize> {
    (0..table.residual())
        .filter(|&t| table.tests[t].kind != emslab::ems::TestKind::None)
        .collect()
}

/// The solve the settings ask for (defaults: the first random factor, the first fixed term
/// with a test).
fn solve_spec(design: &Design, table: &EmsTable, s: &PlanSettings) -> Result<SolveSpec, String> {
    let choices = vary_choices(design);
    let vary = choices
        .iter()
        .find(|(_, n)| s.vary.as_deref() == Some(n.as_str()))
        .or(choices.first())
        .map_or(Vary::Replicates, |c| c.0);
    let tested = tested_terms(table);
    let term = tested
        .iter()
        .find(|&&t| s.term.as_deref() == Some(table.terms[t].name.as_str()))
        .or_else(|| tested.iter().find(|&&t| !table.terms[t].random))
        .or(tested.first())
        .copied()
        .ok_or("No term of this design has an F test: there is no power to solve for.")?;
    Ok(SolveSpec {
        vary,
        term,
        target: s.target,
    })
}

/// A power error in the app's words.
fn error_words(e: &PowerError) -> String {
    match e {
        PowerError::Inputs(SimError::Unsized(what)) => format!(
            "Power depends on the sizes: give {what} a level count (above, or on the Design view)."
        ),
        e => e.to_string(),
    }
}

/// The plan, and the effects left out of it.
fn compute(design: &Design, table: &EmsTable, s: &PlanSettings) -> (Plan, Vec<(String, String)>) {
    let residual = table.residual();
    let sigma2: Vec<(&str, f64)> = table
        .terms
        .iter()
        .filter(|t| t.random)
        .filter_map(|t| s.variance(&t.name).map(|v| (t.name.as_str(), v)))
        .collect();
    let mut effects: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut errors = Vec::new();
    for t in table.terms[..residual].iter().filter(|t| !t.random) {
        let text = s.effects_text(&t.name);
        if text.trim().is_empty() {
            continue;
        }
        let (n, hint) = effects_hint(design, t);
        match parse_numbers(text) {
            Ok(v) if v.len() as u64 == n => effects.push((t.name.as_str(), v)),
            Ok(v) => errors.push((
                t.name.clone(),
                format!("{} given: {hint}. Taken as 0 until then.", v.len()),
            )),
            Err(e) => errors.push((t.name.clone(), format!("{e}. Taken as 0 until fixed."))),
        }
    }
    let spec = match PowerSpec::new(design, table.model, &sigma2, &effects, s.alpha) {
        Ok(x) => x,
        Err(e) => return (Plan::Invalid(error_words(&e)), errors),
    };
    let power = power::power(table, &spec);
    let curve = power::effect_curve(table, &spec, &power::CURVE_MULTIPLIERS);
    let solution = solve_spec(design, table, s)
        .and_then(|x| power::solve(table, &spec, x).map_err(|e| error_words(&e)));
    let report = PowerReport {
        table,
        spec: &spec,
        power: &power,
        curve: &curve,
        solution: solution.as_ref().ok(),
        simulation: None,
    };
    let document = power_document(&report);
    let figure = match (s.curve, &solution) {
        (CurveKind::Sizes, Ok(sol)) => single(solve_panel(table, design, sol)),
        _ => single(effect_curve_panel(table, &curve, s.alpha)),
    };
    let result = PlanResult {
        table: table.clone(),
        spec,
        power,
        curve,
        solution,
        document,
        figure,
    };
    (Plan::Ready(Box::new(result)), errors)
}

/// What the view draws with.
pub struct PlanInput<'a> {
    pub spec: &'a DesignSpec,
    pub derived: &'a Derived,
    pub model: Model,
}

/// The Plan view.
pub fn plan_ui(
    ui: &mut Ui,
    state: &mut PlanState,
    settings: &mut PlanSettings,
    input: PlanInput<'_>,
    commands: &mut Vec<Command>,
) {
    ui.heading("Plan: power and sample size");
    ui.add(
        egui::Label::new(RichText::new(format!(
            "Before any data: the power of every F test of the design (Design view, Ctrl+2) under the variance components and effects you expect, in the {} model (switch on the tool bar). The same numbers as `emslab power`.",
            input.model.as_str()
        )).weak())
        .wrap(),
    );
    let (Ok(design), Some(table)) = (&input.derived.design, &input.derived.ems) else {
        state.update(input.spec, input.derived, input.model, settings);
        if let Some(Plan::NoDesign(m)) = state.plan() {
            ui.add_space(8.0);
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {m}"));
        }
        if ui.button("Go to the design").clicked() {
            commands.push(Command::ShowView(super::app::View::Design));
        }
        return;
    };
    settings.complete(table);
    state.update(input.spec, input.derived, input.model, settings);
    ui.add_space(6.0);
    sizes_ui(ui, input.spec, commands);
    ui.add_space(6.0);
    let wide = ui.available_width() > 1100.0;
    let inputs = |ui: &mut Ui, settings: &mut PlanSettings, state: &PlanState| {
        inputs_ui(ui, settings, design, table, &state.effect_errors);
    };
    if wide {
        ui.columns(2, |cols| {
            inputs(&mut cols[0], settings, state);
            solve_ui(
                &mut cols[1],
                settings,
                design,
                table,
                state,
                input.spec,
                commands,
            );
        });
    } else {
        inputs(ui, settings, state);
        ui.add_space(8.0);
        solve_ui(ui, settings, design, table, state, input.spec, commands);
    }
    ui.add_space(8.0);
    match state.plan() {
        Some(Plan::Ready(r)) => results_ui(ui, r, settings, commands),
        Some(Plan::Invalid(m) | Plan::NoDesign(m)) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {m}"));
        }
        None => {}
    }
}

/// The level count of every factor and the replicates: edits of the design.
fn sizes_ui(ui: &mut Ui, spec: &DesignSpec, commands: &mut Vec<Command>) {
    let mut s = spec.clone();
    let mut key = EditKey::Discrete;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Sizes").strong())
            .on_hover_text("The design's level counts: editing them here edits the design");
        for (i, f) in s.factors.iter_mut().enumerate() {
            ui.label(&f.name);
            size_field(ui, &mut f.levels, &format!("Plan levels of {}", f.name));
            if f.levels != spec.factors[i].levels {
                key = EditKey::Field(format!("factors[{i}].levels"));
            }
            ui.add_space(8.0);
        }
        ui.label("replicates n");
        size_field(ui, &mut s.replicates, "Plan replicates");
        if s.replicates != spec.replicates {
            key = EditKey::Field("replicates".into());
        }
    });
    if s != *spec {
        commands.push(Command::Edit { spec: s, key });
    }
}

/// A level count: a drag value, or (left to the data) a button that sets one.
fn size_field(ui: &mut Ui, value: &mut Option<u32>, name: &str) {
    match value {
        Some(v) => {
            ui.add(egui::DragValue::new(v).range(1..=1000).speed(0.1))
                .accessible_name(name);
        }
        None => {
            if ui
                .small_button("set")
                .on_hover_text("The count is left to the data; power needs a number")
                .accessible_name(name)
                .clicked()
            {
                *value = Some(2);
            }
        }
    }
}

/// The expected component of every random term and the effects of every fixed term.
fn inputs_ui(
    ui: &mut Ui,
    s: &mut PlanSettings,
    design: &Design,
    table: &EmsTable,
    errors: &[(String, String)],
) {
    ui.label(RichText::new("Expected components and effects").strong());
    egui::Grid::new("plan-inputs")
        .num_columns(3)
        .spacing([10.0, 4.0])
        .show(ui, |ui| {
            for t in &table.terms {
                ui.label(&t.name);
                if t.random {
                    ui.label("σ²").on_hover_text(if t.name == "Residual" {
                        "The Residual variance σ² (the replicates' spread)"
                    } else {
                        "The variance component of this random term"
                    });
                    let mut v = s.variance(&t.name).unwrap_or(DEFAULT_VARIANCE);
                    let r = ui
                        .add(
                            egui::DragValue::new(&mut v)
                                .range(0.0..=1e12)
                                .speed(0.01)
                                .max_decimals(6),
                        )
                        .accessible_name(format!("Variance of {}", t.name));
                    if r.changed() {
                        s.set_variance(&t.name, v);
                    }
                } else {
                    ui.label("effects").on_hover_text(
                        "The term's effects (or level means, centred here), as in `emslab power --effect`",
                    );
                    let (_, hint) = effects_hint(design, t);
                    ui.vertical(|ui| {
                        let mut text = s.effects_text(&t.name).to_string();
                        let r = ui
                            .add(
                                egui::TextEdit::singleline(&mut text)
                                    .desired_width(200.0)
                                    .hint_text("e.g. -1, 0, 1 (empty: 0)"),
                            )
                            .accessible_name(format!("Effects of {}", t.name))
                            .on_hover_text(&hint);
                        if r.changed() {
                            s.set_effects(&t.name, text);
                        }
                        match errors.iter().find(|(n, _)| *n == t.name) {
                            Some((_, e)) => {
                                ui.colored_label(ui.visuals().error_fg_color, e);
                            }
                            None => {
                                ui.label(RichText::new(hint).small().weak());
                            }
                        }
                    });
                }
                ui.end_row();
            }
        });
    ui.horizontal(|ui| {
        ui.label("α").on_hover_text("The level of every test");
        ui.add(
            egui::DragValue::new(&mut s.alpha)
                .range(0.001..=0.5)
                .speed(0.005)
                .max_decimals(3),
        )
        .accessible_name("Plan alpha");
    });
}

/// "How many?": the solve's choices and its answer.
fn solve_ui(
    ui: &mut Ui,
    s: &mut PlanSettings,
    design: &Design,
    table: &EmsTable,
    state: &PlanState,
    spec: &DesignSpec,
    commands: &mut Vec<Command>,
) {
    ui.label(RichText::new("How many?").strong());
    let chosen = solve_spec(design, table, s).ok();
    let choices = vary_choices(design);
    ui.horizontal_wrapped(|ui| {
        ui.label("The smallest");
        let current = chosen.map_or_else(String::new, |c| {
            emslab::chart::power::vary_name(design, c.vary)
        });
        egui::ComboBox::from_id_salt("plan-vary")
            .selected_text(&current)
            .show_ui(ui, |ui| {
                for (_, name) in &choices {
                    if ui.selectable_label(*name == current, name).clicked() {
                        s.vary = Some(name.clone());
                    }
                }
            })
            .response
            .accessible_name("Solve for")
            .on_hover_text("A random factor's level count, or the replicates per cell (2 to 1000)");
        ui.label("at which the test of");
        let term = chosen.map_or_else(String::new, |c| table.terms[c.term].name.clone());
        egui::ComboBox::from_id_salt("plan-term")
            .selected_text(&term)
            .show_ui(ui, |ui| {
                for t in tested_terms(table) {
                    let name = &table.terms[t].name;
                    if ui.selectable_label(*name == term, name).clicked() {
                        s.term = Some(name.clone());
                    }
                }
            })
            .response
            .accessible_name("Test to power");
        ui.label("reaches power");
        ui.add(
            egui::DragValue::new(&mut s.target)
                .range(0.05..=0.999)
                .speed(0.005)
                .max_decimals(3),
        )
        .accessible_name("Target power");
    });
    let Some(r) = state.result() else { return };
    match &r.solution {
        Ok(sol) => answer_ui(ui, sol, r, design, spec, commands),
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
        }
    }
}

/// The solve's answer, the power at the design's size, and a button to take the answer.
fn answer_ui(
    ui: &mut Ui,
    sol: &Solution,
    r: &PlanResult,
    design: &Design,
    spec: &DesignSpec,
    commands: &mut Vec<Command>,
) {
    let vary = emslab::chart::power::vary_name(design, sol.spec.vary);
    let unit = match sol.spec.vary {
        Vary::Factor(_) => "levels",
        Vary::Replicates => "per cell",
    };
    let term = &r.table.terms[sol.spec.term].name;
    let text = match sol.size {
        Some(n) => format!("{vary}: {n} {unit} (power {})", fmt_sig(sol.power, 4)),
        None => format!(
            "No size up to {} reaches {}: at {} the power is {}.",
            power::solve::MAX_SIZE,
            fmt_sig(sol.spec.target, 4),
            power::solve::MAX_SIZE,
            fmt_sig(sol.power, 4)
        ),
    };
    ui.label(RichText::new(text).heading());
    let now = match sol.spec.vary {
        Vary::Factor(i) => design.levels_of(i),
        Vary::Replicates => design.replicates,
    };
    if let (Some(now), Some(p)) = (now, r.power.rows[sol.spec.term].power) {
        ui.label(format!(
            "The design now has {vary} = {now}: the test of {term} has power {}.",
            fmt_sig(p, 4)
        ));
    }
    let take = |ui: &mut Ui, n: u32| {
        ui.horizontal(|ui| {
            ui.button(format!("Set {vary} to {n} in the design"))
                .on_hover_text("Edit the design's size (undo with Ctrl+Z)")
                .clicked()
        })
        .inner
    };
    if let Some(n) = sol.size
        && now != Some(n)
        && take(ui, n)
    {
        let mut s = spec.clone();
        match sol.spec.vary {
            Vary::Factor(i) => s.factors[i].levels = Some(n),
            Vary::Replicates => s.replicates = Some(n),
        }
        commands.push(Command::Edit {
            spec: s,
            key: EditKey::Discrete,
        });
    }
}

/// The power table, the curve and (folded) the curves as tables.
fn results_ui(ui: &mut Ui, r: &PlanResult, s: &mut PlanSettings, commands: &mut Vec<Command>) {
    if let Some(t) = r.document.tables.iter().find(|t| t.key == "power") {
        report_table(ui, t, DocKind::Power, "plan-power", commands);
    }
    for t in r.document.tables.iter().filter(|t| t.key == "inputs") {
        for n in &t.notes {
            notes_label(ui, n);
        }
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Power curve").strong());
        let sizes = match &r.solution {
            Ok(sol) => format!(
                "against {}",
                match sol.spec.vary {
                    Vary::Factor(_) => format!(
                        "the levels of {}",
                        emslab::chart::power::vary_name(&r.table.design, sol.spec.vary)
                    ),
                    Vary::Replicates => "the replicates".to_string(),
                }
            ),
            Err(_) => "against the size".to_string(),
        };
        ui.radio_value(&mut s.curve, CurveKind::Sizes, sizes);
        ui.radio_value(&mut s.curve, CurveKind::Effect, "against the effect size");
        ui.separator();
        plots::export_buttons(ui, ChartSource::Plan, commands);
    });
    plots::figure_ui(ui, &r.figure, ("plan", format!("{:?}", s.curve)));
    egui::CollapsingHeader::new("The curves as tables")
        .id_salt("plan-curve-tables")
        .show(ui, |ui| {
            for t in r
                .document
                .tables
                .iter()
                .filter(|t| matches!(t.key.as_str(), "effect_curve" | "solve" | "solve_curve"))
            {
                report_table(ui, t, DocKind::Power, "plan-curves", commands);
            }
        });
}
