//! Confidence intervals for the rows of the gauge table, by the modified large-sample (MLS)
//! formulas of Burdick, Borror and Montgomery (2005, *Design and Analysis of Gauge R&R
//! Studies*, ASA-SIAM; chapter 3, the balanced two-factor crossed random model with and
//! without interaction), the formulas Minitab's *Gage R&R Study (Crossed)* cites (through
//! Burdick, Borror and Montgomery 2003, *J. Quality Technology* 35(4) 342-354).
//!
//! Every row of the table is a linear combination `γ = Σ c_i θ_i` of expected mean squares
//! `θ_i` (estimated by the mean squares `S²_i` with `n_i` df), and so is the total variance
//! `γ_Y = Σ t_i θ_i`. With `α` = 1 - level and `G_i = 1 - 1/F(1-α/2; n_i, ∞)`,
//! `H_i = 1/F(α/2; n_i, ∞) - 1`:
//!
//! **Variance components** ([`Solver::interval`], [`VarcompMethod`]):
//! - one mean square (Repeatability, `S²_E`): the exact chi-square interval
//!   `[(1 - G_E) S²_E, (1 + H_E) S²_E]`;
//! - a sum with every `c > 0` (Total Gage R&R `γ_M`, Total Variation `γ_Y`): Graybill and
//!   Wang's (1980) interval `γ̂ ∓ sqrt(Σ G²_q c²_q S⁴_q)` / `sqrt(Σ H²_q c²_q S⁴_q)`, the book's
//!   `V_LM`, `V_UM`, `V_LY`, `V_UY`, with no cross terms;
//! - a combination with a subtracted mean square (Part-To-Part `γ_P`, Operator,
//!   Operator*Part, Reproducibility, and the nested study's rows): the interval of Ting,
//!   Burdick, Graybill, Jeyaratnam and Lu (1990), as Burdick and Graybill (1992,
//!   *Confidence Intervals on Variance Components*, §3.3) state it, with the constants
//!   `G_qr`, `H_qr`, `G*_qt`, `H*_ru` of [`crate::moments::intervals::Mls`]: the book's
//!   `V_LP`/`V_UP` (`G_13`, `H_13`), the operator's (`G_23`, `H_23`), the interaction's
//!   (`G_34`, `H_34`) and reproducibility's (`G_24`, `G_34`, `G*_23`).
//!
//! **Shares of the total** (%Contribution; %Study Var is 100 × the square root of their
//! bounds), [`ShareMethod`]:
//! - Part-To-Part `ρ_P = γ_P/γ_Y` and Total Gage R&R `ρ_M = γ_M/γ_Y` from the book's
//!   interval `[L*, U*]` on `γ_P/γ_M` ([`factor_ratio_with_interaction`], from Burdick and
//!   Larsen 1997, *J. Quality Technology* 29; [`factor_ratio_without_interaction`] for the
//!   model without interaction): `ρ_P ∈ [L*/(1+L*), U*/(1+U*)]`,
//!   `ρ_M ∈ [1/(1+U*), 1/(1+L*)]`, with `L*`, `U*` set to 0 when negative;
//! - Operator (and Reproducibility, when the interaction is not in the model): the same
//!   formula with the roles of parts and operators exchanged, an interval on
//!   `σ²_O / (γ_Y - σ²_O)` (the model is symmetric in its two random factors);
//! - the other rows (Repeatability, Operator*Part, Reproducibility with the interaction,
//!   every row of the nested study), for which the book gives no closed form: the set of
//!   `δ` for which Ting et al.'s interval on `γ - δ γ_Y` covers 0, its ends found by
//!   bisection on [0, 1] ([`Solver::inverted_share`]).
//!
//! Minitab's Help ("Methods and formulas for variance ratios in confidence intervals",
//! Crossed Gage R&R Study) gives its own MLS formulas for the shares of the other rows, with
//! a Satterthwaite approximation where their conditions fail; those formulas are printed
//! as images that this implementation could not consult, so those rows can differ from
//! Minitab's (the method is reported per row).
//!
//! Standard deviations, study variation and %Tolerance are the square root (times the
//! multiplier, over the tolerance) of the bounds on the variance. Negative bounds are set
//! to 0; shares are kept in [0, 1].

