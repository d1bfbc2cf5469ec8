//! Minimising the profiled criterion over theta >= 0, with a log of the path (MixedModels.jl
//! `OptSummary`).
//!
//! The profiled criterion is an even function of every theta_k (flipping the sign of theta_k
//! flips the sign of u_k and changes nothing), so the bound theta >= 0 is met by minimising
//! over all of R^K and reporting |theta|. The minimiser is a modified Newton method with
//! finite-difference derivatives (central differences for the gradient; the Hessian's
//! eigenvalues replaced by their absolute values, so every step descends), a backtracking
//! line search, and, near the optimum, plain Newton steps. A component whose theta falls below
//! `THETA_SNAP` is tried at exactly 0 (the others re-polished); the fit keeps it there when the
//! criterion does not grow and 0 is a minimum in that direction. Several starts; the best is
//! kept and disagreements are logged.
//!
//! Finite differences place the optimum only to ~1e-6 relative along flat directions (see
//! [`polish`]): the best optimum is then polished by Newton steps on the analytic gradient
//! (`Criterion::value_and_gradient`), which converge to where the gradient vanishes, so that
//! the estimates equal the moment estimates to ~1e-10 on balanced data.
//!
//! Every evaluation reads the fit's cancellation flag; once it is set, evaluations return +inf
//! without computing anything and every loop ends at its next test.

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use super::Cancel;
use super::descent::{Verification, descend, verify};
use super::tolerances::{
    DECREMENT_CONVERGED, DECREMENT_STOP, FD_FLOOR, FD_REL, GRADIENT_REL, JOIN_REL, MAX_ITER,
    POLISH_MAX_ITER, POLISH_STEP_REL, SAME_OPTIMUM, SNAP_F_TOL, START_FLOOR, STEP_REL, THETA_MAX,
    THETA_SNAP,
};

/// One start of the optimiser.
#[derive(Debug, Clone, Serialize)]
pub struct StartRecord {
    /// Where the start came from (`moments`, `ones`, ...).
    pub label: String,
    pub theta_start: Vec<f64>,
    pub theta_end: Vec<f64>,
    pub criterion_start: f64,
    pub criterion_end: f64,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    /// False for a start not run because an earlier one reached a verified optimum.
    pub run: bool,
    pub message: String,
}

/// The optimiser's log, kept in the fit.
#[derive(Debug, Clone, Serialize)]
pub struct OptimLog {
    pub algorithm: String,
    /// The random terms, in the order of every theta vector of this log.
    pub terms: Vec<String>,
    pub starts: Vec<StartRecord>,
    /// Index into `starts` of the start whose optimum was kept.
    pub best_start: usize,
    /// Index into `starts` of the start whose verified optimum ended the search (the later
    /// starts were not run), if any.
    pub verified_start: Option<usize>,
    pub theta_start: Vec<f64>,
    pub theta_end: Vec<f64>,
    pub criterion_start: f64,
    pub criterion_end: f64,
    /// Evaluations of the criterion, all starts and the final checks included (with or
    /// without the gradient).
    pub evaluations: usize,
    /// Of those, evaluations with the analytic gradient.
    pub gradient_evaluations: usize,
    /// Gradient of the criterion in theta at the end: analytic (central differences when no
    /// analytic gradient is available); 0 by symmetry for a component at the boundary.
    pub gradient: Vec<f64>,
    /// For components at the boundary: d criterion / d(theta^2) at 0 (>= 0: 0 is a minimum).
    pub boundary_slopes: Vec<Option<f64>>,
    /// Eigenvalues of the Hessian over the interior components (differences of the analytic
    /// gradient, updated along the polish; second differences of criterion values without
    /// one).
    pub hessian_eigenvalues: Vec<f64>,
    /// g'H^{-1}g at the end: twice the predicted further decrease of the criterion.
    pub newton_decrement: f64,
    pub converged: bool,
    pub message: String,
}

