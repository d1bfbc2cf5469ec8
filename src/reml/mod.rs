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
//! | X and the levels of each Z_k; Z'Z, Z'X, X'X, Z'y, X'y, y'y from passes over the rows ([`RowSource`]), nothing kept per row | `frame` | `lFormula`, `remat.jl` |
//! | blocked sparse/dense Cholesky of [Z X y]'[Z X y] with Λ(θ) | `blocks` | `updateL!` |
//! | the profiled criterion θ -> -2 log L and its analytic gradient | [`Criterion`] | `mkLmerDevfun` |
//! | Newton steps on the gradient from each start until a verified optimum, with a log | `descent`, `optim` | `optimizeLmer`, `OptSummary` |
//! | the deviance's Hessian in (θ, σ²) for SEs and df | `hessian` | lmerTest's `as_lmerModLmerTest` |
//! | estimates, BLUEs, BLUPs, intervals (profiles by Newton steps) | `results`, `profile` | `mkMerMod`, `profile` |
//! | tests, means, comparisons (Satterthwaite, Kenward-Roger) | [`inference`] | lmerTest, pbkrtest, emmeans |
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
mod descent;
pub(crate) mod frame;
pub(crate) mod hessian;
pub mod inference;
mod optim;
mod profile;
mod results;
pub mod tolerances;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::design::Design;
use blocks::Blocked;
use frame::Frame;
pub use frame::{Columns, RowSource, RowVisitor};

pub use optim::{OptimLog, StartRecord};
pub use results::{
    Blup, Comparison, ComparisonCase, ComparisonRow, Component, ComponentNote, FitNote,
    FixedEffect, Interval, RandomEffects, RemlFit, RowNote, compare,
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
    /// lme4 starts, then 0.3 and 3); at least 1. They are tried in turn until one reaches a
    /// verified optimum (gradient at its rounding level, Hessian positive definite, boundary
    /// conditions met); the log lists the starts not run.
    pub starts: usize,
    /// The multi-start check (`--reml-starts N`): run N starts (at least 1) even after a
    /// verified optimum, keep the best and log whether they agree. `None`: stop at the first
    /// verified optimum.
    pub reml_starts: Option<usize>,
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
    /// Cancellation: when another thread sets the flag, [`fit`] stops at its next criterion
    /// evaluation (optimiser, information, profile intervals) and returns
    /// [`RemlError::Cancelled`]. The flag is only read.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Inference from a REML fit ([`inference`]): t tests of the fixed effects, Type III F
    /// tests, estimated marginal means and their pairwise differences, with Satterthwaite's
    /// df. Not computed for ML fits.
    pub inference: bool,
    /// Kenward-Roger as well: the fixed effects, means and comparisons use it, and the F
    /// tests come with both methods (`--kenward-roger`).
    pub kenward_roger: bool,
}

