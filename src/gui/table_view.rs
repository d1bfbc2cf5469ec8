//! One renderer for every [`report::Table`]: the same rows the export writers use, drawn
//! with `egui_extras::TableBuilder`, sigma notation laid out with subscripts, per-column
//! alignment, notes underneath, and an export bar (copy LaTeX / Markdown, save in any format).

use std::hash::{Hash, Hasher};

use egui::{Align, Color32, Layout, RichText, Sense, TextStyle, Ui};
use egui_extras::{Column, TableBuilder};
use emslab::report::{Align as ColAlign, Format, Table};

use super::command::{Command, DocKind, ExportTarget};
use super::math;

/// How a cell is marked (derivation view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    None,
    /// A covered column (the selected term's live subscripts).
    Covered,
    /// An uncovered entry of a row taken into the EMS.
    Taken,
    /// A row left out (does not contain the term's subscripts, or cancelled by a 0).
    Dimmed,
    /// Attention: a negative estimate, a failed check.
    Warn,
}

/// Hooks that specialise the generic renderer.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Mark of a body cell (row, column).
    pub mark: Option<&'a dyn Fn(usize, usize) -> Mark>,
    /// Tool tip of a column (its header).
    pub column_tip: Option<&'a dyn Fn(usize) -> Option<String>>,
    /// Tool tip of a body cell.
    pub cell_tip: Option<&'a dyn Fn(usize, usize) -> Option<String>>,
    /// Rows can be clicked (selects them); the selected row is highlighted.
    pub selectable: bool,
    pub selected: Option<usize>,
    /// Limit the height (a scrolling body, for long tables such as data previews).
    pub max_height: Option<f32>,
}

/// Colors of the marks, readable in light and dark themes.
pub fn mark_color(ui: &Ui, mark: Mark) -> Option<Color32> {
    let dark = ui.visuals().dark_mode;
    match mark {
        Mark::None | Mark::Dimmed => None,
        Mark::Covered => Some(if dark {
            Color32::from_rgb(70, 70, 70)
        } else {
            Color32::from_rgb(200, 200, 200)
        }),
        Mark::Taken => Some(if dark {
            Color32::from_rgb(30, 70, 45)
        } else {
            Color32::from_rgb(200, 235, 205)
        }),
        Mark::Warn => Some(if dark {
            Color32::from_rgb(90, 50, 20)
        } else {
            Color32::from_rgb(255, 225, 190)
        }),
    }
}

/// A stable id for the table's layout: changes when its content changes, so that columns
/// are measured again (auto-sized columns would otherwise only grow).
fn layout_salt(table: &Table, salt: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    salt.hash(&mut h);
    table.key.hash(&mut h);
    for row in table.headers.iter().chain(table.rows.iter()) {
        for c in row {
            c.text.hash(&mut h);
        }
    }
    h.finish()
}

/// One cell's text as a label (with notation), aligned as its column says. Header lines
/// stack top-down; a body cell is centred vertically in its row.
fn cell_label(ui: &mut Ui, text: &str, align: ColAlign, header: bool, dim: bool) {
    let font = TextStyle::Body.resolve(ui.style());
    let color = if dim {
        ui.visuals().weak_text_color()
    } else if header {
        ui.visuals().strong_text_color()
    } else {
        ui.visuals().text_color()
    };
    let layout = match (align, header) {
        (ColAlign::Left, _) => Layout::left_to_right(Align::Center),
        (ColAlign::Right, _) => Layout::right_to_left(Align::Center),
        (ColAlign::Center, true) => Layout::top_down(Align::Center),
        (ColAlign::Center, false) => Layout::centered_and_justified(egui::Direction::LeftToRight),
    };
    // An empty header line still takes a line, so that header rows stay aligned.
    let text = if header && text.is_empty() { " " } else { text };
    let draw = |ui: &mut Ui| {
        if math::has_notation(text) {
            math::label(ui, text, math::job(text, font.clone(), color), false);
        } else {
            ui.add(egui::Label::new(RichText::new(text).color(color)).extend());
        }
    };
    if header {
        let h = ui.text_style_height(&TextStyle::Body);
        ui.allocate_ui_with_layout(egui::vec2(ui.available_width(), h), layout, draw);
    } else {
        ui.with_layout(layout, draw);
    }
}

