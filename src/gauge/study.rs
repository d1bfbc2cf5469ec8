//! The computation of a gauge study: ANOVA, interaction decision, components, table,
//! intervals.

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use super::intervals::{
    CrossedSizes, MeanSquare, ShareMethod, Solver, factor_ratio_with_interaction,
    factor_ratio_without_interaction, share_of_ratio, share_of_rest,
};
use super::{
    Acceptance, AnovaWithTests, Assessment, Bounds, GaugeError, GaugeNote, GaugeRow, GaugeStudy,
    Interaction, InteractionStatus, Layout, NdcInterval, Options, Prepared, RowIntervals, Source,
};
use crate::anova;
use crate::data::Dataset;
use crate::design::{Design, DesignSpec};
use crate::ems::{self, Model};
use crate::moments;

/// The measurements by operator and part, in the data's units (for the charts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observations {
    /// Operator labels, in code order.
    pub operators: Vec<String>,
    /// Part labels: one list shared by all operators in a crossed study; one list per
    /// operator in a nested study.
    pub parts: Vec<Vec<String>>,
    /// `values[operator][part]`: the replicate measurements, in file order.
    pub values: Vec<Vec<Vec<f64>>>,
}

impl Observations {
    /// The part labels of one operator.
    pub fn part_labels(&self, operator: usize) -> &[String] {
        let i = if self.parts.len() == 1 { 0 } else { operator };
        self.parts.get(i).map_or(&[], |v| v.as_slice())
    }
}

type Weights = Vec<(usize, f64)>;

/// `a + b`, merging equal rows.
fn add(a: &[(usize, f64)], b: &[(usize, f64)]) -> Weights {
    let mut out = a.to_vec();
    for &(i, w) in b {
        match out.iter_mut().find(|(j, _)| *j == i) {
            Some((_, v)) => *v += w,
            None => out.push((i, w)),
        }
    }
    out
}

/// ANOVA, F tests and moment estimates of one model of the study.
fn fit(sized: &Design, ds: &Dataset) -> Result<(AnovaWithTests, moments::MomentFit), GaugeError> {
    let table =
        anova::from_cells(sized, &ds.cells).map_err(|e| GaugeError::Internal(e.to_string()))?;
    // All random: the restricted and unrestricted models coincide.
    let ems = ems::derive(sized, Model::Unrestricted);
    let analysis = moments::fit(&ems, &table, &moments::MomentOptions::default());
    Ok((
        AnovaWithTests {
            anova: table,
            tests: analysis.tests.clone(),
        },
        analysis,
    ))
}

/// The additive crossed model: `terms = [part, operator]`, the interaction pooled.
fn additive(prepared: &Prepared) -> Result<Design, GaugeError> {
    let mut spec: DesignSpec = prepared.design.spec().clone();
    spec.terms = Some(vec![prepared.part.clone(), prepared.operator.clone()]);
    Ok(Design::try_from(spec)?)
}

/// The models fitted, the interaction decision and the notes about it.
struct Models {
    full: AnovaWithTests,
    reduced: Option<AnovaWithTests>,
    final_fit: moments::MomentFit,
    interaction: Option<Interaction>,
    notes: Vec<GaugeNote>,
}

fn fit_models(prepared: &Prepared, ds: &Dataset, alpha: f64) -> Result<Models, GaugeError> {
    let reps = ds.balance.replicates;
    if prepared.layout == Layout::Nested {
        let (full, final_fit) = fit(&ds.sized_design(&prepared.design)?, ds)?;
        return Ok(Models {
            full,
            reduced: None,
            final_fit,
            interaction: None,
            notes: Vec::new(),
        });
    }
    if reps < 2 {
        let (full, final_fit) = fit(&ds.sized_design(&additive(prepared)?)?, ds)?;
        return Ok(Models {
            full,
            reduced: None,
            final_fit,
            interaction: Some(Interaction {
                status: InteractionStatus::Removed,
                p: None,
                alpha,
            }),
            notes: vec![GaugeNote::InteractionUntestable],
        });
    }
    let (full, full_fit) = fit(&ds.sized_design(&prepared.design)?, ds)?;
    // Rows: part, operator, part:operator, Residual.
    let p = full.tests.get(2).and_then(|t| t.p);
    let (status, note) = match p {
        None => (InteractionStatus::Kept, GaugeNote::InteractionNoTest),
        Some(p) if p >= alpha => (
            InteractionStatus::Removed,
            GaugeNote::InteractionRemoved { p, alpha },
        ),
        Some(p) => (
            InteractionStatus::Kept,
            GaugeNote::InteractionKept { p, alpha },
        ),
    };
    let interaction = Some(Interaction { status, p, alpha });
    if status == InteractionStatus::Kept {
        return Ok(Models {
            full,
            reduced: None,
            final_fit: full_fit,
            interaction,
            notes: vec![note],
        });
    }
    let (reduced, final_fit) = fit(&ds.sized_design(&additive(prepared)?)?, ds)?;
    Ok(Models {
        full,
        reduced: Some(reduced),
        final_fit,
        interaction,
        notes: vec![note],
    })
}

