//! Tables of a REML (or ML) fit set beside the moment estimates: the one builder used by
//! the CLI (`emslab analyze`) and the app.

use serde::Serialize;

use super::table::{Align, Cell, Table, fmt_sig};
use super::words;
use crate::reml::inference::{DdfMethod, Inference};
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
            Cell::text(row.map(|r| r.note.clone()).unwrap_or_default()),
        ];
        if profiled {
            cells.insert(6, c.profile.as_ref().map_or_else(Cell::empty_dash, bounds));
        }
        comps.push(cells);
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

    let mut fixed = blue_table(fit);
    if let Some(e) = &fit.inference_error {
        fixed.notes.push(format!(
            "No tests, means or comparisons from the fit: {}.",
            words::inference_error(e)
        ));
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
    let mut tables = vec![comps, summary, fixed];
    if let Some(t) = fit.inference.as_ref().and_then(fixed_tests_table) {
        tables.push(t);
    }
    tables.extend([blups, opt]);
    tables
}

fn opt_num(v: Option<f64>, sig: usize) -> Cell {
    v.map_or_else(Cell::empty_dash, |x| num(x, sig))
}

/// The BLUEs, with their t tests (df by the fit's method) when the fit has inference.
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
    if let Some(level) = fit.fixed_effects.iter().find_map(|f| f.ci.map(|c| c.level)) {
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
                f.ci.map_or_else(Cell::empty_dash, |i| {
                    Cell::text(format!(
                        "[{}, {}]",
                        fmt_sig(i.lower, 6),
                        fmt_sig(i.upper, 6)
                    ))
                }),
            ]);
        }
        fixed.push(row);
    }
    if let Some(m) = fit.fixed_effects.iter().find_map(|f| f.ddf_method) {
        fixed.notes.push(format!(
            "t tests with {} df{}.",
            words::ddf_method(m),
            if m == DdfMethod::KenwardRoger {
                " and Kenward-Roger's adjusted standard errors (pbkrtest's vcovAdj)"
            } else {
                " (lmerTest)"
            }
        ));
    }
    fixed
}

/// The Type III tests of the fixed terms from the fit (key `reml_fixed_tests`).
fn fixed_tests_table(inf: &Inference) -> Option<Table> {
    if inf.fixed_tests.is_empty() {
        return None;
    }
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
            num(r.df_num, 4),
            num(r.df_den, 5),
            num(r.p, 4),
            Cell::text(words::ddf_method(r.ddf_method)),
        ]);
    }
    t.notes.push("Type III hypotheses as lmerTest's anova(type = 3) forms them. Satterthwaite: the F of the decorrelated contrasts with lmerTest's df; Kenward-Roger: pbkrtest's scaled F.".into());
    t.notes.extend(inf.notes.iter().map(words::inference_note));
    Some(t)
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
    pub note: &'a Option<String>,
}

/// The `reml` section of the JSON report (interface contract): the fit's summary,
/// components, fixed effects, the comparison with the moment estimates and the optimiser
/// log. BLUPs and residuals are left out (they grow with the data); the app shows them.
#[derive(Serialize)]
pub struct RemlJson<'a> {
    pub method: &'static str,
    pub model: &'a str,
    pub model_note: &'a str,
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
    pub comparison: &'a Comparison,
    pub optimizer: &'a OptimLog,
    pub notes: &'a [String],
}

impl<'a> RemlJson<'a> {
    pub fn new(fit: &'a RemlFit, cmp: &'a Comparison) -> RemlJson<'a> {
        RemlJson {
            method: fit.method.as_str(),
            model: &fit.model,
            model_note: &fit.model_note,
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
                    note: &c.note,
                })
                .collect(),
            fixed_effects: &fit.fixed_effects,
            comparison: cmp,
            optimizer: &fit.optimizer,
            notes: &fit.notes,
        }
    }
}
