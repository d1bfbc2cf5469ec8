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

mod derive;
mod ratio;
mod solve;
mod symbolic;

use serde::{Deserialize, Serialize};

use crate::design::{Design, Kind, Subscripts, Term};
pub use crate::notation::{latex_product, latex_symbol, product_string};
pub use ratio::Ratio;
pub use symbolic::{Coefficient, Monomial, Share};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmsEntry {
    /// Index into [`EmsTable::terms`].
    pub component: usize,
    pub coefficient: Coefficient,
}

/// A linear combination of mean squares: `Σ weight × MS(term)`, exact weights (integers
/// except where a mean square absorbs dropped terms).
pub type Combination = Vec<(usize, Ratio)>;

/// A finding about the table, in words in [`crate::report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmsNote {
    /// Row `row` pools the strata of dropped terms it absorbs, and the random
    /// `components` reach only some of those strata (in the restricted model: they sum to
    /// zero over a fixed subscript the absorbed term lacks), so their coefficients are a
    /// fraction of the usual ones and the tests may differ from the classical
    /// split-plot ones (a quasi-F can appear).
    PartialShare { row: usize, components: Vec<usize> },
    /// Fractional coefficients from absorbed terms: the tests and estimators need the
    /// level counts, which the design does not give.
    NeedsLevels,
}

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
    /// The exact weights of its denominator do not fit in 64-bit integers.
    WeightsOverflow,
    /// Its denominator's weights are fractions of level counts the design does not give
    /// (a kept term absorbs a dropped one).
    NeedsLevels,
}

/// Method-of-moments estimator of a variance component: `Σ weight × MS / divisor`
/// (`divisor`: the product of level counts absent from the component's term; a share
/// below 1 of its own coefficient is in the weights).
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
    /// The uncovered cells of the row: (column, cell, its value); empty when the row does
    /// not contain the term.
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
    pub notes: Vec<EmsNote>,
    /// Every row's and column's labels, written once (the table's text is built from
    /// them, entry by entry).
    labels: Labels,
}

/// Labels of the rows (components) and columns (symbols) in each notation.
#[derive(Debug, Clone, Default)]
struct Labels {
    component_text: Vec<String>,
    component_latex: Vec<String>,
    component_html: Vec<String>,
    term_latex: Vec<String>,
    symbol: Vec<String>,
    symbol_latex: Vec<String>,
    /// Every symbol one character: products are written without separators.
    single_char: bool,
}

/// Labels are a function of the design and the rows, which the table compares.
impl PartialEq for Labels {
    fn eq(&self, _: &Labels) -> bool {
        true
    }
}

impl Labels {
    fn new(design: &Design, terms: &[Term]) -> Labels {
        let ncol = design.n_factors() + 1;
        let symbol: Vec<String> = (0..ncol).map(|c| design.symbol_of(c).to_string()).collect();
        let upper: Vec<String> = symbol
            .iter()
            .map(|s| latex_symbol(&s.to_uppercase()))
            .collect();
        let residual = terms.len() - 1;
        let term_latex: Vec<String> = terms
            .iter()
            .map(|t| {
                let live: String = t.live.iter().map(|c| upper[c].as_str()).collect();
                if t.dead.is_empty() {
                    live
                } else {
                    let dead: String = t.dead.iter().map(|c| upper[c].as_str()).collect();
                    format!("{live}({dead})")
                }
            })
            .collect();
        let component = |u: usize, residual_label: &str, random: &str, fixed: &str| {
            if u == residual {
                residual_label.to_string()
            } else if terms[u].random {
                random.to_string()
            } else {
                fixed.to_string()
            }
        };
        Labels {
            component_text: (0..terms.len())
                .map(|u| {
                    let name = &terms[u].name;
                    component(u, "σ²", &format!("σ²({name})"), &format!("φ({name})"))
                })
                .collect(),
            component_latex: (0..terms.len())
                .map(|u| {
                    let l = &term_latex[u];
                    component(
                        u,
                        "\\sigma^2",
                        &format!("\\sigma^2_{{{l}}}"),
                        &format!("\\phi_{{{l}}}"),
                    )
                })
                .collect(),
            component_html: (0..terms.len())
                .map(|u| {
                    let name = html_escape(&terms[u].name);
                    component(
                        u,
                        "σ<sup>2</sup>",
                        &format!("σ<sup>2</sup><sub>{name}</sub>"),
                        &format!("φ<sub>{name}</sub>"),
                    )
                })
                .collect(),
            term_latex,
            single_char: symbol.iter().all(|s| s.chars().count() == 1),
            symbol_latex: symbol.iter().map(|s| latex_symbol(s)).collect(),
            symbol,
        }
    }
}

