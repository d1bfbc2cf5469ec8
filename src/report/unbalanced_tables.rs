//! Tables of an unbalanced analysis ([`crate::unbalanced`]): the ANOVA table of Type III or
//! Type I sums of squares with the tests built from their expected mean squares, the EMS
//! with numeric coefficients and each test's denominator, and the moment estimates of the
//! variance components. Every word about the analysis's typed notes is written here.

use super::table::{Align, Cell, Document, Table, fmt_sig, html_escape, latex_escape};
use crate::design::Kind;
use crate::ems::TestKind;
use crate::moments::Interval;
use crate::unbalanced::{
    EmsCoefficient, MsWeight, NoTestReason, SsType, UnbalancedAnova, UnbalancedNote,
};

/// The three tables (`anova`, `ems`, `components`), every format written from them.
pub fn unbalanced_tables(a: &UnbalancedAnova) -> Vec<Table> {
    vec![anova_table(a), ems_table(a), components_table(a)]
}

/// A document of the three tables under a title (the design's, or a default).
pub fn unbalanced_document(a: &UnbalancedAnova, title: &str) -> Document {
    Document {
        title: if title.is_empty() {
            "Analysis of variance, unbalanced data".to_string()
        } else {
            title.to_string()
        },
        preamble: vec![format!(
            "Type {} sums of squares; {} observations in {} cells; the expected mean squares, tests and estimates use the unrestricted model. emslab {}.",
            a.ss_type.as_str(),
            a.n_observations,
            a.n_cells,
            env!("CARGO_PKG_VERSION")
        )],
        tables: unbalanced_tables(a),
    }
}

fn num(v: f64, sig: usize) -> Cell {
    if v.is_finite() {
        Cell::num(v, sig)
    } else {
        Cell::empty_dash()
    }
}

fn opt_num(v: Option<f64>, sig: usize) -> Cell {
    v.map_or_else(Cell::empty_dash, |v| num(v, sig))
}

/// `MS(A:B)`, `0.9773 MS(A:B) + 0.0227 MS(Residual)`.
pub fn combination_text(weights: &[MsWeight]) -> String {
    let mut s = String::new();
    for (k, w) in weights.iter().enumerate() {
        let mag = w.weight.abs();
        let body = if mag == 1.0 {
            format!("MS({})", w.term)
        } else {
            format!("{} MS({})", fmt_sig(mag, 5), w.term)
        };
        if k == 0 {
            if w.weight < 0.0 {
                s.push('-');
            }
        } else {
            s.push_str(if w.weight < 0.0 { " - " } else { " + " });
        }
        s.push_str(&body);
    }
    s
}

fn component_text(e: &EmsCoefficient) -> String {
    let c = if e.coefficient == 1.0 {
        String::new()
    } else {
        format!("{} ", fmt_sig(e.coefficient, 5))
    };
    let name = if e.component == "Residual" {
        "σ²".to_string()
    } else if e.kind == Kind::Random {
        format!("σ²({})", e.component)
    } else {
        format!("φ({})", e.component)
    };
    format!("{c}{name}")
}

fn component_latex(e: &EmsCoefficient) -> String {
    let c = if e.coefficient == 1.0 {
        String::new()
    } else {
        fmt_sig(e.coefficient, 5)
    };
    let name = format!("\\text{{{}}}", latex_escape(&e.component));
    let sym = if e.component == "Residual" {
        "\\sigma^2".to_string()
    } else if e.kind == Kind::Random {
        format!("\\sigma^2_{{{name}}}")
    } else {
        format!("\\phi_{{{name}}}")
    };
    format!("{c}\\,{sym}")
}

fn component_html(e: &EmsCoefficient) -> String {
    let c = if e.coefficient == 1.0 {
        String::new()
    } else {
        format!("{} ", fmt_sig(e.coefficient, 5))
    };
    let name = html_escape(&e.component);
    let sym = if e.component == "Residual" {
        "σ<sup>2</sup>".to_string()
    } else if e.kind == Kind::Random {
        format!("σ<sup>2</sup><sub>{name}</sub>")
    } else {
        format!("φ<sub>{name}</sub>")
    };
    format!("{c}{sym}")
}

