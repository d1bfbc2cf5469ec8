//! Inference from the REML fit: t tests of the fixed effects, Type III F tests of every
//! fixed term, estimated marginal means of every fixed term with all pairwise differences,
//! each with Satterthwaite's denominator df (lmerTest 3.1) or Kenward-Roger's (pbkrtest 0.5).
//!
//! Computed by [`crate::reml::fit`] for REML fits with fixed terms (`RemlOptions::inference`,
//! on by default; Kenward-Roger with `RemlOptions::kenward_roger`) and kept in
//! [`crate::reml::RemlFit::inference`]; the fixed effects gain df, t, p and an interval.
//! [`ContrastEngine`] tests any other contrast of the fixed effects.
//!
//! | quantity | as | here |
//! |---|---|---|
//! | df of one contrast | lmerTest `contest1D` | [`ContrastEngine::t_test`] |
//! | F of several | lmerTest `contestMD`, pbkrtest `KRmodcomp` | [`ContrastEngine::f_test`] |
//! | Type III contrasts | lmerTest `get_contrasts_type3` | `contrasts::type3_contrasts` |
//! | means | emmeans (equal weights over the other fixed factors) | [`Mean`] |
//! | pairwise differences | emmeans `pairs()` (unadjusted p) | [`PairwiseComparison`] |
//!
//! The numbers are typed; `src/report` writes the words.

mod contrasts;
mod engine;
mod kenward_roger;
mod linalg;
mod satterthwaite;

use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use serde::ser::SerializeMap;

pub use engine::{ContrastEngine, ContrastTest, FTest};

use super::frame::{Frame, label};
use super::{Cancel, Criterion, FixedEffect};
use crate::design::Design;
use crate::dist::f_quantile;
use contrasts::{Coding, FixedTerm, Layout};

/// How the denominator degrees of freedom are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DdfMethod {
    /// Satterthwaite's approximation (lmerTest's default).
    #[serde(rename = "satterthwaite")]
    Satterthwaite,
    /// Kenward and Roger (1997), with the adjusted covariance of the fixed effects.
    #[serde(rename = "kenward-roger")]
    KenwardRoger,
}

/// A t interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
}

impl ConfidenceInterval {
    /// estimate ± t_{df, (1 + level)/2} se; None when df or se is not a positive number.
    pub fn t(estimate: f64, se: f64, df: f64, level: f64) -> Option<ConfidenceInterval> {
        if !(df > 0.0 && se.is_finite() && se >= 0.0) {
            return None;
        }
        let q = f_quantile(level, 1.0, df).sqrt();
        q.is_finite().then_some(ConfidenceInterval {
            level,
            lower: estimate - q * se,
            upper: estimate + q * se,
        })
    }
}

/// A level combination of some factors, `{"factor": "label", ...}` in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelSet(pub Vec<(String, String)>);

impl Serialize for LevelSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Which sums of squares a fixed-effect test is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TestType {
    #[serde(rename = "III")]
    III,
}

/// The F test of one fixed term (`fixed_tests[*]` of the interface contract).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixedTest {
    pub term: String,
    #[serde(rename = "type")]
    pub test_type: TestType,
    pub f: f64,
    pub df_num: u32,
    pub df_den: f64,
    pub p: f64,
    pub ddf_method: DdfMethod,
}

/// How a mean was estimated (`means[*].method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MeanMethod {
    #[serde(rename = "reml-satterthwaite")]
    RemlSatterthwaite,
    #[serde(rename = "reml-kenward-roger")]
    RemlKenwardRoger,
}

/// An estimated marginal mean (`means[*]`, and `grand_mean` with no levels).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mean {
    pub term: String,
    pub levels: LevelSet,
    pub mean: f64,
    pub se: f64,
    pub df: f64,
    pub ci: Option<ConfidenceInterval>,
    pub method: MeanMethod,
    /// The mean as a linear function of the fixed effects (fit's order).
    #[serde(skip)]
    pub coefficients: Vec<f64>,
}

/// The difference of two means of one term (`comparisons[*]`, unadjusted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairwiseComparison {
    pub term: String,
    pub a: LevelSet,
    pub b: LevelSet,
    /// mean(a) - mean(b).
    pub difference: f64,
    pub se: f64,
    pub df: f64,
    pub t: f64,
    /// Two-sided, unadjusted.
    pub p: f64,
    /// Unadjusted t interval.
    pub ci: Option<ConfidenceInterval>,
    pub ddf_method: DdfMethod,
}

