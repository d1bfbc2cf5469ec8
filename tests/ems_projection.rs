//! Property test: on random small balanced designs (2-4 factors, crossed and nested, mixed
//! kinds, terms sometimes pooled or absorbed), the EMS coefficients equal
//! tr(P_T Z_U C_U Z_U') / df_T computed from explicit incidence matrices and stratum
//! projectors, and every df equals the rank (trace) of its projector, in both models.
//!
//! P_T is built by Möbius inversion over T's live factors of the averaging operators
//! A_S = Z_S (Z_S'Z_S)^-1 Z_S' (Searle, Casella and McCulloch, Variance Components, §4.6);
//! a kept term that absorbs dropped terms has the sum of their projectors and its own; the
//! Residual projector is I minus the grand mean minus every kept row's projector.
//!
//! C_U is the covariance of U's effects per unit variance: the identity in the unrestricted
//! model; in the restricted model the centring (I - J/l) along each fixed live subscript of
//! U, identity along the others (effects that sum to zero over each fixed subscript, with
//! variance (l-1)/l σ²: Montgomery §13.3, the restricted mixed model).

mod common;

use emslab::design::{Kind, Subscripts};
use emslab::ems::{Model, derive};
use emslab::{Design, EmsTable};

use common::random_design::{Recipe, build, build_dropping, recipes};
use proptest::prelude::*;

/// Observations enumerate all cells (factor level combinations, nested levels counted
/// within their parent) times replicates; `labels[obs][subscript]`.
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

fn same_cell(a: &[u32], b: &[u32], set: Subscripts) -> bool {
    set.iter().all(|s| a[s] == b[s])
}

/// Dense projector onto a term's stratum (row-major N x N).
fn projector(d: &Design, obs: &[Vec<u32>], dead: Subscripts, live: Subscripts) -> Vec<f64> {
    let n = obs.len();
    let mut p = vec![0.0; n * n];
    let live_list: Vec<usize> = live.iter().collect();
    for mask in 0u32..(1 << live_list.len()) {
        let mut set = dead;
        for (k, &s) in live_list.iter().enumerate() {
            if mask >> k & 1 == 1 {
                set = set.with(s);
            }
        }
        let sign = if (live_list.len() - mask.count_ones() as usize).is_multiple_of(2) {
            1.0
        } else {
            -1.0
        };
        let cell_size = n as f64 / d.cells(set).expect("sized") as f64;
        for i in 0..n {
            for j in 0..n {
                if same_cell(&obs[i], &obs[j], set) {
                    p[i * n + j] += sign / cell_size;
                }
            }
        }
    }
    p
}

fn trace(p: &[f64], n: usize) -> f64 {
    (0..n).map(|i| p[i * n + i]).sum()
}

/// tr(P Z_U C_U Z_U') = sum over pairs in the same U-cell of P[i][j], each pair weighted
/// by C_U: along the `centred` subscripts (fixed live ones, restricted model) the weight is
/// δ - 1/l instead of δ.
fn trace_with_incidence(
    d: &Design,
    p: &[f64],
    obs: &[Vec<u32>],
    set: Subscripts,
    centred: Subscripts,
) -> f64 {
    let n = obs.len();
    let plain = set.minus(centred);
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            if !same_cell(&obs[i], &obs[j], plain) {
                continue;
            }
            let w: f64 = centred
                .iter()
                .map(|c| {
                    let l = f64::from(d.levels_of(c).expect("sized"));
                    f64::from(u8::from(obs[i][c] == obs[j][c])) - 1.0 / l
                })
                .product();
            s += w * p[i * n + j];
        }
    }
    s
}

/// Checks P is idempotent on a few deterministic vectors: P(Pv) = Pv.
fn is_projector(p: &[f64], n: usize) -> bool {
    (0..3).all(|k| {
        let v: Vec<f64> = (0..n)
            .map(|i| ((i * 7 + k * 13) % 11) as f64 - 5.0)
            .collect();
        let mul = |x: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| (0..n).map(|j| p[i * n + j] * x[j]).sum())
                .collect()
        };
        let pv = mul(&v);
        let ppv = mul(&pv);
        pv.iter()
            .zip(&ppv)
            .all(|(a, b)| (a - b).abs() < common::PROJECTION * 100.0)
    })
}

