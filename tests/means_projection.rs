//! Property test: on random small balanced designs (2-4 factors, crossed and nested, mixed
//! kinds, the top term sometimes pooled), the precision of every mean and difference and the
//! covariance of every pattern of shared levels equal the quadratic forms of the explicit
//! covariance matrix of the observations, in both mixed models:
//!
//! - unrestricted: V = Σ_U σ²_U Z_U Z_U' (independent effects);
//! - restricted: Cov(u_U(x), u_U(x')) = σ²_U Π_{f ∈ F_U} (δ_f − 1/n_f) when x and x' agree on
//!   U's other factors (Montgomery's effects that sum to zero over each fixed live factor).
//!
//! a′Va equals the components form of the model at the σ², and the mean-square form at the
//! expected mean squares of that model's EMS table: V is the combination of the strata's
//! projectors weighted by the expected mean squares, so the mean-square forms of the two
//! models are the same combination, which is checked too (for designs without absorbed
//! terms: with one, the two models differ). A second property drops random terms from the
//! term list (absorbed or pooled).

mod common;

use emslab::Design;
use emslab::design::Subscripts;
use emslab::ems::{EmsTable, Model, derive};
use emslab::means::covariance::covariances;
use emslab::means::precision::{self, Quantity};

use common::random_design::{Recipe, build, build_dropping, recipes};
use proptest::prelude::*;

/// Observations: all cells times replicates; `codes[obs][subscript]` (nested levels
/// counted within their parent).
fn observations(d: &Design) -> Vec<Vec<u32>> {
    let nsub = d.n_factors() + 1;
    let sizes: Vec<u32> = (0..nsub).map(|s| d.levels_of(s).expect("sized")).collect();
    let total: u32 = sizes.iter().product();
    (0..total)
        .map(|mut k| {
            sizes
                .iter()
                .map(|&m| {
                    let v = k % m;
                    k /= m;
                    v
                })
                .collect()
        })
        .collect()
}

fn agree(a: &[u32], b: &[u32], set: Subscripts) -> bool {
    set.iter().all(|s| a[s] == b[s])
}

/// The covariance matrix of the observations in `model` (row-major N x N).
fn covariance(t: &EmsTable, obs: &[Vec<u32>], sigma2: &[f64]) -> Vec<f64> {
    let d = &t.design;
    let n = obs.len();
    let fixed = (0..d.n_factors())
        .filter(|&c| d.factors[c].kind == emslab::design::Kind::Fixed)
        .fold(Subscripts::EMPTY, |s, c| s.with(c));
    let mut v = vec![0.0; n * n];
    for (u, term) in t.terms.iter().enumerate().filter(|(_, t)| t.random) {
        let f = match t.model {
            Model::Restricted => term.live.intersection(fixed),
            Model::Unrestricted => Subscripts::EMPTY,
        };
        let rest = term.subscripts.minus(f);
        for i in 0..n {
            for j in 0..n {
                if !agree(&obs[i], &obs[j], rest) {
                    continue;
                }
                let k: f64 = f
                    .iter()
                    .map(|c| {
                        let m = f64::from(d.levels_of(c).expect("sized"));
                        f64::from(u8::from(obs[i][c] == obs[j][c])) - 1.0 / m
                    })
                    .product();
                v[i * n + j] += sigma2[u] * k;
            }
        }
    }
    v
}

/// The vector of the mean of the cell of `over` with the given codes.
fn mean_vector(obs: &[Vec<u32>], over: Subscripts, codes: &[u32]) -> Vec<f64> {
    let hit: Vec<bool> = obs
        .iter()
        .map(|o| over.iter().all(|c| o[c] == codes[c]))
        .collect();
    let count = hit.iter().filter(|&&h| h).count() as f64;
    hit.iter()
        .map(|&h| if h { 1.0 / count } else { 0.0 })
        .collect()
}

fn quadratic(v: &[f64], a: &[f64]) -> f64 {
    let n = a.len();
    (0..n)
        .map(|i| a[i] * (0..n).map(|j| v[i * n + j] * a[j]).sum::<f64>())
        .sum()
}

/// Expected mean squares of a table at the variances.
fn expected_ms(t: &EmsTable, sigma2: &[f64]) -> Vec<f64> {
    (0..t.terms.len())
        .map(|v| {
            t.ems[v]
                .iter()
                .filter(|e| t.terms[e.component].random)
                .map(|e| e.coefficient.to_f64(&t.design).expect("sized") * sigma2[e.component])
                .sum()
        })
        .collect()
}

