//! The analysis of a data set (or of a published ANOVA table): the one entry point
//! `emslab analyze` and the app call, [`run`].
//!
//! ```text
//! Design ──ems──▶ EmsTable        Dataset / Summary
//!                    │                  │
//!                    └──────┬───────────┘
//!                           ▼
//!        balanced:  sized design ─▶ AnovaTable ─▶ MomentFit      (Route::Balanced)
//!        unbalanced: balance report                              (Route::Unbalanced)
//!                           │
//!                           ▼  (a stage of its own: the app shows the rest first)
//!                     REML (and ML) fit ─▶ RemlOutcome
//!                           │
//!                           ▼
//!        means: balanced from the precision of means (after the moments),
//!               unbalanced from the REML fit's marginal means   (Analysis::means)
//! ```
//!
//! An [`Analysis`] holds typed results only; [`crate::report::analysis_report`] turns it
//! into the tables and JSON every format is written from.

use serde::{Deserialize, Serialize};

use crate::anova::{self, AnovaError, AnovaTable};
use crate::data::summary::{self, Summary};
use crate::data::{Balance, Coding, DataError, DataNote, Dataset};
use crate::design::{Design, DesignError};
use crate::ems::{self, EmsTable, Model};
use crate::means::covariance::{self, Covariances};
use crate::means::{self, Adjustment, CellSource, Estimated, Means, Precision};
use crate::moments::{self, MomentFit, MomentOptions, NegativePolicy};
use crate::reml::{self, Comparison, RemlError, RemlFit, RemlOptions};
use crate::unbalanced::{self, SsType, UnbalancedAnova, UnbalancedError, UnbalancedOptions};

pub use cancel::Cancel;

mod cancel;

/// Which likelihood fits run beside (or, for unbalanced data, instead of) the moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// No likelihood fit (`--no-reml`).
    Off,
    /// REML.
    #[default]
    Reml,
    /// REML and ML (`--ml`).
    RemlAndMl,
}

/// What an analysis is run with: `analyze`'s options, and the app's settings (persisted as
/// they are).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub model: Model,
    /// 1 - confidence level of every interval, and the tests' reference level.
    pub alpha: f64,
    pub negative: NegativePolicy,
    pub likelihood: Likelihood,
    /// The sums of squares of unbalanced data (`--ss-type`; balanced data have one kind).
    pub ss_type: SsType,
    /// Starts of the likelihood optimiser: `None` stops at the first start whose optimum
    /// is verified (gradient, curvature, boundary); `Some(n)` runs `n` starts and keeps
    /// the best (`--reml-starts N`, the multi-start check).
    #[serde(default)]
    pub reml_starts: Option<usize>,
    /// Keep (fitted, residual) pairs of the REML fit ([`RemlFits::residuals`]), for plots.
    pub residuals: bool,
    /// The multiplicity adjustment of the pairwise comparisons (`--adjust`).
    pub adjust: Adjustment,
    /// Kenward-Roger df for the REML fit's tests and means (`--kenward-roger`); the
    /// Satterthwaite tests are given as well.
    pub kenward_roger: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            model: Model::default(),
            alpha: 0.05,
            negative: NegativePolicy::default(),
            likelihood: Likelihood::default(),
            ss_type: SsType::default(),
            reml_starts: None,
            residuals: false,
            adjust: Adjustment::default(),
            kenward_roger: false,
        }
    }
}

impl Options {
    /// The options of the moment stage.
    pub fn moments(&self) -> MomentOptions {
        MomentOptions {
            alpha: self.alpha,
            negative: self.negative,
        }
    }
}

/// What is analysed.
pub enum Input<'a> {
    /// A data file read for the design, and where its rows come from when the REML fit
    /// needs them: the dataset's own kept rows ([`Dataset::reml_input`]) or a second read
    /// (the command line streams the balanced analysis and reads the rows only for REML).
    Data {
        dataset: &'a Dataset,
        rows: Rows<'a>,
    },
    /// A published ANOVA table (`term,df,ms`): no observations, so no REML fit, and no
    /// level means; `grand_mean` (`--grand-mean`) gives the grand mean's interval.
    Summary {
        table: &'a Summary,
        grand_mean: Option<f64>,
    },
}

/// The error of an [`Input::Data`] row source whose dataset was read without its rows
/// ([`crate::data::ReadOptions::keep_rows`]).
pub fn rows_not_kept(ds: &Dataset) -> AnalysisError {
    AnalysisError::RowsNotKept {
        file: ds.source.clone(),
    }
}

