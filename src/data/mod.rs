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
//! and distinct labels, not rows (unless the rows are kept for REML).
//!
//! The pass is built for speed (about the cost of parsing the file with the `csv` crate,
//! see `benches/analyze.rs`): a line without quotes is split in one pass over its bytes,
//! anything else goes through `csv_core`; a row in the same cell as the row before it
//! (sorted data) skips the label and cell look-ups; cells are found through a direct
//! table of label ids while that is small.
//!
//! Balance is checked after the pass: [`Dataset::require_balanced`] names short and extra
//! cells. Every error names the file and the line, column or field it is about.

// Errors are rare and say everything (file, line, column, message); they are not boxed.
#![allow(clippy::result_large_err)]

pub mod cells;
pub mod decimal;
pub(crate) mod hash;
pub mod summary;

use std::collections::HashMap;
use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;

use cells::{CellAcc, cells_from_slots};
pub use cells::{CellAccumulator, Cells, cell_index};
use decimal::{Decimal, DecimalError};
use hash::FxHashMap;

use crate::design::{Design, DesignError, suggestion};

/// An error in a data file: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    /// The file, as named by the user.
    pub source: String,
    /// 1-based line.
    pub line: Option<u64>,
    /// 1-based column and its header.
    pub column: Option<(usize, String)>,
    pub kind: DataErrorKind,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        if let Some((c, name)) = &self.column {
            if self.line.is_some() {
                write!(f, ", column {c} (`{name}`)")?;
            } else {
                write!(f, ": column {c} (`{name}`)")?;
            }
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for DataError {}

/// What is wrong with a data file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataErrorKind {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error(
        "the file is empty: expected a header row naming the columns, then one row per observation"
    )]
    Empty,
    #[error("the file has a header row but no data rows")]
    NoRows,
    #[error("the file is UTF-16 text (byte-order mark {0}); save it as UTF-8 CSV")]
    Utf16(&'static str),
    #[error("the header is not valid UTF-8 text; save the file as UTF-8 CSV")]
    HeaderNotUtf8,
    #[error(
        "this row looks like data, not a header: the first row must name the columns (a column for each factor: {factors}; and one for the response)"
    )]
    MissingHeader { factors: String },
    #[error("no column for factor `{factor}`{hint}; the columns are: {columns}")]
    MissingColumn {
        factor: String,
        hint: String,
        columns: String,
    },
    #[error("no column `{column}` for factor `{factor}`{hint}; the columns are: {columns}")]
    MissingMappedColumn {
        factor: String,
        column: String,
        hint: String,
        columns: String,
    },
    #[error("column {column} is given to both factor `{first}` and factor `{second}`")]
    ColumnTwice {
        column: String,
        first: String,
        second: String,
    },
    #[error(
        "columns {first} and {second} both match factor `{factor}` (names are matched ignoring case)"
    )]
    AmbiguousColumn {
        factor: String,
        first: String,
        second: String,
    },
    #[error("no column `{name}` for the response{hint}; the columns are: {columns}")]
    MissingResponse {
        name: String,
        hint: String,
        columns: String,
    },
    #[error("the response `{name}` is also the column of factor `{factor}`")]
    ResponseIsFactor { name: String, factor: String },
    #[error(
        "no column is left for the response: every column is a factor ({columns}); add the response column"
    )]
    NoResponse { columns: String },
    #[error(
        "several columns could be the response ({candidates}); name it with --response or `response = \"...\"` in the design"
    )]
    AmbiguousResponse { candidates: String },
    #[error("{found} field{s}, but the header has {expected}", s = if *found == 1 { "" } else { "s" })]
    Ragged { expected: usize, found: usize },
    #[error("empty level label: every row needs a level of each factor")]
    EmptyLabel,
    #[error("the response {text:?} is {reason}")]
    BadResponse { text: String, reason: DecimalError },
    #[error(
        "factor `{factor}` has only one level ({label}){within} in the data; a factor needs at least 2 levels"
    )]
    OneLevel {
        factor: String,
        label: String,
        within: String,
    },
    #[error(
        "{label:?} is level {count} of factor `{factor}`{within}, but the design declares {declared} levels; fix `levels` in the design (or leave it out to take it from the data)"
    )]
    TooManyLevels {
        factor: String,
        label: String,
        count: u32,
        declared: u32,
        within: String,
    },
    #[error(
        "factor `{factor}` has {found} levels{within} in the data, but the design declares {declared}; fix `levels` in the design (or leave it out to take it from the data)"
    )]
    TooFewLevels {
        factor: String,
        found: u32,
        declared: u32,
        within: String,
    },
    #[error("the design has {cells} cells (combinations of levels), more than the {max} supported")]
    TooManyCells { cells: String, max: usize },
    #[error("CSV syntax error: {0}")]
    Csv(String),
    #[error("{0}")]
    Unbalanced(String),
    /// Anything else, said in full.
    #[error("{0}")]
    Message(String),
}

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
    /// The first few labels, for reports.
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
    /// Nested factors whose level count differs between parent cells.
    pub level_notes: Vec<String>,
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

#[derive(Debug, Clone, PartialEq)]
struct Rows {
    slot: Vec<u32>,
    diff: Vec<f64>,
}

