//! A data file read for a design: its factors as found, its cells, its balance, what the
//! reader noticed, and (on request) the rows themselves.

use super::cells::Cells;
use super::decimal::Decimal;
use super::error::{DataError, DataErrorKind};
use super::notes::{DataNote, DroppedRows};
use crate::design::{Design, DesignError};

/// How a data file is read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The response column (overrides the design's `response`).
    pub response: Option<String>,
    /// Columns for factors whose column is not named as the factor: (factor, column),
    /// both matched ignoring case. Factors not listed are matched by name.
    pub columns: Vec<(String, String)>,
    /// Keep every row's level codes and response (needed for REML). Without it, memory
    /// does not grow with the number of rows.
    pub keep_rows: bool,
}

/// How the labels of a nested factor were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Not nested: one set of levels.
    Crossed,
    /// Labels restart within each parent cell (`a, b, c` in every batch).
    Restarting,
    /// Every label occurs under one parent cell only (casks `1..30`).
    Unique,
    /// Some labels repeat across parent cells, others do not.
    Mixed,
}

/// One design factor as found in the data.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorData {
    pub name: String,
    /// 0-based column in the file.
    pub column: usize,
    /// The column's header as written.
    pub header: String,
    /// Level count (within each parent cell for a nested factor): the design's or the
    /// data's.
    pub levels: u32,
    /// Distinct labels in the whole column.
    pub distinct_labels: usize,
    pub coding: Coding,
    /// The first few labels, for reports (each cut to a readable length).
    pub example_labels: Vec<String>,
    /// The label of each level code (as in [`Cells`] and [`RemlInput::codes`]), for naming
    /// fixed effects and BLUPs. Empty for a nested factor whose labels differ between
    /// parent cells (unique labels: a code is then no one label).
    pub labels: Vec<String>,
}

/// A cell that does not hold the expected number of observations.
#[derive(Debug, Clone, PartialEq)]
pub struct CellProblem {
    /// `batch=A, cask=b`.
    pub cell: String,
    pub count: u64,
}

/// A nested factor with fewer levels in some parent cells than in most.
#[derive(Debug, Clone, PartialEq)]
pub struct UnevenLevels {
    pub factor: String,
    /// The parent factors, `batch x day`.
    pub parents: String,
    /// Levels within most parent cells.
    pub levels: u32,
    /// The first few parent cells with fewer: (level count, `batch=C`).
    pub short: Vec<(usize, String)>,
    /// How many parent cells have fewer, in all.
    pub n_short: usize,
}

/// Whether every cell holds the same number of observations.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    /// Observations expected per cell (the design's `replicates`, or the most common
    /// count).
    pub replicates: u64,
    /// The first few cells that do not hold `replicates` observations.
    pub problems: Vec<CellProblem>,
    /// How many cells do not, in all.
    pub n_problems: usize,
    pub n_cells: usize,
    /// The first few cells that hold no observation at all (`batch=C, cask=#2`).
    pub empty: Vec<String>,
    /// How many cells hold none, in all.
    pub n_empty: usize,
    /// Nested factors whose level count differs between parent cells.
    pub level_notes: Vec<UnevenLevels>,
    /// Rows dropped for a missing value before the cells were counted.
    pub dropped: Option<DroppedRows>,
}

impl Balance {
    pub fn is_balanced(&self) -> bool {
        self.n_problems == 0 && self.replicates > 0
    }
}

/// The rows themselves, kept on request (for REML).
#[derive(Debug, Clone, PartialEq)]
pub struct RemlInput {
    /// `codes[f][obs]`: 0-based level code of design factor `f` (within the parent cell
    /// for a nested factor, as in [`Cells`]); a term's groups are the combinations of the
    /// codes of all its factors.
    pub codes: Vec<Vec<u32>>,
    /// The responses (binary64 of the exact decimal values).
    pub y: Vec<f64>,
    /// `labels[f][code]`: the label of each code of factor `f` ([`FactorData::labels`]),
    /// for `RemlOptions::level_labels`.
    pub labels: Vec<Vec<String>>,
}

/// The kept rows: each row's cell (slot in order of first appearance) and its response
/// minus the offset.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Rows {
    pub slot: Vec<u32>,
    pub diff: Vec<f64>,
}

