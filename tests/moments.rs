//! F tests, method-of-moments components and intervals of the shipped data sets, every
//! number to the digits printed here, from R 4.2.2 (`tests/data/moments/reference.R`:
//! `lm`, `anova`, `pf`, `qchisq`; its full-precision output `reference.csv` is compared
//! to 1e-10 in `tests/moments_vs_r.rs`) and from the books where they print them; plus the
//! negative-estimate policies, quasi-F tests, the agreement of the numeric solver with the
//! symbolic EMS table, and the coverage of the MLS interval.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use common::{
    COMPONENT_IDENTITY, FEW_ROUNDINGS, HAND_FORMULA, MOMENTS_VS_R, MONTE_CARLO_SE,
    MomentsReference, SOLVER_VS_RATIONAL, SeededRng, close, design_path, matches_printed,
    rel_close,
};
use emslab::anova::{self, AnovaTable};
use emslab::data::summary::{TermMs, match_summary, read_summary};
use emslab::data::{self, CellAccumulator, ReadOptions};
use emslab::ems::TestKind;
use emslab::moments::intervals::{self, Mls, MsTerm};
use emslab::moments::{self, MomentFit, MomentOptions as Options, NegativePolicy};
use emslab::simulate::{SimSpec, Simulator};
use emslab::{Design, EmsTable, Model, derive};

fn load(name: &str) -> (Design, data::Dataset) {
    let design = emslab::io::read_design(&design_path(&format!("{name}.toml"))).unwrap();
    let ds = data::read_csv(
        &design_path(&format!("{name}.csv")),
        &design,
        &ReadOptions::default(),
    )
    .unwrap();
    (design, ds)
}

fn run(name: &str, model: Model, policy: NegativePolicy) -> (EmsTable, AnovaTable, MomentFit) {
    let (design, ds) = load(name);
    ds.require_balanced().unwrap();
    let sized = ds.sized_design(&design).unwrap();
    let anova = anova::from_cells(&sized, &ds.cells).unwrap();
    let table = derive(&sized, model);
    let analysis = moments::fit(
        &table,
        &anova,
        &Options {
            alpha: 0.05,
            negative: policy,
        },
    );
    (table, anova, analysis)
}

/// `(term, df, SS, MS)` as printed.
type AnovaRef = &'static [(&'static str, u64, &'static str, &'static str)];
/// `(component, estimate, nu, Some((lower, upper)) or None for "none (estimate <= 0)")`.
type ComponentRef = &'static [(
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
)];
/// `(term, F, df1, df2, p, denominator)`.
type TestRef = &'static [(
    &'static str,
    &'static str,
    u64,
    u64,
    &'static str,
    &'static str,
)];

fn check(name: &str, model: Model, anova_ref: AnovaRef, comps: ComponentRef, tests: TestRef) {
    let (table, anova, a) = run(name, model, NegativePolicy::Report);
    let ctx = format!("{name} ({})", model.as_str());
    for &(term, df, ss, ms) in anova_ref {
        let term = if term == "Error" { "Residual" } else { term };
        let row = anova
            .rows
            .iter()
            .find(|r| r.term == term)
            .unwrap_or_else(|| panic!("{ctx}: no row {term}"));
        assert_eq!(row.df, df, "{ctx}: df of {term}");
        let got_ss = row.ss.unwrap();
        assert!(
            matches_printed(got_ss, ss),
            "{ctx}: SS {term}: {got_ss} vs {ss}"
        );
        assert!(
            matches_printed(row.ms, ms),
            "{ctx}: MS {term}: {} vs {ms}",
            row.ms
        );
    }
    for &(term, est, nu, ci) in comps {
        let term = if term == "Error" { "Residual" } else { term };
        let c = a
            .components
            .iter()
            .find(|c| c.name == term)
            .unwrap_or_else(|| panic!("{ctx}: no component {term}"));
        assert!(
            matches_printed(c.estimate, est),
            "{ctx}: estimate {term}: {} vs {est}",
            c.estimate
        );
        assert!(
            matches_printed(c.satterthwaite_df, nu),
            "{ctx}: nu {term}: {} vs {nu}",
            c.satterthwaite_df
        );
        match ci {
            Some((lo, hi)) => {
                let i =
                    c.ci.unwrap_or_else(|| panic!("{ctx}: no interval for {term}"));
                assert!(
                    matches_printed(i.lower, lo),
                    "{ctx}: lower {term}: {} vs {lo}",
                    i.lower
                );
                assert!(
                    matches_printed(i.upper, hi),
                    "{ctx}: upper {term}: {} vs {hi}",
                    i.upper
                );
                assert!(close(i.level, 0.95, FEW_ROUNDINGS));
            }
            None => {
                assert!(c.ci.is_none(), "{ctx}: {term} should have no interval");
                assert_eq!(c.ci_missing, Some(moments::NoInterval::NotPositive));
                assert!(
                    !c.notes.is_empty(),
                    "{ctx}: a negative estimate carries a note"
                );
            }
        }
    }
    for &(term, f, df1, df2, p, den) in tests {
        let u = table.terms.iter().position(|t| t.name == term).unwrap();
        let t = &a.tests[u];
        assert_eq!(t.kind, TestKind::Exact, "{ctx}: {term}");
        let den = if den == "Error" { "Residual" } else { den };
        assert_eq!(t.denominator.len(), 1);
        assert_eq!(
            table.terms[t.denominator[0].0].name, den,
            "{ctx}: denominator of {term}"
        );
        assert_eq!(t.df_num, df1);
        assert_eq!(t.df_den, Some(df2 as f64));
        assert!(
            matches_printed(t.f.unwrap(), f),
            "{ctx}: F {term}: {:?} vs {f}",
            t.f
        );
        assert!(
            matches_printed(t.p.unwrap(), p),
            "{ctx}: p {term}: {:?} vs {p}",
            t.p
        );
    }
}

// Reference: tests/data/moments/reference.R, case `dyestuff` (lme4's Dyestuff data: Davies
// and Goldsmith 1972).
const DYESTUFF_ANOVA: AnovaRef = &[
    ("Batch", 5, "56357.5", "11271.5"),
    ("Error", 24, "58830", "2451.25"),
];
const DYESTUFF_COMPONENTS: ComponentRef = &[
    (
        "Batch",
        "1764.05",
        "3.03186726",
        Some(("568.50479", "23994.009")),
    ),
    ("Error", "2451.25", "24", Some(("1494.5098", "4743.9148"))),
];
const DYESTUFF_TESTS: TestRef = &[("Batch", "4.5982662", 5, 24, "0.00439753", "Error")];

