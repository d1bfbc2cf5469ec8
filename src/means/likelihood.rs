//! The means of a REML fit (unbalanced data): the fit's estimated marginal means and
//! pairwise differences ([`crate::reml::inference`], Satterthwaite or Kenward-Roger df, as
//! emmeans), with the same multiplicity adjustments and letters as balanced means.

use super::{
    Adjustment, MeanEstimate, MeanMethod, Means, MeansNote, PairInput, TermMeans, compare,
};
use crate::reml::inference::{self, DdfMethod, Inference, LevelSet};

fn estimate(m: &inference::Mean) -> MeanEstimate {
    MeanEstimate {
        term: m.term.clone(),
        levels: m.levels.clone(),
        mean: m.mean,
        se: Some(m.se),
        df: Some(m.df),
        ci: m.ci,
        precision: None,
    }
}

fn factor_names(levels: &LevelSet) -> Vec<String> {
    levels.0.iter().map(|(f, _)| f.clone()).collect()
}

/// The means stage from a REML fit's inference, at `alpha` with `adjustment`.
pub fn reml_means(inf: &Inference, adjustment: Adjustment, alpha: f64) -> Means {
    let mut notes: Vec<MeansNote> = inf
        .notes
        .iter()
        .cloned()
        .map(MeansNote::Inference)
        .collect();
    let mut terms = Vec::new();
    for fam in &inf.families {
        let means: Vec<MeanEstimate> = inf
            .means
            .iter()
            .filter(|m| m.term == fam.term)
            .map(estimate)
            .collect();
        let index = |l: &LevelSet| means.iter().position(|m| &m.levels == l);
        let pairs: Vec<PairInput> = inf
            .comparisons
            .iter()
            .filter(|c| c.term == fam.term)
            .filter_map(|c| {
                Some(PairInput {
                    a: index(&c.a)?,
                    b: index(&c.b)?,
                    difference: c.difference,
                    se: Some(c.se),
                    df: Some(c.df),
                    precision: None,
                    synthetic: false,
                })
            })
            .collect();
        let factors = means
            .first()
            .map(|m| factor_names(&m.levels))
            .unwrap_or_default();
        let n = means.len();
        let (comparisons, family, letters, tukey_undefined) = compare(n, pairs, adjustment, alpha);
        if tukey_undefined && adjustment == Adjustment::Tukey {
            notes.push(MeansNote::TukeyUndefined {
                term: fam.term.clone(),
            });
        }
        terms.push(TermMeans {
            term: fam.term.clone(),
            factors,
            means,
            comparisons,
            family,
            letters,
        });
    }
    Means {
        method: match inf.ddf_method {
            DdfMethod::Satterthwaite => MeanMethod::RemlSatterthwaite,
            DdfMethod::KenwardRoger => MeanMethod::RemlKenwardRoger,
        },
        adjustment,
        alpha,
        grand_mean: inf.grand_mean.as_ref().map(estimate),
        terms,
        notes,
    }
}
