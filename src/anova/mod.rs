//! The ANOVA table of a balanced design from its cell means: SS, df and MS of every term.
//!
//! The sum of squares of a term is the squared length of the data's projection onto the
//! term's stratum. On a balanced design that projection is computed from the cell means
//! alone: the term's effect in each cell of its factors is a Möbius sum of marginal means
//! over its live factors, its dead factors (ancestors) always kept,
//!
//! ```text
//! effect_T(s) = Σ_{U ⊆ live(T)} (-1)^{|live(T) \ U|} mean_{U ∪ dead(T)}(s)
//! SS_T = (observations per cell of T) × Σ_s effect_T(s)²
//! ```
//!
//! (`B(A)`: `mean_AB - mean_A`; `A:B`: `mean_AB - mean_A - mean_B + mean`). The cell means
//! are centred on the grand mean first, marginal means are compensated sums, and every SS
//! is a sum of squares of centred quantities: nothing large is subtracted. The cost grows
//! with cells × terms, not rows × terms. Terms that the design's term list leaves out are
//! computed the same way and added to the row of the kept term that absorbs them, or
//! pooled into the Residual.
//!
//! ```
//! use emslab::{Design, anova, data::CellAccumulator};
//! let d = Design::from_toml_str(r#"
//!     replicates = 2
//!     [[factors]]
//!     name = "A"
//!     kind = "fixed"
//!     levels = 2
//! "#).unwrap();
//! let mut acc = CellAccumulator::new(vec![2]);
//! for (a, y) in [(0, 1.0), (0, 3.0), (1, 5.0), (1, 7.0)] {
//!     acc.push(&[a], y);
//! }
//! let t = anova::from_cells(&d, &acc.finish()).unwrap();
//! assert_eq!(t.rows[0].ss, Some(16.0));      // A
//! assert_eq!(t.rows[1].ss, Some(4.0));       // Residual
//! assert_eq!(t.total.as_ref().unwrap().ss, Some(20.0));
//! ```

use std::collections::HashMap;

use crate::data::Cells;
use crate::data::cells::CompensatedSum;
use crate::data::summary::TermMs;
use crate::design::{Design, Subscripts, Term};

/// One line of the ANOVA table.
#[derive(Debug, Clone, PartialEq)]
pub struct AnovaRow {
    pub term: String,
    pub df: u64,
    /// Sum of squares (from a summary table: df × MS).
    pub ss: Option<f64>,
    /// Mean square (`NaN` when df is 0).
    pub ms: f64,
}

/// The ANOVA table: rows in the order of [`crate::ems::EmsTable::terms`] (model terms,
/// then Residual).
#[derive(Debug, Clone, PartialEq)]
pub struct AnovaTable {
    pub rows: Vec<AnovaRow>,
    /// Terms left out of the model, whose df and SS are in the Residual.
    pub pooled: Vec<AnovaRow>,
    /// Terms left out of the model whose df and SS are in the row of the kept term that
    /// absorbs them (`into`, a row index).
    pub absorbed: Vec<(AnovaRow, usize)>,
    /// The within-cell part of the Residual (absent from a summary table).
    pub pure_error: Option<AnovaRow>,
    /// The corrected total (absent from a summary table).
    pub total: Option<AnovaRow>,
    pub n_observations: Option<u64>,
    /// Mean of all observations, relative to the data's offset.
    pub grand_mean: Option<f64>,
    /// Whether the mean squares came from a published table rather than data.
    pub from_summary: bool,
}

impl AnovaTable {
    pub fn residual(&self) -> &AnovaRow {
        &self.rows[self.rows.len() - 1]
    }

    /// Mean squares in row order.
    pub fn ms(&self) -> Vec<f64> {
        self.rows.iter().map(|r| r.ms).collect()
    }

    /// Degrees of freedom in row order.
    pub fn df(&self) -> Vec<u64> {
        self.rows.iter().map(|r| r.df).collect()
    }

    /// R² = 1 - SS(Residual) / SS(total).
    pub fn r_squared(&self) -> Option<f64> {
        let total = self.total.as_ref()?.ss?;
        let resid = self.residual().ss?;
        Some(1.0 - resid / total)
    }
}

/// Why cell sums cannot give an ANOVA table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnovaError {
    #[error("the design's level counts and replicates must be known")]
    Unsized,
    #[error("the cell table has level counts {found:?}, the design {expected:?}")]
    SizeMismatch { expected: Vec<u32>, found: Vec<u32> },
    #[error("the cells do not all hold {0} observations")]
    Unbalanced(u64),
    #[error(
        "the sums of squares overflow binary64 (responses too large in magnitude); rescale the response"
    )]
    Overflow,
}

