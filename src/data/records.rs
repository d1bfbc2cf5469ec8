//! The tokenizer: CSV records from a byte stream, with the line each starts on.
//!
//! A line with no quote character and no lone carriage return is split at its delimiters
//! in one pass over its bytes; anything else (quoted fields, fields spanning lines, `\r`
//! line ends, a line longer than the buffer) goes to `csv_core`, the parser inside the
//! `csv` crate, which both paths agree with: RFC 4180 quoting, `\n`, `\r\n` or `\r` line
//! ends, blank lines skipped.

use std::io::Read;

/// Byte equality, inline for the short labels of a data file (no call to `memcmp`),
/// eight bytes at a time.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
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
pub(crate) fn same_ends(a: &[usize], b: &[usize]) -> bool {
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
pub(crate) struct Record {
    pub data: Vec<u8>,
    starts: Vec<usize>,
    pub ends: Vec<usize>,
    pub n: usize,
    pub line: u64,
    /// Read by the plain-line path (`data` is the line itself, delimiters included) rather
    /// than by `csv_core` (`data` is the unescaped fields end to end).
    pub plain: bool,
}

impl Record {
    pub fn len(&self) -> usize {
        self.n
    }

    #[inline]
    pub fn field(&self, i: usize) -> &[u8] {
        &self.data[self.starts[i]..self.ends[i]]
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.n).map(|i| self.field(i))
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        (i < self.n).then(|| self.field(i))
    }

    /// A line with nothing on it.
    pub fn is_blank(&self) -> bool {
        self.n == 1 && self.field(0).trim_ascii().is_empty()
    }
}

impl std::ops::Index<usize> for Record {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.field(i)
    }
}

/// CSV records (see the module's documentation).
pub(crate) struct Records<R: Read> {
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
    pub fn new(input: R, delimiter: u8) -> Records<R> {
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
    pub fn read(&mut self, rec: &mut Record) -> std::io::Result<bool> {
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
