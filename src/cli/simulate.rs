//! `emslab simulate`: balanced data drawn from a design.

use std::path::{Path, PathBuf};

use emslab::Design;
use emslab::io::{read_design_with, write_output};
use emslab::simulate::{SimError, SimSpec, Simulator};

use super::{
    Failure, LimitArgs, ModelArg, design_failure, output_path, parse_seed, split_assignment,
    stdout_result,
};

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
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
    #[arg(long, default_value = "1", allow_negative_numbers = true, value_parser = parse_seed)]
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
    /// Round responses to this many decimals, 0 to 30 (default: shortest exact digits).
    #[arg(long, value_name = "D", value_parser = parse_decimals)]
    decimals: Option<usize>,
    /// Write to FILE (atomically) instead of standard output (`-`: standard output).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    limit: LimitArgs,
}

fn parse_decimals(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|&k| k <= emslab::simulate::MAX_DECIMALS)
        .ok_or_else(|| {
            format!(
                "give a whole number from 0 to {}, not `{s}`",
                emslab::simulate::MAX_DECIMALS
            )
        })
}

pub fn simulate(args: SimulateArgs) -> Result<(), Failure> {
    if let Some(path) = output_path(&args.output) {
        emslab::io::check_output(path, &[&args.design])?;
    }
    let design = read_design_with(&args.design, args.limit.max_terms)?;
    let design = resize(design, &args.design, &args.levels, args.replicates)?;
    let sigma2 = parse_sigma2(&args.sigma2)?;
    let sim_err = |e: SimError| Failure::input(format!("{}: {e}", args.design.display()));
    let mut spec = SimSpec::new(&design, args.model.into(), &sigma2, args.seed).map_err(sim_err)?;
    spec = spec.with_mean(args.mean).map_err(sim_err)?;
    for (name, v) in parse_effects(&args.effect)? {
        spec = spec.with_effects(name, v).map_err(sim_err)?;
    }
    let sim = Simulator::new(spec).map_err(sim_err)?;
    let decimals = args.decimals;
    match output_path(&args.output) {
        Some(path) => {
            write_output(path, &[&args.design], |file| {
                sim.write_csv(&*file, decimals).map(drop)
            })?;
            Ok(())
        }
        None => stdout_result(sim.write_csv(std::io::stdout().lock(), decimals).map(drop)),
    }
}

/// The design with `--levels NAME=K` and `--replicates N` applied (shared with `power`).
pub(super) fn resize(
    design: Design,
    path: &Path,
    levels: &[String],
    replicates: Option<u32>,
) -> Result<Design, Failure> {
    let mut counts: Vec<Option<u32>> = vec![None; design.factors.len()];
    for l in levels {
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
        counts[f] = Some(k);
    }
    if counts.iter().any(Option::is_some) || replicates.is_some() {
        design
            .with_sizes(&counts, replicates)
            .map_err(|e| design_failure(path, e))
    } else {
        Ok(design)
    }
}

/// `--sigma2 TERM=VALUE` arguments as (term, variance) pairs (shared with `power`).
pub(super) fn parse_sigma2(args: &[String]) -> Result<Vec<(&str, f64)>, Failure> {
    args.iter()
        .map(|s| {
            let (name, value) = split_assignment("sigma2", s)?;
            let v: f64 = value
                .parse()
                .map_err(|_| Failure::input(format!("--sigma2 {s}: `{value}` is not a number")))?;
            Ok((name, v))
        })
        .collect()
}

/// `--effect TERM=V1,V2,...` arguments as (term, effects) pairs (shared with `power`).
pub(super) fn parse_effects(args: &[String]) -> Result<Vec<(&str, Vec<f64>)>, Failure> {
    args.iter()
        .map(|e| {
            let (name, values) = split_assignment("effect", e)?;
            let v: Result<Vec<f64>, _> =
                values.split(',').map(|x| x.trim().parse::<f64>()).collect();
            let v = v.map_err(|_| {
                Failure::input(format!(
                    "--effect {e}: expected numbers separated by commas"
                ))
            })?;
            Ok((name, v))
        })
        .collect()
}
