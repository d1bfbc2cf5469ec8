//! Computer algebra: Symbolica as a second engine for the EMS table (cargo feature
//! `symbolica`, off by default).
//!
//! The default engine ([`crate::ems::derive`]) is emslab's own exact algebra. With the
//! feature, [`SymbolicaEngine`] recomputes the same table independently with Symbolica:
//! every EMS coefficient as the product of the uncovered cells of the subscript table, the
//! moment equations E(MS_T) = MS_T solved for every component as a rational function of the
//! mean squares and level counts, and every F′ denominator as the solution of a linear
//! system; Symbolica prints the solutions as text and LaTeX ([`Solutions`]).
//!
//! Unlicensed Symbolica aborts the whole process when a second thread, or a second process
//! of the same user, uses it. So it never runs in the caller's process: the engine starts
//! `<emslab> __symbolica-worker` as a child process (the `exe` passed to
//! [`SymbolicaEngine::spawn`]) and talks to it over its stdin and stdout, one JSON line per
//! request and answer. In the child, every Symbolica call happens on one dedicated thread.
//! When the child cannot start or dies, the engine returns a [`CasError`] and the caller
//! falls back to the default engine ([`derive_with`] does this).
//!
//! Without the feature this module still compiles: [`SymbolicaEngine::spawn`] returns
//! [`CasError::NotBuilt`] and the binary contains no Symbolica code.

mod client;
#[cfg(feature = "symbolica")]
mod worker;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::design::{Design, DesignSpec};
use crate::ems::{EmsTable, Model};

pub use client::SymbolicaEngine;

/// A worker answer or a Symbolica result that is not of the expected form (what is wrong
/// with it); it becomes a [`CasError`] at the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl From<String> for Malformed {
    fn from(what: String) -> Malformed {
        Malformed(what)
    }
}

/// The hidden subcommand that runs the worker: `emslab __symbolica-worker`.
pub const WORKER_COMMAND: &str = "__symbolica-worker";

/// Whether this build contains the Symbolica engine (cargo feature `symbolica`).
pub const SYMBOLICA_BUILT: bool = cfg!(feature = "symbolica");

/// The Symbolica release the feature pins.
pub const SYMBOLICA_VERSION: &str = "3.0.0";

/// Every answer line of the worker starts with this, so that anything else Symbolica
/// prints on the child's stdout (a banner, a warning) is told apart and ignored.
pub(crate) const ANSWER_PREFIX: &str = "@@emslab-cas@@ ";

/// Which engine computes the EMS table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// emslab's own exact algebra ([`crate::ems::derive`]).
    #[default]
    Emslab,
    /// Symbolica, in a worker process (cargo feature `symbolica`).
    Symbolica,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Emslab => "emslab",
            Engine::Symbolica => "symbolica",
        }
    }

    /// A description for reports: `emslab (built-in exact algebra)`.
    pub fn label(self) -> String {
        match self {
            Engine::Emslab => "emslab (built-in exact algebra)".to_string(),
            Engine::Symbolica => format!("Symbolica {SYMBOLICA_VERSION} (computer algebra)"),
        }
    }

    /// Whether this build can run the engine.
    pub fn is_available(self) -> bool {
        match self {
            Engine::Emslab => true,
            Engine::Symbolica => SYMBOLICA_BUILT,
        }
    }
}

/// Why the Symbolica engine gave no table. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum CasError {
    #[error(
        "this build of emslab has no Symbolica engine (it was built without the `symbolica` feature)"
    )]
    NotBuilt,
    #[error("could not start the Symbolica worker `{exe}`: {source}")]
    Spawn { exe: String, source: std::io::Error },
    /// The worker process ended: Symbolica refused to start (another unlicensed Symbolica
    /// process of this user holds its lock) or it crashed.
    #[error("{}", died_message(*.starting, .status, *.lock_held))]
    Died {
        /// Whether it ended before it was ready.
        starting: bool,
        /// Its exit status, as text.
        status: String,
        /// Whether Symbolica said that another instance holds its one-thread allowance.
        lock_held: bool,
    },
    #[error("the Symbolica worker did not answer within {0} s; it was stopped")]
    Timeout(u64),
    #[error("the Symbolica worker answered something unexpected: {0}")]
    Protocol(String),
    /// The design has rows the Symbolica engine does not derive.
    #[error(
        "the Symbolica engine reads EMS off the subscript table, and this design has mean squares that absorb dropped terms ({0})"
    )]
    Absorbing(String),
    /// The worker answered, but Symbolica could not compute the table.
    #[error("Symbolica could not compute the table: {0}")]
    Failed(String),
}

fn died_message(starting: bool, status: &str, lock_held: bool) -> String {
    let what = if starting {
        "Symbolica could not start"
    } else {
        "the Symbolica worker stopped"
    };
    if lock_held {
        format!(
            "{what}: another Symbolica process of this user is running (unlicensed Symbolica allows one at a time)"
        )
    } else {
        format!("{what} ({status})")
    }
}

/// Symbolica's symbolic results, printed by Symbolica's printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solutions {
    /// For every component (every row of the table, fixed ones too): its solution of the
    /// moment equations E(MS_T) = MS_T, a simplified rational function of the mean squares
    /// and level counts.
    pub components: Vec<SymbolicSolution>,
    /// For every term with a test: its F′ denominator Σ w_V MS_V, where w solves
    /// Σ_V w_V E(MS_V) = E(MS_T) without T's own component.
    pub denominators: Vec<SymbolicSolution>,
}

