//! Tables and JSON of the means stage: the precision of means (symbolic, and estimated
//! with data), the means of every fixed term, their pairwise comparisons with letters, and
//! the covariance of two observations. One builder for `emslab ems`, `emslab analyze` and
//! the app.

use serde::Serialize;

use super::json::Weight;
use super::table::{Align, Cell, Table, fmt_sig, html_escape};
use super::words;
use crate::ems::{EmsTable, Model};
use crate::means::precision::{self, MsForm, PrecisionNote};
use crate::means::{
    ConfidenceInterval, Covariances, Estimated, LevelSet, MeanEstimate, MeanMethod, Means,
    Precision, PrecisionRow, Quantity,
};

fn num(v: Option<f64>, digits: usize) -> Cell {
    match v {
        Some(v) if v.is_finite() => Cell::num(v, digits),
        _ => Cell::empty_dash(),
    }
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

fn math(text_latex: (String, String)) -> Cell {
    let (text, latex) = text_latex;
    let html = html_escape(&text);
    Cell::math(text, &latex, html)
}

fn term_of(t: &EmsTable, r: &PrecisionRow) -> String {
    r.term
        .map_or_else(|| "(grand mean)".to_string(), |u| t.terms[u].name.clone())
}

/// The "Precision of means" table (key `precision`): each mean's (and difference's)
/// variance in mean squares and in the components of both models; with `estimates`, the
/// value, its Satterthwaite df and the standard error.
pub fn precision_table(t: &EmsTable, p: &Precision, estimates: Option<&[Estimated]>) -> Table {
    let mut cols = vec![
        ("Term", Align::Left),
        ("Quantity", Align::Left),
        ("Variance (mean squares)", Align::Left),
        ("Restricted model", Align::Left),
        ("Unrestricted model", Align::Left),
    ];
    if estimates.is_some() {
        cols.extend([
            ("Estimate", Align::Right),
            ("df", Align::Right),
            ("SE", Align::Right),
        ]);
    }
    let mut tab = Table::new("precision", "Precision of means").columns(&cols);
    let mut notes = Vec::new();
    for (k, r) in p.rows.iter().enumerate() {
        let ms = match &r.mean_squares {
            Ok(f) => math(f.text(t)),
            Err(e) => Cell::text(words::no_ms_form(t, *e)),
        };
        let mut row = vec![
            Cell::text(term_of(t, r)),
            Cell::text(words::quantity(t, r.quantity)),
            ms,
            math(precision::components_text(t, &r.restricted)),
            math(precision::components_text(t, &r.unrestricted)),
        ];
        if let Some(e) = estimates.and_then(|e| e.get(k)) {
            row.extend([num(Some(e.value), 6), num(e.df, 5), num(e.se, 5)]);
        }
        tab.push(row);
    }
    notes.push(format!(
        "The variance of the mean of one level combination of the factors of a term (the grand mean: of all observations), and of the difference of two such means whose levels differ in the factors named. In mean squares both models give the same combination; in variance components they differ (the restricted model's mixed effects sum to zero over each fixed factor). Model of this report: {}.",
        t.model.as_str()
    ));
    if estimates.is_some() {
        notes.push("Estimate: the same combination of the observed mean squares; df: Cochran-Satterthwaite; SE = √estimate (none when the estimate is ≤ 0).".into());
    }
    notes.extend(p.notes.iter().map(|n| words::precision_note(t, n)));
    tab.notes = notes;
    tab
}

/// The means table (key `means`): the grand mean and every fixed term's level means with
/// SE, df, t interval and the compact letters.
pub fn means_table(m: &Means, t: Option<&EmsTable>, p: Option<&Precision>) -> Table {
    let level = words::level(m.alpha);
    let mut tab = Table::new("means", "Means").columns(&[
        ("Term", Align::Left),
        ("Level", Align::Left),
        ("Mean", Align::Right),
        ("SE", Align::Right),
        ("df", Align::Right),
        ("CI", Align::Left),
        ("Group", Align::Left),
    ]);
    tab.headers[0][5] = Cell::text(format!("{level} CI"));
    let mut row = |term: &str, x: &MeanEstimate, letters: &str| {
        tab.push(vec![
            Cell::text(term),
            Cell::text(words::levels(&x.levels)),
            Cell::num(x.mean, 7),
            num(x.se, 5),
            num(x.df, 5),
            ci_cell(x.ci.as_ref()),
            Cell::text(letters),
        ]);
    };
    if let Some(g) = &m.grand_mean {
        row("Grand mean", g, "");
    }
    for tm in &m.terms {
        for (k, x) in tm.means.iter().enumerate() {
            row(&tm.term, x, tm.letters.get(k).map_or("", String::as_str));
        }
    }
    tab.notes
        .push(format!("{}.", capitalise(words::mean_method(m.method))));
    if m.terms.iter().any(|t| !t.letters.is_empty()) {
        tab.notes.push(format!(
            "Group: means of a term that share a letter do not differ at α = {} ({} adjustment; compact letters as multcomp::cld).",
            fmt_sig(m.alpha, 4),
            words::adjustment(m.adjustment)
        ));
    }
    tab.notes
        .extend(m.notes.iter().map(|n| words::means_note(t, p, n)));
    tab
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The comparisons table (key `comparisons`): every pair of each fixed term's means.
pub fn comparisons_table(m: &Means) -> Table {
    let mut tab = Table::new("comparisons", "Pairwise comparisons").columns(&[
        ("Term", Align::Left),
        ("A", Align::Left),
        ("B", Align::Left),
        ("A − B", Align::Right),
        ("SE", Align::Right),
        ("df", Align::Right),
        ("t", Align::Right),
        ("p", Align::Right),
        ("p adj.", Align::Right),
        ("Simultaneous CI", Align::Left),
    ]);
    tab.headers[0][8] = Cell::text(format!("p ({})", words::adjustment(m.adjustment)));
    tab.headers[0][9] = Cell::text(format!("{} CI", words::level(m.alpha)));
    for tm in &m.terms {
        for c in &tm.comparisons {
            tab.push(vec![
                Cell::text(&tm.term),
                Cell::text(words::levels(&tm.means[c.a].levels)),
                Cell::text(words::levels(&tm.means[c.b].levels)),
                Cell::num(c.difference, 6),
                num(c.se, 5),
                num(c.df, 5),
                num(c.t, 5),
                num(c.p, 4),
                num(c.p_adjusted, 4),
                ci_cell(c.ci.as_ref()),
            ]);
        }
    }
    tab.notes.push(format!(
        "p unadjusted; the adjusted p and the simultaneous intervals by {} over each term's pairs (each pair with its own SE and df, as emmeans){}.",
        words::adjustment(m.adjustment),
        match m.adjustment {
            crate::means::Adjustment::Tukey => ": studentized range of the term's number of means",
            crate::means::Adjustment::Bonferroni => ": m p, t at α/(2m) for m pairs",
            crate::means::Adjustment::Sidak => ": 1 − (1 − p)^m",
            crate::means::Adjustment::None => "",
        }
    ));
    tab
}

/// The covariance table (key `covariances`): the covariance and correlation of two
/// observations by the levels they share.
pub fn covariances_table(t: &EmsTable, c: &Covariances, source: Option<&str>) -> Table {
    let estimated = !c.estimates.is_empty();
    let mut cols = vec![
        ("Observations", Align::Left),
        ("Shared random effects", Align::Left),
        ("Covariance", Align::Left),
    ];
    if estimated {
        cols.extend([("Estimate", Align::Right), ("Correlation", Align::Right)]);
    }
    let mut tab = Table::new("covariances", "Covariance of two observations").columns(&cols);
    for (k, r) in c.rows.iter().enumerate() {
        let who = match r.same {
            None => "one observation (variance)".to_string(),
            Some(s) if s.is_empty() => "different levels of every factor".to_string(),
            Some(s) => format!("same {}", words::factor_list(t, s)),
        };
        let shared = r
            .shared
            .iter()
            .map(|&u| t.terms[u].name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut row = vec![
            Cell::text(who),
            Cell::text(if shared.is_empty() {
                "—".into()
            } else {
                shared
            }),
            math(r.text(t)),
        ];
        if let Some(e) = c.estimates.get(k) {
            row.extend([num(e.covariance, 6), num(e.correlation, 4)]);
        }
        tab.push(row);
    }
    tab.notes.push(format!(
        "Two observations with the same levels of the factors named and different levels of the others; {} model{}.",
        c.model.as_str(),
        if c.model == Model::Restricted {
            " (a mixed effect sums to zero over each of its fixed factors, so observations at different levels of it covary negatively through it)"
        } else {
            ""
        }
    ));
    if let Some(s) = source {
        tab.notes.push(format!("Estimates from the {s}."));
    }
    if c.truncated {
        tab.notes.push(format!(
            "Only the first {} patterns are listed.",
            crate::means::covariance::MAX_COVARIANCE_ROWS
        ));
    }
    if let Some(n) = c.too_many_terms {
        tab.notes.push(format!(
            "The design has {n} rows in its EMS table, more than {}: the patterns are not listed.",
            crate::means::precision::MAX_PRECISION_TERMS
        ));
    }
    tab
}

// ---- JSON ------------------------------------------------------------------------------

/// A mean-square weight of a variance.
#[derive(Serialize)]
pub struct VarianceWeightJson<'a> {
    pub term: &'a str,
    pub weight: Option<Weight>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_symbolic: Option<String>,
}

#[derive(Serialize)]
pub struct ModelFormsJson {
    pub restricted: String,
    pub unrestricted: String,
}

/// One row of `precision` (interface contract).
#[derive(Serialize)]
pub struct PrecisionJson<'a> {
    pub over: Vec<&'a str>,
    pub term: Option<&'a str>,
    pub quantity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differ_in: Option<Vec<&'a str>>,
    pub variance: Option<Vec<VarianceWeightJson<'a>>>,
    pub variance_symbolic: Option<String>,
    pub variance_latex: Option<String>,
    pub components_symbolic: ModelFormsJson,
    pub components_latex: ModelFormsJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub se: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn names(t: &EmsTable, set: crate::design::Subscripts) -> Vec<&str> {
    set.iter()
        .filter(|&c| c < t.design.n_factors())
        .map(|c| t.design.factors[c].name.as_str())
        .collect()
}

/// The mean-square weights of a symbolic form (numbers when the design is sized).
fn symbolic_weights<'a>(t: &'a EmsTable, f: &MsForm) -> Vec<VarianceWeightJson<'a>> {
    let numeric = f.numeric(&t.design);
    f.weights
        .iter()
        .enumerate()
        .map(|(k, (v, _))| VarianceWeightJson {
            term: &t.terms[*v].name,
            weight: numeric.as_ref().map(|n| Weight(n[k].1)),
            weight_symbolic: Some(f.weight_text(t, k)),
        })
        .collect()
}

