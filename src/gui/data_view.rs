//! Data: open a CSV (file dialog or drop), preview its first rows, see which column each
//! factor and the response come from, read it off the UI thread with a progress bar, and
//! check the balance before analysing. The results view shows the analysis report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{RichText, Ui};
use emslab::Design;
use emslab::DesignSpec;
use emslab::data::{Coding, DataError, Dataset, ReadOptions};
use emslab::report::{self, Align, Cell, Format, Table};

use super::command::Command;
use super::jobs::{CANCELLED, Job, ProgressReader};
use super::results::{self, AnalysisOutput, AnalysisSettings as Settings};
use super::table_view::{self, Hooks};

pub use super::results::AnalysisSettings;

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 20;

/// The header and first rows of a CSV, as the data module reads them (its delimiter
/// sniffing and tokenizer).
pub use emslab::data::Preview;

/// Reads the header and the first rows of a CSV.
pub fn preview(path: &Path) -> Result<Preview, String> {
    emslab::data::preview(path, PREVIEW_ROWS).map_err(|e| e.to_string())
}

/// The parts of a design the CSV reader uses.
fn reading_key(spec: &DesignSpec) -> String {
    let factors: Vec<String> = spec
        .factors
        .iter()
        .map(|f| format!("{}|{:?}|{}", f.name, f.levels, f.nested_in.join(",")))
        .collect();
    format!(
        "{};{:?};{:?}",
        factors.join(";"),
        spec.replicates,
        spec.response
    )
}

/// A loaded dataset.
pub struct Loaded {
    pub dataset: Arc<Dataset>,
}

#[derive(Default)]
pub struct DataPanel {
    path: Option<PathBuf>,
    pub preview: Option<Preview>,
    /// The response column chosen here (overrides the design's).
    pub response: Option<String>,
    /// Columns chosen here for factors (factor, column); other factors match by name.
    pub columns: Vec<(String, String)>,
    pub loaded: Option<Loaded>,
    /// The design changed since the data were read.
    pub stale: bool,
    /// What of the design the data were read with.
    read_key: Option<String>,
    pub error: Option<String>,
    load_job: Option<Job<(Result<Dataset, DataError>, Design)>>,
    analysis_job: Option<Job<Result<AnalysisOutput, String>>>,
    pub analysis: Option<AnalysisOutput>,
    /// The analysis no longer matches the design or the model.
    pub analysis_stale: bool,
    results: results::ResultsView,
}

impl DataPanel {
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn has_analysis(&self) -> bool {
        self.analysis.is_some()
    }

    pub fn is_busy(&self) -> bool {
        self.load_job.is_some() || self.analysis_job.is_some()
    }

    /// The design was edited: the data need reading again only when what the reader uses
    /// changed (factor names, levels, nesting, replicates, response), not for a new title.
    /// `spec` is the checked design's spec (`None` while the design is invalid).
    pub fn design_changed(&mut self, spec: Option<&DesignSpec>) {
        let key = spec.map(reading_key);
        self.stale = self.loaded.is_some() && (key.is_none() || self.read_key != key);
        if self.analysis.is_some() {
            self.analysis_stale = true;
        }
    }

    pub fn model_changed(&mut self) {
        if self.analysis.is_some() {
            self.analysis_stale = true;
        }
    }

