//! The JSON report: typed schema structs mirroring the interface contract, built once
//! from the results and serialized as they are (no patching of value trees).
//!
//! Each struct borrows the results it describes; rows that grow with the design (terms,
//! EMS entries) are produced as they are serialized, so a large design's report is
//! streamed rather than built in memory.

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::means_tables::{CovarianceJson, PrecisionJson, covariances_json, precision_json};
use super::words;
use crate::design::{Design, FactorSpec, Kind};
use crate::ems::{EmsTable, Ratio, TestKind};
use crate::moments::{Interval, TermTest, VarianceComponent, Weights};

/// A sequence serialized from an iterator made on demand (rows are built as they are
/// written).
pub struct Rows<F>(pub F);

impl<F, I, T> Serialize for Rows<F>
where
    F: Fn() -> I,
    I: Iterator<Item = T>,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let it = (self.0)();
        let mut seq = s.serialize_seq(None)?;
        for x in it {
            seq.serialize_element(&x)?;
        }
        seq.end()
    }
}

/// A mean-square weight: an integer when it is one (`1`, `-1`), a real number otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Weight(pub f64);

impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let w = self.0;
        if w.fract() == 0.0 && w.abs() < 1e15 {
            s.serialize_i64(w as i64)
        } else {
            s.serialize_f64(w)
        }
    }
}

#[derive(Serialize)]
pub struct TermWeight<'a, W: Serialize> {
    pub term: &'a str,
    pub weight: W,
}

/// Exact weights: integers as integers, fractions (a mean square that absorbs a dropped
/// term) as the nearest real number.
fn integer_weights<'a>(t: &'a EmsTable, comb: &[(usize, Ratio)]) -> Vec<TermWeight<'a, Ratio>> {
    comb.iter()
        .map(|&(v, w)| TermWeight {
            term: &t.terms[v].name,
            weight: w,
        })
        .collect()
}

pub(crate) fn real_weights<'a>(t: &'a EmsTable, comb: &Weights) -> Vec<TermWeight<'a, Weight>> {
    comb.iter()
        .map(|&(v, w)| TermWeight {
            term: &t.terms[v].name,
            weight: Weight(w),
        })
        .collect()
}

// ---- the design -------------------------------------------------------------------------

#[derive(Serialize)]
pub struct DesignJson<'a> {
    pub title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicates: Option<u32>,
    pub factors: &'a [FactorSpec],
    pub terms: Vec<&'a str>,
    pub pooled_into_residual: Vec<&'a str>,
    /// Dropped terms that a kept term absorbs.
    pub absorbed: Vec<AbsorbedJson<'a>>,
}

/// A dropped term and the kept term whose mean square absorbs it.
#[derive(Serialize)]
pub struct AbsorbedJson<'a> {
    pub term: &'a str,
    pub into: &'a str,
    /// Other kept terms that contain it minimally (the term list's order decided).
    pub also_contained_in: Vec<&'a str>,
}

