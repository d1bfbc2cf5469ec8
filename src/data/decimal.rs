//! Exact decimal numbers, so that a response keeps the digits it was written with.
//!
//! Parsing `1000000000000.4` straight into binary64 keeps about 16 significant digits, of
//! which 13 are the constant leading digits: sums of squares of such data are then lost
//! whatever the algorithm (NIST StRD SmLs07-09). Instead each value is parsed as an exact
//! decimal `mantissa × 10^exponent`, an exact decimal offset (the first response value) is
//! subtracted, and only the exact difference is rounded to binary64, once and correctly.
//!
//! ```
//! use emslab::data::decimal::Decimal;
//! let offset = Decimal::parse(b"1000000000000.4", false).unwrap();
//! let y = Decimal::parse(b"1000000000000.3", false).unwrap();
//! let d = y.checked_sub(offset).unwrap();
//! assert_eq!(d.to_f64(), -0.1);
//! ```

use std::fmt;

/// An exact decimal: `mantissa × 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub mantissa: i128,
    pub exponent: i32,
}

/// Why a field is not a finite decimal number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecimalError {
    /// Nothing but white space.
    Empty,
    /// `NaN`, `inf`, `Infinity`, or a magnitude beyond binary64.
    NonFinite,
    /// Not a number at all.
    NotANumber,
    /// More significant digits than can be held exactly (38).
    TooManyDigits,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecimalError::Empty => "empty value",
            DecimalError::NonFinite => "not a finite number",
            DecimalError::NotANumber => "not a number",
            DecimalError::TooManyDigits => "more than 38 significant digits",
        })
    }
}

/// Most significant digits held exactly (10^38 < 2^127).
const MAX_DIGITS: usize = 38;

/// Exact powers of ten in binary64 (10^22 is the largest).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

