//! The fitted model (lme4's `mkMerMod`): estimates with standard errors and intervals,
//! likelihood and information criteria, BLUEs, BLUPs, residuals, the optimiser's log; and the
//! term-by-term comparison with the moment estimates.

use nalgebra::DMatrix;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::frame::{Frame, RowSource, label};
use super::hessian::{DevianceHessian, HessianError};
use super::inference::{ConfidenceInterval, DdfMethod, Inference, InferenceError};
use super::optim::{OptimLog, OptimOutcome};
use super::tolerances::MOMENTS_AGREE_REL;
use super::{Cancel, Criterion, Method, RemlError, RemlOptions};

/// A Wald interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Interval {
    /// `wald-log`: estimate * exp(+- z * se(log estimate)).
    pub method: String,
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A variance component.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Component {
    /// Term name (`Residual` for the error).
    pub term: String,
    pub variance: f64,
    pub sd: f64,
    /// Relative covariance factor s_k / s (None for the residual).
    pub theta: Option<f64>,
    /// The estimate sits on the boundary 0.
    pub boundary: bool,
    /// Standard error from the observed information (None at the boundary or when the
    /// information is not positive definite).
    pub se: Option<f64>,
    /// Wald interval on the log scale.
    pub interval: Option<Interval>,
    /// Profile-likelihood interval (lower limit 0 when the profile at 0 stays within the
    /// cutoff, e.g. for a component on the boundary).
    pub profile: Option<Interval>,
    pub note: Option<ComponentNote>,
}

/// Why a component has no standard error (words in `crate::report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentNote {
    /// The estimate sits at the boundary 0 (a legitimate maximum, not a failure).
    Boundary,
    /// The observed information is not positive definite.
    NoInformation,
}

/// Something the report says about a fit (words in `crate::report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum FitNote {
    /// The model fitted: the unrestricted mixed model.
    Model { method: Method },
    /// Profile-likelihood intervals were computed, with this many criterion evaluations.
    ProfileIntervals { evaluations: usize },
    /// No profile interval for these terms (the profile could not be bracketed).
    NoProfile { terms: Vec<String> },
    /// Wald intervals on the log scale with this normal quantile.
    WaldIntervals { z: f64 },
    /// These components are estimated as 0.
    Boundary { terms: Vec<String> },
    /// The optimiser did not confirm convergence.
    NotConverged { message: String },
    /// A random term with one level in the data: not identifiable.
    SingleLevel { term: String },
    /// A random term with one observation per level: not identifiable apart from σ².
    OnePerLevel { term: String },
    /// Unbalanced data: the likelihood fit applies as is.
    Unbalanced,
}

/// A fixed effect (BLUE), with its t test from the inference (REML fits).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FixedEffect {
    pub name: String,
    pub estimate: f64,
    /// From the covariance of the BLUEs (`fixed_covariance`).
    pub se: f64,
    /// Denominator df (`ddf_method` says whose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
    /// estimate / se (the adjusted se with Kenward-Roger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<ConfidenceInterval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddf_method: Option<DdfMethod>,
    /// Kenward-Roger's adjusted standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub se_adjusted: Option<f64>,
}

/// The BLUP of one level of a random term.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Blup {
    /// Labels of the term's factors at this level, joined by `:` (lme4's `A:a`).
    pub level: String,
    /// Codes (as given) of the term's factors, in declaration order.
    pub codes: Vec<u32>,
    pub estimate: f64,
    /// Prediction-error variance Var(u - u^) (sigma^2 times the C22 diagonal of the inverse
    /// mixed-model-equations matrix: it accounts for estimating the fixed effects).
    pub pev: Option<f64>,
    /// Conditional variance given the fixed effects (lme4's `ranef(condVar = TRUE)`), which
    /// leaves out the uncertainty of the fixed effects.
    pub cond_var: Option<f64>,
}

/// BLUPs of a random term.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RandomEffects {
    pub term: String,
    pub levels: Vec<Blup>,
}

