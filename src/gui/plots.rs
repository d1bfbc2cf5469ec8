//! The plots of the results view: the library's chart data ([`emslab::chart`]) drawn with
//! egui_plot, the same figures the PNG/SVG exports and the HTML report draw with plotters.
//! Legends sit under the plot and notes under the legend, never over the data.

use egui::{Color32, RichText, Ui};
use egui_plot::{
    Bar, BarChart, BoxElem, BoxPlot, BoxSpread, GridInput, GridMark, HLine, Line, LineStyle, Plot,
    PlotPoint, PlotPoints, Points, Text, VLine,
};
use emslab::chart::analysis::{self as charts, MeansChoice};
use emslab::chart::render::ImageFormat;
use emslab::chart::{Figure, Panel, Scale, SeriesData, log_ticks, palette};
use emslab::report::fmt_sig;

use super::command::{ChartSource, Command, DialogPurpose};
use super::current::Current;
use super::math;

/// Which plot the results view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlotKind {
    #[default]
    Components,
    Residuals,
    CellMeans,
    Variability,
}

impl PlotKind {
    pub const ALL: [PlotKind; 4] = [
        PlotKind::Components,
        PlotKind::Residuals,
        PlotKind::CellMeans,
        PlotKind::Variability,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PlotKind::Components => "Components",
            PlotKind::Residuals => "Residuals",
            PlotKind::CellMeans => "Cell means",
            PlotKind::Variability => "Variability chart",
        }
    }

    /// A file name for the plot.
    pub fn file_stem(self) -> &'static str {
        match self {
            PlotKind::Components => "components",
            PlotKind::Residuals => "residuals",
            PlotKind::CellMeans => "cell_means",
            PlotKind::Variability => "variability",
        }
    }

    fn tip(self) -> &'static str {
        match self {
            PlotKind::Components => {
                "Each variance component: moment estimate with its χ² and MLS intervals, REML estimate with its profile-likelihood (or Wald) interval"
            }
            PlotKind::Residuals => {
                "REML residuals: normal probability plot, versus fits, histogram, versus order (Minitab's four in one)"
            }
            PlotKind::CellMeans => {
                "Means by factor levels, one line per level of a crossed factor (an interaction plot); a nested factor is drawn within each level of its parents"
            }
            PlotKind::Variability => {
                "Every observation at its cell, cell means joined within each group, and the cells' standard deviations (JMP's variability chart)"
            }
        }
    }
}

/// What the plot was built from: the cache is kept while this stays the same.
#[derive(Debug, Clone, PartialEq)]
struct PlotKey {
    kind: PlotKind,
    log: bool,
    means: MeansChoice,
}

/// The plots' choices and the figure last built, for one analysis (it lives in
/// [`Current`] and goes with it).
pub struct PlotState {
    pub kind: PlotKind,
    pub log: bool,
    /// Cell means: x factor, trace factor, and whether the other factors are held.
    pub x: usize,
    pub trace: Option<usize>,
    pub slice: bool,
    pub held: Vec<u32>,
    drawn: Option<(PlotKey, Figure)>,
}

impl PlotState {
    pub fn new(factors: usize) -> PlotState {
        PlotState {
            kind: PlotKind::Components,
            log: true,
            x: 0,
            trace: None,
            slice: false,
            held: vec![0; factors],
            drawn: None,
        }
    }

    /// Forgets the figure (the analysis it was drawn from changed: the REML fit arrived).
    pub fn clear_cache(&mut self) {
        self.drawn = None;
    }

    /// The figure last drawn (tests and exports).
    pub fn drawn(&self) -> Option<&Figure> {
        self.drawn.as_ref().map(|(_, f)| f)
    }

    fn key(&self) -> PlotKey {
        PlotKey {
            kind: self.kind,
            log: self.log,
            means: MeansChoice {
                x: self.x,
                trace: self.trace,
                held: self.slice.then(|| self.held.clone()),
            },
        }
    }
}

/// The figure of a plot of an analysis.
pub fn figure(c: &Current, kind: PlotKind, log: bool, means: &MeansChoice) -> Option<Figure> {
    let response = c.dataset.response.as_str();
    let single = |p: Panel| Figure {
        title: p.title.clone(),
        columns: 1,
        panels: vec![p],
    };
    match kind {
        PlotKind::Components => Some(single(charts::components_panel(&c.analysis, log))),
        PlotKind::Residuals => {
            (!c.residuals().is_empty()).then(|| charts::residuals_figure(c.residuals(), response))
        }
        PlotKind::CellMeans => Some(single(charts::cell_means_panel(
            c.design(),
            &c.dataset,
            means,
        ))),
        PlotKind::Variability => c
            .rows()
            .map(|rows| charts::variability_figure(c.design(), &c.dataset, rows)),
    }
}