/// What the optimiser minimises: values, and where available the analytic gradient.
pub(crate) trait Objective {
    fn value(&mut self, x: &[f64]) -> f64;
    /// Value and gradient at x, with a scale per coordinate: the size of the terms whose
    /// difference the gradient is (its rounding error is a small multiple of the scale times
    /// the machine epsilon). None when no analytic gradient exists or it cannot be computed.
    fn value_and_gradient(&mut self, _x: &[f64]) -> Option<Gradient> {
        None
    }
}

impl<F: FnMut(&[f64]) -> f64> Objective for F {
    fn value(&mut self, x: &[f64]) -> f64 {
        self(x)
    }
}

/// An analytic gradient with the scale of its rounding error.
pub(crate) struct Gradient {
    pub value: f64,
    pub gradient: Vec<f64>,
    pub scale: Vec<f64>,
}

/// The objective with an evaluation counter and the cancellation flag: once the flag is set
/// every evaluation returns +inf at once, so every loop of the optimiser ends promptly.
pub(crate) struct Counted<'a> {
    f: &'a mut dyn Objective,
    cancel: Cancel<'a>,
    pub evaluations: usize,
    pub gradient_evaluations: usize,
}

impl<'a> Counted<'a> {
    pub(crate) fn new(f: &'a mut dyn Objective, cancel: Cancel<'a>) -> Self {
        Counted {
            f,
            cancel,
            evaluations: 0,
            gradient_evaluations: 0,
        }
    }
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.is_set()
    }
    pub(crate) fn eval(&mut self, theta: &[f64]) -> f64 {
        if self.cancelled() {
            return f64::INFINITY;
        }
        self.evaluations += 1;
        let v = self.f.value(theta);
        if v.is_nan() { f64::INFINITY } else { v }
    }
    pub(crate) fn gradient(&mut self, theta: &[f64]) -> Option<Gradient> {
        if self.cancelled() {
            return None;
        }
        let g = self.f.value_and_gradient(theta);
        if g.is_some() {
            self.evaluations += 1;
            self.gradient_evaluations += 1;
        }
        g.filter(|g| g.value.is_finite() && g.gradient.iter().all(|v| v.is_finite()))
    }
}

fn fd_step(t: f64, even: bool) -> f64 {
    FD_REL * t.abs().max(if even { FD_FLOOR } else { 1.0 })
}

/// A coordinate after a step: theta coordinates (the first `n_even`) are folded to |x| and
/// capped; the others (log-variances in profiles) are left as they are.
pub(crate) fn fold(x: f64, a: usize, n_even: usize) -> f64 {
    if a < n_even {
        x.abs().min(THETA_MAX)
    } else {
        x
    }
}

/// Gradient and Hessian over the coordinates `free` by finite differences.
fn derivatives(
    f: &mut Counted<'_>,
    theta: &[f64],
    f0: f64,
    free: &[usize],
    n_even: usize,
) -> (DVector<f64>, DMatrix<f64>) {
    let m = free.len();
    let mut g = DVector::zeros(m);
    let mut h = DMatrix::zeros(m, m);
    let steps: Vec<f64> = free
        .iter()
        .map(|&a| fd_step(theta[a], a < n_even))
        .collect();
    let mut fp = vec![0.0; m];
    let mut x = theta.to_vec();
    for (ia, &a) in free.iter().enumerate() {
        let s = steps[ia];
        x[a] = theta[a] + s;
        let up = f.eval(&x);
        x[a] = theta[a] - s;
        let down = f.eval(&x);
        x[a] = theta[a];
        fp[ia] = up;
        g[ia] = (up - down) / (2.0 * s);
        h[(ia, ia)] = (up - 2.0 * f0 + down) / (s * s);
    }
    for ia in 0..m {
        for ib in 0..ia {
            let (a, b) = (free[ia], free[ib]);
            x[a] = theta[a] + steps[ia];
            x[b] = theta[b] + steps[ib];
            let both = f.eval(&x);
            x[a] = theta[a];
            x[b] = theta[b];
            let v = (both - fp[ia] - fp[ib] + f0) / (steps[ia] * steps[ib]);
            h[(ia, ib)] = v;
            h[(ib, ia)] = v;
        }
    }
    (g, h)
}