/// A REML (or ML) fit of the unrestricted mixed model.
#[derive(Debug, Clone, Serialize)]
pub struct RemlFit {
    pub method: Method,
    /// Always `unrestricted`.
    pub model: String,
    pub converged: bool,
    /// Some component is at the boundary 0 (reported as such, not as a failure).
    pub boundary: bool,
    /// Every cell present with equal replication.
    pub balanced: bool,
    pub n_observations: usize,
    /// Columns of X (full rank).
    pub n_fixed: usize,
    /// Candidate indicator columns dropped as aliased by the full-rank parametrisation.
    pub aliased_columns: usize,
    /// Parameters counted in AIC/BIC: fixed effects, one theta per random term, sigma.
    pub n_parameters: usize,
    /// Relative covariance factors, in the order of the random terms of the design.
    pub theta: Vec<f64>,
    /// Residual variance.
    pub sigma2: f64,
    /// Random terms (design order), then `Residual`.
    pub components: Vec<Component>,
    /// Names of the components in `component_covariance` (those with a standard error).
    pub covariance_terms: Vec<String>,
    /// Asymptotic covariance of those estimates (inverse observed information).
    pub component_covariance: Option<Vec<Vec<f64>>>,
    pub log_likelihood: f64,
    /// -2 log L of the method maximised.
    pub criterion: f64,
    /// lme4's "REML criterion at convergence" (REML fits).
    pub reml_criterion: Option<f64>,
    /// -2 log L (ML fits; lme4's deviance).
    pub deviance: Option<f64>,
    /// criterion + 2 n_parameters (lme4's convention, also for REML fits).
    pub aic: f64,
    /// criterion + n_parameters log(n).
    pub bic: f64,
    pub fixed_effects: Vec<FixedEffect>,
    /// Covariance of the BLUEs: sigma^2 times the C11 block of the inverse MME matrix.
    pub fixed_covariance: Vec<Vec<f64>>,
    pub random_effects: Vec<RandomEffects>,
    /// Conditional residuals y - X b - Z u, in data order (empty unless requested).
    #[serde(skip)]
    pub residuals: Vec<f64>,
    pub optimizer: OptimLog,
    pub notes: Vec<FitNote>,
    /// Tests, means and comparisons from the fit (REML fits with `RemlOptions::inference`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<Inference>,
    /// Why the inference is missing when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_error: Option<InferenceError>,
}

impl RemlFit {
    /// The component of a term (or `Residual`).
    pub fn component(&self, term: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.term == term)
    }
    /// The variance estimate of a term (or `Residual`).
    pub fn variance(&self, term: &str) -> Option<f64> {
        self.component(term).map(|c| c.variance)
    }
    /// A fixed effect by column name.
    pub fn fixed_effect(&self, name: &str) -> Option<&FixedEffect> {
        self.fixed_effects.iter().find(|f| f.name == name)
    }
    /// The BLUPs of a term.
    pub fn blups(&self, term: &str) -> Option<&RandomEffects> {
        self.random_effects.iter().find(|r| r.term == term)
    }
}

/// Starting values of theta (in the criterion's order).
pub(crate) fn starting_values(
    frame: &Frame,
    crit: &Criterion,
    opts: &RemlOptions,
) -> Vec<(String, Vec<f64>)> {
    let k = crit.terms.len();
    let mut list: Vec<(String, Vec<f64>)> = Vec::new();
    if let Some(m) = &opts.start {
        let get = |name: &str| m.iter().find(|(t, _)| t == name).map(|(_, v)| *v);
        if let Some(res) = get("Residual").filter(|v| *v > 0.0 && v.is_finite()) {
            let theta = crit
                .terms
                .iter()
                .map(|t| {
                    get(t)
                        .filter(|v| v.is_finite())
                        .map_or(1.0, |v| (v.max(0.0) / res).sqrt())
                })
                .collect();
            list.push(("moments".into(), theta));
        }
    }
    if k > 0 {
        list.push(("decomposition".into(), decomposition(frame, crit)));
        list.push(("ones".into(), vec![1.0; k]));
        list.push(("0.3".into(), vec![0.3; k]));
        list.push(("3".into(), vec![3.0; k]));
    } else {
        list.push(("none".into(), Vec::new()));
    }
    list.truncate(opts.reml_starts.unwrap_or(opts.starts).max(1));
    list
}

