//! Mathematical notation on screen: the Unicode text of a report cell (`σ² + n σ²(A:B)`,
//! `MS(A) / MS(A:B)`, `φ(A)`) laid out with real subscripts (`σ²_{A:B}`), never raw LaTeX.
//!
//! Only presentation: the text comes from the library's report cells.

use egui::text::{LayoutJob, TextFormat};
use egui::{Align, Color32, FontId};

/// The font family Greek letters are set in (DejaVu Sans first: egui's default font draws
/// χ and ν so that they read as x and v).
pub const GREEK: &str = "greek";

/// Letters drawn in the [`GREEK`] family.
const GREEK_LETTERS: [char; 2] = ['χ', 'ν'];

/// Symbols whose parenthesised argument is written as a subscript.
const SUBSCRIPTED: [&str; 4] = ["σ²(", "φ(", "MS(", "σ("];

/// How a piece of text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    Normal,
    Subscript,
}

/// Splits text into normal runs and subscripts: `σ²(A:B)` becomes `σ²` + subscript `A:B`.
/// Parentheses are matched, so `σ²(sample(batch))` keeps `sample(batch)` whole. Text without
/// a recognised symbol comes back as one normal run.
pub fn split(text: &str) -> Vec<(Piece, String)> {
    let mut out: Vec<(Piece, String)> = Vec::new();
    let mut normal = String::new();
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for sym in SUBSCRIPTED {
            if let Some(after) = rest.strip_prefix(sym) {
                // The symbol must start a word: `RMS(` is not `MS(`.
                let starts_word = normal
                    .chars()
                    .last()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                if let Some(close) = matching_paren(after)
                    && starts_word
                {
                    normal.push_str(&sym[..sym.len() - 1]);
                    if !normal.is_empty() {
                        out.push((Piece::Normal, std::mem::take(&mut normal)));
                    }
                    out.push((Piece::Subscript, after[..close].to_string()));
                    rest = &after[close + 1..];
                    continue 'outer;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            normal.push(c);
        }
        rest = chars.as_str();
    }
    if !normal.is_empty() {
        out.push((Piece::Normal, normal));
    }
    out
}

/// Byte index of the `)` closing an already opened parenthesis in `s`.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the text holds notation worth a layout job.
pub fn has_notation(text: &str) -> bool {
    SUBSCRIPTED.iter().any(|s| text.contains(s)) || text.contains(GREEK_LETTERS)
}

/// Appends `s` in `format`, its Greek letters in the [`GREEK`] family.
fn append_with_greek(job: &mut LayoutJob, s: &str, format: &TextFormat) {
    let greek = TextFormat {
        font_id: FontId::new(format.font_id.size, egui::FontFamily::Name(GREEK.into())),
        ..format.clone()
    };
    let mut run = String::new();
    for c in s.chars() {
        if GREEK_LETTERS.contains(&c) {
            if !run.is_empty() {
                job.append(&std::mem::take(&mut run), 0.0, format.clone());
            }
            job.append(&c.to_string(), 0.0, greek.clone());
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        job.append(&run, 0.0, format.clone());
    }
}

/// A layout job for `text` in `font`, subscripts at 70 % size on the baseline below.
pub fn job(text: &str, font: FontId, color: Color32) -> LayoutJob {
    let mut job = LayoutJob::default();
    let small = FontId::new((font.size * 0.72).round().max(8.0), font.family.clone());
    for (piece, s) in split(text) {
        let format = match piece {
            Piece::Normal => TextFormat {
                font_id: font.clone(),
                color,
                valign: Align::Center,
                ..TextFormat::default()
            },
            Piece::Subscript => TextFormat {
                font_id: small.clone(),
                color,
                valign: Align::BOTTOM,
                ..TextFormat::default()
            },
        };
        append_with_greek(&mut job, &s, &format);
    }
    job.wrap.max_width = f32::INFINITY;
    job
}

/// A label of notation whose accessible text is the notation as written (`σ²(A:B)`), not
/// the laid-out runs without their parentheses.
pub fn label(ui: &mut egui::Ui, text: &str, job: LayoutJob, wrap: bool) -> egui::Response {
    let label = egui::Label::new(job);
    let label = if wrap { label.wrap() } else { label.extend() };
    let resp = ui.add(label);
    ui.ctx()
        .accesskit_node_builder(resp.id, |node| node.set_value(text));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_with_nested_term_is_one_subscript() {
        assert_eq!(
            split("σ² + n σ²(sample(batch)) + s n σ²(batch)"),
            vec![
                (Piece::Normal, "σ² + n σ²".to_string()),
                (Piece::Subscript, "sample(batch)".to_string()),
                (Piece::Normal, " + s n σ²".to_string()),
                (Piece::Subscript, "batch".to_string()),
            ]
        );
    }

    #[test]
    fn term_names_are_left_alone() {
        assert_eq!(
            split("sample(batch)"),
            vec![(Piece::Normal, "sample(batch)".to_string())]
        );
        assert!(!has_notation("A:C(B)"));
        assert_eq!(split("RMS(x)"), vec![(Piece::Normal, "RMS(x)".to_string())]);
    }

    #[test]
    fn chi_and_nu_are_set_in_the_greek_family() {
        let job = job("95% CI (χ²), ν", FontId::proportional(14.0), Color32::BLACK);
        let greek: Vec<&str> = job
            .sections
            .iter()
            .filter(|s| s.format.font_id.family == egui::FontFamily::Name(GREEK.into()))
            .map(|s| &job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect();
        assert_eq!(greek, vec!["χ", "ν"]);
    }

    #[test]
    fn mean_squares_and_phi() {
        let s = split("MS(A) / (MS(A:B) - MS(Residual))");
        assert_eq!(s[0], (Piece::Normal, "MS".to_string()));
        assert_eq!(s[1], (Piece::Subscript, "A".to_string()));
        assert_eq!(s[2], (Piece::Normal, " / (MS".to_string()));
        assert_eq!(split("φ(A)")[1], (Piece::Subscript, "A".to_string()));
    }
}
