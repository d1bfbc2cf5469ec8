//! Everything a frame can ask the app to do. Panels push commands while they draw; the app
//! applies them after the frame, so no panel mutates shared state mid-frame.

use std::path::PathBuf;

use emslab::report::Format;
use emslab::{DesignSpec, Model};

use super::app::View;

/// Which document a table belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// `emslab ems`: design, subscripts, EMS, tests, estimators (and derivation steps).
    Ems,
    /// `emslab analyze`: the same plus ANOVA, components, REML.
    Analysis,
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
    SetModel(Model),
    /// The EMS engine (builds with the `symbolica` feature).
    SetEngine(emslab::cas::Engine),
    /// Replace the design (asks first when there are unsaved changes).
    NewDesign,
    OpenTemplate(usize),
    /// A template and its shipped data.
    OpenTemplateWithData(usize),
    OpenDesign(PathBuf),
    SaveDesign,
    /// Open a file dialog; its answer comes back as [`Command::DialogAnswer`].
    Dialog(DialogPurpose),
    DialogAnswer {
        purpose: DialogPurpose,
        path: Option<PathBuf>,
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
                | Command::OpenDesign(_)
                | Command::Quit
        )
    }
}
