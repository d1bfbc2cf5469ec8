//! Expected mean squares by the subscript-table rules (Montgomery, Design and Analysis of
//! Experiments, §13.5; Cornfield and Tukey 1956), for the restricted and unrestricted
//! mixed models; test denominators (exact or synthetic) and method-of-moments estimators.
//!
//! `derive` needs no data. Every coefficient is a product of level symbols ([`Monomial`]),
//! evaluated to a number only at the edge.
//!
//! ```
//! use emslab::{Design, ems::{derive, Model}};
//! let d = Design::from_toml_str(r#"
//!     replicates = 2
//!     [[factors]]
//!     name = "A"
//!     kind = "fixed"
//!     levels = 3
//!     [[factors]]
//!     name = "B"
//!     kind = "random"
//!     levels = 4
//! "#).unwrap();
//! let restricted = derive(&d, Model::Restricted);
//! assert_eq!(restricted.ems_text(1), "σ² + a n σ²(B)");
//! let unrestricted = derive(&d, Model::Unrestricted);
//! assert_eq!(unrestricted.ems_text(1), "σ² + n σ²(A:B) + a n σ²(B)");
//! ```

mod symbolic;

use serde::{Deserialize, Serialize};

use crate::design::{Design, Kind, Subscripts, Term};
pub use symbolic::{Monomial, latex_product, latex_symbol, product_string};

/// Which mixed model the EMS describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Restricted (textbook, Montgomery): mixed interaction effects sum to zero over the
    /// levels of each fixed factor.
    #[default]
    Restricted,
    /// Unrestricted (SAS PROC MIXED/GLM RANDOM, lme4, Minitab GLM): all random effects are
    /// independent.
    Unrestricted,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Restricted => "restricted",
            Model::Unrestricted => "unrestricted",
        }
    }
}

/// An entry of the subscript table (Rule 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// The subscript is dead (in parentheses) in the row's term: 1.
    Dead,
    /// Live in the row's term, in a fixed column: 0 (restricted model).
    LiveFixed,
    /// Live in the row's term, in a random column: 1.
    LiveRandom,
    /// Not in the row's term: the column's level count.
    Absent,
}

/// What a cell contributes to a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellValue {
    Zero,
    One,
    Levels,
}

impl Cell {
    /// The value of the cell in a row of the given randomness under the given model. In the
    /// unrestricted model a random row takes 1 in fixed live columns: its effects are not
    /// constrained to sum to zero.
    pub fn value(self, row_random: bool, model: Model) -> CellValue {
        match self {
            Cell::Dead | Cell::LiveRandom => CellValue::One,
            Cell::LiveFixed if model == Model::Unrestricted && row_random => CellValue::One,
            Cell::LiveFixed => CellValue::Zero,
            Cell::Absent => CellValue::Levels,
        }
    }
}

/// A column of the subscript table: one subscript.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// Subscript letter (`i`, `j`, ...).
    pub subscript: String,
    /// Factor name, or `None` for the replicate (error) subscript.
    pub factor: Option<String>,
    pub kind: Kind,
    pub symbol: String,
    pub levels: Option<u32>,
}

/// A row of the subscript table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    pub term: String,
    /// The term's subscripts, dead ones in parentheses: `j(i)`, `ij`, `k(ij)`.
    pub subscripts: String,
    pub cells: Vec<Cell>,
}

/// The subscript table of Rule 6: rows = terms (with the Residual), columns = subscripts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptTable {
    pub columns: Vec<Column>,
    pub rows: Vec<TableRow>,
}

/// One component of an expected mean square: `coefficient × σ²(component)` (or
/// `× φ(component)` for a fixed term).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmsEntry {
    /// Index into [`EmsTable::terms`].
    pub component: usize,
    pub coefficient: Monomial,
}

/// A linear combination of mean squares: `Σ weight × MS(term)`.
pub type Combination = Vec<(usize, i64)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// One mean square has exactly the numerator's EMS without its own component.
    Exact,
    /// A synthetic denominator (a combination of mean squares), F′ with Satterthwaite df.
    Quasi,
    /// No test.
    None,
}

