//! The charts of an analysis as data: variance components with their intervals, the
//! residual plots of Minitab's *Four in one* (normal probability plot, versus fits,
//! histogram, versus order), cell means (an interaction plot; a nested factor drawn within
//! each level of its parents) and JMP's variability chart. The app draws them with its own
//! widgets, [`super::render`] to SVG and PNG.

use statrs::distribution::{ContinuousCDF, Normal};

use super::{Axis, Band, Bar, Figure, IntervalMark, Panel, Scale, Series, SeriesData};
use crate::analysis::Analysis;
use crate::data::{Dataset, RemlInput, cell_index};
use crate::design::Design;
use crate::report::fmt_sig;

/// Interval bounds beyond this many times the total variance (sum of the positive
/// estimates) come from Satterthwaite df near zero and say nothing: they are cut at that
/// limit in plots (with a note) and shown as `> limit` on screen.
pub const BOUND_LIMIT_FACTOR: f64 = 1e6;

/// Scatter plots draw at most this many points (every k-th beyond it, with a note).
pub const MAX_POINTS: usize = 20_000;

/// Most x positions (cells) a cell-means or variability chart draws.
pub const MAX_CELLS: usize = 2_000;

/// Most lines (traces) of a cell-means plot.
pub const MAX_TRACES: u32 = 40;

/// The total variance of an analysis: the sum of its positive component estimates (the
/// moment estimates, or the REML estimates on unbalanced data); `None` when there is none.
pub fn total_variance(a: &Analysis) -> Option<f64> {
    let sum: f64 = match (a.balanced(), a.reml.fits()) {
        (Some(b), _) => b
            .moments
            .components
            .iter()
            .map(|c| c.estimate)
            .filter(|v| *v > 0.0)
            .sum(),
        (None, Some(f)) => f
            .reml
            .fit
            .components
            .iter()
            .map(|c| c.variance)
            .filter(|v| *v > 0.0)
            .sum(),
        (None, None) => return None,
    };
    (sum > 0.0 && sum.is_finite()).then_some(sum)
}

/// The largest interval bound worth showing ([`BOUND_LIMIT_FACTOR`] times the total
/// variance).
pub fn bound_limit(a: &Analysis) -> Option<f64> {
    total_variance(a).map(|t| t * BOUND_LIMIT_FACTOR)
}

/// One component's marks.
struct ComponentMarks {
    name: String,
    moment: Option<f64>,
    chi2: Option<(f64, f64)>,
    mls: Option<(f64, f64)>,
    reml: Option<f64>,
    /// The REML interval and whether it is the profile-likelihood one.
    reml_ci: Option<(f64, f64)>,
}

