//! The app's state: the session, the design being edited and what is derived from it, the
//! data file, the analysis, the EMS engine, and the command queue applied after each frame.
//! The panels are drawn in [`super::panels`]; commands are applied in [`super::apply`].

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{Key, KeyboardShortcut, Modifiers, Ui};
use emslab::{DesignSpec, Model};
use serde::{Deserialize, Serialize};

use super::command::{ChartSource, Command, DialogPurpose};
use super::current::{AnalysisState, Inputs};
use super::data::DataFile;
use super::design_view::DesignView;
use super::dialogs::{BuiltinDialog, FileChooser, NativeChooser};
use super::doc::{Derived, DesignDoc};
use super::engine::EngineState;
use super::plan::PlanState;
use super::session::Session;
use super::templates::TEMPLATES;

/// The views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum View {
    #[default]
    Start,
    Design,
    /// Power and sample size before any data.
    Plan,
    Ems,
    Data,
    Results,
    /// What each table says and the rules behind it (F1).
    Help,
}

impl View {
    /// The six main views, in the order of their shortcuts (Ctrl+1 … Ctrl+6).
    pub const ALL: [View; 6] = [
        View::Start,
        View::Design,
        View::Plan,
        View::Ems,
        View::Data,
        View::Results,
    ];

    pub fn label(self) -> &'static str {
        match self {
            View::Start => "Start",
            View::Design => "Design",
            View::Plan => "Plan",
            View::Ems => "EMS derivation",
            View::Data => "Data",
            View::Results => "Results",
            View::Help => "Help",
        }
    }

    pub fn tip(self) -> &'static str {
        match self {
            View::Start => "Templates and recent files (Ctrl+1)",
            View::Design => "Declare the factors, levels, nesting and terms (Ctrl+2)",
            View::Plan => {
                "Power of every F test before any data, and how many levels or replicates reach a target power (Ctrl+3)"
            }
            View::Ems => {
                "The subscript table, the derivation of each E(MS), tests, estimators and the precision of means (Ctrl+4)"
            }
            View::Data => "Load a CSV, map its columns, check the balance (Ctrl+5)",
            View::Results => {
                "ANOVA, variance components, means and comparisons, REML, gauge study, plots (Ctrl+6)"
            }
            View::Help => "What each table says, and the rules behind it (F1)",
        }
    }
}

/// A message on the status line.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// File dialogs: the chooser (the system's, or the tests'), the in-app one when it is
/// open, and whether a save dialog is open for a command waiting on it.
pub struct Dialogs {
    pub chooser: Box<dyn FileChooser>,
    pub builtin: Option<BuiltinDialog>,
    /// A save dialog is open for the pending command.
    pub awaiting_save: bool,
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
    /// The data file of the design (none until one is opened).
    pub data: Option<DataFile>,
    pub analysis: AnalysisState,
    pub engine: EngineState,
    pub dialogs: Dialogs,
    /// The Help view's topic (a table key or a rule).
    pub help_topic: Option<String>,
    /// Numbers data reads.
    pub(super) next_read: u64,
    /// Set once the user agreed to close.
    pub(super) close_confirmed: bool,
    pub(super) commands: Vec<Command>,
    pub(super) inbox: (Sender<Command>, Receiver<Command>),
    pub(super) design_view: DesignView,
    /// The Plan view's plan of the design (recomputed when it or its inputs change).
    pub plan: PlanState,
    title_shown: String,
    applied_theme: Option<Option<bool>>,
    pub(super) ctx: Option<egui::Context>,
}

impl Default for EmslabApp {
    fn default() -> Self {
        EmslabApp::new(Session::default())
    }
}

/// The design of a session: as last seen, with its unsaved marker when it differs from the
/// file it was opened from, or from the template it started as.
fn restored_doc(session: &Session) -> Result<DesignDoc, String> {
    let Some(text) = &session.design_toml else {
        return Ok(DesignDoc::default());
    };
    let spec = DesignSpec::from_toml_str(text).map_err(|e| e.to_string())?;
    let original = match (&session.design_path, &session.template) {
        (Some(p), _) => std::fs::read_to_string(p)
            .ok()
            .and_then(|t| DesignSpec::from_toml_str(&t).ok())
            .map(|disk| DesignDoc::new(disk, Some(p.clone()), None)),
        (None, Some(stem)) => TEMPLATES
            .iter()
            .find(|t| t.stem == stem)
            .and_then(|t| DesignSpec::from_toml_str(t.toml).ok())
            .map(|s| DesignDoc::new(s, None, Some(stem.clone()))),
        (None, None) => None,
    };
    Ok(match original {
        Some(mut d) => {
            d.edit(spec, super::command::EditKey::Discrete);
            d
        }
        None => {
            // A file that is gone: the design is kept, marked unsaved.
            let mut d = DesignDoc::new(spec, None, session.template.clone());
            if session.design_path.is_some() {
                d.mark_unsaved();
            }
            d
        }
    })
}

