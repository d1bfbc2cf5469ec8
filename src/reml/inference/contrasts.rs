//! The fixed-effects side of the inference: R's treatment coding of the fixed terms, the
//! Type III contrasts lmerTest builds on it, the reference grid and the linear functions of
//! the estimated marginal means (emmeans).
//!
//! Everything is computed on the cells of the fixed factors (the distinct rows of X), never
//! on the observations. The fit's own parametrisation (`Frame::fixed`) spans the same space
//! as the treatment coding: a contrast built in the treatment coding is carried over by the
//! map `T` with X_fit = X_treatment T, so that tests and means do not depend on how the fit
//! parametrised X.
//!
//! Treatment coding as R's `model.matrix` builds it (and lme4 keeps it): the intercept, then
//! the fixed terms ordered by their number of factors (R's term order); within a term, a
//! factor is coded by its levels after the first when the term without that factor is in the
//! model (the intercept for a main effect), by all its levels otherwise (a fixed factor nested
//! in another: `A + A:B`); columns with the first factor varying fastest; columns spanned by
//! earlier ones (empty cells) dropped in order, as lme4's rank check does. The first level of
//! a factor is its smallest code (the data reader codes labels in sorted order, as R's
//! `factor()` does).

use std::collections::HashMap;

use nalgebra::{DMatrix, DVector};

use super::InferenceError;
use super::linalg::{orthonormal_basis, solve_in_span, zapsmall};
use crate::design::Design;
use crate::reml::frame::Frame;
use crate::reml::tolerances::{
    ALIAS_REL, ESTIMABLE_REL, LM_FIT_TOL, MAX_FIXED_COLUMNS, MAX_REFERENCE_GRID,
};

/// A fixed term.
#[derive(Debug, Clone)]
pub(crate) struct FixedTerm {
    pub name: String,
    /// Positions of its factors in [`Layout::factors`], in declaration order.
    pub factors: Vec<usize>,
    /// Per factor: coded by its levels after the first (true) or by all its levels.
    pub contrast: Vec<bool>,
}

/// The fixed factors, terms, cells and reference grid of a fit.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Design indices of the fixed factors (declaration order).
    pub factors: Vec<usize>,
    /// Fixed terms in R's order (number of factors, then design order).
    pub terms: Vec<FixedTerm>,
    /// Dense codes of the fixed factors in each cell, and the cell's observations.
    pub cells: Vec<Vec<u32>>,
    pub counts: Vec<f64>,
    /// The reference grid: every combination of levels the nesting allows (emmeans).
    pub grid: Vec<Vec<u32>>,
}

impl Layout {
    pub(crate) fn build(design: &Design, frame: &Frame) -> Result<Layout, InferenceError> {
        let fx = &frame.fixed;
        let factors = fx.factors.clone();
        let pos = |f: usize| factors.iter().position(|&g| g == f);
        let mut fixed: Vec<(usize, &crate::design::Term)> = design
            .terms
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.random)
            .collect();
        fixed.sort_by_key(|(i, t)| (t.subscripts.len(), *i));
        let sets: Vec<crate::design::Subscripts> =
            fixed.iter().map(|(_, t)| t.subscripts).collect();
        let terms = fixed
            .iter()
            .map(|(_, t)| {
                let fs: Vec<usize> = t.subscripts.iter().collect();
                let contrast = fs
                    .iter()
                    .map(|&f| {
                        let margin = t.subscripts.minus(crate::design::Subscripts::single(f));
                        margin.is_empty() || sets.contains(&margin)
                    })
                    .collect();
                FixedTerm {
                    name: t.name.clone(),
                    factors: fs.iter().filter_map(|&f| pos(f)).collect(),
                    contrast,
                }
            })
            .collect();
        let levels: Vec<u32> = (0..factors.len())
            .map(|i| fx.cell_codes.iter().map(|c| c[i] + 1).max().unwrap_or(0))
            .collect();
        let grid = reference_grid(design, &factors, &levels, &fx.cell_codes)?;
        Ok(Layout {
            factors,
            terms,
            cells: fx.cell_codes.clone(),
            counts: fx.cell_counts.clone(),
            grid,
        })
    }

    /// A point's combination of a term's factors.
    pub(crate) fn project(&self, point: &[u32], term: &FixedTerm) -> Vec<u32> {
        term.factors.iter().map(|&i| point[i]).collect()
    }
}

