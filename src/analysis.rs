//! The analysis of a dataset, as `emslab analyze` prints it and the app shows it: one
//! function for both. Balanced data take the ANOVA-table route (sized design, ANOVA from the
//! cell means, EMS, F tests, moment estimates) with the REML cross-check beside it;
//! unbalanced data go to REML alone, with the reason the ANOVA route was not taken.

use serde_json::{Value, json};

use crate::anova::{self, AnovaTable};
use crate::data::{Dataset, RemlInput};
use crate::design::{Design, DesignError};
use crate::ems::{self, EmsTable, Model};
use crate::moments;
use crate::reml::{self, Comparison, RemlFit, RemlOptions};
use crate::report::{self, Document, EmsOptions};

/// What the analysis is run with (`analyze`'s `--model`, `--alpha`, `--negative`,
/// `--no-reml`, `--ml`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub model: Model,
    pub moments: moments::Options,
    /// Fit REML beside the moment estimates (needed for unbalanced data).
    pub reml: bool,
    /// Also fit by maximum likelihood.
    pub ml: bool,
    /// Keep (fitted, residual) pairs of the REML fit ([`Analysis::residuals`]).
    pub residuals: bool,
    /// Checked between and inside the stages: set it to stop the analysis.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// Why there is no analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// Unbalanced data with REML switched off: the text says which cells are short or extra.
    #[error("{0}")]
    UnbalancedWithoutReml(String),
    #[error("the data do not fit the design: {0}")]
    Sizes(#[from] DesignError),
    /// The REML fit of unbalanced data failed (there is nothing else to report).
    #[error("REML fit failed: {0}")]
    Reml(String),
    #[error("the analysis was cancelled")]
    Cancelled,
    #[error("internal error: {0}")]
    Internal(String),
}

/// The moment (ANOVA-table) part of an analysis of balanced data.
#[derive(Debug, Clone)]
pub struct MomentParts {
    /// The design with the data's level counts and replicates.
    pub sized: Design,
    pub anova: AnovaTable,
    pub analysis: moments::Analysis,
}

/// An analysis: the report (document and JSON, exactly what `emslab analyze` writes) and
/// the results behind it.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub document: Document,
    pub json: Value,
    /// The EMS table of the analysis (the sized design's, for balanced data).
    pub table: EmsTable,
    /// `None` for unbalanced data (see `unbalanced`).
    pub moments: Option<MomentParts>,
    /// Why the ANOVA-table route was not taken (unbalanced data).
    pub unbalanced: Option<String>,
    /// The REML fit (and the ML fit when asked for), each with its comparison.
    pub fits: Vec<(RemlFit, Comparison)>,
    /// Why the REML cross-check of balanced data failed (the report says so too).
    pub reml_error: Option<String>,
    /// (fitted, residual) of the REML fit, y − Xβ̂ − Zû against Xβ̂ + Zû (with
    /// [`Options::residuals`]).
    pub residuals: Vec<[f64; 2]>,
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

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Moments => "ANOVA and moment estimates",
            Stage::Reml => "REML fit",
            Stage::RemlUnbalanced => "REML fit (unbalanced data)",
        }
    }
}

