//! Tables and JSON of an analysis (`emslab analyze`): data, ANOVA with F tests, variance
//! components with intervals, the REML fit beside them. One builder for the command line
//! and the app.

use serde::Serialize;

use super::json::{ComponentJson, EmsJson, IntervalJson, TermJson, TermTestJson, TestJson};
use super::means_tables::{
    CovarianceJson, MeansJson, PrecisionSource, comparisons_table, covariances_json,
    covariances_table, means_table, precision_json, precision_table,
};
use super::reml_tables::{RemlJson, reml_tables};
use super::table::{Align, Cell, Document, Table, fmt_sig};
use super::unbalanced_tables::{unbalanced_note_text, unbalanced_tables};
use super::{EmsOptions, ems_tables, model_blurb, words};
use crate::analysis::{Analysis, Balanced, RemlOutcome, Route, Source, Unbalanced};
use crate::anova::AnovaTable;
use crate::data::Coding;
use crate::ems::{EmsTable, Model, TestKind};
use crate::means::Means;
use crate::moments::{MomentFit, NegativePolicy, TermTest};
use crate::reml::inference::FixedTest;
use crate::unbalanced::{MomentComponent, SsPart, SsRow, SsType};

fn sig(v: f64, digits: usize) -> Cell {
    if v.is_nan() {
        return Cell::empty_dash();
    }
    Cell::num(v, digits)
}

fn p_cell(p: f64) -> Cell {
    if p.is_nan() {
        return Cell::empty_dash();
    }
    Cell::num(p, 4)
}

/// How a nested factor's labels were written, in words.
pub fn coding_text(c: Coding) -> &'static str {
    match c {
        Coding::Crossed => "levels",
        Coding::Restarting => "restarting within parent",
        Coding::Unique => "unique labels",
        Coding::Mixed => "mixed",
    }
}

/// The report of an analysis: its document (every table format is written from it) and
/// its JSON.
pub struct AnalysisReport<'a> {
    pub document: Document,
    pub json: AnalysisJson<'a>,
}

/// The report of an analysis.
pub fn analysis_report(a: &Analysis) -> AnalysisReport<'_> {
    AnalysisReport {
        document: analysis_document(a),
        json: AnalysisJson::new(a),
    }
}

/// Lines about the likelihood fit when there is none to show.
fn reml_notes(a: &Analysis) -> Vec<String> {
    match &a.reml {
        RemlOutcome::NoObservations => {
            vec!["No REML fit: a table of mean squares has no observations to fit.".to_string()]
        }
        RemlOutcome::Failed(e) => vec![format!("REML fit failed: {e}")],
        RemlOutcome::Off if matches!(a.route, Route::Unbalanced(_)) => vec![
            "No REML fit (--no-reml): no fixed-effect tests from the likelihood fit (fixed_tests), and no means of unbalanced data (they come from the fit)."
                .to_string(),
        ],
        RemlOutcome::Off if a.table().terms.iter().any(|t| !t.random) => vec![
            "No REML fit (--no-reml): no fixed-effect tests from the likelihood fit (fixed_tests)."
                .to_string(),
        ],
        _ => Vec::new(),
    }
}

/// The means tables of an analysis: means (with letters), comparisons.
fn means_tables(a: &Analysis, m: &Means) -> Vec<Table> {
    let (t, p) = match &a.route {
        Route::Balanced(b) => (Some(&b.table), Some(&b.precision)),
        Route::Unbalanced(_) => (None, None),
    };
    let mut out = vec![means_table(m, t, p)];
    if m.terms.iter().any(|t| !t.comparisons.is_empty()) {
        out.push(comparisons_table(m));
    }
    out
}

/// The document of `emslab analyze`.
pub fn analysis_document(a: &Analysis) -> Document {
    let mut doc = match &a.route {
        Route::Balanced(b) => balanced_document(a, b),
        Route::Unbalanced(u) => unbalanced_document(a, u),
    };
    if let Some(f) = a.reml.fits() {
        doc.tables
            .extend(reml_tables(&f.reml.fit, &f.reml.comparison));
        if let Some(ml) = &f.ml {
            // The ML fit's tables under keys of their own (`ml_components`, ...).
            doc.tables.extend(
                reml_tables(&ml.fit, &ml.comparison)
                    .into_iter()
                    .map(|mut t| {
                        t.key = t.key.replacen("reml_", "ml_", 1);
                        t
                    }),
            );
        }
    }
    doc
}

