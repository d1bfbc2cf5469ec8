//! Products of level symbols: the exact coefficients of expected mean squares.

use crate::design::{Design, Subscripts};
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
        self.0
            .iter()
            .map(|c| design.symbol_of(c).to_string())
            .collect::<Vec<_>>()
            .join(" ")
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