/// The F test of a term.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub kind: TestKind,
    /// F′ denominator: mean squares whose combination has the numerator's EMS without the
    /// term's own component.
    pub denominator: Combination,
    /// F″ (for quasi tests): mean squares added to the numerator and denominator so that
    /// every sign is positive.
    pub f2_numerator: Combination,
    pub f2_denominator: Combination,
    /// Why there is no test (`kind` is [`TestKind::None`]).
    pub reason: Option<NoTest>,
}

/// Why a term has no F test (the report says it in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoTest {
    /// The Residual is the error term: nothing tests it.
    ErrorTerm,
    /// The term's EMS contains the fixed effect φ of `term` (an index into the terms),
    /// which no other mean square can remove.
    FixedEffect { term: usize },
    /// The mean square of `term` that the denominator needs has 0 degrees of freedom.
    ZeroDf { term: usize },
    /// The term's EMS has no component other than its own.
    NoOtherComponent,
    /// The term was pooled into `into` (negative estimate, `--negative pool`).
    Pooled { into: usize },
}

/// Method-of-moments estimator of a variance component: `Σ weight × MS / divisor`.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimator {
    pub component: usize,
    pub combination: Combination,
    pub divisor: Monomial,
}

/// One row's part in the derivation of a term's EMS.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivationRow {
    pub row: usize,
    /// Whether the row's term contains all the subscripts of the term being derived.
    pub contains: bool,
    /// The uncovered cells of the row: (column, cell, its value).
    pub cells: Vec<(usize, Cell, CellValue)>,
    /// The product of the uncovered cells (`None` when a 0 cancels the row).
    pub product: Option<Monomial>,
}

/// How the EMS of one term is read off the subscript table.
#[derive(Debug, Clone, PartialEq)]
pub struct Derivation {
    pub term: usize,
    /// Columns covered: the term's live subscripts.
    pub covered: Vec<usize>,
    pub rows: Vec<DerivationRow>,
}

/// Everything derived from a design under one model.
#[derive(Debug, Clone, PartialEq)]
pub struct EmsTable {
    pub model: Model,
    pub design: Design,
    /// The rows: model terms, then the Residual.
    pub terms: Vec<Term>,
    pub table: SubscriptTable,
    /// `ems[t]`: the EMS of term `t`, from the Residual up to the term's own component.
    pub ems: Vec<Vec<EmsEntry>>,
    pub tests: Vec<Test>,
    /// One per random term and the Residual, in term order.
    pub estimators: Vec<Estimator>,
}

/// Derives the EMS table, tests and estimators of a design.
pub fn derive(design: &Design, model: Model) -> EmsTable {
    let terms = design.terms_with_residual();
    let nf = design.n_factors();
    let ncol = nf + 1;
    let all = Subscripts((1u64 << ncol) - 1);
    let fixed_cols = Subscripts(
        (0..nf)
            .filter(|&c| design.factors[c].kind == Kind::Fixed)
            .fold(0u64, |m, c| m | 1 << c),
    );

    let table = subscript_table(design, &terms);

    // E(MS_T) contains row U when U's subscripts include T's; its coefficient is the product
    // of U's cells outside T's live columns: the level counts of the columns absent from U,
    // or 0 when a fixed column live in U (not in T) is uncovered (restricted model, or a
    // fixed row in either model).
    // Components are listed from the Residual up: by decreasing number of subscripts, then
    // in canonical order (σ² + nσ²(ABC) + cnσ²(AB) + bnσ²(AC) + bcnφ(A)).
    let display_order = display_order(&terms);
    let ems: Vec<Vec<EmsEntry>> = terms
        .iter()
        .map(|t| {
            display_order
                .iter()
                .map(|&u| (u, &terms[u]))
                .filter(|(_, u)| u.subscripts.is_superset(t.subscripts))
                .filter(|(_, u)| {
                    let zero_cols = u.live.minus(t.live).intersection(fixed_cols);
                    zero_cols.is_empty() || (model == Model::Unrestricted && u.random)
                })
                .map(|(ui, u)| EmsEntry {
                    component: ui,
                    coefficient: Monomial(all.minus(u.subscripts)),
                })
                .collect()
        })
        .collect();

    let residual = terms.len() - 1;
    let residual_df_zero = design.residual_df() == Some(0);
    let tests: Vec<Test> = (0..terms.len())
        .map(|ti| synthesize_test(ti, &terms, &ems, residual, residual_df_zero))
        .collect();
    let estimators = (0..terms.len())
        .filter(|&u| terms[u].random)
        .filter_map(|u| {
            let test = &tests[u];
            let own = Monomial(all.minus(terms[u].subscripts));
            if u == residual {
                return Some(Estimator {
                    component: u,
                    combination: vec![(u, 1)],
                    divisor: own,
                });
            }
            if test.kind == TestKind::None {
                return None;
            }
            let mut combination = vec![(u, 1)];
            combination.extend(test.denominator.iter().map(|&(v, w)| (v, -w)));
            Some(Estimator {
                component: u,
                combination,
                divisor: own,
            })
        })
        .collect();

    EmsTable {
        model,
        design: design.clone(),
        terms,
        table,
        ems,
        tests,
        estimators,
    }
}

