//! Intervals and standard errors for a linear combination of mean squares
//! `θ = Σ a_i MS_i`, each `MS_i` an independent `E(MS_i) χ²(df_i) / df_i`.

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::dist::{chi2_quantile, f_quantile};

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalMethod {
    /// Exact: the component is a multiple of one mean square (the Residual).
    ChiSquare,
    /// Cochran-Satterthwaite: θ̂ ν/θ approximately chi-square(ν).
    Satterthwaite,
    /// Modified large-sample (Graybill and Wang 1980; Ting, Burdick, Graybill, Jeyaratnam
    /// and Lu 1990).
    Mls,
    /// Exact, from the F distribution (intraclass correlation).
    ExactF,
}

impl IntervalMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalMethod::ChiSquare => "chi-square",
            IntervalMethod::Satterthwaite => "satterthwaite",
            IntervalMethod::Mls => "mls",
            IntervalMethod::ExactF => "exact-f",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IntervalMethod::ChiSquare => "exact chi-square",
            IntervalMethod::Satterthwaite => "Satterthwaite",
            IntervalMethod::Mls => "modified large-sample",
            IntervalMethod::ExactF => "exact F",
        }
    }
}

/// A two-sided interval. A bound that came out negative is set to 0 and marked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub method: IntervalMethod,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
    pub lower_clipped: bool,
    pub upper_clipped: bool,
}

impl Interval {
    fn clipped(method: IntervalMethod, level: f64, lower: f64, upper: f64) -> Interval {
        Interval {
            method,
            level,
            lower: lower.max(0.0),
            upper: upper.max(0.0),
            lower_clipped: lower < 0.0,
            upper_clipped: upper < 0.0,
        }
    }
}

/// One mean square in a combination: weight `a`, value `ms`, degrees of freedom `df`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MsTerm {
    pub a: f64,
    pub ms: f64,
    pub df: f64,
}

/// `Σ a_i MS_i`.
pub fn value(terms: &[MsTerm]) -> f64 {
    terms.iter().map(|t| t.a * t.ms).sum()
}

/// Cochran-Satterthwaite df: `(Σ a MS)² / Σ (a MS)² / df`, not rounded.
pub fn satterthwaite_df(terms: &[MsTerm]) -> f64 {
    if let [t] = terms {
        return t.df;
    }
    let num = value(terms).powi(2);
    let den: f64 = terms.iter().map(|t| (t.a * t.ms).powi(2) / t.df).sum();
    num / den
}

/// Standard error of `Σ a MS`: `sqrt(2 Σ a² MS² / (df + 2))` (unbiased estimate of the
/// variance of the combination).
pub fn standard_error(terms: &[MsTerm]) -> f64 {
    let v: f64 = terms
        .iter()
        .map(|t| 2.0 * (t.a * t.ms).powi(2) / (t.df + 2.0))
        .sum();
    v.sqrt()
}

/// The chi-square interval with `nu` df for an estimate: `[ν θ̂ / χ²(1-α/2, ν), ν θ̂ /
/// χ²(α/2, ν)]`. `None` unless the estimate is positive.
pub fn chi_square(estimate: f64, nu: f64, alpha: f64, method: IntervalMethod) -> Option<Interval> {
    if !(estimate > 0.0) || !(nu > 0.0) {
        return None;
    }
    let lo = chi2_quantile(1.0 - alpha / 2.0, nu);
    let hi = chi2_quantile(alpha / 2.0, nu);
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    Some(Interval::clipped(
        method,
        1.0 - alpha,
        nu * estimate / lo,
        nu * estimate / hi,
    ))
}

