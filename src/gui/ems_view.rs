//! Watching the EMS derive: the subscript table of Rule 6 with the selected term's live
//! columns covered and the rows it takes highlighted, the step-by-step reading of its E(MS)
//! (from `EmsTable::derivation`), then the EMS, test and estimator tables as exported.

use egui::{RichText, TextStyle, Ui};
use emslab::EmsTable;
use emslab::ems::{Cell as Entry, CellValue, TestKind};
use emslab::report::{Document, Table};

use super::command::{Command, DocKind};
use super::doc::Derived;
use super::help;
use super::math;
use super::table_view::{self, Hooks, Mark};

/// First subscript column of the report's subscript table (after Term and Subscripts).
const FIRST_SUBSCRIPT_COL: usize = 2;

#[derive(Default)]
pub struct EmsView;

/// The text of an entry of the subscript table under the table's model.
fn entry(t: &EmsTable, col: usize, cell: Entry, value: CellValue) -> String {
    match value {
        CellValue::Zero => "0".into(),
        CellValue::One if cell == Entry::LiveFixed => "1†".into(),
        CellValue::One => "1".into(),
        CellValue::Levels => t.table.columns[col].symbol.clone(),
    }
}

/// A line of notation (σ²(X) with X as a subscript).
pub fn math_line(ui: &mut Ui, text: &str) {
    let font = TextStyle::Body.resolve(ui.style());
    let job = math::job(text, font, ui.visuals().text_color());
    math::label(ui, text, job, true);
}

/// The tables of a document by key.
pub fn table<'a>(doc: &'a Document, key: &str) -> Option<&'a Table> {
    doc.tables.iter().find(|t| t.key == key)
}

/// A titled table of a document with its export bar.
pub fn titled_table(
    ui: &mut Ui,
    doc: &Document,
    key: &str,
    kind: DocKind,
    commands: &mut Vec<Command>,
) {
    if let Some(t) = table(doc, key) {
        titled(ui, t, kind, commands);
    }
}

/// A titled table with its export bar and the column tool tips.
pub fn titled(ui: &mut Ui, t: &Table, kind: DocKind, commands: &mut Vec<Command>) {
    let key = t.key.as_str();
    {
        table_view::title_bar(ui, t, kind, commands);
        let tip = |c: usize| -> Option<String> {
            let header = t
                .headers
                .iter()
                .map(|h| h.get(c).map_or("", |x| x.text.as_str()))
                .find(|s| !s.trim().is_empty())
                .unwrap_or("");
            help::column_tip(header).map(str::to_string)
        };
        // The first column names terms (or components): say what each one means.
        let names_terms = t
            .headers
            .first()
            .and_then(|h| h.first())
            .is_some_and(|c| matches!(c.text.as_str(), "Term" | "Component"));
        let cell_tip = |r: usize, c: usize| -> Option<String> {
            if c != 0 || !names_terms {
                return None;
            }
            let text = t.rows.get(r)?.first()?.text.as_str();
            let name = text
                .strip_prefix("σ²(")
                .and_then(|x| x.strip_suffix(')'))
                .unwrap_or(text);
            help::term_meaning(if text == "σ²" { "Residual" } else { name })
        };
        table_view::table_ui(
            ui,
            t,
            key,
            &Hooks {
                column_tip: Some(&tip),
                cell_tip: Some(&cell_tip),
                ..Hooks::default()
            },
        );
        ui.add_space(14.0);
    }
}

