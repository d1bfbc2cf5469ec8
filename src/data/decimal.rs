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
#[allow(clippy::unwrap_used)]
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
        for s in [
            "", "  ", "abc", "1.2.3", "1e", "--1", "1,5", ".", "e5", "1 2",
        ] {
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
    fn fast_path_agrees_with_the_general_parser() {
        let mut cases: Vec<String> = [
            "0",
            "7",
            "-7",
            "+7",
            "12345678",
            "1.5",
            ".5",
            "5.",
            "-0.00000001",
            "1.2.3",
            "1a",
            "1,5",
            "00000000000000001",
            "9999999999999999999",
            "1e5",
            "",
            " 1",
            "1 ",
            "10.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut x: u64 = 88172645463325252;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 1_000_000_000;
            let d = (x >> 40) % 10;
            let sign = if x >> 63 == 1 { "-" } else { "" };
            cases.push(if d == 0 {
                format!("{sign}{int}")
            } else {
                let frac = (x >> 20) % 10u64.pow(d as u32);
                format!("{sign}{int}.{frac:0w$}", w = d as usize)
            });
        }
        for c in &cases {
            for comma in [false, true] {
                let fast = Decimal::parse_fast(c.as_bytes(), comma);
                let general = Decimal::parse_general(c.as_bytes(), comma).ok();
                if let Some(f) = fast {
                    let g = general.unwrap_or_else(|| panic!("{c:?}"));
                    assert_eq!(f.checked_sub(g).map(|d| d.mantissa), Some(0), "{c:?}");
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
        assert_eq!(
            p("123456789012345678901234567").to_f64(),
            1.2345678901234568e26
        );
    }
}