/// One symbolic solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolicSolution {
    /// The row (term index, the Residual last) it belongs to.
    pub term: usize,
    /// Symbolica's text form: `(MS(A)-MS(A:B))/(b*n)`.
    pub text: String,
    /// Symbolica's LaTeX form: `\frac{\mathrm{MS}_{A}-\mathrm{MS}_{AB}}{b n}`.
    pub latex: String,
}

/// What the Symbolica engine computes for one design and model.
#[derive(Debug, Clone, PartialEq)]
pub struct CasDerivation {
    /// The EMS table, built from Symbolica's results ([`EmsTable::from_parts`]).
    pub table: EmsTable,
    pub solutions: Solutions,
}

// ---- Wire format between the client and the worker (one JSON object per line) ----

/// A request to the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Request {
    pub id: u64,
    pub spec: DesignSpec,
    pub model: Model,
}

/// An answer line of the worker (after [`ANSWER_PREFIX`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Answer {
    /// Sent once, after Symbolica has been used on the worker's Symbolica thread.
    Ready {
        symbolica: String,
    },
    Derived {
        id: u64,
        parts: Parts,
    },
    Failed {
        id: u64,
        message: String,
    },
}

/// Symbolica's results converted to emslab's types (indices are rows: terms, then the
/// Residual; coefficients and divisors are bit masks of subscript-table columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Parts {
    /// `ems[t]`: (component, coefficient) of E(MS_t).
    pub ems: Vec<Vec<(usize, u64)>>,
    /// `denominators[t]`: mean-square weights of t's F′ denominator (empty for the Residual).
    pub denominators: Vec<Vec<(usize, i64)>>,
    /// Estimators of the random components.
    pub estimators: Vec<WireEstimator>,
    pub solutions: Solutions,
}

/// `Σ weight × MS / divisor` for one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireEstimator {
    pub component: usize,
    pub combination: Vec<(usize, i64)>,
    pub divisor: u64,
}

// ---- Running an engine with fallback, and its report ----

/// The EMS table from the engine asked for, or from the default engine when Symbolica
/// cannot run.
#[derive(Debug, Clone)]
pub struct EngineOutput {
    /// The engine asked for.
    pub requested: Engine,
    /// The engine that produced `table`.
    pub engine: Engine,
    pub table: EmsTable,
    /// Symbolica's symbolic solutions (when `engine` is Symbolica).
    pub solutions: Option<Solutions>,
    /// Why Symbolica was not used although asked for (one line).
    pub fallback: Option<String>,
}

impl EngineOutput {
    /// The default engine's table (what `emslab ems` gives without `--engine`).
    pub fn builtin(design: &Design, model: Model) -> EngineOutput {
        output_from(Engine::Emslab, None, design, model)
    }

    /// The default engine's table when `requested` could not run, with the reason.
    pub fn fallback(
        requested: Engine,
        why: &CasError,
        design: &Design,
        model: Model,
    ) -> EngineOutput {
        EngineOutput {
            fallback: Some(why.to_string()),
            ..output_from(requested, None, design, model)
        }
    }
}

/// Derives the EMS table with `engine`. For Symbolica, starts a worker from `exe` (the
/// emslab executable: `std::env::current_exe()`, or `env!("CARGO_BIN_EXE_emslab")` in
/// integration tests), asks it once and stops it; when that fails, falls back to the
/// default engine and says why in [`EngineOutput::fallback`].
pub fn derive_with(engine: Engine, exe: &Path, design: &Design, model: Model) -> EngineOutput {
    let result = match engine {
        Engine::Emslab => None,
        Engine::Symbolica if !design.absorbed.is_empty() => {
            Some(Err(CasError::Absorbing(absorbing_terms(design))))
        }
        Engine::Symbolica => Some(
            SymbolicaEngine::spawn(exe).and_then(|mut e| e.derive_with_solutions(design, model)),
        ),
    };
    output_from(engine, result, design, model)
}

/// Like [`derive_with`], with a worker the caller keeps (the app reuses one).
pub fn derive_with_engine(
    engine: &mut SymbolicaEngine,
    design: &Design,
    model: Model,
) -> EngineOutput {
    let result = if design.absorbed.is_empty() {
        engine.derive_with_solutions(design, model)
    } else {
        Err(CasError::Absorbing(absorbing_terms(design)))
    };
    output_from(Engine::Symbolica, Some(result), design, model)
}

/// `Block:A:B absorbs Block:B`, for a message.
fn absorbing_terms(design: &Design) -> String {
    design
        .absorbed
        .iter()
        .map(|a| format!("{} absorbs {}", design.terms[a.into].name, a.term.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn output_from(
    requested: Engine,
    result: Option<Result<CasDerivation, CasError>>,
    design: &Design,
    model: Model,
) -> EngineOutput {
    match result {
        Some(Ok(d)) => EngineOutput {
            requested,
            engine: Engine::Symbolica,
            table: d.table,
            solutions: Some(d.solutions),
            fallback: None,
        },
        other => EngineOutput {
            requested,
            engine: Engine::Emslab,
            table: crate::ems::derive(design, model),
            solutions: None,
            fallback: other.and_then(Result::err).map(|e| e.to_string()),
        },
    }
}

/// Runs the worker (the hidden subcommand `emslab __symbolica-worker`): reads requests on
/// stdin until it closes. Returns the process exit code.
pub fn run_worker() -> u8 {
    #[cfg(feature = "symbolica")]
    {
        worker::run()
    }
    #[cfg(not(feature = "symbolica"))]
    {
        eprintln!("error: {}", CasError::NotBuilt);
        2
    }
}