/// Modified Newton direction and decrement; the Hessian's eigenvalues.
pub(crate) fn newton_direction(
    g: &DVector<f64>,
    h: &DMatrix<f64>,
) -> (DVector<f64>, f64, Vec<f64>) {
    let m = g.len();
    if m == 0 {
        return (DVector::zeros(0), 0.0, Vec::new());
    }
    let finite = g.iter().all(|v| v.is_finite()) && h.iter().all(|v| v.is_finite());
    if !finite {
        return (DVector::zeros(m), f64::INFINITY, vec![f64::NAN; m]);
    }
    let eig = h.clone().symmetric_eigen();
    let lmax = eig.eigenvalues.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let floor = (lmax * 1e-10).max(1e-300);
    let mut d = DVector::zeros(m);
    for i in 0..m {
        let qi = eig.eigenvectors.column(i);
        let coef = qi.dot(g) / eig.eigenvalues[i].abs().max(floor);
        d -= qi * coef;
    }
    let dec = -g.dot(&d);
    (d, dec, eig.eigenvalues.iter().copied().collect())
}

pub(crate) struct LocalResult {
    pub(crate) theta: Vec<f64>,
    pub(crate) f: f64,
    pub(crate) iterations: usize,
    pub(crate) converged: bool,
    pub(crate) message: String,
}

/// Relative distance in theta (over the free coordinates).
fn theta_distance(a: &[f64], b: &[f64], fixed: &[bool]) -> f64 {
    a.iter()
        .zip(b)
        .zip(fixed)
        .filter(|(_, fx)| !**fx)
        .map(|((x, y), _)| (x.abs() - y.abs()).abs() / y.abs().max(FD_FLOOR))
        .fold(0.0, f64::max)
}

/// Newton iterations over the coordinates not fixed at 0. With `join`, the iterations stop
/// as soon as theta comes within `JOIN_REL` of that point (the optimum an earlier start
/// found): from there they would only polish the same optimum again.
pub(crate) fn newton(
    f: &mut Counted<'_>,
    theta0: &[f64],
    fixed: &[bool],
    join: Option<&[f64]>,
    n_even: usize,
    decrement_stop: f64,
) -> LocalResult {
    let free: Vec<usize> = (0..theta0.len()).filter(|&a| !fixed[a]).collect();
    let mut theta: Vec<f64> = theta0
        .iter()
        .zip(fixed)
        .enumerate()
        .map(|(a, (&t, &fx))| if fx { 0.0 } else { fold(t, a, n_even) })
        .collect();
    let mut f0 = f.eval(&theta);
    if !f0.is_finite() {
        return LocalResult {
            theta,
            f: f0,
            iterations: 0,
            converged: false,
            message: "the criterion is not finite at the start".into(),
        };
    }
    if free.is_empty() {
        return LocalResult {
            theta,
            f: f0,
            iterations: 0,
            converged: true,
            message: "every component at the boundary".into(),
        };
    }
    let mut noise_steps = 0;
    let mut message = format!("stopped after {MAX_ITER} iterations");
    let mut converged = false;
    let mut iterations = 0;
    for it in 0..MAX_ITER {
        if f.cancelled() {
            message = CANCELLED.into();
            break;
        }
        iterations = it + 1;
        let (g, h) = derivatives(f, &theta, f0, &free, n_even);
        let (d, dec, _) = newton_direction(&g, &h);
        if !dec.is_finite() {
            message = "non-finite derivatives".into();
            break;
        }
        if dec < 2.0 * decrement_stop {
            converged = true;
            message = "converged: Newton decrement below tolerance".into();
            break;
        }
        let noise = 1e-13 * f0.abs().max(1.0);
        let step_rel = free
            .iter()
            .enumerate()
            .map(|(i, &a)| d[i].abs() / theta[a].abs().max(if a < n_even { FD_FLOOR } else { 1.0 }))
            .fold(0.0, f64::max);
        let mut trial = theta.clone();
        if dec < 100.0 * noise {
            // The predicted decrease is at the level of rounding in the criterion: trust the
            // Newton step (the central-difference gradient is more accurate than differences
            // of criterion values here) unless it visibly makes things worse.
            for (i, &a) in free.iter().enumerate() {
                trial[a] = fold(theta[a] + d[i], a, n_even);
            }
            let ft = f.eval(&trial);
            if ft <= f0 + 10.0 * noise {
                theta = trial;
                f0 = ft.min(f0);
                noise_steps += 1;
                if join.is_some_and(|j| theta_distance(&theta, j, fixed) < JOIN_REL) {
                    converged = true;
                    message = JOINED.into();
                    break;
                }
                if step_rel < STEP_REL || noise_steps >= 3 {
                    converged = true;
                    message =
                        "converged: Newton steps at the rounding level of the criterion".into();
                    break;
                }
                continue;
            }
            converged = dec < DECREMENT_CONVERGED;
            message =
                "stopped: the Newton step does not decrease the criterion (rounding level)".into();
            break;
        }
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            if f.cancelled() {
                break;
            }
            for (i, &a) in free.iter().enumerate() {
                trial[a] = fold(theta[a] + alpha * d[i], a, n_even);
            }
            let ft = f.eval(&trial);
            if ft.is_finite() && ft <= f0 - 1e-4 * alpha * dec {
                accepted = Some(ft);
                break;
            }
            alpha *= 0.5;
        }
        let Some(ft) = accepted else {
            converged = dec < DECREMENT_CONVERGED;
            message = "stopped: line search found no decrease".into();
            break;
        };
        theta = trial;
        f0 = ft;
        if join.is_some_and(|j| theta_distance(&theta, j, fixed) < JOIN_REL) {
            converged = true;
            message = JOINED.into();
            break;
        }
        if alpha * step_rel < STEP_REL {
            converged = true;
            message = "converged: relative step below tolerance".into();
            break;
        }
        if free.iter().any(|&a| a < n_even && theta[a] >= THETA_MAX) {
            message = format!(
                "stopped: theta reached its upper limit {THETA_MAX:e} (residual variance -> 0)"
            );
            break;
        }
    }
    LocalResult {
        theta,
        f: f0,
        iterations,
        converged,
        message,
    }
}

