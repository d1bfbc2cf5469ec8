//! The charts of a gauge R&R study as data, laid out as Minitab's *Gage R&R (ANOVA)
//! Report*: components of variation, R and X-bar charts by operator, measurement by part,
//! measurement by operator, operator x part interaction (crossed studies).

use super::{Axis, Band, Bar, Figure, Panel, Scale, Series, SeriesData, box_stats};
use crate::gauge::{GaugeStudy, Layout, Observations, Source};
use crate::report::fmt_sig;

/// Factors for X-bar and R charts from the subgroup size `n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constants {
    /// X-bar limits: X̿ ± A2 R̄.
    pub a2: f64,
    /// R limits: D3 R̄ and D4 R̄.
    pub d3: f64,
    pub d4: f64,
}

/// A2, D3, D4 for n = 2..=25: Montgomery, *Introduction to Statistical Quality Control*
/// (6th ed., 2009), Appendix Table VI, "Factors for constructing variables control charts"
/// (the same values as ASTM E2587 and the AIAG SPC manual).
const CONSTANTS: [(f64, f64, f64); 24] = [
    (1.880, 0.0, 3.267),
    (1.023, 0.0, 2.574),
    (0.729, 0.0, 2.282),
    (0.577, 0.0, 2.114),
    (0.483, 0.0, 2.004),
    (0.419, 0.076, 1.924),
    (0.373, 0.136, 1.864),
    (0.337, 0.184, 1.816),
    (0.308, 0.223, 1.777),
    (0.285, 0.256, 1.744),
    (0.266, 0.283, 1.717),
    (0.249, 0.307, 1.693),
    (0.235, 0.328, 1.672),
    (0.223, 0.347, 1.653),
    (0.212, 0.363, 1.637),
    (0.203, 0.378, 1.622),
    (0.194, 0.391, 1.608),
    (0.187, 0.403, 1.597),
    (0.180, 0.415, 1.585),
    (0.173, 0.425, 1.575),
    (0.167, 0.434, 1.566),
    (0.162, 0.443, 1.557),
    (0.157, 0.451, 1.548),
    (0.153, 0.459, 1.541),
];

/// The control-chart factors for subgroups of `n` (2 to 25).
pub fn constants(n: usize) -> Option<Constants> {
    let &(a2, d3, d4) = CONSTANTS.get(n.checked_sub(2)?)?;
    Some(Constants { a2, d3, d4 })
}

/// Centre line and control limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub center: f64,
    pub lower: f64,
    pub upper: f64,
}

/// X-bar and R charts by operator: one subgroup per operator and part (its replicates).
#[derive(Debug, Clone, PartialEq)]
pub struct XbarR {
    /// Subgroup size.
    pub n: usize,
    /// `means[operator][part]`, `ranges[operator][part]`.
    pub means: Vec<Vec<f64>>,
    pub ranges: Vec<Vec<f64>>,
    /// X̿ ± A2 R̄.
    pub xbar: Limits,
    /// R̄, D3 R̄, D4 R̄.
    pub r: Limits,
}

/// The X-bar and R charts of the measurements; `None` unless every subgroup has the same
/// size from 2 to 25.
pub fn xbar_r(obs: &Observations) -> Option<XbarR> {
    let n = obs.values.first()?.first()?.len();
    if obs.values.iter().flatten().any(|c| c.len() != n) {
        return None;
    }
    let c = constants(n)?;
    let stat = |f: &dyn Fn(&[f64]) -> f64| -> Vec<Vec<f64>> {
        obs.values
            .iter()
            .map(|parts| parts.iter().map(|v| f(v)).collect())
            .collect()
    };
    let means = stat(&|v| v.iter().sum::<f64>() / v.len() as f64);
    let ranges = stat(&|v| {
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        hi - lo
    });
    let avg = |m: &Vec<Vec<f64>>| {
        let all: Vec<f64> = m.iter().flatten().copied().collect();
        all.iter().sum::<f64>() / all.len() as f64
    };
    let (grand, rbar) = (avg(&means), avg(&ranges));
    Some(XbarR {
        n,
        xbar: Limits {
            center: grand,
            lower: grand - c.a2 * rbar,
            upper: grand + c.a2 * rbar,
        },
        r: Limits {
            center: rbar,
            lower: c.d3 * rbar,
            upper: c.d4 * rbar,
        },
        means,
        ranges,
    })
}

fn series(name: &str, color: usize, data: SeriesData) -> Series {
    Series {
        name: name.to_string(),
        color,
        data,
    }
}

