//! `emslab gauge DESIGN DATA.csv`: a gauge R&R study (crossed or nested, ANOVA method),
//! its report in every format, and its charts with `--plot`.

use std::path::PathBuf;

use emslab::chart::{self, render::ImageFormat};
use emslab::data::{self, ReadOptions};
use emslab::gauge::{self, GaugeError, Options, Tolerance};
use emslab::io::{read_design, write_output};
use emslab::report::gauge_tables::{GaugeInfo, gauge_document, gauge_report_json};

use super::{Failure, OutputArgs, check_columns, emit, parse_column};

#[derive(clap::Args, Debug)]
pub(crate) struct GaugeArgs {
    /// Design file (TOML) with the part and operator factors.
    design: PathBuf,
    /// Data file (CSV with a header: the part and operator columns and the response).
    data: PathBuf,
    /// The part factor (default: the factor with `role = "part"`).
    #[arg(long, value_name = "FACTOR")]
    part: Option<String>,
    /// The operator factor (default: the factor with `role = "operator"`).
    #[arg(long, value_name = "FACTOR")]
    operator: Option<String>,
    /// Process tolerance (upper spec - lower spec), for %Tolerance.
    #[arg(long, value_name = "T", conflicts_with_all = ["lsl", "usl"], allow_negative_numbers = true)]
    tolerance: Option<f64>,
    /// Lower specification limit (with --usl), for %Tolerance.
    #[arg(
        long,
        value_name = "L",
        requires = "usl",
        allow_negative_numbers = true
    )]
    lsl: Option<f64>,
    /// Upper specification limit (with --lsl).
    #[arg(
        long,
        value_name = "U",
        requires = "lsl",
        allow_negative_numbers = true
    )]
    usl: Option<f64>,
    /// Study variation = this multiple of the standard deviation (5.15 in older conventions).
    #[arg(
        long,
        value_name = "K",
        default_value = "6",
        allow_negative_numbers = true
    )]
    study_var: f64,
    /// Remove the operator x part interaction when its p-value is at least this (Minitab's
    /// alpha to remove interaction term).
    #[arg(
        long,
        value_name = "ALPHA",
        default_value = "0.05",
        allow_negative_numbers = true
    )]
    interaction_alpha: f64,
    /// Confidence level of the intervals.
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "0.95",
        allow_negative_numbers = true
    )]
    level: f64,
    /// The response column (default: the design's `response`, or the one numeric column
    /// that is not a factor).
    #[arg(long, value_name = "COL")]
    response: Option<String>,
    /// The column of a factor not named as the factor (repeatable): `--column
    /// part=Sample`. Other factors are matched to columns by name, ignoring case.
    #[arg(long = "column", value_name = "FACTOR=COL", value_parser = parse_column)]
    columns: Vec<(String, String)>,
    /// Write the charts (components of variation, measurement by part and by operator,
    /// interaction, X-bar and R charts by operator) to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

fn options(args: &GaugeArgs) -> Options {
    let tolerance = match (args.tolerance, args.lsl, args.usl) {
        (Some(w), _, _) => Some(Tolerance::Width(w)),
        (None, Some(lsl), Some(usl)) => Some(Tolerance::Limits { lsl, usl }),
        _ => None,
    };
    Options {
        part: args.part.clone(),
        operator: args.operator.clone(),
        study_var: args.study_var,
        interaction_alpha: args.interaction_alpha,
        tolerance,
        level: args.level,
    }
}

/// A study error as the command reports it: naming the design or data file where the
/// error is about one, exit status 1 for internal failures.
fn failure(e: GaugeError, args: &GaugeArgs) -> Failure {
    use GaugeError::*;
    let file = match &e {
        NoPart { .. }
        | NoOperator { .. }
        | SameFactor(_)
        | ExtraFactors(_)
        | OperatorNested { .. } => Some(&args.design),
        Sizes(_) | NoVariation => Some(&args.data),
        _ => None,
    };
    match (e, file) {
        (e @ (Internal(_) | NoRows), _) => Failure {
            code: 1,
            message: e.to_string(),
        },
        (e, Some(f)) => Failure::input(format!("{}: {e}", f.display())),
        (e, None) => Failure::input(e.to_string()),
    }
}

pub(crate) fn run(args: GaugeArgs) -> Result<(), Failure> {
    let plot_format = args
        .plot
        .as_deref()
        .map(ImageFormat::from_path)
        .transpose()
        .map_err(|e| Failure::input(format!("--plot {e}")))?;
    let inputs = [args.design.as_path(), args.data.as_path()];
    args.out.check(&inputs)?;
    if let Some(plot) = &args.plot {
        emslab::io::check_output(plot, &inputs)?;
    }
    let design = read_design(&args.design)?;
    check_columns(&args.columns, &design, &args.design)?;
    let opts = options(&args);
    let prepared = gauge::prepare(&design, &opts).map_err(|e| failure(e, &args))?;
    let read = ReadOptions {
        response: args.response.clone(),
        columns: args.columns.clone(),
        keep_rows: true,
    };
    let ds = data::read_csv(&args.data, &prepared.design, &read)
        .map_err(|e| Failure::input(e.to_string()))?;
    let study = gauge::study(&prepared, &ds, &opts).map_err(|e| failure(e, &args))?;
    let info = GaugeInfo {
        title: design.title.clone(),
        source: ds.source.clone(),
        response: ds.response.clone(),
    };
    if let (Some(path), Some(format)) = (&args.plot, plot_format) {
        let figure = chart::gauge::figure(&study, &ds.response);
        let bytes = chart::render::render(&figure, format).map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?;
        write_output(path, &inputs, |f| std::io::Write::write_all(f, &bytes))?;
    }
    emit(
        || gauge_document(&study, &info),
        &gauge_report_json(&study, &info),
        &args.out,
        &inputs,
    )
}
