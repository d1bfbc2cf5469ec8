//! Sums of squares on the cell-level system: Type I (sequential) and Type III (each term
//! adjusted for every other term, sum-to-zero contrasts), each with an orthonormal basis of
//! its quadratic form, from which the expected mean squares follow.
//!
//! With `X̃ = diag(sqrt n_c) X_c = Q R` (columns: the intercept, then the terms in the
//! sequential order) and `c = Q' ỹ`, `ỹ_c = sqrt(n_c) (ȳ_c - ȳ)`:
//!
//! - Type I SS of a term: `Σ c_l²` over the positions of its kept columns; the lack of fit
//!   is `Σ c_l²` over positions `rank..m`.
//! - Type III SS of term `T`: the SS of the hypothesis `β_T = 0` in the full model,
//!   `β̂_T' (L (X̃'X̃)⁻¹ L')⁻¹ β̂_T`. For the last term it is its Type I SS. For another one,
//!   with `Z = R⁻ᵀ E_T` (`E_T` selects T's columns) and `Z = Q_z R_z`: `β̂_T = Z' c`,
//!   `L (X̃'X̃)⁻¹ L' = Z' Z`, so the SS is `‖Q_z' c‖²` and the form's basis, in the
//!   coordinates of `Q`, is `Q_z`. When some column depends on others (empty cells, a
//!   disconnected design), `Z` is not defined: the model is then factorised again with
//!   `T`'s columns last, and `T`'s SS is the Type I SS of that order (the reduction in
//!   the residual SS when `T` joins all other terms).

use crate::design::Design;

use super::UnbalancedError;
use super::layout::{
    Layout, MAX_MATRIX_ENTRIES, NestedLevels, TermLayout, term_layouts, write_term_columns,
};
use super::qr::SequentialQr;

/// The cell-level system of a design.
#[derive(Debug, Clone)]
pub(crate) struct CellModel<'a> {
    pub layout: &'a Layout,
    pub design: &'a Design,
    pub nested: Vec<NestedLevels>,
    pub terms: Vec<TermLayout>,
    /// `sqrt(n_c) (ȳ_c - ȳ)`.
    pub y: Vec<f64>,
}

/// One factorisation of the model matrix, in one column order.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    pub qr: SequentialQr,
    /// `Q' ỹ` (length m).
    pub c: Vec<f64>,
    /// Per design term: its columns `[start, end)` in this fit's matrix.
    pub columns: Vec<(usize, usize)>,
    /// Per design term: the positions `[start, end)` of its kept columns.
    pub kept: Vec<(usize, usize)>,
}

/// The quadratic form of one sum of squares, as orthonormal vectors.
#[derive(Debug, Clone)]
pub(crate) enum Basis {
    /// Columns `start..end` of `Q` of fit `fit`.
    QRange {
        fit: usize,
        start: usize,
        end: usize,
    },
    /// Vectors in the coordinates of `Q` of fit `fit` (length m, zero beyond the rank).
    Explicit { fit: usize, vectors: Vec<Vec<f64>> },
}

/// One row's sum of squares.
#[derive(Debug, Clone)]
pub(crate) struct RowSums {
    /// Index into the design's terms.
    pub term: usize,
    pub df: usize,
    pub ss: f64,
    pub basis: Basis,
}

