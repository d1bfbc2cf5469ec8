//! Exact coefficients of the precision of means: polynomials in the level counts with
//! integer coefficients, over products of level counts.
//!
//! Every coefficient the precision of a balanced design's mean needs is of the form
//! `Π_{s ∈ F} (s-1) × Π_{s ∈ M} s / Π_{s ∈ D} s` with F, M and D disjoint sets of
//! subscripts, or a sum of such terms over one denominator. The numerators are therefore
//! multilinear (no symbol squared): a [`Poly`] is a sum of products of distinct symbols,
//! and a [`Fraction`] is a `Poly` over a product of symbols ([`Subscripts`]). [`Factored`]
//! writes a numerator as `constant × symbols × Π (s-1) × rest` for display, as the df
//! of the EMS table are written.

use crate::design::{Design, Subscripts};
use crate::ems::{latex_product, latex_symbol, product_string};

/// `Σ c_m Π_{s ∈ m} s` over subscript sets `m`: sorted by set, no zero coefficient.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Poly(Vec<(Subscripts, i64)>);

impl Poly {
    /// The constant `c`.
    pub fn constant(c: i64) -> Poly {
        Poly::monomial(Subscripts::EMPTY, c)
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

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The terms: (symbols, coefficient), sorted by symbols.
    pub fn terms(&self) -> &[(Subscripts, i64)] {
        &self.0
    }

    /// `self + other`.
    pub fn add(&mut self, other: &Poly) {
        self.0.extend_from_slice(&other.0);
        self.normalise();
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

    /// The value at the design's level counts, when all are known.
    pub fn eval(&self, design: &Design) -> Option<f64> {
        self.0.iter().try_fold(0.0, |acc, &(m, c)| {
            let v = m
                .iter()
                .try_fold(c as f64, |v, s| Some(v * f64::from(design.levels_of(s)?)))?;
            Some(acc + v)
        })
    }

    /// Writes the polynomial as `constant × Π symbols × Π (s-1) × rest`.
    pub fn factor(&self) -> Factored {
        let mut p = self.clone();
        let mut constant = p.content();
        if constant == 0 {
            return Factored {
                constant: 0,
                symbols: Subscripts::EMPTY,
                minus_one: Subscripts::EMPTY,
                rest: Poly::constant(1),
            };
        }
        // The sign of the leading (highest) term goes into the constant.
        if p.0.last().is_some_and(|&(_, c)| c < 0) {
            constant = -constant;
        }
        p = p.divide(constant);
        let symbols = p.common_symbols();
        p = p.divide_symbols(symbols);
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

    /// `a b - a + 1`, symbols spaced (`compact`: `ab - a + 1`) or in LaTeX.
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
    /// Whether it is ±1 (`sign` set when it is -1).
    fn unit(&self) -> Option<bool> {
        (self.constant.abs() == 1
            && self.symbols.is_empty()
            && self.minus_one.is_empty()
            && self.rest == Poly::constant(1))
        .then_some(self.constant < 0)
    }

    /// The factors after the sign, spaced (`2 a (b-1)`), or `1`.
    fn magnitude_text(&self, design: &Design) -> String {
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
    fn magnitude_latex(&self, design: &Design) -> String {
        let syms: Vec<&str> = self.symbols.iter().map(|i| design.symbol_of(i)).collect();
        let mut s = String::new();
        if self.constant.abs() != 1 {
            s.push_str(&self.constant.unsigned_abs().to_string());
        }
        s.push_str(&latex_product(&syms));
        for i in self.minus_one.iter() {
            s.push_str(&format!("({}-1)", latex_symbol(design.symbol_of(i))));
        }
        if self.rest != Poly::constant(1) {
            s.push_str(&format!("({})", self.rest.write(design, true, true)));
        }
        s
    }
}

/// `num / Π den`: a coefficient of the precision of a mean.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fraction {
    pub num: Poly,
    pub den: Subscripts,
}

impl Fraction {
    /// `num / Π den`, with the symbols common to every term of `num` and `den` cancelled.
    pub fn new(num: Poly, den: Subscripts) -> Fraction {
        let common = num.common_symbols().intersection(den);
        Fraction {
            num: num.divide_symbols(common),
            den: den.minus(common),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    /// The value at the design's level counts.
    pub fn eval(&self, design: &Design) -> Option<f64> {
        let den = design.cells(self.den)? as f64;
        Some(self.num.eval(design)? / den)
    }
}

/// One item `w × X` of a sum of items over one denominator, as text and LaTeX pieces.
pub(crate) struct Item {
    pub text: String,
    pub latex: String,
}

/// A weighted item: `(t-1) MS(Residual)`, `- σ²(A:B)`. Returns (negative, text, LaTeX)
/// where text and LaTeX are the magnitude's.
fn weighted(design: &Design, w: &Poly, item: &Item) -> (bool, String, String) {
    let f = w.factor();
    match f.unit() {
        Some(neg) => (neg, item.text.clone(), item.latex.clone()),
        None => {
            let neg = f.constant < 0;
            (
                neg,
                format!("{} {}", f.magnitude_text(design), item.text),
                format!("{}{}", f.magnitude_latex(design), item.latex),
            )
        }
    }
}

/// `(w1 X1 + w2 X2) / (s t n)` and its LaTeX `\frac{...}{stn}`: a sum of weighted items
/// over a product of symbols, with the integer `constant` in front.
pub(crate) fn sum_over(
    design: &Design,
    constant: i64,
    scale: i64,
    items: &[(Poly, Item)],
    den: Subscripts,
) -> (String, String) {
    let mut text = String::new();
    let mut latex = String::new();
    for (k, (w, item)) in items.iter().enumerate() {
        let (neg, t, l) = weighted(design, w, item);
        if k == 0 {
            if neg {
                text.push('-');
                latex.push('-');
            }
        } else {
            text.push_str(if neg { " - " } else { " + " });
            latex.push_str(if neg { " - " } else { " + " });
        }
        text.push_str(&t);
        latex.push_str(&l);
    }
    if items.is_empty() {
        text.push('0');
        latex.push('0');
    }
    let (ctext, clatex) = if constant == 1 {
        (String::new(), String::new())
    } else {
        (format!("{constant} "), constant.to_string())
    };
    let mut den_syms: Vec<&str> = den.iter().map(|i| design.symbol_of(i)).collect();
    let scale_text = scale.to_string();
    if scale != 1 {
        den_syms.insert(0, &scale_text);
    }
    let body = if items.len() > 1 && (constant != 1 || !den_syms.is_empty()) {
        format!("({text})")
    } else {
        text
    };
    let text = match den_syms.len() {
        0 => format!("{ctext}{body}"),
        1 => format!("{ctext}{body} / {}", den_syms[0]),
        _ => format!("{ctext}{body} / ({})", den_syms.join(" ")),
    };
    let latex_num = if constant != 1 && items.len() > 1 {
        format!("{clatex}({latex})")
    } else {
        format!("{clatex}{latex}")
    };
    let latex = if den_syms.is_empty() {
        latex_num
    } else {
        let syms: Vec<&str> = den.iter().map(|i| design.symbol_of(i)).collect();
        let scale = if scale == 1 {
            String::new()
        } else {
            scale_text.clone()
        };
        format!("\\frac{{{latex_num}}}{{{scale}{}}}", latex_product(&syms))
    };
    (text, latex)
}

/// `σ²(A) / a + (m-1) σ²(A:B) / (m w)`: a sum of fractions, each over its own denominator.
pub(crate) fn sum_of_fractions(design: &Design, items: &[(Fraction, Item)]) -> (String, String) {
    let mut text = String::new();
    let mut latex = String::new();
    for (k, (f, item)) in items.iter().enumerate() {
        let (neg, t, l) = weighted(design, &f.num, item);
        if k == 0 {
            if neg {
                text.push('-');
                latex.push('-');
            }
        } else {
            text.push_str(if neg { " - " } else { " + " });
            latex.push_str(if neg { " - " } else { " + " });
        }
        let syms: Vec<&str> = f.den.iter().map(|i| design.symbol_of(i)).collect();
        match syms.len() {
            0 => {
                text.push_str(&t);
                latex.push_str(&l);
            }
            1 => {
                text.push_str(&format!("{t} / {}", syms[0]));
                latex.push_str(&format!("\\frac{{{l}}}{{{}}}", latex_product(&syms)));
            }
            _ => {
                text.push_str(&format!("{t} / ({})", syms.join(" ")));
                latex.push_str(&format!("\\frac{{{l}}}{{{}}}", latex_product(&syms)));
            }
        }
    }
    if items.is_empty() {
        text.push('0');
        latex.push('0');
    }
    (text, latex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design() -> Design {
        Design::from_toml_str(
            r#"
            replicates = 2
            [[factors]]
            name = "A"
            kind = "fixed"
            levels = 3
            [[factors]]
            name = "B"
            kind = "random"
            levels = 4
            "#,
        )
        .expect("valid")
    }

    #[test]
    fn minus_ones_expand_and_factor_back() {
        let d = design();
        let ab = Subscripts::single(0).with(1);
        let p = Poly::minus_ones(ab);
        // (a-1)(b-1) = ab - a - b + 1
        assert_eq!(p.terms().len(), 4);
        assert_eq!(p.eval(&d), Some(6.0));
        let f = p.scale(-2).times_symbols(Subscripts::single(2)).factor();
        assert_eq!(f.constant, -2);
        assert_eq!(f.symbols, Subscripts::single(2));
        assert_eq!(f.minus_one, ab);
        assert_eq!(f.magnitude_text(&d), "2 n (a-1) (b-1)");
    }

    #[test]
    fn sums_are_written_over_one_denominator() {
        let d = design();
        let items = vec![
            (
                Poly::constant(1),
                Item {
                    text: "MS(B)".into(),
                    latex: "B".into(),
                },
            ),
            (
                Poly::minus_ones(Subscripts::single(0)),
                Item {
                    text: "MS(A:B)".into(),
                    latex: "AB".into(),
                },
            ),
        ];
        let all = Subscripts::single(0).with(1).with(2);
        let (text, latex) = sum_over(&d, 1, 1, &items, all);
        assert_eq!(text, "(MS(B) + (a-1) MS(A:B)) / (a b n)");
        assert_eq!(latex, "\\frac{B + (a-1)AB}{abn}");
        let (text, _) = sum_over(&d, 2, 1, &items[..1], Subscripts::single(2));
        assert_eq!(text, "2 MS(B) / n");
    }

    #[test]
    fn fractions_cancel_common_symbols() {
        let d = design();
        let a = Subscripts::single(0);
        let f = Fraction::new(Poly::monomial(a, 3), a.with(1));
        assert_eq!(f.num, Poly::constant(3));
        assert_eq!(f.den, Subscripts::single(1));
        assert_eq!(f.eval(&d), Some(0.75));
    }
}
