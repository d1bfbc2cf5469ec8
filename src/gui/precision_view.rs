//! The precision of means in the EMS view, step by step as the E(MS) derivation: which mean
//! (or difference), its variance in the components of both models, each component of the
//! design's model replaced by its estimator, and the combination of mean squares that
//! results (the same in both models), with numbers where the design is sized. The words
//! and formulas are the rows of the report's "Precision of means" and "Method-of-moments
//! estimators" tables; the typed rows ([`emslab::means::precision::derive`]) say which
//! components a variance needs.

use egui::{Id, RichText, Ui};
use emslab::EmsTable;
use emslab::means::Precision;
use emslab::report::{Document, Table, fmt_sig};

use super::command::{Command, DocKind};
use super::ems_view::{math_line, table, titled_table};
use super::table_view;

/// The report table's cell `col` of row `r`.
fn cell(t: &Table, r: usize, col: usize) -> &str {
    t.rows
        .get(r)
        .and_then(|row| row.get(col))
        .map_or("", |c| c.text.as_str())
}

/// A precision row's name: `Grand mean`, `Machine: mean`, `Machine: difference (Machine
/// differs)`.
fn row_name(t: &Table, r: usize) -> String {
    let term = cell(t, r, 0);
    if term.starts_with('(') {
        "Grand mean".to_string()
    } else {
        format!("{term}: {}", cell(t, r, 1))
    }
}

/// `0.0185185 MS(Worker) + 0.037037 MS(Machine:Worker)`.
fn numeric_text(t: &EmsTable, weights: &[(usize, f64)]) -> String {
    let mut out = String::new();
    for (k, &(v, w)) in weights.iter().enumerate() {
        let ms = format!("MS({})", t.terms[v].name);
        let mag = fmt_sig(w.abs(), 6);
        match (k, w < 0.0) {
            (0, false) => out.push_str(&format!("{mag} {ms}")),
            (0, true) => out.push_str(&format!("-{mag} {ms}")),
            (_, false) => out.push_str(&format!(" + {mag} {ms}")),
            (_, true) => out.push_str(&format!(" - {mag} {ms}")),
        }
    }
    out
}

/// The estimator of a component, from the report's estimators table.
fn estimator(doc: &Document, component: &str) -> Option<String> {
    let tab = table(doc, "estimators")?;
    let row = tab
        .rows
        .iter()
        .find(|r| r.first().is_some_and(|c| c.text == component))?;
    row.get(1).map(|c| c.text.clone())
}

/// The precision section of the EMS view: the picker, the steps of the chosen row, then
/// the precision and covariance tables as exported.
pub fn precision_ui(
    ui: &mut Ui,
    t: &EmsTable,
    doc: &Document,
    precision: &Precision,
    commands: &mut Vec<Command>,
) {
    let Some(tab) = table(doc, "precision") else {
        return;
    };
    ui.heading("Precision of means, step by step");
    if tab.rows.is_empty() || tab.rows.len() != precision.rows.len() {
        // Too many terms for the symbolic table: its notes say so.
        titled_table(ui, doc, "precision", DocKind::Ems, commands);
        return;
    }
    let id = Id::unique("precision-row");
    let mut selected: usize = ui.data(|d| d.get_temp(id)).unwrap_or(0);
    selected = selected.min(tab.rows.len() - 1);
    ui.horizontal_wrapped(|ui| {
        ui.label("The variance of:");
        for r in 0..tab.rows.len() {
            let name = row_name(tab, r);
            ui.selectable_value(&mut selected, r, &name)
                .on_hover_text(format!("Show how the variance of {name} is found"))
                .accessible_name(format!("Precision of {name}"));
        }
    });
    ui.data_mut(|d| d.insert_temp(id, selected));
    egui::Frame::group(ui.style()).show(ui, |ui| steps(ui, t, doc, tab, precision, selected));
    ui.add_space(14.0);
    titled_table(ui, doc, "precision", DocKind::Ems, commands);
    titled_table(ui, doc, "covariances", DocKind::Ems, commands);
}

/// The steps of one precision row.
fn steps(ui: &mut Ui, t: &EmsTable, doc: &Document, tab: &Table, p: &Precision, r: usize) {
    let row = &p.rows[r];
    ui.label(RichText::new(format!("Variance of {}, step by step", row_name(tab, r))).strong());
    let what = match row.quantity {
        emslab::means::Quantity::Mean if row.term.is_none() => {
            "the mean of all observations".to_string()
        }
        emslab::means::Quantity::Mean => format!(
            "the mean of one level combination of the factors of {}",
            cell(tab, r, 0)
        ),
        emslab::means::Quantity::Difference { .. } => format!(
            "the {} of two means of {} (their levels agree in the other factors)",
            cell(tab, r, 1),
            cell(tab, r, 0)
        ),
    };
    ui.label(format!("1. Which mean: {what}."));
    ui.label("2. In variance components (each random effect averaged over the levels the mean does not fix):");
    let model = t.model;
    for (name, col, m) in [
        ("restricted", 3, emslab::Model::Restricted),
        ("unrestricted", 4, emslab::Model::Unrestricted),
    ] {
        let this = if m == model {
            " (this design's model)"
        } else {
            ""
        };
        math_line(
            ui,
            &format!("      {name} model{this}: Var = {}", cell(tab, r, col)),
        );
    }
    let form = match model {
        emslab::Model::Restricted => &row.restricted,
        emslab::Model::Unrestricted => &row.unrestricted,
    };
    ui.label(format!(
        "3. Each component of the {} model replaced by its estimator (the estimators table):",
        model.as_str()
    ));
    for (u, _) in form {
        let name = t.component_text(*u);
        let est = estimator(doc, &name).unwrap_or_else(|| "no estimator".to_string());
        math_line(ui, &format!("      {name}  →  {est}"));
    }
    ui.label("4. Collected, a combination of (expected) mean squares, the same in both models:");
    math_line(ui, &format!("      Var = {}", cell(tab, r, 2)));
    if let Ok(f) = &row.mean_squares
        && let Some(w) = f.numeric(&t.design)
    {
        math_line(ui, &format!("            = {}", numeric_text(t, &w)));
    }
    ui.label("5. With data: the same combination of the observed mean squares estimates it, with Cochran-Satterthwaite df; SE = √estimate (none when the estimate is ≤ 0). The Results view's precision table has the numbers.");
    for n in tab.notes.iter().skip(1) {
        table_view::notes_label(ui, n);
    }
}