fn title(t: &EmsTable, default: &str) -> String {
    if t.design.title.is_empty() {
        default.to_string()
    } else {
        t.design.title.clone()
    }
}

fn balanced_document(a: &Analysis, b: &Balanced) -> Document {
    let t = &b.table;
    let mut preamble = vec![format!(
        "Model: {} ({}). emslab {}.",
        t.model.as_str(),
        model_blurb(t.model),
        env!("CARGO_PKG_VERSION")
    )];
    match &a.source {
        Source::Summary { source } => {
            preamble.push(format!("Mean squares from the published table {source}."))
        }
        Source::Data {
            source,
            n_rows,
            response,
            ..
        } => preamble.push(format!(
            "Data: {source} ({n_rows} observations; response `{response}`)."
        )),
    }
    let mut tables = Vec::new();
    if let Source::Data { .. } = &a.source {
        tables.push(data_table(&a.source));
    }
    tables.extend(
        ems_tables(t, EmsOptions::default())
            .into_iter()
            .filter(|x| x.key == "design" || x.key == "ems"),
    );
    tables.push(anova_table(t, &b.anova, &b.moments));
    tables.push(components_table(t, &b.moments));
    tables.push(precision_table(
        t,
        &b.precision,
        Some(&b.precision_estimates),
    ));
    if let Some(m) = &a.means {
        tables.extend(means_tables(a, m));
    }
    if let Some(c) = &a.covariances {
        tables.push(covariances_table(t, c, Some("method-of-moments estimates")));
    }
    let notes = reml_notes(a);
    if !notes.is_empty() {
        let mut tab = Table::new("reml", "REML cross-check").columns(&[("", Align::Left)]);
        tab.notes = notes;
        tables.push(tab);
    }
    Document {
        title: title(t, "Analysis of variance"),
        preamble,
        tables,
    }
}

fn unbalanced_document(a: &Analysis, u: &Unbalanced) -> Document {
    let mut doc = super::ems_document(&u.table, EmsOptions { steps: false });
    doc.preamble = vec![format!(
        "Model: unrestricted (the sums of squares of unbalanced data, their expected mean squares and REML all use it{}). emslab {}.",
        if a.options.model == Model::Unrestricted {
            String::new()
        } else {
            format!(
                "; --model {} applies to balanced data",
                a.options.model.as_str()
            )
        },
        env!("CARGO_PKG_VERSION")
    )];
    doc.preamble.push(format!(
        "Data: {} ({} observations). Unbalanced: {}",
        a.source.file(),
        match &a.source {
            Source::Data { n_rows, .. } => *n_rows,
            Source::Summary { .. } => 0,
        },
        u.problem,
    ));
    let mut tables = vec![data_table(&a.source)];
    // The design as declared; its N does not hold for these data.
    tables.extend(
        doc.tables
            .into_iter()
            .filter(|t| t.key == "design")
            .map(|mut t| {
                t.notes.retain(|n| !n.starts_with("N = "));
                t
            }),
    );
    match &u.anova {
        Ok(x) => {
            doc.preamble.push(format!(
                "The balanced-design expected mean squares and tests do not hold for these data: in their place, Type {} sums of squares in {} cells with their expected mean squares (numeric coefficients), the tests built from them and the moment estimates, as SAS GLM (RANDOM / TEST) and MIXED (METHOD=TYPE{}) give them; the REML fit follows.",
                x.ss_type.as_str(),
                x.n_cells,
                if x.ss_type == SsType::I { "1" } else { "3" },
            ));
            tables.extend(unbalanced_tables(x));
        }
        Err(e) => doc.preamble.push(format!(
            "The balanced-design expected mean squares and tests do not hold for these data, and the sums of squares could not be computed ({e}); the REML fit below handles unbalanced data."
        )),
    }
    if let Some(m) = &a.means {
        tables.extend(means_tables(a, m));
    }
    if let Some(c) = &a.covariances {
        // The covariance patterns are the unrestricted model's, over the design's terms.
        tables.push(covariances_table(&u.table, c, Some("REML estimates")));
    }
    let notes = reml_notes(a);
    if !notes.is_empty() {
        let mut tab = Table::new("reml", "REML").columns(&[("", Align::Left)]);
        tab.notes = notes;
        tables.push(tab);
    }
    doc.tables = tables;
    doc
}

