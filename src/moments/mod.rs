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
//! let a = moments::analyze(&derive(&d, Model::Restricted), &anova::from_summary(&d, &ms),
//!                          &moments::Options::default());
//! assert!((a.components[0].estimate - 7.128).abs() < 1e-9);
//! assert!((a.tests[0].f.unwrap() - 1.49173).abs() < 1e-5);
//! ```

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod intervals;

use crate::anova::AnovaTable;
use crate::dist;
use crate::ems::{EmsTable, Model, TestKind};
pub use intervals::{Interval, Method};

/// What to do with a negative variance-component estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
pub struct Options {
    /// 1 - confidence level of the intervals (two-sided), and the tests' reference level.
    pub alpha: f64,
    pub negative: NegativePolicy,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            alpha: 0.05,
            negative: NegativePolicy::Report,
        }
    }
}

/// A linear combination of rows: `(row, weight)`.
pub type Weights = Vec<(usize, f64)>;

/// One row of the EMS equations, with numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub df: u64,
    pub ms: f64,
    pub ss: Option<f64>,
    /// Whether its own component is a variance (otherwise a fixed effect's φ).
    pub random: bool,
    /// Number of subscripts of its term (the lattice order).
    pub size: usize,
    /// `E(MS)`: (component = row index, coefficient).
    pub ems: Vec<(usize, f64)>,
    /// Set when the row has been pooled into another.
    pub pooled_into: Option<usize>,
    /// Rows pooled into this one.
    pub absorbed: Vec<usize>,
}

/// The EMS equations with numbers: one row per term, the Residual last.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub rows: Vec<Row>,
    pub residual: usize,
}

impl System {
    /// From an EMS table and the matching ANOVA table.
    pub fn new(table: &EmsTable, anova: &AnovaTable) -> System {
        let d = &table.design;
        let rows = table
            .terms
            .iter()
            .enumerate()
            .map(|(t, term)| Row {
                name: term.name.clone(),
                df: anova.rows[t].df,
                ms: anova.rows[t].ms,
                ss: anova.rows[t].ss,
                random: term.random,
                size: term.subscripts.len(),
                ems: table.ems[t]
                    .iter()
                    .map(|e| (e.component, e.coefficient.value(d).unwrap_or(0) as f64))
                    .collect(),
                pooled_into: None,
                absorbed: Vec::new(),
            })
            .collect();
        System {
            rows,
            residual: table.residual(),
        }
    }

    fn coefficient(&self, row: usize, component: usize) -> f64 {
        self.rows[row]
            .ems
            .iter()
            .find(|(c, _)| *c == component)
            .map_or(0.0, |(_, k)| *k)
    }

    /// The system with row `t` pooled into row `into` (its exact denominator): their SS
    /// and df are added, component `t` leaves every EMS.
    pub fn pool(&self, t: usize, into: usize) -> System {
        let mut s = self.clone();
        let (a, b) = (&self.rows[t], &self.rows[into]);
        let df = a.df + b.df;
        let ss = a.ss.unwrap_or(a.ms * a.df as f64) + b.ss.unwrap_or(b.ms * b.df as f64);
        s.rows[into].df = df;
        s.rows[into].ss = Some(ss);
        s.rows[into].ms = if df > 0 { ss / df as f64 } else { f64::NAN };
        s.rows[into].absorbed.push(t);
        s.rows[t].pooled_into = Some(into);
        for r in &mut s.rows {
            r.ems.retain(|(c, _)| *c != t);
        }
        s
    }

