//! Unbalanced data (issue 12): Type III and Type I sums of squares, their expected mean
//! squares, the synthesized tests and the moment estimates, against R
//! (tests/data/unbalanced/reference.R: car 3.1-1 and anova(lm) for the sums of squares, the
//! trace form on n x n projections for everything else; R 4.2.2), and the identities they
//! must satisfy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::{UNBALANCED_EMS_VS_R, UNBALANCED_IDENTITY, UNBALANCED_SS_VS_R, close};
use emslab::Design;
use emslab::data::{self, ReadOptions};
use emslab::ems::TestKind;
use emslab::unbalanced::{self, SsType, UnbalancedAnova, UnbalancedNote, UnbalancedOptions};

type Key = (String, String, String, String, String);

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/unbalanced")
}

/// reference.csv: (case, ss_type, quantity, term, component) -> value.
fn reference() -> HashMap<Key, f64> {
    let text = std::fs::read_to_string(data_dir().join("reference.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 6, "{line}");
            let key = (
                f[0].to_string(),
                f[1].to_string(),
                f[2].to_string(),
                f[3].to_string(),
                f[4].to_string(),
            );
            (key, f[5].parse::<f64>().unwrap())
        })
        .collect()
}

fn design(path: &str) -> Design {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    Design::from_toml_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn analyse(design_file: &str, data_file: &str, ss_type: SsType) -> UnbalancedAnova {
    let d = design(design_file);
    let ds = data::read_csv(&data_dir().join(data_file), &d, &ReadOptions::default()).unwrap();
    let opts = UnbalancedOptions {
        ss_type,
        alpha: 0.05,
    };
    unbalanced::analyze(&d, &ds.cells, &opts).unwrap()
}

/// Every number of one case and type against R.
fn check_case(case: &str, design_file: &str, data_file: &str) {
    let r = reference();
    for (ss_type, label) in [(SsType::III, "III"), (SsType::I, "I")] {
        let a = analyse(design_file, data_file, ss_type);
        assert!(!a.balanced);
        let get = |q: &str, t: &str, c: &str| {
            let key = (
                case.to_string(),
                label.to_string(),
                q.to_string(),
                t.to_string(),
                c.to_string(),
            );
            r.get(&key).copied()
        };
        // The same rows as R's table.
        let mut ours: Vec<&str> = a.terms.iter().map(|t| t.term.as_str()).collect();
        let mut theirs: Vec<&str> = r
            .keys()
            .filter(|k| k.0 == case && k.1 == label && k.2 == "df")
            .map(|k| k.3.as_str())
            .collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{case} {label}: rows");
        for row in &a.terms {
            let t = row.term.as_str();
            let what = format!("{case} Type {label} {t}");
            assert_eq!(Some(row.df as f64), get("df", t, ""), "{what}: df");
            let ss = get("ss", t, "").unwrap();
            assert!(
                close(row.ss, ss, UNBALANCED_SS_VS_R),
                "{what}: SS {} vs R {ss}",
                row.ss
            );
            // EMS: the same components, the same coefficients.
            let n_theirs = r
                .keys()
                .filter(|k| k.0 == case && k.1 == label && k.2 == "ems" && k.3 == t)
                .count();
            assert_eq!(row.ems.len(), n_theirs, "{what}: EMS {:?}", row.ems);
            for e in &row.ems {
                let want = get("ems", t, &e.component).unwrap_or(f64::NAN);
                assert!(
                    close(e.coefficient, want, UNBALANCED_EMS_VS_R),
                    "{what}: EMS coefficient of {} {} vs R {want}",
                    e.component,
                    e.coefficient
                );
            }
            check_test(&a, row, &what, |q, c| get(q, t, c));
        }
        for c in &a.components {
            let what = format!("{case} Type {label} component {}", c.term);
            for (q, v) in [
                ("estimate", c.estimate),
                ("satterthwaite_df", c.satterthwaite_df),
            ] {
                let want = get(q, &c.term, "").unwrap();
                assert!(
                    close(v, want, UNBALANCED_EMS_VS_R),
                    "{what}: {q} {v} vs R {want}"
                );
            }
            let bounds = (get("ci_lower", &c.term, ""), get("ci_upper", &c.term, ""));
            match (&c.ci, bounds) {
                (Some(ci), (Some(lo), Some(hi))) => {
                    assert!(close(ci.lower, lo, UNBALANCED_EMS_VS_R), "{what}: lower");
                    assert!(close(ci.upper, hi, UNBALANCED_EMS_VS_R), "{what}: upper");
                }
                (None, (None, None)) => {}
                other => panic!("{what}: interval {other:?}"),
            }
        }
        let estimated = r
            .keys()
            .filter(|k| k.0 == case && k.1 == label && k.2 == "estimate")
            .count();
        assert_eq!(a.components.len(), estimated, "{case} {label}: components");
    }
}

fn check_test(
    a: &UnbalancedAnova,
    row: &unbalanced::SsRow,
    what: &str,
    get: impl Fn(&str, &str) -> Option<f64>,
) {
    let test = &row.test;
    let Some(f) = get("f", "") else {
        assert_eq!(test.kind, TestKind::None, "{what}: R has no test");
        return;
    };
    assert_ne!(test.kind, TestKind::None, "{what}: {:?}", test.reason);
    let exact = test.denominator.len() == 1 && test.denominator[0].weight == 1.0;
    assert_eq!(test.kind == TestKind::Exact, exact, "{what}: kind");
    for w in &test.denominator {
        let want = get("den_weight", &w.term).unwrap_or(f64::NAN);
        assert!(
            close(w.weight, want, UNBALANCED_EMS_VS_R),
            "{what}: weight of MS({}) {} vs R {want}",
            w.term,
            w.weight
        );
        assert_eq!(a.terms[w.row].term, w.term);
    }
    let df_den = get("df_den", "").unwrap();
    let p = get("p", "").unwrap();
    for (q, v, want) in [
        ("F", test.f, f),
        ("df_den", test.df_den, df_den),
        ("p", test.p, p),
    ] {
        let v = v.unwrap();
        assert!(
            close(v, want, UNBALANCED_EMS_VS_R),
            "{what}: {q} {v} vs R {want}"
        );
    }
}

#[test]
fn machines_with_rows_dropped_against_r() {
    check_case(
        "machines_seed1201",
        "designs/machines.toml",
        "machines_seed1201.csv",
    );
}

#[test]
fn machines_without_the_interaction_against_r() {
    check_case(
        "machines_additive",
        "tests/data/unbalanced/machines_additive.toml",
        "machines_seed1201.csv",
    );
}

#[test]
fn machines_with_an_empty_cell_against_r() {
    check_case(
        "machines_empty_cell",
        "designs/machines.toml",
        "machines_empty_cell.csv",
    );
    let a = analyse(
        "designs/machines.toml",
        "machines_empty_cell.csv",
        SsType::III,
    );
    // Machine and Worker are left out of Type III (Machine:Worker has the empty cell), with
    // notes; Machine:Worker has one df fewer.
    let left: Vec<&str> = a
        .notes
        .iter()
        .filter_map(|n| match n {
            UnbalancedNote::TypeIiiLeftOut { term, because } => {
                assert_eq!(because, "Machine:Worker");
                Some(term.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(left, ["Machine", "Worker"]);
    assert!(a.notes.contains(&UnbalancedNote::EmptyCells {
        term: "Machine:Worker".into(),
        empty: 1,
        expected: 18
    }));
    assert!(a.notes.contains(&UnbalancedNote::ReducedDf {
        term: "Machine:Worker".into(),
        df: 9,
        df_complete: 10
    }));
}

#[test]
fn pastes_with_rows_dropped_against_r() {
    check_case(
        "pastes_seed1203",
        "designs/pastes.toml",
        "pastes_seed1203.csv",
    );
}

#[test]
fn pastes_with_a_cask_missing_against_r() {
    // Batch A has two casks, the others three: cask(batch) sums to zero within each batch
    // over the casks it has.
    check_case(
        "pastes_missing_cask",
        "designs/pastes.toml",
        "pastes_missing_cask.csv",
    );
}

#[test]
fn nested_factorial_against_r() {
    check_case(
        "nested_factorial",
        "designs/nested_factorial.toml",
        "nested_factorial_seed1206.csv",
    );
}

#[test]
fn absorbed_term_against_r() {
    check_case(
        "absorbed",
        "tests/data/unbalanced/absorbed.toml",
        "absorbed_seed1208.csv",
    );
    // The decomposition adds up: Type I rows (Residual included) to the corrected total.
    let a = analyse(
        "tests/data/unbalanced/absorbed.toml",
        "absorbed_seed1208.csv",
        SsType::I,
    );
    let sum: f64 = a.terms.iter().map(|r| r.ss).sum();
    assert!(close(sum, a.total.ss, UNBALANCED_IDENTITY));
    let df: u64 = a.terms.iter().map(|r| r.df).sum();
    assert_eq!(df, a.total.df);
}

// ---- Identities on random designs ----

use common::random_design::{build, recipes};
use emslab::data::{CellAccumulator, Cells};
use emslab::{Model, anova, derive};
use proptest::prelude::*;

/// A deterministic stream of pseudo-random numbers in [0, 1) (splitmix64).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Observations `(codes, y)` of a sized design: `replicates` per cell, responses with a
/// random effect per level of every factor and noise; each kept with probability `keep`.
fn observations(design: &Design, seed: u64, keep: f64) -> Vec<(Vec<u32>, f64)> {
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let reps = design.replicates.unwrap();
    let mut s = Stream(seed);
    let effects: Vec<Vec<f64>> = radix
        .iter()
        .map(|&r| (0..r * 4).map(|_| 4.0 * s.next()).collect())
        .collect();
    let n_cells: u32 = radix.iter().product();
    let mut out = Vec::new();
    for cell in 0..n_cells {
        let mut codes = vec![0u32; radix.len()];
        let mut rest = cell;
        for f in (0..radix.len()).rev() {
            codes[f] = rest % radix[f];
            rest /= radix[f];
        }
        let mean: f64 = codes
            .iter()
            .enumerate()
            .map(|(f, &c)| effects[f][c as usize])
            .sum::<f64>()
            + 2.0 * s.next();
        for _ in 0..reps {
            let y = mean + s.next() - 0.5;
            if keep >= 1.0 || s.next() < keep {
                out.push((codes.clone(), y));
            }
        }
    }
    out
}

fn cells_of(design: &Design, obs: &[(Vec<u32>, f64)]) -> Cells {
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let mut acc = CellAccumulator::new(radix);
    for (codes, y) in obs {
        acc.push(codes, *y);
    }
    acc.finish()
}

fn run(design: &Design, cells: &Cells, ss_type: SsType) -> UnbalancedAnova {
    let opts = UnbalancedOptions {
        ss_type,
        alpha: 0.05,
    };
    unbalanced::analyze(design, cells, &opts).unwrap()
}

/// Two analyses agree in every number (rows matched by name).
fn assert_same(a: &UnbalancedAnova, b: &UnbalancedAnova, what: &str) {
    assert_eq!(a.terms.len(), b.terms.len(), "{what}");
    for (x, y) in a.terms.iter().zip(&b.terms) {
        assert_eq!((&x.term, x.df), (&y.term, y.df), "{what}");
        assert!(
            close(x.ss, y.ss, UNBALANCED_IDENTITY),
            "{what} {}: SS",
            x.term
        );
        assert_eq!(x.ems.len(), y.ems.len(), "{what} {}: EMS", x.term);
        for (e, f) in x.ems.iter().zip(&y.ems) {
            assert_eq!(e.component, f.component, "{what}");
            assert!(
                close(e.coefficient, f.coefficient, UNBALANCED_IDENTITY),
                "{what} {} {}",
                x.term,
                e.component
            );
        }
        assert_eq!(x.test.kind, y.test.kind, "{what} {}", x.term);
        if let (Some(f1), Some(f2)) = (x.test.f, y.test.f) {
            assert!(close(f1, f2, UNBALANCED_IDENTITY), "{what} {}: F", x.term);
        }
    }
    assert_eq!(a.components.len(), b.components.len(), "{what}");
    for (c, d) in a.components.iter().zip(&b.components) {
        assert!(close(c.estimate, d.estimate, UNBALANCED_IDENTITY), "{what}");
    }
}

proptest! {
    #![proptest_config(common::proptest_config(40, 12))]

    /// On balanced data Type I = Type III = the balanced ANOVA, and the trace-form EMS are
    /// the unrestricted subscript-table EMS (`ems::derive(.., Model::Unrestricted)`).
    #[test]
    fn balanced_data_give_the_balanced_anova_and_ems(
        (recipe, replicates, pool_top) in recipes(2..=3, 2..=3, 1..=3),
        seed in any::<u64>(),
    ) {
        let design = build(&recipe, replicates, pool_top);
        let cells = cells_of(&design, &observations(&design, seed, 1.0));
        let balanced = anova::from_cells(&design, &cells).unwrap();
        let table = derive(&design, Model::Unrestricted);
        for ss_type in [SsType::I, SsType::III] {
            let a = run(&design, &cells, ss_type);
            prop_assert!(a.balanced);
            prop_assert_eq!(a.terms.len(), balanced.rows.len());
            for (t, want) in balanced.rows.iter().enumerate() {
                let row = a.row(&want.term).unwrap();
                prop_assert_eq!(row.df, want.df, "{}", want.term);
                let ss = want.ss.unwrap();
                prop_assert!(close(row.ss, ss, UNBALANCED_IDENTITY),
                    "{:?} {}: {} vs {}", ss_type, want.term, row.ss, ss);
                let ems: Vec<(String, f64)> = table.ems[t]
                    .iter()
                    .map(|e| (table.terms[e.component].name.clone(),
                              e.coefficient.to_f64(&design).unwrap()))
                    .collect();
                prop_assert_eq!(row.ems.len(), ems.len(), "{} {:?} vs {:?}", want.term, row.ems, ems);
                for (name, k) in &ems {
                    let ours = row.ems.iter().find(|e| &e.component == name).map(|e| e.coefficient);
                    prop_assert!(ours.is_some_and(|c| close(c, *k, UNBALANCED_IDENTITY)),
                        "{:?} {}: coefficient of {} {:?} vs {}", ss_type, want.term, name, ours, k);
                }
            }
        }
    }

    /// Heavily thinned data (empty cells, lost levels of nested factors): no error, and
    /// the Type I rows and the Residual add up to the corrected total in SS and df.
    #[test]
    fn type_i_rows_add_up_on_thinned_data(
        (recipe, replicates, pool_top) in recipes(2..=4, 2..=4, 1..=3),
        seed in any::<u64>(),
    ) {
        let design = build(&recipe, replicates, pool_top);
        let obs = observations(&design, seed, 0.45);
        prop_assume!(obs.len() > 1);
        let cells = cells_of(&design, &obs);
        let a = run(&design, &cells, SsType::I);
        let ss: f64 = a.terms.iter().map(|r| r.ss).sum();
        let df: u64 = a.terms.iter().map(|r| r.df).sum();
        prop_assert!(close(ss, a.total.ss, UNBALANCED_IDENTITY), "{} vs {}", ss, a.total.ss);
        prop_assert_eq!(df, a.total.df);
        // Type III runs too; its rows never have more df than complete data would give.
        let b = run(&design, &cells, SsType::III);
        prop_assert!(b.terms.iter().all(|r| r.df <= r.df_complete));
    }

    /// Shuffling the rows and relabelling the levels changes nothing (unbalanced data, empty
    /// cells allowed).
    #[test]
    fn row_order_and_level_labels_do_not_matter(
        (recipe, replicates, pool_top) in recipes(2..=3, 2..=4, 2..=3),
        seed in any::<u64>(),
    ) {
        let design = build(&recipe, replicates, pool_top);
        let obs = observations(&design, seed, 0.75);
        prop_assume!(!obs.is_empty());
        let mut s = Stream(seed ^ 0x5555);
        // Shuffle (Fisher-Yates) and reverse every factor's codes.
        let mut shuffled = obs.clone();
        for i in (1..shuffled.len()).rev() {
            let j = (s.next() * (i + 1) as f64) as usize;
            shuffled.swap(i, j.min(i));
        }
        let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
        for (codes, _) in &mut shuffled {
            for (c, r) in codes.iter_mut().zip(&radix) {
                *c = r - 1 - *c;
            }
        }
        for ss_type in [SsType::I, SsType::III] {
            let a = run(&design, &cells_of(&design, &obs), ss_type);
            let b = run(&design, &cells_of(&design, &shuffled), ss_type);
            assert_same(&a, &b, &format!("{ss_type:?}"));
        }
    }
}

// ---- Report ----

#[test]
fn report_writes_the_tables_in_every_format() {
    use emslab::report::{Format, unbalanced_document, write_document};
    let a = analyse(
        "designs/machines.toml",
        "machines_seed1201.csv",
        SsType::III,
    );
    let doc = unbalanced_document(&a, "Machines");
    assert_eq!(doc.keys(), ["anova", "ems", "components"]);
    let text = write_document(&doc, Format::Text);
    // The EMS and the synthesized denominator of Machine (reference.csv: 2.4558139534883736,
    // 14.734883720930217, weights 0.97730333 and 0.02269667), in 5 significant digits.
    assert!(
        text.contains("σ² + 2.4558 σ²(Machine:Worker) + 14.735 φ(Machine)"),
        "{text}"
    );
    assert!(text.contains("0.9773 MS(Machine:Worker) + 0.022697 MS(Residual)"));
    assert!(text.contains("unrestricted model"));
    for format in Format::ALL {
        if format != Format::Json {
            assert!(!write_document(&doc, format).is_empty());
        }
    }
    let latex = write_document(&doc, Format::Latex);
    assert!(latex.contains("\\sigma^2_{\\text{Machine:Worker}}"));
    // With an empty cell the notes say which rows are left out and why.
    let e = analyse(
        "designs/machines.toml",
        "machines_empty_cell.csv",
        SsType::III,
    );
    let text = write_document(&unbalanced_document(&e, ""), Format::Text);
    assert!(text.contains("Machine: no Type III row, because Machine:Worker contains it"));
    assert!(text.contains("Machine:Worker: 1 of its 18 level combinations hold no data"));
}

#[test]
fn json_has_the_contract_keys() {
    let a = analyse(
        "designs/machines.toml",
        "machines_seed1201.csv",
        SsType::III,
    );
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["ss_type"], "III");
    assert_eq!(v["balanced"], false);
    let machine = &v["terms"][0];
    for key in ["term", "kind", "df", "ss", "ms", "ems", "test"] {
        assert!(machine.get(key).is_some(), "terms[0].{key}");
    }
    assert_eq!(machine["ems"][0]["component"], "Residual");
    assert!(machine["ems"][1]["coefficient"].is_f64());
    assert_eq!(machine["test"]["kind"], "quasi");
    assert_eq!(machine["test"]["denominator"][0]["term"], "Machine:Worker");
    assert!(machine["test"]["df_den"].is_f64());
    let worker = &v["components"][0];
    assert_eq!(worker["term"], "Worker");
    for key in ["estimate", "combination", "satterthwaite_df", "ci"] {
        assert!(worker.get(key).is_some(), "components[0].{key}");
    }
    assert_eq!(worker["ci"]["method"], "satterthwaite");
}
