//! File dialogs. The system's dialog (XDG desktop portal, or zenity) runs off the UI
//! thread and answers with a [`Command::DialogAnswer`] through the app's inbox, so the
//! window keeps drawing while it is open. Where neither is installed that dialog closes at
//! once without an answer: the app then says so and uses its own chooser ([`BuiltinDialog`]),
//! for this dialog and the next ones. Tests swap in a chooser that answers
//! with fixed paths.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll, Wake};
use std::time::{Duration, Instant};

use emslab::report::Format;

use super::command::{Command, DialogPurpose};

/// Picks a file for a purpose and sends the answer to the app.
pub trait FileChooser {
    fn choose(
        &self,
        purpose: DialogPurpose,
        suggested: Option<PathBuf>,
        answer: Sender<Command>,
        ctx: egui::Context,
    );
}

/// A system dialog that gives no answer within this time did not open (no portal, no
/// zenity): no one cancels a dialog that fast.
const NO_DIALOG: Duration = Duration::from_millis(800);

/// The platform's file dialog (XDG desktop portal, or zenity, on Linux).
pub struct NativeChooser;

/// The title of a dialog.
pub fn title(purpose: &DialogPurpose) -> &'static str {
    match purpose {
        DialogPurpose::OpenDesign => "Open a design",
        DialogPurpose::SaveDesign => "Save the design",
        DialogPurpose::OpenData => "Open data",
        DialogPurpose::Export { .. } => "Export",
        DialogPurpose::ExportChart { .. } => "Save the plot",
    }
}

/// The file name extensions a dialog offers.
fn extensions(purpose: &DialogPurpose) -> Vec<&'static str> {
    match purpose {
        DialogPurpose::OpenDesign | DialogPurpose::SaveDesign => vec!["toml"],
        DialogPurpose::OpenData => vec!["csv", "txt", "tsv"],
        DialogPurpose::Export { format, .. } => vec![format.extension()],
        DialogPurpose::ExportChart { format, .. } => vec![match format {
            emslab::chart::render::ImageFormat::Png => "png",
            emslab::chart::render::ImageFormat::Svg => "svg",
        }],
    }
}

fn saves(purpose: &DialogPurpose) -> bool {
    matches!(
        purpose,
        DialogPurpose::SaveDesign
            | DialogPurpose::Export { .. }
            | DialogPurpose::ExportChart { .. }
    )
}

impl FileChooser for NativeChooser {
    fn choose(
        &self,
        purpose: DialogPurpose,
        suggested: Option<PathBuf>,
        answer: Sender<Command>,
        ctx: egui::Context,
    ) {
        let spawned = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let mut dialog = rfd::AsyncFileDialog::new();
                if let Some(s) = &suggested {
                    if let Some(dir) = s.parent().filter(|d| d.is_dir()) {
                        dialog = dialog.set_directory(dir);
                    }
                    if let Some(name) = s.file_name() {
                        dialog = dialog.set_file_name(name.to_string_lossy());
                    }
                }
                dialog = dialog
                    .set_title(title(&purpose))
                    .add_filter(filter_name(&purpose), &extensions(&purpose));
                let started = Instant::now();
                let path = if saves(&purpose) {
                    block_on(dialog.save_file())
                } else {
                    block_on(dialog.pick_file())
                }
                .map(|h| h.path().to_path_buf());
                if path.is_none() && started.elapsed() < NO_DIALOG {
                    let _ = answer.send(Command::NoSystemDialog { purpose, suggested });
                    ctx.request_repaint();
                    return;
                }
                let _ = answer.send(Command::DialogAnswer { purpose, path });
                ctx.request_repaint();
            });
        if spawned.is_err() {
            // Without a thread there is no dialog; the status line says so.
            log_no_dialog();
        }
    }
}

fn log_no_dialog() {
    eprintln!("emslab: could not start the file dialog thread");
}