use std::collections::HashMap;

use crate::dist::{chi2_quantile, f_quantile};
use crate::moments::intervals::{Mls, MsTerm};

/// A mean square and its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSquare {
    pub ms: f64,
    pub df: f64,
}

/// How the interval on a variance component (and on its SD, study variation and
/// %Tolerance) was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarcompMethod {
    /// One mean square: exact, from the chi-square distribution.
    ChiSquare,
    /// A sum of mean squares: Graybill and Wang (1980).
    GraybillWang,
    /// A combination with a subtracted mean square: Ting et al. (1990).
    Ting,
}

impl VarcompMethod {
    /// The JSON `ci.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            VarcompMethod::ChiSquare => "chi-square",
            VarcompMethod::GraybillWang => "mls-graybill-wang",
            VarcompMethod::Ting => "mls-ting",
        }
    }
}

/// How the interval on a share of the total (%Contribution, %Study Var) was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareMethod {
    /// From the book's interval on `γ_P/γ_M` (Part-To-Part, Total Gage R&R, and the
    /// number of distinct categories).
    PartGaugeRatio,
    /// The same interval with parts and operators exchanged (Operator; Reproducibility
    /// without the interaction).
    OperatorRatio,
    /// Ting et al.'s interval on `γ - δ γ_Y`, inverted for `δ`.
    Inverted,
}

impl ShareMethod {
    /// The JSON `ci.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShareMethod::PartGaugeRatio => "mls-part-gauge-ratio",
            ShareMethod::OperatorRatio => "mls-operator-ratio",
            ShareMethod::Inverted => "mls-inverted",
        }
    }
}

/// Coefficients below this (relative to the largest) are taken as 0.
const ZERO_COEFFICIENT: f64 = 1e-14;

/// Bisection steps: the bracket [0, 1] halves 200 times, far below one ulp.
const BISECTION_STEPS: usize = 200;

/// `G = 1 - 1/F(1-a; n, ∞)` and `H = 1/F(a; n, ∞) - 1`, `a` one tail.
fn g_h(n: f64, tail: f64) -> (f64, f64) {
    (
        1.0 - n / chi2_quantile(1.0 - tail, n),
        n / chi2_quantile(tail, n) - 1.0,
    )
}

/// Graybill and Wang's interval on `Σ c_q S²_q`, every `c_q > 0`: `(c, ms, df)` per term.
fn graybill_wang(terms: &[(f64, MeanSquare)], alpha: f64) -> Option<(f64, f64)> {
    let (mut est, mut vl, mut vu) = (0.0, 0.0, 0.0);
    for &(c, m) in terms {
        let (g, h) = g_h(m.df, alpha / 2.0);
        let cs = c * m.ms;
        est += cs;
        vl += (g * cs).powi(2);
        vu += (h * cs).powi(2);
    }
    let b = (est - vl.sqrt(), est + vu.sqrt());
    (b.0.is_finite() && b.1.is_finite()).then_some(b)
}

/// MLS bounds on combinations of one set of mean squares, with Ting's constants of each
/// sign pattern computed once.
pub struct Solver<'a> {
    ms: &'a [MeanSquare],
    alpha: f64,
    cache: HashMap<Vec<(usize, bool)>, Option<Mls>>,
}

