//! Command-line interface. Exit status: 0 success, 2 bad usage or input, 1 internal failure.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use emslab::analysis::{self, AnalysisError};
use emslab::cas::{self, Engine};
use emslab::data::{self, summary};
use emslab::io::{FileError, read_design, write_atomic};
use emslab::moments::{self, NegativePolicy};
use emslab::report::{self, EmsOptions, Format};
use emslab::simulate::{SimError, SimSpec, Simulator};
use emslab::{DesignError, Model, anova};

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
        /// Engine: emslab's own exact algebra, or Symbolica (builds with the `symbolica`
        /// feature; falls back to emslab when Symbolica cannot start).
        #[arg(long, value_enum, default_value = "emslab")]
        engine: EngineArg,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// ANOVA table, F tests, method-of-moments variance components with intervals (from
    /// data, or from a published table of mean squares with --summary).
    Analyze(AnalyzeArgs),
    /// Balanced data drawn from the design with given variance components, as CSV.
    Simulate(SimulateArgs),
    /// Gauge R&R study (crossed or nested, ANOVA method): Minitab's table with intervals,
    /// AIAG's verdict, and the charts with --plot.
    Gauge(crate::cli_gauge::GaugeArgs),
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

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["data", "summary"])))]
struct AnalyzeArgs {
    /// Design file (TOML).
    design: PathBuf,
    /// Data file (CSV with a header: one column per factor and the response).
    data: Option<PathBuf>,
    /// A published ANOVA table instead of data: CSV with columns term,df,ms (one row per
    /// term and Residual).
    #[arg(long, value_name = "TABLE.csv", conflicts_with = "data")]
    summary: Option<PathBuf>,
    /// The response column (default: the design's `response`, or the one numeric column
    /// that is not a factor).
    #[arg(long, value_name = "COL")]
    response: Option<String>,
    /// The column of a factor not named as the factor (repeatable): `--column
    /// batch=Lot`. Other factors are matched to columns by name, ignoring case.
    #[arg(long = "column", value_name = "FACTOR=COL", value_parser = parse_column)]
    columns: Vec<(String, String)>,
    /// Mixed model: restricted (textbook) or unrestricted (SAS, lme4, Minitab GLM).
    #[arg(long, value_enum, default_value = "restricted")]
    model: ModelArg,
    /// 1 - confidence level of the intervals.
    #[arg(long, default_value = "0.05", value_parser = parse_alpha)]
    alpha: f64,
    /// Negative variance-component estimates: report as computed, set to zero, or pool the
    /// term into its denominator and refit.
    #[arg(long, value_enum, default_value = "report")]
    negative: NegativeArg,
    /// Skip the REML cross-check.
    #[arg(long)]
    no_reml: bool,
    /// Also fit by maximum likelihood (beside REML).
    #[arg(long, conflicts_with = "no_reml")]
    ml: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum NegativeArg {
    Report,
    Zero,
    Pool,
}

impl From<NegativeArg> for NegativePolicy {
    fn from(n: NegativeArg) -> NegativePolicy {
        match n {
            NegativeArg::Report => NegativePolicy::Report,
            NegativeArg::Zero => NegativePolicy::Zero,
            NegativeArg::Pool => NegativePolicy::Pool,
        }
    }
}

/// `NAME=VALUE`, both sides trimmed and non-empty.
fn name_value(s: &str) -> Option<(&str, &str)> {
    let (k, v) = s.split_once('=')?;
    let (k, v) = (k.trim(), v.trim());
    (!k.is_empty() && !v.is_empty()).then_some((k, v))
}

fn parse_column(s: &str) -> Result<(String, String), String> {
    name_value(s)
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .ok_or_else(|| format!("`{s}` is not FACTOR=COLUMN (for example batch=Lot)"))
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!(
            "alpha must be between 0 and 1 (e.g. 0.05), not {s}"
        ))
    }
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    /// Design file (TOML).
    design: PathBuf,
    /// Variance components, TERM=VALUE (the Residual is required): --sigma2 batch=4 Residual=1
    #[arg(long, value_name = "TERM=VALUE", num_args = 1.., required = true)]
    sigma2: Vec<String>,
    /// Effects of a fixed term, one per cell of its factors: --effect A=-1,0,1
    #[arg(long, value_name = "TERM=V1,V2,...")]
    effect: Vec<String>,
    /// Grand mean.
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    mean: f64,
    /// Seed of the random numbers: the same seed gives the same data.
    #[arg(long, default_value = "1")]
    seed: u64,
    /// Mixed model the data follow: restricted (mixed interactions sum to zero over fixed
    /// levels) or unrestricted.
    #[arg(long, value_enum, default_value = "restricted")]
    model: ModelArg,
    /// Level counts to use instead of (or in the absence of) the design's: NAME=K
    #[arg(long, value_name = "NAME=K")]
    levels: Vec<String>,
    /// Replicates per cell (overrides the design's).
    #[arg(long, value_name = "N")]
    replicates: Option<u32>,
    /// Round responses to this many decimals (default: shortest exact digits).
    #[arg(long, value_name = "D")]
    decimals: Option<usize>,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// A failure: exit code and one message.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn input(message: impl Into<String>) -> Failure {
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
            engine,
            out,
        }) => {
            let engine = Engine::from(engine);
            if !engine.is_available() {
                return Err(Failure::input(
                    "--engine symbolica: this build of emslab lacks the `symbolica` feature (build with `cargo build --features symbolica`)",
                ));
            }
            let design = read_design(&design)?;
            let exe = std::env::current_exe().unwrap_or_default();
            let result = cas::derive_with(engine, &exe, &design, model.into());
            if let Some(why) = &result.fallback {
                eprintln!("emslab: {why}; using the default engine");
            }
            let (doc, json) = cas::ems_report(&result, EmsOptions { steps });
            emit(&doc, Some(&json), &out)
        }
        Some(Command::SymbolicaWorker) => match cas::run_worker() {
            0 => Ok(()),
            code => std::process::exit(i32::from(code)),
        },
        Some(Command::Analyze(args)) => analyze(args),
        Some(Command::Simulate(args)) => simulate(args),
        Some(Command::Gauge(args)) => crate::cli_gauge::run(args),
    }
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

