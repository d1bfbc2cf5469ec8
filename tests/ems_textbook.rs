//! Textbook EMS tables reproduced exactly.
//!
//! Montgomery, Design and Analysis of Experiments (8th ed.): two-factor models §13.2-13.3
//! (fixed, random, mixed restricted and unrestricted), three-factor models §13.6, nested
//! B(A) §14.1, nested-factorial Example 14.2; Box, Hunter and Hunter, Statistics for
//! Experimenters (2nd ed.) §9.3 (pigment paste).

mod common;

use emslab::ems::{Model, Ratio, TestKind, derive};
use emslab::{Design, EmsTable};

fn design(toml: &str) -> Design {
    Design::from_toml_str(toml).expect("valid design")
}

fn two_factor(a: &str, b: &str) -> Design {
    design(&format!(
        r#"
        replicates = 2
        [[factors]]
        name = "A"
        kind = "{a}"
        levels = 3
        [[factors]]
        name = "B"
        kind = "{b}"
        levels = 4
        "#
    ))
}

fn row(t: &EmsTable, name: &str) -> usize {
    t.terms
        .iter()
        .position(|x| x.name == name)
        .expect("term exists")
}

fn ems(t: &EmsTable, name: &str) -> String {
    t.ems_text(row(t, name))
}

fn loaded(name: &str) -> Design {
    emslab::io::read_design(&common::design_path(name)).expect("shipped design loads")
}

// Montgomery §13.2-13.3: E(MS_A) = σ² + bn Q(A), E(MS_B) = σ² + an Q(B), E(MS_AB) =
// σ² + n Q(AB), Q(A) = Σ α_i² / (a - 1), for both factors fixed; the random and mixed
// forms below.
#[test]
fn two_factor_fixed() {
    for model in [Model::Restricted, Model::Unrestricted] {
        let t = derive(&two_factor("fixed", "fixed"), model);
        assert_eq!(ems(&t, "A"), "σ² + b n φ(A)");
        assert_eq!(ems(&t, "B"), "σ² + a n φ(B)");
        assert_eq!(ems(&t, "A:B"), "σ² + n φ(A:B)");
        assert_eq!(ems(&t, "Residual"), "σ²");
        for name in ["A", "B", "A:B"] {
            let test = &t.tests[row(&t, name)];
            assert_eq!(test.kind, TestKind::Exact);
            assert_eq!(test.denominator, vec![(t.residual(), Ratio::ONE)]);
        }
    }
}

#[test]
fn two_factor_random() {
    for model in [Model::Restricted, Model::Unrestricted] {
        let t = derive(&two_factor("random", "random"), model);
        assert_eq!(ems(&t, "A"), "σ² + n σ²(A:B) + b n σ²(A)");
        assert_eq!(ems(&t, "B"), "σ² + n σ²(A:B) + a n σ²(B)");
        assert_eq!(ems(&t, "A:B"), "σ² + n σ²(A:B)");
        let ab = row(&t, "A:B");
        assert_eq!(t.tests[row(&t, "A")].denominator, vec![(ab, Ratio::ONE)]);
        assert_eq!(t.tests[row(&t, "B")].denominator, vec![(ab, Ratio::ONE)]);
        assert_eq!(t.tests[ab].denominator, vec![(t.residual(), Ratio::ONE)]);
    }
}

#[test]
fn two_factor_mixed_restricted() {
    let t = derive(&two_factor("fixed", "random"), Model::Restricted);
    assert_eq!(ems(&t, "A"), "σ² + n σ²(A:B) + b n φ(A)");
    assert_eq!(ems(&t, "B"), "σ² + a n σ²(B)");
    assert_eq!(ems(&t, "A:B"), "σ² + n σ²(A:B)");
    assert_eq!(
        t.tests[row(&t, "B")].denominator,
        vec![(t.residual(), Ratio::ONE)]
    );
    assert_eq!(
        t.tests[row(&t, "A")].denominator,
        vec![(row(&t, "A:B"), Ratio::ONE)]
    );
    // Numeric coefficients: a = 3, b = 4, n = 2.
    assert_eq!(
        t.ems_numeric_text(row(&t, "A")).as_deref(),
        Some("σ² + 2 σ²(A:B) + 8 φ(A)")
    );
    let est = t.estimator(row(&t, "B")).expect("B is random");
    assert_eq!(t.estimator_text(est), "(MS(B) - MS(Residual)) / (a n)");
}

