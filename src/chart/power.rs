//! The power curves of a planned experiment ([`crate::power`]) as figure data: the power of
//! every F test against an effect-size multiplier, and the power of one test against the
//! size a solve varies, with the target and the smallest size reaching it marked. The app's
//! Plan view draws these panels and exports them through [`super::render`].

use super::{Axis, Figure, Panel, Scale, Series, SeriesData};
use crate::design::Design;
use crate::ems::EmsTable;
use crate::power::{EffectCurve, Solution, Vary};
use crate::report::fmt_sig;

/// The name of what a solve varies: the factor's name, or `replicates`.
pub fn vary_name(design: &Design, vary: Vary) -> String {
    match vary {
        Vary::Factor(i) => design
            .factors
            .get(i)
            .map_or_else(|| "?".to_string(), |f| f.name.clone()),
        Vary::Replicates => "replicates".to_string(),
    }
}

/// A dashed horizontal reference line.
fn reference(name: &str, value: f64, color: usize) -> Series {
    Series {
        name: name.to_string(),
        color,
        data: SeriesData::Level {
            value,
            label: name.to_string(),
            dashed: true,
        },
    }
}

/// Power of every test against the effect-size multiplier: one line per term with a test
/// (palette colour by position), and the level α, the power of every test when nothing is
/// there to find.
pub fn effect_curve_panel(table: &EmsTable, curve: &EffectCurve, alpha: f64) -> Panel {
    let mut series: Vec<Series> = curve
        .terms
        .iter()
        .enumerate()
        .map(|(j, &t)| Series {
            name: table.terms[t].name.clone(),
            color: j,
            data: SeriesData::Line {
                points: curve
                    .multipliers
                    .iter()
                    .zip(&curve.power)
                    .map(|(&m, p)| [m, p.get(j).copied().unwrap_or(f64::NAN)])
                    .collect(),
                markers: true,
            },
        })
        .collect();
    series.push(reference(
        &format!("α = {}", fmt_sig(alpha, 4)),
        alpha,
        curve.terms.len(),
    ));
    Panel {
        title: "Power against the effect size".into(),
        x: Axis {
            label: "Effect-size multiplier (effects and random SDs × m)".into(),
            scale: Scale::Linear,
        },
        y: Axis {
            label: "Power".into(),
            scale: Scale::Linear,
        },
        series,
        bands: Vec::new(),
        legend: true,
        notes: vec![
            "At m = 1 the expected components and effects as given; the Residual variance is not scaled.".into(),
        ],
    }
}

/// Power of one test against the size a solve varies, with the target power and the
/// smallest size reaching it (or a note that no size up to the largest searched does).
pub fn solve_panel(table: &EmsTable, design: &Design, s: &Solution) -> Panel {
    let term = table
        .terms
        .get(s.spec.term)
        .map_or("?", |t| t.name.as_str());
    let vary = vary_name(design, s.spec.vary);
    let (x_label, against) = match s.spec.vary {
        Vary::Factor(_) => (format!("Levels of {vary}"), format!("the levels of {vary}")),
        Vary::Replicates => (
            "Replicates per cell".to_string(),
            "the replicates".to_string(),
        ),
    };
    let mut series = vec![
        Series {
            name: format!("power of the test of {term}"),
            color: 0,
            data: SeriesData::Line {
                points: s.curve.iter().map(|&(n, p)| [f64::from(n), p]).collect(),
                markers: true,
            },
        },
        reference(
            &format!("target {}", fmt_sig(s.spec.target, 4)),
            s.spec.target,
            1,
        ),
    ];
    let mut notes = Vec::new();
    match s.size {
        Some(n) => series.push(Series {
            name: format!("smallest size: {n} (power {})", fmt_sig(s.power, 4)),
            color: 2,
            data: SeriesData::Points(vec![[f64::from(n), s.power]]),
        }),
        None => notes.push(format!(
            "No size up to {} reaches the target; the power there is {}.",
            crate::power::solve::MAX_SIZE,
            fmt_sig(s.power, 4)
        )),
    }
    Panel {
        title: format!("Power of the test of {term} against {against}"),
        x: Axis {
            label: x_label,
            scale: Scale::Linear,
        },
        y: Axis {
            label: "Power".into(),
            scale: Scale::Linear,
        },
        series,
        bands: Vec::new(),
        legend: true,
        notes,
    }
}

/// A figure of one panel, titled as the panel.
pub fn single(panel: Panel) -> Figure {
    Figure {
        title: panel.title.clone(),
        columns: 1,
        panels: vec![panel],
    }
}
