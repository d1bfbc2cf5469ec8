//! The noncentral F distribution: P(F ≤ x) and P(F > x) for F ~ F′(d1, d2, λ), real
//! degrees of freedom and any noncentrality λ ≥ 0 (1e4 and beyond).
//!
//! F′ is a Poisson(λ/2) mixture of central F variates with d1 + 2j numerator degrees of
//! freedom (Abramowitz and Stegun 26.6.20):
//!
//! ```text
//! P(F′ ≤ x) = Σ_j  e^{-λ/2} (λ/2)^j / j!  ·  I_y(d1/2 + j, d2/2),   y = d1 x / (d1 x + d2)
//! ```
//!
//! The series is summed outward from the Poisson mode in both directions (as Lenth's AS 226
//! / Frick's AS R84 and Ding's algorithms do, so that the large terms come first and
//! nothing underflows at large λ). The incomplete beta function is evaluated once, at the
//! mode, and the others follow from the exact recurrence
//! `I_y(A + 1, b) = I_y(A, b) - y^A (1-y)^b / (A B(A, b))`, whose terms are themselves
//! computed by a two-term recurrence. The lower and upper tails are carried separately, each
//! summed with positive terms where it grows, so that either is accurate where it is small.
//! The Poisson weights are computed relative to the mode's and normalised by their sum,
//! which the loop carries past 1e-17 of the total in both directions.

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use super::beta::{beta_reg_pair_xy, ln_beta_kernel};

/// Relative size of the Poisson tail left out of each sum.
const TAIL: f64 = 1e-17;

/// P(F ≤ x) for F ~ F′(d1, d2, λ). `NaN` for invalid arguments (d1, d2 ≤ 0 or infinite,
/// λ < 0 or not finite).
pub fn ncf_cdf(x: f64, d1: f64, d2: f64, lambda: f64) -> f64 {
    ncf_tails(x, d1, d2, lambda).0
}

/// P(F > x) for F ~ F′(d1, d2, λ): the power of an F test with critical value `x` when
/// the numerator's noncentrality is λ.
pub fn ncf_sf(x: f64, d1: f64, d2: f64, lambda: f64) -> f64 {
    ncf_tails(x, d1, d2, lambda).1
}

/// `(P(F ≤ x), P(F > x))` for F ~ F′(d1, d2, λ).
pub fn ncf_tails(x: f64, d1: f64, d2: f64, lambda: f64) -> (f64, f64) {
    let valid = d1 > 0.0
        && d2 > 0.0
        && d1.is_finite()
        && d2.is_finite()
        && lambda >= 0.0
        && lambda.is_finite()
        && !x.is_nan();
    if !valid {
        return (f64::NAN, f64::NAN);
    }
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x.is_infinite() {
        return (1.0, 0.0);
    }
    let denom = d1 * x + d2;
    let (y, yc) = (d1 * x / denom, d2 / denom);
    let (a, b) = (d1 / 2.0, d2 / 2.0);
    let mu = lambda / 2.0;
    let m = mu.floor();
    let (p_m, q_m) = beta_reg_pair_xy(a + m, b, y, yc);
    if p_m.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    if mu == 0.0 {
        return (p_m, q_m);
    }
    // t_j = y^A (1-y)^b / (A B(A, b)), A = a + j: P_{j+1} = P_j - t_j, Q_{j+1} = Q_j + t_j.
    let t_m = if y > 0.0 && yc > 0.0 {
        (ln_beta_kernel(a + m, b, y, yc) - (a + m).ln()).exp()
    } else {
        0.0
    };
    let start = Term {
        w: 1.0,
        p: p_m,
        q: q_m,
        t: t_m,
    };
    let up = sum_upward(start, m, mu, a, b, y);
    let down = sum_downward(start, m, mu, a, b, y);
    let w = up.w + down.w;
    let cdf = ((up.p + down.p) / w).clamp(0.0, 1.0);
    let sf = ((up.q + down.q) / w).clamp(0.0, 1.0);
    (cdf, sf)
}

/// The state at one index j: the Poisson weight relative to the mode's, P_j, Q_j, t_j.
#[derive(Clone, Copy)]
struct Term {
    w: f64,
    p: f64,
    q: f64,
    t: f64,
}

