//! Polynomials in the level counts: sums of degrees of freedom, exact.
//!
//! A term's df is a product of `(s-1)` over its live subscripts and `s` over its dead ones;
//! a mean square that absorbs dropped terms has the sum of their df. These polynomials are
//! multilinear (no symbol squared), with integer coefficients. [`Poly::factor`] writes one
//! as a product of symbols, `(s-1)` factors and what is left (`(r-1)(b-1) + (r-1)(a-1)(b-1)`
//! is `a(r-1)(b-1)`), and [`Factored::cancel`] cancels common factors of a fraction.

use super::{Design, Subscripts, Term};
use crate::notation::{latex_product, product_string};

/// `Σ c_m Π_{s ∈ m} s` over subscript sets `m`, sorted by set, no zero coefficient.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Poly(Vec<(Subscripts, i64)>);

impl Poly {
    /// The constant `c`.
    pub fn constant(c: i64) -> Poly {
        let mut p = Poly(vec![(Subscripts::EMPTY, c)]);
        p.0.retain(|&(_, c)| c != 0);
        p
    }

    /// The df of a term: `Π_{live} (s-1) Π_{dead} s`.
    pub fn df(term: &Term) -> Poly {
        let mut terms = vec![(term.dead, 1i64)];
        for s in term.live.iter() {
            let mut next = Vec::with_capacity(terms.len() * 2);
            for &(m, c) in &terms {
                next.push((m.with(s), c));
                next.push((m, -c));
            }
            terms = next;
        }
        let mut p = Poly(terms);
        p.normalise();
        p
    }

    fn normalise(&mut self) {
        self.0.sort_unstable_by_key(|&(m, _)| m);
        let mut out: Vec<(Subscripts, i64)> = Vec::with_capacity(self.0.len());
        for &(m, c) in &self.0 {
            match out.last_mut() {
                Some((lm, lc)) if *lm == m => *lc = lc.saturating_add(c),
                _ => out.push((m, c)),
            }
        }
        out.retain(|&(_, c)| c != 0);
        self.0 = out;
    }

