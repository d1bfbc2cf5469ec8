//! The Gauge section of the results (issue 14 item 1): when the analysed design names a part
//! and an operator factor (`role` on its factors: in the design file, or the Design view's
//! Role column), the gauge R&R study of the same data by [`emslab::gauge`], with its inputs
//! (tolerance, study variation, interaction alpha, confidence level), the tables of
//! `emslab gauge`'s report and its six charts ([`emslab::chart::gauge`]), saved as PNG or
//! SVG like the other plots. The study is recomputed at once when an input changes.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{RichText, Ui};
use emslab::Design;
use emslab::chart::Figure;
use emslab::data::{DataError, Dataset, ReadOptions};
use emslab::design::{DesignSpec, Role};
use emslab::gauge::{self, GaugeStudy, Prepared, Tolerance};
use emslab::report::gauge_tables::{GaugeInfo, gauge_document, gauge_report_json};
use emslab::report::{self, Document, Format};
use serde::{Deserialize, Serialize};

use super::command::{ChartSource, Command, DocKind};
use super::jobs::Job;
use super::plots;
use super::results::{SectionCtx, report_table};

/// The study's inputs (persisted with the session).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GaugeSettings {
    /// USL − LSL, for %Tolerance (`None`: not given).
    pub tolerance: Option<f64>,
    /// Study variation = this multiple of the SD (`--study-var`).
    pub study_var: f64,
    /// The interaction is removed when its p-value is at least this.
    pub interaction_alpha: f64,
    /// Confidence level of the intervals.
    pub level: f64,
}

impl Default for GaugeSettings {
    fn default() -> Self {
        let o = gauge::Options::default();
        GaugeSettings {
            tolerance: None,
            study_var: o.study_var,
            interaction_alpha: o.interaction_alpha,
            level: o.level,
        }
    }
}

impl GaugeSettings {
    /// The library's options (part and operator from the design's roles).
    pub fn options(&self) -> gauge::Options {
        gauge::Options {
            part: None,
            operator: None,
            study_var: self.study_var,
            interaction_alpha: self.interaction_alpha,
            tolerance: self.tolerance.map(Tolerance::Width),
            level: self.level,
        }
    }
}

/// Whether a design names its part and operator factors.
pub fn has_roles(spec: &DesignSpec) -> bool {
    let has = |r: Role| spec.factors.iter().any(|f| f.role == Some(r));
    has(Role::Part) && has(Role::Operator)
}

/// The data the study reads.
enum GaugeData {
    /// The analysis's own: the study's design reads the file as the analysed design does.
    Same,
    /// Read again for the study's design (its factors in another order).
    Reading(Job<Result<Dataset, DataError>>),
    Read(Arc<Dataset>),
    Failed(String),
}

/// A study and what is drawn from it.
pub struct Shown {
    pub study: GaugeStudy,
    pub info: GaugeInfo,
    pub document: Document,
    pub figure: Figure,
}

/// The gauge study of one analysis (it lives in [`super::current::Current`] and goes with
/// it), for the inputs last shown.
#[derive(Default)]
pub struct GaugeState {
    data: Option<GaugeData>,
    shown: Option<(GaugeSettings, Result<Box<Shown>, String>)>,
}

impl GaugeState {
    pub fn is_busy(&self) -> bool {
        matches!(self.data, Some(GaugeData::Reading(_)))
    }

    /// Collects the second read, when there is one.
    pub fn poll(&mut self) {
        let Some(GaugeData::Reading(job)) = &mut self.data else {
            return;
        };
        let Some(out) = job.poll() else { return };
        self.data = Some(match out {
            Ok(Ok(ds)) => GaugeData::Read(Arc::new(ds)),
            Ok(Err(e)) => GaugeData::Failed(e.to_string()),
            Err(()) => GaugeData::Failed("Reading the data for the gauge study failed.".into()),
        });
        self.shown = None;
    }

    pub fn shown(&self) -> Option<&Shown> {
        match &self.shown {
            Some((_, Ok(s))) => Some(s),
            _ => None,
        }
    }

    /// The charts shown (for exports).
    pub fn figure(&self) -> Option<&Figure> {
        self.shown().map(|s| &s.figure)
    }

    /// A table (or the whole report): what `emslab gauge DESIGN DATA [--tolerance T]
    /// [--study-var K] [--interaction-alpha A] [--level L] [--table KEY]` writes.
    pub fn render(&self, table: Option<&str>, format: Format) -> Result<String, String> {
        let s = self
            .shown()
            .ok_or("There is no gauge study to export: run the analysis of a gauge design.")?;
        report::render(
            &s.document,
            &gauge_report_json(&s.study, &s.info),
            format,
            table,
        )
        .map_err(|e| e.to_string())
    }

    /// The dataset of the study: the analysis's, or one read again for the study's design
    /// (`None` while it is being read).
    fn dataset(
        &mut self,
        prepared: &Prepared,
        analysed: &Design,
        own: &Arc<Dataset>,
        path: &std::path::Path,
        ctx: &egui::Context,
    ) -> Result<Option<Arc<Dataset>>, String> {
        if self.data.is_none() {
            let names = |d: &Design| d.factors.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
            self.data = Some(if names(&prepared.design) == names(analysed) {
                GaugeData::Same
            } else {
                start_read(prepared, own, path.to_path_buf(), ctx)
            });
        }
        match &self.data {
            Some(GaugeData::Same) => Ok(Some(Arc::clone(own))),
            Some(GaugeData::Read(d)) => Ok(Some(Arc::clone(d))),
            Some(GaugeData::Failed(e)) => Err(e.clone()),
            _ => Ok(None),
        }
    }
}