/// The weights an estimate used (those of the reduced system after pooling).
fn estimated_weights<'a>(t: &'a EmsTable, e: &Estimated) -> Vec<VarianceWeightJson<'a>> {
    e.weights
        .iter()
        .map(|&(v, w)| VarianceWeightJson {
            term: &t.terms[v].name,
            weight: Some(Weight(w)),
            weight_symbolic: None,
        })
        .collect()
}

impl<'a> PrecisionJson<'a> {
    /// Row `k`; `estimate` with data, `symbolic_weights` when the estimate's weights are
    /// the symbolic form's (no pooling).
    pub fn new(
        t: &'a EmsTable,
        r: &PrecisionRow,
        estimate: Option<&Estimated>,
        symbolic_numbers: bool,
    ) -> PrecisionJson<'a> {
        let ms = r.mean_squares.as_ref().ok();
        let text = ms.map(|f| f.text(t));
        let rs = precision::components_text(t, &r.restricted);
        let us = precision::components_text(t, &r.unrestricted);
        let variance = match (estimate, ms) {
            (Some(e), Some(f)) if symbolic_numbers && !e.weights.is_empty() => {
                let mut w = symbolic_weights(t, f);
                for (x, &(_, v)) in w.iter_mut().zip(&e.weights) {
                    x.weight = Some(Weight(v));
                }
                Some(w)
            }
            (Some(e), _) if !e.weights.is_empty() => Some(estimated_weights(t, e)),
            (None, Some(f)) => Some(symbolic_weights(t, f)),
            _ => None,
        };
        PrecisionJson {
            over: names(t, r.over),
            term: r.term.map(|u| t.terms[u].name.as_str()),
            quantity: match r.quantity {
                Quantity::Mean => "mean",
                Quantity::Difference { .. } => "difference",
            },
            differ_in: match r.quantity {
                Quantity::Mean => None,
                Quantity::Difference { differ } => Some(names(t, differ)),
            },
            variance,
            variance_symbolic: text.as_ref().map(|x| x.0.clone()),
            variance_latex: text.map(|x| x.1),
            components_symbolic: ModelFormsJson {
                restricted: rs.0,
                unrestricted: us.0,
            },
            components_latex: ModelFormsJson {
                restricted: rs.1,
                unrestricted: us.1,
            },
            estimate: estimate.map(|e| e.value.is_finite().then_some(e.value)),
            df: estimate.map(|e| e.df),
            se: estimate.map(|e| e.se),
            note: r
                .mean_squares
                .as_ref()
                .err()
                .map(|e| words::no_ms_form(t, *e)),
        }
    }
}