/// Analyses `ds` (read for `design`). `rows` gives the rows for the REML fit when it is
/// needed: from the dataset when they were kept ([`Dataset::reml_input`]), or by reading
/// the file again (the command line streams the balanced analysis and reads the rows only
/// for REML). `stage` hears each stage as it starts.
pub fn analyze(
    design: &Design,
    ds: &Dataset,
    rows: &mut dyn FnMut() -> Result<RemlInput, String>,
    opts: &Options,
    stage: &mut dyn FnMut(Stage),
) -> Result<Analysis, AnalysisError> {
    let cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    };
    let Err(problem) = ds.require_balanced() else {
        stage(Stage::Moments);
        let sized = ds.sized_design(design)?;
        let anova = anova::from_cells(&sized, &ds.cells)
            .map_err(|e| AnalysisError::Internal(e.to_string()))?;
        let table = ems::derive(&sized, opts.model);
        let analysis = moments::analyze(&table, &anova, &opts.moments);
        let (mut fits, mut residuals, mut notes, mut reml_error) =
            (Vec::new(), Vec::new(), Vec::new(), None);
        if opts.reml {
            if cancelled() {
                return Err(AnalysisError::Cancelled);
            }
            stage(Stage::Reml);
            let moments = unrestricted_moments(&sized, &anova, &opts.moments);
            match fit_reml(&sized, rows, opts, &moments) {
                Ok((f, r)) => {
                    fits = f;
                    residuals = r;
                }
                Err(_) if cancelled() => return Err(AnalysisError::Cancelled),
                Err(e) => {
                    notes.push(format!("REML fit failed: {e}"));
                    reml_error = Some(e);
                }
            }
        }
        let reml_json = fits_json(&fits);
        let info = report::DataInfo::from_dataset(ds, Some(&anova));
        let r = report::AnalysisReport {
            table: &table,
            anova: &anova,
            analysis: &analysis,
            data: &info,
            reml: reml_json.as_ref(),
            reml_notes: &notes,
        };
        let mut document = report::analysis_document(&r);
        for (fit, cmp) in &fits {
            document.tables.extend(report::reml_tables(fit, cmp));
        }
        let json = report::analysis_json(&r);
        return Ok(Analysis {
            document,
            json,
            table,
            moments: Some(MomentParts {
                sized,
                anova,
                analysis,
            }),
            unbalanced: None,
            fits,
            reml_error,
            residuals,
        });
    };

    // Unbalanced: no ANOVA-table route; the REML fit handles it.
    let problem = problem.to_string();
    if !opts.reml {
        return Err(AnalysisError::UnbalancedWithoutReml(problem));
    }
    stage(Stage::RemlUnbalanced);
    let (fits, residuals) = fit_reml(design, rows, opts, &[]).map_err(|e| {
        if cancelled() {
            AnalysisError::Cancelled
        } else {
            AnalysisError::Reml(e)
        }
    })?;
    let table = ems::derive(design, opts.model);
    let mut document = report::ems_document(&table, EmsOptions { steps: false });
    document.preamble.push(format!(
        "Data: {} ({} observations). Unbalanced: {problem}",
        ds.source,
        fits.first().map_or(0, |(f, _)| f.n_observations),
    ));
    document.preamble.push(
        "The ANOVA-table (method-of-moments) route needs balanced data, so it was not taken; the REML fit below handles unbalanced data."
            .to_string(),
    );
    document
        .tables
        .retain(|t| t.key == "design" || t.key == "ems");
    for (fit, cmp) in &fits {
        document.tables.extend(report::reml_tables(fit, cmp));
    }
    let mut json = report::ems_json(&table);
    json["balanced"] = json!(false);
    json["balance_problem"] = json!(problem);
    if let Some(r) = fits_json(&fits) {
        json["reml"] = r;
    }
    Ok(Analysis {
        document,
        json,
        table,
        moments: None,
        unbalanced: Some(problem),
        fits,
        reml_error: None,
        residuals,
    })
}

/// The unrestricted-model moment estimates (what REML is compared with: the rule of
/// [`reml::compare`] holds for the unrestricted model whatever model the report uses).
pub fn unrestricted_moments(
    sized: &Design,
    anova: &AnovaTable,
    opts: &moments::Options,
) -> Vec<(String, f64)> {
    let t = ems::derive(sized, Model::Unrestricted);
    moments::analyze(&t, anova, opts)
        .components
        .iter()
        .map(|c| (c.name.clone(), c.computed))
        .collect()
}

type Fits = Vec<(RemlFit, Comparison)>;

/// The REML fit (and ML with `opts.ml`) of the unrestricted mixed model, started from the
/// unrestricted moment estimates, with profile intervals up to 100 000 observations.
fn fit_reml(
    design: &Design,
    rows: &mut dyn FnMut() -> Result<RemlInput, String>,
    opts: &Options,
    moments: &[(String, f64)],
) -> Result<(Fits, Vec<[f64; 2]>), String> {
    let input = rows()?;
    let mut fits = Vec::new();
    let mut residuals = Vec::new();
    let methods: &[bool] = if opts.ml { &[false, true] } else { &[false] };
    for &ml in methods {
        let ropts = RemlOptions {
            ml,
            level: 1.0 - opts.moments.alpha,
            start: (!moments.is_empty()).then(|| moments.to_vec()),
            // Profile intervals re-optimise about ten times per end: skip them on big data.
            profile: input.y.len() <= 100_000,
            residuals: opts.residuals && !ml,
            level_labels: Some(input.labels.clone()),
            cancel: opts.cancel.clone(),
            ..RemlOptions::default()
        };
        let fit = reml::fit(design, &input.codes, &input.y, &ropts).map_err(|e| e.to_string())?;
        if !ml && fit.residuals.len() == input.y.len() {
            residuals = input
                .y
                .iter()
                .zip(&fit.residuals)
                .map(|(y, r)| [y - r, *r])
                .collect();
        }
        let cmp = reml::compare(&fit, moments);
        fits.push((fit, cmp));
    }
    Ok((fits, residuals))
}

/// The `reml` JSON section: the REML fit, with the ML fit under `ml`.
fn fits_json(fits: &[(RemlFit, Comparison)]) -> Option<Value> {
    let mut it = fits.iter();
    let (fit, cmp) = it.next()?;
    let mut v = report::reml_json(fit, cmp);
    if let Some((ml, mcmp)) = it.next() {
        v["ml"] = report::reml_json(ml, mcmp);
    }
    Some(v)
}