/// Every figure of an analysis, for the HTML report: components, residuals, the cell means
/// as chosen, the variability chart, the means of the fixed term chosen, and the gauge
/// study's charts when it was shown.
pub fn all_figures(c: &Current) -> Vec<Figure> {
    let p = &c.plots;
    let means = p.key().means;
    PlotKind::ALL
        .iter()
        .filter_map(|&k| figure(c, k, k == PlotKind::Components && p.log, &means))
        .chain(super::means_view::figure(c))
        .chain(c.gauge.figure().cloned())
        .collect()
}

/// The plot section: the choice of plot, its options, the plot and its export buttons.
pub fn plots_ui(ui: &mut Ui, c: &mut Current, commands: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        for k in PlotKind::ALL {
            ui.selectable_value(&mut c.plots.kind, k, k.label())
                .on_hover_text(k.tip());
        }
        ui.separator();
        export_buttons(ui, ChartSource::Results, commands);
    });
    match c.plots.kind {
        PlotKind::Components => {
            ui.checkbox(&mut c.plots.log, "Logarithmic scale").on_hover_text(
                "Interval bounds of components with few degrees of freedom can be a thousand times the estimate",
            );
        }
        PlotKind::CellMeans => means_choice_ui(ui, c),
        PlotKind::Residuals if c.residuals().is_empty() => {
            ui.label(if c.fitting() {
                "Residuals come from the REML fit, which is running."
            } else {
                "Residuals come from the REML fit: run the analysis with the REML fit switched on."
            });
            return;
        }
        _ => {}
    }
    let key = c.plots.key();
    if c.plots.drawn.as_ref().is_none_or(|(k, _)| *k != key) {
        c.plots.drawn = figure(c, key.kind, key.log, &key.means).map(|f| (key.clone(), f));
    }
    let salt = (c.id, format!("{:?}", key.kind), key.log);
    if let Some((_, fig)) = &c.plots.drawn {
        figure_ui(ui, fig, salt);
    } else if key.kind == PlotKind::Variability {
        ui.label("The variability chart needs the rows of the data.");
    }
    ui.label(
        RichText::new("Drag to pan, Ctrl + mouse wheel to zoom, double-click to reset.").weak(),
    );
}

/// Save PNG… and Save SVG… for a plot. Their accessible names say which plot: `Save PNG…`
/// for the results' plot, `Save gauge PNG…`, `Save power curve PNG…`, `Save means PNG…`.
pub fn export_buttons(ui: &mut Ui, chart: ChartSource, commands: &mut Vec<Command>) {
    let what = match chart {
        ChartSource::Results => "",
        ChartSource::Gauge => "gauge ",
        ChartSource::Plan => "power curve ",
        ChartSource::Means => "means ",
    };
    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let ext = match format {
            ImageFormat::Png => "PNG",
            ImageFormat::Svg => "SVG",
        };
        if ui
            .small_button(format!("Save {ext}…"))
            .on_hover_text("Write this plot to a file, drawn as the HTML report draws it")
            .accessible_name(format!("Save {what}{ext}…"))
            .clicked()
        {
            commands.push(Command::Dialog(DialogPurpose::ExportChart {
                chart,
                format,
            }));
        }
    }
}

/// The cell-means plot's choices: x factor, trace factor (a factor crossed with it), the
/// other factors averaged over or held at a level.
fn means_choice_ui(ui: &mut Ui, c: &mut Current) {
    let design = c.analysis.design.clone();
    let names: Vec<String> = design.factors.iter().map(|f| f.name.clone()).collect();
    let nf = names.len();
    if nf == 0 {
        return;
    }
    let p = &mut c.plots;
    p.x = p.x.min(nf - 1);
    let crossed = charts::crossed_with(&design, p.x);
    if p.trace.is_none_or(|t| !crossed.contains(&t)) {
        p.trace = crossed.first().copied();
    }
    p.held.resize(nf, 0);
    ui.horizontal_wrapped(|ui| {
        ui.label("x axis");
        egui::ComboBox::from_id_salt("x-factor")
            .selected_text(&names[p.x])
            .show_ui(ui, |ui| {
                for (i, f) in names.iter().enumerate() {
                    ui.selectable_value(&mut p.x, i, f);
                }
            })
            .response
            .accessible_name("x-axis factor");
        if !crossed.is_empty() {
            ui.label("one line per level of");
            let text = p.trace.map_or("(none)".to_string(), |t| names[t].clone());
            egui::ComboBox::from_id_salt("trace-factor")
                .selected_text(text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut p.trace, None, "(none)");
                    for &i in &crossed {
                        ui.selectable_value(&mut p.trace, Some(i), &names[i]);
                    }
                })
                .response
                .accessible_name("trace factor")
                .on_hover_text("Only factors crossed with the x-axis factor: a nested factor's levels are not the same across its parents");
        }
        let shown: Vec<usize> = design.factors[p.x]
            .ancestors
            .iter()
            .chain([p.x])
            .chain(p.trace)
            .collect();
        let others: Vec<usize> = (0..nf).filter(|f| !shown.contains(f)).collect();
        if !others.is_empty() {
            ui.separator();
            ui.label("other factors:");
            ui.radio_value(&mut p.slice, false, "averaged").on_hover_text(
                "Marginal means: each point is the mean of the cell means over the levels of the other factors",
            );
            ui.radio_value(&mut p.slice, true, "held at a level")
                .on_hover_text("A slice of the cell means: the other factors are held at the levels chosen here");
            if p.slice {
                for f in others {
                    let levels = c.dataset.cells.radix.get(f).copied().unwrap_or(1);
                    ui.label(format!("{} at level", names[f]));
                    let mut level = i64::from(p.held[f]) + 1;
                    ui.add(egui::DragValue::new(&mut level).range(1..=i64::from(levels)))
                        .accessible_name(format!("level of {}", names[f]));
                    p.held[f] = u32::try_from(level - 1).unwrap_or(0);
                }
            }
        }
    });
}

