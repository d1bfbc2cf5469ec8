//! Newton steps on the analytic gradient from one start, and the verification of the optimum
//! it reaches (issue 17: fewer, better steps).
//!
//! From a start, the Hessian is taken once from forward differences of the analytic
//! gradient (one gradient per free coordinate) and then updated along the steps (BFGS); each
//! step is a modified Newton step (the Hessian's eigenvalues replaced by their absolute
//! values, so that it descends) with a backtracking line search on the criterion. The
//! criterion is even in every theta_k: a coordinate that crosses 0 is folded back to |theta|,
//! and one that comes below `THETA_SNAP` is tried at exactly 0 (kept there when the
//! criterion does not grow; released when 0 is not a minimum along it). The iterations stop
//! where the gradient is at its rounding level or the Newton step falls below
//! `POLISH_STEP_REL`: from a good start (the moment estimates on balanced data) that is at
//! once.
//!
//! The optimum is *verified* when, there, the gradient over the free coordinates is at its
//! rounding level (or the Newton decrement below `DECREMENT_CONVERGED`), the Hessian from
//! differences of the gradient is positive definite, and 0 is a minimum along every component
//! held at the boundary (d criterion / d theta_k^2 >= 0). A verified optimum ends the search
//! over starts unless the multi-start check is asked for (`RemlOptions::reml_starts`).

use nalgebra::{DMatrix, DVector};

use super::optim::{
    CANCELLED, Counted, Gradient, LocalResult, fold, gradient_hessian, newton_direction, restrict,
    snap_tol,
};
use super::tolerances::{
    DECREMENT_CONVERGED, FD_FLOOR, GRADIENT_REL, HESSIAN_FD_REL, MAX_ITER, NEWTON_DONE_REL,
    STALL_STEP_REL, THETA_MAX, THETA_SNAP,
};

/// What the check at an optimum found.
#[derive(Debug, Clone)]
pub(crate) struct Verification {
    /// Gradient over the free coordinates.
    pub gradient: DVector<f64>,
    /// Hessian over the free coordinates (forward differences of the analytic gradient).
    pub hessian: DMatrix<f64>,
    /// d criterion / d(theta^2) at 0 for the components at the boundary.
    pub boundary_slopes: Vec<Option<f64>>,
    /// Every condition met.
    pub verified: bool,
}

fn at_rounding_level(g: &DVector<f64>, scale: &[f64]) -> bool {
    g.iter()
        .zip(scale)
        .all(|(gi, si)| gi.abs() <= GRADIENT_REL * si)
}

/// Largest Newton step relative to max(|theta|, `FD_FLOOR`) (to max(|x|, 1) for the
/// coordinates after the first `n_even`).
fn step_rel(d: &DVector<f64>, theta: &[f64], free: &[usize], n_even: usize) -> f64 {
    free.iter()
        .enumerate()
        .map(|(i, &a)| d[i].abs() / theta[a].abs().max(if a < n_even { FD_FLOOR } else { 1.0 }))
        .fold(0.0, f64::max)
}

/// How [`iterate`] runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct IterOptions {
    /// The first `n_even` coordinates are theta (even: folded to |theta|, snapped to 0 at
    /// the boundary); the others (log sigma^2 in profiles) are free.
    pub n_even: usize,
    /// Also stop when the Newton decrement falls below this (profiles need the criterion,
    /// not the last digit of theta).
    pub decrement_stop: Option<f64>,
    /// A Hessian to start from (the neighbouring profile point's).
    pub hessian: Option<DMatrix<f64>>,
}

/// The end of [`iterate`].
pub(crate) struct Iterated {
    pub res: LocalResult,
    /// The criterion at the start.
    pub f_start: f64,
    /// The Hessian over the free coordinates at the end (updated along the steps).
    pub hessian: Option<DMatrix<f64>>,
    /// The value and gradient at the end.
    pub gradient: Gradient,
}

