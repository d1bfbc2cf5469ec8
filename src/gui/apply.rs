//! Applying commands, by kind: edits of the design and its settings, design files, file
//! dialogs, exports, data and analysis, views.
//!
//! Whatever replaces the design (new, template, file) replaces its data and analysis with
//! it; whatever replaces or re-reads the data drops the analysis. Edits and new settings
//! leave the analysis in place, shown as out of date ([`super::current`]).

use std::path::{Path, PathBuf};

use emslab::DesignSpec;
use emslab::chart::render::{self, ImageFormat};
use emslab::report::{self, EmsOptions, Format};

use super::app::{EmslabApp, View};
use super::command::{ChartSource, Command, DialogPurpose, DocKind, ExportTarget, Resolution};
use super::current::Inputs;
use super::data::DataFile;
use super::dialogs::BuiltinDialog;
use super::doc::DesignDoc;
use super::plots;
use super::templates::{self, TEMPLATES};

fn with_extension(path: PathBuf, ext: &str) -> PathBuf {
    if path.extension().is_some() {
        path
    } else {
        path.with_extension(ext)
    }
}

impl EmslabApp {
    /// Applies one command; one that would lose unsaved changes waits for an answer.
    pub fn apply(&mut self, c: Command, ctx: &egui::Context) {
        if c.replaces_design() && self.doc.is_dirty() && !self.close_confirmed {
            self.pending = Some(c);
            return;
        }
        self.apply_unguarded(c, ctx);
    }

    fn apply_unguarded(&mut self, c: Command, ctx: &egui::Context) {
        use Command as C;
        match c {
            C::Edit { .. }
            | C::Undo
            | C::Redo
            | C::SetAnalysisOptions(_)
            | C::SetGaugeSettings(_)
            | C::SetEngine(_) => self.apply_edit(c, ctx),
            C::NewDesign
            | C::OpenTemplate(_)
            | C::OpenTemplateWithData(_)
            | C::OpenDesign { .. }
            | C::SaveDesign => self.apply_design_file(c, ctx),
            C::Dialog(_) | C::DialogAnswer { .. } | C::NoSystemDialog { .. } | C::Resolve(_) => {
                self.apply_dialog(c, ctx)
            }
            C::ExportDialog { .. }
            | C::ExportTo { .. }
            | C::Copy { .. }
            | C::ExportChartTo { .. } => self.apply_export(c, ctx),
            C::OpenData(_)
            | C::RereadData
            | C::SetColumns { .. }
            | C::CancelJob
            | C::RunAnalysis => self.apply_data(c, ctx),
            C::ShowView(_)
            | C::SelectTerm(_)
            | C::ShowHelp(_)
            | C::ZoomIn
            | C::ZoomOut
            | C::ZoomReset
            | C::ToggleTheme
            | C::Quit => self.apply_view(c, ctx),
        }
    }