#[test]
fn dyestuff_matches_reference() {
    for model in [Model::Restricted, Model::Unrestricted] {
        check(
            "dyestuff",
            model,
            DYESTUFF_ANOVA,
            DYESTUFF_COMPONENTS,
            DYESTUFF_TESTS,
        );
    }
}

// Reference: tests/data/moments/reference.R, case `dyestuff2` (Box and Tiao's simulated
// data, lme4's Dyestuff2): the batch estimate is negative, so there is no interval.
const DYESTUFF2_ANOVA: AnovaRef = &[
    ("Batch", 5, "41.6816288", "8.33632576"),
    ("Error", 24, "358.7013504", "14.9458896"),
];
const DYESTUFF2_COMPONENTS: ComponentRef = &[
    ("Batch", "-1.321912768", "1.882516433", None),
    (
        "Error",
        "14.9458896",
        "24",
        Some(("9.1124034", "28.924845")),
    ),
];
const DYESTUFF2_TESTS: TestRef = &[("Batch", "0.55776712", 5, 24, "0.731099", "Error")];

#[test]
fn dyestuff2_matches_reference() {
    for model in [Model::Restricted, Model::Unrestricted] {
        check(
            "dyestuff2",
            model,
            DYESTUFF2_ANOVA,
            DYESTUFF2_COMPONENTS,
            DYESTUFF2_TESTS,
        );
    }
}

// Reference: tests/data/moments/reference.R, case `pastes` (Davies and Goldsmith, lme4's
// Pastes).
const PASTES_ANOVA: AnovaRef = &[
    ("batch", 9, "247.4026667", "27.48918519"),
    ("cask(batch)", 20, "350.9066667", "17.54533333"),
    ("Error", 30, "20.34", "0.678"),
];
const PASTES_COMPONENTS: ComponentRef = &[
    (
        "batch",
        "1.657308642",
        "0.9952347323",
        Some(("0.32916869", "1742.2451")),
    ),
    (
        "cask(batch)",
        "8.433666667",
        "18.46577226",
        Some(("4.8447261", "18.226457")),
    ),
    ("Error", "0.678", "30", Some(("0.43295717", "1.2113797"))),
];
const PASTES_TESTS: TestRef = &[
    ("batch", "1.5667519", 9, 20, "0.192555", "cask(batch)"),
    ("cask(batch)", "25.878073", 20, 30, "9.79145e-14", "Error"),
];

#[test]
fn pastes_matches_reference() {
    for model in [Model::Restricted, Model::Unrestricted] {
        check(
            "pastes",
            model,
            PASTES_ANOVA,
            PASTES_COMPONENTS,
            PASTES_TESTS,
        );
    }
}

// Reference: tests/data/moments/reference.R, cases `machines_restricted` and
// `machines_unrestricted` (Milliken and Johnson, nlme's Machines). Restricted and
// unrestricted models differ in the test and the component of Worker.
const MACHINES_ANOVA: AnovaRef = &[
    ("Machine", 2, "1755.263333", "877.6316667"),
    ("Worker", 5, "1241.895", "248.379"),
    ("Machine:Worker", 10, "426.53", "42.653"),
    ("Error", 36, "33.28666667", "0.9246296296"),
];
const MACHINES_RESTRICTED: ComponentRef = &[
    (
        "Worker",
        "27.49493004",
        "4.962833176",
        Some(("10.684443", "166.98315")),
    ),
    (
        "Machine:Worker",
        "13.90945679",
        "9.569891096",
        Some(("6.7031415", "44.238447")),
    ),
    (
        "Error",
        "0.9246296296",
        "36",
        Some(("0.61146807", "1.5601261")),
    ),
];
const MACHINES_UNRESTRICTED: ComponentRef = &[
    (
        "Worker",
        "22.85844444",
        "3.380350844",
        Some(("7.6910236", "251.4863")),
    ),
    (
        "Machine:Worker",
        "13.90945679",
        "9.569891096",
        Some(("6.7031415", "44.238447")),
    ),
    (
        "Error",
        "0.9246296296",
        "36",
        Some(("0.61146807", "1.5601261")),
    ),
];
const MACHINES_TESTS_RESTRICTED: TestRef = &[
    (
        "Machine",
        "20.576083",
        2,
        10,
        "0.000285548",
        "Machine:Worker",
    ),
    ("Worker", "268.6254", 5, 36, "1.9372e-27", "Error"),
    (
        "Machine:Worker",
        "46.129822",
        10,
        36,
        "1.64125e-17",
        "Error",
    ),
];
const MACHINES_TESTS_UNRESTRICTED: TestRef = &[
    (
        "Machine",
        "20.576083",
        2,
        10,
        "0.000285548",
        "Machine:Worker",
    ),
    ("Worker", "5.8232481", 5, 10, "0.00894946", "Machine:Worker"),
    (
        "Machine:Worker",
        "46.129822",
        10,
        36,
        "1.64125e-17",
        "Error",
    ),
];

#[test]
fn machines_matches_reference_in_both_models() {
    check(
        "machines",
        Model::Restricted,
        MACHINES_ANOVA,
        MACHINES_RESTRICTED,
        MACHINES_TESTS_RESTRICTED,
    );
    check(
        "machines",
        Model::Unrestricted,
        MACHINES_ANOVA,
        MACHINES_UNRESTRICTED,
        MACHINES_TESTS_UNRESTRICTED,
    );
}

// Reference: tests/data/moments/reference.R, case `montgomery_gauge` (Montgomery, Design
// and Analysis of Experiments, Table 13.1); both factors random, so both models agree.
// The book prints 10.28, 0.015, -0.14, 0.99.
const GAUGE_ANOVA: AnovaRef = &[
    ("part", 19, "1185.425", "62.39078947"),
    ("operator", 2, "2.616666667", "1.308333333"),
    ("part:operator", 38, "27.05", "0.7118421053"),
    ("Error", 60, "59.5", "0.9916666667"),
];
const GAUGE_COMPONENTS: ComponentRef = &[
    (
        "part",
        "10.27982456",
        "18.56770721",
        Some(("5.9129922", "22.160227")),
    ),
    (
        "operator",
        "0.0149122807",
        "0.4093426725",
        Some(("0.0019929239", "313378.49")),
    ),
    ("part:operator", "-0.1399122807", "2.634227521", None),
    (
        "Error",
        "0.9916666667",
        "60",
        Some(("0.71430565", "1.4697982")),
    ),
];

