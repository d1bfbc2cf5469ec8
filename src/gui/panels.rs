//! The panels around the views (menu, tool bar, status line), the view of the moment, the
//! start page and the unsaved-changes question.

use egui::{Key, RichText, Ui};
use emslab::DesignSpec;
use emslab::report::Format;

use super::app::{EmslabApp, View};
use super::command::{Command, DialogPurpose, DocKind, ExportTarget, Resolution};
use super::data_view;
use super::design_view;
use super::display;
use super::ems_view;
use super::engine;
use super::help;
use super::plan;
use super::results::{self, ResultsInput};
use super::table_view::format_label;
use super::templates::{self, TEMPLATES};

/// The keys of the Help menu and the README.
pub const SHORTCUTS: [(&str, &str); 9] = [
    (
        "Ctrl+1 … Ctrl+6",
        "Start, Design, Plan, EMS derivation, Data, Results",
    ),
    ("F1", "Help: what each table says, the rules"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo a design edit"),
    ("Ctrl+N, Ctrl+O, Ctrl+S", "new, open, save design"),
    ("Ctrl+D", "open data"),
    ("Ctrl+R", "run the analysis"),
    ("Ctrl+M", "switch restricted / unrestricted"),
    ("Ctrl+T", "switch light / dark theme"),
    ("Ctrl++ / Ctrl+- / Ctrl+0", "zoom"),
];

impl EmslabApp {
    pub(super) fn menu_bar(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui));
            ui.menu_button("Edit", |ui| {
                if ui
                    .add_enabled(
                        self.doc.can_undo(),
                        egui::Button::new("Undo").shortcut_text("Ctrl+Z"),
                    )
                    .clicked()
                {
                    self.commands.push(Command::Undo);
                    ui.close();
                }
                if ui
                    .add_enabled(
                        self.doc.can_redo(),
                        egui::Button::new("Redo").shortcut_text("Ctrl+Shift+Z"),
                    )
                    .clicked()
                {
                    self.commands.push(Command::Redo);
                    ui.close();
                }
            });
            ui.menu_button("View", |ui| self.view_menu(ui));
            ui.menu_button("Help", |ui| {
                ui.label(RichText::new("emslab").strong());
                ui.label(format!("version {}", env!("CARGO_PKG_VERSION")));
                if ui
                    .add(egui::Button::new("Tables and rules").shortcut_text("F1"))
                    .clicked()
                {
                    self.commands.push(Command::ShowView(View::Help));
                    ui.close();
                }
                ui.separator();
                ui.label("Shortcuts");
                egui::Grid::new("shortcuts").show(ui, |ui| {
                    for (k, what) in SHORTCUTS {
                        ui.label(RichText::new(k).monospace());
                        ui.label(what);
                        ui.end_row();
                    }
                });
                ui.label("Hover over a column heading or a field for what it means.");
            });
        });
    }

    fn file_menu(&mut self, ui: &mut Ui) {
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
        item(
            ui,
            "Open design…",
            "Ctrl+O",
            Command::Dialog(DialogPurpose::OpenDesign),
        );
        item(ui, "Save design", "Ctrl+S", Command::SaveDesign);
        item(
            ui,
            "Save design as…",
            "Ctrl+Shift+S",
            Command::Dialog(DialogPurpose::SaveDesign),
        );
        ui.separator();
        item(
            ui,
            "Open data (CSV)…",
            "Ctrl+D",
            Command::Dialog(DialogPurpose::OpenData),
        );
        ui.separator();
        let export = |ui: &mut Ui, doc: DocKind, commands: &mut Vec<Command>| {
            for format in Format::ALL {
                if ui.button(format_label(format)).clicked() {
                    commands.push(Command::ExportDialog {
                        target: ExportTarget { doc, table: None },
                        format,
                    });
                    ui.close();
                }
            }
        };
        ui.menu_button("Export EMS report", |ui| {
            export(ui, DocKind::Ems, &mut self.commands);
            ui.checkbox(
                &mut self.session.export_steps,
                "Include the derivation steps",
            );
        });
        if self.analysis.current.is_some() {
            ui.menu_button("Export analysis report", |ui| {
                export(ui, DocKind::Analysis, &mut self.commands);
                ui.label(RichText::new("HTML includes the plots.").weak());
            });
        }
        if self
            .analysis
            .current
            .as_ref()
            .is_some_and(|c| c.gauge.shown().is_some())
        {
            ui.menu_button("Export gauge report", |ui| {
                export(ui, DocKind::Gauge, &mut self.commands);
            });
        }
        if self.plan.result().is_some() {
            ui.menu_button("Export power report", |ui| {
                export(ui, DocKind::Power, &mut self.commands);
            });
        }
        if !self.session.recent.is_empty() {
            ui.separator();
            ui.menu_button("Recent designs", |ui| {
                for p in self.session.recent.clone() {
                    if ui.button(p.display().to_string()).clicked() {
                        self.commands.push(Command::OpenDesign {
                            path: p,
                            data: None,
                        });
                        ui.close();
                    }
                }
            });
        }
        ui.separator();
        if ui
            .add(egui::Button::new("Quit").shortcut_text("Ctrl+Q"))
            .clicked()
        {
            self.commands.push(Command::Quit);
            ui.close();
        }
    }

    fn view_menu(&mut self, ui: &mut Ui) {
        for (i, v) in View::ALL.into_iter().enumerate() {
            if ui
                .add(egui::Button::new(v.label()).shortcut_text(format!("Ctrl+{}", i + 1)))
                .clicked()
            {
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
        if ui
            .add(egui::Button::new("Switch light / dark").shortcut_text("Ctrl+T"))
            .clicked()
        {
            self.commands.push(Command::ToggleTheme);
        }
        ui.separator();
        if ui
            .add(egui::Button::new("Zoom in").shortcut_text("Ctrl++"))
            .clicked()
        {
            self.commands.push(Command::ZoomIn);
        }
        if ui
            .add(egui::Button::new("Zoom out").shortcut_text("Ctrl+-"))
            .clicked()
        {
            self.commands.push(Command::ZoomOut);
        }
        if ui
            .add(egui::Button::new("Reset zoom").shortcut_text("Ctrl+0"))
            .clicked()
        {
            self.commands.push(Command::ZoomReset);
        }
        ui.separator();
        ui.checkbox(&mut self.session.builtin_chooser, "emslab's own file chooser")
            .on_hover_text("Use the file chooser drawn in this window instead of the system's (chosen automatically where the system has none: no desktop portal, no zenity)");
    }

    pub(super) fn tool_bar(&mut self, ui: &mut Ui) {
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
            if ui
                .selectable_label(
                    self.session.view == View::Help,
                    RichText::new("Help").size(15.0),
                )
                .on_hover_text(View::Help.tip())
                .clicked()
            {
                self.commands.push(Command::ShowView(View::Help));
            }
            ui.separator();
            design_view::model_switch(ui, &self.session.options, &mut self.commands);
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

    pub(super) fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            let mut cancel = false;
            if let Some(j) = self.data.as_ref().and_then(|d| d.job()) {
                cancel |= j.ui(ui);
            }
            if let Some(j) = self.analysis.moments_job() {
                cancel |= j.ui(ui);
            }
            if let Some(c) = &self.analysis.current
                && let super::current::Fit::Running(j) = &c.fit
            {
                cancel |= j.ui(ui);
            }
            if cancel {
                self.commands.push(Command::CancelJob);
            }
            if self.is_busy() {
                ui.separator();
            }
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
                Err(_) if self.doc.spec.factors.is_empty() => {
                    ui.label(format!("{}: no factors yet", self.doc.display_name()));
                }
                Err(e) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("Design: {}", display::user_words(&e.to_string())),
                    );
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

    pub(super) fn view_ui(&mut self, ui: &mut Ui) {
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
            View::Plan => plan::plan_ui(
                ui,
                &mut self.plan,
                &mut self.session.plan,
                plan::PlanInput {
                    spec: &self.doc.spec,
                    derived: &self.derived,
                    model: self.session.options.model,
                },
                &mut self.commands,
            ),
            View::Ems => match (&self.derived.ems, &self.derived.document) {
                (Some(_), Some(_)) => {
                    engine::produced_by(ui, self.derived.output.as_ref(), self.engine.waiting());
                    ems_view::ems_ui(ui, &self.derived, self.selected_term, &mut self.commands);
                }
                _ => self.needs_design(ui),
            },
            View::Data => {
                let design = self.derived.design.as_ref().ok();
                data_view::data_ui(
                    ui,
                    self.data.as_ref(),
                    design,
                    &self.doc.spec,
                    &mut self.commands,
                );
            }
            View::Results => {
                let inputs = self.inputs();
                let unbalanced = self
                    .data
                    .as_ref()
                    .and_then(|d| d.dataset())
                    .is_some_and(|d| !d.balance.is_balanced())
                    || self
                        .analysis
                        .current
                        .as_ref()
                        .is_some_and(|c| c.analysis.balanced().is_none());
                results::results_ui(
                    ui,
                    &mut self.analysis,
                    ResultsInput {
                        options: &self.session.options,
                        inputs: inputs.as_ref(),
                        unbalanced,
                        gauge: &self.session.gauge,
                    },
                    &mut self.commands,
                );
            }
            View::Help => help::help_ui(ui, self.help_topic.as_deref()),
        }
    }

    fn needs_design(&mut self, ui: &mut Ui) {
        ui.add_space(20.0);
        match &self.derived.design {
            Err(e) if !self.doc.spec.factors.is_empty() => {
                ui.label(RichText::new("The design has a problem:").strong());
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    display::user_words(&e.to_string()),
                );
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
        ui.add(egui::Label::new("Declare the factors of an experiment (fixed or random, crossed or nested) and watch the EMS table derive by the subscript-table rules; then load data for the ANOVA, variance components and a REML fit.").wrap());
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
                    self.commands.push(Command::OpenDesign {
                        path: p,
                        data: None,
                    });
                }
            }
        }
    }

    /// "Save changes?": Save is the default (Enter), Esc cancels.
    pub(super) fn unsaved_modal(&mut self, ctx: &egui::Context) {
        if self.pending.is_none() || self.dialogs.awaiting_save {
            return;
        }
        let name = self.doc.display_name();
        let response = egui::Modal::new(egui::Id::unique("unsaved-changes")).show(ctx, |ui| {
            ui.set_max_width(440.0);
            ui.heading("Unsaved changes");
            ui.label(format!(
                "The design {} has changes that are not saved. Save them first?",
                name.trim_end_matches(" •")
            ));
            ui.add_space(8.0);
            let mut answer = None;
            ui.horizontal(|ui| {
                let save = ui
                    .add(
                        egui::Button::new(RichText::new("Save").strong())
                            .fill(ui.visuals().selection.bg_fill),
                    )
                    .on_hover_text("Save the design, then go on (Enter)");
                if save.clicked() {
                    answer = Some(Resolution::Save);
                }
                if ui.button("Discard changes").clicked() {
                    answer = Some(Resolution::Discard);
                }
                if ui
                    .button("Cancel")
                    .on_hover_text("Keep editing (Esc)")
                    .clicked()
                {
                    answer = Some(Resolution::Cancel);
                }
            });
            if answer.is_none() && ui.input(|i| i.key_pressed(Key::Enter)) {
                answer = Some(Resolution::Save);
            }
            answer
        });
        let answer = response.inner.or_else(|| {
            (response.should_close() || ctx.input(|i| i.key_pressed(Key::Escape)))
                .then_some(Resolution::Cancel)
        });
        if let Some(a) = answer {
            self.commands.push(Command::Resolve(a));
        }
    }
}
