//! Means, their precision and their comparisons: what every fixed effect's levels are, how
//! precisely they are known, and which differ.
//!
//! - [`precision`]: the variance of any mean of a balanced design (grand mean, marginal
//!   and cell means of fixed factors, cells of fixed and random factors) and of the
//!   difference of two such means, exactly, as variance components in both mixed models
//!   and as one combination of mean squares, estimated with Satterthwaite df.
//! - [`balanced_means`]: the means of every fixed term of a balanced design with their
//!   standard errors, df and t intervals (method `ems`), all pairwise differences with
//!   multiplicity-adjusted p-values and simultaneous intervals ([`adjust`]), and a compact
//!   letter display ([`letters`]).
//! - [`reml_means`]: the same from a REML fit's estimated marginal means
//!   ([`crate::reml::inference`]; unbalanced data), with the same adjustments and letters.
//! - [`covariance`]: the covariance and correlation of two observations for each pattern
//!   of shared random effects.
//!
//! The numbers and findings are typed; `src/report` writes the words.

pub mod adjust;
pub mod balanced;
pub mod covariance;
pub mod letters;
mod likelihood;
pub mod poly;
pub mod precision;

use serde::Serialize;

pub use adjust::{Adjustment, Family};
pub use balanced::{CellSource, balanced_means, evaluate_precision};
pub use covariance::{CovarianceEstimate, CovarianceRow, Covariances};
pub use likelihood::reml_means;
pub use precision::{Estimated, NotEstimated, Precision, PrecisionRow, Quantity};

pub use crate::reml::inference::{ConfidenceInterval, InferenceNote, LevelSet};

/// A term's comparisons are made for at most this many means (a term of 200 level
/// combinations has 19,900 pairs, each with its own studentized-range probability).
pub const MAX_COMPARED_MEANS: usize = 200;

/// How the means and their standard errors were found (`means[*].method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MeanMethod {
    /// Balanced data: the variance of a mean is a combination of expected mean squares,
    /// estimated by the same combination of observed mean squares, Satterthwaite df.
    #[serde(rename = "ems")]
    Ems,
    /// The REML fit's estimated marginal means with Satterthwaite df (lmerTest, emmeans).
    #[serde(rename = "reml-satterthwaite")]
    RemlSatterthwaite,
    /// The same with Kenward-Roger df and adjusted standard errors (pbkrtest).
    #[serde(rename = "reml-kenward-roger")]
    RemlKenwardRoger,
}

/// One mean: of a level combination of a term's factors, or the grand mean.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanEstimate {
    /// The term (empty for the grand mean).
    pub term: String,
    pub levels: LevelSet,
    pub mean: f64,
    pub se: Option<f64>,
    pub df: Option<f64>,
    /// The t interval at the analysis' level.
    pub ci: Option<ConfidenceInterval>,
    /// Balanced data: the row of the precision table its variance is.
    pub precision: Option<usize>,
}

/// The difference of two means of one term.
#[derive(Debug, Clone, PartialEq)]
pub struct PairComparison {
    /// The two means (indices into [`TermMeans::means`]); the difference is a − b.
    pub a: usize,
    pub b: usize,
    pub difference: f64,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub t: Option<f64>,
    /// Two-sided, unadjusted.
    pub p: Option<f64>,
    pub p_adjusted: Option<f64>,
    /// The simultaneous interval of the adjustment.
    pub ci: Option<ConfidenceInterval>,
    /// Balanced data: the row of the precision table its variance is (`None` when the row
    /// is not listed, for terms of many factors).
    pub precision: Option<usize>,
    /// Its variance is a combination of more than one mean square (Satterthwaite df).
    pub synthetic: bool,
}

/// The means of one fixed term with their comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct TermMeans {
    pub term: String,
    /// Its factors in declaration order.
    pub factors: Vec<String>,
    pub means: Vec<MeanEstimate>,
    pub comparisons: Vec<PairComparison>,
    pub family: Family,
    /// The compact letter display, one string per mean (empty when no comparison was
    /// made).
    pub letters: Vec<String>,
}

