//! The precision of a mean of a balanced design, exactly: its variance as variance
//! components (in each mixed model) and as a combination of expected mean squares.
//!
//! The mean of one level combination of a set of factors S (closed under nesting) averages
//! every random effect U over the levels of U's subscripts outside S. In the unrestricted
//! model every effect is independent:
//!
//! ```text
//! Var(ȳ_S) = Σ_U σ²_U / Π_{c ∈ U∖S} n_c
//! ```
//!
//! In the restricted model a mixed effect sums to zero over the levels of each of its fixed
//! live factors F_U (Montgomery's `(τβ)_ij = w_ij − w̄_.j`, `Var((τβ)_ij) = (a−1)/a σ²`): it
//! vanishes from a mean that averages over one of them, and otherwise keeps the share
//! `Π_{f ∈ F_U} (n_f − 1)/n_f`. Two means of the same factors whose levels differ in the
//! factors D (and agree on the rest of S) differ by the effects that are not common to
//! both: in the unrestricted model those of every U that meets D,
//! `Var(ȳ_s − ȳ_s') = Σ_{U ∩ D ≠ ∅} 2 σ²_U / Π_{c ∈ U∖S} n_c`; in the restricted model
//! the zero sums give the bracket of [`difference_components`].
//!
//! Both are the same quadratic form a′Va of the balanced covariance matrix
//! V = Σ_T γ_T P_T (strata projectors P_T, γ_T the expected mean square of stratum T
//! without fixed effects), so that replacing every component by its estimator gives the
//! same combination of mean squares in both models ([`MsForm`]), e.g.
//! `(MS(S(D)) + (t-1) MS(Residual)) / (s t n)` for a diet × time cell mean. The estimate
//! is the same combination of observed mean squares, with Cochran–Satterthwaite df
//! ([`estimate`]).

use std::collections::HashMap;

use super::poly::{Fraction, Item, Poly, sum_of_fractions, sum_over};
use crate::design::{Design, Kind, Subscripts};
use crate::ems::{EmsTable, Model, Monomial, Ratio};
use crate::moments::intervals::{self, MsTerm};
use crate::moments::{System, Weights};

/// Difference rows of the precision table are listed for fixed terms of at most this
/// many factors (a term of k crossed factors has 2^k − 1 kinds of differences); the
/// comparisons compute the others when they need them.
pub const MAX_LISTED_DIFFERENCE_FACTORS: usize = 4;

/// The precision table is derived for designs of at most this many rows of the EMS table
/// (7 crossed factors give 128): each row's variance involves every random term, so the
/// table grows with the square of the terms and stops being readable long before. The
/// means of larger designs are still estimated ([`estimate`]), without a symbolic form.
pub const MAX_PRECISION_TERMS: usize = 128;

/// What a precision row is the variance of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantity {
    /// The mean of one level combination of the factors the row is over.
    Mean,
    /// The difference of two such means whose levels differ in the factors `differ` (a
    /// factor nested in one of them differs too) and agree on the others.
    Difference { differ: Subscripts },
}

/// The variance in one model's components: `Σ coefficient × σ²(component)` (component
/// indices into [`EmsTable::terms`], the Residual's σ² included).
pub type ComponentForm = Vec<(usize, Fraction)>;

/// The variance as a combination of mean squares:
/// `constant × Σ weight × MS(term) / (scale × Π divisor)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsForm {
    pub constant: i64,
    /// An integer divisor besides the symbols (1 unless a weight of an estimator is a
    /// fraction).
    pub scale: i64,
    /// (row of the EMS table, polynomial weight), in term order.
    pub weights: Vec<(usize, Poly)>,
    pub divisor: Subscripts,
}

impl MsForm {
    /// The weights as numbers (`constant × weight / Π divisor`), when the design is sized.
    pub fn numeric(&self, design: &Design) -> Option<Weights> {
        let den = design.cells(self.divisor)? as f64 * self.scale as f64;
        self.weights
            .iter()
            .map(|(v, p)| Some((*v, self.constant as f64 * p.eval_f64(design)? / den)))
            .collect()
    }
}

/// Why a variance has no form in mean squares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMsForm {
    /// A component it needs has no method-of-moments estimator (its test has no
    /// denominator).
    NoEstimator { component: usize },
    /// The exact weights do not fit in 64-bit integers.
    Overflow,
}

