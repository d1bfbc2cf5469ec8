//! The cell-level system: the cells that hold data, the levels of every term among them,
//! and the model's columns coded with sum-to-zero contrasts.
//!
//! Observations enter only through each cell's count `n_c`, mean and within-cell sum of
//! squares: the model's columns are constant within a cell, so least squares on the rows
//! is weighted least squares on the cell means with weights `n_c`, plus the within-cell SS.
//! The columns are therefore the rows `sqrt(n_c) x_c` of the distinct cells.
//!
//! Coding (R's rule for model formulas, which `car::Anova(type = 3)` and SAS's Type III
//! hypotheses rest on): in term `T`, factor `f` is coded by contrasts when `T` without `f`
//! is a model term (or `T = {f}`), and by indicators otherwise. So an ancestor is always
//! coded by indicators (a nested factor's effects sum to zero within each parent cell), and
//! a factor whose margin the term list dropped carries that margin in the term (a split
//! plot's `day:method:temperature` without `day:temperature`). The contrasts are orthonormal
//! (Helmert, scaled): the same column space as `contr.sum`, so every sum of squares is the
//! same, and the fixed-effect quadratic form of a term is the sum of its squared effects.

use std::collections::HashMap;

use crate::data::Cells;
use crate::design::{Design, Subscripts};

use super::UnbalancedError;

/// The most entries (cells × columns) of the dense cell-level model matrix.
pub(crate) const MAX_MATRIX_ENTRIES: usize = 1 << 25;

/// The cells that hold data.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub nf: usize,
    pub radix: Vec<u32>,
    /// `codes[c * nf + f]`: level code of factor `f` in non-empty cell `c`.
    pub codes: Vec<u32>,
    pub n: Vec<f64>,
    pub sqrt_n: Vec<f64>,
    /// Cell means, relative to the data's offset.
    pub mean: Vec<f64>,
    /// Pooled within-cell sum of squares (pure error) and its df.
    pub within_ss: f64,
    pub n_observations: u64,
    /// Whether every cell of the full table holds the same number (at least 1).
    pub balanced: bool,
}

/// The distinct combinations of some factors among the non-empty cells.
#[derive(Debug, Clone)]
pub(crate) struct Combos {
    /// For each non-empty cell, the index of its combination in `keys`.
    pub id: Vec<u32>,
    /// Mixed-radix keys of the combinations present, sorted.
    pub keys: Vec<u64>,
}

impl Combos {
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// For one factor: its level's position among the levels present within the cell's
/// ancestor combination, and how many levels are present there.
#[derive(Debug, Clone)]
pub(crate) struct NestedLevels {
    pub pos: Vec<u32>,
    pub size: Vec<u32>,
}

impl Layout {
    /// The non-empty cells of a full cell table.
    pub fn new(cells: &Cells, nf: usize) -> Result<Layout, UnbalancedError> {
        if cells.radix.len() != nf {
            return Err(UnbalancedError::FactorMismatch {
                design: nf,
                cells: cells.radix.len(),
            });
        }
        let dense: usize = cells.radix.iter().map(|&r| r as usize).product();
        if cells.count.len() != dense || cells.mean.len() != dense {
            return Err(UnbalancedError::NoCellTable);
        }
        let mut layout = Layout {
            nf,
            radix: cells.radix.clone(),
            codes: Vec::new(),
            n: Vec::new(),
            sqrt_n: Vec::new(),
            mean: Vec::new(),
            within_ss: 0.0,
            n_observations: 0,
            balanced: dense > 0 && cells.count[0] > 0,
        };
        let mut within = 0.0f64;
        let mut comp = 0.0f64;
        let mut code = vec![0u32; nf];
        for (i, &count) in cells.count.iter().enumerate() {
            if count != cells.count[0] {
                layout.balanced = false;
            }
            if count == 0 {
                continue;
            }
            let (mean, wss) = (
                cells.mean[i],
                cells.within_ss.get(i).copied().unwrap_or(0.0),
            );
            if !mean.is_finite() || !wss.is_finite() {
                return Err(UnbalancedError::NotFinite);
            }
            let mut rest = i;
            for f in (0..nf).rev() {
                let r = cells.radix[f].max(1) as usize;
                code[f] = (rest % r) as u32;
                rest /= r;
            }
            layout.codes.extend_from_slice(&code);
            layout.n.push(count as f64);
            layout.sqrt_n.push((count as f64).sqrt());
            layout.mean.push(mean);
            layout.n_observations += count;
            // Neumaier's compensated sum of the within-cell SS.
            let t = within + wss;
            comp += if within.abs() >= wss.abs() {
                (within - t) + wss
            } else {
                (wss - t) + within
            };
            within = t;
        }
        layout.within_ss = within + comp;
        if layout.n.is_empty() {
            return Err(UnbalancedError::NoData);
        }
        Ok(layout)
    }

