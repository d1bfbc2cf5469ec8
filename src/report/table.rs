//! The one row model every export is written from: a [`Table`] of [`Cell`]s, each carrying
//! its text, LaTeX and HTML forms.

use serde::Serialize;

/// How a column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    Right,
    Center,
}

/// One cell: the same content for every format.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Cell {
    /// Plain text (Unicode), used by text, Markdown and CSV.
    pub text: String,
    /// LaTeX (already escaped; math in `$…$`).
    pub latex: String,
    /// HTML (already escaped).
    pub html: String,
    /// A number behind the cell, for JSON and CSV at full precision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Cell {
    /// Plain text, escaped for LaTeX and HTML.
    pub fn text(s: impl Into<String>) -> Cell {
        let text = s.into();
        Cell {
            latex: latex_escape(&text),
            html: html_escape(&text),
            text,
            value: None,
        }
    }

    /// Mathematics: Unicode text, LaTeX math (wrapped in `$…$` here) and HTML.
    pub fn math(text: impl Into<String>, latex_math: &str, html: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            latex: if latex_math.is_empty() {
                String::new()
            } else {
                format!("${latex_math}$")
            },
            html: html.into(),
            value: None,
        }
    }

    /// A count (df, levels).
    pub fn int(v: u64) -> Cell {
        let mut c = Cell::text(v.to_string());
        c.value = Some(v as f64);
        c
    }

    /// A real number shown with `sig` significant digits; the full value is kept.
    pub fn num(v: f64, sig: usize) -> Cell {
        let mut c = Cell::text(fmt_sig(v, sig));
        if c.text.contains('e') {
            // 1.2e-05 as 1.2\times10^{-5} in LaTeX
            if let Some((m, e)) = c.text.split_once('e') {
                let e: i32 = e.parse().unwrap_or(0);
                c.latex = format!("${m}\\times 10^{{{e}}}$");
                c.html = format!("{m}&times;10<sup>{e}</sup>");
            }
        }
        c.value = Some(v);
        c
    }

    /// An optional count, `—` when unknown.
    pub fn opt_int(v: Option<u64>) -> Cell {
        v.map_or_else(Cell::empty_dash, Cell::int)
    }

    pub fn empty_dash() -> Cell {
        Cell {
            text: "—".into(),
            latex: "---".into(),
            html: "&mdash;".into(),
            value: None,
        }
    }

    pub fn empty() -> Cell {
        Cell::default()
    }
}

/// A table with one or more header rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Table {
    /// Short key (`ems`, `subscripts`, `tests`, ...), used by `--table` and file names.
    pub key: String,
    pub title: String,
    /// Header rows (most tables have one).
    pub headers: Vec<Vec<Cell>>,
    pub align: Vec<Align>,
    pub rows: Vec<Vec<Cell>>,
    /// Footnotes: legends, warnings, policies applied.
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(key: &str, title: impl Into<String>) -> Table {
        Table {
            key: key.to_string(),
            title: title.into(),
            ..Table::default()
        }
    }

    /// Sets a single header row from plain titles and alignments.
    pub fn columns(mut self, cols: &[(&str, Align)]) -> Table {
        self.headers = vec![cols.iter().map(|(h, _)| Cell::text(*h)).collect()];
        self.align = cols.iter().map(|(_, a)| *a).collect();
        self
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    pub fn ncols(&self) -> usize {
        self.align.len()
    }
}

/// A titled sequence of tables: what a command prints.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Document {
    pub title: String,
    /// Lines under the title (design, model, data file).
    pub preamble: Vec<String>,
    pub tables: Vec<Table>,
}

impl Document {
    /// Keeps only the table with the given key.
    pub fn select(&self, key: &str) -> Option<Document> {
        let t = self.tables.iter().find(|t| t.key == key)?;
        Some(Document {
            title: self.title.clone(),
            preamble: self.preamble.clone(),
            tables: vec![t.clone()],
        })
    }

    pub fn keys(&self) -> Vec<&str> {
        self.tables.iter().map(|t| t.key.as_str()).collect()
    }
}

/// `v` with `sig` significant digits, without trailing zeros; scientific notation outside
/// [1e-4, 1e9).
pub fn fmt_sig(v: f64, sig: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    let exp = v.abs().log10().floor() as i32;
    if !(-4..9).contains(&exp) {
        let s = format!("{:.*e}", sig - 1, v);
        // 1.23400e-5 -> 1.234e-5
        if let Some((m, e)) = s.split_once('e') {
            let m = trim_zeros(m);
            let e: i32 = e.parse().unwrap_or(0);
            return format!("{m}e{}{:02}", if e < 0 { "-" } else { "+" }, e.abs());
        }
        return s;
    }
    let decimals = (sig as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

pub fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '—' => out.push_str("---"),
            '–' => out.push_str("--"),
            'σ' => out.push_str("$\\sigma$"),
            '²' => out.push_str("$^2$"),
            'φ' => out.push_str("$\\phi$"),
            'ν' => out.push_str("$\\nu$"),
            '≥' => out.push_str("$\\geq$"),
            '≤' => out.push_str("$\\leq$"),
            '×' => out.push_str("$\\times$"),
            '·' => out.push_str("$\\cdot$"),
            '′' => out.push_str("$'$"),
            '″' => out.push_str("$''$"),
            'Σ' => out.push_str("$\\Sigma$"),
            'τ' => out.push_str("$\\tau$"),
            'α' => out.push_str("$\\alpha$"),
            'β' => out.push_str("$\\beta$"),
            'γ' => out.push_str("$\\gamma$"),
            'μ' => out.push_str("$\\mu$"),
            'ρ' => out.push_str("$\\rho$"),
            'χ' => out.push_str("$\\chi$"),
            'ᵢ' => out.push_str("$_i$"),
            'ⱼ' => out.push_str("$_j$"),
            '±' => out.push_str("$\\pm$"),
            '−' => out.push('-'),
            '†' => out.push_str("$^\\dagger$"),
            _ => out.push(c),
        }
    }
    out
}

pub fn html_escape(s: &str) -> String {
    crate::ems::html_escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(fmt_sig(86.495, 5), "86.495");
        assert_eq!(fmt_sig(1.4917345, 5), "1.4917");
        assert_eq!(fmt_sig(4653.5995, 5), "4653.6");
        assert_eq!(fmt_sig(0.000012345, 3), "1.23e-05");
        assert_eq!(fmt_sig(2.0, 6), "2");
        assert_eq!(fmt_sig(-0.5, 6), "-0.5");
        assert_eq!(fmt_sig(1.9372e-27, 5), "1.9372e-27");
    }

    #[test]
    fn latex_escapes_specials() {
        assert_eq!(latex_escape("a_b & 5%"), "a\\_b \\& 5\\%");
    }
}