/// Where the REML fit finds the rows: the dataset itself when it was read with its rows
/// ([`crate::data::ReadOptions::keep_rows`]), or a second read of the file (the command
/// line streams the balanced analysis and keeps rows only for REML).
pub enum Rows<'a> {
    Kept,
    Reread(&'a mut dyn FnMut() -> Result<Dataset, AnalysisError>),
}

/// Why there is no analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A data or summary file that does not fit the design, or unbalanced data without a
    /// likelihood fit to take them.
    #[error(transparent)]
    Data(Box<DataError>),
    #[error("the data do not fit the design: {0}")]
    Sizes(#[from] DesignError),
    #[error(transparent)]
    Anova(#[from] AnovaError),
    /// The REML fit of unbalanced data failed: there is nothing else to report.
    #[error("REML fit failed: {0}")]
    Reml(RemlError),
    #[error("the analysis was cancelled")]
    Cancelled,
    /// A row source without rows (a program error, not the user's).
    #[error("{file}: the rows were not kept for the REML fit")]
    RowsNotKept { file: String },
}

impl From<DataError> for AnalysisError {
    fn from(e: DataError) -> AnalysisError {
        AnalysisError::Data(Box::new(e))
    }
}

impl From<RemlError> for AnalysisError {
    fn from(e: RemlError) -> AnalysisError {
        match e {
            RemlError::Cancelled => AnalysisError::Cancelled,
            e => AnalysisError::Reml(e),
        }
    }
}

/// A factor as found in the data.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorSource {
    pub name: String,
    /// The column's header.
    pub column: String,
    pub levels: u32,
    pub distinct_labels: usize,
    pub coding: Coding,
    pub example_labels: Vec<String>,
}

/// Where the numbers came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Raw observations.
    Data {
        /// The file, as named.
        source: String,
        response: String,
        n_rows: u64,
        factors: Vec<FactorSource>,
        /// What the reader did that a user may want to know (words: `report::data_notes`).
        notes: Vec<DataNote>,
        /// Grand mean in the data's units (balanced data).
        grand_mean: Option<f64>,
    },
    /// A published ANOVA table.
    Summary { source: String },
}

impl Source {
    fn of_dataset(d: &Dataset, anova: Option<&AnovaTable>) -> Source {
        Source::Data {
            source: d.source.clone(),
            response: d.response.clone(),
            n_rows: d.n_rows,
            factors: d
                .factors
                .iter()
                .map(|f| FactorSource {
                    name: f.name.clone(),
                    column: f.header.clone(),
                    levels: f.levels,
                    distinct_labels: f.distinct_labels,
                    coding: f.coding,
                    example_labels: f.example_labels.clone(),
                })
                .collect(),
            notes: d.notes.clone(),
            grand_mean: anova.and_then(|a| a.grand_mean).map(|g| g + d.offset_f64()),
        }
    }

    /// The file, as named.
    pub fn file(&self) -> &str {
        match self {
            Source::Data { source, .. } | Source::Summary { source } => source,
        }
    }
}

/// The ANOVA-table route: balanced data or a published table.
#[derive(Debug, Clone, PartialEq)]
pub struct Balanced {
    /// The EMS table of the design sized by the data (level counts, replicates).
    pub table: EmsTable,
    pub anova: AnovaTable,
    pub moments: MomentFit,
    /// The unrestricted model's moment estimates as computed (term, value): what REML is
    /// compared with, whatever model the report uses.
    pub unrestricted: Vec<(String, f64)>,
    /// The precision of every mean, symbolically ([`means::precision::derive`] of `table`).
    pub precision: Precision,
    /// Each precision row estimated from the mean squares of `moments`.
    pub precision_estimates: Vec<Estimated>,
}

/// Unbalanced data: Type III (or Type I) sums of squares with their expected mean squares,
/// tests and moment estimates (unrestricted model), instead of the balanced-design EMS.
#[derive(Debug, Clone, PartialEq)]
pub struct Unbalanced {
    /// The EMS table of the design as declared (for the design table only: its EMS and
    /// tests do not hold for unbalanced data and are never reported).
    pub table: EmsTable,
    /// Which cells are short or extra.
    pub balance: Balance,
    /// The same, as the data stage words it.
    pub problem: DataError,
    /// The cell-level analysis, or why it could not be made (the REML fit remains).
    pub anova: Result<UnbalancedAnova, UnbalancedError>,
}

