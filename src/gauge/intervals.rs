//! Modified large-sample (MLS) intervals for the rows of the gauge table.
//!
//! Every row of the table is a linear combination `γ = Σ c_i θ_i` of expected mean squares
//! `θ_i` (estimated by the mean squares `S²_i` with `n_i` df), and so is the total
//! variance `γ_Y = Σ t_i θ_i`.
//!
//! - **Variance components and their sums** (Repeatability, Operator, Operator*Part,
//!   Reproducibility, Total Gage R&R, Part-To-Part, Total Variation): the MLS interval of
//!   Ting, Burdick, Graybill, Jeyaratnam and Lu (1990, *J. Statist. Comput. Simul.* 35) on
//!   `Σ c_q θ_q - Σ c_r θ_r`, as Burdick and Graybill (1992, *Confidence Intervals on
//!   Variance Components*, §3.3) state it, with the constants `G_i`, `H_i`, `G_qr`, `H_qr`,
//!   `G*_qt`, `H*_ru` of [`crate::moments::intervals::Mls`]. Burdick, Borror and Montgomery
//!   (2005, *Design and Analysis of Gauge R&R Studies*, ASA-SIAM, Chapter 3, the balanced
//!   two-factor crossed random model with interaction) write this interval out for `γ_P =
//!   σ²_P`, `γ_M = σ²_O + σ²_PO + σ²_E` (their `V_LM`, `V_UM`: Graybill and Wang's interval
//!   on a sum), `γ_Y`, `σ²_O`, `σ²_PO`, and give the exact chi-square interval on `σ²_E`;
//!   the SAS VARCOMP documentation (METHOD=GRR, "MLS Confidence Limits") reproduces their
//!   table. Each of those formulas is this general interval for one combination, and the
//!   same code serves the model without interaction and the nested model.
//! - **Shares of the total** (%Contribution, and %Study Var as its square root): the ratio
//!   `ρ = γ / γ_Y` gets the set of all `δ` for which the MLS interval on `γ - δ γ_Y` covers
//!   0, the usual way an interval on a difference yields one on a ratio. Its lower bound is
//!   the `δ` where the MLS lower bound on `γ - δ γ_Y` is 0, its upper bound where the MLS
//!   upper bound is 0, found by bisection on [0, 1]. Burdick, Borror and Montgomery (2005,
//!   Chapter 3) give closed forms for two of these shares, `ρ_P = γ_P/γ_Y` and `ρ_M =
//!   γ_M/γ_Y`, through their interval on `γ_P/γ_M`; emslab uses the one construction above
//!   for every row and every layout.
//! - **Standard deviations, study variation, %Tolerance**: the square root (times the
//!   multiplier, over the tolerance) of the bounds on the variance; **%Study Var**: 100 ×
//!   the square root of the bounds on the share.
//!
//! Negative bounds are set to 0; shares are kept in [0, 1].

use std::collections::HashMap;

use crate::moments::intervals::{Mls, MsTerm};

/// A mean square and its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSquare {
    pub ms: f64,
    pub df: f64,
}

/// Coefficients below this (relative to the largest) are taken as 0 in `γ - δ γ_Y`.
const ZERO_COEFFICIENT: f64 = 1e-14;

/// Bisection steps: the bracket [0, 1] halves 200 times, far below one ulp.
const BISECTION_STEPS: usize = 200;

/// MLS bounds on combinations of one set of mean squares, with the constants of each sign
/// pattern computed once.
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

    /// The MLS bounds on `Σ c_i θ_i` (as computed: a lower bound may be negative).
    pub fn bounds(&mut self, comb: &[(usize, f64)]) -> Option<(f64, f64)> {
        let scale = comb.iter().map(|(_, c)| c.abs()).fold(0.0, f64::max);
        let kept: Vec<(usize, f64)> = comb
            .iter()
            .copied()
            .filter(|(_, c)| c.abs() > ZERO_COEFFICIENT * scale)
            .collect();
        if kept.is_empty() || kept.iter().any(|&(i, _)| i >= self.ms.len()) {
            return None;
        }
        if kept.iter().all(|&(_, c)| c < 0.0) {
            // -Σ c θ with every coefficient positive: the bounds of its negation, swapped.
            let neg: Vec<(usize, f64)> = kept.iter().map(|&(i, c)| (i, -c)).collect();
            return self.bounds(&neg).map(|(l, u)| (-u, -l));
        }
        let key: Vec<(usize, bool)> = kept.iter().map(|&(i, c)| (i, c > 0.0)).collect();
        let (ms, alpha) = (self.ms, self.alpha);
        let mls = self.cache.entry(key).or_insert_with_key(|key| {
            let shape: Vec<(f64, bool)> = key.iter().map(|&(i, pos)| (ms[i].df, pos)).collect();
            Mls::new(&shape, alpha)
        });
        let mls = mls.as_ref()?;
        let terms: Vec<MsTerm> = kept
            .iter()
            .map(|&(i, a)| MsTerm {
                a,
                ms: self.ms[i].ms,
                df: self.ms[i].df,
            })
            .collect();
        mls.bounds(&terms)
    }

    /// The MLS interval on the ratio `Σ a_i θ_i / Σ t_i θ_i` of a part of the total variance
    /// to the total, in [0, 1]: the `δ` whose interval on `γ - δ γ_Y` covers 0.
    pub fn ratio(&mut self, num: &[(usize, f64)], total: &[(usize, f64)]) -> Option<(f64, f64)> {
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
        let lower_at = |s: &mut Solver, d: f64| s.bounds(&diff(d)).map(|b| b.0);
        let upper_at = |s: &mut Solver, d: f64| s.bounds(&diff(d)).map(|b| b.1);
        let lower = root_decreasing(self, &lower_at)?;
        let upper = root_decreasing(self, &upper_at)?;
        Some((lower, upper.max(lower)))
    }
}

/// The `δ` in [0, 1] where `f` (decreasing in `δ`) crosses 0: 0 when `f(0) <= 0`, 1 when
/// `f(1) >= 0`, else by bisection.
fn root_decreasing(s: &mut Solver, f: &dyn Fn(&mut Solver, f64) -> Option<f64>) -> Option<f64> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ratio_of_one_way_components_is_bracketed_by_the_exact_interval() {
        // One-way random model with k = 5: θ_A = σ²_E + 5σ²_A, θ_E = σ²_E.
        // σ²_A = (θ_A - θ_E)/5, total = θ_A/5 + 4θ_E/5.
        let ms = [
            MeanSquare { ms: 40.0, df: 9.0 },
            MeanSquare { ms: 2.0, df: 40.0 },
        ];
        let mut s = Solver::new(&ms, 0.05);
        let (lo, hi) = s
            .ratio(&[(0, 0.2), (1, -0.2)], &[(0, 0.2), (1, 0.8)])
            .unwrap();
        let est = (40.0 - 2.0) / 5.0 / (40.0 / 5.0 + 8.0 / 5.0);
        assert!(lo < est && est < hi, "{lo} {est} {hi}");
        assert!(lo > 0.0 && hi < 1.0);
    }
}
