//! Watching the EMS derive: the subscript table of Rule 6 with the selected term's live
//! columns covered and the rows it takes highlighted, the step-by-step reading of its E(MS)
//! (the report's derivation table and its rows of the EMS, tests and estimators tables:
//! the words of the exported report), then the EMS, test and estimator tables as exported,
//! and the precision of means step by step ([`super::precision_view`]).

use egui::{RichText, TextStyle, Ui};
use emslab::EmsTable;
use emslab::ems::{Cell as Entry, CellValue};
use emslab::report::{Cell, Document, Table};

use super::command::{Command, DocKind};
use super::doc::Derived;
use super::help;
use super::math;
use super::table_view::{self, Hooks, Mark};

/// First subscript column of the report's subscript table (after Term and Subscripts).
const FIRST_SUBSCRIPT_COL: usize = 2;

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

/// The EMS view: the derivation of the selected term, then the EMS, test and estimator
/// tables as exported.
pub fn ems_ui(ui: &mut Ui, derived: &Derived, selected: usize, commands: &mut Vec<Command>) {
    let (Some(t), Some(doc)) = (&derived.ems, &derived.document) else {
        return;
    };
    let selected = selected.min(t.terms.len().saturating_sub(1));
    derivation_ui(ui, t, doc, derived, selected, commands);
    ui.add_space(14.0);
    titled_table(ui, doc, "ems", DocKind::Ems, commands);
    titled_table(ui, doc, "tests", DocKind::Ems, commands);
    titled_table(ui, doc, "estimators", DocKind::Ems, commands);
    if let Some(p) = derived.precision() {
        ui.add_space(6.0);
        super::precision_view::precision_ui(ui, t, doc, p, commands);
    }
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

/// The subscript table with the selected term's derivation marked on it, and the steps.
fn derivation_ui(
    ui: &mut Ui,
    t: &EmsTable,
    doc: &Document,
    derived: &Derived,
    selected: usize,
    commands: &mut Vec<Command>,
) {
    let Some(sub) = table(doc, "subscripts") else {
        return;
    };
    table_view::title_bar(ui, sub, DocKind::Ems, commands);
    term_picker(ui, t, selected, commands);
    if let Some(r) = marked_subscript_table(ui, t, sub, selected) {
        commands.push(Command::SelectTerm(r));
    }
    ui.add_space(6.0);
    egui::Frame::group(ui.style()).show(ui, |ui| steps_ui(ui, t, doc, derived, selected));
}

fn term_picker(ui: &mut Ui, t: &EmsTable, selected: usize, commands: &mut Vec<Command>) {
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
}

/// The report's subscript table, its cells marked for the selected term: covered columns,
/// the entries multiplied, rows left out, a 0 that cancels a row. Returns a clicked row.
fn marked_subscript_table(
    ui: &mut Ui,
    t: &EmsTable,
    sub: &Table,
    selected: usize,
) -> Option<usize> {
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
                && t.table.rows[r].cells[col].value(t.terms[r].random, t.model) == CellValue::Zero
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
    table_view::table_ui(
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
    )
}

/// The rows of a report table for a term: the row naming it in the first column, and the
/// rows after it with that column empty (the derivation table lists a term's rows so).
fn rows_of<'a>(t: &'a Table, name: &str) -> Vec<&'a Vec<Cell>> {
    let mut out = Vec::new();
    let mut inside = false;
    for row in &t.rows {
        let first = row.first().map_or("", |c| c.text.as_str());
        if !first.is_empty() {
            inside = first == name;
        }
        if inside {
            out.push(row);
        }
    }
    out
}

/// The selected term's derivation, in the words and rows of the report's tables: the
/// derivation table (`--steps`), then its rows of the EMS, tests and estimators tables.
fn steps_ui(ui: &mut Ui, t: &EmsTable, doc: &Document, derived: &Derived, selected: usize) {
    let name = &t.terms[selected].name;
    ui.label(RichText::new(format!("E(MS) of {name}, step by step")).strong());
    let Some(steps) = derived.steps_table() else {
        return;
    };
    for note in &steps.notes {
        table_view::notes_label(ui, note);
    }
    let rows = rows_of(steps, name);
    let covered = rows
        .first()
        .and_then(|r| r.get(1))
        .map_or("", |c| c.text.as_str());
    math_line(
        ui,
        &format!(
            "Covered columns: {}",
            if covered.is_empty() { "none" } else { covered }
        ),
    );
    let mut slice = Table::new("derivation", &steps.title);
    slice.headers = vec![steps.headers[0][2..].to_vec()];
    slice.align = steps.align[2..].to_vec();
    slice.rows = rows.iter().map(|r| r[2..].to_vec()).collect();
    table_view::table_ui(
        ui,
        &slice,
        &format!("derivation-{name}"),
        &Hooks {
            max_height: Some(360.0),
            ..Hooks::default()
        },
    );
    // The term's rows of the EMS, tests and estimators tables, as exported.
    let line = |key: &str, cols: &[usize], label: &str| -> Option<String> {
        let tab = table(doc, key)?;
        let row = tab.rows.iter().find(|r| {
            r.first().is_some_and(|c| {
                c.text == *name
                    || c.text == format!("σ²({name})")
                    || (name == "Residual" && c.text == "σ²")
            })
        })?;
        let parts: Vec<&str> = cols
            .iter()
            .filter_map(|&c| row.get(c).map(|x| x.text.as_str()))
            .filter(|s| !s.is_empty() && *s != "—")
            .collect();
        Some(format!("{label}{}", parts.join(";  ")))
    };
    let t_ems = line("ems", &[4], &format!("E(MS {name}) = "));
    let t_num = line("ems", &[5], "      = ");
    let t_test = line("tests", &[1, 2, 3], "Test: ");
    let t_est = line("estimators", &[0, 1], "Estimator: ");
    for l in [t_ems, t_num, t_test, t_est].into_iter().flatten() {
        math_line(ui, &l);
    }
}
