//! A published ANOVA table instead of raw data: a CSV with columns `term,df,ms` (one row
//! per model term and `Residual`), checked against the design.
//!
//! ```
//! use emslab::{Design, data::summary::{read_summary_from, match_summary}};
//! let d = Design::from_toml_str(r#"
//!     replicates = 2
//!     [[factors]]
//!     name = "batch"
//!     kind = "random"
//!     levels = 15
//!     [[factors]]
//!     name = "sample"
//!     kind = "random"
//!     levels = 2
//!     nested_in = ["batch"]
//! "#).unwrap();
//! let text = "term,df,ms\nbatch,14,86.495\nsample(batch),15,57.983\nResidual,30,0.917\n";
//! let s = read_summary_from(text.as_bytes(), "pigment.csv").unwrap();
//! let rows = match_summary(&s, &d).unwrap();
//! assert_eq!(rows[1].ms, 57.983);
//! ```

// Errors are rare and say everything (file, line, column, message); they are not boxed.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::path::Path;

use super::decimal::Decimal;
use super::error::{DataError, DataErrorKind, column_list, excerpt};
use super::preview::preview_from;
use super::{MAX_MEAN_SQUARE, PreviewRow};
use crate::design::{Design, suggestion};

/// One row as written.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub line: u64,
    pub term: String,
    pub df: u64,
    pub ms: f64,
}

/// A summary table as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub source: String,
    pub rows: Vec<SummaryRow>,
    /// The header as written, and the 0-based columns of the terms and the df (for
    /// messages).
    pub header: Vec<String>,
    pub term_column: usize,
    pub df_column: usize,
}

/// A design term's df and mean square from the table (in design order, `Residual` last).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TermMs {
    pub df: u64,
    pub ms: f64,
}

/// Reads a summary table file.
pub fn read_summary(path: &Path) -> Result<Summary, DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::io(&source, &e))?;
    read_summary_from(file, &source)
}

/// The columns of a summary table: term, df, mean square (0-based).
struct Columns {
    term: usize,
    df: usize,
    ms: usize,
}

/// Reads summary CSV text.
pub fn read_summary_from<R: Read>(reader: R, source: &str) -> Result<Summary, DataError> {
    let table = preview_from(reader, source, usize::MAX)?;
    let decimal_comma = table.decimal_comma();
    let header = &table.header;
    let names: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
    let (Some(term), Some(df), Some(ms)) = (
        find(&["term", "source"]),
        find(&["df"]),
        find(&["ms", "mean square", "mean_square"]),
    ) else {
        let columns = column_list(&names);
        return Err(DataError::new(source, DataErrorKind::SummaryHeader { columns }).at_line(1));
    };
    let cols = Columns { term, df, ms };
    let rows = table
        .rows
        .iter()
        .map(|row| summary_row(row, header, &cols, decimal_comma, source))
        .collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        return Err(DataError::new(source, DataErrorKind::NoRows));
    }
    Ok(Summary {
        source: source.to_string(),
        rows,
        header: header.clone(),
        term_column: term,
        df_column: df,
    })
}

/// One row of a summary table: its term, a whole df of at least 1, a finite mean square
/// from 0 to [`MAX_MEAN_SQUARE`].
fn summary_row(
    row: &PreviewRow,
    header: &[String],
    cols: &Columns,
    decimal_comma: bool,
    source: &str,
) -> Result<SummaryRow, DataError> {
    let line = row.line;
    let at = |c: usize, kind| {
        DataError::new(source, kind)
            .at_line(line)
            .in_column(c, &header[c])
    };
    if row.fields.len() != header.len() {
        let kind = DataErrorKind::Ragged {
            expected: header.len(),
            found: row.fields.len(),
        };
        return Err(DataError::new(source, kind).at_line(line));
    }
    let term = row.fields[cols.term].trim().to_string();
    if term.is_empty() {
        return Err(at(cols.term, DataErrorKind::EmptyTerm));
    }
    let df_field = row.fields[cols.df].as_bytes();
    let df = Decimal::parse(df_field, decimal_comma)
        .ok()
        .map(|d| d.to_f64())
        .filter(|v| *v >= 1.0 && v.fract() == 0.0 && *v < 1e15)
        .ok_or_else(|| {
            let text = excerpt(df_field);
            at(cols.df, DataErrorKind::BadDf { text })
        })? as u64;
    let ms_field = row.fields[cols.ms].as_bytes();
    let text = excerpt(ms_field);
    let ms = match Decimal::parse(ms_field, decimal_comma) {
        Ok(d) if d.to_f64() > MAX_MEAN_SQUARE => {
            let limit = MAX_MEAN_SQUARE;
            return Err(at(
                cols.ms,
                DataErrorKind::MeanSquareTooLarge { text, limit },
            ));
        }
        Ok(d) if d.to_f64() >= 0.0 => d.to_f64(),
        Ok(_) => return Err(at(cols.ms, DataErrorKind::NegativeMeanSquare { text })),
        Err(reason) => return Err(at(cols.ms, DataErrorKind::BadMeanSquare { text, reason })),
    };
    Ok(SummaryRow { line, term, df, ms })
}