#[test]
fn two_factor_mixed_unrestricted() {
    let t = derive(&two_factor("fixed", "random"), Model::Unrestricted);
    assert_eq!(ems(&t, "A"), "σ² + n σ²(A:B) + b n φ(A)");
    assert_eq!(ems(&t, "B"), "σ² + n σ²(A:B) + a n σ²(B)");
    assert_eq!(ems(&t, "A:B"), "σ² + n σ²(A:B)");
    assert_eq!(
        t.tests[row(&t, "B")].denominator,
        vec![(row(&t, "A:B"), Ratio::ONE)]
    );
    let est = t.estimator(row(&t, "B")).expect("B is random");
    assert_eq!(t.estimator_text(est), "(MS(B) - MS(A:B)) / (a n)");
}

// Montgomery §13.6: three-factor random model; every main effect needs a quasi-F.
#[test]
fn three_factor_random() {
    let d = loaded("three_factor_random.toml");
    for model in [Model::Restricted, Model::Unrestricted] {
        let t = derive(&d, model);
        assert_eq!(
            ems(&t, "A"),
            "σ² + n σ²(A:B:C) + c n σ²(A:B) + b n σ²(A:C) + b c n σ²(A)"
        );
        assert_eq!(
            ems(&t, "B"),
            "σ² + n σ²(A:B:C) + c n σ²(A:B) + a n σ²(B:C) + a c n σ²(B)"
        );
        assert_eq!(
            ems(&t, "C"),
            "σ² + n σ²(A:B:C) + b n σ²(A:C) + a n σ²(B:C) + a b n σ²(C)"
        );
        assert_eq!(ems(&t, "A:B"), "σ² + n σ²(A:B:C) + c n σ²(A:B)");
        assert_eq!(ems(&t, "A:B:C"), "σ² + n σ²(A:B:C)");
        let a = &t.tests[row(&t, "A")];
        assert_eq!(a.kind, TestKind::Quasi);
        assert_eq!(
            t.combination_text(&a.denominator),
            "MS(A:B) + MS(A:C) - MS(A:B:C)"
        );
        // F'' = (MS_A + MS_ABC) / (MS_AB + MS_AC)
        assert_eq!(t.combination_text(&a.f2_numerator), "MS(A) + MS(A:B:C)");
        assert_eq!(t.combination_text(&a.f2_denominator), "MS(A:B) + MS(A:C)");
        let est = t.estimator(row(&t, "A")).expect("random");
        assert_eq!(
            t.estimator_text(est),
            "(MS(A) - MS(A:B) - MS(A:C) + MS(A:B:C)) / (b c n)"
        );
    }
}

// Montgomery §13.6, A fixed, B and C random (restricted model).
#[test]
fn three_factor_mixed_restricted() {
    let t = derive(&loaded("three_factor_mixed.toml"), Model::Restricted);
    assert_eq!(
        ems(&t, "A"),
        "σ² + n σ²(A:B:C) + c n σ²(A:B) + b n σ²(A:C) + b c n φ(A)"
    );
    assert_eq!(ems(&t, "B"), "σ² + a n σ²(B:C) + a c n σ²(B)");
    assert_eq!(ems(&t, "C"), "σ² + a n σ²(B:C) + a b n σ²(C)");
    assert_eq!(ems(&t, "A:B"), "σ² + n σ²(A:B:C) + c n σ²(A:B)");
    assert_eq!(ems(&t, "A:C"), "σ² + n σ²(A:B:C) + b n σ²(A:C)");
    assert_eq!(ems(&t, "B:C"), "σ² + a n σ²(B:C)");
    assert_eq!(ems(&t, "A:B:C"), "σ² + n σ²(A:B:C)");
    let a = &t.tests[row(&t, "A")];
    assert_eq!(a.kind, TestKind::Quasi);
    assert_eq!(
        t.combination_text(&a.denominator),
        "MS(A:B) + MS(A:C) - MS(A:B:C)"
    );
    assert_eq!(t.tests[row(&t, "B")].kind, TestKind::Exact);
    assert_eq!(
        t.combination_text(&t.tests[row(&t, "B")].denominator),
        "MS(B:C)"
    );
}