/// One term's family of pairwise comparisons: what a multiplicity adjustment needs besides
/// each pair's t and df (Tukey: the number of means, each pair on its own df, as emmeans).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonFamily {
    pub term: String,
    /// Estimable means of the term (the range's number of means).
    pub means: usize,
    /// Comparisons in the family (pairs of estimable means).
    pub pairs: usize,
}

/// What the inference found, for the report to put in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InferenceNote {
    /// Components estimated at 0 do not enter Satterthwaite's df (their derivatives vanish;
    /// lmerTest gives the same).
    BoundaryComponents { terms: Vec<String> },
    /// The Hessian of the REML deviance is not positive definite: the df use its
    /// Moore-Penrose inverse over the positive eigenvalues (lmerTest warns alike).
    HessianNotPositiveDefinite { eigenvalues: Vec<f64> },
    /// Cells of the fixed factors without data: Type III hypotheses involving them are
    /// defined by the coding (lmerTest: "interpret type III hypotheses with care").
    MissingCells { cells: Vec<LevelSet> },
    /// Means (and the differences involving them) that are not estimable.
    NotEstimable { term: String, levels: Vec<LevelSet> },
    /// A term whose Type III test could not be formed with a method.
    TestUnavailable { term: String, ddf_method: DdfMethod },
    /// Kenward-Roger was asked for but could not be computed.
    KenwardRogerUnavailable { error: InferenceError },
}

/// What sizes the inference limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// Points of the reference grid (level combinations of the fixed factors).
    ReferenceGrid,
    /// Treatment-coded fixed-effect columns.
    FixedColumns,
    /// Random effects plus fixed effects: Kenward-Roger holds dense matrices of that order.
    KenwardRoger,
}

/// Why inference could not be made.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InferenceError {
    #[error("cancelled")]
    Cancelled,
    #[error("the criterion or its derivatives are not finite at the optimum")]
    NotFinite,
    #[error("{what:?} of size {size} exceeds the limit {limit}")]
    TooLarge {
        what: Size,
        size: usize,
        limit: usize,
    },
    #[error("the treatment coding does not span the fit's fixed effects (a bug)")]
    Parametrisation,
}

/// Inference from one REML fit.
#[derive(Debug, Clone, Serialize)]
pub struct Inference {
    /// The df method of the fixed effects, means and comparisons.
    pub ddf_method: DdfMethod,
    /// Type III tests: Satterthwaite rows, then Kenward-Roger rows when computed.
    pub fixed_tests: Vec<FixedTest>,
    /// The mean over the whole reference grid.
    pub grand_mean: Option<Mean>,
    pub means: Vec<Mean>,
    pub comparisons: Vec<PairwiseComparison>,
    pub families: Vec<ComparisonFamily>,
    pub notes: Vec<InferenceNote>,
    /// Tests of any other contrast.
    #[serde(skip)]
    pub engine: ContrastEngine,
    /// The Type III contrast matrix of each fixed term (rows over the fit's fixed effects).
    #[serde(skip)]
    pub type3: Vec<(String, DMatrix<f64>)>,
}

/// What [`infer`] needs from the fit.
pub(crate) struct FitState<'a> {
    pub design: &'a Design,
    pub frame: &'a Frame,
    /// Criterion order.
    pub theta: &'a [f64],
    pub boundary: &'a [bool],
    pub beta: &'a [f64],
    pub level: f64,
    pub kenward_roger: bool,
    pub labels: Option<&'a [Vec<String>]>,
    /// The deviance's Hessian when the fit computed it (standard errors).
    pub hessian: Option<&'a crate::reml::hessian::DevianceHessian>,
}

