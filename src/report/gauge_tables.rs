//! Tables and JSON of a gauge R&R study (`emslab gauge`): the ANOVA tables (with and
//! without the interaction), the variance components and the gauge evaluation in Minitab's
//! layout with modified large-sample intervals, and AIAG's verdict. The JSON `gauge` object
//! follows the interface contract ("Gauge R&R") through the `Serialize` structs below.

use serde::Serialize;

use super::table::{Align, Cell, Document, Table, fmt_sig};
use crate::gauge::{
    Acceptance, AnovaWithTests, Bounds, GaugeNote, GaugeRow, GaugeStudy, InteractionStatus, Layout,
    ShareMethod, Source, Tolerance, VarcompMethod,
};

/// What the report says about where the data came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugeInfo {
    pub title: String,
    /// The data file, as named.
    pub source: String,
    pub response: String,
}

fn pct_text(v: f64) -> String {
    format!("{v:.2}")
}

fn pct(v: f64) -> Cell {
    let mut c = Cell::text(pct_text(v));
    c.value = Some(v);
    c
}

fn num(v: f64) -> Cell {
    Cell::num(v, 6)
}

fn bounds_cell(b: Option<Bounds>, percent: bool) -> Cell {
    match b {
        None => Cell::empty_dash(),
        Some(b) if percent => Cell::text(format!("[{}, {}]", pct_text(b.lower), pct_text(b.upper))),
        Some(b) => Cell::text(format!(
            "[{}, {}]",
            fmt_sig(b.lower, 4),
            fmt_sig(b.upper, 4)
        )),
    }
}

fn p_cell(p: Option<f64>) -> Cell {
    match p {
        None => Cell::empty(),
        Some(p) => {
            let mut c = Cell::text(if p < 0.0005 {
                "0.000".to_string()
            } else {
                format!("{p:.3}")
            });
            c.value = Some(p);
            c
        }
    }
}

/// The source's name, indented as in Minitab's table.
fn source_cell(s: Source) -> Cell {
    let indent = s.depth();
    let mut c = Cell::text(format!("{}{}", "  ".repeat(indent), s.name()));
    c.latex = format!(
        "{}{}",
        "\\quad ".repeat(indent),
        super::latex_escape(s.name())
    );
    c.html = format!(
        "{}{}",
        "&emsp;".repeat(indent),
        super::html_escape(s.name())
    );
    c
}

fn level_pct(level: f64) -> String {
    fmt_sig(100.0 * level, 4)
}

/// The term of an ANOVA row in the study's words.
fn term_label(s: &GaugeStudy, term: &str) -> String {
    if term == "Residual" {
        "Repeatability".to_string()
    } else if s.layout == Layout::Nested && term != s.operator {
        format!("{} ({})", s.part, s.operator)
    } else {
        term.replace(':', " * ")
    }
}

fn anova_table(s: &GaugeStudy, a: &AnovaWithTests, key: &str, title: &str) -> Table {
    let mut t = Table::new(key, title).columns(&[
        ("Source", Align::Left),
        ("DF", Align::Right),
        ("SS", Align::Right),
        ("MS", Align::Right),
        ("F", Align::Right),
        ("P", Align::Right),
    ]);
    for (row, test) in a.anova.rows.iter().zip(&a.tests) {
        t.push(vec![
            Cell::text(term_label(s, &row.term)),
            Cell::int(row.df),
            row.ss.map_or_else(Cell::empty, num),
            num(row.ms),
            test.f.map_or_else(Cell::empty, |f| Cell::num(f, 6)),
            p_cell(test.p),
        ]);
    }
    if let Some(total) = &a.anova.total {
        t.push(vec![
            Cell::text("Total"),
            Cell::int(total.df),
            total.ss.map_or_else(Cell::empty, num),
            Cell::empty(),
            Cell::empty(),
            Cell::empty(),
        ]);
    }
    t
}

fn varcomp_table(s: &GaugeStudy) -> Table {
    let lv = level_pct(s.level);
    let ci_v = format!("{lv}% CI VarComp");
    let ci_c = format!("{lv}% CI %Contribution");
    let mut t = Table::new("gauge_varcomp", "Gage R&R: variance components").columns(&[
        ("Source", Align::Left),
        ("VarComp", Align::Right),
        ("%Contribution (of VarComp)", Align::Right),
        (&ci_v, Align::Right),
        (&ci_c, Align::Right),
    ]);
    for r in &s.rows {
        t.push(vec![
            source_cell(r.source),
            num(r.varcomp),
            pct(r.pct_contribution),
            bounds_cell(r.ci.map(|c| c.varcomp), false),
            bounds_cell(r.ci.and_then(|c| c.pct_contribution), true),
        ]);
    }
    t.notes.extend(interval_notes(s));
    t
}