fn analyze(args: AnalyzeArgs) -> Result<(), Failure> {
    let design = read_design(&args.design)?;
    let model: Model = args.model.into();
    let opts = moments::Options {
        alpha: args.alpha,
        negative: args.negative.into(),
    };
    if let Some(summary_path) = &args.summary {
        let summary = summary::read_summary(summary_path).map_err(data_failure)?;
        let rows = summary::match_summary(&summary, &design).map_err(data_failure)?;
        let anova = anova::from_summary(&design, &rows);
        let table = emslab::derive(&design, model);
        let analysis = moments::analyze(&table, &anova, &opts);
        let info = report::DataInfo::from_summary(&summary);
        let reml_notes = if args.no_reml {
            Vec::new()
        } else {
            vec!["No REML fit: a table of mean squares has no observations to fit.".to_string()]
        };
        let r = report::AnalysisReport {
            table: &table,
            anova: &anova,
            analysis: &analysis,
            data: &info,
            reml: None,
            reml_notes: &reml_notes,
        };
        return emit(
            &report::analysis_document(&r),
            Some(&report::analysis_json(&r)),
            &args.out,
        );
    }
    let Some(data_path) = &args.data else {
        return Err(Failure::input(
            "give a data file (emslab analyze DESIGN DATA.csv) or --summary TABLE.csv",
        ));
    };
    for (factor, _) in &args.columns {
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
                args.design.display(),
                names.join(", ")
            )));
        }
    }
    let read_opts = data::ReadOptions {
        response: args.response.clone(),
        columns: args.columns.clone(),
        // The balanced analysis streams; the REML step reads the rows itself when it
        // needs them.
        keep_rows: false,
    };
    let dataset = data::read_csv(data_path, &design, &read_opts).map_err(data_failure)?;
    // The balanced analysis streams the file; the REML fit reads the rows again.
    let mut rows = || {
        let rows_opts = data::ReadOptions {
            keep_rows: true,
            ..read_opts.clone()
        };
        data::read_csv(data_path, &design, &rows_opts)
            .map_err(|e| e.to_string())?
            .reml_input()
            .ok_or_else(|| "the rows were not kept for the REML fit".to_string())
    };
    let aopts = analysis::Options {
        model,
        moments: opts,
        reml: !args.no_reml,
        ml: args.ml,
        residuals: false,
        cancel: None,
    };
    let a =
        analysis::analyze(&design, &dataset, &mut rows, &aopts, &mut |_| {}).map_err(
            |e| match e {
                AnalysisError::Sizes(e) => design_failure(&args.design, e),
                AnalysisError::UnbalancedWithoutReml(problem) => Failure::input(format!(
                    "{problem} (without --no-reml, `analyze` fits REML instead)"
                )),
                AnalysisError::Reml(_) => Failure::input(e.to_string()),
                AnalysisError::Cancelled | AnalysisError::Internal(_) => Failure {
                    code: 1,
                    message: e.to_string(),
                },
            },
        )?;
    emit(&a.document, Some(&a.json), &args.out)
}

