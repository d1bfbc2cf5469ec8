//! The Data view: open a CSV (file dialog or drop), preview its first rows, see which
//! column each factor and the response come from, follow the read, check the balance.
//! It draws a [`DataFile`] and changes nothing itself: a new column choice or a new read
//! goes to the app as a command, which replaces the file's state (and clears the analysis).

use egui::{RichText, Ui};
use emslab::data::{Coding, Dataset};
use emslab::report::{Align, Cell, Table};
use emslab::{Design, DesignSpec};

use super::command::{Command, DialogPurpose};
use super::data::{DataFile, Preview, ReadState, column_of};
use super::table_view::{self, Hooks};

/// The Data view.
pub fn data_ui(
    ui: &mut Ui,
    data: Option<&DataFile>,
    design: Option<&Design>,
    spec: &DesignSpec,
    commands: &mut Vec<Command>,
) {
    header_ui(ui, data, design, commands);
    let Some(data) = data else {
        ui.add_space(8.0);
        ui.label("No data yet. The CSV needs a header row naming the columns: one column per factor (named as the factor), and the response.");
        return;
    };
    state_ui(ui, data, design, spec, commands);
    let pv = match &data.preview {
        Ok(p) => p,
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
            return;
        }
    };
    if let Some(d) = design {
        columns_ui(ui, data, pv, d, spec, commands);
    }
    preview_ui(ui, pv);
    if let (ReadState::Loaded(ds), false) = (&data.state, data.stale(Some(spec))) {
        balance_ui(ui, ds, commands);
    }
}

fn header_ui(
    ui: &mut Ui,
    data: Option<&DataFile>,
    design: Option<&Design>,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        ui.heading("Data");
        if ui
            .button("Open CSV…")
            .on_hover_text("Open a CSV file with one column per factor and one for the response (Ctrl+D); you can also drop it on the window")
            .clicked()
        {
            commands.push(Command::Dialog(DialogPurpose::OpenData));
        }
        if let Some(d) = data {
            ui.label(RichText::new(d.path.display().to_string()).monospace());
            if design.is_some()
                && ui
                    .button("Re-read")
                    .on_hover_text("Read the file again with the current design")
                    .clicked()
            {
                commands.push(Command::RereadData);
            }
        }
    });
    if design.is_none() {
        ui.colored_label(
            ui.visuals().error_fg_color,
            "The design has a problem: fix it on the Design view before loading data (the columns are matched to its factors).",
        );
    }
}

/// The read: its progress, its error, or a design changed since.
fn state_ui(
    ui: &mut Ui,
    data: &DataFile,
    design: Option<&Design>,
    spec: &DesignSpec,
    commands: &mut Vec<Command>,
) {
    match &data.state {
        ReadState::Reading(j) => {
            ui.add_space(6.0);
            if j.ui(ui) {
                commands.push(Command::CancelJob);
            }
        }
        ReadState::Failed(e) => {
            ui.add_space(6.0);
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("⚠ {e} No data are loaded."),
            );
        }
        ReadState::Loaded(_) if data.stale(Some(spec)) => {
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "The design changed since the data were read.",
                );
                if design.is_some() && ui.button("Re-read with the current design").clicked() {
                    commands.push(Command::RereadData);
                }
            });
        }
        ReadState::Loaded(_) => {}
    }
}