/// A moment-like start from one factorisation at theta = 0: for each term, the between-level
/// mean square of the OLS residuals' level means, less the within-level residual variance of
/// the finest term, over the mean replication; then less the same quantity of every coarser
/// term it contains (on balanced data this is close to the moment estimates).
fn decomposition(frame: &Frame, crit: &Criterion) -> Vec<f64> {
    let k = crit.terms.len();
    let mut l = crit.a.clone();
    l.fill_from(&crit.a, &vec![0.0; k]);
    if l.factorize().is_err() {
        return vec![1.0; k];
    }
    let p = crit.p;
    let n = frame.n as f64;
    let pwrss = l.pwrss();
    let (_, beta) = l.solve();
    // Sum over levels of (level sum of residuals)^2 / count, per term.
    let mut between = Vec::with_capacity(k);
    for j in 0..k {
        let q = crit.a.q[j];
        let counts: Vec<f64> = match &crit.a.diag[j] {
            super::blocks::DiagBlock::Diag(d) => d.clone(),
            super::blocks::DiagBlock::Dense(m) => (0..q).map(|c| m[(c, c)]).collect(),
        };
        let mut ss = 0.0;
        if let super::blocks::OffBlock::Dense(t) = &crit.a.off[k][j] {
            for (c, &n_c) in counts.iter().enumerate() {
                let col = &t.as_slice()[c * (p + 1)..(c + 1) * (p + 1)];
                let resid = col[p] - (0..p).map(|a| col[a] * beta[a]).sum::<f64>();
                if n_c > 0.0 {
                    ss += resid * resid / n_c;
                }
            }
        }
        between.push(ss);
    }
    let ols = pwrss / (n - p as f64);
    let within = match (between.first(), crit.a.q.first()) {
        (Some(&ss0), Some(&q0)) if n - (q0 as f64) >= 1.0 && pwrss > ss0 => {
            (pwrss - ss0) / (n - q0 as f64)
        }
        _ => ols,
    };
    let s2 = if within > 0.0 { within } else { ols };
    let raw: Vec<f64> = (0..k)
        .map(|j| {
            let q = crit.a.q[j];
            if q < 2 {
                return 0.0;
            }
            let ms = between[j] / (q - 1) as f64;
            ((ms - s2) / (n / q as f64)).max(0.0)
        })
        .collect();
    (0..k)
        .map(|j| {
            let sj = frame.random[j].subscripts;
            let coarser: f64 = (0..k)
                .filter(|&u| {
                    let su = frame.random[u].subscripts;
                    u != j && sj.is_superset(su) && su != sj
                })
                .map(|u| raw[u])
                .sum();
            let v = (raw[j] - coarser).max(0.0);
            if s2 > 0.0 { (v / s2).sqrt() } else { 1.0 }
        })
        .collect()
}

fn z_value(level: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(1.959_963_984_540_054, |n| {
        n.inverse_cdf(1.0 - (1.0 - level) / 2.0)
    })
}

