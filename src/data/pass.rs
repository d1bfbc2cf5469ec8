//! The streaming pass: each row's labels to a cell, its response parsed as an exact
//! decimal and summed in the cell; rows with a missing value dropped and logged. After the
//! last row, [`Pass::finish`] codes the factors ([`super::coding`]), builds the dense cell
//! table and checks the balance ([`super::balance`]).
//!
//! The common row (same cell as the row before, a plain decimal response) stays in
//! [`Pass::row`]; everything else is out of line.

use super::balance::{self, CellIndex};
use super::cells::{Cells, cell_index, cells_from_slots};
use super::coding::{self, Found};
use super::dataset::{Dataset, Rows};
use super::decimal::Decimal;
use super::error::{DataError, DataErrorKind, excerpt};
use super::missing::{DropLog, is_missing_label, is_missing_response};
use super::notes::DataNote;
use super::records::{Record, same_bytes, same_ends};
use super::slots::{LabelMap, SlotMap};
use super::{MAX_CELLS, MAX_RESPONSE, MIN_RESPONSE};
use crate::design::Design;

/// Where the pass reads its columns.
pub(crate) struct Layout<'a> {
    pub source: &'a str,
    pub header: &'a [String],
    /// The column of each design factor.
    pub factor_col: Vec<usize>,
    pub response_col: usize,
    pub decimal_comma: bool,
}