/// Allowed growth of the criterion when a component is put at exactly 0: `SNAP_F_TOL`, or
/// the rounding level of a large criterion.
pub(crate) fn snap_tol(f: f64) -> f64 {
    SNAP_F_TOL.max(1e-12 * f.abs())
}

pub(crate) const CANCELLED: &str = "cancelled";

const JOINED: &str =
    "joined the optimum found by an earlier start (theta within 1e-3 relative); stopped there";

/// Newton from one start, then the boundary checks.
fn local(f: &mut Counted<'_>, start: &[f64], join: Option<&[f64]>) -> (LocalResult, Vec<bool>) {
    let k = start.len();
    let mut fixed = vec![false; k];
    let mut res = newton(f, start, &fixed, join, k, DECREMENT_STOP);
    if !res.f.is_finite() || res.message == JOINED || f.cancelled() {
        return (res, fixed);
    }
    // Try components near 0 at exactly 0.
    for _ in 0..k {
        let small: Vec<usize> = (0..k)
            .filter(|&a| !fixed[a] && res.theta[a].abs() < THETA_SNAP)
            .collect();
        if small.is_empty() {
            break;
        }
        let mut trial_fixed = fixed.clone();
        for &a in &small {
            trial_fixed[a] = true;
        }
        let trial = newton(f, &res.theta, &trial_fixed, None, k, DECREMENT_STOP);
        if trial.f <= res.f + snap_tol(res.f) {
            let iterations = res.iterations + trial.iterations;
            res = LocalResult {
                iterations,
                ..trial
            };
            fixed = trial_fixed;
        } else {
            break;
        }
    }
    // Second-order check at the boundary: 0 must be a minimum in each fixed direction.
    let released = release_boundary(f, &mut res, &mut fixed);
    if released {
        let again = newton(f, &res.theta, &fixed, None, k, DECREMENT_STOP);
        let iterations = res.iterations + again.iterations;
        res = LocalResult {
            iterations,
            ..again
        };
    }
    (res, fixed)
}