/// One row of the precision table.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionRow {
    /// The factors the mean is over (closed under nesting); empty for the grand mean.
    pub over: Subscripts,
    /// The model term whose factors these are (`None` for the grand mean).
    pub term: Option<usize>,
    pub quantity: Quantity,
    pub restricted: ComponentForm,
    pub unrestricted: ComponentForm,
    /// In mean squares, from the estimators of the table's model.
    pub mean_squares: Result<MsForm, NoMsForm>,
}

/// A finding about the precision table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecisionNote {
    /// The differences of the means of a fixed term of `factors` factors are not listed
    /// (more than [`MAX_LISTED_DIFFERENCE_FACTORS`]).
    DifferencesNotListed { term: usize, factors: usize },
    /// The design has more rows than [`MAX_PRECISION_TERMS`]: no table.
    TooManyTerms { terms: usize, limit: usize },
}

/// The precision table of a design: the grand mean, the mean of every term's level
/// combinations, and the differences of two means of every fixed term.
#[derive(Debug, Clone, PartialEq)]
pub struct Precision {
    pub rows: Vec<PrecisionRow>,
    pub notes: Vec<PrecisionNote>,
}

impl Precision {
    /// The row of a quantity over a set of factors.
    pub fn find(&self, over: Subscripts, quantity: Quantity) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| r.over == over && r.quantity == quantity)
    }
}

/// The factor subscripts (without the error subscript) of a set.
fn factor_part(design: &Design, set: Subscripts) -> Subscripts {
    set.minus(Subscripts::single(design.error_index()))
}

fn fixed_columns(design: &Design) -> Subscripts {
    design
        .factors
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == Kind::Fixed)
        .fold(Subscripts::EMPTY, |s, (i, _)| s.with(i))
}

/// The random rows of a table with their fixed live subscripts: (row, U, F_U).
fn random_rows(table: &EmsTable) -> Vec<(usize, Subscripts, Subscripts)> {
    let fixed = fixed_columns(&table.design);
    table
        .terms
        .iter()
        .enumerate()
        .filter(|(_, t)| t.random)
        .map(|(u, t)| (u, t.subscripts, t.live.intersection(fixed)))
        .collect()
}

/// The coefficient of σ²_U, before cancelling: (numerator, denominator).
fn coefficient(
    model: Model,
    over: Subscripts,
    quantity: Quantity,
    subs: Subscripts,
    fixed_live: Subscripts,
) -> Option<(Poly, Subscripts)> {
    let outside = subs.minus(over);
    match (model, quantity) {
        (Model::Unrestricted, Quantity::Mean) => Some((Poly::constant(1), outside)),
        (Model::Unrestricted, Quantity::Difference { differ }) => {
            (!subs.intersection(differ).is_empty()).then(|| (Poly::constant(2), outside))
        }
        (Model::Restricted, _) if !over.is_superset(fixed_live) => None,
        (Model::Restricted, Quantity::Mean) => {
            Some((Poly::minus_ones(fixed_live), fixed_live.union(outside)))
        }
        (Model::Restricted, Quantity::Difference { differ }) => {
            difference_components(subs.intersection(over), fixed_live, differ)
                .map(|num| (num, fixed_live.union(outside)))
        }
    }
}

/// The restricted model's numerator for a difference (before the factor 1/Π_F n_f and the
/// averaging over U∖S): with W = U ∩ S, F = F_U ⊆ W and G = F ∩ D,
///
/// ```text
/// D ∩ W = ∅          0 (the two means share the effect)
/// D ∩ (W∖F) ≠ ∅      2 Π_F (n_f − 1)                          (different levels of U)
/// otherwise          2 Π_{F∖G} (n_f − 1) [Π_G (n_g − 1) − (−1)^{|G|}]
/// ```
///
/// from `Var(Σ_X (−1)^{|X|} w̄_X)` of the centred effect: `‖C_F (e_s − e_s')‖²` with
/// `C_F = ⊗_{f ∈ F} (I − J/n_f)`.
fn difference_components(w: Subscripts, f: Subscripts, d: Subscripts) -> Option<Poly> {
    if w.intersection(d).is_empty() {
        return None;
    }
    if !w.minus(f).intersection(d).is_empty() {
        return Some(Poly::minus_ones(f).scale(2));
    }
    let g = f.intersection(d);
    let sign = if g.len().is_multiple_of(2) { 1 } else { -1 };
    let mut bracket = Poly::minus_ones(g);
    bracket.add(&Poly::constant(-sign));
    Some(Poly::minus_ones(f.minus(g)).times(&bracket).scale(2))
}