/// Every combination of fixed-factor levels allowed by the nesting: a crossed factor takes
/// all its levels, a nested one the levels seen with each combination of its ancestors.
fn reference_grid(
    design: &Design,
    factors: &[usize],
    levels: &[u32],
    cells: &[Vec<u32>],
) -> Result<Vec<Vec<u32>>, InferenceError> {
    let nf = factors.len();
    let mut order: Vec<usize> = (0..nf).collect();
    order.sort_by_key(|&i| design.factors[factors[i]].ancestors.len());
    let mut grid: Vec<Vec<u32>> = vec![vec![u32::MAX; nf]];
    for &i in &order {
        let anc: Vec<usize> = (0..nf)
            .filter(|&j| design.factors[factors[i]].ancestors.contains(factors[j]))
            .collect();
        let mut allowed: HashMap<Vec<u32>, Vec<u32>> = HashMap::new();
        if !anc.is_empty() {
            for c in cells {
                let key: Vec<u32> = anc.iter().map(|&j| c[j]).collect();
                let list = allowed.entry(key).or_default();
                if !list.contains(&c[i]) {
                    list.push(c[i]);
                }
            }
            for list in allowed.values_mut() {
                list.sort_unstable();
            }
        }
        let mut next = Vec::new();
        for point in &grid {
            let choices: Vec<u32> = if anc.is_empty() {
                (0..levels[i]).collect()
            } else {
                let key: Vec<u32> = anc.iter().map(|&j| point[j]).collect();
                allowed.get(&key).cloned().unwrap_or_default()
            };
            for l in choices {
                let mut q = point.clone();
                q[i] = l;
                next.push(q);
            }
            if next.len() > MAX_REFERENCE_GRID {
                return Err(InferenceError::TooLarge {
                    what: super::Size::ReferenceGrid,
                    size: next.len(),
                    limit: MAX_REFERENCE_GRID,
                });
            }
        }
        grid = next;
    }
    // The first factor varies fastest (R's and emmeans' order).
    grid.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));
    Ok(grid)
}

/// Distinct combinations of a term's factors over the grid, first factor fastest.
pub(crate) fn term_levels(layout: &Layout, term: &FixedTerm) -> Vec<Vec<u32>> {
    let mut v: Vec<Vec<u32>> = layout
        .grid
        .iter()
        .map(|g| layout.project(g, term))
        .collect();
    v.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));
    v.dedup();
    v
}

/// R's treatment coding of the fixed part over the cells, its map to the fit's parameters,
/// and what estimability needs.
#[derive(Debug, Clone)]
pub(crate) struct Coding {
    /// Candidate columns: (term index or None for the intercept, combination of the term's
    /// factors' codes), in R's order; the zero columns of empty cells included.
    pub candidates: Vec<(Option<usize>, Vec<u32>)>,
    /// Candidate index of each kept column (full column rank over the cells).
    pub kept: Vec<usize>,
    /// X_fit = X_treatment T (p x p): a contrast K in the treatment coding is K T in the fit's.
    pub to_fit: DMatrix<f64>,
    /// Orthonormal basis of the null space of the full candidate matrix over the cells
    /// (columns); empty when every candidate column was kept.
    pub null_basis: DMatrix<f64>,
    lookup: HashMap<(usize, Vec<u32>), usize>,
}

impl Coding {
    pub(crate) fn build(layout: &Layout, frame: &Frame) -> Result<Coding, InferenceError> {
        let mut candidates: Vec<(Option<usize>, Vec<u32>)> = vec![(None, Vec::new())];
        for (ti, t) in layout.terms.iter().enumerate() {
            let combos: Vec<Vec<u32>> = term_levels(layout, t)
                .into_iter()
                .filter(|c| c.iter().zip(&t.contrast).all(|(&l, &ctr)| !ctr || l > 0))
                .collect();
            candidates.extend(combos.into_iter().map(|c| (Some(ti), c)));
        }
        if candidates.len() > MAX_FIXED_COLUMNS {
            return Err(InferenceError::TooLarge {
                what: super::Size::FixedColumns,
                size: candidates.len(),
                limit: MAX_FIXED_COLUMNS,
            });
        }
        let lookup: HashMap<(usize, Vec<u32>), usize> = candidates
            .iter()
            .enumerate()
            .filter_map(|(i, (t, c))| t.map(|t| ((t, c.clone()), i)))
            .collect();
        let n_cells = layout.cells.len();
        let mut full = DMatrix::zeros(n_cells, candidates.len());
        for (c, codes) in layout.cells.iter().enumerate() {
            for i in Self::row_columns(&lookup, layout, codes) {
                full[(c, i)] = 1.0;
            }
        }
        let kept = greedy_columns(&full);
        let x_trt = full.select_columns(&kept);
        let p = frame.fixed.p;
        let mut x_fit = DMatrix::zeros(n_cells, p);
        for (c, cols) in frame.fixed.cell_cols.iter().enumerate() {
            for &j in cols {
                x_fit[(c, j as usize)] = 1.0;
            }
        }
        if kept.len() != p {
            return Err(InferenceError::Parametrisation);
        }
        let to_fit = solve_in_span(&x_trt, &x_fit).ok_or(InferenceError::Parametrisation)?;
        if (&x_trt * &to_fit - &x_fit).amax() > 1e-8 {
            return Err(InferenceError::Parametrisation);
        }
        let null_basis = if kept.len() < candidates.len() {
            null_space(&full)
        } else {
            DMatrix::zeros(candidates.len(), 0)
        };
        Ok(Coding {
            candidates,
            kept,
            to_fit,
            null_basis,
            lookup,
        })
    }