/// A data file read for a design.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The file, as named.
    pub source: String,
    pub delimiter: u8,
    /// What the reader did that a user may want to know (byte-order mark, delimiter,
    /// decimal comma, coding of nested factors).
    pub notes: Vec<String>,
    /// The response column's header and 0-based index.
    pub response: String,
    pub response_column: usize,
    /// One per design factor, in design order.
    pub factors: Vec<FactorData>,
    pub n_rows: u64,
    /// The exact decimal subtracted from every response before rounding to binary64.
    pub offset: Decimal,
    /// Values whose difference from the offset did not fit in 38 digits (subtracted in
    /// binary64 instead).
    pub inexact_values: u64,
    pub cells: Cells,
    pub balance: Balance,
    slot_codes: Vec<u32>,
    rows: Option<Rows>,
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

    /// `Ok` when every cell holds the same number of observations; otherwise the message
    /// naming the short and extra cells.
    pub fn require_balanced(&self) -> Result<(), DataError> {
        if self.balance.is_balanced() {
            return Ok(());
        }
        let b = &self.balance;
        let mut msg = String::new();
        msg.push_str(&format!(
            "the data are unbalanced: {} of {} cells do not hold {} observation{}",
            b.n_problems,
            b.n_cells,
            b.replicates,
            if b.replicates == 1 { "" } else { "s" }
        ));
        let parts: Vec<String> = b
            .problems
            .iter()
            .map(|p| {
                let what = match p.count.cmp(&b.replicates) {
                    std::cmp::Ordering::Less if p.count == 0 => "missing".to_string(),
                    std::cmp::Ordering::Less => format!("{} short", b.replicates - p.count),
                    _ => format!("{} extra", p.count - b.replicates),
                };
                format!("{} has {} ({what})", p.cell, p.count)
            })
            .collect();
        msg.push_str(": ");
        msg.push_str(&parts.join("; "));
        if b.n_problems > b.problems.len() {
            msg.push_str(&format!("; and {} more", b.n_problems - b.problems.len()));
        }
        for note in &b.level_notes {
            msg.push_str("; ");
            msg.push_str(note);
        }
        msg.push_str(". The ANOVA and moment estimates need every cell to hold the same number of observations; a REML fit handles unbalanced data.");
        Err(DataError {
            source: self.source.clone(),
            line: None,
            column: None,
            kind: DataErrorKind::Unbalanced(msg),
        })
    }

    /// The rows as REML wants them: level codes per factor and responses. `None` unless
    /// read with [`ReadOptions::keep_rows`].
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
        let y = rows
            .diff
            .iter()
            .map(|d| {
                // Exact where possible: offset + difference in one rounding.
                off + d
            })
            .collect();
        let labels = self.factors.iter().map(|f| f.labels.clone()).collect();
        Some(RemlInput { codes, y, labels })
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

/// The most cells a dense table may have.
pub const MAX_CELLS: usize = 1 << 27;

const SNIFF_BYTES: usize = 1 << 16;

/// Reads a CSV file for a design.
pub fn read_csv(path: &Path, design: &Design, opts: &ReadOptions) -> Result<Dataset, DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError {
        source: source.clone(),
        line: None,
        column: None,
        kind: DataErrorKind::Io(e.to_string()),
    })?;
    read_csv_from(file, &source, design, opts)
}

fn err(source: &str, line: Option<u64>, kind: DataErrorKind) -> DataError {
    DataError {
        source: source.to_string(),
        line,
        column: None,
        kind,
    }
}