    /// `self + other`.
    pub fn add(&mut self, other: &Poly) {
        self.0.extend_from_slice(&other.0);
        self.normalise();
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// `c Π_{s ∈ set} s`.
    pub fn monomial(set: Subscripts, c: i64) -> Poly {
        if c == 0 {
            Poly::default()
        } else {
            Poly(vec![(set, c)])
        }
    }

    /// `Π_{s ∈ set} (s-1)`.
    pub fn minus_ones(set: Subscripts) -> Poly {
        let mut terms = vec![(Subscripts::EMPTY, 1i64)];
        for s in set.iter() {
            let mut next = Vec::with_capacity(terms.len() * 2);
            for &(m, c) in &terms {
                next.push((m.with(s), c));
                next.push((m, -c));
            }
            terms = next;
        }
        let mut p = Poly(terms);
        p.normalise();
        p
    }

    /// The terms: (symbols, coefficient), sorted by symbols.
    pub fn terms(&self) -> &[(Subscripts, i64)] {
        &self.0
    }

    /// `k × self`.
    pub fn scale(&self, k: i64) -> Poly {
        let mut p = Poly(
            self.0
                .iter()
                .map(|&(m, c)| (m, c.saturating_mul(k)))
                .collect(),
        );
        p.normalise();
        p
    }

    /// `self × other` for polynomials in disjoint symbols (the only products the precision
    /// of a balanced design forms, so that the result stays multilinear).
    pub fn times(&self, other: &Poly) -> Poly {
        let mut out = Vec::with_capacity(self.0.len() * other.0.len());
        for &(m, c) in &self.0 {
            for &(n, d) in &other.0 {
                debug_assert!(m.intersection(n).is_empty(), "a symbol squared");
                out.push((m.union(n), c.saturating_mul(d)));
            }
        }
        let mut p = Poly(out);
        p.normalise();
        p
    }

    /// `self × Π_{s ∈ set} s`, `set` disjoint from the symbols of `self`.
    pub fn times_symbols(&self, set: Subscripts) -> Poly {
        self.times(&Poly::monomial(set, 1))
    }

    /// The symbols every term contains.
    pub fn common_symbols(&self) -> Subscripts {
        self.0
            .iter()
            .fold(None, |acc: Option<Subscripts>, &(m, _)| {
                Some(acc.map_or(m, |a| a.intersection(m)))
            })
            .unwrap_or(Subscripts::EMPTY)
    }

    /// `self / Π_{s ∈ set} s`, `set` contained in every term.
    pub fn divide_symbols(&self, set: Subscripts) -> Poly {
        Poly(self.0.iter().map(|&(m, c)| (m.minus(set), c)).collect())
    }

    /// The greatest common divisor of the coefficients (0 for the zero polynomial).
    pub fn content(&self) -> i64 {
        self.0.iter().fold(0, |g, &(_, c)| gcd(g, c))
    }

    /// `self / k` for a `k` dividing every coefficient.
    pub fn divide(&self, k: i64) -> Poly {
        if k == 0 {
            return self.clone();
        }
        Poly(self.0.iter().map(|&(m, c)| (m, c / k)).collect())
    }

    /// The value at the design's level counts in floating point, when all are known (for
    /// values that may exceed the integers, as the precision of a mean's coefficients).
    pub fn eval_f64(&self, design: &Design) -> Option<f64> {
        self.0.iter().try_fold(0.0, |acc, &(m, c)| {
            let v = m
                .iter()
                .try_fold(c as f64, |v, s| Some(v * f64::from(design.levels_of(s)?)))?;
            Some(acc + v)
        })
    }

    /// The value at the given level counts (`level(s)` for subscript `s`).
    pub fn eval_at(&self, level: impl Fn(usize) -> i128) -> Option<i128> {
        self.0.iter().try_fold(0i128, |acc, &(m, c)| {
            let v = m
                .iter()
                .try_fold(i128::from(c), |v, s| v.checked_mul(level(s)))?;
            acc.checked_add(v)
        })
    }

    /// The value at the design's level counts, when all are known.
    pub fn eval(&self, design: &Design) -> Option<i128> {
        self.0.iter().try_fold(0i128, |acc, &(m, c)| {
            let v = m.iter().try_fold(i128::from(c), |v, s| {
                v.checked_mul(i128::from(design.levels_of(s)?))
            })?;
            acc.checked_add(v)
        })
    }

    /// Writes the polynomial as `constant × Π symbols × Π (s-1) × rest`.
    pub fn factor(&self) -> Factored {
        let mut p = self.clone();
        let mut constant = p.0.iter().fold(0i64, |g, &(_, c)| gcd(g, c));
        if constant == 0 {
            return Factored {
                constant: 0,
                symbols: Subscripts::EMPTY,
                minus_one: Subscripts::EMPTY,
                rest: Poly::constant(1),
            };
        }
        if p.0.last().is_some_and(|&(_, c)| c < 0) {
            constant = -constant;
        }
        for (_, c) in &mut p.0 {
            *c /= constant;
        }
        let symbols =
            p.0.iter()
                .fold(Subscripts(u64::MAX), |acc, &(m, _)| acc.intersection(m));
        for (m, _) in &mut p.0 {
            *m = m.minus(symbols);
        }
        let mut minus_one = Subscripts::EMPTY;
        let vars =
            p.0.iter()
                .fold(Subscripts::EMPTY, |acc, &(m, _)| acc.union(m));
        for s in vars.iter() {
            if let Some(q) = p.divide_by_s_minus_one(s) {
                p = q;
                minus_one = minus_one.with(s);
            }
        }
        Factored {
            constant,
            symbols,
            minus_one,
            rest: p,
        }
    }

    /// `self / (s-1)` when it divides: self = s·A + B with B = -A gives A.
    fn divide_by_s_minus_one(&self, s: usize) -> Option<Poly> {
        let mut with = Vec::new();
        let mut without = Vec::new();
        for &(m, c) in &self.0 {
            if m.contains(s) {
                with.push((Subscripts(m.0 & !(1u64 << s)), c));
            } else {
                without.push((m, -c));
            }
        }
        if with.is_empty() {
            return None;
        }
        let mut a = Poly(with);
        a.normalise();
        let mut b = Poly(without);
        b.normalise();
        (a == b).then_some(a)
    }

    /// Text: `a b - a + 1` (symbols space-separated or compact per `compact`).
    fn write(&self, design: &Design, compact: bool, latex: bool) -> String {
        let mut s = String::new();
        for (k, &(m, c)) in self.0.iter().rev().enumerate() {
            let syms: Vec<&str> = m.iter().map(|i| design.symbol_of(i)).collect();
            let body = if latex {
                latex_product(&syms)
            } else if compact {
                product_string(&syms)
            } else {
                syms.join(" ")
            };
            let mag = c.unsigned_abs();
            if k == 0 {
                if c < 0 {
                    s.push('-');
                }
            } else {
                s.push_str(if c < 0 { " - " } else { " + " });
            }
            match (mag, body.is_empty()) {
                (_, true) => s.push_str(&mag.to_string()),
                (1, false) => s.push_str(&body),
                (_, false) => {
                    s.push_str(&mag.to_string());
                    if !compact && !latex {
                        s.push(' ');
                    }
                    s.push_str(&body);
                }
            }
        }
        s
    }
}

pub(crate) fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i64::try_from(a).unwrap_or(1)
}