    /// Candidate columns equal to 1 at a point of the grid (or a cell).
    fn row_columns(
        lookup: &HashMap<(usize, Vec<u32>), usize>,
        layout: &Layout,
        point: &[u32],
    ) -> Vec<usize> {
        let mut cols = vec![0];
        for (ti, t) in layout.terms.iter().enumerate() {
            let combo = layout.project(point, t);
            if let Some(&i) = lookup.get(&(ti, combo)) {
                cols.push(i);
            }
        }
        cols
    }

    /// The candidate row (treatment coding, all columns) of a grid point.
    pub(crate) fn grid_row(&self, layout: &Layout, point: &[u32]) -> Vec<usize> {
        Self::row_columns(&self.lookup, layout, point)
    }

    /// Estimable: the function `a` (over the candidate columns) is orthogonal to the null
    /// space of the candidate matrix (emmeans' `estimability::is.estble`).
    pub(crate) fn estimable(&self, a: &DVector<f64>) -> bool {
        if self.null_basis.ncols() == 0 {
            return true;
        }
        let proj = self.null_basis.transpose() * a;
        let ss = a.norm_squared();
        proj.norm_squared() < ESTIMABLE_REL * if ss < ESTIMABLE_REL { 1.0 } else { ss }
    }

    /// A function over the candidate columns as coefficients of the fit's parameters (valid
    /// for estimable functions: the dropped columns' coefficients are 0 in one solution).
    pub(crate) fn to_fit_coefficients(&self, a: &DVector<f64>) -> DVector<f64> {
        let kept = DVector::from_iterator(self.kept.len(), self.kept.iter().map(|&i| a[i]));
        self.to_fit.transpose() * kept
    }

    /// Number of kept columns of a term.
    fn term_columns(&self, term: usize) -> Vec<usize> {
        self.kept
            .iter()
            .enumerate()
            .filter(|(_, c)| self.candidates[**c].0 == Some(term))
            .map(|(j, _)| j)
            .collect()
    }
}

/// Columns kept in order: each one not spanned by those kept before it (lme4's rank check,
/// a pivoted QR that moves dependent columns to the end).
fn greedy_columns(full: &DMatrix<f64>) -> Vec<usize> {
    super::linalg::gram_schmidt(full, ALIAS_REL).1
}

/// Orthonormal basis of { v : A v = 0 } (columns), from the eigenvectors of A'A with
/// eigenvalues at the rounding level.
fn null_space(a: &DMatrix<f64>) -> DMatrix<f64> {
    let ata = a.transpose() * a;
    let m = ata.nrows();
    let eig = ata.symmetric_eigen();
    let lmax = eig.eigenvalues.iter().fold(0.0f64, |x, v| x.max(v.abs()));
    let null: Vec<usize> = (0..m)
        .filter(|&i| eig.eigenvalues[i].abs() <= 1e-10 * lmax.max(1.0))
        .collect();
    let mut out = DMatrix::zeros(m, null.len());
    for (c, &i) in null.iter().enumerate() {
        out.set_column(c, &eig.eigenvectors.column(i));
    }
    out
}