/// Reads CSV text from any reader; `source` names it in messages.
pub fn read_csv_from<R: Read>(
    mut reader: R,
    source: &str,
    design: &Design,
    opts: &ReadOptions,
) -> Result<Dataset, DataError> {
    let io_err = |e: std::io::Error| err(source, None, DataErrorKind::Io(e.to_string()));
    // Sniff the beginning: byte-order mark, delimiter.
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    let mut notes = Vec::new();
    if head.starts_with(&[0xFF, 0xFE]) {
        return Err(err(source, Some(1), DataErrorKind::Utf16("FF FE")));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Err(err(source, Some(1), DataErrorKind::Utf16("FE FF")));
    }
    let mut start = 0;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        start = 3;
        notes.push("UTF-8 byte-order mark skipped.".to_string());
    }
    if head[start..].iter().all(u8::is_ascii_whitespace) {
        return Err(err(source, None, DataErrorKind::Empty));
    }
    let delimiter = sniff_delimiter(&head[start..]);
    match delimiter {
        b';' => notes.push("Semicolon-separated; a decimal comma is accepted.".to_string()),
        b'\t' => notes.push("Tab-separated; a decimal comma is accepted.".to_string()),
        _ => {}
    }
    let decimal_comma = delimiter != b',';
    let input = Cursor::new(head).chain(reader);
    let mut input = input;
    if start > 0 {
        let mut skip = [0u8; 3];
        input.read_exact(&mut skip).map_err(io_err)?;
    }
    let mut rdr = Records::new(input, delimiter);

    // Header.
    let mut rec = Record::default();
    if !rdr.read(&mut rec).map_err(io_err)? {
        return Err(err(source, None, DataErrorKind::Empty));
    }
    let header_line = rec.line;
    let mut header: Vec<String> = Vec::with_capacity(rec.len());
    for field in rec.iter() {
        let s = std::str::from_utf8(field)
            .map_err(|_| err(source, Some(header_line), DataErrorKind::HeaderNotUtf8))?;
        header.push(s.trim().to_string());
    }
    let ncols = header.len();
    let columns_list = || {
        header
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let header_numeric = header
        .iter()
        .any(|h| Decimal::parse(h.as_bytes(), decimal_comma).is_ok());

    // Factor columns.
    let nf = design.factors.len();
    let mut factor_col = Vec::with_capacity(nf);
    for f in &design.factors {
        let mapped = opts
            .columns
            .iter()
            .rev()
            .find(|(factor, _)| factor.eq_ignore_ascii_case(&f.name))
            .map(|(_, column)| column.as_str());
        let wanted = mapped.unwrap_or(&f.name);
        let matches: Vec<usize> = (0..ncols)
            .filter(|&c| header[c].eq_ignore_ascii_case(wanted))
            .collect();
        if let Some(first) = matches.first()
            && let Some(g) = factor_col.iter().position(|c| c == first)
        {
            return Err(err(
                source,
                Some(header_line),
                DataErrorKind::ColumnTwice {
                    column: format!("{} (`{}`)", first + 1, header[*first]),
                    first: design.factors[g].name.clone(),
                    second: f.name.clone(),
                },
            ));
        }
        match matches.as_slice() {
            [c] => factor_col.push(*c),
            [] if mapped.is_some() => {
                return Err(err(
                    source,
                    Some(header_line),
                    DataErrorKind::MissingMappedColumn {
                        factor: f.name.clone(),
                        column: wanted.to_string(),
                        hint: suggestion(wanted, header.iter().map(String::as_str)),
                        columns: columns_list(),
                    },
                ));
            }
            [] => {
                if header_numeric {
                    return Err(err(
                        source,
                        Some(header_line),
                        DataErrorKind::MissingHeader {
                            factors: design
                                .factors
                                .iter()
                                .map(|f| format!("`{}`", f.name))
                                .collect::<Vec<_>>()
                                .join(", "),
                        },
                    ));
                }
                return Err(err(
                    source,
                    Some(header_line),
                    DataErrorKind::MissingColumn {
                        factor: f.name.clone(),
                        hint: suggestion(&f.name, header.iter().map(String::as_str)),
                        columns: columns_list(),
                    },
                ));
            }
            [a, b, ..] => {
                return Err(err(
                    source,
                    Some(header_line),
                    DataErrorKind::AmbiguousColumn {
                        factor: f.name.clone(),
                        first: format!("{} (`{}`)", a + 1, header[*a]),
                        second: format!("{} (`{}`)", b + 1, header[*b]),
                    },
                ));
            }
        }
    }

    // First data row (needed to pick the response among several columns).
    let mut first = Record::default();
    loop {
        if !rdr.read(&mut first).map_err(io_err)? {
            return Err(err(source, Some(header_line), DataErrorKind::NoRows));
        }
        // Blank lines are not rows.
        if !first.is_blank() {
            break;
        }
    }

    // Response column.
    let wanted = opts.response.clone().or_else(|| design.response.clone());
    let response_column = match wanted {
        Some(name) => {
            let Some(c) = (0..ncols).find(|&c| header[c].eq_ignore_ascii_case(&name)) else {
                return Err(err(
                    source,
                    Some(header_line),
                    DataErrorKind::MissingResponse {
                        hint: suggestion(&name, header.iter().map(String::as_str)),
                        name,
                        columns: columns_list(),
                    },
                ));
            };
            if let Some(f) = factor_col.iter().position(|&fc| fc == c) {
                return Err(err(
                    source,
                    Some(header_line),
                    DataErrorKind::ResponseIsFactor {
                        name,
                        factor: design.factors[f].name.clone(),
                    },
                ));
            }
            c
        }
        None => {
            let free: Vec<usize> = (0..ncols).filter(|c| !factor_col.contains(c)).collect();
            match free.as_slice() {
                [] => {
                    return Err(err(
                        source,
                        Some(header_line),
                        DataErrorKind::NoResponse {
                            columns: columns_list(),
                        },
                    ));
                }
                [c] => *c,
                _ => {
                    let numeric: Vec<usize> = free
                        .iter()
                        .copied()
                        .filter(|&c| {
                            first
                                .get(c)
                                .is_some_and(|v| Decimal::parse(v, decimal_comma).is_ok())
                        })
                        .collect();
                    if numeric.len() == 1 {
                        notes.push(format!(
                            "Response: `{}`, the only numeric column that is not a factor.",
                            header[numeric[0]]
                        ));
                        numeric[0]
                    } else {
                        let cands = if numeric.is_empty() { &free } else { &numeric };
                        return Err(err(
                            source,
                            Some(header_line),
                            DataErrorKind::AmbiguousResponse {
                                candidates: cands
                                    .iter()
                                    .map(|&c| format!("`{}`", header[c]))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            },
                        ));
                    }
                }
            }
        }
    };

    let mut pass = Pass::new(
        source,
        &header,
        factor_col.clone(),
        response_column,
        decimal_comma,
        opts.keep_rows,
        // Room for the declared cells (capped: a wrong declaration costs nothing).
        design
            .factors
            .iter()
            .try_fold(1usize, |acc, f| acc.checked_mul(f.levels? as usize))
            .unwrap_or(0)
            .min(1 << 20),
        // Room for each factor's labels: its declared levels (restarting labels of a
        // nested factor need no more), or a guess that grows.
        design
            .factors
            .iter()
            .map(|f| f.levels.unwrap_or(8).max(2))
            .collect(),
    );
    pass.row(&first)?;
    while rdr.read(&mut rec).map_err(io_err)? {
        pass.row(&rec)?;
    }
    pass.finish(design, delimiter, notes)
}

/// The delimiter of the first line: the most frequent of `,`, `;`, tab outside quotes
/// (comma on ties and when there is none).
pub(crate) fn sniff_delimiter(text: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in text {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let cands = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    cands[best]
}

/// Byte equality, inline for the short labels of a data file (no call to `memcmp`),
/// eight bytes at a time.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i + 8 <= a.len() {
        let (Ok(x), Ok(y)) = (
            <[u8; 8]>::try_from(&a[i..i + 8]),
            <[u8; 8]>::try_from(&b[i..i + 8]),
        ) else {
            return false;
        };
        if u64::from_ne_bytes(x) != u64::from_ne_bytes(y) {
            return false;
        }
        i += 8;
    }
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[inline(always)]
fn same_ends(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for i in 0..a.len() {
        if a[i] != b[i] {
            return false;
        }
    }
    true
}

/// One record: its bytes, where each field starts and ends in them, and the line it
/// starts on.
#[derive(Debug, Clone, Default)]
struct Record {
    data: Vec<u8>,
    starts: Vec<usize>,
    ends: Vec<usize>,
    n: usize,
    line: u64,
    /// Read by the plain-line path (`data` is the line itself, delimiters included) rather
    /// than by `csv_core` (`data` is the unescaped fields end to end).
    plain: bool,
}

impl Record {
    fn len(&self) -> usize {
        self.n
    }

    #[inline]
    fn field(&self, i: usize) -> &[u8] {
        &self.data[self.starts[i]..self.ends[i]]
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.n).map(|i| self.field(i))
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        (i < self.n).then(|| self.field(i))
    }

    /// A line with nothing on it.
    fn is_blank(&self) -> bool {
        self.n == 1 && self.field(0).trim_ascii().is_empty()
    }
}

impl std::ops::Index<usize> for Record {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.field(i)
    }
}