impl<'a> CellModel<'a> {
    pub fn new(layout: &'a Layout, design: &'a Design) -> CellModel<'a> {
        let nested: Vec<NestedLevels> = (0..layout.nf)
            .map(|f| layout.nested_levels(design, f))
            .collect();
        let terms = term_layouts(layout, design, &nested);
        // Grand mean (compensated), then centred, weighted cell means.
        let total: f64 = layout.n.iter().sum();
        let mut sum = 0.0f64;
        let mut comp = 0.0f64;
        for (n, y) in layout.n.iter().zip(&layout.mean) {
            let x = n * y;
            let t = sum + x;
            comp += if sum.abs() >= x.abs() {
                (sum - t) + x
            } else {
                (x - t) + sum
            };
            sum = t;
        }
        let grand = (sum + comp) / total;
        let y = layout
            .sqrt_n
            .iter()
            .zip(&layout.mean)
            .map(|(s, y)| s * (y - grand))
            .collect();
        CellModel {
            layout,
            design,
            nested,
            terms,
            y,
        }
    }

    /// Number of columns: the intercept and every term's coding.
    pub fn n_columns(&self) -> usize {
        1 + self.terms.iter().map(|t| t.columns).sum::<usize>()
    }

    /// Factorises the model matrix with the terms in `order` (indices into the design's
    /// terms) after the intercept.
    pub fn fit(&self, order: &[usize]) -> Result<Fit, UnbalancedError> {
        let m = self.layout.m();
        let p = self.n_columns();
        if m.saturating_mul(p) > MAX_MATRIX_ENTRIES {
            return Err(UnbalancedError::TooLarge {
                cells: m,
                columns: p,
            });
        }
        let mut x = vec![0.0f64; m * p];
        x[..m].copy_from_slice(&self.layout.sqrt_n);
        let mut columns = vec![(0usize, 0usize); self.terms.len()];
        let mut next = 1usize;
        for &t in order {
            let width = self.terms[t].columns;
            write_term_columns(
                self.layout,
                &self.terms[t],
                &self.nested,
                &mut x[next * m..(next + width) * m],
            );
            columns[t] = (next, next + width);
            next += width;
        }
        let qr = SequentialQr::new(x, m, p);
        let mut c = self.y.clone();
        qr.apply_qt(&mut c);
        let mut kept = vec![(0usize, 0usize); self.terms.len()];
        for &t in order {
            let (s, e) = columns[t];
            let positions: Vec<usize> = (s..e).filter_map(|j| qr.position(j)).collect();
            let start = (0..s).filter_map(|j| qr.position(j)).count();
            kept[t] = (start, start + positions.len());
        }
        Ok(Fit {
            qr,
            c,
            columns,
            kept,
        })
    }
}