#[test]
fn three_factor_mixed_unrestricted() {
    let t = derive(&loaded("three_factor_mixed.toml"), Model::Unrestricted);
    assert_eq!(
        ems(&t, "B"),
        "σ² + n σ²(A:B:C) + c n σ²(A:B) + a n σ²(B:C) + a c n σ²(B)"
    );
    assert_eq!(ems(&t, "B:C"), "σ² + n σ²(A:B:C) + a n σ²(B:C)");
    let b = &t.tests[row(&t, "B")];
    assert_eq!(b.kind, TestKind::Quasi);
    assert_eq!(
        t.combination_text(&b.denominator),
        "MS(A:B) + MS(B:C) - MS(A:B:C)"
    );
}

fn nested(a_kind: &str) -> Design {
    design(&format!(
        r#"
        replicates = 3
        [[factors]]
        name = "A"
        kind = "{a_kind}"
        levels = 4
        [[factors]]
        name = "B"
        kind = "random"
        levels = 3
        nested_in = ["A"]
        "#
    ))
}

// Montgomery §14.1: two-stage nested design, E(MS_B(A)) = σ² + nσ²_B(A);
// E(MS_A) = σ² + nσ²_B(A) + bnσ²_A (A random) or + bn φ(A) (A fixed).
#[test]
fn nested_b_in_a() {
    for model in [Model::Restricted, Model::Unrestricted] {
        let t = derive(&nested("random"), model);
        assert_eq!(ems(&t, "A"), "σ² + n σ²(B(A)) + b n σ²(A)");
        assert_eq!(ems(&t, "B(A)"), "σ² + n σ²(B(A))");
        assert_eq!(t.df_symbolic(row(&t, "B(A)")), "a(b-1)");
        assert_eq!(t.df(row(&t, "B(A)")), Some(8));
        assert_eq!(t.df_symbolic(t.residual()), "ab(n-1)");
        let t = derive(&nested("fixed"), model);
        assert_eq!(ems(&t, "A"), "σ² + n σ²(B(A)) + b n φ(A)");
        assert_eq!(ems(&t, "B(A)"), "σ² + n σ²(B(A))");
        assert_eq!(
            t.tests[row(&t, "A")].denominator,
            vec![(row(&t, "B(A)"), Ratio::ONE)]
        );
    }
}

// Box, Hunter and Hunter §9.3: EMS batch
// s²e + 2s²s + 4s²b; sample(batch) s²e + 2s²s; tests s²e.
#[test]
fn pigment_paste() {
    let d = loaded("pigment_paste.toml");
    for model in [Model::Restricted, Model::Unrestricted] {
        let t = derive(&d, model);
        let batch = row(&t, "batch");
        let sample = row(&t, "sample(batch)");
        assert_eq!(ems(&t, "batch"), "σ² + n σ²(sample(batch)) + s n σ²(batch)");
        assert_eq!(
            t.ems_numeric_text(batch).as_deref(),
            Some("σ² + 2 σ²(sample(batch)) + 4 σ²(batch)")
        );
        assert_eq!(
            t.ems_numeric_text(sample).as_deref(),
            Some("σ² + 2 σ²(sample(batch))")
        );
        assert_eq!(
            t.ems_latex(batch),
            "\\sigma^2 + n\\sigma^2_{S(B)} + sn\\sigma^2_{B}"
        );
        assert_eq!(
            [t.df(batch), t.df(sample), t.df(t.residual())],
            [Some(14), Some(15), Some(30)]
        );
        assert_eq!(t.tests[batch].denominator, vec![(sample, Ratio::ONE)]);
    }
}

