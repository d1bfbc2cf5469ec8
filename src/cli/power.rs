//! `emslab power DESIGN`: the power of every F test under expected components and effects,
//! a solve for the size reaching a target power, and the Monte Carlo check.

use std::path::PathBuf;

use emslab::io::read_design;
use emslab::power::{self, PowerError, PowerSpec, SolveSpec, Vary};
use emslab::report::power_tables::{PowerReport, power_document, power_json};
use emslab::simulate::find_term;

use super::simulate::{parse_effects, parse_sigma2, resize};
use super::{Failure, ModelArg, OutputArgs, emit, parse_alpha, parse_seed};

#[derive(clap::Args, Debug)]
pub(crate) struct PowerArgs {
    /// Design file (TOML).
    design: PathBuf,
    /// Expected variance components, TERM=VALUE (the Residual is required; a random term
    /// not given is taken as 0): --sigma2 batch=4 Residual=1
    #[arg(long, value_name = "TERM=VALUE", num_args = 1.., required = true)]
    sigma2: Vec<String>,
    /// Effects (or level means) of a fixed term, one per cell of its factors in the order
    /// `simulate` uses; centred here: --effect A=-1,0,1
    #[arg(long, value_name = "TERM=V1,V2,...")]
    effect: Vec<String>,
    /// Level of the tests.
    #[arg(long, default_value = "0.05", value_parser = parse_alpha, allow_negative_numbers = true)]
    alpha: f64,
    /// Mixed model: restricted (textbook) or unrestricted (SAS, lme4, Minitab GLM).
    #[arg(long, value_enum, default_value = "restricted")]
    model: ModelArg,
    /// Target power of a solve (with --solve and --term).
    #[arg(long, value_name = "P", requires_all = ["solve", "term"], allow_negative_numbers = true)]
    target: Option<f64>,
    /// What to solve for: a random factor's level count, or `replicates` (2..1000).
    #[arg(long, value_name = "FACTOR|replicates", requires_all = ["target", "term"])]
    solve: Option<String>,
    /// The term whose test the solve is for.
    #[arg(long, value_name = "TERM", requires_all = ["target", "solve"])]
    term: Option<String>,
    /// Monte Carlo check: the rejection rate of every test in N simulated data sets.
    #[arg(long, value_name = "N")]
    simulate: Option<u32>,
    /// Seed of the Monte Carlo check.
    #[arg(long, default_value = "1", allow_negative_numbers = true, value_parser = parse_seed)]
    seed: u64,
    /// Effect-size multipliers of the power curve (comma-separated).
    #[arg(long, value_name = "M1,M2,...", value_delimiter = ',')]
    multipliers: Vec<f64>,
    /// Level counts to use instead of (or in the absence of) the design's: NAME=K
    #[arg(long, value_name = "NAME=K")]
    levels: Vec<String>,
    /// Replicates per cell (overrides the design's).
    #[arg(long, value_name = "N")]
    replicates: Option<u32>,
    #[command(flatten)]
    out: OutputArgs,
}

pub(crate) fn run(args: PowerArgs) -> Result<(), Failure> {
    let path = &args.design;
    let fail = |e: PowerError| Failure::input(format!("{}: {e}", path.display()));
    args.out.check(&[path])?;
    let design = resize(read_design(path)?, path, &args.levels, args.replicates)?;
    let model = args.model.into();
    let sigma2 = parse_sigma2(&args.sigma2)?;
    let effects = parse_effects(&args.effect)?;
    let spec = PowerSpec::new(&design, model, &sigma2, &effects, args.alpha).map_err(fail)?;
    if let Some(&m) = args
        .multipliers
        .iter()
        .find(|m| !(m.is_finite() && **m >= 0.0))
    {
        return Err(Failure::input(format!(
            "--multipliers: {m} is not a multiplier (a number >= 0)"
        )));
    }
    let table = emslab::derive(&design, model);
    let result = power::power(&table, &spec);
    let multipliers = if args.multipliers.is_empty() {
        power::CURVE_MULTIPLIERS.to_vec()
    } else {
        args.multipliers.clone()
    };
    let curve = power::effect_curve(&table, &spec, &multipliers);
    let solution = match (&args.solve, &args.term, args.target) {
        (Some(vary), Some(term), Some(target)) => {
            let vary = solve_variable(&design, vary).map_err(fail)?;
            let term = find_term(&design, term).map_err(|e| fail(e.into()))?;
            let s = SolveSpec { vary, term, target };
            Some(power::solve(&table, &spec, s).map_err(fail)?)
        }
        _ => None,
    };
    let simulation = match args.simulate {
        Some(n) => Some(power::simulate_power(&table, &spec, n, args.seed).map_err(fail)?),
        None => None,
    };
    let report = PowerReport {
        table: &table,
        spec: &spec,
        power: &result,
        curve: &curve,
        solution: solution.as_ref(),
        simulation: simulation.as_ref(),
    };
    emit(
        || power_document(&report),
        &power_json(&report),
        &args.out,
        &[path],
    )
}

/// `replicates` or a random factor (case-insensitive).
fn solve_variable(design: &emslab::Design, name: &str) -> Result<Vary, PowerError> {
    if name.trim().eq_ignore_ascii_case("replicates") {
        return Ok(Vary::Replicates);
    }
    design
        .factors
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(name.trim()))
        .filter(|&i| power::is_random_factor(design, i))
        .map(Vary::Factor)
        .ok_or_else(|| {
            let mut choices: Vec<String> = design
                .factors
                .iter()
                .enumerate()
                .filter(|&(i, _)| power::is_random_factor(design, i))
                .map(|(_, f)| format!("`{}`", f.name))
                .collect();
            choices.push("`replicates`".into());
            PowerError::SolveFor {
                name: name.to_string(),
                choices: choices.join(", "),
            }
        })
}
