//! Balance: whether every cell holds the same number of observations, and if not, which
//! cells are short, extra or empty (named by their labels).

use std::collections::HashMap;

use super::cells::Cells;
use super::coding::{Coded, Found};
use super::dataset::{Balance, CellProblem};
use super::notes::DroppedRows;
use crate::design::Design;

/// Cells named in a balance report, of each kind.
const LISTED: usize = 5;

/// The cells as the pass met them, and where each sits in the dense table.
pub(crate) struct CellIndex<'a> {
    pub found: &'a Found<'a>,
    pub design: &'a Design,
    pub coded: &'a Coded,
    /// The dense index of each slot.
    pub index: &'a [usize],
    pub n_cells: usize,
}

impl CellIndex<'_> {
    /// `batch=A, cask=b` for the dense cell `idx`; a level no label was met for (an empty
    /// cell of a nested factor) is `cask=#2`.
    fn describe(&self, idx: usize) -> String {
        let design = self.design;
        let radix = &self.coded.radix;
        let nf = radix.len();
        let mut cell_codes = vec![0u32; nf];
        let mut rest = idx;
        for f in (0..nf).rev() {
            cell_codes[f] = (rest % radix[f] as usize) as u32;
            rest /= radix[f] as usize;
        }
        // Label ids, parents first (a nested factor's label depends on its parent cell).
        let mut label_ids: Vec<Option<u32>> = vec![None; nf];
        for &f in &self.coded.order {
            let anc: Vec<usize> = design.factors[f].ancestors.iter().collect();
            label_ids[f] = if anc.is_empty() {
                Some(cell_codes[f])
            } else {
                let key: Option<Vec<u32>> = anc.iter().map(|&a| label_ids[a]).collect();
                key.and_then(|k| self.coded.groups[f].get(&k))
                    .and_then(|labs| labs.get(cell_codes[f] as usize).copied())
            };
        }
        (0..nf)
            .map(|f| {
                let name = &design.factors[f].name;
                match label_ids[f] {
                    Some(id) => format!("{name}={}", self.found.labels[f].excerpt(id)),
                    None => format!("{name}=#{}", cell_codes[f] + 1),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The observations expected per cell: the design's `replicates`, or the most common
/// count among the cells met (the smaller on ties).
fn replicates(at: &CellIndex<'_>) -> u64 {
    if let Some(r) = at.design.replicates {
        return u64::from(r);
    }
    let mut freq: HashMap<u64, usize> = HashMap::new();
    for a in &at.found.slots.acc {
        if a.n > 0 {
            *freq.entry(a.n).or_default() += 1;
        }
    }
    freq.into_iter()
        .max_by_key(|&(c, k)| (k, std::cmp::Reverse(c)))
        .map_or(0, |(c, _)| c)
}

/// The balance report. `cells`: the dense table, or `None` when it was not built (a
/// file filling a small part of a huge table; then the cells met are checked, and the
/// first cells never met are named).
pub(crate) fn balance(
    at: &CellIndex<'_>,
    cells: Option<&Cells>,
    dropped: Option<DroppedRows>,
) -> Balance {
    let replicates = replicates(at);
    let mut problems = Vec::new();
    let mut n_problems = 0;
    let mut empty = Vec::new();
    let mut problem = |idx: usize, count: u64, n_problems: &mut usize| {
        *n_problems += 1;
        if problems.len() < LISTED {
            let cell = at.describe(idx);
            problems.push(CellProblem { cell, count });
        }
    };
    let n_empty = match cells {
        Some(cells) => {
            for (i, &c) in cells.count.iter().enumerate() {
                if c != replicates {
                    problem(i, c, &mut n_problems);
                }
                if c == 0 && empty.len() < LISTED {
                    empty.push(at.describe(i));
                }
            }
            cells.count.iter().filter(|&&c| c == 0).count()
        }
        None => {
            // Cells met with the wrong count, then the first missing ones.
            for (s, a) in at.found.slots.acc.iter().enumerate() {
                if a.n != replicates {
                    problem(at.index[s], a.n, &mut n_problems);
                }
            }
            let n_slots = at.found.slots.acc.len();
            let n_empty = at.n_cells.saturating_sub(n_slots);
            n_problems += n_empty;
            let present: std::collections::HashSet<usize> = at.index.iter().copied().collect();
            for i in (0..at.n_cells)
                .filter(|i| !present.contains(i))
                .take(LISTED)
            {
                let cell = at.describe(i);
                if problems.len() < LISTED {
                    problems.push(CellProblem {
                        cell: cell.clone(),
                        count: 0,
                    });
                }
                empty.push(cell);
            }
            n_empty
        }
    };
    Balance {
        replicates,
        problems,
        n_problems,
        n_cells: at.n_cells,
        empty,
        n_empty,
        level_notes: at.coded.uneven.clone(),
        dropped,
    }
}
