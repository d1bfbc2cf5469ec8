//! Properties of the whole pipeline (CSV → cells → ANOVA → components) on simulated data:
//! estimates do not change when rows are shuffled and levels relabelled (nested factors
//! switching between restarting and globally unique labels), shifting y by a constant
//! changes nothing, and scaling y by c scales every component by c²; `--negative pool`
//! equals analysing the reduced model (the pooled terms left out of the design) from the
//! data; and the estimators and test denominators applied to the exact expected mean
//! squares give each component and each EMS without its own component, on random designs
//! in both models. Unbiasedness over many seeds is in `tests/moments.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use common::random_design::{build, recipes};
use common::{COMPONENT_IDENTITY, HAND_FORMULA, SeededRng, close, design_path};
use emslab::data::summary::TermMs;
use emslab::data::{CellAccumulator, ReadOptions, read_csv_from};
use emslab::ems::TestKind;
use emslab::moments::{MomentFit, MomentOptions, NegativePolicy};
use emslab::simulate::{SimSpec, Simulator};
use emslab::{Design, Model, anova, derive, moments};
use proptest::prelude::*;

const DESIGNS: [&str; 6] = [
    "pastes.toml",
    "machines.toml",
    "nested_factorial.toml",
    "nested_chain.toml",
    "split_plot.toml",
    "three_factor_mixed.toml",
];

fn rows(design: &Design, model: Model, seed: u64) -> Vec<(Vec<u32>, f64)> {
    rows_with(design, model, seed, |k| 0.5 + k as f64)
}

/// Simulated rows with the variance `sigma2(k)` for the k-th row of the design.
fn rows_with(
    design: &Design,
    model: Model,
    seed: u64,
    sigma2: impl Fn(usize) -> f64,
) -> Vec<(Vec<u32>, f64)> {
    let sigma2: Vec<(String, f64)> = design
        .terms_with_residual()
        .iter()
        .enumerate()
        .filter(|(_, t)| t.random)
        .map(|(k, t)| (t.name.clone(), sigma2(k)))
        .collect();
    let s: Vec<(&str, f64)> = sigma2.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut spec = SimSpec::new(design, model, &s, seed).unwrap();
    spec.mean = 100.0;
    let sim = Simulator::new(spec).unwrap();
    let mut out = Vec::new();
    sim.for_each(|c, y| out.push((c.to_vec(), y)));
    out
}

fn estimates_from_csv(design: &Design, model: Model, csv: &str) -> Vec<(usize, f64)> {
    let ds = read_csv_from(csv.as_bytes(), "p.csv", design, &ReadOptions::default()).unwrap();
    ds.require_balanced().unwrap();
    let sized = ds.sized_design(design).unwrap();
    let a = anova::from_cells(&sized, &ds.cells).unwrap();
    moments::estimates(&derive(&sized, model), &a)
}

fn anova_of(design: &Design, rows: &[(Vec<u32>, f64)]) -> anova::AnovaTable {
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let mut acc = CellAccumulator::new(radix);
    for (c, y) in rows {
        acc.push(c, *y);
    }
    anova::from_cells(design, &acc.finish()).unwrap()
}

fn estimates_from_rows(
    design: &Design,
    model: Model,
    rows: &[(Vec<u32>, f64)],
) -> Vec<(usize, f64)> {
    moments::estimates(&derive(design, model), &anova_of(design, rows))
}

/// The full moment analysis (tests, components, intervals) of simulated rows.
fn fit_rows(
    design: &Design,
    model: Model,
    rows: &[(Vec<u32>, f64)],
    negative: NegativePolicy,
) -> MomentFit {
    let opts = MomentOptions {
        alpha: 0.05,
        negative,
    };
    moments::fit(&derive(design, model), &anova_of(design, rows), &opts)
}