    /// The combination of mean squares whose expectation is `E(MS_t)` without `t`'s own
    /// component: back-substitution up the lattice.
    pub fn denominator(&self, t: usize) -> Result<Weights, String> {
        if t == self.residual {
            return Err("the Residual is the error term: nothing tests it".into());
        }
        let n = self.rows.len();
        let mut target = vec![0.0f64; n];
        for &(c, k) in &self.rows[t].ems {
            if c != t {
                target[c] = k;
            }
        }
        let mut order: Vec<usize> = (0..n)
            .filter(|&u| self.rows[u].pooled_into.is_none())
            .collect();
        order.sort_by_key(|&u| (self.rows[u].size, u));
        let mut weights = vec![0.0f64; n];
        for &u in &order {
            let need = target[u];
            if need == 0.0 {
                continue;
            }
            if !self.rows[u].random {
                return Err(format!(
                    "its expected mean square contains the fixed effect φ({}), which no other mean square can remove",
                    self.rows[u].name
                ));
            }
            let k = self.coefficient(u, u);
            let mut w = need / k;
            if (w - w.round()).abs() < 1e-9 {
                w = w.round();
            }
            weights[u] += w;
            for &(c, kc) in &self.rows[u].ems {
                target[c] -= w * kc;
            }
            target[u] = 0.0;
        }
        let comb: Weights = weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(v, w)| (v, *w))
            .collect();
        if comb.iter().any(|&(v, _)| self.rows[v].df == 0) {
            return Err("the mean square it needs has 0 degrees of freedom".into());
        }
        if comb.is_empty() {
            return Err("its expected mean square has no other component".into());
        }
        Ok(comb)
    }

    /// The estimator of random component `u`: weights `a_i` with `Σ a_i E(MS_i) = σ²_u`,
    /// and the divisor `k_u`.
    pub fn estimator(&self, u: usize) -> Result<(Weights, f64), String> {
        let k = self.coefficient(u, u);
        if u == self.residual {
            return Ok((vec![(u, 1.0 / k)], k));
        }
        let den = self.denominator(u)?;
        let mut comb = vec![(u, 1.0 / k)];
        comb.extend(den.iter().map(|&(v, w)| (v, -w / k)));
        Ok((comb, k))
    }

    fn terms_of(&self, comb: &[(usize, f64)]) -> Vec<intervals::Term> {
        comb.iter()
            .map(|&(v, a)| intervals::Term {
                a,
                ms: self.rows[v].ms,
                df: self.rows[v].df as f64,
            })
            .collect()
    }

    fn value(&self, comb: &[(usize, f64)]) -> f64 {
        comb.iter().map(|&(v, w)| w * self.rows[v].ms).sum()
    }
}

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
pub struct TestResult {
    pub term: usize,
    pub kind: TestKind,
    /// F′ denominator (weights on mean squares).
    pub denominator: Weights,
    pub reason: Option<String>,
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

/// A variance component.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
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
    pub ci_missing: Option<String>,
    /// Modified large-sample interval, for a difference of mean squares.
    pub mls: Option<Interval>,
    /// Share of the total variance (negative estimates count as 0).
    pub share: Option<f64>,
    pub notes: Vec<String>,
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

/// Tests and components of one ANOVA under one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub model: Model,
    pub alpha: f64,
    pub policy: NegativePolicy,
    /// The (possibly reduced) system the tests and components come from.
    pub system: System,
    /// One per row of the EMS table.
    pub tests: Vec<TestResult>,
    /// One per random term and the Residual, in term order.
    pub components: Vec<Component>,
    pub icc: Option<Icc>,
    pub pooling: Vec<PoolStep>,
    pub notes: Vec<String>,
}