// Montgomery Example 14.2 (assembly time): fixtures fixed (a=3), layouts fixed (b=2),
// operators random nested in layouts (c=4), n=2. EMS as in the example: 16φ(A), 24φ(B), 6σ²_C(B),
// 8φ(AB), 2σ²_AC(B).
#[test]
fn nested_factorial() {
    let t = derive(&loaded("nested_factorial.toml"), Model::Restricted);
    let num = |name: &str| t.ems_numeric_text(row(&t, name)).expect("sized");
    assert_eq!(
        num("fixture"),
        "σ² + 2 σ²(fixture:operator(layout)) + 16 φ(fixture)"
    );
    assert_eq!(num("layout"), "σ² + 6 σ²(operator(layout)) + 24 φ(layout)");
    assert_eq!(num("operator(layout)"), "σ² + 6 σ²(operator(layout))");
    assert_eq!(
        num("fixture:layout"),
        "σ² + 2 σ²(fixture:operator(layout)) + 8 φ(fixture:layout)"
    );
    assert_eq!(
        num("fixture:operator(layout)"),
        "σ² + 2 σ²(fixture:operator(layout))"
    );
    assert_eq!(t.df(row(&t, "fixture:operator(layout)")), Some(12));
    assert_eq!(
        t.df_symbolic(row(&t, "fixture:operator(layout)")),
        "b(f-1)(c-1)"
    );
    for name in ["fixture", "layout", "operator(layout)", "fixture:layout"] {
        assert_eq!(t.tests[row(&t, name)].kind, TestKind::Exact, "{name}");
    }
}

// RCBD with one run per cell: the interaction pooled into the Residual, df (a-1)(b-1).
#[test]
fn rcbd_pools_interaction() {
    let d = loaded("rcbd.toml");
    assert_eq!(d.pooled.len(), 1);
    assert_eq!(d.pooled[0].name, "treatment:block");
    let t = derive(&d, Model::Restricted);
    assert_eq!(t.df(t.residual()), Some(15));
    assert_eq!(t.df_symbolic(t.residual()), "(a-1)(b-1)");
    assert_eq!(ems(&t, "treatment"), "σ² + b n φ(treatment)");
    assert_eq!(ems(&t, "block"), "σ² + a n σ²(block)");
}

// Montgomery §14.5 split-plot: the whole-plot factor is tested against day:method.
#[test]
fn split_plot_whole_plot_error() {
    let t = derive(&loaded("split_plot.toml"), Model::Restricted);
    let method = row(&t, "method");
    assert_eq!(
        t.tests[method].denominator,
        vec![(row(&t, "day:method"), Ratio::ONE)]
    );
    assert_eq!(
        t.tests[row(&t, "temperature")].denominator,
        vec![(t.residual(), Ratio::ONE)]
    );
    assert_eq!(t.df(t.residual()), Some(18));
}

// The Residual's EMS is exactly σ² in every shipped design, and the df add up to N - 1.
#[test]
fn shipped_designs_are_consistent() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("designs");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("designs/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let d = emslab::io::read_design(&path).expect("shipped design loads");
        seen += 1;
        for model in [Model::Restricted, Model::Unrestricted] {
            let t = derive(&d, model);
            assert_eq!(t.ems_text(t.residual()), "σ²", "{}", path.display());
            if let Some(n) = d.n_observations() {
                let total: u64 = (0..t.terms.len()).map(|u| t.df(u).unwrap_or(0)).sum();
                assert_eq!(total, n - 1, "{}", path.display());
            }
            // Every random term has an estimator; every term but the Residual has a test.
            for u in 0..t.terms.len() - 1 {
                assert_ne!(
                    t.tests[u].kind,
                    TestKind::None,
                    "{} {}",
                    path.display(),
                    t.terms[u].name
                );
            }
        }
    }
    assert!(seen >= 9, "expected the nine required designs, saw {seen}");
}

/// The subscript-table rule for a live fixed subscript (Montgomery §13.3, and the
/// unrestricted model's table of §13.3.2): the restricted model writes 0 for it in every
/// row; the unrestricted model writes 1 in random rows (their effects are not constrained
/// to sum to zero) and 0 in fixed rows. Dead and live random subscripts take 1, absent ones
/// the level count, in either model.
#[test]
fn subscript_table_cells_follow_the_model() {
    use emslab::ems::{Cell, CellValue};
    for model in [Model::Restricted, Model::Unrestricted] {
        for row_random in [false, true] {
            assert_eq!(Cell::Dead.value(row_random, model), CellValue::One);
            assert_eq!(Cell::LiveRandom.value(row_random, model), CellValue::One);
            assert_eq!(Cell::Absent.value(row_random, model), CellValue::Levels);
            let want = if model == Model::Unrestricted && row_random {
                CellValue::One
            } else {
                CellValue::Zero
            };
            assert_eq!(
                Cell::LiveFixed.value(row_random, model),
                want,
                "{model:?}, random row {row_random}"
            );
        }
    }
    assert_eq!(Model::Restricted.as_str(), "restricted");
    assert_eq!(Model::Unrestricted.as_str(), "unrestricted");
}