impl EmsTable {
    /// Assembles a table from EMS, test denominators and estimators computed by another
    /// engine (the Symbolica engine of [`crate::cas`]), with the conventions of [`derive`]:
    /// the same subscript table, EMS components listed from the Residual up, test kinds and
    /// F″ forms, estimators in term order.
    ///
    /// - `ems[t]`: the components of E(MS_t), in any order.
    /// - `denominators[t]`: mean-square weights whose combination has E(MS_t) without t's
    ///   own component, in any order (ignored for the Residual). A fixed term among them
    ///   means t has no test, as in [`derive`].
    /// - `estimators`: of random components, in any order; those of a term without a test
    ///   (other than the Residual) are left out, as in [`derive`].
    pub fn from_parts(
        design: &Design,
        model: Model,
        ems: Vec<Vec<EmsEntry>>,
        denominators: Vec<Combination>,
        mut estimators: Vec<Estimator>,
    ) -> EmsTable {
        let terms = design.terms_with_residual();
        let table = subscript_table(design, &terms);
        let position = {
            let mut pos = vec![0; terms.len()];
            for (k, u) in display_order(&terms).into_iter().enumerate() {
                pos[u] = k;
            }
            pos
        };
        let ems = ems
            .into_iter()
            .map(|mut entries| {
                entries.sort_by_key(|e| position[e.component]);
                entries
            })
            .collect();
        let residual = terms.len() - 1;
        let residual_df_zero = design.residual_df() == Some(0);
        let mut lattice_order: Vec<usize> = (0..terms.len()).collect();
        lattice_order.sort_by_key(|&u| (terms[u].subscripts.len(), u));
        let tests: Vec<Test> = denominators
            .into_iter()
            .enumerate()
            .map(|(ti, mut denominator)| {
                if ti == residual {
                    return residual_test();
                }
                denominator.retain(|&(_, w)| w != 0);
                denominator.sort_unstable();
                let fixed = lattice_order
                    .iter()
                    .find(|&&u| !terms[u].random && denominator.iter().any(|&(v, _)| v == u));
                match fixed {
                    Some(&u) => fixed_effect_test(u),
                    None => test_from_denominator(ti, denominator, residual, residual_df_zero),
                }
            })
            .collect();
        estimators.retain(|e| e.component == residual || tests[e.component].kind != TestKind::None);
        estimators.sort_by_key(|e| e.component);
        EmsTable {
            model,
            design: design.clone(),
            terms,
            table,
            ems,
            tests,
            estimators,
        }
    }
}

/// The subscript table of Rule 6 for the given rows.
fn subscript_table(design: &Design, terms: &[Term]) -> SubscriptTable {
    let nf = design.n_factors();
    let ncol = nf + 1;
    let column_kind = |c: usize| {
        if c == nf {
            Kind::Random
        } else {
            design.factors[c].kind
        }
    };
    let columns = (0..ncol)
        .map(|c| Column {
            subscript: if c == nf {
                design.error_subscript.clone()
            } else {
                design.factors[c].subscript.clone()
            },
            factor: (c < nf).then(|| design.factors[c].name.clone()),
            kind: column_kind(c),
            symbol: design.symbol_of(c).to_string(),
            levels: design.levels_of(c),
        })
        .collect::<Vec<_>>();
    let rows = terms
        .iter()
        .map(|t| TableRow {
            term: t.name.clone(),
            subscripts: subscript_label(design, t),
            cells: (0..ncol).map(|c| cell_of(t, c, column_kind(c))).collect(),
        })
        .collect();
    SubscriptTable { columns, rows }
}

