//! The covariance of two observations of a balanced design, by the levels they share.
//!
//! Two observations with the same levels of the factors E (closed under nesting) and
//! different levels of every other factor share the random effects of every term U whose
//! factors all lie in E. In the unrestricted model
//!
//! ```text
//! Cov(y, y') = Σ_{U ⊆ E} σ²_U,   Var(y) = Σ_U σ²_U (the Residual's σ² included)
//! ```
//!
//! In the restricted model a mixed effect sums to zero over each of its fixed live factors
//! F_U, so that Cov((τβ)_ij, (τβ)_i'j) = (δ_ii' − 1/a) σ²: U contributes
//! `Π_{f ∈ F_U} (δ_f − 1/n_f) σ²_U` whenever its other factors lie in E.

use super::poly::{Fraction, Poly};
use crate::design::{Design, Kind, Subscripts};
use crate::ems::{EmsTable, Model};

/// Factor sets are enumerated in full up to this many factors; beyond it only the factor
/// sets of the model's terms (and none, and all) are.
const MAX_ENUMERATED_FACTORS: usize = 12;

/// At most this many patterns are listed.
pub const MAX_COVARIANCE_ROWS: usize = 256;

/// The covariance of two observations that share the levels of some factors.
#[derive(Debug, Clone, PartialEq)]
pub struct CovarianceRow {
    /// The factors whose levels the two observations share (the smallest such set for
    /// this covariance); `None` for one observation with itself (the variance).
    pub same: Option<Subscripts>,
    /// The random terms whose effects the two share (rows of the EMS table; the Residual
    /// for the variance).
    pub shared: Vec<usize>,
    /// `Σ coefficient × σ²(component)`.
    pub covariance: Vec<(usize, Fraction)>,
}

/// The covariance patterns of a design in one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariances {
    pub model: Model,
    /// The variance of one observation first, then the patterns by the number of factors
    /// shared.
    pub rows: Vec<CovarianceRow>,
    /// More patterns than [`MAX_COVARIANCE_ROWS`] exist: the rest are not listed.
    pub truncated: bool,
    /// The design has this many rows in its EMS table, more than
    /// [`super::precision::MAX_PRECISION_TERMS`]: no patterns are listed.
    pub too_many_terms: Option<usize>,
    /// The rows at component estimates ([`Covariances::evaluate`]; empty until then).
    pub estimates: Vec<CovarianceEstimate>,
}

/// Factor sets closed under nesting (a factor with its ancestors), smallest first.
fn closed_sets(table: &EmsTable) -> Vec<Subscripts> {
    let d = &table.design;
    let nf = d.n_factors();
    let closed = |s: Subscripts| s.iter().all(|c| s.is_superset(d.factors[c].ancestors));
    let mut sets: Vec<Subscripts> = if nf <= MAX_ENUMERATED_FACTORS {
        (0u64..(1u64 << nf))
            .map(Subscripts)
            .filter(|&s| closed(s))
            .collect()
    } else {
        let mut s: Vec<Subscripts> = table.terms[..table.residual()]
            .iter()
            .map(|t| t.subscripts)
            .collect();
        s.push(Subscripts::EMPTY);
        s.push(Subscripts((1u64 << nf) - 1));
        s.sort();
        s.dedup();
        s
    };
    sets.sort_by_key(|s| (s.len(), s.iter().collect::<Vec<_>>()));
    sets
}

/// The coefficient of σ²_U in the covariance of two observations that share the factors
/// `same` (`None`: the variance of one observation).
fn coefficient(
    design: &Design,
    model: Model,
    same: Option<Subscripts>,
    subs: Subscripts,
    live: Subscripts,
    residual: bool,
) -> Option<Fraction> {
    let Some(e) = same else {
        let f = fixed_live(design, live);
        return Some(match model {
            Model::Unrestricted => Fraction::new(Poly::constant(1), Subscripts::EMPTY),
            Model::Restricted => Fraction::new(Poly::minus_ones(f), f),
        });
    };
    if residual {
        return None;
    }
    match model {
        Model::Unrestricted => e
            .is_superset(subs)
            .then(|| Fraction::new(Poly::constant(1), Subscripts::EMPTY)),
        Model::Restricted => {
            let f = fixed_live(design, live);
            if !e.is_superset(subs.minus(f)) {
                return None;
            }
            let agree = f.intersection(e);
            let differ = f.minus(e);
            let sign = if differ.len().is_multiple_of(2) {
                1
            } else {
                -1
            };
            Some(Fraction::new(Poly::minus_ones(agree).scale(sign), f))
        }
    }
}

