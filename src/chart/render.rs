//! Draws a [`Figure`] to SVG or PNG with plotters (SVG and bitmap backends only; text is
//! laid out with the DejaVu Sans font shipped in `assets/fonts`, through plotters'
//! `ab_glyph` feature, so no system font library is needed).

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BoxStats, Figure, Panel, Scale, SeriesData, linear_ticks, log_ticks};
use crate::report::fmt_sig;

/// Why a figure could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("{0}: the chart file must end in .svg or .png")]
    Format(String),
    #[error("the chart font (DejaVu Sans) could not be loaded")]
    Font,
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the PNG failed: {0}")]
    Png(String),
}

/// An image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// From a file name's extension (`.svg`, `.png`, any case).
    pub fn from_path(path: &Path) -> Result<ImageFormat, RenderError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(RenderError::Format(path.display().to_string())),
        }
    }
}

/// Size of one panel and of the figure's title strip, in pixels.
const PANEL: (u32, u32) = (660, 400);
const TITLE_HEIGHT: u32 = 56;
const FONT_NAME: &str = "sans-serif";
static FONT_DATA: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn font() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT_DATA).is_ok()
    });
    if ok { Ok(()) } else { Err(RenderError::Font) }
}

fn color(i: usize) -> RGBColor {
    let [r, g, b] = super::palette(i);
    RGBColor(r, g, b)
}

/// Width and height of the figure in pixels.
pub fn size(fig: &Figure) -> (u32, u32) {
    let cols = fig.columns.max(1) as u32;
    let rows = (fig.panels.len() as u32).div_ceil(cols).max(1);
    (cols * PANEL.0, rows * PANEL.1 + TITLE_HEIGHT)
}

/// The figure as an SVG document.
pub fn to_svg(fig: &Figure) -> Result<String, RenderError> {
    font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size(fig)).into_drawing_area();
        draw(&root, fig)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

/// The figure as a PNG file (8-bit RGB).
pub fn to_png(fig: &Figure) -> Result<Vec<u8>, RenderError> {
    font()?;
    let (w, h) = size(fig);
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, fig)?;
        root.present().map_err(draw_err)?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| RenderError::Png(e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| RenderError::Png(e.to_string()))?;
    }
    Ok(png_bytes)
}

/// The figure in a format, as bytes.
pub fn render(fig: &Figure, format: ImageFormat) -> Result<Vec<u8>, RenderError> {
    match format {
        ImageFormat::Svg => to_svg(fig).map(String::into_bytes),
        ImageFormat::Png => to_png(fig),
    }
}

fn draw_err<E: std::fmt::Display>(e: E) -> RenderError {
    RenderError::Draw(e.to_string())
}

type Area<'a, DB> = DrawingArea<DB, Shift>;

fn draw<DB: DrawingBackend>(root: &Area<'_, DB>, fig: &Figure) -> Result<(), RenderError> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (title, body) = root.split_vertically(TITLE_HEIGHT);
    let (w, _) = title.dim_in_pixel();
    title
        .draw(&Text::new(
            fig.title.clone(),
            (w as i32 / 2, TITLE_HEIGHT as i32 / 2),
            TextStyle::from((FONT_NAME, 24).into_font())
                .pos(Pos::new(HPos::Center, VPos::Center))
                .color(&BLACK),
        ))
        .map_err(draw_err)?;
    let cols = fig.columns.max(1);
    let rows = fig.panels.len().div_ceil(cols).max(1);
    let areas = body.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(&fig.panels) {
        draw_panel(area, panel)?;
    }
    Ok(())
}

/// Axis ranges with room around the data, and at the top for bands.
fn ranges(p: &Panel) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1) = p.x_range().unwrap_or((0.0, 1.0));
    if !matches!(p.x.scale, Scale::Categories(_)) {
        let pad = 0.05 * (x1 - x0).max(1e-12);
        x0 -= pad;
        x1 += pad;
    }
    let (mut y0, mut y1) = p.y_range().unwrap_or((0.0, 1.0));
    if y1 - y0 < 1e-12 * y1.abs().max(1.0) {
        y0 -= 0.5 * y0.abs().max(1.0);
        y1 += 0.5 * y1.abs().max(1.0);
    }
    let span = y1 - y0;
    let top = if p.bands.is_empty() { 0.08 } else { 0.2 };
    let bars = p
        .series
        .iter()
        .any(|s| matches!(s.data, SeriesData::Bars(_)));
    let y0 = if bars && y0 >= 0.0 {
        0.0
    } else {
        y0 - 0.08 * span
    };
    ((x0, x1), (y0, y1 + top * span))
}

