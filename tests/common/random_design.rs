//! Random small designs for property tests (tests/ems_projection.rs, tests/symbolica.rs):
//! 2-4 factors, fixed or random, crossed or nested in an earlier factor, the top term
//! sometimes pooled into the Residual.

use std::ops::RangeInclusive;

use emslab::Design;
use emslab::design::{DesignSpec, FactorSpec, Kind};
use proptest::prelude::*;

/// One factor's recipe: kind, levels, and (for factors after the first) which earlier
/// factor it is nested in, if any.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub random: bool,
    pub levels: u32,
    pub parent: Option<usize>,
}

/// Designs of `factors` factors with `levels` levels each and `replicates` replicates,
/// and whether to pool the top term: `(recipes, replicates, pool_top)` for [`build`].
pub fn recipes(
    factors: RangeInclusive<usize>,
    levels: RangeInclusive<u32>,
    replicates: RangeInclusive<u32>,
) -> impl Strategy<Value = (Vec<Recipe>, u32, bool)> {
    factors.prop_flat_map(move |n| {
        let factors = (0..n)
            .map(|i| {
                (
                    any::<bool>(),
                    levels.clone(),
                    proptest::option::weighted(0.35, 0..i.max(1)),
                )
                    .prop_map(move |(random, levels, parent)| Recipe {
                        random,
                        levels,
                        parent: if i == 0 { None } else { parent },
                    })
            })
            .collect::<Vec<_>>();
        (factors, replicates.clone(), any::<bool>())
    })
}

/// The design of the recipes: factors `F0`, `F1`, ...; with one replicate (or with
/// `pool_top`) the top term is dropped so that the Residual has df.
pub fn build(recipes: &[Recipe], replicates: u32, pool_top: bool) -> Design {
    let factors: Vec<FactorSpec> = recipes
        .iter()
        .enumerate()
        .map(|(i, r)| FactorSpec {
            name: format!("F{i}"),
            kind: if r.random { Kind::Random } else { Kind::Fixed },
            levels: Some(r.levels),
            nested_in: r.parent.map(|p| vec![format!("F{p}")]).unwrap_or_default(),
            symbol: None,
            role: None,
        })
        .collect();
    let mut spec = DesignSpec {
        title: String::new(),
        response: None,
        replicates: Some(2),
        factors,
        terms: None,
    };
    let full = Design::try_from(spec.clone()).expect("generated design is valid");
    if replicates == 1 || pool_top {
        let names: Vec<String> = full.terms.iter().map(|t| t.name.clone()).collect();
        spec.terms = Some(names[..names.len() - 1].to_vec());
    }
    spec.replicates = Some(replicates);
    Design::try_from(spec).expect("generated design is valid")
}

/// The design of the recipes with the terms at `drop` (indices into the full model's
/// canonical term list, taken modulo its length) left out of the term list, and the top
/// term too when there is one replicate. A dropped term that a kept term contains is
/// absorbed by it; the others pool into the Residual. `None` when nothing would be kept.
pub fn build_dropping(recipes: &[Recipe], replicates: u32, drop: &[usize]) -> Option<Design> {
    let full = build(recipes, 2, false);
    let names: Vec<String> = full.terms.iter().map(|t| t.name.clone()).collect();
    let n = names.len();
    let mut dropped: Vec<usize> = drop.iter().map(|&k| k % n).collect();
    if replicates == 1 {
        dropped.push(n - 1);
    }
    let kept: Vec<String> = (0..n)
        .filter(|k| !dropped.contains(k))
        .map(|k| names[k].clone())
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut spec = full.spec().clone();
    spec.terms = Some(kept);
    spec.replicates = Some(replicates);
    Design::try_from(spec).ok()
}