const POW10_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The value of `n` (at most 8) ASCII digits packed in the low bytes of `x`, first digit
/// lowest; `None` unless they are all digits.
#[inline]
fn eight_digits(x: u64, n: usize) -> Option<u64> {
    if n == 0 {
        return Some(0);
    }
    // Right-align the digits and pad the front with '0'.
    let shift = 8 * (8 - n) as u32;
    let pad = if n == 8 { 0 } else { 0x3030_3030_3030_3030u64 >> (64 - shift) };
    let x = x.checked_shl(shift).unwrap_or(0) | pad;
    let ok = (x & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030
        && (x.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030;
    if !ok {
        return None;
    }
    let x = x & 0x0F0F_0F0F_0F0F_0F0F;
    let x = (x.wrapping_mul(10) + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    let x = (x.wrapping_mul(100) + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    let x = (x.wrapping_mul(10000) + (x >> 32)) & 0xFFFF_FFFF;
    Some(x)
}

fn pow10_i128(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        exponent: 0,
    };

    /// Parses a decimal number: optional sign, digits with an optional decimal point, an
    /// optional exponent (`1.5e-3`). Surrounding ASCII white space is ignored. With
    /// `decimal_comma`, a comma is accepted as the decimal point (`3,14`), as written in
    /// semicolon-separated files.
    pub fn parse(bytes: &[u8], decimal_comma: bool) -> Result<Decimal, DecimalError> {
        if let Some(d) = Self::parse_fast(bytes, decimal_comma) {
            return Ok(d);
        }
        Self::parse_general(bytes, decimal_comma)
    }

    /// The common case in one pass: optional sign, at most 19 characters of digits and an
    /// optional decimal point, no exponent. `None` for anything else, which
    /// [`Decimal::parse`] then reads in full (or explains).
    #[inline]
    pub fn parse_fast(bytes: &[u8], decimal_comma: bool) -> Option<Decimal> {
        let mut s = bytes;
        // Trim only when there is something to trim (rare).
        if matches!(s.first(), Some(b) if b.is_ascii_whitespace())
            || matches!(s.last(), Some(b) if b.is_ascii_whitespace())
        {
            s = s.trim_ascii();
        }
        let (negative, digits) = match s.first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if digits.len() > 19 {
            return None;
        }
        let mut m: u64 = 0;
        let mut point = usize::MAX;
        for (i, &b) in digits.iter().enumerate() {
            let d = b.wrapping_sub(b'0');
            if d < 10 {
                m = m * 10 + u64::from(d);
            } else if point == usize::MAX && (b == b'.' || (decimal_comma && b == b',')) {
                point = i;
            } else {
                return None;
            }
        }
        let n_digits = digits.len() - usize::from(point != usize::MAX);
        if n_digits == 0 {
            return None;
        }
        // The scale as written (`62.80` is 6280e-2): a column written with fixed decimals
        // then has one exponent throughout, and cells add mantissas without rescaling.
        let exponent = if point == usize::MAX {
            0
        } else {
            -((digits.len() - 1 - point) as i32)
        };
        if m == 0 {
            return Some(Decimal::ZERO);
        }
        let mantissa = m as i128;
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            exponent,
        })
    }

    /// [`Decimal::parse_fast`] of `buf[start..end]`, eight digits at a time (SWAR) when
    /// the field is an unsigned `digits[.digits]` of at most 8 + 8 digits and `buf` has 16
    /// bytes from `start` (bytes past `end` are read but ignored).
    #[inline]
    pub fn parse_fast_in(
        buf: &[u8],
        start: usize,
        end: usize,
        decimal_comma: bool,
    ) -> Option<Decimal> {
        let field = buf.get(start..end)?;
        let len = field.len();
        if len == 0 || len > 16 || start + 16 > buf.len() {
            return Self::parse_fast(field, decimal_comma);
        }
        let b = &buf[start..start + 16];
        let lo = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let hi = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
        let v = u128::from(lo) | (u128::from(hi) << 64);
        let keep = |n: usize| -> u128 {
            if n >= 16 { u128::MAX } else { (1u128 << (8 * n)) - 1 }
        };
        let v = v & keep(len);
        // The decimal point: the first byte equal to '.' (or ',').
        let point_byte: u8 = if decimal_comma && field.contains(&b',') { b',' } else { b'.' };
        let x = v ^ (u128::from(point_byte) * 0x0101_0101_0101_0101_0101_0101_0101_0101);
        let zero = x.wrapping_sub(0x0101_0101_0101_0101_0101_0101_0101_0101)
            & !x
            & 0x8080_8080_8080_8080_8080_8080_8080_8080
            & keep(len);
        let (int_len, frac) = if zero == 0 {
            (len, None)
        } else {
            let p = (zero.trailing_zeros() / 8) as usize;
            (p, Some(len - p - 1))
        };
        let frac_len = frac.unwrap_or(0);
        if int_len > 8 || frac_len > 8 || int_len + frac_len == 0 {
            return Self::parse_fast(field, decimal_comma);
        }
        let int_part = (v & keep(int_len)) as u64;
        let frac_part = if frac.is_some() {
            ((v >> (8 * (int_len + 1))) & keep(frac_len)) as u64
        } else {
            0
        };
        let (Some(i), Some(f)) = (eight_digits(int_part, int_len), eight_digits(frac_part, frac_len))
        else {
            return Self::parse_fast(field, decimal_comma);
        };
        let m = i * POW10_U64[frac_len] + f;
        if m == 0 {
            return Some(Decimal::ZERO);
        }
        Some(Decimal {
            mantissa: i128::from(m),
            exponent: -(frac_len as i32),
        })
    }

    #[cold]
    #[inline(never)]
    fn parse_general(bytes: &[u8], decimal_comma: bool) -> Result<Decimal, DecimalError> {
        let s = bytes.trim_ascii();
        if s.is_empty() {
            return Err(DecimalError::Empty);
        }
        let mut i = 0;
        let negative = match s[0] {
            b'-' => {
                i = 1;
                true
            }
            b'+' => {
                i = 1;
                false
            }
            _ => false,
        };
        let rest = &s[i..];
        if is_non_finite_word(rest) {
            return Err(DecimalError::NonFinite);
        }
        // Integer part.
        let int_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = &s[int_start..i];
        // Fraction.
        let mut frac_digits: &[u8] = &[];
        if i < s.len() && (s[i] == b'.' || (decimal_comma && s[i] == b',')) {
            i += 1;
            let fs = i;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = &s[fs..i];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(DecimalError::NotANumber);
        }
        // Exponent.
        let mut exp: i64 = 0;
        if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
            i += 1;
            let mut eneg = false;
            if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
                eneg = s[i] == b'-';
                i += 1;
            }
            let es = i;
            while i < s.len() && s[i].is_ascii_digit() {
                // Saturate: anything this large is out of range anyway.
                exp = (exp * 10 + i64::from(s[i] - b'0')).min(1_000_000);
                i += 1;
            }
            if i == es {
                return Err(DecimalError::NotANumber);
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != s.len() {
            return Err(DecimalError::NotANumber);
        }
        // Significant digits: drop leading zeros of the whole digit string and trailing
        // zeros of the fraction.
        let frac_trimmed = {
            let mut end = frac_digits.len();
            while end > 0 && frac_digits[end - 1] == b'0' {
                end -= 1;
            }
            &frac_digits[..end]
        };
        let int_trimmed = {
            let mut start = 0;
            while start < int_digits.len() && int_digits[start] == b'0' {
                start += 1;
            }
            &int_digits[start..]
        };
        let mut exponent = exp - frac_trimmed.len() as i64;
        let (lead, tail): (&[u8], &[u8]) = if int_trimmed.is_empty() {
            let mut start = 0;
            while start < frac_trimmed.len() && frac_trimmed[start] == b'0' {
                start += 1;
            }
            (&[], &frac_trimmed[start..])
        } else {
            (int_trimmed, frac_trimmed)
        };
        if lead.len() + tail.len() > MAX_DIGITS {
            // Trailing zeros of a long integer part can still be exact.
            let mut digits: Vec<u8> = lead.iter().chain(tail).copied().collect();
            while digits.len() > MAX_DIGITS && digits.last() == Some(&b'0') && tail.is_empty() {
                digits.pop();
                exponent += 1;
            }
            if digits.len() > MAX_DIGITS {
                return Err(DecimalError::TooManyDigits);
            }
            return finish(accumulate(&digits, &[]), exponent, negative);
        }
        finish(accumulate(lead, tail), exponent, negative)
    }

    /// `self - other`, exactly, or `None` when it does not fit in 38 digits.
    #[inline]
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        if self.exponent == other.exponent {
            return Some(Decimal {
                mantissa: self.mantissa.checked_sub(other.mantissa)?,
                exponent: self.exponent,
            });
        }
        if other.mantissa == 0 {
            return Some(self);
        }
        if self.mantissa == 0 {
            return Some(Decimal {
                mantissa: other.mantissa.checked_neg()?,
                exponent: other.exponent,
            });
        }
        let e = self.exponent.min(other.exponent);
        let a = self
            .mantissa
            .checked_mul(pow10_i128(u32::try_from(self.exponent - e).ok()?)?)?;
        let b = other
            .mantissa
            .checked_mul(pow10_i128(u32::try_from(other.exponent - e).ok()?)?)?;
        Some(Decimal {
            mantissa: a.checked_sub(b)?,
            exponent: e,
        })
    }

    /// The nearest binary64 (correctly rounded, ties to even).
    #[inline]
    pub fn to_f64(self) -> f64 {
        let m = self.mantissa;
        if m == 0 {
            return 0.0;
        }
        const TWO53: i128 = 1 << 53;
        if (-TWO53..=TWO53).contains(&m) && (-22..=22).contains(&self.exponent) {
            // Both operands exact: one correctly rounded operation.
            let mf = m as i64 as f64;
            return if self.exponent >= 0 {
                mf * POW10[self.exponent as usize]
            } else {
                mf / POW10[(-self.exponent) as usize]
            };
        }
        // Rust's float parser rounds correctly.
        format!("{m}e{}", self.exponent)
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    }
}