/// The EMS of a row as a cell: `σ² + 2.4558 σ²(Machine:Worker) + 14.735 φ(Machine)`.
fn ems_cell(ems: &[EmsCoefficient]) -> Cell {
    let join = |f: fn(&EmsCoefficient) -> String| ems.iter().map(f).collect::<Vec<_>>().join(" + ");
    Cell::math(
        join(component_text),
        &join(component_latex),
        join(component_html),
    )
}

/// Why a row has no test, in words.
pub fn no_test_text(reason: &NoTestReason) -> String {
    match reason {
        NoTestReason::ErrorTerm => "the Residual is the error term: nothing tests it".into(),
        NoTestReason::NotEstimable => "it has no degrees of freedom".into(),
        NoTestReason::FixedEffect { term } => format!(
            "its expected mean square contains the fixed effect φ({term}), which no other mean square can remove"
        ),
        NoTestReason::ZeroDf { term } => {
            format!("the mean square of {term} it needs has 0 degrees of freedom")
        }
        NoTestReason::NoOtherComponent => "its expected mean square has no other component".into(),
        NoTestReason::Pooled { into } => format!("pooled into {into}"),
    }
}

/// A note in words.
pub fn unbalanced_note_text(note: &UnbalancedNote) -> String {
    match note {
        UnbalancedNote::UnrestrictedModel => "Expected mean squares, tests and variance components use the unrestricted model (every random effect independent, as SAS GLM, SAS MIXED and lme4), whatever --model says.".into(),
        UnbalancedNote::FixedEffectCoefficients => "φ(T) = Σ (sum-to-zero effects of T)² / df(T). Its coefficient is the trace form tr(X′AX)/df of the term's orthonormal sum-to-zero coding: exact on balanced data (b n in b n Σα²/(a-1)); on unbalanced data the quadratic form Q(T) is not a multiple of φ(T), and the coefficient is its average over directions of the effects. In Type I several fixed terms share one quadratic form (SAS's Q(A, A*B)).".into(),
        UnbalancedNote::SequentialOrder { order } => format!(
            "Type I order: {} (fixed terms first, each term after the terms it contains, as SAS VARCOMP and R's formulas want).",
            order.join(", ")
        ),
        UnbalancedNote::EmptyCells { term, empty, expected } => format!(
            "{term}: {empty} of its {expected} level combinations hold no data (empty cells)."
        ),
        UnbalancedNote::TypeIiiLeftOut { term, because } => format!(
            "{term}: no Type III row, because {because} contains it and has empty cells (SAS Type III and Type IV and R's contr.sum test different hypotheses there); the Type I row and REML remain."
        ),
        UnbalancedNote::ReducedDf { term, df, df_complete } => format!(
            "{term}: {df} df instead of {df_complete} (empty cells or confounding leave only these estimable)."
        ),
        UnbalancedNote::NotEstimable { term } => {
            format!("{term}: not estimable (no degrees of freedom left).")
        }
        UnbalancedNote::NoResidualDf => "The Residual has no degrees of freedom: no test uses it.".into(),
        UnbalancedNote::NegativeDenominator { term, value } => format!(
            "The synthetic denominator of {term} is not positive ({}): F′ is not defined; F″ is given instead.",
            fmt_sig(*value, 6)
        ),
        UnbalancedNote::NegativeEstimate { term, estimate } => format!(
            "{term}: negative estimate ({}), reported as computed: the component is likely zero or small.",
            fmt_sig(*estimate, 6)
        ),
        UnbalancedNote::NoEstimate { term, reason } => match reason {
            Some(r) => format!("{term}: no moment estimate: {}.", no_test_text(r)),
            None => format!("{term}: no moment estimate (its Type III row is left out)."),
        },
    }
}

fn is_component_note(note: &UnbalancedNote) -> bool {
    matches!(
        note,
        UnbalancedNote::NegativeEstimate { .. } | UnbalancedNote::NoEstimate { .. }
    )
}

