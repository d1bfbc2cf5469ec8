//! REML (and ML) fit of the mixed model of a design: the likelihood cross-check of the moment
//! estimates.
//!
//! The model is y = X b + sum_k Z_k u_k + e, u_k ~ N(0, s_k^2 I), e ~ N(0, s^2 I): X has
//! the intercept and every fixed term of the design (full-rank parametrisation), one Z_k per
//! random term (indicators of the level combinations of all its factors). This is the
//! **unrestricted** model, the one lme4, SAS PROC MIXED and MixedModels.jl fit; the restricted
//! model (Montgomery's textbook default) has no likelihood counterpart in those tools.
//!
//! The pipeline mirrors lme4's public stages:
//!
//! | stage | here | lme4 / MixedModels.jl |
//! |---|---|---|
//! | X and the levels of each Z_k; Z'Z, Z'X, X'X, Z'y, X'y, y'y in one pass | `frame` | `lFormula`, `remat.jl` |
//! | blocked sparse/dense Cholesky of [Z X y]'[Z X y] with Λ(θ) | `blocks` | `updateL!` |
//! | the profiled criterion θ -> -2 log L | [`Criterion`] | `mkLmerDevfun` |
//! | bounded minimisation with a log | `optim` | `optimizeLmer`, `OptSummary` |
//! | estimates, BLUEs, BLUPs, intervals | `results` | `mkMerMod` |
//!
//! ```
//! use emslab::Design;
//! use emslab::reml::{fit, RemlOptions};
//! let design = Design::from_toml_str(r#"
//!     [[factors]]
//!     name = "batch"
//!     kind = "random"
//! "#).unwrap();
//! // Two batches, three observations each.
//! let codes = vec![vec![0, 0, 0, 1, 1, 1]];
//! let y = [10.0, 11.0, 12.0, 20.0, 21.0, 23.0];
//! let f = fit(&design, &codes, &y, &RemlOptions::default()).unwrap();
//! // Balanced one-way: REML = moment estimates, (MS_batch - MS_error)/3 and MS_error.
//! let ms_e = (2.0 + 14.0 / 3.0) / 4.0;
//! let ms_b = 3.0 * ((11.0 - 97.0 / 6.0f64).powi(2) + (64.0 / 3.0 - 97.0 / 6.0f64).powi(2));
//! assert!((f.sigma2 - ms_e).abs() < 1e-8 * ms_e);
//! assert!((f.component("batch").unwrap().variance - (ms_b - ms_e) / 3.0).abs() < 1e-6);
//! ```

mod blocks;
pub(crate) mod frame;
mod optim;
mod profile;
mod results;
pub mod tolerances;

use serde::Serialize;

use crate::design::Design;
use blocks::Blocked;
use frame::Frame;

pub use optim::{OptimLog, StartRecord};
pub use results::{
    Blup, COMPARISON_RULE, Comparison, ComparisonCase, ComparisonRow, Component, FixedEffect,
    Interval, RandomEffects, RemlFit, compare,
};

/// Which likelihood is maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// Restricted (residual) maximum likelihood.
    #[serde(rename = "REML")]
    Reml,
    /// Maximum likelihood.
    #[serde(rename = "ML")]
    Ml,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Reml => "REML",
            Method::Ml => "ML",
        }
    }
}

/// Options of [`fit`].
#[derive(Debug, Clone)]
pub struct RemlOptions {
    /// Maximise the ML likelihood instead of REML (call [`fit`] twice for both).
    pub ml: bool,
    /// Moment estimates by term name (`Residual` for the error) for the first start; negative
    /// values are clipped at 0.
    pub start: Option<Vec<(String, f64)>>,
    /// Number of starts (the moment start, a per-term variance decomposition, theta = 1 as
    /// lme4 starts, then 0.3 and 3); at least 1.
    pub starts: usize,
    /// Level of the Wald intervals.
    pub level: f64,
    /// Labels of each factor's codes (`level_labels[f][code]`) for naming fixed-effect
    /// columns and BLUPs; codes are printed when absent.
    pub level_labels: Option<Vec<Vec<String>>>,
    /// Compute BLUPs with prediction-error variances (the selected inverse).
    pub blups: bool,
    /// Keep the conditional residuals (n values) in the fit.
    pub residuals: bool,
    /// Standard errors and intervals of the components (observed information).
    pub information: bool,
    /// Profile-likelihood intervals of the components (each end re-optimises the other
    /// parameters about 10 times: the costliest extra; off for big data if time matters).
    pub profile: bool,
}

