//! Minimising the profiled criterion over theta >= 0, with a log of the path (MixedModels.jl
//! `OptSummary`).
//!
//! The profiled criterion is an even function of every theta_k (flipping the sign of theta_k
//! flips the sign of u_k and changes nothing), so the bound theta >= 0 is met by minimising
//! over all of R^K and reporting |theta|. The minimiser is a modified Newton method with
//! finite-difference derivatives (central differences for the gradient; the Hessian's
//! eigenvalues replaced by their absolute values, so every step descends), a backtracking
//! line search, and, near the optimum, plain Newton steps that converge quadratically: this is
//! the "final polish" that makes the estimates equal the moment estimates to ~1e-9 on balanced
//! data. A component whose theta falls below `THETA_SNAP` is tried at exactly 0 (the others
//! re-polished); the fit keeps it there when the criterion does not grow and 0 is a minimum
//! in that direction. Several starts; the best is kept and disagreements are logged.

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use super::tolerances::{
    DECREMENT_CONVERGED, DECREMENT_STOP, FD_FLOOR, FD_REL, JOIN_REL, MAX_ITER, SAME_OPTIMUM,
    SNAP_F_TOL, START_FLOOR, STEP_REL, THETA_MAX, THETA_SNAP,
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
    pub theta_start: Vec<f64>,
    pub theta_end: Vec<f64>,
    pub criterion_start: f64,
    pub criterion_end: f64,
    /// Evaluations of the criterion, all starts and the final checks included.
    pub evaluations: usize,
    /// Central-difference gradient of the criterion in theta at the end (0 by symmetry for a
    /// component at the boundary).
    pub gradient: Vec<f64>,
    /// For components at the boundary: d criterion / d(theta^2) at 0 (>= 0: 0 is a minimum).
    pub boundary_slopes: Vec<Option<f64>>,
    /// Eigenvalues of the finite-difference Hessian over the interior components.
    pub hessian_eigenvalues: Vec<f64>,
    /// g'H^{-1}g at the end: twice the predicted further decrease of the criterion.
    pub newton_decrement: f64,
    pub converged: bool,
    pub message: String,
}

/// The objective with an evaluation counter.
pub(crate) struct Counted<'a> {
    f: &'a mut dyn FnMut(&[f64]) -> f64,
    pub evaluations: usize,
}

impl<'a> Counted<'a> {
    pub(crate) fn new(f: &'a mut dyn FnMut(&[f64]) -> f64) -> Self {
        Counted { f, evaluations: 0 }
    }
    pub(crate) fn eval(&mut self, theta: &[f64]) -> f64 {
        self.evaluations += 1;
        let v = (self.f)(theta);
        if v.is_nan() { f64::INFINITY } else { v }
    }
}

fn fd_step(t: f64, even: bool) -> f64 {
    FD_REL * t.abs().max(if even { FD_FLOOR } else { 1.0 })
}

