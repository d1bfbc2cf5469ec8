//! Multiplicity adjustments of pairwise comparisons, as emmeans makes them: the family is
//! one term's pairs, and each pair keeps its own standard error and df.
//!
//! | adjustment | adjusted p | simultaneous interval: difference ± c × SE, c = |
//! |---|---|---|
//! | Tukey | P(Q_{k,ν} > √2 \|t\|) | q_{k,ν}(level) / √2 |
//! | Bonferroni | min(1, m p) | t_ν(1 − α/(2m)) |
//! | Šidák | 1 − (1 − p)^m | t_ν((1 + level^{1/m})/2) |
//! | none | p | t_ν(1 − α/2) |
//!
//! with k the number of means, m the number of pairs and Q the studentized range
//! ([`crate::dist::tukey`]).

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use serde::{Deserialize, Serialize};

use crate::dist::{StudentizedRange, f_quantile, f_sf, ptukey_sf, qtukey};

/// How the p-values and intervals of a term's pairwise comparisons are adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Adjustment {
    /// Tukey's studentized range (the default, as emmeans' `pairs`).
    #[default]
    Tukey,
    Bonferroni,
    Sidak,
    /// Unadjusted.
    None,
}

impl Adjustment {
    pub fn as_str(self) -> &'static str {
        match self {
            Adjustment::Tukey => "tukey",
            Adjustment::Bonferroni => "bonferroni",
            Adjustment::Sidak => "sidak",
            Adjustment::None => "none",
        }
    }
}

/// The family of a term's comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Family {
    /// Means compared (Tukey's k).
    pub means: usize,
    /// Pairs compared (Bonferroni's and Šidák's m).
    pub pairs: usize,
}

/// The two-sided p-value of t on `df` degrees of freedom.
pub fn t_p_value(t: f64, df: f64) -> f64 {
    if !(df > 0.0) || t.is_nan() {
        return f64::NAN;
    }
    f_sf(t * t, 1.0, df)
}

/// The two-sided `level` quantile of t: t_ν((1 + level)/2).
pub fn t_quantile(level: f64, df: f64) -> f64 {
    if !(df > 0.0) {
        return f64::NAN;
    }
    f_quantile(level, 1.0, df).sqrt()
}

/// The adjusted p-value of a pair with unadjusted `p`, statistic `t` on `df`; Tukey's
/// from `range` when given (the family's studentized range, tabulated once), else
/// integrated directly.
pub fn adjusted_p(
    adj: Adjustment,
    t: f64,
    p: f64,
    df: f64,
    family: Family,
    range: Option<&StudentizedRange>,
) -> f64 {
    let m = family.pairs.max(1) as f64;
    match adj {
        Adjustment::None => p,
        Adjustment::Bonferroni => (m * p).min(1.0),
        Adjustment::Sidak => -(m * (-p).ln_1p()).exp_m1(),
        Adjustment::Tukey if family.means < 2 => p,
        Adjustment::Tukey => {
            let q = std::f64::consts::SQRT_2 * t.abs();
            match range {
                Some(r) => r.sf(q, df),
                None => ptukey_sf(q, family.means as f64, df),
            }
        }
    }
}

/// The multiplier of a pair's standard error in its simultaneous interval at `level`
/// (Tukey's from `range` when given, as in [`adjusted_p`]).
pub fn critical_value(
    adj: Adjustment,
    level: f64,
    df: f64,
    family: Family,
    range: Option<&StudentizedRange>,
) -> f64 {
    let m = family.pairs.max(1) as f64;
    match adj {
        Adjustment::None => t_quantile(level, df),
        Adjustment::Bonferroni => t_quantile(1.0 - (1.0 - level) / m, df),
        Adjustment::Sidak => t_quantile(level.powf(1.0 / m), df),
        Adjustment::Tukey if family.means < 2 => t_quantile(level, df),
        Adjustment::Tukey => {
            let q = match range {
                Some(r) => r.quantile(level, df),
                None => qtukey(level, family.means as f64, df),
            };
            q / std::f64::consts::SQRT_2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_means_need_no_adjustment() {
        let fam = Family { means: 2, pairs: 1 };
        let p = t_p_value(2.5, 7.0);
        for adj in [
            Adjustment::Tukey,
            Adjustment::Bonferroni,
            Adjustment::Sidak,
            Adjustment::None,
        ] {
            assert!((adjusted_p(adj, 2.5, p, 7.0, fam, None) - p).abs() < 1e-9);
            let c = critical_value(adj, 0.95, 7.0, fam, None);
            assert!((c - t_quantile(0.95, 7.0)).abs() < 1e-8, "{adj:?}: {c}");
        }
    }

    #[test]
    fn bonferroni_is_capped_and_sidak_below_it() {
        let fam = Family { means: 4, pairs: 6 };
        assert_eq!(
            adjusted_p(Adjustment::Bonferroni, 1.0, 0.3, 10.0, fam, None),
            1.0
        );
        let s = adjusted_p(Adjustment::Sidak, 1.0, 0.01, 10.0, fam, None);
        assert!(s < 0.06 && s > 0.058);
    }
}
