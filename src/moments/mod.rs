//! F tests and method-of-moments variance components from an ANOVA table and its EMS.
//!
//! The EMS equations `E(MS_t) = Σ_u k_u σ²_u` are taken with numbers ([`System`]) and
//! solved by back-substitution up the term lattice, exactly as
//! [`crate::ems::derive`] finds test denominators; for the full model the result is the
//! EMS table's own tests and estimators. Working from the numbers lets the same code solve
//! a *reduced* system, in which a term with a negative estimate has been pooled into its
//! denominator (`--negative pool`).
//!
//! For each random term and the Residual: the estimate `Σ a_i MS_i` (negative ones reported
//! as computed, with a note, unless the policy says otherwise), its Cochran-Satterthwaite
//! df, a chi-square interval (exact for the Residual), the modified large-sample interval
//! for differences of mean squares, the standard error, and its share of the total
//! variance; the intraclass correlation when there is one random term.
//!
//! ```
//! use emslab::{Design, derive, Model, anova, moments};
//! use emslab::data::summary::TermMs;
//! let d = Design::from_toml_str(r#"
//!     replicates = 2
//!     [[factors]]
//!     name = "batch"
//!     kind = "random"
//!     levels = 15
//!     [[factors]]
//!     name = "sample"
//!     kind = "random"
//!     levels = 2
//!     nested_in = ["batch"]
//! "#).unwrap();
//! let ms = [TermMs { df: 14, ms: 86.495 }, TermMs { df: 15, ms: 57.983 }, TermMs { df: 30, ms: 0.917 }];
//! let a = moments::fit(&derive(&d, Model::Restricted), &anova::from_summary(&d, &ms),
//!                      &moments::MomentOptions::default());
//! assert!((a.components[0].estimate - 7.128).abs() < 1e-9);
//! assert!((a.tests[0].f.unwrap() - 1.49173).abs() < 1e-5);
//! ```

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod intervals;
mod system;

use crate::anova::AnovaTable;
use crate::dist;
use crate::ems::{EmsTable, Model, NoTest, TestKind};
pub use intervals::{Interval, IntervalMethod, MsTerm};
pub use system::{Row, System};

/// What to do with a negative variance-component estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NegativePolicy {
    /// Report it as computed, with a note.
    #[default]
    Report,
    /// Report 0 (the computed value stays in the report).
    Zero,
    /// Pool the term into its denominator and refit the reduced model.
    Pool,
}

impl NegativePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            NegativePolicy::Report => "report",
            NegativePolicy::Zero => "zero",
            NegativePolicy::Pool => "pool",
        }
    }
}

/// Options of the moment analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentOptions {
    /// 1 - confidence level of the intervals (two-sided), and the tests' reference level.
    pub alpha: f64,
    pub negative: NegativePolicy,
}

impl Default for MomentOptions {
    fn default() -> MomentOptions {
        MomentOptions {
            alpha: 0.05,
            negative: NegativePolicy::Report,
        }
    }
}

/// A linear combination of rows: `(row, weight)`.
pub type Weights = Vec<(usize, f64)>;

/// F″ of a quasi test: mean squares moved so that every sign is positive.
#[derive(Debug, Clone, PartialEq)]
pub struct QuasiF {
    pub numerator: Weights,
    pub denominator: Weights,
    pub numerator_ms: f64,
    pub denominator_ms: f64,
    pub df_num: f64,
    pub df_den: f64,
    pub f: f64,
    pub p: f64,
}

/// The F test of one term.
#[derive(Debug, Clone, PartialEq)]
pub struct TermTest {
    pub term: usize,
    pub kind: TestKind,
    /// F′ denominator (weights on mean squares).
    pub denominator: Weights,
    /// Why there is no test (`kind` is [`TestKind::None`]).
    pub reason: Option<NoTest>,
    pub df_num: u64,
    /// The denominator's value.
    pub denominator_ms: Option<f64>,
    /// Its df (Satterthwaite, fractional, for a quasi test).
    pub df_den: Option<f64>,
    pub f: Option<f64>,
    pub p: Option<f64>,
    /// A synthetic denominator that came out zero or negative: no F′.
    pub negative_denominator: bool,
    pub f2: Option<QuasiF>,
}