fn component_marks(a: &Analysis) -> (Vec<ComponentMarks>, bool) {
    let fit = a.reml.fits().map(|f| &f.reml.fit);
    let reml_of = |term: &str| fit.and_then(|f| f.component(term));
    let profile = fit.is_some_and(|f| f.components.iter().any(|c| c.profile.is_some()));
    let reml_ci = |c: &crate::reml::Component| {
        c.profile
            .as_ref()
            .or(c.interval.as_ref())
            .map(|i| (i.lower, i.upper))
    };
    let marks = match (a.balanced(), fit) {
        (Some(b), _) => b
            .moments
            .components
            .iter()
            .map(|c| {
                let r = reml_of(&c.name);
                ComponentMarks {
                    name: c.name.clone(),
                    moment: Some(c.estimate),
                    chi2: c.ci.as_ref().map(|i| (i.lower, i.upper)),
                    mls: c.mls.as_ref().map(|i| (i.lower, i.upper)),
                    reml: r.map(|r| r.variance),
                    reml_ci: r.and_then(reml_ci),
                }
            })
            .collect(),
        (None, Some(f)) => f
            .components
            .iter()
            .map(|c| ComponentMarks {
                name: c.term.clone(),
                moment: None,
                chi2: None,
                mls: None,
                reml: Some(c.variance),
                reml_ci: reml_ci(c),
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    (marks, profile)
}

/// Variance components: each moment estimate with its chi-square and MLS intervals, the
/// REML estimate beside it with its profile-likelihood interval (Wald when no profile was
/// computed). On the log scale (`log`) estimates that are not positive are left out and
/// named in the notes, and a lower bound of 0 is drawn at the bottom of the plot. Bounds
/// beyond [`bound_limit`] are cut there (they never set the scale).
pub fn components_panel(a: &Analysis, log: bool) -> Panel {
    let (marks, profile) = component_marks(a);
    let limit = bound_limit(a).unwrap_or(f64::INFINITY);
    let mut notes = Vec::new();
    let mut cut: Vec<String> = Vec::new();
    let mut left_out: Vec<String> = Vec::new();
    // The bottom of a log plot: a tenth of the smallest positive value drawn.
    let floor = marks
        .iter()
        .flat_map(|m| {
            [
                m.moment,
                m.reml,
                m.chi2.map(|x| x.0),
                m.mls.map(|x| x.0),
                m.reml_ci.map(|x| x.0),
            ]
        })
        .flatten()
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold(f64::INFINITY, f64::min)
        / 10.0;
    let floor = if floor.is_finite() { floor } else { 1e-3 };
    // Bounds past the limit do not set the scale: they are cut a little above the highest
    // value that is not past it.
    let top = marks
        .iter()
        .flat_map(|m| {
            [
                m.moment,
                m.reml,
                m.chi2.map(|x| x.1),
                m.mls.map(|x| x.1),
                m.reml_ci.map(|x| x.1),
            ]
        })
        .flatten()
        .filter(|v| v.is_finite() && *v <= limit)
        .fold(f64::NEG_INFINITY, f64::max);
    let cut_at = if !top.is_finite() || top <= 0.0 {
        limit
    } else if log {
        top * 10.0
    } else {
        top * 1.25
    };
    let mut bounded = |name: &str, center: f64, (lo, hi): (f64, f64), x: f64| {
        let hi = if hi > limit {
            cut.push(name.to_string());
            cut_at.max(center)
        } else {
            hi
        };
        let lo = if log && lo <= 0.0 { floor } else { lo };
        IntervalMark {
            x,
            center,
            lower: lo,
            upper: hi,
        }
    };
    let (mut chi2, mut mls, mut reml_bars) = (Vec::new(), Vec::new(), Vec::new());
    let (mut moment_pts, mut reml_pts) = (Vec::new(), Vec::new());
    for (i, m) in marks.iter().enumerate() {
        let x = i as f64;
        if let Some(est) = m.moment {
            if log && est <= 0.0 {
                left_out.push(format!("{} moment estimate {}", m.name, fmt_sig(est, 4)));
            } else {
                moment_pts.push([x - 0.12, est]);
                if let Some(ci) = m.chi2 {
                    chi2.push(bounded(&m.name, est, ci, x - 0.12));
                }
                if let Some(ci) = m.mls {
                    mls.push(bounded(&m.name, est, ci, x - 0.28));
                }
            }
        }
        if let Some(r) = m.reml {
            if log && r <= 0.0 {
                left_out.push(format!("{} REML estimate {}", m.name, fmt_sig(r, 4)));
            } else {
                reml_pts.push([x + 0.12, r]);
                if let Some(ci) = m.reml_ci {
                    reml_bars.push(bounded(&m.name, r, ci, x + 0.12));
                }
            }
        }
    }
    let reml_name = if profile {
        "REML (profile interval)"
    } else {
        "REML (Wald interval)"
    };
    let series = vec![
        Series {
            name: "moments, χ² interval".into(),
            color: 0,
            data: SeriesData::Intervals(chi2),
        },
        Series {
            name: "moments, MLS interval".into(),
            color: 7,
            data: SeriesData::Intervals(mls),
        },
        Series {
            name: "moment estimate".into(),
            color: 0,
            data: SeriesData::Points(moment_pts),
        },
        Series {
            name: reml_name.into(),
            color: 5,
            data: SeriesData::Intervals(reml_bars),
        },
        Series {
            name: "REML estimate".into(),
            color: 5,
            data: SeriesData::Points(reml_pts),
        },
    ]
    .into_iter()
    .filter(|s| !series_empty(&s.data))
    .collect();
    if !left_out.is_empty() {
        notes.push(format!(
            "Not drawn on the log scale (not positive): {}.",
            left_out.join("; ")
        ));
    }
    if !cut.is_empty() {
        cut.dedup();
        notes.push(format!(
            "Upper bounds beyond 10⁶ × the total variance (Satterthwaite df near 0) are cut at the top: {}.",
            cut.join(", ")
        ));
    }
    Panel {
        title: "Variance components".into(),
        x: Axis {
            label: String::new(),
            scale: Scale::Categories(marks.iter().map(|m| m.name.clone()).collect()),
        },
        y: Axis {
            label: "Variance".into(),
            scale: if log { Scale::Log10 } else { Scale::Linear },
        },
        series,
        bands: Vec::new(),
        legend: true,
        notes,
    }
}

fn series_empty(d: &SeriesData) -> bool {
    match d {
        SeriesData::Points(p) | SeriesData::Line { points: p, .. } => p.is_empty(),
        SeriesData::Bars(b) => b.is_empty(),
        SeriesData::Boxes(b) => b.is_empty(),
        SeriesData::Intervals(m) => m.is_empty(),
        SeriesData::Level { .. } => false,
    }
}

/// Every `k`-th of `n` items so that at most [`MAX_POINTS`] remain.
fn thinning(n: usize) -> usize {
    n.div_ceil(MAX_POINTS).max(1)
}

/// Normal scores of sorted residuals at Blom's plotting positions `(i - 3/8) / (n + 1/4)`
/// (R's `qqnorm` for n <= 10, Minitab's "Blom" option).
pub fn normal_scores(n: usize) -> Vec<f64> {
    let Ok(normal) = Normal::new(0.0, 1.0) else {
        return vec![f64::NAN; n];
    };
    (1..=n)
        .map(|i| normal.inverse_cdf((i as f64 - 0.375) / (n as f64 + 0.25)))
        .collect()
}

/// Histogram bins of a sample: Sturges' count (`ceil(log2 n) + 1`, 5 to 60) over the
/// range, as (bars, bin width).
pub fn histogram(values: &[f64]) -> Vec<Bar> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if finite.is_empty() {
        return Vec::new();
    }
    let k = ((finite.len() as f64).log2().ceil() as usize + 1).clamp(5, 60);
    let width = if hi > lo { (hi - lo) / k as f64 } else { 1.0 };
    let mut counts = vec![0u64; k];
    for v in &finite {
        let b = (((v - lo) / width) as usize).min(k - 1);
        counts[b] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(b, &c)| Bar {
            x: lo + (b as f64 + 0.5) * width,
            width,
            height: c as f64,
        })
        .collect()
}

/// Minitab's residual plots ("Four in one"): normal probability plot, versus fits,
/// histogram and versus order. `residuals` are (fitted, residual) in the data's row order.
pub fn residuals_figure(residuals: &[[f64; 2]], response: &str) -> Figure {
    let n = residuals.len();
    let step = thinning(n);
    let thinned_note = (step > 1).then(|| {
        format!("Every {step}th of {n} residuals is drawn (the histogram counts them all).")
    });
    let ylabel = format!("Residual ({response})");
    let panel = |title: &str, x: &str, y: &str, series: Vec<Series>| Panel {
        title: title.into(),
        x: Axis {
            label: x.into(),
            scale: Scale::Linear,
        },
        y: Axis {
            label: y.into(),
            scale: Scale::Linear,
        },
        series,
        bands: Vec::new(),
        legend: false,
        notes: thinned_note.iter().cloned().collect(),
    };
    let zero = || Series {
        name: String::new(),
        color: 3,
        data: SeriesData::Level {
            value: 0.0,
            label: String::new(),
            dashed: true,
        },
    };
    // Normal probability plot: sorted residuals against normal scores, with the line of
    // the normal distribution of the residuals' mean and standard deviation.
    let mut sorted: Vec<f64> = residuals
        .iter()
        .map(|r| r[1])
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let scores = normal_scores(sorted.len());
    let mean = sorted.iter().sum::<f64>() / sorted.len().max(1) as f64;
    let sd = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
        / (sorted.len().saturating_sub(1)).max(1) as f64)
        .sqrt();
    let probability: Vec<[f64; 2]> = sorted
        .iter()
        .zip(&scores)
        .step_by(step)
        .map(|(r, z)| [*r, *z])
        .collect();
    let line = match (sorted.first(), sorted.last()) {
        (Some(&a), Some(&b)) if sd > 0.0 => vec![[a, (a - mean) / sd], [b, (b - mean) / sd]],
        _ => Vec::new(),
    };
    let normal = panel(
        "Normal probability plot",
        &ylabel,
        "Normal score",
        vec![
            Series {
                name: "residuals".into(),
                color: 0,
                data: SeriesData::Points(probability),
            },
            Series {
                name: "normal".into(),
                color: 1,
                data: SeriesData::Line {
                    points: line,
                    markers: false,
                },
            },
        ],
    );
    let fits = panel(
        "Versus fits",
        &format!("Fitted value ({response})"),
        &ylabel,
        vec![
            Series {
                name: "residuals".into(),
                color: 0,
                data: SeriesData::Points(residuals.iter().step_by(step).copied().collect()),
            },
            zero(),
        ],
    );
    let mut hist = panel(
        "Histogram",
        &ylabel,
        "Frequency",
        vec![Series {
            name: "residuals".into(),
            color: 0,
            data: SeriesData::Bars(histogram(&sorted)),
        }],
    );
    hist.notes.clear();
    let order = panel(
        "Versus order",
        "Observation order",
        &ylabel,
        vec![
            Series {
                name: "residuals".into(),
                color: 0,
                data: SeriesData::Line {
                    points: residuals
                        .iter()
                        .enumerate()
                        .step_by(step)
                        .map(|(i, r)| [(i + 1) as f64, r[1]])
                        .collect(),
                    markers: true,
                },
            },
            zero(),
        ],
    );
    Figure {
        title: format!("Residual plots for {response}"),
        columns: 2,
        panels: vec![normal, fits, hist, order],
    }
}

/// What a cell-means plot shows: the factor on the x axis, the factor of its lines
/// (crossed with it), and the other factors averaged over or held at a level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeansChoice {
    pub x: usize,
    pub trace: Option<usize>,
    /// `Some(levels)`: the other factors held at these level codes (one per design
    /// factor; the entries of the plotted factors are ignored). `None`: averaged over.
    pub held: Option<Vec<u32>>,
}

