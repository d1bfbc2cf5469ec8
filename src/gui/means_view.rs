//! The results' Means section: the report's means, comparisons, precision and covariance
//! tables (the rows of the chosen fixed term, in the report's words and numbers), and the
//! plot of the term's means with their intervals ([`emslab::chart::means`]).

use egui::{RichText, Ui};
use emslab::chart::Figure;
use emslab::chart::means::means_figure;
use emslab::means::{Adjustment, Means};
use emslab::report::{Table, words};

use super::command::{ChartSource, Command, DocKind};
use super::current::Current;
use super::display;
use super::plots;
use super::results::SectionCtx;
use super::table_view::{self, Hooks};

/// The tables the Means section shows (the other sections leave them out).
pub const KEYS: [&str; 4] = ["means", "comparisons", "precision", "covariances"];

/// Tables of more rows than this scroll within the section.
const SCROLL_ROWS: usize = 60;

/// The adjustments offered, in the settings' order.
pub const ADJUSTMENTS: [Adjustment; 4] = [
    Adjustment::Tukey,
    Adjustment::Bonferroni,
    Adjustment::Sidak,
    Adjustment::None,
];

/// The Means section's choice of term and its plot, for one analysis (it lives in
/// [`Current`] and goes with it).
#[derive(Default)]
pub struct MeansState {
    /// The fixed term shown (an index into [`Means::terms`]).
    pub term: usize,
    drawn: Option<(usize, Figure)>,
}

impl MeansState {
    /// Forgets the figure (the means changed: the REML fit arrived).
    pub fn clear_cache(&mut self) {
        self.drawn = None;
    }

    /// The plot last drawn (exports, the HTML report, tests).
    pub fn figure(&self) -> Option<&Figure> {
        self.drawn.as_ref().map(|(_, f)| f)
    }

    /// The figure of the chosen term, built when the choice changed.
    fn refresh(&mut self, m: &Means, response: &str) {
        self.term = self.term.min(m.terms.len().saturating_sub(1));
        if self.drawn.as_ref().is_none_or(|(t, _)| *t != self.term) {
            self.drawn = means_figure(m, self.term, response).map(|f| (self.term, f));
        }
    }
}

/// Whether the results have a Means section: the analysis has means, or its data are
/// unbalanced (their means come from the REML fit: the section says why there are none).
pub fn shown(c: &Current) -> bool {
    c.analysis.means.is_some() || c.analysis.balanced().is_none()
}

/// The plot of the chosen term's means, for the HTML report (built if not yet drawn).
pub fn figure(c: &Current) -> Option<Figure> {
    let m = c.analysis.means.as_ref()?;
    let term = c.means.term.min(m.terms.len().saturating_sub(1));
    means_figure(m, term, &c.dataset.response)
}

/// The rows of a table that belong to the chosen term: `counts` are the rows of each term
/// in order, after `head` rows (the grand mean) that are always kept. The whole table when
/// the counts do not add up to its rows.
fn term_rows(t: &Table, head: usize, counts: &[usize], term: usize) -> Table {
    let mut out = t.clone();
    if head + counts.iter().sum::<usize>() != t.rows.len() {
        return out;
    }
    let start = head + counts[..term].iter().sum::<usize>();
    let end = start + counts.get(term).copied().unwrap_or(0);
    out.rows = t.rows[..head]
        .iter()
        .chain(&t.rows[start..end])
        .cloned()
        .collect();
    out
}