fn filter_name(purpose: &DialogPurpose) -> &'static str {
    match purpose {
        DialogPurpose::OpenDesign | DialogPurpose::SaveDesign => "Design (TOML)",
        DialogPurpose::OpenData => "CSV",
        DialogPurpose::Export { format, .. } => format_name(*format),
        DialogPurpose::ExportChart { format, .. } => match format {
            emslab::chart::render::ImageFormat::Png => "PNG image",
            emslab::chart::render::ImageFormat::Svg => "SVG image",
        },
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Text => "Text",
        Format::Markdown => "Markdown",
        Format::Latex => "LaTeX",
        Format::Csv => "CSV",
        Format::Html => "HTML",
        Format::Json => "JSON",
    }
}

/// Runs a future to completion on this thread (the dialog futures need no executor).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// emslab's own file chooser, drawn in the window: for systems without a desktop portal
/// or zenity, or by choice (View menu). A folder's subfolders and the files of the
/// dialog's kind, a file name field, Open or Save (Enter) and Cancel (Esc).
///
/// (egui_file 0.29 supports egui 0.37, but sets its titles with emoji that egui's default
/// fonts cannot draw; this chooser is small and uses the app's fonts and words.)
pub struct BuiltinDialog {
    pub purpose: DialogPurpose,
    dir: PathBuf,
    name: String,
    /// Subfolders and files of `dir` (name, is a folder), or why it cannot be listed.
    entries: Result<Vec<(String, bool)>, String>,
    problem: Option<String>,
}

