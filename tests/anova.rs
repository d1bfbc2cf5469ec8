//! Sums of squares from cell means: checked against explicit least-squares projections on
//! random small designs, decomposition identities, pooling of left-out terms, and the
//! restricted/unrestricted models sharing one ANOVA table.

#![allow(clippy::unwrap_used)]

mod common;

use common::random_design::{build, recipes};
use common::{
    MOMENTS_VS_R, MomentsReference, PROJECTION, SS_IDENTITY, SeededRng, close, design_path,
    rel_close, shipped_data,
};
use emslab::anova;
use emslab::data::{self, CellAccumulator, ReadOptions};
use emslab::design::Subscripts;
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
        if norm > PROJECTION * c.norm() {
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

proptest! {
    #![proptest_config(common::proptest_config(48, 2102))]

    /// Every term's SS equals the explicit projection; the terms, the pooled terms and the
    /// pure error add up to the total.
    #[test]
    fn ss_equals_projection_and_adds_up(
        (recipe, replicates, drop_top) in recipes(1..=3, 2..=3, 1..=3)
            .prop_filter("a term and Residual df", |(r, n, top)| r.len() > 1 || (*n > 1 && !*top)),
        seed in any::<u64>(),
    ) {
        let design = build(&recipe, replicates, drop_top);
        let radix: Vec<u32> = recipe.iter().map(|r| r.levels).collect();
        let rows = all_codes(&radix, replicates);
        let mut rng = SeededRng::new(seed);
        let ys: Vec<f64> = rows.iter().map(|_| rng.between(990.0, 1010.0)).collect();
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
            prop_assert!((got - brute).abs() <= PROJECTION * total.max(1.0), "{}: {got} vs {brute}", t.name);
            sum += got;
        }
        let mut pooled = 0.0;
        for (t, row) in design.pooled.iter().zip(&table.pooled) {
            let brute = brute_ss(&design, &rows, &y, t.subscripts);
            prop_assert!((row.ss.unwrap() - brute).abs() <= PROJECTION * total.max(1.0));
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

/// The shipped data sets: every row against R's `anova(lm())` (tests/data/moments/reference.R),
/// the rows add up to the total, and the grand mean is R's `mean(y)`.
#[test]
fn reference_datasets_decompose_exactly() {
    let r = MomentsReference::load();
    for (name, case) in [
        ("dyestuff", "dyestuff"),
        ("dyestuff2", "dyestuff2"),
        ("pastes", "pastes"),
        ("machines", "machines_unrestricted"),
        ("montgomery_gauge", "montgomery_gauge"),
    ] {
        let (design, ds) = shipped_data(name);
        let sized = ds.sized_design(&design).unwrap();
        let t = anova::from_cells(&sized, &ds.cells).unwrap();
        for row in &t.rows {
            assert_eq!(
                row.df as f64,
                r.get(case, "df", &row.term),
                "{name} {}",
                row.term
            );
            let ss = row.ss.unwrap();
            assert!(
                rel_close(ss, r.get(case, "ss", &row.term), MOMENTS_VS_R),
                "{name} {}: SS {ss}",
                row.term
            );
        }
        // The table's mean squares and df in row order.
        let terms: Vec<&str> = t.rows.iter().map(|r| r.term.as_str()).collect();
        let df: Vec<u64> = terms.iter().map(|n| r.get(case, "df", n) as u64).collect();
        assert_eq!(t.df(), df, "{name}");
        let ms = t.ms();
        assert_eq!(ms.len(), terms.len(), "{name}");
        for (got, term) in ms.iter().zip(&terms) {
            let want = r.get(case, "ms", term);
            assert!(
                rel_close(*got, want, MOMENTS_VS_R),
                "{name} {term}: MS {got}"
            );
        }
        // R² from R's sums of squares: 1 - SS(Residual) / SS(total) (Pastes: R's
        // summary(lm(strength ~ batch/cask))$r.squared = 0.96712192367458583).
        let r_ss: Vec<f64> = terms.iter().map(|n| r.get(case, "ss", n)).collect();
        let want = 1.0 - r.get(case, "ss", "Residual") / r_ss.iter().sum::<f64>();
        let got = t.r_squared().unwrap();
        assert!(
            rel_close(got, want, MOMENTS_VS_R),
            "{name}: R² {got} vs {want}"
        );
        // Every term in the model: the pure error is R's Residual row; the Total has N - 1
        // df and SS(total) / (N - 1) as its mean square.
        let pure = t.pure_error.as_ref().unwrap();
        assert_eq!(pure.df as f64, r.get(case, "df", "Residual"), "{name}");
        let want = r.get(case, "ms", "Residual");
        assert!(
            rel_close(pure.ms, want, MOMENTS_VS_R),
            "{name}: pure error MS {}",
            pure.ms
        );
        let tot = t.total.as_ref().unwrap();
        assert_eq!(tot.df, ds.n_rows - 1, "{name}");
        let want = r_ss.iter().sum::<f64>() / (ds.n_rows - 1) as f64;
        assert!(
            rel_close(tot.ms, want, MOMENTS_VS_R),
            "{name}: total MS {}",
            tot.ms
        );
        let sum: f64 = t.rows.iter().map(|r| r.ss.unwrap()).sum();
        let total = t.total.as_ref().unwrap().ss.unwrap();
        assert!(close(sum, total, SS_IDENTITY), "{name}: {sum} vs {total}");
        assert_eq!(t.n_observations, Some(ds.n_rows));
        // The grand mean in the data's units.
        let mean = t.grand_mean.unwrap() + ds.offset_f64();
        let want = r.get(case, "grand_mean", "");
        assert!(
            rel_close(mean, want, MOMENTS_VS_R),
            "{name}: mean {mean} vs {want}"
        );
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
    // ... and different tests of Worker: F 268.6254 against the Residual, 5.8232481 against
    // Machine:Worker (R: tests/data/moments/reference.R, cases `machines_restricted` and
    // `machines_unrestricted`).
    let reference = MomentsReference::load();
    let f = |case: &str| reference.get(case, "f", "Worker");
    assert!(rel_close(
        a.tests[1].f.unwrap(),
        f("machines_restricted"),
        MOMENTS_VS_R
    ));
    assert!(rel_close(
        b.tests[1].f.unwrap(),
        f("machines_unrestricted"),
        MOMENTS_VS_R
    ));
    assert_eq!(a.tests[1].denominator, [(3, 1.0)]);
    assert_eq!(b.tests[1].denominator, [(2, 1.0)]);
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
    // SS(Machine:Worker) + SS(Residual) of the full model, 426.53 + 33.28666667 (R:
    // tests/data/moments/reference.R, case `machines_unrestricted`).
    let reference = MomentsReference::load();
    let ss = |term: &str| reference.get("machines_unrestricted", "ss", term);
    let pooled = ss("Machine:Worker");
    assert!(rel_close(
        r.ss.unwrap(),
        pooled + ss("Residual"),
        MOMENTS_VS_R
    ));
    assert_eq!(t.pooled.len(), 1);
    assert_eq!(t.pooled[0].term, "Machine:Worker");
    assert!(rel_close(t.pooled[0].ss.unwrap(), pooled, MOMENTS_VS_R));
    // Its df and mean square as R has them: 10 and 42.653.
    assert_eq!(t.pooled[0].df, 10);
    let ms = reference.get("machines_unrestricted", "ms", "Machine:Worker");
    assert!(
        rel_close(t.pooled[0].ms, ms, MOMENTS_VS_R),
        "{}",
        t.pooled[0].ms
    );
}

#[test]
fn one_observation_per_cell_with_a_pooled_interaction() {
    // The shipped RCBD (one run per cell): Residual = block:treatment.
    let design = emslab::io::read_design(&design_path("rcbd.toml")).unwrap();
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let rows = all_codes(&radix, 1);
    let mut rng = SeededRng::new(7);
    let mut acc = CellAccumulator::new(radix.clone());
    for c in &rows {
        acc.push(c, rng.between(-10.0, 10.0));
    }
    let t = anova::from_cells(&design, &acc.finish()).unwrap();
    assert_eq!(t.pure_error.as_ref().unwrap().df, 0);
    assert_eq!(t.pure_error.as_ref().unwrap().ss, Some(0.0));
    assert!(close(
        t.residual().ss.unwrap(),
        t.pooled[0].ss.unwrap(),
        SS_IDENTITY
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

/// Two main effects whose sums of squares are each finite (8 x² = 1.2e308) but whose
/// total overflows binary64: the table is refused, not returned with an infinite Total
/// beside finite rows. (2 x 2 crossed, 2 identical replicates: cell means ±2x and 0, SS(A) =
/// SS(B) = 4 runs per level x 2 levels x x², SS(A:B) = pure error = 0.)
#[test]
fn a_total_that_overflows_is_refused_even_when_every_row_is_finite() {
    use emslab::anova::AnovaError;
    let design = Design::from_toml_str(
        "replicates = 2\n[[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 2\n\
         [[factors]]\nname = \"B\"\nkind = \"fixed\"\nlevels = 2\n",
    )
    .unwrap();
    let x = (1.2e308f64 / 8.0).sqrt();
    let mut acc = CellAccumulator::new(vec![2, 2]);
    for a in 0..2u32 {
        for b in 0..2u32 {
            let y = if a == 0 { x } else { -x } + if b == 0 { x } else { -x };
            acc.push(&[a, b], y);
            acc.push(&[a, b], y);
        }
    }
    let cells = acc.finish();
    assert_eq!(
        anova::from_cells(&design, &cells),
        Err(AnovaError::Overflow)
    );
}

/// The shipped split-split plot absorbs Block:B into the sub-plot error Block:A:B: its row
/// keeps its own df, SS and mean square, R's (R 4.2.2, `anova(lm(y ~ Block * B,
/// read.csv("designs/split_split_plot.csv")))` with every column a factor: Block:B 3 df,
/// SS 4.915625, MS 1.6385416666667), and the absorbing row adds them to its own.
#[test]
fn an_absorbed_term_keeps_its_own_row() {
    let (design, ds) = shipped_data("split_split_plot");
    let sized = ds.sized_design(&design).unwrap();
    let t = anova::from_cells(&sized, &ds.cells).unwrap();
    assert_eq!(t.absorbed.len(), 1);
    let (row, into) = &t.absorbed[0];
    assert_eq!(row.term, "Block:B");
    assert_eq!(t.rows[*into].term, "Block:A:B");
    assert_eq!(row.df, 3);
    assert!(
        rel_close(row.ss.unwrap(), 4.915625, MOMENTS_VS_R),
        "{:?}",
        row.ss
    );
    assert!(
        rel_close(row.ms, 4.915625 / 3.0, MOMENTS_VS_R),
        "{}",
        row.ms
    );
    // R's Block:A:B stratum: 9 df (Block:B's 3 and Block:A:B's 6).
    assert_eq!(t.rows[*into].df, 9);
}
