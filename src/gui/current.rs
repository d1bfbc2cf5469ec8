//! The analysis the results view shows, and everything drawn from it.
//!
//! A [`Current`] is one analysis of one (design, data read, options), its document, the
//! data it ran on and the plots' state and caches. It is built when the moment stage
//! finishes, takes the likelihood fit when that arrives (the job runs inside it, so a fit
//! can only land in the analysis it belongs to) and is dropped whole when the data are
//! replaced; it is out of date exactly when its [`Inputs`] differ from the app's. So the
//! results, plots and caches of an earlier analysis cannot show beside newer ones.

use std::path::PathBuf;
use std::sync::Arc;

use emslab::analysis::{
    self, Analysis, AnalysisError, Cancel, Likelihood, RemlOutcome, Route, Stage,
};
use emslab::data::{Dataset, RemlInput};
use emslab::report::{self, Document, Format};
use emslab::{Design, DesignSpec};

use super::gauge_view::GaugeState;
use super::jobs::{Job, Progress};
use super::means_view::MeansState;
use super::plots::PlotState;

/// What an analysis was run with.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub spec: DesignSpec,
    /// The data read it ran on ([`super::data::DataFile::read_id`]).
    pub read_id: u64,
    pub options: analysis::Options,
}

/// The likelihood stage of the current analysis.
pub enum Fit {
    /// Not asked for, or done (the outcome is in the analysis).
    Settled,
    Running(Job<Result<RemlOutcome, AnalysisError>>),
    Cancelled,
    /// The worker stopped without an answer.
    Lost,
}

/// One analysis and what is drawn from it.
pub struct Current {
    /// A number of its own: plot and table ids are salted with it, so no widget state of
    /// an earlier analysis (zoom, bounds, column widths) carries over.
    pub id: u64,
    pub inputs: Inputs,
    pub analysis: Analysis,
    /// Its report document, rebuilt when the likelihood fit arrives.
    pub document: Document,
    pub dataset: Arc<Dataset>,
    /// The data file read (the gauge study reads it again when its design orders the
    /// factors otherwise).
    pub path: PathBuf,
    pub fit: Fit,
    pub plots: PlotState,
    /// The Means section's term and plot.
    pub means: MeansState,
    /// The gauge study of the same data, when the design names a part and an operator.
    pub gauge: GaugeState,
    /// The rows, for the variability chart (built on first use).
    rows: std::cell::OnceCell<Option<RemlInput>>,
}

impl Current {
    fn new(id: u64, m: MomentsJob, analysis: Analysis) -> Current {
        let MomentsJob {
            inputs,
            dataset,
            path,
            ..
        } = m;
        let document = report::analysis_document(&analysis);
        let plots = PlotState::new(analysis.design.factors.len());
        Current {
            id,
            inputs,
            analysis,
            document,
            dataset,
            path,
            fit: Fit::Settled,
            plots,
            means: MeansState::default(),
            gauge: GaugeState::default(),
            rows: std::cell::OnceCell::new(),
        }
    }

    /// The design the analysis ran on.
    pub fn design(&self) -> &Design {
        &self.analysis.design
    }

    pub fn rows(&self) -> Option<&RemlInput> {
        self.rows.get_or_init(|| self.dataset.reml_input()).as_ref()
    }

    /// Whether the likelihood fit is still running.
    pub fn fitting(&self) -> bool {
        matches!(self.fit, Fit::Running(_))
    }

    /// A table (or the whole report) in a format: what `emslab analyze ... [--table KEY]`
    /// writes for the same data and options.
    pub fn render(&self, table: Option<&str>, format: Format) -> Result<String, String> {
        let json = report::AnalysisJson::new(&self.analysis);
        report::render(&self.document, &json, format, table).map_err(|e| e.to_string())
    }

    /// (fitted, residual) of the REML fit.
    pub fn residuals(&self) -> &[[f64; 2]] {
        self.analysis
            .reml
            .fits()
            .map_or(&[][..], |f| f.residuals.as_slice())
    }

    /// Takes the likelihood fit's answer, if it has come.
    fn poll_fit(&mut self) -> Option<String> {
        let Fit::Running(job) = &mut self.fit else {
            return None;
        };
        let out = job.poll()?;
        let mut error = None;
        self.fit = match out {
            Ok(Ok(outcome)) => {
                self.analysis.reml = outcome;
                // Unbalanced data: the means come from the fit.
                analysis::likelihood_means(&mut self.analysis);
                Fit::Settled
            }
            Ok(Err(AnalysisError::Cancelled)) => Fit::Cancelled,
            Ok(Err(e)) => {
                error = Some(e.to_string());
                Fit::Settled
            }
            Err(()) => Fit::Lost,
        };
        self.document = report::analysis_document(&self.analysis);
        self.plots.clear_cache();
        self.means.clear_cache();
        error
    }

