//! File dialogs off the UI thread. The answer comes back as a [`Command::DialogAnswer`]
//! through the app's inbox, so the window keeps drawing while a dialog is open. Tests swap
//! in a chooser that answers with fixed paths.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll, Wake};

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

/// The platform's file dialog (XDG desktop portal, or zenity, on Linux).
pub struct NativeChooser;

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
                let path = match &purpose {
                    DialogPurpose::OpenDesign => block_on(
                        dialog
                            .set_title("Open a design")
                            .add_filter("Design (TOML)", &["toml"])
                            .pick_file(),
                    ),
                    DialogPurpose::SaveDesign => block_on(
                        dialog
                            .set_title("Save the design")
                            .add_filter("Design (TOML)", &["toml"])
                            .save_file(),
                    ),
                    DialogPurpose::OpenData => block_on(
                        dialog
                            .set_title("Open data")
                            .add_filter("CSV", &["csv", "txt", "tsv"])
                            .pick_file(),
                    ),
                    DialogPurpose::Export { format, .. } => block_on(
                        dialog
                            .set_title("Export")
                            .add_filter(format_name(*format), &[format.extension()])
                            .save_file(),
                    ),
                }
                .map(|h| h.path().to_path_buf());
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