#[test]
fn montgomery_gauge_matches_reference_and_the_book() {
    for model in [Model::Restricted, Model::Unrestricted] {
        check(
            "montgomery_gauge",
            model,
            GAUGE_ANOVA,
            GAUGE_COMPONENTS,
            &[],
        );
    }
    let (_, _, a) = run(
        "montgomery_gauge",
        Model::Restricted,
        NegativePolicy::Report,
    );
    // Montgomery, Example 13.2: 10.28, 0.015, -0.14, 0.99.
    for (c, printed) in a.components.iter().zip(["10.28", "0.015", "-0.14", "0.99"]) {
        assert!(
            matches_printed(c.estimate, printed),
            "{}: {}",
            c.name,
            c.estimate
        );
    }
}

// Reference: Box, Hunter and Hunter (Statistics for Experimenters, 2nd ed., §9.3) publish
// only the mean squares (designs/pigment_paste_summary.csv) and the estimates 7.128, 28.533,
// 0.917; the rest from tests/data/moments/reference.R, case `pigment_paste`.
#[test]
fn pigment_paste_from_its_summary_table() {
    let design = emslab::io::read_design(&design_path("pigment_paste.toml")).unwrap();
    let summary = read_summary(&design_path("pigment_paste_summary.csv")).unwrap();
    let rows = match_summary(&summary, &design).unwrap();
    let anova = anova::from_summary(&design, &rows);
    let table = derive(&design, Model::Restricted);
    let a = moments::fit(&table, &anova, &Options::default());
    // F(batch) = 1.49173 on (14, 15) df, p = 0.225616.
    let t = &a.tests[0];
    assert_eq!(table.terms[t.denominator[0].0].name, "sample(batch)");
    assert!(matches_printed(t.f.unwrap(), "1.49173"));
    assert_eq!((t.df_num, t.df_den), (14, Some(15.0)));
    assert!(matches_printed(t.p.unwrap(), "0.225616"));
    let expect = [
        ("batch", "7.128", "1.0717374", ("1.4642754", "4653.5995")),
        ("sample(batch)", "28.533", "14.527", ("15.442", "69.534")),
        ("Residual", "0.917", "30", ("0.5856", "1.6384")),
    ];
    for (c, (name, est, nu, (lo, hi))) in a.components.iter().zip(expect) {
        assert_eq!(c.name, name);
        assert!(matches_printed(c.estimate, est), "{name}: {}", c.estimate);
        assert!(
            matches_printed(c.satterthwaite_df, nu),
            "{name}: {}",
            c.satterthwaite_df
        );
        let i = c.ci.unwrap();
        assert!(matches_printed(i.lower, lo), "{name}: {}", i.lower);
        assert!(matches_printed(i.upper, hi), "{name}: {}", i.upper);
    }
    // The Residual's interval is the exact chi-square one.
    assert_eq!(
        a.components[2].ci.unwrap().method,
        intervals::IntervalMethod::ChiSquare
    );
    assert_eq!(
        a.components[0].ci.unwrap().method,
        intervals::IntervalMethod::Satterthwaite
    );
}

#[test]
fn standard_error_share_and_icc_by_hand() {
    let (_, _, a) = run("dyestuff", Model::Restricted, NegativePolicy::Report);
    let (msa, mse) = (11271.5, 2451.25);
    // SE = sqrt(2 Σ a² MS² / (df + 2)), a = ±1/5.
    let se = (2.0 * ((msa / 5.0f64).powi(2) / 7.0 + (mse / 5.0f64).powi(2) / 26.0)).sqrt();
    assert!(close(a.components[0].se, se, HAND_FORMULA));
    let total = 1764.05 + 2451.25;
    assert!(close(
        a.components[0].share.unwrap(),
        1764.05 / total,
        HAND_FORMULA
    ));
    let icc = a.icc.as_ref().unwrap();
    assert!(close(icc.estimate, 1764.05 / total, HAND_FORMULA));
    // Exact interval (Searle, Casella and McCulloch 1992, eq. 3.51): R's
    // (F/qf(0.975, 5, 24) - 1) / (F/qf(0.975, 5, 24) + 4), and the same with qf(0.025, ...)
    // (tests/data/moments/reference.R, case `dyestuff`).
    let r = MomentsReference::load();
    let i = icc.interval.unwrap();
    assert_eq!(i.level, 0.95);
    assert!(i.lower > 0.0 && !i.lower_clipped && !i.upper_clipped);
    assert!(rel_close(
        i.lower,
        r.get("dyestuff", "icc_lower", "Batch"),
        MOMENTS_VS_R
    ));
    assert!(rel_close(
        i.upper,
        r.get("dyestuff", "icc_upper", "Batch"),
        MOMENTS_VS_R
    ));
    assert_eq!(i.method, intervals::IntervalMethod::ExactF);
    // Machines has two random terms: no single intraclass correlation.
    let (_, _, m) = run("machines", Model::Restricted, NegativePolicy::Report);
    assert!(m.icc.is_none());
}

#[test]
fn negative_policy_zero_keeps_the_computed_value() {
    let (_, _, a) = run("montgomery_gauge", Model::Restricted, NegativePolicy::Zero);
    let po = a
        .components
        .iter()
        .find(|c| c.name == "part:operator")
        .unwrap();
    assert_eq!(po.estimate, 0.0);
    assert!(matches_printed(po.computed, "-0.1399122807"));
    assert!(po.ci.is_none());
    assert!(po.notes.iter().any(
        |n| matches!(n, moments::ComponentNote::SetToZero { computed } if *computed == po.computed)
    ));
    // The others are unchanged.
    let part = a.components.iter().find(|c| c.name == "part").unwrap();
    assert!(matches_printed(part.estimate, "10.27982456"));
    // What the REML comparison is given: every component by name, as computed (the
    // negative value, not the zero).
    let computed = a.computed_estimates();
    assert_eq!(computed.len(), a.components.len());
    let by_name = |name: &str| computed.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    assert!(matches_printed(
        by_name("part:operator").unwrap(),
        "-0.1399122807"
    ));
    assert!(matches_printed(by_name("part").unwrap(), "10.27982456"));
    // Shares count a negative estimate as zero, and the note says so only when one is
    // negative: not after it was set to zero, but with `--negative report`.
    let shares_note = |f: &MomentFit| {
        f.notes
            .iter()
            .any(|n| matches!(n, moments::MomentNote::SharesCountNegativeAsZero))
    };
    assert!(!shares_note(&a));
    let (_, _, reported) = run(
        "montgomery_gauge",
        Model::Restricted,
        NegativePolicy::Report,
    );
    assert!(shares_note(&reported));
}

