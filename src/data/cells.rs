//! Cell sums: the one pass over the observations that everything else works from.
//!
//! Each cell (one combination of levels of every factor) keeps its count, its first value
//! as a shift, and compensated (Neumaier) sums of the shifted values and of their squares.
//! The within-cell sum of squares is then `S2 - S1²/n` of values already close to the
//! cell's mean, so nothing large is subtracted; values read as exact decimals are summed
//! exactly, in integers.

use super::decimal::Decimal;

/// Neumaier's compensated sum: the running sum and the lost low-order part.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }

    fn parts(self) -> (f64, f64) {
        (self.sum, self.compensation)
    }

    fn from_parts(sum: f64, compensation: f64) -> CompensatedSum {
        CompensatedSum { sum, compensation }
    }
}

/// The running statistics of one cell.
///
/// Values read from a file arrive as exact decimals and are accumulated exactly: the
/// differences of their mantissas from the cell's first value, and the squares of those
/// differences, as 128-bit integers (one scale per cell). Only if that cannot hold (more
/// than 18 digits, an overflow) does the cell switch to compensated binary64 sums of the
/// differences from its first value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellAcc {
    pub n: u64,
    /// The first value, relative to the data's offset.
    shift: f64,
    /// Integer mode: first mantissa.
    shift_m: i64,
    /// Integer mode: decimal exponent.
    exp: i32,
    exact: bool,
    /// Integer mode: sums of the mantissa differences and of their squares. Binary64 mode:
    /// the two compensated sums, each kept as the bits of its two binary64 parts (one
    /// 64-byte cell either way).
    is1: i128,
    is2: i128,
}

fn pack(c: CompensatedSum) -> i128 {
    let (a, b) = c.parts();
    (i128::from(a.to_bits()) << 64) | i128::from(b.to_bits())
}

fn unpack(x: i128) -> CompensatedSum {
    CompensatedSum::from_parts(f64::from_bits((x >> 64) as u64), f64::from_bits(x as u64))
}

const POW10_I64: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

impl CellAcc {
    /// Adds a binary64 value (already relative to any offset).
    #[inline]
    pub fn push(&mut self, y: f64) {
        if self.n == 0 {
            self.shift = y;
            self.exact = false;
            self.is1 = pack(CompensatedSum::default());
            self.is2 = pack(CompensatedSum::default());
        }
        self.n += 1;
        self.add_binary64(y - self.shift);
    }

    #[inline]
    fn add_binary64(&mut self, d: f64) {
        let mut s1 = unpack(self.is1);
        let mut s2 = unpack(self.is2);
        s1.add(d);
        s2.add(d * d);
        self.is1 = pack(s1);
        self.is2 = pack(s2);
    }

    /// Adds an exact decimal value; `offset` is the data's offset. Returns `false` in the
    /// (rare) case that its difference from the offset had to be taken in binary64 (more
    /// than 38 significant digits).
    #[inline]
    pub fn push_decimal(&mut self, v: Decimal, offset: Decimal) -> bool {
        if self.n == 0 {
            self.n = 1;
            let (shift, exact) = diff_f64(v, offset);
            self.shift = shift;
            match i64::try_from(v.mantissa) {
                Ok(m) => {
                    self.exact = true;
                    self.exp = v.exponent;
                    self.shift_m = m;
                    self.is1 = 0;
                    self.is2 = 0;
                }
                Err(_) => {
                    self.exact = false;
                    self.is1 = pack(CompensatedSum::default());
                    self.is2 = pack(CompensatedSum::default());
                }
            }
            return exact;
        }
        if self.exact && self.push_exact(v) {
            self.n += 1;
            return true;
        }
        if self.exact {
            self.switch_to_binary64();
        }
        self.n += 1;
        let (x, exact) = diff_f64(v, offset);
        self.add_binary64(x - self.shift);
        exact
    }

    /// Integer mode; `false` when the value does not fit (the state is unchanged).
    #[inline]
    fn push_exact(&mut self, v: Decimal) -> bool {
        let Ok(mut m) = i64::try_from(v.mantissa) else {
            return false;
        };
        if v.exponent != self.exp && !self.align(&mut m, v.exponent) {
            return false;
        }
        // |d| < 2^63, so d² < 2^126 needs no check; the sums do.
        let Some(d) = m.checked_sub(self.shift_m) else {
            return false;
        };
        let sq = i128::from(d) * i128::from(d);
        let (Some(s1), Some(s2)) = (
            self.is1.checked_add(i128::from(d)),
            self.is2.checked_add(sq),
        ) else {
            return false;
        };
        self.is1 = s1;
        self.is2 = s2;
        true
    }