fn is_non_finite_word(s: &[u8]) -> bool {
    [
        &b"nan"[..],
        b"inf",
        b"infinity",
        b"na",
        b"n/a",
        b"#num!",
        b"#div/0!",
    ]
    .iter()
    .any(|w| s.eq_ignore_ascii_case(w))
}

fn accumulate(lead: &[u8], tail: &[u8]) -> i128 {
    let mut m: i128 = 0;
    for &d in lead.iter().chain(tail) {
        // At most 38 digits: cannot overflow.
        m = m * 10 + i128::from(d - b'0');
    }
    m
}

fn finish(mantissa: i128, exponent: i64, negative: bool) -> Result<Decimal, DecimalError> {
    if mantissa == 0 {
        return Ok(Decimal::ZERO);
    }
    // Beyond binary64's range either way (the mantissa has at most 38 digits).
    if !(-400..=400).contains(&exponent) {
        return if exponent > 0 {
            Err(DecimalError::NonFinite)
        } else {
            // Underflows to zero: keep it exact anyway if it fits.
            Ok(Decimal {
                mantissa: if negative { -mantissa } else { mantissa },
                exponent: exponent.max(i64::from(i32::MIN / 2)) as i32,
            })
        };
    }
    let d = Decimal {
        mantissa: if negative { -mantissa } else { mantissa },
        exponent: exponent as i32,
    };
    if !d.to_f64().is_finite() {
        return Err(DecimalError::NonFinite);
    }
    Ok(d)
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}e{}", self.mantissa, self.exponent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes(), false).unwrap()
    }

    #[test]
    fn parses_forms() {
        // The scale as written.
        assert_eq!(
            p("12.50"),
            Decimal {
                mantissa: 1250,
                exponent: -2
            }
        );
        assert_eq!(
            p("-0.00300"),
            Decimal {
                mantissa: -300,
                exponent: -5
            }
        );
        assert_eq!(
            p(" 1e3 "),
            Decimal {
                mantissa: 1,
                exponent: 3
            }
        );
        assert_eq!(
            p("+.5"),
            Decimal {
                mantissa: 5,
                exponent: -1
            }
        );
        assert_eq!(
            p("7."),
            Decimal {
                mantissa: 7,
                exponent: 0
            }
        );
        assert_eq!(p("0.000"), Decimal::ZERO);
        assert_eq!(p("1500").to_f64(), 1500.0);
        assert_eq!(
            Decimal::parse(b"3,25", true).unwrap().to_f64(),
            3.25,
            "decimal comma"
        );
    }

    #[test]
    fn rejects() {
        for s in ["", "  ", "abc", "1.2.3", "1e", "--1", "1,5", ".", "e5", "1 2"] {
            assert!(Decimal::parse(s.as_bytes(), false).is_err(), "{s:?}");
        }
        for s in ["NaN", "inf", "-Infinity", "1e999"] {
            assert_eq!(
                Decimal::parse(s.as_bytes(), false),
                Err(DecimalError::NonFinite),
                "{s}"
            );
        }
        assert_eq!(
            Decimal::parse(b"1.234567890123456789012345678901234567891", false),
            Err(DecimalError::TooManyDigits)
        );
    }

    #[test]
    fn eight_at_a_time_agrees_with_byte_by_byte() {
        let mut cases: Vec<String> = vec![
            "0", "7", "12345678", "123456789", "1.5", ".5", "5.", "249.2952", "0.00000001",
            "12345678.87654321", "99999999.99999999", "1.2.3", "1a", "a1", "-1.5", "+2",
            "1,5", "00000000000000001", "3.14159265", "1e5", "", " 1", "1 ", "10.0", "..",
            "123456789.1", "1.123456789",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let mut x: u64 = 88172645463325252;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 100_000_000;
            let decimals = (x >> 40) % 9;
            let s = if decimals == 0 {
                format!("{int}")
            } else {
                format!("{int}.{:0width$}", (x >> 20) % 10u64.pow(decimals as u32), width = decimals as usize)
            };
            cases.push(s);
        }
        for c in &cases {
            for comma in [false, true] {
                let mut buf = c.as_bytes().to_vec();
                buf.extend_from_slice(b"9,9.9x\n123456789012345678");
                let a = Decimal::parse_fast_in(&buf, 0, c.len(), comma);
                let b = Decimal::parse_fast(c.as_bytes(), comma);
                assert_eq!(a.map(|d| d.to_f64()), b.map(|d| d.to_f64()), "{c:?}");
                if let (Some(a), Some(b)) = (a, b) {
                    assert_eq!(a.checked_sub(b).map(|d| d.mantissa), Some(0), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn exact_difference_is_correctly_rounded() {
        let a = p("1000000000000.4");
        let b = p("1000000000000.3");
        assert_eq!(b.checked_sub(a).unwrap().to_f64(), -0.1);
        let a = p("107.8681568");
        let b = p("107.8681465");
        assert_eq!(b.checked_sub(a).unwrap().to_f64(), -1.03e-5);
        // Slow path (exponent beyond 22) agrees with the float parser.
        assert_eq!(p("1.5e-30").to_f64(), 1.5e-30);
        assert_eq!(p("123456789012345678901234567").to_f64(), 1.2345678901234568e26);
    }
}