/// Rows from the Residual up: decreasing number of subscripts, then canonical order.
fn display_order(terms: &[Term]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..terms.len()).collect();
    order.sort_by_key(|&u| (std::cmp::Reverse(terms[u].subscripts.len()), u));
    order
}

fn cell_of(t: &Term, c: usize, kind: Kind) -> Cell {
    if t.dead.contains(c) {
        Cell::Dead
    } else if t.live.contains(c) {
        match kind {
            Kind::Fixed => Cell::LiveFixed,
            Kind::Random => Cell::LiveRandom,
        }
    } else {
        Cell::Absent
    }
}

fn subscript_label(design: &Design, t: &Term) -> String {
    let letter = |c: usize| {
        if c == design.n_factors() {
            design.error_subscript.clone()
        } else {
            design.factors[c].subscript.clone()
        }
    };
    let join = |s: Subscripts| s.iter().map(letter).collect::<Vec<_>>().join("");
    if t.dead.is_empty() {
        join(t.live)
    } else {
        format!("{}({})", join(t.live), join(t.dead))
    }
}

/// Finds the combination of mean squares whose expectation is E(MS_T) without T's own
/// component, by back-substitution up the term lattice: the EMS of U contains only terms
/// that contain U, and every coefficient of σ²(V) is 0 or the same product k_V, so the
/// weights are integers.
fn synthesize_test(
    ti: usize,
    terms: &[Term],
    ems: &[Vec<EmsEntry>],
    residual: usize,
    residual_df_zero: bool,
) -> Test {
    if ti == residual {
        return residual_test();
    }
    let mut target = vec![0i64; terms.len()];
    for e in &ems[ti] {
        if e.component != ti {
            target[e.component] = 1;
        }
    }
    let mut order: Vec<usize> = (0..terms.len()).collect();
    order.sort_by_key(|&u| (terms[u].subscripts.len(), u));
    let mut weights = vec![0i64; terms.len()];
    for &u in &order {
        let w = target[u];
        if w == 0 {
            continue;
        }
        if !terms[u].random {
            return fixed_effect_test(u);
        }
        weights[u] = w;
        for e in &ems[u] {
            target[e.component] -= w;
        }
    }
    let denominator: Combination = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w != 0)
        .map(|(v, w)| (v, *w))
        .collect();
    test_from_denominator(ti, denominator, residual, residual_df_zero)
}

/// A test with no denominator, for a reason.
fn no_test(reason: NoTest) -> Test {
    Test {
        kind: TestKind::None,
        denominator: Vec::new(),
        f2_numerator: Vec::new(),
        f2_denominator: Vec::new(),
        reason: Some(reason),
    }
}

fn residual_test() -> Test {
    no_test(NoTest::ErrorTerm)
}

fn fixed_effect_test(fixed: usize) -> Test {
    no_test(NoTest::FixedEffect { term: fixed })
}

/// The test of term `ti` given the weights of its F′ denominator (random terms only).
fn test_from_denominator(
    ti: usize,
    denominator: Combination,
    residual: usize,
    residual_df_zero: bool,
) -> Test {
    if residual_df_zero && denominator.iter().any(|&(v, _)| v == residual) {
        return no_test(NoTest::ZeroDf { term: residual });
    }
    let exact = denominator.len() == 1 && denominator[0].1 == 1;
    let (f2_numerator, f2_denominator) = if exact {
        (Vec::new(), Vec::new())
    } else {
        let mut num = vec![(ti, 1)];
        num.extend(
            denominator
                .iter()
                .filter(|(_, w)| *w < 0)
                .map(|&(v, w)| (v, -w)),
        );
        let den = denominator
            .iter()
            .filter(|(_, w)| *w > 0)
            .copied()
            .collect();
        (num, den)
    };
    Test {
        kind: if exact {
            TestKind::Exact
        } else {
            TestKind::Quasi
        },
        denominator,
        f2_numerator,
        f2_denominator,
        reason: None,
    }
}

