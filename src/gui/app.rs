//! The app: session state, the document being edited, the views, and the command queue
//! applied after each frame.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use emslab::report::{self, EmsOptions, Format};
use emslab::{DesignSpec, Model};
use serde::{Deserialize, Serialize};

use super::command::{Command, DialogPurpose, DocKind, ExportTarget, Resolution};
use super::data_view::DataPanel;
use super::design_view::{self, DesignView};
use super::dialogs::{FileChooser, NativeChooser};
use super::doc::{Derived, DesignDoc};
use super::ems_view::{self, EmsView};
use super::engine::{self, CasService};
use super::templates::{self, TEMPLATES};

/// The main views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum View {
    #[default]
    Start,
    Design,
    Ems,
    Data,
    Results,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Start,
        View::Design,
        View::Ems,
        View::Data,
        View::Results,
    ];

    pub fn label(self) -> &'static str {
        match self {
            View::Start => "Start",
            View::Design => "Design",
            View::Ems => "EMS derivation",
            View::Data => "Data",
            View::Results => "Results",
        }
    }

    fn tip(self) -> &'static str {
        match self {
            View::Start => "Templates and recent files (Ctrl+1)",
            View::Design => "Declare the factors, levels, nesting and terms (Ctrl+2)",
            View::Ems => {
                "The subscript table, the derivation of each E(MS), tests and estimators (Ctrl+3)"
            }
            View::Data => "Load a CSV, map its columns, check the balance (Ctrl+4)",
            View::Results => "ANOVA, variance components, REML, plots (Ctrl+5)",
        }
    }
}

/// What is restored at the next start (eframe persistence). Every field has a default, so
/// an old or damaged session never prevents the app from starting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    pub design_path: Option<PathBuf>,
    /// The design as last seen, saved or not (unsaved edits survive a restart).
    pub design_toml: Option<String>,
    pub template: Option<String>,
    pub data_path: Option<PathBuf>,
    pub model: Model,
    /// The EMS engine (Symbolica only in builds with the `symbolica` feature).
    pub engine: emslab::cas::Engine,
    pub view: View,
    /// `None`: follow the system theme.
    pub dark: Option<bool>,
    pub zoom: f32,
    /// Include the derivation steps when exporting the whole EMS report.
    pub export_steps: bool,
    pub alpha: f64,
    pub reml: bool,
    /// Also fit by maximum likelihood.
    pub ml: bool,
    /// Negative variance-component estimates: `report`, `zero` or `pool`.
    pub negative: String,
    pub recent: Vec<PathBuf>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            design_path: None,
            design_toml: None,
            template: None,
            data_path: None,
            model: Model::Restricted,
            engine: emslab::cas::Engine::Emslab,
            view: View::Start,
            dark: None,
            zoom: 1.0,
            export_steps: false,
            alpha: 0.05,
            reml: true,
            ml: false,
            negative: "report".into(),
            recent: Vec::new(),
        }
    }
}

/// A message on the status line.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

pub struct EmslabApp {
    pub session: Session,
    pub doc: DesignDoc,
    pub derived: Derived,
    pub selected_term: usize,
    pub status: Option<Status>,
    /// The last text put on the clipboard (also for tests).
    pub last_copied: Option<String>,
    /// A command waiting for the answer to "save changes?".
    pub pending: Option<Command>,
    pub data: DataPanel,
    /// Set once the user agreed to close.
    close_confirmed: bool,
    /// A save dialog is open for the pending command.
    awaiting_save: bool,
    commands: Vec<Command>,
    inbox: (Sender<Command>, Receiver<Command>),
    chooser: Box<dyn FileChooser>,
    design_view: DesignView,
    ems_view: EmsView,
    title_shown: String,
    applied_theme: Option<Option<bool>>,
    /// The Symbolica client thread (started when Symbolica is first chosen).
    cas: Option<CasService>,
    /// The edit generation of the last request to Symbolica, and whether it is unanswered.
    cas_generation: u64,
    cas_waiting: bool,
    /// The executable that runs the Symbolica worker (`None`: this one).
    pub worker_exe: Option<PathBuf>,
    /// A request to Symbolica waits for the first frame (which brings the context).
    cas_deferred: bool,
    ctx: Option<egui::Context>,
}

impl Default for EmslabApp {
    fn default() -> Self {
        EmslabApp::new(Session::default())
    }
}

