//! Sums of squares from cell means: checked against explicit least-squares projections on
//! random small designs, decomposition identities, pooling of left-out terms, and the
//! restricted/unrestricted models sharing one ANOVA table.

#![allow(clippy::unwrap_used)]

mod common;

use common::{SS_IDENTITY, close, design_path};
use emslab::anova;
use emslab::data::{self, CellAccumulator, ReadOptions};
use emslab::design::{DesignSpec, FactorSpec, Kind, Subscripts};
use emslab::{Design, Model, derive};
use nalgebra::DVector;
use proptest::prelude::*;

/// All rows of a sized design: codes per observation, in cell order.
fn all_codes(radix: &[u32], n: u32) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut codes = vec![0u32; radix.len()];
    let cells: u32 = radix.iter().product();
    for _ in 0..cells {
        for _ in 0..n {
            out.push(codes.clone());
        }
        for i in (0..radix.len()).rev() {
            codes[i] += 1;
            if codes[i] < radix[i] {
                break;
            }
            codes[i] = 0;
        }
    }
    out
}

/// Indicator columns of the cells of a set of factors.
fn indicators(rows: &[Vec<u32>], radix: &[u32], set: Subscripts) -> Vec<DVector<f64>> {
    let factors: Vec<usize> = set.iter().filter(|&i| i < radix.len()).collect();
    let size: usize = factors.iter().map(|&i| radix[i] as usize).product();
    let mut cols = vec![DVector::zeros(rows.len()); size];
    for (r, codes) in rows.iter().enumerate() {
        let idx = factors.iter().fold(0usize, |acc, &i| {
            acc * radix[i] as usize + codes[i] as usize
        });
        cols[idx][r] = 1.0;
    }
    cols
}

/// Squared length of the projection of y onto the span of the columns (modified
/// Gram-Schmidt, twice, dropping dependent columns).
fn projected_ss(cols: &[DVector<f64>], y: &DVector<f64>) -> f64 {
    let mut basis: Vec<DVector<f64>> = Vec::new();
    for c in cols {
        let mut v = c.clone();
        for _ in 0..2 {
            for b in &basis {
                let d = b.dot(&v);
                v -= b * d;
            }
        }
        let norm = v.norm();
        if norm > 1e-9 * c.norm() {
            basis.push(v / norm);
        }
    }
    basis.iter().map(|b| b.dot(y).powi(2)).sum()
}

/// SS of a term by brute force: ||P(≤T) y||² - ||P(<T) y||², where ≤T spans the cells of
/// the term's factors and <T the cells of every term strictly below it (and the mean).
fn brute_ss(design: &Design, rows: &[Vec<u32>], y: &DVector<f64>, set: Subscripts) -> f64 {
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let all_terms: Vec<Subscripts> = design
        .terms
        .iter()
        .chain(&design.pooled)
        .map(|t| t.subscripts)
        .collect();
    let upper = projected_ss(&indicators(rows, &radix, set), y);
    let mut below = vec![DVector::from_element(rows.len(), 1.0)];
    for s in all_terms {
        if s != set && set.is_superset(s) {
            below.extend(indicators(rows, &radix, s));
        }
    }
    upper - projected_ss(&below, y)
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 20.0 - 10.0
    }
}

