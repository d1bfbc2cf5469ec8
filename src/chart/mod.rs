//! Charts as data: a [`Figure`] is a grid of [`Panel`]s, each a set of typed [`Series`]
//! on two axes. Builders of figures ([`analysis`], [`gauge`], [`means`], [`power`]) compute everything
//! a chart shows (points, bars, control limits, labels) and nothing else; [`render`] draws
//! a figure to SVG or PNG with plotters, and the desktop app draws the same data with its
//! own widgets. Nothing here knows about a drawing library except `render`.

pub mod analysis;
pub mod gauge;
pub mod means;
pub mod power;
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
    /// What a reader of the plot must know that it does not show (values left out on a
    /// log scale, bounds cut at the edge, points thinned), shown under it.
    pub notes: Vec<String>,
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
    /// Positive numbers on a base-10 logarithmic scale (y axes): the data are in their own
    /// units, the renderers draw `log10(y)` and leave out values that are not positive
    /// (the figure's builder says which in [`Panel::notes`]).
    Log10,
}

/// A labelled span `[from, to]` of the x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

/// The palette every renderer draws series in: Minitab-like blue, red, green, then more.
pub const PALETTE: [[u8; 3]; 8] = [
    [31, 91, 168],
    [200, 40, 40],
    [40, 140, 60],
    [120, 120, 120],
    [60, 60, 60],
    [230, 140, 20],
    [130, 60, 170],
    [20, 150, 160],
];

/// The colour of palette index `i` (the palette repeats).
pub fn palette(i: usize) -> [u8; 3] {
    PALETTE[i % PALETTE.len()]
}

/// A named series; `color` indexes the [`PALETTE`] (0 is the first colour).
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

impl Panel {
    /// The panel as drawn: on a [`Scale::Log10`] y axis every y is replaced by its log10
    /// (values that are not positive become NaN: points are left out, lines break).
    pub fn drawn(&self) -> std::borrow::Cow<'_, Panel> {
        if self.y.scale != Scale::Log10 {
            return std::borrow::Cow::Borrowed(self);
        }
        let log = |v: f64| if v > 0.0 { v.log10() } else { f64::NAN };
        let mut p = self.clone();
        for s in &mut p.series {
            match &mut s.data {
                SeriesData::Points(v) | SeriesData::Line { points: v, .. } => {
                    for q in v.iter_mut() {
                        q[1] = log(q[1]);
                    }
                }
                SeriesData::Bars(b) => {
                    for b in b.iter_mut() {
                        b.height = log(b.height);
                    }
                }
                SeriesData::Boxes(b) => {
                    for b in b.iter_mut() {
                        for v in [
                            &mut b.q1,
                            &mut b.median,
                            &mut b.q3,
                            &mut b.whisker_low,
                            &mut b.whisker_high,
                            &mut b.mean,
                        ] {
                            *v = log(*v);
                        }
                        b.outliers.iter_mut().for_each(|v| *v = log(*v));
                    }
                }
                SeriesData::Level { value, .. } => *value = log(*value),
                SeriesData::Intervals(m) => {
                    for m in m.iter_mut() {
                        m.center = log(m.center);
                        m.lower = log(m.lower);
                        m.upper = log(m.upper);
                    }
                }
            }
        }
        std::borrow::Cow::Owned(p)
    }
}

/// Tick positions (in log10 units) of a log axis spanning `lo..hi` (log10 units): powers
/// of ten on a wide range, 1, 2, 5 times them on a middling one, 1 to 9 times them on a
/// narrow one, and round values in between when even those leave fewer than two ticks.
/// Never fewer than two ticks for a finite range, so the axis always reads.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let span = hi - lo;
    let mantissas: &[f64] = if span > 6.0 {
        &[1.0]
    } else if span > 1.5 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    };
    let step = if span > 12.0 {
        (span / 8.0).ceil() as i64
    } else {
        1
    };
    let mut ticks = Vec::new();
    for k in (lo.floor() as i64 - 1)..=(hi.ceil() as i64) {
        if k.rem_euclid(step) != 0 {
            continue;
        }
        for m in mantissas {
            let v = k as f64 + m.log10();
            if v >= lo - 1e-12 && v <= hi + 1e-12 {
                ticks.push(v);
            }
        }
    }
    if ticks.len() < 2 {
        // Round values in the data's units between the ends.
        let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
        ticks = linear_ticks(a, b, 4)
            .into_iter()
            .filter(|v| *v > 0.0)
            .map(f64::log10)
            .collect();
    }
    ticks
}

/// About `n` round ticks (1, 2, 5 times a power of ten apart) within `lo..=hi`.
pub fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || n == 0 {
        return Vec::new();
    }
    let raw = (hi - lo) / n as f64;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}
