//! The data file of the current design: where it is, its first rows, the columns chosen
//! for it, and what was read from it (or why not). One value per file and read: opening
//! another file, another design, or reading again replaces it whole, so nothing of an
//! earlier file (its rows, its balance, its response column) can show under a new name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use emslab::data::{DataError, Dataset, ReadOptions};
use emslab::{Design, DesignSpec};

use super::jobs::{CANCELLED, Job, ProgressReader};

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 20;

/// The header and first rows of a CSV, as the data module reads them (its delimiter
/// sniffing and tokenizer).
pub use emslab::data::Preview;

/// Reads the header and the first rows of a CSV.
pub fn preview(path: &Path) -> Result<Preview, String> {
    emslab::data::preview(path, PREVIEW_ROWS).map_err(|e| e.to_string())
}

/// The parts of a design the CSV reader uses: data read for one design fit another with
/// the same key (a new title does not ask for a new read; new levels do).
pub fn reading_key(spec: &DesignSpec) -> String {
    let factors: Vec<String> = spec
        .factors
        .iter()
        .map(|f| format!("{}|{:?}|{}", f.name, f.levels, f.nested_in.join(",")))
        .collect();
    format!(
        "{};{:?};{:?}",
        factors.join(";"),
        spec.replicates,
        spec.response
    )
}

/// What became of the read.
pub enum ReadState {
    Reading(Job<Result<Dataset, DataError>>),
    /// Read, and fits the design (its level counts, its replicates).
    Loaded(Arc<Dataset>),
    /// Why the file could not be used.
    Failed(String),
}

/// A data file, as read for a design.
pub struct DataFile {
    pub path: PathBuf,
    pub preview: Result<Preview, String>,
    /// The response column chosen in the Data view (overrides the design's).
    pub response: Option<String>,
    /// Columns chosen for factors (factor, column); other factors match by name.
    pub columns: Vec<(String, String)>,
    pub state: ReadState,
    /// The design the file was read for ([`reading_key`]).
    pub key: String,
    /// Identifies this read (a new number for every read, of any file): an analysis
    /// records the read it ran on.
    pub read_id: u64,
}

impl DataFile {
    /// Starts reading `path` for `design`, with the columns chosen so far for it.
    pub fn open(
        path: PathBuf,
        design: &Design,
        response: Option<String>,
        columns: Vec<(String, String)>,
        read_id: u64,
        ctx: &egui::Context,
    ) -> DataFile {
        let preview = preview(&path);
        let key = reading_key(design.spec());
        let state = match start_read(&path, design, &response, &columns, ctx) {
            Ok(job) => ReadState::Reading(job),
            Err(e) => ReadState::Failed(e),
        };
        DataFile {
            path,
            preview,
            response,
            columns,
            state,
            key,
            read_id,
        }
    }

    /// The dataset, once read (and only while it is the design's: `stale` says when the
    /// design changed since).
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        match &self.state {
            ReadState::Loaded(d) => Some(d),
            _ => None,
        }
    }

    pub fn is_reading(&self) -> bool {
        matches!(self.state, ReadState::Reading(_))
    }

    pub fn job(&self) -> Option<&Job<Result<Dataset, DataError>>> {
        match &self.state {
            ReadState::Reading(j) => Some(j),
            _ => None,
        }
    }

    /// Whether the design changed, since the read, in what the reader uses.
    pub fn stale(&self, spec: Option<&DesignSpec>) -> bool {
        spec.is_none_or(|s| reading_key(s) != self.key)
    }

    /// Stops the read; the file is not loaded.
    pub fn cancel(&mut self) {
        if let ReadState::Reading(j) = &self.state {
            j.cancel();
            self.state =
                ReadState::Failed("Reading was cancelled; the data were not loaded.".into());
        }
    }

    /// Collects a finished read; `true` when the state changed.
    pub fn poll(&mut self, design: Option<&Design>) -> bool {
        let ReadState::Reading(job) = &mut self.state else {
            return false;
        };
        let Some(out) = job.poll() else { return false };
        let cancelled = job.is_cancelled();
        self.state = match out {
            Ok(Ok(ds)) => match design.map(|d| ds.sized_design(d)) {
                Some(Ok(_)) => ReadState::Loaded(Arc::new(ds)),
                Some(Err(e)) => ReadState::Failed(format!("The data do not fit the design: {e}")),
                None => ReadState::Failed(
                    "The design has a problem: fix it on the Design view, then read the data again."
                        .into(),
                ),
            },
            Ok(Err(e)) if cancelled || e.to_string().contains(CANCELLED) => {
                ReadState::Failed("Reading was cancelled; the data were not loaded.".into())
            }
            Ok(Err(e)) => ReadState::Failed(e.to_string()),
            Err(()) => ReadState::Failed("Reading the data failed unexpectedly (the worker stopped).".into()),
        };
        true
    }
}

// `DataError` is the library's error type, returned as is.
#[allow(clippy::result_large_err)]
fn start_read(
    path: &Path,
    design: &Design,
    response: &Option<String>,
    columns: &[(String, String)],
    ctx: &egui::Context,
) -> Result<Job<Result<Dataset, DataError>>, String> {
    let design = design.clone();
    let opts = ReadOptions {
        response: response.clone(),
        columns: columns.to_vec(),
        keep_rows: true,
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let path = path.to_path_buf();
    Job::spawn(format!("Reading {name}"), ctx, move |progress| {
        let source = path.display().to_string();
        let file = std::fs::File::open(&path).map_err(|e| DataError::io(&source, &e))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let reader = ProgressReader::new(std::io::BufReader::new(file), size, progress.clone());
        emslab::data::read_csv_from(reader, &source, &design, &opts)
    })
}

/// The column a factor reads: the one chosen for it, else the one named as it (ignoring case).
pub fn column_of(header: &[String], chosen: &[(String, String)], factor: &str) -> Option<usize> {
    let name = chosen
        .iter()
        .rev()
        .find(|(f, _)| f.eq_ignore_ascii_case(factor))
        .map_or(factor, |(_, c)| c.as_str());
    header.iter().position(|h| h.eq_ignore_ascii_case(name))
}