    /// Number of non-empty cells.
    pub fn m(&self) -> usize {
        self.n.len()
    }

    /// Pure-error df: observations minus non-empty cells.
    pub fn within_df(&self) -> u64 {
        self.n_observations - self.m() as u64
    }

    /// The combinations of `factors` (in that order, the last varying fastest).
    pub fn combos(&self, factors: &[usize]) -> Combos {
        let m = self.m();
        let key_of = |c: usize| {
            factors.iter().fold(0u64, |k, &f| {
                k * u64::from(self.radix[f]) + u64::from(self.codes[c * self.nf + f])
            })
        };
        let cell_keys: Vec<u64> = (0..m).map(key_of).collect();
        let mut keys = cell_keys.clone();
        keys.sort_unstable();
        keys.dedup();
        let id = cell_keys
            .iter()
            .map(|k| keys.binary_search(k).unwrap_or(0) as u32)
            .collect();
        Combos { id, keys }
    }

    /// The levels of factor `f` present within each combination of its ancestors.
    pub fn nested_levels(&self, design: &Design, f: usize) -> NestedLevels {
        let mut factors: Vec<usize> = design.factors[f].ancestors.iter().collect();
        factors.push(f);
        let combos = self.combos(&factors);
        let r = u64::from(self.radix[f].max(1));
        // Runs of keys sharing the ancestors' key.
        let mut start = vec![0u32; combos.len()];
        let mut size = vec![0u32; combos.len()];
        let mut i = 0;
        while i < combos.len() {
            let parent = combos.keys[i] / r;
            let mut j = i;
            while j < combos.len() && combos.keys[j] / r == parent {
                j += 1;
            }
            for k in i..j {
                start[k] = i as u32;
                size[k] = (j - i) as u32;
            }
            i = j;
        }
        NestedLevels {
            pos: combos.id.iter().map(|&k| k - start[k as usize]).collect(),
            size: combos.id.iter().map(|&k| size[k as usize]).collect(),
        }
    }
}

/// The factors of a subscript set, in increasing order.
pub(crate) fn factors_of(set: Subscripts) -> Vec<usize> {
    set.iter().collect()
}

/// Scaled Helmert contrast `k` (0-based) of `b` levels at level position `pos`: orthonormal
/// columns that sum to zero.
fn helmert(pos: u32, k: u32) -> f64 {
    let j = f64::from(k + 1);
    let s = (j * (j + 1.0)).sqrt();
    match pos.cmp(&(k + 1)) {
        std::cmp::Ordering::Less => 1.0 / s,
        std::cmp::Ordering::Equal => -j / s,
        std::cmp::Ordering::Greater => 0.0,
    }
}

/// One term's place in the cell-level system.
#[derive(Debug, Clone)]
pub(crate) struct TermLayout {
    /// The term's levels (combinations of all its factors) present in the data.
    pub levels: Combos,
    /// Level combinations the factor structure implies (every live factor's levels
    /// present within its ancestors, crossed): more than `levels.len()` means empty cells.
    pub expected: u64,
    /// Columns of the term's coding (its df when every expected cell holds data).
    pub columns: usize,
    /// Factors coded by contrasts; the others by indicators.
    contrasts: Vec<usize>,
    indicators: Vec<usize>,
}

impl TermLayout {
    pub fn empty_cells(&self) -> u64 {
        self.expected.saturating_sub(self.levels.len() as u64)
    }
}

/// The layout of every model term, given the model's terms as subscript sets.
pub(crate) fn term_layouts(
    layout: &Layout,
    design: &Design,
    nested: &[NestedLevels],
) -> Vec<TermLayout> {
    let model: Vec<Subscripts> = design.terms.iter().map(|t| t.subscripts).collect();
    design
        .terms
        .iter()
        .map(|t| {
            let levels = layout.combos(&factors_of(t.subscripts));
            // Expected cells: per present combination of the dead factors, the product of
            // the live factors' level counts within it.
            let dead = layout.combos(&factors_of(t.dead));
            let mut representative = vec![usize::MAX; dead.len()];
            for (c, &g) in dead.id.iter().enumerate() {
                if representative[g as usize] == usize::MAX {
                    representative[g as usize] = c;
                }
            }
            let expected = representative
                .iter()
                .map(|&c| {
                    t.live
                        .iter()
                        .map(|f| u64::from(nested[f].size[c]))
                        .fold(1u64, u64::saturating_mul)
                })
                .fold(0u64, u64::saturating_add);
            let (contrasts, indicators): (Vec<usize>, Vec<usize>) =
                t.subscripts.iter().partition(|&f| {
                    let without = t.subscripts.minus(Subscripts::single(f));
                    without.is_empty() || model.contains(&without)
                });
            let groups = layout.combos(&indicators);
            let mut columns = 0usize;
            let mut seen = vec![false; groups.len()];
            for (c, &g) in groups.id.iter().enumerate() {
                if !seen[g as usize] {
                    seen[g as usize] = true;
                    columns += group_columns(&contrasts, nested, c);
                }
            }
            TermLayout {
                levels,
                expected,
                columns,
                contrasts,
                indicators,
            }
        })
        .collect()
}

/// Columns of a coding group: the product of (levels - 1) of its contrast factors.
fn group_columns(contrasts: &[usize], nested: &[NestedLevels], cell: usize) -> usize {
    contrasts
        .iter()
        .map(|&f| nested[f].size[cell].saturating_sub(1) as usize)
        .product()
}

/// Writes the weighted columns `sqrt(n_c) x_c` of one term into `out` (column-major,
/// `m × columns`, zeroed by the caller).
pub(crate) fn write_term_columns(
    layout: &Layout,
    term: &TermLayout,
    nested: &[NestedLevels],
    out: &mut [f64],
) {
    let m = layout.m();
    let groups = layout.combos(&term.indicators);
    let mut offset: HashMap<u32, usize> = HashMap::new();
    let mut next = 0usize;
    for (c, &g) in groups.id.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(e) = offset.entry(g) {
            e.insert(next);
            next += group_columns(&term.contrasts, nested, c);
        }
    }
    let nc = term.contrasts.len();
    let mut k = vec![0u32; nc];
    for c in 0..m {
        let base = offset.get(&groups.id[c]).copied().unwrap_or(0);
        let width = group_columns(&term.contrasts, nested, c);
        k.iter_mut().for_each(|x| *x = 0);
        for col in 0..width {
            let mut v = layout.sqrt_n[c];
            for (i, &f) in term.contrasts.iter().enumerate() {
                v *= helmert(nested[f].pos[c], k[i]);
                if v == 0.0 {
                    break;
                }
            }
            out[(base + col) * m + c] = v;
            // Next multi-index, the last contrast factor fastest.
            for i in (0..nc).rev() {
                k[i] += 1;
                if k[i] < nested[term.contrasts[i]].size[c].saturating_sub(1) {
                    break;
                }
                k[i] = 0;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn helmert_columns_are_orthonormal_contrasts() {
        for b in 2u32..6 {
            for k1 in 0..b - 1 {
                let sum: f64 = (0..b).map(|p| helmert(p, k1)).sum();
                assert!(sum.abs() < 1e-15);
                for k2 in 0..b - 1 {
                    let dot: f64 = (0..b).map(|p| helmert(p, k1) * helmert(p, k2)).sum();
                    let want = if k1 == k2 { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-15);
                }
            }
        }
    }
}