/// The fit at the optimum; `hessian` receives the deviance's Hessian when the standard
/// errors needed it (the inference reuses it).
pub(crate) fn assemble(
    frame: &Frame,
    crit: &mut Criterion,
    source: &mut dyn RowSource,
    outcome: OptimOutcome,
    opts: &RemlOptions,
    cancel: Cancel<'_>,
    hessian: &mut Option<DevianceHessian>,
) -> Result<RemlFit, RemlError> {
    let k = crit.terms.len();
    let theta = outcome.theta.clone();
    let pc = crit.pieces(&theta).ok_or(RemlError::ExactFit)?;
    let sigma2 = crit.sigma2(pc.pwrss);
    let criterion = crit.profiled(pc);
    let p = crit.p;
    let labels = opts.level_labels.as_deref();

    // BLUEs and BLUPs from the factor at the optimum.
    let (u, mut beta) = crit.l.solve();
    if let Some(b0) = beta.first_mut() {
        *b0 += frame.shift;
    }
    cancel.check()?;
    let sig = if opts.blups {
        Some(crit.l.selected_inverse(true))
    } else {
        None
    };
    cancel.check()?;
    let sig_z = if opts.blups && k > 0 {
        Some(crit.l.selected_inverse(false))
    } else {
        None
    };
    let xx = match &sig {
        Some(s) => s.tail().map(|t| t.view((0, 0), (p, p)).into_owned()),
        None => crit.l.tail().map(|t| {
            let lx = t.view((0, 0), (p, p)).into_owned();
            lx.clone()
                .try_inverse()
                .map_or_else(|| DMatrix::zeros(p, p), |w| w.transpose() * w)
        }),
    }
    .unwrap_or_else(|| DMatrix::zeros(p, p));
    let fixed_covariance: Vec<Vec<f64>> = (0..p)
        .map(|a| (0..p).map(|b| sigma2 * xx[(a, b)]).collect())
        .collect();
    let fixed_effects: Vec<FixedEffect> = frame
        .fixed
        .names
        .iter()
        .enumerate()
        .map(|(a, name)| FixedEffect {
            name: name.clone(),
            estimate: beta[a],
            se: (sigma2 * xx[(a, a)]).sqrt(),
            df: None,
            t: None,
            p: None,
            ci: None,
            ddf_method: None,
            se_adjusted: None,
        })
        .collect();

    let mut random_effects = Vec::new();
    let mut residuals = Vec::new();
    if opts.residuals {
        residuals.reserve(frame.n);
        frame.visit_levels(source, &mut |levels, c, yo| {
            let xb: f64 = frame.fixed.cell_cols[c]
                .iter()
                .map(|&j| beta[j as usize])
                .sum();
            let zb: f64 = (0..k).map(|j| theta[j] * u[j][levels[j] as usize]).sum();
            residuals.push(yo - xb - zb);
        })?;
    }
    // Order of the random terms in the design.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&j| frame.random[j].design_index);
    if opts.blups {
        let ctx = BlupContext {
            frame,
            theta: &theta,
            u: &u,
            sigma2,
            labels,
        };
        random_effects = blups(&ctx, &order, sig.as_ref(), sig_z.as_ref(), cancel)?;
    }

    // Standard errors of the components.
    let interior: Vec<usize> = (0..k)
        .filter(|&j| !outcome.boundary[j] && theta[j] > 0.0)
        .collect();
    cancel.check()?;
    let free: Vec<usize> = (0..k).filter(|&j| !outcome.boundary[j]).collect();
    let cov = if opts.information {
        let h = match outcome.hessian.clone() {
            Some(hp) if free == interior => {
                DevianceHessian::from_profiled(crit, &theta, &interior, hp)
            }
            _ => DevianceHessian::at(crit, &theta, &interior, cancel),
        };
        match h {
            Ok(h) => {
                let c = h.log_variance_covariance();
                *hessian = Some(h);
                c
            }
            Err(HessianError::Cancelled) => return Err(RemlError::Cancelled),
            Err(HessianError::NotFinite) => None,
        }
    } else {
        None
    };
    cancel.check()?;
    let z = z_value(opts.level);
    let mut notes = vec![FitNote::Model {
        method: crit.method,
    }];
    let (mut components, covariance_terms) = component_rows(
        &crit.terms,
        &order,
        &theta,
        &outcome.boundary,
        sigma2,
        &interior,
        cov.as_ref(),
        opts,
    );
    if opts.profile {
        let at = Optimum {
            theta: &theta,
            sigma2,
            criterion,
        };
        notes.extend(profile_intervals(crit, &mut components, &at, opts, cancel)?);
    }
    // Covariance of the variances (delta method from the log scale), in covariance_terms order.
    let component_covariance = cov.as_ref().map(|c| {
        let mut vals: Vec<f64> = interior
            .iter()
            .map(|&j| theta[j] * theta[j] * sigma2)
            .collect();
        vals.push(sigma2);
        let mut idx: Vec<usize> = (0..interior.len()).collect();
        idx.sort_by_key(|&i| frame.random[interior[i]].design_index);
        idx.push(interior.len());
        idx.iter()
            .map(|&a| idx.iter().map(|&b| c[(a, b)] * vals[a] * vals[b]).collect())
            .collect()
    });
    notes.extend(fit_notes(frame, &components, &outcome.log, z));
    let boundary = components.iter().any(|c| c.boundary);
    let n = frame.n;
    let n_parameters = p + k + 1;
    // Theta in the design's order, and the log too.
    let theta_design: Vec<f64> = order.iter().map(|&j| theta[j]).collect();
    let log = design_order_log(outcome.log, &order, &crit.terms);
    Ok(RemlFit {
        method: crit.method,
        model: "unrestricted".into(),
        converged: log.converged,
        boundary,
        balanced: frame.balanced,
        n_observations: n,
        n_fixed: p,
        aliased_columns: frame.fixed.aliased,
        n_parameters,
        theta: theta_design,
        sigma2,
        components,
        covariance_terms,
        component_covariance,
        log_likelihood: -criterion / 2.0,
        criterion,
        reml_criterion: (crit.method == Method::Reml).then_some(criterion),
        deviance: (crit.method == Method::Ml).then_some(criterion),
        aic: criterion + 2.0 * n_parameters as f64,
        bic: criterion + n_parameters as f64 * (n as f64).ln(),
        fixed_effects,
        fixed_covariance,
        random_effects,
        residuals,
        optimizer: log,
        notes,
        inference: None,
        inference_error: None,
    })
}

