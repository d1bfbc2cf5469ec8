//! Column matching: which column of the header holds each design factor, and which the
//! response.

use super::ReadOptions;
use super::decimal::Decimal;
use super::error::{DataErrorKind, column_list, excerpt};
use super::missing::is_missing_response;
use super::notes::DataNote;
use super::records::Record;
use crate::design::{Design, suggestion};

/// `3 (`cask`)`: a column as messages name it.
fn named(header: &[String], c: usize) -> String {
    format!("{} (`{}`)", c + 1, excerpt(header[c].as_bytes()))
}

/// The column of each design factor (0-based, in design order): the column named in
/// [`ReadOptions::columns`], or the one named as the factor, ignoring case.
/// `header_numeric`: a header field reads as a number (then a missing column means a
/// missing header row).
pub(crate) fn factor_columns(
    design: &Design,
    header: &[String],
    opts: &ReadOptions,
    header_numeric: bool,
) -> Result<Vec<usize>, DataErrorKind> {
    let mut factor_col: Vec<usize> = Vec::with_capacity(design.factors.len());
    let names = || header.iter().map(String::as_str);
    for f in &design.factors {
        let mapped = opts
            .columns
            .iter()
            .rev()
            .find(|(factor, _)| factor.eq_ignore_ascii_case(&f.name))
            .map(|(_, column)| column.as_str());
        let wanted = mapped.unwrap_or(&f.name);
        let matches: Vec<usize> = (0..header.len())
            .filter(|&c| header[c].eq_ignore_ascii_case(wanted))
            .collect();
        if let Some(&first) = matches.first()
            && let Some(g) = factor_col.iter().position(|&c| c == first)
        {
            return Err(DataErrorKind::ColumnTwice {
                column: named(header, first),
                first: design.factors[g].name.clone(),
                second: f.name.clone(),
            });
        }
        match matches.as_slice() {
            [c] => factor_col.push(*c),
            [] if mapped.is_some() => {
                return Err(DataErrorKind::MissingMappedColumn {
                    factor: f.name.clone(),
                    column: wanted.to_string(),
                    hint: suggestion(wanted, names()),
                    columns: column_list(header),
                });
            }
            [] if header_numeric => {
                return Err(DataErrorKind::MissingHeader {
                    factors: design
                        .factors
                        .iter()
                        .map(|f| format!("`{}`", f.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            [] => {
                return Err(DataErrorKind::MissingColumn {
                    factor: f.name.clone(),
                    hint: suggestion(&f.name, names()),
                    columns: column_list(header),
                });
            }
            [a, b, ..] => {
                return Err(DataErrorKind::AmbiguousColumn {
                    factor: f.name.clone(),
                    first: named(header, *a),
                    second: named(header, *b),
                });
            }
        }
    }
    Ok(factor_col)
}

/// The response column: the one named (by `--response` or the design), else the only
/// column that is not a factor, else the only such column whose value in the first data
/// row reads as a number (or is missing), with a note saying so.
pub(crate) fn response_column(
    design: &Design,
    wanted: Option<&str>,
    header: &[String],
    factor_col: &[usize],
    first_row: &Record,
    decimal_comma: bool,
    notes: &mut Vec<DataNote>,
) -> Result<usize, DataErrorKind> {
    let ncols = header.len();
    if let Some(name) = wanted {
        let Some(c) = (0..ncols).find(|&c| header[c].eq_ignore_ascii_case(name)) else {
            return Err(DataErrorKind::MissingResponse {
                hint: suggestion(name, header.iter().map(String::as_str)),
                name: name.to_string(),
                columns: column_list(header),
            });
        };
        if let Some(f) = factor_col.iter().position(|&fc| fc == c) {
            return Err(DataErrorKind::ResponseIsFactor {
                name: name.to_string(),
                factor: design.factors[f].name.clone(),
            });
        }
        return Ok(c);
    }
    let free: Vec<usize> = (0..ncols).filter(|c| !factor_col.contains(c)).collect();
    match free.as_slice() {
        [] => Err(DataErrorKind::NoResponse {
            columns: column_list(header),
        }),
        [c] => Ok(*c),
        _ => {
            let numeric: Vec<usize> = free
                .iter()
                .copied()
                .filter(|&c| {
                    first_row.get(c).is_some_and(|v| {
                        is_missing_response(v) || Decimal::parse(v, decimal_comma).is_ok()
                    })
                })
                .collect();
            if let [c] = numeric.as_slice() {
                notes.push(DataNote::ResponseGuessed {
                    column: excerpt(header[*c].as_bytes()),
                });
                return Ok(*c);
            }
            let cands = if numeric.is_empty() { &free } else { &numeric };
            Err(DataErrorKind::AmbiguousResponse {
                candidates: column_list(cands.iter().map(|&c| &header[c])),
            })
        }
    }
}