/// The second-order check at the boundary: a coordinate held at 0 whose criterion falls
/// a step inside is released (restarted at `START_FLOOR`); true when one was.
pub(crate) fn release_boundary(
    f: &mut Counted<'_>,
    res: &mut LocalResult,
    fixed: &mut [bool],
) -> bool {
    let mut released = false;
    for a in 0..fixed.len() {
        if !fixed[a] {
            continue;
        }
        let mut x = res.theta.clone();
        x[a] = 1e-3;
        if f.eval(&x) < res.f - snap_tol(res.f) {
            fixed[a] = false;
            released = true;
            res.theta[a] = START_FLOOR;
        }
    }
    released
}

/// The end of the polish.
struct Polished {
    /// Analytic gradient over the free coordinates at the polished point.
    gradient: DVector<f64>,
    /// Hessian from differences of the analytic gradient, with the BFGS updates of the polish.
    hessian: DMatrix<f64>,
    converged: bool,
    steps: usize,
    reason: &'static str,
}

/// Gradient over the free coordinates, and its rounding scale.
pub(crate) fn restrict(g: &Gradient, free: &[usize]) -> (DVector<f64>, Vec<f64>) {
    (
        DVector::from_iterator(free.len(), free.iter().map(|&a| g.gradient[a])),
        free.iter().map(|&a| g.scale[a]).collect(),
    )
}

/// Hessian over the free coordinates by forward differences of the analytic gradient from
/// `g0` (the gradient at theta), symmetrised: its rounding error is that of the gradient over
/// the step, far below that of second differences of criterion values, which swamps the
/// curvature of flat directions. (The O(h) truncation error is left to the BFGS updates of
/// the polish; one gradient per coordinate.)
pub(crate) fn gradient_hessian(
    f: &mut Counted<'_>,
    theta: &[f64],
    g0: &Gradient,
    free: &[usize],
) -> Option<DMatrix<f64>> {
    let n = theta.len();
    let m = free.len();
    let mut h = DMatrix::zeros(m, m);
    let mut x = theta.to_vec();
    for (ia, &a) in free.iter().enumerate() {
        let s = fd_step(theta[a], a < n);
        x[a] = theta[a] + s;
        let up = f.gradient(&x)?;
        x[a] = theta[a];
        for (ib, &b) in free.iter().enumerate() {
            h[(ib, ia)] = (up.gradient[b] - g0.gradient[b]) / s;
        }
    }
    Some((&h + h.transpose()) * 0.5)
}

