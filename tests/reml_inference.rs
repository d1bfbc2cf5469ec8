//! Inference from the REML fit against lmerTest, pbkrtest and emmeans.
//!
//! Provenance: `tests/data/reml_inference/reference.R` (lme4 1.1-31, lmerTest 3.1-3,
//! pbkrtest 0.5.2, emmeans 1.8.4-1 on R 4.2.2) wrote `reference.csv` (15 significant digits)
//! and the data it uses: the shipped Machines (balanced), Machines and Pastes with the rows
//! of `machines_removed.csv` / `pastes_removed.csv` removed, two fixed factors with an empty
//! cell (`empty_cell.csv`) and a nested (split-plot) design (`split_plot.csv`). lme4's theta
//! was polished to the optimum by Newton steps on lme4's own criterion before the references
//! were computed, so that optimiser noise does not enter. The suite never needs R.
//!
//! - Satterthwaite: `summary(m)` (fixed effects), `anova(m, type = 3)`, `emmeans(m, ...,
//!   lmer.df = "satterthwaite")` and `pairs(..., adjust = "none")`.
//! - Kenward-Roger: the same with `ddf = "Kenward-Roger"` / `lmer.df = "kenward-roger"`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{
    F_VS_LMERTEST, KENWARD_ROGER_VS_PBKRTEST, MEANS_VS_EMMEANS, SATTERTHWAITE_VS_LMERTEST,
};
use emslab::Design;
use emslab::reml::inference::{DdfMethod, Inference, LevelSet};
use emslab::reml::{RemlFit, RemlOptions, fit};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

struct Data {
    codes: Vec<Vec<u32>>,
    labels: Vec<Vec<String>>,
    y: Vec<f64>,
}

/// Reads a CSV; factor levels coded in sorted order of their labels (numerically when all
/// are numbers), as R's `factor()` codes them; rows given 1-based in `removed` are skipped.
fn load(file: &str, factors: &[&str], response: &str, removed: &[usize]) -> Data {
    let path = format!("{DATA}/{file}");
    let mut rdr = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let fcols: Vec<usize> = factors.iter().map(|f| col(f)).collect();
    let ycol = col(response);
    let mut raw: Vec<Vec<String>> = vec![Vec::new(); factors.len()];
    let mut y = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        if removed.contains(&(i + 1)) {
            continue;
        }
        let rec = rec.unwrap();
        for (k, &c) in fcols.iter().enumerate() {
            raw[k].push(rec[c].to_string());
        }
        y.push(rec[ycol].trim().parse::<f64>().unwrap());
    }
    let mut codes = Vec::new();
    let mut labels = Vec::new();
    for column in raw {
        let mut lv = column.clone();
        lv.sort();
        lv.dedup();
        if lv.iter().all(|s| s.parse::<f64>().is_ok()) {
            lv.sort_by(|a, b| {
                a.parse::<f64>()
                    .unwrap()
                    .total_cmp(&b.parse::<f64>().unwrap())
            });
        }
        let index: HashMap<&String, u32> =
            lv.iter().enumerate().map(|(i, s)| (s, i as u32)).collect();
        codes.push(column.iter().map(|s| index[s]).collect());
        labels.push(lv.clone());
    }
    Data { codes, labels, y }
}

fn removed(file: &str) -> Vec<usize> {
    let mut rdr = csv::Reader::from_path(format!("{DATA}/reml_inference/{file}")).unwrap();
    rdr.records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect()
}

/// The reference values: (dataset, method, kind, term, name) -> value.
struct Reference(HashMap<(String, String, String, String, String), f64>);