/// Which column each factor and the response come from.
fn columns_ui(
    ui: &mut Ui,
    data: &DataFile,
    pv: &Preview,
    d: &Design,
    spec: &DesignSpec,
    commands: &mut Vec<Command>,
) {
    ui.add_space(8.0);
    ui.heading("Columns");
    ui.label(
        RichText::new(format!(
            "{} columns, {} separated; each factor takes the column of its name (ignoring case) unless you choose another.",
            pv.header.len(),
            match pv.delimiter {
                b';' => "semicolon",
                b'\t' => "tab",
                _ => "comma",
            }
        ))
        .weak(),
    );
    let loaded = data.dataset().filter(|_| !data.stale(Some(spec)));
    let factor_cols: Vec<Option<usize>> = d
        .factors
        .iter()
        .map(|f| column_of(&pv.header, &data.columns, &f.name))
        .collect();
    egui::Grid::new("column-map")
        .num_columns(3)
        .spacing([14.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("Factor").strong());
            ui.label(RichText::new("Column").strong());
            ui.label(RichText::new("Levels in the data").strong());
            ui.end_row();
            for (i, f) in d.factors.iter().enumerate() {
                ui.label(&f.name);
                factor_column_ui(ui, data, pv, &f.name, i, &factor_cols, commands);
                levels_label(ui, loaded.and_then(|l| l.factors.get(i)));
                ui.end_row();
            }
            ui.label(RichText::new("Response").strong())
                .on_hover_text("The column with the measured response");
            response_column_ui(ui, data, pv, spec, &factor_cols, loaded, commands);
            ui.label("");
            ui.end_row();
        });
}

fn factor_column_ui(
    ui: &mut Ui,
    data: &DataFile,
    pv: &Preview,
    factor: &str,
    i: usize,
    factor_cols: &[Option<usize>],
    commands: &mut Vec<Command>,
) {
    let col = factor_cols[i];
    ui.horizontal(|ui| {
        let mut chosen = col;
        egui::ComboBox::from_id_salt(("factor-column", i))
            .selected_text(match col {
                Some(c) => format!("{} (column {})", pv.header[c], c + 1),
                None => "(choose a column)".to_string(),
            })
            .show_ui(ui, |ui| {
                for (c, h) in pv.header.iter().enumerate() {
                    ui.selectable_value(&mut chosen, Some(c), format!("{h} (column {})", c + 1));
                }
            })
            .response
            .accessible_name(format!("Column for factor {factor}"))
            .on_hover_text(format!("The column that holds the levels of {factor}"));
        if chosen != col
            && let Some(c) = chosen
        {
            let column = pv.header[c].clone();
            let mut columns = data.columns.clone();
            columns.retain(|(f, _)| !f.eq_ignore_ascii_case(factor));
            // The design's name is the default: no entry needed for it.
            if !column.eq_ignore_ascii_case(factor) {
                columns.push((factor.to_string(), column));
            }
            commands.push(Command::SetColumns {
                response: data.response.clone(),
                columns,
            });
        }
        if col.is_none() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("no column named {factor}: choose its column here, or rename the factor (Design view)"),
            );
        } else if factor_cols.iter().filter(|&&x| x == col).count() > 1 {
            ui.colored_label(
                ui.visuals().error_fg_color,
                "this column is taken by another factor too: choose another",
            );
        }
    });
}

fn levels_label(ui: &mut Ui, found: Option<&emslab::data::FactorData>) {
    match found {
        Some(fd) => {
            let coding = match fd.coding {
                Coding::Crossed => "",
                Coding::Restarting => ", labels restart within each parent",
                Coding::Unique => ", labels unique across parents",
                Coding::Mixed => ", labels partly repeated across parents",
            };
            ui.label(format!("{}{coding}", fd.levels));
        }
        None => {
            ui.label("—");
        }
    }
}

fn response_column_ui(
    ui: &mut Ui,
    data: &DataFile,
    pv: &Preview,
    spec: &DesignSpec,
    factor_cols: &[Option<usize>],
    loaded: Option<&std::sync::Arc<Dataset>>,
    commands: &mut Vec<Command>,
) {
    let current = data
        .response
        .clone()
        .or_else(|| spec.response.clone())
        .or_else(|| loaded.map(|l| l.response.clone()));
    let mut chosen = current.clone();
    egui::ComboBox::from_id_salt("response-column")
        .selected_text(
            chosen
                .clone()
                .unwrap_or_else(|| "(the only numeric non-factor column)".into()),
        )
        .show_ui(ui, |ui| {
            for h in &pv.header {
                let is_factor = factor_cols.iter().flatten().any(|&c| pv.header[c] == *h);
                if !is_factor {
                    ui.selectable_value(&mut chosen, Some(h.clone()), h);
                }
            }
        })
        .response
        .accessible_name("Response column");
    if chosen != current {
        commands.push(Command::SetColumns {
            response: chosen,
            columns: data.columns.clone(),
        });
    }
}

