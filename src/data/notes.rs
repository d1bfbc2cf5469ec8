//! What the reader noticed about a data file and did about it, as typed findings; the
//! report renders their words (`report::data_notes`).

use super::dataset::Coding;

/// One finding of the CSV reader.
#[derive(Debug, Clone, PartialEq)]
pub enum DataNote {
    /// A UTF-8 byte-order mark at the start was skipped.
    ByteOrderMark,
    /// The delimiter is not a comma (`;` or tab): a decimal comma is accepted.
    Delimiter(u8),
    /// No response column was named; this one is the only numeric column that is not a
    /// factor.
    ResponseGuessed { column: String },
    /// How the labels of a nested factor are written.
    NestedCoding(NestedCoding),
    /// Response values whose difference from the offset needed more than 38 significant
    /// digits and was taken in binary64.
    InexactValues { count: u64 },
    /// Rows left out because a value was missing (see [`super::MISSING_VALUES`]).
    DroppedRows(DroppedRows),
}

/// The coding of one nested factor's labels.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedCoding {
    pub factor: String,
    /// The factors it is nested in (its ancestors), in design order.
    pub parents: Vec<String>,
    /// [`Coding::Restarting`], [`Coding::Unique`] or [`Coding::Mixed`].
    pub coding: Coding,
    /// Distinct labels in the whole column.
    pub distinct_labels: usize,
    /// Levels within each parent cell.
    pub levels: u32,
    /// The labels of level 1, 2, ... as met first (at most `levels`, each cut to a
    /// readable length).
    pub first_labels: Vec<String>,
}

/// Rows dropped for a missing value, as R's `na.omit` and SAS's procedures drop them.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedRows {
    /// How many rows.
    pub count: u64,
    /// The lines of the first few (1-based).
    pub first_lines: Vec<u64>,
    /// For each column that had a missing value in a dropped row: its header and in how
    /// many dropped rows (a row missing two values counts in both columns).
    pub by_column: Vec<(String, u64)>,
}
