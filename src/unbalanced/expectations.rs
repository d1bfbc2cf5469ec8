//! Expected mean squares by the trace form, from cell-level matrices.
//!
//! A sum of squares `y' A y` with `A = U U'` (`U` orthonormal, df columns) has, in the
//! unrestricted mixed model `y = X β + Σ_k Z_k u_k + e`,
//!
//! ```text
//! E(y' A y) = σ² tr(A) + Σ_k σ²_k tr(Z_k' A Z_k) + β' X' A X β
//! ```
//!
//! and `tr(A) = df`. On the cell level `U = K N^{-1/2} W` (`K` the cell indicator of each
//! observation, `W` an orthonormal `m × df` basis of the weighted form) and `Z_k = K H_k`
//! (`H_k` the indicator of term k's level of each cell), so
//! `tr(Z_k' A Z_k) = ‖H_k' N^{1/2} W‖²_F`: for each basis vector, add `sqrt(n_c) w_c` over
//! the cells of each level of k and sum the squares. No `n × n` (or `m × m`) matrix is
//! formed. For a fixed term `F` the quadratic form is written with its orthonormal
//! sum-to-zero coding `X_F`: the coefficient `‖X̃_F' W‖²_F / df` multiplies
//! `φ(F) = Σ (effects of F)² / df_F`. That is exact when the form is proportional to the
//! identity on F's effects (balanced data: `b n` in `b n Σα²/(a-1)`); on unbalanced data it
//! is the form's average over directions of the effects (the same trace as for a random term).
//! In the coordinates of `Q` these are rows of `Q' X̃_F`, which the factorisation holds.
//!
//! A basis given as a range of `Q`'s columns uses whichever is shorter: the range, or its
//! complement (the totals `Σ_c n_c` and `‖X̃_F‖²` less the columns outside the range).

use super::layout::Combos;
use super::sums::{Basis, CellModel, Fit, RowSums};

/// The matrix of one component in the trace form.
#[derive(Debug, Clone, Copy)]
enum Component<'a> {
    /// A random term: its levels among the cells.
    Random(&'a Combos),
    /// A fixed term: its coded columns (design term index).
    Fixed(usize),
}

/// The trace form for every component, with per-column results kept for reuse.
pub(crate) struct Expectations<'a, 'm> {
    model: &'m CellModel<'a>,
    components: Vec<Component<'m>>,
    /// Per fit, per column of `Q`: the contributions of that column to every component.
    memo: Vec<Vec<Option<Vec<f64>>>>,
    scratch: Vec<f64>,
}

impl<'a, 'm> Expectations<'a, 'm> {
    pub fn new(model: &'m CellModel<'a>) -> Expectations<'a, 'm> {
        let components = model
            .design
            .terms
            .iter()
            .zip(&model.terms)
            .enumerate()
            .map(|(t, (term, layout))| {
                if term.random {
                    Component::Random(&layout.levels)
                } else {
                    Component::Fixed(t)
                }
            })
            .collect();
        let largest = model
            .terms
            .iter()
            .map(|t| t.levels.len())
            .max()
            .unwrap_or(0);
        Expectations {
            model,
            components,
            memo: Vec::new(),
            scratch: vec![0.0; largest],
        }
    }

    /// `tr(Z_k' A Z_k) / df` for every model term `k` (design order), for one row.
    pub fn coefficients(&mut self, fits: &[&Fit], row: &RowSums) -> Vec<f64> {
        let k = self.components.len();
        if row.df == 0 {
            return vec![0.0; k];
        }
        let sums = match &row.basis {
            Basis::QRange { fit, start, end } => self.range(fits, *fit, *start, *end),
            Basis::Explicit { fit, vectors } => {
                let fit = fits[*fit];
                let m = fit.qr.rows();
                let mut cells: Vec<f64> = vectors.iter().flatten().copied().collect();
                fit.qr.apply_q_block(&mut cells);
                let mut acc = vec![0.0; k];
                for (u, w) in vectors.iter().zip(cells.chunks_exact(m)) {
                    let c = self.vector(fit, u, w);
                    acc.iter_mut().zip(c).for_each(|(a, b)| *a += b);
                }
                acc
            }
        };
        sums.into_iter().map(|s| s / row.df as f64).collect()
    }