impl Default for RemlOptions {
    fn default() -> Self {
        RemlOptions {
            ml: false,
            start: None,
            starts: 3,
            level: 0.95,
            level_labels: None,
            blups: true,
            residuals: true,
            information: true,
            profile: true,
        }
    }
}

/// Why a fit could not be made. Messages name the culprit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemlError {
    #[error("the design has {expected} factors but codes were given for {found}")]
    FactorCount { expected: usize, found: usize },
    #[error("factor `{factor}` has {found} codes but the response has {expected} values")]
    LengthMismatch {
        factor: String,
        expected: usize,
        found: usize,
    },
    #[error("no observations")]
    NoObservations,
    #[error("the response is not a finite number at observation {index} (0-based)")]
    NonFiniteResponse { index: usize },
    #[error(
        "{n} observations are too few for {p} fixed-effect parameters: REML needs more observations than fixed effects"
    )]
    TooFewObservations { n: usize, p: usize },
    #[error("the fixed-effects matrix is rank deficient at column `{column}` (numerically)")]
    RankDeficientX { column: String },
    #[error(
        "the fixed effects fit the response exactly (residual sum of squares 0): no variance to decompose"
    )]
    ExactFit,
    #[error("problem too large: {0}")]
    TooLarge(String),
    #[error("the level of the intervals must be in (0, 1), not {0}")]
    BadLevel(f64),
}

/// The profiled criterion of a model: -2 log L (REML or ML) as a function of theta, with sigma^2
/// profiled out (lme4's `devfun`). Exposed so that tests can evaluate it at chosen theta (lme4's
/// `devFunOnly = TRUE`).
pub struct Criterion {
    a: Blocked,
    l: Blocked,
    n: usize,
    p: usize,
    method: Method,
    /// Random terms in the order theta is given (decreasing number of levels).
    pub terms: Vec<String>,
    /// Position of each theta entry in `design.terms`.
    pub design_index: Vec<usize>,
}

/// Pieces of the criterion at one theta.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pieces {
    pub logdet_z: f64,
    pub logdet_x: f64,
    pub pwrss: f64,
}

impl Criterion {
    /// Builds the criterion from a design and data (validates the data as [`fit`] does).
    pub fn new(
        design: &Design,
        codes: &[Vec<u32>],
        y: &[f64],
        method: Method,
    ) -> Result<Criterion, RemlError> {
        let frame = Frame::build(design, codes, y, None)?;
        Criterion::from_frame(&frame, y, method)
    }

    fn from_frame(frame: &Frame, y: &[f64], method: Method) -> Result<Criterion, RemlError> {
        let p = frame.fixed.p;
        if frame.n <= p {
            return Err(RemlError::TooFewObservations { n: frame.n, p });
        }
        let names: Vec<String> = frame.random.iter().map(|r| r.name.clone()).collect();
        // [X y]'Z_k is dense: refuse before allocating it.
        for r in &frame.random {
            if (p + 1).saturating_mul(r.n_levels) > tolerances::MAX_DENSE_ENTRIES {
                return Err(RemlError::TooLarge(format!(
                    "{p} fixed-effect columns against the {} levels of `{}`",
                    r.n_levels, r.name
                )));
            }
        }
        let cp = frame.cross_products(y);
        let a = Blocked::from_cross_products(cp, &names)?;
        let l = a.clone();
        let mut c = Criterion {
            a,
            l,
            n: frame.n,
            p,
            method,
            design_index: frame.random.iter().map(|r| r.design_index).collect(),
            terms: names,
        };
        // At theta = 0 the tail block is [X y]'[X y]: its factor exists iff X has full rank and
        // y is not in the span of X.
        let zero = vec![0.0; c.terms.len()];
        c.l.fill_from(&c.a, &zero);
        if let Err(e) = c.l.factorize() {
            let k = c.terms.len();
            if e.block == k && e.pivot < p {
                return Err(RemlError::RankDeficientX {
                    column: frame.fixed.names[e.pivot].clone(),
                });
            }
            if e.block == k {
                return Err(RemlError::ExactFit);
            }
        }
        Ok(c)
    }