/// CSV records. A line with no quote character and no lone carriage return is split at
/// its delimiters in one pass over its bytes; anything else (quoted fields, fields spanning
/// lines, `\r` line ends, a line longer than the buffer) goes to `csv_core`, the parser
/// inside the `csv` crate, which both paths agree with: RFC 4180 quoting, `\n`, `\r\n`
/// or `\r` line ends, blank lines skipped.
struct Records<R: Read> {
    input: std::io::BufReader<R>,
    core: csv_core::Reader,
    /// What each byte is to the plain-line path.
    class: [u8; 256],
    /// The line the next record starts on.
    line: u64,
}

const PLAIN: u8 = 0;
const DELIM: u8 = 1;
const NEWLINE: u8 = 2;
const SPECIAL: u8 = 3;

impl<R: Read> Records<R> {
    fn new(input: R, delimiter: u8) -> Records<R> {
        let mut class = [PLAIN; 256];
        class[b'"' as usize] = SPECIAL;
        class[b'\r' as usize] = SPECIAL;
        class[b'\n' as usize] = NEWLINE;
        class[delimiter as usize] = DELIM;
        Records {
            input: std::io::BufReader::with_capacity(1 << 16, input),
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            class,
            line: 1,
        }
    }

    /// Reads the next record; `false` at the end.
    #[inline(always)]
    fn read(&mut self, rec: &mut Record) -> std::io::Result<bool> {
        use std::io::BufRead;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            // One pass over the line: field ends at delimiters, the line's end at `\n`;
            // a quote or a carriage return other than in `\r\n` hands over to csv_core.
            rec.starts.clear();
            rec.ends.clear();
            let mut start = 0;
            let n = buf.len();
            let mut i = 0;
            let (end, next) = loop {
                if i == n {
                    // No line end in the buffer.
                    return self.read_core(rec);
                }
                let b = buf[i];
                match self.class[b as usize] {
                    PLAIN => {}
                    DELIM => {
                        rec.starts.push(start);
                        rec.ends.push(i);
                        start = i + 1;
                    }
                    NEWLINE => break (i, i + 1),
                    _ => {
                        if b == b'\r' && buf.get(i + 1) == Some(&b'\n') {
                            break (i, i + 2);
                        }
                        return self.read_core(rec);
                    }
                }
                i += 1;
            };
            let this_line = self.line;
            self.line += 1;
            if end == 0 {
                // A blank line is not a record.
                self.input.consume(next);
                continue;
            }
            rec.starts.push(start);
            rec.ends.push(end);
            rec.n = rec.ends.len();
            rec.data.clear();
            rec.data.extend_from_slice(&buf[..end]);
            rec.line = this_line;
            rec.plain = true;
            self.input.consume(next);
            return Ok(true);
        }
    }

    /// One record through `csv_core`.
    #[cold]
    #[inline(never)]
    fn read_core(&mut self, rec: &mut Record) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult::*;
        use std::io::BufRead;
        rec.data.resize(rec.data.len().max(256), 0);
        rec.ends.resize(rec.ends.len().max(16), 0);
        self.core.set_line(self.line);
        rec.line = self.line;
        let (mut outlen, mut endlen) = (0, 0);
        loop {
            let input = self.input.fill_buf()?;
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut rec.data[outlen..], &mut rec.ends[endlen..]);
            self.input.consume(nin);
            outlen += nout;
            endlen += nend;
            match res {
                InputEmpty => {}
                OutputFull => {
                    let n = rec.data.len() * 2;
                    rec.data.resize(n, 0);
                }
                OutputEndsFull => {
                    let n = rec.ends.len() * 2;
                    rec.ends.resize(n, 0);
                }
                Record => {
                    rec.n = endlen;
                    rec.ends.truncate(endlen);
                    rec.starts.clear();
                    rec.starts.push(0);
                    rec.starts
                        .extend_from_slice(&rec.ends[..endlen.saturating_sub(1)]);
                    rec.plain = false;
                    self.line = self.core.line();
                    return Ok(true);
                }
                End => {
                    self.line = self.core.line();
                    return Ok(false);
                }
            }
        }
    }
}

/// Distinct labels of one column, with ids in order of first appearance.
struct LabelMap {
    map: FxHashMap<Box<[u8]>, u32>,
    labels: Vec<Box<[u8]>>,
    first_line: Vec<u64>,
    last: Vec<u8>,
    last_id: u32,
}

impl LabelMap {
    fn new() -> LabelMap {
        LabelMap {
            map: FxHashMap::default(),
            labels: Vec::new(),
            first_line: Vec::new(),
            last: Vec::new(),
            last_id: u32::MAX,
        }
    }

    #[inline]
    fn id(&mut self, field: &[u8], line: u64) -> u32 {
        if self.last_id != u32::MAX && same_bytes(field, &self.last) {
            return self.last_id;
        }
        let id = match self.map.get(field) {
            Some(&id) => id,
            None => {
                let id = self.labels.len() as u32;
                let key: Box<[u8]> = field.into();
                self.map.insert(key.clone(), id);
                self.labels.push(key);
                self.first_line.push(line);
                id
            }
        };
        self.last.clear();
        self.last.extend_from_slice(field);
        self.last_id = id;
        id
    }

    fn label(&self, id: u32) -> String {
        String::from_utf8_lossy(&self.labels[id as usize]).into_owned()
    }
}

/// Cells as met in the file: one slot per distinct combination of label ids.
struct SlotMap {
    nf: usize,
    /// A direct table from label ids to slots while the product of the label counts is
    /// small (the usual case: it is about the number of cells); hashing otherwise.
    dense: Option<DenseIndex>,
    /// Bits per factor in a packed key; 0 once any id is too large (then `wide`).
    bits: u32,
    packed: FxHashMap<u128, u32>,
    wide: FxHashMap<Box<[u32]>, u32>,
    ids: Vec<u32>,
    acc: Vec<CellAcc>,
    first_line: Vec<u64>,
    last_ids: Vec<u32>,
    last_slot: u32,
}

/// Slots by mixed-radix index over label ids, with room `cap[f]` for factor `f`'s ids.
struct DenseIndex {
    cap: Vec<u32>,
    table: Vec<u32>,
}

/// The largest direct table (entries of 4 bytes).
const MAX_DENSE: usize = 1 << 22;

