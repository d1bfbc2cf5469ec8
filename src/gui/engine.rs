//! The EMS engine behind the EMS view: emslab's own exact algebra (computed in the frame, as
//! the design is edited), or Symbolica (cargo feature `symbolica`), asked through
//! [`emslab::cas`] from a background thread that keeps one Symbolica worker process alive.
//! The window never waits on Symbolica: the built-in table shows until Symbolica answers,
//! and only the answer for the latest edit is kept.

use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{RichText, Ui};
use emslab::cas::{self, Engine, EngineOutput, SymbolicaEngine};
use emslab::{Design, Model};

use super::command::Command;
use super::doc::Derived;
use super::help;

/// The Symbolica side of the EMS view: the client thread (started when Symbolica is first
/// chosen), which edit its last request belongs to, and whether it is unanswered.
#[derive(Default)]
pub struct EngineState {
    service: Option<CasService>,
    /// The edit generation of the last request.
    generation: u64,
    /// The last request is unanswered.
    waiting: bool,
    /// A request waits for the first frame (which brings the context).
    deferred: bool,
    /// The executable that runs the Symbolica worker (`None`: this one).
    pub worker_exe: Option<std::path::PathBuf>,
}

impl EngineState {
    /// Asks Symbolica for a design when it is the chosen engine (the built-in table shows
    /// until it answers); an older request's answer is then ignored.
    pub fn ask(
        &mut self,
        engine: Engine,
        design: Option<&Design>,
        model: Model,
        ctx: Option<&egui::Context>,
    ) -> Result<(), String> {
        self.generation += 1;
        self.waiting = false;
        self.deferred = false;
        if engine == Engine::Emslab || !engine.is_available() {
            return Ok(());
        }
        let Some(design) = design else { return Ok(()) };
        if self.service.is_none() {
            let Some(ctx) = ctx else {
                self.deferred = true;
                return Ok(());
            };
            let exe = self
                .worker_exe
                .clone()
                .or_else(|| std::env::current_exe().ok())
                .unwrap_or_default();
            self.service = Some(CasService::start(ctx, exe)?);
        }
        if let Some(s) = &self.service {
            self.waiting = s.request(self.generation, design.clone(), model);
        }
        Ok(())
    }

    /// Whether a request waits for the first frame.
    pub fn take_deferred(&mut self) -> bool {
        std::mem::take(&mut self.deferred)
    }

    /// Whether Symbolica has not answered for the current design yet.
    pub fn waiting(&self) -> bool {
        self.waiting || self.deferred
    }

    /// Puts Symbolica's answer for the current design into `derived`, if it has come.
    pub fn poll(&mut self, derived: &mut Derived) {
        let Some(s) = &self.service else { return };
        if let Some((generation, out)) = s.poll()
            && generation == self.generation
        {
            self.waiting = false;
            derived.set_output(out);
        }
    }
}

/// One request: the edit generation it belongs to, the checked design and the model.
type Request = (u64, Design, Model);

/// The background thread that owns the Symbolica worker.
pub struct CasService {
    requests: Sender<Request>,
    answers: Receiver<(u64, EngineOutput)>,
}

impl CasService {
    /// Starts the thread (not the worker: that starts with the first request).
    /// `exe` is the emslab executable that runs the worker (`emslab __symbolica-worker`).
    pub fn start(ctx: &egui::Context, exe: std::path::PathBuf) -> Result<CasService, String> {
        let (requests, rx) = channel::<Request>();
        let (tx, answers) = channel();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("emslab: Symbolica client".into())
            .spawn(move || serve(&exe, &rx, &tx, &ctx))
            .map_err(|e| format!("could not start the Symbolica client thread: {e}"))?;
        Ok(CasService { requests, answers })
    }

    pub fn request(&self, generation: u64, design: Design, model: Model) -> bool {
        self.requests.send((generation, design, model)).is_ok()
    }

    /// The latest answer that has arrived, if any.
    pub fn poll(&self) -> Option<(u64, EngineOutput)> {
        self.answers.try_iter().last()
    }
}

fn serve(
    exe: &std::path::Path,
    rx: &Receiver<Request>,
    tx: &Sender<(u64, EngineOutput)>,
    ctx: &egui::Context,
) {
    let mut worker: Option<SymbolicaEngine> = None;
    while let Ok(mut request) = rx.recv() {
        // Only the latest edit matters.
        while let Ok(newer) = rx.try_recv() {
            request = newer;
        }
        let (generation, design, model) = request;
        let out = match worker.as_mut() {
            Some(w) => cas::derive_with_engine(w, &design, model),
            None => match SymbolicaEngine::spawn(exe) {
                Ok(w) => cas::derive_with_engine(worker.insert(w), &design, model),
                Err(e) => EngineOutput::fallback(Engine::Symbolica, &e, &design, model),
            },
        };
        if out.fallback.is_some() {
            // Start a new worker next time (another instance may have ended meanwhile).
            worker = None;
        }
        if tx.send((generation, out)).is_err() {
            return;
        }
        ctx.request_repaint();
    }
}

/// The engine choice of the tool bar (shown only in builds with the `symbolica` feature).
pub fn engine_switch(ui: &mut Ui, engine: Engine, commands: &mut Vec<Command>) {
    if !cas::SYMBOLICA_BUILT {
        return;
    }
    ui.horizontal(|ui| {
        ui.label(RichText::new("Engine").strong())
            .on_hover_text(help::ENGINE);
        let mut e = engine;
        ui.radio_value(&mut e, Engine::Emslab, "emslab")
            .on_hover_text(Engine::Emslab.label());
        ui.radio_value(&mut e, Engine::Symbolica, "Symbolica")
            .on_hover_text(Engine::Symbolica.label());
        if e != engine {
            commands.push(Command::SetEngine(e));
        }
    });
}

/// The line above the EMS tables that says which engine produced them.
pub fn produced_by(ui: &mut Ui, out: Option<&EngineOutput>, waiting: bool) {
    let Some(out) = out else { return };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Computed by:").strong());
        ui.label(out.engine.label());
        if waiting {
            ui.spinner();
            ui.label(
                RichText::new(
                    "Symbolica is computing; the built-in engine's table shows meanwhile.",
                )
                .weak(),
            );
        }
    });
    if let Some(why) = &out.fallback {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{} was asked for but not used: {why}. The tables come from the built-in engine, which gives the same results.",
                out.requested.label()
            ),
        );
    }
}