/// Normalises a term name for matching: no spaces, `*` as `:`, lower case; `Error`,
/// `Within` and `Residuals` mean `Residual`.
fn normalise(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '*' { ':' } else { c })
        .collect::<String>()
        .to_ascii_lowercase();
    match s.as_str() {
        "error" | "residuals" | "within" | "resid" => "residual".to_string(),
        _ => s,
    }
}

/// Matches the table's rows to the design's terms (model terms then `Residual`) and checks
/// every df against the design. The design must declare its level counts and replicates.
pub fn match_summary(summary: &Summary, design: &Design) -> Result<Vec<TermMs>, DataError> {
    let src = summary.source.as_str();
    if !design.is_sized() {
        let missing: Vec<String> = design
            .factors
            .iter()
            .filter(|f| f.levels.is_none())
            .map(|f| format!("`levels` of `{}`", f.name))
            .chain(
                design
                    .replicates
                    .is_none()
                    .then(|| "`replicates`".to_string()),
            )
            .collect();
        let missing = missing.join(", ");
        return Err(DataError::new(
            src,
            DataErrorKind::SummaryUnsized { missing },
        ));
    }
    let at = |row: &SummaryRow, column: usize, kind| {
        DataError::new(src, kind)
            .at_line(row.line)
            .in_column(column, &summary.header[column])
    };
    let term_col = summary.term_column;
    let terms = design.terms_with_residual();
    let nterms = terms.len();
    let mut found: Vec<Option<(u64, TermMs)>> = vec![None; nterms];
    for row in &summary.rows {
        let key = normalise(&row.term);
        let Some(t) = terms.iter().position(|t| normalise(&t.name) == key) else {
            if let Some(p) = design.pooled.iter().find(|p| normalise(&p.name) == key) {
                let term = p.name.clone();
                return Err(at(row, term_col, DataErrorKind::PooledTerm { term }));
            }
            if let Some(a) = design
                .absorbed
                .iter()
                .find(|a| normalise(&a.term.name) == key)
            {
                let kind = DataErrorKind::AbsorbedTerm {
                    term: a.term.name.clone(),
                    into: design.terms[a.into].name.clone(),
                    df: design.row_df(a.into).unwrap_or(0),
                };
                return Err(at(row, term_col, kind));
            }
            let kind = DataErrorKind::UnknownTerm {
                term: excerpt(row.term.as_bytes()),
                hint: suggestion(&row.term, terms.iter().map(|t| t.name.as_str())),
                terms: terms
                    .iter()
                    .map(|t| format!("`{}`", t.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            return Err(at(row, term_col, kind));
        };
        if let Some((first_line, _)) = found[t] {
            let term = terms[t].name.clone();
            let kind = DataErrorKind::TermTwice { term, first_line };
            return Err(at(row, term_col, kind));
        }
        let expected = design.row_df(t).unwrap_or(0);
        if row.df != expected {
            let kind = DataErrorKind::DfMismatch {
                term: terms[t].name.clone(),
                found: row.df,
                expected,
                formula: design.row_df_symbolic(t),
                sizes: sizes_text(design),
            };
            return Err(at(row, summary.df_column, kind));
        }
        let ms = TermMs {
            df: row.df,
            ms: row.ms,
        };
        found[t] = Some((row.line, ms));
    }
    let missing: Vec<String> = terms
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(t, _)| format!("`{}`", t.name))
        .collect();
    if !missing.is_empty() {
        let terms = missing.join(", ");
        return Err(DataError::new(src, DataErrorKind::MissingTerms { terms }));
    }
    Ok(found.into_iter().flatten().map(|(_, m)| m).collect())
}

fn sizes_text(design: &Design) -> String {
    let mut parts: Vec<String> = design
        .factors
        .iter()
        .map(|f| format!("{}={}", f.symbol, f.levels.unwrap_or(0)))
        .collect();
    parts.push(format!(
        "{}={}",
        design.replicate_symbol,
        design.replicates.unwrap_or(0)
    ));
    parts.join(", ")
}