impl EmsView {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        derived: &Derived,
        selected: usize,
        commands: &mut Vec<Command>,
    ) {
        let (Some(t), Some(doc)) = (&derived.ems, &derived.document) else {
            return;
        };
        let selected = selected.min(t.terms.len() - 1);
        self.derivation_ui(ui, t, doc, selected, commands);
        ui.add_space(14.0);
        titled_table(ui, doc, "ems", DocKind::Ems, commands);
        titled_table(ui, doc, "tests", DocKind::Ems, commands);
        titled_table(ui, doc, "estimators", DocKind::Ems, commands);
        // Symbolica's solutions of the moment equations and F′ denominators (only when
        // Symbolica made the tables).
        titled_table(ui, doc, "symbolica", DocKind::Ems, commands);
        egui::CollapsingHeader::new("Every derivation as a table (the command line's --steps)")
            .id_salt("all-derivations")
            .show(ui, |ui| {
                if let Some(table) = derived.steps_table() {
                    titled(ui, table, DocKind::Ems, commands);
                }
            });
    }

    fn derivation_ui(
        &mut self,
        ui: &mut Ui,
        t: &EmsTable,
        doc: &Document,
        selected: usize,
        commands: &mut Vec<Command>,
    ) {
        let Some(sub) = table(doc, "subscripts") else {
            return;
        };
        table_view::title_bar(ui, sub, DocKind::Ems, commands);
        ui.horizontal_wrapped(|ui| {
            ui.label("Derive the E(MS) of:");
            for (u, term) in t.terms.iter().enumerate() {
                if ui
                    .selectable_label(u == selected, &term.name)
                    .on_hover_text(format!(
                        "Show how E(MS) of {} is read off the table",
                        term.name
                    ))
                    .accessible_name(format!("Derive {}", term.name))
                    .clicked()
                {
                    commands.push(Command::SelectTerm(u));
                }
            }
        });
        let der = t.derivation(selected);
        let ncol = t.table.columns.len();
        let covered: Vec<bool> = (0..ncol).map(|c| der.covered.contains(&c)).collect();
        let mut row_state = vec![(false, false); t.terms.len()]; // (contains, taken)
        for r in &der.rows {
            row_state[r.row] = (r.contains, r.product.is_some());
        }
        let mark = |r: usize, c: usize| -> Mark {
            let (contains, taken) = row_state.get(r).copied().unwrap_or((false, false));
            let col = c.checked_sub(FIRST_SUBSCRIPT_COL);
            if let Some(col) = col
                && covered.get(col).copied().unwrap_or(false)
            {
                return Mark::Covered;
            }
            if !contains {
                return Mark::Dimmed;
            }
            if !taken {
                // A zero entry cancels the row: point at it.
                if let Some(col) = col
                    && t.table.rows[r].cells[col].value(t.terms[r].random, t.model)
                        == CellValue::Zero
                {
                    return Mark::Warn;
                }
                return Mark::Dimmed;
            }
            Mark::Taken
        };
        let col_tip = |c: usize| -> Option<String> {
            let col = c.checked_sub(FIRST_SUBSCRIPT_COL)?;
            let column = t.table.columns.get(col)?;
            let what = match &column.factor {
                Some(f) => format!("factor {f}"),
                None => "the replicates (error)".to_string(),
            };
            let levels = column
                .levels
                .map_or_else(|| "from data".to_string(), |l| l.to_string());
            Some(format!(
                "Subscript {} of {what}: {} ({}), {} = {levels} levels",
                column.subscript,
                column.kind.letter(),
                column.kind.as_str(),
                column.symbol
            ))
        };
        let cell_tip = |r: usize, c: usize| -> Option<String> {
            let col = c.checked_sub(FIRST_SUBSCRIPT_COL)?;
            let cell = t.table.rows.get(r)?.cells.get(col).copied()?;
            Some(
                match cell {
                    Entry::Dead => "1: the subscript is dead in this term (in parentheses)",
                    Entry::LiveFixed => {
                        if t.terms[r].random && t.model == emslab::Model::Unrestricted {
                            "1†: live in a fixed column, but the unrestricted model does not constrain this random row's effects to sum to zero"
                        } else {
                            "0: live in a fixed column (the effects sum to zero over the fixed levels)"
                        }
                    }
                    Entry::LiveRandom => "1: live in a random column",
                    Entry::Absent => "the column's level count: the subscript is absent from this term",
                }
                .to_string(),
            )
        };
        if let Some(r) = table_view::table_ui(
            ui,
            sub,
            "subscripts",
            &Hooks {
                mark: Some(&mark),
                column_tip: Some(&col_tip),
                cell_tip: Some(&cell_tip),
                selectable: true,
                // The marks show the selected term; a selection band would hide them.
                selected: None,
                max_height: None,
            },
        ) {
            commands.push(Command::SelectTerm(r));
        }

        // The reading, step by step.
        let term = &t.terms[selected];
        let name = &term.name;
        let letters = |cols: &[usize]| {
            cols.iter()
                .map(|&c| t.table.columns[c].subscript.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all_subs: Vec<usize> = term.subscripts.iter().collect();
        ui.add_space(6.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new(format!("E(MS) of {name}, step by step")).strong());
            math_line(
                ui,
                &format!(
                    "1. Cover the columns of {name}'s live subscripts: {}.",
                    if der.covered.is_empty() {
                        "none".to_string()
                    } else {
                        letters(&der.covered)
                    }
                ),
            );
            let taken: Vec<&str> = der
                .rows
                .iter()
                .filter(|r| r.contains)
                .map(|r| t.terms[r.row].name.as_str())
                .collect();
            let skipped: Vec<&str> = der
                .rows
                .iter()
                .filter(|r| !r.contains)
                .map(|r| t.terms[r.row].name.as_str())
                .collect();
            math_line(
                ui,
                &format!(
                    "2. Take the rows whose terms contain all of {name}'s subscripts ({}): {}.{}",
                    letters(&all_subs),
                    taken.join(", "),
                    match skipped.len() {
                        0 => String::new(),
                        1 => format!(" Row {} does not, so it is left out.", skipped[0]),
                        _ => format!(" Rows {} do not, so they are left out.", skipped.join(", ")),
                    }
                ),
            );
            math_line(ui, "3. In each row taken, multiply the uncovered entries:");
            let taken_rows: Vec<&emslab::ems::DerivationRow> =
                der.rows.iter().filter(|r| r.contains).collect();
            let line_of = |r: &emslab::ems::DerivationRow| {
                let entries = r
                    .cells
                    .iter()
                    .map(|&(c, cell, v)| {
                        format!("{} = {}", t.table.columns[c].subscript, entry(t, c, cell, v))
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let result = match r.product {
                    Some(m) if m.0.is_empty() => t.component_text(r.row),
                    Some(m) => format!("{} {}", m.symbolic(&t.design), t.component_text(r.row)),
                    None => "0: the row drops out".to_string(),
                };
                let entries = if entries.is_empty() {
                    "no uncovered entries".to_string()
                } else {
                    entries
                };
                format!("      {}: {entries}  →  {result}", t.terms[r.row].name)
            };
            // Large designs take many rows: only the visible lines are laid out.
            let line_height = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
            egui::ScrollArea::vertical()
                .id_salt("derivation-rows")
                .max_height(line_height * 16.0)
                .auto_shrink([false, true])
                .show_rows(ui, line_height - ui.spacing().item_spacing.y, taken_rows.len(), |ui, range| {
                    let font = egui::TextStyle::Body.resolve(ui.style());
                    let color = ui.visuals().text_color();
                    for r in &taken_rows[range] {
                        let text = line_of(r);
                        math::label(ui, &text, math::job(&text, font.clone(), color), false);
                    }
                });
            math_line(ui, &format!("4. E(MS {name}) = {}", t.ems_text(selected)));
            if let Some(num) = t.ems_numeric_text(selected) {
                math_line(ui, &format!("      = {num}"));
            }
            let test = &t.tests[selected];
            let line = match test.kind {
                TestKind::Exact => format!(
                    "Test: F = MS({name}) / {}, exact: that mean square has the same E(MS) without {name}'s own component.",
                    t.combination_text(&test.denominator)
                ),
                TestKind::Quasi => format!(
                    "Test: no single mean square fits, so F′ = MS({name}) / ({}) with Satterthwaite df; F″ = ({}) / ({}) keeps every sign positive.",
                    t.combination_text(&test.denominator),
                    t.combination_text(&test.f2_numerator),
                    t.combination_text(&test.f2_denominator)
                ),
                TestKind::None => format!(
                    "No test: {}.",
                    test.reason
                        .map(|r| emslab::report::words::no_test(t, r))
                        .unwrap_or_default()
                ),
            };
            math_line(ui, &line);
            if let Some(e) = t.estimator(selected) {
                math_line(
                    ui,
                    &format!("Estimator: {} = {}", t.component_text(selected), t.estimator_text(e)),
                );
            }
        });
    }
}