impl EmsTable {
    pub fn residual(&self) -> usize {
        self.terms.len() - 1
    }

    /// Degrees of freedom of row `t`.
    pub fn df(&self, t: usize) -> Option<u64> {
        if t == self.residual() {
            self.design.residual_df()
        } else {
            self.design.df(&self.terms[t])
        }
    }

    /// Symbolic degrees of freedom of row `t`.
    pub fn df_symbolic(&self, t: usize) -> String {
        if t == self.residual() {
            self.design.residual_df_symbolic()
        } else {
            self.design.df_symbolic(&self.terms[t])
        }
    }

    /// Whether component `u` is a variance (random) or a fixed effect's φ.
    pub fn is_random(&self, u: usize) -> bool {
        self.terms[u].random
    }

    /// The EMS of term `t` as text: `σ² + n σ²(A:B) + b n φ(A)`.
    pub fn ems_text(&self, t: usize) -> String {
        self.ems[t]
            .iter()
            .map(|e| {
                let c = e.coefficient.symbolic(&self.design);
                let comp = self.component_text(e.component);
                if c == "1" {
                    comp
                } else {
                    format!("{c} {comp}")
                }
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The EMS of term `t` with numeric coefficients: `σ² + 2 σ²(A:B) + 8 φ(A)`.
    pub fn ems_numeric_text(&self, t: usize) -> Option<String> {
        let mut parts = Vec::new();
        for e in &self.ems[t] {
            let c = e.coefficient.value(&self.design)?;
            let comp = self.component_text(e.component);
            parts.push(if c == 1 { comp } else { format!("{c} {comp}") });
        }
        Some(parts.join(" + "))
    }

    /// `σ²` for the Residual, `σ²(B)` for a random term, `φ(A)` for a fixed one.
    pub fn component_text(&self, u: usize) -> String {
        if u == self.residual() {
            "σ²".to_string()
        } else if self.terms[u].random {
            format!("σ²({})", self.terms[u].name)
        } else {
            format!("φ({})", self.terms[u].name)
        }
    }

    /// LaTeX label of a term from its factors' symbols: `S(B)`, `AB`, `AC(B)`.
    pub fn term_latex(&self, u: usize) -> String {
        let t = &self.terms[u];
        let sym = |c: usize| symbolic::latex_symbol(&self.design.symbol_of(c).to_uppercase());
        let live: String = t.live.iter().map(sym).collect();
        if t.dead.is_empty() {
            live
        } else {
            format!("{live}({})", t.dead.iter().map(sym).collect::<String>())
        }
    }

    /// LaTeX of a component: `\sigma^2`, `\sigma^2_{S(B)}`, `\phi_{A}`.
    pub fn component_latex(&self, u: usize) -> String {
        if u == self.residual() {
            "\\sigma^2".to_string()
        } else if self.terms[u].random {
            format!("\\sigma^2_{{{}}}", self.term_latex(u))
        } else {
            format!("\\phi_{{{}}}", self.term_latex(u))
        }
    }

    /// The EMS of term `t` in LaTeX: `\sigma^2 + n\sigma^2_{S(B)} + sn\sigma^2_{B}`.
    pub fn ems_latex(&self, t: usize) -> String {
        self.ems[t]
            .iter()
            .map(|e| {
                format!(
                    "{}{}",
                    e.coefficient.latex(&self.design),
                    self.component_latex(e.component)
                )
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The EMS of term `t` in HTML.
    pub fn ems_html(&self, t: usize) -> String {
        self.ems[t]
            .iter()
            .map(|e| {
                let c = e.coefficient.html(&self.design);
                format!("{c}{}", self.component_html(e.component))
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn component_html(&self, u: usize) -> String {
        let name = html_escape(&self.terms[u].name);
        if u == self.residual() {
            "σ<sup>2</sup>".to_string()
        } else if self.terms[u].random {
            format!("σ<sup>2</sup><sub>{name}</sub>")
        } else {
            format!("φ<sub>{name}</sub>")
        }
    }

    /// The EMS entry of component `u` in term `t`'s EMS, if present.
    pub fn coefficient(&self, t: usize, u: usize) -> Option<Monomial> {
        self.ems[t]
            .iter()
            .find(|e| e.component == u)
            .map(|e| e.coefficient)
    }

    /// The estimator of component `u`, if `u` is random.
    pub fn estimator(&self, u: usize) -> Option<&Estimator> {
        self.estimators.iter().find(|e| e.component == u)
    }

    /// A combination of mean squares as text: `MS(A:B) + MS(A:C) - MS(A:B:C)`.
    pub fn combination_text(&self, comb: &[(usize, i64)]) -> String {
        combination_string(comb, |v| format!("MS({})", self.terms[v].name))
    }

    /// A combination of mean squares in LaTeX: `\mathrm{MS}_{AB} + \mathrm{MS}_{AC} - \mathrm{MS}_{ABC}`.
    pub fn combination_latex(&self, comb: &[(usize, i64)]) -> String {
        combination_string(comb, |v| {
            if v == self.residual() {
                "\\mathrm{MS}_{E}".to_string()
            } else {
                format!("\\mathrm{{MS}}_{{{}}}", self.term_latex(v))
            }
        })
    }

    /// Estimator as text: `(MS(A) - MS(A:B)) / (b n)`.
    pub fn estimator_text(&self, e: &Estimator) -> String {
        let comb = self.combination_text(&e.combination);
        let div = e.divisor.symbolic(&self.design);
        let div = if e.divisor.0.len() > 1 {
            format!("({div})")
        } else {
            div
        };
        if div == "1" {
            comb
        } else if e.combination.len() == 1 && e.combination[0].1 == 1 {
            format!("{comb} / {div}")
        } else {
            format!("({comb}) / {div}")
        }
    }

    /// Estimator in LaTeX: `(\mathrm{MS}_{A} - \mathrm{MS}_{AB})/bn`.
    pub fn estimator_latex(&self, e: &Estimator) -> String {
        let comb = self.combination_latex(&e.combination);
        let div = e.divisor.latex(&self.design);
        let div = if e.divisor.0.len() > 1 {
            format!("({div})")
        } else {
            div
        };
        if div.is_empty() {
            comb
        } else if e.combination.len() == 1 && e.combination[0].1 == 1 {
            format!("{comb}/{div}")
        } else {
            format!("({comb})/{div}")
        }
    }

    /// The step-by-step reading of term `t`'s EMS off the subscript table.
    pub fn derivation(&self, t: usize) -> Derivation {
        let term = &self.terms[t];
        let ncol = self.table.columns.len();
        let covered: Vec<usize> = term.live.iter().collect();
        let rows = display_order(&self.terms)
            .into_iter()
            .map(|ui| (ui, &self.terms[ui]))
            .map(|(ui, u)| {
                let contains = u.subscripts.is_superset(term.subscripts);
                let cells: Vec<(usize, Cell, CellValue)> = (0..ncol)
                    .filter(|c| !term.live.contains(*c))
                    .map(|c| {
                        let cell = self.table.rows[ui].cells[c];
                        (c, cell, cell.value(u.random, self.model))
                    })
                    .collect();
                let product = if contains && cells.iter().all(|(_, _, v)| *v != CellValue::Zero) {
                    Some(Monomial(Subscripts(
                        cells
                            .iter()
                            .filter(|(_, _, v)| *v == CellValue::Levels)
                            .fold(0u64, |m, (c, _, _)| m | 1 << c),
                    )))
                } else {
                    None
                };
                DerivationRow {
                    row: ui,
                    contains,
                    cells,
                    product,
                }
            })
            .collect();
        Derivation {
            term: t,
            covered,
            rows,
        }
    }
}

/// `a + b - 2 c` from weighted items.
pub fn combination_string(comb: &[(usize, i64)], item: impl Fn(usize) -> String) -> String {
    let mut s = String::new();
    for (k, &(v, w)) in comb.iter().enumerate() {
        let mag = w.unsigned_abs();
        let body = if mag == 1 {
            item(v)
        } else {
            format!("{mag} {}", item(v))
        };
        if k == 0 {
            if w < 0 {
                s.push('-');
            }
        } else {
            s.push_str(if w < 0 { " - " } else { " + " });
        }
        s.push_str(&body);
    }
    s
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