impl DenseIndex {
    fn new(cap: Vec<u32>) -> Option<DenseIndex> {
        let n = cap
            .iter()
            .try_fold(1usize, |a, &c| a.checked_mul(c as usize))
            .filter(|&n| n <= MAX_DENSE)?;
        Some(DenseIndex {
            cap,
            table: vec![u32::MAX; n],
        })
    }

    #[inline]
    fn index(&self, ids: &[u32]) -> Option<usize> {
        let mut idx = 0usize;
        for (&i, &c) in ids.iter().zip(&self.cap) {
            if i >= c {
                return None;
            }
            idx = idx * c as usize + i as usize;
        }
        Some(idx)
    }
}

impl SlotMap {
    /// `expected`: the number of cells, when the design says (room is made up front, so
    /// that nothing is copied as the table grows); `caps`: the expected label counts.
    fn new(nf: usize, expected: usize, caps: Vec<u32>) -> SlotMap {
        SlotMap {
            nf,
            dense: DenseIndex::new(caps),
            bits: (128 / nf.max(1)).min(32) as u32,
            packed: FxHashMap::default(),
            wide: FxHashMap::default(),
            ids: Vec::with_capacity(expected * nf),
            acc: Vec::with_capacity(expected),
            first_line: Vec::with_capacity(expected),
            last_ids: vec![u32::MAX; nf],
            last_slot: u32::MAX,
        }
    }

    #[inline]
    fn slot(&mut self, ids: &[u32], line: u64) -> u32 {
        if self.last_slot != u32::MAX && ids.iter().zip(&self.last_ids).all(|(a, b)| a == b) {
            return self.last_slot;
        }
        let slot = match self.dense_slot(ids, line) {
            Some(s) => s,
            None => self.hashed_slot(ids, line),
        };
        self.last_ids.copy_from_slice(ids);
        self.last_slot = slot;
        slot
    }

    /// The slot from the direct table, growing it when an id does not fit; `None` once
    /// the table would be too large (then hashing takes over for good).
    #[inline]
    fn dense_slot(&mut self, ids: &[u32], line: u64) -> Option<u32> {
        let dense = self.dense.as_mut()?;
        let idx = match dense.index(ids) {
            Some(i) => i,
            None => {
                self.grow_dense(ids);
                self.dense.as_ref()?.index(ids)?
            }
        };
        let dense = self.dense.as_mut()?;
        let s = dense.table[idx];
        if s != u32::MAX {
            return Some(s);
        }
        let s = self.acc.len() as u32;
        dense.table[idx] = s;
        self.new_slot(ids, line);
        Some(s)
    }

    #[cold]
    fn grow_dense(&mut self, ids: &[u32]) {
        let Some(dense) = &self.dense else {
            return;
        };
        let cap: Vec<u32> = dense
            .cap
            .iter()
            .zip(ids)
            .map(|(&c, &i)| {
                let mut c = c.max(1);
                while c <= i {
                    c = c.saturating_mul(2);
                }
                c
            })
            .collect();
        match DenseIndex::new(cap) {
            Some(mut d) => {
                for (s, chunk) in self.ids.chunks(self.nf).enumerate() {
                    if let Some(i) = d.index(chunk) {
                        d.table[i] = s as u32;
                    }
                }
                self.dense = Some(d);
            }
            None => {
                // Too large: hash every cell met so far, and from now on.
                self.dense = None;
                for (s, chunk) in self.ids.chunks(self.nf).enumerate() {
                    self.wide.insert(chunk.into(), s as u32);
                }
                self.bits = 0;
            }
        }
    }

    fn hashed_slot(&mut self, ids: &[u32], line: u64) -> u32 {
        if self.bits > 0 && ids.iter().all(|&i| u64::from(i) < 1u64 << self.bits) {
            let mut key: u128 = 0;
            for &i in ids {
                key = key << self.bits | u128::from(i);
            }
            // One probe: the slot it will get if it is new.
            let next = self.acc.len() as u32;
            let s = *self.packed.entry(key).or_insert(next);
            if s == next {
                self.new_slot(ids, line);
            }
            s
        } else {
            if self.bits > 0 {
                // Switch to wide keys for good.
                self.bits = 0;
                for (s, chunk) in self.ids.chunks(self.nf).enumerate() {
                    self.wide.insert(chunk.into(), s as u32);
                }
                self.packed = FxHashMap::default();
            }
            match self.wide.get(ids) {
                Some(&s) => s,
                None => {
                    let s = self.new_slot(ids, line);
                    self.wide.insert(ids.into(), s);
                    s
                }
            }
        }
    }

    fn new_slot(&mut self, ids: &[u32], line: u64) -> u32 {
        let s = self.acc.len() as u32;
        self.ids.extend_from_slice(ids);
        self.acc.push(CellAcc::default());
        self.first_line.push(line);
        s
    }
}

/// The streaming pass.
struct Pass<'a> {
    source: &'a str,
    header: &'a [String],
    factor_col: Vec<usize>,
    response_col: usize,
    decimal_comma: bool,
    labels: Vec<LabelMap>,
    slots: SlotMap,
    ids: Vec<u32>,
    offset: Option<Decimal>,
    offset_f64: f64,
    inexact: u64,
    n_rows: u64,
    rows: Option<Rows>,
    /// When the factor columns are the first `k` columns: the raw bytes and field ends of
    /// the previous row's first `k` fields, and its cell. A sorted file repeats them row
    /// after row, and then one comparison replaces the label and cell look-ups.
    prefix_fields: Option<usize>,
    last_prefix: Vec<u8>,
    last_ends: Vec<usize>,
    last_plain: bool,
    last_slot: Option<u32>,
}