/// Which route the analysis took: a state per route, so that contradictory states cannot
/// be built.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Balanced(Box<Balanced>),
    Unbalanced(Box<Unbalanced>),
}

/// A likelihood fit and its comparison with the moment estimates.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub fit: RemlFit,
    pub comparison: Comparison,
}

/// The REML fit, the ML fit when asked for, and the residuals for plots.
#[derive(Debug, Clone)]
pub struct RemlFits {
    pub reml: Fitted,
    pub ml: Option<Fitted>,
    /// (fitted, residual) of the REML fit, Xβ̂ + Zû and y − Xβ̂ − Zû (with
    /// [`Options::residuals`]).
    pub residuals: Vec<[f64; 2]>,
}

/// The likelihood stage's outcome.
#[derive(Debug, Clone)]
pub enum RemlOutcome {
    /// Not asked for (`--no-reml`).
    Off,
    /// A published table has no observations to fit.
    NoObservations,
    /// Asked for and not run yet (the app runs it after showing the moments).
    Pending,
    /// The fit failed (balanced data: the moments stand on their own).
    Failed(RemlError),
    Fitted(Box<RemlFits>),
}

impl RemlOutcome {
    pub fn fits(&self) -> Option<&RemlFits> {
        match self {
            RemlOutcome::Fitted(f) => Some(f),
            _ => None,
        }
    }
}

/// One analysis of one (design, data, options).
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The design as given (before sizing by the data).
    pub design: Design,
    pub options: Options,
    pub source: Source,
    pub route: Route,
    pub reml: RemlOutcome,
    /// The means of the fixed terms with their comparisons: from the precision of means on
    /// balanced data; from the REML fit on unbalanced data (`None` until it has run, or
    /// when it gives no inference).
    pub means: Option<Means>,
    /// The covariance of two observations by the levels they share, with the moment
    /// estimates (balanced data) or the REML estimates (unbalanced data).
    pub covariances: Option<Covariances>,
}

impl Analysis {
    /// The EMS table the report shows (the sized design's on the ANOVA-table route).
    pub fn table(&self) -> &EmsTable {
        match &self.route {
            Route::Balanced(b) => &b.table,
            Route::Unbalanced(u) => &u.table,
        }
    }

    pub fn balanced(&self) -> Option<&Balanced> {
        match &self.route {
            Route::Balanced(b) => Some(b),
            Route::Unbalanced(_) => None,
        }
    }

    /// Whether the likelihood stage still has to run ([`fit_likelihood`]).
    pub fn needs_likelihood(&self) -> bool {
        matches!(self.reml, RemlOutcome::Pending)
    }
}

/// A stage of the analysis, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Moments,
    /// REML beside the moments (balanced data).
    Reml,
    /// REML instead of the moments (unbalanced data).
    RemlUnbalanced,
}

/// Runs the whole analysis: [`analyze_moments`], then [`fit_likelihood`] when asked for.
/// `stage` hears each stage as it starts; `cancel` stops it between and inside stages.
pub fn run(
    design: &Design,
    input: Input<'_>,
    opts: &Options,
    cancel: &Cancel,
    stage: &mut dyn FnMut(Stage),
) -> Result<Analysis, AnalysisError> {
    stage(Stage::Moments);
    let (mut analysis, rows, rows_source) = match input {
        Input::Data { dataset, rows } => (
            analyze_data(design, dataset, opts)?,
            Some(rows),
            Some(dataset),
        ),
        Input::Summary { table, grand_mean } => (
            analyze_summary(design, table, grand_mean, opts)?,
            None,
            None,
        ),
    };
    if let (true, Some(rows), Some(rows_source)) = (analysis.needs_likelihood(), rows, rows_source)
    {
        cancel.check()?;
        stage(match analysis.route {
            Route::Balanced(_) => Stage::Reml,
            Route::Unbalanced(_) => Stage::RemlUnbalanced,
        });
        analysis.reml = match rows {
            Rows::Kept => fit_likelihood(&analysis, rows_source, cancel)?,
            Rows::Reread(read) => fit_likelihood(&analysis, &read()?, cancel)?,
        };
        likelihood_means(&mut analysis);
    }
    // Unbalanced data with neither the cell-level analysis nor a REML fit: nothing to report.
    if let (Route::Unbalanced(u), RemlOutcome::Failed(e)) = (&analysis.route, &analysis.reml)
        && u.anova.is_err()
    {
        return Err(AnalysisError::Reml(e.clone()));
    }
    Ok(analysis)
}