/// Two fits agree row by row (by name): mean squares, tests (F, df, p) and components
/// (estimate, ν, both intervals), to `tol` relative to the largest mean square.
fn same_fit(a: &MomentFit, b: &MomentFit, tol: f64) -> Result<(), String> {
    let size = a.system.rows.iter().map(|r| r.ms.abs()).fold(1.0, f64::max);
    let near = |x: f64, y: f64| x == y || (x - y).abs() <= tol * size.max(x.abs());
    let opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => near(x, y),
        (None, None) => true,
        _ => false,
    };
    for (t, row) in b.system.rows.iter().enumerate() {
        if row.pooled_into.is_some() {
            continue;
        }
        let s = a
            .system
            .rows
            .iter()
            .position(|r| r.name == row.name)
            .ok_or(format!("no row {}", row.name))?;
        let (x, y) = (&a.tests[s], &b.tests[t]);
        let same = a.system.rows[s].df == row.df
            && near(a.system.rows[s].ms, row.ms)
            && x.kind == y.kind
            && opt(x.f, y.f)
            && opt(x.p, y.p)
            && opt(x.df_den, y.df_den);
        if !same {
            return Err(format!("{}: {x:?}\nvs {y:?}", row.name));
        }
    }
    let kept: Vec<_> = a
        .components
        .iter()
        .filter(|c| c.pooled_into.is_none())
        .collect();
    if kept.len() != b.components.len() {
        return Err(format!(
            "{} components vs {}",
            kept.len(),
            b.components.len()
        ));
    }
    for (x, y) in kept.iter().zip(&b.components) {
        let ci = |c: &moments::VarianceComponent| c.ci.map(|i| (i.lower, i.upper));
        let mls = |c: &moments::VarianceComponent| c.mls.map(|i| (i.lower, i.upper));
        let pair = |p: Option<(f64, f64)>, q: Option<(f64, f64)>| match (p, q) {
            (Some(p), Some(q)) => near(p.0, q.0) && near(p.1, q.1),
            (None, None) => true,
            _ => false,
        };
        let same = x.name == y.name
            && near(x.estimate, y.estimate)
            && near(x.satterthwaite_df, y.satterthwaite_df)
            && pair(ci(x), ci(y))
            && pair(mls(x), mls(y));
        if !same {
            return Err(format!("{}: {x:?}\nvs {y:?}", x.name));
        }
    }
    Ok(())
}

/// A label for a level: `perm` scrambles the codes; with `unique`, a nested factor's label
/// also names its parents' codes (globally unique coding).
fn label(design: &Design, f: usize, codes: &[u32], perm: u64, unique: bool) -> String {
    let scrambled = (u64::from(codes[f]) ^ perm.rotate_left(f as u32 * 7)) & 0xFFFF;
    let mut s = format!("{}{scrambled}", ["x", "lvl", "Q"][f % 3]);
    if unique {
        for a in design.factors[f].ancestors.iter() {
            s.push_str(&format!("-{}", codes[a]));
        }
    }
    s
}

fn to_csv(design: &Design, rows: &[&(Vec<u32>, f64)], perm: u64, unique: bool) -> String {
    let mut s: String = design
        .factors
        .iter()
        .map(|f| f.name.clone())
        .collect::<Vec<_>>()
        .join(",");
    s.push(',');
    s.push_str(design.response.as_deref().unwrap_or("y"));
    s.push('\n');
    for (codes, y) in rows {
        for f in 0..design.factors.len() {
            s.push_str(&label(design, f, codes, perm, unique));
            s.push(',');
        }
        s.push_str(&format!("{y}\n"));
    }
    s
}

