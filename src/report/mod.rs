//! Reports: the rows of every result type, and their rendering in each export format.
//!
//! Each result has one builder of [`Table`]s; every format is written from those tables
//! ([`writers`]), except JSON, which follows the report schema of the interface contract.

mod analysis_tables;
pub mod data_notes;
mod ems_tables;
mod engine_tables;
pub mod gauge_tables;
pub mod json;
pub mod means_tables;
pub mod power_tables;
mod reml_tables;
pub mod reml_words;
mod table;
mod unbalanced_tables;
pub mod words;
pub mod writers;

pub use analysis_tables::{
    AnalysisJson, AnalysisReport, analysis_document, analysis_report, coding_text,
};
pub use ems_tables::ems_tables;
pub use engine_tables::{EngineJson, ems_report, engine_document, solutions_table};
pub use json::{EmsJson, ems_json};
pub use reml_tables::{InferenceJson, RemlJson, reml_tables};
pub use table::{Align, Cell, Document, Table, fmt_sig, html_escape, latex_escape};
pub use unbalanced_tables::{
    combination_text, no_test_text, unbalanced_document, unbalanced_note_text, unbalanced_tables,
};
pub use writers::{Format, write_document};

use std::io::Write;

use serde::Serialize;

use crate::ems::EmsTable;

/// What to put in an EMS report.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmsOptions {
    /// Include the step-by-step derivation of every EMS from the subscript table.
    pub steps: bool,
}

/// The document of `emslab ems`: design, subscript table, EMS, tests, estimators.
pub fn ems_document(table: &EmsTable, opts: EmsOptions) -> Document {
    let d = &table.design;
    let title = if d.title.is_empty() {
        "Expected mean squares".to_string()
    } else {
        d.title.clone()
    };
    Document {
        title,
        preamble: vec![format!(
            "Model: {} ({}). emslab {}.",
            table.model.as_str(),
            model_blurb(table.model),
            env!("CARGO_PKG_VERSION")
        )],
        tables: ems_tables(table, opts),
    }
}

pub fn model_blurb(model: crate::Model) -> &'static str {
    match model {
        crate::Model::Restricted => {
            "textbook rules as in Montgomery: mixed interactions sum to zero over fixed levels"
        }
        crate::Model::Unrestricted => {
            "as SAS, lme4 and Minitab GLM: every random effect independent"
        }
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no table `{key}` in this report; the tables are: {keys}")]
    NoTable { key: String, keys: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes a document (or one of its tables, `table`) in a format; JSON of the whole
/// report is `json`, serialized as it is written.
pub fn write_report<J: Serialize + ?Sized>(
    out: &mut dyn Write,
    doc: &Document,
    json: &J,
    format: Format,
    table: Option<&str>,
) -> Result<(), RenderError> {
    let selected;
    let doc = match table {
        Some(key) => {
            selected = doc.select(key).ok_or_else(|| RenderError::NoTable {
                key: key.to_string(),
                keys: doc.keys().join(", "),
            })?;
            &selected
        }
        None => doc,
    };
    if let (Format::Json, None) = (format, table) {
        return Ok(write_json(out, json)?);
    }
    let mut out = std::io::BufWriter::new(out);
    out.write_all(write_document(doc, format).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The JSON report alone, serialized as it is written (no document is built: a large
/// design's report streams in memory that does not grow with it).
pub fn write_json<J: Serialize + ?Sized>(out: &mut dyn Write, json: &J) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, json).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// [`write_report`] into a string (the app's exports and copies, tests).
pub fn render<J: Serialize + ?Sized>(
    doc: &Document,
    json: &J,
    format: Format,
    table: Option<&str>,
) -> Result<String, RenderError> {
    let mut buf = Vec::new();
    write_report(&mut buf, doc, json, format, table)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
