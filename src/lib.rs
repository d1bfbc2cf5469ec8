//! emslab: analysis of variance with expected mean squares.
//!
//! The pipeline: [`DesignSpec`] (unchecked) → [`Design`] (checked) → [`ems::derive`]
//! ([`EmsTable`]: subscript table, EMS, tests, estimators) → [`report`] tables, written in
//! every export format by one writer each.

pub mod analysis;
pub mod anova;
pub mod cas;
pub mod chart;
pub mod data;
pub mod design;
pub mod dist;
pub mod ems;
pub mod gauge;
pub mod io;
pub mod means;
pub mod moments;
pub mod notation;
pub mod power;
pub mod reml;
pub mod report;
pub mod simulate;
pub mod unbalanced;

pub use design::{Design, DesignError, DesignSpec};
pub use ems::{EmsTable, Model, derive};