fn data_failure(e: data::DataError) -> Failure {
    Failure::input(e.to_string())
}

/// Splits `NAME=VALUE`.
fn split_assignment<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str), Failure> {
    name_value(s).ok_or_else(|| Failure::input(format!("--{flag} `{s}`: expected NAME=VALUE")))
}

fn simulate(args: SimulateArgs) -> Result<(), Failure> {
    let design = read_design(&args.design)?;
    // Level overrides.
    let mut levels: Vec<Option<u32>> = vec![None; design.factors.len()];
    for l in &args.levels {
        let (name, value) = split_assignment("levels", l)?;
        let Some(f) = design
            .factors
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
        else {
            return Err(Failure::input(format!(
                "--levels {l}: the design has no factor `{name}`; its factors are: {}",
                design
                    .factors
                    .iter()
                    .map(|f| format!("`{}`", f.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let k: u32 = value.parse().map_err(|_| {
            Failure::input(format!("--levels {l}: `{value}` is not a whole number"))
        })?;
        levels[f] = Some(k);
    }
    let design = if levels.iter().any(Option::is_some) || args.replicates.is_some() {
        design
            .with_sizes(&levels, args.replicates)
            .map_err(|e| design_failure(&args.design, e))?
    } else {
        design
    };
    let mut sigma2 = Vec::new();
    for s in &args.sigma2 {
        let (name, value) = split_assignment("sigma2", s)?;
        let v: f64 = value
            .parse()
            .map_err(|_| Failure::input(format!("--sigma2 {s}: `{value}` is not a number")))?;
        sigma2.push((name, v));
    }
    let sim_err = |e: SimError| Failure::input(format!("{}: {e}", args.design.display()));
    let mut spec = SimSpec::new(&design, args.model.into(), &sigma2, args.seed).map_err(sim_err)?;
    spec.mean = args.mean;
    for e in &args.effect {
        let (name, values) = split_assignment("effect", e)?;
        let v: Result<Vec<f64>, _> = values.split(',').map(|x| x.trim().parse::<f64>()).collect();
        let v = v.map_err(|_| {
            Failure::input(format!(
                "--effect {e}: expected numbers separated by commas"
            ))
        })?;
        spec = spec.with_effects(name, v).map_err(sim_err)?;
    }
    let sim = Simulator::new(spec).map_err(sim_err)?;
    let decimals = args.decimals;
    match &args.output {
        Some(path) => {
            emslab::io::write_atomic_with(path, |file| sim.write_csv(&*file, decimals).map(drop))?;
        }
        None => {
            let stdout = std::io::stdout().lock();
            if let Err(e) = sim.write_csv(stdout, decimals)
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(Failure {
                    code: 1,
                    message: format!("writing to standard output: {e}"),
                });
            }
        }
    }
    Ok(())
}

fn open_app(design: Option<PathBuf>, data: Option<PathBuf>) -> Result<(), Failure> {
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

pub(crate) fn emit(
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