/// Montgomery's subscript table for the two-factor mixed model (§13.3, A fixed with a
/// levels, B random with b, n replicates): columns i (A, fixed), j (B, random) and k (the
/// error, random); rows τ_i, β_j, (τβ)_ij and ε_(ij)k (written `k(ij)`), with the error's
/// i and j dead.
#[test]
fn two_factor_mixed_subscript_table() {
    use emslab::design::Kind;
    use emslab::ems::Cell::{Absent, Dead, LiveFixed, LiveRandom};
    let t = derive(&two_factor("fixed", "random"), Model::Restricted);
    let cols = &t.table.columns;
    let subs: Vec<&str> = cols.iter().map(|c| c.subscript.as_str()).collect();
    assert_eq!(subs, ["i", "j", "k"]);
    let factors: Vec<Option<&str>> = cols.iter().map(|c| c.factor.as_deref()).collect();
    assert_eq!(factors, [Some("A"), Some("B"), None]);
    let kinds: Vec<Kind> = cols.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [Kind::Fixed, Kind::Random, Kind::Random]);
    let levels: Vec<Option<u32>> = cols.iter().map(|c| c.levels).collect();
    assert_eq!(levels, [Some(3), Some(4), Some(2)]);
    let rows: Vec<(&str, &str, &[emslab::ems::Cell])> = t
        .table
        .rows
        .iter()
        .map(|r| (r.term.as_str(), r.subscripts.as_str(), r.cells.as_slice()))
        .collect();
    assert_eq!(
        rows,
        [
            ("A", "i", &[LiveFixed, Absent, Absent][..]),
            ("B", "j", &[Absent, LiveRandom, Absent][..]),
            ("A:B", "ij", &[LiveFixed, LiveRandom, Absent][..]),
            ("Residual", "k(ij)", &[Dead, Dead, LiveRandom][..]),
        ]
    );
    let random: Vec<bool> = (0..t.terms.len()).map(|u| t.is_random(u)).collect();
    assert_eq!(random, [false, true, true, true]);
}

