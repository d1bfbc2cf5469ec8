//! Symbol notation shared by every stage: level-count letters written as products, in
//! text and LaTeX. It sits below [`crate::design`] and [`crate::ems`], so that no stage
//! refers to a later one for how a symbol is written.

/// A product of symbols written compactly: `ab`, or `a·m2` when any has several characters.
pub fn product_string(syms: &[&str]) -> String {
    if syms.iter().all(|s| s.chars().count() == 1) {
        syms.concat()
    } else {
        syms.join("·")
    }
}

/// A product of symbols in LaTeX.
pub fn latex_product(syms: &[&str]) -> String {
    syms.iter().map(|s| latex_symbol(s)).collect()
}

/// One symbol in LaTeX: `a`, `m_{2}` for `m2`, `\mathit{ab}` for `ab`.
pub fn latex_symbol(sym: &str) -> String {
    let letters: String = sym
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let digits = &sym[letters.len()..];
    let base = if letters.chars().count() == 1 {
        letters
    } else {
        format!("\\mathit{{{letters}}}")
    };
    if digits.is_empty() {
        base
    } else {
        format!("{base}_{{{digits}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_latex() {
        assert_eq!(product_string(&["a", "b"]), "ab");
        assert_eq!(product_string(&["a", "m2"]), "a·m2");
        assert_eq!(latex_symbol("m2"), "m_{2}");
        assert_eq!(latex_symbol("ab"), "\\mathit{ab}");
        assert_eq!(latex_product(&["s", "n"]), "sn");
    }
}