/// The final polish: Newton steps on the analytic gradient, with the Hessian from forward
/// differences of that gradient at the optimum the finite-difference Newton found, updated
/// (BFGS) along the steps.
///
/// A central-difference gradient carries a truncation error of order h^2 times the third
/// derivative and a rounding error of order eps |f| / h, whichever the step h; along a flat
/// direction (small Hessian eigenvalue lambda) an error e in the gradient moves the optimum
/// by e / lambda: ~1e-6 relative on small balanced designs. The analytic gradient is accurate
/// to its rounding level, so the polish converges to where it vanishes. It stops when the
/// Newton step the gradient implies, -H^{-1} g, is below `POLISH_STEP_REL` (relative), or the
/// gradient is at its rounding level (`GRADIENT_REL` times the size of the terms it is the
/// difference of); a step that visibly increases the criterion is not taken. Without an
/// analytic gradient it does nothing.
fn polish(f: &mut Counted<'_>, res: &mut LocalResult, free: &[usize]) -> Option<Polished> {
    if free.is_empty() || !res.f.is_finite() {
        return None;
    }
    let n = res.theta.len();
    let mut cur = f.gradient(&res.theta)?;
    let mut h = gradient_hessian(f, &res.theta, &cur, free)?;
    let mut steps = 0;
    let mut reason = "iteration limit reached";
    let mut converged = false;
    for _ in 0..POLISH_MAX_ITER {
        let (g, scale) = restrict(&cur, free);
        if g.iter()
            .zip(&scale)
            .all(|(gi, si)| gi.abs() <= GRADIENT_REL * si)
        {
            converged = true;
            reason = "gradient at its rounding level";
            break;
        }
        let (d, dec, _) = newton_direction(&g, &h);
        if !dec.is_finite() {
            reason = "non-finite Newton step";
            break;
        }
        let step_rel = free
            .iter()
            .enumerate()
            .map(|(i, &a)| d[i].abs() / res.theta[a].abs().max(FD_FLOOR))
            .fold(0.0, f64::max);
        if step_rel < POLISH_STEP_REL {
            converged = true;
            reason = "Newton step from the gradient below tolerance";
            break;
        }
        // Full Newton step, halved while it visibly increases the criterion (far from the
        // optimum along a flat direction; near it the values differ only by rounding).
        let noise = 10.0 * 1e-13 * cur.value.abs().max(1.0);
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..20 {
            let mut trial = res.theta.clone();
            for (i, &a) in free.iter().enumerate() {
                trial[a] = fold(res.theta[a] + alpha * d[i], a, n);
            }
            match f.gradient(&trial) {
                Some(next) if next.value <= cur.value + noise => {
                    accepted = Some((trial, next));
                    break;
                }
                _ => alpha *= 0.5,
            }
        }
        let Some((trial, next)) = accepted else {
            reason = "no step along the Newton direction keeps the criterion";
            break;
        };
        // BFGS update of the Hessian with the step and the change of the gradient: the
        // curvature along the step becomes the secant one, which corrects the Hessian where
        // the criterion is far from quadratic (a flat direction the finite differences left
        // far from its optimum); skipped unless the curvature is positive.
        let sv = DVector::from_iterator(free.len(), free.iter().map(|&a| trial[a] - res.theta[a]));
        let yv = restrict(&next, free).0 - &g;
        let sy = sv.dot(&yv);
        let hs = &h * &sv;
        let shs = sv.dot(&hs);
        if sy > 1e-12 * sv.norm() * yv.norm() && shs > 0.0 {
            h += &yv * yv.transpose() / sy - &hs * hs.transpose() / shs;
        }
        res.theta = trial;
        res.f = next.value;
        cur = next;
        steps += 1;
    }
    Some(Polished {
        gradient: restrict(&cur, free).0,
        hessian: h,
        converged,
        steps,
        reason,
    })
}

pub(crate) struct OptimOutcome {
    pub theta: Vec<f64>,
    pub boundary: Vec<bool>,
    pub log: OptimLog,
    /// The profiled criterion's Hessian over the components off the boundary at the optimum
    /// (central differences of the analytic gradient), when the verification computed it.
    pub hessian: Option<DMatrix<f64>>,
}

/// Minimises `f` from each start, keeps the best, and ends the search at a verified optimum
/// (see [`optimize_with`]).
#[cfg(test)]
pub(crate) fn optimize(
    f: &mut dyn Objective,
    starts: Vec<(String, Vec<f64>)>,
    terms: Vec<String>,
    cancel: Cancel<'_>,
) -> OptimOutcome {
    optimize_with(f, starts, terms, cancel, true)
}

/// The best local optimum found so far.
struct Best {
    idx: usize,
    res: LocalResult,
    fixed: Vec<bool>,
    check: Option<Verification>,
}

/// A start's value, lifted off 0 (a stationary point of the even criterion).
fn start_point(theta0: &[f64]) -> Vec<f64> {
    theta0
        .iter()
        .map(|t| {
            let a = t.abs();
            if a.is_nan() || a == 0.0 {
                START_FLOOR
            } else {
                a.min(THETA_MAX)
            }
        })
        .collect()
}