/// What the BLUPs need from the fit.
struct BlupContext<'a> {
    frame: &'a Frame,
    theta: &'a [f64],
    u: &'a [Vec<f64>],
    sigma2: f64,
    labels: Option<&'a [Vec<String>]>,
}

/// The BLUPs of every random term (design order), with prediction-error variances from the
/// selected inverse with X and conditional variances from the one without.
fn blups(
    ctx: &BlupContext<'_>,
    order: &[usize],
    sig: Option<&super::blocks::Blocked>,
    sig_z: Option<&super::blocks::Blocked>,
    cancel: Cancel<'_>,
) -> Result<Vec<RandomEffects>, RemlError> {
    let (theta, sigma2) = (ctx.theta, ctx.sigma2);
    let mut out = Vec::with_capacity(order.len());
    for &j in order {
        cancel.check()?;
        let rt = &ctx.frame.random[j];
        let nfac = rt.factors.len();
        let levels = (0..rt.n_levels)
            .map(|c| {
                let codes = rt.level_codes[c * nfac..(c + 1) * nfac].to_vec();
                let level = rt
                    .factors
                    .iter()
                    .zip(&codes)
                    .map(|(&f, &code)| label(ctx.labels, f, code))
                    .collect::<Vec<_>>()
                    .join(":");
                let pev = sig.map(|s| sigma2 * theta[j] * theta[j] * s.diag_entry(j, c));
                let cond_var = sig_z.map(|s| sigma2 * theta[j] * theta[j] * s.diag_entry(j, c));
                Blup {
                    level,
                    codes,
                    estimate: theta[j] * ctx.u[j][c],
                    pev,
                    cond_var,
                }
            })
            .collect();
        out.push(RandomEffects {
            term: rt.name.clone(),
            levels,
        });
    }
    Ok(out)
}

/// The components (design order, then the residual) with their standard errors and Wald
/// intervals, and the names of those with a standard error.
#[allow(clippy::too_many_arguments)]
fn component_rows(
    terms: &[String],
    order: &[usize],
    theta: &[f64],
    at_boundary: &[bool],
    sigma2: f64,
    interior: &[usize],
    cov: Option<&DMatrix<f64>>,
    opts: &RemlOptions,
) -> (Vec<Component>, Vec<String>) {
    let z = z_value(opts.level);
    let se_log = |pos: usize| cov.map(|c| c[(pos, pos)].sqrt()).filter(|v| v.is_finite());
    let interval = |v: f64, s: f64| Interval {
        method: "wald-log".into(),
        level: opts.level,
        lower: v * (-z * s).exp(),
        upper: v * (z * s).exp(),
    };
    let mut components = Vec::with_capacity(order.len() + 1);
    let mut covariance_terms = Vec::new();
    for &j in order {
        let name = terms[j].clone();
        let variance = theta[j] * theta[j] * sigma2;
        let boundary = at_boundary[j] || theta[j] == 0.0;
        let pos = interior.iter().position(|&x| x == j);
        let sl = pos.and_then(se_log);
        let note = if boundary {
            Some(ComponentNote::Boundary)
        } else if sl.is_none() && opts.information {
            Some(ComponentNote::NoInformation)
        } else {
            None
        };
        if sl.is_some() {
            covariance_terms.push(name.clone());
        }
        components.push(Component {
            term: name,
            variance,
            sd: variance.sqrt(),
            theta: Some(theta[j]),
            boundary,
            se: sl.map(|s| s * variance),
            interval: sl.map(|s| interval(variance, s)),
            profile: None,
            note,
        });
    }
    let sl = se_log(interior.len());
    if sl.is_some() {
        covariance_terms.push("Residual".into());
    }
    components.push(Component {
        term: "Residual".into(),
        variance: sigma2,
        sd: sigma2.sqrt(),
        theta: None,
        boundary: false,
        se: sl.map(|s| s * sigma2),
        interval: sl.map(|s| interval(sigma2, s)),
        profile: None,
        note: None,
    });
    (components, covariance_terms)
}