/// A report table with its title bar (the exports give the whole table), the chosen rows
/// by the screen's display rules, and the table's notes.
fn table_with_rows(ui: &mut Ui, c: &Current, full: &Table, rows: &Table, cmds: &mut Vec<Command>) {
    table_view::title_bar(ui, full, DocKind::Analysis, cmds);
    // Means are in the response's units: no variance bound applies to their intervals.
    let (mut shown, tips) = display::for_screen(rows, None, None);
    let notes = std::mem::take(&mut shown.notes);
    let tip = |r: usize, col: usize| tips.get(&(r, col)).cloned();
    table_view::table_ui(
        ui,
        &shown,
        &format!("{}-{}-{}", c.id, full.key, c.means.term),
        &Hooks {
            cell_tip: Some(&tip),
            column_tip: Some(&|col| {
                shown
                    .headers
                    .iter()
                    .filter_map(|h| h.get(col))
                    .map(|x| x.text.as_str())
                    .find(|s| !s.trim().is_empty())
                    .and_then(super::help::column_tip)
                    .map(str::to_string)
            }),
            // A long table (a term's many pairs) scrolls on its own.
            max_height: (shown.rows.len() > SCROLL_ROWS).then_some(420.0),
            ..Hooks::default()
        },
    );
    for n in notes {
        table_view::notes_label(ui, &n);
    }
    ui.add_space(12.0);
}

/// Why there are no means (unbalanced data: they come from the REML fit).
fn no_means(ui: &mut Ui, c: &Current) {
    let text = if c.fitting() {
        "The means of unbalanced data are the REML fit's estimated marginal means: they appear here when the fit, which is running, is done."
    } else if c.analysis.reml.fits().is_none() {
        "The means of unbalanced data are the REML fit's estimated marginal means: switch on “REML fit” above and run the analysis again."
    } else {
        "The REML fit gave no means."
    };
    ui.label(text);
}

/// The Means section.
pub fn means_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    let c = &mut *s.current;
    let Some(m) = &c.analysis.means else {
        no_means(ui, c);
        return;
    };
    if m.terms.len() > 1 {
        ui.horizontal_wrapped(|ui| {
            ui.label("Fixed term:");
            for (k, t) in m.terms.iter().enumerate() {
                ui.selectable_value(&mut c.means.term, k, &t.term)
                    .on_hover_text(format!(
                        "Show the means, comparisons and plot of {}",
                        t.term
                    ))
                    .accessible_name(format!("Means of {}", t.term));
            }
        });
    }
    c.means.refresh(m, &c.dataset.response);
    let c = &*s.current;
    let Some(m) = &c.analysis.means else { return };
    let term = c.means.term;
    if m.terms.len() > 1 {
        table_view::notes_label(
            ui,
            &format!(
                "Showing the rows of {}; the copies and saves of a table hold every term.",
                m.terms[term].term
            ),
        );
    }
    let table = |key: &str| c.document.tables.iter().find(|t| t.key == key);
    if let Some(t) = table("means") {
        let counts: Vec<usize> = m.terms.iter().map(|t| t.means.len()).collect();
        let rows = term_rows(t, usize::from(m.grand_mean.is_some()), &counts, term);
        table_with_rows(ui, c, t, &rows, s.commands);
    }
    if let Some(t) = table("comparisons") {
        let counts: Vec<usize> = m.terms.iter().map(|t| t.comparisons.len()).collect();
        let rows = term_rows(t, 0, &counts, term);
        table_with_rows(ui, c, t, &rows, s.commands);
    }
    if let Some(fig) = c.means.figure() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Plot of means").strong());
            plots::export_buttons(ui, ChartSource::Means, s.commands);
        });
        plots::figure_ui(ui, fig, (c.id, "means", term));
    }
    // The detail tables, folded: the covariance of two observations, and the precision
    // table the standard errors come from.
    for (key, title) in [
        (
            "covariances",
            "Covariance and correlation of two observations",
        ),
        (
            "precision",
            "The variance of each mean: the precision table",
        ),
    ] {
        if let Some(t) = table(key) {
            egui::CollapsingHeader::new(title)
                .id_salt((c.id, key))
                .show(ui, |ui| table_with_rows(ui, c, t, t, s.commands));
        }
    }
}

/// The adjustment's name in the settings.
pub fn adjustment_label(a: Adjustment) -> &'static str {
    words::adjustment(a)
}
