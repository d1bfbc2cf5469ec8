//! Tables and JSON of an [`EmsTable`].

use super::EmsOptions;
use super::means_tables;
use super::table::{Align, Cell, Table, html_escape};
use super::words;
use crate::ems::{EmsNote, EmsTable, Model, Ratio, TestKind, latex_symbol};

fn kind_str(t: &EmsTable, u: usize) -> &'static str {
    if t.terms[u].random { "random" } else { "fixed" }
}

/// The tables of an EMS report.
pub fn ems_tables(t: &EmsTable, opts: EmsOptions) -> Vec<Table> {
    let mut tables = vec![
        design_table(t),
        subscript_table(t),
        ems_table(t),
        tests_table(t),
        estimators_table(t),
        means_tables::precision_table(t, &crate::means::precision::derive(t), None),
        means_tables::covariances_table(
            t,
            &crate::means::covariance::covariances(t, t.model),
            None,
        ),
    ];
    if opts.steps {
        tables.push(derivation_table(t));
    }
    tables
}

fn design_table(t: &EmsTable) -> Table {
    let d = &t.design;
    let mut tab = Table::new("design", "Design").columns(&[
        ("Factor", Align::Left),
        ("Kind", Align::Left),
        ("Levels", Align::Right),
        ("Nested in", Align::Left),
        ("Symbol", Align::Center),
        ("Subscript", Align::Center),
    ]);
    for f in &d.factors {
        let parents = f
            .parents
            .iter()
            .map(|&p| d.factors[p].name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        tab.push(vec![
            Cell::text(&f.name),
            Cell::text(f.kind.as_str()),
            f.levels
                .map_or_else(|| Cell::text("from data"), |l| Cell::int(u64::from(l))),
            Cell::text(if parents.is_empty() {
                "—".to_string()
            } else {
                parents
            }),
            Cell::math(
                &f.symbol,
                &latex_symbol(&f.symbol),
                format!("<i>{}</i>", html_escape(&f.symbol)),
            ),
            Cell::math(
                &f.subscript,
                &f.subscript,
                format!("<i>{}</i>", f.subscript),
            ),
        ]);
    }
    tab.push(vec![
        Cell::text("(replicates)"),
        Cell::text("random"),
        d.replicates
            .map_or_else(|| Cell::text("from data"), |l| Cell::int(u64::from(l))),
        Cell::text("all factors"),
        Cell::math(&d.replicate_symbol, &d.replicate_symbol, "<i>n</i>"),
        Cell::math(
            &d.error_subscript,
            &d.error_subscript,
            format!("<i>{}</i>", d.error_subscript),
        ),
    ]);
    tab.notes.push(format!(
        "Terms: {}.",
        d.terms
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for a in &d.absorbed {
        let into = &d.terms[a.into].name;
        let mut note = format!(
            "Left out of the model: {} is absorbed by {into}, the smallest kept term containing it (as in R's model formulas): MS({into}) pools both, on {} df.",
            a.term.name,
            d.row_df(a.into)
                .map_or_else(|| d.row_df_symbolic(a.into), |v| v.to_string())
        );
        if !a.also.is_empty() {
            note.push_str(&format!(
                " {} also contains it; {into} comes first in the term list, which decides (as R does).",
                a.also
                    .iter()
                    .map(|&k| d.terms[k].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
        tab.notes.push(note);
    }
    if !d.pooled.is_empty() {
        tab.notes.push(format!(
            "Left out of the model and pooled into Residual (no kept term contains them): {}.",
            d.pooled
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(n) = d.n_observations() {
        tab.notes.push(format!("N = {n} observations."));
    }
    tab
}

fn subscript_table(t: &EmsTable) -> Table {
    let cols = &t.table.columns;
    let mut tab = Table::new("subscripts", "Subscript table (Rule 6)");
    let mut kinds = vec![Cell::empty(), Cell::empty()];
    let mut levels = vec![Cell::empty(), Cell::empty()];
    let mut subs = vec![Cell::text("Term"), Cell::text("Subscripts")];
    for c in cols {
        kinds.push(Cell::text(c.kind.letter()));
        let lv = match c.levels {
            Some(v) => (
                format!("{}={v}", c.symbol),
                format!("{}={v}", latex_symbol(&c.symbol)),
            ),
            None => (c.symbol.clone(), latex_symbol(&c.symbol)),
        };
        levels.push(Cell::math(
            &lv.0,
            &lv.1,
            format!("<i>{}</i>", html_escape(&lv.0)),
        ));
        subs.push(Cell::math(
            &c.subscript,
            &c.subscript,
            format!("<i>{}</i>", c.subscript),
        ));
    }
    tab.headers = vec![kinds, levels, subs];
    tab.align = vec![Align::Left, Align::Left];
    tab.align.extend(cols.iter().map(|_| Align::Center));
    let mut marked = false;
    for (r, row) in t.table.rows.iter().enumerate() {
        let mut cells = vec![
            Cell::text(&row.term),
            Cell::math(
                &row.subscripts,
                &row.subscripts,
                format!("<i>{}</i>", row.subscripts),
            ),
        ];
        for c in 0..cols.len() {
            let (text, latex) = words::subscript_entry(t, r, c);
            marked |= text.contains('†');
            cells.push(Cell::math(&text, &latex, html_escape(&text)));
        }
        tab.push(cells);
    }
    tab.notes.push(
        "Entries: 1 where the subscript is dead (in parentheses); 0 (fixed column) or 1 (random column) where it is live; the level count where it is absent."
            .into(),
    );
    if marked {
        tab.notes.push(
            "† Unrestricted model: a random row takes 1 in a fixed live column (its effects are not constrained to sum to zero)."
                .into(),
        );
    }
    tab
}

fn ems_table(t: &EmsTable) -> Table {
    let mut tab = Table::new("ems", "Expected mean squares").columns(&[
        ("Term", Align::Left),
        ("Kind", Align::Left),
        ("df", Align::Left),
        ("", Align::Right),
        ("E(MS)", Align::Left),
        ("E(MS), numeric", Align::Left),
    ]);
    tab.headers[0][3] = Cell::text("df value");
    let mut has_fixed = false;
    for u in 0..t.terms.len() {
        has_fixed |= !t.terms[u].random;
        let df_sym = t.df_symbolic(u);
        let numeric = t.ems_numeric_text(u);
        tab.push(vec![
            Cell::text(&t.terms[u].name),
            Cell::text(kind_str(t, u)),
            Cell::math(&df_sym, &df_sym, format!("<i>{}</i>", html_escape(&df_sym))),
            Cell::opt_int(t.df(u)),
            Cell::math(t.ems_text(u), &t.ems_latex(u), t.ems_html(u)),
            match numeric {
                Some(s) => {
                    let latex = numeric_latex(t, u);
                    Cell::math(&s, &latex, html_escape(&s))
                }
                None => Cell::empty_dash(),
            },
        ]);
    }
    if has_fixed {
        tab.notes.push(
            "φ(X) = Σ(effects of X)² / df(X), e.g. φ(A) = Σ τᵢ² / (a-1): a fixed effect's quadratic form."
                .into(),
        );
    }
    for n in &t.notes {
        tab.notes.push(ems_note(t, n));
    }
    tab.notes.push(format!(
        "{} model.",
        match t.model {
            Model::Restricted => "Restricted (textbook)",
            Model::Unrestricted => "Unrestricted (SAS, lme4, Minitab GLM)",
        }
    ));
    tab
}

/// The words of a finding of the EMS derivation.
fn ems_note(t: &EmsTable, note: &EmsNote) -> String {
    match note {
        EmsNote::PartialShare { row, components } => {
            let names = components
                .iter()
                .map(|&u| t.component_text(u))
                .collect::<Vec<_>>()
                .join(", ");
            let why = match t.model {
                Model::Restricted => {
                    " (in the restricted model a mixed effect sums to zero over a fixed subscript the absorbed term lacks, so it adds nothing to that part)"
                }
                Model::Unrestricted => "",
            };
            format!(
                "MS({}) pools the strata of the terms it absorbs; {names} reach only part of them{why}, so their coefficients are the df-weighted share tr(P Z C Z′)/df, not the subscript-table products, and the tests built on MS({}) can differ from the classical split-plot ones (a quasi-F can appear).",
                t.terms[*row].name, t.terms[*row].name
            )
        }
        EmsNote::NeedsLevels => "A kept term absorbs a dropped one and some coefficients are fractions of the level counts: give every factor's `levels` and `replicates` to get the tests and estimators.".to_string(),
    }
}

fn numeric_latex(t: &EmsTable, u: usize) -> String {
    t.ems[u]
        .iter()
        .map(|e| {
            let v = e.coefficient.value(&t.design).unwrap_or(Ratio::ZERO);
            let c = if v == Ratio::ONE {
                String::new()
            } else if v.is_integer() {
                v.to_string()
            } else {
                format!("\tfrac{{{}}}{{{}}}", v.numer(), v.denom())
            };
            format!("{c}{}", t.component_latex(e.component))
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `MS(A) / MS(A:B)` or `MS(A) / (MS(A:B) + MS(A:C) - MS(A:B:C))`.
fn ratio_text(t: &EmsTable, num: &[(usize, Ratio)], den: &[(usize, Ratio)]) -> String {
    let wrap = |c: &[(usize, Ratio)]| {
        let s = t.combination_text(c);
        if c.len() > 1 || c.first().is_some_and(|x| x.1 != Ratio::ONE) {
            format!("({s})")
        } else {
            s
        }
    };
    format!("{} / {}", wrap(num), wrap(den))
}

fn ratio_latex(t: &EmsTable, num: &[(usize, Ratio)], den: &[(usize, Ratio)]) -> String {
    let wrap = |c: &[(usize, Ratio)]| {
        let s = t.combination_latex(c);
        if c.len() > 1 || c.first().is_some_and(|x| x.1 != Ratio::ONE) {
            format!("({s})")
        } else {
            s
        }
    };
    format!("{} / {}", wrap(num), wrap(den))
}

fn tests_table(t: &EmsTable) -> Table {
    let mut tab = Table::new("tests", "F tests").columns(&[
        ("Term", Align::Left),
        ("Test", Align::Left),
        ("F ratio", Align::Left),
        ("df", Align::Left),
    ]);
    let mut quasi_notes = Vec::new();
    for u in 0..t.terms.len() {
        let test = &t.tests[u];
        let name = Cell::text(&t.terms[u].name);
        match test.kind {
            TestKind::None => {
                tab.push(vec![
                    name,
                    Cell::text("none"),
                    Cell::text(
                        test.reason
                            .map(|r| words::no_test(t, r))
                            .unwrap_or_default(),
                    ),
                    Cell::empty(),
                ]);
            }
            TestKind::Exact | TestKind::Quasi => {
                let num = vec![(u, Ratio::ONE)];
                let text = ratio_text(t, &num, &test.denominator);
                let latex = ratio_latex(t, &num, &test.denominator);
                let df_num = t.df(u).map_or_else(|| t.df_symbolic(u), |v| v.to_string());
                let (kind, df) = if test.kind == TestKind::Exact {
                    let d = test.denominator[0].0;
                    let df_den = t.df(d).map_or_else(|| t.df_symbolic(d), |v| v.to_string());
                    ("exact", format!("{df_num}, {df_den}"))
                } else {
                    quasi_notes.push(format!(
                        "{}: no mean square has E(MS) without σ²/φ({}) alone, so F′ = {} uses a synthetic denominator with Satterthwaite df; F″ = {} keeps every sign positive.",
                        t.terms[u].name,
                        t.terms[u].name,
                        text,
                        ratio_text(t, &test.f2_numerator, &test.f2_denominator)
                    ));
                    ("quasi (F′)", format!("{df_num}, ν (Satterthwaite)"))
                };
                tab.push(vec![
                    name,
                    Cell::text(kind),
                    Cell::math(&text, &latex, html_escape(&text)),
                    Cell::text(df),
                ]);
            }
        }
    }
    tab.notes.extend(quasi_notes);
    tab
}

fn estimators_table(t: &EmsTable) -> Table {
    let mut tab = Table::new("estimators", "Method-of-moments estimators")
        .columns(&[("Component", Align::Left), ("Estimator", Align::Left)]);
    for e in &t.estimators {
        let comp = t.component_text(e.component);
        let text = t.estimator_text(e);
        tab.push(vec![
            Cell::math(
                &comp,
                &t.component_latex(e.component),
                t.component_html(e.component),
            ),
            Cell::math(&text, &t.estimator_latex(e), html_escape(&text)),
        ]);
    }
    tab.notes.push("Solve the EMS equations with each E(MS) replaced by the observed mean square; an estimate may come out negative.".into());
    tab
}

fn derivation_table(t: &EmsTable) -> Table {
    let mut tab = Table::new(
        "derivation",
        "Derivation of each E(MS) from the subscript table",
    )
    .columns(&[
        ("Term", Align::Left),
        ("Covered columns", Align::Left),
        ("Row", Align::Left),
        ("Uncovered entries", Align::Left),
        ("Product", Align::Left),
    ]);
    let cols = &t.table.columns;
    for u in 0..t.terms.len() {
        let der = t.derivation(u);
        let covered = der
            .covered
            .iter()
            .map(|&c| cols[c].subscript.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let mut first = true;
        for r in der.rows.iter().filter(|r| r.contains) {
            let entries = r
                .cells
                .iter()
                .map(|&(c, _, _)| {
                    format!(
                        "{}: {}",
                        cols[c].subscript,
                        words::subscript_entry(t, r.row, c).0
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let product = match r.product {
                Some(m) if m.0.is_empty() => t.component_text(r.row),
                Some(m) => format!("{} {}", m.symbolic(&t.design), t.component_text(r.row)),
                None => "0 (dropped)".to_string(),
            };
            tab.push(vec![
                Cell::text(if first {
                    t.terms[u].name.clone()
                } else {
                    String::new()
                }),
                Cell::text(if first {
                    covered.clone()
                } else {
                    String::new()
                }),
                Cell::text(&t.terms[r.row].name),
                Cell::text(entries),
                Cell::text(product),
            ]);
            first = false;
        }
    }
    tab.notes.push("For each term: cover its live columns; in every row whose term contains all its subscripts, multiply the uncovered entries.".into());
    tab
}