/// `precision` of a report: the symbolic rows (`emslab ems`) or the rows with estimates.
pub fn precision_json<'a>(
    t: &'a EmsTable,
    p: &Precision,
    estimates: Option<&[Estimated]>,
    symbolic_numbers: bool,
) -> Vec<PrecisionJson<'a>> {
    p.rows
        .iter()
        .enumerate()
        .map(|(k, r)| PrecisionJson::new(t, r, estimates.and_then(|e| e.get(k)), symbolic_numbers))
        .collect()
}

/// A mean (`means[*]`, `grand_mean`).
#[derive(Serialize)]
pub struct MeanJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<&'a LevelSet>,
    pub mean: f64,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub ci: Option<&'a ConfidenceInterval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance: Option<Vec<VarianceWeightJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance_symbolic: Option<String>,
    pub method: MeanMethod,
}

/// The tables a balanced analysis' means refer to.
#[derive(Clone, Copy)]
pub struct PrecisionSource<'a> {
    pub table: &'a EmsTable,
    pub precision: &'a Precision,
    pub estimates: &'a [Estimated],
    /// The estimates' weights are the symbolic form's (no pooling).
    pub symbolic: bool,
}

impl<'a> MeanJson<'a> {
    pub fn new(
        m: &'a MeanEstimate,
        method: MeanMethod,
        src: Option<PrecisionSource<'a>>,
    ) -> MeanJson<'a> {
        let row = src.zip(m.precision);
        MeanJson {
            term: (!m.term.is_empty()).then_some(m.term.as_str()),
            levels: (!m.term.is_empty()).then_some(&m.levels),
            mean: m.mean,
            se: m.se,
            df: m.df,
            ci: m.ci.as_ref(),
            variance: row.and_then(|(s, r)| {
                let e = s.estimates.get(r)?;
                (!e.weights.is_empty()).then(|| estimated_weights(s.table, e))
            }),
            variance_symbolic: row.and_then(|(s, r)| {
                if !s.symbolic {
                    return None;
                }
                let f = s.precision.rows.get(r)?.mean_squares.as_ref().ok()?;
                Some(f.text(s.table).0)
            }),
            method,
        }
    }
}

