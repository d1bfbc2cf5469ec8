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

// ---- means, precision, comparisons ----------------------------------------------------

use crate::design::Subscripts;
use crate::means::precision::{NoMsForm, PrecisionNote};
use crate::means::{Adjustment, MeanMethod, MeansNote, Precision, Quantity};
use crate::reml::inference::LevelSet;

/// Factor names of a subscript set, comma-separated.
pub fn factor_list(t: &EmsTable, set: Subscripts) -> String {
    set.iter()
        .filter(|&c| c < t.design.n_factors())
        .map(|c| t.design.factors[c].name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a precision row is the variance of: `mean`, `difference (A differs)`.
pub fn quantity(t: &EmsTable, q: Quantity) -> String {
    match q {
        Quantity::Mean => "mean".into(),
        Quantity::Difference { differ } if differ.len() == 1 => {
            format!("difference ({} differs)", factor_list(t, differ))
        }
        Quantity::Difference { differ } => {
            format!("difference ({} differ)", factor_list(t, differ))
        }
    }
}

/// Why a precision row has no form in mean squares.
pub fn no_ms_form(t: &EmsTable, n: NoMsForm) -> String {
    match n {
        NoMsForm::NoEstimator { component } => format!(
            "none: {} has no method-of-moments estimator",
            t.component_text(component)
        ),
        NoMsForm::Overflow => "none: its exact weights exceed 64-bit integers".into(),
    }
}

/// A note of the precision table.
pub fn precision_note(t: &EmsTable, n: &PrecisionNote) -> String {
    match n {
        PrecisionNote::DifferencesNotListed { term, factors } => format!(
            "Differences of two `{}` means are not listed ({factors} factors: {} kinds); the comparisons compute the ones they need.",
            name(t, *term),
            (1u128 << (*factors).min(100)) - 1
        ),
        PrecisionNote::TooManyTerms { terms, limit } => format!(
            "The design has {terms} rows in its EMS table, more than {limit}: the precision of its means is not tabulated (each variance involves every random term); `analyze` still estimates every mean and difference."
        ),
    }
}

/// The adjustment's name.
pub fn adjustment(a: Adjustment) -> &'static str {
    match a {
        Adjustment::Tukey => "Tukey",
        Adjustment::Bonferroni => "Bonferroni",
        Adjustment::Sidak => "Šidák",
        Adjustment::None => "none",
    }
}

/// How the means were found.
pub fn mean_method(m: MeanMethod) -> &'static str {
    match m {
        MeanMethod::Ems => {
            "balanced data: each variance is the combination of mean squares of the precision table, with Satterthwaite df"
        }
        MeanMethod::RemlSatterthwaite => {
            "estimated marginal means of the REML fit (equal weights over the other fixed factors, as emmeans) with Satterthwaite df (lmerTest)"
        }
        MeanMethod::RemlKenwardRoger => {
            "estimated marginal means of the REML fit (equal weights over the other fixed factors, as emmeans) with Kenward-Roger df and adjusted standard errors (pbkrtest)"
        }
    }
}

/// `A` for one factor, `diet=1, time=3` for several, `(all)` for none.
pub fn levels(l: &LevelSet) -> String {
    match l.0.as_slice() {
        [] => "(all)".into(),
        [(_, v)] => v.clone(),
        many => many
            .iter()
            .map(|(f, v)| format!("{f}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A note of the means stage. `t` and `p` are the EMS table and precision table of a
/// balanced analysis.
pub fn means_note(t: Option<&EmsTable>, p: Option<&Precision>, n: &MeansNote) -> String {
    let row = |r: usize| match (t, p.and_then(|p| p.rows.get(r))) {
        (Some(t), Some(row)) => format!(
            "{} of {}",
            quantity(t, row.quantity),
            row.term.map_or("the grand mean".to_string(), |u| format!(
                "`{}`",
                name(t, u)
            ))
        ),
        _ => format!("row {r}"),
    };
    match n {
        MeansNote::NotPositive { row: r } => format!(
            "The estimated variance of the {} is zero or negative: no standard error, t or p for it.",
            row(*r)
        ),
        MeansNote::NoEstimator { row: r, component } => format!(
            "The variance of the {} needs {}, which has no estimator: no standard error.",
            row(*r),
            t.map_or_else(|| format!("component {component}"), |t| t.component_text(*component))
        ),
        MeansNote::SyntheticDf { term } => format!(
            "`{term}`: the variance of a difference is a combination of several mean squares (a synthetic denominator): Satterthwaite df."
        ),
        MeansNote::ReducedModel => "--negative pool: the variances are estimated in the reduced model (a pooled component is 0); the symbolic forms are the full model's.".into(),
        MeansNote::NoLevelMeans => "A published table has no level means: only the grand mean (with --grand-mean) can be estimated.".into(),
        MeansNote::NoGrandMean => "A published table has no grand mean: give it with --grand-mean VALUE for its interval.".into(),
        MeansNote::TooManyMeans { term, means, limit } => format!(
            "`{term}` has {means} means, more than {limit}: its pairwise comparisons are not made."
        ),
        MeansNote::TukeyUndefined { term } => format!(
            "`{term}`: a pair with fewer than 1 df has no studentized-range probability."
        ),
        MeansNote::Inference(i) => super::reml_tables::inference_note_text(i),
    }
}