impl<'a> Solver<'a> {
    /// `alpha` = 1 - confidence level (two-sided).
    pub fn new(ms: &'a [MeanSquare], alpha: f64) -> Solver<'a> {
        Solver {
            ms,
            alpha,
            cache: HashMap::new(),
        }
    }

    /// The terms with a coefficient that is not negligible; `None` if there are none or a
    /// row is out of range.
    fn kept(&self, comb: &[(usize, f64)]) -> Option<Vec<(usize, f64)>> {
        let scale = comb.iter().map(|(_, c)| c.abs()).fold(0.0, f64::max);
        let kept: Vec<(usize, f64)> = comb
            .iter()
            .copied()
            .filter(|(_, c)| c.abs() > ZERO_COEFFICIENT * scale)
            .collect();
        (!kept.is_empty() && kept.iter().all(|&(i, _)| i < self.ms.len())).then_some(kept)
    }

    /// The interval on the variance component `Σ c_i θ_i` (bounds as computed: a lower
    /// bound may be negative) and the formula used.
    pub fn interval(&mut self, comb: &[(usize, f64)]) -> Option<(f64, f64, VarcompMethod)> {
        let kept = self.kept(comb)?;
        if kept.iter().all(|&(_, c)| c > 0.0) {
            let terms: Vec<(f64, MeanSquare)> =
                kept.iter().map(|&(i, c)| (c, self.ms[i])).collect();
            let method = if terms.len() == 1 {
                VarcompMethod::ChiSquare
            } else {
                VarcompMethod::GraybillWang
            };
            return graybill_wang(&terms, self.alpha).map(|(l, u)| (l, u, method));
        }
        self.ting(&kept).map(|(l, u)| (l, u, VarcompMethod::Ting))
    }

    /// Ting et al.'s bounds on `Σ c_i θ_i` (as computed).
    fn ting(&mut self, kept: &[(usize, f64)]) -> Option<(f64, f64)> {
        if kept.iter().all(|&(_, c)| c < 0.0) {
            // -Σ c θ with every coefficient positive: the bounds of its negation, swapped.
            let neg: Vec<(usize, f64)> = kept.iter().map(|&(i, c)| (i, -c)).collect();
            return self.ting(&neg).map(|(l, u)| (-u, -l));
        }
        let key: Vec<(usize, bool)> = kept.iter().map(|&(i, c)| (i, c > 0.0)).collect();
        let (ms, alpha) = (self.ms, self.alpha);
        let mls = self.cache.entry(key).or_insert_with_key(|key| {
            let shape: Vec<(f64, bool)> = key.iter().map(|&(i, pos)| (ms[i].df, pos)).collect();
            Mls::new(&shape, alpha)
        });
        let terms: Vec<MsTerm> = kept
            .iter()
            .map(|&(i, a)| MsTerm {
                a,
                ms: self.ms[i].ms,
                df: self.ms[i].df,
            })
            .collect();
        mls.as_ref()?.bounds(&terms)
    }

    /// The interval on the share `Σ a_i θ_i / Σ t_i θ_i` of the total, in [0, 1]: the `δ`
    /// whose Ting interval on `γ - δ γ_Y` covers 0. The lower end is where the lower bound
    /// crosses 0, the upper end where the upper bound does.
    pub fn inverted_share(
        &mut self,
        num: &[(usize, f64)],
        total: &[(usize, f64)],
    ) -> Option<(f64, f64)> {
        let diff = |delta: f64| -> Vec<(usize, f64)> {
            let mut c: Vec<(usize, f64)> = num.to_vec();
            for &(i, t) in total {
                match c.iter_mut().find(|(j, _)| *j == i) {
                    Some((_, a)) => *a -= delta * t,
                    None => c.push((i, -delta * t)),
                }
            }
            c
        };
        let bound_at = |s: &mut Solver, d: f64, upper: bool| {
            let kept = s.kept(&diff(d))?;
            s.ting(&kept).map(|b| if upper { b.1 } else { b.0 })
        };
        let lower = root_decreasing(self, &mut |s, d| bound_at(s, d, false))?;
        let upper = root_decreasing(self, &mut |s, d| bound_at(s, d, true))?;
        Some((lower, upper.max(lower)))
    }
}

/// The `δ` in [0, 1] where `f` (decreasing in `δ`) crosses 0: 0 when `f(0) <= 0`, 1 when
/// `f(1) >= 0`, else by bisection.
fn root_decreasing(
    s: &mut Solver,
    f: &mut dyn FnMut(&mut Solver, f64) -> Option<f64>,
) -> Option<f64> {
    if f(s, 0.0)? <= 0.0 {
        return Some(0.0);
    }
    if f(s, 1.0)? >= 0.0 {
        return Some(1.0);
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..BISECTION_STEPS {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(s, mid)? > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// The numbers of levels of the factor whose share is wanted (`a`), of the other factor
/// (`b`), and the replicates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossedSizes {
    pub a: f64,
    pub b: f64,
    pub r: f64,
}

/// The four F points of the book's interval: `F(1-α/2; n_a, n_rest)`, `F(α/2; n_a, n_rest)`,
/// `F(1-α/2; n_a, n_b)`, `F(α/2; n_a, n_b)`.
fn f_points(n_a: f64, n_rest: f64, n_b: f64, alpha: f64) -> [f64; 4] {
    let t = alpha / 2.0;
    [
        f_quantile(1.0 - t, n_a, n_rest),
        f_quantile(t, n_a, n_rest),
        f_quantile(1.0 - t, n_a, n_b),
        f_quantile(t, n_a, n_b),
    ]
}

fn finite_pair(l: f64, u: f64) -> Option<(f64, f64)> {
    (l.is_finite() && u.is_finite()).then_some((l, u))
}

/// Burdick, Borror and Montgomery's (2005, chapter 3) interval `[L*, U*]` on
/// `γ_P/γ_M = σ²_A / (σ²_B + σ²_AB + σ²_E)` in the two-factor crossed random model with
/// interaction (Burdick and Larsen 1997), `A` the factor whose ratio is wanted (parts for
/// the book's `γ_P/γ_M`; operators, exchanged, for the operator's share):
///
/// ```text
/// L* = a (1 - G_A) (S²_A - F1 S²_AB) / [a b (r-1) S²_E + b (1 - G_A) F3 S²_B + b (a-1) S²_AB]
/// U* = a (1 + H_A) (S²_A - F2 S²_AB) / [a b (r-1) S²_E + b (1 + H_A) F4 S²_B + b (a-1) S²_AB]
/// F1 = F(1-α/2; n_A, n_AB), F2 = F(α/2; n_A, n_AB), F3 = F(1-α/2; n_A, n_B), F4 = F(α/2; n_A, n_B)
/// ```
///
/// Bounds as computed (a negative one means 0).
pub fn factor_ratio_with_interaction(
    [s_a, s_b, s_ab, s_e]: [MeanSquare; 4],
    n: CrossedSizes,
    alpha: f64,
) -> Option<(f64, f64)> {
    let (g, h) = g_h(s_a.df, alpha / 2.0);
    let [f1, f2, f3, f4] = f_points(s_a.df, s_ab.df, s_b.df, alpha);
    let common = n.a * n.b * (n.r - 1.0) * s_e.ms + n.b * (n.a - 1.0) * s_ab.ms;
    let l = n.a * (1.0 - g) * (s_a.ms - f1 * s_ab.ms) / (common + n.b * (1.0 - g) * f3 * s_b.ms);
    let u = n.a * (1.0 + h) * (s_a.ms - f2 * s_ab.ms) / (common + n.b * (1.0 + h) * f4 * s_b.ms);
    finite_pair(l, u)
}

/// The same interval in the model without interaction (Burdick, Borror and Montgomery
/// 2005, the two-factor crossed random model with no interaction), on
/// `σ²_A / (σ²_B + σ²_E)`, `S²_E` the pooled error with `n_E = abr - a - b + 1` df:
///
/// ```text
/// L* = [a (1-G_A) S⁴_A - a S²_A S²_E + a (F1 - (1-G_A) F1²) S⁴_E] / [b (ar-1) S²_A S²_E + b (1-G_A) F3 S²_A S²_B]
/// U* = [a (1+H_A) S⁴_A - a S²_A S²_E + a (F2 - (1+H_A) F2²) S⁴_E] / [b (ar-1) S²_A S²_E + b (1+H_A) F4 S²_A S²_B]
/// F1 = F(1-α/2; n_A, n_E), F2 = F(α/2; n_A, n_E), F3 = F(1-α/2; n_A, n_B), F4 = F(α/2; n_A, n_B)
/// ```
pub fn factor_ratio_without_interaction(
    [s_a, s_b, s_e]: [MeanSquare; 3],
    n: CrossedSizes,
    alpha: f64,
) -> Option<(f64, f64)> {
    let (g, h) = g_h(s_a.df, alpha / 2.0);
    let [f1, f2, f3, f4] = f_points(s_a.df, s_e.df, s_b.df, alpha);
    let (a, e, b) = (s_a.ms, s_e.ms, s_b.ms);
    let base = n.b * (n.a * n.r - 1.0) * a * e;
    let bound = |k: f64, f: f64, f_b: f64| {
        n.a * (k * a * a - a * e + (f - k * f * f) * e * e) / (base + n.b * k * f_b * a * b)
    };
    finite_pair(bound(1.0 - g, f1, f3), bound(1.0 + h, f2, f4))
}

/// The share `λ/(1+λ)` of a factor from the bounds on its ratio `λ` to the rest, negative
/// bounds taken as 0.
pub fn share_of_ratio((l, u): (f64, f64)) -> (f64, f64) {
    let (l, u) = (l.max(0.0), u.max(0.0));
    (l / (1.0 + l), u / (1.0 + u))
}

/// The share `1/(1+λ)` of the rest from the bounds on the factor's ratio `λ` to it.
pub fn share_of_rest((l, u): (f64, f64)) -> (f64, f64) {
    let (l, u) = (l.max(0.0), u.max(0.0));
    (1.0 / (1.0 + u), 1.0 / (1.0 + l))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inverted_share_of_one_way_components_is_bracketed() {
        // One-way random model with k = 5: θ_A = σ²_E + 5σ²_A, θ_E = σ²_E.
        // σ²_A = (θ_A - θ_E)/5, total = θ_A/5 + 4θ_E/5.
        let ms = [
            MeanSquare { ms: 40.0, df: 9.0 },
            MeanSquare { ms: 2.0, df: 40.0 },
        ];
        let mut s = Solver::new(&ms, 0.05);
        let (lo, hi) = s
            .inverted_share(&[(0, 0.2), (1, -0.2)], &[(0, 0.2), (1, 0.8)])
            .unwrap();
        let est = (40.0 - 2.0) / 5.0 / (40.0 / 5.0 + 8.0 / 5.0);
        assert!(lo < est && est < hi, "{lo} {est} {hi}");
        assert!(lo > 0.0 && hi < 1.0);
    }

    #[test]
    fn one_mean_square_is_exact_and_a_sum_has_no_cross_terms() {
        let ms = [
            MeanSquare { ms: 3.0, df: 7.0 },
            MeanSquare { ms: 5.0, df: 4.0 },
        ];
        let mut s = Solver::new(&ms, 0.05);
        let (l, u, m) = s.interval(&[(0, 0.5)]).unwrap();
        assert_eq!(m, VarcompMethod::ChiSquare);
        let exact = (
            7.0 * 1.5 / chi2_quantile(0.975, 7.0),
            7.0 * 1.5 / chi2_quantile(0.025, 7.0),
        );
        assert!((l - exact.0).abs() < 1e-12 && (u - exact.1).abs() < 1e-12);
        let (l, _, m) = s.interval(&[(0, 1.0), (1, 2.0)]).unwrap();
        assert_eq!(m, VarcompMethod::GraybillWang);
        let (g0, g1) = (g_h(7.0, 0.025).0, g_h(4.0, 0.025).0);
        let gw = 13.0 - ((g0 * 3.0).powi(2) + (g1 * 10.0).powi(2)).sqrt();
        assert!((l - gw).abs() < 1e-12);
    }
}