/// The words for a variance-component formula.
pub fn varcomp_method_text(m: VarcompMethod) -> &'static str {
    match m {
        VarcompMethod::ChiSquare => "exact chi-square interval on the mean square",
        VarcompMethod::GraybillWang => {
            "modified large-sample (MLS) interval on a sum of mean squares (Graybill and Wang 1980)"
        }
        VarcompMethod::Ting => "MLS interval on a difference of mean squares (Ting et al. 1990)",
    }
}

/// The words for a share formula.
pub fn share_method_text(m: ShareMethod) -> &'static str {
    match m {
        ShareMethod::PartGaugeRatio => {
            "from the MLS interval on the ratio of the part-to-part to the gauge variance (Burdick and Larsen 1997)"
        }
        ShareMethod::OperatorRatio => {
            "from the same ratio interval with parts and operators exchanged (operator variance to the rest)"
        }
        ShareMethod::Inverted => {
            "by inverting the MLS interval on the component minus a multiple of the total (no closed form)"
        }
    }
}

/// The rows whose interval used each formula, in table order.
fn rows_by<M: Copy + PartialEq>(
    s: &GaugeStudy,
    method: impl Fn(&GaugeRow) -> Option<M>,
) -> Vec<(M, String)> {
    let mut groups: Vec<(M, Vec<&str>)> = Vec::new();
    for r in &s.rows {
        let Some(m) = method(r) else { continue };
        match groups.iter_mut().find(|g| g.0 == m) {
            Some(g) => g.1.push(r.source.name()),
            None => groups.push((m, vec![r.source.name()])),
        }
    }
    groups.into_iter().map(|(m, v)| (m, v.join(", "))).collect()
}

/// The table notes naming each row's interval formula.
fn interval_notes(s: &GaugeStudy) -> Vec<String> {
    let lv = level_pct(s.level);
    let varcomp = rows_by(s, |r| r.ci.map(|c| c.varcomp_method))
        .into_iter()
        .map(|(m, rows)| format!("{rows}: {}", varcomp_method_text(m)))
        .collect::<Vec<_>>()
        .join("; ");
    let share = rows_by(s, |r| r.ci.and_then(|c| c.share_method))
        .into_iter()
        .map(|(m, rows)| format!("{rows}: {}", share_method_text(m)))
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        format!(
            "{lv}% intervals on VarComp (Burdick, Borror and Montgomery 2005, ch. 3) — {varcomp}."
        ),
        format!("{lv}% intervals on %Contribution — {share}."),
    ]
}

fn evaluation_table(s: &GaugeStudy) -> Table {
    let k = fmt_sig(s.study_var, 6);
    let sv = format!("Study Var ({k} × SD)");
    let lv = level_pct(s.level);
    let ci_sv = format!("{lv}% CI %Study Var");
    let ci_tol = format!("{lv}% CI %Tolerance");
    let mut cols = vec![
        ("Source", Align::Left),
        ("StdDev (SD)", Align::Right),
        (sv.as_str(), Align::Right),
        ("%Study Var (%SV)", Align::Right),
    ];
    let tol = s.tolerance.is_some();
    if tol {
        cols.push(("%Tolerance (SV/Toler)", Align::Right));
    }
    cols.push((ci_sv.as_str(), Align::Right));
    if tol {
        cols.push((ci_tol.as_str(), Align::Right));
    }
    let mut t = Table::new("gauge_evaluation", "Gage evaluation").columns(&cols);
    for r in &s.rows {
        let mut row = vec![
            source_cell(r.source),
            num(r.sd),
            num(r.study_var),
            pct(r.pct_study_var),
        ];
        if tol {
            row.push(r.pct_tolerance.map_or_else(Cell::empty_dash, pct));
        }
        row.push(bounds_cell(r.ci.and_then(|c| c.pct_study_var), true));
        if tol {
            row.push(bounds_cell(r.ci.and_then(|c| c.pct_tolerance), true));
        }
        t.push(row);
    }
    if let Some(tol) = s.tolerance {
        t.notes
            .push(format!("Process tolerance = {}.", tolerance_text(tol)));
    }
    match (s.ndc, s.ndc_value) {
        (Some(n), Some(v)) => t.notes.push(format!(
            "Number of distinct categories = {n} (√2 × SD(Part-To-Part) / SD(Total Gage R&R) = {}, truncated{}).",
            fmt_sig(v, 4),
            if v < 1.0 { ", at least 1" } else { "" }
        )),
        _ => t
            .notes
            .push("Number of distinct categories: undefined (no gauge variation).".to_string()),
    }
    if let Some(c) = s.ndc_ci {
        t.notes.push(format!(
            "{lv}% interval on √2 × SD(Part-To-Part) / SD(Total Gage R&R): [{}, {}], {}.",
            fmt_sig(c.bounds.lower, 4),
            fmt_sig(c.bounds.upper, 4),
            share_method_text(c.method)
        ));
    }
    t.notes.push(
        "Interval bounds on %Study Var are 100 × √(share), the share being %Contribution / 100; those on SD, Study Var and %Tolerance come from the VarComp bounds.".to_string(),
    );
    t
}