/// Why a component has no chi-square interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoInterval {
    /// The estimate is zero or negative.
    NotPositive,
    /// The Satterthwaite df is zero or undefined.
    NoDf,
    /// The term was pooled into `into` (`--negative pool`).
    Pooled { into: usize },
}

/// Something the report says about one component.
#[derive(Debug, Clone, PartialEq)]
pub enum ComponentNote {
    /// Negative, pooled into `into` (`--negative pool`) and taken as 0.
    PooledAsZero { computed: f64, into: usize },
    /// Negative and set to 0 (`--negative zero`).
    SetToZero { computed: f64 },
    /// Negative and reported as computed; `unpoolable` when `--negative pool` could not
    /// pool it (its denominator is a combination of mean squares).
    NegativeReported { unpoolable: bool },
    /// The modified large-sample lower bound came out negative and is shown as 0.
    MlsLowerClipped,
    /// The component's row includes these pooled terms.
    IncludesPooled { terms: Vec<usize> },
}

/// A variance component.
#[derive(Debug, Clone, PartialEq)]
pub struct VarianceComponent {
    pub term: usize,
    pub name: String,
    /// `a_i`: the estimate is `Σ a_i MS_i`.
    pub combination: Weights,
    /// `k`: the coefficient of the component in its own EMS.
    pub divisor: f64,
    /// The solution of the EMS equations.
    pub computed: f64,
    /// What is reported after the negative-estimate policy.
    pub estimate: f64,
    pub satterthwaite_df: f64,
    pub se: f64,
    /// Exact chi-square (Residual) or Satterthwaite; `None` when the estimate is <= 0.
    pub ci: Option<Interval>,
    pub ci_missing: Option<NoInterval>,
    /// Modified large-sample interval, for a difference of mean squares.
    pub mls: Option<Interval>,
    /// Share of the total variance (negative estimates count as 0).
    pub share: Option<f64>,
    pub notes: Vec<ComponentNote>,
    /// Set when the term was pooled into another row.
    pub pooled_into: Option<usize>,
}

/// The intraclass correlation `σ²_u / (σ²_u + σ²)` of the one random term.
#[derive(Debug, Clone, PartialEq)]
pub struct Icc {
    pub term: usize,
    pub estimate: f64,
    /// Exact F-based interval, when `σ²_u`'s estimator is `(MS_u - MS_Residual)/k`.
    pub interval: Option<Interval>,
}

/// One pooling done by `--negative pool`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolStep {
    pub term: usize,
    pub into: usize,
    pub computed: f64,
    /// df and MS of the pooled row.
    pub df: u64,
    pub ms: f64,
}

/// Something the report says about the whole fit (per-component notes are on the
/// components, pooling steps in [`MomentFit::pooling`]).
#[derive(Debug, Clone, PartialEq)]
pub enum MomentNote {
    /// Shares of the total variance count negative estimates as 0.
    SharesCountNegativeAsZero,
    /// The synthetic denominator of `term` is zero or negative (`value`): F′ is not
    /// defined; F″ is given instead.
    NegativeDenominator { term: usize, value: f64 },
}

/// Tests and components of one ANOVA under one model.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentFit {
    pub model: Model,
    pub alpha: f64,
    pub policy: NegativePolicy,
    /// The (possibly reduced) system the tests and components come from.
    pub system: System,
    /// One per row of the EMS table.
    pub tests: Vec<TermTest>,
    /// One per random term and the Residual, in term order.
    pub components: Vec<VarianceComponent>,
    pub icc: Option<Icc>,
    pub pooling: Vec<PoolStep>,
    pub notes: Vec<MomentNote>,
}

impl MomentFit {
    pub fn component(&self, term: usize) -> Option<&VarianceComponent> {
        self.components.iter().find(|c| c.term == term)
    }

    /// `(term name, estimate as computed)` of every component, for comparisons with REML.
    pub fn computed_estimates(&self) -> Vec<(String, f64)> {
        self.components
            .iter()
            .map(|c| (c.name.clone(), c.computed))
            .collect()
    }
}