/// The notations of one row of Montgomery's three-factor random model (§13.6: E(MS_A) =
/// σ² + nσ²_ABC + cnσ²_AB + bnσ²_AC + bcnσ²_A, tested by MS_AB + MS_AC − MS_ABC) in text,
/// LaTeX and HTML, and the Residual written MS_E; a symbol of more than one character is
/// set apart by a middle dot in HTML products.
#[test]
fn notations_of_the_three_factor_random_model() {
    let t = derive(&loaded("three_factor_random.toml"), Model::Restricted);
    let (a, abc) = (row(&t, "A"), row(&t, "A:B:C"));
    assert_eq!(t.component_text(a), "σ²(A)");
    assert_eq!(t.term_latex(row(&t, "A:B")), "AB");
    assert_eq!(t.component_latex(a), "\\sigma^2_{A}");
    assert_eq!(t.component_html(a), "σ<sup>2</sup><sub>A</sub>");
    assert_eq!(
        t.ems_latex(a),
        "\\sigma^2 + n\\sigma^2_{ABC} + cn\\sigma^2_{AB} + bn\\sigma^2_{AC} + bcn\\sigma^2_{A}"
    );
    assert_eq!(
        t.ems_html(a),
        "σ<sup>2</sup> + <i>n</i>σ<sup>2</sup><sub>A:B:C</sub> + <i>cn</i>σ<sup>2</sup><sub>A:B</sub> \
         + <i>bn</i>σ<sup>2</sup><sub>A:C</sub> + <i>bcn</i>σ<sup>2</sup><sub>A</sub>"
    );
    let den = &t.tests[a].denominator;
    assert_eq!(t.combination_text(den), "MS(A:B) + MS(A:C) - MS(A:B:C)");
    assert_eq!(
        t.combination_latex(den),
        "\\mathrm{MS}_{AB} + \\mathrm{MS}_{AC} - \\mathrm{MS}_{ABC}"
    );
    assert_eq!(
        t.combination_latex(&t.tests[abc].denominator),
        "\\mathrm{MS}_{E}"
    );
    // The estimators (Montgomery §13.6): σ̂²_A = (MS_A − MS_AB − MS_AC + MS_ABC) / bcn,
    // σ̂²_ABC = (MS_ABC − MS_E) / n, σ̂² = MS_E.
    let est = |u: usize| t.estimator(u).expect("an estimator");
    assert_eq!(
        t.estimator_text(est(a)),
        "(MS(A) - MS(A:B) - MS(A:C) + MS(A:B:C)) / (b c n)"
    );
    assert_eq!(
        t.estimator_latex(est(a)),
        "(\\mathrm{MS}_{A} - \\mathrm{MS}_{AB} - \\mathrm{MS}_{AC} + \\mathrm{MS}_{ABC})/(bcn)"
    );
    assert_eq!(t.estimator_text(est(abc)), "(MS(A:B:C) - MS(Residual)) / n");
    assert_eq!(
        t.estimator_latex(est(abc)),
        "(\\mathrm{MS}_{ABC} - \\mathrm{MS}_{E})/n"
    );
    let e = t.residual();
    assert_eq!(t.estimator_text(est(e)), "MS(Residual)");
    assert_eq!(t.estimator_latex(est(e)), "\\mathrm{MS}_{E}");
    // One mean square with weight 1 over a divisor is not parenthesised. No derived
    // estimator has this shape (each subtracts a mean square holding σ²), so the formatter's
    // rule is checked on an estimator built by hand: MS(A:B:C) / n.
    let single = emslab::ems::Estimator {
        combination: vec![(abc, Ratio::ONE)],
        ..est(abc).clone()
    };
    assert_eq!(t.estimator_text(&single), "MS(A:B:C) / n");
    assert_eq!(t.estimator_latex(&single), "\\mathrm{MS}_{ABC}/n");

    let d = design(
        r#"
        replicates = 2
        [[factors]]
        name = "A"
        kind = "random"
        levels = 3
        [[factors]]
        name = "B"
        kind = "random"
        levels = 4
        symbol = "op"
        "#,
    );
    let t = derive(&d, Model::Restricted);
    assert_eq!(
        t.ems_html(row(&t, "A")),
        "σ<sup>2</sup> + <i>n</i>σ<sup>2</sup><sub>A:B</sub> + <i>op·n</i>σ<sup>2</sup><sub>A</sub>"
    );
}

/// Montgomery's derivation of E(MS_A) in the two-factor mixed model (§13.3, restricted):
/// cover column i; the rows containing i are read from the Residual up: ε_k(ij) gives 1 (j
/// dead, k live random), (τβ)_ij gives n (j live random, k absent), τ_i gives bn (j and k
/// absent); β_j does not contain i. Hence σ² + nσ²_τβ + bnφ_A.
#[test]
fn derivation_of_the_fixed_main_effect_in_the_mixed_model() {
    use emslab::design::Subscripts;
    use emslab::ems::Cell::{Absent, Dead, LiveRandom};
    use emslab::ems::CellValue::{Levels, One};
    use emslab::ems::Monomial;
    let t = derive(&two_factor("fixed", "random"), Model::Restricted);
    let (a, b, ab, e) = (row(&t, "A"), row(&t, "B"), row(&t, "A:B"), t.residual());
    let d = t.derivation(a);
    assert_eq!(d.term, a);
    assert_eq!(d.covered, [0]);
    let rows: Vec<_> = d
        .rows
        .iter()
        .map(|r| (r.row, r.contains, r.cells.clone(), r.product))
        .collect();
    let (j, k) = (1usize, 2usize);
    assert_eq!(
        rows,
        [
            (
                e,
                true,
                vec![(j, Dead, One), (k, LiveRandom, One)],
                Some(Monomial(Subscripts(0)))
            ),
            (
                ab,
                true,
                vec![(j, LiveRandom, One), (k, Absent, Levels)],
                Some(Monomial(Subscripts(1 << k)))
            ),
            (
                a,
                true,
                vec![(j, Absent, Levels), (k, Absent, Levels)],
                Some(Monomial(Subscripts(1 << j | 1 << k)))
            ),
            (b, false, vec![], None),
        ]
    );
}

