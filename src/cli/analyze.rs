//! `emslab analyze`: the analysis of a data file or of a published ANOVA table.

use std::path::{Path, PathBuf};

use emslab::analysis::{self, AnalysisError, Cancel, Input, Likelihood};
use emslab::data::{self, DataErrorKind, summary};
use emslab::io::read_design_with;
use emslab::means::Adjustment;
use emslab::report;

use super::{
    Failure, LimitArgs, ModelArg, OutputArgs, check_columns, design_failure, emit, parse_alpha,
    parse_column,
};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["data", "summary"])))]
pub struct AnalyzeArgs {
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
    #[arg(long, default_value = "0.05", allow_negative_numbers = true, value_parser = parse_alpha)]
    alpha: f64,
    /// Negative variance-component estimates: report as computed, set to zero, or pool the
    /// term into its denominator and refit.
    #[arg(long, value_enum, default_value = "report")]
    negative: NegativeArg,
    /// Sums of squares of unbalanced data: III (each term adjusted for all others, the
    /// default, as SAS GLM and car::Anova) or I (sequential, as SAS VARCOMP TYPE1 and
    /// anova(lm)). Balanced data have one kind.
    #[arg(long, value_enum, default_value = "III")]
    ss_type: SsTypeArg,
    /// Run N starts of the REML optimiser and keep the best (the multi-start check);
    /// by default the search ends at the first start whose optimum is verified.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=20))]
    reml_starts: Option<u64>,
    /// Skip the REML cross-check.
    #[arg(long)]
    no_reml: bool,
    /// Also fit by maximum likelihood (beside REML).
    #[arg(long, conflicts_with = "no_reml")]
    ml: bool,
    /// Multiplicity adjustment of the pairwise comparisons of each fixed term's means
    /// (p-values, simultaneous intervals and letters).
    #[arg(long, value_enum, default_value = "tukey")]
    adjust: AdjustArg,
    /// Kenward-Roger df (pbkrtest) for the REML fit's fixed-effect tests and, on
    /// unbalanced data, the means (Satterthwaite tests are given as well).
    #[arg(long, conflicts_with = "no_reml")]
    kenward_roger: bool,
    /// The grand mean of the data behind a published table (`--summary`), for its
    /// interval.
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true, value_parser = parse_finite)]
    grand_mean: Option<f64>,
    #[command(flatten)]
    limit: LimitArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum NegativeArg {
    Report,
    Zero,
    Pool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AdjustArg {
    Tukey,
    Bonferroni,
    Sidak,
    None,
}

impl From<AdjustArg> for Adjustment {
    fn from(a: AdjustArg) -> Adjustment {
        match a {
            AdjustArg::Tukey => Adjustment::Tukey,
            AdjustArg::Bonferroni => Adjustment::Bonferroni,
            AdjustArg::Sidak => Adjustment::Sidak,
            AdjustArg::None => Adjustment::None,
        }
    }
}

/// A finite number.
fn parse_finite(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

impl From<NegativeArg> for emslab::moments::NegativePolicy {
    fn from(n: NegativeArg) -> emslab::moments::NegativePolicy {
        use emslab::moments::NegativePolicy;
        match n {
            NegativeArg::Report => NegativePolicy::Report,
            NegativeArg::Zero => NegativePolicy::Zero,
            NegativeArg::Pool => NegativePolicy::Pool,
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SsTypeArg {
    #[value(name = "I", alias = "1", alias = "i")]
    I,
    #[value(name = "III", alias = "3", alias = "iii")]
    Iii,
}

pub fn analyze(args: AnalyzeArgs) -> Result<(), Failure> {
    if args.grand_mean.is_some() && args.summary.is_none() {
        return Err(Failure::input(
            "--grand-mean is for a published table (--summary): a data file gives its own grand mean",
        ));
    }
    let inputs: Vec<&Path> = [
        Some(&args.design),
        args.data.as_ref(),
        args.summary.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::as_path)
    .collect();
    args.out.check(&inputs)?;
    let design = read_design_with(&args.design, args.limit.max_terms)?;
    let opts = analysis::Options {
        model: args.model.into(),
        alpha: args.alpha,
        negative: args.negative.into(),
        likelihood: match (args.no_reml, args.ml) {
            (true, _) => Likelihood::Off,
            (false, false) => Likelihood::Reml,
            (false, true) => Likelihood::RemlAndMl,
        },
        ss_type: match args.ss_type {
            SsTypeArg::I => emslab::unbalanced::SsType::I,
            SsTypeArg::Iii => emslab::unbalanced::SsType::III,
        },
        reml_starts: args.reml_starts.map(|n| n as usize),
        residuals: false,
        adjust: args.adjust.into(),
        kenward_roger: args.kenward_roger,
    };
    let failure = |e: AnalysisError| match e {
        AnalysisError::Sizes(e) => design_failure(&args.design, e),
        AnalysisError::Data(e) if matches!(e.kind, DataErrorKind::Unbalanced(_)) => Failure::input(
            format!("{e} (without --no-reml, `analyze` fits REML instead)"),
        ),
        AnalysisError::Data(_) | AnalysisError::Reml(_) => Failure::input(e.to_string()),
        AnalysisError::Anova(_) | AnalysisError::Cancelled | AnalysisError::RowsNotKept { .. } => {
            Failure::internal(e.to_string())
        }
    };
    let a = if let Some(summary_path) = &args.summary {
        let summary = summary::read_summary(summary_path).map_err(Failure::data)?;
        analysis::run(
            &design,
            Input::Summary {
                table: &summary,
                grand_mean: args.grand_mean,
            },
            &opts,
            &Cancel::none(),
            &mut |_| {},
        )
        .map_err(failure)?
    } else {
        let Some(data_path) = &args.data else {
            return Err(Failure::input(
                "give a data file (emslab analyze DESIGN DATA.csv) or --summary TABLE.csv",
            ));
        };
        check_columns(&args.columns, &design, &args.design)?;
        let read_opts = data::ReadOptions {
            response: args.response.clone(),
            columns: args.columns.clone(),
            // The balanced analysis streams; the REML step reads the rows itself when it
            // needs them.
            keep_rows: false,
        };
        let dataset = data::read_csv(data_path, &design, &read_opts).map_err(Failure::data)?;
        let mut rows = || {
            let rows_opts = data::ReadOptions {
                keep_rows: true,
                ..read_opts.clone()
            };
            Ok(data::read_csv(data_path, &design, &rows_opts)?)
        };
        let input = Input::Data {
            dataset: &dataset,
            rows: analysis::Rows::Reread(&mut rows),
        };
        analysis::run(&design, input, &opts, &Cancel::none(), &mut |_| {}).map_err(failure)?
    };
    let json = report::AnalysisJson::new(&a);
    emit(|| report::analysis_document(&a), &json, &args.out, &inputs)
}