/// Marginal means of the centred cell means over subsets of the factors, memoised; each
/// is computed from the smallest table already at hand that contains it.
struct Margins {
    radix: Vec<usize>,
    full: u64,
    tables: HashMap<u64, Vec<f64>>,
}

impl Margins {
    fn new(radix: Vec<usize>, centred: Vec<f64>) -> Margins {
        let full = (1u64 << radix.len()) - 1;
        let mut tables = HashMap::new();
        tables.insert(full, centred);
        Margins {
            radix,
            full,
            tables,
        }
    }

    /// Strides of the factors of `set` in its own table (last factor fastest); 0 outside.
    fn strides(radix: &[usize], set: u64) -> (Vec<usize>, usize) {
        let nf = radix.len();
        let mut strides = vec![0usize; nf];
        let mut size = 1usize;
        for i in (0..nf).rev() {
            if set >> i & 1 == 1 {
                strides[i] = size;
                size *= radix[i];
            }
        }
        (strides, size)
    }

    fn table(&mut self, set: u64) -> &Vec<f64> {
        if !self.tables.contains_key(&set) {
            // The smallest memoised superset (ties by the set's bits, not the hash map's
            // order: the same data give the same digits on every run).
            let from = self
                .tables
                .iter()
                .filter(|(w, _)| **w & set == set)
                .min_by_key(|(w, t)| (t.len(), **w))
                .map_or(self.full, |(w, _)| *w);
            let t = self.compute(set, from);
            self.tables.insert(set, t);
        }
        &self.tables[&set]
    }

    /// The margin of `set` from the table of its superset `from`.
    fn compute(&self, set: u64, from: u64) -> Vec<f64> {
        let nf = self.radix.len();
        let src = &self.tables[&from];
        let (strides, size) = Self::strides(&self.radix, set);
        let dims: Vec<usize> = (0..nf).filter(|&i| from >> i & 1 == 1).collect();
        let mut sums = vec![CompensatedSum::default(); size];
        let mut codes = vec![0usize; nf];
        let mut proj = 0usize;
        for &m in src {
            sums[proj].add(m);
            // Odometer over the superset's factors, keeping the projected index in step.
            for &i in dims.iter().rev() {
                codes[i] += 1;
                proj += strides[i];
                if codes[i] < self.radix[i] {
                    break;
                }
                proj -= strides[i] * codes[i];
                codes[i] = 0;
            }
        }
        let per = (src.len() / size) as f64;
        sums.iter().map(|s| s.value() / per).collect()
    }
}

