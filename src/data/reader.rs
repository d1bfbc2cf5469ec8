//! The CSV reader: opens the file ([`super::preview`]'s start), reads the header, matches
//! the columns ([`super::columns`]), and streams the rows through the pass
//! ([`super::pass`]).

use std::io::Read;
use std::path::Path;

use super::columns::{factor_columns, response_column};
use super::dataset::{Dataset, ReadOptions};
use super::decimal::Decimal;
use super::error::{DataError, DataErrorKind};
use super::notes::DataNote;
use super::pass::{Layout, Pass};
use super::preview::{Opened, open};
use super::records::Record;
use crate::design::Design;

/// Reads a CSV file for a design.
pub fn read_csv(path: &Path, design: &Design, opts: &ReadOptions) -> Result<Dataset, DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::io(&source, &e))?;
    read_csv_from(file, &source, design, opts)
}

/// Reads CSV text from any reader; `source` names it in messages.
pub fn read_csv_from<R: Read>(
    reader: R,
    source: &str,
    design: &Design,
    opts: &ReadOptions,
) -> Result<Dataset, DataError> {
    let io_err = |e: std::io::Error| DataError::io(source, &e);
    let Opened {
        mut records,
        delimiter,
        byte_order_mark,
    } = open(reader, source)?;
    let mut notes = Vec::new();
    if byte_order_mark {
        notes.push(DataNote::ByteOrderMark);
    }
    if delimiter != b',' {
        notes.push(DataNote::Delimiter(delimiter));
    }
    let decimal_comma = delimiter != b',';

    let mut rec = Record::default();
    if !records.read(&mut rec).map_err(io_err)? {
        return Err(DataError::new(source, DataErrorKind::Empty));
    }
    let header_line = rec.line;
    let header = read_header(&rec, source)?;
    let at_header = |kind| DataError::new(source, kind).at_line(header_line);
    let header_numeric = header
        .iter()
        .any(|h| Decimal::parse(h.as_bytes(), decimal_comma).is_ok());
    let factor_col = factor_columns(design, &header, opts, header_numeric).map_err(at_header)?;

    // The first data row: needed to pick the response among several columns.
    let mut first = Record::default();
    loop {
        if !records.read(&mut first).map_err(io_err)? {
            return Err(at_header(DataErrorKind::NoRows));
        }
        // Blank lines are not rows.
        if !first.is_blank() {
            break;
        }
    }
    let wanted = opts.response.as_deref().or(design.response.as_deref());
    let response_col = response_column(
        design,
        wanted,
        &header,
        &factor_col,
        &first,
        decimal_comma,
        &mut notes,
    )
    .map_err(at_header)?;

    let layout = Layout {
        source,
        header: &header,
        factor_col,
        response_col,
        decimal_comma,
    };
    let mut pass = Pass::new(
        layout,
        opts.keep_rows,
        expected_cells(design),
        label_room(design),
    );
    pass.row(&first)?;
    while records.read(&mut rec).map_err(io_err)? {
        pass.row(&rec)?;
    }
    pass.finish(design, delimiter, notes)
}

/// The header's fields, trimmed; they must be UTF-8.
fn read_header(rec: &Record, source: &str) -> Result<Vec<String>, DataError> {
    rec.iter()
        .map(|field| {
            std::str::from_utf8(field)
                .map(|s| s.trim().to_string())
                .map_err(|_| DataError::new(source, DataErrorKind::HeaderNotUtf8).at_line(rec.line))
        })
        .collect()
}

/// Room for the declared cells (capped: a wrong declaration costs nothing).
fn expected_cells(design: &Design) -> usize {
    design
        .factors
        .iter()
        .try_fold(1usize, |acc, f| acc.checked_mul(f.levels? as usize))
        .unwrap_or(0)
        .min(1 << 20)
}

/// Room for each factor's labels: its declared levels (restarting labels of a nested
/// factor need no more), or a guess that grows.
fn label_room(design: &Design) -> Vec<u32> {
    design
        .factors
        .iter()
        .map(|f| f.levels.unwrap_or(8).max(2))
        .collect()
}