/// Sums of weights, weighted lower tails and weighted upper tails.
#[derive(Clone, Copy, Default)]
struct Sums {
    w: f64,
    p: f64,
    q: f64,
}

impl Sums {
    fn add(&mut self, s: &Term) {
        self.w += s.w;
        self.p += s.w * s.p;
        self.q += s.w * s.q;
    }
}

/// Most terms either way: the Poisson tail is below 1e-17 of the mode's weight well within
/// 40 standard deviations.
fn max_steps(mu: f64) -> u64 {
    (40.0 * mu.sqrt() + 1000.0) as u64
}

/// Terms j = m, m+1, ... until the Poisson tail beyond is negligible in every sum.
fn sum_upward(start: Term, m: f64, mu: f64, a: f64, b: f64, y: f64) -> Sums {
    let mut s = start;
    let mut sums = Sums::default();
    let mut j = m;
    for _ in 0..max_steps(mu) {
        sums.add(&s);
        let big_a = a + j;
        s.p = (s.p - s.t).max(0.0);
        s.q = (s.q + s.t).min(1.0);
        s.t *= y * (big_a + b) / (big_a + 1.0);
        j += 1.0;
        s.w *= mu / j;
        // Σ_{i ≥ j} w_i ≤ w_j / (1 - μ/(j+1)) once j + 1 > μ.
        let ratio = mu / (j + 1.0);
        if ratio < 1.0 {
            let tail = s.w / (1.0 - ratio);
            // P decreases with j, Q is at most 1.
            if tail <= TAIL * sums.w && tail * s.p <= TAIL * sums.p && tail <= TAIL * sums.q {
                break;
            }
            if s.w == 0.0 {
                break;
            }
        }
    }
    sums
}

/// Terms j = m-1, m-2, ..., 0 until the Poisson tail below is negligible in every sum.
fn sum_downward(start: Term, m: f64, mu: f64, a: f64, b: f64, y: f64) -> Sums {
    let mut s = start;
    let mut sums = Sums::default();
    let mut j = m;
    let mut steps = 0;
    while j >= 1.0 && steps < max_steps(mu) {
        steps += 1;
        j -= 1.0;
        let big_a = a + j;
        // t_j = t_{j+1} (A + 1) / (y (A + b)).
        if s.t > 0.0 {
            s.t *= (big_a + 1.0) / (y * (big_a + b));
        }
        s.p = (s.p + s.t).min(1.0);
        s.q = (s.q - s.t).max(0.0);
        s.w *= (j + 1.0) / mu;
        sums.add(&s);
        // Σ_{i < j} w_i ≤ w_j (j/μ) / (1 - j/μ).
        let ratio = j / mu;
        if ratio < 1.0 {
            let tail = s.w * ratio / (1.0 - ratio);
            // P is at most 1, Q decreases as j falls.
            if tail <= TAIL * (sums.w + 1.0) && tail <= TAIL * sums.p && tail * s.q <= TAIL * sums.q
            {
                break;
            }
            if s.w == 0.0 {
                break;
            }
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_noncentrality_is_the_central_f() {
        for &(x, d1, d2) in &[(2.5, 3.0, 12.0), (0.3, 1.0, 2.5), (7.0, 10.0, 40.0)] {
            let (c, s) = ncf_tails(x, d1, d2, 0.0);
            assert!((s - super::super::f_sf(x, d1, d2)).abs() < 1e-14);
            assert!((c + s - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn tails_add_to_one() {
        for &lambda in &[0.5, 3.7, 40.0, 900.0, 2e4] {
            let (c, s) = ncf_tails(3.0, 4.0, 17.5, lambda);
            assert!((c + s - 1.0).abs() < 1e-13, "{lambda}: {c} + {s}");
        }
    }

    #[test]
    fn invalid_arguments_give_nan() {
        assert!(ncf_sf(1.0, 0.0, 2.0, 1.0).is_nan());
        assert!(ncf_sf(1.0, 2.0, 2.0, -1.0).is_nan());
        assert!(ncf_sf(f64::NAN, 2.0, 2.0, 1.0).is_nan());
        assert_eq!(ncf_sf(-1.0, 2.0, 2.0, 1.0), 1.0);
        assert_eq!(ncf_sf(f64::INFINITY, 2.0, 2.0, 1.0), 0.0);
    }
}
