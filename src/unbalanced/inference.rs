//! From sums of squares and their expected mean squares to the table: the EMS equations as
//! a [`System`], solved by its back-substitution for every test's denominator and every
//! component's estimator; F tests (exact, or F′ with Satterthwaite df) and moment
//! estimates with Satterthwaite and modified large-sample intervals.

use crate::design::{Design, Kind};
use crate::ems::{Model, NoTest, TestKind};
use crate::moments::{self, IntervalMethod, Row, System, Weights, intervals};

use super::expectations::Expectations;
use super::sums::{self, CellModel, RowSums};
use super::{
    EmsCoefficient, MomentComponent, MsWeight, NoTestReason, QuasiAlternative, RowTest, SsPart,
    SsRow, SsType, UnbalancedAnova, UnbalancedError, UnbalancedNote, UnbalancedOptions,
};

/// A coefficient below this fraction of the largest in its EMS is rounding: a component
/// the sum of squares is orthogonal to in exact arithmetic (its rounding error is about
/// 1e-16 times the number of cells times the largest coefficient).
const ZERO_COEFFICIENT: f64 = 1e-9;

/// Runs the analysis on a cell-level model with the sequential order `order`.
pub(crate) fn run(
    model: &CellModel<'_>,
    order: &[usize],
    opts: &UnbalancedOptions,
) -> Result<UnbalancedAnova, UnbalancedError> {
    let design = model.design;
    let layout = model.layout;
    let mut notes = vec![UnbalancedNote::UnrestrictedModel];
    for (t, tl) in model.terms.iter().enumerate() {
        if tl.empty_cells() > 0 {
            notes.push(UnbalancedNote::EmptyCells {
                term: design.terms[t].name.clone(),
                empty: tl.empty_cells(),
                expected: tl.expected,
            });
        }
    }
    let main = model.fit(order)?;
    let mut expectations = Expectations::new(model);
    let (row_sums, coefficients, left_out) = match opts.ss_type {
        SsType::I => {
            if order.iter().enumerate().any(|(i, &t)| i != t) {
                notes.push(UnbalancedNote::SequentialOrder {
                    order: order
                        .iter()
                        .map(|&t| design.terms[t].name.clone())
                        .collect(),
                });
            }
            let rows = sums::type_i(&main, order);
            let coefficients = rows
                .iter()
                .map(|r| snap(expectations.coefficients(&[&main], r)))
                .collect();
            (rows, coefficients, Vec::new())
        }
        SsType::III => {
            let (wanted, left_out) = type_iii_rows(model);
            for &(t, because) in &left_out {
                notes.push(UnbalancedNote::TypeIiiLeftOut {
                    term: design.terms[t].name.clone(),
                    because: design.terms[because].name.clone(),
                });
            }
            let mut rows = Vec::with_capacity(wanted.len());
            let mut coefficients = Vec::with_capacity(wanted.len());
            for &t in &wanted {
                // A refit lives only until its row's EMS are computed.
                let (row, refit) = sums::type_iii(model, &main, order, t)?;
                let coef = match refit {
                    Some(refit) => {
                        let c = expectations.coefficients(&[&main, &refit], &row);
                        expectations.forget(1);
                        c
                    }
                    None => expectations.coefficients(&[&main], &row),
                };
                rows.push(row);
                coefficients.push(snap(coef));
            }
            (rows, coefficients, left_out)
        }
    };

    let (lof_ss, lof_df) = main.lack_of_fit();
    let pure_error = SsPart {
        df: layout.within_df(),
        ss: layout.within_ss,
    };
    let lack_of_fit = SsPart {
        df: lof_df as u64,
        ss: lof_ss,
    };
    let residual = SsPart {
        df: pure_error.df + lack_of_fit.df,
        ss: pure_error.ss + lack_of_fit.ss,
    };
    let system = build_system(
        design,
        opts.ss_type,
        order,
        &row_sums,
        &coefficients,
        residual,
    );
    let mut terms = table_rows(design, model, &row_sums, &coefficients, &system, residual);
    for (i, row) in terms.iter_mut().enumerate() {
        row.test = test_of(&system, i, &mut notes);
    }
    for row in &terms[..row_sums.len()] {
        if row.df == 0 {
            notes.push(UnbalancedNote::NotEstimable {
                term: row.term.clone(),
            });
        } else if row.df < row.df_complete {
            notes.push(UnbalancedNote::ReducedDf {
                term: row.term.clone(),
                df: row.df,
                df_complete: row.df_complete,
            });
        }
    }
    if residual.df == 0 {
        notes.push(UnbalancedNote::NoResidualDf);
    }
    let mut components = Vec::new();
    for (u, row) in system.rows.iter().enumerate() {
        if !row.random || (u == system.residual && residual.df == 0) {
            continue;
        }
        match component(&system, u, opts.alpha) {
            Ok(c) => {
                if c.estimate < 0.0 {
                    notes.push(UnbalancedNote::NegativeEstimate {
                        term: c.term.clone(),
                        estimate: c.estimate,
                    });
                }
                components.push(c);
            }
            Err(reason) => notes.push(UnbalancedNote::NoEstimate {
                term: row.name.clone(),
                reason: Some(reason_of(&system, reason)),
            }),
        }
    }
    for &(t, _) in &left_out {
        if design.terms[t].random {
            notes.push(UnbalancedNote::NoEstimate {
                term: design.terms[t].name.clone(),
                reason: None,
            });
        }
    }
    if terms
        .iter()
        .any(|r| r.ems.iter().any(|e| e.kind == Kind::Fixed))
    {
        notes.push(UnbalancedNote::FixedEffectCoefficients);
    }
    let total_ss: f64 = model.y.iter().map(|v| v * v).sum::<f64>() + layout.within_ss;
    Ok(UnbalancedAnova {
        ss_type: opts.ss_type,
        balanced: layout.balanced,
        model: Model::Unrestricted,
        alpha: opts.alpha,
        n_observations: layout.n_observations,
        n_cells: layout.m(),
        order: order
            .iter()
            .map(|&t| design.terms[t].name.clone())
            .collect(),
        terms,
        components,
        pure_error,
        lack_of_fit,
        total: SsPart {
            df: layout.n_observations.saturating_sub(1),
            ss: total_ss,
        },
        notes,
    })
}

