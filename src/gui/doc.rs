//! The design being edited: its spec, where it lives on disk, whether it has unsaved
//! changes, and its undo/redo history (snapshots of the spec).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use emslab::cas::EngineOutput;
use emslab::means::Precision;
use emslab::report::{self, Document, EmsOptions, Table};
use emslab::{Design, DesignError, DesignSpec, EmsTable, Model};

use super::command::EditKey;

/// Typing in one field within this long of the previous keystroke is one undo step.
const COALESCE: Duration = Duration::from_millis(1500);
/// Undo steps kept.
const HISTORY: usize = 500;

pub struct DesignDoc {
    pub spec: DesignSpec,
    /// The file the design was opened from or saved to.
    pub path: Option<PathBuf>,
    /// The template it came from, when not from a file.
    pub template: Option<String>,
    /// The spec as last saved or opened (`None`: never saved).
    saved: Option<DesignSpec>,
    undo: Vec<DesignSpec>,
    redo: Vec<DesignSpec>,
    last_edit: Option<(EditKey, Instant)>,
}

impl Default for DesignDoc {
    fn default() -> Self {
        DesignDoc::new(DesignSpec::default(), None, None)
    }
}

impl DesignDoc {
    /// A document for a spec; `path` when it was read from that file (then it is saved).
    pub fn new(spec: DesignSpec, path: Option<PathBuf>, template: Option<String>) -> DesignDoc {
        let saved = (path.is_some() || template.is_some()).then(|| spec.clone());
        DesignDoc {
            spec,
            path,
            template,
            saved,
            undo: Vec::new(),
            redo: Vec::new(),
            last_edit: None,
        }
    }

    /// Applies an edit, recording an undo step unless it continues the previous typing.
    pub fn edit(&mut self, spec: DesignSpec, key: EditKey) {
        if spec == self.spec {
            return;
        }
        let now = Instant::now();
        let continues = matches!(
            (&self.last_edit, &key),
            (Some((EditKey::Field(a), t)), EditKey::Field(b)) if a == b && now.duration_since(*t) < COALESCE
        );
        if !continues {
            self.undo.push(self.spec.clone());
            if self.undo.len() > HISTORY {
                self.undo.remove(0);
            }
        }
        self.redo.clear();
        self.spec = spec;
        self.last_edit = match key {
            EditKey::Field(_) => Some((key, now)),
            EditKey::Discrete => None,
        };
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) -> bool {
        match self.undo.pop() {
            Some(prev) => {
                self.redo.push(std::mem::replace(&mut self.spec, prev));
                self.last_edit = None;
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self) -> bool {
        match self.redo.pop() {
            Some(next) => {
                self.undo.push(std::mem::replace(&mut self.spec, next));
                self.last_edit = None;
                true
            }
            None => false,
        }
    }

    /// Whether closing would lose work: the spec differs from what was saved or opened
    /// (a new design counts once it has a factor).
    pub fn is_dirty(&self) -> bool {
        match &self.saved {
            Some(s) => *s != self.spec,
            None => self.spec != DesignSpec::default(),
        }
    }

    /// Marks the design as not saved (restored from a session whose file is gone).
    pub fn mark_unsaved(&mut self) {
        self.saved = Some(DesignSpec::default());
        if self.spec == DesignSpec::default() {
            self.saved = None;
        }
    }

    pub fn mark_saved(&mut self, path: &Path) {
        self.path = Some(path.to_path_buf());
        self.saved = Some(self.spec.clone());
    }

    /// The name shown in the window title.
    pub fn display_name(&self) -> String {
        let base = match (&self.path, &self.template) {
            (Some(p), _) => p.file_name().map_or_else(
                || p.display().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
            (None, Some(t)) => format!("{t} (template)"),
            (None, None) => "untitled design".to_string(),
        };
        if self.is_dirty() {
            format!("{base} •")
        } else {
            base
        }
    }

    /// A file name to offer in save dialogs.
    pub fn suggested_stem(&self) -> String {
        if let Some(stem) = self.path.as_ref().and_then(|p| p.file_stem()) {
            return stem.to_string_lossy().into_owned();
        }
        if let Some(t) = &self.template {
            return t.clone();
        }
        let slug: String = self
            .spec
            .title
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let slug = slug.trim_matches('_').to_string();
        if slug.is_empty() {
            "design".into()
        } else {
            slug
        }
    }
}

/// Everything derived from the spec and the model: recomputed on every edit (a derivation
/// takes microseconds for textbook designs and milliseconds for ten factors).
pub struct Derived {
    pub design: Result<Design, DesignError>,
    /// The design with the full term list (every term the factors allow), for the term
    /// checkboxes; `None` when the factors themselves are invalid.
    pub full: Option<Design>,
    pub ems: Option<EmsTable>,
    /// The engine's output behind `ems` (which engine, Symbolica's solutions).
    pub output: Option<EngineOutput>,
    /// The `emslab ems` document of the design, as the command line builds it.
    pub document: Option<Document>,
    /// The derivation of every E(MS) as one table (`--steps`): built on first use, as it
    /// grows as 3^factors rows.
    steps: std::cell::OnceCell<Option<Table>>,
    /// The precision of means of `ems` (the rows of the document's precision table): built
    /// on first use.
    precision: std::cell::OnceCell<Option<Precision>>,
}

impl Derived {
    pub fn compute(spec: &DesignSpec, model: Model) -> Derived {
        let design = Design::try_from(spec.clone());
        // The full model may have no Residual df (one run per cell): the term list is
        // then read with the replicates left to the data, so that the checkboxes that drop
        // a term are there.
        let full = match &design {
            Ok(d) if spec.terms.is_none() => Some(d.clone()),
            _ => Design::try_from(DesignSpec {
                terms: None,
                ..spec.clone()
            })
            .or_else(|_| {
                Design::try_from(DesignSpec {
                    terms: None,
                    replicates: None,
                    ..spec.clone()
                })
            })
            .ok(),
        };
        let output = design
            .as_ref()
            .ok()
            .map(|d| EngineOutput::builtin(d, model));
        let mut derived = Derived {
            design,
            full,
            ems: None,
            document: None,
            output: None,
            steps: std::cell::OnceCell::new(),
            precision: std::cell::OnceCell::new(),
        };
        if let Some(out) = output {
            derived.set_output(out);
        }
        derived
    }

    /// Shows an engine's table (and, from Symbolica, its solutions) in place of the current one.
    pub fn set_output(&mut self, out: EngineOutput) {
        let document = emslab::report::engine_document(&out, EmsOptions { steps: false });
        self.ems = Some(out.table.clone());
        self.document = Some(document);
        self.output = Some(out);
        self.steps = std::cell::OnceCell::new();
        self.precision = std::cell::OnceCell::new();
    }

    /// The precision of means of the EMS table (typed rows of its precision table).
    pub fn precision(&self) -> Option<&Precision> {
        self.precision
            .get_or_init(|| self.ems.as_ref().map(emslab::means::precision::derive))
            .as_ref()
    }

    /// The `--steps` table of every derivation.
    pub fn steps_table(&self) -> Option<&Table> {
        self.steps
            .get_or_init(|| {
                let t = self.ems.as_ref()?;
                report::ems_tables(t, EmsOptions { steps: true })
                    .into_iter()
                    .find(|x| x.key == "derivation")
            })
            .as_ref()
    }
}