impl EmslabApp {
    /// An app with a session (no design loaded unless the session has one).
    pub fn new(session: Session) -> EmslabApp {
        let mut status = None;
        let doc = match &session.design_toml {
            Some(text) => match DesignSpec::from_toml_str(text) {
                Ok(spec) => {
                    let mut d = DesignDoc::new(spec, None, session.template.clone());
                    if let Some(p) = &session.design_path {
                        d.path = Some(p.clone());
                        // Compare with the file on disk: unsaved edits stay marked.
                        if let Ok(disk) = std::fs::read_to_string(p)
                            .map_err(|e| e.to_string())
                            .and_then(|t| DesignSpec::from_toml_str(&t).map_err(|e| e.to_string()))
                        {
                            let edited = d.spec.clone();
                            d = DesignDoc::new(disk, Some(p.clone()), None);
                            d.edit(edited, super::command::EditKey::Discrete);
                        }
                    }
                    d
                }
                Err(e) => {
                    status = Some(Status {
                        text: format!(
                            "The design of the last session could not be restored ({e}); starting empty."
                        ),
                        error: true,
                    });
                    DesignDoc::default()
                }
            },
            None => DesignDoc::default(),
        };
        let derived = Derived::compute(&doc.spec, session.model);
        EmslabApp {
            session,
            doc,
            derived,
            selected_term: 0,
            status,
            last_copied: None,
            pending: None,
            data: DataPanel::default(),
            close_confirmed: false,
            awaiting_save: false,
            commands: Vec::new(),
            inbox: channel(),
            chooser: Box::new(NativeChooser),
            design_view: DesignView::default(),
            ems_view: EmsView,
            title_shown: String::new(),
            applied_theme: None,
            cas: None,
            cas_generation: 0,
            cas_waiting: false,
            cas_deferred: false,
            worker_exe: None,
            ctx: None,
        }
    }

    /// Replaces the file chooser (tests answer dialogs with fixed paths).
    #[cfg(test)]
    pub fn with_chooser(mut self, chooser: Box<dyn FileChooser>) -> EmslabApp {
        self.chooser = chooser;
        self
    }

    /// Whether the user agreed to close the window.
    #[cfg(test)]
    pub fn is_closing(&self) -> bool {
        self.close_confirmed
    }

    /// Queues a command (applied after the current frame).
    pub fn push(&mut self, c: Command) {
        self.commands.push(c);
    }

    /// The state to persist.
    pub fn session_snapshot(&self) -> Session {
        let mut s = self.session.clone();
        s.design_path = self.doc.path.clone();
        s.template = self.doc.template.clone();
        s.design_toml =
            (self.doc.spec != DesignSpec::default()).then(|| self.doc.spec.to_toml_string());
        s.data_path = self.data.path().map(Path::to_path_buf);
        s
    }

    fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
        });
    }

    fn rederive(&mut self) {
        self.derived = Derived::compute(&self.doc.spec, self.session.model);
        if let Some(t) = &self.derived.ems {
            self.selected_term = self.selected_term.min(t.terms.len().saturating_sub(1));
        }
        self.data
            .design_changed(self.derived.design.as_ref().ok().map(|d| d.spec()));
        self.ask_engine();
    }

    /// Asks Symbolica for the current design when it is the chosen engine (the built-in
    /// table shows until it answers).
    fn ask_engine(&mut self) {
        self.cas_generation += 1;
        self.cas_waiting = false;
        let engine = self.session.engine;
        if engine == emslab::cas::Engine::Emslab || !engine.is_available() {
            return;
        }
        let Ok(design) = &self.derived.design else {
            return;
        };
        if self.cas.is_none() {
            let Some(ctx) = &self.ctx else {
                self.cas_deferred = true;
                return;
            };
            let exe = self
                .worker_exe
                .clone()
                .or_else(|| std::env::current_exe().ok())
                .unwrap_or_default();
            match CasService::start(ctx, exe) {
                Ok(s) => self.cas = Some(s),
                Err(e) => {
                    self.error(e);
                    return;
                }
            }
        }
        if let Some(s) = &self.cas {
            self.cas_waiting = s.request(self.cas_generation, design.clone(), self.session.model);
        }
    }

    /// Whether Symbolica has not answered for the current design yet.
    #[cfg(all(test, feature = "symbolica"))]
    pub fn engine_waiting(&self) -> bool {
        self.cas_waiting || self.cas_deferred
    }

    /// Takes Symbolica's answer for the current design, if it has come.
    fn poll_engine(&mut self) {
        let Some(s) = &self.cas else { return };
        if let Some((generation, out)) = s.poll()
            && generation == self.cas_generation
        {
            self.cas_waiting = false;
            self.derived.set_output(out);
        }
    }

    // ---------------------------------------------------------------- frame

    /// One frame: draw every panel, then apply the commands they queued.
    pub fn frame(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        if self.ctx.is_none() {
            self.ctx = Some(ctx.clone());
        }
        if std::mem::take(&mut self.cas_deferred) {
            self.ask_engine();
        }
        self.apply_theme(&ctx);
        self.shortcuts(&ctx);
        self.dropped_files(&ctx);
        self.close_request(&ctx);

        egui::Panel::top("menu-bar").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::top("tool-bar").show(ui, |ui| self.tool_bar(ui));
        egui::Panel::bottom("status-bar").show(ui, |ui| self.status_bar(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::both()
                .id_salt(("view", self.session.view))
                .auto_shrink([false, false])
                .show(ui, |ui| self.view_ui(ui));
        });
        self.unsaved_modal(&ctx);

        while let Ok(c) = self.inbox.1.try_recv() {
            self.commands.push(c);
        }
        self.data.poll(&ctx, &mut self.commands);
        self.poll_engine();
        let commands = std::mem::take(&mut self.commands);
        for c in commands {
            self.apply(c, &ctx);
        }
        self.update_title(&ctx);
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.applied_theme != Some(self.session.dark) {
            ctx.set_theme(match self.session.dark {
                None => egui::ThemePreference::System,
                Some(true) => egui::ThemePreference::Dark,
                Some(false) => egui::ThemePreference::Light,
            });
            self.applied_theme = Some(self.session.dark);
        }
        let zoom = self.session.zoom.clamp(0.5, 3.0);
        if (ctx.zoom_factor() - zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(zoom);
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let cmd = Modifiers::COMMAND;
        let cmd_shift = Modifiers::COMMAND | Modifiers::SHIFT;
        let table: Vec<(KeyboardShortcut, Command)> = vec![
            (KeyboardShortcut::new(cmd_shift, Key::Z), Command::Redo),
            (KeyboardShortcut::new(cmd, Key::Y), Command::Redo),
            (KeyboardShortcut::new(cmd, Key::Z), Command::Undo),
            (
                KeyboardShortcut::new(cmd_shift, Key::S),
                Command::Dialog(DialogPurpose::SaveDesign),
            ),
            (KeyboardShortcut::new(cmd, Key::S), Command::SaveDesign),
            (
                KeyboardShortcut::new(cmd, Key::O),
                Command::Dialog(DialogPurpose::OpenDesign),
            ),
            (KeyboardShortcut::new(cmd, Key::N), Command::NewDesign),
            (
                KeyboardShortcut::new(cmd, Key::D),
                Command::Dialog(DialogPurpose::OpenData),
            ),
            (KeyboardShortcut::new(cmd, Key::R), Command::RunAnalysis),
            (
                KeyboardShortcut::new(cmd, Key::M),
                Command::SetModel(match self.session.model {
                    Model::Restricted => Model::Unrestricted,
                    Model::Unrestricted => Model::Restricted,
                }),
            ),
            (KeyboardShortcut::new(cmd, Key::T), Command::ToggleTheme),
            (KeyboardShortcut::new(cmd, Key::Plus), Command::ZoomIn),
            (KeyboardShortcut::new(cmd, Key::Equals), Command::ZoomIn),
            (KeyboardShortcut::new(cmd, Key::Minus), Command::ZoomOut),
            (KeyboardShortcut::new(cmd, Key::Num0), Command::ZoomReset),
            (
                KeyboardShortcut::new(cmd, Key::Num1),
                Command::ShowView(View::Start),
            ),
            (
                KeyboardShortcut::new(cmd, Key::Num2),
                Command::ShowView(View::Design),
            ),
            (
                KeyboardShortcut::new(cmd, Key::Num3),
                Command::ShowView(View::Ems),
            ),
            (
                KeyboardShortcut::new(cmd, Key::Num4),
                Command::ShowView(View::Data),
            ),
            (
                KeyboardShortcut::new(cmd, Key::Num5),
                Command::ShowView(View::Results),
            ),
        ];
        for (sc, c) in table {
            // Consumed here, so a focused text field does not also act on it.
            if ctx.input_mut(|i| i.consume_shortcut(&sc)) {
                self.commands.push(c);
            }
        }
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        for path in dropped {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            match ext.as_str() {
                "toml" => self.commands.push(Command::OpenDesign(path)),
                _ => self.commands.push(Command::OpenData(path)),
            }
        }
        let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
        if hovering {
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop-overlay"),
            ));
            let rect = ctx.content_rect();
            painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Drop a CSV to load data, or a .toml design to open it",
                egui::FontId::proportional(22.0),
                egui::Color32::WHITE,
            );
        }
    }

    fn close_request(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && !self.close_confirmed
            && self.doc.is_dirty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Command::Quit);
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let title = format!("{} — emslab", self.doc.display_name());
        if title != self.title_shown {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title_shown = title;
        }
    }

    // ---------------------------------------------------------------- panels

    fn menu_bar(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                let mut item = |ui: &mut Ui, text: &str, shortcut: &str, c: Command| {
                    if ui
                        .add(egui::Button::new(text).shortcut_text(shortcut))
                        .clicked()
                    {
                        self.commands.push(c);
                        ui.close();
                    }
                };
                item(ui, "New design", "Ctrl+N", Command::NewDesign);
                item(ui, "Open design…", "Ctrl+O", Command::Dialog(DialogPurpose::OpenDesign));
                item(ui, "Save design", "Ctrl+S", Command::SaveDesign);
                item(ui, "Save design as…", "Ctrl+Shift+S", Command::Dialog(DialogPurpose::SaveDesign));
                ui.separator();
                item(ui, "Open data (CSV)…", "Ctrl+D", Command::Dialog(DialogPurpose::OpenData));
                ui.separator();
                ui.menu_button("Export EMS report", |ui| {
                    for format in Format::ALL {
                        if ui.button(super::table_view::format_label(format)).clicked() {
                            self.commands.push(Command::ExportDialog {
                                target: ExportTarget {
                                    doc: DocKind::Ems,
                                    table: None,
                                },
                                format,
                            });
                            ui.close();
                        }
                    }
                    ui.checkbox(&mut self.session.export_steps, "Include the derivation steps");
                });
                if self.data.has_analysis() {
                    ui.menu_button("Export analysis report", |ui| {
                        for format in Format::ALL {
                            if ui.button(super::table_view::format_label(format)).clicked() {
                                self.commands.push(Command::ExportDialog {
                                    target: ExportTarget {
                                        doc: DocKind::Analysis,
                                        table: None,
                                    },
                                    format,
                                });
                                ui.close();
                            }
                        }
                    });
                }
                if !self.session.recent.is_empty() {
                    ui.separator();
                    ui.menu_button("Recent designs", |ui| {
                        for p in self.session.recent.clone() {
                            if ui.button(p.display().to_string()).clicked() {
                                self.commands.push(Command::OpenDesign(p));
                                ui.close();
                            }
                        }
                    });
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    self.commands.push(Command::Quit);
                    ui.close();
                }
            });
            ui.menu_button("Edit", |ui| {
                if ui
                    .add_enabled(self.doc.can_undo(), egui::Button::new("Undo").shortcut_text("Ctrl+Z"))
                    .clicked()
                {
                    self.commands.push(Command::Undo);
                    ui.close();
                }
                if ui
                    .add_enabled(self.doc.can_redo(), egui::Button::new("Redo").shortcut_text("Ctrl+Shift+Z"))
                    .clicked()
                {
                    self.commands.push(Command::Redo);
                    ui.close();
                }
            });
            ui.menu_button("View", |ui| {
                for v in View::ALL {
                    if ui.button(v.label()).clicked() {
                        self.commands.push(Command::ShowView(v));
                        ui.close();
                    }
                }
                ui.separator();
                ui.label("Theme");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut self.session.dark, None, "System");
                    ui.radio_value(&mut self.session.dark, Some(false), "Light");
                    ui.radio_value(&mut self.session.dark, Some(true), "Dark");
                });
                if ui.add(egui::Button::new("Switch light / dark").shortcut_text("Ctrl+T")).clicked() {
                    self.commands.push(Command::ToggleTheme);
                }
                ui.separator();
                if ui.add(egui::Button::new("Zoom in").shortcut_text("Ctrl++")).clicked() {
                    self.commands.push(Command::ZoomIn);
                }
                if ui.add(egui::Button::new("Zoom out").shortcut_text("Ctrl+-")).clicked() {
                    self.commands.push(Command::ZoomOut);
                }
                if ui.add(egui::Button::new("Reset zoom").shortcut_text("Ctrl+0")).clicked() {
                    self.commands.push(Command::ZoomReset);
                }
            });
            ui.menu_button("Help", |ui| {
                ui.label(RichText::new("emslab").strong());
                ui.label(format!("version {}", env!("CARGO_PKG_VERSION")));
                ui.label("Expected mean squares by the subscript-table rules, F tests, variance components.");
                ui.separator();
                ui.label("Shortcuts");
                egui::Grid::new("shortcuts").show(ui, |ui| {
                    for (k, what) in [
                        ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo a design edit"),
                        ("Ctrl+N, Ctrl+O, Ctrl+S", "new, open, save design"),
                        ("Ctrl+D", "open data"),
                        ("Ctrl+R", "run the analysis"),
                        ("Ctrl+M", "switch restricted / unrestricted"),
                        ("Ctrl+T", "switch light / dark theme"),
                        ("Ctrl+1 … Ctrl+5", "views"),
                        ("Ctrl++ / Ctrl+- / Ctrl+0", "zoom"),
                    ] {
                        ui.label(RichText::new(k).monospace());
                        ui.label(what);
                        ui.end_row();
                    }
                });
                ui.label("Hover over a column heading or a field for what it means.");
            });
        });
        if ui.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Q)))
        {
            self.commands.push(Command::Quit);
        }
    }

    fn tool_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            for v in View::ALL {
                if ui
                    .selectable_label(self.session.view == v, RichText::new(v.label()).size(15.0))
                    .on_hover_text(v.tip())
                    .clicked()
                {
                    self.commands.push(Command::ShowView(v));
                }
            }
            ui.separator();
            design_view::model_switch(ui, self.session.model, &mut self.commands);
            ui.separator();
            if emslab::cas::SYMBOLICA_BUILT {
                engine::engine_switch(ui, self.session.engine, &mut self.commands);
                ui.separator();
            }
            if ui
                .add_enabled(self.doc.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Undo the last design edit (Ctrl+Z)")
                .clicked()
            {
                self.commands.push(Command::Undo);
            }
            if ui
                .add_enabled(self.doc.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Redo (Ctrl+Shift+Z)")
                .clicked()
            {
                self.commands.push(Command::Redo);
            }
        });
    }

    fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            self.data.progress_ui(ui, &mut self.commands);
            match &self.derived.design {
                Ok(d) => {
                    let n = d
                        .n_observations()
                        .map_or_else(|| "N from data".to_string(), |n| format!("N = {n}"));
                    ui.label(format!(
                        "{}: {} factor{}, {} term{}, {n}",
                        self.doc.display_name(),
                        d.factors.len(),
                        if d.factors.len() == 1 { "" } else { "s" },
                        d.terms.len(),
                        if d.terms.len() == 1 { "" } else { "s" },
                    ));
                }
                Err(e) if self.doc.spec.factors.is_empty() => {
                    let _ = e;
                    ui.label(format!("{}: no factors yet", self.doc.display_name()));
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, format!("Design: {e}"));
                }
            }
            if let Some(s) = self.status.clone() {
                ui.separator();
                if s.error {
                    ui.colored_label(ui.visuals().error_fg_color, &s.text);
                } else {
                    ui.label(&s.text);
                }
                if ui
                    .small_button("✕")
                    .on_hover_text("Dismiss")
                    .accessible_name("Dismiss message")
                    .clicked()
                {
                    self.status = None;
                }
            }
        });
    }

    fn view_ui(&mut self, ui: &mut Ui) {
        match self.session.view {
            View::Start => self.start_ui(ui),
            View::Design => {
                self.design_view
                    .ui(ui, &self.doc.spec, &self.derived, &mut self.commands);
                ui.add_space(16.0);
                ui.separator();
                if let Some(doc) = &self.derived.document {
                    ui.label(RichText::new("Updated as you edit:").weak());
                    ems_view::titled_table(ui, doc, "ems", DocKind::Ems, &mut self.commands);
                    ems_view::titled_table(ui, doc, "tests", DocKind::Ems, &mut self.commands);
                }
            }
            View::Ems => match (&self.derived.ems, &self.derived.document) {
                (Some(_), Some(_)) => {
                    engine::produced_by(ui, self.derived.output.as_ref(), self.cas_waiting);
                    self.ems_view
                        .ui(ui, &self.derived, self.selected_term, &mut self.commands);
                }
                _ => self.needs_design(ui),
            },
            View::Data => {
                let design = self.derived.design.as_ref().ok();
                self.data
                    .data_ui(ui, design, &self.doc.spec, &mut self.commands);
            }
            View::Results => {
                let mut settings = self.analysis_settings();
                self.data.results_ui(ui, &mut settings, &mut self.commands);
                self.session.alpha = settings.alpha;
                self.session.reml = settings.reml;
                self.session.ml = settings.ml;
                self.session.negative = settings.negative.as_str().to_string();
            }
        }
    }

    fn needs_design(&mut self, ui: &mut Ui) {
        ui.add_space(20.0);
        match &self.derived.design {
            Err(e) if !self.doc.spec.factors.is_empty() => {
                ui.label(RichText::new("The design has a problem:").strong());
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                if ui.button("Go to the design").clicked() {
                    self.commands.push(Command::ShowView(View::Design));
                }
            }
            _ => {
                ui.label("No design yet. Start from a template or declare the factors.");
                ui.horizontal(|ui| {
                    if ui.button("Templates").clicked() {
                        self.commands.push(Command::ShowView(View::Start));
                    }
                    if ui.button("Declare a design").clicked() {
                        self.commands.push(Command::ShowView(View::Design));
                    }
                });
            }
        }
    }

    fn start_ui(&mut self, ui: &mut Ui) {
        ui.heading("Expected mean squares, step by step");
        ui.label("Declare the factors of an experiment (fixed or random, crossed or nested) and watch the EMS table derive by the subscript-table rules; then load data for the ANOVA, variance components and a REML cross-check.");
        ui.add_space(10.0);
        ui.horizontal(|ui| {
            if ui
                .button("New empty design")
                .on_hover_text("Ctrl+N")
                .clicked()
            {
                self.commands.push(Command::NewDesign);
            }
            if ui.button("Open design…").on_hover_text("Ctrl+O").clicked() {
                self.commands
                    .push(Command::Dialog(DialogPurpose::OpenDesign));
            }
            if ui.button("Open data…").on_hover_text("Ctrl+D").clicked() {
                self.commands.push(Command::Dialog(DialogPurpose::OpenData));
            }
        });
        ui.add_space(12.0);
        ui.heading("Templates");
        egui::Grid::new("templates")
            .num_columns(3)
            .striped(true)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                for (i, t) in TEMPLATES.iter().enumerate() {
                    let title = DesignSpec::from_toml_str(t.toml)
                        .map(|s| s.title)
                        .unwrap_or_else(|_| t.stem.to_string());
                    if ui
                        .button(t.stem)
                        .on_hover_text(format!("Open designs/{}.toml as a new design", t.stem))
                        .clicked()
                    {
                        self.commands.push(Command::OpenTemplate(i));
                    }
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(title).strong());
                        if t.csv.is_some()
                            && ui
                                .small_button("with data")
                                .on_hover_text(format!(
                                    "Open {} and load designs/{}.csv",
                                    t.stem, t.stem
                                ))
                                .accessible_name(format!("{} with data", t.stem))
                                .clicked()
                        {
                            self.commands.push(Command::OpenTemplateWithData(i));
                        }
                    });
                    ui.label(t.blurb);
                    ui.end_row();
                }
            });
        if let Some(dir) = templates::designs_dir() {
            ui.add_space(6.0);
            ui.label(RichText::new(format!("The design files are in {}", dir.display())).weak());
        }
        if !self.session.recent.is_empty() {
            ui.add_space(12.0);
            ui.heading("Recent designs");
            for p in self.session.recent.clone() {
                if ui.link(p.display().to_string()).clicked() {
                    self.commands.push(Command::OpenDesign(p));
                }
            }
        }
    }

    fn unsaved_modal(&mut self, ctx: &egui::Context) {
        if self.pending.is_none() || self.awaiting_save {
            return;
        }
        let name = self.doc.display_name();
        egui::Modal::new(egui::Id::unique("unsaved-changes")).show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.heading("Unsaved changes");
            ui.label(format!(
                "The design {} has changes that are not saved. Save them first?",
                name.trim_end_matches(" •")
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    self.commands.push(Command::Resolve(Resolution::Save));
                }
                if ui.button("Discard changes").clicked() {
                    self.commands.push(Command::Resolve(Resolution::Discard));
                }
                if ui.button("Cancel").clicked() {
                    self.commands.push(Command::Resolve(Resolution::Cancel));
                }
            });
        });
    }

    // ---------------------------------------------------------------- commands

    /// Applies one command; one that would lose unsaved changes waits for an answer.
    pub fn apply(&mut self, c: Command, ctx: &egui::Context) {
        if c.replaces_design() && self.doc.is_dirty() && !self.close_confirmed {
            self.pending = Some(c);
            return;
        }
        self.apply_unguarded(c, ctx);
    }

    fn apply_unguarded(&mut self, c: Command, ctx: &egui::Context) {
        match c {
            Command::Edit { spec, key } => {
                self.doc.edit(spec, key);
                self.rederive();
            }
            Command::Undo => {
                if self.doc.undo() {
                    ctx.memory_mut(|m| m.stop_text_input());
                    self.rederive();
                    self.info("Undone.");
                }
            }
            Command::Redo => {
                if self.doc.redo() {
                    ctx.memory_mut(|m| m.stop_text_input());
                    self.rederive();
                    self.info("Redone.");
                }
            }
            Command::SetModel(m) => {
                self.session.model = m;
                self.rederive();
                self.data.model_changed();
            }
            Command::SetEngine(e) => {
                self.session.engine = e;
                self.rederive();
            }
            Command::NewDesign => {
                self.doc = DesignDoc::default();
                self.session.view = View::Design;
                self.rederive();
            }
            Command::OpenTemplate(i) => {
                if let Some(t) = TEMPLATES.get(i) {
                    match DesignSpec::from_toml_str(t.toml) {
                        Ok(spec) => {
                            self.doc = DesignDoc::new(spec, None, Some(t.stem.to_string()));
                            self.selected_term = 0;
                            self.session.view = View::Design;
                            self.rederive();
                            self.info(format!(
                                "Template {} opened; save it to keep your changes.",
                                t.stem
                            ));
                        }
                        Err(e) => self.error(format!("Template {}: {e}", t.stem)),
                    }
                }
            }
            Command::OpenTemplateWithData(i) => {
                self.apply_unguarded(Command::OpenTemplate(i), ctx);
                if let Some(t) = TEMPLATES.get(i) {
                    match templates::data_path(t) {
                        Ok(p) => self.apply_unguarded(Command::OpenData(p), ctx),
                        Err(e) => self.error(e),
                    }
                }
            }
            Command::OpenDesign(path) => self.open_design(&path),
            Command::SaveDesign => match self.doc.path.clone() {
                Some(p) => self.save_design(&p),
                None => self.open_dialog(DialogPurpose::SaveDesign, ctx),
            },
            Command::Dialog(purpose) => self.open_dialog(purpose, ctx),
            Command::DialogAnswer { purpose, path } => {
                let Some(path) = path else {
                    // Cancelled: a close or replace waiting for this save is cancelled too.
                    if purpose == DialogPurpose::SaveDesign && self.awaiting_save {
                        self.awaiting_save = false;
                        self.pending = None;
                    }
                    return;
                };
                match purpose {
                    DialogPurpose::OpenDesign => self.commands.push(Command::OpenDesign(path)),
                    DialogPurpose::SaveDesign => {
                        let path = with_extension(path, "toml");
                        self.save_design(&path);
                        if self.awaiting_save {
                            self.awaiting_save = false;
                            if let Some(p) = self.pending.take()
                                && !self.doc.is_dirty()
                            {
                                self.run_confirmed(p, ctx);
                            }
                        }
                    }
                    DialogPurpose::OpenData => self.commands.push(Command::OpenData(path)),
                    DialogPurpose::Export { target, format } => {
                        self.commands.push(Command::ExportTo {
                            target,
                            format,
                            path: with_extension(path, format.extension()),
                        });
                    }
                }
            }
            Command::Resolve(r) => {
                let Some(p) = self.pending.take() else { return };
                match r {
                    Resolution::Cancel => {}
                    Resolution::Discard => self.run_confirmed(p, ctx),
                    Resolution::Save => match self.doc.path.clone() {
                        Some(path) => {
                            self.save_design(&path);
                            if !self.doc.is_dirty() {
                                self.run_confirmed(p, ctx);
                            }
                        }
                        None => {
                            // Ask for a file; the pending command runs after the save.
                            self.pending = Some(p);
                            self.awaiting_save = true;
                            self.open_dialog(DialogPurpose::SaveDesign, ctx);
                        }
                    },
                }
            }
            Command::ShowView(v) => self.session.view = v,
            Command::SelectTerm(u) => self.selected_term = u,
            Command::ExportDialog { target, format } => {
                let stem = self.doc.suggested_stem();
                let name = match &target.table {
                    Some(k) => format!("{stem}_{k}.{}", format.extension()),
                    None => format!(
                        "{stem}_{}.{}",
                        match target.doc {
                            DocKind::Ems => "ems",
                            DocKind::Analysis => "analysis",
                        },
                        format.extension()
                    ),
                };
                let dir = self
                    .doc
                    .path
                    .as_ref()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .or_else(|| std::env::current_dir().ok());
                let suggested = dir
                    .map(|d| d.join(&name))
                    .unwrap_or_else(|| PathBuf::from(&name));
                self.chooser.choose(
                    DialogPurpose::Export { target, format },
                    Some(suggested),
                    self.inbox.0.clone(),
                    ctx.clone(),
                );
            }
            Command::ExportTo {
                target,
                format,
                path,
            } => match self.render_target(&target, format) {
                Ok(text) => match emslab::io::write_atomic(&path, text.as_bytes()) {
                    Ok(()) => self.info(format!("Wrote {}", path.display())),
                    Err(e) => self.error(format!("{e}: choose another folder or file name")),
                },
                Err(e) => self.error(e),
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
            Command::OpenData(path) => {
                let design = self.derived.design.as_ref().ok().cloned();
                match design {
                    Some(d) => {
                        self.data.open(path, &d, ctx);
                        self.session.view = View::Data;
                    }
                    None => self.error(
                        "Declare a valid design before loading data: the columns are matched to its factors.",
                    ),
                }
            }
            Command::CancelJob => self.data.cancel(),
            Command::RunAnalysis => {
                if let Ok(d) = &self.derived.design {
                    let d = d.clone();
                    let opts = self.analysis_settings();
                    match self.data.run_analysis(&d, opts, ctx) {
                        Ok(()) => self.session.view = View::Results,
                        Err(e) => self.error(e),
                    }
                }
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
        }
    }

    /// Runs a command the user agreed to (after "save" or "discard changes").
    fn run_confirmed(&mut self, c: Command, ctx: &egui::Context) {
        self.apply_unguarded(c, ctx);
    }

    fn open_dialog(&mut self, purpose: DialogPurpose, ctx: &egui::Context) {
        let suggested = match &purpose {
            DialogPurpose::SaveDesign => {
                let name = format!("{}.toml", self.doc.suggested_stem());
                Some(
                    self.doc
                        .path
                        .clone()
                        .or_else(|| templates::designs_dir().map(|d| d.join(&name)))
                        .unwrap_or_else(|| PathBuf::from(name)),
                )
            }
            DialogPurpose::OpenDesign => templates::designs_dir().map(|d| d.join("x")),
            DialogPurpose::OpenData => self
                .data
                .path()
                .map(Path::to_path_buf)
                .or_else(|| self.doc.path.clone()),
            DialogPurpose::Export { .. } => None,
        };
        self.chooser
            .choose(purpose, suggested, self.inbox.0.clone(), ctx.clone());
    }

    fn open_design(&mut self, path: &Path) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.error(format!("{}: {e}", path.display()));
                return;
            }
        };
        match DesignSpec::from_toml_str(&text) {
            Ok(spec) => {
                self.doc = DesignDoc::new(spec, Some(path.to_path_buf()), None);
                self.selected_term = 0;
                self.remember(path);
                if self.session.view == View::Start {
                    self.session.view = View::Design;
                }
                self.rederive();
                match &self.derived.design {
                    Ok(_) => self.info(format!("Opened {}", path.display())),
                    Err(e) => self.error(format!(
                        "Opened {}, but the design has a problem: {e}. Fix it in the Design view.",
                        path.display()
                    )),
                }
            }
            Err(e) => self.error(format!(
                "{}: {e}. The design was not opened; fix the file and open it again.",
                path.display()
            )),
        }
    }

    fn save_design(&mut self, path: &Path) {
        let text = self.doc.spec.to_toml_string();
        match emslab::io::write_atomic(path, text.as_bytes()) {
            Ok(()) => {
                self.doc.mark_saved(path);
                self.doc.template = None;
                self.remember(path);
                self.info(format!("Saved {}", path.display()));
            }
            Err(e) => self.error(format!(
                "{e}: the design was not saved; choose another folder."
            )),
        }
    }

    fn remember(&mut self, path: &Path) {
        let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.session.recent.retain(|q| *q != p);
        self.session.recent.insert(0, p);
        self.session.recent.truncate(8);
    }

    fn analysis_settings(&self) -> super::data_view::AnalysisSettings {
        use emslab::moments::NegativePolicy;
        super::data_view::AnalysisSettings {
            model: self.session.model,
            alpha: self.session.alpha,
            reml: self.session.reml,
            ml: self.session.ml,
            negative: match self.session.negative.as_str() {
                "zero" => NegativePolicy::Zero,
                "pool" => NegativePolicy::Pool,
                _ => NegativePolicy::Report,
            },
        }
    }

    /// The text of an export, through the same writers as the command line.
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
            DocKind::Analysis => self.data.render(target.table.as_deref(), format),
        }
    }
}

fn with_extension(path: PathBuf, ext: &str) -> PathBuf {
    if path.extension().is_some() {
        path
    } else {
        path.with_extension(ext)
    }
}

impl eframe::App for EmslabApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.session_snapshot());
    }
}