fn tolerance_text(t: Tolerance) -> String {
    match t {
        Tolerance::Width(w) => fmt_sig(w, 8),
        Tolerance::Limits { lsl, usl } => format!(
            "{} (LSL {}, USL {})",
            fmt_sig(usl - lsl, 8),
            fmt_sig(lsl, 8),
            fmt_sig(usl, 8)
        ),
    }
}

/// AIAG's words for a band.
pub fn acceptance_text(a: Acceptance) -> &'static str {
    match a {
        Acceptance::Acceptable => "acceptable",
        Acceptance::Marginal => "may be acceptable, depending on the application",
        Acceptance::Unacceptable => "unacceptable: improve the measurement system",
    }
}

fn assessment_table(s: &GaugeStudy) -> Table {
    let mut t = Table::new("gauge_assessment", "AIAG acceptance").columns(&[
        ("Criterion", Align::Left),
        ("Value", Align::Right),
        ("AIAG bands", Align::Left),
        ("Verdict", Align::Left),
    ]);
    let Some(g) = s.row(Source::TotalGageRr) else {
        return t;
    };
    let a = &s.assessment;
    t.push(vec![
        Cell::text("%Study Var of Total Gage R&R"),
        pct(g.pct_study_var),
        Cell::text("< 10% acceptable; 10-30% may be acceptable; > 30% unacceptable"),
        Cell::text(acceptance_text(a.pct_study_var)),
    ]);
    if let (Some(v), Some(band)) = (g.pct_tolerance, a.pct_tolerance) {
        t.push(vec![
            Cell::text("%Tolerance of Total Gage R&R"),
            pct(v),
            Cell::text("< 10% acceptable; 10-30% may be acceptable; > 30% unacceptable"),
            Cell::text(acceptance_text(band)),
        ]);
    }
    t.push(vec![
        Cell::text("%Contribution of Total Gage R&R"),
        pct(g.pct_contribution),
        Cell::text("< 1% acceptable; 1-9% may be acceptable; > 9% unacceptable"),
        Cell::text(acceptance_text(a.pct_contribution)),
    ]);
    if let (Some(n), Some(band)) = (s.ndc, a.ndc) {
        t.push(vec![
            Cell::text("Number of distinct categories"),
            Cell::int(n),
            Cell::text(">= 5 adequate; 2-4 coarse; 1 no value for process control"),
            Cell::text(match band {
                Acceptance::Acceptable => "adequate",
                Acceptance::Marginal => "coarse: the gauge tells only a few groups of parts apart",
                Acceptance::Unacceptable => "inadequate: the gauge cannot tell parts apart",
            }),
        ]);
    }
    t.notes.push(
        "Bands from the AIAG Measurement Systems Analysis reference manual (4th ed.).".to_string(),
    );
    t
}

/// The words of a note.
pub fn note_text(s: &GaugeStudy, n: &GaugeNote) -> String {
    match n {
        GaugeNote::NegativeComponent { source, computed } => format!(
            "The {} variance component came out negative ({}) and is reported as 0.",
            source.name(),
            fmt_sig(*computed, 4)
        ),
        GaugeNote::InteractionRemoved { p, alpha } => format!(
            "The {} * {} interaction has p = {} >= {} (alpha to remove interaction term): it is pooled into repeatability and the table comes from the model without it.",
            s.part,
            s.operator,
            fmt_sig(*p, 4),
            fmt_sig(*alpha, 4)
        ),
        GaugeNote::InteractionKept { p, alpha } => format!(
            "The {} * {} interaction has p = {} < {} (alpha to remove interaction term): it stays in the model.",
            s.part,
            s.operator,
            fmt_sig(*p, 4),
            fmt_sig(*alpha, 4)
        ),
        GaugeNote::InteractionUntestable => "One measurement per part and operator: the interaction cannot be told from repeatability, so the model without it is fitted.".to_string(),
        GaugeNote::InteractionNoTest => "Repeatability is 0, so the interaction has no test; it stays in the model.".to_string(),
        GaugeNote::ForcedRandom(f) => format!(
            "The design file declares {} fixed; a gauge study takes parts and operators as random.",
            f.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(" and ")
        ),
        GaugeNote::NdcRaisedToOne { value } => format!(
            "√2 × SD(parts) / SD(gauge) = {} is below 1: the number of distinct categories is set to 1.",
            fmt_sig(*value, 4)
        ),
        GaugeNote::NdcUndefined => "The gauge variance is 0: the number of distinct categories is unbounded.".to_string(),
    }
}

