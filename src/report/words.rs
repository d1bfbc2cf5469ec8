//! The words of the report: every typed finding of the computation said in English.

use super::table::fmt_sig;
use crate::ems::{
    Cell as Entry, CellValue, EmsTable, NoTest, Ratio, combination_string, latex_symbol,
};
use crate::moments::{
    ComponentNote, Interval, MomentFit, MomentNote, NoInterval, PoolStep, VarianceComponent,
    Weights,
};

fn name(t: &EmsTable, u: usize) -> &str {
    &t.terms[u].name
}

/// Why a term has no F test.
pub fn no_test(t: &EmsTable, reason: NoTest) -> String {
    match reason {
        NoTest::ErrorTerm => "the Residual is the error term: nothing tests it".into(),
        NoTest::FixedEffect { term } => format!(
            "its expected mean square contains the fixed effect φ({}), which no other mean square can remove",
            name(t, term)
        ),
        NoTest::ZeroDf { term } if term == t.residual() => {
            "the Residual it needs has 0 degrees of freedom".into()
        }
        NoTest::ZeroDf { term } => format!(
            "the mean square of `{}` it needs has 0 degrees of freedom",
            name(t, term)
        ),
        NoTest::NoOtherComponent => "its expected mean square has no other component".into(),
        NoTest::Pooled { into } => format!(
            "pooled into `{}` (negative estimate, --negative pool)",
            name(t, into)
        ),
        NoTest::WeightsOverflow => {
            "its denominator's exact weights do not fit in 64-bit integers".into()
        }
        NoTest::NeedsLevels => "the weights of its denominator depend on the level counts, which the design does not give (a kept term absorbs a dropped one)".into(),
    }
}

/// Why a component has no chi-square interval.
pub fn no_interval(t: &EmsTable, why: NoInterval) -> String {
    match why {
        NoInterval::NotPositive => "none (estimate <= 0)".into(),
        NoInterval::NoDf => "none (no degrees of freedom)".into(),
        NoInterval::Pooled { into } => format!("pooled into `{}`", name(t, into)),
    }
}

/// A note on one component.
pub fn component_note(t: &EmsTable, c: &VarianceComponent, note: &ComponentNote) -> String {
    match note {
        ComponentNote::PooledAsZero { computed, into } => format!(
            "negative estimate ({}): pooled into `{}`, taken as 0",
            fmt_sig(*computed, 6),
            name(t, *into)
        ),
        ComponentNote::SetToZero { computed } => format!(
            "negative estimate ({}) set to 0 (--negative zero)",
            fmt_sig(*computed, 6)
        ),
        ComponentNote::NegativeReported { unpoolable } => format!(
            "negative estimate, reported as computed: the mean square of `{}` is smaller than its denominator, which suggests the component is zero or small{}",
            c.name,
            if *unpoolable {
                "; not pooled: its denominator is a combination of mean squares, so there is no single mean square to pool it into"
            } else {
                ""
            }
        ),
        ComponentNote::MlsLowerClipped => {
            "the modified large-sample lower bound came out negative and is shown as 0".into()
        }
        ComponentNote::IncludesPooled { terms } => format!(
            "includes the pooled {}",
            terms
                .iter()
                .map(|&a| format!("`{}`", name(t, a)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A `--negative pool` step, as the components' notes say it.
pub fn pool_step(t: &EmsTable, p: &PoolStep) -> String {
    format!(
        "`{}` (estimate {}) pooled into `{}` (--negative pool): the reduced model has {} with df {} and MS {}; tests and components below are from the reduced model.",
        name(t, p.term),
        fmt_sig(p.computed, 6),
        name(t, p.into),
        name(t, p.into),
        p.df,
        fmt_sig(p.ms, 6)
    )
}

/// A note on the whole moment fit.
pub fn moment_note(t: &EmsTable, note: &MomentNote) -> String {
    match note {
        MomentNote::SharesCountNegativeAsZero => {
            "Shares of the total variance count negative estimates as 0.".into()
        }
        MomentNote::NegativeDenominator { term, value } => format!(
            "The synthetic denominator of `{}` is negative ({}): F′ is not defined; F″ is given instead.",
            name(t, *term),
            fmt_sig(*value, 6)
        ),
    }
}

/// Every note of a moment fit, in the report's order: pooling steps, then the fit's notes.
pub fn moment_notes(t: &EmsTable, m: &MomentFit) -> Vec<String> {
    m.pooling
        .iter()
        .map(|p| pool_step(t, p))
        .chain(m.notes.iter().map(|n| moment_note(t, n)))
        .collect()
}

/// A combination of mean squares: `MS(A) - MS(AB)`, or with real weights
/// `0.5 MS(A) + 0.25 MS(B)`.
pub fn weights_text(t: &EmsTable, comb: &Weights) -> String {
    if comb.iter().all(|(_, w)| w.fract() == 0.0) {
        let ints: Vec<(usize, Ratio)> = comb
            .iter()
            .map(|&(v, w)| (v, Ratio::integer(w as i64)))
            .collect();
        t.combination_text(&ints)
    } else {
        combination_string(
            &comb
                .iter()
                .map(|&(v, _)| (v, Ratio::ONE))
                .collect::<Vec<_>>(),
            |v| {
                let w = comb.iter().find(|(x, _)| *x == v).map_or(0.0, |x| x.1);
                format!("{} MS({})", fmt_sig(w, 6), name(t, v))
            },
        )
    }
}

/// An interval `[lower, upper]`, a clipped bound as `0*`.
pub fn interval(i: &Interval) -> String {
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

/// The confidence level of `alpha`: `95%`.
pub fn level(alpha: f64) -> String {
    format!("{}%", fmt_sig(100.0 * (1.0 - alpha), 4))
}

/// An entry of the subscript table (text, LaTeX): `0`, `1`, `1†` (a fixed live column
/// read as 1 in the unrestricted model), or the level symbol.
pub fn subscript_entry(t: &EmsTable, row: usize, col: usize) -> (String, String) {
    let cell = t.table.rows[row].cells[col];
    let sym = &t.table.columns[col].symbol;
    let value = cell.value(t.terms[row].random, t.model);
    let marked = cell == Entry::LiveFixed && value == CellValue::One;
    match value {
        CellValue::Zero => ("0".into(), "0".into()),
        CellValue::One if marked => ("1†".into(), "1^{\\dagger}".into()),
        CellValue::One => ("1".into(), "1".into()),
        CellValue::Levels => (sym.clone(), latex_symbol(sym)),
    }
}