/// A comparison (`comparisons[*]`).
#[derive(Serialize)]
pub struct ComparisonJson<'a> {
    pub term: &'a str,
    pub a: &'a LevelSet,
    pub b: &'a LevelSet,
    pub difference: f64,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub t: Option<f64>,
    pub p: Option<f64>,
    pub adjustment: &'static str,
    pub p_adjusted: Option<f64>,
    pub ci: Option<&'a ConfidenceInterval>,
    pub synthetic: bool,
}

/// The letters of one mean (`letters[*]`).
#[derive(Serialize)]
pub struct LettersJson<'a> {
    pub term: &'a str,
    pub levels: &'a LevelSet,
    pub letters: &'a str,
}

/// The means stage's keys of the analysis report (interface contract).
#[derive(Serialize)]
pub struct MeansJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grand_mean: Option<MeanJson<'a>>,
    pub means: Vec<MeanJson<'a>>,
    pub comparisons: Vec<ComparisonJson<'a>>,
    pub letters: Vec<LettersJson<'a>>,
    pub means_method: MeanMethod,
    pub adjustment: &'static str,
    pub means_notes: Vec<String>,
}

impl<'a> MeansJson<'a> {
    pub fn new(m: &'a Means, src: Option<PrecisionSource<'a>>) -> MeansJson<'a> {
        let adjustment = m.adjustment.as_str();
        MeansJson {
            grand_mean: m
                .grand_mean
                .as_ref()
                .map(|g| MeanJson::new(g, m.method, src)),
            means: m
                .terms
                .iter()
                .flat_map(|t| t.means.iter().map(move |x| MeanJson::new(x, m.method, src)))
                .collect(),
            comparisons: m
                .terms
                .iter()
                .flat_map(|t| {
                    t.comparisons.iter().map(move |c| ComparisonJson {
                        term: &t.term,
                        a: &t.means[c.a].levels,
                        b: &t.means[c.b].levels,
                        difference: c.difference,
                        se: c.se,
                        df: c.df,
                        t: c.t,
                        p: c.p,
                        adjustment,
                        p_adjusted: c.p_adjusted,
                        ci: c.ci.as_ref(),
                        synthetic: c.synthetic,
                    })
                })
                .collect(),
            letters: m
                .terms
                .iter()
                .flat_map(|t| {
                    t.letters
                        .iter()
                        .zip(&t.means)
                        .map(move |(l, x)| LettersJson {
                            term: &t.term,
                            levels: &x.levels,
                            letters: l,
                        })
                })
                .collect(),
            means_method: m.method,
            adjustment,
            means_notes: m
                .notes
                .iter()
                .map(|n| words::means_note(src.map(|s| s.table), src.map(|s| s.precision), n))
                .collect(),
        }
    }
}