/// Derives the EMS table, tests and estimators of a design, in time and memory
/// proportional to what the table holds.
pub fn derive(design: &Design, model: Model) -> EmsTable {
    let terms = design.terms_with_residual();
    let table = subscript_table(design, &terms);
    let ems = derive::ems_rows(design, &terms, model);
    let (tests, estimators, notes) = solve::solve(design, &terms, &ems);
    EmsTable {
        model,
        design: design.clone(),
        labels: Labels::new(design, &terms),
        terms,
        table,
        ems,
        tests,
        estimators,
        notes,
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
        lattice_order.sort_by_key(|&u| design.rank(u));
        let tests: Vec<Test> = denominators
            .into_iter()
            .enumerate()
            .map(|(ti, mut denominator)| {
                if ti == residual {
                    return residual_test();
                }
                denominator.retain(|&(_, w)| !w.is_zero());
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
            labels: Labels::new(design, &terms),
            terms,
            table,
            ems,
            tests,
            estimators,
            notes: Vec::new(),
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

/// A notation for [`EmsTable::write_coefficient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Text,
    Latex,
    Html,
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
    let exact = denominator.len() == 1 && denominator[0].1 == Ratio::ONE;
    let (f2_numerator, f2_denominator) = if exact {
        (Vec::new(), Vec::new())
    } else {
        let mut num = vec![(ti, Ratio::ONE)];
        num.extend(
            denominator
                .iter()
                .filter(|(_, w)| w.is_negative())
                .map(|&(v, w)| (v, w.abs())),
        );
        let den = denominator
            .iter()
            .filter(|(_, w)| *w > Ratio::ZERO)
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
        self.design.row_df(t)
    }

    /// Symbolic degrees of freedom of row `t`.
    pub fn df_symbolic(&self, t: usize) -> String {
        self.design.row_df_symbolic(t)
    }

    /// Whether component `u` is a variance (random) or a fixed effect's φ.
    pub fn is_random(&self, u: usize) -> bool {
        self.terms[u].random
    }

    /// A coefficient in one notation, appended to `out`: text (`b n`, with a space after
    /// unless it is 1), LaTeX (`bn`) or HTML (`<i>bn</i>`).
    fn write_coefficient(&self, c: &Coefficient, style: Style, out: &mut String) {
        let Some(m) = c.as_product() else {
            match style {
                Style::Text => {
                    let text = c.symbolic(&self.design);
                    if text != "1" {
                        out.push_str(&text);
                        out.push(' ');
                    }
                }
                Style::Latex => out.push_str(&c.latex(&self.design)),
                Style::Html => out.push_str(&c.html(&self.design)),
            }
            return;
        };
        if m.0.is_empty() {
            return;
        }
        let l = &self.labels;
        match style {
            Style::Text => {
                for c in m.0.iter() {
                    out.push_str(&l.symbol[c]);
                    out.push(' ');
                }
            }
            Style::Latex => m.0.iter().for_each(|c| out.push_str(&l.symbol_latex[c])),
            Style::Html => {
                out.push_str("<i>");
                for (k, c) in m.0.iter().enumerate() {
                    if k > 0 && !l.single_char {
                        out.push('·');
                    }
                    out.push_str(&l.symbol[c]);
                }
                out.push_str("</i>");
            }
        }
    }

    fn write_ems(&self, t: usize, style: Style) -> String {
        let labels = match style {
            Style::Text => &self.labels.component_text,
            Style::Latex => &self.labels.component_latex,
            Style::Html => &self.labels.component_html,
        };
        let mut out = String::with_capacity(self.ems[t].len() * 16);
        for (k, e) in self.ems[t].iter().enumerate() {
            if k > 0 {
                out.push_str(" + ");
            }
            self.write_coefficient(&e.coefficient, style, &mut out);
            out.push_str(&labels[e.component]);
        }
        out
    }

    /// The EMS of term `t` as text: `σ² + n σ²(A:B) + b n φ(A)`.
    pub fn ems_text(&self, t: usize) -> String {
        self.write_ems(t, Style::Text)
    }

    /// The EMS of term `t` with numeric coefficients: `σ² + 2 σ²(A:B) + 8 φ(A)`.
    pub fn ems_numeric_text(&self, t: usize) -> Option<String> {
        let mut out = String::with_capacity(self.ems[t].len() * 16);
        for (k, e) in self.ems[t].iter().enumerate() {
            if k > 0 {
                out.push_str(" + ");
            }
            let c = e.coefficient.value(&self.design)?;
            if c != Ratio::ONE {
                out.push_str(&c.to_string());
                out.push(' ');
            }
            out.push_str(&self.labels.component_text[e.component]);
        }
        Some(out)
    }

    /// `σ²` for the Residual, `σ²(B)` for a random term, `φ(A)` for a fixed one.
    pub fn component_text(&self, u: usize) -> String {
        self.labels.component_text[u].clone()
    }

    /// LaTeX label of a term from its factors' symbols: `S(B)`, `AB`, `AC(B)`.
    pub fn term_latex(&self, u: usize) -> String {
        self.labels.term_latex[u].clone()
    }

    /// LaTeX of a component: `\sigma^2`, `\sigma^2_{S(B)}`, `\phi_{A}`.
    pub fn component_latex(&self, u: usize) -> String {
        self.labels.component_latex[u].clone()
    }

    /// The EMS of term `t` in LaTeX: `\sigma^2 + n\sigma^2_{S(B)} + sn\sigma^2_{B}`.
    pub fn ems_latex(&self, t: usize) -> String {
        self.write_ems(t, Style::Latex)
    }

    /// The EMS of term `t` in HTML.
    pub fn ems_html(&self, t: usize) -> String {
        self.write_ems(t, Style::Html)
    }

    pub fn component_html(&self, u: usize) -> String {
        self.labels.component_html[u].clone()
    }

    /// The coefficient of component `u` in term `t`'s EMS, if present.
    pub fn coefficient(&self, t: usize, u: usize) -> Option<&Coefficient> {
        self.ems[t]
            .iter()
            .find(|e| e.component == u)
            .map(|e| &e.coefficient)
    }

    /// The estimator of component `u`, if `u` is random.
    pub fn estimator(&self, u: usize) -> Option<&Estimator> {
        self.estimators.iter().find(|e| e.component == u)
    }

    /// A combination of mean squares as text: `MS(A:B) + MS(A:C) - MS(A:B:C)`.
    pub fn combination_text(&self, comb: &[(usize, Ratio)]) -> String {
        combination_string(comb, |v| format!("MS({})", self.terms[v].name))
    }

    /// A combination of mean squares in LaTeX: `\mathrm{MS}_{AB} + \mathrm{MS}_{AC} - \mathrm{MS}_{ABC}`.
    pub fn combination_latex(&self, comb: &[(usize, Ratio)]) -> String {
        combination_string(comb, |v| {
            if v == self.residual() {
                "\\mathrm{MS}_{E}".to_string()
            } else {
                format!("\\mathrm{{MS}}_{{{}}}", self.labels.term_latex[v])
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
        } else if e.combination.len() == 1 && e.combination[0].1 == Ratio::ONE {
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
        } else if e.combination.len() == 1 && e.combination[0].1 == Ratio::ONE {
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
                    .filter(|c| contains && !term.live.contains(*c))
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

/// `a + b - 2 c - 1/2 d` from weighted items.
pub fn combination_string(comb: &[(usize, Ratio)], item: impl Fn(usize) -> String) -> String {
    let mut s = String::new();
    for (k, &(v, w)) in comb.iter().enumerate() {
        let mag = w.abs();
        let body = if mag == Ratio::ONE {
            item(v)
        } else {
            format!("{mag} {}", item(v))
        };
        if k == 0 {
            if w.is_negative() {
                s.push('-');
            }
        } else {
            s.push_str(if w.is_negative() { " - " } else { " + " });
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