impl Reference {
    fn load() -> Reference {
        let mut rdr =
            csv::Reader::from_path(format!("{DATA}/reml_inference/reference.csv")).unwrap();
        let mut map = HashMap::new();
        for rec in rdr.records() {
            let r = rec.unwrap();
            let key = (1..6).map(|i| r[i - 1].to_string()).collect::<Vec<_>>();
            map.insert(
                (
                    key[0].clone(),
                    key[1].clone(),
                    key[2].clone(),
                    key[3].clone(),
                    key[4].clone(),
                ),
                r[5].parse().unwrap(),
            );
        }
        Reference(map)
    }
    fn get(&self, d: &str, m: &str, kind: &str, term: &str, name: &str) -> Option<f64> {
        self.0
            .get(&(d.into(), m.into(), kind.into(), term.into(), name.into()))
            .copied()
    }
    fn keys(&self, d: &str, m: &str, kind: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .0
            .keys()
            .filter(|k| k.0 == d && k.1 == m && k.2 == kind)
            .map(|k| (k.3.clone(), k.4.clone()))
            .collect();
        v.sort();
        v
    }
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        rel <= tol || (got - want).abs() <= tol * common::NEAR_ZERO_SCALE,
        "{what}: emslab {got:.12e}, R {want:.12e} (relative difference {rel:.2e} > {tol:.0e})"
    );
}

