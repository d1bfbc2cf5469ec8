//! The Monte Carlo check of power: balanced data drawn with the expected components and
//! effects ([`crate::simulate::Simulator`]), each data set analysed by the same stages as
//! `analyze` (cell means, [`crate::anova::from_cells`], the F tests of
//! [`crate::moments::tests`]), and each test's rejection rate at level alpha beside the
//! computed power.
//!
//! Synthetic tests are run as they are applied to data: F′ with Satterthwaite df from the
//! *observed* mean squares; a synthetic denominator that comes out ≤ 0 does not reject.
//! Nothing is written to disk.

use super::{PowerError, PowerSpec};
use crate::anova;
use crate::data::CellAccumulator;
use crate::ems::{EmsTable, TestKind};
use crate::moments;
use crate::simulate::Simulator;

/// The empirical power of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationRow {
    pub term: usize,
    /// Data sets in which the test rejected at level alpha.
    pub rejections: u32,
    /// Data sets in which a synthetic denominator came out ≤ 0 (no F′, no rejection).
    pub negative_denominators: u32,
    /// rejections / replicates.
    pub power: f64,
    /// Its binomial standard error, √(p(1-p)/N).
    pub se: f64,
}

/// The Monte Carlo check.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationCheck {
    pub replicates: u32,
    pub seed: u64,
    /// Terms with a test, in term order.
    pub rows: Vec<SimulationRow>,
}

/// The seed of data set `r`: the user's seed and the replicate number, mixed.
fn replicate_seed(seed: u64, r: u32) -> u64 {
    seed ^ u64::from(r).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Simulates `replicates` data sets from `spec` (seeded by `seed`) and counts each test's
/// rejections at `spec.alpha`.
pub fn simulate_power(
    table: &EmsTable,
    spec: &PowerSpec,
    replicates: u32,
    seed: u64,
) -> Result<SimulationCheck, PowerError> {
    if replicates == 0 {
        return Err(PowerError::NoReplicates);
    }
    let design = spec.design();
    let radix: Vec<u32> = design
        .factors
        .iter()
        .map(|f| f.levels.unwrap_or(0))
        .collect();
    let tested: Vec<usize> = (0..table.residual())
        .filter(|&t| table.tests[t].kind != TestKind::None)
        .collect();
    let mut rejections = vec![0u32; tested.len()];
    let mut negative = vec![0u32; tested.len()];
    for r in 0..replicates {
        let mut sim_spec = spec.sim.clone();
        sim_spec.seed = replicate_seed(seed, r);
        let sim = Simulator::new(sim_spec)?;
        let mut acc = CellAccumulator::new(radix.clone());
        sim.for_each(|codes, y| acc.push(codes, y));
        let Ok(anova) = anova::from_cells(design, &acc.finish()) else {
            continue;
        };
        let tests = moments::tests(table, &anova);
        for (j, &t) in tested.iter().enumerate() {
            let test = &tests[t];
            if test.negative_denominator {
                negative[j] += 1;
            }
            if test.p.is_some_and(|p| p < spec.alpha) {
                rejections[j] += 1;
            }
        }
    }
    let n = f64::from(replicates);
    let rows = tested
        .iter()
        .enumerate()
        .map(|(j, &term)| {
            let p = f64::from(rejections[j]) / n;
            SimulationRow {
                term,
                rejections: rejections[j],
                negative_denominators: negative[j],
                power: p,
                se: (p * (1.0 - p) / n).sqrt(),
            }
        })
        .collect();
    Ok(SimulationCheck {
        replicates,
        seed,
        rows,
    })
}
