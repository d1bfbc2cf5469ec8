//! Unbalanced data: Type III and Type I sums of squares, their expected mean squares with
//! numeric coefficients, the F tests built from them, and moment estimates of the variance
//! components, as SAS GLM (`RANDOM / TEST`), SAS MIXED (`METHOD=TYPE3`), SAS VARCOMP
//! (`METHOD=TYPE1`) and R's `car::Anova(type = 3)`, `anova(lm)` and VCA's `anovaVCA` give
//! them.
//!
//! Everything is computed on the cell level ([`layout`]): observations enter through the
//! cell counts, cell means and within-cell sums of squares of [`Cells`], never row by row.
//!
//! - **Sums of squares** ([`sums`]): a Householder QR of the weighted cell-level model
//!   matrix, columns coded with orthonormal sum-to-zero contrasts (R's coding rule for
//!   formulas, so nested factors sum to zero within each parent cell and a term whose margin
//!   was dropped carries it). Type I: sequential, in the order of the term list with fixed
//!   terms first and every term after the terms it contains (R's order of a formula; SAS
//!   VARCOMP wants fixed effects first). Type III: the hypothesis that a term's
//!   sum-to-zero effects are zero in the full model (car with `contr.sum`; SAS's Type III
//!   when every cell holds data): the hypothesis is a property of the model, not of the
//!   contrasts chosen, since any contrasts with the same span give the same SS. The
//!   Residual is the within-cell SS plus the lack of fit of the cells the model does not
//!   saturate.
//! - **Expected mean squares** ([`expectations`]): the trace form
//!   `E(MS_T) = σ² + Σ_k tr(Z_k' A_T Z_k)/df_T σ²_k (+ fixed part)` in the unrestricted
//!   model (every random effect independent, as SAS fits it, whatever the analysis's
//!   `--model`), computed from cell-level matrices.
//! - **Tests and components** ([`inference`]): the EMS equations solved by the
//!   back-substitution of [`crate::moments::System`]; an exact F test where one mean square
//!   has the EMS without the term's component, otherwise a synthetic denominator with
//!   Satterthwaite df; moment estimates with Satterthwaite intervals.
//! - **Empty cells**: Type III rows of terms contained in a term with an empty cell are
//!   left out (programs disagree there: SAS's Type III and Type IV, and R's `contr.sum`
//!   test different hypotheses), with a note; Type I rows remain, with their reduced df.
//!
//! ```
//! use emslab::Design;
//! use emslab::data::CellAccumulator;
//! use emslab::unbalanced::{self, SsType, UnbalancedOptions};
//! let d = Design::from_toml_str(r#"
//!     [[factors]]
//!     name = "A"
//!     kind = "fixed"
//!     [[factors]]
//!     name = "B"
//!     kind = "random"
//! "#).unwrap();
//! let mut acc = CellAccumulator::new(vec![2, 3]);
//! let data = [(0, 0, 4.0), (0, 0, 6.0), (0, 1, 7.0), (0, 2, 9.0), (0, 2, 8.0),
//!             (1, 0, 3.0), (1, 1, 6.0), (1, 1, 5.0), (1, 2, 5.0), (1, 2, 7.0), (1, 2, 6.0)];
//! for (a, b, y) in data {
//!     acc.push(&[a, b], y);
//! }
//! let opts = UnbalancedOptions { ss_type: SsType::III, alpha: 0.05 };
//! let fit = unbalanced::analyze(&d, &acc.finish(), &opts).unwrap();
//! assert!(!fit.balanced);
//! let names: Vec<&str> = fit.terms.iter().map(|r| r.term.as_str()).collect();
//! assert_eq!(names, ["A", "B", "A:B", "Residual"]);
//! // Type III SS of A (car::Anova(lm(y ~ A * B, contrasts = contr.sum), type = 3)).
//! assert!((fit.terms[0].ss - 9.391304347826).abs() < 1e-9);
//! assert!((fit.terms[1].ss - 18.157894736842).abs() < 1e-9);
//! assert_eq!(fit.terms[3].df, 5);
//! ```

mod expectations;
mod inference;
mod layout;
mod qr;
mod sums;

use serde::{Deserialize, Serialize, Serializer};

use crate::data::Cells;
use crate::design::{Design, Kind};
use crate::ems::{Model, TestKind};
use crate::moments::Interval;

use layout::Layout;
use sums::CellModel;

/// Which sums of squares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SsType {
    /// Sequential: each term adjusted for the terms before it.
    #[serde(rename = "I")]
    I,
    /// Each term adjusted for every other term (sum-to-zero hypotheses).
    #[default]
    #[serde(rename = "III")]
    III,
}

impl SsType {
    pub fn as_str(self) -> &'static str {
        match self {
            SsType::I => "I",
            SsType::III => "III",
        }
    }
}