impl<'a> Pass<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        source: &'a str,
        header: &'a [String],
        factor_col: Vec<usize>,
        response_col: usize,
        decimal_comma: bool,
        keep_rows: bool,
        expected_cells: usize,
        caps: Vec<u32>,
    ) -> Pass<'a> {
        let nf = factor_col.len();
        Pass {
            source,
            header,
            response_col,
            decimal_comma,
            labels: (0..nf).map(|_| LabelMap::new()).collect(),
            slots: SlotMap::new(nf, expected_cells, caps),
            ids: vec![0; nf],
            offset: None,
            offset_f64: 0.0,
            inexact: 0,
            n_rows: 0,
            rows: keep_rows.then(|| Rows {
                slot: Vec::new(),
                diff: Vec::new(),
            }),
            prefix_fields: {
                let mut sorted = factor_col.clone();
                sorted.sort_unstable();
                (sorted.iter().enumerate().all(|(i, &c)| i == c)).then_some(nf)
            },
            last_prefix: Vec::new(),
            last_ends: vec![0; nf],
            last_plain: false,
            last_slot: None,
            factor_col,
        }
    }

    /// The previous row's cell, if this row's factor fields are byte for byte the same.
    #[inline]
    fn same_cell_as_last(&self, rec: &Record) -> Option<u32> {
        let k = self.prefix_fields?;
        let slot = self.last_slot?;
        if rec.plain != self.last_plain {
            return None;
        }
        let ends = &rec.ends[..k];
        let end = ends[k - 1];
        // A plain line's bytes include its delimiters, which no field can contain: equal
        // bytes mean equal fields. Unescaped fields need their boundaries compared too.
        ((rec.plain || same_ends(ends, &self.last_ends))
            && same_bytes(&rec.data[..end], &self.last_prefix))
        .then_some(slot)
    }

    fn at(&self, line: u64, col: usize, kind: DataErrorKind) -> DataError {
        DataError {
            line: Some(line),
            ..self.in_column(col, kind)
        }
    }

    /// An error about a whole column (no one line to name).
    fn in_column(&self, col: usize, kind: DataErrorKind) -> DataError {
        DataError {
            source: self.source.to_string(),
            line: None,
            column: Some((col + 1, self.header[col].clone())),
            kind,
        }
    }

    /// One data row: the hot loop. The common case (same cell as the previous row, a
    /// plain decimal) stays in this function; everything else is out of line.
    #[inline]
    fn row(&mut self, rec: &Record) -> Result<(), DataError> {
        if rec.n != self.header.len() {
            return self.odd_row(rec);
        }
        let slot = match self.same_cell_as_last(rec) {
            Some(s) => s,
            None => self.find_cell(rec)?,
        };
        let raw = rec.field(self.response_col);
        let value = match Decimal::parse_fast(raw, self.decimal_comma) {
            Some(v) => v,
            None => self.parse_slow(raw, rec.line)?,
        };
        let offset = match self.offset {
            Some(o) => o,
            None => self.set_offset(value),
        };
        if !self.slots.acc[slot as usize].push_decimal(value, offset) {
            self.inexact += 1;
        }
        if self.rows.is_some() {
            self.keep_row(slot, value, offset);
        }
        self.n_rows += 1;
        Ok(())
    }

    /// A row with the wrong number of fields: blank (skipped) or ragged (an error).
    #[cold]
    #[inline(never)]
    fn odd_row(&self, rec: &Record) -> Result<(), DataError> {
        if rec.is_blank() {
            return Ok(());
        }
        Err(err(
            self.source,
            Some(rec.line),
            DataErrorKind::Ragged {
                expected: self.header.len(),
                found: rec.len(),
            },
        ))
    }

    /// Label and cell look-ups for a row that is not in the previous row's cell.
    #[inline(never)]
    fn find_cell(&mut self, rec: &Record) -> Result<u32, DataError> {
        let line = rec.line;
        for f in 0..self.factor_col.len() {
            let c = self.factor_col[f];
            let field = rec.field(c).trim_ascii();
            if field.is_empty() {
                return Err(self.at(line, c, DataErrorKind::EmptyLabel));
            }
            self.ids[f] = self.labels[f].id(field, line);
        }
        let s = self.slots.slot(&self.ids, line);
        if let Some(k) = self.prefix_fields {
            self.last_prefix.clear();
            self.last_prefix
                .extend_from_slice(&rec.data[..rec.ends[k - 1]]);
            self.last_ends.copy_from_slice(&rec.ends[..k]);
            self.last_plain = rec.plain;
            self.last_slot = Some(s);
        }
        Ok(s)
    }

    #[cold]
    #[inline(never)]
    fn parse_slow(&self, raw: &[u8], line: u64) -> Result<Decimal, DataError> {
        Decimal::parse(raw, self.decimal_comma).map_err(|reason| {
            self.at(
                line,
                self.response_col,
                DataErrorKind::BadResponse {
                    text: String::from_utf8_lossy(raw.trim_ascii()).into_owned(),
                    reason,
                },
            )
        })
    }

    #[cold]
    fn set_offset(&mut self, value: Decimal) -> Decimal {
        self.offset = Some(value);
        self.offset_f64 = value.to_f64();
        value
    }

    #[inline(never)]
    fn keep_row(&mut self, slot: u32, value: Decimal, offset: Decimal) {
        let diff = match value.checked_sub(offset) {
            Some(d) => d.to_f64(),
            None => value.to_f64() - self.offset_f64,
        };
        if let Some(rows) = &mut self.rows {
            rows.slot.push(slot);
            rows.diff.push(diff);
        }
    }

    fn finish(
        self,
        design: &Design,
        delimiter: u8,
        mut notes: Vec<String>,
    ) -> Result<Dataset, DataError> {
        let nf = self.factor_col.len();
        let nslots = self.slots.acc.len();
        let slot_ids = |s: usize| &self.slots.ids[s * nf..(s + 1) * nf];
        // Local codes of every slot, factor by factor (parents first: ancestors have
        // fewer ancestors).
        let mut order: Vec<usize> = (0..nf).collect();
        order.sort_by_key(|&f| design.factors[f].ancestors.len());
        let mut codes = vec![0u32; nslots * nf];
        let mut radix = vec![0u32; nf];
        let mut factors: Vec<Option<FactorData>> = vec![None; nf];
        // For nested factors: parent-cell key (label ids of the ancestors) -> sorted label
        // ids within it.
        let mut groups: Vec<FxHashMap<Vec<u32>, Vec<u32>>> = vec![FxHashMap::default(); nf];
        let mut level_notes = Vec::new();
        for &f in &order {
            let fd = &design.factors[f];
            let col = self.factor_col[f];
            let labels = &self.labels[f];
            let anc: Vec<usize> = fd.ancestors.iter().collect();
            let declared = fd.levels;
            let example_labels: Vec<String> = (0..labels.labels.len().min(6))
                .map(|i| labels.label(i as u32))
                .collect();
            if anc.is_empty() {
                let count = labels.labels.len() as u32;
                if count == 1 {
                    return Err(self.in_column(
                        col,
                        DataErrorKind::OneLevel {
                            factor: fd.name.clone(),
                            label: format!("{:?}", labels.label(0)),
                            within: String::new(),
                        },
                    ));
                }
                if let Some(d) = declared {
                    if count > d {
                        return Err(self.at(
                            labels.first_line[d as usize],
                            col,
                            DataErrorKind::TooManyLevels {
                                factor: fd.name.clone(),
                                label: labels.label(d),
                                count: d + 1,
                                declared: d,
                                within: String::new(),
                            },
                        ));
                    }
                    if count < d {
                        return Err(self.in_column(
                            col,
                            DataErrorKind::TooFewLevels {
                                factor: fd.name.clone(),
                                found: count,
                                declared: d,
                                within: String::new(),
                            },
                        ));
                    }
                }
                radix[f] = count;
                for s in 0..nslots {
                    codes[s * nf + f] = slot_ids(s)[f];
                }
                factors[f] = Some(FactorData {
                    name: fd.name.clone(),
                    column: col,
                    header: self.header[col].clone(),
                    levels: count,
                    distinct_labels: labels.labels.len(),
                    coding: Coding::Crossed,
                    example_labels,
                    labels: (0..count).map(|i| labels.label(i)).collect(),
                });
                continue;
            }
            // Nested: group the slots by their ancestors' labels.
            let mut g: FxHashMap<Vec<u32>, Vec<u32>> = FxHashMap::default();
            let mut key: Vec<u32> = Vec::with_capacity(anc.len());
            for s in 0..nslots {
                let ids = slot_ids(s);
                key.clear();
                key.extend(anc.iter().map(|&a| ids[a]));
                match g.get_mut(key.as_slice()) {
                    Some(v) => {
                        if v.last() != Some(&ids[f]) {
                            v.push(ids[f]);
                        }
                    }
                    None => {
                        g.insert(key.clone(), vec![ids[f]]);
                    }
                }
            }
            for v in g.values_mut() {
                v.sort_unstable();
                v.dedup();
            }
            let parent_names = anc
                .iter()
                .map(|&a| design.factors[a].name.as_str())
                .collect::<Vec<_>>()
                .join(" x ");
            let describe_group = |key: &[u32]| -> String {
                anc.iter()
                    .zip(key)
                    .map(|(&a, &id)| {
                        format!("{}={}", design.factors[a].name, self.labels[a].label(id))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let max = g.values().map(Vec::len).max().unwrap_or(0) as u32;
            let min = g.values().map(Vec::len).min().unwrap_or(0) as u32;
            if max == 1 {
                return Err(self.in_column(
                    col,
                    DataErrorKind::OneLevel {
                        factor: fd.name.clone(),
                        label: "one label".to_string(),
                        within: format!(" within each cell of {parent_names}"),
                    },
                ));
            }
            if let Some(d) = declared {
                // Deterministic: the offending group met first in the file.
                let mut worst: Option<(u64, String, u32)> = None;
                for (key, labs) in &g {
                    if labs.len() as u32 > d {
                        let extra = labs[d as usize];
                        let line = (0..nslots)
                            .filter(|&s| {
                                let ids = slot_ids(s);
                                ids[f] == extra && anc.iter().zip(key).all(|(&a, &k)| ids[a] == k)
                            })
                            .map(|s| self.slots.first_line[s])
                            .min()
                            .unwrap_or(0);
                        if worst.as_ref().is_none_or(|w| line < w.0) {
                            worst = Some((line, describe_group(key), extra));
                        }
                    }
                }
                if let Some((line, group, extra)) = worst {
                    return Err(self.at(
                        line,
                        col,
                        DataErrorKind::TooManyLevels {
                            factor: fd.name.clone(),
                            label: labels.label(extra),
                            count: d + 1,
                            declared: d,
                            within: format!(" within {group}"),
                        },
                    ));
                }
                if max < d {
                    return Err(self.in_column(
                        col,
                        DataErrorKind::TooFewLevels {
                            factor: fd.name.clone(),
                            found: max,
                            declared: d,
                            within: format!(" within each cell of {parent_names}"),
                        },
                    ));
                }
            }
            let levels = declared.unwrap_or(max);
            if min != max || min < levels {
                let mut short: Vec<(&Vec<u32>, usize)> = g
                    .iter()
                    .filter(|(_, v)| (v.len() as u32) < levels)
                    .map(|(k, v)| (k, v.len()))
                    .collect();
                short.sort();
                let list = short
                    .iter()
                    .take(3)
                    .map(|(k, n)| format!("{n} in {}", describe_group(k)))
                    .collect::<Vec<_>>()
                    .join(", ");
                level_notes.push(format!(
                    "`{}` has {levels} levels within most cells of {parent_names} but fewer in {} ({list}{})",
                    fd.name,
                    short.len(),
                    if short.len() > 3 { ", ..." } else { "" }
                ));
            }
            // Coding: does any label occur under two parent cells?
            let mut seen: HashMap<u32, usize> = HashMap::new();
            for labs in g.values() {
                for &l in labs {
                    *seen.entry(l).or_default() += 1;
                }
            }
            let repeated = seen.values().filter(|&&c| c > 1).count();
            let coding = if repeated == 0 {
                Coding::Unique
            } else if repeated == seen.len() {
                Coding::Restarting
            } else {
                Coding::Mixed
            };
            notes.push(match coding {
                Coding::Unique => format!(
                    "`{}` (nested in {parent_names}): globally unique labels ({} in all, {levels} within each {parent_names}).",
                    fd.name,
                    labels.labels.len()
                ),
                Coding::Restarting => format!(
                    "`{}` (nested in {parent_names}): labels restart within each {parent_names} ({} are level 1, 2, ... of a different {} in each).",
                    fd.name,
                    example_labels
                        .iter()
                        .take(levels as usize)
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    fd.name
                ),
                Coding::Mixed => format!(
                    "`{}` (nested in {parent_names}): some labels repeat across cells of {parent_names} and others do not; each label is taken as a level within its own {parent_names}.",
                    fd.name
                ),
                Coding::Crossed => String::new(),
            });
            radix[f] = levels;
            for s in 0..nslots {
                let ids = slot_ids(s);
                key.clear();
                key.extend(anc.iter().map(|&a| ids[a]));
                if let Some(labs) = g.get(key.as_slice()) {
                    codes[s * nf + f] = labs.binary_search(&ids[f]).unwrap_or(0) as u32;
                }
            }
            // Code k is the k-th label of its parent cell: one label per code when every
            // cell has the same labels (labels restarting within each parent).
            let mut cells = g.values();
            let first = cells.next();
            let code_labels = match first {
                Some(f0) if cells.all(|v| v == f0) => {
                    f0.iter().map(|&id| labels.label(id)).collect()
                }
                _ => Vec::new(),
            };
            factors[f] = Some(FactorData {
                name: fd.name.clone(),
                column: col,
                header: self.header[col].clone(),
                levels,
                distinct_labels: labels.labels.len(),
                coding,
                example_labels,
                labels: code_labels,
            });
            groups[f] = g;
        }
        let factors: Vec<FactorData> = factors.into_iter().flatten().collect();

        // Dense table.
        let n_cells = radix
            .iter()
            .try_fold(1usize, |acc, &r| acc.checked_mul(r as usize))
            .filter(|&n| n <= MAX_CELLS);
        let Some(n_cells) = n_cells else {
            let prod: f64 = radix.iter().map(|&r| f64::from(r)).product();
            return Err(err(
                self.source,
                None,
                DataErrorKind::TooManyCells {
                    cells: format!("{prod:.3e}"),
                    max: MAX_CELLS,
                },
            ));
        };
        let index: Vec<usize> = (0..nslots)
            .map(|s| cell_index(&radix, &codes[s * nf..(s + 1) * nf]))
            .collect();
        // A file that fills only a small part of a huge table is unbalanced whatever it
        // holds: report it without allocating the table.
        let sparse = n_cells > nslots.saturating_mul(4).max(1 << 20);
        let cells = if sparse {
            Cells {
                radix: radix.clone(),
                count: Vec::new(),
                mean: Vec::new(),
                within_ss: Vec::new(),
            }
        } else {
            cells_from_slots(radix.clone(), &self.slots.acc, &index)
        };

        // Balance.
        let replicates = match design.replicates {
            Some(r) => u64::from(r),
            None => {
                let mut freq: HashMap<u64, usize> = HashMap::new();
                for a in &self.slots.acc {
                    if a.n > 0 {
                        *freq.entry(a.n).or_default() += 1;
                    }
                }
                freq.into_iter()
                    .max_by_key(|&(c, k)| (k, std::cmp::Reverse(c)))
                    .map_or(0, |(c, _)| c)
            }
        };
        let describe_cell = |idx: usize| -> String {
            let mut cell_codes = vec![0u32; nf];
            let mut rest = idx;
            for f in (0..nf).rev() {
                cell_codes[f] = (rest % radix[f] as usize) as u32;
                rest /= radix[f] as usize;
            }
            let mut label_ids: Vec<Option<u32>> = vec![None; nf];
            for &f in &order {
                let anc: Vec<usize> = design.factors[f].ancestors.iter().collect();
                label_ids[f] = if anc.is_empty() {
                    Some(cell_codes[f])
                } else {
                    let key: Option<Vec<u32>> = anc.iter().map(|&a| label_ids[a]).collect();
                    key.and_then(|k| groups[f].get(&k))
                        .and_then(|labs| labs.get(cell_codes[f] as usize).copied())
                };
            }
            (0..nf)
                .map(|f| match label_ids[f] {
                    Some(id) => format!("{}={}", design.factors[f].name, self.labels[f].label(id)),
                    None => format!("{}=#{}", design.factors[f].name, cell_codes[f] + 1),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut problems = Vec::new();
        let mut n_problems = 0;
        if sparse {
            // Cells met with the wrong count, then the first missing ones.
            for (s, a) in self.slots.acc.iter().enumerate() {
                if a.n != replicates {
                    n_problems += 1;
                    if problems.len() < 5 {
                        problems.push(CellProblem {
                            cell: describe_cell(index[s]),
                            count: a.n,
                        });
                    }
                }
            }
            n_problems += n_cells - nslots;
            let present: std::collections::HashSet<usize> = index.iter().copied().collect();
            let mut i = 0;
            while problems.len() < 5 && i < n_cells {
                if !present.contains(&i) {
                    problems.push(CellProblem {
                        cell: describe_cell(i),
                        count: 0,
                    });
                }
                i += 1;
            }
        } else {
            for (i, &c) in cells.count.iter().enumerate() {
                if c != replicates {
                    n_problems += 1;
                    if problems.len() < 5 {
                        problems.push(CellProblem {
                            cell: describe_cell(i),
                            count: c,
                        });
                    }
                }
            }
        }
        let balance = Balance {
            replicates,
            problems,
            n_problems,
            n_cells,
            level_notes,
        };
        if self.inexact > 0 {
            notes.push(format!(
                "{} response values differ from the first by more than 38 significant digits and were subtracted in binary64.",
                self.inexact
            ));
        }
        Ok(Dataset {
            source: self.source.to_string(),
            delimiter,
            notes,
            response: self.header[self.response_col].clone(),
            response_column: self.response_col,
            factors,
            n_rows: self.n_rows,
            offset: self.offset.unwrap_or(Decimal::ZERO),
            inexact_values: self.inexact,
            cells,
            balance,
            slot_codes: codes,
            rows: self.rows,
        })
    }
}
