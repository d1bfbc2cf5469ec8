//! Profile-likelihood intervals of the variance components (lme4's
//! `confint(profile(fit))`, here on the variance scale).
//!
//! For a component fixed at v, the other parameters are re-optimised (the other theta_k and
//! log sigma^2 for a random term; every theta_k for the residual, whose variance is the fixed
//! one) and the interval is { v : min criterion(v) - criterion at the optimum <= chi^2_1(level) }.
//! Each end is found by bracketing in log v and regula falsi (Illinois) on that difference.
//! A component on the boundary, or one whose profile at 0 stays below the cutoff, has lower
//! limit 0.
//!
//! Each profile point is a few Newton steps on the analytic gradient of the criterion in the
//! other parameters ([`super::descent::iterate`]), from the neighbouring point's optimum
//! (extrapolated along the profile) with its Hessian: not a fresh optimisation (issue 17).
//! With theta_j = sqrt(v / s) for a random component j and t = log s, D(theta, s) =
//! logdet(theta) + d (log 2 pi + t) + r(theta) e^{-t} has dD/dtheta_i = logdet'_i + r'_i e^{-t}
//! and dD/dt = d - r e^{-t} - (theta_j / 2)(logdet'_j + r'_j e^{-t}); for the residual
//! (s = v fixed) dD/dtheta_i = logdet'_i + r'_i / v.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use nalgebra::DMatrix;

use super::descent::{IterOptions, iterate};
use super::optim::{Counted, Gradient, Objective};
use super::{Cancel, Criterion};

/// Smallest starting value of a theta coordinate in the inner fits (0 is a stationary point).
const INNER_FLOOR: f64 = 1e-2;
/// The inner fits stop at this Newton decrement (criterion units): the limits need the
/// profile to ~1e-8, not the last digit.
const INNER_DECREMENT: f64 = 1e-9;
/// The limits are solved to this accuracy of (profile - optimum - cutoff).
const ROOT_TOL: f64 = 1e-8;

struct Profile<'c> {
    crit: &'c mut Criterion,
    /// Random term whose variance is fixed (criterion order), or None for the residual.
    which: Option<usize>,
    cancel: Cancel<'c>,
    /// Warm start of the inner parameters.
    x: Vec<f64>,
    d_min: f64,
    evaluations: usize,
    /// The last two solved points (log v, inner optimum) along the current search: the next
    /// warm start is extrapolated linearly from them.
    history: Vec<(f64, Vec<f64>)>,
    /// The inner Hessian at the last solved point.
    hessian: Option<DMatrix<f64>>,
}

/// The criterion with one component's variance held at `v`, in the other parameters: theta_i
/// (i != j) and log sigma^2 for a random component j, every theta for the residual.
struct Held<'c> {
    crit: &'c mut Criterion,
    which: Option<usize>,
    v: f64,
}

impl Held<'_> {
    /// theta (all components) and sigma^2 of an inner point.
    fn unpack(&self, x: &[f64]) -> (Vec<f64>, f64) {
        let k = self.crit.terms.len();
        match self.which {
            Some(j) => {
                let s2 = x[k - 1].exp();
                let mut th = Vec::with_capacity(k);
                let mut it = x[..k - 1].iter();
                for i in 0..k {
                    if i == j {
                        th.push((self.v / s2).sqrt());
                    } else {
                        th.push(it.next().copied().unwrap_or(0.0));
                    }
                }
                (th, s2)
            }
            None => (x.to_vec(), self.v),
        }
    }
}

impl Objective for Held<'_> {
    fn value(&mut self, x: &[f64]) -> f64 {
        let (th, s2) = self.unpack(x);
        self.crit.full(&th, s2)
    }

    fn value_and_gradient(&mut self, x: &[f64]) -> Option<Gradient> {
        let (th, s2) = self.unpack(x);
        let d = self.crit.derivatives(&th)?;
        let df = self.crit.residual_df();
        let r = d.pieces.pwrss;
        let two_pi = 2.0 * std::f64::consts::PI;
        let value = d.pieces.logdet(self.crit.method) + df * (two_pi * s2).ln() + r / s2;
        if !value.is_finite() {
            return None;
        }
        let k = th.len();
        let part = |i: usize| d.dld[i] + d.dr[i] / s2;
        let part_scale = |i: usize| d.scale_ld[i] + (d.dr[i] / s2).abs();
        let (gradient, scale) = match self.which {
            Some(j) => {
                let mut g = Vec::with_capacity(k);
                let mut sc = Vec::with_capacity(k);
                for i in (0..k).filter(|&i| i != j) {
                    g.push(part(i));
                    sc.push(part_scale(i));
                }
                g.push(df - r / s2 - th[j] / 2.0 * part(j));
                sc.push(df + r / s2 + (th[j] / 2.0 * part_scale(j)).abs());
                (g, sc)
            }
            None => ((0..k).map(part).collect(), (0..k).map(part_scale).collect()),
        };
        Some(Gradient {
            value,
            gradient,
            scale,
        })
    }
}

