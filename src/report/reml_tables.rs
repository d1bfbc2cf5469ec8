//! Tables of a REML (or ML) fit set beside the moment estimates: the one builder used by
//! the CLI (`emslab analyze`) and the app.

use serde::Serialize;

use super::reml_words::{
    COMPARISON_RULE, MODEL_NOTE, comparison_summary, component_note, fit_note, row_note,
};
use super::table::{Align, Cell, Table, fmt_sig};
use crate::reml::inference::{
    ComparisonFamily, ConfidenceInterval, DdfMethod, FixedTest, Inference, InferenceError,
    InferenceNote, LevelSet, Mean, PairwiseComparison, Size,
};
use crate::reml::{Comparison, FixedEffect, Interval, OptimLog, RemlFit};

fn num(v: f64, sig: usize) -> Cell {
    if v.is_finite() {
        Cell::num(v, sig)
    } else {
        Cell::empty_dash()
    }
}

/// The REML fit as tables, for display and export through the report writers.
///
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
    let profiled = fit.components.iter().any(|c| c.profile.is_some());
    let pct = fmt_sig(100.0 * level, 4);
    comps.headers[0][5] = Cell::text(if profiled {
        format!("{pct}% CI (Wald)")
    } else {
        format!("{pct}% CI")
    });
    if profiled {
        // The profile-likelihood intervals the fit's notes describe, beside the Wald ones.
        comps.headers[0].insert(6, Cell::text(format!("{pct}% CI (profile)")));
        comps.align.insert(6, Align::Left);
    }
    let bounds = |i: &Interval| {
        Cell::text(format!(
            "[{}, {}]",
            fmt_sig(i.lower, 5),
            fmt_sig(i.upper, 5)
        ))
    };
    for c in &fit.components {
        let row = cmp.rows.iter().find(|r| r.term == c.term);
        let mut cells = vec![
            Cell::text(&c.term),
            row.and_then(|r| r.moment)
                .map_or_else(Cell::empty_dash, |m| num(m, 7)),
            num(c.variance, 7),
            num(c.sd, 5),
            c.se.map_or_else(Cell::empty_dash, |s| num(s, 4)),
            c.interval.as_ref().map_or_else(Cell::empty_dash, bounds),
            Cell::text(row.map(|r| row_note(r.note)).unwrap_or_default()),
        ];
        if profiled {
            cells.insert(6, c.profile.as_ref().map_or_else(Cell::empty_dash, bounds));
        }
        comps.push(cells);
    }
    comps
        .notes
        .push(format!("{}.", capitalise(comparison_summary(cmp))));
    comps.notes.push(COMPARISON_RULE.to_string());
    for c in &fit.components {
        if let Some(n) = c.note {
            comps
                .notes
                .push(format!("{}: {}", c.term, component_note(n)));
        }
    }
    comps.notes.extend(fit.notes.iter().map(fit_note));

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

    let fixed = blue_table(fit);

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
    let mut tables = vec![comps, summary, fixed];
    if let Some(inf) = &fit.inference {
        tables.extend(inference_tables(inf));
    } else if let (Some(e), Some(t)) = (&fit.inference_error, tables.last_mut()) {
        t.notes.push(format!(
            "No tests, means or comparisons from the fit: {}.",
            inference_error_text(e)
        ));
    }
    tables.push(blups);
    tables.push(opt);
    tables
}

fn ddf_name(m: DdfMethod) -> &'static str {
    match m {
        DdfMethod::Satterthwaite => "Satterthwaite",
        DdfMethod::KenwardRoger => "Kenward-Roger",
    }
}

fn opt_num(v: Option<f64>, sig: usize) -> Cell {
    v.map_or_else(Cell::empty_dash, |x| num(x, sig))
}

fn ci_cell(ci: Option<&ConfidenceInterval>) -> Cell {
    ci.map_or_else(Cell::empty_dash, |i| {
        Cell::text(format!(
            "[{}, {}]",
            fmt_sig(i.lower, 6),
            fmt_sig(i.upper, 6)
        ))
    })
}