fn check(d: &Design, sigma2: &[f64]) -> Result<(), TestCaseError> {
    let obs = observations(d);
    let nsub = d.n_factors() + 1;
    let tol = common::PROJECTION * obs.len() as f64;
    let tables = [derive(d, Model::Restricted), derive(d, Model::Unrestricted)];
    let forms: Vec<Vec<_>> = tables
        .iter()
        .map(|t| {
            precision::derive(t)
                .rows
                .into_iter()
                .map(|r| r.mean_squares)
                .collect()
        })
        .collect();
    // The two models are reparametrisations of each other when every term is kept (or a
    // dropped one pools into the Residual); a term absorbed by a kept one leaves the
    // restricted model's sum-to-zero share out of the absorbing mean square: a different
    // model.
    if d.absorbed.is_empty() {
        prop_assert_eq!(
            &forms[0],
            &forms[1],
            "mean-square forms differ between the models"
        );
    }
    for t in &tables {
        let v = covariance(t, &obs, sigma2);
        let ems = expected_ms(t, sigma2);
        for row in precision::derive(t).rows {
            let zero = vec![0u32; nsub];
            let a = mean_vector(&obs, row.over, &zero);
            let a = match row.quantity {
                Quantity::Mean => a,
                Quantity::Difference { differ } => {
                    let mut other = zero.clone();
                    for c in differ.iter() {
                        other[c] = 1;
                    }
                    let b = mean_vector(&obs, row.over, &other);
                    a.iter().zip(&b).map(|(x, y)| x - y).collect()
                }
            };
            let exact = quadratic(&v, &a);
            let form = match t.model {
                Model::Restricted => &row.restricted,
                Model::Unrestricted => &row.unrestricted,
            };
            let components: f64 = form
                .iter()
                .map(|(u, f)| f.eval(d).expect("sized") * sigma2[*u])
                .sum();
            prop_assert!(
                (components - exact).abs() < tol,
                "{:?} {:?} over {:?}: components {} vs a'Va {}",
                t.model,
                row.quantity,
                row.over,
                components,
                exact
            );
            if let Ok(ms) = &row.mean_squares {
                let w = ms.numeric(d).expect("sized");
                let value: f64 = w.iter().map(|&(v, x)| x * ems[v]).sum();
                prop_assert!(
                    (value - exact).abs() < tol,
                    "{:?} {:?} over {:?}: mean squares {} vs a'Va {}",
                    t.model,
                    row.quantity,
                    row.over,
                    value,
                    exact
                );
            }
        }
        let n = obs.len();
        for r in covariances(t, t.model).rows {
            let first = vec![0u32; nsub];
            let (i, j) = match r.same {
                None => (0, 0),
                Some(e) => {
                    let mut other: Vec<u32> =
                        (0..nsub).map(|c| u32::from(!e.contains(c))).collect();
                    if d.replicates == Some(1) {
                        other[nsub - 1] = 0;
                    }
                    let pos = |codes: &[u32]| obs.iter().position(|o| o == codes).expect("cell");
                    (pos(&first), pos(&other))
                }
            };
            let value = r.value(d, |u| Some(sigma2[u])).expect("sized");
            prop_assert!(
                (value - v[i * n + j]).abs() < tol,
                "{:?} covariance sharing {:?}: {} vs V {}",
                t.model,
                r.same,
                value,
                v[i * n + j]
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(40, 2107))]

    #[test]
    fn precision_and_covariances_equal_the_explicit_covariance(
        (recipes, replicates, pool_one) in recipes(2..=4, 2..=3, 1..=2),
        sigma2 in prop::collection::vec(0.1f64..4.0, 20),
    ) {
        let d = build(&recipes, replicates, pool_one);
        prop_assume!(d.n_observations().is_some_and(|n| n <= 96));
        prop_assume!(d.terms.len() < sigma2.len());
        check(&d, &sigma2)?;
    }
}

proptest! {
    #![proptest_config(common::proptest_config(40, 2108))]

    /// The same with terms dropped from the term list: a dropped term contained in a kept
    /// one is absorbed by it (its mean square mixes strata, with fractional EMS coefficients
    /// and estimator weights), the others pool into the Residual.
    #[test]
    fn precision_with_absorbed_terms_equals_the_explicit_covariance(
        (recipes, replicates, _) in recipes(2..=4, 2..=3, 1..=2),
        drop in prop::collection::vec(0usize..16, 1..=2),
        sigma2 in prop::collection::vec(0.1f64..4.0, 20),
    ) {
        let Some(d) = build_dropping(&recipes, replicates, &drop) else {
            return Ok(());
        };
        prop_assume!(d.n_observations().is_some_and(|n| n <= 96));
        prop_assume!(d.terms.len() < sigma2.len());
        check(&d, &sigma2)?;
    }
}

/// A fixed case that always runs: the nested factorial (a fixed factor crossed with a
/// random one nested in another fixed factor).
#[test]
fn nested_factorial_precision() {
    let recipes = vec![
        Recipe {
            random: false,
            levels: 2,
            parent: None,
        },
        Recipe {
            random: false,
            levels: 2,
            parent: None,
        },
        Recipe {
            random: true,
            levels: 3,
            parent: Some(1),
        },
    ];
    let d = build(&recipes, 2, false);
    let sigma2: Vec<f64> = (0..20).map(|k| 0.5 + 0.3 * k as f64).collect();
    check(&d, &sigma2).expect("precision equals the quadratic forms");
}