#[test]
fn negative_policy_pool_refits_the_reduced_model() {
    let (table, _, a) = run("montgomery_gauge", Model::Restricted, NegativePolicy::Pool);
    assert_eq!(a.pooling.len(), 1);
    let step = &a.pooling[0];
    assert_eq!(table.terms[step.term].name, "part:operator");
    assert_eq!(table.terms[step.into].name, "Residual");
    assert_eq!(step.df, 98);
    assert!(close(step.ms, (27.05 + 59.5) / 98.0, HAND_FORMULA));
    let po = a.component(step.term).expect("pooled component");
    // It keeps the value computed before pooling (the one `--negative report` prints).
    assert!(matches_printed(po.computed, "-0.1399122807"));
    assert!(close(po.computed, step.computed, HAND_FORMULA));
    assert!(po.notes.iter().any(
        |n| matches!(n, moments::ComponentNote::PooledAsZero { into, .. } if *into == step.into)
    ));
    // The same numbers as the design without the interaction (terms = part, operator),
    // analysed from the data: pooling is a refit of the reduced model.
    let design = emslab::io::read_design(&design_path("montgomery_gauge.toml")).unwrap();
    let mut spec = design.spec().clone();
    spec.terms = Some(vec!["part".into(), "operator".into()]);
    let reduced = Design::try_from(spec).unwrap();
    let ds = data::read_csv(
        &design_path("montgomery_gauge.csv"),
        &reduced,
        &ReadOptions::default(),
    )
    .unwrap();
    let anova_r = anova::from_cells(&ds.sized_design(&reduced).unwrap(), &ds.cells).unwrap();
    let table_r = derive(&ds.sized_design(&reduced).unwrap(), Model::Restricted);
    let b = moments::fit(&table_r, &anova_r, &Options::default());
    for name in ["part", "operator", "Residual"] {
        let x = a.components.iter().find(|c| c.name == name).unwrap();
        let y = b.components.iter().find(|c| c.name == name).unwrap();
        assert!(close(x.estimate, y.estimate, COMPONENT_IDENTITY), "{name}");
        assert!(
            close(x.satterthwaite_df, y.satterthwaite_df, COMPONENT_IDENTITY),
            "{name}"
        );
    }
    let part_test = &a.tests[0];
    let part_test_r = &b.tests[0];
    assert!(close(
        part_test.f.unwrap(),
        part_test_r.f.unwrap(),
        COMPONENT_IDENTITY
    ));
    // The pooled term reports 0, says where it went, and has no test.
    let po = a
        .components
        .iter()
        .find(|c| c.name == "part:operator")
        .unwrap();
    assert_eq!(po.estimate, 0.0);
    assert_eq!(po.pooled_into, Some(table.residual()));
    assert_eq!(a.tests[2].kind, TestKind::None);
}

#[test]
fn pooling_works_from_mean_squares_alone() {
    // An ANOVA table built without sums of squares (a caller's own table): pooling takes
    // each SS as df × MS, and gives the numbers pooling the full table gives.
    let (table, anova, a) = run("montgomery_gauge", Model::Restricted, NegativePolicy::Pool);
    let mut bare = anova.clone();
    for r in &mut bare.rows {
        r.ss = None;
    }
    let opts = Options {
        alpha: 0.05,
        negative: NegativePolicy::Pool,
    };
    let b = moments::fit(&table, &bare, &opts);
    assert_eq!(b.pooling.len(), 1);
    assert_eq!(b.pooling[0].df, 98);
    assert!(close(b.pooling[0].ms, a.pooling[0].ms, FEW_ROUNDINGS));
    for (x, y) in a.components.iter().zip(&b.components) {
        assert!(close(x.estimate, y.estimate, FEW_ROUNDINGS), "{}", x.name);
    }
}

#[test]
fn pool_into_a_denominator_other_than_the_residual() {
    // Dyestuff2-like negative estimate one level up: pastes with the batch MS made small
    // pools batch into cask(batch) (a one-way analysis of casks).
    let design = emslab::io::read_design(&design_path("pastes.toml")).unwrap();
    let ms = [
        TermMs { df: 9, ms: 10.0 },
        TermMs {
            df: 20,
            ms: 17.54533333,
        },
        TermMs { df: 30, ms: 0.678 },
    ];
    let anova = anova::from_summary(&design, &ms);
    let table = derive(&design, Model::Restricted);
    let a = moments::fit(
        &table,
        &anova,
        &Options {
            alpha: 0.05,
            negative: NegativePolicy::Pool,
        },
    );
    assert_eq!(a.pooling.len(), 1);
    assert_eq!(table.terms[a.pooling[0].into].name, "cask(batch)");
    let pooled_ms = (9.0 * 10.0 + 20.0 * 17.54533333) / 29.0;
    let cask = a
        .components
        .iter()
        .find(|c| c.name == "cask(batch)")
        .unwrap();
    assert!(close(
        cask.estimate,
        (pooled_ms - 0.678) / 2.0,
        HAND_FORMULA
    ));
    assert!(close(
        cask.satterthwaite_df,
        {
            let (x, y) = (pooled_ms / 2.0, 0.678 / 2.0);
            (x - y).powi(2) / (x * x / 29.0 + y * y / 30.0)
        },
        HAND_FORMULA
    ));
}

