//! Tool tips for students: what a field, a column or a statistic means, in plain words.

pub const TITLE: &str = "A name for the experiment; it heads every exported table.";
pub const RESPONSE: &str = "The CSV column holding the measured response. Leave empty when the data have only one numeric column besides the factors.";
pub const REPLICATES: &str = "n: observations in each cell of all factors (the error subscript's level count). 1 means one run per cell; then at least one term must be left out so that the Residual has degrees of freedom. Leave empty to take it from the data.";
pub const FACTOR_NAME: &str =
    "Letters, digits and _, starting with a letter. Used in term names: A, A:B, B(A).";
pub const KIND: &str = "Fixed: the levels are the only ones of interest (treatments, machines you chose).\nRandom: the levels are a random draw from a population (batches, operators, days); the interest is in their variance.";
pub const FIXED: &str = "The levels in the experiment are all the levels of interest; the model estimates their effects.";
pub const RANDOM: &str = "The levels are a sample from a population of levels; the model estimates the variance between levels.";
pub const LEVELS: &str = "How many levels the factor has (within each level of its parents, for a nested factor). Leave empty to take the count from the data.";
pub const NESTED: &str = "A factor is nested in another when each of its levels occurs within only one level of the other (samples within batches). Crossed factors appear in every combination.";
pub const SYMBOL: &str = "The letter for the factor's level count in formulas (a, b, s ...). Empty: the first letter of the name, made unique; n is the replicates.";
pub const SUBSCRIPT: &str =
    "The factor's subscript in the model and in the subscript table (i, j, k ...).";
pub const TERMS: &str = "The terms of the model. Unchecking a term leaves it out: its degrees of freedom and sum of squares are pooled into the Residual (e.g. the block x treatment interaction of an RCBD with one run per cell).";
pub const MODEL: &str =
    "How mixed interactions are modelled. The switch updates every table at once.";
pub const RESTRICTED: &str = "Restricted (textbook, Montgomery): interaction effects of a fixed and a random factor sum to zero over the fixed levels.";
pub const UNRESTRICTED: &str = "Unrestricted (SAS PROC GLM/MIXED, lme4, Minitab GLM): all random effects independent; a mixed interaction's variance appears in the EMS of every term it contains.";

pub const ENGINE: &str = "Which algebra computes the EMS tables: emslab's own exact algebra, or Symbolica (computer algebra, in a separate worker process), which also prints the moment equations' solutions. Both give the same tables.";

/// Tool tip of a term checkbox.
pub fn term_tip(name: &str, random: bool) -> String {
    let kind = if random {
        "random: it contributes a variance component σ²"
    } else {
        "fixed: it contributes φ, the sum of its squared effects over its df"
    };
    format!("{name} is {kind}. Uncheck to pool it into the Residual.")
}

/// Tool tip of a column of a results table, by its header text.
pub fn column_tip(header: &str) -> Option<&'static str> {
    let h = header.trim();
    Some(match h {
        "Term" => {
            "A main effect (A), an interaction (A:B), a nested factor (B(A)), or the Residual."
        }
        "Kind" => "Fixed terms contribute φ (squared effects); random terms a variance σ².",
        "df" | "df value" => {
            "Degrees of freedom: product of (levels − 1) over the term's own subscripts and levels over its parents' subscripts."
        }
        "E(MS)" => {
            "Expected mean square: what the term's mean square estimates on average, as a sum of variance components (σ²) and fixed-effect quadratic forms (φ)."
        }
        "E(MS), numeric" => "The expected mean square with the level counts filled in.",
        "Test" => {
            "exact: one mean square has the numerator's E(MS) without the term's own component. quasi: a combination of mean squares is needed (F′ with Satterthwaite df)."
        }
        "F ratio" => "The numerator and denominator mean squares of the F test.",
        "Component" => "A variance component (σ² of a random term, σ² alone for the Residual).",
        "Estimator" => {
            "Method of moments: the mean squares solved for the component (may come out negative)."
        }
        "Covered columns" => {
            "The term's live subscripts: cover these columns of the subscript table."
        }
        "Uncovered entries" => {
            "The entries left in the row once the term's columns are covered; their product is the coefficient."
        }
        "Product" => {
            "The coefficient of the row's component in the E(MS), or 0 when a 0 entry cancels the row."
        }
        "SS" => "Sum of squares of the term.",
        "MS" => "Mean square: SS / df.",
        "F" => {
            "F statistic: the term's mean square over its denominator (a combination of mean squares for a quasi-F)."
        }
        "p" | "p-value" | "P" => {
            "Probability of an F at least this large when the term has no effect."
        }
        "Estimate" => {
            "Method-of-moments estimate of the variance component (may be negative; then the true value is probably small)."
        }
        "REML" => "Restricted maximum likelihood estimate (unrestricted model), bounded at zero.",
        "Satterthwaite df" | "ν" => {
            "Cochran-Satterthwaite degrees of freedom of the estimate (a combination of mean squares); the Residual has its own df."
        }
        "SE" => "Standard error of the estimate.",
        "SD" => "Standard deviation: the square root of the variance component.",
        "Share" => "The component's share of the total variance (negative estimates count as 0).",
        "Moments" => {
            "The method-of-moments estimate under the unrestricted model, the model REML fits."
        }
        "ML" => "Maximum likelihood estimate (smaller than REML in general).",
        "Agreement" => "Whether REML and the moment estimate agree, and why when they do not.",
        "Subscripts" => {
            "The term's subscripts; those in parentheses are dead (the term is nested in them)."
        }
        _ if h.contains("CI (χ²)") => {
            "Confidence interval from the chi-square distribution with the Satterthwaite df (exact for the Residual)."
        }
        _ if h.contains("CI (MLS)") => {
            "Modified large-sample interval, for components estimated by a difference of mean squares."
        }
        _ if h.ends_with("% CI") => {
            "Wald interval on the log scale from the observed information (approximate with few levels)."
        }
        _ => return None,
    })
}

/// What a term name says, for a tool tip: `A:C(B)` is the interaction of A and C within
/// each level of B.
pub fn term_meaning(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.contains(' ') || name == "Total" {
        return None;
    }
    if name == "Residual" {
        return Some("Residual: the variation between replicates within a cell (plus any terms left out of the model), estimating σ².".into());
    }
    let (live, dead) = match name.find('(') {
        Some(i) => (&name[..i], name[i + 1..].trim_end_matches(')')),
        None => (name, ""),
    };
    if !live
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
        || !dead
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ',')
    {
        return None;
    }
    let factors: Vec<&str> = live.split(':').collect();
    let mut text = if factors.len() == 1 {
        format!("{name}: the main effect of {}", factors[0])
    } else {
        format!("{name}: the interaction of {}", factors.join(" and "))
    };
    if !dead.is_empty() {
        text.push_str(&format!(
            ", within each level of {}",
            dead.split(',').collect::<Vec<_>>().join(" and ")
        ));
        if factors.len() == 1 {
            text.push_str(&format!(
                " ({} is nested in {})",
                factors[0],
                dead.replace(',', " and ")
            ));
        }
    }
    text.push('.');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::term_meaning;

    #[test]
    fn term_names_are_explained() {
        assert_eq!(
            term_meaning("sample(batch)").as_deref(),
            Some(
                "sample(batch): the main effect of sample, within each level of batch (sample is nested in batch)."
            )
        );
        assert_eq!(
            term_meaning("A:C(B)").as_deref(),
            Some("A:C(B): the interaction of A and C, within each level of B.")
        );
        assert_eq!(term_meaning("1.5"), None);
    }
}