    /// Edits of the design and of the settings.
    fn apply_edit(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::Edit { spec, key } => {
                self.doc.edit(spec, key);
                self.rederive();
            }
            Command::Undo if self.doc.undo() => {
                ctx.memory_mut(|m| m.stop_text_input());
                self.rederive();
                self.info("Undone.");
            }
            Command::Redo if self.doc.redo() => {
                ctx.memory_mut(|m| m.stop_text_input());
                self.rederive();
                self.info("Redone.");
            }
            Command::SetAnalysisOptions(o) => {
                let model_changed = o.model != self.session.options.model;
                self.session.options = super::session::app_options(o);
                if model_changed {
                    self.rederive();
                }
            }
            Command::SetGaugeSettings(g) => self.session.gauge = g,
            Command::SetEngine(e) => {
                self.session.engine = e;
                self.rederive();
            }
            _ => {}
        }
    }

    /// A new design: its data and analysis go with the old one.
    fn replace_design(&mut self, doc: DesignDoc) {
        self.doc = doc;
        self.data = None;
        self.analysis.clear();
        self.selected_term = 0;
        self.rederive();
    }

    fn apply_design_file(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::NewDesign => {
                self.replace_design(DesignDoc::default());
                self.session.view = View::Design;
            }
            Command::OpenTemplate(i) => {
                self.open_template(i);
            }
            Command::OpenTemplateWithData(i) => {
                if self.open_template(i)
                    && let Some(t) = TEMPLATES.get(i)
                {
                    match templates::data_path(t) {
                        Ok(p) => self.apply_data(Command::OpenData(p), ctx),
                        Err(e) => self.error(e),
                    }
                }
            }
            Command::OpenDesign { path, data } => {
                if self.open_design(&path)
                    && let Some(data) = data
                {
                    self.apply_data(Command::OpenData(data), ctx);
                }
            }
            Command::SaveDesign => match self.doc.path.clone() {
                Some(p) => {
                    self.save_design(&p);
                }
                None => self.open_dialog(DialogPurpose::SaveDesign, ctx),
            },
            _ => {}
        }
    }

    fn open_template(&mut self, i: usize) -> bool {
        let Some(t) = TEMPLATES.get(i) else {
            return false;
        };
        match DesignSpec::from_toml_str(t.toml) {
            Ok(spec) => {
                self.replace_design(DesignDoc::new(spec, None, Some(t.stem.to_string())));
                self.session.view = View::Design;
                self.info(format!(
                    "Template {} opened; save it to keep your changes.",
                    t.stem
                ));
                true
            }
            Err(e) => {
                self.error(format!("Template {}: {e}", t.stem));
                false
            }
        }
    }

    fn open_design(&mut self, path: &Path) -> bool {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.error(format!("{}: {e}", path.display()));
                return false;
            }
        };
        match DesignSpec::from_toml_str(&text) {
            Ok(spec) => {
                self.replace_design(DesignDoc::new(spec, Some(path.to_path_buf()), None));
                self.remember(path);
                if matches!(self.session.view, View::Start | View::Help) {
                    self.session.view = View::Design;
                }
                match &self.derived.design {
                    Ok(_) => self.info(format!("Opened {}", path.display())),
                    Err(e) => self.error(format!(
                        "Opened {}, but the design has a problem: {}. Fix it in the Design view.",
                        path.display(),
                        super::display::user_words(&e.to_string())
                    )),
                }
                true
            }
            Err(e) => {
                self.error(format!(
                    "{}: {e}. The design was not opened; fix the file and open it again.",
                    path.display()
                ));
                false
            }
        }
    }

    fn save_design(&mut self, path: &Path) -> bool {
        let text = self.doc.spec.to_toml_string();
        match emslab::io::write_atomic(path, text.as_bytes()) {
            Ok(()) => {
                self.doc.mark_saved(path);
                self.doc.template = None;
                self.remember(path);
                self.info(format!("Saved {}", path.display()));
                true
            }
            Err(e) => {
                self.error(format!(
                    "{e}: the design was not saved; choose another folder."
                ));
                false
            }
        }
    }

    fn remember(&mut self, path: &Path) {
        let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.session.recent.retain(|q| *q != p);
        self.session.recent.insert(0, p);
        self.session.recent.truncate(8);
    }

    // ---------------------------------------------------------------- dialogs

    pub(super) fn open_dialog(&mut self, purpose: DialogPurpose, ctx: &egui::Context) {
        let suggested = self.suggested_path(&purpose);
        self.open_dialog_at(purpose, suggested, ctx);
    }

    fn open_dialog_at(
        &mut self,
        purpose: DialogPurpose,
        suggested: Option<PathBuf>,
        ctx: &egui::Context,
    ) {
        if self.session.builtin_chooser {
            self.dialogs.builtin = Some(BuiltinDialog::open(purpose, suggested));
        } else {
            self.dialogs
                .chooser
                .choose(purpose, suggested, self.inbox.0.clone(), ctx.clone());
        }
    }

    fn apply_dialog(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::Dialog(purpose) => self.open_dialog(purpose, ctx),
            Command::NoSystemDialog { purpose, suggested } => {
                self.session.builtin_chooser = true;
                self.info("No system file dialog answered (no desktop portal, no zenity): using emslab's own file chooser (View menu to switch back).");
                self.open_dialog_at(purpose, suggested, ctx);
            }
            Command::DialogAnswer { purpose, path } => self.dialog_answer(purpose, path, ctx),
            Command::Resolve(r) => {
                let Some(p) = self.pending.take() else { return };
                match r {
                    Resolution::Cancel => {}
                    Resolution::Discard => self.apply_unguarded(p, ctx),
                    Resolution::Save => match self.doc.path.clone() {
                        Some(path) => {
                            if self.save_design(&path) {
                                self.apply_unguarded(p, ctx);
                            }
                        }
                        None => {
                            // Ask for a file; the pending command runs after the save.
                            self.pending = Some(p);
                            self.dialogs.awaiting_save = true;
                            self.open_dialog(DialogPurpose::SaveDesign, ctx);
                        }
                    },
                }
            }
            _ => {}
        }
    }

    fn dialog_answer(
        &mut self,
        purpose: DialogPurpose,
        path: Option<PathBuf>,
        ctx: &egui::Context,
    ) {
        let Some(path) = path else {
            // Cancelled: a close or replace waiting for this save is cancelled too.
            if purpose == DialogPurpose::SaveDesign && self.dialogs.awaiting_save {
                self.dialogs.awaiting_save = false;
                self.pending = None;
            }
            return;
        };
        match purpose {
            // Applied now (not queued), so that an unsaved-changes question shows at once.
            DialogPurpose::OpenDesign => self.apply(Command::OpenDesign { path, data: None }, ctx),
            DialogPurpose::SaveDesign => {
                let saved = self.save_design(&with_extension(path, "toml"));
                if self.dialogs.awaiting_save {
                    self.dialogs.awaiting_save = false;
                    if let Some(p) = self.pending.take()
                        && saved
                    {
                        self.apply_unguarded(p, ctx);
                    }
                }
            }
            DialogPurpose::OpenData => self.apply_data(Command::OpenData(path), ctx),
            DialogPurpose::Export { target, format } => self.apply_export(
                Command::ExportTo {
                    target,
                    format,
                    path: with_extension(path, format.extension()),
                },
                ctx,
            ),
            DialogPurpose::ExportChart { chart, format } => {
                let ext = match format {
                    ImageFormat::Png => "png",
                    ImageFormat::Svg => "svg",
                };
                self.apply_export(
                    Command::ExportChartTo {
                        chart,
                        format,
                        path: with_extension(path, ext),
                    },
                    ctx,
                );
            }
        }
    }

    // ---------------------------------------------------------------- exports

    fn apply_export(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::ExportDialog { target, format } => {
                let stem = self.doc.suggested_stem();
                let name = match &target.table {
                    Some(k) => format!("{stem}_{k}.{}", format.extension()),
                    None => format!("{stem}_{}.{}", target.doc.stem(), format.extension()),
                };
                let suggested = self
                    .suggested_path(&DialogPurpose::Export {
                        target: target.clone(),
                        format,
                    })
                    .map(|p| p.with_file_name(&name));
                self.open_dialog_at(DialogPurpose::Export { target, format }, suggested, ctx);
            }
            Command::ExportTo {
                target,
                format,
                path,
            } => match self.render_target(&target, format) {
                Ok(text) => self.write_file(&path, text.as_bytes()),
                Err(e) => self.error(e),
            },
            Command::ExportChartTo {
                chart,
                format,
                path,
            } => match self.chart(chart).map(|f| render::render(f, format)) {
                Some(Ok(bytes)) => self.write_file(&path, &bytes),
                Some(Err(e)) => self.error(e.to_string()),
                None => self.error(match chart {
                    ChartSource::Plan => "There is no power curve to save: fix the plan first.",
                    _ => "There is no plot to save: run the analysis first.",
                }),
            },
            Command::Copy { target, format } => match self.render_target(&target, format) {
                Ok(text) => {
                    ctx.copy_text(text.clone());
                    self.last_copied = Some(text);
                    let what = target.table.as_deref().unwrap_or("report");
                    self.info(format!(
                        "Copied the {what} table as {} to the clipboard.",
                        match format {
                            Format::Latex => "LaTeX",
                            Format::Markdown => "Markdown",
                            _ => format.as_str(),
                        }
                    ));
                }
                Err(e) => self.error(e),
            },
            _ => {}
        }
    }

    /// The figure a chart export draws.
    pub fn chart(&self, chart: ChartSource) -> Option<&emslab::chart::Figure> {
        let current = self.analysis.current.as_ref();
        match chart {
            ChartSource::Results => current.and_then(|c| c.plots.drawn()),
            ChartSource::Gauge => current.and_then(|c| c.gauge.figure()),
            ChartSource::Plan => self.plan.figure(),
            ChartSource::Means => current.and_then(|c| c.means.figure()),
        }
    }

    fn write_file(&mut self, path: &Path, bytes: &[u8]) {
        match emslab::io::write_atomic(path, bytes) {
            Ok(()) => self.info(format!("Wrote {}", path.display())),
            Err(e) => self.error(format!("{e}: choose another folder or file name")),
        }
    }

    /// The text of an export, through the same writers as the command line (the HTML
    /// analysis report adds the plots).
    pub fn render_target(&self, target: &ExportTarget, format: Format) -> Result<String, String> {
        match target.doc {
            DocKind::Ems => {
                let out = self.derived.output.as_ref().ok_or_else(|| {
                    "The design has a problem, so there is nothing to export yet: fix it in the Design view.".to_string()
                })?;
                let steps =
                    self.session.export_steps || target.table.as_deref() == Some("derivation");
                // The command line's `emslab ems` report, from the engine that made the table.
                let (doc, json) = report::ems_report(out, EmsOptions { steps });
                report::render(&doc, &json, format, target.table.as_deref())
                    .map_err(|e| e.to_string())
            }
            DocKind::Analysis => {
                let c = self
                    .analysis
                    .current
                    .as_ref()
                    .ok_or("Run the analysis first (Data view, or Ctrl+R).")?;
                let text = c.render(target.table.as_deref(), format)?;
                if format == Format::Html && target.table.is_none() {
                    return Ok(with_figures(text, &plots::all_figures(c)));
                }
                Ok(text)
            }
            DocKind::Power => self.plan.render(target.table.as_deref(), format),
            DocKind::Gauge => self
                .analysis
                .current
                .as_ref()
                .ok_or("Run the analysis first (Data view, or Ctrl+R).")?
                .gauge
                .render(target.table.as_deref(), format),
        }
    }

    // ---------------------------------------------------------------- data

    fn apply_data(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::OpenData(path) => {
                let (response, columns) = match &self.data {
                    Some(d) if d.path == path => (d.response.clone(), d.columns.clone()),
                    _ => (None, Vec::new()),
                };
                if self.read_data(path, response, columns, ctx) {
                    self.session.view = View::Data;
                }
            }
            Command::RereadData => {
                if let Some(d) = &self.data {
                    let (p, r, c) = (d.path.clone(), d.response.clone(), d.columns.clone());
                    self.read_data(p, r, c, ctx);
                }
            }
            Command::SetColumns { response, columns } => {
                if let Some(d) = &self.data {
                    let p = d.path.clone();
                    self.read_data(p, response, columns, ctx);
                }
            }
            Command::CancelJob => {
                if let Some(d) = &mut self.data {
                    d.cancel();
                }
                if self.analysis.cancel() {
                    self.info("Cancelled.");
                }
            }
            Command::RunAnalysis => self.run_analysis(ctx),
            _ => {}
        }
    }

    /// Reads a data file for the design, replacing the data (and dropping the analysis).
    fn read_data(
        &mut self,
        path: PathBuf,
        response: Option<String>,
        columns: Vec<(String, String)>,
        ctx: &egui::Context,
    ) -> bool {
        let Ok(design) = &self.derived.design else {
            self.error(
                "Declare a valid design before loading data: the columns are matched to its factors.",
            );
            return false;
        };
        if let Some(d) = &mut self.data {
            d.cancel();
        }
        self.analysis.clear();
        self.next_read += 1;
        self.data = Some(DataFile::open(
            path,
            design,
            response,
            columns,
            self.next_read,
            ctx,
        ));
        true
    }

    fn run_analysis(&mut self, ctx: &egui::Context) {
        let Ok(design) = self.derived.design.clone() else {
            self.error("The design has a problem: fix it on the Design view first.");
            return;
        };
        let Some(d) = &self.data else {
            self.error(
                "Load data first: open a CSV on the Data view (Ctrl+D) or drop it on the window.",
            );
            return;
        };
        if d.stale(Some(&self.doc.spec)) {
            self.error(
                "The design changed since the data were read: re-read the data first (Data view).",
            );
            return;
        }
        let Some(ds) = d.dataset().cloned() else {
            self.error(if d.is_reading() {
                "The data are still being read."
            } else {
                "No data are loaded: fix the problem shown on the Data view, or open another file."
            });
            return;
        };
        let inputs = Inputs {
            spec: self.doc.spec.clone(),
            read_id: d.read_id,
            options: self.session.options,
        };
        let path = d.path.clone();
        match self.analysis.run(&design, (ds, path), inputs, ctx) {
            Ok(()) => self.session.view = View::Results,
            Err(e) => self.error(e),
        }
    }

    // ---------------------------------------------------------------- views

    fn apply_view(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::ShowView(v) => self.session.view = v,
            Command::SelectTerm(u) => self.selected_term = u,
            Command::ShowHelp(topic) => {
                self.help_topic = Some(topic);
                self.session.view = View::Help;
            }
            Command::ZoomIn => self.session.zoom = (self.session.zoom + 0.1).min(3.0),
            Command::ZoomOut => self.session.zoom = (self.session.zoom - 0.1).max(0.5),
            Command::ZoomReset => self.session.zoom = 1.0,
            Command::ToggleTheme => {
                self.session.dark = Some(!ctx.global_style().visuals.dark_mode);
            }
            Command::Quit => {
                // Reached only when nothing is unsaved or the user agreed.
                self.close_confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            _ => {}
        }
    }
}

/// An HTML report with the analysis' figures (SVG) before its end.
fn with_figures(html: String, figures: &[emslab::chart::Figure]) -> String {
    let mut svgs = String::from("<h2>Figures</h2>\n");
    for f in figures {
        if let Ok(svg) = render::to_svg(f) {
            // The SVG document's XML declaration is not allowed inside HTML.
            let start = svg.find("<svg").unwrap_or(0);
            svgs.push_str("<figure>\n");
            svgs.push_str(&svg[start..]);
            svgs.push_str("\n</figure>\n");
        }
    }
    match html.rfind("</body>") {
        Some(i) => format!("{}{svgs}{}", &html[..i], &html[i..]),
        None => format!("{html}{svgs}"),
    }
}