fn key(levels: &LevelSet) -> String {
    levels
        .0
        .iter()
        .map(|(f, l)| format!("{f}={l}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn method_name(m: DdfMethod) -> &'static str {
    match m {
        DdfMethod::Satterthwaite => "satterthwaite",
        DdfMethod::KenwardRoger => "kenward-roger",
    }
}

/// Tolerance of df, p and KR quantities by method.
fn df_tol(m: DdfMethod) -> f64 {
    match m {
        DdfMethod::Satterthwaite => SATTERTHWAITE_VS_LMERTEST,
        DdfMethod::KenwardRoger => KENWARD_ROGER_VS_PBKRTEST,
    }
}

fn run(design: &Design, d: &Data, kenward_roger: bool) -> RemlFit {
    let opts = RemlOptions {
        level_labels: Some(d.labels.clone()),
        profile: false,
        kenward_roger,
        ..RemlOptions::default()
    };
    fit(design, &d.codes, &d.y, &opts).unwrap()
}

/// Fixed effects, Type III tests, grand mean, means and pairs of one fit against one method.
fn check(dataset: &str, r: &Reference, fit: &RemlFit, method: DdfMethod) {
    let inf: &Inference = fit.inference.as_ref().expect("inference");
    assert_eq!(inf.ddf_method, method);
    check_fixed_effects(dataset, r, fit, method);
    check_tests(dataset, r, inf, method);
    check_grand_mean(dataset, r, inf, method);
    check_means(dataset, r, inf, method);
}

/// The tolerance of standard errors (and t): Kenward-Roger's adjusted ones go through the
/// df computation, the others are emmeans' to its own precision.
fn se_tol(method: DdfMethod) -> f64 {
    if method == DdfMethod::KenwardRoger {
        df_tol(method)
    } else {
        MEANS_VS_EMMEANS
    }
}

fn check_fixed_effects(dataset: &str, r: &Reference, fit: &RemlFit, method: DdfMethod) {
    let m = method_name(method);
    let tol = df_tol(method);
    let se_tol = se_tol(method);
    // Fixed effects (lme4's names are ours without the `=`).
    for fe in &fit.fixed_effects {
        let name = fe.name.replace('=', "");
        let what = |k: &str| format!("{dataset} {m} {k} {name}");
        let want = |k: &str| {
            r.get(dataset, m, k, "", &name)
                .unwrap_or_else(|| panic!("{}", what(k)))
        };
        close(
            &what("estimate"),
            fe.estimate,
            want("fixef"),
            MEANS_VS_EMMEANS,
        );
        let se = fe.se_adjusted.unwrap_or(fe.se);
        close(&what("se"), se, want("fixef_se"), se_tol);
        close(&what("df"), fe.df.unwrap(), want("fixef_df"), tol);
        close(&what("t"), fe.t.unwrap(), want("fixef_t"), se_tol);
        close(&what("p"), fe.p.unwrap(), want("fixef_p"), tol);
    }
}

fn check_tests(dataset: &str, r: &Reference, inf: &Inference, method: DdfMethod) {
    let m = method_name(method);
    let tol = df_tol(method);
    // Type III tests.
    let tests: Vec<_> = inf
        .fixed_tests
        .iter()
        .filter(|t| t.ddf_method == method)
        .collect();
    assert_eq!(
        tests.len(),
        r.keys(dataset, m, "F").len(),
        "{dataset} {m} tests"
    );
    for t in tests {
        let what = |k: &str| format!("{dataset} {m} {k} {}", t.term);
        let want = |k: &str| {
            r.get(dataset, m, k, &t.term, "")
                .unwrap_or_else(|| panic!("{}", what(k)))
        };
        let f_tol = if method == DdfMethod::KenwardRoger {
            tol
        } else {
            F_VS_LMERTEST
        };
        close(&what("F"), t.f, want("F"), f_tol);
        assert_eq!(f64::from(t.df_num), want("ndf"), "{}", what("ndf"));
        close(&what("ddf"), t.df_den, want("ddf"), tol);
        close(&what("p"), t.p, want("p"), tol);
    }
}

fn check_grand_mean(dataset: &str, r: &Reference, inf: &Inference, method: DdfMethod) {
    let m = method_name(method);
    let tol = df_tol(method);
    let se_tol = se_tol(method);
    // Grand mean.
    match (&inf.grand_mean, r.get(dataset, m, "grand_mean", "", "")) {
        (Some(g), Some(want)) => {
            close(
                &format!("{dataset} {m} grand mean"),
                g.mean,
                want,
                MEANS_VS_EMMEANS,
            );
            let w = |k: &str| r.get(dataset, m, k, "", "").unwrap();
            close(
                &format!("{dataset} {m} grand mean se"),
                g.se,
                w("grand_mean_se"),
                se_tol,
            );
            close(
                &format!("{dataset} {m} grand mean df"),
                g.df,
                w("grand_mean_df"),
                tol,
            );
            let ci = g.ci.unwrap();
            close(
                &format!("{dataset} {m} grand mean lower"),
                ci.lower,
                w("grand_mean_lower"),
                tol,
            );
            close(
                &format!("{dataset} {m} grand mean upper"),
                ci.upper,
                w("grand_mean_upper"),
                tol,
            );
        }
        (None, None) => assert!(r.get(dataset, m, "grand_mean_nonest", "", "").is_some()),
        (g, w) => panic!("{dataset} {m}: grand mean {g:?} against R's {w:?}"),
    }
}

/// Means and pairs: every estimable one of R's, and no other.
fn check_means(dataset: &str, r: &Reference, inf: &Inference, method: DdfMethod) {
    let m = method_name(method);
    let tol = df_tol(method);
    let se_tol = se_tol(method);
    // Means: every estimable one of R's, and no other.
    assert_eq!(
        inf.means.len(),
        r.keys(dataset, m, "mean").len(),
        "{dataset} {m} means"
    );
    for mean in &inf.means {
        let k = key(&mean.levels);
        let what = |x: &str| format!("{dataset} {m} {x} {} {k}", mean.term);
        let want = |x: &str| {
            r.get(dataset, m, x, &mean.term, &k)
                .unwrap_or_else(|| panic!("{}", what(x)))
        };
        close(&what("mean"), mean.mean, want("mean"), MEANS_VS_EMMEANS);
        close(&what("se"), mean.se, want("mean_se"), se_tol);
        close(&what("df"), mean.df, want("mean_df"), tol);
        let ci = mean.ci.unwrap();
        close(&what("lower"), ci.lower, want("mean_lower"), tol);
        close(&what("upper"), ci.upper, want("mean_upper"), tol);
    }
    assert_eq!(
        inf.comparisons.len(),
        r.keys(dataset, m, "pair").len(),
        "{dataset} {m} pairs"
    );
    for c in &inf.comparisons {
        let k = format!("{}|{}", key(&c.a), key(&c.b));
        let what = |x: &str| format!("{dataset} {m} {x} {} {k}", c.term);
        let want = |x: &str| {
            r.get(dataset, m, x, &c.term, &k)
                .unwrap_or_else(|| panic!("{}", what(x)))
        };
        close(
            &what("difference"),
            c.difference,
            want("pair"),
            MEANS_VS_EMMEANS,
        );
        close(&what("se"), c.se, want("pair_se"), se_tol);
        close(&what("df"), c.df, want("pair_df"), tol);
        close(&what("t"), c.t, want("pair_t"), se_tol);
        close(&what("p"), c.p, want("pair_p"), tol);
        let ci = c.ci.unwrap();
        close(&what("lower"), ci.lower, want("pair_lower"), tol);
        close(&what("upper"), ci.upper, want("pair_upper"), tol);
    }
}

/// The fit's variance components against the reference fit (the same optimum).
fn check_fit(dataset: &str, r: &Reference, fit: &RemlFit) {
    for c in &fit.components {
        let want = r.get(dataset, "", "variance", &c.term, "").unwrap();
        close(
            &format!("{dataset} variance {}", c.term),
            c.variance,
            want,
            MEANS_VS_EMMEANS,
        );
    }
}

fn both(dataset: &str, design: &Design, d: &Data) {
    let r = Reference::load();
    let s = run(design, d, false);
    check_fit(dataset, &r, &s);
    check(dataset, &r, &s, DdfMethod::Satterthwaite);
    let k = run(design, d, true);
    check(dataset, &r, &k, DdfMethod::KenwardRoger);
    // The Satterthwaite rows come first with Kenward-Roger as well, and agree.
    let inf = k.inference.as_ref().unwrap();
    let s_rows: Vec<_> = inf
        .fixed_tests
        .iter()
        .filter(|t| t.ddf_method == DdfMethod::Satterthwaite)
        .collect();
    assert_eq!(
        s_rows.len(),
        s.inference.as_ref().unwrap().fixed_tests.len()
    );
}

const MACHINES: &str = r#"
title = "Machines"
response = "score"
[[factors]]
name = "Machine"
kind = "fixed"
[[factors]]
name = "Worker"
kind = "random"
"#;

const PASTES: &str = r#"
title = "Pastes"
response = "strength"
[[factors]]
name = "batch"
kind = "random"
[[factors]]
name = "cask"
kind = "random"
nested_in = ["batch"]
"#;

const EMPTY_CELL: &str = r#"
title = "Two fixed factors with an empty cell, blocks random"
response = "y"
terms = ["A", "B", "A:B", "block", "A:block"]
[[factors]]
name = "A"
kind = "fixed"
[[factors]]
name = "B"
kind = "fixed"
[[factors]]
name = "block"
kind = "random"
"#;

const SPLIT_PLOT: &str = r#"
title = "Diets by times, subjects nested in diets"
response = "y"
replicates = 1
terms = ["diet", "subject(diet)", "time", "diet:time"]
[[factors]]
name = "diet"
kind = "fixed"
[[factors]]
name = "subject"
kind = "random"
nested_in = ["diet"]
[[factors]]
name = "time"
kind = "fixed"
"#;

fn design(toml: &str) -> Design {
    Design::from_toml_str(toml).unwrap()
}

#[test]
fn machines_balanced_matches_lmertest_pbkrtest_and_emmeans() {
    let d = load("reml/machines.csv", &["Machine", "Worker"], "score", &[]);
    both("machines", &design(MACHINES), &d);
}

#[test]
fn machines_with_rows_removed_matches_lmertest_pbkrtest_and_emmeans() {
    let d = load(
        "reml/machines.csv",
        &["Machine", "Worker"],
        "score",
        &removed("machines_removed.csv"),
    );
    both("machines_removed", &design(MACHINES), &d);
}

#[test]
fn pastes_with_rows_removed_intercept_df_and_grand_mean() {
    let d = load(
        "reml/pastes.csv",
        &["batch", "cask"],
        "strength",
        &removed("pastes_removed.csv"),
    );
    both("pastes_removed", &design(PASTES), &d);
}

#[test]
fn empty_cell_tests_and_estimable_means() {
    let d = load(
        "reml_inference/empty_cell.csv",
        &["A", "B", "block"],
        "y",
        &[],
    );
    both("empty_cell", &design(EMPTY_CELL), &d);
    let f = run(&design(EMPTY_CELL), &d, false);
    let inf = f.inference.unwrap();
    // (a3, b3) has no data: the notes name it, and its means are not estimable.
    assert!(inf.notes.iter().any(|n| matches!(n,
        emslab::reml::inference::InferenceNote::MissingCells { cells } if cells.len() == 1)));
    assert!(inf.notes.iter().any(|n| matches!(n,
        emslab::reml::inference::InferenceNote::NotEstimable { term, .. } if term == "A:B")));
}

#[test]
fn nested_split_plot_matches_lmertest_pbkrtest_and_emmeans() {
    let d = load(
        "reml_inference/split_plot.csv",
        &["diet", "subject", "time"],
        "y",
        &[],
    );
    both("split_plot", &design(SPLIT_PLOT), &d);
}

// ---- property: balanced data, exact unrestricted EMS tests ----------------------------------

mod balanced {
    use super::*;
    use common::random_design::{build, recipes};
    use common::{EMS_TEST_DF_VS_REML, EMS_TEST_VS_REML};
    use emslab::anova;
    use emslab::data::CellAccumulator;
    use emslab::ems::{Model, Ratio, TestKind, derive};
    use emslab::moments;
    use proptest::prelude::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let u1 = self.next().max(1e-300);
            let u2 = self.next();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    /// Every cell (nested codes restart within their parent) times the replicates; y = 10 +
    /// the effect of every term (random N(0, sd^2) with sd in [1, 3), fixed uniform on
    /// [-2, 2)) + N(0, 1).
    fn simulate(d: &Design, seed: u64) -> (Vec<Vec<u32>>, Vec<f64>) {
        let mut rng = Rng(seed | 1);
        let levels: Vec<u32> = d.factors.iter().map(|f| f.levels.unwrap()).collect();
        let reps = d.replicates.unwrap();
        let mut cells: Vec<Vec<u32>> = vec![Vec::new()];
        for &m in &levels {
            cells = cells
                .into_iter()
                .flat_map(|c| {
                    (0..m).map(move |l| {
                        let mut c = c.clone();
                        c.push(l);
                        c
                    })
                })
                .collect();
        }
        let sds: Vec<f64> = d.terms.iter().map(|_| 1.0 + 2.0 * rng.next()).collect();
        let mut effects: Vec<HashMap<Vec<u32>, f64>> = vec![HashMap::new(); d.terms.len()];
        let mut codes = vec![Vec::new(); levels.len()];
        let mut y = Vec::new();
        for cell in &cells {
            for _ in 0..reps {
                let mut v = 10.0 + rng.normal();
                for (ti, t) in d.terms.iter().enumerate() {
                    let k: Vec<u32> = t.subscripts.iter().map(|f| cell[f]).collect();
                    v += *effects[ti].entry(k).or_insert_with(|| {
                        if t.random {
                            sds[ti] * rng.normal()
                        } else {
                            4.0 * rng.next() - 2.0
                        }
                    });
                }
                for (f, c) in cell.iter().enumerate() {
                    codes[f].push(*c);
                }
                y.push(v);
            }
        }
        (codes, y)
    }

    /// Each fixed term whose unrestricted EMS test is exact: the REML Type III F and its
    /// Satterthwaite df against MS(term) / MS(denominator) on (df term, df denominator).
    fn check(d: &Design, seed: u64) -> Result<usize, TestCaseError> {
        let (codes, y) = simulate(d, seed);
        let levels: Vec<u32> = d.factors.iter().map(|f| f.levels.unwrap()).collect();
        let mut acc = CellAccumulator::new(levels);
        let mut row = vec![0u32; codes.len()];
        for (o, &v) in y.iter().enumerate() {
            for (f, c) in codes.iter().enumerate() {
                row[f] = c[o];
            }
            acc.push(&row, v);
        }
        let anova =
            anova::from_cells(d, &acc.finish()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let table = derive(d, Model::Unrestricted);
        let estimates = moments::estimates(&table, &anova);
        prop_assume!(estimates.iter().all(|(_, v)| *v > 0.0));
        let start: Vec<(String, f64)> = estimates
            .iter()
            .map(|&(t, v)| (table.terms[t].name.clone(), v))
            .collect();
        let opts = RemlOptions {
            start: Some(start),
            profile: false,
            blups: false,
            residuals: false,
            information: false,
            ..RemlOptions::default()
        };
        let f = fit(d, &codes, &y, &opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let inf = f
            .inference
            .as_ref()
            .ok_or_else(|| TestCaseError::fail("no inference"))?;
        let mut checked = 0;
        for (t, term) in d.terms.iter().enumerate() {
            let test = &table.tests[t];
            if term.random || test.kind != TestKind::Exact {
                continue;
            }
            let [(den, weight)] = test.denominator.as_slice() else {
                continue;
            };
            if *weight != Ratio::ONE {
                continue;
            }
            let want_f = anova.rows[t].ms / anova.rows[*den].ms;
            let want_df = anova.rows[*den].df as f64;
            let row = inf
                .fixed_tests
                .iter()
                .find(|r| r.term == term.name && r.ddf_method == DdfMethod::Satterthwaite)
                .ok_or_else(|| TestCaseError::fail(format!("no test of {}", term.name)))?;
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
            prop_assert!(
                rel(row.f, want_f) <= EMS_TEST_VS_REML
                    && rel(row.df_den, want_df) <= EMS_TEST_DF_VS_REML,
                "{}: REML F {} on ({}, {}) against EMS F {} on ({}, {}) [{}]",
                term.name,
                row.f,
                row.df_num,
                row.df_den,
                want_f,
                anova.rows[t].df,
                want_df,
                table.terms[*den].name
            );
            prop_assert_eq!(u64::from(row.df_num), anova.rows[t].df);
            checked += 1;
        }
        Ok(checked)
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            max_global_rejects: 4000,
            ..common::proptest_config(48, 2106)
        })]

        /// On balanced data whose unrestricted moment estimates are all positive, a fixed term
        /// whose EMS test is exact in the unrestricted model has the same F and df from the
        /// REML fit (Type III, Satterthwaite).
        #[test]
        fn exact_ems_tests_equal_reml_tests(
            (rs, reps, pool) in recipes(2..=3, 2..=4, 2..=3),
            seed in any::<u64>(),
        ) {
            let d = build(&rs, reps, pool);
            prop_assume!(d.terms.iter().any(|t| !t.random));
            check(&d, seed)?;
        }
    }

    /// Machines-shaped: Machine fixed, Worker random, their interaction random: Machine is
    /// tested against Machine:Worker, exactly.
    #[test]
    fn two_factor_mixed_case() {
        let rs = vec![
            common::random_design::Recipe {
                random: false,
                levels: 3,
                parent: None,
            },
            common::random_design::Recipe {
                random: true,
                levels: 4,
                parent: None,
            },
        ];
        let d = build(&rs, 2, false);
        let mut found = 0;
        for seed in 1..20u64 {
            if let Ok(n) = check(&d, seed) {
                found += n;
            }
        }
        assert!(found > 0, "no seed gave positive estimates");
    }
}
