//! The moment analysis against an independent R implementation
//! (`tests/data/moments/reference.R`, R 4.2.2, base R; its output `reference.csv`): every
//! mean square, test denominator (exact and synthetic, with its weights), F′ with its
//! Satterthwaite df and p, F″ with both df, every estimator's weights, estimate,
//! Satterthwaite df, standard error, chi-square and modified large-sample (MLS) interval,
//! the intraclass correlation, and every `--negative pool` step (R refits the reduced model
//! from scratch after each one), on the shipped data sets, the pigment paste's published
//! table and two simulated three-factor designs with quasi-F tests.
//!
//! The comparison runs both ways: a test, interval or pooling step that R has and emslab
//! lacks fails, and so does one that emslab has and R lacks.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{MOMENTS_VS_R, MomentsReference, design_path, rel_close};
use emslab::anova::{self, AnovaTable};
use emslab::data::summary::{match_summary, read_summary};
use emslab::data::{self, ReadOptions};
use emslab::ems::TestKind;
use emslab::moments::{self, MomentFit, MomentOptions, NegativePolicy};
use emslab::{Design, EmsTable, Model, derive};

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/moments")
}

/// Where a case's mean squares come from.
enum Source {
    /// A shipped design with its shipped data (`designs/NAME.toml`, `designs/NAME.csv`).
    Shipped(&'static str),
    /// A shipped design with data simulated by the R script.
    Simulated(&'static str),
    /// A shipped design with a mean-square table (`term,df,ms`).
    Summary(&'static str, PathBuf),
}

fn analyse(source: &Source, model: Model, negative: NegativePolicy) -> (EmsTable, MomentFit) {
    let (design, anova): (Design, AnovaTable) = match source {
        Source::Shipped(name) | Source::Simulated(name) => {
            let design = emslab::io::read_design(&design_path(&format!("{name}.toml"))).unwrap();
            let csv = match source {
                Source::Shipped(_) => design_path(&format!("{name}.csv")),
                _ => reference_dir().join(format!("{name}.csv")),
            };
            let ds = data::read_csv(&csv, &design, &ReadOptions::default()).unwrap();
            ds.require_balanced().unwrap();
            let sized = ds.sized_design(&design).unwrap();
            let anova = anova::from_cells(&sized, &ds.cells).unwrap();
            (sized, anova)
        }
        Source::Summary(name, table) => {
            let design = emslab::io::read_design(&design_path(&format!("{name}.toml"))).unwrap();
            let summary = read_summary(table).unwrap();
            let rows = match_summary(&summary, &design).unwrap();
            let anova = anova::from_summary(&design, &rows);
            (design, anova)
        }
    };
    let table = derive(&design, model);
    let fit = moments::fit(
        &table,
        &anova,
        &MomentOptions {
            alpha: 0.05,
            negative,
        },
    );
    (table, fit)
}

#[track_caller]
fn agree(ctx: &str, what: &str, ours: f64, r: f64) {
    assert!(
        rel_close(ours, r, MOMENTS_VS_R),
        "{ctx}: {what}: emslab {ours:e}, R {r:e} (relative difference {:.2e})",
        ((ours - r) / r).abs()
    );
}

/// Every quantity R recorded for `case`, and nothing more, in emslab's fit.
fn check(
    r: &MomentsReference,
    case: &str,
    source: &Source,
    model: Model,
    negative: NegativePolicy,
) {
    let ctx = format!("{case} ({}, {})", model.as_str(), negative.as_str());
    let (table, fit) = analyse(source, model, negative);
    let get = |q: &str, term: &str, other: &str| r.find(case, q, term, other);
    let entries = |q: &str, term: &str| r.entries(case, q, term);
    let index = |name: &str| {
        fit.system
            .rows
            .iter()
            .position(|row| row.name == name)
            .unwrap_or_else(|| panic!("{ctx}: no row {name}"))
    };
    let rows = r.terms(case, "df");
    assert!(!rows.is_empty(), "{ctx}: no reference rows");
    // Rows R's reduced model no longer has are pooled in emslab's.
    for (t, row) in fit.system.rows.iter().enumerate() {
        if !rows.contains(&row.name) {
            assert!(
                row.pooled_into.is_some(),
                "{ctx}: {} is not pooled",
                row.name
            );
            assert_eq!(fit.tests[t].kind, TestKind::None, "{ctx}: {}", row.name);
        }
    }
    for name in &rows {
        let t = index(name);
        let row = &fit.system.rows[t];
        assert_eq!(
            Some(row.df as f64),
            get("df", name, ""),
            "{ctx}: df of {name}"
        );
        agree(
            &ctx,
            &format!("MS {name}"),
            row.ms,
            get("ms", name, "").unwrap(),
        );
        if let (Some(ss), Some(want)) = (row.ss, get("ss", name, "")) {
            agree(&ctx, &format!("SS {name}"), ss, want);
        }
        check_test(&ctx, &table, &fit, t, &entries("den_weight", name), &get);
    }
    for c in fit.components.iter().filter(|c| c.pooled_into.is_none()) {
        let name = c.name.as_str();
        let est = get("estimate", name, "").unwrap_or_else(|| panic!("{ctx}: R has no {name}"));
        agree(&ctx, &format!("estimate {name}"), c.estimate, est);
        let weights = entries("est_weight", name);
        assert_eq!(
            c.combination.len(),
            weights.len(),
            "{ctx}: estimator of {name}"
        );
        for (v, w) in &weights {
            let (_, ours) = c.combination.iter().find(|(u, _)| *u == index(v)).unwrap();
            agree(&ctx, &format!("weight of MS({v}) in {name}"), *ours, *w);
        }
        let nu = get("satterthwaite_df", name, "").unwrap();
        agree(&ctx, &format!("nu {name}"), c.satterthwaite_df, nu);
        agree(
            &ctx,
            &format!("SE {name}"),
            c.se,
            get("se", name, "").unwrap(),
        );
        match (c.ci, get("ci_lower", name, ""), get("ci_upper", name, "")) {
            (Some(ci), Some(lo), Some(hi)) => {
                agree(&ctx, &format!("CI lower {name}"), ci.lower, lo);
                agree(&ctx, &format!("CI upper {name}"), ci.upper, hi);
            }
            (None, None, None) => assert!(c.estimate <= 0.0, "{ctx}: {name}"),
            (ci, lo, hi) => panic!("{ctx}: interval of {name}: {ci:?} vs R {lo:?} {hi:?}"),
        }
        match (
            c.mls,
            get("mls_lower", name, ""),
            get("mls_upper", name, ""),
        ) {
            (Some(m), Some(lo), Some(hi)) => {
                agree(&ctx, &format!("MLS lower {name}"), m.lower, lo);
                agree(&ctx, &format!("MLS upper {name}"), m.upper, hi);
                assert_eq!(
                    m.lower_clipped,
                    lo == 0.0,
                    "{ctx}: MLS lower of {name} clipped"
                );
            }
            (None, None, None) => {}
            (m, lo, hi) => panic!("{ctx}: MLS of {name}: {m:?} vs R {lo:?} {hi:?}"),
        }
    }
    let estimated = r.terms(case, "estimate").len();
    let ours = fit
        .components
        .iter()
        .filter(|c| c.pooled_into.is_none())
        .count();
    assert_eq!(ours, estimated, "{ctx}: number of components");
    // Pooling steps, in order.
    let steps: Vec<(String, String, f64)> = r
        .terms(case, "pool_step")
        .into_iter()
        .flat_map(|t| {
            r.entries(case, "pool_step", &t)
                .into_iter()
                .map(move |(into, v)| (t.clone(), into, v))
        })
        .collect();
    assert_eq!(fit.pooling.len(), steps.len(), "{ctx}: pooling steps");
    for (i, p) in fit.pooling.iter().enumerate() {
        let (term, into) = (&table.terms[p.term].name, &table.terms[p.into].name);
        let (_, want_into, computed) = steps
            .iter()
            .find(|(t, _, _)| t == term)
            .unwrap_or_else(|| panic!("{ctx}: R does not pool {term}"));
        assert_eq!(into, want_into, "{ctx}: {term} pooled into");
        agree(&ctx, &format!("pooled {term}"), p.computed, *computed);
        let order = r.get(case, "pool_order", term);
        assert_eq!(
            i + 1,
            order as usize,
            "{ctx}: {term} pooled as step {}",
            i + 1
        );
    }
    if let Some(icc) = get("icc", "Batch", "") {
        let i = fit.icc.as_ref().unwrap();
        agree(&ctx, "ICC", i.estimate, icc);
        let iv = i.interval.unwrap();
        agree(
            &ctx,
            "ICC lower",
            iv.lower,
            get("icc_lower", "Batch", "").unwrap(),
        );
        agree(
            &ctx,
            "ICC upper",
            iv.upper,
            get("icc_upper", "Batch", "").unwrap(),
        );
    }
}

/// The test of row `t` against R's denominator weights (none: no test).
fn check_test(
    ctx: &str,
    table: &EmsTable,
    fit: &MomentFit,
    t: usize,
    weights: &[(String, f64)],
    get: &dyn Fn(&str, &str, &str) -> Option<f64>,
) {
    let test = &fit.tests[t];
    let name = &fit.system.rows[t].name;
    if weights.is_empty() {
        assert_eq!(test.kind, TestKind::None, "{ctx}: {name} has no test in R");
        return;
    }
    let exact = weights.len() == 1 && weights[0].1 == 1.0;
    let kind = if exact {
        TestKind::Exact
    } else {
        TestKind::Quasi
    };
    assert_eq!(test.kind, kind, "{ctx}: test of {name}");
    assert_eq!(test.denominator.len(), weights.len(), "{ctx}: {name}");
    for (v, w) in weights {
        let (_, ours) = test
            .denominator
            .iter()
            .find(|(u, _)| table.terms[*u].name == *v)
            .unwrap_or_else(|| panic!("{ctx}: {name}'s denominator lacks {v}"));
        agree(ctx, &format!("weight of MS({v}) for {name}"), *ours, *w);
    }
    agree(
        ctx,
        &format!("df_den {name}"),
        test.df_den.unwrap(),
        get("df_den", name, "").unwrap(),
    );
    agree(
        ctx,
        &format!("F {name}"),
        test.f.unwrap(),
        get("f", name, "").unwrap(),
    );
    agree(
        ctx,
        &format!("p {name}"),
        test.p.unwrap(),
        get("p", name, "").unwrap(),
    );
    match (&test.f2, get("f2", name, "")) {
        (Some(f2), Some(want)) => {
            agree(ctx, &format!("F'' {name}"), f2.f, want);
            agree(
                ctx,
                &format!("F'' df1 {name}"),
                f2.df_num,
                get("f2_df_num", name, "").unwrap(),
            );
            agree(
                ctx,
                &format!("F'' df2 {name}"),
                f2.df_den,
                get("f2_df_den", name, "").unwrap(),
            );
            agree(
                ctx,
                &format!("F'' p {name}"),
                f2.p,
                get("f2_p", name, "").unwrap(),
            );
        }
        (None, None) => {}
        (f2, want) => panic!("{ctx}: F'' of {name}: {f2:?} vs R {want:?}"),
    }
}

const BOTH: [Model; 2] = [Model::Restricted, Model::Unrestricted];

#[test]
fn shipped_data_sets_match_r() {
    let r = MomentsReference::load();
    for name in ["dyestuff", "dyestuff2", "pastes", "montgomery_gauge"] {
        for model in BOTH {
            check(
                &r,
                name,
                &Source::Shipped(name),
                model,
                NegativePolicy::Report,
            );
        }
    }
    let machines = Source::Shipped("machines");
    check(
        &r,
        "machines_restricted",
        &machines,
        Model::Restricted,
        NegativePolicy::Report,
    );
    check(
        &r,
        "machines_unrestricted",
        &machines,
        Model::Unrestricted,
        NegativePolicy::Report,
    );
}

#[test]
fn published_pigment_paste_table_matches_r() {
    let r = MomentsReference::load();
    let source = Source::Summary("pigment_paste", design_path("pigment_paste_summary.csv"));
    for model in BOTH {
        check(&r, "pigment_paste", &source, model, NegativePolicy::Report);
    }
}

/// Quasi-F tests (F′ with Satterthwaite df, F″), their components' Satterthwaite df and MLS
/// intervals with two positive and two negative mean squares.
#[test]
fn quasi_f_designs_match_r() {
    let r = MomentsReference::load();
    let random = Source::Simulated("three_factor_random");
    for model in BOTH {
        check(
            &r,
            "three_factor_random",
            &random,
            model,
            NegativePolicy::Report,
        );
    }
    let mixed = Source::Simulated("three_factor_mixed");
    check(
        &r,
        "three_factor_mixed_restricted",
        &mixed,
        Model::Restricted,
        NegativePolicy::Report,
    );
    check(
        &r,
        "three_factor_mixed_unrestricted",
        &mixed,
        Model::Unrestricted,
        NegativePolicy::Report,
    );
}

/// `--negative pool` equals R's refit of the reduced model: a crossed random design
/// (Montgomery's gauge study), the unrestricted mixed models (Machines: nothing to pool;
/// three-factor mixed: A:B:C pooled, after which B and C get new synthetic denominators),
/// and a chain of three pools in the three-factor random design (A:B:C into the Residual,
/// then B:C into that pooled Residual, then C into A:C), each chosen from the estimates of
/// the refit before it.
#[test]
fn negative_pool_equals_refitting_the_reduced_model_in_r() {
    let r = MomentsReference::load();
    for model in BOTH {
        check(
            &r,
            "montgomery_gauge_pool",
            &Source::Shipped("montgomery_gauge"),
            model,
            NegativePolicy::Pool,
        );
        check(
            &r,
            "three_factor_random_pool",
            &Source::Simulated("three_factor_random"),
            model,
            NegativePolicy::Pool,
        );
    }
    check(
        &r,
        "machines_unrestricted_pool",
        &Source::Shipped("machines"),
        Model::Unrestricted,
        NegativePolicy::Pool,
    );
    check(
        &r,
        "three_factor_mixed_unrestricted_pool",
        &Source::Simulated("three_factor_mixed"),
        Model::Unrestricted,
        NegativePolicy::Pool,
    );
}

/// The published-style tables the script writes are the same analyses: read through
/// `--summary`'s reader they give R's numbers too.
#[test]
fn summary_tables_written_by_the_script_match_r() {
    let r = MomentsReference::load();
    for (case, design, model, negative) in [
        (
            "montgomery_gauge",
            "montgomery_gauge",
            Model::Unrestricted,
            NegativePolicy::Report,
        ),
        (
            "montgomery_gauge_pool",
            "montgomery_gauge",
            Model::Unrestricted,
            NegativePolicy::Pool,
        ),
        (
            "machines_unrestricted_pool",
            "machines",
            Model::Unrestricted,
            NegativePolicy::Pool,
        ),
        (
            "three_factor_random_pool",
            "three_factor_random",
            Model::Unrestricted,
            NegativePolicy::Pool,
        ),
        (
            "three_factor_mixed_unrestricted_pool",
            "three_factor_mixed",
            Model::Unrestricted,
            NegativePolicy::Pool,
        ),
    ] {
        let table = reference_dir().join(format!("{design}_summary.csv"));
        check(&r, case, &Source::Summary(design, table), model, negative);
    }
}

/// A component looked up by its term is that term's row of R's analysis (Pastes:
/// cask(batch) 8.433666666666667); the Residual is a component, a term with none is not
/// found. The policies' names are the command line's `--negative` values.
#[test]
fn components_are_found_by_term() {
    let r = MomentsReference::load();
    let (t, fit) = analyse(
        &Source::Shipped("pastes"),
        Model::Restricted,
        NegativePolicy::Report,
    );
    let cask = t
        .terms
        .iter()
        .position(|x| x.name == "cask(batch)")
        .unwrap();
    let c = fit.component(cask).expect("cask(batch) has a component");
    assert_eq!(c.term, cask);
    let want = r.get("pastes", "estimate", "cask(batch)");
    assert!(rel_close(c.estimate, want, MOMENTS_VS_R), "{}", c.estimate);
    assert_eq!(fit.component(t.residual()).unwrap().term, t.residual());
    assert!(fit.component(t.terms.len()).is_none());
    let names: Vec<&str> = [
        NegativePolicy::Report,
        NegativePolicy::Zero,
        NegativePolicy::Pool,
    ]
    .iter()
    .map(|p| p.as_str())
    .collect();
    assert_eq!(names, ["report", "zero", "pool"]);
}
