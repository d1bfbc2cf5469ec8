//! Errors of the data readers: the file, where in it (line, column), and what is wrong.
//!
//! Every error is built the same way: [`DataError::new`] with the file and the kind, then
//! [`DataError::at_line`] and [`DataError::in_column`] for where. User text quoted in a
//! message (a field, a label, a header) is cut to a readable prefix by [`excerpt`].

use std::fmt;

use super::dataset::{Balance, UnevenLevels};
use super::decimal::DecimalError;
use super::notes::DroppedRows;

/// An error in a data file: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    /// The file, as named by the user.
    pub source: String,
    /// 1-based line.
    pub line: Option<u64>,
    /// 1-based column and its header (cut by [`excerpt`]).
    pub column: Option<(usize, String)>,
    pub kind: DataErrorKind,
}

impl DataError {
    /// An error about the file `source` as a whole; [`DataError::at_line`] and
    /// [`DataError::in_column`] say where, when one place is to blame.
    pub fn new(source: &str, kind: DataErrorKind) -> DataError {
        DataError {
            source: source.to_string(),
            line: None,
            column: None,
            kind,
        }
    }

    /// The 1-based line the error is on.
    pub fn at_line(mut self, line: u64) -> DataError {
        self.line = Some(line);
        self
    }

    /// The column the error is in: its 0-based index and its header as written.
    pub fn in_column(mut self, index: usize, header: &str) -> DataError {
        self.column = Some((index + 1, excerpt(header.as_bytes())));
        self
    }

    /// An error reading the file itself.
    pub fn io(source: &str, e: &std::io::Error) -> DataError {
        DataError::new(source, DataErrorKind::Io(e.to_string()))
    }
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

/// What is wrong with a data file or a summary table. Text from the file is held as an
/// [`excerpt`].
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
    #[error(
        "every one of the {dropped} data rows has a missing value (empty, NA, NaN or `.`) in the response or a factor column: no rows are left"
    )]
    AllRowsMissing { dropped: u64 },
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
    #[error("the response {text:?} is {reason}")]
    BadResponse { text: String, reason: DecimalError },
    #[error(
        "the response {text} is beyond ±{limit:e}: sums of squares of such values (and the squares of mean squares that Satterthwaite df and REML use) would overflow binary64; rescale the column (e.g. divide it by a power of ten)"
    )]
    ResponseTooLarge { text: String, limit: f64 },
    #[error(
        "the response {text} is not zero but smaller than {limit:e} in magnitude: squares of such values underflow binary64 (sums of squares would come out 0); rescale the column (e.g. multiply it by a power of ten)"
    )]
    ResponseTooSmall { text: String, limit: f64 },
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
    #[error("{}", unbalanced_message(.0))]
    Unbalanced(Box<Balance>),
    // ---- Summary tables (`term,df,ms`).
    #[error("the header must name the columns `term`, `df` and `ms`; it has: {columns}")]
    SummaryHeader { columns: String },
    #[error("empty term name")]
    EmptyTerm,
    #[error("df {text:?} is not a whole number of at least 1")]
    BadDf { text: String },
    #[error("mean square {text:?} is negative")]
    NegativeMeanSquare { text: String },
    #[error("mean square {text:?} is {reason}")]
    BadMeanSquare { text: String, reason: DecimalError },
    #[error(
        "mean square {text} is beyond {limit:e}: its square (Satterthwaite df) would overflow binary64; rescale the table"
    )]
    MeanSquareTooLarge { text: String, limit: f64 },
    #[error(
        "`{term}` is not a term of this design's model: its `terms` list pools it into Residual (give the pooled Residual instead)"
    )]
    PooledTerm { term: String },
    #[error(
        "`{term}` is not a term of this design's model: `{into}` absorbs it (give `{into}` pooled with it, on {df} df)"
    )]
    AbsorbedTerm { term: String, into: String, df: u64 },
    #[error("`{term}` is not a term of the design{hint}; the terms are: {terms}")]
    UnknownTerm {
        term: String,
        hint: String,
        terms: String,
    },
    #[error("`{term}` is given twice (also on line {first_line})")]
    TermTwice { term: String, first_line: u64 },
    #[error(
        "`{term}` has df {found} in the table, but the design gives {expected} (= {formula} with {sizes})"
    )]
    DfMismatch {
        term: String,
        found: u64,
        expected: u64,
        formula: String,
        sizes: String,
    },
    #[error("a summary table has no data to count levels from: the design must declare {missing}")]
    SummaryUnsized { missing: String },
    #[error("the table has no row for {terms}: it needs one row per term and Residual")]
    MissingTerms { terms: String },
}