/// The colour of palette entry `i`.
fn color(i: usize) -> Color32 {
    let [r, g, b] = palette(i);
    Color32::from_rgb(r, g, b)
}

/// A figure: its panels in its columns, each with its legend and notes under it.
pub fn figure_ui(ui: &mut Ui, fig: &Figure, salt: impl std::hash::Hash + Clone + std::fmt::Debug) {
    let columns = fig.columns.max(1);
    let height = if fig.panels.len() > 1 { 260.0 } else { 320.0 };
    if columns == 1 {
        for (i, p) in fig.panels.iter().enumerate() {
            panel_ui(ui, p, (salt.clone(), i), height);
        }
        return;
    }
    let width = (ui.available_width() / columns as f32 - 12.0).max(240.0);
    egui::Grid::new(("figure", salt.clone()))
        .num_columns(columns)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            for (i, p) in fig.panels.iter().enumerate() {
                ui.vertical(|ui| {
                    ui.set_width(width);
                    panel_ui(ui, p, (salt.clone(), i), height);
                });
                if (i + 1) % columns == 0 {
                    ui.end_row();
                }
            }
        });
}

/// Linear-axis grid marks at round values ([`emslab::chart::linear_ticks`]).
fn linear_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let ticks = emslab::chart::linear_ticks(lo, hi, 6);
    let step = match ticks.as_slice() {
        [a, b, ..] => b - a,
        _ => (hi - lo).abs().max(1e-12),
    };
    ticks
        .into_iter()
        .map(|value| GridMark {
            value,
            step_size: step,
        })
        .collect()
}

/// Log-axis grid marks at [`log_ticks`].
fn log_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    log_ticks(lo, hi)
        .into_iter()
        .map(|value| GridMark {
            value,
            step_size: 1.0,
        })
        .collect()
}