/// The stage before the likelihood fit, for a data set: the ANOVA-table route for
/// balanced data, the balance report for unbalanced data. `reml` is
/// [`RemlOutcome::Pending`] when a likelihood fit was asked for.
pub fn analyze_moments(
    design: &Design,
    dataset: &Dataset,
    opts: &Options,
) -> Result<Analysis, AnalysisError> {
    analyze_data(design, dataset, opts)
}

fn pending(opts: &Options) -> RemlOutcome {
    match opts.likelihood {
        Likelihood::Off => RemlOutcome::Off,
        _ => RemlOutcome::Pending,
    }
}

fn analyze_data(design: &Design, ds: &Dataset, opts: &Options) -> Result<Analysis, AnalysisError> {
    if let Err(problem) = ds.require_balanced() {
        let uopts = UnbalancedOptions {
            ss_type: opts.ss_type,
            alpha: opts.alpha,
        };
        let anova = unbalanced::analyze(design, &ds.cells, &uopts);
        if anova.is_err() && opts.likelihood == Likelihood::Off {
            return Err(problem.into());
        }
        return Ok(Analysis {
            design: design.clone(),
            options: *opts,
            source: Source::of_dataset(ds, None),
            route: Route::Unbalanced(Box::new(Unbalanced {
                table: ems::derive(design, opts.model),
                balance: ds.balance.clone(),
                problem,
                anova,
            })),
            reml: pending(opts),
            means: None,
            covariances: None,
        });
    }
    let sized = ds.sized_design(design)?;
    let anova = anova::from_cells(&sized, &ds.cells)?;
    let b = balanced(&sized, anova, opts);
    let labels: Vec<Vec<String>> = ds.factors.iter().map(|f| f.labels.clone()).collect();
    let cells = CellSource {
        cells: &ds.cells,
        offset: ds.offset_f64(),
        labels: &labels,
    };
    let means = balanced_means(&b, opts, Some(&cells), None);
    let covariances = moment_covariances(&b);
    Ok(Analysis {
        design: design.clone(),
        options: *opts,
        source: Source::of_dataset(ds, Some(&b.anova)),
        route: Route::Balanced(Box::new(b)),
        reml: pending(opts),
        means: Some(means),
        covariances: Some(covariances),
    })
}

fn analyze_summary(
    design: &Design,
    s: &Summary,
    grand_mean: Option<f64>,
    opts: &Options,
) -> Result<Analysis, AnalysisError> {
    let rows = summary::match_summary(s, design)?;
    let anova = anova::from_summary(design, &rows);
    let b = balanced(design, anova, opts);
    let means = balanced_means(&b, opts, None, grand_mean);
    let covariances = moment_covariances(&b);
    Ok(Analysis {
        design: design.clone(),
        options: *opts,
        source: Source::Summary {
            source: s.source.clone(),
        },
        route: Route::Balanced(Box::new(b)),
        reml: match opts.likelihood {
            Likelihood::Off => RemlOutcome::Off,
            _ => RemlOutcome::NoObservations,
        },
        means: Some(means),
        covariances: Some(covariances),
    })
}

/// The means stage of the ANOVA-table route: level means from the cells (none for a
/// published table), their precision from the mean squares.
fn balanced_means(
    b: &Balanced,
    opts: &Options,
    cells: Option<&CellSource<'_>>,
    grand_mean: Option<f64>,
) -> Means {
    let input = means::balanced::BalancedInput {
        table: &b.table,
        moments: &b.moments,
        precision: &b.precision,
        estimates: &b.precision_estimates,
        adjustment: opts.adjust,
        alpha: opts.alpha,
    };
    means::balanced_means(&input, cells, grand_mean)
}

/// The covariance patterns of the report's model at its moment estimates.
fn moment_covariances(b: &Balanced) -> Covariances {
    let mut c = covariance::covariances(&b.table, b.table.model);
    c.estimates = c.evaluate(&b.table.design, |u| {
        b.moments.component(u).map(|x| x.estimate)
    });
    c
}