impl Profile<'_> {
    /// Minimum of the criterion with the component at v, minus the optimum.
    fn excess(&mut self, v: f64) -> f64 {
        let k = self.crit.terms.len();
        let which = self.which;
        let cancel = self.cancel;
        let n_even = match which {
            Some(_) => k - 1,
            None => k,
        };
        let u = v.max(1e-300).ln();
        if let [(u1, x1), (u2, x2)] = self.history.as_slice()
            && (u2 - u1).abs() > 1e-12
        {
            let t = (u - u2) / (u2 - u1);
            self.x = x2.iter().zip(x1).map(|(b, a)| b + t * (b - a)).collect();
        }
        let start: Vec<f64> = self
            .x
            .iter()
            .enumerate()
            .map(|(a, &t)| {
                if a < n_even {
                    t.abs().max(INNER_FLOOR)
                } else {
                    t
                }
            })
            .collect();
        let mut held = Held {
            crit: &mut *self.crit,
            which,
            v,
        };
        let mut counted = Counted::new(&mut held, cancel);
        let mut fixed = vec![false; start.len()];
        let opts = IterOptions {
            n_even,
            decrement_stop: Some(INNER_DECREMENT),
            hessian: self.hessian.take(),
        };
        let Some(done) = iterate(&mut counted, start, &mut fixed, opts) else {
            self.evaluations += counted.evaluations;
            return f64::INFINITY;
        };
        self.evaluations += counted.evaluations;
        let res = done.res;
        // A Hessian over every inner coordinate is carried to the next point.
        self.hessian = done.hessian.filter(|h| h.nrows() == res.theta.len());
        if res.f.is_finite() {
            self.x = res.theta;
            if v > 0.0 {
                self.history.push((u, self.x.clone()));
                if self.history.len() > 2 {
                    self.history.remove(0);
                }
            }
        }
        res.f - self.d_min
    }

    /// From u0 (inside, excess - cutoff = h0 < 0) in steps of `step` (doubling) until the
    /// cutoff is crossed; then the root.
    fn search(&mut self, u0: f64, h0: f64, step: f64, cutoff: f64) -> Option<f64> {
        let (mut ua, mut ha) = (u0, h0);
        let mut step = step;
        for _ in 0..60 {
            if self.cancel.is_set() {
                return None;
            }
            let ub = ua + step;
            let hb = self.excess(ub.exp()) - cutoff;
            if hb.is_finite() && hb > 0.0 {
                return Some(self.root(ua, ha, ub, hb, cutoff));
            }
            if hb.is_finite() {
                ua = ub;
                ha = hb;
            }
            step *= 2.0;
            if !(ua + step).exp().is_finite() || (ua + step).exp() == 0.0 {
                return None;
            }
        }
        None
    }

    /// v (between a and b in log scale) where excess(v) = cutoff; excess(a) < cutoff < excess(b)
    /// in the direction of the search.
    fn root(&mut self, mut ua: f64, mut ha: f64, mut ub: f64, mut hb: f64, cutoff: f64) -> f64 {
        let mut side = 0i8;
        for _ in 0..80 {
            if self.cancel.is_set() {
                break;
            }
            let u = (ua * hb - ub * ha) / (hb - ha);
            let u = if u.is_finite() { u } else { 0.5 * (ua + ub) };
            let h = self.excess(u.exp()) - cutoff;
            if h.abs() < ROOT_TOL || (ub - ua).abs() < 1e-10 {
                return u.exp();
            }
            if (h < 0.0) == (ha < 0.0) {
                ua = u;
                ha = h;
                if side == -1 {
                    hb *= 0.5;
                }
                side = -1;
            } else {
                ub = u;
                hb = h;
                if side == 1 {
                    ha *= 0.5;
                }
                side = 1;
            }
        }
        (0.5 * (ua + ub)).exp()
    }
}

/// The profile interval of one component: `which` = random term (criterion order) or None
/// for the residual; `theta`, `sigma2`, `d_min` at the optimum. Returns (lower, upper,
/// evaluations); None when the profile cannot be bracketed (or the fit is cancelled).
#[allow(clippy::too_many_arguments)]
pub(crate) fn interval(
    crit: &mut Criterion,
    theta: &[f64],
    sigma2: f64,
    which: Option<usize>,
    d_min: f64,
    level: f64,
    se_log: Option<f64>,
    cancel: Cancel<'_>,
) -> Option<(f64, f64, usize)> {
    let cutoff = ChiSquared::new(1.0).ok()?.inverse_cdf(level);
    let v_hat = match which {
        Some(j) => theta[j] * theta[j] * sigma2,
        None => sigma2,
    };
    let x: Vec<f64> = match which {
        Some(j) => theta
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != j)
            .map(|(_, &t)| t)
            .chain(std::iter::once(sigma2.ln()))
            .collect(),
        None => theta.to_vec(),
    };
    let mut pr = Profile {
        crit,
        which,
        cancel,
        x: x.clone(),
        d_min,
        evaluations: 0,
        history: Vec::new(),
        hessian: None,
    };
    // Each end: a first guess from the Wald approximation on the log scale (the profile is
    // close to quadratic in log v), then outwards by doubling until the cutoff is crossed,
    // then regula falsi between the last point inside and the first outside.
    let z = cutoff.sqrt();
    let first_step = se_log
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(0.5, |s| 1.1 * z * s);
    // Upper end: from the estimate (or a small fraction of sigma^2 at the boundary) upwards.
    let u0 = if v_hat > 0.0 {
        v_hat.ln()
    } else {
        (sigma2 * 1e-4).ln()
    };
    let h0 = if v_hat > 0.0 {
        -cutoff
    } else {
        pr.excess(u0.exp()) - cutoff
    };
    if h0 >= 0.0 {
        return None;
    }
    let upper = pr.search(u0, h0, first_step.max(0.05), cutoff);
    // Lower end.
    pr.x = x;
    pr.history.clear();
    pr.hessian = None;
    let lower = if v_hat <= 0.0 {
        Some(0.0)
    } else {
        let at_zero = match which {
            Some(_) => pr.excess(0.0),
            None => f64::INFINITY,
        };
        if at_zero <= cutoff {
            Some(0.0)
        } else {
            pr.search(v_hat.ln(), -cutoff, -first_step.max(0.05), cutoff)
        }
    };
    Some((lower?, upper?, pr.evaluations))
}