/// One variance component of the final model: (reported value, computed, weights).
fn component(a: &moments::MomentFit, term: usize) -> Result<(f64, f64, Weights), GaugeError> {
    let c = a.component(term).ok_or_else(|| {
        GaugeError::Internal(format!("no variance component for row {term} of the model"))
    })?;
    Ok((c.computed.max(0.0), c.computed, c.combination.clone()))
}

/// The rows of the table before the percentages: (source, varcomp, computed, weights).
fn raw_rows(
    layout: Layout,
    a: &moments::MomentFit,
    notes: &mut Vec<GaugeNote>,
) -> Result<Vec<(Source, f64, f64, Weights)>, GaugeError> {
    let resid = a.system.residual;
    let (part_t, op_t, inter_t) = match layout {
        Layout::Nested => (1, 0, None),
        Layout::Crossed => (0, 1, (resid == 3).then_some(2)),
    };
    let e = component(a, resid)?;
    let o = component(a, op_t)?;
    let p = component(a, part_t)?;
    let po = inter_t.map(|t| component(a, t)).transpose()?;
    let mut negative = |source: Source, c: &(f64, f64, Weights)| {
        if c.1 < 0.0 {
            notes.push(GaugeNote::NegativeComponent {
                source,
                computed: c.1,
            });
        }
    };
    negative(Source::Operator, &o);
    if let Some(po) = &po {
        negative(Source::OperatorPart, po);
    }
    negative(Source::PartToPart, &p);
    let (repro_v, repro_c, repro_w) = match &po {
        Some(po) => (o.0 + po.0, o.1 + po.1, add(&o.2, &po.2)),
        None => (o.0, o.1, o.2.clone()),
    };
    let gauge = (e.0 + repro_v, e.1 + repro_c, add(&e.2, &repro_w));
    let total = (gauge.0 + p.0, gauge.1 + p.1, add(&gauge.2, &p.2));
    let mut rows = vec![
        (Source::TotalGageRr, gauge.0, gauge.1, gauge.2),
        (Source::Repeatability, e.0, e.1, e.2),
        (Source::Reproducibility, repro_v, repro_c, repro_w),
    ];
    if layout == Layout::Crossed {
        rows.push((Source::Operator, o.0, o.1, o.2));
        if let Some(po) = po {
            rows.push((Source::OperatorPart, po.0, po.1, po.2));
        }
    }
    rows.push((Source::PartToPart, p.0, p.1, p.2));
    rows.push((Source::TotalVariation, total.0, total.1, total.2));
    Ok(rows)
}

/// The book's closed-form ratios of a crossed study: parts, and operators, to the rest of
/// the variance (`None` in a nested study).
#[derive(Debug, Clone, Copy)]
struct Ratios {
    part: Option<(f64, f64)>,
    operator: Option<(f64, f64)>,
    /// The operator x part interaction is in the final model.
    interaction: bool,
}

/// The ratios from the final model's mean squares: (part, operator, [part x operator,]
/// repeatability).
fn crossed_ratios(ms: &[MeanSquare], p: f64, o: f64, r: f64, alpha: f64) -> Ratios {
    let part_n = CrossedSizes { a: p, b: o, r };
    let op_n = CrossedSizes { a: o, b: p, r };
    match *ms {
        [sp, so, spo, se] => Ratios {
            part: factor_ratio_with_interaction([sp, so, spo, se], part_n, alpha),
            operator: factor_ratio_with_interaction([so, sp, spo, se], op_n, alpha),
            interaction: true,
        },
        [sp, so, se] => Ratios {
            part: factor_ratio_without_interaction([sp, so, se], part_n, alpha),
            operator: factor_ratio_without_interaction([so, sp, se], op_n, alpha),
            interaction: false,
        },
        _ => Ratios {
            part: None,
            operator: None,
            interaction: false,
        },
    }
}

