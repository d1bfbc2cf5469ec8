//! Charts as data: a [`Figure`] is a grid of [`Panel`]s, each a set of typed [`Series`]
//! on two axes. Builders of figures ([`gauge`]) compute everything a chart shows (points,
//! bars, control limits, labels) and nothing else; [`render`] draws a figure to SVG or PNG
//! with plotters, and the desktop app draws the same data with its own widgets. Nothing
//! here knows about a drawing library except `render`.

pub mod gauge;
pub mod render;

/// A figure: panels laid out row by row in `columns` columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figure {
    pub title: String,
    pub columns: usize,
    pub panels: Vec<Panel>,
}

/// One plot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// Labelled spans of the x axis drawn as strips above the plot (the operators of an
    /// X-bar chart by operator, the groups of a variability chart).
    pub bands: Vec<Band>,
    /// Show a legend of the named series.
    pub legend: bool,
}

/// An axis: its title and scale.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
}

/// How values on an axis read.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scale {
    /// Numbers.
    #[default]
    Linear,
    /// Category `i` (0-based) is drawn at `x = i` and labelled with `labels[i]`.
    Categories(Vec<String>),
}

/// A labelled span `[from, to]` of the x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

/// A named series; `color` indexes the renderer's palette (0 is the first colour).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: usize,
    pub data: SeriesData,
}

/// What a series draws.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesData {
    /// Unconnected points.
    Points(Vec<[f64; 2]>),
    /// A polyline; a point with a NaN coordinate breaks it. `markers` draws the points.
    Line {
        points: Vec<[f64; 2]>,
        markers: bool,
    },
    /// Vertical bars.
    Bars(Vec<Bar>),
    /// Box plots.
    Boxes(Vec<BoxStats>),
    /// A horizontal reference line across the panel (control limits, centre lines), with
    /// its label at the right end.
    Level {
        value: f64,
        label: String,
        dashed: bool,
    },
    /// Estimates with interval bars (means with confidence intervals).
    Intervals(Vec<IntervalMark>),
}

/// A bar centred at `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    pub height: f64,
}

/// The five numbers of a box plot at `x`, with the points beyond the whiskers and the mean.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxStats {
    pub x: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    /// The most extreme observations within 1.5 IQR of the box.
    pub whisker_low: f64,
    pub whisker_high: f64,
    pub outliers: Vec<f64>,
    pub mean: f64,
}

/// An estimate and its interval at `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalMark {
    pub x: f64,
    pub center: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Panel {
    /// The smallest and largest y of everything drawn (NaN ignored).
    pub fn y_range(&self) -> Option<(f64, f64)> {
        let mut ys: Vec<f64> = Vec::new();
        for s in &self.series {
            match &s.data {
                SeriesData::Points(p) | SeriesData::Line { points: p, .. } => {
                    ys.extend(p.iter().map(|q| q[1]))
                }
                SeriesData::Bars(b) => ys.extend(b.iter().flat_map(|b| [0.0, b.height])),
                SeriesData::Boxes(b) => ys.extend(b.iter().flat_map(|b| {
                    let mut v = vec![b.whisker_low, b.whisker_high, b.mean];
                    v.extend(&b.outliers);
                    v
                })),
                SeriesData::Level { value, .. } => ys.push(*value),
                SeriesData::Intervals(m) => ys.extend(m.iter().flat_map(|m| [m.lower, m.upper])),
            }
        }
        range(ys)
    }

    /// The smallest and largest x (categories span -0.5 .. n - 0.5).
    pub fn x_range(&self) -> Option<(f64, f64)> {
        if let Scale::Categories(c) = &self.x.scale {
            return Some((-0.5, c.len() as f64 - 0.5));
        }
        let mut xs: Vec<f64> = Vec::new();
        for s in &self.series {
            match &s.data {
                SeriesData::Points(p) | SeriesData::Line { points: p, .. } => {
                    xs.extend(p.iter().map(|q| q[0]))
                }
                SeriesData::Bars(b) => xs.extend(
                    b.iter()
                        .flat_map(|b| [b.x - b.width / 2.0, b.x + b.width / 2.0]),
                ),
                SeriesData::Boxes(b) => xs.extend(b.iter().map(|b| b.x)),
                SeriesData::Level { .. } => {}
                SeriesData::Intervals(m) => xs.extend(m.iter().map(|m| m.x)),
            }
        }
        xs.extend(self.bands.iter().flat_map(|b| [b.from, b.to]));
        range(xs)
    }
}

fn range(v: Vec<f64>) -> Option<(f64, f64)> {
    let finite = v.into_iter().filter(|x| x.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    (lo <= hi).then_some((lo, hi))
}

/// The `p` quantile of sorted values by Hyndman and Fan's definition 6 (position
/// `(n + 1) p`, linear interpolation, clamped to the sample), the quartiles Minitab uses.
fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = ((n + 1) as f64 * p).clamp(1.0, n as f64);
    let lo = h.floor() as usize;
    let frac = h - h.floor();
    let hi = lo.min(n - 1);
    v[lo - 1] + frac * (v[hi] - v[lo - 1])
}

/// Box-plot numbers of a sample: quartiles as Minitab computes them (Hyndman and Fan's
/// definition 6; R's `quantile(type = 6)`), whiskers to the most extreme
/// observations within 1.5 IQR of the box, points beyond them as outliers.
pub fn box_stats(x: f64, values: &[f64]) -> BoxStats {
    let mut v: Vec<f64> = values.iter().copied().filter(|y| y.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let (q1, median, q3) = (
        quantile_sorted(&v, 0.25),
        quantile_sorted(&v, 0.5),
        quantile_sorted(&v, 0.75),
    );
    let iqr = q3 - q1;
    let (lo_fence, hi_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let inside: Vec<f64> = v
        .iter()
        .copied()
        .filter(|y| *y >= lo_fence && *y <= hi_fence)
        .collect();
    let mean = if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    };
    BoxStats {
        x,
        q1,
        median,
        q3,
        whisker_low: inside.first().copied().unwrap_or(q1),
        whisker_high: inside.last().copied().unwrap_or(q3),
        outliers: v
            .iter()
            .copied()
            .filter(|y| *y < lo_fence || *y > hi_fence)
            .collect(),
        mean,
    }
}