/// The variance in one model's components, uncancelled: (component, numerator,
/// denominator).
fn raw_components(
    table: &EmsTable,
    model: Model,
    over: Subscripts,
    quantity: Quantity,
) -> Vec<(usize, Poly, Subscripts)> {
    random_rows(table)
        .into_iter()
        .filter_map(|(u, subs, f)| {
            let (num, den) = coefficient(model, over, quantity, subs, f)?;
            (!num.is_zero()).then_some((u, num, den))
        })
        .collect()
}

/// The variance of a quantity in one model's components.
pub fn components(
    table: &EmsTable,
    model: Model,
    over: Subscripts,
    quantity: Quantity,
) -> ComponentForm {
    raw_components(table, model, over, quantity)
        .into_iter()
        .map(|(u, num, den)| (u, Fraction::new(num, den)))
        .collect()
}

/// The variance in mean squares: every component replaced by its estimator in the
/// table's model, over the product of all level counts, common factors cancelled. An
/// estimator with fractional weights (a mean square that absorbs dropped terms) brings the
/// least common denominator of its weights into the divisor.
fn mean_squares(
    table: &EmsTable,
    over: Subscripts,
    quantity: Quantity,
) -> Result<MsForm, NoMsForm> {
    let d = &table.design;
    let all = Subscripts((1u64 << (d.n_factors() + 1)) - 1);
    let raw = raw_components(table, table.model, over, quantity);
    let mut by_component: Vec<Option<&crate::ems::Estimator>> = vec![None; table.terms.len()];
    for e in &table.estimators {
        if let Some(slot) = by_component.get_mut(e.component) {
            *slot = Some(e);
        }
    }
    let mut estimators = Vec::with_capacity(raw.len());
    let mut scale: i64 = 1;
    for (u, _, den) in &raw {
        let e = by_component
            .get(*u)
            .copied()
            .flatten()
            .ok_or(NoMsForm::NoEstimator { component: *u })?;
        if !e.divisor.0.intersection(*den).is_empty() {
            // Not the subscript rules' divisor: no multilinear form (cannot happen for
            // the tables `ems::derive` builds).
            return Err(NoMsForm::NoEstimator { component: *u });
        }
        for &(_, w) in &e.combination {
            let q = w.denom();
            scale = scale
                .checked_mul(q / super::poly::gcd(scale, q).max(1))
                .ok_or(NoMsForm::Overflow)?;
        }
        estimators.push(e);
    }
    let mut weights: Vec<Poly> = vec![Poly::default(); table.terms.len()];
    for ((_, num, den), e) in raw.iter().zip(estimators) {
        let num = num.times_symbols(all.minus(den.union(e.divisor.0)));
        for &(v, w) in &e.combination {
            // w × scale is an integer: scale is a multiple of every weight's denominator.
            let k = w
                .numer()
                .checked_mul(scale / w.denom().max(1))
                .ok_or(NoMsForm::Overflow)?;
            weights[v].add(&num.scale(k));
        }
    }
    let weights: Vec<(usize, Poly)> = weights
        .into_iter()
        .enumerate()
        .filter(|(_, p)| !p.is_zero())
        .collect();
    let common = weights
        .iter()
        .map(|(_, p)| p.common_symbols())
        .reduce(|a, b| a.intersection(b))
        .unwrap_or(Subscripts::EMPTY);
    let content = weights
        .iter()
        .fold(0, |g, (_, p)| super::poly::gcd(g, p.content()))
        .max(1);
    // constant / scale, in lowest terms.
    let g = super::poly::gcd(content, scale).max(1);
    Ok(MsForm {
        constant: content / g,
        scale: scale / g,
        weights: weights
            .into_iter()
            .map(|(v, p)| (v, p.divide_symbols(common).divide(content)))
            .collect(),
        divisor: all.minus(common),
    })
}

/// One row: the quantity over the factors `over` (closed under nesting).
pub fn row(
    table: &EmsTable,
    over: Subscripts,
    term: Option<usize>,
    quantity: Quantity,
) -> PrecisionRow {
    PrecisionRow {
        over,
        term,
        quantity,
        restricted: components(table, Model::Restricted, over, quantity),
        unrestricted: components(table, Model::Unrestricted, over, quantity),
        mean_squares: mean_squares(table, over, quantity),
    }
}