/// Draws a table; returns the row clicked this frame (when `hooks.selectable`).
pub fn table_ui(ui: &mut Ui, table: &Table, salt: &str, hooks: &Hooks<'_>) -> Option<usize> {
    let ncols = table.ncols();
    if ncols == 0 {
        return None;
    }
    let line = ui.text_style_height(&TextStyle::Body);
    let row_height = line + 6.0;
    let header_height = table.headers.len().max(1) as f32 * (line + 2.0) + 4.0;
    let mut clicked = None;
    let id = layout_salt(table, salt);
    ui.push_id(id, |ui| {
        let mut builder = TableBuilder::new(ui)
            .id_salt(id)
            .striped(true)
            .resizable(false)
            .cell_layout(Layout::left_to_right(Align::Center))
            .columns(Column::auto().at_least(24.0), ncols)
            .auto_shrink([true, true]);
        match hooks.max_height {
            Some(h) => builder = builder.vscroll(true).max_scroll_height(h),
            None => builder = builder.vscroll(false),
        }
        if hooks.selectable {
            builder = builder.sense(Sense::click());
        }
        builder
            .header(header_height, |mut header| {
                for c in 0..ncols {
                    let (_, resp) = header.col(|ui| {
                        ui.vertical(|ui| {
                            ui.spacing_mut().item_spacing.y = 2.0;
                            for h in &table.headers {
                                let text = h.get(c).map_or("", |x| x.text.as_str());
                                cell_label(ui, text, table.align[c], true, false);
                            }
                        });
                    });
                    if let Some(tip) = hooks.column_tip.and_then(|f| f(c)) {
                        resp.on_hover_text(tip);
                    }
                }
            })
            .body(|body| {
                body.rows(row_height, table.rows.len(), |mut row| {
                    let r = row.index();
                    if hooks.selectable {
                        row.set_selected(hooks.selected == Some(r));
                    }
                    for c in 0..ncols {
                        let text = table.rows[r].get(c).map_or("", |x| x.text.as_str());
                        let mark = hooks.mark.map_or(Mark::None, |f| f(r, c));
                        let (_, resp) = row.col(|ui| {
                            if let Some(color) = mark_color(ui, mark) {
                                // Fill the gaps between cells too, so a column reads as one band.
                                let gap = ui.spacing().item_spacing * 0.5;
                                ui.painter()
                                    .rect_filled(ui.max_rect().expand2(gap), 0.0, color);
                            }
                            cell_label(ui, text, table.align[c], false, mark == Mark::Dimmed);
                        });
                        if let Some(tip) = hooks.cell_tip.and_then(|f| f(r, c)) {
                            resp.on_hover_text(tip);
                        }
                    }
                    if hooks.selectable && row.response().clicked() {
                        clicked = Some(r);
                    }
                });
            });
    });
    for note in &table.notes {
        notes_label(ui, note);
    }
    clicked
}

/// A footnote under a table, wrapped, with notation.
pub fn notes_label(ui: &mut Ui, note: &str) {
    let font = TextStyle::Small.resolve(ui.style());
    let font = egui::FontId::new(font.size.max(12.0), font.family);
    let color = ui.visuals().weak_text_color();
    let mut job = math::job(note, font, color);
    job.wrap.max_width = ui.available_width().max(200.0);
    math::label(ui, note, job, true);
}

/// A table's title with its export bar: copy LaTeX, copy Markdown, save as any format.
pub fn title_bar(ui: &mut Ui, table: &Table, doc: DocKind, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading(&table.title);
        if ui
            .small_button("?")
            .on_hover_text("What this table says (Help view)")
            .accessible_name(format!("Help on {}", table.key))
            .clicked()
        {
            commands.push(Command::ShowHelp(table.key.clone()));
        }
        ui.add_space(12.0);
        let target = ExportTarget {
            doc,
            table: Some(table.key.clone()),
        };
        if ui
            .small_button("Copy LaTeX")
            .on_hover_text(format!(
                "Copy the {} table as a booktabs LaTeX table (needs \\usepackage{{booktabs}})",
                table.title
            ))
            .accessible_name(format!("Copy LaTeX of {}", table.key))
            .clicked()
        {
            commands.push(Command::Copy {
                target: target.clone(),
                format: Format::Latex,
            });
        }
        if ui
            .small_button("Copy Markdown")
            .on_hover_text(format!(
                "Copy the {} table as a Markdown table",
                table.title
            ))
            .accessible_name(format!("Copy Markdown of {}", table.key))
            .clicked()
        {
            commands.push(Command::Copy {
                target: target.clone(),
                format: Format::Markdown,
            });
        }
        let menu = egui::containers::menu::MenuButton::new("Save as…");
        let (resp, _) = menu.ui(ui, |ui| {
            for format in Format::ALL {
                if ui
                    .button(format_label(format))
                    .accessible_name(format!("Save {} as {}", table.key, format.as_str()))
                    .clicked()
                {
                    commands.push(Command::ExportDialog {
                        target: target.clone(),
                        format,
                    });
                    ui.close();
                }
            }
        });
        resp.on_hover_text(
            "Write this table to a file, in the same format as the command line's --table output",
        )
        .accessible_name(format!("Save {} as", table.key));
    });
}

/// The name of a format in menus.
pub fn format_label(format: Format) -> &'static str {
    match format {
        Format::Text => "Text (.txt)",
        Format::Markdown => "Markdown (.md)",
        Format::Latex => "LaTeX (.tex)",
        Format::Csv => "CSV (.csv)",
        Format::Html => "HTML (.html)",
        Format::Json => "JSON (.json)",
    }
}