/// One panel drawn with egui_plot.
pub fn panel_ui(
    ui: &mut Ui,
    panel: &Panel,
    salt: impl std::hash::Hash + std::fmt::Debug,
    height: f32,
) {
    let log = panel.y.scale == Scale::Log10;
    let p = panel.drawn();
    let categories = match &p.x.scale {
        Scale::Categories(c) => Some(c.clone()),
        _ => None,
    };
    ui.label(RichText::new(&p.title).strong());
    let mut plot = Plot::new(("panel", salt))
        .height(height)
        .allow_scroll(false)
        .set_margin_fraction(egui::vec2(0.04, 0.1))
        .x_axis_label(p.x.label.clone())
        .y_axis_label(p.y.label.clone());
    if log {
        plot = plot
            .y_grid_spacer(log_marks)
            .y_axis_formatter(|m, _| fmt_sig(10f64.powf(m.value), 3));
    } else {
        plot = plot.y_grid_spacer(linear_marks).y_axis_formatter(|m, _| {
            // Rounded to the grid's step: no 0.49999 or -0.
            let v = (m.value / m.step_size).round() * m.step_size;
            if v == 0.0 {
                "0".to_string()
            } else {
                fmt_sig(v, 6)
            }
        });
    }
    if let Some(labels) = categories.clone() {
        let step = labels.len().div_ceil(40).max(1);
        let n = labels.len();
        let formatter = move |m: GridMark, _: &std::ops::RangeInclusive<f64>| {
            let i = m.value.round();
            if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        plot = plot
            .include_x(-0.5)
            .include_x(n as f64 - 0.5)
            .x_grid_spacer(move |input| {
                let (lo, hi) = input.bounds;
                (lo.ceil().max(0.0) as usize..=hi.floor().max(0.0) as usize)
                    .filter(|i| i % step == 0)
                    .map(|i| GridMark {
                        value: i as f64,
                        step_size: step as f64,
                    })
                    .collect()
            })
            // Category labels are short: let them sit closer than numbers would.
            .custom_x_axes(vec![
                egui_plot::AxisHints::new_x()
                    .label(p.x.label.clone())
                    .formatter(formatter)
                    .label_spacing(8.0..=16.0),
            ]);
    }
    let y_top = p.y_range().map(|r| r.1);
    plot.show(ui, |plot_ui| {
        for (i, b) in p.bands.iter().enumerate() {
            if i > 0 {
                plot_ui.vline(VLine::new("", b.from).color(Color32::GRAY).width(1.0));
            }
            if let Some(top) = y_top {
                plot_ui.text(Text::new(
                    "",
                    PlotPoint::new((b.from + b.to) / 2.0, top),
                    RichText::new(&b.label).small(),
                ));
            }
        }
        let x_right = p.x_range().map(|r| r.1);
        for s in &p.series {
            draw_series(plot_ui, s);
            // A control limit's or reference line's label at the right end, as Minitab
            // and the exported figures have it.
            if let (SeriesData::Level { value, label, .. }, Some(x)) = (&s.data, x_right)
                && value.is_finite()
                && !label.is_empty()
            {
                plot_ui.text(
                    Text::new("", PlotPoint::new(x, *value), RichText::new(label).small())
                        .anchor(egui::Align2::RIGHT_BOTTOM)
                        .color(color(s.color)),
                );
            }
        }
    });
    legend_ui(ui, panel);
    for n in &panel.notes {
        super::table_view::notes_label(ui, n);
    }
}

/// One series as egui_plot items.
fn draw_series(plot_ui: &mut egui_plot::PlotUi<'_>, s: &emslab::chart::Series) {
    let c = color(s.color);
    let name = s.name.clone();
    match &s.data {
        SeriesData::Points(pts) => plot_ui.points(
            Points::new(name, PlotPoints::from(pts.clone()))
                .radius(3.0)
                .color(c),
        ),
        SeriesData::Line { points, markers } => {
            for seg in segments(points) {
                plot_ui.line(Line::new(name.clone(), PlotPoints::from(seg.clone())).color(c));
                if *markers {
                    plot_ui.points(
                        Points::new(name.clone(), PlotPoints::from(seg))
                            .radius(3.0)
                            .color(c),
                    );
                }
            }
        }
        SeriesData::Bars(bars) => plot_ui.bar_chart(
            BarChart::new(
                name,
                bars.iter()
                    .map(|b| Bar::new(b.x, b.height).width(b.width))
                    .collect(),
            )
            .color(c),
        ),
        SeriesData::Boxes(boxes) => plot_ui.box_plot(
            BoxPlot::new(
                name,
                boxes
                    .iter()
                    .map(|b| {
                        BoxElem::new(
                            b.x,
                            BoxSpread::new(b.whisker_low, b.q1, b.median, b.q3, b.whisker_high),
                        )
                    })
                    .collect(),
            )
            .color(c),
        ),
        SeriesData::Level { value, dashed, .. } => {
            let mut line = HLine::new(name, *value).color(c);
            if *dashed {
                line = line.style(LineStyle::dashed_dense());
            }
            plot_ui.hline(line);
        }
        SeriesData::Intervals(marks) => {
            for m in marks {
                if m.lower.is_finite() && m.upper.is_finite() {
                    plot_ui.line(
                        Line::new(
                            name.clone(),
                            PlotPoints::from(vec![[m.x, m.lower], [m.x, m.upper]]),
                        )
                        .color(c)
                        .width(2.5),
                    );
                }
            }
            plot_ui.points(
                Points::new(
                    name,
                    PlotPoints::from(marks.iter().map(|m| [m.x, m.center]).collect::<Vec<_>>()),
                )
                .radius(4.0)
                .color(c),
            );
        }
    }
}

/// The legend under a plot: a swatch and the name of each named series.
fn legend_ui(ui: &mut Ui, p: &Panel) {
    if !p.legend {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        let font = egui::TextStyle::Body.resolve(ui.style());
        let text_color = ui.visuals().text_color();
        for s in p.series.iter().filter(|s| !s.name.is_empty()) {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, color(s.color));
            math::label(
                ui,
                &s.name,
                math::job(&s.name, font.clone(), text_color),
                false,
            );
            ui.add_space(8.0);
        }
    });
}

/// Polyline pieces between NaN points.
fn segments(points: &[[f64; 2]]) -> Vec<Vec<[f64; 2]>> {
    let mut out = vec![Vec::new()];
    for q in points {
        if q[0].is_finite() && q[1].is_finite() {
            if let Some(last) = out.last_mut() {
                last.push(*q);
            }
        } else if out.last().is_some_and(|l| !l.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}