/// The interval on a row's share of the total and its formula: the book's closed form
/// where there is one, else the inverted MLS interval.
fn share_interval(
    solver: &mut Solver,
    row: &GaugeRow,
    total: &[(usize, f64)],
    ratios: Option<Ratios>,
) -> Option<((f64, f64), ShareMethod)> {
    let closed = ratios.and_then(|r| {
        let part =
            |f: fn((f64, f64)) -> (f64, f64)| r.part.map(|x| (f(x), ShareMethod::PartGaugeRatio));
        let operator = r
            .operator
            .map(|x| (share_of_ratio(x), ShareMethod::OperatorRatio));
        match row.source {
            Source::PartToPart => part(share_of_ratio),
            Source::TotalGageRr => part(share_of_rest),
            Source::Operator => operator,
            // Without the interaction, Reproducibility is the operator's component.
            Source::Reproducibility if !r.interaction => operator,
            _ => None,
        }
    });
    match row.source {
        Source::TotalVariation => None,
        _ => closed.or_else(|| {
            solver
                .inverted_share(&row.combination, total)
                .map(|b| (b, ShareMethod::Inverted))
        }),
    }
}

/// The intervals of one row.
fn row_intervals(
    solver: &mut Solver,
    row: &GaugeRow,
    total: &[(usize, f64)],
    ratios: Option<Ratios>,
    k: f64,
    width: Option<f64>,
) -> Option<RowIntervals> {
    let (lo, hi, varcomp_method) = solver.interval(&row.combination)?;
    let varcomp = Bounds {
        lower: lo.max(0.0),
        upper: hi.max(0.0),
    };
    let sd = Bounds {
        lower: varcomp.lower.sqrt(),
        upper: varcomp.upper.sqrt(),
    };
    let share = share_interval(solver, row, total, ratios);
    let bounds = |f: fn(f64) -> f64| {
        share.map(|((l, u), _)| Bounds {
            lower: f(l),
            upper: f(u),
        })
    };
    Some(RowIntervals {
        varcomp,
        varcomp_method,
        pct_contribution: bounds(|x| 100.0 * x),
        share_method: share.map(|s| s.1),
        sd,
        study_var: Bounds {
            lower: k * sd.lower,
            upper: k * sd.upper,
        },
        pct_study_var: bounds(|x| 100.0 * x.sqrt()),
        pct_tolerance: width.map(|w| Bounds {
            lower: 100.0 * k * sd.lower / w,
            upper: 100.0 * k * sd.upper / w,
        }),
    })
}

/// Sets every row's intervals; returns the interval on the number of distinct categories.
fn add_intervals(
    rows: &mut [GaugeRow],
    ms: &[MeanSquare],
    ratios: Option<Ratios>,
    opts: &Options,
) -> Option<NdcInterval> {
    let (k, width) = (opts.study_var, opts.tolerance.map(|t| t.width()));
    let mut solver = Solver::new(ms, 1.0 - opts.level);
    let total_w = rows
        .last()
        .map(|r| r.combination.clone())
        .unwrap_or_default();
    for row in rows.iter_mut() {
        row.ci = row_intervals(&mut solver, row, &total_w, ratios, k, width);
    }
    let ndc = |lambda: (f64, f64)| Bounds {
        lower: (2.0 * lambda.0.max(0.0)).sqrt(),
        upper: (2.0 * lambda.1.max(0.0)).sqrt(),
    };
    if let Some(part) = ratios.and_then(|r| r.part) {
        return Some(NdcInterval {
            bounds: ndc(part),
            method: ShareMethod::PartGaugeRatio,
        });
    }
    // From the gauge share ρ: parts/gauge = (1 - ρ)/ρ, unbounded when ρ's lower bound is 0.
    let gauge = rows.iter().find(|r| r.source == Source::TotalGageRr)?;
    let (l, u) = solver.inverted_share(&gauge.combination, &total_w)?;
    (l > 0.0).then(|| NdcInterval {
        bounds: ndc(((1.0 - u) / u, (1.0 - l) / l)),
        method: ShareMethod::Inverted,
    })
}

/// The number of distinct categories, √2 × SD(parts) / SD(gauge), truncated, at least 1.
fn distinct_categories(
    gauge: f64,
    part: f64,
    notes: &mut Vec<GaugeNote>,
) -> (Option<f64>, Option<u64>) {
    if gauge <= 0.0 {
        notes.push(GaugeNote::NdcUndefined);
        return (None, None);
    }
    let value = std::f64::consts::SQRT_2 * (part / gauge).sqrt();
    if value < 1.0 {
        notes.push(GaugeNote::NdcRaisedToOne { value });
    }
    (Some(value), Some((value.floor() as u64).max(1)))
}