/// One row of `covariances` (interface contract).
#[derive(Serialize)]
pub struct CovarianceJson<'a> {
    pub shared: Vec<&'a str>,
    pub same_levels: Option<Vec<&'a str>>,
    pub covariance: Vec<VarianceWeightJson<'a>>,
    pub covariance_symbolic: String,
    pub covariance_latex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Option<f64>>,
}

/// `covariances` of a report.
pub fn covariances_json<'a>(t: &'a EmsTable, c: &Covariances) -> Vec<CovarianceJson<'a>> {
    c.rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let (text, latex) = r.text(t);
            let e = c.estimates.get(k);
            CovarianceJson {
                shared: r.shared.iter().map(|&u| t.terms[u].name.as_str()).collect(),
                same_levels: r.same.map(|s| names(t, s)),
                covariance: r
                    .covariance
                    .iter()
                    .map(|(u, f)| VarianceWeightJson {
                        term: &t.terms[*u].name,
                        weight: f.eval(&t.design).map(Weight),
                        weight_symbolic: None,
                    })
                    .collect(),
                covariance_symbolic: text,
                covariance_latex: latex,
                estimate: e.map(|e| e.covariance),
                correlation: e.map(|e| e.correlation),
            }
        })
        .collect()
}

/// The precision notes' words (for the app).
pub fn precision_notes(t: &EmsTable, p: &Precision) -> Vec<String> {
    p.notes
        .iter()
        .map(|n: &PrecisionNote| words::precision_note(t, n))
        .collect()
}
