//! Everything a frame can ask the app to do. Panels push commands while they draw; the app
//! applies them after the frame, so no panel mutates shared state mid-frame.

use std::path::PathBuf;

use emslab::DesignSpec;
use emslab::analysis::Options;
use emslab::chart::render::ImageFormat;
use emslab::report::Format;

use super::app::View;

/// Which document a table belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// `emslab ems`: design, subscripts, EMS, tests, estimators (and derivation steps).
    Ems,
    /// `emslab analyze`: the same plus ANOVA, components, REML.
    Analysis,
    /// `emslab power`: the Plan view's power, curve and solve tables.
    Power,
    /// `emslab gauge`: the gauge study of the analysed data.
    Gauge,
}

impl DocKind {
    /// A file name's part for the whole document.
    pub fn stem(self) -> &'static str {
        match self {
            DocKind::Ems => "ems",
            DocKind::Analysis => "analysis",
            DocKind::Power => "power",
            DocKind::Gauge => "gauge",
        }
    }
}

/// Which plot a PNG or SVG export draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartSource {
    /// The plot shown in the results' Plots section.
    Results,
    /// The gauge study's charts.
    Gauge,
    /// The Plan view's power curve.
    Plan,
    /// The results' plot of a fixed term's means.
    Means,
}

/// A table (by key) or a whole document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTarget {
    pub doc: DocKind,
    /// `None`: the whole document, as the command line writes it without `--table`.
    pub table: Option<String>,
}

/// Identifies an edited field, so that typing in one field is one undo step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditKey {
    /// A discrete edit (a click): always its own undo step.
    Discrete,
    /// Typing in a field (factor index and field name, or a design-level field).
    Field(String),
}

/// What a file dialog was opened for.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogPurpose {
    OpenDesign,
    SaveDesign,
    OpenData,
    Export {
        target: ExportTarget,
        format: Format,
    },
    /// A plot, as an image.
    ExportChart {
        chart: ChartSource,
        format: ImageFormat,
    },
}

/// How the user answered the unsaved-changes question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Save,
    Discard,
    Cancel,
}

#[derive(Debug, Clone)]
pub enum Command {
    /// The design form produced a new spec.
    Edit {
        spec: DesignSpec,
        key: EditKey,
    },
    Undo,
    Redo,
    /// The analysis settings (the model of every table included).
    SetAnalysisOptions(Options),
    /// The gauge study's inputs (the study is recomputed at once).
    SetGaugeSettings(super::gauge_view::GaugeSettings),
    /// The EMS engine (builds with the `symbolica` feature).
    SetEngine(emslab::cas::Engine),
    /// Replace the design (asks first when there are unsaved changes).
    NewDesign,
    OpenTemplate(usize),
    /// A template and its shipped data.
    OpenTemplateWithData(usize),
    /// Open a design file, then (when given) a data file for it.
    OpenDesign {
        path: PathBuf,
        data: Option<PathBuf>,
    },
    SaveDesign,
    /// Open a file dialog; its answer comes back as [`Command::DialogAnswer`].
    Dialog(DialogPurpose),
    DialogAnswer {
        purpose: DialogPurpose,
        path: Option<PathBuf>,
    },
    /// The system's file dialog did not open: use the in-app chooser.
    NoSystemDialog {
        purpose: DialogPurpose,
        suggested: Option<PathBuf>,
    },
    /// Answer to the unsaved-changes question.
    Resolve(Resolution),
    ShowView(View),
    SelectTerm(usize),
    ExportDialog {
        target: ExportTarget,
        format: Format,
    },
    ExportTo {
        target: ExportTarget,
        format: Format,
        path: PathBuf,
    },
    Copy {
        target: ExportTarget,
        format: Format,
    },
    OpenData(PathBuf),
    /// Read the data file again (after a design edit).
    RereadData,
    /// The columns chosen in the Data view: read the file again with them.
    SetColumns {
        response: Option<String>,
        columns: Vec<(String, String)>,
    },
    /// Write a plot to a file.
    ExportChartTo {
        chart: ChartSource,
        format: ImageFormat,
        path: PathBuf,
    },
    /// Show the Help view at a topic (a table key or a rule).
    ShowHelp(String),
    CancelJob,
    RunAnalysis,
    ZoomIn,
    ZoomOut,
    ZoomReset,
    ToggleTheme,
    /// Close the window (asks first when there are unsaved changes).
    Quit,
}

impl Command {
    /// Whether the command replaces the current design (and so may lose unsaved changes).
    /// Opening a file asks once the file is chosen.
    pub fn replaces_design(&self) -> bool {
        matches!(
            self,
            Command::NewDesign
                | Command::OpenTemplate(_)
                | Command::OpenTemplateWithData(_)
                | Command::OpenDesign { .. }
                | Command::Quit
        )
    }
}