/// Just the component estimates `(term, Σ a MS)` of the full model: cheap (no quantiles),
/// for simulation studies.
pub fn estimates(table: &EmsTable, anova: &AnovaTable) -> Vec<(usize, f64)> {
    let s = System::new(table, anova);
    (0..s.rows.len())
        .filter(|&u| s.rows[u].random)
        .filter_map(|u| s.estimator(u).ok().map(|(c, _)| (u, s.value(&c))))
        .collect()
}

/// Just the F tests of the full model (exact, or F′ with Satterthwaite df from the observed
/// mean squares, F″ beside it), without components or intervals: cheap, for simulation
/// studies such as the Monte Carlo check of power.
pub fn tests(table: &EmsTable, anova: &AnovaTable) -> Vec<TermTest> {
    let s = System::new(table, anova);
    (0..s.rows.len()).map(|t| test_of(&s, t)).collect()
}

/// The F tests and variance components.
pub fn fit(table: &EmsTable, anova: &AnovaTable, opts: &MomentOptions) -> MomentFit {
    let alpha = opts.alpha;
    let full = System::new(table, anova);
    let (system, pooling, unpoolable) = if opts.negative == NegativePolicy::Pool {
        pool_negatives(full)
    } else {
        (full, Vec::new(), Vec::new())
    };
    let tests: Vec<TermTest> = (0..system.rows.len())
        .map(|t| test_of(&system, t))
        .collect();
    let mut components: Vec<VarianceComponent> = (0..system.rows.len())
        .filter(|&u| system.rows[u].random)
        .filter_map(|u| match system.rows[u].pooled_into {
            Some(into) => Some(pooled_component(&system, &pooling, u, into)),
            None => component(&system, u, opts, unpoolable.contains(&u)),
        })
        .collect();
    let total: f64 = components.iter().map(|c| c.estimate.max(0.0)).sum();
    if total > 0.0 {
        for c in &mut components {
            c.share = Some(c.estimate.max(0.0) / total);
        }
    }
    let mut notes = Vec::new();
    if components.iter().any(|c| c.estimate < 0.0) {
        notes.push(MomentNote::SharesCountNegativeAsZero);
    }
    let icc = icc(&system, &components, alpha);
    notes.extend(tests.iter().filter(|t| t.negative_denominator).map(|t| {
        MomentNote::NegativeDenominator {
            term: t.term,
            value: t.denominator_ms.unwrap_or(f64::NAN),
        }
    }));
    MomentFit {
        model: table.model,
        alpha,
        policy: opts.negative,
        system,
        tests,
        components,
        icc,
        pooling,
        notes,
    }
}

/// `--negative pool`: pools one negative term at a time into its exact denominator,
/// highest order first, and refits. Returns the reduced system, the steps, and the
/// negative terms that could not be pooled (a synthetic denominator).
fn pool_negatives(full: System) -> (System, Vec<PoolStep>, Vec<usize>) {
    let mut system = full;
    let mut pooling = Vec::new();
    let mut unpoolable: Vec<usize> = Vec::new();
    loop {
        let mut negatives: Vec<(usize, f64)> = (0..system.rows.len())
            .filter(|&u| {
                u != system.residual
                    && system.rows[u].random
                    && system.rows[u].pooled_into.is_none()
                    && !unpoolable.contains(&u)
            })
            .filter_map(|u| {
                let (c, _) = system.estimator(u).ok()?;
                let v = system.value(&c);
                (v < 0.0).then_some((u, v))
            })
            .collect();
        negatives
            .sort_by_key(|&(u, _)| (std::cmp::Reverse(system.rows[u].size), std::cmp::Reverse(u)));
        let Some(&(t, v)) = negatives.first() else {
            break;
        };
        match system.denominator(t) {
            Ok(den) if den.len() == 1 && den[0].1 == 1.0 => {
                let into = den[0].0;
                system = system.pool(t, into);
                pooling.push(PoolStep {
                    term: t,
                    into,
                    computed: v,
                    df: system.rows[into].df,
                    ms: system.rows[into].ms,
                });
            }
            _ => unpoolable.push(t),
        }
    }
    (system, pooling, unpoolable)
}