fn level_text(l: &LevelSet) -> String {
    if l.0.is_empty() {
        return "(all)".into();
    }
    l.0.iter()
        .map(|(f, v)| format!("{f}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The BLUEs, with their t tests when the fit has inference.
fn blue_table(fit: &RemlFit) -> Table {
    let tested = fit.fixed_effects.iter().any(|f| f.df.is_some());
    let mut cols = vec![
        ("Column", Align::Left),
        ("Estimate", Align::Right),
        ("SE", Align::Right),
    ];
    if tested {
        cols.extend([
            ("df", Align::Right),
            ("t", Align::Right),
            ("p", Align::Right),
            ("CI", Align::Left),
        ]);
    }
    let mut fixed = Table::new("reml_blue", "Fixed effects (BLUE)").columns(&cols);
    let level = fit.fixed_effects.iter().find_map(|f| f.ci.map(|c| c.level));
    if let Some(level) = level {
        fixed.headers[0][6] = Cell::text(format!("{}% CI", fmt_sig(100.0 * level, 4)));
    }
    for f in &fit.fixed_effects {
        let mut row = vec![
            Cell::text(&f.name),
            num(f.estimate, 7),
            num(f.se_adjusted.unwrap_or(f.se), 5),
        ];
        if tested {
            row.extend([
                opt_num(f.df, 5),
                opt_num(f.t, 5),
                opt_num(f.p, 4),
                ci_cell(f.ci.as_ref()),
            ]);
        }
        fixed.push(row);
    }
    if let Some(m) = fit.fixed_effects.iter().find_map(|f| f.ddf_method) {
        fixed.notes.push(format!(
            "t tests with {} degrees of freedom{}.",
            ddf_name(m),
            if m == DdfMethod::KenwardRoger {
                " and the adjusted standard errors (pbkrtest's vcovAdj)"
            } else {
                " (lmerTest)"
            }
        ));
    }
    fixed
}

/// Type III tests, means and pairwise comparisons from the fit.
fn inference_tables(inf: &Inference) -> Vec<Table> {
    let mut out = Vec::new();
    if !inf.fixed_tests.is_empty() {
        let mut t = Table::new(
            "reml_fixed_tests",
            "Fixed-effect tests from the REML fit (Type III)",
        )
        .columns(&[
            ("Term", Align::Left),
            ("F", Align::Right),
            ("df num", Align::Right),
            ("df den", Align::Right),
            ("p", Align::Right),
            ("df method", Align::Left),
        ]);
        for r in &inf.fixed_tests {
            t.push(vec![
                Cell::text(&r.term),
                num(r.f, 6),
                Cell::int(u64::from(r.df_num)),
                num(r.df_den, 5),
                num(r.p, 4),
                Cell::text(ddf_name(r.ddf_method)),
            ]);
        }
        t.notes.push("Type III hypotheses as lmerTest's anova(type = 3) forms them (on the treatment coding, orthogonal to the terms containing the term; a model with one fixed term uses its Type I contrast, the same hypothesis). Satterthwaite: the F of the decorrelated contrasts with lmerTest's df; Kenward-Roger: pbkrtest's scaled F.".into());
        out.push(t);
    }
    let mut means =
        Table::new("reml_means", "Estimated marginal means from the REML fit").columns(&[
            ("Term", Align::Left),
            ("Level", Align::Left),
            ("Mean", Align::Right),
            ("SE", Align::Right),
            ("df", Align::Right),
            ("CI", Align::Left),
        ]);
    let level = inf
        .means
        .iter()
        .chain(inf.grand_mean.iter())
        .find_map(|m| m.ci.map(|c| c.level));
    if let Some(level) = level {
        means.headers[0][5] = Cell::text(format!("{}% CI", fmt_sig(100.0 * level, 4)));
    }
    for m in inf.grand_mean.iter().chain(&inf.means) {
        means.push(vec![
            Cell::text(if m.term.is_empty() {
                "Grand mean"
            } else {
                &m.term
            }),
            Cell::text(level_text(&m.levels)),
            num(m.mean, 7),
            num(m.se, 5),
            num(m.df, 5),
            ci_cell(m.ci.as_ref()),
        ]);
    }
    means.notes.push(format!(
        "Means over equal weights of the levels of the other fixed factors (emmeans), with {} df.",
        ddf_name(inf.ddf_method)
    ));
    out.push(means);
    if !inf.comparisons.is_empty() {
        let mut c = Table::new(
            "reml_comparisons",
            "Pairwise differences of the means (unadjusted)",
        )
        .columns(&[
            ("Term", Align::Left),
            ("A", Align::Left),
            ("B", Align::Left),
            ("A − B", Align::Right),
            ("SE", Align::Right),
            ("df", Align::Right),
            ("t", Align::Right),
            ("p", Align::Right),
            ("CI", Align::Left),
        ]);
        for r in &inf.comparisons {
            c.push(vec![
                Cell::text(&r.term),
                Cell::text(level_text(&r.a)),
                Cell::text(level_text(&r.b)),
                num(r.difference, 6),
                num(r.se, 5),
                num(r.df, 5),
                num(r.t, 5),
                num(r.p, 4),
                ci_cell(r.ci.as_ref()),
            ]);
        }
        c.notes
            .push("p and intervals unadjusted for multiplicity.".into());
        out.push(c);
    }
    if let Some(first) = out.first_mut() {
        first
            .notes
            .extend(inf.notes.iter().map(inference_note_text));
    }
    out
}

fn size_text(s: Size) -> &'static str {
    match s {
        Size::ReferenceGrid => "the reference grid of the fixed factors",
        Size::FixedColumns => "the treatment-coded fixed-effect columns",
        Size::KenwardRoger => "the random plus fixed effects (Kenward-Roger's dense matrices)",
    }
}

/// Why inference is missing, in words.
pub(crate) fn inference_error_text(e: &InferenceError) -> String {
    match e {
        InferenceError::Cancelled => "cancelled".into(),
        InferenceError::NotFinite => {
            "the criterion or its derivatives are not finite at the optimum".into()
        }
        InferenceError::TooLarge { what, size, limit } => {
            format!("{} number {size}, more than {limit}", size_text(*what))
        }
        InferenceError::Parametrisation => {
            "the treatment coding does not span the fixed effects of the fit (a bug; please report it)".into()
        }
    }
}

/// A finding of the inference, in words.
pub(crate) fn inference_note_text(n: &InferenceNote) -> String {
    match n {
        InferenceNote::BoundaryComponents { terms } => format!(
            "Components estimated at 0 ({}) do not enter Satterthwaite's df (their derivatives vanish there, as in lmerTest); Kenward-Roger keeps them, as pbkrtest does.",
            terms.join(", ")
        ),
        InferenceNote::HessianNotPositiveDefinite { eigenvalues } => format!(
            "The Hessian of the REML deviance is not positive definite at the optimum (eigenvalues in log-parameters {}): the df use its inverse over the positive eigenvalues (lmerTest warns alike).",
            eigenvalues
                .iter()
                .map(|v| fmt_sig(*v, 3))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        InferenceNote::MissingCells { cells } => format!(
            "No data in {} cell(s) of the fixed factors ({}): the Type III hypotheses of the terms involving them depend on the coding; interpret them with care (lmerTest's warning).",
            cells.len(),
            cells.iter().map(level_text).collect::<Vec<_>>().join("; ")
        ),
        InferenceNote::NotEstimable { term, levels } => format!(
            "{term}: the means of {} are not estimable (empty cells); they and the differences involving them are left out.",
            levels.iter().map(level_text).collect::<Vec<_>>().join("; ")
        ),
        InferenceNote::TestUnavailable { term, ddf_method } => format!(
            "{term}: no {} test (its contrast has no variance).",
            ddf_name(*ddf_method)
        ),
        InferenceNote::KenwardRogerUnavailable { error } => format!(
            "Kenward-Roger not computed: {}; Satterthwaite's df are used.",
            inference_error_text(error)
        ),
    }
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A component in the `reml` section.
#[derive(Serialize)]
pub struct RemlComponentJson<'a> {
    pub term: &'a str,
    pub estimate: f64,
    pub sd: f64,
    pub boundary: bool,
    pub se: Option<f64>,
    pub interval: &'a Option<Interval>,
    pub profile_interval: &'a Option<Interval>,
    pub note: Option<&'static str>,
}

/// The `reml` section of the JSON report (interface contract): the fit's summary,
/// components, fixed effects, the comparison with the moment estimates and the optimiser
/// log. BLUPs and residuals are left out (they grow with the data); the app shows them.
#[derive(Serialize)]
pub struct RemlJson<'a> {
    pub method: &'static str,
    pub model: &'a str,
    pub model_note: &'static str,
    pub converged: bool,
    pub boundary: bool,
    pub balanced: bool,
    pub n_observations: usize,
    pub log_likelihood: f64,
    pub criterion: f64,
    pub reml_criterion: Option<f64>,
    pub aic: f64,
    pub bic: f64,
    pub components: Vec<RemlComponentJson<'a>>,
    pub fixed_effects: &'a [FixedEffect],
    pub comparison: ComparisonJson<'a>,
    pub optimizer: &'a OptimLog,
    pub notes: Vec<String>,
    /// The df method of the fixed effects' tests, the means and comparisons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddf_method: Option<DdfMethod>,
    /// The inference from the fit (also the contract's top-level keys: [`InferenceJson`]).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison_families: Option<&'a [ComparisonFamily]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inference_notes: Vec<InferenceNoteJson<'a>>,
}

/// The interface contract's top-level keys from a REML fit's inference: `fixed_tests`,
/// `grand_mean`, `means` and `comparisons` (unadjusted: an adjustment goes on top).
#[derive(Serialize)]
pub struct InferenceJson<'a> {
    pub fixed_tests: &'a [FixedTest],
    pub grand_mean: Option<&'a Mean>,
    pub means: &'a [Mean],
    pub comparisons: &'a [PairwiseComparison],
}

impl<'a> InferenceJson<'a> {
    pub fn new(inf: &'a Inference) -> InferenceJson<'a> {
        InferenceJson {
            fixed_tests: &inf.fixed_tests,
            grand_mean: inf.grand_mean.as_ref(),
            means: &inf.means,
            comparisons: &inf.comparisons,
        }
    }
}

/// A finding of the inference with its words.
#[derive(Serialize)]
pub struct InferenceNoteJson<'a> {
    #[serde(flatten)]
    pub note: &'a InferenceNote,
    pub text: String,
}

impl<'a> RemlJson<'a> {
    pub fn new(fit: &'a RemlFit, cmp: &'a Comparison) -> RemlJson<'a> {
        RemlJson {
            method: fit.method.as_str(),
            model: &fit.model,
            model_note: MODEL_NOTE,
            converged: fit.converged,
            boundary: fit.boundary,
            balanced: fit.balanced,
            n_observations: fit.n_observations,
            log_likelihood: fit.log_likelihood,
            criterion: fit.criterion,
            reml_criterion: fit.reml_criterion,
            aic: fit.aic,
            bic: fit.bic,
            components: fit
                .components
                .iter()
                .map(|c| RemlComponentJson {
                    term: &c.term,
                    estimate: c.variance,
                    sd: c.sd,
                    boundary: c.boundary,
                    se: c.se,
                    interval: &c.interval,
                    profile_interval: &c.profile,
                    note: c.note.map(component_note),
                })
                .collect(),
            fixed_effects: &fit.fixed_effects,
            comparison: ComparisonJson::new(cmp),
            optimizer: &fit.optimizer,
            notes: fit.notes.iter().map(fit_note).collect(),
            ddf_method: fit.inference.as_ref().map(|i| i.ddf_method),
            inference: fit.inference.as_ref().map(InferenceJson::new),
            comparison_families: fit.inference.as_ref().map(|i| i.families.as_slice()),
            inference_notes: fit
                .inference
                .iter()
                .flat_map(|i| &i.notes)
                .map(|n| InferenceNoteJson {
                    note: n,
                    text: inference_note_text(n),
                })
                .collect(),
        }
    }
}

/// A row of the comparison with the moment estimates, in the JSON.
#[derive(Serialize)]
pub struct ComparisonRowJson<'a> {
    pub term: &'a str,
    pub moment: Option<f64>,
    pub reml: f64,
    pub difference: Option<f64>,
    pub relative_difference: Option<f64>,
    pub note: String,
}

/// The comparison of REML with the moment estimates, with the rule stated in full.
#[derive(Serialize)]
pub struct ComparisonJson<'a> {
    pub case: crate::reml::ComparisonCase,
    pub rule: &'static str,
    pub rows: Vec<ComparisonRowJson<'a>>,
    pub consistent: bool,
    pub summary: &'static str,
}

impl<'a> ComparisonJson<'a> {
    pub fn new(c: &'a Comparison) -> ComparisonJson<'a> {
        ComparisonJson {
            case: c.case,
            rule: COMPARISON_RULE,
            rows: c
                .rows
                .iter()
                .map(|r| ComparisonRowJson {
                    term: &r.term,
                    moment: r.moment,
                    reml: r.reml,
                    difference: r.difference,
                    relative_difference: r.relative_difference,
                    note: row_note(r.note),
                })
                .collect(),
            consistent: c.consistent,
            summary: comparison_summary(c),
        }
    }
}