/// The label of category `x`; with more than 30 categories, every `n/30`-th only.
fn category_label(labels: &[String], x: f64) -> String {
    let i = x.round();
    let step = labels.len().div_ceil(30).max(1);
    if (x - i).abs() > 1e-6 || i < 0.0 || !(i as usize).is_multiple_of(step) {
        return String::new();
    }
    labels.get(i as usize).cloned().unwrap_or_default()
}

/// Width of the legend strip to the right of a panel's plot area.
const LEGEND_WIDTH: u32 = 190;
/// Height of one line of notes under a panel.
const NOTE_HEIGHT: u32 = 16;

fn draw_panel<DB: DrawingBackend>(area: &Area<'_, DB>, p: &Panel) -> Result<(), RenderError> {
    let log = p.y.scale == Scale::Log10;
    let drawn = p.drawn();
    let p = &*drawn;
    let entries: Vec<(&str, RGBColor)> = p
        .series
        .iter()
        .filter(|s| !s.name.is_empty() && p.legend)
        .map(|s| (s.name.as_str(), color(s.color)))
        .collect();
    // The notes below the plot, the legend beside it: neither covers the data.
    let (w, h) = area.dim_in_pixel();
    let notes = p.notes.len().min(3) as u32;
    let (area, notes_area) = area.split_vertically(h.saturating_sub(notes * NOTE_HEIGHT));
    let (plot_area, legend_area) = if entries.is_empty() {
        (area.clone(), None)
    } else {
        let (a, b) = area.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        (a, Some(b))
    };
    let ((x0, x1), (y0, y1)) = ranges(p);
    let ticks = if log {
        log_ticks(y0, y1)
    } else {
        linear_ticks(y0, y1, 6)
    };
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(p.title.as_str(), (FONT_NAME, 18))
        .margin(12)
        .x_label_area_size(if p.x.label.is_empty() { 28 } else { 48 })
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    let labels: Vec<String> = match &p.x.scale {
        Scale::Categories(c) => c.clone(),
        Scale::Linear | Scale::Log10 => Vec::new(),
    };
    let fmt = |x: &f64| category_label(&labels, *x);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .bold_line_style(RGBColor(230, 230, 230))
        .light_line_style(WHITE)
        .label_style((FONT_NAME, 12))
        .axis_desc_style((FONT_NAME, 13))
        .x_desc(p.x.label.as_str())
        .y_desc(p.y.label.as_str())
        .y_labels(0);
    if !labels.is_empty() {
        mesh.x_labels(labels.len() + 1).x_label_formatter(&fmt);
    }
    mesh.draw().map_err(draw_err)?;
    draw_y_ticks(&mut chart, &plot_area, &ticks, log, (x0, x1))?;
    draw_bands(&mut chart, p, y0, y1)?;
    for s in &p.series {
        draw_series(&mut chart, &s.data, color(s.color), (x0, x1))?;
    }
    if let Some(legend) = legend_area {
        draw_legend(&legend, &entries)?;
    }
    for (i, note) in p.notes.iter().take(3).enumerate() {
        notes_area
            .draw(&Text::new(
                note.clone(),
                (12, i as i32 * NOTE_HEIGHT as i32 + 2),
                TextStyle::from((FONT_NAME, 11).into_font()).color(&RGBColor(90, 90, 90)),
            ))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A legend in its own strip: a swatch and the name of each series.
fn draw_legend<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    entries: &[(&str, RGBColor)],
) -> Result<(), RenderError> {
    for (i, (name, c)) in entries.iter().enumerate() {
        let y = 48 + 20 * i as i32;
        area.draw(&Rectangle::new([(4, y - 6), (18, y + 6)], c.filled()))
            .map_err(draw_err)?;
        area.draw(&Text::new(
            name.to_string(),
            (24, y),
            TextStyle::from((FONT_NAME, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

type Chart<'a, 'b, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Grid lines and labels of the y axis at the shared tick positions ([`log_ticks`] on a
/// log axis, labelled in the data's units).
fn draw_y_ticks<DB: DrawingBackend>(
    chart: &mut Chart<'_, '_, DB>,
    area: &Area<'_, DB>,
    ticks: &[f64],
    log: bool,
    (x0, x1): (f64, f64),
) -> Result<(), RenderError> {
    let base = area.get_base_pixel();
    for &t in ticks {
        chart
            .draw_series(LineSeries::new(
                [(x0, t), (x1, t)],
                RGBColor(230, 230, 230).stroke_width(1),
            ))
            .map_err(draw_err)?;
        let (px, py) = chart.backend_coord(&(x0, t));
        let label = if log {
            fmt_sig(10f64.powf(t), 3)
        } else {
            fmt_sig(t, 6)
        };
        area.draw(&Text::new(
            label,
            (px - base.0 - 6, py - base.1),
            TextStyle::from((FONT_NAME, 12).into_font()).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

fn draw_bands<DB: DrawingBackend>(
    chart: &mut Chart<'_, '_, DB>,
    p: &Panel,
    y0: f64,
    y1: f64,
) -> Result<(), RenderError> {
    let strip = y1 - 0.08 * (y1 - y0);
    for (i, b) in p.bands.iter().enumerate() {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(b.from, strip), (b.to, y1)],
                RGBColor(225, 228, 235).filled(),
            )))
            .map_err(draw_err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                b.label.clone(),
                ((b.from + b.to) / 2.0, (strip + y1) / 2.0),
                TextStyle::from((FONT_NAME, 13).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))
            .map_err(draw_err)?;
        if i > 0 {
            chart
                .draw_series(LineSeries::new(
                    [(b.from, y0), (b.from, y1)],
                    RGBColor(150, 150, 150).stroke_width(1),
                ))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Polyline pieces between NaN points.
fn segments(points: &[[f64; 2]]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for q in points {
        if q[0].is_finite() && q[1].is_finite() {
            if let Some(last) = out.last_mut() {
                last.push((q[0], q[1]));
            }
        } else if out.last().is_some_and(|l| !l.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn draw_series<DB: DrawingBackend>(
    chart: &mut Chart<'_, '_, DB>,
    data: &SeriesData,
    c: RGBColor,
    (x0, x1): (f64, f64),
) -> Result<(), RenderError> {
    match data {
        SeriesData::Points(pts) => {
            chart
                .draw_series(
                    pts.iter()
                        .filter(|q| q[1].is_finite())
                        .map(|q| Circle::new((q[0], q[1]), 3, c.mix(0.7).filled())),
                )
                .map_err(draw_err)?;
        }
        SeriesData::Line { points, markers } => {
            for seg in segments(points) {
                chart
                    .draw_series(LineSeries::new(seg.clone(), c.stroke_width(2)))
                    .map_err(draw_err)?;
                if *markers {
                    chart
                        .draw_series(seg.iter().map(|&q| Circle::new(q, 4, c.filled())))
                        .map_err(draw_err)?;
                }
            }
        }
        SeriesData::Bars(bars) => {
            chart
                .draw_series(bars.iter().map(|b| {
                    Rectangle::new(
                        [(b.x - b.width / 2.0, 0.0), (b.x + b.width / 2.0, b.height)],
                        c.filled(),
                    )
                }))
                .map_err(draw_err)?;
        }
        SeriesData::Boxes(boxes) => {
            for b in boxes {
                draw_box(chart, b, c)?;
            }
        }
        SeriesData::Level {
            value,
            label,
            dashed,
        } => {
            let style = c.stroke_width(2);
            let pts = [(x0, *value), (x1, *value)];
            if *dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                    .map_err(draw_err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(draw_err)?;
            }
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x1, *value),
                    TextStyle::from((FONT_NAME, 12).into_font())
                        .pos(Pos::new(HPos::Right, VPos::Bottom))
                        .color(&c),
                )))
                .map_err(draw_err)?;
        }
        SeriesData::Intervals(marks) => {
            for m in marks {
                let w = 0.12;
                chart
                    .draw_series([
                        PathElement::new(vec![(m.x, m.lower), (m.x, m.upper)], c.stroke_width(2)),
                        PathElement::new(
                            vec![(m.x - w, m.lower), (m.x + w, m.lower)],
                            c.stroke_width(2),
                        ),
                        PathElement::new(
                            vec![(m.x - w, m.upper), (m.x + w, m.upper)],
                            c.stroke_width(2),
                        ),
                    ])
                    .map_err(draw_err)?;
            }
            chart
                .draw_series(
                    marks
                        .iter()
                        .map(|m| Circle::new((m.x, m.center), 4, c.filled())),
                )
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

fn draw_box<DB: DrawingBackend>(
    chart: &mut Chart<'_, '_, DB>,
    b: &BoxStats,
    c: RGBColor,
) -> Result<(), RenderError> {
    let w = 0.25;
    let line = c.stroke_width(2);
    chart
        .draw_series([
            Rectangle::new(
                [(b.x - w, b.q1), (b.x + w, b.q3)],
                RGBColor(200, 215, 235).filled(),
            ),
            Rectangle::new([(b.x - w, b.q1), (b.x + w, b.q3)], line),
        ])
        .map_err(draw_err)?;
    chart
        .draw_series([
            PathElement::new(vec![(b.x - w, b.median), (b.x + w, b.median)], line),
            PathElement::new(vec![(b.x, b.q3), (b.x, b.whisker_high)], line),
            PathElement::new(vec![(b.x, b.q1), (b.x, b.whisker_low)], line),
        ])
        .map_err(draw_err)?;
    chart
        .draw_series(
            b.outliers
                .iter()
                .map(|&y| Cross::new((b.x, y), 4, c.stroke_width(2))),
        )
        .map_err(draw_err)?;
    Ok(())
}