fn data_table(info: &Source) -> Table {
    let Source::Data {
        source,
        response,
        n_rows,
        factors,
        notes,
        grand_mean,
    } = info
    else {
        return Table::new("data", "Data");
    };
    let mut tab = Table::new("data", "Data").columns(&[
        ("Factor", Align::Left),
        ("Column", Align::Left),
        ("Levels", Align::Right),
        ("Labels", Align::Right),
        ("Coding", Align::Left),
        ("First labels", Align::Left),
    ]);
    for f in factors {
        tab.push(vec![
            Cell::text(&f.name),
            Cell::text(&f.column),
            Cell::int(u64::from(f.levels)),
            Cell::int(f.distinct_labels as u64),
            Cell::text(coding_text(f.coding)),
            Cell::text(f.example_labels.join(", ")),
        ]);
    }
    tab.notes.push(format!(
        "{source}: {n_rows} observations; response `{response}`{}.",
        grand_mean
            .map(|g| format!(", grand mean {}", fmt_sig(g, 8)))
            .unwrap_or_default()
    ));
    tab.notes
        .extend(notes.iter().map(super::data_notes::render));
    tab
}

fn anova_table(t: &EmsTable, anova: &AnovaTable, a: &MomentFit) -> Table {
    let sys = &a.system;
    let mut tab = Table::new("anova", "Analysis of variance").columns(&[
        ("Term", Align::Left),
        ("df", Align::Right),
        ("SS", Align::Right),
        ("MS", Align::Right),
        ("F", Align::Right),
        ("p", Align::Right),
        ("Test", Align::Left),
    ]);
    let mut notes = Vec::new();
    for (u, row) in anova.rows.iter().enumerate() {
        let test = &a.tests[u];
        let (f, p, what) = test_cells(t, test, &mut notes);
        tab.push(vec![
            Cell::text(&row.term),
            Cell::int(row.df),
            row.ss.map_or_else(Cell::empty_dash, |s| sig(s, 7)),
            sig(row.ms, 7),
            f,
            p,
            Cell::text(what),
        ]);
    }
    if let Some(total) = &anova.total {
        tab.push(vec![
            Cell::text("Total"),
            Cell::int(total.df),
            total.ss.map_or_else(Cell::empty_dash, |s| sig(s, 7)),
            Cell::empty(),
            Cell::empty(),
            Cell::empty(),
            Cell::empty(),
        ]);
    }
    for (row, into) in &anova.absorbed {
        notes.push(format!(
            "{} includes {}, which it absorbs (df {}, SS {}).",
            anova.rows[*into].term,
            row.term,
            row.df,
            row.ss.map_or("—".to_string(), |s| fmt_sig(s, 7))
        ));
    }
    if !anova.pooled.is_empty() {
        notes.push(format!(
            "Residual includes the terms left out of the model: {}.",
            anova
                .pooled
                .iter()
                .map(|p| format!(
                    "{} (df {}, SS {})",
                    p.term,
                    p.df,
                    p.ss.map_or("—".to_string(), |s| fmt_sig(s, 7))
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for p in &a.pooling {
        notes.push(format!(
            "{} pooled into {} (--negative pool): MS({}) = {} on {} df in the reduced model.",
            sys.rows[p.term].name,
            sys.rows[p.into].name,
            sys.rows[p.into].name,
            fmt_sig(p.ms, 7),
            p.df
        ));
    }
    if let Some(r2) = anova.r_squared()
        && anova.pooled.is_empty()
    {
        notes.push(format!("R² = {}.", fmt_sig(r2, 6)));
    }
    if anova.from_summary {
        notes.push("SS = df × MS from the published mean squares.".into());
    }
    notes.extend(
        a.notes
            .iter()
            .filter(|n| matches!(n, crate::moments::MomentNote::NegativeDenominator { .. }))
            .map(|n| words::moment_note(t, n)),
    );
    tab.notes = notes;
    tab
}

fn test_cells(t: &EmsTable, test: &TermTest, notes: &mut Vec<String>) -> (Cell, Cell, String) {
    let name = &t.terms[test.term].name;
    match test.kind {
        TestKind::None => (
            Cell::empty(),
            Cell::empty(),
            if test.term == t.residual() {
                String::new()
            } else {
                format!(
                    "none: {}",
                    test.reason
                        .map(|r| words::no_test(t, r))
                        .unwrap_or_default()
                )
            },
        ),
        TestKind::Exact => {
            let den = words::weights_text(t, &test.denominator);
            (
                test.f.map_or_else(Cell::empty_dash, |f| sig(f, 6)),
                test.p.map_or_else(Cell::empty_dash, p_cell),
                format!(
                    "/ {den} on ({}, {})",
                    test.df_num,
                    fmt_sig(test.df_den.unwrap_or(f64::NAN), 6)
                ),
            )
        }
        TestKind::Quasi => {
            let den = words::weights_text(t, &test.denominator);
            if let Some(f2) = &test.f2 {
                notes.push(format!(
                    "{name}: F″ = ({}) / ({}) = {} on ({}, {}) df, p = {}.",
                    words::weights_text(t, &f2.numerator),
                    words::weights_text(t, &f2.denominator),
                    fmt_sig(f2.f, 6),
                    fmt_sig(f2.df_num, 5),
                    fmt_sig(f2.df_den, 5),
                    fmt_sig(f2.p, 4)
                ));
            }
            (
                test.f.map_or_else(Cell::empty_dash, |f| sig(f, 6)),
                test.p.map_or_else(Cell::empty_dash, p_cell),
                if test.negative_denominator {
                    format!("quasi F′ / ({den}): denominator negative")
                } else {
                    format!(
                        "quasi F′ / ({den}) on ({}, {})",
                        test.df_num,
                        fmt_sig(test.df_den.unwrap_or(f64::NAN), 5)
                    )
                },
            )
        }
    }
}

fn components_table(t: &EmsTable, a: &MomentFit) -> Table {
    let level = words::level(a.alpha);
    let mut tab = Table::new("components", "Variance components (method of moments)").columns(&[
        ("Component", Align::Left),
        ("Estimate", Align::Right),
        ("SE", Align::Right),
        ("ν", Align::Right),
        ("CI", Align::Left),
        ("MLS CI", Align::Left),
        ("Share", Align::Right),
    ]);
    tab.headers[0][4] = Cell::text(format!("{level} CI (χ²)"));
    tab.headers[0][5] = Cell::text(format!("{level} CI (MLS)"));
    let mut clipped = false;
    let mut notes = Vec::new();
    for c in &a.components {
        let ci = match (&c.ci, &c.ci_missing) {
            (Some(i), _) => {
                clipped |= i.lower_clipped || i.upper_clipped;
                Cell::text(words::interval(i))
            }
            (None, Some(m)) => Cell::text(words::no_interval(t, *m)),
            _ => Cell::empty_dash(),
        };
        let mls = match &c.mls {
            Some(i) => {
                clipped |= i.lower_clipped || i.upper_clipped;
                Cell::text(words::interval(i))
            }
            None if c.pooled_into.is_none() && c.combination.len() == 1 => {
                Cell::text("(same: exact)")
            }
            None => Cell::empty_dash(),
        };
        tab.push(vec![
            Cell::text(&c.name),
            sig(c.estimate, 7),
            sig(c.se, 5),
            sig(c.satterthwaite_df, 6),
            ci,
            mls,
            c.share.map_or_else(Cell::empty_dash, |s| {
                let mut cell = Cell::text(format!("{}%", fmt_sig(100.0 * s, 3)));
                cell.value = Some(s);
                cell
            }),
        ]);
        for n in &c.notes {
            notes.push(format!("{}: {}.", c.name, words::component_note(t, c, n)));
        }
    }
    tab.notes.push(format!(
        "Estimate = the solution of the EMS equations (see the estimators of `emslab ems`); ν = Cochran-Satterthwaite df (Residual: its own df); χ² CI: ν·s²/χ²(1-α/2, ν) to ν·s²/χ²(α/2, ν), exact for the Residual; MLS: modified large-sample interval (Ting et al. 1990) for differences of mean squares; SE = sqrt(2 Σ aᵢ² MSᵢ² / (dfᵢ + 2)); α = {}.",
        fmt_sig(a.alpha, 4)
    ));
    if clipped {
        tab.notes
            .push("0* = a bound that came out negative, set to 0.".to_string());
    }
    tab.notes.extend(notes);
    tab.notes.extend(
        a.pooling.iter().map(|p| words::pool_step(t, p)).chain(
            a.notes
                .iter()
                .filter(|n| !matches!(n, crate::moments::MomentNote::NegativeDenominator { .. }))
                .map(|n| words::moment_note(t, n)),
        ),
    );
    if let Some(icc) = &a.icc {
        let sys = &a.system;
        tab.notes.push(format!(
            "Intraclass correlation σ²({}) / (σ²({}) + σ²) = {}{}.",
            sys.rows[icc.term].name,
            sys.rows[icc.term].name,
            fmt_sig(icc.estimate, 5),
            icc.interval
                .map(|i| format!(", {level} exact F interval {}", words::interval(&i)))
                .unwrap_or_default()
        ));
    }
    tab
}

/// The data block of the JSON report.
#[derive(Serialize)]
pub struct DataJson<'a> {
    pub source: &'a str,
    pub kind: &'static str,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grand_mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factors: Option<Vec<FactorJson<'a>>>,
}

#[derive(Serialize)]
pub struct FactorJson<'a> {
    pub name: &'a str,
    pub column: &'a str,
    pub levels: u32,
    pub distinct_labels: usize,
    pub coding: &'static str,
}

impl<'a> DataJson<'a> {
    fn new(s: &'a Source) -> DataJson<'a> {
        match s {
            Source::Summary { source } => DataJson {
                source,
                kind: "summary",
                notes: vec![
                    "Mean squares and df from a published ANOVA table; SS = df × MS.".to_string(),
                ],
                response: None,
                n_rows: None,
                grand_mean: None,
                factors: None,
            },
            Source::Data {
                source,
                response,
                n_rows,
                factors,
                notes,
                grand_mean,
            } => DataJson {
                source,
                kind: "data",
                notes: notes.iter().map(super::data_notes::render).collect(),
                response: Some(response),
                n_rows: Some(*n_rows),
                grand_mean: Some(*grand_mean),
                factors: Some(
                    factors
                        .iter()
                        .map(|f| FactorJson {
                            name: &f.name,
                            column: &f.column,
                            levels: f.levels,
                            distinct_labels: f.distinct_labels,
                            coding: coding_text(f.coding),
                        })
                        .collect(),
                ),
            },
        }
    }
}

#[derive(Serialize)]
pub struct AbsorbedSsJson<'a> {
    pub term: &'a str,
    pub into: &'a str,
    pub df: u64,
    pub ss: Option<f64>,
}

#[derive(Serialize)]
pub struct DfSsJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<&'a str>,
    pub df: u64,
    pub ss: Option<f64>,
}

#[derive(Serialize)]
pub struct PoolingJson<'a> {
    pub term: &'a str,
    pub into: &'a str,
    pub computed: f64,
    pub df: u64,
    pub ms: f64,
}

#[derive(Serialize)]
pub struct IccJson<'a> {
    pub term: &'a str,
    pub estimate: f64,
    pub ci: Option<IntervalJson>,
}