fn random_design(
    kinds: &[bool],
    parents: &[Option<usize>],
    levels: &[u32],
    replicates: u32,
    drop_top: bool,
) -> Design {
    let factors: Vec<FactorSpec> = (0..kinds.len())
        .map(|i| FactorSpec {
            name: format!("F{i}"),
            kind: if kinds[i] { Kind::Random } else { Kind::Fixed },
            levels: Some(levels[i]),
            nested_in: parents[i]
                .filter(|&p| p < i)
                .map(|p| vec![format!("F{p}")])
                .unwrap_or_default(),
            symbol: None,
            role: None,
        })
        .collect();
    let mut spec = DesignSpec {
        title: String::new(),
        response: None,
        replicates: Some(replicates.max(2)),
        factors,
        terms: None,
    };
    let full = Design::try_from(spec.clone()).unwrap();
    spec.replicates = Some(replicates);
    if drop_top || replicates == 1 {
        let keep: Vec<String> = full.terms[..full.terms.len() - 1]
            .iter()
            .map(|t| t.name.clone())
            .collect();
        if !keep.is_empty() {
            spec.terms = Some(keep);
        }
    }
    Design::try_from(spec).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Every term's SS equals the explicit projection; the terms, the pooled terms and the
    /// pure error add up to the total.
    #[test]
    fn ss_equals_projection_and_adds_up(
        kinds in proptest::collection::vec(any::<bool>(), 1..=3),
        parent_pick in proptest::collection::vec(proptest::option::of(0usize..3), 3),
        levels in proptest::collection::vec(2u32..=3, 3),
        replicates in 1u32..=3,
        drop_top in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let nf = kinds.len();
        prop_assume!(nf > 1 || replicates > 1);
        let design = random_design(&kinds, &parent_pick[..nf], &levels[..nf], replicates, drop_top);
        let radix: Vec<u32> = levels[..nf].to_vec();
        let rows = all_codes(&radix, replicates);
        let mut rng = Lcg(seed);
        let ys: Vec<f64> = rows.iter().map(|_| 1000.0 + rng.next()).collect();
        let mut acc = CellAccumulator::new(radix.clone());
        for (c, &y) in rows.iter().zip(&ys) {
            acc.push(c, y);
        }
        let table = anova::from_cells(&design, &acc.finish()).unwrap();
        let y = DVector::from_vec(ys.clone());
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        let total: f64 = ys.iter().map(|v| (v - mean).powi(2)).sum();
        let total_got = table.total.as_ref().unwrap().ss.unwrap();
        prop_assert!(close(total_got, total, SS_IDENTITY), "total {total_got} vs {total}");
        let mut sum = 0.0;
        for (t, row) in design.terms.iter().zip(&table.rows) {
            let brute = brute_ss(&design, &rows, &y, t.subscripts);
            let got = row.ss.unwrap();
            prop_assert!((got - brute).abs() <= 1e-9 * total.max(1.0), "{}: {got} vs {brute}", t.name);
            sum += got;
        }
        let mut pooled = 0.0;
        for (t, row) in design.pooled.iter().zip(&table.pooled) {
            let brute = brute_ss(&design, &rows, &y, t.subscripts);
            prop_assert!((row.ss.unwrap() - brute).abs() <= 1e-9 * total.max(1.0));
            pooled += row.ss.unwrap();
        }
        let resid = table.residual().ss.unwrap();
        let pure = table.pure_error.as_ref().unwrap().ss.unwrap();
        prop_assert!(close(resid, pure + pooled, SS_IDENTITY));
        prop_assert!(close(sum + resid, total, SS_IDENTITY), "{} vs {total}", sum + resid);
        // df add up too.
        let df: u64 = table.rows.iter().map(|r| r.df).sum();
        prop_assert_eq!(df, rows.len() as u64 - 1);
    }
}

#[test]
fn reference_datasets_decompose_exactly() {
    for name in [
        "dyestuff",
        "dyestuff2",
        "pastes",
        "machines",
        "montgomery_gauge",
    ] {
        let design = emslab::io::read_design(&design_path(&format!("{name}.toml"))).unwrap();
        let ds = data::read_csv(
            &design_path(&format!("{name}.csv")),
            &design,
            &ReadOptions::default(),
        )
        .unwrap();
        let sized = ds.sized_design(&design).unwrap();
        let t = anova::from_cells(&sized, &ds.cells).unwrap();
        let sum: f64 = t.rows.iter().map(|r| r.ss.unwrap()).sum();
        let total = t.total.as_ref().unwrap().ss.unwrap();
        assert!(close(sum, total, SS_IDENTITY), "{name}: {sum} vs {total}");
        assert_eq!(t.n_observations, Some(ds.n_rows));
        // The grand mean in the data's units.
        let mean = t.grand_mean.unwrap() + ds.offset_f64();
        assert!(mean.is_finite());
    }
}