/// A factor's label of a level code (its code + 1 when the labels differ between parent
/// cells).
fn level_label(ds: &Dataset, f: usize, code: u32) -> String {
    ds.factors
        .get(f)
        .and_then(|d| d.labels.get(code as usize))
        .cloned()
        .unwrap_or_else(|| (code + 1).to_string())
}

/// The factors a factor's lines may be drawn for: those crossed with it (neither an
/// ancestor nor a descendant).
pub fn crossed_with(design: &Design, x: usize) -> Vec<usize> {
    (0..design.factors.len())
        .filter(|&f| {
            f != x
                && !design.factors[x].ancestors.contains(f)
                && !design.factors[f].ancestors.contains(x)
        })
        .collect()
}

/// Mixed-radix enumeration of `radix` (last fastest).
fn codes_of(mut i: usize, radix: &[u32]) -> Vec<u32> {
    let mut codes = vec![0u32; radix.len()];
    for k in (0..radix.len()).rev() {
        let r = radix[k].max(1) as usize;
        codes[k] = (i % r) as u32;
        i /= r;
    }
    codes
}

/// Cell means of the response by the levels of `choice.x` (within each level of its
/// parents when it is nested: a nested factor's levels are not the same across parents, so
/// its points are grouped by parent and never joined across them), one line per level of
/// `choice.trace`. Averaged over the other factors (marginal means of the cell means) or
/// held at chosen levels.
pub fn cell_means_panel(design: &Design, ds: &Dataset, choice: &MeansChoice) -> Panel {
    let nf = design.factors.len();
    let radix = &ds.cells.radix;
    let response = ds.response.clone();
    let mut notes = Vec::new();
    let x = choice.x.min(nf.saturating_sub(1));
    let trace = choice.trace.filter(|t| crossed_with(design, x).contains(t));
    // The x axis: the ancestors of x (outermost first), then x.
    let mut axis: Vec<usize> = design.factors[x]
        .ancestors
        .iter()
        .filter(|&f| f < nf)
        .collect();
    axis.sort_unstable();
    axis.push(x);
    let mut keep = axis.clone();
    if let Some(t) = trace {
        keep.push(t);
    }
    let axis_radix: Vec<u32> = axis
        .iter()
        .map(|&f| radix.get(f).copied().unwrap_or(1))
        .collect();
    let nx: usize = axis_radix.iter().map(|&r| r as usize).product();
    let nt = trace.map_or(1, |t| radix.get(t).copied().unwrap_or(1));
    let empty = nf == 0 || radix.len() != nf || ds.cells.mean.is_empty() || nx > MAX_CELLS;
    if nx > MAX_CELLS {
        notes.push(format!(
            "{nx} positions on the x axis: too many to draw (at most {MAX_CELLS})."
        ));
    }
    let offset = ds.offset_f64();
    let marginal = if empty || choice.held.is_some() {
        Vec::new()
    } else {
        ds.cells.marginal_means(&keep)
    };
    let mean_at = |xi: usize, t: u32| -> f64 {
        let axis_codes = codes_of(xi, &axis_radix);
        match &choice.held {
            Some(held) => {
                let mut codes: Vec<u32> =
                    (0..nf).map(|f| held.get(f).copied().unwrap_or(0)).collect();
                for (k, &f) in axis.iter().enumerate() {
                    codes[f] = axis_codes[k];
                }
                if let Some(tf) = trace {
                    codes[tf] = t;
                }
                let i = cell_index(radix, &codes);
                if ds.cells.count.get(i).copied().unwrap_or(0) == 0 {
                    return f64::NAN;
                }
                ds.cells.mean.get(i).map_or(f64::NAN, |m| m + offset)
            }
            None => {
                let j = xi * nt as usize + t as usize;
                marginal.get(j).map_or(f64::NAN, |m| m + offset)
            }
        }
    };
    // A new group starts where an ancestor's code changes: the line breaks there.
    let group_of = |xi: usize| xi / axis_radix.last().map_or(1, |&r| r.max(1) as usize);
    let mut series = Vec::new();
    if !empty {
        for t in 0..nt.min(MAX_TRACES) {
            let mut pts = Vec::with_capacity(nx + nx / 2);
            for xi in 0..nx {
                if xi > 0 && group_of(xi) != group_of(xi - 1) {
                    pts.push([f64::NAN, f64::NAN]);
                }
                pts.push([xi as f64, mean_at(xi, t)]);
            }
            series.push(Series {
                name: match trace {
                    Some(tf) => format!("{} {}", design.factors[tf].name, level_label(ds, tf, t)),
                    None => "mean".into(),
                },
                color: t as usize,
                data: SeriesData::Line {
                    points: pts,
                    markers: true,
                },
            });
        }
        if nt > MAX_TRACES {
            notes.push(format!("The first {MAX_TRACES} of {nt} lines are drawn."));
        }
    }
    let labels: Vec<String> = (0..if empty { 0 } else { nx })
        .map(|xi| {
            level_label(
                ds,
                x,
                codes_of(xi, &axis_radix).last().copied().unwrap_or(0),
            )
        })
        .collect();
    let bands = if axis.len() > 1 && !empty {
        let per = axis_radix.last().map_or(1, |&r| r.max(1) as usize);
        (0..nx / per)
            .map(|g| {
                let codes = codes_of(g * per, &axis_radix);
                let label = axis[..axis.len() - 1]
                    .iter()
                    .zip(&codes)
                    .map(|(&f, &c)| level_label(ds, f, c))
                    .collect::<Vec<_>>()
                    .join(" · ");
                Band {
                    from: (g * per) as f64 - 0.5,
                    to: ((g + 1) * per) as f64 - 0.5,
                    label,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let averaged: Vec<&str> = (0..nf)
        .filter(|f| !keep.contains(f))
        .map(|f| design.factors[f].name.as_str())
        .collect();
    if !averaged.is_empty() {
        notes.push(match &choice.held {
            None => format!("Averaged over {}.", averaged.join(", ")),
            Some(held) => format!(
                "Held at {}.",
                (0..nf)
                    .filter(|f| !keep.contains(f))
                    .map(|f| format!(
                        "{} {}",
                        design.factors[f].name,
                        level_label(ds, f, held.get(f).copied().unwrap_or(0))
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let x_name = if axis.len() > 1 {
        format!(
            "{} within {}",
            design.factors[x].name,
            axis[..axis.len() - 1]
                .iter()
                .map(|&f| design.factors[f].name.as_str())
                .collect::<Vec<_>>()
                .join(" · ")
        )
    } else {
        design.factors[x].name.clone()
    };
    Panel {
        title: format!("Means of {response}"),
        x: Axis {
            label: x_name,
            scale: Scale::Categories(labels),
        },
        y: Axis {
            label: response,
            scale: Scale::Linear,
        },
        series,
        bands,
        legend: trace.is_some(),
        notes,
    }
}

/// The factors in the order a variability chart groups them: parents before the factors
/// nested in them, otherwise as declared.
fn grouping_order(design: &Design) -> Vec<usize> {
    let nf = design.factors.len();
    let mut order = Vec::with_capacity(nf);
    while order.len() < nf {
        let before = order.len();
        for f in 0..nf {
            if !order.contains(&f) && design.factors[f].parents.iter().all(|p| order.contains(p)) {
                order.push(f);
            }
        }
        if order.len() == before {
            // A cycle cannot pass design validation; keep the rest as declared.
            let rest: Vec<usize> = (0..nf).filter(|f| !order.contains(f)).collect();
            order.extend(rest);
        }
    }
    order
}

/// JMP's variability chart: every observation at its cell, the cell means joined within
/// each group of the factors before the last, the groups of the first factor as bands; and
/// the cells' standard deviations below.
pub fn variability_figure(design: &Design, ds: &Dataset, rows: &RemlInput) -> Figure {
    let response = ds.response.clone();
    let order = grouping_order(design);
    let radix: Vec<u32> = order
        .iter()
        .map(|&f| ds.cells.radix.get(f).copied().unwrap_or(1))
        .collect();
    let ncells: usize = radix.iter().map(|&r| r as usize).product();
    let mut notes = Vec::new();
    let too_many = ncells > MAX_CELLS || order.is_empty();
    if ncells > MAX_CELLS {
        notes.push(format!(
            "{ncells} cells: too many for a variability chart (at most {MAX_CELLS})."
        ));
    }
    // Position of a cell (codes in design order) along the x axis.
    let position = |codes: &[u32]| -> usize {
        let ordered: Vec<u32> = order
            .iter()
            .map(|&f| codes.get(f).copied().unwrap_or(0))
            .collect();
        cell_index(&radix, &ordered)
    };
    let nf = design.factors.len();
    let mut points = Vec::new();
    let n = rows.y.len();
    let step = thinning(n);
    if !too_many {
        let mut codes = vec![0u32; nf];
        for i in (0..n).step_by(step) {
            for (f, c) in codes.iter_mut().enumerate() {
                *c = rows
                    .codes
                    .get(f)
                    .and_then(|col| col.get(i))
                    .copied()
                    .unwrap_or(0);
            }
            points.push([position(&codes) as f64, rows.y[i]]);
        }
        if step > 1 {
            notes.push(format!("Every {step}th of {n} observations is drawn."));
        }
    }
    let offset = ds.offset_f64();
    let per = radix.last().map_or(1, |&r| r.max(1) as usize);
    let mut means = Vec::new();
    let mut sds = Vec::new();
    if !too_many {
        for xi in 0..ncells {
            if xi > 0 && xi % per == 0 {
                means.push([f64::NAN, f64::NAN]);
                sds.push([f64::NAN, f64::NAN]);
            }
            let ordered = codes_of(xi, &radix);
            let mut codes = vec![0u32; nf];
            for (k, &f) in order.iter().enumerate() {
                codes[f] = ordered[k];
            }
            let i = cell_index(&ds.cells.radix, &codes);
            let count = ds.cells.count.get(i).copied().unwrap_or(0);
            let mean = if count > 0 {
                ds.cells.mean.get(i).map_or(f64::NAN, |m| m + offset)
            } else {
                f64::NAN
            };
            let sd = if count > 1 {
                ds.cells
                    .within_ss
                    .get(i)
                    .map_or(f64::NAN, |ss| (ss / (count - 1) as f64).sqrt())
            } else {
                f64::NAN
            };
            means.push([xi as f64, mean]);
            sds.push([xi as f64, sd]);
        }
    }
    let last = *order.last().unwrap_or(&0);
    let labels: Vec<String> = if too_many {
        Vec::new()
    } else {
        (0..ncells)
            .map(|xi| {
                let ordered = codes_of(xi, &radix);
                // The last factor's label, with the middle factors' when there are more
                // than two (the first factor is on the bands).
                let inner: Vec<String> = order
                    .iter()
                    .zip(&ordered)
                    .skip(if order.len() > 1 { 1 } else { 0 })
                    .map(|(&f, &c)| level_label(ds, f, c))
                    .collect();
                if inner.is_empty() {
                    level_label(ds, last, 0)
                } else {
                    inner.join("·")
                }
            })
            .collect()
    };
    let first_per: usize = radix.iter().skip(1).map(|&r| r as usize).product();
    let bands: Vec<Band> = if order.len() > 1 && !too_many {
        (0..radix[0] as usize)
            .map(|g| Band {
                from: (g * first_per) as f64 - 0.5,
                to: ((g + 1) * first_per) as f64 - 0.5,
                label: format!(
                    "{} {}",
                    design.factors[order[0]].name,
                    level_label(ds, order[0], g as u32)
                ),
            })
            .collect()
    } else {
        Vec::new()
    };
    let x_label = order
        .iter()
        .map(|&f| design.factors[f].name.as_str())
        .collect::<Vec<_>>()
        .join(" / ");
    let values = Panel {
        title: format!("Variability chart for {response}"),
        x: Axis {
            label: x_label.clone(),
            scale: Scale::Categories(labels.clone()),
        },
        y: Axis {
            label: response.clone(),
            scale: Scale::Linear,
        },
        series: vec![
            Series {
                name: "observations".into(),
                color: 0,
                data: SeriesData::Points(points),
            },
            Series {
                name: "cell means".into(),
                color: 1,
                data: SeriesData::Line {
                    points: means,
                    markers: true,
                },
            },
        ],
        bands: bands.clone(),
        legend: true,
        notes,
    };
    let spread = Panel {
        title: "Standard deviation".into(),
        x: Axis {
            label: x_label,
            scale: Scale::Categories(labels),
        },
        y: Axis {
            label: format!("Std dev ({response})"),
            scale: Scale::Linear,
        },
        series: vec![Series {
            name: "cell standard deviation".into(),
            color: 0,
            data: SeriesData::Line {
                points: sds,
                markers: true,
            },
        }],
        bands,
        legend: false,
        notes: Vec::new(),
    };
    Figure {
        title: format!("Variability chart for {response}"),
        columns: 1,
        panels: vec![values, spread],
    }
}