    /// Number of fixed-effect parameters.
    pub fn n_fixed(&self) -> usize {
        self.p
    }

    /// Factorises at theta (order of [`Criterion::terms`]); `None` when not positive definite.
    pub(crate) fn pieces(&mut self, theta: &[f64]) -> Option<Pieces> {
        self.l.fill_from(&self.a, theta);
        self.l.factorize().ok()?;
        let pwrss = self.l.pwrss();
        if pwrss.is_nan() || pwrss <= 0.0 {
            return None;
        }
        Some(Pieces {
            logdet_z: self.l.logdet_z(),
            logdet_x: self.l.logdet_x(),
            pwrss,
        })
    }

    /// -2 log L profiled over sigma^2 (REML: lme4's "REML criterion"; ML: the deviance).
    pub fn eval(&mut self, theta: &[f64]) -> f64 {
        match self.pieces(theta) {
            Some(pc) => self.profiled(pc),
            None => f64::INFINITY,
        }
    }

    fn profiled(&self, pc: Pieces) -> f64 {
        let two_pi = 2.0 * std::f64::consts::PI;
        match self.method {
            Method::Reml => {
                let df = (self.n - self.p) as f64;
                pc.logdet_z + pc.logdet_x + df * (1.0 + (two_pi * pc.pwrss / df).ln())
            }
            Method::Ml => {
                let n = self.n as f64;
                pc.logdet_z + n * (1.0 + (two_pi * pc.pwrss / n).ln())
            }
        }
    }

    /// -2 log L at theta and sigma^2 (not profiled).
    pub(crate) fn full(&mut self, theta: &[f64], sigma2: f64) -> f64 {
        let two_pi = 2.0 * std::f64::consts::PI;
        let Some(pc) = self.pieces(theta) else {
            return f64::INFINITY;
        };
        let df = match self.method {
            Method::Reml => (self.n - self.p) as f64,
            Method::Ml => self.n as f64,
        };
        let ldx = match self.method {
            Method::Reml => pc.logdet_x,
            Method::Ml => 0.0,
        };
        pc.logdet_z + ldx + df * (two_pi * sigma2).ln() + pc.pwrss / sigma2
    }

    /// Residual variance at theta: pwrss / (n - p) (REML) or pwrss / n (ML).
    pub(crate) fn sigma2(&self, pwrss: f64) -> f64 {
        match self.method {
            Method::Reml => pwrss / (self.n - self.p) as f64,
            Method::Ml => pwrss / self.n as f64,
        }
    }
}

/// Fits the unrestricted mixed model of `design` to the data by REML (ML with `opts.ml`).
///
/// `codes[f][obs]` is the 0-based level code of factor `f` at observation `obs` (codes may be
/// sparse; nested factors may restart within each parent, because a term's levels are the
/// combinations of the codes of all its factors); `y[obs]` the response. Data may be
/// unbalanced (missing cells, unequal replicates).
pub fn fit(
    design: &Design,
    codes: &[Vec<u32>],
    y: &[f64],
    opts: &RemlOptions,
) -> Result<RemlFit, RemlError> {
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(RemlError::BadLevel(opts.level));
    }
    let frame = Frame::build(design, codes, y, opts.level_labels.as_deref())?;
    let method = if opts.ml { Method::Ml } else { Method::Reml };
    let mut crit = Criterion::from_frame(&frame, y, method)?;
    let starts = results::starting_values(&frame, &crit, opts);
    let terms = crit.terms.clone();
    let outcome = {
        let mut f = |t: &[f64]| crit.eval(t);
        optim::optimize(&mut f, starts, terms)
    };
    results::assemble(&frame, &mut crit, y, outcome, opts)
}