#[test]
fn restricted_and_unrestricted_share_the_anova_table() {
    let design = emslab::io::read_design(&design_path("machines.toml")).unwrap();
    let ds = data::read_csv(
        &design_path("machines.csv"),
        &design,
        &ReadOptions::default(),
    )
    .unwrap();
    let t = anova::from_cells(&design, &ds.cells).unwrap();
    let r = derive(&design, Model::Restricted);
    let u = derive(&design, Model::Unrestricted);
    let a = emslab::moments::fit(&r, &t, &Default::default());
    let b = emslab::moments::fit(&u, &t, &Default::default());
    for k in 0..t.rows.len() {
        assert_eq!(a.system.rows[k].ms, b.system.rows[k].ms);
    }
    // ... and different tests of Worker (F 268.6 against the Residual, 5.82 against
    // Machine:Worker).
    assert!((a.tests[1].f.unwrap() - 268.6254).abs() < 1e-3);
    assert!((b.tests[1].f.unwrap() - 5.8232481).abs() < 1e-6);
}

#[test]
fn left_out_terms_pool_into_the_residual() {
    // Machines without the interaction: Residual = interaction + pure error.
    let full = emslab::io::read_design(&design_path("machines.toml")).unwrap();
    let mut spec = full.spec().clone();
    spec.terms = Some(vec!["Machine".into(), "Worker".into()]);
    let reduced = Design::try_from(spec).unwrap();
    let ds = data::read_csv(
        &design_path("machines.csv"),
        &reduced,
        &ReadOptions::default(),
    )
    .unwrap();
    let t = anova::from_cells(&reduced, &ds.cells).unwrap();
    let r = t.residual();
    assert_eq!(r.df, 46);
    // 426.53 + 33.28666667 (reference README, machines).
    assert!(close(r.ss.unwrap(), 426.53 + 33.28666666666667, 1e-12));
    assert_eq!(t.pooled.len(), 1);
    assert_eq!(t.pooled[0].term, "Machine:Worker");
    assert!(close(t.pooled[0].ss.unwrap(), 426.53, 1e-12));
}

#[test]
fn one_observation_per_cell_with_a_pooled_interaction() {
    // The shipped RCBD (one run per cell): Residual = block:treatment.
    let design = emslab::io::read_design(&design_path("rcbd.toml")).unwrap();
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let rows = all_codes(&radix, 1);
    let mut rng = Lcg(7);
    let mut acc = CellAccumulator::new(radix.clone());
    for c in &rows {
        acc.push(c, rng.next());
    }
    let t = anova::from_cells(&design, &acc.finish()).unwrap();
    assert_eq!(t.pure_error.as_ref().unwrap().df, 0);
    assert_eq!(t.pure_error.as_ref().unwrap().ss, Some(0.0));
    assert!(close(
        t.residual().ss.unwrap(),
        t.pooled[0].ss.unwrap(),
        1e-12
    ));
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let design = emslab::io::read_design(&design_path("machines.toml")).unwrap();
    let mut acc = CellAccumulator::new(vec![3, 6]);
    acc.push(&[0, 0], 1.0);
    assert!(matches!(
        anova::from_cells(&design, &acc.finish()),
        Err(anova::AnovaError::Unbalanced(3))
    ));
    let acc = CellAccumulator::new(vec![3, 5]);
    assert!(matches!(
        anova::from_cells(&design, &acc.finish()),
        Err(anova::AnovaError::SizeMismatch { .. })
    ));
    let unsized_design =
        Design::from_toml_str("[[factors]]\nname = \"A\"\nkind = \"fixed\"\n").unwrap();
    assert!(matches!(
        anova::from_cells(&unsized_design, &CellAccumulator::new(vec![2]).finish()),
        Err(anova::AnovaError::Unsized)
    ));
}