/// Inference at the optimum of a REML fit.
pub(crate) fn infer(
    st: &FitState<'_>,
    crit: &mut Criterion,
    cancel: Cancel<'_>,
) -> Result<Inference, InferenceError> {
    let check = || cancel.check().map_err(|_| InferenceError::Cancelled);
    let mut notes = Vec::new();
    let interior: Vec<usize> = (0..st.theta.len())
        .filter(|&k| !st.boundary[k] && st.theta[k] > 0.0)
        .collect();
    let at_zero: Vec<String> = (0..st.theta.len())
        .filter(|k| !interior.contains(k))
        .map(|k| crit.terms[k].clone())
        .collect();
    if !at_zero.is_empty() {
        notes.push(InferenceNote::BoundaryComponents { terms: at_zero });
    }
    let (vcov, satt) = satterthwaite::compute(crit, st.theta, &interior, st.hessian, cancel)?;
    let lmax = satt.eigenvalues.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if satt.eigenvalues.iter().any(|&e| e <= 1e-8 * lmax) {
        notes.push(InferenceNote::HessianNotPositiveDefinite {
            eigenvalues: satt.eigenvalues.clone(),
        });
    }
    check()?;
    let kr = if st.kenward_roger {
        let sigma2 = vcov_sigma2(crit, st.theta)?;
        match kenward_roger::compute(crit, st.theta, sigma2, &vcov) {
            Ok(k) => Some(k),
            Err(InferenceError::Cancelled) => return Err(InferenceError::Cancelled),
            Err(error) => {
                notes.push(InferenceNote::KenwardRogerUnavailable { error });
                None
            }
        }
    } else {
        None
    };
    check()?;
    let engine = ContrastEngine {
        beta: DVector::from_column_slice(st.beta),
        vcov,
        satterthwaite: satt,
        kenward_roger: kr,
    };
    let method = if engine.has_kenward_roger() {
        DdfMethod::KenwardRoger
    } else {
        DdfMethod::Satterthwaite
    };
    let layout = Layout::build(st.design, st.frame)?;
    let coding = Coding::build(&layout, st.frame)?;
    check()?;
    let named = Named {
        st,
        layout: &layout,
    };
    missing_cells(&named, &mut notes);
    let type3: Vec<(String, DMatrix<f64>)> = contrasts::type3_contrasts(&layout, &coding)?
        .into_iter()
        .zip(&layout.terms)
        .map(|(k, t)| (t.name.clone(), k))
        .collect();
    let fixed_tests = fixed_tests(st.design, &type3, &engine, &mut notes);
    check()?;
    let mut inf = Inference {
        ddf_method: method,
        fixed_tests,
        grand_mean: None,
        means: Vec::new(),
        comparisons: Vec::new(),
        families: Vec::new(),
        notes,
        engine,
        type3,
    };
    means_and_comparisons(&named, &coding, method, &mut inf);
    Ok(inf)
}

fn vcov_sigma2(crit: &mut Criterion, theta: &[f64]) -> Result<f64, InferenceError> {
    let pc = crit.pieces(theta).ok_or(InferenceError::NotFinite)?;
    Ok(crit.sigma2(pc.pwrss))
}

/// The Type III tests in the design's term order: Satterthwaite, then Kenward-Roger.
fn fixed_tests(
    design: &Design,
    type3: &[(String, DMatrix<f64>)],
    engine: &ContrastEngine,
    notes: &mut Vec<InferenceNote>,
) -> Vec<FixedTest> {
    let mut order: Vec<&(String, DMatrix<f64>)> = type3.iter().collect();
    order.sort_by_key(|(name, _)| design.term_index(name).unwrap_or(usize::MAX));
    let mut methods = vec![DdfMethod::Satterthwaite];
    if engine.has_kenward_roger() {
        methods.push(DdfMethod::KenwardRoger);
    }
    let mut out = Vec::new();
    for &m in &methods {
        for (name, k) in &order {
            match engine.f_test(k, m) {
                Some(t) => out.push(FixedTest {
                    term: name.clone(),
                    test_type: TestType::III,
                    f: t.f,
                    df_num: t.df_num,
                    df_den: t.df_den,
                    p: t.p,
                    ddf_method: m,
                }),
                None => notes.push(InferenceNote::TestUnavailable {
                    term: name.clone(),
                    ddf_method: m,
                }),
            }
        }
    }
    out
}

/// The fit and layout, for naming levels.
struct Named<'a> {
    st: &'a FitState<'a>,
    layout: &'a Layout,
}

impl Named<'_> {
    /// The level set of a combination of a term's factors.
    fn levels(&self, term: &FixedTerm, combo: &[u32]) -> LevelSet {
        LevelSet(
            term.factors
                .iter()
                .zip(combo)
                .map(|(&i, &d)| self.factor_label(i, d))
                .collect(),
        )
    }

    fn factor_label(&self, i: usize, dense: u32) -> (String, String) {
        let f = self.layout.factors[i];
        let code = self.st.frame.codes[f][dense as usize];
        (
            self.st.design.factors[f].name.clone(),
            label(self.st.labels, f, code),
        )
    }
}

/// Grid points without data (lmerTest reports them for Type III).
fn missing_cells(named: &Named<'_>, notes: &mut Vec<InferenceNote>) {
    let layout = named.layout;
    if layout.grid.len() == layout.cells.len() {
        return;
    }
    let present: std::collections::HashSet<&Vec<u32>> = layout.cells.iter().collect();
    let cells: Vec<LevelSet> = layout
        .grid
        .iter()
        .filter(|g| !present.contains(g))
        .map(|g| LevelSet((0..g.len()).map(|i| named.factor_label(i, g[i])).collect()))
        .collect();
    if !cells.is_empty() {
        notes.push(InferenceNote::MissingCells { cells });
    }
}