fn fixed_live(design: &Design, live: Subscripts) -> Subscripts {
    live.iter()
        .filter(|&c| c < design.n_factors() && design.factors[c].kind == Kind::Fixed)
        .fold(Subscripts::EMPTY, |s, c| s.with(c))
}

fn row(table: &EmsTable, model: Model, same: Option<Subscripts>) -> CovarianceRow {
    let d = &table.design;
    let residual = table.residual();
    let mut shared = Vec::new();
    let mut covariance = Vec::new();
    for (u, t) in table.terms.iter().enumerate().filter(|(_, t)| t.random) {
        if same.is_none_or(|e| u != residual && e.is_superset(t.subscripts)) {
            shared.push(u);
        }
        if let Some(c) = coefficient(d, model, same, t.subscripts, t.live, u == residual) {
            covariance.push((u, c));
        }
    }
    CovarianceRow {
        same,
        shared,
        covariance,
    }
}

/// The covariance of two observations for every pattern of shared levels, in `model`.
pub fn covariances(table: &EmsTable, model: Model) -> Covariances {
    if table.terms.len() > super::precision::MAX_PRECISION_TERMS {
        return Covariances {
            model,
            rows: Vec::new(),
            truncated: false,
            too_many_terms: Some(table.terms.len()),
            estimates: Vec::new(),
        };
    }
    let mut rows = vec![row(table, model, None)];
    let mut truncated = false;
    // Two observations with the same levels of every factor exist only with replicates.
    let all = Subscripts((1u64 << table.design.n_factors()) - 1);
    for e in closed_sets(table) {
        if e == all && table.design.replicates == Some(1) {
            continue;
        }
        let r = row(table, model, Some(e));
        if rows[1..]
            .iter()
            .any(|x| x.shared == r.shared && x.covariance == r.covariance)
        {
            continue;
        }
        if rows.len() > MAX_COVARIANCE_ROWS {
            truncated = true;
            break;
        }
        rows.push(r);
    }
    Covariances {
        model,
        rows,
        truncated,
        too_many_terms: None,
        estimates: Vec::new(),
    }
}

impl CovarianceRow {
    /// The covariance at the given component estimates (`estimate(component)`).
    pub fn value(&self, design: &Design, estimate: impl Fn(usize) -> Option<f64>) -> Option<f64> {
        self.covariance
            .iter()
            .map(|(u, c)| Some(c.eval(design)? * estimate(*u)?))
            .sum()
    }
}

impl CovarianceRow {
    /// As text and LaTeX: `σ²(subject)`, `σ²(W) - σ²(M:W) / m`.
    pub fn text(&self, table: &EmsTable) -> (String, String) {
        super::precision::components_text(table, &self.covariance)
    }
}

/// A covariance pattern evaluated at component estimates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CovarianceEstimate {
    pub covariance: Option<f64>,
    /// The covariance over the variance of one observation.
    pub correlation: Option<f64>,
}

impl Covariances {
    /// Every pattern at the component estimates (`estimate(component)`, the Residual's
    /// included); the first row is the variance of one observation.
    pub fn evaluate(
        &self,
        design: &Design,
        estimate: impl Fn(usize) -> Option<f64>,
    ) -> Vec<CovarianceEstimate> {
        let values: Vec<Option<f64>> = self
            .rows
            .iter()
            .map(|r| r.value(design, &estimate))
            .collect();
        let var = values.first().copied().flatten().filter(|v| *v > 0.0);
        values
            .into_iter()
            .map(|c| CovarianceEstimate {
                covariance: c,
                correlation: match (c, var) {
                    (Some(c), Some(v)) => Some(c / v),
                    _ => None,
                },
            })
            .collect()
    }
}