/// A component pooled away by `--negative pool`: 0, with the computed value kept.
fn pooled_component(
    system: &System,
    pooling: &[PoolStep],
    u: usize,
    into: usize,
) -> VarianceComponent {
    let computed = pooling
        .iter()
        .find(|p| p.term == u)
        .map_or(f64::NAN, |p| p.computed);
    VarianceComponent {
        term: u,
        name: system.rows[u].name.clone(),
        combination: Vec::new(),
        divisor: 0.0,
        computed,
        estimate: 0.0,
        satterthwaite_df: f64::NAN,
        se: f64::NAN,
        ci: None,
        ci_missing: Some(NoInterval::Pooled { into }),
        mls: None,
        share: Some(0.0),
        notes: vec![ComponentNote::PooledAsZero { computed, into }],
        pooled_into: Some(into),
    }
}

/// Component `u` from its estimator, after the negative-estimate policy; `None` when it
/// has no estimator (no test).
fn component(
    system: &System,
    u: usize,
    opts: &MomentOptions,
    unpoolable: bool,
) -> Option<VarianceComponent> {
    let alpha = opts.alpha;
    let (comb, k) = system.estimator(u).ok()?;
    let terms = system.terms_of(&comb);
    let computed = intervals::value(&terms);
    let nu = intervals::satterthwaite_df(&terms);
    let se = intervals::standard_error(&terms);
    let single = comb.len() == 1;
    let mut notes = Vec::new();
    let estimate = if computed < 0.0 {
        if opts.negative == NegativePolicy::Zero {
            notes.push(ComponentNote::SetToZero { computed });
            0.0
        } else {
            notes.push(ComponentNote::NegativeReported { unpoolable });
            computed
        }
    } else {
        computed
    };
    let method = if single {
        IntervalMethod::ChiSquare
    } else {
        IntervalMethod::Satterthwaite
    };
    let ci = intervals::chi_square(estimate, nu, alpha, method);
    let ci_missing = match ci {
        Some(_) => None,
        None if estimate <= 0.0 => Some(NoInterval::NotPositive),
        None => Some(NoInterval::NoDf),
    };
    let mls = if single {
        None
    } else {
        intervals::mls(&terms, alpha)
    };
    if mls.is_some_and(|m| m.lower_clipped) {
        notes.push(ComponentNote::MlsLowerClipped);
    }
    if !system.rows[u].absorbed.is_empty() {
        notes.push(ComponentNote::IncludesPooled {
            terms: system.rows[u].absorbed.clone(),
        });
    }
    Some(VarianceComponent {
        term: u,
        name: system.rows[u].name.clone(),
        combination: comb,
        divisor: k,
        computed,
        estimate,
        satterthwaite_df: nu,
        se,
        ci,
        ci_missing,
        mls,
        share: None,
        notes,
        pooled_into: None,
    })
}

/// Intraclass correlation: when there is one random term besides the Residual.
fn icc(system: &System, components: &[VarianceComponent], alpha: f64) -> Option<Icc> {
    let random_terms: Vec<&VarianceComponent> = components
        .iter()
        .filter(|c| c.term != system.residual && c.pooled_into.is_none())
        .collect();
    let ([c], Some(e)) = (
        random_terms.as_slice(),
        components.iter().find(|c| c.term == system.residual),
    ) else {
        return None;
    };
    let denom = c.estimate + e.estimate;
    let estimate = if denom != 0.0 {
        c.estimate / denom
    } else {
        f64::NAN
    };
    Some(Icc {
        term: c.term,
        estimate,
        interval: icc_interval(system, c, alpha),
    })
}

fn f_test(ms_num: f64, df_num: f64, ms_den: f64, df_den: f64) -> (Option<f64>, Option<f64>) {
    if !(ms_den > 0.0) || !(df_den > 0.0) || !(df_num > 0.0) || !ms_num.is_finite() {
        return (None, None);
    }
    let f = ms_num / ms_den;
    (Some(f), Some(dist::f_sf(f, df_num, df_den)))
}