/// The optimum, for the profiles.
struct Optimum<'a> {
    theta: &'a [f64],
    sigma2: f64,
    criterion: f64,
}

/// Profile-likelihood intervals of every component; the notes that go with them.
fn profile_intervals(
    crit: &mut Criterion,
    components: &mut [Component],
    at: &Optimum<'_>,
    opts: &RemlOptions,
    cancel: Cancel<'_>,
) -> Result<Vec<FitNote>, RemlError> {
    let mut notes = Vec::new();
    let mut evaluations = 0;
    let mut failed = Vec::new();
    for comp in components.iter_mut() {
        cancel.check()?;
        let which = crit.terms.iter().position(|t| *t == comp.term);
        let se_log = comp.se.map(|s| s / comp.variance);
        match super::profile::interval(
            crit,
            at.theta,
            at.sigma2,
            which,
            at.criterion,
            opts.level,
            se_log,
            cancel,
        ) {
            Some((lower, upper, e)) => {
                evaluations += e;
                comp.profile = Some(Interval {
                    method: "profile".into(),
                    level: opts.level,
                    lower,
                    upper,
                });
            }
            None => failed.push(comp.term.clone()),
        }
    }
    notes.push(FitNote::ProfileIntervals { evaluations });
    if !failed.is_empty() {
        notes.push(FitNote::NoProfile { terms: failed });
    }
    Ok(notes)
}

/// Notes on the intervals, the boundary, convergence, identifiability and balance.
fn fit_notes(frame: &Frame, components: &[Component], log: &OptimLog, z: f64) -> Vec<FitNote> {
    let mut notes = Vec::new();
    if components.iter().any(|c| c.interval.is_some()) {
        notes.push(FitNote::WaldIntervals { z });
    }
    let boundary: Vec<String> = components
        .iter()
        .filter(|c| c.boundary)
        .map(|c| c.term.clone())
        .collect();
    if !boundary.is_empty() {
        notes.push(FitNote::Boundary { terms: boundary });
    }
    if !log.converged {
        notes.push(FitNote::NotConverged {
            message: log.message.clone(),
        });
    }
    for rt in &frame.random {
        if rt.n_levels == 1 {
            notes.push(FitNote::SingleLevel {
                term: rt.name.clone(),
            });
        } else if rt.n_levels == frame.n {
            notes.push(FitNote::OnePerLevel {
                term: rt.name.clone(),
            });
        }
    }
    if !frame.balanced {
        notes.push(FitNote::Unbalanced);
    }
    notes
}

/// The optimiser's log with every theta vector in the design's order of the random terms.
fn design_order_log(mut log: OptimLog, order: &[usize], terms: &[String]) -> OptimLog {
    let k = order.len();
    let perm = |v: &Vec<f64>| -> Vec<f64> {
        if v.len() == k {
            order.iter().map(|&j| v[j]).collect()
        } else {
            v.clone()
        }
    };
    log.terms = order.iter().map(|&j| terms[j].clone()).collect();
    log.theta_start = perm(&log.theta_start);
    log.theta_end = perm(&log.theta_end);
    log.gradient = perm(&log.gradient);
    log.boundary_slopes = order
        .iter()
        .map(|&j| log.boundary_slopes.get(j).copied().flatten())
        .collect();
    for s in &mut log.starts {
        s.theta_start = perm(&s.theta_start);
        s.theta_end = perm(&s.theta_end);
    }
    log
}