/// The REML section: the REML fit, with the ML fit under `ml`.
#[derive(Serialize)]
pub struct FitsJson<'a> {
    #[serde(flatten)]
    pub reml: RemlJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ml: Option<RemlJson<'a>>,
}

fn fits_json(a: &Analysis) -> Option<FitsJson<'_>> {
    let f = a.reml.fits()?;
    Some(FitsJson {
        reml: RemlJson::new(&f.reml.fit, &f.reml.comparison),
        ml: f.ml.as_ref().map(|m| RemlJson::new(&m.fit, &m.comparison)),
    })
}

/// The fields of a balanced (ANOVA-table) analysis.
#[derive(Serialize)]
pub struct MomentsJson<'a> {
    pub n_observations: Option<u64>,
    pub alpha: f64,
    pub negative_policy: &'static str,
    pub data: DataJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<DfSsJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pure_error: Option<DfSsJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_into_residual: Option<Vec<DfSsJson<'a>>>,
    /// Dropped terms whose df and SS a kept term's row holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absorbed: Option<Vec<AbsorbedSsJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r_squared: Option<f64>,
    pub pooling: Vec<PoolingJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icc: Option<IccJson<'a>>,
    pub notes: Vec<String>,
}

/// The leading fields of an unbalanced analysis: the design, and in `terms` and
/// `components` the Type III (or Type I) rows and moment estimates, never the
/// balanced-design EMS.
#[derive(Serialize)]
pub struct UnbalancedHeadJson<'a> {
    pub emslab_version: &'static str,
    /// Always `unrestricted`: the model of the unbalanced analysis and of REML.
    pub model: &'static str,
    /// The model asked for, when it was not the unrestricted one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_requested: Option<&'static str>,
    pub engine: &'static str,
    pub design: super::json::DesignJson<'a>,
    pub terms: &'a [SsRow],
    pub components: &'a [MomentComponent],
}