/// A mean's row from its function over the candidate columns; None when not estimable.
fn mean_row(
    engine: &ContrastEngine,
    coding: &Coding,
    a: &DVector<f64>,
    method: DdfMethod,
    level: f64,
) -> Option<(Vec<f64>, ContrastTest, Option<ConfidenceInterval>)> {
    if !coding.estimable(a) {
        return None;
    }
    let coef: Vec<f64> = coding.to_fit_coefficients(a).iter().copied().collect();
    let t = engine.t_test(&coef, method)?;
    let ci = ConfidenceInterval::t(t.estimate, t.se, t.df, level);
    Some((coef, t, ci))
}

fn means_and_comparisons(
    named: &Named<'_>,
    coding: &Coding,
    method: DdfMethod,
    inf: &mut Inference,
) {
    let layout = named.layout;
    let level = named.st.level;
    let mean_method = match method {
        DdfMethod::Satterthwaite => MeanMethod::RemlSatterthwaite,
        DdfMethod::KenwardRoger => MeanMethod::RemlKenwardRoger,
    };
    let a = contrasts::grand_mean_function(layout, coding);
    if let Some((coefficients, t, ci)) = mean_row(&inf.engine, coding, &a, method, level) {
        inf.grand_mean = Some(Mean {
            term: String::new(),
            levels: LevelSet(Vec::new()),
            mean: t.estimate,
            se: t.se,
            df: t.df,
            ci,
            method: mean_method,
            coefficients,
        });
    }
    let mut terms: Vec<&FixedTerm> = layout.terms.iter().collect();
    terms.sort_by_key(|t| named.st.design.term_index(&t.name).unwrap_or(usize::MAX));
    for term in terms {
        let levels = contrasts::term_levels(layout, term);
        let functions: Vec<DVector<f64>> = levels
            .iter()
            .map(|l| contrasts::mean_function(layout, coding, term, l))
            .collect();
        let mut estimable = Vec::new();
        let mut missing = Vec::new();
        for (l, a) in levels.iter().zip(&functions) {
            match mean_row(&inf.engine, coding, a, method, level) {
                Some((coefficients, t, ci)) => {
                    estimable.push(true);
                    inf.means.push(Mean {
                        term: term.name.clone(),
                        levels: named.levels(term, l),
                        mean: t.estimate,
                        se: t.se,
                        df: t.df,
                        ci,
                        method: mean_method,
                        coefficients,
                    });
                }
                None => {
                    estimable.push(false);
                    missing.push(named.levels(term, l));
                }
            }
        }
        if !missing.is_empty() {
            inf.notes.push(InferenceNote::NotEstimable {
                term: term.name.clone(),
                levels: missing,
            });
        }
        let mut pairs = 0;
        for i in 0..levels.len() {
            for j in i + 1..levels.len() {
                let d = &functions[i] - &functions[j];
                let Some((_, t, ci)) = mean_row(&inf.engine, coding, &d, method, level) else {
                    continue;
                };
                pairs += 1;
                inf.comparisons.push(PairwiseComparison {
                    term: term.name.clone(),
                    a: named.levels(term, &levels[i]),
                    b: named.levels(term, &levels[j]),
                    difference: t.estimate,
                    se: t.se,
                    df: t.df,
                    t: t.t,
                    p: t.p,
                    ci,
                    ddf_method: method,
                });
            }
        }
        inf.families.push(ComparisonFamily {
            term: term.name.clone(),
            means: estimable.iter().filter(|&&e| e).count(),
            pairs,
        });
    }
}

/// The fixed effects' t tests with the inference's df method.
pub(crate) fn fill_fixed_effects(inf: &Inference, fixed: &mut [FixedEffect], level: f64) {
    let p = inf.engine.n_fixed();
    for (j, fe) in fixed.iter_mut().enumerate() {
        let mut l = vec![0.0; p];
        l[j] = 1.0;
        if let Some(t) = inf.engine.t_test(&l, inf.ddf_method) {
            fe.df = Some(t.df);
            fe.t = Some(t.t);
            fe.p = Some(t.p);
            fe.ci = ConfidenceInterval::t(t.estimate, t.se, t.df, level);
            fe.ddf_method = Some(inf.ddf_method);
            if inf.ddf_method == DdfMethod::KenwardRoger {
                fe.se_adjusted = Some(t.se);
            }
        }
    }
}
