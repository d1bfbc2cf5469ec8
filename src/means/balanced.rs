//! The means of a balanced design (method `ems`): marginal means of the cells, their
//! variances from the precision table estimated by observed mean squares.

use std::collections::HashMap;

use super::precision::{self, Estimated, Estimators, NotEstimated, Precision, Quantity};
use super::{
    Adjustment, LevelSet, MeanEstimate, MeanMethod, Means, MeansNote, PairInput, TermMeans,
    compare, t_interval,
};
use crate::data::Cells;
use crate::design::Subscripts;
use crate::ems::EmsTable;
use crate::moments::{MomentFit, NegativePolicy};

/// Where the level means come from: the data's cells.
pub struct CellSource<'a> {
    pub cells: &'a Cells,
    /// Added to the cell means for the data's units.
    pub offset: f64,
    /// `labels[factor][code]` (a factor without labels is named by its codes).
    pub labels: &'a [Vec<String>],
}

/// Every row of the precision table estimated from the (possibly reduced) mean squares of
/// the moment fit.
pub fn evaluate_precision(
    table: &EmsTable,
    moments: &MomentFit,
    precision: &Precision,
) -> Vec<Estimated> {
    let estimators = Estimators::new(&moments.system);
    precision
        .rows
        .iter()
        .map(|r| precision::estimate(table, &estimators, moments.model, r.over, r.quantity))
        .collect()
}

/// What the balanced means need besides the data.
pub struct BalancedInput<'a> {
    /// The sized EMS table of the report's model.
    pub table: &'a EmsTable,
    pub moments: &'a MomentFit,
    pub precision: &'a Precision,
    /// [`evaluate_precision`] of the same.
    pub estimates: &'a [Estimated],
    pub adjustment: Adjustment,
    pub alpha: f64,
}

/// The means of every fixed term (and the grand mean) of a balanced design, with all
/// pairwise comparisons; `cells` is `None` for a published table, whose grand mean (if
/// known) is `grand_mean`.
pub fn balanced_means(
    input: &BalancedInput<'_>,
    cells: Option<&CellSource<'_>>,
    grand_mean: Option<f64>,
) -> Means {
    let level = 1.0 - input.alpha;
    let mut notes = Vec::new();
    if input.moments.policy == NegativePolicy::Pool && !input.moments.pooling.is_empty() {
        notes.push(MeansNote::ReducedModel);
    }
    for (row, e) in input.estimates.iter().enumerate() {
        match e.problem {
            Some(NotEstimated::NotPositive) => notes.push(MeansNote::NotPositive { row }),
            Some(NotEstimated::NoEstimator { component }) => {
                notes.push(MeansNote::NoEstimator { row, component })
            }
            _ => {}
        }
    }
    let grand = grand_mean.or_else(|| {
        cells.map(|c| {
            c.cells
                .marginal_means(&[])
                .first()
                .copied()
                .unwrap_or(f64::NAN)
                + c.offset
        })
    });
    let estimators = Estimators::new(&input.moments.system);
    let grand_row = input.precision.find(Subscripts::EMPTY, Quantity::Mean);
    let grand_mean = grand.map(|mean| {
        let e = variance(
            input,
            &estimators,
            grand_row,
            Subscripts::EMPTY,
            Quantity::Mean,
        );
        let (se, df) = (e.se, e.df);
        MeanEstimate {
            term: String::new(),
            levels: LevelSet(Vec::new()),
            mean,
            se,
            df,
            ci: t_interval(mean, se, df, level),
            precision: grand_row,
        }
    });
    if grand_mean.is_none() {
        notes.push(MeansNote::NoGrandMean);
    }
    let mut terms = Vec::new();
    let fixed: Vec<usize> = (0..input.table.residual())
        .filter(|&u| !input.table.terms[u].random)
        .collect();
    match cells {
        Some(c) => {
            for u in fixed {
                terms.push(term_means(input, &estimators, c, u, &mut notes));
            }
        }
        None if !fixed.is_empty() => notes.push(MeansNote::NoLevelMeans),
        None => {}
    }
    Means {
        method: MeanMethod::Ems,
        adjustment: input.adjustment,
        alpha: input.alpha,
        grand_mean,
        terms,
        notes,
    }
}

/// The level combinations of the factors `keep` in mixed-radix order (last fastest).
fn combinations(radix: &[u32], keep: &[usize]) -> Vec<Vec<u32>> {
    let sizes: Vec<u32> = keep.iter().map(|&f| radix[f]).collect();
    let n: usize = sizes.iter().map(|&s| s as usize).product();
    (0..n)
        .map(|mut i| {
            let mut codes = vec![0u32; sizes.len()];
            for (k, &s) in sizes.iter().enumerate().rev() {
                codes[k] = (i % s as usize) as u32;
                i /= s as usize;
            }
            codes
        })
        .collect()
}

