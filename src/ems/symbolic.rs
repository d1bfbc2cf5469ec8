//! Products of level symbols: the exact coefficients of expected mean squares.

use super::Ratio;
use crate::design::{Design, Factored, Poly, Subscripts};
use crate::notation::{latex_product, product_string};

/// A product of level counts, one factor per subscript in the set (`b n` for {B, error}).
/// The empty product is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Monomial(pub Subscripts);

impl Monomial {
    /// The symbols, space-separated in column order (`s n`), or `1`.
    pub fn symbolic(&self, design: &Design) -> String {
        if self.0.is_empty() {
            return "1".to_string();
        }
        let mut s = String::with_capacity(self.0.len() * 2);
        for (k, c) in self.0.iter().enumerate() {
            if k > 0 {
                s.push(' ');
            }
            s.push_str(design.symbol_of(c));
        }
        s
    }

    /// Compact form for formulas: `sn`, or `m2·n` when a symbol has more than one character.
    pub fn compact(&self, design: &Design) -> String {
        let syms: Vec<&str> = self.0.iter().map(|c| design.symbol_of(c)).collect();
        product_string(&syms)
    }

    /// LaTeX (`sn`, `m_{2}n`); empty for 1.
    pub fn latex(&self, design: &Design) -> String {
        let syms: Vec<&str> = self.0.iter().map(|c| design.symbol_of(c)).collect();
        latex_product(&syms)
    }

    /// HTML (`<i>sn</i>`); empty for 1.
    pub fn html(&self, design: &Design) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        format!("<i>{}</i>", self.compact(design))
    }

    /// The value, when every level count is known.
    pub fn value(&self, design: &Design) -> Option<u64> {
        design.cells(self.0)
    }
}

/// The coefficient of a component in an expected mean square: the product `k_U` of the
/// level counts absent from the component's row, times — for a mean square that absorbs
/// dropped terms — the share of its df whose strata the component reaches:
///
/// ```text
/// coefficient = k_U × Σ_{pieces P that U reaches} df_P / Σ_{all pieces P} df_P
/// ```
///
/// which is tr(P Z_U C_U Z_U')/df for the sum P of the pieces' projectors. Exact: the
/// share is a fraction of polynomials in the level counts, cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Coefficient {
    pub product: Monomial,
    /// `None`: the share is 1 (every row that absorbs nothing).
    pub share: Option<Box<Share>>,
}

/// A fraction of a mean square's df: `numerator / denominator`, sums of df polynomials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Share {
    pub numerator: Poly,
    pub denominator: Poly,
}

impl From<Monomial> for Coefficient {
    fn from(product: Monomial) -> Coefficient {
        Coefficient {
            product,
            share: None,
        }
    }
}

impl Coefficient {
    /// The coefficient as a product of level symbols, when it is one.
    pub fn as_product(&self) -> Option<Monomial> {
        self.share.is_none().then_some(self.product)
    }

    /// Numerator and denominator, factored and cancelled.
    pub fn fraction(&self) -> (Factored, Factored) {
        match &self.share {
            None => (
                Factored::symbols(self.product.0),
                Factored::symbols(Subscripts::EMPTY),
            ),
            Some(s) => Factored::cancel(
                s.numerator.factor().times_symbols(self.product.0),
                s.denominator.factor(),
            ),
        }
    }

    /// The exact value, when every level count is known.
    pub fn value(&self, design: &Design) -> Option<Ratio> {
        if self.share.is_none() {
            return Ratio::new(i128::from(self.product.value(design)?), 1);
        }
        let (n, d) = self.fraction();
        Ratio::new(n.eval(design)?, d.eval(design)?)
    }

    /// The value as a float.
    pub fn to_f64(&self, design: &Design) -> Option<f64> {
        self.value(design).map(Ratio::to_f64)
    }

    /// Symbols space-separated (`s n`), `1`, or with a fraction first: `(a-1)/a c n`.
    pub fn symbolic(&self, design: &Design) -> String {
        match self.share {
            None => self.product.symbolic(design),
            Some(_) => self.write(design, true),
        }
    }

    /// Compact (`sn`, `(a-1)/a·cn`).
    pub fn compact(&self, design: &Design) -> String {
        match self.share {
            None => self.product.compact(design),
            Some(_) => self.write(design, false),
        }
    }

    fn write(&self, design: &Design, spaced: bool) -> String {
        let (num, den) = self.fraction();
        if den.is_one() {
            return num.text(design, spaced);
        }
        let syms = num.symbols;
        let rest = Factored {
            symbols: Subscripts::EMPTY,
            ..num
        };
        let den_text = if den.n_factors() > 1 {
            format!("({})", den.text(design, false))
        } else {
            den.text(design, false)
        };
        let frac = format!("{}/{den_text}", rest.text(design, false));
        if syms.is_empty() {
            return frac;
        }
        let product = Monomial(syms);
        if spaced {
            format!("{frac} {}", product.symbolic(design))
        } else {
            format!("{frac}·{}", product.compact(design))
        }
    }

    /// LaTeX: `sn`, empty for 1, `\frac{(a-1)cn}{a}`.
    pub fn latex(&self, design: &Design) -> String {
        match self.share {
            None => self.product.latex(design),
            Some(_) => {
                let (num, den) = self.fraction();
                if den.is_one() {
                    let s = num.latex(design);
                    if s == "1" { String::new() } else { s }
                } else {
                    format!("\\frac{{{}}}{{{}}}", num.latex(design), den.latex(design))
                }
            }
        }
    }

    /// HTML (`<i>sn</i>`); empty for 1.
    pub fn html(&self, design: &Design) -> String {
        match self.share {
            None => self.product.html(design),
            Some(_) => format!("<i>{}</i>", crate::ems::html_escape(&self.compact(design))),
        }
    }
}