/// The fields of an unbalanced analysis after the leading ones.
#[derive(Serialize)]
pub struct UnbalancedJson<'a> {
    pub balance_problem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ss_type: Option<SsType>,
    pub n_observations: Option<u64>,
    pub alpha: f64,
    pub data: DataJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_cells: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pure_error: Option<SsPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lack_of_fit: Option<SsPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<SsPart>,
    /// Why the sums of squares could not be computed (the REML fit remains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ss_error: Option<String>,
    pub notes: Vec<String>,
}

/// The leading fields: the EMS report's (balanced) or the unbalanced analysis's.
#[derive(Serialize)]
#[serde(untagged)]
pub enum HeadJson<'a> {
    Ems(EmsJson<'a, ComponentsJson<'a>>),
    Unbalanced(UnbalancedHeadJson<'a>),
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum RouteJson<'a> {
    Balanced(Box<MomentsJson<'a>>),
    Unbalanced(Box<UnbalancedJson<'a>>),
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum ComponentsJson<'a> {
    Estimates(Vec<ComponentJson<'a>>),
}

/// The JSON report of `emslab analyze` (interface contract): the EMS report's fields,
/// then the data's.
#[derive(Serialize)]
pub struct AnalysisJson<'a> {
    #[serde(flatten)]
    pub head: HeadJson<'a>,
    pub balanced: bool,
    #[serde(flatten)]
    pub route: RouteJson<'a>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub means: Option<MeansJson<'a>>,
    /// Unbalanced data: the covariance patterns at the REML estimates (balanced data have
    /// them in the head, with the precision of means).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covariances: Option<Vec<CovarianceJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_tests: Option<&'a [FixedTest]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reml: Option<FitsJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reml_notes: Option<Vec<String>>,
}

/// Term `u` of a balanced analysis: its EMS, SS, MS and the test from the mean squares.
fn analysis_term<'a>(b: &'a Balanced, u: usize) -> TermJson<'a> {
    let t = &b.table;
    let m = &b.moments;
    let mut term = TermJson::ems(t, u);
    let row = &b.anova.rows[u];
    term.ss = Some(row.ss);
    term.ms = Some(row.ms);
    term.test = TermTestJson::Computed(TestJson::new(t, &m.tests[u]));
    term.pooled_into = m.system.rows[u]
        .pooled_into
        .map(|i| t.terms[i].name.as_str());
    if !m.system.rows[u].absorbed.is_empty() {
        term.pooled_df = Some(m.system.rows[u].df);
        term.pooled_ms = Some(m.system.rows[u].ms);
    }
    term
}