fn check(d: &Design, model: Model) -> Result<(), TestCaseError> {
    let t: EmsTable = derive(d, model);
    let obs = observations(d);
    let n = obs.len();
    let residual = t.residual();
    let mut projectors: Vec<Vec<f64>> = Vec::new();
    for (k, term) in t.terms[..residual].iter().enumerate() {
        let mut p = projector(d, &obs, term.dead, term.live);
        for a in d.absorbed_by(k) {
            let q = projector(d, &obs, a.term.dead, a.term.live);
            p.iter_mut().zip(&q).for_each(|(x, y)| *x += y);
        }
        projectors.push(p);
    }
    // Residual: I - J/N - sum of kept projectors.
    let mut pr = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            pr[i * n + j] = f64::from(u8::from(i == j))
                - 1.0 / n as f64
                - projectors.iter().map(|p| p[i * n + j]).sum::<f64>();
        }
    }
    projectors.push(pr);
    for (u, p) in projectors.iter().enumerate() {
        let df = t.df(u).expect("sized") as f64;
        prop_assert!(
            is_projector(p, n),
            "{} projector not idempotent",
            t.terms[u].name
        );
        prop_assert!(
            (trace(p, n) - df).abs() < common::PROJECTION * n as f64,
            "df of {}: rules {} vs rank {}",
            t.terms[u].name,
            df,
            trace(p, n)
        );
    }
    let fixed = Subscripts(
        (0..d.n_factors())
            .filter(|&c| d.factors[c].kind == Kind::Fixed)
            .fold(0u64, |m, c| m | 1 << c),
    );
    for (ti, p) in projectors.iter().enumerate() {
        let df = t.df(ti).expect("sized") as f64;
        for (ui, u) in t.terms.iter().enumerate() {
            if !u.random {
                continue;
            }
            // Z_U for the Residual is the identity (one effect per observation).
            let (set, centred) = if ui == residual {
                (
                    Subscripts((1u64 << (d.n_factors() + 1)) - 1),
                    Subscripts::EMPTY,
                )
            } else if model == Model::Restricted {
                (u.subscripts, u.live.intersection(fixed))
            } else {
                (u.subscripts, Subscripts::EMPTY)
            };
            let expected = trace_with_incidence(d, p, &obs, set, centred) / df;
            let rules = t
                .coefficient(ti, ui)
                .map_or(0.0, |c| c.to_f64(d).expect("sized"));
            prop_assert!(
                (expected - rules).abs() < common::PROJECTION * n as f64,
                "{} model, E(MS {}) coefficient of {}: rules {} vs projection {}",
                model.as_str(),
                t.terms[ti].name,
                u.name,
                rules,
                expected
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn unrestricted_ems_equals_projection_traces(
        (recipes, replicates, pool_one) in recipes(2..=4, 2..=3, 1..=2)
    ) {
        let d = build(&recipes, replicates, pool_one);
        // Keep N small enough for dense N x N work in a debug build.
        prop_assume!(d.n_observations().is_some_and(|n| n <= 96));
        check(&d, Model::Unrestricted)?;
        check(&d, Model::Restricted)?;
    }

    // Terms dropped from inside the model: those a kept term contains are absorbed by it,
    // and its EMS is the df-weighted share of the strata it pools.
    #[test]
    fn absorbed_terms_ems_equals_projection_traces(
        (recipes, replicates, _) in recipes(2..=4, 2..=3, 1..=2),
        drop in proptest::collection::vec(0usize..64, 1..=2),
    ) {
        let d = build_dropping(&recipes, replicates, &drop);
        prop_assume!(d.is_some());
        let d = d.expect("assumed");
        prop_assume!(d.n_observations().is_some_and(|n| n <= 96));
        check(&d, Model::Unrestricted)?;
        check(&d, Model::Restricted)?;
    }
}

/// A fixed case that always runs the check on a nested-factorial design.
#[test]
fn nested_factorial_projection() {
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
    check(&d, Model::Unrestricted).expect("coefficients agree");
    check(&d, Model::Restricted).expect("coefficients agree");
}

/// The shipped split-split plot: Block:A:B absorbs Block:B; its EMS (a share in the
/// restricted model) equals the projection's in both models.
#[test]
fn split_split_plot_projection() {
    let d =
        emslab::io::read_design(&common::design_path("split_split_plot.toml")).expect("shipped");
    assert_eq!(d.absorbed.len(), 1);
    check(&d, Model::Unrestricted).expect("coefficients agree");
    check(&d, Model::Restricted).expect("coefficients agree");
}