/// Minimises `f` from each start in turn. With an analytic gradient, each start runs Newton
/// steps on it ([`descend`]) and its optimum is checked ([`verify`]); a verified optimum
/// ends the search when `stop_when_verified` (the later starts are logged as not run).
/// Without one (profiles, tests), each start runs the finite-difference Newton (`local`) and
/// the best is polished.
pub(crate) fn optimize_with(
    f: &mut dyn Objective,
    starts: Vec<(String, Vec<f64>)>,
    terms: Vec<String>,
    cancel: Cancel<'_>,
    stop_when_verified: bool,
) -> OptimOutcome {
    let mut counted = Counted::new(f, cancel);
    let k = terms.len();
    let mut records: Vec<StartRecord> = Vec::new();
    let mut best: Option<Best> = None;
    let mut ended_by: Option<usize> = None;
    for (label, theta0) in starts {
        let start = start_point(&theta0);
        if let Some(v) = ended_by {
            records.push(StartRecord {
                label,
                theta_start: start,
                theta_end: Vec::new(),
                criterion_start: f64::NAN,
                criterion_end: f64::NAN,
                iterations: 0,
                evaluations: 0,
                converged: false,
                run: false,
                message: format!(
                    "not run: the optimum from start `{}` was verified (RemlOptions::reml_starts asks for the multi-start check)",
                    records[v].label
                ),
            });
            continue;
        }
        // (Once cancelled, a start costs nothing: its evaluations return +inf at once. The
        // first start always runs, so that the log has a record.)
        if counted.cancelled() && !records.is_empty() {
            break;
        }
        let before = counted.evaluations;
        let (res, fixed, f_start, check) = match descend(&mut counted, &start) {
            Some(d) => {
                let check = verify(&mut counted, &d);
                (d.res, d.fixed, d.f_start, check)
            }
            None => {
                let f_start = counted.eval(&start);
                let join = best.as_ref().map(|b| b.res.theta.clone());
                let (res, fixed) = local(&mut counted, &start, join.as_deref());
                (res, fixed, f_start, None)
            }
        };
        let verified = check.as_ref().is_some_and(|c| c.verified);
        records.push(StartRecord {
            label,
            theta_start: start.clone(),
            theta_end: res.theta.clone(),
            criterion_start: f_start,
            criterion_end: res.f,
            iterations: res.iterations,
            evaluations: counted.evaluations - before,
            converged: res.converged,
            run: true,
            message: if verified {
                format!("{}; optimum verified", res.message)
            } else {
                res.message.clone()
            },
        });
        let idx = records.len() - 1;
        let better = match &best {
            None => res.f.is_finite() || k == 0,
            Some(b) => res.f < b.res.f && res.message != JOINED,
        };
        if better {
            best = Some(Best {
                idx,
                res,
                fixed,
                check,
            });
        }
        if stop_when_verified && best.as_ref().is_some_and(|b| b.idx == idx && verified) {
            ended_by = Some(idx);
        }
    }
    let best = best.unwrap_or_else(|| {
        let theta = vec![START_FLOOR; k];
        let fv = counted.eval(&theta);
        Best {
            idx: 0,
            res: LocalResult {
                theta,
                f: fv,
                iterations: 0,
                converged: false,
                message: "no start gave a finite criterion".into(),
            },
            fixed: vec![false; k],
            check: None,
        }
    });
    finish(counted, best, records, terms, ended_by)
}