/// A coordinate after a step: theta coordinates (the first `n_even`) are folded to |x| and
/// capped; the others (log-variances in profiles) are left as they are.
fn fold(x: f64, a: usize, n_even: usize) -> f64 {
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
fn newton_direction(g: &DVector<f64>, h: &DMatrix<f64>) -> (DVector<f64>, f64, Vec<f64>) {
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
fn snap_tol(f: f64) -> f64 {
    SNAP_F_TOL.max(1e-12 * f.abs())
}

const JOINED: &str =
    "joined the optimum found by an earlier start (theta within 1e-3 relative); stopped there";

/// Newton from one start, then the boundary checks.
fn local(f: &mut Counted<'_>, start: &[f64], join: Option<&[f64]>) -> (LocalResult, Vec<bool>) {
    let k = start.len();
    let mut fixed = vec![false; k];
    let mut res = newton(f, start, &fixed, join, k, DECREMENT_STOP);
    if !res.f.is_finite() || res.message == JOINED {
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
    let mut released = false;
    for a in 0..k {
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

pub(crate) struct OptimOutcome {
    pub theta: Vec<f64>,
    pub boundary: Vec<bool>,
    pub log: OptimLog,
}

/// Minimises `f` from each start; keeps the best.
pub(crate) fn optimize(
    f: &mut dyn FnMut(&[f64]) -> f64,
    starts: Vec<(String, Vec<f64>)>,
    terms: Vec<String>,
) -> OptimOutcome {
    let mut counted = Counted::new(f);
    let k = terms.len();
    let mut records = Vec::new();
    let mut best: Option<(usize, LocalResult, Vec<bool>)> = None;
    for (label, theta0) in starts {
        let start: Vec<f64> = theta0
            .iter()
            .map(|t| t.abs().clamp(START_FLOOR, THETA_MAX))
            .collect();
        let before = counted.evaluations;
        let f_start = counted.eval(&start);
        let join = best.as_ref().map(|(_, b, _)| b.theta.clone());
        let (res, fixed) = local(&mut counted, &start, join.as_deref());
        records.push(StartRecord {
            label,
            theta_start: start.clone(),
            theta_end: res.theta.clone(),
            criterion_start: f_start,
            criterion_end: res.f,
            iterations: res.iterations,
            evaluations: counted.evaluations - before,
            converged: res.converged,
            message: res.message.clone(),
        });
        let idx = records.len() - 1;
        let better = match &best {
            None => res.f.is_finite() || k == 0,
            Some((_, b, _)) => res.f < b.f && res.message != JOINED,
        };
        if better {
            best = Some((idx, res, fixed));
        }
    }
    let (best_idx, res, fixed) = match best {
        Some(b) => b,
        None => {
            let theta = vec![START_FLOOR; k];
            let fv = counted.eval(&theta);
            (
                0,
                LocalResult {
                    theta,
                    f: fv,
                    iterations: 0,
                    converged: false,
                    message: "no start gave a finite criterion".into(),
                },
                vec![false; k],
            )
        }
    };
    // Final checks at the optimum.
    let free: Vec<usize> = (0..k).filter(|&a| !fixed[a]).collect();
    let (g, h) = derivatives(&mut counted, &res.theta, res.f, &free, k);
    let (_, decrement, eigen) = newton_direction(&g, &h);
    let mut gradient = vec![0.0; k];
    for (i, &a) in free.iter().enumerate() {
        gradient[a] = g[i];
    }
    let mut boundary_slopes = vec![None; k];
    for a in 0..k {
        if fixed[a] {
            let hstep = 1e-3;
            let mut x = res.theta.clone();
            x[a] = hstep;
            let fv = counted.eval(&x);
            boundary_slopes[a] = Some((fv - res.f) / (hstep * hstep));
        }
    }
    let positive_definite = eigen.iter().all(|&e| e > 0.0);
    let converged = res.f.is_finite()
        && decrement.is_finite()
        && decrement < DECREMENT_CONVERGED
        && positive_definite
        && boundary_slopes
            .iter()
            .flatten()
            .all(|&s| s >= -snap_tol(res.f) / 1e-6);
    let mut message = res.message.clone();
    if !positive_definite {
        message.push_str("; the Hessian at the end is not positive definite");
    }
    if decrement.is_finite() && decrement >= DECREMENT_CONVERGED {
        message.push_str(&format!("; Newton decrement {decrement:.3e} at the end"));
    }
    let others: Vec<String> = records
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            *i != best_idx && r.message != JOINED && (r.criterion_end - res.f).abs() > SAME_OPTIMUM
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
        algorithm: "modified Newton with finite-difference derivatives on the profiled criterion (even in theta), backtracking line search, boundary snapping; several starts".into(),
        terms,
        theta_start: rec.theta_start.clone(),
        criterion_start: rec.criterion_start,
        starts: records.clone(),
        best_start: best_idx,
        theta_end: res.theta.clone(),
        criterion_end: res.f,
        evaluations: counted.evaluations,
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
    }
}