/// The kinds of differences between two level combinations of the factors `over`: every
/// non-empty set D of them that holds, with a factor, every factor of `over` nested in it
/// (two levels of a parent hold different levels of its children).
pub fn difference_patterns(design: &Design, over: Subscripts) -> Vec<Subscripts> {
    let members: Vec<usize> = over.iter().collect();
    if members.len() >= 32 {
        return vec![over];
    }
    let mut out: Vec<Subscripts> = (1u64..(1u64 << members.len()))
        .map(|mask| {
            members
                .iter()
                .enumerate()
                .filter(|(k, _)| mask >> k & 1 == 1)
                .fold(Subscripts::EMPTY, |s, (_, &c)| s.with(c))
        })
        .filter(|d| {
            members
                .iter()
                .all(|&c| d.contains(c) || design.factors[c].ancestors.intersection(*d).is_empty())
        })
        .collect();
    out.sort_by_key(|d| (d.len(), d.iter().collect::<Vec<_>>()));
    out
}

/// The factors in which two level combinations of `over` differ: a factor whose code or
/// an ancestor's code differs. `a` and `b` hold the codes of the factors of `over` in
/// increasing order.
pub fn pattern_of(design: &Design, over: Subscripts, a: &[u32], b: &[u32]) -> Subscripts {
    let members: Vec<usize> = over.iter().collect();
    let direct = members
        .iter()
        .zip(a.iter().zip(b))
        .filter(|(_, (x, y))| x != y)
        .fold(Subscripts::EMPTY, |s, (&c, _)| s.with(c));
    members.iter().fold(direct, |s, &c| {
        if design.factors[c].ancestors.intersection(direct).is_empty() {
            s
        } else {
            s.with(c)
        }
    })
}

/// The precision table of an EMS table: the grand mean, then for every model term the
/// mean of one of its level combinations, followed (for a fixed term) by the differences
/// of two such means.
pub fn derive(table: &EmsTable) -> Precision {
    let d = &table.design;
    if table.terms.len() > MAX_PRECISION_TERMS {
        return Precision {
            rows: Vec::new(),
            notes: vec![PrecisionNote::TooManyTerms {
                terms: table.terms.len(),
                limit: MAX_PRECISION_TERMS,
            }],
        };
    }
    let mut rows = vec![row(table, Subscripts::EMPTY, None, Quantity::Mean)];
    let mut notes = Vec::new();
    for (u, t) in table.terms.iter().enumerate().take(table.residual()) {
        let over = factor_part(d, t.subscripts);
        rows.push(row(table, over, Some(u), Quantity::Mean));
        if t.random {
            continue;
        }
        if over.len() > MAX_LISTED_DIFFERENCE_FACTORS {
            notes.push(PrecisionNote::DifferencesNotListed {
                term: u,
                factors: over.len(),
            });
            continue;
        }
        for differ in difference_patterns(d, over) {
            rows.push(row(table, over, Some(u), Quantity::Difference { differ }));
        }
    }
    Precision { rows, notes }
}

/// Why a precision row has no estimate (or no standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEstimated {
    /// The combination of mean squares is zero or negative: no standard error.
    NotPositive,
    /// A component it needs has no estimator in the (possibly reduced) model.
    NoEstimator { component: usize },
    /// The design's level counts are not known.
    Unsized,
}

/// A variance estimated from observed mean squares.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimated {
    /// Weights on the mean squares of the (possibly reduced) system.
    pub weights: Weights,
    /// `Σ weight × MS` (NaN without weights).
    pub value: f64,
    /// Cochran–Satterthwaite df; `None` with the value <= 0.
    pub df: Option<f64>,
    pub se: Option<f64>,
    /// Why there is no standard error.
    pub problem: Option<NotEstimated>,
    /// A combination of more than one mean square (Satterthwaite df).
    pub synthetic: bool,
}

/// The estimator of every random component in a (possibly reduced) system of mean
/// squares, found once for all the variances that need them.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimators {
    system: System,
    /// By row: the estimator's weights, or `None` (no estimator, or a fixed row).
    weights: Vec<Option<Weights>>,
}

impl Estimators {
    pub fn new(system: &System) -> Estimators {
        Estimators {
            system: system.clone(),
            weights: (0..system.rows.len())
                .map(|u| {
                    (system.rows[u].random && system.rows[u].pooled_into.is_none())
                        .then(|| system.estimator(u).ok().map(|(w, _)| w))
                        .flatten()
                })
                .collect(),
        }
    }
}

