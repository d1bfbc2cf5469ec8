//! File dialogs. The system's dialog (XDG desktop portal, or zenity) runs off the UI
//! thread and answers with a [`Command::DialogAnswer`] through the app's inbox, so the
//! window keeps drawing while it is open. Where neither is installed that dialog closes at
//! once without an answer: the app then says so and uses its own chooser ([`BuiltinDialog`],
//! `egui_file`), for this dialog and the next ones. Tests swap in a chooser that answers
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
        DialogPurpose::ExportChart(_) => "Save the plot",
    }
}

/// The file name extensions a dialog offers.
fn extensions(purpose: &DialogPurpose) -> Vec<&'static str> {
    match purpose {
        DialogPurpose::OpenDesign | DialogPurpose::SaveDesign => vec!["toml"],
        DialogPurpose::OpenData => vec!["csv", "txt", "tsv"],
        DialogPurpose::Export { format, .. } => vec![format.extension()],
        DialogPurpose::ExportChart(f) => vec![match f {
            emslab::chart::render::ImageFormat::Png => "png",
            emslab::chart::render::ImageFormat::Svg => "svg",
        }],
    }
}

fn saves(purpose: &DialogPurpose) -> bool {
    matches!(
        purpose,
        DialogPurpose::SaveDesign | DialogPurpose::Export { .. } | DialogPurpose::ExportChart(_)
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
        DialogPurpose::ExportChart(emslab::chart::render::ImageFormat::Png) => "PNG image",
        DialogPurpose::ExportChart(emslab::chart::render::ImageFormat::Svg) => "SVG image",
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

/// emslab's own file chooser, drawn in the window (`egui_file`): for systems without a
/// desktop portal or zenity, or by choice (View menu).
pub struct BuiltinDialog {
    pub purpose: DialogPurpose,
    dialog: egui_file::FileDialog,
}

impl BuiltinDialog {
    pub fn open(purpose: DialogPurpose, suggested: Option<PathBuf>) -> BuiltinDialog {
        let exts = extensions(&purpose);
        let mut dialog = if saves(&purpose) {
            egui_file::FileDialog::save_file()
        } else {
            egui_file::FileDialog::open_file()
        };
        if let Some(s) = &suggested {
            if let Some(dir) = s.parent().filter(|d| d.is_dir()) {
                dialog = dialog.initial_path(dir);
            }
            if saves(&purpose)
                && let Some(name) = s.file_name()
            {
                dialog = dialog.default_filename(name.to_string_lossy());
            }
        }
        let mut dialog = dialog
            .title(title(&purpose))
            .id(egui::Id::unique("builtin-file-dialog"))
            .show_rename(false)
            .show_new_folder(saves(&purpose))
            .show_files_filter(Box::new(move |p: &std::path::Path| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
            }));
        dialog.open();
        BuiltinDialog { purpose, dialog }
    }

    /// Draws the dialog; the answer once the user chose or cancelled (Esc cancels).
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Option<PathBuf>> {
        self.dialog.show(ctx);
        match self.dialog.state() {
            egui_file::State::Open => None,
            egui_file::State::Selected => Some(self.dialog.path().map(PathBuf::from)),
            egui_file::State::Cancelled | egui_file::State::Closed => Some(None),
        }
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