/// The Type III contrast of every fixed term in the fit's parameters (rows), as lmerTest's
/// `anova(type = 3)` builds it (`get_contrasts_type3` / `extract_contrasts_type3`): the
/// functions of the treatment-coded parameters written over the over-parametrised model
/// (intercept and every level of every term, R's `get_rdX`), a term's functions
/// orthogonalised against those of the terms containing it (higher-order terms first), and
/// rows that vanish dropped. With at most one fixed term lmerTest uses the Type I
/// (Doolittle) contrasts instead, and so does this.
pub(crate) fn type3_contrasts(
    layout: &Layout,
    coding: &Coding,
) -> Result<Vec<DMatrix<f64>>, InferenceError> {
    let p = coding.kept.len();
    let nt = layout.terms.len();
    if nt == 0 {
        return Ok(Vec::new());
    }
    let per_term: Vec<Vec<usize>> = (0..nt).map(|t| coding.term_columns(t)).collect();
    let contrasts_trt: Vec<DMatrix<f64>> = if p <= 1 || nt <= 1 {
        type1_contrasts(layout, coding, &per_term)
    } else {
        orthogonalised(layout, coding, &per_term)?
    };
    Ok(contrasts_trt
        .into_iter()
        .map(|k| {
            let keep: Vec<usize> = (0..k.nrows())
                .filter(|&r| k.row(r).iter().map(|v| v.abs()).sum::<f64>() > 1e-8)
                .collect();
            k.select_rows(&keep) * &coding.to_fit
        })
        .collect())
}

/// lmerTest's `extract_contrasts_type3` on the treatment coding.
fn orthogonalised(
    layout: &Layout,
    coding: &Coding,
    per_term: &[Vec<usize>],
) -> Result<Vec<DMatrix<f64>>, InferenceError> {
    let nt = layout.terms.len();
    let n_cells = layout.cells.len();
    // The over-parametrised columns over the cells: intercept, then every level combination
    // of every term seen in the cells (the others are zero columns of R's rdX and give zero
    // rows below).
    let mut rd: Vec<(Option<usize>, Vec<u32>)> = vec![(None, Vec::new())];
    for (ti, t) in layout.terms.iter().enumerate() {
        let mut combos: Vec<Vec<u32>> = layout.cells.iter().map(|c| layout.project(c, t)).collect();
        combos.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));
        combos.dedup();
        rd.extend(combos.into_iter().map(|c| (Some(ti), c)));
    }
    let mut rdx = DMatrix::zeros(n_cells, rd.len());
    let index: HashMap<(Option<usize>, Vec<u32>), usize> = rd
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    for (c, codes) in layout.cells.iter().enumerate() {
        rdx[(c, 0)] = 1.0;
        for (ti, t) in layout.terms.iter().enumerate() {
            if let Some(&i) = index.get(&(Some(ti), layout.project(codes, t))) {
                rdx[(c, i)] = 1.0;
            }
        }
    }
    let x_trt = full_kept(layout, coding);
    // L = t(ginv(X) rdX): row r holds the coordinates of rdX column r in the kept columns.
    let coords = solve_in_span(&x_trt, &rdx).ok_or(InferenceError::Parametrisation)?;
    let mut l = coords.transpose();
    zapsmall(&mut l);
    // Rows of L that are the kept columns themselves.
    let rows: Vec<usize> = coding
        .kept
        .iter()
        .map(|&c| {
            let (t, combo) = &coding.candidates[c];
            index.get(&(*t, combo.clone())).copied()
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or(InferenceError::Parametrisation)?;
    // Higher-order terms first (R's order(..., decreasing = TRUE) keeps ties in term order).
    let mut order: Vec<usize> = (0..nt).collect();
    order.sort_by_key(|&t| std::cmp::Reverse(layout.terms[t].factors.len()));
    for &t in &order {
        let ft = &layout.terms[t].factors;
        let containing: Vec<usize> = (0..nt)
            .filter(|&u| {
                let fu = &layout.terms[u].factors;
                u != t && fu.len() > ft.len() && ft.iter().all(|f| fu.contains(f))
            })
            .collect();
        if containing.is_empty() || per_term[t].is_empty() {
            continue;
        }
        let cols_c: Vec<usize> = containing
            .iter()
            .flat_map(|&u| per_term[u].clone())
            .collect();
        let q = orthonormal_basis(&l.select_columns(&cols_c), LM_FIT_TOL);
        let y = l.select_columns(&per_term[t]);
        let mut resid = &y - &q * (q.transpose() * &y);
        zapsmall(&mut resid);
        for (k, &c) in per_term[t].iter().enumerate() {
            l.set_column(c, &resid.column(k));
        }
    }
    let lk = l.select_rows(&rows);
    Ok((0..nt)
        .map(|t| lk.select_columns(&per_term[t]).transpose())
        .collect())
}

/// The kept treatment columns over the cells.
fn full_kept(layout: &Layout, coding: &Coding) -> DMatrix<f64> {
    let n_cells = layout.cells.len();
    let mut x = DMatrix::zeros(n_cells, coding.kept.len());
    let pos: HashMap<usize, usize> = coding
        .kept
        .iter()
        .enumerate()
        .map(|(j, &c)| (c, j))
        .collect();
    for (c, codes) in layout.cells.iter().enumerate() {
        for i in coding.grid_row(layout, codes) {
            if let Some(&j) = pos.get(&i) {
                x[(c, j)] = 1.0;
            }
        }
    }
    x
}

/// lmerTest's `get_contrasts_type1`: rows of t(L) for the Doolittle factorisation
/// X'X = L U of the treatment-coded cross-product.
fn type1_contrasts(layout: &Layout, coding: &Coding, per_term: &[Vec<usize>]) -> Vec<DMatrix<f64>> {
    let x = full_kept(layout, coding);
    let mut xw = x.clone();
    for (mut row, &w) in xw.row_iter_mut().zip(&layout.counts) {
        row *= w;
    }
    let xtx = x.transpose() * xw;
    let p = xtx.nrows();
    let l = if p == 1 {
        DMatrix::from_element(1, 1, 1.0)
    } else {
        doolittle_lower(&xtx).transpose()
    };
    per_term.iter().map(|rows| l.select_rows(rows)).collect()
}

/// The unit lower-triangular factor of lmerTest's `doolittle(x, eps = 1e-6)` (entries whose
/// pivot is below eps set to 0, entries below eps zapped), transcribed loop for loop.
pub(crate) fn doolittle_lower(x: &DMatrix<f64>) -> DMatrix<f64> {
    const EPS: f64 = 1e-6;
    let n = x.nrows();
    let mut l = DMatrix::identity(n, n);
    let mut u = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            let mut v = x[(i, j)];
            for k in 0..i {
                v -= l[(i, k)] * u[(k, j)];
            }
            u[(i, j)] = v;
        }
        for j in i + 1..n {
            let mut v = x[(j, i)];
            for k in 0..i {
                v -= l[(j, k)] * u[(k, i)];
            }
            l[(j, i)] = if u[(i, i)].abs() < EPS {
                0.0
            } else {
                v / u[(i, i)]
            };
        }
    }
    for v in l.iter_mut() {
        if v.abs() < EPS {
            *v = 0.0;
        }
    }
    l
}

