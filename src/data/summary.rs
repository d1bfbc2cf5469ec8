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
use super::{DataError, DataErrorKind, sniff_delimiter};
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
}

/// A design term's df and mean square from the table (in design order, `Residual` last).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TermMs {
    pub df: u64,
    pub ms: f64,
}

fn error(source: &str, line: Option<u64>, column: Option<(usize, &str)>, msg: String) -> DataError {
    DataError {
        source: source.to_string(),
        line,
        column: column.map(|(c, n)| (c, n.to_string())),
        kind: DataErrorKind::Message(msg),
    }
}

/// Reads a summary table file.
pub fn read_summary(path: &Path) -> Result<Summary, DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError {
        source: source.clone(),
        line: None,
        column: None,
        kind: DataErrorKind::Io(e.to_string()),
    })?;
    read_summary_from(file, &source)
}

/// Reads summary CSV text.
pub fn read_summary_from<R: Read>(mut reader: R, source: &str) -> Result<Summary, DataError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| DataError {
        source: source.to_string(),
        line: None,
        column: None,
        kind: DataErrorKind::Io(e.to_string()),
    })?;
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(DataError {
            source: source.to_string(),
            line: Some(1),
            column: None,
            kind: DataErrorKind::Utf16("FF FE / FE FF"),
        });
    }
    let text: &[u8] = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&bytes);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError {
            source: source.to_string(),
            line: None,
            column: None,
            kind: DataErrorKind::Empty,
        });
    }
    let delimiter = sniff_delimiter(text);
    let decimal_comma = delimiter != b',';
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    let mut records = rdr.byte_records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            return Err(error(
                source,
                e.position().map(|p| p.line()),
                None,
                format!("CSV syntax error: {e}"),
            ));
        }
        None => {
            return Err(DataError {
                source: source.to_string(),
                line: None,
                column: None,
                kind: DataErrorKind::Empty,
            });
        }
    };
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
        .collect();
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
    let (Some(ct), Some(cd), Some(cm)) = (
        find(&["term", "source"]),
        find(&["df"]),
        find(&["ms", "mean square", "mean_square"]),
    ) else {
        return Err(error(
            source,
            Some(1),
            None,
            format!(
                "the header must name the columns `term`, `df` and `ms`; it has: {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let mut rows = Vec::new();
    for rec in records {
        let rec = rec.map_err(|e| {
            error(
                source,
                e.position().map(|p| p.line()),
                None,
                format!("CSV syntax error: {e}"),
            )
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1 && rec[0].trim_ascii().is_empty() {
            continue;
        }
        if rec.len() != names.len() {
            return Err(DataError {
                source: source.to_string(),
                line: Some(line),
                column: None,
                kind: DataErrorKind::Ragged {
                    expected: names.len(),
                    found: rec.len(),
                },
            });
        }
        let term = String::from_utf8_lossy(rec[ct].trim_ascii()).into_owned();
        if term.is_empty() {
            return Err(error(
                source,
                Some(line),
                Some((ct + 1, "term")),
                "empty term name".into(),
            ));
        }
        let df_text = String::from_utf8_lossy(rec[cd].trim_ascii()).into_owned();
        let df = Decimal::parse(rec[cd].trim_ascii(), decimal_comma)
            .ok()
            .map(|d| d.to_f64())
            .filter(|v| *v >= 1.0 && v.fract() == 0.0 && *v < 1e15)
            .ok_or_else(|| {
                error(
                    source,
                    Some(line),
                    Some((cd + 1, "df")),
                    format!("df {df_text:?} is not a whole number of at least 1"),
                )
            })? as u64;
        let ms_text = String::from_utf8_lossy(rec[cm].trim_ascii()).into_owned();
        let ms = match Decimal::parse(rec[cm].trim_ascii(), decimal_comma) {
            Ok(d) if d.to_f64() >= 0.0 => d.to_f64(),
            Ok(_) => {
                return Err(error(
                    source,
                    Some(line),
                    Some((cm + 1, "ms")),
                    format!("mean square {ms_text:?} is negative"),
                ));
            }
            Err(reason) => {
                return Err(error(
                    source,
                    Some(line),
                    Some((cm + 1, "ms")),
                    format!("mean square {ms_text:?} is {reason}"),
                ));
            }
        };
        rows.push(SummaryRow { line, term, df, ms });
    }
    if rows.is_empty() {
        return Err(DataError {
            source: source.to_string(),
            line: None,
            column: None,
            kind: DataErrorKind::NoRows,
        });
    }
    Ok(Summary {
        source: source.to_string(),
        rows,
    })
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
        return Err(error(
            src,
            None,
            None,
            format!(
                "a summary table has no data to count levels from: the design must declare {}",
                missing.join(", ")
            ),
        ));
    }
    let terms = design.terms_with_residual();
    let nterms = terms.len();
    let mut found: Vec<Option<(u64, TermMs)>> = vec![None; nterms];
    for row in &summary.rows {
        let key = normalise(&row.term);
        let Some(t) = terms.iter().position(|t| normalise(&t.name) == key) else {
            if let Some(p) = design.pooled.iter().find(|p| normalise(&p.name) == key) {
                return Err(error(
                    src,
                    Some(row.line),
                    Some((1, "term")),
                    format!(
                        "`{}` is not a term of this design's model: its `terms` list pools it into Residual (give the pooled Residual instead)",
                        p.name
                    ),
                ));
            }
            if let Some(a) = design
                .absorbed
                .iter()
                .find(|a| normalise(&a.term.name) == key)
            {
                let into = &design.terms[a.into].name;
                return Err(error(
                    src,
                    Some(row.line),
                    Some((1, "term")),
                    format!(
                        "`{}` is not a term of this design's model: `{into}` absorbs it (give `{into}` pooled with it, on {} df)",
                        a.term.name,
                        design.row_df(a.into).unwrap_or(0)
                    ),
                ));
            }
            return Err(error(
                src,
                Some(row.line),
                Some((1, "term")),
                format!(
                    "`{}` is not a term of the design{}; the terms are: {}",
                    row.term,
                    suggestion(&row.term, terms.iter().map(|t| t.name.as_str())),
                    terms
                        .iter()
                        .map(|t| format!("`{}`", t.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if let Some((first, _)) = found[t] {
            return Err(error(
                src,
                Some(row.line),
                Some((1, "term")),
                format!("`{}` is given twice (also on line {first})", terms[t].name),
            ));
        }
        let expected = design.row_df(t).unwrap_or(0);
        if row.df != expected {
            let formula = design.row_df_symbolic(t);
            return Err(error(
                src,
                Some(row.line),
                Some((2, "df")),
                format!(
                    "`{}` has df {} in the table, but the design gives {expected} (= {formula} with {})",
                    terms[t].name,
                    row.df,
                    sizes_text(design)
                ),
            ));
        }
        found[t] = Some((
            row.line,
            TermMs {
                df: row.df,
                ms: row.ms,
            },
        ));
    }
    let missing: Vec<String> = terms
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(t, _)| format!("`{}`", t.name))
        .collect();
    if !missing.is_empty() {
        return Err(error(
            src,
            None,
            None,
            format!(
                "the table has no row for {}: it needs one row per term and Residual",
                missing.join(", ")
            ),
        ));
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