/// Options of the unbalanced analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnbalancedOptions {
    pub ss_type: SsType,
    /// 1 - confidence level of the intervals (two-sided).
    pub alpha: f64,
}

impl Default for UnbalancedOptions {
    fn default() -> UnbalancedOptions {
        UnbalancedOptions {
            ss_type: SsType::III,
            alpha: 0.05,
        }
    }
}

/// A sum of squares with its df.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SsPart {
    pub df: u64,
    pub ss: f64,
}

/// A mean square in a combination: `weight × MS(term)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MsWeight {
    pub term: String,
    pub weight: f64,
    /// Index into [`UnbalancedAnova::terms`].
    #[serde(skip)]
    pub row: usize,
}

/// One component of an expected mean square: `coefficient × σ²(component)`, or for a fixed
/// term the coefficient of its quadratic form (see [`UnbalancedNote::FixedEffectCoefficients`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmsCoefficient {
    /// A term's name, or `Residual` for σ².
    pub component: String,
    pub coefficient: f64,
    /// Whether the component is a variance (`random`) or a fixed effect's quadratic form.
    pub kind: Kind,
}

/// Why a term has no F test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoTestReason {
    /// The Residual is the error term.
    ErrorTerm,
    /// The term has no degrees of freedom.
    NotEstimable,
    /// The EMS holds the fixed effect of `term`, which no other mean square removes.
    FixedEffect { term: String },
    /// The mean square of `term` that the denominator needs has 0 df.
    ZeroDf { term: String },
    /// The EMS has no component other than the term's own.
    NoOtherComponent,
    /// The term was pooled into `into` (not done by this analysis; kept for completeness).
    Pooled { into: String },
}

/// F″ of a quasi test (mean squares moved so that every weight is positive).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuasiAlternative {
    /// `F''`.
    pub form: &'static str,
    pub numerator: Vec<MsWeight>,
    pub denominator: Vec<MsWeight>,
    pub df_num: f64,
    pub df_den: f64,
    pub f: f64,
    pub p: f64,
}

/// The F test of one row, built from the expected mean squares (SAS GLM `RANDOM / TEST`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowTest {
    /// `exact`: one mean square has the EMS without the term's component; `quasi`: a
    /// synthetic denominator with Satterthwaite df; `none`: see `reason`.
    pub kind: TestKind,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denominator: Vec<MsWeight>,
    pub df_num: Option<u64>,
    pub df_den: Option<f64>,
    pub denominator_ms: Option<f64>,
    pub f: Option<f64>,
    pub p: Option<f64>,
    /// A synthetic denominator that came out zero or negative: no F′ (F″ is given).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negative_denominator: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<QuasiAlternative>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<NoTestReason>,
}

/// One row of the table: a model term or the Residual.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SsRow {
    pub term: String,
    pub kind: Kind,
    pub df: u64,
    /// The df the term would have with every cell of it holding data (its coding's
    /// columns); more than `df` when empty cells or confounding remove some.
    pub df_complete: u64,
    pub ss: f64,
    /// `None` when df is 0.
    pub ms: Option<f64>,
    /// From σ² up: Residual, then the terms with the most factors first.
    pub ems: Vec<EmsCoefficient>,
    pub test: RowTest,
    /// Index into the design's terms (`None` for the Residual).
    #[serde(skip)]
    pub design_term: Option<usize>,
}

/// A moment estimate of a variance component: `Σ weight × MS` (SAS MIXED `METHOD=TYPE3`
/// with Type III, VARCOMP `METHOD=TYPE1` with Type I).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MomentComponent {
    pub term: String,
    /// As computed (may be negative: a note says so).
    pub estimate: f64,
    pub combination: Vec<MsWeight>,
    /// The component's coefficient in its own EMS.
    pub divisor: f64,
    pub satterthwaite_df: f64,
    /// `sqrt(2 Σ a² MS² / (df + 2))`.
    pub se: f64,
    /// Exact chi-square (Residual) or Satterthwaite; `None` when the estimate is not
    /// positive.
    #[serde(serialize_with = "serialize_interval")]
    pub ci: Option<Interval>,
    /// Modified large-sample interval, for a combination of several mean squares.
    #[serde(serialize_with = "serialize_interval")]
    pub mls: Option<Interval>,
    /// Index into [`UnbalancedAnova::terms`].
    #[serde(skip)]
    pub row: usize,
}

