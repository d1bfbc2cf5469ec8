//! Cancellation of a running analysis: a flag another thread (the app's Cancel button) sets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::AnalysisError;

/// The flag an analysis checks between and inside its stages; [`Cancel::none`] never
/// cancels.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// Never cancelled (the command line).
    pub fn none() -> Cancel {
        Cancel(None)
    }

    /// Cancelled when `flag` is set.
    pub fn new(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(Some(flag))
    }

    pub fn is_set(&self) -> bool {
        self.0.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// `Err(Cancelled)` when the flag is set.
    pub fn check(&self) -> Result<(), AnalysisError> {
        if self.is_set() {
            Err(AnalysisError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// The flag, for a stage that reads it itself (the REML fit).
    pub fn flag(&self) -> Option<Arc<AtomicBool>> {
        self.0.clone()
    }
}
