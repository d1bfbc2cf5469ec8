//! The smallest size (a random factor's level count, or the replicates) in 2..=1000 at which
//! one term's test reaches a target power, and the power curve over the sizes.
//!
//! The EMS table's structure (which components, which denominators) does not depend on
//! the level counts, so it is derived once and evaluated at every size (except where a
//! mean square absorbs a dropped term: its shares are fractions of the level counts, and
//! the table is derived again at each size); the search is a
//! scan from 2 upward, which is exact whether or not the power grows monotonically.

use super::{PowerError, PowerSpec, Sizes, power_row};
use crate::ems::{EmsTable, TestKind};

/// The largest size searched.
pub const MAX_SIZE: u32 = 1000;
/// The smallest.
pub const MIN_SIZE: u32 = 2;

/// What a solve varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vary {
    /// The level count of a random factor (index into the design's factors).
    Factor(usize),
    /// The observations per cell.
    Replicates,
}

/// A solve request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveSpec {
    pub vary: Vary,
    /// The term whose test must reach the target (index into the EMS table's terms).
    pub term: usize,
    pub target: f64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    pub spec: SolveSpec,
    /// The smallest size reaching the target, `None` when no size up to [`MAX_SIZE`] does.
    pub size: Option<u32>,
    /// The power at `size`, or at [`MAX_SIZE`] when unreachable.
    pub power: f64,
    /// (size, power) over the sizes shown: every size from 2 to twice the answer (at least
    /// 10); when unreachable, 2..=20, then every 10 to 100 and every 100 to 1000.
    pub curve: Vec<(u32, f64)>,
}

/// The power of `term`'s test at every size in `sizes` (others as in `spec`'s design).
pub fn power_at_sizes(
    table: &EmsTable,
    spec: &PowerSpec,
    vary: Vary,
    term: usize,
    sizes: impl Iterator<Item = u32>,
) -> Vec<(u32, f64)> {
    let mut at = Sizes::of(spec.design());
    let index = match vary {
        Vary::Factor(i) => i,
        Vary::Replicates => at.levels.len() - 1,
    };
    sizes
        .map(|n| {
            at.levels[index] = u64::from(n);
            let p = if table.design.absorbed.is_empty() {
                power_row(table, spec, &at, term, 1.0).power
            } else {
                // A mean square that absorbs a dropped term has coefficients, and then
                // denominator weights, that are fractions of the level counts: derive
                // the table again at this size.
                resized(table, &at).and_then(|t| power_row(&t, spec, &at, term, 1.0).power)
            };
            (n, p.unwrap_or(f64::NAN))
        })
        .collect()
}

/// The table derived again at other level counts.
fn resized(table: &EmsTable, at: &Sizes) -> Option<EmsTable> {
    let nf = table.design.n_factors();
    let levels: Vec<Option<u32>> = (0..nf).map(|i| u32::try_from(at.levels[i]).ok()).collect();
    let replicates = u32::try_from(at.levels[nf]).ok();
    let design = table.design.with_sizes(&levels, replicates).ok()?;
    Some(crate::ems::derive(&design, table.model))
}

/// Solves for the smallest size reaching `s.target` (checked to be in (0, 1)).
pub fn solve(table: &EmsTable, spec: &PowerSpec, s: SolveSpec) -> Result<Solution, PowerError> {
    if !(s.target > 0.0 && s.target < 1.0) {
        return Err(PowerError::Target(s.target));
    }
    if s.term >= table.residual() || table.tests[s.term].kind == TestKind::None {
        return Err(PowerError::NoTest(table.terms[s.term].name.clone()));
    }
    let mut found = None;
    for n in MIN_SIZE..=MAX_SIZE {
        let (_, p) = power_at_sizes(table, spec, s.vary, s.term, std::iter::once(n))[0];
        if p >= s.target {
            found = Some((n, p));
            break;
        }
    }
    let (size, power, curve) = match found {
        Some((n, p)) => {
            let last = (2 * n).clamp(10, MAX_SIZE);
            let curve = power_at_sizes(table, spec, s.vary, s.term, MIN_SIZE..=last);
            (Some(n), p, curve)
        }
        None => {
            let grid = (MIN_SIZE..=20)
                .chain((30..=100).step_by(10))
                .chain((200..=MAX_SIZE).step_by(100));
            let curve = power_at_sizes(table, spec, s.vary, s.term, grid);
            let last = curve.last().map_or(f64::NAN, |c| c.1);
            (None, last, curve)
        }
    };
    Ok(Solution {
        spec: s,
        size,
        power,
        curve,
    })
}