/// Type III rows: every term not contained in another term with an empty cell; the others
/// as `(term, the containing term with an empty cell)`.
fn type_iii_rows(model: &CellModel<'_>) -> (Vec<usize>, Vec<(usize, usize)>) {
    let terms = &model.design.terms;
    let mut wanted = Vec::new();
    let mut left_out = Vec::new();
    for (t, term) in terms.iter().enumerate() {
        let container = (0..terms.len()).find(|&u| {
            u != t
                && terms[u].subscripts.is_superset(term.subscripts)
                && model.terms[u].empty_cells() > 0
        });
        match container {
            Some(u) => left_out.push((t, u)),
            None => wanted.push(t),
        }
    }
    (wanted, left_out)
}

/// Coefficients that are rounding residues become exact zeros.
fn snap(mut coefficients: Vec<f64>) -> Vec<f64> {
    let scale = coefficients.iter().fold(1.0f64, |a, c| a.max(c.abs()));
    for c in &mut coefficients {
        if c.abs() <= ZERO_COEFFICIENT * scale {
            *c = 0.0;
        }
    }
    coefficients
}

fn mean_square(ss: f64, df: u64) -> f64 {
    if df == 0 { f64::NAN } else { ss / df as f64 }
}

/// The EMS equations: one row per table row, the Residual last. Components are indexed by
/// the row of their term; the order of back-substitution is the lattice (Type III: the EMS
/// of a term holds only terms containing it) or the sequential order (Type I: only later
/// terms).
fn build_system(
    design: &Design,
    ss_type: SsType,
    order: &[usize],
    rows: &[RowSums],
    coefficients: &[Vec<f64>],
    residual: SsPart,
) -> System {
    let res = rows.len();
    let row_of_term = |k: usize| rows.iter().position(|r| r.term == k);
    let mut out: Vec<Row> = rows
        .iter()
        .zip(coefficients)
        .map(|(r, coef)| {
            let term = &design.terms[r.term];
            let mut ems = vec![(res, 1.0)];
            ems.extend(
                coef.iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0.0)
                    .filter_map(|(k, &c)| row_of_term(k).map(|j| (j, c))),
            );
            let size = match ss_type {
                SsType::III => term.subscripts.len(),
                SsType::I => order.iter().position(|&t| t == r.term).unwrap_or(0),
            };
            Row {
                name: term.name.clone(),
                df: r.df as u64,
                ms: mean_square(r.ss, r.df as u64),
                ss: Some(r.ss),
                random: term.random,
                size,
                ems,
                pooled_into: None,
                absorbed: Vec::new(),
            }
        })
        .collect();
    out.push(Row {
        name: "Residual".to_string(),
        df: residual.df,
        ms: mean_square(residual.ss, residual.df),
        ss: Some(residual.ss),
        random: true,
        size: usize::MAX,
        ems: vec![(res, 1.0)],
        pooled_into: None,
        absorbed: Vec::new(),
    });
    System {
        rows: out,
        residual: res,
    }
}