/// Sums of squares, df and mean squares of every term of a balanced design from its cell
/// table. The design must be sized to the cells (see
/// [`crate::data::Dataset::sized_design`]).
pub fn from_cells(design: &Design, cells: &Cells) -> Result<AnovaTable, AnovaError> {
    if !design.is_sized() {
        return Err(AnovaError::Unsized);
    }
    let expected: Vec<u32> = design
        .factors
        .iter()
        .map(|f| f.levels.unwrap_or(0))
        .collect();
    if expected != cells.radix {
        return Err(AnovaError::SizeMismatch {
            expected,
            found: cells.radix.clone(),
        });
    }
    let n = u64::from(design.replicates.unwrap_or(0));
    if cells.count.iter().any(|&c| c != n) {
        return Err(AnovaError::Unbalanced(n));
    }
    let radix: Vec<usize> = cells.radix.iter().map(|&r| r as usize).collect();
    let ncells = cells.n_cells();
    let n_obs = ncells as u64 * n;

    // Centre the cell means.
    let mut g = CompensatedSum::default();
    for &m in &cells.mean {
        g.add(m);
    }
    let grand = g.value() / ncells as f64;
    let centred: Vec<f64> = cells.mean.iter().map(|m| m - grand).collect();
    let mut between = CompensatedSum::default();
    for &m in &centred {
        between.add(m * m);
    }
    let mut margins = Margins::new(radix.clone(), centred);

    let mut pure = CompensatedSum::default();
    for &w in &cells.within_ss {
        pure.add(w);
    }
    let pure_ss = pure.value();
    let total_ss = pure_ss + n as f64 * between.value();

    // Margins from the largest term down, so that each comes from a small superset.
    let mut by_size: Vec<&Term> = design
        .terms
        .iter()
        .chain(&design.pooled)
        .chain(design.absorbed.iter().map(|a| &a.term))
        .collect();
    by_size.sort_by_key(|t| std::cmp::Reverse(t.subscripts.len()));
    for t in by_size {
        margins.table(t.subscripts.0 & ((1u64 << radix.len()) - 1));
    }
    let mut absorbed_ss = vec![CompensatedSum::default(); design.terms.len()];
    let mut absorbed = Vec::with_capacity(design.absorbed.len());
    for a in &design.absorbed {
        let ss = term_ss(&mut margins, &a.term, n_obs);
        let df = design.df(&a.term).unwrap_or(0);
        absorbed_ss[a.into].add(ss);
        absorbed.push((
            AnovaRow {
                term: a.term.name.clone(),
                df,
                ss: Some(ss),
                ms: if df > 0 { ss / df as f64 } else { f64::NAN },
            },
            a.into,
        ));
    }
    let mut rows = Vec::with_capacity(design.terms.len() + 1);
    for (i, t) in design.terms.iter().enumerate() {
        let mut sum = absorbed_ss[i];
        sum.add(term_ss(&mut margins, t, n_obs));
        let ss = sum.value();
        let df = design.row_df(i).unwrap_or(0);
        rows.push(AnovaRow {
            term: t.name.clone(),
            df,
            ss: Some(ss),
            ms: if df > 0 { ss / df as f64 } else { f64::NAN },
        });
    }
    let mut pooled = Vec::new();
    let mut resid = CompensatedSum::default();
    resid.add(pure_ss);
    for t in &design.pooled {
        let ss = term_ss(&mut margins, t, n_obs);
        let df = design.df(t).unwrap_or(0);
        resid.add(ss);
        pooled.push(AnovaRow {
            term: t.name.clone(),
            df,
            ss: Some(ss),
            ms: if df > 0 { ss / df as f64 } else { f64::NAN },
        });
    }
    let pure_df = ncells as u64 * n.saturating_sub(1);
    let resid_df = design.residual_df().unwrap_or(0);
    let resid_ss = resid.value();
    rows.push(AnovaRow {
        term: "Residual".to_string(),
        df: resid_df,
        ss: Some(resid_ss),
        ms: if resid_df > 0 {
            resid_ss / resid_df as f64
        } else {
            f64::NAN
        },
    });
    // Never a number from an overflowed sum: every SS (and the Total, their bound) finite.
    if !total_ss.is_finite()
        || rows
            .iter()
            .chain(&pooled)
            .any(|r| !r.ss.is_some_and(f64::is_finite))
    {
        return Err(AnovaError::Overflow);
    }
    Ok(AnovaTable {
        rows,
        pooled,
        absorbed,
        pure_error: Some(AnovaRow {
            term: "pure error".to_string(),
            df: pure_df,
            ss: Some(pure_ss),
            ms: if pure_df > 0 {
                pure_ss / pure_df as f64
            } else {
                f64::NAN
            },
        }),
        total: Some(AnovaRow {
            term: "Total".to_string(),
            df: n_obs.saturating_sub(1),
            ss: Some(total_ss),
            ms: if n_obs > 1 {
                total_ss / (n_obs - 1) as f64
            } else {
                f64::NAN
            },
        }),
        n_observations: Some(n_obs),
        grand_mean: Some(grand),
        from_summary: false,
    })
}

/// The sum of squares of one term: the marginal means over the term's factors, centred
/// along each live factor in turn (the Möbius sum over subsets of the live factors, done
/// as |live| sweeps), squared and summed.
fn term_ss(margins: &mut Margins, t: &Term, n_obs: u64) -> f64 {
    let nf = margins.radix.len();
    let factor_mask = (1u64 << nf) - 1;
    let set = t.subscripts.0 & factor_mask;
    let live = t.live.0 & factor_mask;
    let mut e = margins.table(set).clone();
    let (strides, size) = Margins::strides(&margins.radix, set);
    for l in Subscripts(live).iter() {
        let stride = strides[l];
        let len = margins.radix[l];
        let block = stride * len;
        for start in (0..size).step_by(block) {
            for base in start..start + stride {
                let mut sum = CompensatedSum::default();
                for k in 0..len {
                    sum.add(e[base + k * stride]);
                }
                let mean = sum.value() / len as f64;
                for k in 0..len {
                    e[base + k * stride] -= mean;
                }
            }
        }
    }
    let mut ss = CompensatedSum::default();
    for v in &e {
        ss.add(v * v);
    }
    let per_cell = n_obs as f64 / size as f64;
    per_cell * ss.value()
}

/// The ANOVA table from a published table's df and mean squares (matched and checked by
/// [`crate::data::summary::match_summary`]); SS = df × MS.
pub fn from_summary(design: &Design, rows: &[TermMs]) -> AnovaTable {
    let terms = design.terms_with_residual();
    AnovaTable {
        rows: terms
            .iter()
            .zip(rows)
            .map(|(t, r)| AnovaRow {
                term: t.name.clone(),
                df: r.df,
                ss: Some(r.df as f64 * r.ms),
                ms: r.ms,
            })
            .collect(),
        pooled: Vec::new(),
        absorbed: Vec::new(),
        pure_error: None,
        total: None,
        n_observations: design.n_observations(),
        grand_mean: None,
        from_summary: true,
    }
}