/// Most characters of user text quoted in a message.
const EXCERPT_CHARS: usize = 40;

/// User text as a message quotes it: trimmed, at most 40 characters, then `… (N bytes)`
/// saying how long the whole was (a 10 MB field gives one short line, not 10 MB).
pub fn excerpt(bytes: &[u8]) -> String {
    let bytes = bytes.trim_ascii();
    // A UTF-8 character has at most 4 bytes: this many bytes hold the characters shown.
    let head = &bytes[..bytes.len().min(4 * EXCERPT_CHARS + 4)];
    let text = String::from_utf8_lossy(head);
    let mut chars = text.char_indices();
    match chars.nth(EXCERPT_CHARS) {
        None if head.len() == bytes.len() => text.into_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], bytes.len()),
        None => format!("{text}… ({} bytes)", bytes.len()),
    }
}

/// Column headers as a message lists them: each quoted and cut, at most 20 of them.
pub(crate) fn column_list<'a>(headers: impl IntoIterator<Item = &'a String>) -> String {
    const MAX: usize = 20;
    let mut parts = Vec::new();
    let mut more = 0usize;
    for h in headers {
        if parts.len() < MAX {
            parts.push(format!("`{}`", excerpt(h.as_bytes())));
        } else {
            more += 1;
        }
    }
    let mut s = parts.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

impl fmt::Display for UnevenLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = self
            .short
            .iter()
            .map(|(n, group)| format!("{n} in {group}"))
            .collect::<Vec<_>>()
            .join(", ");
        write!(
            f,
            "`{}` has {} levels within most cells of {} but fewer in {} ({list}{})",
            self.factor,
            self.levels,
            self.parents,
            self.n_short,
            if self.n_short > self.short.len() {
                ", ..."
            } else {
                ""
            }
        )
    }
}

/// ` (after dropping 3 rows with a missing value: lines 3, 10, 20)`.
fn dropped_rows(d: &DroppedRows) -> String {
    let (s, lines) = (if d.count == 1 { "" } else { "s" }, &d.first_lines);
    let mut text = format!(
        " (after dropping {} row{s} with a missing value: line{s} ",
        d.count
    );
    text.push_str(
        &lines
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    if d.count > lines.len() as u64 {
        text.push_str(", ...");
    }
    text.push(')');
    text
}

/// The message of [`DataErrorKind::Unbalanced`]: the short, extra and empty cells.
fn unbalanced_message(b: &Balance) -> String {
    let mut msg = format!(
        "the data are unbalanced{}: {} of {} cells do not hold {} observation{}",
        b.dropped.as_ref().map_or(String::new(), dropped_rows),
        b.n_problems,
        b.n_cells,
        b.replicates,
        if b.replicates == 1 { "" } else { "s" }
    );
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
    if b.n_empty > 0 {
        // Name the empty cells the list above did not.
        let unnamed: Vec<&str> = b
            .empty
            .iter()
            .filter(|c| !b.problems.iter().any(|p| &p.cell == *c))
            .map(String::as_str)
            .collect();
        msg.push_str(&format!(
            "; {} cell{} hold{} no observation",
            b.n_empty,
            if b.n_empty == 1 { "" } else { "s" },
            if b.n_empty == 1 { "s" } else { "" },
        ));
        if !unnamed.is_empty() {
            msg.push_str(&format!(" ({}", unnamed.join("; ")));
            if b.n_empty > b.empty.len() {
                msg.push_str(&format!("; and {} more", b.n_empty - b.empty.len()));
            }
            msg.push(')');
        }
    }
    for note in &b.level_notes {
        msg.push_str(&format!("; {note}"));
    }
    msg.push_str(". The balanced-design expected mean squares, F tests and moment estimates need every cell to hold the same number of observations.");
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_long_text_and_say_how_long_it_was() {
        assert_eq!(excerpt(b"  62.8 "), "62.8");
        let long = "9".repeat(10_000_000);
        let e = excerpt(long.as_bytes());
        assert_eq!(e, format!("{}… (10000000 bytes)", "9".repeat(40)));
        // Exactly 40 characters: as is. Multi-byte characters count as one each.
        assert_eq!(excerpt("é".repeat(40).as_bytes()), "é".repeat(40));
        assert_eq!(
            excerpt("é".repeat(41).as_bytes()),
            format!("{}… (82 bytes)", "é".repeat(40))
        );
    }
}