/// Every shipped design, both models: the numeric back-substitution finds exactly the
/// EMS table's test denominators and estimators.
#[test]
fn numeric_solver_agrees_with_the_symbolic_table() {
    let mut n = 0;
    for entry in std::fs::read_dir(design_path("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let design = emslab::io::read_design(&path).unwrap();
        if !design.is_sized() {
            continue;
        }
        for model in [Model::Restricted, Model::Unrestricted] {
            let table = derive(&design, model);
            let rows: Vec<TermMs> = (0..table.terms.len())
                .map(|t| TermMs {
                    df: table.df(t).unwrap(),
                    ms: 1.0 + t as f64,
                })
                .collect();
            let anova = anova::from_summary(&design, &rows);
            let sys = moments::System::new(&table, &anova);
            for t in 0..table.terms.len() {
                let sym = &table.tests[t];
                match sys.denominator(t) {
                    Ok(den) => {
                        assert_eq!(den.len(), sym.denominator.len(), "{}: {t}", path.display());
                        for (&(v, w), &(sv, sw)) in den.iter().zip(&sym.denominator) {
                            assert_eq!(v, sv, "{}: {t}", path.display());
                            assert!(
                                common::close(w, sw.to_f64(), SOLVER_VS_RATIONAL),
                                "{}: {t}: {w} vs {sw}",
                                path.display()
                            );
                        }
                    }
                    Err(_) => assert_eq!(sym.kind, TestKind::None, "{}: {t}", path.display()),
                }
            }
            for e in &table.estimators {
                // The system's weights are Σ a_i MS_i directly; the table's are over the
                // divisor k_u (the share of an absorbing row's own coefficient is in them).
                let (comb, _) = sys.estimator(e.component).unwrap();
                let k = e.divisor.value(&design).unwrap() as f64;
                assert_eq!(comb.len(), e.combination.len(), "{}", path.display());
                for (&(v, w), &(ev, ew)) in comb.iter().zip(&e.combination) {
                    assert_eq!(v, ev, "{}", path.display());
                    assert!(
                        common::close(w, ew.to_f64() / k, SOLVER_VS_RATIONAL),
                        "{}: {w} vs {ew}/{k}",
                        path.display()
                    );
                }
            }
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} designs checked");
}

#[test]
fn quasi_f_with_satterthwaite_df_and_f2() {
    // Three-factor mixed design (A fixed, B and C random): A needs a synthetic denominator
    // MS(A:B) + MS(A:C) - MS(A:B:C).
    let design = emslab::io::read_design(&design_path("three_factor_mixed.toml")).unwrap();
    let table = derive(&design, Model::Restricted);
    let a_idx = table
        .terms
        .iter()
        .position(|t| t.name == table.terms[0].name)
        .unwrap();
    assert_eq!(table.tests[a_idx].kind, TestKind::Quasi);
    let ms: Vec<f64> = (0..table.terms.len())
        .map(|t| 10.0 + 3.0 * t as f64)
        .collect();
    let rows: Vec<TermMs> = (0..table.terms.len())
        .map(|t| TermMs {
            df: table.df(t).unwrap(),
            ms: ms[t],
        })
        .collect();
    let anova = anova::from_summary(&design, &rows);
    let a = moments::fit(&table, &anova, &Options::default());
    let t = &a.tests[a_idx];
    assert_eq!(t.kind, TestKind::Quasi);
    let den: f64 = t.denominator.iter().map(|&(v, w)| w * ms[v]).sum();
    assert!(close(t.f.unwrap(), ms[a_idx] / den, FEW_ROUNDINGS));
    let nu = den.powi(2)
        / t.denominator
            .iter()
            .map(|&(v, w)| (w * ms[v]).powi(2) / table.df(v).unwrap() as f64)
            .sum::<f64>();
    assert!(close(t.df_den.unwrap(), nu, HAND_FORMULA));
    assert!(
        t.df_den.unwrap().fract() != 0.0,
        "Satterthwaite df is not rounded"
    );
    let expected_p = emslab::dist::f_sf(ms[a_idx] / den, t.df_num as f64, nu);
    assert!(close(t.p.unwrap(), expected_p, FEW_ROUNDINGS));
    let f2 = t.f2.as_ref().unwrap();
    assert!(f2.numerator.iter().all(|(_, w)| *w > 0.0));
    assert!(f2.denominator.iter().all(|(_, w)| *w > 0.0));
    assert!(close(
        f2.f,
        f2.numerator_ms / f2.denominator_ms,
        FEW_ROUNDINGS
    ));

    // The fit with the negatively weighted mean square of A's denominator set to `value`.
    let with_negative_ms = |value: f64| {
        let rows: Vec<TermMs> = rows
            .iter()
            .enumerate()
            .map(|(v, r)| {
                let negative = t.denominator.iter().any(|&(u, w)| u == v && w < 0.0);
                TermMs {
                    df: r.df,
                    ms: if negative { value } else { ms[v] },
                }
            })
            .collect();
        moments::fit(
            &table,
            &anova::from_summary(&design, &rows),
            &Options::default(),
        )
    };

    // A synthetic denominator that comes out negative is flagged; F″ still given.
    let b = with_negative_ms(1000.0);
    let t2 = &b.tests[a_idx];
    assert!(t2.negative_denominator);
    assert!(t2.f.is_none() && t2.p.is_none());
    assert!(t2.f2.is_some());
    assert!(b.notes.iter().any(
        |n| matches!(n, moments::MomentNote::NegativeDenominator { term, .. } if *term == a_idx)
    ));

    // One of exactly zero is no denominator either: MS(A:B:C) = MS(A:B) + MS(A:C).
    let positive: f64 = t
        .denominator
        .iter()
        .filter(|(_, w)| *w > 0.0)
        .map(|&(v, _)| ms[v])
        .sum();
    let c = with_negative_ms(positive);
    let t3 = &c.tests[a_idx];
    assert_eq!(t3.denominator_ms, Some(0.0));
    assert!(t3.negative_denominator);
    assert!(t3.f.is_none() && t3.p.is_none());
}

#[test]
fn mls_bounds_bracket_and_clip() {
    let (_, _, a) = run(
        "montgomery_gauge",
        Model::Restricted,
        NegativePolicy::Report,
    );
    for c in &a.components {
        if let Some(m) = &c.mls {
            assert!(m.lower >= 0.0 && m.upper >= m.lower, "{}", c.name);
            if c.estimate > 0.0 {
                assert!(m.lower <= c.estimate && c.estimate <= m.upper, "{}", c.name);
            }
        }
    }
    let po = a
        .components
        .iter()
        .find(|c| c.name == "part:operator")
        .unwrap();
    let m = po.mls.unwrap();
    assert!(m.lower_clipped && m.lower == 0.0 && m.upper > 0.0);
}

/// Coverage of the MLS interval: a difference of two mean squares (one-way random) and a
/// combination of four (a main effect of a three-factor random model: P = Q - P = 2).
#[test]
fn mls_coverage_is_near_nominal() {
    let reps = 4000;
    // One-way: σ²_A = (MS_A - MS_E)/n, a = 6 groups, n = 5.
    let cases: [(&[(f64, u32, f64)], f64); 2] = [
        // (E(MS), df, weight): σ²_A = 2, σ² = 1, n = 5: E(MS_A) = 11.
        (&[(11.0, 5, 0.2), (1.0, 24, -0.2)], 2.0),
        // Three-factor random, a = b = c = 4, n = 2; σ² = 1, σ²_AB = σ²_AC = 0.5,
        // σ²_ABC = 0.3, σ²_A = 1: E(MS_A) = 1 + 2·0.3 + 8·0.5 + 8·0.5 + 32·1,
        // E(MS_AB) = 1 + 0.6 + 4, E(MS_AC) = 1 + 0.6 + 4, E(MS_ABC) = 1.6.
        (
            &[
                (41.6, 3, 1.0 / 32.0),
                (5.6, 9, -1.0 / 32.0),
                (5.6, 9, -1.0 / 32.0),
                (1.6, 27, 1.0 / 32.0),
            ],
            1.0,
        ),
    ];
    for (case, truth) in cases {
        let shape: Vec<(f64, bool)> = case
            .iter()
            .map(|&(_, df, w)| (f64::from(df), w > 0.0))
            .collect();
        let mls = Mls::new(&shape, 0.05).unwrap();
        let mut rng = SeededRng::new(0x9E37_79B9_7F4A_7C15);
        let (mut below, mut above) = (0, 0);
        for _ in 0..reps {
            let terms: Vec<MsTerm> = case
                .iter()
                .map(|&(ems, df, w)| MsTerm {
                    a: w,
                    ms: rng.mean_square(ems, df),
                    df: f64::from(df),
                })
                .collect();
            let i = mls.interval(&terms).unwrap();
            if truth < i.lower {
                below += 1;
            }
            if truth > i.upper {
                above += 1;
            }
        }
        let coverage = 1.0 - f64::from(below + above) / reps as f64;
        println!("MLS coverage {coverage:.4} (above {above}, below {below} of {reps})");
        // MLS is close to nominal, slightly conservative (Burdick and Graybill 1992).
        let se = (0.95f64 * 0.05 / reps as f64).sqrt();
        assert!(
            coverage > 0.95 - MONTE_CARLO_SE * se && coverage < 0.985,
            "coverage {coverage} (misses below {below}, above {above})"
        );
    }
}

/// Unbiasedness of the moment estimators: the mean over simulated data sets is within its
/// standard error of the truth, for a nested, a mixed (both models) and a crossed random
/// design.
#[test]
fn moment_estimators_are_unbiased() {
    let cases: [(&str, Model, &[(&str, f64)]); 4] = [
        (
            "pastes.toml",
            Model::Restricted,
            &[("batch", 2.0), ("cask(batch)", 8.0), ("Residual", 1.0)],
        ),
        (
            "machines.toml",
            Model::Restricted,
            &[
                ("Worker", 25.0),
                ("Machine:Worker", 10.0),
                ("Residual", 1.0),
            ],
        ),
        (
            "machines.toml",
            Model::Unrestricted,
            &[
                ("Worker", 25.0),
                ("Machine:Worker", 10.0),
                ("Residual", 1.0),
            ],
        ),
        (
            "three_factor_random.toml",
            Model::Restricted,
            &[
                ("A", 1.0),
                ("B", 0.5),
                ("C", 2.0),
                ("A:B", 0.5),
                ("A:C", 0.25),
                ("B:C", 0.75),
                ("A:B:C", 0.3),
                ("Residual", 1.0),
            ],
        ),
    ];
    let seeds = 300u64;
    for (file, model, sigma2) in cases {
        let design = emslab::io::read_design(&design_path(file)).unwrap();
        let table = derive(&design, model);
        let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
        let mut sums = vec![0.0; table.terms.len()];
        let mut sqs = vec![0.0; table.terms.len()];
        for seed in 0..seeds {
            let spec = SimSpec::new(&design, model, sigma2, seed).unwrap();
            let sim = Simulator::new(spec).unwrap();
            let mut acc = CellAccumulator::new(radix.clone());
            sim.for_each(|codes, y| acc.push(codes, y));
            let anova = anova::from_cells(&design, &acc.finish()).unwrap();
            for (u, est) in moments::estimates(&table, &anova) {
                sums[u] += est;
                sqs[u] += est * est;
            }
        }
        for &(name, truth) in sigma2 {
            let u = table.terms.iter().position(|t| t.name == name).unwrap();
            let n = seeds as f64;
            let mean = sums[u] / n;
            let sd = ((sqs[u] - n * mean * mean) / (n - 1.0)).sqrt();
            let se = sd / n.sqrt();
            assert!(
                (mean - truth).abs() <= MONTE_CARLO_SE * se,
                "{file} ({}): {name}: mean {mean} vs {truth} (se {se})",
                model.as_str()
            );
        }
    }
}

/// Dyestuff's design (6 batches, 5 runs each: df 5 and 24) fitted from the mean squares
/// `(MS_Batch, MS_Residual)`, as `--summary` would.
fn dyestuff_from(ms: (f64, f64), negative: NegativePolicy) -> MomentFit {
    dyestuff_rows(
        [TermMs { df: 5, ms: ms.0 }, TermMs { df: 24, ms: ms.1 }],
        negative,
    )
}

/// Dyestuff's design fitted from any two rows `(df, MS)`, as a caller's own table may give.
fn dyestuff_rows(rows: [TermMs; 2], negative: NegativePolicy) -> MomentFit {
    let design = emslab::io::read_design(&design_path("dyestuff.toml")).unwrap();
    let table = derive(&design, Model::Restricted);
    let anova = anova::from_summary(&design, &rows);
    moments::fit(
        &table,
        &anova,
        &Options {
            alpha: 0.05,
            negative,
        },
    )
}

#[test]
fn an_estimate_of_exactly_zero_is_neither_negative_nor_given_an_interval() {
    // MS_Batch = MS_Residual: σ²_Batch = (MS_Batch - MS_Residual)/5 = 0 exactly, F = 1.
    for policy in [
        NegativePolicy::Report,
        NegativePolicy::Zero,
        NegativePolicy::Pool,
    ] {
        let a = dyestuff_from((2451.25, 2451.25), policy);
        let batch = a.component(0).unwrap();
        assert_eq!((batch.computed, batch.estimate), (0.0, 0.0), "{policy:?}");
        // Zero is not negative: no negative-estimate note, nothing pooled, the test stands.
        // (The MLS interval's lower bound is clipped at 0, and says so.)
        assert_eq!(
            batch.notes,
            vec![moments::ComponentNote::MlsLowerClipped],
            "{policy:?}"
        );
        let mls = batch.mls.unwrap();
        assert!(mls.lower == 0.0 && mls.lower_clipped);
        assert!(mls.upper > 0.0 && !mls.upper_clipped);
        assert!(a.pooling.is_empty(), "{policy:?}");
        assert_eq!(batch.pooled_into, None);
        assert!(
            !a.notes
                .iter()
                .any(|n| matches!(n, moments::MomentNote::SharesCountNegativeAsZero))
        );
        // No chi-square interval on a zero estimate, and the reason is the estimate, not the df.
        assert!(batch.ci.is_none());
        assert_eq!(batch.ci_missing, Some(moments::NoInterval::NotPositive));
        let t = &a.tests[0];
        assert_eq!(t.f, Some(1.0));
        // scipy 1.17.1: scipy.stats.f.sf(1, 5, 24) = 0.4389107699 (R: pf(1, 5, 24,
        // lower.tail = FALSE)).
        assert!(matches_printed(t.p.unwrap(), "0.4389107699"));
        // Shares: 0 and 1.
        assert_eq!(batch.share, Some(0.0));
        assert_eq!(a.component(1).unwrap().share, Some(1.0));
        // The ICC is 0, and its exact interval is clipped at 0 below only.
        let icc = a.icc.as_ref().unwrap();
        assert_eq!(icc.estimate, 0.0);
        let i = icc.interval.unwrap();
        let fu = 1.0 / emslab::dist::f_quantile(0.025, 5.0, 24.0);
        assert_eq!(i.lower, 0.0);
        assert!(i.lower_clipped && !i.upper_clipped);
        assert!(close(i.upper, (fu - 1.0) / (fu + 4.0), HAND_FORMULA));
    }
}

#[test]
fn a_zero_residual_mean_square_gives_no_f_and_no_icc_interval() {
    // Every run of a batch equal (rounded measurements): MS_Residual = 0. F = MS/0 is not a
    // statistic: no F, no p, no exact ICC interval; the components are still estimated.
    let a = dyestuff_from((10.0, 0.0), NegativePolicy::Report);
    let t = &a.tests[0];
    assert_eq!(t.kind, TestKind::Exact);
    assert_eq!((t.f, t.p), (None, None));
    assert_eq!(t.denominator_ms, Some(0.0));
    let batch = a.component(0).unwrap();
    assert_eq!(batch.estimate, 2.0);
    assert_eq!(batch.share, Some(1.0));
    let resid = a.component(1).unwrap();
    assert_eq!(resid.estimate, 0.0);
    assert_eq!(resid.ci_missing, Some(moments::NoInterval::NotPositive));
    let icc = a.icc.as_ref().unwrap();
    assert_eq!(icc.estimate, 1.0);
    assert!(icc.interval.is_none());

    // Both mean squares zero: no variance at all, so no shares and no ICC estimate.
    let z = dyestuff_from((0.0, 0.0), NegativePolicy::Report);
    assert!(z.components.iter().all(|c| c.share.is_none()));
    assert!(z.icc.as_ref().unwrap().estimate.is_nan());
    assert_eq!((z.tests[0].f, z.tests[0].p), (None, None));
}

#[test]
fn a_strongly_negative_estimate_has_its_mls_interval_clipped_at_both_ends() {
    // MS_Batch = 1, MS_Residual = 2451.25: σ²_Batch = -490.05. Its MLS upper bound
    // θ̂ + sqrt(V_U) is still negative (V_U is about (G_24 · 490)², G_24 = 1 - 1/F(0.025;
    // 24, ∞) ≈ 0.39): both bounds are set to 0 and marked, and the chi-square interval is
    // not given.
    let a = dyestuff_from((1.0, 2451.25), NegativePolicy::Report);
    let batch = a.component(0).unwrap();
    assert!(close(batch.computed, -490.05, HAND_FORMULA));
    let mls = batch.mls.unwrap();
    assert_eq!((mls.lower, mls.upper), (0.0, 0.0));
    assert_eq!(
        (mls.method, mls.level),
        (intervals::IntervalMethod::Mls, 0.95)
    );
    assert!(mls.lower_clipped && mls.upper_clipped);
    assert_eq!(batch.ci_missing, Some(moments::NoInterval::NotPositive));
    // The ICC's exact interval: F = 1/2451.25 is below its lower 2.5% point
    // (qf(0.025, 5, 24) ≈ 0.16), so both bounds (F/F_q - 1)/(F/F_q + 4) are negative: 0,
    // and marked.
    let icc = a.icc.as_ref().unwrap().interval.unwrap();
    assert_eq!((icc.lower, icc.upper), (0.0, 0.0));
    assert!(icc.lower_clipped && icc.upper_clipped);
    // The bounds as computed, before clipping: both negative.
    let terms = [
        MsTerm {
            a: 0.2,
            ms: 1.0,
            df: 5.0,
        },
        MsTerm {
            a: -0.2,
            ms: 2451.25,
            df: 24.0,
        },
    ];
    let (lo, hi) = Mls::new(&[(5.0, true), (24.0, false)], 0.05)
        .unwrap()
        .bounds(&terms)
        .unwrap();
    assert!(lo < hi && hi < 0.0, "{lo} {hi}");
    // Constants of one shape are not used for another, nor with a mean square that is not
    // a number.
    let shape = Mls::new(&[(5.0, true), (24.0, false)], 0.05).unwrap();
    assert!(shape.bounds(&terms[..1]).is_none());
    let nan = [
        terms[0],
        MsTerm {
            ms: f64::NAN,
            ..terms[1]
        },
    ];
    assert!(shape.bounds(&nan).is_none());
}

#[test]
fn a_callers_table_with_zero_df_or_an_infinite_mean_square_gets_no_statistic() {
    // The library's own tables have df >= 1 and finite mean squares (the ANOVA refuses an
    // overflowing sum); a table built by a caller may not. No F, no p, no exact ICC
    // interval from such a row, rather than F = ∞ or an interval of NaN.
    let report = NegativePolicy::Report;
    let cases = [
        (
            "Batch df 0",
            [TermMs { df: 0, ms: 10.0 }, TermMs { df: 24, ms: 2.0 }],
        ),
        (
            "Residual df 0",
            [TermMs { df: 5, ms: 10.0 }, TermMs { df: 0, ms: 2.0 }],
        ),
        (
            "MS_Batch infinite",
            [
                TermMs {
                    df: 5,
                    ms: f64::INFINITY,
                },
                TermMs { df: 24, ms: 2.0 },
            ],
        ),
    ];
    for (what, rows) in cases {
        let a = dyestuff_rows(rows, report);
        assert_eq!((a.tests[0].f, a.tests[0].p), (None, None), "{what}");
        // (With the Residual's df 0, σ²_Batch has no estimator and there is no ICC.)
        let interval = a.icc.as_ref().and_then(|i| i.interval);
        assert!(interval.is_none(), "{what}: {interval:?}");
        assert_eq!(a.icc.is_some(), what != "Residual df 0", "{what}");
    }
    // σ²_Batch = (10 - 2)/5 = 1.6 is positive, but a mean square on 0 df gives its
    // Satterthwaite df 0: no interval, and the reason is the df.
    let a = dyestuff_rows(cases[0].1, report);
    let batch = a.component(0).unwrap();
    assert!(close(batch.estimate, 1.6, HAND_FORMULA));
    assert_eq!(batch.satterthwaite_df, 0.0);
    assert_eq!(batch.ci_missing, Some(moments::NoInterval::NoDf));
}

#[test]
fn the_cheap_tests_and_estimates_are_the_fits() {
    // `moments::tests` and `moments::estimates` (the power simulation's fast path) give the
    // full fit's F tests and estimates.
    for name in ["machines", "pastes", "montgomery_gauge", "dyestuff"] {
        let (table, anova, fit) = run(name, Model::Restricted, NegativePolicy::Report);
        let cheap = moments::tests(&table, &anova);
        assert_eq!(cheap.len(), fit.tests.len(), "{name}");
        for (c, f) in cheap.iter().zip(&fit.tests) {
            assert_eq!(
                (c.term, c.kind, c.f, c.p),
                (f.term, f.kind, f.f, f.p),
                "{name}"
            );
            assert_eq!((c.df_num, c.df_den), (f.df_num, f.df_den), "{name}");
        }
        let est = moments::estimates(&table, &anova);
        let random: Vec<_> = fit
            .components
            .iter()
            .map(|c| (c.term, c.computed))
            .collect();
        assert_eq!(est, random, "{name}");
    }
}

#[test]
fn interval_methods_are_named_as_the_json_and_the_report_name_them() {
    use intervals::IntervalMethod::*;
    // JSON `ci.method` (the interface contract's example is "satterthwaite").
    let keys = [ChiSquare, Satterthwaite, Mls, ExactF].map(|m| m.as_str());
    assert_eq!(keys, ["chi-square", "satterthwaite", "mls", "exact-f"]);
    // The report's words.
    let labels = [ChiSquare, Satterthwaite, Mls, ExactF].map(|m| m.label());
    assert_eq!(
        labels,
        [
            "exact chi-square",
            "Satterthwaite",
            "modified large-sample",
            "exact F"
        ]
    );
}

#[test]
fn no_chi_square_interval_without_a_positive_estimate_and_positive_df() {
    let m = intervals::IntervalMethod::Satterthwaite;
    assert!(intervals::chi_square(1.0, 0.0, 0.05, m).is_none());
    assert!(intervals::chi_square(1.0, f64::NAN, 0.05, m).is_none());
    assert!(intervals::chi_square(0.0, 5.0, 0.05, m).is_none());
    assert!(intervals::chi_square(f64::NAN, 5.0, 0.05, m).is_none());
    // With both: [ν θ̂/χ²(0.975, ν), ν θ̂/χ²(0.025, ν)]; scipy 1.17.1:
    // 5/scipy.stats.chi2.ppf(0.975, 5) = 0.38963563, 5/scipy.stats.chi2.ppf(0.025, 5) = 6.0153154.
    let i = intervals::chi_square(1.0, 5.0, 0.05, m).unwrap();
    assert!(matches_printed(i.lower, "0.38963563"), "{}", i.lower);
    assert!(matches_printed(i.upper, "6.0153154"), "{}", i.upper);
    assert!(!i.lower_clipped && !i.upper_clipped);
    assert_eq!((i.method, i.level), (m, 0.95));
}

#[test]
fn rounding_residues_of_numeric_coefficients_are_not_components() {
    use emslab::moments::{Row, System};
    // Numeric (Type I/III) coefficients leave residues: here σ²_C's coefficient 1e-7 in
    // E(MS_B), beside A:B's 1000. Below 1e-9 of the largest coefficient it is a residue, not
    // a component to remove: B is tested by MS(A:B) alone.
    let row = |name: &str, size: usize, ems: Vec<(usize, f64)>| Row {
        name: name.into(),
        df: 4,
        ms: 1.0,
        ss: Some(4.0),
        random: true,
        size,
        ems,
        pooled_into: None,
        absorbed: Vec::new(),
    };
    let s = System {
        rows: vec![
            row("B", 1, vec![(0, 2e6), (1, 1e-7), (2, 1e3), (3, 1.0)]),
            row("C", 1, vec![(1, 5.0), (3, 1.0)]),
            row("A:B", 2, vec![(2, 1e3), (3, 1.0)]),
            row("Residual", 3, vec![(3, 1.0)]),
        ],
        residual: 3,
    };
    assert_eq!(s.denominator(0).unwrap(), vec![(2, 1.0)]);
    // A coefficient above that fraction is a component: C's 1e-5 is removed with MS(C).
    let mut t = s.clone();
    t.rows[0].ems[1].1 = 1e-5;
    let den = t.denominator(0).unwrap();
    assert_eq!(den.len(), 3, "{den:?}");
    assert!(close(den[0].1, 2e-6, FEW_ROUNDINGS));
}