/// The HTML report escapes the design's title (`&`, `<`, `>`, `"`), which is the user's
/// text.
#[test]
fn the_html_report_escapes_the_title() {
    let mut spec = two_factor("fixed", "random").spec().clone();
    spec.title = "Tom & \"Jerry\" <b>".into();
    let d = Design::try_from(spec).expect("valid");
    let t = derive(&d, Model::Restricted);
    let doc = emslab::report::ems_document(&t, emslab::report::EmsOptions { steps: false });
    let json = emslab::report::ems_json(&t);
    let html =
        emslab::report::render(&doc, &json, emslab::report::Format::Html, None).expect("renders");
    assert!(
        html.contains("Tom &amp; &quot;Jerry&quot; &lt;b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>"), "{html}");
}

/// The exact weights' arithmetic (every EMS coefficient and test weight goes through it):
/// lowest terms with a positive denominator, exact sums, differences, products and
/// quotients, order by value, `3/2` and `-1` as text, integers serialised as integers, and
/// `None` for a zero denominator and for results outside 64 bits.
#[test]
fn ratios_are_exact_in_lowest_terms() {
    let r = |n: i128, d: i128| Ratio::new(n, d).expect("fits");
    let (a, b) = (r(3, 2), r(-1, 3));
    let parts = |x: Ratio| (x.numer(), x.denom());
    assert_eq!(parts(r(6, -4)), (-3, 2));
    assert_eq!(parts(r(-10, -15)), (2, 3));
    assert_eq!(parts(r(0, -7)), (0, 1));
    assert_eq!(parts(a.checked_add(b).expect("fits")), (7, 6));
    assert_eq!(parts(a.checked_sub(b).expect("fits")), (11, 6));
    assert_eq!(parts(b.checked_sub(a).expect("fits")), (-11, 6));
    assert_eq!(parts(a.checked_mul(b).expect("fits")), (-1, 2));
    assert_eq!(parts(a.checked_div(b).expect("fits")), (-9, 2));
    assert_eq!(parts(b.checked_div(a).expect("fits")), (-2, 9));
    assert_eq!(parts(b.checked_neg().expect("fits")), (1, 3));
    assert_eq!(parts(b.abs()), (1, 3));
    assert_eq!(parts(a.abs()), (3, 2));
    assert_eq!(a.to_f64(), 1.5);
    assert!(b.is_negative() && !a.is_negative() && !Ratio::ZERO.is_negative());
    assert!(Ratio::ZERO.is_zero() && !b.is_zero());
    assert!(Ratio::from(4).is_integer() && !a.is_integer());
    assert_eq!(Ratio::from(-5), Ratio::integer(-5));
    // Order by value, not by numerator: -1/3 < 1/4 < 1/3 < 3/2.
    let mut v = vec![a, r(1, 3), b, r(1, 4)];
    v.sort();
    assert_eq!(v, [b, r(1, 4), r(1, 3), a]);
    assert_eq!(r(2, 4).cmp(&r(1, 2)), std::cmp::Ordering::Equal);
    assert!(r(1, 3) > r(1, 4) && r(1, 4) < r(1, 3));
    assert_eq!(a.to_string(), "3/2");
    assert_eq!(b.to_string(), "-1/3");
    assert_eq!(Ratio::integer(-1).to_string(), "-1");
    assert_eq!(
        serde_json::to_string(&Ratio::integer(4)).expect("fits"),
        "4"
    );
    assert_eq!(serde_json::to_string(&a).expect("fits"), "1.5");
    assert_eq!(Ratio::new(1, 0), None);
    assert_eq!(Ratio::new(i128::from(i64::MAX) + 1, 1), None);
    assert_eq!(Ratio::new(1, i128::from(i64::MAX) + 1), None);
    let big = Ratio::integer(i64::MAX);
    assert_eq!(big.checked_add(Ratio::ONE), None);
    assert_eq!(Ratio::integer(i64::MIN).checked_neg(), None);
    assert_eq!(Ratio::integer(i64::MIN).checked_sub(Ratio::ONE), None);
    assert_eq!(big.checked_mul(Ratio::integer(2)), None);
    assert_eq!(a.checked_div(Ratio::ZERO), None);
    // A negative denominator at the i64 limit cannot be made positive.
    assert_eq!(Ratio::new(1, i128::from(i64::MIN)), None);
}