/// Collects the measurements by operator and part.
fn observations(prepared: &Prepared, ds: &Dataset) -> Result<super::Observations, GaugeError> {
    let rows = ds.reml_input().ok_or(GaugeError::NoRows)?;
    let (pi, oi) = prepared.indices();
    let n_ops = ds.factors[oi].levels as usize;
    let n_parts = ds.factors[pi].levels as usize;
    let labels = |f: usize, n: usize| -> Vec<String> {
        let l = &ds.factors[f].labels;
        if l.len() == n {
            l.clone()
        } else {
            (1..=n).map(|i| i.to_string()).collect()
        }
    };
    let mut values = vec![vec![Vec::new(); n_parts]; n_ops];
    for (i, &y) in rows.y.iter().enumerate() {
        let (o, p) = (rows.codes[oi][i] as usize, rows.codes[pi][i] as usize);
        let cell = values
            .get_mut(o)
            .and_then(|v: &mut Vec<Vec<f64>>| v.get_mut(p))
            .ok_or_else(|| GaugeError::Internal("a level code outside its factor".into()))?;
        cell.push(y);
    }
    Ok(super::Observations {
        operators: labels(oi, n_ops),
        parts: vec![labels(pi, n_parts)],
        values,
    })
}

/// Runs the study on data read with [`Prepared::design`] (with `keep_rows`, for the charts).
pub fn study(prepared: &Prepared, ds: &Dataset, opts: &Options) -> Result<GaugeStudy, GaugeError> {
    ds.require_balanced()
        .map_err(|e| GaugeError::Unbalanced(e.to_string()))?;
    let observations = observations(prepared, ds)?;
    let Models {
        full,
        reduced,
        final_fit,
        interaction,
        mut notes,
    } = fit_models(prepared, ds, opts.interaction_alpha)?;
    if !prepared.forced_random.is_empty() {
        notes.push(GaugeNote::ForcedRandom(prepared.forced_random.clone()));
    }
    let raw = raw_rows(prepared.layout, &final_fit, &mut notes)?;
    let total_v = raw.last().map_or(0.0, |r| r.1);
    if !(total_v > 0.0) {
        return Err(GaugeError::NoVariation);
    }
    let k = opts.study_var;
    let width = opts.tolerance.map(|t| t.width());
    let mut rows: Vec<GaugeRow> = raw
        .into_iter()
        .map(|(source, v, computed, combination)| GaugeRow {
            source,
            varcomp: v,
            computed,
            combination,
            pct_contribution: 100.0 * v / total_v,
            sd: v.sqrt(),
            study_var: k * v.sqrt(),
            pct_study_var: 100.0 * (v / total_v).sqrt(),
            pct_tolerance: width.map(|w| 100.0 * k * v.sqrt() / w),
            ci: None,
        })
        .collect();
    let ms: Vec<MeanSquare> = final_fit
        .system
        .rows
        .iter()
        .map(|r| MeanSquare {
            ms: r.ms,
            df: r.df as f64,
        })
        .collect();
    let (pi, oi) = prepared.indices();
    let sized_levels = |f: usize| ds.factors[f].levels;
    let ratios = (prepared.layout == Layout::Crossed).then(|| {
        crossed_ratios(
            &ms,
            f64::from(sized_levels(pi)),
            f64::from(sized_levels(oi)),
            ds.balance.replicates as f64,
            1.0 - opts.level,
        )
    });
    let ndc_ci = add_intervals(&mut rows, &ms, ratios, opts);
    let get = |s: Source| rows.iter().find(|r| r.source == s);
    let (gauge, part) = match (get(Source::TotalGageRr), get(Source::PartToPart)) {
        (Some(g), Some(p)) => (g, p),
        _ => return Err(GaugeError::Internal("missing gauge rows".into())),
    };
    let (ndc_value, ndc) = distinct_categories(gauge.varcomp, part.varcomp, &mut notes);
    let assessment = Assessment {
        pct_study_var: Acceptance::of_pct_study_var(gauge.pct_study_var),
        pct_contribution: Acceptance::of_pct_contribution(gauge.pct_contribution),
        pct_tolerance: gauge.pct_tolerance.map(Acceptance::of_pct_study_var),
        ndc: ndc.map(Acceptance::of_ndc),
    };
    Ok(GaugeStudy {
        layout: prepared.layout,
        part: prepared.part.clone(),
        operator: prepared.operator.clone(),
        n_parts: sized_levels(pi),
        n_operators: sized_levels(oi),
        replicates: ds.balance.replicates,
        n_observations: ds.cells.n_observations(),
        full,
        reduced,
        interaction,
        study_var: k,
        tolerance: opts.tolerance,
        level: opts.level,
        rows,
        ndc_value,
        ndc,
        ndc_ci,
        assessment,
        notes,
        observations,
    })
}