fn label(labels: &[Vec<String>], f: usize, code: u32) -> String {
    labels
        .get(f)
        .and_then(|l| l.get(code as usize))
        .cloned()
        .unwrap_or_else(|| code.to_string())
}

/// The estimated variance of a precision row, or computed for a quantity the table does
/// not list.
fn variance(
    input: &BalancedInput<'_>,
    estimators: &Estimators,
    row: Option<usize>,
    over: Subscripts,
    quantity: Quantity,
) -> Estimated {
    match row.and_then(|r| input.estimates.get(r)) {
        Some(e) => e.clone(),
        None => precision::estimate(input.table, estimators, input.moments.model, over, quantity),
    }
}

fn term_means(
    input: &BalancedInput<'_>,
    estimators: &Estimators,
    c: &CellSource<'_>,
    u: usize,
    notes: &mut Vec<MeansNote>,
) -> TermMeans {
    let table = input.table;
    let d = &table.design;
    let level = 1.0 - input.alpha;
    let term = &table.terms[u];
    let over = term.subscripts.minus(Subscripts::single(d.error_index()));
    let keep: Vec<usize> = over.iter().collect();
    let values = c.cells.marginal_means(&keep);
    let codes = combinations(&c.cells.radix, &keep);
    let mean_row = input.precision.find(over, Quantity::Mean);
    let e = variance(input, estimators, mean_row, over, Quantity::Mean);
    let (se, df) = (e.se, e.df);
    let means: Vec<MeanEstimate> = codes
        .iter()
        .zip(&values)
        .map(|(combo, &m)| {
            let mean = m + c.offset;
            MeanEstimate {
                term: term.name.clone(),
                levels: LevelSet(
                    keep.iter()
                        .zip(combo)
                        .map(|(&f, &code)| (d.factors[f].name.clone(), label(c.labels, f, code)))
                        .collect(),
                ),
                mean,
                se,
                df,
                ci: t_interval(mean, se, df, level),
                precision: mean_row,
            }
        })
        .collect();
    let factors = keep.iter().map(|&f| d.factors[f].name.clone()).collect();
    if means.len() > super::MAX_COMPARED_MEANS {
        notes.push(MeansNote::TooManyMeans {
            term: term.name.clone(),
            means: means.len(),
            limit: super::MAX_COMPARED_MEANS,
        });
        return TermMeans {
            term: term.name.clone(),
            factors,
            family: super::Family {
                means: means.len(),
                pairs: 0,
            },
            means,
            comparisons: Vec::new(),
            letters: Vec::new(),
        };
    }
    let pairs = pair_inputs(input, estimators, over, &codes, &means);
    let synthetic = pairs.iter().any(|p| p.synthetic);
    let (comparisons, family, letters, tukey_undefined) =
        compare(means.len(), pairs, input.adjustment, input.alpha);
    if synthetic {
        notes.push(MeansNote::SyntheticDf {
            term: term.name.clone(),
        });
    }
    if tukey_undefined && input.adjustment == Adjustment::Tukey {
        notes.push(MeansNote::TukeyUndefined {
            term: term.name.clone(),
        });
    }
    TermMeans {
        term: term.name.clone(),
        factors,
        means,
        comparisons,
        family,
        letters,
    }
}

/// Every pair of means with its difference's variance: from the precision table's row of
/// its pattern, or computed for a pattern the table does not list.
fn pair_inputs(
    input: &BalancedInput<'_>,
    estimators: &Estimators,
    over: Subscripts,
    codes: &[Vec<u32>],
    means: &[MeanEstimate],
) -> Vec<PairInput> {
    let table = input.table;
    let d = &table.design;
    let mut extra: HashMap<Subscripts, Estimated> = HashMap::new();
    let mut pairs = Vec::with_capacity(means.len() * means.len().saturating_sub(1) / 2);
    for i in 0..means.len() {
        for j in i + 1..means.len() {
            let differ = precision::pattern_of(d, over, &codes[i], &codes[j]);
            let quantity = Quantity::Difference { differ };
            let row = input.precision.find(over, quantity);
            let e = match row {
                Some(r) => &input.estimates[r],
                None => extra.entry(differ).or_insert_with(|| {
                    precision::estimate(table, estimators, input.moments.model, over, quantity)
                }),
            };
            pairs.push(PairInput {
                a: i,
                b: j,
                difference: means[i].mean - means[j].mean,
                se: e.se,
                df: e.df,
                precision: row,
                synthetic: e.synthetic,
            });
        }
    }
    pairs
}