impl Analysis {
    pub fn component(&self, term: usize) -> Option<&Component> {
        self.components.iter().find(|c| c.term == term)
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

/// The F tests and variance components.
pub fn analyze(table: &EmsTable, anova: &AnovaTable, opts: &Options) -> Analysis {
    let alpha = opts.alpha;
    let full = System::new(table, anova);
    let mut system = full.clone();
    let mut pooling = Vec::new();
    let mut notes = Vec::new();
    let mut unpoolable: Vec<(usize, String)> = Vec::new();
    if opts.negative == NegativePolicy::Pool {
        // Pool one negative term at a time, highest order first, and refit.
        loop {
            let mut negatives: Vec<(usize, f64)> = (0..system.rows.len())
                .filter(|&u| {
                    u != system.residual
                        && system.rows[u].random
                        && system.rows[u].pooled_into.is_none()
                })
                .filter_map(|u| {
                    let (c, _) = system.estimator(u).ok()?;
                    let v = system.value(&c);
                    (v < 0.0).then_some((u, v))
                })
                .filter(|(u, _)| !unpoolable.iter().any(|(x, _)| x == u))
                .collect();
            negatives.sort_by_key(|&(u, _)| {
                (std::cmp::Reverse(system.rows[u].size), std::cmp::Reverse(u))
            });
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
                _ => unpoolable.push((
                    t,
                    "its denominator is a combination of mean squares, so there is no single mean square to pool it into".to_string(),
                )),
            }
        }
        for p in &pooling {
            notes.push(format!(
                "`{}` (estimate {}) pooled into `{}` (--negative pool): the reduced model has {} with df {} and MS {}; tests and components below are from the reduced model.",
                full.rows[p.term].name,
                crate::report::fmt_sig(p.computed, 6),
                full.rows[p.into].name,
                full.rows[p.into].name,
                p.df,
                crate::report::fmt_sig(p.ms, 6)
            ));
        }
    }

    // Tests.
    let tests: Vec<TestResult> = (0..system.rows.len())
        .map(|t| test_of(&system, t))
        .collect();

    // Components.
    let mut components = Vec::new();
    for u in 0..system.rows.len() {
        if !system.rows[u].random {
            continue;
        }
        if let Some(into) = system.rows[u].pooled_into {
            let computed = pooling
                .iter()
                .find(|p| p.term == u)
                .map_or(f64::NAN, |p| p.computed);
            components.push(Component {
                term: u,
                name: system.rows[u].name.clone(),
                combination: Vec::new(),
                divisor: 0.0,
                computed,
                estimate: 0.0,
                satterthwaite_df: f64::NAN,
                se: f64::NAN,
                ci: None,
                ci_missing: Some(format!("pooled into `{}`", system.rows[into].name)),
                mls: None,
                share: Some(0.0),
                notes: vec![format!(
                    "negative estimate ({}): pooled into `{}`, taken as 0",
                    crate::report::fmt_sig(computed, 6),
                    system.rows[into].name
                )],
                pooled_into: Some(into),
            });
            continue;
        }
        let Ok((comb, k)) = system.estimator(u) else {
            continue;
        };
        let terms = system.terms_of(&comb);
        let computed = intervals::value(&terms);
        let nu = intervals::satterthwaite_df(&terms);
        let se = intervals::standard_error(&terms);
        let single = comb.len() == 1;
        let mut c_notes = Vec::new();
        let estimate = if computed < 0.0 {
            match opts.negative {
                NegativePolicy::Zero => {
                    c_notes.push(format!(
                        "negative estimate ({}) set to 0 (--negative zero)",
                        crate::report::fmt_sig(computed, 6)
                    ));
                    0.0
                }
                _ => {
                    let why = unpoolable
                        .iter()
                        .find(|(x, _)| *x == u)
                        .map(|(_, r)| format!("; not pooled: {r}"))
                        .unwrap_or_default();
                    c_notes.push(format!(
                        "negative estimate, reported as computed: the mean square of `{}` is smaller than its denominator, which suggests the component is zero or small{why}",
                        system.rows[u].name
                    ));
                    computed
                }
            }
        } else {
            computed
        };
        let method = if single {
            Method::ChiSquare
        } else {
            Method::Satterthwaite
        };
        let ci = intervals::chi_square(estimate, nu, alpha, method);
        let ci_missing = if ci.is_none() {
            Some(if estimate <= 0.0 {
                "none (estimate <= 0)".to_string()
            } else {
                "none (no degrees of freedom)".to_string()
            })
        } else {
            None
        };
        let mls = if single {
            None
        } else {
            intervals::mls(&terms, alpha)
        };
        if let Some(m) = &mls
            && m.lower_clipped
        {
            c_notes.push(
                "the modified large-sample lower bound came out negative and is shown as 0".into(),
            );
        }
        if !system.rows[u].absorbed.is_empty() {
            c_notes.push(format!(
                "includes the pooled {}",
                system.rows[u]
                    .absorbed
                    .iter()
                    .map(|&a| format!("`{}`", system.rows[a].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        components.push(Component {
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
            notes: c_notes,
            pooled_into: None,
        });
    }
    let total: f64 = components.iter().map(|c| c.estimate.max(0.0)).sum();
    if total > 0.0 {
        for c in &mut components {
            c.share = Some(c.estimate.max(0.0) / total);
        }
    }
    if components.iter().any(|c| c.estimate < 0.0) {
        notes.push("Shares of the total variance count negative estimates as 0.".to_string());
    }

    // Intraclass correlation: one random term besides the Residual.
    let random_terms: Vec<&Component> = components
        .iter()
        .filter(|c| c.term != system.residual && c.pooled_into.is_none())
        .collect();
    let icc = match (
        random_terms.as_slice(),
        components.iter().find(|c| c.term == system.residual),
    ) {
        ([c], Some(e)) => {
            let denom = c.estimate + e.estimate;
            let estimate = if denom != 0.0 {
                c.estimate / denom
            } else {
                f64::NAN
            };
            let interval = icc_interval(&system, c, alpha);
            Some(Icc {
                term: c.term,
                estimate,
                interval,
            })
        }
        _ => None,
    };

    for (t, test) in tests.iter().enumerate() {
        if test.negative_denominator {
            notes.push(format!(
                "The synthetic denominator of `{}` is negative ({}): F′ is not defined; F″ is given instead.",
                system.rows[t].name,
                crate::report::fmt_sig(test.denominator_ms.unwrap_or(f64::NAN), 6)
            ));
        }
    }

    Analysis {
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

fn f_test(ms_num: f64, df_num: f64, ms_den: f64, df_den: f64) -> (Option<f64>, Option<f64>) {
    if !(ms_den > 0.0) || !(df_den > 0.0) || !(df_num > 0.0) || !ms_num.is_finite() {
        return (None, None);
    }
    let f = ms_num / ms_den;
    (Some(f), Some(dist::f_sf(f, df_num, df_den)))
}

fn test_of(s: &System, t: usize) -> TestResult {
    let row = &s.rows[t];
    let none = |reason: String| TestResult {
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
        return none(format!(
            "pooled into `{}` (negative estimate, --negative pool)",
            s.rows[into].name
        ));
    }
    let den = match s.denominator(t) {
        Ok(d) => d,
        Err(reason) => return none(reason),
    };
    let exact = den.len() == 1 && den[0].1 == 1.0;
    let den_ms = s.value(&den);
    if exact {
        let d = den[0].0;
        let df_den = s.rows[d].df as f64;
        let (f, p) = f_test(row.ms, row.df as f64, den_ms, df_den);
        return TestResult {
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
    let terms = s.terms_of(&den);
    let negative = !(den_ms > 0.0);
    let df_den = intervals::satterthwaite_df(&terms);
    let (f, p) = if negative {
        (None, None)
    } else {
        f_test(row.ms, row.df as f64, den_ms, df_den)
    };
    // F″: the negative parts join the numerator.
    let mut num: Weights = vec![(t, 1.0)];
    num.extend(den.iter().filter(|(_, w)| *w < 0.0).map(|&(v, w)| (v, -w)));
    let dpos: Weights = den.iter().filter(|(_, w)| *w > 0.0).copied().collect();
    let num_ms = s.value(&num);
    let dpos_ms = s.value(&dpos);
    let df1 = intervals::satterthwaite_df(&s.terms_of(&num));
    let df2 = intervals::satterthwaite_df(&s.terms_of(&dpos));
    let (f2, p2) = f_test(num_ms, df1, dpos_ms, df2);
    TestResult {
        term: t,
        kind: TestKind::Quasi,
        denominator: den,
        reason: None,
        df_num: row.df,
        denominator_ms: Some(den_ms),
        df_den: Some(df_den),
        f,
        p,
        negative_denominator: negative,
        f2: match (f2, p2) {
            (Some(f), Some(p)) => Some(QuasiF {
                numerator: num,
                denominator: dpos,
                numerator_ms: num_ms,
                denominator_ms: dpos_ms,
                df_num: df1,
                df_den: df2,
                f,
                p,
            }),
            _ => None,
        },
    }
}

/// The exact interval on σ²_u/(σ²_u + σ²) when σ²_u = (MS_u - MS_Residual)/k (Searle,
/// Casella and McCulloch 1992, §3.5).
fn icc_interval(s: &System, c: &Component, alpha: f64) -> Option<Interval> {
    let r = s.residual;
    let ok = c.combination.len() == 2
        && c.combination.iter().any(|&(v, w)| v == c.term && w > 0.0)
        && c.combination.iter().any(|&(v, w)| v == r && w < 0.0);
    if !ok {
        return None;
    }
    let (mu, me) = (s.rows[c.term].ms, s.rows[r].ms);
    let (d1, d2) = (s.rows[c.term].df as f64, s.rows[r].df as f64);
    if !(me > 0.0) || !(d1 > 0.0) || !(d2 > 0.0) {
        return None;
    }
    let f = mu / me;
    let k = c.divisor;
    let fl = f / dist::f_quantile(1.0 - alpha / 2.0, d1, d2);
    let fu = f / dist::f_quantile(alpha / 2.0, d1, d2);
    let lo = (fl - 1.0) / (fl + k - 1.0);
    let hi = (fu - 1.0) / (fu + k - 1.0);
    Some(Interval {
        method: Method::ExactF,
        level: 1.0 - alpha,
        lower: lo.clamp(0.0, 1.0),
        upper: hi.clamp(0.0, 1.0),
        lower_clipped: lo < 0.0,
        upper_clipped: hi < 0.0,
    })
}