impl<'a> DesignJson<'a> {
    pub fn new(d: &'a Design) -> DesignJson<'a> {
        let spec = d.spec();
        DesignJson {
            title: &spec.title,
            response: spec.response.as_deref(),
            replicates: spec.replicates,
            factors: &spec.factors,
            terms: d.terms.iter().map(|t| t.name.as_str()).collect(),
            pooled_into_residual: d.pooled.iter().map(|t| t.name.as_str()).collect(),
            absorbed: d
                .absorbed
                .iter()
                .map(|a| AbsorbedJson {
                    term: &a.term.name,
                    into: &d.terms[a.into].name,
                    also_contained_in: a.also.iter().map(|&k| d.terms[k].name.as_str()).collect(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct SubscriptColumnJson<'a> {
    pub subscript: &'a str,
    pub factor: &'a Option<String>,
    pub kind: &'static str,
    pub symbol: &'a str,
    pub levels: Option<u32>,
}

#[derive(Serialize)]
pub struct SubscriptRowJson<'a> {
    pub term: &'a str,
    pub subscripts: &'a str,
    pub entries: Vec<String>,
}

#[derive(Serialize)]
pub struct SubscriptTableJson<'a> {
    pub columns: Vec<SubscriptColumnJson<'a>>,
    pub rows: Vec<SubscriptRowJson<'a>>,
}

impl<'a> SubscriptTableJson<'a> {
    fn new(t: &'a EmsTable) -> SubscriptTableJson<'a> {
        SubscriptTableJson {
            columns: t
                .table
                .columns
                .iter()
                .map(|c| SubscriptColumnJson {
                    subscript: &c.subscript,
                    factor: &c.factor,
                    kind: if c.kind == Kind::Fixed {
                        "fixed"
                    } else {
                        "random"
                    },
                    symbol: &c.symbol,
                    levels: c.levels,
                })
                .collect(),
            rows: t
                .table
                .rows
                .iter()
                .enumerate()
                .map(|(r, row)| SubscriptRowJson {
                    term: &row.term,
                    subscripts: &row.subscripts,
                    entries: (0..t.table.columns.len())
                        .map(|c| words::subscript_entry(t, r, c).0)
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---- EMS terms and tests ---------------------------------------------------------------

#[derive(Serialize)]
pub struct EmsEntryJson<'a> {
    pub component: &'a str,
    /// An integer, or (a mean square that absorbs a dropped term) the nearest real number.
    pub coefficient: Option<Ratio>,
    pub symbolic: String,
    /// The exact fraction (`4/3`) when the coefficient is not an integer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coefficient_exact: Option<String>,
}

#[derive(Serialize)]
pub struct AlternativeJson<'a, W: Serialize> {
    pub form: &'static str,
    pub numerator: Vec<TermWeight<'a, W>>,
    pub denominator: Vec<TermWeight<'a, W>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub values: Option<AlternativeValues>,
}

#[derive(Serialize)]
pub struct AlternativeValues {
    pub df_num: f64,
    pub df_den: f64,
    pub f: f64,
    pub p: f64,
}

/// A term's F test as the EMS table defines it (no data).
#[derive(Serialize)]
pub struct EmsTestJson<'a> {
    pub kind: TestKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Vec<TermWeight<'a, Ratio>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_num: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_den: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<[AlternativeJson<'a, Ratio>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl<'a> EmsTestJson<'a> {
    fn new(t: &'a EmsTable, u: usize) -> EmsTestJson<'a> {
        let test = &t.tests[u];
        let tested = test.kind != TestKind::None;
        EmsTestJson {
            kind: test.kind,
            denominator: tested.then(|| integer_weights(t, &test.denominator)),
            df_num: tested.then(|| t.df(u)),
            denominator_text: tested.then(|| t.combination_text(&test.denominator)),
            df_den: (test.kind == TestKind::Exact).then(|| t.df(test.denominator[0].0)),
            alternatives: (test.kind == TestKind::Quasi).then(|| {
                [AlternativeJson {
                    form: "F''",
                    numerator: integer_weights(t, &test.f2_numerator),
                    denominator: integer_weights(t, &test.f2_denominator),
                    values: None,
                }]
            }),
            reason: test.reason.map(|r| words::no_test(t, r)),
        }
    }
}

/// A term's test computed from mean squares.
#[derive(Serialize)]
pub struct TestJson<'a> {
    pub kind: TestKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Vec<TermWeight<'a, Weight>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_num: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_den: Option<DfJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator_ms: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_denominator: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<[AlternativeJson<'a, Weight>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Denominator df: a count for an exact test, Satterthwaite's real number for a quasi one.
#[derive(Serialize)]
#[serde(untagged)]
pub enum DfJson {
    Count(Option<u64>),
    Real(Option<f64>),
}

impl<'a> TestJson<'a> {
    pub fn new(t: &'a EmsTable, test: &TermTest) -> TestJson<'a> {
        let tested = test.kind != TestKind::None;
        let quasi = test.kind == TestKind::Quasi;
        TestJson {
            kind: test.kind,
            denominator: tested.then(|| real_weights(t, &test.denominator)),
            denominator_text: tested.then(|| words::weights_text(t, &test.denominator)),
            df_num: tested.then_some(test.df_num),
            df_den: tested.then(|| match test.kind {
                TestKind::Exact => DfJson::Count(test.df_den.map(|d| d as u64)),
                _ => DfJson::Real(test.df_den),
            }),
            denominator_ms: tested.then_some(test.denominator_ms),
            f: tested.then_some(test.f),
            p: tested.then_some(test.p),
            negative_denominator: quasi.then_some(test.negative_denominator),
            alternatives: test.f2.as_ref().filter(|_| quasi).map(|f2| {
                [AlternativeJson {
                    form: "F''",
                    numerator: real_weights(t, &f2.numerator),
                    denominator: real_weights(t, &f2.denominator),
                    values: Some(AlternativeValues {
                        df_num: f2.df_num,
                        df_den: f2.df_den,
                        f: f2.f,
                        p: f2.p,
                    }),
                }]
            }),
            reason: test.reason.map(|r| words::no_test(t, r)),
        }
    }
}

/// One term of the report: EMS (and with data: SS, MS and the test from them).
#[derive(Serialize)]
pub struct TermJson<'a> {
    pub term: &'a str,
    pub kind: &'static str,
    pub df: Option<u64>,
    pub df_symbolic: String,
    pub ems: Vec<EmsEntryJson<'a>>,
    pub ems_text: String,
    pub ems_latex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ss: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    pub test: TermTestJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_into: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_df: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_ms: Option<f64>,
}

/// The test of a term: from the EMS table alone, or computed from mean squares.
#[derive(Serialize)]
#[serde(untagged)]
pub enum TermTestJson<'a> {
    Ems(EmsTestJson<'a>),
    Computed(TestJson<'a>),
}

impl<'a> TermJson<'a> {
    /// The EMS part of term `u` (the `emslab ems` row).
    pub fn ems(t: &'a EmsTable, u: usize) -> TermJson<'a> {
        let d = &t.design;
        TermJson {
            term: &t.terms[u].name,
            kind: if t.terms[u].random { "random" } else { "fixed" },
            df: t.df(u),
            df_symbolic: t.df_symbolic(u),
            ems: t.ems[u]
                .iter()
                .map(|e| {
                    let coefficient = e.coefficient.value(d);
                    EmsEntryJson {
                        component: &t.terms[e.component].name,
                        coefficient,
                        symbolic: e.coefficient.symbolic(d),
                        coefficient_exact: coefficient
                            .filter(|c| !c.is_integer())
                            .map(|c| c.to_string()),
                    }
                })
                .collect(),
            ems_text: t.ems_text(u),
            ems_latex: t.ems_latex(u),
            ss: None,
            ms: None,
            test: TermTestJson::Ems(EmsTestJson::new(t, u)),
            pooled_into: None,
            pooled_df: None,
            pooled_ms: None,
        }
    }
}

// ---- components ------------------------------------------------------------------------

#[derive(Serialize)]
pub struct EstimatorWeightJson<'a> {
    pub term: &'a str,
    pub weight: Option<f64>,
    pub weight_symbolic: String,
}

/// A component's estimator (`emslab ems`).
#[derive(Serialize)]
pub struct EstimatorJson<'a> {
    pub term: &'a str,
    pub combination: Vec<EstimatorWeightJson<'a>>,
    pub formula: String,
    pub formula_latex: String,
}

impl<'a> EstimatorJson<'a> {
    fn of(t: &'a EmsTable, e: &'a crate::ems::Estimator) -> EstimatorJson<'a> {
        let d = &t.design;
        let k = e.divisor.value(d);
        EstimatorJson {
            term: &t.terms[e.component].name,
            combination: e
                .combination
                .iter()
                .map(|&(v, w)| EstimatorWeightJson {
                    term: &t.terms[v].name,
                    weight: k.map(|k| w.to_f64() / k as f64),
                    weight_symbolic: if w.is_integer() {
                        format!("{w}/({})", e.divisor.symbolic(d))
                    } else {
                        format!("({w})/({})", e.divisor.symbolic(d))
                    },
                })
                .collect(),
            formula: t.estimator_text(e),
            formula_latex: t.estimator_latex(e),
        }
    }
}

/// An interval as the JSON reports it.
#[derive(Serialize)]
pub struct IntervalJson {
    pub method: &'static str,
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
    pub lower_clipped: bool,
    pub upper_clipped: bool,
}

impl From<&Interval> for IntervalJson {
    fn from(i: &Interval) -> IntervalJson {
        IntervalJson {
            method: i.method.as_str(),
            level: i.level,
            lower: i.lower,
            upper: i.upper,
            lower_clipped: i.lower_clipped,
            upper_clipped: i.upper_clipped,
        }
    }
}

/// A moment estimate of a component (`emslab analyze`).
#[derive(Serialize)]
pub struct ComponentJson<'a> {
    pub term: &'a str,
    pub estimate: f64,
    pub combination: Vec<TermWeight<'a, Weight>>,
    pub divisor: Option<f64>,
    pub satterthwaite_df: Option<f64>,
    pub se: Option<f64>,
    pub share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computed: Option<f64>,
    pub ci: Option<IntervalJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_note: Option<String>,
    pub intervals: Vec<IntervalJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_into: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formula_latex: Option<String>,
}

impl<'a> ComponentJson<'a> {
    /// `t` is the table of the report; `formulas` the estimator of the full model (absent
    /// after pooling, when the reduced model's estimator differs).
    pub fn new(
        t: &'a EmsTable,
        c: &'a VarianceComponent,
        formulas: Option<&crate::ems::Estimator>,
    ) -> ComponentJson<'a> {
        let pooled = c.pooled_into.is_some();
        let notes: Vec<String> = c
            .notes
            .iter()
            .map(|n| words::component_note(t, c, n))
            .collect();
        ComponentJson {
            term: &c.name,
            estimate: c.estimate,
            combination: if pooled {
                Vec::new()
            } else {
                real_weights(t, &c.combination)
            },
            divisor: (!pooled).then_some(c.divisor),
            satterthwaite_df: (!pooled).then_some(c.satterthwaite_df),
            se: (!pooled).then_some(c.se),
            share: c.share,
            computed: (c.computed != c.estimate || c.computed < 0.0).then_some(c.computed),
            ci: c.ci.as_ref().map(IntervalJson::from),
            ci_note: c.ci_missing.map(|m| words::no_interval(t, m)),
            intervals: c
                .ci
                .iter()
                .chain(c.mls.iter())
                .map(IntervalJson::from)
                .collect(),
            pooled_into: c.pooled_into.map(|i| t.terms[i].name.as_str()),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            formula: formulas.map(|e| t.estimator_text(e)),
            formula_latex: formulas.map(|e| t.estimator_latex(e)),
        }
    }
}

// ---- the `emslab ems` report ------------------------------------------------------------

/// Rows produced as they are serialized.
pub type LazyRows<'a, T> = Rows<Box<dyn Fn() -> Box<dyn Iterator<Item = T> + 'a> + 'a>>;

/// Rows from a function of the row index, produced as they are serialized.
pub fn lazy_rows<'a, T: 'a>(n: usize, row: impl Fn(usize) -> T + Copy + 'a) -> LazyRows<'a, T> {
    Rows(Box::new(move || Box::new((0..n).map(row))))
}

/// The fields `emslab ems` reports, which every report of a design starts with. `C` is
/// the components' form: their estimators (no data) or their estimates.
#[derive(Serialize)]
pub struct EmsJson<'a, C: Serialize> {
    pub emslab_version: &'static str,
    pub model: &'static str,
    pub engine: &'static str,
    pub design: DesignJson<'a>,
    pub subscript_table: SubscriptTableJson<'a>,
    pub terms: LazyRows<'a, TermJson<'a>>,
    pub components: C,
    /// The precision of means (`emslab ems`: symbolic; `analyze`: with estimates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Vec<PrecisionJson<'a>>>,
    /// The covariance of two observations by the levels they share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covariances: Option<Vec<CovarianceJson<'a>>>,
}

/// The estimators of every component, for the `emslab ems` report.
pub fn estimators(t: &EmsTable) -> LazyRows<'_, EstimatorJson<'_>> {
    lazy_rows(t.estimators.len(), move |i| {
        EstimatorJson::of(t, &t.estimators[i])
    })
}

impl<'a, C: Serialize> EmsJson<'a, C> {
    /// The report's leading fields for table `t`, with `terms` built by `term` (from
    /// [`TermJson::ems`], with data fields added for an analysis).
    pub fn with(
        t: &'a EmsTable,
        term: impl Fn(usize) -> TermJson<'a> + Copy + 'a,
        components: C,
    ) -> EmsJson<'a, C> {
        EmsJson {
            emslab_version: env!("CARGO_PKG_VERSION"),
            model: t.model.as_str(),
            engine: "emslab",
            design: DesignJson::new(&t.design),
            subscript_table: SubscriptTableJson::new(t),
            terms: lazy_rows(t.terms.len(), term),
            components,
            precision: None,
            covariances: None,
        }
    }

    /// With the symbolic precision of means and covariance patterns of `t` (no data).
    pub fn with_symbolic_means(mut self, t: &'a EmsTable) -> EmsJson<'a, C> {
        let p = crate::means::precision::derive(t);
        self.precision = Some(precision_json(t, &p, None, true));
        let c = crate::means::covariance::covariances(t, t.model);
        self.covariances = Some(covariances_json(t, &c));
        self
    }
}

/// The `emslab ems` report of a table.
pub fn ems_json(t: &EmsTable) -> EmsJson<'_, LazyRows<'_, EstimatorJson<'_>>> {
    EmsJson::with(t, move |u| TermJson::ems(t, u), estimators(t)).with_symbolic_means(t)
}