/// The table rows (tests filled in later).
fn table_rows(
    design: &Design,
    model: &CellModel<'_>,
    rows: &[RowSums],
    coefficients: &[Vec<f64>],
    system: &System,
    residual: SsPart,
) -> Vec<SsRow> {
    let placeholder = RowTest {
        kind: TestKind::None,
        denominator: Vec::new(),
        df_num: None,
        df_den: None,
        denominator_ms: None,
        f: None,
        p: None,
        negative_denominator: false,
        alternatives: Vec::new(),
        reason: None,
    };
    // Components from σ² up: more factors first, then the term list's order.
    let mut display: Vec<usize> = (0..design.terms.len()).collect();
    display.sort_by_key(|&k| (std::cmp::Reverse(design.terms[k].subscripts.len()), k));
    let sigma2 = EmsCoefficient {
        component: "Residual".to_string(),
        coefficient: 1.0,
        kind: Kind::Random,
    };
    let mut out: Vec<SsRow> = rows
        .iter()
        .zip(coefficients)
        .enumerate()
        .map(|(i, (r, coef))| {
            let term = &design.terms[r.term];
            let mut ems = vec![sigma2.clone()];
            ems.extend(
                display
                    .iter()
                    .filter(|&&k| coef[k] != 0.0)
                    .map(|&k| EmsCoefficient {
                        component: design.terms[k].name.clone(),
                        coefficient: coef[k],
                        kind: if design.terms[k].random {
                            Kind::Random
                        } else {
                            Kind::Fixed
                        },
                    }),
            );
            SsRow {
                term: term.name.clone(),
                kind: if term.random {
                    Kind::Random
                } else {
                    Kind::Fixed
                },
                df: r.df as u64,
                df_complete: model.terms[r.term].columns as u64,
                ss: r.ss,
                ms: (r.df > 0).then(|| system.rows[i].ms),
                ems,
                test: placeholder.clone(),
                design_term: Some(r.term),
            }
        })
        .collect();
    out.push(SsRow {
        term: "Residual".to_string(),
        kind: Kind::Random,
        df: residual.df,
        df_complete: residual.df,
        ss: residual.ss,
        ms: (residual.df > 0).then(|| system.rows[system.residual].ms),
        ems: vec![sigma2],
        test: placeholder,
        design_term: None,
    });
    out
}

fn weights(system: &System, comb: &Weights) -> Vec<MsWeight> {
    comb.iter()
        .map(|&(row, weight)| MsWeight {
            term: system.rows[row].name.clone(),
            weight,
            row,
        })
        .collect()
}

fn reason_of(system: &System, e: NoTest) -> NoTestReason {
    match e {
        NoTest::ErrorTerm => NoTestReason::ErrorTerm,
        NoTest::FixedEffect { term } => NoTestReason::FixedEffect {
            term: system.rows[term].name.clone(),
        },
        NoTest::ZeroDf { term } => NoTestReason::ZeroDf {
            term: system.rows[term].name.clone(),
        },
        NoTest::NoOtherComponent => NoTestReason::NoOtherComponent,
        NoTest::Pooled { into } => NoTestReason::Pooled {
            into: system.rows[into].name.clone(),
        },
        // Only the balanced EMS derivation gives these; the moment system never does.
        NoTest::WeightsOverflow | NoTest::NeedsLevels => NoTestReason::NotEstimable,
    }
}

/// The F test of row `t`.
fn test_of(system: &System, t: usize, notes: &mut Vec<UnbalancedNote>) -> RowTest {
    let none = |reason: NoTestReason| RowTest {
        kind: TestKind::None,
        denominator: Vec::new(),
        df_num: None,
        df_den: None,
        denominator_ms: None,
        f: None,
        p: None,
        negative_denominator: false,
        alternatives: Vec::new(),
        reason: Some(reason),
    };
    if t != system.residual && system.rows[t].df == 0 {
        return none(NoTestReason::NotEstimable);
    }
    if let Err(e) = system.denominator(t) {
        return none(reason_of(system, e));
    }
    let r: moments::TermTest = moments::test_of(system, t);
    if r.negative_denominator {
        notes.push(UnbalancedNote::NegativeDenominator {
            term: system.rows[t].name.clone(),
            value: r.denominator_ms.unwrap_or(f64::NAN),
        });
    }
    RowTest {
        kind: r.kind,
        denominator: weights(system, &r.denominator),
        df_num: Some(r.df_num),
        df_den: r.df_den,
        denominator_ms: r.denominator_ms,
        f: r.f,
        p: r.p,
        negative_denominator: r.negative_denominator,
        // F″ differs from F′ only when the denominator subtracts a mean square.
        alternatives: r
            .f2
            .filter(|_| r.denominator.iter().any(|&(_, w)| w < 0.0))
            .map(|q| QuasiAlternative {
                form: "F''",
                numerator: weights(system, &q.numerator),
                denominator: weights(system, &q.denominator),
                df_num: q.df_num,
                df_den: q.df_den,
                f: q.f,
                p: q.p,
            })
            .into_iter()
            .collect(),
        reason: None,
    }
}

/// The moment estimate of the variance of row `u`.
fn component(system: &System, u: usize, alpha: f64) -> Result<MomentComponent, NoTest> {
    let (comb, divisor) = system.estimator(u)?;
    let terms = system.terms_of(&comb);
    let estimate = intervals::value(&terms);
    let nu = intervals::satterthwaite_df(&terms);
    let single = comb.len() == 1;
    let method = if single {
        IntervalMethod::ChiSquare
    } else {
        IntervalMethod::Satterthwaite
    };
    Ok(MomentComponent {
        term: system.rows[u].name.clone(),
        estimate,
        combination: weights(system, &comb),
        divisor,
        satterthwaite_df: nu,
        se: intervals::standard_error(&terms),
        ci: intervals::chi_square(estimate, nu, alpha, method),
        mls: if single {
            None
        } else {
            intervals::mls(&terms, alpha)
        },
        row: u,
    })
}
