//! Work that takes longer than a frame (reading a large CSV, an analysis with a REML fit)
//! runs on its own thread. The UI polls its channel each frame, shows its progress and can
//! cancel it; the worker asks for a repaint when it reports.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

/// Fraction done, shared with the worker (in millionths; `u32::MAX`: unknown).
#[derive(Clone)]
pub struct Progress {
    done: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
    stage: Arc<std::sync::Mutex<String>>,
    ctx: egui::Context,
}

impl Progress {
    pub fn set(&self, fraction: f64) {
        let v = (fraction.clamp(0.0, 1.0) * 1e6) as u32;
        if self.done.swap(v, Ordering::Relaxed) / 10_000 != v / 10_000 {
            // Repaint on each whole percent.
            self.ctx.request_repaint();
        }
    }

    pub fn stage(&self, text: &str) {
        if let Ok(mut s) = self.stage.lock() {
            *s = text.to_string();
        }
        self.done.store(u32::MAX, Ordering::Relaxed);
        self.ctx.request_repaint();
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The flag Cancel sets, for library calls that check it themselves.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }
}

/// A running job producing a `T`.
pub struct Job<T> {
    pub label: String,
    progress: Progress,
    rx: Receiver<T>,
    started: Instant,
}

impl<T: Send + 'static> Job<T> {
    pub fn spawn(
        label: impl Into<String>,
        ctx: &egui::Context,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> Result<Job<T>, String> {
        let (tx, rx) = channel();
        let progress = Progress {
            done: Arc::new(AtomicU32::new(u32::MAX)),
            cancel: Arc::new(AtomicBool::new(false)),
            stage: Arc::new(std::sync::Mutex::new(String::new())),
            ctx: ctx.clone(),
        };
        let p = progress.clone();
        let c = ctx.clone();
        let label = label.into();
        std::thread::Builder::new()
            .name(format!("emslab: {label}"))
            .spawn(move || {
                let out = work(&p);
                let _ = tx.send(out);
                c.request_repaint();
            })
            .map_err(|e| format!("could not start a worker thread: {e}"))?;
        Ok(Job {
            label,
            progress,
            rx,
            started: Instant::now(),
        })
    }
}

impl<T> Job<T> {
    /// The result, once the worker is done (`Err(())` if it died without one).
    pub fn poll(&mut self) -> Option<Result<T, ()>> {
        match self.rx.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(())),
        }
    }

    /// Fraction done, when known.
    pub fn fraction(&self) -> Option<f32> {
        match self.progress.done.load(Ordering::Relaxed) {
            u32::MAX => None,
            v => Some(v as f32 / 1e6),
        }
    }

    pub fn stage(&self) -> String {
        self.progress
            .stage
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn cancel(&self) {
        self.progress.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.progress.cancelled()
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A progress bar with the job's name and a Cancel button; `true` when cancelled.
    pub fn ui(&self, ui: &mut egui::Ui) -> bool {
        ui.ctx().request_repaint_after(Duration::from_millis(100));
        let stage = self.stage();
        let text = if stage.is_empty() {
            self.label.clone()
        } else {
            format!("{}: {stage}", self.label)
        };
        let mut cancelled = false;
        ui.horizontal(|ui| {
            match self.fraction() {
                Some(f) => {
                    ui.add(
                        egui::ProgressBar::new(f)
                            .desired_width(220.0)
                            .show_percentage()
                            .text(format!("{text} {:.0} %", f * 100.0)),
                    );
                }
                None => {
                    ui.spinner();
                    ui.label(format!("{text} ({:.0} s)", self.elapsed().as_secs_f32()));
                }
            }
            if ui
                .button("Cancel")
                .on_hover_text("Stop this work; nothing already loaded is changed")
                .clicked()
            {
                cancelled = true;
            }
        });
        cancelled
    }
}

/// A reader that reports the fraction of `total` bytes read and stops with an
/// error once the job is cancelled (not `Interrupted`, which readers retry).
pub struct ProgressReader<R> {
    inner: R,
    read: u64,
    total: u64,
    reported: u64,
    progress: Progress,
}

impl<R: Read> ProgressReader<R> {
    pub fn new(inner: R, total: u64, progress: Progress) -> ProgressReader<R> {
        progress.set(0.0);
        ProgressReader {
            inner,
            read: 0,
            total: total.max(1),
            reported: 0,
            progress,
        }
    }
}

/// The error a cancelled read ends with.
pub const CANCELLED: &str = "cancelled by the user";

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.progress.cancelled() {
            return Err(std::io::Error::other(CANCELLED));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read - self.reported >= 1 << 20 || n == 0 {
            self.reported = self.read;
            self.progress.set(self.read as f64 / self.total as f64);
        }
        Ok(n)
    }
}