impl<'a> AnalysisJson<'a> {
    pub fn new(a: &'a Analysis) -> AnalysisJson<'a> {
        let notes = reml_notes(a);
        let reml = fits_json(a);
        let reml_notes = (reml.is_none() && !notes.is_empty()).then_some(notes);
        let fixed_tests = a
            .reml
            .fits()
            .and_then(|f| f.reml.fit.inference.as_ref())
            .filter(|inf| !inf.fixed_tests.is_empty())
            .map(|inf| inf.fixed_tests.as_slice());
        match &a.route {
            Route::Balanced(b) => {
                let t = &b.table;
                let src = PrecisionSource {
                    table: t,
                    precision: &b.precision,
                    estimates: &b.precision_estimates,
                    symbolic: b.moments.policy != NegativePolicy::Pool
                        || b.moments.pooling.is_empty(),
                };
                let mut head = EmsJson::with(
                    t,
                    move |u| analysis_term(b, u),
                    ComponentsJson::Estimates(components_json(b)),
                );
                head.precision = Some(precision_json(
                    t,
                    &b.precision,
                    Some(&b.precision_estimates),
                    src.symbolic,
                ));
                head.covariances = a.covariances.as_ref().map(|c| covariances_json(t, c));
                AnalysisJson {
                    head: HeadJson::Ems(head),
                    balanced: true,
                    route: RouteJson::Balanced(Box::new(moments_json(a, b))),
                    means: a.means.as_ref().map(|m| MeansJson::new(m, Some(src))),
                    covariances: None,
                    fixed_tests,
                    reml,
                    reml_notes,
                }
            }
            Route::Unbalanced(u) => AnalysisJson {
                head: HeadJson::Unbalanced(unbalanced_head(a, u)),
                balanced: false,
                route: RouteJson::Unbalanced(Box::new(unbalanced_json(a, u))),
                means: a.means.as_ref().map(|m| MeansJson::new(m, None)),
                // The unrestricted model's patterns over the design's terms.
                covariances: a
                    .covariances
                    .as_ref()
                    .map(|c| covariances_json(&u.table, c)),
                fixed_tests,
                reml,
                reml_notes,
            },
        }
    }
}

fn unbalanced_head<'a>(a: &'a Analysis, u: &'a Unbalanced) -> UnbalancedHeadJson<'a> {
    let requested = a.options.model;
    let (terms, components): (&[SsRow], &[MomentComponent]) = match &u.anova {
        Ok(x) => (&x.terms, &x.components),
        Err(_) => (&[], &[]),
    };
    UnbalancedHeadJson {
        emslab_version: env!("CARGO_PKG_VERSION"),
        model: Model::Unrestricted.as_str(),
        model_requested: (requested != Model::Unrestricted).then_some(requested.as_str()),
        engine: "emslab",
        design: super::json::DesignJson::new(&a.design),
        terms,
        components,
    }
}

fn unbalanced_json<'a>(a: &'a Analysis, u: &'a Unbalanced) -> UnbalancedJson<'a> {
    let x = u.anova.as_ref().ok();
    UnbalancedJson {
        balance_problem: u.problem.to_string(),
        ss_type: x.map(|x| x.ss_type),
        n_observations: x.map(|x| x.n_observations).or(match &a.source {
            Source::Data { n_rows, .. } => Some(*n_rows),
            Source::Summary { .. } => None,
        }),
        alpha: a.options.alpha,
        data: DataJson::new(&a.source),
        n_cells: x.map(|x| x.n_cells),
        order: x
            .filter(|x| x.ss_type == SsType::I)
            .map(|x| x.order.as_slice()),
        pure_error: x.map(|x| x.pure_error),
        lack_of_fit: x.map(|x| x.lack_of_fit),
        total: x.map(|x| x.total),
        ss_error: u.anova.as_ref().err().map(|e| e.to_string()),
        notes: x
            .map(|x| x.notes.iter().map(unbalanced_note_text).collect())
            .unwrap_or_default(),
    }
}

fn components_json(b: &Balanced) -> Vec<ComponentJson<'_>> {
    let t = &b.table;
    let m = &b.moments;
    m.components
        .iter()
        .map(|c| {
            let formula = if m.pooling.is_empty() {
                t.estimators.iter().find(|e| e.component == c.term)
            } else {
                None
            };
            ComponentJson::new(t, c, formula)
        })
        .collect()
}