/// The variance of a quantity estimated from a (possibly reduced, `--negative pool`)
/// system of mean squares in `model`: each component replaced by its estimator in that
/// system (a pooled component is 0), the combination of mean squares evaluated, with its
/// Cochran–Satterthwaite df.
pub fn estimate(
    table: &EmsTable,
    estimators: &Estimators,
    model: Model,
    over: Subscripts,
    quantity: Quantity,
) -> Estimated {
    let system = &estimators.system;
    let d = &table.design;
    let failed = |problem| Estimated {
        weights: Vec::new(),
        value: f64::NAN,
        df: None,
        se: None,
        problem: Some(problem),
        synthetic: false,
    };
    let mut acc: HashMap<usize, f64> = HashMap::new();
    for (u, num, den) in raw_components(table, model, over, quantity) {
        if system.rows[u].pooled_into.is_some() {
            continue;
        }
        let (Some(n), Some(k)) = (num.eval_f64(d), d.cells(den)) else {
            return failed(NotEstimated::Unsized);
        };
        let coef = n / k as f64;
        let Some(comb) = estimators.weights.get(u).and_then(Option::as_ref) else {
            return failed(NotEstimated::NoEstimator { component: u });
        };
        for &(v, w) in comb {
            *acc.entry(v).or_insert(0.0) += coef * w;
        }
    }
    let mut weights: Weights = acc.into_iter().filter(|(_, w)| *w != 0.0).collect();
    weights.sort_by_key(|&(v, _)| v);
    // Exact cancellations (a mean square whose weights sum to zero) leave round-off.
    let scale = weights.iter().fold(0.0f64, |m, (_, w)| m.max(w.abs()));
    weights.retain(|(_, w)| w.abs() > 1e-12 * scale);
    let terms: Vec<MsTerm> = weights
        .iter()
        .map(|&(v, a)| MsTerm {
            a,
            ms: system.rows[v].ms,
            df: system.rows[v].df as f64,
        })
        .collect();
    let value = intervals::value(&terms);
    let positive = value > 0.0;
    Estimated {
        synthetic: weights.len() > 1,
        weights,
        value,
        df: positive.then(|| intervals::satterthwaite_df(&terms)),
        se: positive.then(|| value.sqrt()),
        problem: (!positive).then_some(NotEstimated::NotPositive),
    }
}

fn ms_item(table: &EmsTable, v: usize) -> Item {
    Item {
        text: format!("MS({})", table.terms[v].name),
        latex: table.combination_latex(&[(v, Ratio::ONE)]),
    }
}

fn component_item(table: &EmsTable, u: usize) -> Item {
    Item {
        text: table.component_text(u),
        latex: table.component_latex(u),
    }
}

/// A variance in components as text and LaTeX: `σ²(Worker) / w + (m-1) σ²(Machine:Worker)
/// / (m w) + σ² / (w n)`.
pub fn components_text(table: &EmsTable, form: &ComponentForm) -> (String, String) {
    let items: Vec<(Fraction, Item)> = form
        .iter()
        .map(|(u, f)| (f.clone(), component_item(table, *u)))
        .collect();
    sum_of_fractions(&table.design, &items)
}

impl MsForm {
    /// As text and LaTeX: `(MS(Worker) + (m-1) MS(Machine:Worker)) / (m w n)`.
    pub fn text(&self, table: &EmsTable) -> (String, String) {
        let items: Vec<(Poly, Item)> = self
            .weights
            .iter()
            .map(|(v, p)| (p.clone(), ms_item(table, *v)))
            .collect();
        sum_over(
            &table.design,
            self.constant,
            self.scale,
            &items,
            self.divisor,
        )
    }

    /// Each weight as text: `(m-1)/(m w n)`.
    pub fn weight_text(&self, table: &EmsTable, k: usize) -> String {
        let Some((_, p)) = self.weights.get(k) else {
            return String::new();
        };
        let one = Item {
            text: "1".into(),
            latex: "1".into(),
        };
        let (num, _) = sum_over(
            &table.design,
            self.constant,
            1,
            &[(p.clone(), one)],
            Subscripts::EMPTY,
        );
        let num = num.strip_suffix(" 1").unwrap_or(&num).to_string();
        let mut den = Monomial(self.divisor).symbolic(&table.design);
        if self.scale != 1 {
            den = if self.divisor.is_empty() {
                self.scale.to_string()
            } else {
                format!("{} {den}", self.scale)
            };
        }
        if self.divisor.is_empty() && self.scale == 1 {
            num
        } else if self.divisor.len() + usize::from(self.scale != 1) == 1 {
            format!("{num}/{den}")
        } else {
            format!("{num}/({den})")
        }
    }
}