/// The checks at the optimum kept (the descent's verification, or the polish of a
/// finite-difference optimum) and the log.
fn finish(
    mut counted: Counted<'_>,
    best: Best,
    records: Vec<StartRecord>,
    terms: Vec<String>,
    ended_by: Option<usize>,
) -> OptimOutcome {
    let k = terms.len();
    let Best {
        idx: best_idx,
        mut res,
        fixed,
        check,
    } = best;
    let free: Vec<usize> = (0..k).filter(|&a| !fixed[a]).collect();
    let mut message = res.message.clone();
    let mut kept_hessian = None;
    let (g, h, boundary_slopes, converged) = match check {
        Some(c) => {
            kept_hessian = Some(c.hessian.clone());
            message.push_str(if c.verified {
                "; verified: gradient at its rounding level or Newton decrement below 1e-8, Hessian positive definite, 0 a minimum along every component at the boundary"
            } else {
                "; NOT verified at the end"
            });
            (c.gradient, c.hessian, c.boundary_slopes, c.verified)
        }
        None => {
            let polished = polish(&mut counted, &mut res, &free);
            let (g, h) = match &polished {
                Some(p) => (p.gradient.clone(), p.hessian.clone()),
                None => derivatives(&mut counted, &res.theta, res.f, &free, k),
            };
            match &polished {
                Some(p) if p.converged => message.push_str(&format!(
                    "; polished on the analytic gradient ({} Newton steps, {})",
                    p.steps, p.reason
                )),
                Some(p) => message.push_str(&format!(
                    "; the polish on the analytic gradient stopped after {} Newton steps ({})",
                    p.steps, p.reason
                )),
                None => {}
            }
            let mut slopes = vec![None; k];
            for a in 0..k {
                if fixed[a] {
                    let hstep = 1e-3;
                    let mut x = res.theta.clone();
                    x[a] = hstep;
                    let fv = counted.eval(&x);
                    slopes[a] = Some((fv - res.f) / (hstep * hstep));
                }
            }
            (g, h, slopes, true)
        }
    };
    let (_, decrement, eigen) = newton_direction(&g, &h);
    let mut gradient = vec![0.0; k];
    for (i, &a) in free.iter().enumerate() {
        gradient[a] = g[i];
    }
    let positive_definite = eigen.iter().all(|&e| e > 0.0);
    let converged = converged
        && !counted.cancelled()
        && res.f.is_finite()
        && decrement.is_finite()
        && decrement < DECREMENT_CONVERGED
        && positive_definite
        && boundary_slopes
            .iter()
            .flatten()
            .all(|&s| s >= -snap_tol(res.f) / 1e-6);
    if counted.cancelled() {
        message.push_str("; cancelled");
    }
    if !positive_definite {
        message.push_str("; the Hessian at the end is not positive definite");
    }
    if decrement.is_finite() && decrement >= DECREMENT_CONVERGED {
        message.push_str(&format!("; Newton decrement {decrement:.3e} at the end"));
    }
    if let Some(v) = ended_by {
        let skipped = records.iter().filter(|r| !r.run).count();
        if skipped > 0 {
            message.push_str(&format!(
                "; the search ended at the verified optimum of start `{}` ({skipped} later start(s) not run; RemlOptions::reml_starts runs them all)",
                records[v].label
            ));
        }
    } else if records.iter().filter(|r| r.run).count() > 1 {
        message.push_str(&format!(
            "; multi-start check: {} starts run",
            records.iter().filter(|r| r.run).count()
        ));
    }
    let others: Vec<String> = records
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            r.run
                && *i != best_idx
                && r.message != JOINED
                && (r.criterion_end - res.f).abs() > SAME_OPTIMUM
        })
        .map(|(_, r)| {
            format!(
                "start `{}` stopped at criterion {:.10}",
                r.label, r.criterion_end
            )
        })
        .collect();
    if !others.is_empty() {
        message.push_str(&format!(
            "; other starts reached different points ({}): the criterion may have several local optima",
            others.join(", ")
        ));
    }
    let rec = &records[best_idx.min(records.len().saturating_sub(1))];
    let log = OptimLog {
        algorithm: "Newton steps on the analytic gradient of the profiled criterion (even in theta; Hessian from differences of the gradient, BFGS updates), backtracking line search, boundary snapping; starts in turn until one reaches a verified optimum (all of them with reml_starts); finite-difference Newton with a final polish where no analytic gradient exists".into(),
        terms,
        theta_start: rec.theta_start.clone(),
        criterion_start: rec.criterion_start,
        starts: records.clone(),
        best_start: best_idx,
        verified_start: ended_by,
        theta_end: res.theta.clone(),
        criterion_end: res.f,
        evaluations: counted.evaluations,
        gradient_evaluations: counted.gradient_evaluations,
        gradient,
        boundary_slopes,
        hessian_eigenvalues: eigen,
        newton_decrement: decrement,
        converged,
        message,
    };
    OptimOutcome {
        theta: res.theta,
        boundary: fixed,
        log,
        hessian: kept_hessian,
    }
}