fn moments_json<'a>(a: &'a Analysis, b: &'a Balanced) -> MomentsJson<'a> {
    let t = &b.table;
    let m = &b.moments;
    let anova = &b.anova;
    let df_ss = |r: &'a crate::anova::AnovaRow, named: bool| DfSsJson {
        term: named.then_some(r.term.as_str()),
        df: r.df,
        ss: r.ss,
    };
    MomentsJson {
        n_observations: anova.n_observations,
        alpha: m.alpha,
        negative_policy: m.policy.as_str(),
        data: DataJson::new(&a.source),
        total: anova.total.as_ref().map(|r| df_ss(r, false)),
        pure_error: anova.pure_error.as_ref().map(|r| df_ss(r, false)),
        pooled_into_residual: (!anova.pooled.is_empty())
            .then(|| anova.pooled.iter().map(|r| df_ss(r, true)).collect()),
        absorbed: (!anova.absorbed.is_empty()).then(|| {
            anova
                .absorbed
                .iter()
                .map(|(r, into)| AbsorbedSsJson {
                    term: &r.term,
                    into: &anova.rows[*into].term,
                    df: r.df,
                    ss: r.ss,
                })
                .collect()
        }),
        r_squared: anova.r_squared(),
        pooling: m
            .pooling
            .iter()
            .map(|p| PoolingJson {
                term: &t.terms[p.term].name,
                into: &t.terms[p.into].name,
                computed: p.computed,
                df: p.df,
                ms: p.ms,
            })
            .collect(),
        icc: m.icc.as_ref().map(|icc| IccJson {
            term: &t.terms[icc.term].name,
            estimate: icc.estimate,
            ci: icc.interval.as_ref().map(IntervalJson::from),
        }),
        notes: words::moment_notes(t, m),
    }
}
