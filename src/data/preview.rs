//! The start of every CSV read: byte-order mark, UTF-16 refused, the delimiter sniffed from
//! the first line; then records. [`preview`] reads the header and the first rows as text
//! (the app's Data view, the summary-table reader); [`super::read_csv`] reads the same
//! records into cells.

use std::io::{Chain, Cursor, Read};
use std::path::Path;

use super::error::{DataError, DataErrorKind};
use super::records::{Record, Records};

/// Bytes looked at for the byte-order mark and the delimiter.
const SNIFF_BYTES: usize = 1 << 16;

/// The delimiter of the first line: the most frequent of `,`, `;`, tab outside quotes
/// (comma on ties and when there is none).
pub fn sniff_delimiter(text: &[u8]) -> u8 {
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

/// A CSV stream past its byte-order mark, with its delimiter.
pub(crate) struct Opened<R: Read> {
    pub records: Records<Chain<Cursor<Vec<u8>>, R>>,
    pub delimiter: u8,
    pub byte_order_mark: bool,
}

/// Opens CSV text: refuses UTF-16 and an empty file, skips a UTF-8 byte-order mark, and
/// sniffs the delimiter from the first line.
pub(crate) fn open<R: Read>(mut reader: R, source: &str) -> Result<Opened<R>, DataError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| DataError::io(source, &e))?;
    for (mark, name) in [([0xFF, 0xFE], "FF FE"), ([0xFE, 0xFF], "FE FF")] {
        if head.starts_with(&mark) {
            return Err(DataError::new(source, DataErrorKind::Utf16(name)).at_line(1));
        }
    }
    let byte_order_mark = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    if byte_order_mark {
        head.drain(..3);
    }
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::new(source, DataErrorKind::Empty));
    }
    let delimiter = sniff_delimiter(&head);
    Ok(Opened {
        records: Records::new(Cursor::new(head).chain(reader), delimiter),
        delimiter,
        byte_order_mark,
    })
}

/// One row as written, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    /// The 1-based line it starts on.
    pub line: u64,
    pub fields: Vec<String>,
}

/// The header and the first rows of a CSV, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// `,`, `;` or tab.
    pub delimiter: u8,
    pub byte_order_mark: bool,
    /// The header's fields, trimmed.
    pub header: Vec<String>,
    /// The data rows read (blank lines skipped), fields as written.
    pub rows: Vec<PreviewRow>,
    /// Whether `rows` holds every row of the file.
    pub complete: bool,
}

impl Preview {
    /// A decimal comma is accepted in fields when the delimiter is not a comma.
    pub fn decimal_comma(&self) -> bool {
        self.delimiter != b','
    }
}

/// Reads the header and at most `max_rows` data rows of a CSV file.
pub fn preview(path: &Path, max_rows: usize) -> Result<Preview, DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::io(&source, &e))?;
    preview_from(file, &source, max_rows)
}

/// Reads the header and at most `max_rows` data rows of CSV text; `source` names it in
/// messages. Reads no further than those rows.
pub fn preview_from<R: Read>(
    reader: R,
    source: &str,
    max_rows: usize,
) -> Result<Preview, DataError> {
    let Opened {
        mut records,
        delimiter,
        byte_order_mark,
    } = open(reader, source)?;
    let io_err = |e: std::io::Error| DataError::io(source, &e);
    let text = |field: &[u8]| String::from_utf8_lossy(field).into_owned();
    let mut rec = Record::default();
    if !records.read(&mut rec).map_err(io_err)? {
        return Err(DataError::new(source, DataErrorKind::Empty));
    }
    let header = rec.iter().map(|f| text(f.trim_ascii())).collect();
    let mut rows = Vec::new();
    let complete = loop {
        if !records.read(&mut rec).map_err(io_err)? {
            break true;
        }
        if rec.is_blank() {
            continue;
        }
        if rows.len() == max_rows {
            // A row beyond the last one kept: the preview is not the whole file.
            break false;
        }
        rows.push(PreviewRow {
            line: rec.line,
            fields: rec.iter().map(text).collect(),
        });
    };
    Ok(Preview {
        delimiter,
        byte_order_mark,
        header,
        rows,
        complete,
    })
}
