//! The plot of a fixed term's means with their intervals: one point per level (combination)
//! with its t interval, the grand mean as a dashed line, the compact letters beside the
//! level names. Built from the typed means of the analysis ([`crate::means::Means`]), so
//! that the app, the PNG/SVG export and the HTML report draw the same figure.

use super::{Axis, Figure, IntervalMark, Panel, Scale, Series, SeriesData};
use crate::means::Means;
use crate::report::{fmt_sig, words};

/// The figure of the means of `m.terms[term]` (`None` when there is no such term).
/// `response` names the y axis.
pub fn means_figure(m: &Means, term: usize, response: &str) -> Option<Figure> {
    let tm = m.terms.get(term)?;
    let level = words::level(m.alpha);
    let mut bars = Vec::new();
    let mut bare = Vec::new();
    let mut labels = Vec::with_capacity(tm.means.len());
    for (i, x) in tm.means.iter().enumerate() {
        let letters = tm.letters.get(i).map_or("", String::as_str);
        let name = words::levels(&x.levels);
        labels.push(if letters.is_empty() {
            name
        } else {
            format!("{name} ({letters})")
        });
        let at = i as f64;
        match &x.ci {
            Some(ci) if ci.lower.is_finite() && ci.upper.is_finite() => bars.push(IntervalMark {
                x: at,
                center: x.mean,
                lower: ci.lower,
                upper: ci.upper,
            }),
            _ => bare.push([at, x.mean]),
        }
    }
    let mut series = vec![Series {
        name: format!("mean with {level} CI"),
        color: 0,
        data: SeriesData::Intervals(bars),
    }];
    if !bare.is_empty() {
        series.push(Series {
            name: "mean (no interval)".into(),
            color: 1,
            data: SeriesData::Points(bare),
        });
    }
    if let Some(g) = &m.grand_mean {
        series.push(Series {
            name: "grand mean".into(),
            color: 3,
            data: SeriesData::Level {
                value: g.mean,
                label: format!("grand mean {}", fmt_sig(g.mean, 6)),
                dashed: true,
            },
        });
    }
    series.retain(|s| !matches!(&s.data, SeriesData::Intervals(b) if b.is_empty()));
    let mut notes = vec![format!(
        "Bars: each mean's {level} t interval, not adjusted for multiplicity."
    )];
    if tm.letters.iter().any(|l| !l.is_empty()) {
        notes.push(format!(
            "Letters: means that share one do not differ at α = {} ({} adjustment).",
            fmt_sig(m.alpha, 4),
            words::adjustment(m.adjustment)
        ));
    }
    if series.iter().any(|s| s.name == "mean (no interval)") {
        notes.push(
            "A mean drawn without a bar has no standard error (its variance estimate is not positive).".into(),
        );
    }
    let title = format!("Means of {} with {level} confidence intervals", tm.term);
    let panel = Panel {
        title: title.clone(),
        x: Axis {
            label: tm.factors.join(" × "),
            scale: Scale::Categories(labels),
        },
        y: Axis {
            label: response.to_string(),
            scale: Scale::Linear,
        },
        series,
        bands: Vec::new(),
        legend: true,
        notes,
    };
    Some(Figure {
        title,
        columns: 1,
        panels: vec![panel],
    })
}