/// The modified large-sample interval on `Σ c_q MS_q - Σ c_r MS_r` (all `c > 0`), Ting et
/// al. (1990), as given by Burdick and Graybill (1992, §3.3):
///
/// ```text
/// L = θ̂ - sqrt(V_L),  U = θ̂ + sqrt(V_U)
/// V_L = Σ G_q² c_q² S_q⁴ + Σ H_r² c_r² S_r⁴ + Σ_q Σ_r G_qr c_q c_r S_q² S_r² + Σ_{q<t} G*_qt c_q c_t S_q² S_t²
/// V_U = Σ H_q² c_q² S_q⁴ + Σ G_r² c_r² S_r⁴ + Σ_q Σ_r H_qr c_q c_r S_q² S_r² + Σ_{r<u} H*_ru c_r c_u S_r² S_u²
/// G_i = 1 - 1/F(α; n_i, ∞),   H_i = 1/F(1-α; n_i, ∞) - 1
/// G_qr = [(F(α; n_q, n_r) - 1)² - G_q² F(α; n_q, n_r)² - H_r²] / F(α; n_q, n_r)
/// H_qr = [(1 - F(1-α; n_q, n_r))² - H_q² F(1-α; n_q, n_r)² - G_r²] / F(1-α; n_q, n_r)
/// G*_qt = [(1 - 1/F(α; n_q+n_t, ∞))² (n_q+n_t)²/(n_q n_t) - G_q² n_q/n_t - G_t² n_t/n_q] / (P-1)
/// H*_ru = [(1 - 1/F(α; n_r+n_u, ∞))² (n_r+n_u)²/(n_r n_u) - G_r² n_r/n_u - G_u² n_u/n_r] / (Q-P-1)
/// ```
///
/// with `F(α; a, b)` the upper-α point and α = (1 - level)/2 in each tail. With no
/// negative terms it is Graybill and Wang's interval for a sum; with one positive term and
/// none negative it is the exact chi-square interval. Negative bounds are set to 0 and
/// marked.
pub fn mls(terms: &[MsTerm], alpha: f64) -> Option<Interval> {
    let shape: Vec<(f64, bool)> = terms.iter().map(|t| (t.df, t.a > 0.0)).collect();
    Mls::new(&shape, alpha)?.interval(terms)
}

/// The constants of the modified large-sample interval for one shape of combination (the
/// df and sign of each mean square) and level: they depend on neither the mean squares
/// nor the weights, so a simulation study computes them once.
#[derive(Debug, Clone, PartialEq)]
pub struct Mls {
    alpha: f64,
    /// Per term: df, sign (true = positive), G, H.
    df: Vec<f64>,
    positive: Vec<bool>,
    g: Vec<f64>,
    h: Vec<f64>,
    /// `pair[i][j]`: G_ij (lower) and H_ij (upper) for i positive, j negative; G*/H* for
    /// two of the same sign (already divided by P-1 or Q-P-1).
    pair_lower: Vec<Vec<f64>>,
    pair_upper: Vec<Vec<f64>>,
}