/// A data file read for a design.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The file, as named.
    pub source: String,
    pub delimiter: u8,
    /// What the reader did that a user may want to know (byte-order mark, delimiter,
    /// decimal comma, coding of nested factors, rows dropped for missing values); the
    /// words are `report::data_notes`'.
    pub notes: Vec<DataNote>,
    /// The response column's header and 0-based index.
    pub response: String,
    pub response_column: usize,
    /// One per design factor, in design order.
    pub factors: Vec<FactorData>,
    /// Rows read into the cells (rows dropped for a missing value not counted).
    pub n_rows: u64,
    /// Rows dropped for a missing value (see [`DataNote::DroppedRows`]).
    pub dropped_rows: u64,
    /// The exact decimal subtracted from every response before rounding to binary64.
    pub offset: Decimal,
    /// Values whose difference from the offset did not fit in 38 digits (subtracted in
    /// binary64 instead).
    pub inexact_values: u64,
    pub cells: Cells,
    pub balance: Balance,
    /// The level code of each factor for each slot (cell in order of first appearance).
    pub(crate) slot_codes: Vec<u32>,
    pub(crate) rows: Option<Rows>,
}

impl Dataset {
    /// The offset as binary64: add it to [`Cells::mean`] for the cell means in the data's
    /// units.
    pub fn offset_f64(&self) -> f64 {
        self.offset.to_f64()
    }

    /// The design with level counts and replicates set from the data.
    pub fn sized_design(&self, design: &Design) -> Result<Design, DesignError> {
        let levels: Vec<Option<u32>> = self.factors.iter().map(|f| Some(f.levels)).collect();
        let reps = u32::try_from(self.balance.replicates).ok();
        design.with_sizes(&levels, reps)
    }

    /// `Ok` when every cell holds the same number of observations; otherwise the error
    /// naming the short, extra and empty cells.
    pub fn require_balanced(&self) -> Result<(), DataError> {
        if self.balance.is_balanced() {
            return Ok(());
        }
        Err(DataError::new(
            &self.source,
            DataErrorKind::Unbalanced(Box::new(self.balance.clone())),
        ))
    }

    /// The rows as REML wants them: level codes per factor and responses. `None` unless
    /// read with [`ReadOptions::keep_rows`]. Rows dropped for a missing value are not
    /// among them, as they are not in the cells.
    pub fn reml_input(&self) -> Option<RemlInput> {
        let rows = self.rows.as_ref()?;
        let nf = self.factors.len();
        let mut codes = vec![Vec::with_capacity(rows.slot.len()); nf];
        for &s in &rows.slot {
            let base = s as usize * nf;
            for (f, col) in codes.iter_mut().enumerate() {
                col.push(self.slot_codes[base + f]);
            }
        }
        let off = self.offset_f64();
        // Exact where possible: offset + difference in one rounding.
        let y = rows.diff.iter().map(|d| off + d).collect();
        let labels = self.factors.iter().map(|f| f.labels.clone()).collect();
        Some(RemlInput { codes, y, labels })
    }

    /// Visits the kept rows in file order, `row(codes, y)` with the level codes of every
    /// factor (as [`RemlInput::codes`]) and the response in the data's units; `None`
    /// unless read with [`ReadOptions::keep_rows`]. Nothing is built per row: a fit can
    /// stream the rows several times ([`crate::reml::RowSource`] over a dataset).
    pub fn visit_rows<E>(
        &self,
        mut row: impl FnMut(&[u32], f64) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        let rows = self.rows.as_ref()?;
        let nf = self.factors.len();
        let off = self.offset_f64();
        for (&s, &d) in rows.slot.iter().zip(&rows.diff) {
            let base = s as usize * nf;
            if let Err(e) = row(&self.slot_codes[base..base + nf], off + d) {
                return Some(Err(e));
            }
        }
        Some(Ok(()))
    }

    /// The number of kept rows (0 unless read with [`ReadOptions::keep_rows`]).
    pub fn n_kept_rows(&self) -> usize {
        self.rows.as_ref().map_or(0, |r| r.slot.len())
    }

    /// The label of each level code of each factor ([`FactorData::labels`]).
    pub fn level_labels(&self) -> Vec<Vec<String>> {
        self.factors.iter().map(|f| f.labels.clone()).collect()
    }

    /// The cell means in the data's units.
    pub fn cell_means(&self) -> Vec<f64> {
        let off = self.offset_f64();
        self.cells.mean.iter().map(|m| m + off).collect()
    }

    /// [`Cells::marginal_means`] in the data's units.
    pub fn marginal_means(&self, keep: &[usize]) -> Vec<f64> {
        let off = self.offset_f64();
        self.cells
            .marginal_means(keep)
            .into_iter()
            .map(|m| m + off)
            .collect()
    }
}