    /// Brings a mantissa and the cell to one decimal exponent (the smaller).
    #[cold]
    fn align(&mut self, m: &mut i64, exponent: i32) -> bool {
        if exponent > self.exp {
            let k = (exponent - self.exp) as usize;
            match POW10_I64.get(k).and_then(|p| m.checked_mul(*p)) {
                Some(x) => {
                    *m = x;
                    true
                }
                None => false,
            }
        } else {
            let k = (self.exp - exponent) as usize;
            let Some(&p) = POW10_I64.get(k) else {
                return false;
            };
            let p = i128::from(p);
            let (Some(sm), Some(s1), Some(s2)) = (
                self.shift_m.checked_mul(p as i64),
                self.is1.checked_mul(p),
                self.is2.checked_mul(p).and_then(|x| x.checked_mul(p)),
            ) else {
                return false;
            };
            self.shift_m = sm;
            self.is1 = s1;
            self.is2 = s2;
            self.exp = exponent;
            true
        }
    }

    fn switch_to_binary64(&mut self) {
        let scale = |m: i128, e: i32| {
            Decimal {
                mantissa: m,
                exponent: e,
            }
            .to_f64()
        };
        let mut s1 = CompensatedSum::default();
        let mut s2 = CompensatedSum::default();
        s1.add(scale(self.is1, self.exp));
        s2.add(scale(self.is2, 2 * self.exp));
        self.is1 = pack(s1);
        self.is2 = pack(s2);
        self.exact = false;
    }

    /// Mean of the cell (`NaN` when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        if self.exact {
            let q = Decimal {
                mantissa: self.is1,
                exponent: self.exp,
            }
            .to_f64();
            return self.shift + q / self.n as f64;
        }
        self.shift + unpack(self.is1).value() / self.n as f64
    }

    /// Sum of squared deviations from the cell mean.
    pub fn within_ss(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        if self.exact {
            let n = self.n as i128;
            // n S2 - S1², exactly when it fits: one rounding.
            if let Some(t) = self.is2.checked_mul(n).and_then(|a| {
                self.is1
                    .checked_mul(self.is1)
                    .and_then(|b| a.checked_sub(b))
            }) {
                let v = Decimal {
                    mantissa: t,
                    exponent: 2 * self.exp,
                }
                .to_f64();
                return non_negative(v / self.n as f64);
            }
            let s1 = Decimal {
                mantissa: self.is1,
                exponent: self.exp,
            }
            .to_f64();
            let s2 = Decimal {
                mantissa: self.is2,
                exponent: 2 * self.exp,
            }
            .to_f64();
            return non_negative(s2 - s1 * s1 / self.n as f64);
        }
        let s1 = unpack(self.is1).value();
        non_negative(unpack(self.is2).value() - s1 * s1 / self.n as f64)
    }
}

/// A sum of squares rounded below zero is zero; an overflowed one (infinite or NaN) stays
/// so, for the ANOVA to refuse (`f64::max` would turn NaN into 0: a silently wrong SS).
#[inline]
fn non_negative(x: f64) -> f64 {
    if x < 0.0 { 0.0 } else { x }
}

/// `v - offset` in binary64: the exact difference rounded once (`true`), or, beyond 38
/// digits, the difference of the rounded values (`false`).
#[inline]
fn diff_f64(v: Decimal, offset: Decimal) -> (f64, bool) {
    match v.checked_sub(offset) {
        Some(d) => (d.to_f64(), true),
        None => (v.to_f64() - offset.to_f64(), false),
    }
}

/// The full table of cells of a design, in mixed-radix order over the factors (the last
/// factor varies fastest); nested factors use their level code within the parent cell.
/// (Left empty, but for `radix`, when a data file fills only a small part of a huge
/// table: such data are unbalanced and only their balance report is of use.)
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    /// Level count of each factor (within each parent cell for a nested factor).
    pub radix: Vec<u32>,
    pub count: Vec<u64>,
    /// Cell means, relative to the data's offset (see [`crate::data::Dataset::offset`]).
    pub mean: Vec<f64>,
    /// Sum of squared deviations from the cell mean, per cell.
    pub within_ss: Vec<f64>,
}

impl Cells {
    pub fn n_cells(&self) -> usize {
        self.count.len()
    }

    /// Total number of observations.
    pub fn n_observations(&self) -> u64 {
        self.count.iter().sum()
    }

    /// The common count of every cell, if all cells hold the same number of observations.
    pub fn replicates(&self) -> Option<u64> {
        let first = *self.count.first()?;
        self.count.iter().all(|&c| c == first).then_some(first)
    }

    /// Mixed-radix index of a combination of level codes.
    pub fn index(&self, codes: &[u32]) -> usize {
        cell_index(&self.radix, codes)
    }

