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

pub(crate) use crate::design::poly::gcd;
use crate::design::{Design, Subscripts};
pub use crate::design::{Factored, Poly};
use crate::notation::latex_product;

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
        Some(self.num.eval_f64(design)? / den)
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
        assert_eq!(p.eval_f64(&d), Some(6.0));
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
