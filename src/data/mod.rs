//! Data: a CSV file read into cell sums for a design, in one streaming pass.
//!
//! [`read_csv`] matches one column to each design factor (by name, case-insensitively)
//! and finds the response column; it detects the delimiter (comma, semicolon or tab),
//! skips a UTF-8 byte-order mark, accepts CRLF line ends and quoted fields. Level labels
//! are strings. A nested factor may be coded restarting within each parent cell (casks
//! `a, b, c` in every batch) or with globally unique labels: both are read the same way and
//! the report says which it was. Each response is parsed as an exact decimal and summed
//! exactly in its cell ([`decimal`], [`cells`]); only cell totals are rounded to binary64,
//! relative to an exact offset (the first value). Memory grows with the number of cells
//! and distinct labels, not rows (unless the rows are kept for REML). A row with a
//! missing value is dropped and noted ([`missing`]).
//!
//! The pass is built for speed (about the cost of parsing the file with the `csv` crate,
//! see `benches/analyze.rs`): a line without quotes is split in one pass over its bytes,
//! anything else goes through `csv_core`; a row in the same cell as the row before it
//! (sorted data) skips the label and cell look-ups; cells are found through a direct
//! table of label ids while that is small.
//!
//! Balance is checked after the pass: [`Dataset::require_balanced`] names short, extra and
//! empty cells. Every error names the file and the line, column or field it is about.
//!
//! The parts, in the order a file goes through them:
//!
//! | module | holds |
//! |---|---|
//! | [`preview`] | byte-order mark, delimiter, the header and first rows as text |
//! | `records` | the tokenizer: records and their lines |
//! | `reader` | [`read_csv`]: header, columns, the pass |
//! | `columns` | which column is each factor, which the response |
//! | [`missing`] | missing values and the rows dropped for them |
//! | `pass`, `slots` | the streaming pass: labels and cells per row |
//! | `coding` | level codes of crossed and nested factors |
//! | `balance` | short, extra and empty cells |
//! | [`cells`], [`decimal`] | exact cell sums |
//! | `dataset`, [`notes`], `error` | the result, its typed notes, its errors |
//! | [`summary`] | a published ANOVA table instead of data |

// Errors are rare and say everything (file, line, column, message); they are not boxed.
#![allow(clippy::result_large_err)]

mod balance;
pub mod cells;
mod coding;
mod columns;
mod dataset;
pub mod decimal;
mod error;
pub(crate) mod hash;
pub mod missing;
pub mod notes;
mod pass;
pub mod preview;
mod reader;
mod records;
mod slots;
pub mod summary;

pub use cells::{CellAccumulator, Cells, cell_index};
pub use dataset::{
    Balance, CellProblem, Coding, Dataset, FactorData, ReadOptions, RemlInput, UnevenLevels,
};
pub use error::{DataError, DataErrorKind, excerpt};
pub use missing::MISSING_VALUES;
pub use notes::{DataNote, DroppedRows, NestedCoding};
pub use preview::{Preview, PreviewRow, preview, preview_from, sniff_delimiter};
pub use reader::{read_csv, read_csv_from};

/// The most cells a dense table may have.
pub const MAX_CELLS: usize = 1 << 27;

/// The largest response magnitude read. Sums of squares of deviations of up to twice this
/// over up to 10^15 rows stay below 4e135, so that their squares (Satterthwaite df, the
/// modified large-sample intervals) and REML's cross-products stay within binary64's range
/// (1.8e308); a larger value is refused with its line rather than giving numbers from an
/// overflowed sum.
pub const MAX_RESPONSE: f64 = 1e60;

/// The smallest magnitude of a response other than zero: the mirror of [`MAX_RESPONSE`],
/// so that squares of deviations (at least 1e-98 between distinct values of 38 digits)
/// never underflow to zero.
pub const MIN_RESPONSE: f64 = 1e-60;

/// The largest mean square a summary table may give: the square of [`MAX_RESPONSE`].
pub const MAX_MEAN_SQUARE: f64 = 1e120;
