//! The words of the CSV reader's findings ([`DataNote`]): one sentence each.

use crate::data::{Coding, DataNote, DroppedRows, NestedCoding};

/// The sentence of one data note.
pub fn render(note: &DataNote) -> String {
    match note {
        DataNote::ByteOrderMark => "UTF-8 byte-order mark skipped.".to_string(),
        DataNote::Delimiter(b'\t') => "Tab-separated; a decimal comma is accepted.".to_string(),
        DataNote::Delimiter(b';') => {
            "Semicolon-separated; a decimal comma is accepted.".to_string()
        }
        DataNote::Delimiter(d) => format!(
            "Separated by `{}`; a decimal comma is accepted.",
            char::from(*d).escape_default()
        ),
        DataNote::ResponseGuessed { column } => {
            format!("Response: `{column}`, the only numeric column that is not a factor.")
        }
        DataNote::NestedCoding(n) => nested_coding(n),
        DataNote::InexactValues { count } => format!(
            "{count} response values differ from the first by more than 38 significant digits and were subtracted in binary64."
        ),
        DataNote::DroppedRows(d) => dropped_rows(d),
    }
}

fn nested_coding(n: &NestedCoding) -> String {
    let parents = n.parents.join(" x ");
    let factor = &n.factor;
    match n.coding {
        Coding::Unique => format!(
            "`{factor}` (nested in {parents}): globally unique labels ({} in all, {} within each {parents}).",
            n.distinct_labels, n.levels
        ),
        Coding::Restarting => format!(
            "`{factor}` (nested in {parents}): labels restart within each {parents} ({} are level 1, 2, ... of a different {factor} in each).",
            n.first_labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Coding::Mixed => format!(
            "`{factor}` (nested in {parents}): some labels repeat across cells of {parents} and others do not; each label is taken as a level within its own {parents}."
        ),
        Coding::Crossed => format!("`{factor}`: not nested."),
    }
}

fn dropped_rows(d: &DroppedRows) -> String {
    let s = if d.count == 1 { "" } else { "s" };
    let mut lines = d
        .first_lines
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if d.count > d.first_lines.len() as u64 {
        lines.push_str(&format!(", ... ({} in all)", d.count));
    }
    let columns = d
        .by_column
        .iter()
        .map(|(c, n)| format!("`{c}` {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} row{s} dropped for a missing value (empty or `NA`; in the response also `NaN` or `.`): line{s} {lines}; missing values by column: {columns}.",
        d.count
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_rows_give_count_lines_and_columns() {
        let d = DroppedRows {
            count: 7,
            first_lines: vec![3, 5, 8, 13, 21],
            by_column: vec![("strength".into(), 6), ("batch".into(), 1)],
        };
        assert_eq!(
            render(&DataNote::DroppedRows(d)),
            "7 rows dropped for a missing value (empty or `NA`; in the response also `NaN` or `.`): lines 3, 5, 8, 13, 21, ... (7 in all); missing values by column: `strength` 6, `batch` 1."
        );
        let one = DroppedRows {
            count: 1,
            first_lines: vec![4],
            by_column: vec![("y".into(), 1)],
        };
        assert_eq!(
            render(&DataNote::DroppedRows(one)),
            "1 row dropped for a missing value (empty or `NA`; in the response also `NaN` or `.`): line 4; missing values by column: `y` 1."
        );
    }
}