fn sum_sq(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

impl Fit {
    /// Lack of fit: the SS and df of the cell means beyond the model.
    pub fn lack_of_fit(&self) -> (f64, usize) {
        let r = self.qr.rank();
        (sum_sq(&self.c[r..]), self.qr.rows() - r)
    }

    /// Whether every column is independent of the ones before it.
    pub fn full_rank(&self, p: usize) -> bool {
        self.qr.rank() == p
    }
}

/// Type I rows: each term's reduction of the residual SS given the terms before it.
pub(crate) fn type_i(fit: &Fit, order: &[usize]) -> Vec<RowSums> {
    order
        .iter()
        .map(|&t| {
            let (start, end) = fit.kept[t];
            RowSums {
                term: t,
                df: end - start,
                ss: sum_sq(&fit.c[start..end]),
                basis: Basis::QRange { fit: 0, start, end },
            }
        })
        .collect()
}

/// The Type III row of term `t`, given the factorisation `main` in `order`. When the model
/// matrix is rank-deficient (or `Z` numerically so) the model is factorised again with `t`'s
/// columns last; that refit is returned too, and the row's basis refers to it as fit 1
/// (`main` being fit 0): the caller computes the EMS before the next refit.
pub(crate) fn type_iii(
    model: &CellModel<'_>,
    main: &Fit,
    order: &[usize],
    t: usize,
) -> Result<(RowSums, Option<Fit>), UnbalancedError> {
    if order.last() == Some(&t) {
        return Ok((type_i(main, &[t]).remove(0), None));
    }
    if main.full_rank(model.n_columns())
        && let Some(row) = adjusted_by_z(main, t)
    {
        return Ok((row, None));
    }
    let mut reordered: Vec<usize> = order.iter().copied().filter(|&u| u != t).collect();
    reordered.push(t);
    let refit = model.fit(&reordered)?;
    let mut row = type_i(&refit, &[t]).remove(0);
    if let Basis::QRange { fit, .. } = &mut row.basis {
        *fit = 1;
    }
    Ok((row, Some(refit)))
}

/// Type III of term `t` from a full-rank factorisation: `‖Q_z' c‖²` with `Z = R⁻ᵀ E_T`.
/// `None` when `Z` turns out numerically rank-deficient (then the caller refits).
fn adjusted_by_z(fit: &Fit, t: usize) -> Option<RowSums> {
    let (s, e) = fit.kept[t];
    let r = fit.qr.rank();
    let m = fit.qr.rows();
    let d = e - s;
    if d == 0 {
        return Some(RowSums {
            term: t,
            df: 0,
            ss: 0.0,
            basis: Basis::Explicit {
                fit: 0,
                vectors: Vec::new(),
            },
        });
    }
    // Z restricted to rows s..r (rows above s are zero), column-major (r - s) × d.
    let h = r - s;
    let mut z = vec![0.0f64; h * d];
    let diag: Vec<f64> = (s..r).map(|i| fit.qr.r(i, i)).collect();
    let columns: Vec<&[f64]> = (s..r)
        .map(|k| fit.qr.transformed_column(fit.qr.kept_column(k)))
        .collect();
    for col in 0..d {
        let zc = &mut z[col * h..(col + 1) * h];
        let first = col;
        zc[first] = 1.0 / diag[first];
        for i in first + 1..h {
            let rcol = columns[i];
            let acc: f64 = (first..i).map(|l| rcol[s + l] * zc[l]).sum();
            zc[i] = -acc / diag[i];
        }
    }
    let zqr = SequentialQr::new(z, h, d);
    if zqr.rank() < d {
        return None;
    }
    let mut ct = fit.c[s..r].to_vec();
    zqr.apply_qt(&mut ct);
    let ss = sum_sq(&ct[..d]);
    let vectors = (0..d)
        .map(|k| {
            let q = zqr.q_column(k);
            let mut u = vec![0.0f64; m];
            u[s..r].copy_from_slice(&q);
            u
        })
        .collect();
    Some(RowSums {
        term: t,
        df: d,
        ss,
        basis: Basis::Explicit { fit: 0, vectors },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::CellAccumulator;
    use crate::unbalanced::expectations::Expectations;

    /// Type III through `Z = R⁻ᵀ E_T` equals Type III as the last term of a refit: the same
    /// SS and the same EMS, for every term of a mixed design with a nested factor.
    #[test]
    fn type_iii_by_z_equals_the_refit_with_the_term_last() {
        let design = Design::from_toml_str(
            r#"
            [[factors]]
            name = "A"
            kind = "fixed"
            [[factors]]
            name = "B"
            kind = "random"
            [[factors]]
            name = "C"
            kind = "random"
            nested_in = ["B"]
            "#,
        )
        .unwrap();
        let mut acc = CellAccumulator::new(vec![3, 4, 2]);
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for a in 0..3u32 {
            for b in 0..4u32 {
                for c in 0..2u32 {
                    let reps = 1 + (next() * 3.0) as u32;
                    for _ in 0..reps {
                        acc.push(&[a, b, c], f64::from(a + 2 * b + c) + next());
                    }
                }
            }
        }
        let cells = acc.finish();
        let layout = Layout::new(&cells, 3).unwrap();
        let model = CellModel::new(&layout, &design);
        let order: Vec<usize> = (0..design.terms.len()).collect();
        let mut fits = vec![model.fit(&order).unwrap()];
        assert!(fits[0].full_rank(model.n_columns()));
        let mut ex = Expectations::new(&model);
        for t in 0..order.len() - 1 {
            let by_z = adjusted_by_z(&fits[0], t).unwrap();
            let mut reordered: Vec<usize> = order.iter().copied().filter(|&u| u != t).collect();
            reordered.push(t);
            fits.push(model.fit(&reordered).unwrap());
            let mut by_refit = type_i(&fits[fits.len() - 1], &[t]).remove(0);
            if let Basis::QRange { fit, .. } = &mut by_refit.basis {
                *fit = fits.len() - 1;
            }
            assert_eq!(type_iii(&model, &fits[0], &order, t).unwrap().0.ss, by_z.ss);
            assert_eq!(by_z.df, by_refit.df);
            assert!((by_z.ss - by_refit.ss).abs() <= 1e-10 * by_refit.ss.max(1.0));
            let all: Vec<&Fit> = fits.iter().collect();
            let e1 = ex.coefficients(&all, &by_z);
            let e2 = ex.coefficients(&all, &by_refit);
            for (x, y) in e1.iter().zip(&e2) {
                assert!(
                    (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                    "{t}: {e1:?} vs {e2:?}"
                );
            }
        }
    }
}