pub(crate) fn test_of(s: &System, t: usize) -> TermTest {
    let row = &s.rows[t];
    let none = |reason: NoTest| TermTest {
        term: t,
        kind: TestKind::None,
        denominator: Vec::new(),
        reason: Some(reason),
        df_num: row.df,
        denominator_ms: None,
        df_den: None,
        f: None,
        p: None,
        negative_denominator: false,
        f2: None,
    };
    if let Some(into) = row.pooled_into {
        return none(NoTest::Pooled { into });
    }
    let den = match s.denominator(t) {
        Ok(d) => d,
        Err(reason) => return none(reason),
    };
    let den_ms = s.value(&den);
    if den.len() == 1 && den[0].1 == 1.0 {
        let df_den = s.rows[den[0].0].df as f64;
        let (f, p) = f_test(row.ms, row.df as f64, den_ms, df_den);
        return TermTest {
            term: t,
            kind: TestKind::Exact,
            denominator: den,
            reason: None,
            df_num: row.df,
            denominator_ms: Some(den_ms),
            df_den: Some(df_den),
            f,
            p,
            negative_denominator: false,
            f2: None,
        };
    }
    // Quasi: F′ with Satterthwaite df of the synthetic denominator.
    let negative = !(den_ms > 0.0);
    let df_den = intervals::satterthwaite_df(&s.terms_of(&den));
    let (f, p) = if negative {
        (None, None)
    } else {
        f_test(row.ms, row.df as f64, den_ms, df_den)
    };
    TermTest {
        term: t,
        kind: TestKind::Quasi,
        f2: quasi_f2(s, t, &den),
        denominator: den,
        reason: None,
        df_num: row.df,
        denominator_ms: Some(den_ms),
        df_den: Some(df_den),
        f,
        p,
        negative_denominator: negative,
    }
}

/// F″ of term `t` with F′ denominator `den`: the negative parts join the numerator.
fn quasi_f2(s: &System, t: usize, den: &Weights) -> Option<QuasiF> {
    let mut num: Weights = vec![(t, 1.0)];
    num.extend(den.iter().filter(|(_, w)| *w < 0.0).map(|&(v, w)| (v, -w)));
    let dpos: Weights = den.iter().filter(|(_, w)| *w > 0.0).copied().collect();
    let num_ms = s.value(&num);
    let dpos_ms = s.value(&dpos);
    let df1 = intervals::satterthwaite_df(&s.terms_of(&num));
    let df2 = intervals::satterthwaite_df(&s.terms_of(&dpos));
    let (Some(f), Some(p)) = f_test(num_ms, df1, dpos_ms, df2) else {
        return None;
    };
    Some(QuasiF {
        numerator: num,
        denominator: dpos,
        numerator_ms: num_ms,
        denominator_ms: dpos_ms,
        df_num: df1,
        df_den: df2,
        f,
        p,
    })
}

/// The exact interval on σ²_u/(σ²_u + σ²) when σ²_u = (MS_u - MS_Residual)/k (Searle,
/// Casella and McCulloch 1992, §3.5).
fn icc_interval(s: &System, c: &VarianceComponent, alpha: f64) -> Option<Interval> {
    let r = s.residual;
    let ok = c.combination.len() == 2
        && c.combination.iter().any(|&(v, w)| v == c.term && w > 0.0)
        && c.combination.iter().any(|&(v, w)| v == r && w < 0.0);
    if !ok {
        return None;
    }
    let (mu, me) = (s.rows[c.term].ms, s.rows[r].ms);
    let (d1, d2) = (s.rows[c.term].df as f64, s.rows[r].df as f64);
    if !(me > 0.0) || !mu.is_finite() || !(d1 > 0.0) || !(d2 > 0.0) {
        return None;
    }
    let f = mu / me;
    let k = c.divisor;
    let fl = f / dist::f_quantile(1.0 - alpha / 2.0, d1, d2);
    let fu = f / dist::f_quantile(alpha / 2.0, d1, d2);
    let lo = (fl - 1.0) / (fl + k - 1.0);
    let hi = (fu - 1.0) / (fu + k - 1.0);
    Some(Interval {
        method: IntervalMethod::ExactF,
        level: 1.0 - alpha,
        lower: lo.clamp(0.0, 1.0),
        upper: hi.clamp(0.0, 1.0),
        lower_clipped: lo < 0.0,
        upper_clipped: hi < 0.0,
    })
}