/// The linear function (over the candidate columns) of the estimated marginal mean of one
/// level of a term: the average of the grid rows at that level (equal weights over the
/// levels of the other fixed factors).
pub(crate) fn mean_function(
    layout: &Layout,
    coding: &Coding,
    term: &FixedTerm,
    level: &[u32],
) -> DVector<f64> {
    let mut a = DVector::zeros(coding.candidates.len());
    let mut count = 0usize;
    for g in &layout.grid {
        if layout.project(g, term) == level {
            count += 1;
            for i in coding.grid_row(layout, g) {
                a[i] += 1.0;
            }
        }
    }
    if count > 0 {
        a /= count as f64;
    }
    a
}

/// The grand mean's function: the average of every grid row.
pub(crate) fn grand_mean_function(layout: &Layout, coding: &Coding) -> DVector<f64> {
    let mut a = DVector::zeros(coding.candidates.len());
    for g in &layout.grid {
        for i in coding.grid_row(layout, g) {
            a[i] += 1.0;
        }
    }
    if !layout.grid.is_empty() {
        a /= layout.grid.len() as f64;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doolittle_of_a_balanced_one_way() {
        // X'X of y ~ A with 3 levels, 2 observations each (treatment coding): the Type I
        // contrast rows of A are (0, 1, -1/2) and (0, 0, 1) (lmerTest's doolittle).
        let xtx = DMatrix::from_row_slice(3, 3, &[6.0, 2.0, 2.0, 2.0, 2.0, 0.0, 2.0, 0.0, 2.0]);
        let l = doolittle_lower(&xtx).transpose();
        assert!((l[(1, 2)] + 0.5).abs() < 1e-15, "{l}");
        assert_eq!(l[(1, 1)], 1.0);
        assert_eq!(l[(2, 2)], 1.0);
        assert_eq!(l[(2, 1)], 0.0);
    }
}