/// A control limit (red) or centre line (green), labelled `NAME=value`.
fn level(name: &str, value: f64, center: bool) -> Series {
    series(
        name,
        if center { 2 } else { 1 },
        SeriesData::Level {
            value,
            label: format!("{name}={}", fmt_sig(value, 4)),
            dashed: false,
        },
    )
}

/// Components of variation: %Contribution, %Study Var (and %Tolerance) per source.
pub fn components_panel(s: &GaugeStudy) -> Panel {
    let sources = [
        (Source::TotalGageRr, "Gage R&R"),
        (Source::Repeatability, "Repeat"),
        (Source::Reproducibility, "Reprod"),
        (Source::PartToPart, "Part-to-Part"),
    ];
    type Measure = fn(&crate::gauge::GaugeRow) -> Option<f64>;
    let mut measures: Vec<(&str, Measure)> = vec![
        ("% Contribution", |r| Some(r.pct_contribution)),
        ("% Study Var", |r| Some(r.pct_study_var)),
    ];
    if s.tolerance.is_some() {
        measures.push(("% Tolerance", |r| r.pct_tolerance));
    }
    let width = 0.8 / measures.len() as f64;
    let series_list = measures
        .iter()
        .enumerate()
        .map(|(k, (name, f))| {
            let bars = sources
                .iter()
                .enumerate()
                .filter_map(|(i, (src, _))| {
                    let h = f(s.row(*src)?)?;
                    Some(Bar {
                        x: i as f64 - 0.4 + width * (k as f64 + 0.5),
                        width,
                        height: h,
                    })
                })
                .collect();
            series(name, k, SeriesData::Bars(bars))
        })
        .collect();
    Panel {
        title: "Components of Variation".into(),
        x: Axis {
            label: String::new(),
            scale: Scale::Categories(sources.iter().map(|(_, l)| l.to_string()).collect()),
        },
        y: Axis {
            label: "Percent".into(),
            scale: Scale::Linear,
        },
        series: series_list,
        bands: Vec::new(),
        legend: true,
        notes: Vec::new(),
    }
}

/// Subgroups in operator order: x = operator × parts + part, with a band per operator.
fn by_operator_axis(obs: &Observations, label: &str) -> (Axis, Vec<Band>) {
    let mut labels = Vec::new();
    let mut bands = Vec::new();
    for (o, name) in obs.operators.iter().enumerate() {
        let parts = obs.part_labels(o);
        let from = labels.len() as f64 - 0.5;
        labels.extend(parts.iter().cloned());
        bands.push(Band {
            from,
            to: labels.len() as f64 - 0.5,
            label: name.clone(),
        });
    }
    (
        Axis {
            label: label.into(),
            scale: Scale::Categories(labels),
        },
        bands,
    )
}

/// One polyline through `values[operator][part]`, broken between operators.
fn broken_line(values: &[Vec<f64>]) -> Vec<[f64; 2]> {
    let mut pts = Vec::new();
    let mut x = 0.0;
    for (o, parts) in values.iter().enumerate() {
        if o > 0 {
            pts.push([f64::NAN, f64::NAN]);
        }
        for &v in parts {
            pts.push([x, v]);
            x += 1.0;
        }
    }
    pts
}