fn anova_table(a: &UnbalancedAnova) -> Table {
    let mut tab = Table::new(
        "anova",
        format!(
            "Analysis of variance (Type {} sums of squares)",
            a.ss_type.as_str()
        ),
    )
    .columns(&[
        ("Term", Align::Left),
        ("df", Align::Right),
        ("SS", Align::Right),
        ("MS", Align::Right),
        ("F", Align::Right),
        ("p", Align::Right),
        ("Test", Align::Left),
    ]);
    for row in &a.terms {
        let t = &row.test;
        let what = match t.kind {
            TestKind::None => match &t.reason {
                Some(NoTestReason::ErrorTerm) | None => String::new(),
                Some(r) => format!("none: {}", no_test_text(r)),
            },
            TestKind::Exact => format!(
                "/ {} on ({}, {})",
                combination_text(&t.denominator),
                row.df,
                fmt_sig(t.df_den.unwrap_or(f64::NAN), 6)
            ),
            TestKind::Quasi if t.negative_denominator => format!(
                "quasi F′ / ({}): denominator not positive",
                combination_text(&t.denominator)
            ),
            TestKind::Quasi => format!(
                "quasi F′ / ({}) on ({}, {})",
                combination_text(&t.denominator),
                row.df,
                fmt_sig(t.df_den.unwrap_or(f64::NAN), 5)
            ),
        };
        tab.push(vec![
            Cell::text(&row.term),
            Cell::int(row.df),
            num(row.ss, 7),
            opt_num(row.ms, 7),
            opt_num(t.f, 6),
            opt_num(t.p, 4),
            Cell::text(what),
        ]);
        for alt in &t.alternatives {
            tab.notes.push(format!(
                "{}: F″ = ({}) / ({}) = {} on ({}, {}) df, p = {}.",
                row.term,
                combination_text(&alt.numerator),
                combination_text(&alt.denominator),
                fmt_sig(alt.f, 6),
                fmt_sig(alt.df_num, 5),
                fmt_sig(alt.df_den, 5),
                fmt_sig(alt.p, 4)
            ));
        }
    }
    tab.push(vec![
        Cell::text("Total"),
        Cell::int(a.total.df),
        num(a.total.ss, 7),
        Cell::empty(),
        Cell::empty(),
        Cell::empty(),
        Cell::empty(),
    ]);
    let residual = if a.lack_of_fit.df > 0 {
        format!(
            " Residual = pure error (SS {} on {} df) + lack of fit of the cell means (SS {} on {} df).",
            fmt_sig(a.pure_error.ss, 7),
            a.pure_error.df,
            fmt_sig(a.lack_of_fit.ss, 7),
            a.lack_of_fit.df
        )
    } else {
        String::new()
    };
    tab.notes.push(format!(
        "{}{residual}",
        match a.ss_type {
            SsType::III => "Type III: each term adjusted for every other term; sum-to-zero hypotheses (SAS Type III, car::Anova(type = 3) with contr.sum).",
            SsType::I => "Type I: each term adjusted for the terms before it (SAS Type I, anova(lm)).",
        }
    ));
    tab.notes.push(
        "Tests as SAS GLM's RANDOM / TEST: exact where one mean square has the expected mean square without the term's component; otherwise F′ over a synthetic denominator with Satterthwaite df.".into(),
    );
    tab.notes.extend(
        a.notes
            .iter()
            .filter(|n| !is_component_note(n) && **n != UnbalancedNote::FixedEffectCoefficients)
            .map(unbalanced_note_text),
    );
    tab
}

fn ems_table(a: &UnbalancedAnova) -> Table {
    let mut tab = Table::new(
        "ems",
        format!(
            "Expected mean squares of the Type {} mean squares",
            a.ss_type.as_str()
        ),
    )
    .columns(&[
        ("Term", Align::Left),
        ("Kind", Align::Left),
        ("df", Align::Right),
        ("E(MS)", Align::Left),
        ("Denominator", Align::Left),
    ]);
    for row in &a.terms {
        let den = match row.test.kind {
            TestKind::None => Cell::empty_dash(),
            _ => Cell::text(combination_text(&row.test.denominator)),
        };
        tab.push(vec![
            Cell::text(&row.term),
            Cell::text(row.kind.as_str()),
            Cell::int(row.df),
            ems_cell(&row.ems),
            den,
        ]);
    }
    tab.notes.push(
        "E(MS_T) = σ² + Σ_k tr(Z_k′ A_T Z_k)/df_T σ²_k (+ the fixed part), from the cell-level matrices.".into(),
    );
    if a.notes.contains(&UnbalancedNote::FixedEffectCoefficients) {
        tab.notes.push(unbalanced_note_text(
            &UnbalancedNote::FixedEffectCoefficients,
        ));
    }
    tab
}