/// Reads the analysed file again for the study's design, with the columns the analysis read.
// `DataError` is the library's error type, returned as is.
#[allow(clippy::result_large_err)]
fn start_read(prepared: &Prepared, own: &Dataset, path: PathBuf, ctx: &egui::Context) -> GaugeData {
    let design = prepared.design.clone();
    let opts = ReadOptions {
        response: Some(own.response.clone()),
        columns: own
            .factors
            .iter()
            .map(|f| (f.name.clone(), f.header.clone()))
            .collect(),
        keep_rows: true,
    };
    let source = own.source.clone();
    let job = Job::spawn("Reading the data for the gauge study", ctx, move |_| {
        let file = std::fs::File::open(&path).map_err(|e| DataError::io(&source, &e))?;
        emslab::data::read_csv_from(std::io::BufReader::new(file), &source, &design, &opts)
    });
    match job {
        Ok(j) => GaugeData::Reading(j),
        Err(e) => GaugeData::Failed(e),
    }
}

/// The study, its document and its charts.
fn compute(
    prepared: &Prepared,
    ds: &Dataset,
    settings: &GaugeSettings,
    title: &str,
) -> Result<Box<Shown>, String> {
    let study = gauge::study(prepared, ds, &settings.options()).map_err(|e| e.to_string())?;
    let info = GaugeInfo {
        title: title.to_string(),
        source: ds.source.clone(),
        response: ds.response.clone(),
    };
    let document = gauge_document(&study, &info);
    let figure = emslab::chart::gauge::figure(&study, &ds.response);
    Ok(Box::new(Shown {
        study,
        info,
        document,
        figure,
    }))
}

/// The Gauge section.
pub fn gauge_section(ui: &mut Ui, s: &mut SectionCtx<'_>) {
    let settings = *s.gauge;
    settings_ui(ui, &settings, s.commands);
    let c = &mut *s.current;
    let prepared = match gauge::prepare(&c.analysis.design, &settings.options()) {
        Ok(p) => p,
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
            return;
        }
    };
    let ctx = ui.ctx().clone();
    let ds = match c
        .gauge
        .dataset(&prepared, &c.analysis.design, &c.dataset, &c.path, &ctx)
    {
        Ok(Some(d)) => d,
        Ok(None) => {
            ui.label("Reading the data for the study's design…");
            return;
        }
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
            return;
        }
    };
    if c.gauge.shown.as_ref().is_none_or(|(k, _)| *k != settings) {
        let shown = compute(&prepared, &ds, &settings, &c.inputs.spec.title);
        c.gauge.shown = Some((settings, shown));
    }
    let id = c.id;
    match &c.gauge.shown {
        Some((_, Ok(shown))) => shown_ui(ui, shown, id, s.commands),
        Some((_, Err(e))) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {e}"));
        }
        None => {}
    }
}

/// Tolerance, study variation, interaction alpha and confidence level.
fn settings_ui(ui: &mut Ui, settings: &GaugeSettings, commands: &mut Vec<Command>) {
    let mut g = *settings;
    ui.horizontal_wrapped(|ui| {
        let mut given = g.tolerance.is_some();
        ui.checkbox(&mut given, "Tolerance")
            .on_hover_text("USL − LSL: %Tolerance = study variation / tolerance");
        match (given, g.tolerance) {
            (true, None) => g.tolerance = Some(1.0),
            (false, Some(_)) => g.tolerance = None,
            _ => {}
        }
        if let Some(t) = &mut g.tolerance {
            ui.add(
                egui::DragValue::new(t)
                    .range(1e-9..=1e12)
                    .speed(0.05)
                    .max_decimals(6),
            )
            .accessible_name("Gauge tolerance");
        }
        ui.separator();
        ui.label("Study variation =")
            .on_hover_text("The multiple of the SD: 6 (Minitab now), 5.15 (older conventions, 99%)");
        ui.add(
            egui::DragValue::new(&mut g.study_var)
                .range(0.1..=20.0)
                .speed(0.01)
                .max_decimals(3),
        )
        .accessible_name("Study variation multiplier");
        ui.label("× SD");
        ui.separator();
        ui.label("Remove the interaction when p ≥").on_hover_text(
            "Minitab's alpha to remove the interaction term: the operator × part interaction is pooled into repeatability when its p-value is at least this",
        );
        ui.add(
            egui::DragValue::new(&mut g.interaction_alpha)
                .range(0.001..=0.999)
                .speed(0.005)
                .max_decimals(3),
        )
        .accessible_name("Interaction alpha");
        ui.separator();
        ui.label("Confidence level");
        ui.add(
            egui::DragValue::new(&mut g.level)
                .range(0.5..=0.999)
                .speed(0.005)
                .max_decimals(3),
        )
        .accessible_name("Gauge confidence level");
    });
    if g != *settings {
        commands.push(Command::SetGaugeSettings(g));
    }
}

/// The report's words, tables and charts.
fn shown_ui(ui: &mut Ui, s: &Shown, id: u64, commands: &mut Vec<Command>) {
    for p in &s.document.preamble {
        ui.add(egui::Label::new(RichText::new(p).weak()).wrap());
    }
    ui.add_space(6.0);
    for t in &s.document.tables {
        report_table(ui, t, DocKind::Gauge, &format!("{id}-{}", t.key), commands);
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(&s.figure.title).strong());
        ui.separator();
        plots::export_buttons(ui, ChartSource::Gauge, commands);
    });
    plots::figure_ui(ui, &s.figure, (id, "gauge"));
}