fn control_panel(
    s: &GaugeStudy,
    title: &str,
    y: &str,
    values: &[Vec<f64>],
    limits: Limits,
    center: &str,
) -> Panel {
    let (x, bands) = by_operator_axis(&s.observations, &s.part);
    Panel {
        title: title.into(),
        x,
        y: Axis {
            label: y.into(),
            scale: Scale::Linear,
        },
        series: vec![
            series(
                y,
                0,
                SeriesData::Line {
                    points: broken_line(values),
                    markers: true,
                },
            ),
            level("UCL", limits.upper, false),
            level(center, limits.center, true),
            level("LCL", limits.lower, false),
        ],
        bands,
        legend: false,
        notes: Vec::new(),
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Every measurement by part, with the part means joined.
fn by_part_panel(s: &GaugeStudy, response: &str) -> Panel {
    let obs = &s.observations;
    let (x, bands, points, means) = match s.layout {
        Layout::Crossed => {
            let parts = obs.part_labels(0);
            let mut points = Vec::new();
            let mut means = Vec::new();
            for p in 0..parts.len() {
                let all: Vec<f64> = obs.values.iter().flat_map(|o| o[p].clone()).collect();
                points.extend(all.iter().map(|&y| [p as f64, y]));
                means.push([p as f64, mean(&all)]);
            }
            let x = Axis {
                label: s.part.clone(),
                scale: Scale::Categories(parts.to_vec()),
            };
            (x, Vec::new(), points, means)
        }
        Layout::Nested => {
            let (x, bands) = by_operator_axis(obs, &format!("{} ({})", s.part, s.operator));
            let mut points = Vec::new();
            let cell_means: Vec<Vec<f64>> = obs
                .values
                .iter()
                .map(|o| o.iter().map(|c| mean(c)).collect())
                .collect();
            let mut i = 0.0;
            for o in &obs.values {
                for c in o {
                    points.extend(c.iter().map(|&y| [i, y]));
                    i += 1.0;
                }
            }
            (x, bands, points, broken_line(&cell_means))
        }
    };
    Panel {
        title: format!("{response} by {}", s.part),
        x,
        y: Axis {
            label: response.into(),
            scale: Scale::Linear,
        },
        series: vec![
            series("measurements", 4, SeriesData::Points(points)),
            series(
                "mean",
                0,
                SeriesData::Line {
                    points: means,
                    markers: true,
                },
            ),
        ],
        bands,
        legend: false,
        notes: Vec::new(),
    }
}

/// Box plots of the measurements by operator, means joined.
fn by_operator_panel(s: &GaugeStudy, response: &str) -> Panel {
    let obs = &s.observations;
    let mut boxes = Vec::new();
    let mut means = Vec::new();
    for (o, parts) in obs.values.iter().enumerate() {
        let all: Vec<f64> = parts.iter().flatten().copied().collect();
        let b = box_stats(o as f64, &all);
        means.push([o as f64, b.mean]);
        boxes.push(b);
    }
    Panel {
        title: format!("{response} by {}", s.operator),
        x: Axis {
            label: s.operator.clone(),
            scale: Scale::Categories(obs.operators.clone()),
        },
        y: Axis {
            label: response.into(),
            scale: Scale::Linear,
        },
        series: vec![
            series("box", 0, SeriesData::Boxes(boxes)),
            series(
                "mean",
                1,
                SeriesData::Line {
                    points: means,
                    markers: true,
                },
            ),
        ],
        bands: Vec::new(),
        legend: false,
        notes: Vec::new(),
    }
}

/// Cell means by part, one line per operator (crossed studies).
fn interaction_panel(s: &GaugeStudy) -> Panel {
    let obs = &s.observations;
    let series_list = obs
        .values
        .iter()
        .zip(&obs.operators)
        .enumerate()
        .map(|(o, (parts, name))| {
            let points = parts
                .iter()
                .enumerate()
                .map(|(p, c)| [p as f64, mean(c)])
                .collect();
            series(
                name,
                o,
                SeriesData::Line {
                    points,
                    markers: true,
                },
            )
        })
        .collect();
    Panel {
        title: format!("{} * {} Interaction", s.part, s.operator),
        x: Axis {
            label: s.part.clone(),
            scale: Scale::Categories(obs.part_labels(0).to_vec()),
        },
        y: Axis {
            label: "Average".into(),
            scale: Scale::Linear,
        },
        series: series_list,
        bands: Vec::new(),
        legend: true,
        notes: Vec::new(),
    }
}

/// All the charts of a study, as Minitab's six-pack: two columns, components of
/// variation / R chart / X-bar chart on the left, measurement by part / by operator /
/// interaction on the right.
pub fn figure(s: &GaugeStudy, response: &str) -> Figure {
    let mut panels = vec![components_panel(s), by_part_panel(s, response)];
    let charts = xbar_r(&s.observations);
    if let Some(c) = &charts {
        panels.push(control_panel(
            s,
            &format!("R Chart by {}", s.operator),
            "Sample Range",
            &c.ranges,
            c.r,
            "R̄",
        ));
    }
    panels.push(by_operator_panel(s, response));
    if let Some(c) = &charts {
        panels.push(control_panel(
            s,
            &format!("Xbar Chart by {}", s.operator),
            "Sample Mean",
            &c.means,
            c.xbar,
            "X̿",
        ));
    }
    if s.layout == Layout::Crossed {
        panels.push(interaction_panel(s));
    }
    let kind = match s.layout {
        Layout::Crossed => "ANOVA",
        Layout::Nested => "Nested",
    };
    Figure {
        title: format!("Gage R&R ({kind}) Report for {response}"),
        columns: 2,
        panels,
    }
}