    /// Starts reading a CSV for a design (a previous read is cancelled).
    pub fn open(&mut self, path: PathBuf, design: &Design, ctx: &egui::Context) {
        self.cancel();
        self.error = None;
        self.preview = match preview(&path) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error = Some(e);
                None
            }
        };
        if self.path.as_ref() != Some(&path) {
            self.response = None;
            self.columns.clear();
            self.analysis = None;
        }
        self.path = Some(path.clone());
        self.start_read(path, design, ctx);
    }

    // `DataError` is the library's error type, returned as is.
    #[allow(clippy::result_large_err)]
    fn start_read(&mut self, path: PathBuf, design: &Design, ctx: &egui::Context) {
        self.read_key = Some(reading_key(design.spec()));
        let design = design.clone();
        let opts = ReadOptions {
            response: self.response.clone(),
            columns: self.columns.clone(),
            keep_rows: true,
        };
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let job = Job::spawn(format!("Reading {name}"), ctx, move |progress| {
            let source = path.display().to_string();
            let read = std::fs::File::open(&path)
                .map_err(|e| DataError::io(&source, &e))
                .and_then(|file| {
                    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                    let reader =
                        ProgressReader::new(std::io::BufReader::new(file), size, progress.clone());
                    emslab::data::read_csv_from(reader, &source, &design, &opts)
                });
            (read, design)
        });
        match job {
            Ok(j) => self.load_job = Some(j),
            Err(e) => self.error = Some(e),
        }
    }

    /// Re-reads the file with the current design (after edits to the design).
    pub fn reread(&mut self, design: &Design, ctx: &egui::Context) {
        if let Some(p) = self.path.clone() {
            self.cancel();
            self.error = None;
            self.start_read(p, design, ctx);
        }
    }

    pub fn cancel(&mut self) {
        if let Some(j) = self.load_job.take() {
            j.cancel();
            self.error = Some("Reading was cancelled; the data were not loaded.".into());
        }
        if let Some(j) = self.analysis_job.take() {
            // The worker cannot be interrupted inside the REML optimiser: its result is
            // dropped when it arrives.
            j.cancel();
            self.error = Some("The analysis was cancelled.".into());
        }
    }

    /// Collects finished jobs.
    pub fn poll(&mut self, _ctx: &egui::Context, _commands: &mut Vec<Command>) {
        if let Some(job) = &mut self.load_job
            && let Some(out) = job.poll()
        {
            let cancelled = job.is_cancelled();
            self.load_job = None;
            match out {
                Ok((Ok(ds), design)) => match ds.sized_design(&design) {
                    Ok(_) => {
                        self.loaded = Some(Loaded {
                            dataset: Arc::new(ds),
                        });
                        self.stale = false;
                        self.analysis = None;
                    }
                    Err(e) => self.error = Some(format!("The data do not fit the design: {e}")),
                },
                Ok((Err(e), _)) if cancelled || e.to_string().contains(CANCELLED) => {
                    self.error = Some("Reading was cancelled; the data were not loaded.".into());
                }
                Ok((Err(e), _)) => self.error = Some(e.to_string()),
                Err(()) => {
                    self.error =
                        Some("Reading the data failed unexpectedly (the worker stopped).".into())
                }
            }
        }
        if let Some(job) = &mut self.analysis_job
            && let Some(out) = job.poll()
        {
            self.analysis_job = None;
            match out {
                Ok(Ok(a)) => {
                    self.analysis = Some(a);
                    self.analysis_stale = false;
                    self.error = None;
                }
                Ok(Err(e)) => self.error = Some(e),
                Err(()) => {
                    self.error =
                        Some("The analysis failed unexpectedly (the worker stopped).".into())
                }
            }
        }
    }

    /// Starts the analysis of the loaded data.
    pub fn run_analysis(
        &mut self,
        design: &Design,
        settings: Settings,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        let Some(loaded) = &self.loaded else {
            return Err(
                "Load data first: open a CSV on the Data view (Ctrl+D) or drop it on the window."
                    .into(),
            );
        };
        if self.stale {
            return Err(
                "The design changed since the data were read: re-read the data first (Data view)."
                    .into(),
            );
        }
        let ds = Arc::clone(&loaded.dataset);
        let design = design.clone();
        let job = Job::spawn("Analysing", ctx, move |progress| {
            results::analyze(&design, &ds, settings, progress)
        })?;
        self.analysis_job = Some(job);
        Ok(())
    }

    /// A table (or the whole analysis report) in a format, through the report writers.
    pub fn render(&self, table: Option<&str>, format: Format) -> Result<String, String> {
        let a = self
            .analysis
            .as_ref()
            .ok_or("Run the analysis first (Data view, or Ctrl+R).")?;
        a.render(table, format)
    }

    /// The progress of running work, for the status bar.
    pub fn progress_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        let mut cancel = false;
        if let Some(j) = &self.load_job {
            cancel |= j.ui(ui);
        }
        if let Some(j) = &self.analysis_job {
            cancel |= j.ui(ui);
        }
        if cancel {
            commands.push(Command::CancelJob);
        }
        if self.is_busy() {
            ui.separator();
        }
    }

    // ------------------------------------------------------------------ views

    pub fn data_ui(
        &mut self,
        ui: &mut Ui,
        design: Option<&Design>,
        spec: &DesignSpec,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            ui.heading("Data");
            if ui
                .button("Open CSV…")
                .on_hover_text("Open a CSV file with one column per factor and one for the response (Ctrl+D); you can also drop it on the window")
                .clicked()
            {
                commands.push(Command::Dialog(super::command::DialogPurpose::OpenData));
            }
            if let Some(p) = &self.path {
                ui.label(RichText::new(p.display().to_string()).monospace());
                if let Some(d) = design
                    && ui
                        .button("Re-read")
                        .on_hover_text("Read the file again with the current design")
                        .clicked()
                {
                    self.reread(d, ui.ctx());
                }
            }
        });
        if design.is_none() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                "The design has a problem: fix it on the Design view before loading data (the columns are matched to its factors).",
            );
        }
        if let Some(j) = &self.load_job {
            ui.add_space(6.0);
            if j.ui(ui) {
                commands.push(Command::CancelJob);
            }
        }
        if let Some(e) = &self.error {
            ui.add_space(6.0);
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
        }
        if self.stale && self.loaded.is_some() {
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "The design changed since the data were read.",
                );
                if let Some(d) = design
                    && ui.button("Re-read with the current design").clicked()
                {
                    self.reread(d, ui.ctx());
                }
            });
        }
        let Some(pv) = self.preview.clone() else {
            if self.path.is_none() {
                ui.add_space(8.0);
                ui.label("No data yet. The CSV needs a header row naming the columns: one column per factor (named as the factor), and the response.");
            }
            return;
        };

        // ---- columns
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
        if let Some(d) = design {
            egui::Grid::new("column-map")
                .num_columns(3)
                .spacing([14.0, 4.0])
                .striped(true)
                .show(ui, |ui| {
                    ui.label(RichText::new("Factor").strong());
                    ui.label(RichText::new("Column").strong());
                    ui.label(RichText::new("Levels in the data").strong());
                    ui.end_row();
                    let factor_cols: Vec<Option<usize>> = d
                        .factors
                        .iter()
                        .map(|f| column_of(&pv.header, &self.columns, &f.name))
                        .collect();
                    let mut remap: Option<(String, String)> = None;
                    for (i, f) in d.factors.iter().enumerate() {
                        ui.label(&f.name);
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
                                .accessible_name(format!("Column for factor {}", f.name))
                                .on_hover_text(format!("The column that holds the levels of {}", f.name));
                            if chosen != col
                                && let Some(c) = chosen
                            {
                                remap = Some((f.name.clone(), pv.header[c].clone()));
                            }
                            if col.is_none() {
                                ui.colored_label(
                                    ui.visuals().error_fg_color,
                                    format!("no column named {}: choose its column here, or rename the factor (Design view)", f.name),
                                );
                            } else if factor_cols.iter().filter(|&&x| x == col).count() > 1 {
                                ui.colored_label(
                                    ui.visuals().error_fg_color,
                                    "this column is taken by another factor too: choose another",
                                );
                            }
                        });
                        let found = self
                            .loaded
                            .as_ref()
                            .filter(|_| !self.stale)
                            .and_then(|l| l.dataset.factors.get(i));
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
                        ui.end_row();
                    }
                    ui.label(RichText::new("Response").strong())
                        .on_hover_text("The column with the measured response");
                    let current = self
                        .response
                        .clone()
                        .or_else(|| spec.response.clone())
                        .or_else(|| {
                            self.loaded
                                .as_ref()
                                .map(|l| l.dataset.response.clone())
                        });
                    let mut chosen = current.clone();
                    egui::ComboBox::from_id_salt("response-column")
                        .selected_text(chosen.clone().unwrap_or_else(|| "(the only numeric non-factor column)".into()))
                        .show_ui(ui, |ui| {
                            for h in &pv.header {
                                let is_factor = factor_cols
                                    .iter()
                                    .flatten()
                                    .any(|&c| pv.header[c] == *h);
                                if !is_factor {
                                    ui.selectable_value(&mut chosen, Some(h.clone()), h);
                                }
                            }
                        })
                        .response
                        .accessible_name("Response column");
                    if chosen != current {
                        self.response = chosen;
                        self.reread(d, ui.ctx());
                    }
                    ui.label("");
                    ui.end_row();
                    if let Some((factor, column)) = remap {
                        self.columns.retain(|(f, _)| !f.eq_ignore_ascii_case(&factor));
                        // The design's name is the default: no entry needed for it.
                        if !column.eq_ignore_ascii_case(&factor) {
                            self.columns.push((factor, column));
                        }
                        self.reread(d, ui.ctx());
                    }
                });
        }

        // ---- preview
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

        // ---- balance
        if let Some(l) = self.loaded.as_ref().filter(|_| !self.stale) {
            let ds = &l.dataset;
            ui.add_space(8.0);
            ui.heading("Balance");
            let b = &ds.balance;
            ui.label(format!(
                "{} rows read; response `{}`; {} cells of {} observation{}.",
                ds.n_rows,
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
                        "⚠ Unbalanced: {} of {} cells do not hold {} observations. The ANOVA and moment estimates need balanced data; fix the file, or rely on the REML fit.",
                        b.n_problems, b.n_cells, b.replicates
                    ),
                );
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
                table_view::table_ui(ui, &t, "balance", &Hooks::default());
            }
            let level_notes = b.level_notes.iter().map(ToString::to_string);
            for n in level_notes.chain(ds.notes.iter().map(report::data_notes::render)) {
                table_view::notes_label(ui, &n);
            }
            ui.add_space(10.0);
            let running = self.analysis_job.is_some();
            if ui
                .add_enabled(
                    !running,
                    egui::Button::new(RichText::new("Run the analysis").strong()),
                )
                .on_hover_text(
                    "ANOVA, F tests, variance components with intervals, REML cross-check (Ctrl+R)",
                )
                .clicked()
            {
                commands.push(Command::RunAnalysis);
            }
        }
    }

    pub fn results_ui(
        &mut self,
        ui: &mut Ui,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        if let Some(j) = &self.analysis_job
            && j.ui(ui)
        {
            commands.push(Command::CancelJob);
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
        }
        let running = self.analysis_job.is_some();
        let state = results::State {
            analysis: self.analysis.as_ref(),
            stale: self.analysis_stale,
            has_data: self.loaded.is_some(),
            running,
        };
        self.results.ui(ui, state, settings, commands);
    }
}

fn ok_color(ui: &Ui) -> egui::Color32 {
    if ui.visuals().dark_mode {
        egui::Color32::from_rgb(120, 200, 120)
    } else {
        egui::Color32::from_rgb(20, 120, 40)
    }
}

/// The column a factor reads: the one chosen for it, else the one named as it (ignoring case).
fn column_of(header: &[String], chosen: &[(String, String)], factor: &str) -> Option<usize> {
    let name = chosen
        .iter()
        .rev()
        .find(|(f, _)| f.eq_ignore_ascii_case(factor))
        .map_or(factor, |(_, c)| c.as_str());
    header.iter().position(|h| h.eq_ignore_ascii_case(name))
}