    /// Drops what is kept about fit `f` (before another factorisation takes its index).
    pub fn forget(&mut self, f: usize) {
        if let Some(m) = self.memo.get_mut(f) {
            m.clear();
        }
    }

    fn range(&mut self, fits: &[&Fit], f: usize, start: usize, end: usize) -> Vec<f64> {
        let m = fits[f].qr.rows();
        let k = self.components.len();
        let mut acc = vec![0.0; k];
        if end - start <= start + (m - end) {
            for l in start..end {
                let c = self.column(fits, f, l);
                acc.iter_mut().zip(c).for_each(|(a, b)| *a += b);
            }
            return acc;
        }
        for l in (0..start).chain(end..m) {
            let c = self.column(fits, f, l);
            acc.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        }
        let totals = self.totals(fits[f]);
        totals.iter().zip(acc).map(|(t, a)| t - a).collect()
    }

    /// Contributions of column `l` of fit `f`'s `Q`.
    fn column(&mut self, fits: &[&Fit], f: usize, l: usize) -> Vec<f64> {
        if self.memo.len() <= f {
            self.memo.resize(f + 1, Vec::new());
        }
        let m = fits[f].qr.rows();
        if self.memo[f].len() < m {
            self.memo[f] = vec![None; m];
        }
        if let Some(c) = &self.memo[f][l] {
            return c.clone();
        }
        let fit = fits[f];
        let q = fit.qr.q_column(l);
        let c: Vec<f64> = (0..self.components.len())
            .map(|k| match self.components[k] {
                Component::Random(levels) => self.random(levels, &q),
                Component::Fixed(t) => {
                    let (s, e) = fit.columns[t];
                    (s..e)
                        .map(|j| fit.qr.transformed_column(j)[l].powi(2))
                        .sum()
                }
            })
            .collect();
        self.memo[f][l] = Some(c.clone());
        c
    }

    /// Contributions of a vector given in the coordinates of fit's `Q` (`u`) and in cell
    /// space (`w = Q u`).
    fn vector(&mut self, fit: &Fit, u: &[f64], w: &[f64]) -> Vec<f64> {
        (0..self.components.len())
            .map(|k| match self.components[k] {
                Component::Random(levels) => self.random(levels, w),
                Component::Fixed(t) => {
                    let (s, e) = fit.columns[t];
                    (s..e)
                        .map(|j| {
                            let col = fit.qr.transformed_column(j);
                            col.iter().zip(u).map(|(a, b)| a * b).sum::<f64>().powi(2)
                        })
                        .sum()
                }
            })
            .collect()
    }

    /// `‖H' N^{1/2} w‖²` for a cell-space vector `w`.
    fn random(&mut self, levels: &Combos, w: &[f64]) -> f64 {
        let acc = &mut self.scratch[..levels.len()];
        acc.iter_mut().for_each(|a| *a = 0.0);
        for ((&g, &s), &x) in levels.id.iter().zip(&self.model.layout.sqrt_n).zip(w) {
            acc[g as usize] += s * x;
        }
        acc.iter().map(|a| a * a).sum()
    }

    /// `‖H_k' N^{1/2}‖² = Σ n_c` for a random term, `‖X̃_F‖²` for a fixed one.
    fn totals(&self, fit: &Fit) -> Vec<f64> {
        let n: f64 = self.model.layout.n.iter().sum();
        self.components
            .iter()
            .map(|c| match *c {
                Component::Random(_) => n,
                Component::Fixed(t) => {
                    let (s, e) = fit.columns[t];
                    (s..e)
                        .map(|j| {
                            fit.qr
                                .transformed_column(j)
                                .iter()
                                .map(|v| v * v)
                                .sum::<f64>()
                        })
                        .sum()
                }
            })
            .collect()
    }
}