/// Newton iterations on the analytic gradient over the coordinates not in `fixed`, which
/// may grow when coordinates reach the boundary. None when the objective has no analytic
/// gradient at the start.
pub(crate) fn iterate(
    f: &mut Counted<'_>,
    start: Vec<f64>,
    fixed: &mut [bool],
    opts: IterOptions,
) -> Option<Iterated> {
    let k = start.len();
    let n_even = opts.n_even.min(k);
    let mut x = start;
    let mut cur = f.gradient(&x)?;
    let f_start = cur.value;
    let mut h: Option<DMatrix<f64>> = opts.hessian;
    let mut last_h: Option<DMatrix<f64>> = None;
    let mut prev_dec: Option<f64> = None;
    let mut prev_step: Option<f64> = None;
    let mut stalls = 0;
    let mut iterations = 0;
    let mut converged = false;
    let mut message = format!("stopped after {MAX_ITER} iterations");
    for _ in 0..MAX_ITER {
        if f.cancelled() {
            message = CANCELLED.into();
            break;
        }
        // Components come to the boundary: try them at exactly 0.
        let small: Vec<usize> = (0..n_even)
            .filter(|&a| !fixed[a] && x[a] < THETA_SNAP)
            .collect();
        if !small.is_empty() {
            let mut trial = x.clone();
            for &a in &small {
                trial[a] = 0.0;
            }
            if let Some(g) = f.gradient(&trial)
                && g.value <= cur.value + snap_tol(cur.value)
            {
                for &a in &small {
                    fixed[a] = true;
                }
                x = trial;
                cur = g;
                h = None;
                prev_dec = None;
            }
        }
        let free: Vec<usize> = (0..k).filter(|&a| !fixed[a]).collect();
        if free.is_empty() {
            converged = true;
            message = "every component at the boundary".into();
            break;
        }
        let (g, scale) = restrict(&cur, &free);
        if at_rounding_level(&g, &scale) {
            converged = true;
            message = "converged: gradient at its rounding level".into();
            break;
        }
        let (hm, fresh) = match h.take() {
            Some(hm) if hm.nrows() == free.len() => (hm, false),
            _ => match gradient_hessian(f, &x, &cur, &free) {
                Some(hm) => (hm, true),
                None => {
                    message = "the gradient is not finite next to the point".into();
                    break;
                }
            },
        };
        last_h = Some(hm.clone());
        let (d, dec, _) = newton_direction(&g, &hm);
        if !dec.is_finite() {
            message = "non-finite Newton step".into();
            break;
        }
        // (Not on the decrement by default: along a flat direction it is tiny while the step
        // is not.)
        let sr = step_rel(&d, &x, &free, n_even);
        if sr < NEWTON_DONE_REL {
            converged = true;
            message = format!("converged: Newton step {sr:.1e} relative");
            break;
        }
        // Near the optimum a Newton step squares the previous one; steps that stay at the
        // same small size twice running are the gradient's rounding error (large problems
        // sum it over many levels): the optimum is reached to that level.
        stalls = if sr < STALL_STEP_REL && prev_step.is_some_and(|p| sr > 0.5 * p) {
            stalls + 1
        } else {
            0
        };
        prev_step = Some(sr);
        if stalls >= 2 {
            converged = true;
            message = format!(
                "converged: Newton steps at the rounding level of the gradient ({sr:.1e} relative)"
            );
            break;
        }
        if opts.decrement_stop.is_some_and(|t| dec < t) {
            converged = true;
            message = "converged: Newton decrement below tolerance".into();
            break;
        }
        let noise = 1e-12 * cur.value.abs().max(1.0);
        let mut alpha = 1.0;
        let mut accepted: Option<(Vec<f64>, Gradient)> = None;
        for _ in 0..40 {
            let mut trial = x.clone();
            for (i, &a) in free.iter().enumerate() {
                trial[a] = fold(x[a] + alpha * d[i], a, n_even);
            }
            if let Some(next) = f.gradient(&trial) {
                let enough = next.value <= cur.value - 1e-4 * alpha * dec;
                // Along a flat direction the criterion changes at its rounding level while
                // the gradient still points the way: a step that does not visibly raise the
                // criterion and shrinks the gradient is taken (the final polish's rule).
                let flat =
                    next.value <= cur.value + noise && restrict(&next, &free).0.norm() < g.norm();
                if enough || flat {
                    accepted = Some((trial, next));
                    break;
                }
            }
            if f.cancelled() {
                break;
            }
            alpha *= 0.5;
        }
        let Some((trial, next)) = accepted else {
            if !fresh {
                // A Hessian carried along by updates: take a fresh one and try again.
                h = None;
                prev_dec = None;
                continue;
            }
            converged = dec < DECREMENT_CONVERGED;
            message = "stopped: the line search found no decrease".into();
            break;
        };
        // A full step that stayed on the same side of 0 in every coordinate: update the
        // Hessian (BFGS) with the step and the change of the gradient; otherwise the next
        // iteration takes a fresh one from differences of the gradient.
        let folded = free
            .iter()
            .enumerate()
            .any(|(i, &a)| a < n_even && x[a] + alpha * d[i] < 0.0);
        // A Newton step at least quarters the decrement near the optimum; a Hessian carried
        // along by updates that does not is replaced by a fresh one.
        let slow = prev_dec.is_some_and(|p| dec > 0.25 * p);
        prev_dec = Some(dec);
        h = if alpha == 1.0 && !folded && !slow {
            let sv = DVector::from_iterator(free.len(), free.iter().map(|&a| trial[a] - x[a]));
            let yv = restrict(&next, &free).0 - &g;
            let sy = sv.dot(&yv);
            let hs = &hm * &sv;
            let shs = sv.dot(&hs);
            let mut hm = hm;
            if sy > 1e-12 * sv.norm() * yv.norm() && shs > 0.0 {
                hm += &yv * yv.transpose() / sy - &hs * hs.transpose() / shs;
            }
            Some(hm)
        } else {
            None
        };
        x = trial;
        cur = next;
        iterations += 1;
        if free.iter().any(|&a| a < n_even && x[a] >= THETA_MAX) {
            message = format!(
                "stopped: theta reached its upper limit {THETA_MAX:e} (residual variance -> 0)"
            );
            break;
        }
    }
    Some(Iterated {
        res: LocalResult {
            theta: x,
            f: cur.value,
            iterations,
            converged,
            message,
        },
        f_start,
        hessian: h.or(last_h),
        gradient: cur,
    })
}

