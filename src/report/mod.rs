//! Reports: the rows of every result type, and their rendering in each export format.
//!
//! Each result has one builder of [`Table`]s; every format is written from those tables
//! ([`writers`]), except JSON, which follows the report schema of the interface contract.

mod analysis_tables;
mod ems_tables;
mod reml_tables;
mod table;
pub mod writers;

pub use analysis_tables::{AnalysisReport, DataInfo, FactorInfo, analysis_document, analysis_json};
pub use ems_tables::{ems_json, ems_tables};
pub use reml_tables::{inference_json, reml_json, reml_tables};
pub use table::{Align, Cell, Document, Table, fmt_sig, html_escape, latex_escape};
pub use writers::{Format, write_document};

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

/// Renders a document (or one of its tables) in a format. JSON uses `json` when given.
pub fn render(
    doc: &Document,
    json: Option<&serde_json::Value>,
    format: Format,
    table: Option<&str>,
) -> Result<String, String> {
    let doc = match table {
        Some(key) => doc.select(key).ok_or_else(|| {
            format!(
                "no table `{key}` in this report; the tables are: {}",
                doc.keys().join(", ")
            )
        })?,
        None => doc.clone(),
    };
    Ok(match (format, json, table) {
        (Format::Json, Some(v), None) => {
            let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
            s.push('\n');
            s
        }
        _ => write_document(&doc, format),
    })
}