    fn start_fit(&mut self, ctx: &egui::Context) -> Result<(), String> {
        let a = self.analysis.clone();
        let ds = Arc::clone(&self.dataset);
        let label = match a.route {
            Route::Balanced(_) => "REML fit",
            Route::Unbalanced(_) => "REML fit (unbalanced data)",
        };
        let job = Job::spawn(label, ctx, move |progress: &Progress| {
            let cancel = Cancel::new(progress.cancel_flag());
            analysis::fit_likelihood(&a, &ds, &cancel)
        })?;
        self.fit = Fit::Running(job);
        Ok(())
    }
}

/// The moment stage running, with what it runs on.
struct MomentsJob {
    inputs: Inputs,
    dataset: Arc<Dataset>,
    path: PathBuf,
    job: Job<Result<Analysis, AnalysisError>>,
}

/// The results side of the app: the current analysis and the one being computed.
#[derive(Default)]
pub struct AnalysisState {
    next_id: u64,
    moments: Option<MomentsJob>,
    pub current: Option<Current>,
    /// Why the last run gave no analysis.
    pub error: Option<String>,
    /// Tests: keep the likelihood stage from starting (to see the moments alone).
    #[cfg(test)]
    pub hold_likelihood: bool,
}

impl AnalysisState {
    pub fn is_busy(&self) -> bool {
        self.moments.is_some()
            || self
                .current
                .as_ref()
                .is_some_and(|c| c.fitting() || c.gauge.is_busy())
    }

    pub fn moments_job(&self) -> Option<&Job<Result<Analysis, AnalysisError>>> {
        self.moments.as_ref().map(|m| &m.job)
    }

    /// Drops the analysis and any work on one (the data it belongs to are gone).
    pub fn clear(&mut self) {
        self.cancel();
        self.current = None;
        self.error = None;
    }

    /// Stops running work; a cancelled likelihood fit leaves the moments in place.
    pub fn cancel(&mut self) -> bool {
        let mut any = false;
        if let Some(m) = self.moments.take() {
            m.job.cancel();
            any = true;
        }
        if let Some(c) = &mut self.current
            && let Fit::Running(j) = &c.fit
        {
            j.cancel();
            c.fit = Fit::Cancelled;
            any = true;
        }
        any
    }

    /// Starts an analysis: the moment stage first; the likelihood stage when that is done.
    pub fn run(
        &mut self,
        design: &Design,
        (dataset, path): (Arc<Dataset>, PathBuf),
        inputs: Inputs,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        self.clear();
        let d = design.clone();
        let ds = Arc::clone(&dataset);
        let opts = inputs.options;
        let job = Job::spawn("Analysing", ctx, move |progress| {
            progress.stage(stage_label(Stage::Moments));
            analysis::analyze_moments(&d, &ds, &opts)
        })?;
        self.moments = Some(MomentsJob {
            inputs,
            dataset,
            path,
            job,
        });
        Ok(())
    }

    /// Collects finished work.
    pub fn poll(&mut self, ctx: &egui::Context) {
        if let Some(m) = &mut self.moments
            && let Some(out) = m.job.poll()
        {
            let Some(m) = self.moments.take() else { return };
            match out {
                Ok(Ok(a)) => {
                    self.next_id += 1;
                    let mut c = Current::new(self.next_id, m, a);
                    if c.analysis.needs_likelihood()
                        && !self.holding()
                        && let Err(e) = c.start_fit(ctx)
                    {
                        self.error = Some(e);
                    }
                    self.current = Some(c);
                }
                Ok(Err(e)) => self.error = Some(error_text(e, &m.inputs.options)),
                Err(()) => {
                    self.error =
                        Some("The analysis failed unexpectedly (the worker stopped).".into())
                }
            }
        }
        if let Some(c) = &mut self.current {
            if let Some(e) = c.poll_fit() {
                self.error = Some(e);
            }
            c.gauge.poll();
        }
    }

    /// Starts the held likelihood stage (tests).
    #[cfg(test)]
    pub fn release_likelihood(&mut self, ctx: &egui::Context) {
        self.hold_likelihood = false;
        if let Some(c) = &mut self.current
            && c.analysis.needs_likelihood()
            && !c.fitting()
        {
            let _ = c.start_fit(ctx);
        }
    }

    fn holding(&self) -> bool {
        #[cfg(test)]
        {
            self.hold_likelihood
        }
        #[cfg(not(test))]
        {
            false
        }
    }
}

fn stage_label(s: Stage) -> &'static str {
    match s {
        Stage::Moments => "ANOVA and moment estimates",
        Stage::Reml => "REML fit",
        Stage::RemlUnbalanced => "REML fit (unbalanced data)",
    }
}

/// An analysis error in the app's words.
fn error_text(e: AnalysisError, opts: &analysis::Options) -> String {
    match e {
        AnalysisError::Data(e) if opts.likelihood == Likelihood::Off => {
            format!("{e} Switch on the REML fit: REML handles unbalanced data.")
        }
        AnalysisError::Cancelled => "The analysis was cancelled.".to_string(),
        AnalysisError::Sizes(e) => format!("The data do not fit the design: {e}"),
        e => e.to_string(),
    }
}