/// Something the report says about an unbalanced analysis (words in `crate::report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum UnbalancedNote {
    /// The EMS, tests and estimates use the unrestricted model, whatever `--model` says.
    UnrestrictedModel,
    /// The EMS coefficient of a fixed term's own component is the trace form, the average
    /// multiplier of `Σ effects² / df` over directions of its effects: exact on balanced
    /// data (Montgomery's `b n`), an average on unbalanced data.
    FixedEffectCoefficients,
    /// The sequential order of Type I differs from the term list.
    SequentialOrder { order: Vec<String> },
    /// `empty` of the term's `expected` level combinations hold no data.
    EmptyCells {
        term: String,
        empty: u64,
        expected: u64,
    },
    /// The Type III row of `term` is left out: `because` contains it and has empty cells.
    TypeIiiLeftOut { term: String, because: String },
    /// The term's df are below those of complete data.
    ReducedDf {
        term: String,
        df: u64,
        df_complete: u64,
    },
    /// The term has no degrees of freedom: nothing about it is estimable.
    NotEstimable { term: String },
    /// The Residual has no degrees of freedom.
    NoResidualDf,
    /// A synthetic denominator came out zero or negative.
    NegativeDenominator { term: String, value: f64 },
    /// A negative moment estimate, reported as computed.
    NegativeEstimate { term: String, estimate: f64 },
    /// No moment estimate of a random term's variance.
    NoEstimate {
        term: String,
        reason: Option<NoTestReason>,
    },
}

/// The analysis of unbalanced data under one type of sums of squares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnbalancedAnova {
    pub ss_type: SsType,
    /// Whether every cell holds the same number of observations.
    pub balanced: bool,
    /// Always [`Model::Unrestricted`].
    pub model: Model,
    pub alpha: f64,
    pub n_observations: u64,
    /// Cells that hold data.
    pub n_cells: usize,
    /// Type I: the sequential order of the terms.
    pub order: Vec<String>,
    /// The rows: model terms (Type III: in the design's order; Type I: in the sequential
    /// order), then the Residual.
    pub terms: Vec<SsRow>,
    /// One per random term with an estimate, then the Residual.
    pub components: Vec<MomentComponent>,
    /// The within-cell part of the Residual.
    pub pure_error: SsPart,
    /// The part of the Residual from cell means the model does not fit.
    pub lack_of_fit: SsPart,
    /// Corrected total.
    pub total: SsPart,
    pub notes: Vec<UnbalancedNote>,
}

impl UnbalancedAnova {
    /// The row of a term (or `Residual`) by name.
    pub fn row(&self, term: &str) -> Option<&SsRow> {
        self.terms.iter().find(|r| r.term == term)
    }

    /// The moment estimate of a component by name.
    pub fn component(&self, term: &str) -> Option<&MomentComponent> {
        self.components.iter().find(|c| c.term == term)
    }
}

/// Why the cell-level analysis cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnbalancedError {
    #[error("the cell table has {cells} factors, the design {design}")]
    FactorMismatch { design: usize, cells: usize },
    #[error(
        "the data fill only a small part of the table of cells, which was not built; the sums of squares need the table"
    )]
    NoCellTable,
    #[error("there are no observations")]
    NoData,
    #[error("a cell mean or within-cell sum of squares is not a finite number")]
    NotFinite,
    #[error(
        "the cell-level model has {cells} cells with data and {columns} columns, more than the {max} matrix entries supported",
        max = layout::MAX_MATRIX_ENTRIES
    )]
    TooLarge { cells: usize, columns: usize },
}

fn serialize_interval<S: Serializer>(ci: &Option<Interval>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Ci {
        method: &'static str,
        level: f64,
        lower: f64,
        upper: f64,
        lower_clipped: bool,
        upper_clipped: bool,
    }
    ci.map(|i| Ci {
        method: i.method.as_str(),
        level: i.level,
        lower: i.lower,
        upper: i.upper,
        lower_clipped: i.lower_clipped,
        upper_clipped: i.upper_clipped,
    })
    .serialize(s)
}

/// The sequential (Type I) order: the term list with fixed terms first and each term after
/// the terms it contains (stable: ties keep the term list's order).
pub fn sequential_order(design: &Design) -> Vec<usize> {
    let mut order: Vec<usize> = (0..design.terms.len()).collect();
    order.sort_by_key(|&t| (design.terms[t].random, design.terms[t].subscripts.len()));
    order
}

/// Type III or Type I sums of squares of a design's cells, their expected mean squares
/// (unrestricted model), the tests built from them and the moment estimates of the
/// variance components.
///
/// `design` is the design the data were read for (its factors in the order of the cell
/// table); `cells` the full cell table of the data ([`crate::data::Dataset::cells`]: means
/// relative to any offset). Works on balanced data too (then Type I = Type III = the
/// balanced ANOVA, and the EMS are the unrestricted subscript-table EMS).
pub fn analyze(
    design: &Design,
    cells: &Cells,
    opts: &UnbalancedOptions,
) -> Result<UnbalancedAnova, UnbalancedError> {
    let layout = Layout::new(cells, design.n_factors())?;
    let model = CellModel::new(&layout, design);
    let order = sequential_order(design);
    inference::run(&model, &order, opts)
}