/// What the means stage found, for the report to say.
#[derive(Debug, Clone, PartialEq)]
pub enum MeansNote {
    /// The variance of a precision row came out zero or negative: the means and
    /// differences it belongs to have no standard error, t or p.
    NotPositive { row: usize },
    /// A precision row needs a component without an estimator.
    NoEstimator { row: usize, component: usize },
    /// A term's differences have synthetic variances (several mean squares):
    /// Satterthwaite df.
    SyntheticDf { term: String },
    /// `--negative pool`: the estimates are from the reduced model; the symbolic forms
    /// are the full model's.
    ReducedModel,
    /// A published table has no level means.
    NoLevelMeans,
    /// A published table without `--grand-mean`: no grand-mean interval.
    NoGrandMean,
    /// Too many means to compare all pairs.
    TooManyMeans {
        term: String,
        means: usize,
        limit: usize,
    },
    /// Tukey's studentized range needs at least 1 df.
    TukeyUndefined { term: String },
    /// A finding of the REML inference the means come from.
    Inference(InferenceNote),
}

/// The means stage's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Means {
    pub method: MeanMethod,
    pub adjustment: Adjustment,
    /// 1 − the level of every interval; pairs with an adjusted p below it are significant
    /// in the letter display.
    pub alpha: f64,
    pub grand_mean: Option<MeanEstimate>,
    pub terms: Vec<TermMeans>,
    pub notes: Vec<MeansNote>,
}

impl Means {
    /// The means of a term.
    pub fn term(&self, name: &str) -> Option<&TermMeans> {
        self.terms.iter().find(|t| t.term == name)
    }
}

/// The comparisons of one term's means from their differences' (estimate, se, df): p,
/// adjusted p and simultaneous intervals, and the letters. `pairs` are (a, b, difference,
/// se, df, precision row, synthetic) with a < b.
pub(crate) fn compare(
    means: usize,
    pairs: Vec<PairInput>,
    adjustment: Adjustment,
    alpha: f64,
) -> (Vec<PairComparison>, Family, Vec<String>, bool) {
    let family = Family {
        means,
        pairs: pairs.len(),
    };
    let level = 1.0 - alpha;
    let mut tukey_undefined = false;
    // Balanced data: every pair of one kind has the same df, so each critical value (a
    // studentized-range quantile for Tukey) is found once.
    let mut critical: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    // Tukey: the family's studentized range tabulated once for all its pairs and df.
    let range = (adjustment == Adjustment::Tukey && means >= 2 && !pairs.is_empty())
        .then(|| crate::dist::StudentizedRange::tabulated(means as f64));
    let comparisons: Vec<PairComparison> = pairs
        .into_iter()
        .map(|x| {
            let se = x.se.filter(|s| *s > 0.0 && s.is_finite());
            let df = x.df.filter(|d| *d > 0.0);
            let (t, p, p_adjusted, ci) = match (se, df) {
                (Some(se), Some(df)) => {
                    let t = x.difference / se;
                    let p = adjust::t_p_value(t, df);
                    let pa = adjust::adjusted_p(adjustment, t, p, df, family, range.as_ref());
                    let c = *critical.entry(df.to_bits()).or_insert_with(|| {
                        adjust::critical_value(adjustment, level, df, family, range.as_ref())
                    });
                    tukey_undefined |= pa.is_nan() || c.is_nan();
                    let ci = c.is_finite().then_some(ConfidenceInterval {
                        level,
                        lower: x.difference - c * se,
                        upper: x.difference + c * se,
                    });
                    (Some(t), Some(p), pa.is_finite().then_some(pa), ci)
                }
                _ => (None, None, None, None),
            };
            PairComparison {
                a: x.a,
                b: x.b,
                difference: x.difference,
                se,
                df,
                t,
                p,
                p_adjusted,
                ci,
                precision: x.precision,
                synthetic: x.synthetic,
            }
        })
        .collect();
    let significant: Vec<(usize, usize)> = comparisons
        .iter()
        .filter(|c| c.p_adjusted.is_some_and(|p| p < alpha))
        .map(|c| (c.a, c.b))
        .collect();
    let letters = if comparisons.is_empty() {
        Vec::new()
    } else {
        letters::compact_letters(means, &significant)
    };
    (comparisons, family, letters, tukey_undefined)
}

/// One pair's difference before the adjustment.
pub(crate) struct PairInput {
    pub a: usize,
    pub b: usize,
    pub difference: f64,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub precision: Option<usize>,
    pub synthetic: bool,
}

/// A t interval `estimate ± t_ν((1 + level)/2) se`.
pub(crate) fn t_interval(
    estimate: f64,
    se: Option<f64>,
    df: Option<f64>,
    level: f64,
) -> Option<ConfidenceInterval> {
    ConfidenceInterval::t(estimate, se?, df?, level)
}