impl BuiltinDialog {
    pub fn open(purpose: DialogPurpose, suggested: Option<PathBuf>) -> BuiltinDialog {
        let dir = suggested
            .as_ref()
            .and_then(|s| s.parent())
            .filter(|d| d.is_dir())
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let name = if saves(&purpose) {
            suggested
                .as_ref()
                .and_then(|s| s.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut d = BuiltinDialog {
            purpose,
            dir,
            name,
            entries: Ok(Vec::new()),
            problem: None,
        };
        d.list();
        d
    }

    fn list(&mut self) {
        let exts = extensions(&self.purpose);
        self.entries = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("{}: {e}", self.dir.display()))
            .map(|rd| {
                let mut v: Vec<(String, bool)> = rd
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let is_dir = e.path().is_dir();
                        let shown = !name.starts_with('.')
                            && (is_dir
                                || std::path::Path::new(&name)
                                    .extension()
                                    .and_then(|x| x.to_str())
                                    .is_some_and(|x| {
                                        exts.iter().any(|e| e.eq_ignore_ascii_case(x))
                                    }));
                        shown.then_some((name, is_dir))
                    })
                    .collect();
                v.sort_by(|a, b| {
                    b.1.cmp(&a.1)
                        .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
                });
                v
            });
    }

    fn enter(&mut self, dir: PathBuf) {
        self.dir = dir;
        self.problem = None;
        self.list();
    }

    /// The chosen file, or why it cannot be taken.
    fn confirm(&mut self) -> Option<PathBuf> {
        let name = self.name.trim();
        if name.is_empty() {
            self.problem = Some("Choose a file or type its name.".into());
            return None;
        }
        let path = self.dir.join(name);
        if path.is_dir() {
            self.enter(path);
            self.name.clear();
            return None;
        }
        if !saves(&self.purpose) && !path.is_file() {
            self.problem = Some(format!("{}: no such file", path.display()));
            return None;
        }
        Some(path)
    }

    /// Draws the dialog; the answer once the user chose or cancelled (Esc cancels, Enter
    /// takes the file named).
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Option<PathBuf>> {
        let mut answer: Option<Option<PathBuf>> = None;
        let verb = if saves(&self.purpose) { "Save" } else { "Open" };
        let response = egui::Modal::new(egui::Id::unique("builtin-file-dialog")).show(ctx, |ui| {
            ui.set_width(560.0);
            ui.heading(title(&self.purpose));
            ui.horizontal(|ui| {
                let parent = self.dir.parent().map(PathBuf::from);
                if ui
                    .add_enabled(parent.is_some(), egui::Button::new("⬆ Up"))
                    .on_hover_text("The folder above")
                    .accessible_name("Parent folder")
                    .clicked()
                    && let Some(p) = parent
                {
                    self.enter(p);
                }
                ui.label(egui::RichText::new(self.dir.display().to_string()).monospace());
            });
            ui.separator();
            let mut go: Option<PathBuf> = None;
            let mut take: Option<String> = None;
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .auto_shrink([false, true])
                .show(ui, |ui| match &self.entries {
                    Err(e) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    Ok(entries) if entries.is_empty() => {
                        ui.label(
                            egui::RichText::new("No folders or files of this kind here.").weak(),
                        );
                    }
                    Ok(entries) => {
                        for (name, is_dir) in entries {
                            let text = if *is_dir {
                                format!("{name}/")
                            } else {
                                name.clone()
                            };
                            let r = ui.selectable_label(!*is_dir && *name == self.name, text);
                            if r.clicked() {
                                if *is_dir {
                                    go = Some(self.dir.join(name));
                                } else {
                                    take = Some(name.clone());
                                }
                            }
                            if r.double_clicked() && !*is_dir {
                                take = Some(name.clone());
                                answer = Some(None);
                            }
                        }
                    }
                });
            if let Some(d) = go {
                self.enter(d);
            }
            let double = answer.take().is_some();
            if let Some(n) = take {
                self.name = n;
                self.problem = None;
            }
            ui.separator();
            ui.horizontal(|ui| {
                ui.label("File name");
                ui.add(egui::TextEdit::singleline(&mut self.name).desired_width(380.0))
                    .accessible_name("File name");
            });
            if let Some(p) = &self.problem {
                ui.colored_label(ui.visuals().error_fg_color, p);
            }
            ui.horizontal(|ui| {
                let ok = ui
                    .add(
                        egui::Button::new(egui::RichText::new(verb).strong())
                            .fill(ui.visuals().selection.bg_fill),
                    )
                    .on_hover_text(format!("{verb} the file named (Enter)"));
                if (ok.clicked() || double || ui.input(|i| i.key_pressed(egui::Key::Enter)))
                    && let Some(p) = self.confirm()
                {
                    answer = Some(Some(p));
                }
                if ui.button("Cancel").on_hover_text("Esc").clicked() {
                    answer = Some(None);
                }
            });
        });
        if answer.is_none()
            && (response.should_close() || ctx.input(|i| i.key_pressed(egui::Key::Escape)))
        {
            answer = Some(None);
        }
        answer
    }
}

/// Answers every dialog with the next path of a list (tests).
#[cfg(test)]
pub struct FixedChooser(pub std::sync::Mutex<std::collections::VecDeque<PathBuf>>);

#[cfg(test)]
impl FixedChooser {
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> FixedChooser {
        FixedChooser(std::sync::Mutex::new(paths.into_iter().collect()))
    }
}

#[cfg(test)]
impl FileChooser for FixedChooser {
    fn choose(
        &self,
        purpose: DialogPurpose,
        _suggested: Option<PathBuf>,
        answer: Sender<Command>,
        _ctx: egui::Context,
    ) {
        let path = self.0.lock().ok().and_then(|mut q| q.pop_front());
        let _ = answer.send(Command::DialogAnswer { purpose, path });
    }
}

/// A system without a file dialog (tests): every dialog reports that it did not open.
#[cfg(test)]
pub struct NoSystemChooser;

#[cfg(test)]
impl FileChooser for NoSystemChooser {
    fn choose(
        &self,
        purpose: DialogPurpose,
        suggested: Option<PathBuf>,
        answer: Sender<Command>,
        _ctx: egui::Context,
    ) {
        let _ = answer.send(Command::NoSystemDialog { purpose, suggested });
    }
}