impl Mls {
    /// `shape`: (df, positive) per term. `None` without a positive term or with a df <= 0.
    pub fn new(shape: &[(f64, bool)], alpha: f64) -> Option<Mls> {
        let a = alpha / 2.0;
        if !shape.iter().any(|s| s.1) || shape.iter().any(|s| !(s.0 > 0.0)) {
            return None;
        }
        let f_up_inf = |n: f64| chi2_quantile(1.0 - a, n) / n;
        let f_lo_inf = |n: f64| chi2_quantile(a, n) / n;
        let g: Vec<f64> = shape.iter().map(|s| 1.0 - 1.0 / f_up_inf(s.0)).collect();
        let h: Vec<f64> = shape.iter().map(|s| 1.0 / f_lo_inf(s.0) - 1.0).collect();
        let k = shape.len();
        let n_pos = shape.iter().filter(|s| s.1).count();
        let n_neg = k - n_pos;
        let mut pair_lower = vec![vec![0.0; k]; k];
        let mut pair_upper = vec![vec![0.0; k]; k];
        for i in 0..k {
            for j in 0..k {
                if i == j {
                    continue;
                }
                let (ni, nj) = (shape[i].0, shape[j].0);
                match (shape[i].1, shape[j].1) {
                    (true, false) => {
                        let f_hi = f_quantile(1.0 - a, ni, nj);
                        let f_lo = f_quantile(a, ni, nj);
                        pair_lower[i][j] =
                            ((f_hi - 1.0).powi(2) - g[i] * g[i] * f_hi * f_hi - h[j] * h[j]) / f_hi;
                        pair_upper[i][j] =
                            ((1.0 - f_lo).powi(2) - h[i] * h[i] * f_lo * f_lo - g[j] * g[j]) / f_lo;
                    }
                    (true, true) if i < j => {
                        let gs = 1.0 - 1.0 / f_up_inf(ni + nj);
                        pair_lower[i][j] = (gs * gs * (ni + nj).powi(2) / (ni * nj)
                            - g[i] * g[i] * ni / nj
                            - g[j] * g[j] * nj / ni)
                            / (n_pos as f64 - 1.0);
                    }
                    (false, false) if i < j => {
                        let gs = 1.0 - 1.0 / f_up_inf(ni + nj);
                        pair_upper[i][j] = (gs * gs * (ni + nj).powi(2) / (ni * nj)
                            - g[i] * g[i] * ni / nj
                            - g[j] * g[j] * nj / ni)
                            / (n_neg as f64 - 1.0);
                    }
                    _ => {}
                }
            }
        }
        let all: Vec<f64> = g
            .iter()
            .chain(&h)
            .chain(pair_lower.iter().flatten())
            .chain(pair_upper.iter().flatten())
            .copied()
            .collect();
        if all.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Mls {
            alpha,
            df: shape.iter().map(|s| s.0).collect(),
            positive: shape.iter().map(|s| s.1).collect(),
            g,
            h,
            pair_lower,
            pair_upper,
        })
    }

    /// The interval for mean squares and weights of this shape.
    pub fn interval(&self, terms: &[MsTerm]) -> Option<Interval> {
        let (lower, upper) = self.bounds(terms)?;
        Some(Interval::clipped(
            IntervalMethod::Mls,
            1.0 - self.alpha,
            lower,
            upper,
        ))
    }

    /// The bounds `θ̂ - sqrt(V_L)` and `θ̂ + sqrt(V_U)` as computed, before negative values
    /// are set to 0 (an interval on a ratio is found where these cross 0).
    pub fn bounds(&self, terms: &[MsTerm]) -> Option<(f64, f64)> {
        if terms.len() != self.df.len() || terms.iter().any(|t| !t.ms.is_finite()) {
            return None;
        }
        // c_i S_i² as magnitudes.
        let cs: Vec<f64> = terms.iter().map(|t| (t.a * t.ms).abs()).collect();
        let k = cs.len();
        let mut vl = 0.0;
        let mut vu = 0.0;
        for i in 0..k {
            if self.positive[i] {
                vl += self.g[i].powi(2) * cs[i] * cs[i];
                vu += self.h[i].powi(2) * cs[i] * cs[i];
            } else {
                vl += self.h[i].powi(2) * cs[i] * cs[i];
                vu += self.g[i].powi(2) * cs[i] * cs[i];
            }
            for j in 0..k {
                vl += self.pair_lower[i][j] * cs[i] * cs[j];
                vu += self.pair_upper[i][j] * cs[i] * cs[j];
            }
        }
        if !vl.is_finite() || !vu.is_finite() {
            return None;
        }
        let theta = value(terms);
        Some((theta - vl.max(0.0).sqrt(), theta + vu.max(0.0).sqrt()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mls_of_one_mean_square_is_exact_chi_square() {
        let t = [MsTerm {
            a: 0.5,
            ms: 3.0,
            df: 7.0,
        }];
        let m = mls(&t, 0.05).unwrap();
        let c = chi_square(1.5, 7.0, 0.05, IntervalMethod::ChiSquare).unwrap();
        assert!((m.lower - c.lower).abs() < 1e-12 * c.lower);
        assert!((m.upper - c.upper).abs() < 1e-12 * c.upper);
    }

    #[test]
    fn satterthwaite_of_pigment_batch() {
        // (86.495 - 57.983)/4 on (14, 15) df: nu = 1.0717374 (seed text).
        let t = [
            MsTerm {
                a: 0.25,
                ms: 86.495,
                df: 14.0,
            },
            MsTerm {
                a: -0.25,
                ms: 57.983,
                df: 15.0,
            },
        ];
        assert!((satterthwaite_df(&t) - 1.0717374).abs() < 1e-7);
    }
}
