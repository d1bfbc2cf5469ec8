//! Command-line interface. Exit status: 0 success, 2 bad usage or input, 1 internal failure.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use emslab::Model;
use emslab::io::{FileError, read_design, write_atomic};
use emslab::report::{self, EmsOptions, Format};

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
struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only the table with this key (design, subscripts, ems, tests, estimators, ...).
    #[arg(long, value_name = "KEY")]
    table: Option<String>,
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
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// A failure: exit code and one message.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<FileError> for Failure {
    fn from(e: FileError) -> Failure {
        Failure::input(e.to_string())
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
            out,
        }) => {
            let design = read_design(&design)?;
            let table = emslab::derive(&design, model.into());
            let doc = report::ems_document(&table, EmsOptions { steps });
            let json = report::ems_json(&table);
            emit(&doc, Some(&json), &out)
        }
    }
}

fn open_app(_design: Option<PathBuf>, _data: Option<PathBuf>) -> Result<(), Failure> {
    Err(Failure::input(
        "this build has no desktop app yet; use `emslab ems DESIGN` (see `emslab --help`)",
    ))
}

fn emit(
    doc: &report::Document,
    json: Option<&serde_json::Value>,
    out: &OutputArgs,
) -> Result<(), Failure> {
    let format: Format = out.format.into();
    let text = report::render(doc, json, format, out.table.as_deref()).map_err(Failure::input)?;
    match &out.output {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            let _ = std::io::stdout().is_terminal();
        }
    }
    Ok(())
}