fn agree(a: &[(usize, f64)], b: &[(usize, f64)], scale: f64) -> Result<(), String> {
    if a.len() != b.len() || a.is_empty() {
        return Err(format!("{} components vs {}", a.len(), b.len()));
    }
    let size = a.iter().map(|x| x.1.abs()).fold(1.0, f64::max);
    for ((u, x), (v, y)) in a.iter().zip(b) {
        if u != v || (x * scale - y).abs() > COMPONENT_IDENTITY * size * scale {
            return Err(format!("component {u}: {} vs {y}", x * scale));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(24, 2103))]

    #[test]
    fn shuffling_rows_and_relabelling_levels_changes_nothing(
        which in 0usize..DESIGNS.len(),
        unrestricted in any::<bool>(),
        seed in any::<u64>(),
        order_seed in any::<u64>(),
        perm in any::<u64>(),
        unique in any::<bool>(),
    ) {
        let design = emslab::io::read_design(&design_path(DESIGNS[which])).unwrap();
        let model = if unrestricted { Model::Unrestricted } else { Model::Restricted };
        let data = rows(&design, model, seed);
        let in_order: Vec<&(Vec<u32>, f64)> = data.iter().collect();
        let base = estimates_from_csv(&design, model, &to_csv(&design, &in_order, 0, false));
        let mut shuffled = in_order.clone();
        SeededRng::new(order_seed).shuffle(&mut shuffled);
        let other = estimates_from_csv(&design, model, &to_csv(&design, &shuffled, perm, unique));
        prop_assert!(agree(&base, &other, 1.0).is_ok(), "{:?}", agree(&base, &other, 1.0));
        // The same as the in-memory path.
        let direct = estimates_from_rows(&design, model, &data);
        prop_assert!(agree(&base, &direct, 1.0).is_ok());
    }

    #[test]
    fn scaling_y_scales_components_by_c_squared(
        which in 0usize..DESIGNS.len(),
        seed in any::<u64>(),
        c in 0.01f64..100.0,
    ) {
        let design = emslab::io::read_design(&design_path(DESIGNS[which])).unwrap();
        let data = rows(&design, Model::Restricted, seed);
        let scaled: Vec<(Vec<u32>, f64)> = data.iter().map(|(k, y)| (k.clone(), c * y)).collect();
        let a = estimates_from_rows(&design, Model::Restricted, &data);
        let b = estimates_from_rows(&design, Model::Restricted, &scaled);
        prop_assert!(agree(&a, &b, c * c).is_ok(), "{:?}", agree(&a, &b, c * c));
    }

    #[test]
    fn shifting_y_changes_nothing(
        which in 0usize..DESIGNS.len(),
        unrestricted in any::<bool>(),
        seed in any::<u64>(),
        shift in -1e4f64..1e4,
    ) {
        let design = emslab::io::read_design(&design_path(DESIGNS[which])).unwrap();
        let model = if unrestricted { Model::Unrestricted } else { Model::Restricted };
        let data = rows(&design, model, seed);
        let shifted: Vec<(Vec<u32>, f64)> = data.iter().map(|(k, y)| (k.clone(), y + shift)).collect();
        let a = fit_rows(&design, model, &data, NegativePolicy::Report);
        let b = fit_rows(&design, model, &shifted, NegativePolicy::Report);
        prop_assert!(same_fit(&a, &b, COMPONENT_IDENTITY).is_ok(), "{:?}", same_fit(&a, &b, COMPONENT_IDENTITY));
    }

    /// `--negative pool` (variances of 0 for some terms, so that estimates come out
    /// negative) equals the analysis of the design without the pooled terms, from the same
    /// data: their sums of squares pool into the Residual or are absorbed by the kept term
    /// that contains them.
    #[test]
    fn pooling_equals_analysing_the_reduced_design(
        which in 0usize..DESIGNS.len(),
        unrestricted in any::<bool>(),
        seed in any::<u64>(),
        zero in proptest::collection::vec(any::<bool>(), 8),
    ) {
        let design = emslab::io::read_design(&design_path(DESIGNS[which])).unwrap();
        let model = if unrestricted { Model::Unrestricted } else { Model::Restricted };
        let n = design.terms_with_residual().len();
        let data = rows_with(&design, model, seed, |k| if k + 1 < n && zero[k % 8] { 0.0 } else { 1.0 });
        let pooled = fit_rows(&design, model, &data, NegativePolicy::Pool);
        let table = derive(&design, model);
        let dropped: Vec<String> = pooled.pooling.iter().map(|p| table.terms[p.term].name.clone()).collect();
        prop_assume!(!dropped.is_empty());
        let mut spec = design.spec().clone();
        spec.terms = Some(
            design.terms.iter().map(|t| t.name.clone()).filter(|t| !dropped.contains(t)).collect(),
        );
        // Everything pooled: no design is left to refit.
        let reduced = Design::try_from(spec);
        prop_assume!(reduced.is_ok());
        let reduced = reduced.unwrap();
        // The design without a term pools it into the Residual, or into the smallest kept
        // term containing it (R's formulas); `--negative pool` pools it into its exact
        // denominator. In the restricted model these differ when a random term's
        // denominator is the Residual while a kept mixed interaction contains it
        // (operator(layout) under fixture:operator(layout)): compared where they agree.
        let same_reduction = pooled.pooling.iter().all(|p| {
            let (name, into) = (&table.terms[p.term].name, &table.terms[p.into].name);
            if p.into == table.residual() {
                reduced.pooled.iter().any(|t| &t.name == name)
            } else {
                reduced.absorbed.iter().any(|a| &a.term.name == name && &reduced.terms[a.into].name == into)
            }
        });
        prop_assert!(same_reduction || !unrestricted, "unrestricted: {dropped:?} pooled elsewhere");
        prop_assume!(same_reduction);
        let refit = fit_rows(&reduced, model, &data, NegativePolicy::Report);
        prop_assert!(
            same_fit(&pooled, &refit, COMPONENT_IDENTITY).is_ok(),
            "{} ({}), pooled {dropped:?}: {:?}",
            DESIGNS[which],
            model.as_str(),
            same_fit(&pooled, &refit, COMPONENT_IDENTITY)
        );
    }

    /// On random designs (2-4 factors, crossed and nested, fixed and random, the top term
    /// sometimes pooled) in both models: feeding the exact expected mean squares
    /// E(MS_t) = Σ_u k_tu σ²_u (φ_u for fixed terms) to the estimators gives back every σ²_u,
    /// and every test's denominator has the expectation E(MS_t) without t's own component.
    #[test]
    fn estimators_of_the_exact_ems_give_each_component(
        (recipe, replicates, pool_top) in recipes(2..=4, 2..=3, 1..=3),
        unrestricted in any::<bool>(),
        values in proptest::collection::vec(0.1f64..10.0, 16),
    ) {
        let design = build(&recipe, replicates, pool_top);
        let model = if unrestricted { Model::Unrestricted } else { Model::Restricted };
        let table = derive(&design, model);
        let sigma = |u: usize| values[u % 16];
        let ems: Vec<f64> = (0..table.terms.len())
            .map(|t| {
                table.ems[t]
                    .iter()
                    .map(|e| e.coefficient.to_f64(&design).unwrap() * sigma(e.component))
                    .sum()
            })
            .collect();
        let rows: Vec<TermMs> = (0..table.terms.len())
            .map(|t| TermMs { df: table.df(t).unwrap(), ms: ems[t] })
            .collect();
        let anova = anova::from_summary(&design, &rows);
        let estimates = moments::estimates(&table, &anova);
        let random = table.terms.iter().filter(|t| t.random).count();
        prop_assert_eq!(estimates.len(), random, "every random term has an estimator");
        for (u, est) in estimates {
            prop_assert!(close(est, sigma(u), HAND_FORMULA * 100.0), "{}: {est} vs {}", table.terms[u].name, sigma(u));
        }
        for t in moments::tests(&table, &anova) {
            if t.kind == TestKind::None {
                continue;
            }
            let own = table.ems[t.term]
                .iter()
                .find(|e| e.component == t.term)
                .map_or(0.0, |e| e.coefficient.to_f64(&design).unwrap() * sigma(t.term));
            let den = t.denominator_ms.unwrap();
            prop_assert!(close(den, ems[t.term] - own, HAND_FORMULA * 100.0),
                "{}: denominator {den} vs E(MS) - own {}", table.terms[t.term].name, ems[t.term] - own);
        }
    }
}
