//! Measurement-system (gauge R&R) studies by the ANOVA method, as Minitab's *Gage R&R Study
//! (Crossed)* and *(Nested)* compute them, with intervals on every row.
//!
//! Parts and operators are random factors whatever the design file says. The crossed study
//! (every operator measures every part `r` times) fits `y = μ + P + O + PO + E`; when the
//! p-value of the interaction test is at least the *alpha to remove*
//! ([`Options::interaction_alpha`], 0.05 as in Minitab) the interaction is pooled into the
//! error and the additive model is used. The nested study (destructive testing: each
//! operator measures parts of their own) fits `y = μ + O + P(O) + E`.
//!
//! The stages are the crate's own: the ANOVA table from the cell means
//! ([`crate::anova::from_cells`], the reduced model by pooling the dropped term), the
//! expected mean squares ([`crate::ems::derive`]) and the method-of-moments estimators with
//! their F tests ([`crate::moments::analyze`]). Each row of the gauge table is a linear
//! combination of those estimators, so its value and its interval ([`intervals`]: Burdick,
//! Borror and Montgomery's modified large-sample formulas) both come from the mean squares.
//!
//! Sources (Minitab's names): Total Gage R&R = Repeatability + Reproducibility;
//! Reproducibility = Operator + Operator*Part; Part-To-Part; Total Variation = Total Gage
//! R&R + Part-To-Part. A negative component is reported as 0 (and said so in a
//! [`GaugeNote`]), and sums add the reported values, as Minitab does.

pub mod intervals;
mod study;

pub use intervals::{ShareMethod, VarcompMethod};
pub use study::{Observations, study};

use crate::anova::AnovaTable;
use crate::design::{Design, DesignError, DesignSpec, Kind, Role};
use crate::moments::TermTest;

/// How the study is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Every operator measures every part.
    Crossed,
    /// Each operator measures parts of their own (destructive tests): parts nested in
    /// operators.
    Nested,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Crossed => "crossed",
            Layout::Nested => "nested",
        }
    }
}

/// The process tolerance that `%Tolerance` divides by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// Upper spec - lower spec, given directly (`--tolerance`).
    Width(f64),
    /// Both specification limits (`--lsl`, `--usl`).
    Limits { lsl: f64, usl: f64 },
}

impl Tolerance {
    /// USL - LSL.
    pub fn width(self) -> f64 {
        match self {
            Tolerance::Width(w) => w,
            Tolerance::Limits { lsl, usl } => usl - lsl,
        }
    }
}

/// What a study is run with (`emslab gauge`'s flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The part factor (overrides `role = "part"` in the design).
    pub part: Option<String>,
    /// The operator factor (overrides `role = "operator"`).
    pub operator: Option<String>,
    /// Study variation = this multiple of the standard deviation (6; 5.15 in older
    /// conventions).
    pub study_var: f64,
    /// The interaction is removed when its p-value is at least this (Minitab: 0.05).
    pub interaction_alpha: f64,
    pub tolerance: Option<Tolerance>,
    /// Confidence level of the intervals (two-sided).
    pub level: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            part: None,
            operator: None,
            study_var: 6.0,
            interaction_alpha: 0.05,
            tolerance: None,
            level: 0.95,
        }
    }
}

/// Why there is no study.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GaugeError {
    #[error(
        "no part factor: name it with --part FACTOR or put `role = \"part\"` on a factor of the design file (its factors: {factors})"
    )]
    NoPart { factors: String },
    #[error(
        "no operator factor: name it with --operator FACTOR or put `role = \"operator\"` on a factor of the design file (its factors: {factors})"
    )]
    NoOperator { factors: String },
    #[error("--{flag} {name}: the design has no factor `{name}`; its factors: {factors}")]
    UnknownFactor {
        flag: &'static str,
        name: String,
        factors: String,
    },
    #[error("`{0}` cannot be both the part and the operator factor")]
    SameFactor(String),
    #[error(
        "the design has factors besides the part and the operator ({0}); a gauge R&R study has exactly these two (`emslab analyze` takes larger designs)"
    )]
    ExtraFactors(String),
    #[error(
        "the operator factor `{operator}` is nested in `{part}`; a nested gauge study has parts nested in operators"
    )]
    OperatorNested { operator: String, part: String },
    #[error("--study-var must be a positive number, not {0}")]
    StudyVar(f64),
    #[error("--interaction-alpha must be between 0 and 1, not {0}")]
    InteractionAlpha(f64),
    #[error("the confidence level must be between 0 and 1, not {0}")]
    Level(f64),
    #[error("--tolerance must be a positive number, not {0}")]
    ToleranceWidth(f64),
    #[error("--lsl {lsl} --usl {usl}: the upper specification limit must exceed the lower")]
    ToleranceLimits { lsl: f64, usl: f64 },
    #[error("the data do not fit the design: {0}")]
    Sizes(#[from] DesignError),
    /// The message of [`crate::data::Dataset::require_balanced`].
    #[error("{0}")]
    Unbalanced(String),
    #[error(
        "every measurement is the same: there is no variation to split into repeatability, reproducibility and parts"
    )]
    NoVariation,
    #[error("the observations were not kept: read the data with `keep_rows`")]
    NoRows,
    #[error("internal error: {0}")]
    Internal(String),
}