/// The document of `emslab gauge`.
pub fn gauge_document(s: &GaugeStudy, info: &GaugeInfo) -> Document {
    let title = if info.title.is_empty() {
        format!("Gage R&R study of {}", info.response)
    } else {
        info.title.clone()
    };
    let layout = match s.layout {
        Layout::Crossed => "crossed",
        Layout::Nested => "nested (parts nested in operators)",
    };
    let mut preamble = vec![
        format!(
            "Gage R&R study ({layout}, ANOVA method) of `{}` in {}: {} parts (`{}`){}, {} operators (`{}`), {} replicate{} ({} observations). Parts and operators are random.",
            info.response,
            info.source,
            s.n_parts,
            s.part,
            if s.layout == Layout::Nested {
                " per operator"
            } else {
                ""
            },
            s.n_operators,
            s.operator,
            s.replicates,
            if s.replicates == 1 { "" } else { "s" },
            s.n_observations
        ),
        format!(
            "Study variation = {} × SD. emslab {}.",
            fmt_sig(s.study_var, 6),
            env!("CARGO_PKG_VERSION")
        ),
    ];
    preamble.extend(s.notes.iter().map(|n| note_text(s, n)));
    let mut tables = Vec::new();
    let first = match (s.layout, s.interaction.map(|i| i.status), &s.reduced) {
        (Layout::Nested, _, _) => "Nested ANOVA",
        (_, _, Some(_)) | (_, Some(InteractionStatus::Kept), _) => "Two-way ANOVA with interaction",
        _ => "Two-way ANOVA without interaction",
    };
    let mut full = anova_table(s, &s.full, "gauge_anova_full", first);
    if let Some(i) = s.interaction {
        full.notes.push(format!(
            "Alpha to remove interaction term = {}.",
            fmt_sig(i.alpha, 4)
        ));
    }
    tables.push(full);
    if let Some(r) = &s.reduced {
        tables.push(anova_table(
            s,
            r,
            "gauge_anova",
            "Two-way ANOVA without interaction",
        ));
    }
    tables.push(varcomp_table(s));
    tables.push(evaluation_table(s));
    tables.push(assessment_table(s));
    Document {
        title,
        preamble,
        tables,
    }
}

// ---- JSON ----

/// An interval: `{"level", "lower", "upper", "method"}`; `method` names the formula
/// ([`VarcompMethod::as_str`], [`ShareMethod::as_str`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IntervalJson {
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
    pub method: &'static str,
}

/// The intervals of one row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowCiJson {
    pub varcomp: IntervalJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_contribution: Option<IntervalJson>,
    pub sd: IntervalJson,
    pub study_var: IntervalJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_study_var: Option<IntervalJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_tolerance: Option<IntervalJson>,
}

/// One row of `gauge.rows`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GaugeRowJson {
    pub source: &'static str,
    pub varcomp: f64,
    pub pct_contribution: f64,
    pub sd: f64,
    pub study_var: f64,
    pub pct_study_var: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_tolerance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<RowCiJson>,
    /// The estimate before it was set to 0 (only when negative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computed: Option<f64>,
}

/// AIAG's bands for the Total Gage R&R row and the number of distinct categories.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssessmentJson {
    pub pct_study_var: &'static str,
    pub pct_contribution: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_tolerance: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ndc: Option<&'static str>,
}

/// The contract's `gauge` object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GaugeJson {
    pub layout: &'static str,
    pub part: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_alpha: Option<f64>,
    pub study_var_multiplier: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsl: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usl: Option<f64>,
    pub confidence_level: f64,
    pub rows: Vec<GaugeRowJson>,
    pub ndc: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ndc_ci: Option<IntervalJson>,
    pub assessment: AssessmentJson,
    pub notes: Vec<String>,
}

/// One line of an ANOVA table in the JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnovaRowJson {
    pub source: String,
    pub term: String,
    pub df: u64,
    pub ss: Option<f64>,
    pub ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
}