/// Which case of the moments-versus-REML rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparisonCase {
    /// Balanced data, every moment estimate positive: they must coincide.
    Coincide,
    /// Balanced data with a negative (or zero) moment estimate: REML at the boundary, the
    /// others shift.
    NegativeMoment,
    /// Unbalanced data: they differ in general.
    Unbalanced,
    /// An ML fit: not expected to equal the moment estimates.
    MaximumLikelihood,
}

/// One row of the comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComparisonRow {
    pub term: String,
    pub moment: Option<f64>,
    pub reml: f64,
    /// reml - moment.
    pub difference: Option<f64>,
    /// |reml - moment| / |moment|.
    pub relative_difference: Option<f64>,
    pub note: RowNote,
}

/// How a component's REML estimate stands to its moment estimate (words in
/// `crate::report`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowNote {
    /// No moment estimate was given for the term.
    NoMoment,
    /// They coincide, as they must.
    Coincide,
    /// They differ by `relative` where they must coincide: a bug.
    Differ { relative: f64 },
    /// The moment estimate is not positive; REML holds the component at `reml`
    /// (`boundary`: at 0).
    NotPositive {
        moment: f64,
        reml: f64,
        boundary: bool,
    },
    /// Shifted by `by` to absorb the share a non-positive estimate took away.
    Shifted { by: f64 },
    /// Unbalanced data: they differ in general.
    Unbalanced,
    /// An ML estimate: smaller than REML in general.
    MaximumLikelihood,
}

/// Moment estimates set beside REML, term by term, with the rule that relates them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    pub case: ComparisonCase,
    pub rows: Vec<ComparisonRow>,
    /// False only when the rule says they must coincide and they do not (a bug).
    pub consistent: bool,
}

/// Compares moment estimates (term name, estimate; `Residual` for the error) with a fit.
pub fn compare(fit: &RemlFit, moments: &[(String, f64)]) -> Comparison {
    let get = |t: &str| moments.iter().find(|(n, _)| n == t).map(|(_, v)| *v);
    let any_nonpositive = fit
        .components
        .iter()
        .filter_map(|c| get(&c.term))
        .any(|v| v <= 0.0);
    let case = if fit.method == Method::Ml {
        ComparisonCase::MaximumLikelihood
    } else if !fit.balanced {
        ComparisonCase::Unbalanced
    } else if any_nonpositive {
        ComparisonCase::NegativeMoment
    } else {
        ComparisonCase::Coincide
    };
    let mut consistent = true;
    let mut rows = Vec::new();
    for c in &fit.components {
        let moment = get(&c.term);
        let difference = moment.map(|m| c.variance - m);
        let relative_difference = moment.map(|m| {
            if m != 0.0 {
                (c.variance - m).abs() / m.abs()
            } else if c.variance == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        });
        let note = match (case, moment) {
            (_, None) => RowNote::NoMoment,
            (ComparisonCase::Coincide, Some(_)) => {
                let rel = relative_difference.unwrap_or(0.0);
                if rel <= MOMENTS_AGREE_REL {
                    RowNote::Coincide
                } else {
                    consistent = false;
                    RowNote::Differ { relative: rel }
                }
            }
            (ComparisonCase::NegativeMoment, Some(m)) if m <= 0.0 => RowNote::NotPositive {
                moment: m,
                reml: c.variance,
                boundary: c.boundary,
            },
            (ComparisonCase::NegativeMoment, Some(_)) => RowNote::Shifted {
                by: difference.unwrap_or(0.0),
            },
            (ComparisonCase::Unbalanced, Some(_)) => RowNote::Unbalanced,
            (ComparisonCase::MaximumLikelihood, Some(_)) => RowNote::MaximumLikelihood,
        };
        rows.push(ComparisonRow {
            term: c.term.clone(),
            moment,
            reml: c.variance,
            difference,
            relative_difference,
            note,
        });
    }
    Comparison {
        case,
        rows,
        consistent,
    }
}