/// The design a gauge study reads its data with: the part and operator factors, both
/// random, crossed (part first) or nested (operator first).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub design: Design,
    pub layout: Layout,
    /// Names of the part and operator factors.
    pub part: String,
    pub operator: String,
    /// Factors declared fixed in the design file (taken as random here).
    pub forced_random: Vec<String>,
}

impl Prepared {
    /// Index of the part and the operator factor in [`Prepared::design`].
    pub fn indices(&self) -> (usize, usize) {
        match self.layout {
            Layout::Crossed => (0, 1),
            Layout::Nested => (1, 0),
        }
    }
}

fn factor_list(design: &Design) -> String {
    design
        .factors
        .iter()
        .map(|f| format!("`{}`", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds the factor named by a flag, else the one carrying the role.
fn find_role(
    design: &Design,
    flag: &'static str,
    name: Option<&str>,
    role: Role,
) -> Result<Option<usize>, GaugeError> {
    if let Some(name) = name {
        return design
            .factors
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
            .map(Some)
            .ok_or_else(|| GaugeError::UnknownFactor {
                flag,
                name: name.to_string(),
                factors: factor_list(design),
            });
    }
    Ok(design
        .spec()
        .factors
        .iter()
        .position(|f| f.role == Some(role)))
}

/// Checks the options, finds the part and operator factors (flags first, then roles) and
/// builds the two-factor random design to read the data with.
pub fn prepare(design: &Design, opts: &Options) -> Result<Prepared, GaugeError> {
    check_options(opts)?;
    let part = find_role(design, "part", opts.part.as_deref(), Role::Part)?.ok_or_else(|| {
        GaugeError::NoPart {
            factors: factor_list(design),
        }
    })?;
    let operator = find_role(design, "operator", opts.operator.as_deref(), Role::Operator)?
        .ok_or_else(|| GaugeError::NoOperator {
            factors: factor_list(design),
        })?;
    if part == operator {
        return Err(GaugeError::SameFactor(design.factors[part].name.clone()));
    }
    let extra: Vec<String> = (0..design.factors.len())
        .filter(|&i| i != part && i != operator)
        .map(|i| format!("`{}`", design.factors[i].name))
        .collect();
    if !extra.is_empty() {
        return Err(GaugeError::ExtraFactors(extra.join(", ")));
    }
    let (pf, of) = (&design.factors[part], &design.factors[operator]);
    if of.parents.contains(&part) {
        return Err(GaugeError::OperatorNested {
            operator: of.name.clone(),
            part: pf.name.clone(),
        });
    }
    let layout = if pf.parents.contains(&operator) {
        Layout::Nested
    } else {
        Layout::Crossed
    };
    let src = design.spec();
    let spec_of = |i: usize, role: Role| {
        let mut f = src.factors[i].clone();
        f.kind = Kind::Random;
        f.role = Some(role);
        f
    };
    let (p, o) = (spec_of(part, Role::Part), spec_of(operator, Role::Operator));
    let factors = match layout {
        Layout::Crossed => vec![p, o],
        Layout::Nested => vec![o, p],
    };
    let spec = DesignSpec {
        title: src.title.clone(),
        response: src.response.clone(),
        replicates: src.replicates,
        factors,
        terms: None,
    };
    let forced_random = [pf, of]
        .iter()
        .filter(|f| f.kind == Kind::Fixed)
        .map(|f| f.name.clone())
        .collect();
    Ok(Prepared {
        design: Design::try_from(spec)?,
        layout,
        part: pf.name.clone(),
        operator: of.name.clone(),
        forced_random,
    })
}

#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn check_options(opts: &Options) -> Result<(), GaugeError> {
    if !(opts.study_var > 0.0) || !opts.study_var.is_finite() {
        return Err(GaugeError::StudyVar(opts.study_var));
    }
    if !(opts.interaction_alpha > 0.0 && opts.interaction_alpha < 1.0) {
        return Err(GaugeError::InteractionAlpha(opts.interaction_alpha));
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(GaugeError::Level(opts.level));
    }
    match opts.tolerance {
        Some(Tolerance::Width(w)) if !(w > 0.0) || !w.is_finite() => {
            Err(GaugeError::ToleranceWidth(w))
        }
        Some(Tolerance::Limits { lsl, usl }) if !(usl > lsl) || !(usl - lsl).is_finite() => {
            Err(GaugeError::ToleranceLimits { lsl, usl })
        }
        _ => Ok(()),
    }
}

/// A source of variation in the gauge table, in Minitab's words and order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    TotalGageRr,
    Repeatability,
    Reproducibility,
    Operator,
    OperatorPart,
    PartToPart,
    TotalVariation,
}

impl Source {
    /// Minitab's name (the contract's `source` key).
    pub fn name(self) -> &'static str {
        match self {
            Source::TotalGageRr => "Total Gage R&R",
            Source::Repeatability => "Repeatability",
            Source::Reproducibility => "Reproducibility",
            Source::Operator => "Operator",
            Source::OperatorPart => "Operator*Part",
            Source::PartToPart => "Part-To-Part",
            Source::TotalVariation => "Total Variation",
        }
    }

    /// Indentation level in Minitab's table (Repeatability under Total Gage R&R, ...).
    pub fn depth(self) -> usize {
        match self {
            Source::Repeatability | Source::Reproducibility => 1,
            Source::Operator | Source::OperatorPart => 2,
            _ => 0,
        }
    }
}

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub lower: f64,
    pub upper: f64,
}

