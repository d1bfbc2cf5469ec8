//! Missing values: which fields are missing, and the log of the rows dropped for them.
//!
//! As R's model functions (`na.omit`) and SAS's procedures do, a row with a missing
//! response or a missing factor level is left out of the analysis, and the report says
//! how many rows and which lines. Missing is:
//!
//! - a response that is empty, `NA` (R's `na.strings`), `NaN` (R reads it as NaN and its
//!   model functions drop it like NA) or `.` (SAS's missing numeric value); `NA` and `NaN`
//!   in any case, as no number is spelt so. Infinite values and other text stay errors.
//! - a factor label that is empty (SAS's missing CLASS value) or exactly `NA` (R's); `na`
//!   or `Na` (sodium) stay labels.
//!
//! The streaming pass and the rows kept for REML drop the same rows: both come from one
//! pass over the file.

use super::notes::DroppedRows;

/// Response fields read as missing, besides an empty one (ASCII case ignored).
pub const MISSING_VALUES: [&str; 3] = ["NA", "NaN", "."];

/// Lines of dropped rows kept for the note.
const FIRST_LINES: usize = 5;

/// Whether a response field is missing.
pub(crate) fn is_missing_response(field: &[u8]) -> bool {
    let f = field.trim_ascii();
    f.is_empty()
        || MISSING_VALUES
            .iter()
            .any(|m| f.eq_ignore_ascii_case(m.as_bytes()))
}

/// Whether a factor label (already trimmed) is missing.
#[inline]
pub(crate) fn is_missing_label(field: &[u8]) -> bool {
    field.is_empty() || field == b"NA"
}

/// The rows dropped so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct DropLog {
    pub count: u64,
    first_lines: Vec<u64>,
    /// Missing values per column (0-based), grown as needed.
    by_column: Vec<u64>,
}

impl DropLog {
    /// Records a dropped row on `line` whose columns `missing` hold a missing value.
    pub fn drop_row(&mut self, line: u64, missing: impl IntoIterator<Item = usize>) {
        self.count += 1;
        if self.first_lines.len() < FIRST_LINES {
            self.first_lines.push(line);
        }
        for c in missing {
            if self.by_column.len() <= c {
                self.by_column.resize(c + 1, 0);
            }
            self.by_column[c] += 1;
        }
    }

    /// The note, if any row was dropped; `header` names the columns.
    pub fn note(&self, header: &[String]) -> Option<DroppedRows> {
        (self.count > 0).then(|| DroppedRows {
            count: self.count,
            first_lines: self.first_lines.clone(),
            by_column: self
                .by_column
                .iter()
                .enumerate()
                .filter(|&(_, &n)| n > 0)
                .map(|(c, &n)| (super::error::excerpt(header[c].as_bytes()), n))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_responses_and_labels() {
        for m in ["", "  ", "NA", "na", "NaN", "nan", "NAN", ".", " NA "] {
            assert!(is_missing_response(m.as_bytes()), "{m:?}");
        }
        for v in ["0", "inf", "-NaN", "N/A", "..", "1.", "x"] {
            assert!(!is_missing_response(v.as_bytes()), "{v:?}");
        }
        assert!(is_missing_label(b"") && is_missing_label(b"NA"));
        assert!(!is_missing_label(b"na") && !is_missing_label(b"Na"));
    }
}