/// An ANOVA table of the study in the JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnovaJson {
    /// `with_interaction`, `without_interaction` or `nested`.
    pub model: &'static str,
    pub rows: Vec<AnovaRowJson>,
}

/// The whole JSON report of `emslab gauge`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GaugeReportJson {
    pub emslab_version: &'static str,
    pub title: String,
    pub data: String,
    pub response: String,
    pub n_observations: u64,
    pub anova: Vec<AnovaJson>,
    pub gauge: GaugeJson,
}

fn interval(level: f64, b: Bounds, method: &'static str) -> IntervalJson {
    IntervalJson {
        level,
        lower: b.lower,
        upper: b.upper,
        method,
    }
}

fn row_json(level: f64, r: &GaugeRow) -> GaugeRowJson {
    GaugeRowJson {
        source: r.source.name(),
        varcomp: r.varcomp,
        pct_contribution: r.pct_contribution,
        sd: r.sd,
        study_var: r.study_var,
        pct_study_var: r.pct_study_var,
        pct_tolerance: r.pct_tolerance,
        ci: r.ci.map(|c| {
            let v = c.varcomp_method.as_str();
            let share = |b: Option<Bounds>| {
                b.zip(c.share_method)
                    .map(|(b, m)| interval(level, b, m.as_str()))
            };
            RowCiJson {
                varcomp: interval(level, c.varcomp, v),
                pct_contribution: share(c.pct_contribution),
                sd: interval(level, c.sd, v),
                study_var: interval(level, c.study_var, v),
                pct_study_var: share(c.pct_study_var),
                pct_tolerance: c.pct_tolerance.map(|b| interval(level, b, v)),
            }
        }),
        computed: (r.computed < 0.0 && r.varcomp == 0.0).then_some(r.computed),
    }
}

fn anova_json(s: &GaugeStudy, a: &AnovaWithTests, model: &'static str) -> AnovaJson {
    AnovaJson {
        model,
        rows: a
            .anova
            .rows
            .iter()
            .zip(&a.tests)
            .map(|(r, t)| AnovaRowJson {
                source: term_label(s, &r.term),
                term: r.term.clone(),
                df: r.df,
                ss: r.ss,
                ms: r.ms,
                f: t.f,
                p: t.p,
            })
            .collect(),
    }
}

/// The contract's `gauge` object of a study.
pub fn gauge_json(s: &GaugeStudy) -> GaugeJson {
    let (lsl, usl) = match s.tolerance {
        Some(Tolerance::Limits { lsl, usl }) => (Some(lsl), Some(usl)),
        _ => (None, None),
    };
    let a = &s.assessment;
    GaugeJson {
        layout: s.layout.as_str(),
        part: s.part.clone(),
        operator: s.operator.clone(),
        interaction: s.interaction.map(|i| i.status.as_str()),
        interaction_p: s.interaction.and_then(|i| i.p),
        interaction_alpha: s.interaction.map(|i| i.alpha),
        study_var_multiplier: s.study_var,
        tolerance: s.tolerance.map(|t| t.width()),
        lsl,
        usl,
        confidence_level: s.level,
        rows: s.rows.iter().map(|r| row_json(s.level, r)).collect(),
        ndc: s.ndc,
        ndc_ci: s
            .ndc_ci
            .map(|n| interval(s.level, n.bounds, n.method.as_str())),
        assessment: AssessmentJson {
            pct_study_var: a.pct_study_var.as_str(),
            pct_contribution: a.pct_contribution.as_str(),
            pct_tolerance: a.pct_tolerance.map(Acceptance::as_str),
            ndc: a.ndc.map(Acceptance::as_str),
        },
        notes: s.notes.iter().map(|n| note_text(s, n)).collect(),
    }
}

/// The whole JSON report of `emslab gauge`.
pub fn gauge_report_json(s: &GaugeStudy, info: &GaugeInfo) -> GaugeReportJson {
    let first = match (s.layout, &s.reduced, s.interaction.map(|i| i.status)) {
        (Layout::Nested, _, _) => "nested",
        (_, Some(_), _) | (_, _, Some(InteractionStatus::Kept)) => "with_interaction",
        _ => "without_interaction",
    };
    let mut anova = vec![anova_json(s, &s.full, first)];
    if let Some(r) = &s.reduced {
        anova.push(anova_json(s, r, "without_interaction"));
    }
    GaugeReportJson {
        emslab_version: env!("CARGO_PKG_VERSION"),
        title: info.title.clone(),
        data: info.source.clone(),
        response: info.response.clone(),
        n_observations: s.n_observations,
        anova,
        gauge: gauge_json(s),
    }
}
