//! Help for students: what a field, a column or a statistic means (tool tips), and the
//! Help view: what each table says and the rules behind it, linked from each table's title.

use egui::{RichText, Ui};

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
pub const SYMBOL: &str = "The letter for the factor's level count in formulas (a, b, s ...). Empty: the first letter of the name, made unique (never o, which reads as zero: a name starting with o takes its next letter); n is the replicates.";
pub const SUBSCRIPT: &str =
    "The factor's subscript in the model and in the subscript table (i, j, k ...).";
pub const ROLE: &str = "For a gauge R&R study: the factor of the parts measured, and the factor of the operators (or instruments) who measure them. When both are set, the Results show the gauge study of the data (`role` in the design file).";
pub const ROLE_PART: &str = "The items measured (parts, samples, batches): random in the study.";
pub const ROLE_OPERATOR: &str =
    "Who or what measures the parts (operators, appraisers, instruments): random in the study.";
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
        "Power" => {
            "The probability that the test rejects at level α under the components and effects given."
        }
        "λ" => "Noncentrality of the F of a fixed term: k Σ effects² / E(MS denominator).",
        "E(MS) ratio" => {
            "E(MS term) / E(MS denominator): how far the F statistic's centre moves from 1."
        }
        "Critical F" => "The F value the statistic must exceed to reject at level α.",
        "df num" => "Numerator degrees of freedom of the test.",
        "df den" => {
            "Denominator degrees of freedom (Satterthwaite's, from the expected mean squares, for a synthetic denominator)."
        }
        "Distribution" => "How the power was computed, and from which distribution.",
        "Denominator" => "The mean square (or combination) the term's mean square is divided by.",
        "Multiplier" => {
            "Every fixed effect and every random term's SD times this; the Residual unchanged."
        }
        "Group" => {
            "Compact letter display: means of the term that share a letter do not differ at α (adjusted p)."
        }
        "A − B" => "The difference of the two means.",
        _ if h.starts_with("p (") => {
            "The p-value adjusted over the term's pairs by the adjustment named (chosen in the settings)."
        }
        "Variance (mean squares)" => {
            "The variance as a combination of mean squares: each component replaced by its estimator (the same in both models)."
        }
        "VarComp" => "The variance component of the source (negative estimates reported as 0).",
        "StdDev (SD)" => "The standard deviation: the square root of VarComp.",
        _ if h.starts_with("Study Var (") => {
            "Study variation: the multiple of the SD set above (6 by default, 5.15 in older conventions)."
        }
        "%Study Var (%SV)" => "The source's study variation as a percentage of the total's.",
        "%Tolerance (SV/Toler)" => "The source's study variation as a percentage of the tolerance.",
        _ if h.starts_with("%Contribution") => "The source's share of the total variance.",
        _ if h.contains("CI (χ²)") => {
            "Confidence interval from the chi-square distribution with the Satterthwaite df (exact for the Residual)."
        }
        _ if h.contains("CI (MLS)") => {
            "Modified large-sample interval, for components estimated by a difference of mean squares."
        }
        _ if h.ends_with("% CI") || h.ends_with("% CI (Wald)") => {
            "Wald interval on the log scale from the observed information (approximate with few levels)."
        }
        _ if h.ends_with("% CI (profile)") => {
            "Profile-likelihood interval: the values whose likelihood, re-maximised over the other parameters, stays within the chi-square(1) quantile of the maximum (lme4's confint(profile(fit)))."
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

/// The Help view's topics: (key, title, text). A table's key is its `--table` key.
pub const TOPICS: &[(&str, &str, &str)] = &[
    (
        "rules",
        "The subscript-table rules",
        "Rows of the subscript table are the terms, columns the subscripts (headed F or R, fixed or random, and the level count). An entry is 1 where the subscript is dead in the row's term (in parentheses: the term is nested in that factor); 0 in a fixed column or 1 in a random column where it is live; the level count where the subscript is absent from the term. To read the E(MS) of a term, cover its live columns; every row whose term contains all the term's subscripts contributes the product of its uncovered entries times its component: σ² for a random term, φ = Σ effects² / df for a fixed one. The Residual's row has every subscript; its E(MS) is σ².",
    ),
    (
        "models",
        "Restricted and unrestricted models",
        "Restricted (the textbook rules, Montgomery): the effects of an interaction of a fixed and a random factor sum to zero over the levels of the fixed factor, so a 0 in a fixed live column cancels such a row from the E(MS) of the random main effect. Unrestricted (SAS PROC GLM/MIXED, lme4, Minitab GLM): all random effects are independent; a random row takes 1 (marked 1†) in a fixed live column, so a mixed interaction's component appears in the E(MS) of every term it contains. The two models test the random main effect of a mixed design differently: against the Residual (restricted) or against the interaction (unrestricted). REML fits the unrestricted model.",
    ),
    (
        "quasi",
        "Quasi-F tests",
        "A term's F test divides its mean square by the mean square whose E(MS) equals the term's E(MS) without the term's own component. When no single mean square has that E(MS), a combination does: F′ = MS(term) / (MS₁ + MS₂ − MS₃), with Cochran-Satterthwaite degrees of freedom for the denominator. F″ moves the negative mean squares to the numerator, so that both sides are sums: F″ = (MS(term) + MS₃) / (MS₁ + MS₂), with Satterthwaite df on both. When F′'s denominator comes out negative F′ is undefined, and F″ is the test; the Results view then shows F″ in the row, marked ⚠.",
    ),
    (
        "negative",
        "Negative variance estimates",
        "A method-of-moments estimate is a difference of mean squares and can come out negative: the term's mean square is smaller than its denominator, which suggests the component is zero or small. report: the estimate is shown as computed, with a note. zero: it is reported as 0 (the computed value stays in the notes). pool: the term is pooled into its denominator (its SS and df are added) and the reduced model is fitted again; the tests and components then come from the reduced model. REML estimates never go below 0: a component at 0 is on the boundary.",
    ),
    (
        "design",
        "Design",
        "The factors as declared: fixed or random, their level counts (within each level of the parents for a nested factor), the factors they are nested in, the letter of their level count in formulas (symbol) and their subscript. The replicates are the error subscript's level count n.",
    ),
    (
        "subscripts",
        "Subscript table (Rule 6)",
        "The table the EMS are read from: one row per term, one column per subscript. See the rules above; the EMS derivation view marks the columns covered for the selected term and the entries multiplied.",
    ),
    (
        "ems",
        "Expected mean squares",
        "What each term's mean square estimates on average: a sum of variance components σ² (random terms) and fixed-effect quadratic forms φ, each times the product of the level counts read off the subscript table. The numeric column fills in the level counts. On unbalanced data: the expected mean squares of the Type III (or Type I) mean squares, with numeric coefficients, and each test's denominator.",
    ),
    (
        "tests",
        "F tests",
        "For each term, the mean square (or the combination of mean squares) whose E(MS) equals the term's E(MS) without the term's own component: exact when one mean square does, quasi (F′ with Satterthwaite df) when a combination is needed, none when no combination removes only the term's component.",
    ),
    (
        "estimators",
        "Method-of-moments estimators",
        "Each variance component solved from the EMS equations with each E(MS) replaced by the observed mean square: a combination of mean squares divided by the component's coefficient. An estimate may come out negative (see negative estimates).",
    ),
    (
        "derivation",
        "Derivation of each E(MS)",
        "For each term: the covered columns (its live subscripts), then every row whose term contains all its subscripts with the entries left uncovered and their product: the coefficient of that row's component in the term's E(MS), or 0 when a 0 entry cancels the row.",
    ),
    (
        "data",
        "Data",
        "How each factor was found in the data file: its column, level count, distinct labels, and how a nested factor's labels were written (restarting within each parent, or unique).",
    ),
    (
        "anova",
        "Analysis of variance",
        "Sums of squares, df and mean squares of each term from the cell means, the F statistic against the denominator of the F tests table and its p-value (< 0.0001 on screen below 10⁻⁴; the value on hover and in every export). Quasi-F rows give F′ with Satterthwaite df; when F′ is undefined or weaker than F″, the row shows F″, marked ⚠. On unbalanced data: Type III (or Type I) sums of squares, each test built from the expected mean squares of those mean squares (see Unbalanced data).",
    ),
    (
        "components",
        "Variance components (method of moments)",
        "Each component's estimate from the mean squares, its standard error, the Cochran-Satterthwaite df ν of the combination, a χ² interval on ν df (exact for the Residual) and the modified large-sample (MLS) interval of Ting et al. for differences of mean squares, and its share of the total variance. With ν near zero a χ² bound can be astronomically large: on screen a bound beyond 10⁶ × the total variance reads > that limit, and it never sets a plot's scale.",
    ),
    (
        "reml_components",
        "REML beside the method of moments",
        "The restricted maximum likelihood fit of the unrestricted mixed model: each component with its standard deviation, standard error from the observed information, a Wald interval on the log scale and, up to 100 000 observations, a profile-likelihood interval (better with few levels). On balanced data with every moment estimate positive REML equals the unrestricted moment estimates; a negative moment estimate puts REML on the boundary at 0.",
    ),
    (
        "reml_fit",
        "Fit",
        "The likelihood fit's summary: observations, fixed-effect columns, convergence, whether an estimate sits on the boundary 0, log-likelihood, REML criterion, AIC and BIC.",
    ),
    (
        "reml_blue",
        "Fixed effects (BLUE)",
        "Best linear unbiased estimates of the fixed effects in the treatment coding, with standard errors (and denominator df, t and p where the inference ran).",
    ),
    (
        "reml_blup",
        "Random effects (BLUP)",
        "Best linear unbiased predictions of the random effects of each level, with their prediction-error variance.",
    ),
    (
        "reml_log",
        "Optimiser log",
        "How the likelihood was maximised: the algorithm, starts, the relative covariance factors θ at the start and end, the criterion, the gradient and the Hessian's eigenvalues at the end.",
    ),
    (
        "power",
        "Power of the F tests (Plan view)",
        "Before any data: the power of every F test of the design under the variance components and fixed effects you expect. An exact test of a fixed term follows a noncentral F with λ = k Σ effects² / E(MS denominator) (Montgomery's operating-characteristic Φ² is λ / (df + 1)); an exact test of a random term is the ratio E(MS term) / E(MS denominator) times a central F; a synthetic denominator takes Satterthwaite's df from the expected mean squares (an approximation; `emslab power --simulate` checks it). Effects are centred along every subscript of their term. The same table as `emslab power`.",
    ),
    (
        "effect_curve",
        "Power against an effect-size multiplier",
        "Every fixed effect and every random term's standard deviation times the multiplier (the Residual unchanged): how the power of each test grows with the size of what it looks for.",
    ),
    (
        "solve",
        "Smallest size reaching the target power",
        "The smallest level count of a random factor (or replicates per cell) from 2 to 1000 at which the chosen test reaches the target power, found by evaluating every size in turn (exact whether or not the power grows steadily). More levels of a random factor add denominator df and shrink the denominator's expectation; more replicates shrink only the Residual's share.",
    ),
    (
        "solve_curve",
        "Power against the size being solved",
        "The chosen test's power at each size around the answer.",
    ),
    (
        "gauge_anova_full",
        "Gauge study: ANOVA",
        "The two-way ANOVA of parts × operators with their interaction (or the nested ANOVA, parts within operators), parts and operators random. The interaction is removed (pooled into repeatability) when its p-value is at least the alpha to remove set above, as Minitab does.",
    ),
    (
        "gauge_anova",
        "Gauge study: ANOVA without the interaction",
        "The additive model fitted after the interaction was removed; the components come from it.",
    ),
    (
        "gauge_varcomp",
        "Gage R&R: variance components",
        "Total Gage R&R = Repeatability + Reproducibility; Reproducibility = Operator + Operator*Part; Part-To-Part; Total Variation. %Contribution is each component's share of the total variance. Intervals: the modified large-sample formulas of Burdick, Borror and Montgomery (2005).",
    ),
    (
        "gauge_evaluation",
        "Gage evaluation",
        "Standard deviations, study variation (the multiple of the SD set above), %Study Var (the share of the total's study variation) and, with a tolerance, %Tolerance; then the number of distinct categories √2 × SD(parts) / SD(gauge), truncated.",
    ),
    (
        "gauge_assessment",
        "AIAG acceptance",
        "The AIAG MSA manual's bands: %Study Var and %Tolerance under 10% acceptable, 10 to 30% depending on the application, over 30% unacceptable (%Contribution: 1% and 9%); at least 5 distinct categories.",
    ),
    (
        "balance",
        "Unbalanced data",
        "Cells that do not hold the same number of observations. The balanced-design expected mean squares and tests do not hold for such data: the Results give Type III (or Type I, sequential) sums of squares, the expected mean squares of their mean squares with numeric coefficients, the tests built from them (Satterthwaite df for a synthetic denominator) and the moment estimates (SAS GLM RANDOM /TEST, MIXED METHOD=TYPE3, VARCOMP METHOD=TYPE1), all in the unrestricted model; then the REML fit with its fixed-effect tests.",
    ),
    (
        "reml_fixed_tests",
        "Fixed-effect tests from the REML fit",
        "Type III F tests of every fixed term from the REML fit, with Satterthwaite's denominator df (lmerTest) or Kenward-Roger's (pbkrtest). On balanced data a term whose EMS test is exact in the unrestricted model gets the same F and df when every unrestricted moment estimate is positive.",
    ),
    (
        "precision",
        "Precision of means",
        "The variance of the mean of one level combination of a term's factors (the grand mean: of all observations), and of the difference of two such means, for a balanced design. In variance components the two models differ: a mixed effect of the restricted model sums to zero over its fixed factors, so it leaves a mean that averages over one of them. Each component replaced by its method-of-moments estimator gives one combination of mean squares, the same in both models (e.g. (MS(S(D)) + (t-1) MS(Residual)) / (s t n) for a diet × time cell mean). With data, the same combination of the observed mean squares estimates it, with Cochran-Satterthwaite df; its square root is the standard error of the means table. A combination that is not positive gives no standard error, t or p. The EMS view walks through each row step by step.",
    ),
    (
        "means",
        "Means",
        "The grand mean and the mean of every level (combination) of each fixed term with its standard error, df and t interval. Balanced data: the variance of a mean is its row of the precision table, with Satterthwaite df (as emmeans on an lme4 fit, unrestricted model). Unbalanced data: the REML fit's estimated marginal means (equal weights over the other fixed factors, as emmeans) with Satterthwaite df, or Kenward-Roger df and standard errors when chosen in the settings (pbkrtest). Group: the compact letter display of the pairwise comparisons at α (as multcomp::cld): means of a term that share a letter do not differ.",
    ),
    (
        "comparisons",
        "Pairwise comparisons",
        "Every pair of means of each fixed term: the difference, its standard error and df (Satterthwaite when its variance is a combination of several mean squares), t and the two-sided p, then the p-value and simultaneous interval adjusted over the term's pairs by the adjustment chosen in the settings: Tukey (the studentized range of the term's number of means, each pair with its own SE and df, as emmeans), Bonferroni (m p), Šidák (1 − (1 − p)^m), or none.",
    ),
    (
        "covariances",
        "Covariance of two observations",
        "For each pattern of shared levels (same subject, same batch and sample, …), the covariance of two observations: the sum of the variance components of the random terms they share (in the restricted model a mixed effect at different levels of its fixed factor covaries negatively), and with data its estimate and the correlation (covariance over the variance of one observation).",
    ),
    (
        "plots",
        "Plots",
        "Components: each estimate with its intervals (moments: χ² and MLS; REML: profile or Wald). Residuals: Minitab's four in one, from the REML fit's conditional residuals: a normal probability plot (Blom's scores), residuals versus fitted values, a histogram, residuals versus observation order. Cell means: an interaction plot; a nested factor is drawn within each level of its parents, never joined across them. Variability chart: every observation at its cell, cell means joined within each group, and the cells' standard deviations (JMP). Means (in the Means and comparisons section): each fixed term's level means with their t intervals, the grand mean dashed, the compact letters beside the level names. Each plot saves as PNG or SVG; the HTML analysis report includes them.",
    ),
];

/// The Help view, opened at a topic.
pub fn help_ui(ui: &mut Ui, topic: Option<&str>) {
    ui.heading("Help: the tables and the rules");
    ui.label(RichText::new("Each table's “?” opens its entry here. F1 opens this view.").weak());
    let topic = topic.map(|t| t.replacen("ml_", "reml_", 1));
    for (key, title, text) in TOPICS {
        let open = topic.as_deref() == Some(*key);
        let r = egui::CollapsingHeader::new(RichText::new(*title).strong())
            .id_salt(("help", *key, open))
            .default_open(open || topic.is_none() && matches!(*key, "rules" | "models"))
            .show(ui, |ui| {
                ui.add(egui::Label::new(*text).wrap());
            });
        if open {
            r.header_response.scroll_to_me(Some(egui::Align::TOP));
        }
    }
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