/// A factored polynomial: `constant × Π symbols × Π_{s ∈ minus_one} (s-1) × rest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factored {
    pub constant: i64,
    pub symbols: Subscripts,
    pub minus_one: Subscripts,
    /// What is left (`1` when fully factored).
    pub rest: Poly,
}

impl Factored {
    /// A product of symbols.
    pub fn symbols(set: Subscripts) -> Factored {
        Factored {
            constant: 1,
            symbols: set,
            minus_one: Subscripts::EMPTY,
            rest: Poly::constant(1),
        }
    }

    /// Whether it is 1.
    pub fn is_one(&self) -> bool {
        self.constant == 1
            && self.symbols.is_empty()
            && self.minus_one.is_empty()
            && self.rest == Poly::constant(1)
    }

    /// The product of `self` and a product of symbols disjoint from its own.
    pub fn times_symbols(mut self, set: Subscripts) -> Factored {
        self.symbols = self.symbols.union(set);
        self
    }

    /// Cancels the factors `num / den` have in common (symbols, `(s-1)`, an equal rest,
    /// the constants' divisor); the denominator keeps a positive constant.
    pub fn cancel(mut num: Factored, mut den: Factored) -> (Factored, Factored) {
        let common = num.symbols.intersection(den.symbols);
        num.symbols = num.symbols.minus(common);
        den.symbols = den.symbols.minus(common);
        let common = num.minus_one.intersection(den.minus_one);
        num.minus_one = num.minus_one.minus(common);
        den.minus_one = den.minus_one.minus(common);
        if num.rest == den.rest {
            num.rest = Poly::constant(1);
            den.rest = Poly::constant(1);
        }
        let g = gcd(num.constant, den.constant).max(1);
        num.constant /= g;
        den.constant /= g;
        if den.constant < 0 {
            num.constant = -num.constant;
            den.constant = -den.constant;
        }
        (num, den)
    }

    /// The number of factors written (for parentheses around a denominator).
    pub fn n_factors(&self) -> usize {
        usize::from(self.constant != 1)
            + self.symbols.len()
            + self.minus_one.len()
            + usize::from(self.rest != Poly::constant(1))
    }

    /// `a(r-1)(b-1)` (compact, as df are written), or `a r (b-1)` spaced when `spaced`.
    pub fn text(&self, design: &Design, spaced: bool) -> String {
        let syms: Vec<&str> = self.symbols.iter().map(|i| design.symbol_of(i)).collect();
        let mut parts: Vec<String> = Vec::new();
        if self.constant != 1
            || (syms.is_empty() && self.minus_one.is_empty() && self.rest == Poly::constant(1))
        {
            parts.push(self.constant.to_string());
        }
        if spaced {
            parts.extend(syms.iter().map(|s| (*s).to_string()));
        } else if !syms.is_empty() {
            parts.push(product_string(&syms));
        }
        for s in self.minus_one.iter() {
            parts.push(format!("({}-1)", design.symbol_of(s)));
        }
        if self.rest != Poly::constant(1) {
            parts.push(format!("({})", self.rest.write(design, !spaced, false)));
        }
        parts.join(if spaced { " " } else { "" })
    }

    /// LaTeX: `a(r-1)(b-1)`.
    pub fn latex(&self, design: &Design) -> String {
        let syms: Vec<&str> = self.symbols.iter().map(|i| design.symbol_of(i)).collect();
        let mut s = String::new();
        if self.constant != 1 {
            s.push_str(&self.constant.to_string());
        }
        s.push_str(&latex_product(&syms));
        for i in self.minus_one.iter() {
            s.push_str(&format!(
                "({}-1)",
                crate::notation::latex_symbol(design.symbol_of(i))
            ));
        }
        if self.rest != Poly::constant(1) {
            s.push_str(&format!("({})", self.rest.write(design, true, true)));
        }
        if s.is_empty() { "1".to_string() } else { s }
    }

