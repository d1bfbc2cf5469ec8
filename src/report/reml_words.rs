//! The words of a REML fit: its notes, the components' notes, and the rule relating REML
//! to the moment estimates.

use crate::reml::{Comparison, ComparisonCase, ComponentNote, FitNote, Method, RowNote};

/// The model every likelihood fit uses.
pub const MODEL_NOTE: &str = "unrestricted mixed model (random interactions with fixed factors are not constrained to sum to zero): the model lme4, SAS PROC MIXED and MixedModels.jl fit; the restricted model has no likelihood counterpart in those tools";

/// The rule relating moment and REML estimates.
pub const COMPARISON_RULE: &str = "On balanced data with every moment estimate positive, REML and the (unrestricted-model) moment estimates coincide: a relative difference beyond 1e-6 is a bug. With a negative moment estimate, REML holds that component at the boundary 0 and the other components shift to absorb its share of the variation. On unbalanced data they differ in general (the ANOVA-table estimators depend on how the sums of squares are formed; REML does not), and REML is the one to report.";

fn method(m: Method) -> &'static str {
    m.as_str()
}

/// A note on a fit.
pub fn fit_note(n: &FitNote) -> String {
    match n {
        FitNote::Model { method: m } => format!("{}: {MODEL_NOTE}", method(*m)),
        FitNote::ProfileIntervals { evaluations } => format!(
            "profile-likelihood intervals: the values whose criterion, re-optimised over the other parameters, stays within the chi-square(1) quantile of the optimum, on the variance scale, for the criterion of this fit's method (lme4's confint(profile(fit)) profiles the ML deviance even for a REML fit); {evaluations} criterion evaluations"
        ),
        FitNote::NoProfile { terms } => format!(
            "no profile interval for {} (the profile could not be bracketed)",
            terms.join(", ")
        ),
        FitNote::WaldIntervals { z } => format!(
            "intervals: Wald on the log scale, estimate * exp(+-{z:.4} * se(log estimate)), se from the observed information; approximate (poor for components with few levels); a profile-likelihood interval is preferable"
        ),
        FitNote::Boundary { terms } => format!(
            "boundary fit: {} estimated as 0 (a legitimate maximum of the likelihood on the boundary of the parameter space)",
            terms.join(", ")
        ),
        FitNote::NotConverged { message } => {
            format!("the optimiser did not confirm convergence: {message}")
        }
        FitNote::SingleLevel { term } => format!(
            "`{term}` has a single level in the data: its variance is not identifiable (confounded with the intercept)"
        ),
        FitNote::OnePerLevel { term } => format!(
            "`{term}` has one observation per level: its variance is not identifiable apart from the residual variance"
        ),
        FitNote::Unbalanced => "unbalanced data (missing cells or unequal replication): the likelihood fit applies as is".into(),
    }
}

/// Why a component has no standard error.
pub fn component_note(n: ComponentNote) -> &'static str {
    match n {
        ComponentNote::Boundary => {
            "estimate at the boundary 0: the likelihood is largest with no variation from this term (not a failure); no standard error or Wald interval"
        }
        ComponentNote::NoInformation => {
            "observed information not positive definite: no standard error"
        }
    }
}

/// How one component's REML estimate stands to its moment estimate.
pub fn row_note(n: RowNote) -> String {
    match n {
        RowNote::NoMoment => "no moment estimate given".into(),
        RowNote::Coincide => "coincide (balanced data, every moment estimate positive)".into(),
        RowNote::Differ { relative } => format!(
            "DIFFER by {relative:.2e} relative where they must coincide: a bug, please report it"
        ),
        RowNote::NotPositive {
            moment,
            reml,
            boundary,
        } => format!(
            "moment estimate {moment:.6} is not positive: REML holds this component at {} (boundary)",
            if boundary {
                "0".to_string()
            } else {
                format!("{reml:.6}")
            }
        ),
        RowNote::Shifted { by } => format!(
            "shifted by {by:+.6} from the moment estimate: absorbs the share the non-positive estimate took away"
        ),
        RowNote::Unbalanced => "unbalanced data: differ in general".into(),
        RowNote::MaximumLikelihood => {
            "ML estimate: smaller than REML in general (no degrees of freedom for the fixed effects)".into()
        }
    }
}

/// The comparison in one sentence.
pub fn comparison_summary(c: &Comparison) -> &'static str {
    match c.case {
        ComparisonCase::Coincide if c.consistent => {
            "balanced data and every moment estimate positive: REML equals the moment estimates, as it must"
        }
        ComparisonCase::Coincide => {
            "balanced data and every moment estimate positive, yet REML differs from the moment estimates beyond 1e-6 relative: this is a bug"
        }
        ComparisonCase::NegativeMoment => {
            "a moment estimate is not positive: REML sits on the boundary at 0 for it, and the other components shift"
        }
        ComparisonCase::Unbalanced => {
            "unbalanced data: REML and moment estimates differ in general; REML is the likelihood answer"
        }
        ComparisonCase::MaximumLikelihood => {
            "ML fit: the rule relating moment estimates and REML does not apply to ML"
        }
    }
}