/// The intervals of one row at [`GaugeStudy::level`] ([`intervals`]): the variance
/// component (with the SD, study variation and %Tolerance transformed from it) and the
/// share of the total (%Contribution, and %Study Var from it), each with the formula used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowIntervals {
    pub varcomp: Bounds,
    /// The formula of `varcomp`, `sd`, `study_var` and `pct_tolerance`.
    pub varcomp_method: VarcompMethod,
    /// `None` for Total Variation (its share is 100% by definition).
    pub pct_contribution: Option<Bounds>,
    /// The formula of `pct_contribution` and `pct_study_var`.
    pub share_method: Option<ShareMethod>,
    pub sd: Bounds,
    pub study_var: Bounds,
    pub pct_study_var: Option<Bounds>,
    pub pct_tolerance: Option<Bounds>,
}

/// The interval on √2 × SD(Part-To-Part) / SD(Total Gage R&R), the number of distinct
/// categories before truncation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NdcInterval {
    pub bounds: Bounds,
    pub method: ShareMethod,
}

/// One row of the gauge table.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeRow {
    pub source: Source,
    /// The variance component as reported (negative estimates as 0, sums of reported
    /// values).
    pub varcomp: f64,
    /// The value of the row's combination of mean squares before any zeroing.
    pub computed: f64,
    /// The combination of mean squares (row of the final ANOVA table, weight).
    pub combination: Vec<(usize, f64)>,
    pub pct_contribution: f64,
    pub sd: f64,
    pub study_var: f64,
    pub pct_study_var: f64,
    pub pct_tolerance: Option<f64>,
    pub ci: Option<RowIntervals>,
}

/// Whether the operator x part interaction stayed in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionStatus {
    Kept,
    Removed,
}

impl InteractionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionStatus::Kept => "kept",
            InteractionStatus::Removed => "removed",
        }
    }
}

/// The decision about the interaction in a crossed study.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    pub status: InteractionStatus,
    /// p-value of `MS(PO) / MS(E)`; `None` when it cannot be tested (one replicate, or no
    /// repeatability variation).
    pub p: Option<f64>,
    pub alpha: f64,
}

/// AIAG's acceptance bands (Measurement Systems Analysis reference manual, 4th ed.): for
/// %Study Var and %Tolerance under 10% acceptable, 10-30% acceptable depending on the
/// application, over 30% unacceptable; for %Contribution 1% and 9%; for the number of
/// distinct categories, 5 or more adequate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    Acceptable,
    /// May be acceptable, depending on the application, the cost of the gauge, ...
    Marginal,
    Unacceptable,
}