    /// Whether it is ±1 (`sign` set when it is -1).
    pub(crate) fn unit(&self) -> Option<bool> {
        (self.constant.abs() == 1
            && self.symbols.is_empty()
            && self.minus_one.is_empty()
            && self.rest == Poly::constant(1))
        .then_some(self.constant < 0)
    }

    /// The factors after the sign, spaced (`2 a (b-1)`), or `1`.
    pub(crate) fn magnitude_text(&self, design: &Design) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.constant.abs() != 1 {
            parts.push(self.constant.unsigned_abs().to_string());
        }
        parts.extend(self.symbols.iter().map(|i| design.symbol_of(i).to_string()));
        for s in self.minus_one.iter() {
            parts.push(format!("({}-1)", design.symbol_of(s)));
        }
        if self.rest != Poly::constant(1) {
            parts.push(format!("({})", self.rest.write(design, false, false)));
        }
        if parts.is_empty() {
            "1".to_string()
        } else {
            parts.join(" ")
        }
    }

    /// LaTeX of the factors after the sign (`2a(b-1)`), empty for 1.
    pub(crate) fn magnitude_latex(&self, design: &Design) -> String {
        let syms: Vec<&str> = self.symbols.iter().map(|i| design.symbol_of(i)).collect();
        let mut s = String::new();
        if self.constant.abs() != 1 {
            s.push_str(&self.constant.unsigned_abs().to_string());
        }
        s.push_str(&latex_product(&syms));
        for i in self.minus_one.iter() {
            s.push_str(&format!(
                "({}-1)",
                crate::notation::latex_symbol(design.symbol_of(i))
            ));
        }
        if self.rest != Poly::constant(1) {
            s.push_str(&format!("({})", self.rest.write(design, true, true)));
        }
        s
    }

    /// The value at the design's level counts.
    pub fn eval(&self, design: &Design) -> Option<i128> {
        let mut v = i128::from(self.constant);
        for s in self.symbols.iter() {
            v = v.checked_mul(i128::from(design.levels_of(s)?))?;
        }
        for s in self.minus_one.iter() {
            v = v.checked_mul(i128::from(design.levels_of(s)?) - 1)?;
        }
        v.checked_mul(self.rest.eval(design)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design() -> Design {
        Design::from_toml_str(
            r#"
            replicates = 1
            terms = ["r", "a", "r:a", "b", "a:b", "r:a:b"]
            [[factors]]
            name = "r"
            kind = "random"
            levels = 4
            [[factors]]
            name = "a"
            kind = "fixed"
            levels = 3
            [[factors]]
            name = "b"
            kind = "fixed"
            levels = 2
            "#,
        )
        .expect("valid")
    }

    #[test]
    fn df_sums_factor() {
        let d = design();
        let rb = d.absorbed[0].term.clone();
        let rab = d.terms[d.term_index("r:a:b").expect("kept")].clone();
        let mut sum = Poly::df(&rb);
        sum.add(&Poly::df(&rab));
        let f = sum.factor();
        // (r-1)(b-1) + (r-1)(a-1)(b-1) = a(r-1)(b-1)
        assert_eq!(f.text(&d, false), "a(r-1)(b-1)");
        assert_eq!(f.eval(&d), Some(3 * 3));
        assert_eq!(sum.eval(&d), Some(9));
        let (n, m) = Factored::cancel(Poly::df(&rb).factor(), f);
        assert_eq!(n.text(&d, false), "1");
        assert_eq!(m.text(&d, false), "a");
    }

    #[test]
    fn unfactorable_rest_is_kept() {
        let d = design();
        // a b - a + 1: no symbol or (s-1) factor.
        let p = Poly(vec![
            (Subscripts::EMPTY, 1),
            (Subscripts::single(1), -1),
            (Subscripts::single(1).with(2), 1),
        ]);
        let f = p.factor();
        assert_eq!(f.text(&d, false), "(ab - a + 1)");
        assert_eq!(f.eval(&d), Some(6 - 3 + 1));
    }
}