fn preview_ui(ui: &mut Ui, pv: &Preview) {
    ui.add_space(8.0);
    ui.heading(format!("First {} rows", pv.rows.len()));
    let mut t = Table::new("preview", "Preview");
    t.headers = vec![pv.header.iter().map(Cell::text).collect()];
    t.align = (0..pv.header.len())
        .map(|c| {
            let numeric = !pv.rows.is_empty()
                && pv.rows.iter().all(|r| {
                    r.fields
                        .get(c)
                        .is_some_and(|v| v.trim().replace(',', ".").parse::<f64>().is_ok())
                });
            if numeric { Align::Right } else { Align::Left }
        })
        .collect();
    for r in &pv.rows {
        t.push(r.fields.iter().map(Cell::text).collect());
    }
    table_view::table_ui(
        ui,
        &t,
        "preview",
        &Hooks {
            max_height: Some(260.0),
            ..Hooks::default()
        },
    );
}

/// The balance of the data read, and Run.
fn balance_ui(ui: &mut Ui, ds: &Dataset, commands: &mut Vec<Command>) {
    ui.add_space(8.0);
    ui.heading("Balance");
    let b = &ds.balance;
    ui.label(format!(
        "{} rows read from {}; response `{}`; {} cells of {} observation{}.",
        ds.n_rows,
        ds.source,
        ds.response,
        b.n_cells,
        b.replicates,
        if b.replicates == 1 { "" } else { "s" }
    ));
    if b.is_balanced() {
        ui.label(
            RichText::new("✓ Balanced: every cell holds the same number of observations.")
                .color(ok_color(ui)),
        );
    } else {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!(
                "⚠ Unbalanced: {} of {} cells do not hold {} observations. The analysis gives Type III (or Type I) sums of squares with the expected mean squares of their mean squares, the tests and moment estimates built from them, and the REML fit.",
                b.n_problems, b.n_cells, b.replicates
            ),
        );
        let t = balance_table(b);
        table_view::table_ui(ui, &t, "balance", &Hooks::default());
    }
    let level_notes = b.level_notes.iter().map(ToString::to_string);
    for n in level_notes.chain(ds.notes.iter().map(emslab::report::data_notes::render)) {
        table_view::notes_label(ui, &n);
    }
    ui.add_space(10.0);
    if ui
        .button(RichText::new("Run the analysis").strong())
        .on_hover_text("ANOVA, F tests, variance components with intervals, REML fit (Ctrl+R)")
        .clicked()
    {
        commands.push(Command::RunAnalysis);
    }
}

/// The cells that do not hold the expected number of observations.
pub fn balance_table(b: &emslab::data::Balance) -> Table {
    let mut t = Table::new("balance", "Cells short or extra").columns(&[
        ("Cell", Align::Left),
        ("Observations", Align::Right),
        ("", Align::Left),
    ]);
    for p in &b.problems {
        let what = if p.count < b.replicates {
            format!("{} short", b.replicates - p.count)
        } else {
            format!("{} extra", p.count - b.replicates)
        };
        t.push(vec![
            Cell::text(&p.cell),
            Cell::int(p.count),
            Cell::text(what),
        ]);
    }
    if b.n_problems > b.problems.len() {
        t.notes
            .push(format!("… and {} more.", b.n_problems - b.problems.len()));
    }
    t
}

fn ok_color(ui: &Ui) -> egui::Color32 {
    if ui.visuals().dark_mode {
        egui::Color32::from_rgb(120, 200, 120)
    } else {
        egui::Color32::from_rgb(20, 120, 40)
    }
}