/// The means stage after the likelihood fit: on unbalanced data, the REML fit's marginal
/// means (with the multiplicity adjustment) and the covariance patterns of the
/// unrestricted model at the REML estimates. Balanced data keep their moment-based means.
pub fn likelihood_means(a: &mut Analysis) {
    let Route::Unbalanced(u) = &a.route else {
        return;
    };
    let Some(f) = a.reml.fits() else {
        return;
    };
    let fit = &f.reml.fit;
    a.means = fit
        .inference
        .as_ref()
        .map(|inf| means::reml_means(inf, a.options.adjust, a.options.alpha));
    let t = ems::derive(&u.table.design, Model::Unrestricted);
    let mut c = covariance::covariances(&t, Model::Unrestricted);
    c.estimates = c.evaluate(&t.design, |v| {
        fit.component(&t.terms[v].name).map(|x| x.variance)
    });
    a.covariances = Some(c);
}

/// EMS, tests and components of a sized design's ANOVA table.
fn balanced(sized: &Design, anova: AnovaTable, opts: &Options) -> Balanced {
    let table = ems::derive(sized, opts.model);
    let moments = moments::fit(&table, &anova, &opts.moments());
    let unrestricted = if opts.model == Model::Unrestricted {
        moments.computed_estimates()
    } else {
        let t = ems::derive(sized, Model::Unrestricted);
        moments::fit(&t, &anova, &opts.moments()).computed_estimates()
    };
    let precision = means::precision::derive(&table);
    let precision_estimates = means::evaluate_precision(&table, &moments, &precision);
    Balanced {
        table,
        anova,
        moments,
        unrestricted,
        precision,
        precision_estimates,
    }
}

/// The likelihood stage: the REML fit (and ML with [`Likelihood::RemlAndMl`]) of the
/// unrestricted mixed model, started from the unrestricted moment estimates, with profile
/// intervals up to 100 000 observations. A failed fit is an outcome (the moments stand
/// on their own); cancellation is an error.
pub fn fit_likelihood(
    a: &Analysis,
    rows: &Dataset,
    cancel: &Cancel,
) -> Result<RemlOutcome, AnalysisError> {
    let opts = &a.options;
    let start: &[(String, f64)] = match &a.route {
        Route::Balanced(b) => &b.unrestricted,
        Route::Unbalanced(_) => &[],
    };
    let methods: &[bool] = match opts.likelihood {
        Likelihood::Off => return Ok(RemlOutcome::Off),
        Likelihood::Reml => &[false],
        Likelihood::RemlAndMl => &[false, true],
    };
    let n = rows.n_kept_rows();
    if n == 0 {
        return Err(rows_not_kept(rows));
    }
    let labels = rows.level_labels();
    let mut fitted = Vec::new();
    let mut residuals = Vec::new();
    for &ml in methods {
        let ropts = RemlOptions {
            ml,
            level: 1.0 - opts.alpha,
            start: (!start.is_empty()).then(|| start.to_vec()),
            // Profile intervals re-optimise about ten times per end: skip them on big data.
            profile: n <= 100_000,
            residuals: opts.residuals && !ml,
            kenward_roger: opts.kenward_roger,
            level_labels: Some(labels.clone()),
            cancel: cancel.flag(),
            reml_starts: opts.reml_starts,
            ..RemlOptions::default()
        };
        let fit = match reml::fit_source(&a.design, &mut DatasetRows(rows), &ropts) {
            Ok(f) => f,
            Err(RemlError::Cancelled) => return Err(AnalysisError::Cancelled),
            Err(e) => return Ok(RemlOutcome::Failed(e)),
        };
        if !ml && fit.residuals.len() == n {
            residuals = Vec::with_capacity(n);
            let mut r = fit.residuals.iter();
            rows.visit_rows(|_, y| {
                let e = r.next().copied().unwrap_or(f64::NAN);
                residuals.push([y - e, e]);
                Ok::<(), ()>(())
            });
        }
        let comparison = reml::compare(&fit, start);
        fitted.push(Fitted { fit, comparison });
    }
    let mut it = fitted.into_iter();
    let Some(reml) = it.next() else {
        return Ok(RemlOutcome::Off);
    };
    Ok(RemlOutcome::Fitted(Box::new(RemlFits {
        reml,
        ml: it.next(),
        residuals,
    })))
}

/// The kept rows of a dataset as the REML fit visits them: streamed, in file order, as
/// often as the fit needs (nothing is copied per row).
struct DatasetRows<'a>(&'a Dataset);

impl reml::RowSource for DatasetRows<'_> {
    fn visit(&mut self, row: &mut reml::RowVisitor<'_>) -> Result<(), RemlError> {
        self.0
            .visit_rows(|codes, y| row(codes, y))
            .unwrap_or(Ok(()))
    }
}