impl EmslabApp {
    /// An app with a session (no design loaded unless the session has one).
    pub fn new(session: Session) -> EmslabApp {
        let (doc, status) = match restored_doc(&session) {
            Ok(d) => (d, None),
            Err(e) => (
                DesignDoc::default(),
                Some(Status {
                    text: format!(
                        "The design of the last session could not be restored ({e}); starting empty."
                    ),
                    error: true,
                }),
            ),
        };
        let derived = Derived::compute(&doc.spec, session.options.model);
        let chooser: Box<dyn FileChooser> = Box::new(NativeChooser);
        EmslabApp {
            session,
            doc,
            derived,
            selected_term: 0,
            status,
            last_copied: None,
            pending: None,
            data: None,
            analysis: AnalysisState::default(),
            engine: EngineState::default(),
            dialogs: Dialogs {
                chooser,
                builtin: None,
                awaiting_save: false,
            },
            help_topic: None,
            next_read: 0,
            close_confirmed: false,
            commands: Vec::new(),
            inbox: channel(),
            design_view: DesignView::default(),
            plan: PlanState::default(),
            title_shown: String::new(),
            applied_theme: None,
            ctx: None,
        }
    }

    /// Replaces the file chooser (tests answer dialogs with fixed paths).
    #[cfg(test)]
    pub fn with_chooser(mut self, chooser: Box<dyn FileChooser>) -> EmslabApp {
        self.dialogs.chooser = chooser;
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

    /// The model of every table.
    pub fn model(&self) -> Model {
        self.session.options.model
    }

    /// The state to persist.
    pub fn session_snapshot(&self) -> Session {
        let mut s = self.session.clone();
        s.design_path = self.doc.path.clone();
        s.template = self.doc.template.clone();
        s.design_toml =
            (self.doc.spec != DesignSpec::default()).then(|| self.doc.spec.to_toml_string());
        s.data_path = self.data.as_ref().map(|d| d.path.clone());
        s
    }

    /// The inputs an analysis run now would have: the design, the data read and the
    /// options (`None` while no data are loaded).
    pub fn inputs(&self) -> Option<Inputs> {
        let d = self.data.as_ref()?;
        d.dataset()?;
        Some(Inputs {
            spec: self.doc.spec.clone(),
            read_id: d.read_id,
            options: self.session.options,
        })
    }

    /// Whether background work (a read, an analysis) is running.
    pub fn is_busy(&self) -> bool {
        self.data.as_ref().is_some_and(DataFile::is_reading) || self.analysis.is_busy()
    }

    pub(super) fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
        });
    }

    pub(super) fn error(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
        });
    }

    /// Recomputes what the design gives (and asks Symbolica, when it is the engine).
    pub(super) fn rederive(&mut self) {
        self.derived = Derived::compute(&self.doc.spec, self.model());
        if let Some(t) = &self.derived.ems {
            self.selected_term = self.selected_term.min(t.terms.len().saturating_sub(1));
        }
        let design = self.derived.design.as_ref().ok();
        if let Err(e) =
            self.engine
                .ask(self.session.engine, design, self.model(), self.ctx.as_ref())
        {
            self.error(e);
        }
    }

    // ---------------------------------------------------------------- frame

    /// One frame: draw every panel, then apply the commands they queued.
    pub fn frame(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        if self.ctx.is_none() {
            self.ctx = Some(ctx.clone());
        }
        if self.engine.take_deferred() {
            self.rederive();
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
        self.builtin_dialog(&ctx);

        while let Ok(c) = self.inbox.1.try_recv() {
            self.commands.push(c);
        }
        self.poll_work(&ctx);
        let commands = std::mem::take(&mut self.commands);
        let applied = !commands.is_empty();
        for c in commands {
            self.apply(c, &ctx);
        }
        if applied {
            // What the commands changed (a question to answer, a dialog, a new view) shows
            // at once, not at the next input.
            ctx.request_repaint();
        }
        self.update_title(&ctx);
    }

    /// Collects finished background work: the data read, the analysis, Symbolica.
    fn poll_work(&mut self, ctx: &egui::Context) {
        let design = self.derived.design.as_ref().ok();
        if let Some(d) = &mut self.data {
            d.poll(design);
        }
        self.analysis.poll(ctx);
        self.engine.poll(&mut self.derived);
    }

    /// The in-app file chooser, while it is open.
    fn builtin_dialog(&mut self, ctx: &egui::Context) {
        let Some(d) = &mut self.dialogs.builtin else {
            return;
        };
        if let Some(path) = d.show(ctx) {
            let purpose = d.purpose.clone();
            self.dialogs.builtin = None;
            self.commands.push(Command::DialogAnswer { purpose, path });
        }
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
        if self.pending.is_some() || self.dialogs.builtin.is_some() {
            // A dialog is open: its keys are its own.
            return;
        }
        let cmd = Modifiers::COMMAND;
        let cmd_shift = Modifiers::COMMAND | Modifiers::SHIFT;
        let other_model = match self.model() {
            Model::Restricted => Model::Unrestricted,
            Model::Unrestricted => Model::Restricted,
        };
        let mut table: Vec<(KeyboardShortcut, Command)> = vec![
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
                Command::SetAnalysisOptions(emslab::analysis::Options {
                    model: other_model,
                    ..self.session.options
                }),
            ),
            (KeyboardShortcut::new(cmd, Key::T), Command::ToggleTheme),
            (KeyboardShortcut::new(cmd, Key::Plus), Command::ZoomIn),
            (KeyboardShortcut::new(cmd, Key::Equals), Command::ZoomIn),
            (KeyboardShortcut::new(cmd, Key::Minus), Command::ZoomOut),
            (KeyboardShortcut::new(cmd, Key::Num0), Command::ZoomReset),
            (KeyboardShortcut::new(cmd, Key::Q), Command::Quit),
            (
                KeyboardShortcut::new(Modifiers::NONE, Key::F1),
                Command::ShowView(View::Help),
            ),
        ];
        let keys = [
            Key::Num1,
            Key::Num2,
            Key::Num3,
            Key::Num4,
            Key::Num5,
            Key::Num6,
        ];
        for (k, v) in keys.into_iter().zip(View::ALL) {
            table.push((KeyboardShortcut::new(cmd, k), Command::ShowView(v)));
        }
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
                "toml" => self.commands.push(Command::OpenDesign { path, data: None }),
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

    /// Where an open or save dialog starts.
    pub(super) fn suggested_path(&self, purpose: &DialogPurpose) -> Option<PathBuf> {
        use super::templates::designs_dir;
        match purpose {
            DialogPurpose::SaveDesign => {
                let name = format!("{}.toml", self.doc.suggested_stem());
                Some(
                    self.doc
                        .path
                        .clone()
                        .or_else(|| designs_dir().map(|d| d.join(&name)))
                        .unwrap_or_else(|| PathBuf::from(name)),
                )
            }
            DialogPurpose::OpenDesign => designs_dir().map(|d| d.join("x")),
            DialogPurpose::OpenData => self
                .data
                .as_ref()
                .map(|d| d.path.clone())
                .or_else(|| self.doc.path.clone())
                .or_else(|| designs_dir().map(|d| d.join("x"))),
            DialogPurpose::Export { .. } | DialogPurpose::ExportChart { .. } => {
                let dir = self
                    .doc
                    .path
                    .as_ref()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .or_else(|| std::env::current_dir().ok());
                let stem = self.doc.suggested_stem();
                let name = match purpose {
                    DialogPurpose::ExportChart { chart, format } => {
                        let plot = match chart {
                            ChartSource::Results => self
                                .analysis
                                .current
                                .as_ref()
                                .map_or("plot", |c| c.plots.kind.file_stem()),
                            ChartSource::Gauge => "gauge",
                            ChartSource::Plan => "power_curve",
                            ChartSource::Means => "means",
                        };
                        let ext = match format {
                            emslab::chart::render::ImageFormat::Png => "png",
                            emslab::chart::render::ImageFormat::Svg => "svg",
                        };
                        format!("{stem}_{plot}.{ext}")
                    }
                    _ => format!("{stem}.x"),
                };
                dir.map(|d| d.join(name))
            }
        }
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
