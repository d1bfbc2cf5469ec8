//! Command-line interface. Exit status: 0 success, 2 bad usage or input, 1 internal failure.
//!
//! Each command parses its arguments, calls the library, and writes the report the library
//! built ([`emit`]): the command line adds no computation and no wording of its own.

mod analyze;
mod gauge;
mod power;
mod simulate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use emslab::cas::{self, Engine};
use emslab::data::DataError;
use emslab::io::{FileError, read_design, read_design_with, write_output};
use emslab::report::{self, EmsOptions, Format, RenderError};
use emslab::{DesignError, Model};

#[derive(Parser, Debug)]
#[command(
    name = "emslab",
    version,
    about = "Analysis of variance with expected mean squares",
    long_about = "Analysis of variance with expected mean squares: symbolic EMS by the subscript-table rules (restricted and unrestricted mixed models), F tests with exact or synthetic denominators, method-of-moments variance components with intervals, and a REML cross-check.\n\nWithout a command, opens the desktop app."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModelArg {
    Restricted,
    Unrestricted,
}

impl From<ModelArg> for Model {
    fn from(m: ModelArg) -> Model {
        match m {
            ModelArg::Restricted => Model::Restricted,
            ModelArg::Unrestricted => Model::Unrestricted,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Text,
    Markdown,
    Latex,
    Csv,
    Json,
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Latex => Format::Latex,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Html => Format::Html,
        }
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Write to FILE (atomically) instead of standard output (`-`: standard output).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only the table with this key (design, subscripts, ems, tests, estimators, ...).
    #[arg(long, value_name = "KEY")]
    table: Option<String>,
}

impl OutputArgs {
    /// Refuses an `--output` file that is not a plain file or that is one of `inputs`,
    /// before anything is computed.
    pub(crate) fn check(&self, inputs: &[&Path]) -> Result<(), Failure> {
        if let Some(path) = output_path(&self.output) {
            emslab::io::check_output(path, inputs)?;
        }
        Ok(())
    }
}

/// The most terms a design's factors may allow, as an argument.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct LimitArgs {
    /// The most terms the design's factors may allow (each is a row of every table; each
    /// crossed factor doubles them).
    #[arg(long, value_name = "N", default_value_t = emslab::design::DEFAULT_MAX_TERMS)]
    pub max_terms: usize,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the desktop app, optionally with a design (and data) loaded.
    Gui {
        design: Option<PathBuf>,
        #[arg(long, value_name = "DATA.csv")]
        data: Option<PathBuf>,
    },
    /// EMS table, df, test denominators and estimator formulas (no data needed).
    Ems {
        /// Design file (TOML).
        design: PathBuf,
        /// Mixed model: restricted (textbook) or unrestricted (SAS, lme4, Minitab GLM).
        #[arg(long, value_enum, default_value = "restricted")]
        model: ModelArg,
        /// Also show how each EMS is read off the subscript table.
        #[arg(long)]
        steps: bool,
        /// Engine: emslab's own exact algebra, or Symbolica (builds with the `symbolica`
        /// feature; falls back to emslab when Symbolica cannot start).
        #[arg(long, value_enum, default_value = "emslab")]
        engine: EngineArg,
        #[command(flatten)]
        limit: LimitArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// ANOVA table, F tests, method-of-moments variance components with intervals (from
    /// data, or from a published table of mean squares with --summary).
    Analyze(analyze::AnalyzeArgs),
    /// Balanced data drawn from the design with given variance components, as CSV.
    Simulate(simulate::SimulateArgs),
    /// Gauge R&R study (crossed or nested, ANOVA method): Minitab's table with intervals,
    /// AIAG's verdict, and the charts with --plot.
    Gauge(gauge::GaugeArgs),
    /// Power of every F test under expected components and effects; the size reaching a
    /// target power (--solve); a Monte Carlo check (--simulate).
    Power(power::PowerArgs),
    /// The Symbolica engine's worker process (started by `ems --engine symbolica`).
    #[command(name = "__symbolica-worker", hide = true)]
    SymbolicaWorker,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EngineArg {
    Emslab,
    Symbolica,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Emslab => Engine::Emslab,
            EngineArg::Symbolica => Engine::Symbolica,
        }
    }
}

/// `NAME=VALUE`, both sides trimmed and non-empty.
fn name_value(s: &str) -> Option<(&str, &str)> {
    let (k, v) = s.split_once('=')?;
    let (k, v) = (k.trim(), v.trim());
    (!k.is_empty() && !v.is_empty()).then_some((k, v))
}

/// `--column FACTOR=COL` (shared by the commands that read data).
pub(crate) fn parse_column(s: &str) -> Result<(String, String), String> {
    name_value(s)
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .ok_or_else(|| format!("`{s}` is not FACTOR=COLUMN (for example batch=Lot)"))
}

/// Every `--column FACTOR=COL` names a factor of the design read from `path`.
pub(crate) fn check_columns(
    columns: &[(String, String)],
    design: &emslab::Design,
    path: &Path,
) -> Result<(), Failure> {
    for (factor, _) in columns {
        if !design
            .factors
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(factor))
        {
            let names: Vec<String> = design
                .factors
                .iter()
                .map(|f| format!("`{}`", f.name))
                .collect();
            return Err(Failure::input(format!(
                "--column {factor}=...: the design {} has no factor `{factor}`; its factors are {}",
                path.display(),
                names.join(", ")
            )));
        }
    }
    Ok(())
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number; alpha must be between 0 and 1 (e.g. 0.05)"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!(
            "alpha must be between 0 and 1 (e.g. 0.05), not {s}"
        ))
    }
}

fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a seed: a whole number from 0 to {}", u64::MAX))
}

/// A failure: exit code and one message.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// Bad usage or input: exit 2.
    pub(crate) fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// Internal failure (or an output that could not be written): exit 1.
    fn internal(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    fn data(e: DataError) -> Failure {
        Failure::input(e.to_string())
    }
}

impl From<FileError> for Failure {
    fn from(e: FileError) -> Failure {
        Failure::input(e.to_string())
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Failure {
        match e {
            RenderError::NoTable { .. } => Failure::input(e.to_string()),
            RenderError::Io(e) => Failure::internal(format!("writing to standard output: {e}")),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        None => open_app(None, None),
        Some(Command::Gui { design, data }) => open_app(design, data),
        Some(Command::Ems {
            design,
            model,
            steps,
            engine,
            limit,
            out,
        }) => ems(&design, model.into(), steps, engine.into(), limit, &out),
        Some(Command::SymbolicaWorker) => match cas::run_worker() {
            0 => Ok(()),
            code => std::process::exit(i32::from(code)),
        },
        Some(Command::Analyze(args)) => analyze::analyze(args),
        Some(Command::Simulate(args)) => simulate::simulate(args),
        Some(Command::Gauge(args)) => gauge::run(args),
        Some(Command::Power(args)) => power::run(args),
    }
}

fn ems(
    design: &Path,
    model: Model,
    steps: bool,
    engine: Engine,
    limit: LimitArgs,
    out: &OutputArgs,
) -> Result<(), Failure> {
    if !engine.is_available() {
        return Err(Failure::input(
            "--engine symbolica: this build of emslab lacks the `symbolica` feature (build with `cargo build --features symbolica`)",
        ));
    }
    out.check(&[design])?;
    let design_path = design;
    let design = read_design_with(design, limit.max_terms)?;
    let exe = std::env::current_exe().unwrap_or_default();
    let result = cas::derive_with(engine, &exe, &design, model);
    if let Some(why) = &result.fallback {
        eprintln!("emslab: {why}; using the default engine");
    }
    let json = report::EngineJson::new(&result);
    emit(
        || report::engine_document(&result, EmsOptions { steps }),
        &json,
        out,
        &[design_path],
    )
}

fn design_failure(path: &Path, e: DesignError) -> Failure {
    Failure::input(
        FileError::Design {
            path: path.to_path_buf(),
            source: e,
        }
        .to_string(),
    )
}

/// Splits `NAME=VALUE`.
fn split_assignment<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str), Failure> {
    name_value(s).ok_or_else(|| Failure::input(format!("--{flag} `{s}`: expected NAME=VALUE")))
}

fn open_app(design: Option<PathBuf>, data: Option<PathBuf>) -> Result<(), Failure> {
    // A bad design is one message and exit status 2 before any window opens.
    if let Some(path) = &design {
        read_design(path)?;
    }
    #[cfg(feature = "gui")]
    {
        crate::gui::run(design, data).map_err(|e| match e {
            crate::gui::GuiError::Input(message) => Failure::input(message),
            crate::gui::GuiError::Platform(message) => Failure { code: 1, message },
        })
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = (design, data);
        Err(Failure::input(
            "this build has no desktop app yet; use `emslab ems DESIGN` (see `emslab --help`)",
        ))
    }
}

/// The file `--output` names; `None` for standard output (no `--output`, or `-`).
fn output_path(output: &Option<PathBuf>) -> Option<&Path> {
    output.as_deref().filter(|p| *p != Path::new("-"))
}

/// The outcome of writing to standard output: a closed pipe (`| head`) is not worth a
/// message; any other failure (a full disk) is exit 1 with the message.
fn stdout_result(r: std::io::Result<()>) -> Result<(), Failure> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::internal(format!(
            "writing to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Writes a report (document and JSON) as `--format`, `--table` and `--output` say.
pub(crate) fn emit<J: Serialize>(
    doc: impl FnOnce() -> report::Document,
    json: &J,
    out: &OutputArgs,
    inputs: &[&Path],
) -> Result<(), Failure> {
    let format: Format = out.format.into();
    let table = out.table.as_deref();
    // The JSON of a whole report needs no document: it streams as it is serialized.
    let doc = match (format, table) {
        (Format::Json, None) => None,
        _ => Some(doc()),
    };
    if let (Some(d), Some(key)) = (&doc, table)
        && d.select(key).is_none()
    {
        return Err(RenderError::NoTable {
            key: key.to_string(),
            keys: d.keys().join(", "),
        }
        .into());
    }
    let write = |w: &mut dyn Write| -> std::io::Result<()> {
        match &doc {
            None => report::write_json(w, json),
            Some(d) => report::write_report(w, d, json, format, table).map_err(|e| match e {
                RenderError::Io(e) => e,
                other => std::io::Error::other(other.to_string()),
            }),
        }
    };
    match output_path(&out.output) {
        Some(path) => Ok(write_output(path, inputs, |f| write(f))?),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout_result(write(&mut stdout).and_then(|()| stdout.flush()))
        }
    }
}