impl Default for RemlOptions {
    fn default() -> Self {
        RemlOptions {
            ml: false,
            start: None,
            starts: 3,
            reml_starts: None,
            level: 0.95,
            level_labels: None,
            blups: true,
            residuals: true,
            information: true,
            profile: true,
            cancel: None,
            inference: true,
            kenward_roger: false,
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
    #[error("the REML fit was cancelled")]
    Cancelled,
    #[error("the rows changed between two passes over them (a level not seen before)")]
    SourceChanged,
    #[error("reading the rows: {0}")]
    Source(String),
}

/// The cancellation flag of a fit, as the stages read it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cancel<'a>(Option<&'a AtomicBool>);

impl<'a> Cancel<'a> {
    pub(crate) fn new(flag: Option<&'a Arc<AtomicBool>>) -> Self {
        Cancel(flag.map(|f| &**f))
    }
    pub(crate) fn is_set(self) -> bool {
        self.0.is_some_and(|f| f.load(Ordering::Relaxed))
    }
    /// `Err(Cancelled)` when the flag is set.
    pub(crate) fn check(self) -> Result<(), RemlError> {
        if self.is_set() {
            Err(RemlError::Cancelled)
        } else {
            Ok(())
        }
    }
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

/// The criterion's parts at one theta with their derivatives in theta.
#[derive(Debug, Clone)]
pub(crate) struct Derivatives {
    pub pieces: Pieces,
    /// d (log-determinants of the method) / d theta_k.
    pub dld: Vec<f64>,
    /// d (penalised RSS) / d theta_k.
    pub dr: Vec<f64>,
    /// Size of the terms `dld` is the difference of (its rounding scale).
    pub scale_ld: Vec<f64>,
}

impl Pieces {
    /// The log-determinants of the method: log|L_Z|^2 (+ log|L_X|^2 for REML).
    pub(crate) fn logdet(&self, method: Method) -> f64 {
        match method {
            Method::Reml => self.logdet_z + self.logdet_x,
            Method::Ml => self.logdet_z,
        }
    }
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
        Criterion::from_frame(&frame, &mut Columns { codes, y }, method)
    }

    fn from_frame(
        frame: &Frame,
        source: &mut dyn RowSource,
        method: Method,
    ) -> Result<Criterion, RemlError> {
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
        let cp = frame.cross_products(source)?;
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

    /// The profiled criterion at theta and its gradient in theta (analytic), with the scale of
    /// the gradient's rounding error per coordinate; None where the criterion is not finite.
    ///
    /// With A = Λ'[Z X]'[Z X]Λ + diag(I, 0) (the mixed-model equations, Λ extended by I for
    /// X), Σ = A^{-1}, u the spherical random effects and r the penalised RSS (Bates et al.
    /// 2015, section 3; MixedModels.jl): d log|A| / d theta_k = 2 (q_k - tr Σ_kk) / theta_k
    /// (since Λ'CE_k = (A - D)E_k / theta_k) and, by the envelope theorem with the normal
    /// equations theta_k Z_k'(y - ZΛu - Xb) = u_k, dr / d theta_k = -2 |u_k|^2 / theta_k. So
    ///
    /// REML: d/dθ_k = 2 (q_k - tr Σ_kk) / θ_k - 2 (n - p) |u_k|^2 / (r θ_k),
    /// ML:   d/dθ_k = 2 (q_k - tr Σ^Z_kk) / θ_k - 2 n |u_k|^2 / (r θ_k),
    ///
    /// with Σ^Z the inverse of Λ'Z'ZΛ + I alone (ML has no log|X'V^{-1}X|). Both are odd in
    /// θ_k (the criterion is even) and 0 at θ_k = 0. Σ_kk's diagonal comes from the selected
    /// inverse, as for the prediction-error variances of the BLUPs.
    pub(crate) fn value_and_gradient(&mut self, theta: &[f64]) -> Option<optim::Gradient> {
        let d = self.derivatives(theta)?;
        let value = self.profiled(d.pieces);
        if !value.is_finite() {
            return None;
        }
        let df = self.residual_df();
        let r = d.pieces.pwrss;
        let gradient = d
            .dld
            .iter()
            .zip(&d.dr)
            .map(|(&l, &dr)| l + df * dr / r)
            .collect();
        let scale = d
            .scale_ld
            .iter()
            .zip(&d.dr)
            .map(|(&sl, &dr)| sl + (df * dr / r).abs())
            .collect();
        Some(optim::Gradient {
            value,
            gradient,
            scale,
        })
    }

    /// The pieces of the criterion at theta and the derivatives of its two parts in theta:
    /// of the log-determinant(s), 2 (q_k - tr Σ_kk) / theta_k, and of the penalised RSS,
    /// -2 |u_k|^2 / theta_k (both 0 at theta_k = 0); with the size of the terms the first is
    /// the difference of.
    pub(crate) fn derivatives(&mut self, theta: &[f64]) -> Option<Derivatives> {
        let pieces = self.pieces(theta)?;
        let (u, _) = self.l.solve();
        let sig = self.l.selected_inverse(self.method == Method::Reml);
        let k = self.terms.len();
        let mut dld = vec![0.0; k];
        let mut dr = vec![0.0; k];
        let mut scale_ld = vec![0.0; k];
        for j in 0..k {
            let t = theta[j];
            if t == 0.0 {
                continue;
            }
            let q = self.l.q[j] as f64;
            let tr: f64 = (0..self.l.q[j]).map(|c| sig.diag_entry(j, c)).sum();
            let uu: f64 = u[j].iter().map(|v| v * v).sum();
            dld[j] = 2.0 * (q - tr) / t;
            dr[j] = -2.0 * uu / t;
            scale_ld[j] = 2.0 * (q + tr.abs()) / t.abs();
        }
        Some(Derivatives {
            pieces,
            dld,
            dr,
            scale_ld,
        })
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

    /// The residual degrees of freedom of the criterion: n - p (REML) or n (ML).
    pub(crate) fn residual_df(&self) -> f64 {
        match self.method {
            Method::Reml => (self.n - self.p) as f64,
            Method::Ml => self.n as f64,
        }
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
    fit_frame(design, frame, &mut Columns { codes, y }, opts)
}

/// [`fit`] from rows visited in passes ([`RowSource`]) instead of columns in memory: nothing
/// is kept per observation (but the residuals, when asked for), so memory is that of the
/// levels and of the random-effects system (the rows of a file can be read again for each
/// of the three or four passes).
pub fn fit_source(
    design: &Design,
    source: &mut dyn RowSource,
    opts: &RemlOptions,
) -> Result<RemlFit, RemlError> {
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(RemlError::BadLevel(opts.level));
    }
    let frame = Frame::from_source(design, source, opts.level_labels.as_deref())?;
    fit_frame(design, frame, source, opts)
}

fn fit_frame(
    design: &Design,
    frame: Frame,
    source: &mut dyn RowSource,
    opts: &RemlOptions,
) -> Result<RemlFit, RemlError> {
    let method = if opts.ml { Method::Ml } else { Method::Reml };
    let cancel = Cancel::new(opts.cancel.as_ref());
    cancel.check()?;
    let mut crit = Criterion::from_frame(&frame, source, method)?;
    let starts = results::starting_values(&frame, &crit, opts);
    let terms = crit.terms.clone();
    let outcome =
        optim::optimize_with(&mut crit, starts, terms, cancel, opts.reml_starts.is_none());
    cancel.check()?;
    let theta = outcome.theta.clone();
    let boundary = outcome.boundary.clone();
    let mut hessian = None;
    let mut fit = results::assemble(
        &frame,
        &mut crit,
        source,
        outcome,
        opts,
        cancel,
        &mut hessian,
    )?;
    cancel.check()?;
    if opts.inference && method == Method::Reml {
        let beta: Vec<f64> = fit.fixed_effects.iter().map(|f| f.estimate).collect();
        let state = inference::FitState {
            design,
            frame: &frame,
            theta: &theta,
            boundary: &boundary,
            beta: &beta,
            level: opts.level,
            kenward_roger: opts.kenward_roger,
            labels: opts.level_labels.as_deref(),
            hessian: hessian.as_ref(),
        };
        match inference::infer(&state, &mut crit, cancel) {
            Ok(inf) => {
                inference::fill_fixed_effects(&inf, &mut fit.fixed_effects, opts.level);
                fit.inference = Some(inf);
            }
            Err(inference::InferenceError::Cancelled) => return Err(RemlError::Cancelled),
            Err(e) => fit.inference_error = Some(e),
        }
    }
    cancel.check()?;
    Ok(fit)
}

impl optim::Objective for Criterion {
    fn value(&mut self, x: &[f64]) -> f64 {
        self.eval(x)
    }
    fn value_and_gradient(&mut self, x: &[f64]) -> Option<optim::Gradient> {
        Criterion::value_and_gradient(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::optim::{Counted, Objective};
    use super::tolerances::GRADIENT_CHECK_REL;
    use super::*;

    /// Unbalanced data for A random (5 levels) x B fixed (3), C random nested in A (3 per A),
    /// 2 replicates, about a third of the rows dropped: terms A, B, A:B, C(A), B:C(A), four
    /// random, crossed and nested, with fixed effects.
    fn unbalanced() -> (Design, Vec<Vec<u32>>, Vec<f64>) {
        let design = Design::from_toml_str(
            r#"
            [[factors]]
            name = "A"
            kind = "random"
            [[factors]]
            name = "B"
            kind = "fixed"
            [[factors]]
            name = "C"
            kind = "random"
            nested_in = ["A"]
            "#,
        )
        .expect("design");
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut codes, mut y) = (vec![Vec::new(); 3], Vec::new());
        let a_eff: Vec<f64> = (0..5).map(|_| 2.0 * next() - 1.0).collect();
        for a in 0..5u32 {
            for b in 0..3u32 {
                for c in 0..3u32 {
                    for _ in 0..2 {
                        let v = 10.0 + a_eff[a as usize] + 0.5 * f64::from(b) + next();
                        if next() < 0.33 {
                            continue;
                        }
                        codes[0].push(a);
                        codes[1].push(b);
                        codes[2].push(c);
                        y.push(v + 0.3 * f64::from((a * 7 + c * 3 + b) % 5));
                    }
                }
            }
        }
        (design, codes, y)
    }

    /// Central difference with one Richardson extrapolation (error O(h^4)).
    fn fd_gradient(crit: &mut Criterion, theta: &[f64]) -> Vec<f64> {
        (0..theta.len())
            .map(|a| {
                let mut central = |h: f64| {
                    let mut x = theta.to_vec();
                    x[a] = theta[a] + h;
                    let up = crit.eval(&x);
                    x[a] = theta[a] - h;
                    let down = crit.eval(&x);
                    (up - down) / (2.0 * h)
                };
                let h = 1e-2 * theta[a].abs().max(0.1);
                (4.0 * central(h / 2.0) - central(h)) / 3.0
            })
            .collect()
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let (design, codes, y) = unbalanced();
        for method in [Method::Reml, Method::Ml] {
            let mut crit = Criterion::new(&design, &codes, &y, method).expect("criterion");
            let k = crit.terms.len();
            assert_eq!(k, 4, "{:?}", crit.terms);
            for theta in [
                vec![0.7, 1.3, 0.4, 2.0],
                vec![0.05, 0.9, 1.7, 0.3],
                vec![1.1, 0.0, 0.6, 0.8],
            ] {
                let g = crit.value_and_gradient(&theta).expect("gradient");
                assert_eq!(g.value, crit.eval(&theta));
                let fd = fd_gradient(&mut crit, &theta);
                for ((name, &ga), &fa) in crit.terms.iter().zip(&g.gradient).zip(&fd) {
                    assert!(
                        (ga - fa).abs() <= GRADIENT_CHECK_REL * (1.0 + fa.abs()),
                        "{method:?} theta {theta:?} term {name}: analytic {ga} vs finite differences {fa}"
                    );
                }
                // 0 at theta_k = 0, and odd in theta_k (the criterion is even).
                for (&t, &ga) in theta.iter().zip(&g.gradient) {
                    if t == 0.0 {
                        assert_eq!(ga, 0.0);
                    }
                }
                let mut flipped = theta.clone();
                flipped[0] = -theta[0];
                let gf = crit.value_and_gradient(&flipped).expect("gradient");
                assert!((gf.gradient[0] + g.gradient[0]).abs() <= 1e-12 * g.scale[0]);
                assert_eq!(gf.gradient[1..], g.gradient[1..]);
            }
        }
    }

    /// An objective that sets the cancellation flag at its 10th evaluation.
    struct CancelAfter<'a> {
        crit: &'a mut Criterion,
        flag: &'a AtomicBool,
        evaluations: usize,
    }

    impl Objective for CancelAfter<'_> {
        fn value(&mut self, x: &[f64]) -> f64 {
            self.evaluations += 1;
            if self.evaluations == 10 {
                self.flag.store(true, Ordering::Relaxed);
            }
            self.crit.eval(x)
        }
    }

    #[test]
    fn optimiser_stops_at_the_evaluation_after_the_flag_is_set() {
        let (design, codes, y) = unbalanced();
        let mut crit = Criterion::new(&design, &codes, &y, Method::Reml).expect("criterion");
        let terms = crit.terms.clone();
        let k = terms.len();
        let flag = Arc::new(AtomicBool::new(false));
        let mut obj = CancelAfter {
            crit: &mut crit,
            flag: &flag,
            evaluations: 0,
        };
        let starts = vec![
            ("ones".to_string(), vec![1.0; k]),
            ("0.3".into(), vec![0.3; k]),
        ];
        let out = optim::optimize(&mut obj, starts, terms, Cancel::new(Some(&flag)));
        assert_eq!(obj.evaluations, 10);
        assert!(!out.log.converged);
        assert!(out.log.message.contains("cancelled"), "{}", out.log.message);
        // Once set, evaluations return +inf without calling the objective.
        let mut calls = 0;
        let mut f = |_: &[f64]| {
            calls += 1;
            1.0
        };
        let mut counted = Counted::new(&mut f, Cancel::new(Some(&flag)));
        assert!(counted.cancelled());
        assert_eq!(counted.eval(&[1.0]), f64::INFINITY);
        assert_eq!(counted.evaluations, 0);
        assert_eq!(calls, 0);
    }
}