/// The streaming pass.
pub(crate) struct Pass<'a> {
    layout: Layout<'a>,
    labels: Vec<LabelMap>,
    slots: SlotMap,
    ids: Vec<u32>,
    offset: Option<Decimal>,
    offset_f64: f64,
    inexact: u64,
    n_rows: u64,
    dropped: DropLog,
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
    /// `expected_cells`: room for the declared cells; `caps`: room for each factor's
    /// labels.
    pub fn new(
        layout: Layout<'a>,
        keep_rows: bool,
        expected_cells: usize,
        caps: Vec<u32>,
    ) -> Pass<'a> {
        let nf = layout.factor_col.len();
        let mut sorted = layout.factor_col.clone();
        sorted.sort_unstable();
        let prefix_fields = (sorted.iter().enumerate().all(|(i, &c)| i == c)).then_some(nf);
        Pass {
            layout,
            labels: (0..nf).map(|_| LabelMap::new()).collect(),
            slots: SlotMap::new(nf, expected_cells, caps),
            ids: vec![0; nf],
            offset: None,
            offset_f64: 0.0,
            inexact: 0,
            n_rows: 0,
            dropped: DropLog::default(),
            rows: keep_rows.then(Rows::default),
            prefix_fields,
            last_prefix: Vec::new(),
            last_ends: vec![0; nf],
            last_plain: false,
            last_slot: None,
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
        DataError::new(self.layout.source, kind)
            .at_line(line)
            .in_column(col, &self.layout.header[col])
    }

    /// One data row: the hot loop.
    #[inline]
    pub fn row(&mut self, rec: &Record) -> Result<(), DataError> {
        if rec.n != self.layout.header.len() {
            return self.odd_row(rec);
        }
        // The previous row's cell, if this row is in it (no look-up, nothing recorded).
        let same_cell = self.same_cell_as_last(rec);
        let raw = rec.field(self.layout.response_col);
        // The fast path's values have at most 19 digits: never beyond MAX_RESPONSE, and
        // never below MIN_RESPONSE unless zero.
        let value = match Decimal::parse_fast(raw, self.layout.decimal_comma) {
            Some(v) => v,
            None => match self.parse_slow(raw, rec.line)? {
                Some(v) => v,
                None => {
                    self.drop_row(rec);
                    return Ok(());
                }
            },
        };
        // Labels are looked up (and recorded) only for a row whose response is there.
        let slot = match same_cell {
            Some(s) => s,
            None => match self.find_cell(rec) {
                Some(s) => s,
                None => {
                    self.drop_row(rec);
                    return Ok(());
                }
            },
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
        Err(DataError::new(
            self.layout.source,
            DataErrorKind::Ragged {
                expected: self.layout.header.len(),
                found: rec.len(),
            },
        )
        .at_line(rec.line))
    }

    /// A row with a missing value: logged with the columns that are missing.
    #[cold]
    #[inline(never)]
    fn drop_row(&mut self, rec: &Record) {
        let l = &self.layout;
        let labels = l
            .factor_col
            .iter()
            .copied()
            .filter(|&c| is_missing_label(rec.field(c).trim_ascii()));
        let response = Some(l.response_col).filter(|&c| is_missing_response(rec.field(c)));
        self.dropped
            .drop_row(rec.line, labels.chain(response).collect::<Vec<_>>());
    }

    /// Label and cell look-ups for a row that is not in the previous row's cell; `None`
    /// when a label is missing (no label is recorded then).
    #[inline(never)]
    fn find_cell(&mut self, rec: &Record) -> Option<u32> {
        let line = rec.line;
        let cols = &self.layout.factor_col;
        if cols
            .iter()
            .any(|&c| is_missing_label(rec.field(c).trim_ascii()))
        {
            return None;
        }
        for (f, &c) in cols.iter().enumerate() {
            self.ids[f] = self.labels[f].id(rec.field(c).trim_ascii(), line);
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
        Some(s)
    }

    /// A response the fast path did not read: `None` when missing; an error when it is
    /// not a number, beyond [`MAX_RESPONSE`], or not zero but below [`MIN_RESPONSE`].
    #[cold]
    #[inline(never)]
    fn parse_slow(&self, raw: &[u8], line: u64) -> Result<Option<Decimal>, DataError> {
        if is_missing_response(raw) {
            return Ok(None);
        }
        let col = self.layout.response_col;
        let value = Decimal::parse(raw, self.layout.decimal_comma).map_err(|reason| {
            let text = excerpt(raw);
            self.at(line, col, DataErrorKind::BadResponse { text, reason })
        })?;
        let magnitude = value.to_f64().abs();
        if magnitude > MAX_RESPONSE {
            let text = excerpt(raw);
            let limit = MAX_RESPONSE;
            return Err(self.at(line, col, DataErrorKind::ResponseTooLarge { text, limit }));
        }
        if value.mantissa != 0 && magnitude < MIN_RESPONSE {
            let text = excerpt(raw);
            let limit = MIN_RESPONSE;
            return Err(self.at(line, col, DataErrorKind::ResponseTooSmall { text, limit }));
        }
        Ok(Some(value))
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

    /// After the last row: the factors coded, the dense cell table, the balance.
    pub fn finish(
        self,
        design: &Design,
        delimiter: u8,
        mut notes: Vec<DataNote>,
    ) -> Result<Dataset, DataError> {
        let l = &self.layout;
        if self.n_rows == 0 {
            let dropped = self.dropped.count;
            return Err(DataError::new(
                l.source,
                DataErrorKind::AllRowsMissing { dropped },
            ));
        }
        let found = Found {
            source: l.source,
            header: l.header,
            factor_col: &l.factor_col,
            labels: &self.labels,
            slots: &self.slots,
        };
        let coded = coding::code_factors(&found, design)?;
        let nf = l.factor_col.len();
        let nslots = self.slots.acc.len();
        let radix = &coded.radix;
        let n_cells = radix
            .iter()
            .try_fold(1usize, |acc, &r| acc.checked_mul(r as usize))
            .filter(|&n| n <= MAX_CELLS);
        let Some(n_cells) = n_cells else {
            let prod: f64 = radix.iter().map(|&r| f64::from(r)).product();
            let cells = format!("{prod:.3e}");
            let kind = DataErrorKind::TooManyCells {
                cells,
                max: MAX_CELLS,
            };
            return Err(DataError::new(l.source, kind));
        };
        let index: Vec<usize> = (0..nslots)
            .map(|s| cell_index(radix, &coded.codes[s * nf..(s + 1) * nf]))
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
        let at = CellIndex {
            found: &found,
            design,
            coded: &coded,
            index: &index,
            n_cells,
        };
        let dropped = self.dropped.note(l.header);
        let balance = balance::balance(&at, (!sparse).then_some(&cells), dropped.clone());
        notes.extend(coded.notes.iter().cloned());
        if self.inexact > 0 {
            notes.push(DataNote::InexactValues {
                count: self.inexact,
            });
        }
        if let Some(d) = dropped {
            notes.push(DataNote::DroppedRows(d));
        }
        Ok(Dataset {
            source: l.source.to_string(),
            delimiter,
            notes,
            response: l.header[l.response_col].clone(),
            response_column: l.response_col,
            factors: coded.factors,
            n_rows: self.n_rows,
            dropped_rows: self.dropped.count,
            offset: self.offset.unwrap_or(Decimal::ZERO),
            inexact_values: self.inexact,
            cells,
            balance,
            slot_codes: coded.codes,
            rows: self.rows,
        })
    }
}