/// Newton on the analytic gradient from one start; components at 0 that are not minima
/// along their direction are released and the iterations resumed. None when the objective
/// has no analytic gradient; otherwise the optimum, the components held at 0 and the
/// criterion at the start.
pub(crate) fn descend(f: &mut Counted<'_>, start: &[f64]) -> Option<Descent> {
    let k = start.len();
    let mut fixed = vec![false; k];
    let x: Vec<f64> = start.iter().map(|t| t.abs().min(THETA_MAX)).collect();
    let theta_only = || IterOptions {
        n_even: k,
        ..IterOptions::default()
    };
    let first = iterate(f, x, &mut fixed, theta_only())?;
    let (mut res, f_start, mut gradient) = (first.res, first.f_start, first.gradient);
    for _ in 0..k {
        if !res.f.is_finite() || f.cancelled() {
            break;
        }
        if !super::optim::release_boundary(f, &mut res, &mut fixed) {
            break;
        }
        let iterations = res.iterations;
        let again = iterate(f, res.theta.clone(), &mut fixed, theta_only())?;
        gradient = again.gradient;
        res = LocalResult {
            iterations: iterations + again.res.iterations,
            ..again.res
        };
    }
    Some(Descent {
        res,
        fixed,
        f_start,
        gradient,
    })
}

/// The end of a descent from one start.
pub(crate) struct Descent {
    pub res: LocalResult,
    /// Components held at 0.
    pub fixed: Vec<bool>,
    /// The criterion at the start.
    pub f_start: f64,
    /// Value and gradient at the end.
    pub gradient: Gradient,
}

/// The Hessian over the free coordinates by central differences of the analytic gradient,
/// steps `HESSIAN_FD_REL` |theta| (the same as the deviance Hessian of the standard errors,
/// which reuses it).
fn central_hessian(f: &mut Counted<'_>, theta: &[f64], free: &[usize]) -> Option<DMatrix<f64>> {
    let m = free.len();
    let mut h = DMatrix::zeros(m, m);
    let mut x = theta.to_vec();
    for (ia, &a) in free.iter().enumerate() {
        let step = HESSIAN_FD_REL * theta[a].abs();
        x[a] = theta[a] + step;
        let up = f.gradient(&x)?;
        x[a] = theta[a] - step;
        let down = f.gradient(&x)?;
        x[a] = theta[a];
        for (ib, &b) in free.iter().enumerate() {
            h[(ib, ia)] = (up.gradient[b] - down.gradient[b]) / (2.0 * step);
        }
    }
    Some((&h + h.transpose()) * 0.5)
}

/// The checks at the end of a descent: gradient, Hessian (central differences of the
/// gradient), boundary conditions.
pub(crate) fn verify(f: &mut Counted<'_>, d: &Descent) -> Option<Verification> {
    let (res, fixed, cur) = (&d.res, &d.fixed, &d.gradient);
    let k = res.theta.len();
    let free: Vec<usize> = (0..k).filter(|&a| !fixed[a]).collect();
    let (g, scale) = restrict(cur, &free);
    let hessian = if free.is_empty() {
        DMatrix::zeros(0, 0)
    } else {
        central_hessian(f, &res.theta, &free)?
    };
    let (_, decrement, eigenvalues) = newton_direction(&g, &hessian);
    let mut boundary_slopes = vec![None; k];
    for a in 0..k {
        if fixed[a] {
            let hstep = 1e-3;
            let mut x = res.theta.clone();
            x[a] = hstep;
            let fv = f.eval(&x);
            boundary_slopes[a] = Some((fv - res.f) / (hstep * hstep));
        }
    }
    let at_rounding = at_rounding_level(&g, &scale);
    let verified = !f.cancelled()
        && res.f.is_finite()
        && (at_rounding || decrement < DECREMENT_CONVERGED)
        && eigenvalues.iter().all(|&e| e > 0.0)
        && boundary_slopes
            .iter()
            .flatten()
            .all(|&s| s >= -snap_tol(res.f) / 1e-6);
    Some(Verification {
        gradient: g,
        hessian,
        boundary_slopes,
        verified,
    })
}