impl Acceptance {
    pub fn as_str(self) -> &'static str {
        match self {
            Acceptance::Acceptable => "acceptable",
            Acceptance::Marginal => "marginal",
            Acceptance::Unacceptable => "unacceptable",
        }
    }

    /// %Study Var or %Tolerance of the Total Gage R&R.
    pub fn of_pct_study_var(pct: f64) -> Acceptance {
        Self::band(pct, 10.0, 30.0)
    }

    /// %Contribution of the Total Gage R&R (the squares of the %Study Var bands).
    pub fn of_pct_contribution(pct: f64) -> Acceptance {
        Self::band(pct, 1.0, 9.0)
    }

    /// The number of distinct categories: at least 5 adequate; 2-4 distinguish a few
    /// groups; below 2 of no value for process control.
    pub fn of_ndc(ndc: u64) -> Acceptance {
        match ndc {
            5.. => Acceptance::Acceptable,
            2..=4 => Acceptance::Marginal,
            _ => Acceptance::Unacceptable,
        }
    }

    fn band(pct: f64, good: f64, bad: f64) -> Acceptance {
        if pct < good {
            Acceptance::Acceptable
        } else if pct <= bad {
            Acceptance::Marginal
        } else {
            Acceptance::Unacceptable
        }
    }
}

/// The measurement system against AIAG's bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    pub pct_study_var: Acceptance,
    pub pct_contribution: Acceptance,
    pub pct_tolerance: Option<Acceptance>,
    pub ndc: Option<Acceptance>,
}

/// What a reader of the study should know; words are in `src/report`.
#[derive(Debug, Clone, PartialEq)]
pub enum GaugeNote {
    /// A variance component came out negative and is reported as 0.
    NegativeComponent { source: Source, computed: f64 },
    /// The interaction's p-value is at least alpha: pooled into repeatability.
    InteractionRemoved { p: f64, alpha: f64 },
    /// The interaction's p-value is below alpha: kept.
    InteractionKept { p: f64, alpha: f64 },
    /// One measurement per cell: the interaction cannot be told from repeatability, so
    /// the additive model is fitted.
    InteractionUntestable,
    /// No repeatability variation, so the interaction test has no denominator; kept.
    InteractionNoTest,
    /// The design file declared these factors fixed; a gauge study takes them random.
    ForcedRandom(Vec<String>),
    /// √2 × SD(parts) / SD(gauge) was below 1: the number of distinct categories is set to 1.
    NdcRaisedToOne { value: f64 },
    /// The gauge variance is 0: the number of distinct categories is unbounded.
    NdcUndefined,
}

/// An ANOVA table of the study with its F tests.
#[derive(Debug, Clone, PartialEq)]
pub struct AnovaWithTests {
    pub anova: AnovaTable,
    /// One per row of `anova.rows`.
    pub tests: Vec<TermTest>,
}

/// A gauge R&R study.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeStudy {
    pub layout: Layout,
    pub part: String,
    pub operator: String,
    /// Parts (per operator, in a nested study), operators, replicates.
    pub n_parts: u32,
    pub n_operators: u32,
    pub replicates: u64,
    pub n_observations: u64,
    /// The full model's ANOVA (with the interaction, in a crossed study).
    pub full: AnovaWithTests,
    /// The model without the interaction, when it was removed.
    pub reduced: Option<AnovaWithTests>,
    pub interaction: Option<Interaction>,
    pub study_var: f64,
    pub tolerance: Option<Tolerance>,
    pub level: f64,
    pub rows: Vec<GaugeRow>,
    /// √2 × SD(Part-To-Part) / SD(Total Gage R&R), before truncation.
    pub ndc_value: Option<f64>,
    /// Truncated, at least 1 (Minitab).
    pub ndc: Option<u64>,
    /// Bounds on √2 × SD(parts)/SD(gauge): from the book's interval on `γ_P/γ_M` (crossed),
    /// from the interval on the gauge share (nested; `None` when its lower bound is 0).
    pub ndc_ci: Option<NdcInterval>,
    pub assessment: Assessment,
    pub notes: Vec<GaugeNote>,
    /// The measurements themselves, for the charts.
    pub observations: Observations,
}

impl GaugeStudy {
    pub fn row(&self, source: Source) -> Option<&GaugeRow> {
        self.rows.iter().find(|r| r.source == source)
    }

    /// The ANOVA the gauge table comes from.
    pub fn final_anova(&self) -> &AnovaWithTests {
        self.reduced.as_ref().unwrap_or(&self.full)
    }
}