fn interval_text(i: &Interval) -> String {
    let bound = |v: f64, clipped: bool| {
        if clipped {
            "0*".to_string()
        } else {
            fmt_sig(v, 5)
        }
    };
    format!(
        "[{}, {}]",
        bound(i.lower, i.lower_clipped),
        bound(i.upper, i.upper_clipped)
    )
}

fn components_table(a: &UnbalancedAnova) -> Table {
    let level = format!("{}%", fmt_sig(100.0 * (1.0 - a.alpha), 4));
    let method = match a.ss_type {
        SsType::III => "SAS MIXED METHOD=TYPE3",
        SsType::I => "SAS VARCOMP METHOD=TYPE1, VCA anovaVCA",
    };
    let mut tab = Table::new(
        "components",
        format!(
            "Variance components (moments of the Type {} mean squares)",
            a.ss_type.as_str()
        ),
    )
    .columns(&[
        ("Component", Align::Left),
        ("Estimate", Align::Right),
        ("SE", Align::Right),
        ("ν", Align::Right),
        ("CI", Align::Left),
        ("MLS CI", Align::Left),
        ("Estimator", Align::Left),
    ]);
    tab.headers[0][4] = Cell::text(format!("{level} CI (χ²)"));
    tab.headers[0][5] = Cell::text(format!("{level} CI (MLS)"));
    for c in &a.components {
        let estimator = if c.divisor == 1.0 {
            combination_text(&c.combination)
        } else {
            // The combination is already divided by the coefficient: show it undivided.
            let undivided: Vec<MsWeight> = c
                .combination
                .iter()
                .map(|w| MsWeight {
                    weight: w.weight * c.divisor,
                    ..w.clone()
                })
                .collect();
            format!(
                "({}) / {}",
                combination_text(&undivided),
                fmt_sig(c.divisor, 5)
            )
        };
        tab.push(vec![
            Cell::text(&c.term),
            num(c.estimate, 7),
            num(c.se, 5),
            num(c.satterthwaite_df, 5),
            c.ci.as_ref().map_or_else(
                || Cell::text("none (estimate ≤ 0)"),
                |i| Cell::text(interval_text(i)),
            ),
            c.mls.as_ref().map_or_else(
                || {
                    if c.combination.len() == 1 {
                        Cell::text("(same: exact)")
                    } else {
                        Cell::empty_dash()
                    }
                },
                |i| Cell::text(interval_text(i)),
            ),
            Cell::text(estimator),
        ]);
    }
    tab.notes.push(format!(
        "Moment estimates from the expected mean squares ({method}); ν = Cochran-Satterthwaite df; χ² CI: ν·s²/χ²(1-α/2, ν) to ν·s²/χ²(α/2, ν), exact for the Residual; MLS: modified large-sample interval; α = {}.",
        fmt_sig(a.alpha, 4)
    ));
    if a.components
        .iter()
        .filter_map(|c| c.ci.as_ref().or(c.mls.as_ref()))
        .any(|i| i.lower_clipped || i.upper_clipped)
    {
        tab.notes
            .push("0* = a bound that came out negative, set to 0.".into());
    }
    tab.notes.extend(
        a.notes
            .iter()
            .filter(|n| is_component_note(n))
            .map(unbalanced_note_text),
    );
    tab
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn combinations_read_as_sas_prints_them() {
        let w = |term: &str, weight: f64| MsWeight {
            term: term.into(),
            weight,
            row: 0,
        };
        assert_eq!(combination_text(&[w("A:B", 1.0)]), "MS(A:B)");
        assert_eq!(
            combination_text(&[w("A:B", 0.977303), w("Residual", 0.022697)]),
            "0.9773 MS(A:B) + 0.022697 MS(Residual)"
        );
        assert_eq!(
            combination_text(&[w("B", 1.06), w("Residual", -0.06)]),
            "1.06 MS(B) - 0.06 MS(Residual)"
        );
    }
}
