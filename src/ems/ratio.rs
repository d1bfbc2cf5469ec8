//! Exact rational numbers for weights and coefficients.

use std::cmp::Ordering;
use std::fmt;

use serde::{Serialize, Serializer};

/// An exact rational `num / den` (`den > 0`, lowest terms). Arithmetic is checked: `None`
/// when a result does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: i64,
    den: i64,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `num / den` in lowest terms; `None` when `den` is 0 or the result does not fit.
    pub fn new(num: i128, den: i128) -> Option<Ratio> {
        if den == 0 {
            return None;
        }
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1) as i128;
        let (mut n, mut d) = (num / g, den / g);
        if d < 0 {
            n = n.checked_neg()?;
            d = d.checked_neg()?;
        }
        Some(Ratio {
            num: i64::try_from(n).ok()?,
            den: i64::try_from(d).ok()?,
        })
    }

    pub const fn integer(n: i64) -> Ratio {
        Ratio { num: n, den: 1 }
    }

    pub fn numer(self) -> i64 {
        self.num
    }

    pub fn denom(self) -> i64 {
        self.den
    }

    pub fn is_integer(self) -> bool {
        self.den == 1
    }

    pub fn is_zero(self) -> bool {
        self.num == 0
    }

    pub fn is_negative(self) -> bool {
        self.num < 0
    }

    pub fn abs(self) -> Ratio {
        Ratio {
            num: self.num.saturating_abs(),
            den: self.den,
        }
    }

    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    pub fn checked_add(self, o: Ratio) -> Option<Ratio> {
        let n = i128::from(self.num) * i128::from(o.den) + i128::from(o.num) * i128::from(self.den);
        Ratio::new(n, i128::from(self.den) * i128::from(o.den))
    }

    pub fn checked_sub(self, o: Ratio) -> Option<Ratio> {
        self.checked_add(Ratio {
            num: o.num.checked_neg()?,
            den: o.den,
        })
    }

    pub fn checked_mul(self, o: Ratio) -> Option<Ratio> {
        Ratio::new(
            i128::from(self.num) * i128::from(o.num),
            i128::from(self.den) * i128::from(o.den),
        )
    }

    pub fn checked_div(self, o: Ratio) -> Option<Ratio> {
        Ratio::new(
            i128::from(self.num) * i128::from(o.den),
            i128::from(self.den) * i128::from(o.num),
        )
    }

    pub fn checked_neg(self) -> Option<Ratio> {
        Some(Ratio {
            num: self.num.checked_neg()?,
            den: self.den,
        })
    }
}

impl From<i64> for Ratio {
    fn from(n: i64) -> Ratio {
        Ratio::integer(n)
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Ratio) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Ratio) -> Ordering {
        (i128::from(self.num) * i128::from(other.den))
            .cmp(&(i128::from(other.num) * i128::from(self.den)))
    }
}

/// `3/2`, `-1`.
impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// An integer as an integer, anything else as the nearest f64.
impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.den == 1 {
            s.serialize_i64(self.num)
        } else {
            s.serialize_f64(self.to_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_exact() {
        let a = Ratio::new(3, 2).expect("fits");
        let b = Ratio::new(-1, 2).expect("fits");
        assert_eq!(a.checked_add(b), Some(Ratio::ONE));
        assert_eq!(a.checked_mul(b), Ratio::new(-3, 4));
        assert_eq!(a.checked_div(b), Some(Ratio::integer(-3)));
        assert_eq!(Ratio::new(4, -6), Ratio::new(-2, 3));
        assert_eq!(a.to_string(), "3/2");
        assert!(b < a);
        assert_eq!(Ratio::new(1, 0), None);
        assert_eq!(Ratio::integer(i64::MAX).checked_add(Ratio::ONE), None);
    }
}