    /// Marginal means for the factors in `keep` (in that order): for each combination of
    /// their levels (mixed radix over `keep`, last fastest), the unweighted mean of the cell
    /// means over the other factors, counting only cells that hold data (NaN where none
    /// does). Relative to the data's offset, like [`Cells::mean`]. On balanced data these
    /// are the means of the observations at those levels (the least-squares means of the
    /// full model); they are what an interaction plot of `keep` shows.
    pub fn marginal_means(&self, keep: &[usize]) -> Vec<f64> {
        let nf = self.radix.len();
        if keep.iter().any(|&f| f >= nf) {
            return Vec::new();
        }
        let kept_radix: Vec<u32> = keep.iter().map(|&f| self.radix[f]).collect();
        let n: usize = kept_radix.iter().map(|&r| r as usize).product();
        // Compensated (Neumaier) sums: the means are relative to the offset already, but a
        // large table still adds many terms.
        let mut sum = vec![0.0f64; n];
        let mut comp = vec![0.0f64; n];
        let mut cells = vec![0u64; n];
        let mut codes = vec![0u32; nf];
        let mut kept = vec![0u32; keep.len()];
        for (i, (&count, &mean)) in self.count.iter().zip(&self.mean).enumerate() {
            if count == 0 {
                continue;
            }
            let mut rest = i;
            for f in (0..nf).rev() {
                let r = self.radix[f].max(1) as usize;
                codes[f] = (rest % r) as u32;
                rest /= r;
            }
            for (k, &f) in keep.iter().enumerate() {
                kept[k] = codes[f];
            }
            let j = cell_index(&kept_radix, &kept);
            let t = sum[j] + mean;
            comp[j] += if sum[j].abs() >= mean.abs() {
                (sum[j] - t) + mean
            } else {
                (mean - t) + sum[j]
            };
            sum[j] = t;
            cells[j] += 1;
        }
        (0..n)
            .map(|j| {
                if cells[j] == 0 {
                    f64::NAN
                } else {
                    (sum[j] + comp[j]) / cells[j] as f64
                }
            })
            .collect()
    }
}

/// Mixed-radix index (last factor fastest).
#[inline]
pub fn cell_index(radix: &[u32], codes: &[u32]) -> usize {
    let mut idx = 0usize;
    for (r, c) in radix.iter().zip(codes) {
        idx = idx * (*r as usize) + *c as usize;
    }
    idx
}

/// Builds [`Cells`] from observations whose level codes are already known (simulated
/// data, tests, an in-memory data frame).
///
/// ```
/// use emslab::data::CellAccumulator;
/// let mut acc = CellAccumulator::new(vec![2]);
/// for (code, y) in [(0, 1.0), (0, 3.0), (1, 5.0), (1, 7.0)] {
///     acc.push(&[code], y);
/// }
/// let cells = acc.finish();
/// assert_eq!(cells.mean, vec![2.0, 6.0]);
/// assert_eq!(cells.within_ss, vec![2.0, 2.0]);
/// ```
#[derive(Debug, Clone)]
pub struct CellAccumulator {
    radix: Vec<u32>,
    acc: Vec<CellAcc>,
}

impl CellAccumulator {
    /// An empty table for the given level counts.
    pub fn new(radix: Vec<u32>) -> CellAccumulator {
        let n: usize = radix.iter().map(|&r| r as usize).product();
        CellAccumulator {
            radix,
            acc: vec![CellAcc::default(); n],
        }
    }

    /// Adds one observation. Codes out of range are a caller's bug and are ignored.
    #[inline]
    pub fn push(&mut self, codes: &[u32], y: f64) {
        if codes.iter().zip(&self.radix).any(|(c, r)| c >= r) {
            debug_assert!(false, "level code out of range");
            return;
        }
        let i = cell_index(&self.radix, codes);
        self.acc[i].push(y);
    }

    pub fn finish(self) -> Cells {
        cells_from_acc(self.radix, &self.acc)
    }
}

/// The dense table from cells met in any order: `index[s]` is the dense index of `acc[s]`.
pub(crate) fn cells_from_slots(radix: Vec<u32>, acc: &[CellAcc], index: &[usize]) -> Cells {
    let n: usize = radix.iter().map(|&r| r as usize).product();
    let mut cells = Cells {
        radix,
        count: vec![0; n],
        mean: vec![f64::NAN; n],
        within_ss: vec![0.0; n],
    };
    for (a, &i) in acc.iter().zip(index) {
        cells.count[i] = a.n;
        cells.mean[i] = a.mean();
        cells.within_ss[i] = a.within_ss();
    }
    cells
}

pub(crate) fn cells_from_acc(radix: Vec<u32>, acc: &[CellAcc]) -> Cells {
    Cells {
        radix,
        count: acc.iter().map(|a| a.n).collect(),
        mean: acc.iter().map(CellAcc::mean).collect(),
        within_ss: acc.iter().map(CellAcc::within_ss).collect(),
    }
}
