//! Dropped terms contained in a kept term (issue 16 item 14): absorbed by the smallest
//! kept term containing it, in the EMS, the ANOVA and the tests, as R's model formulas do.
//!
//! References: tests/data/absorb/reference.R (R 4.2.2) wrote the data and R's tables:
//! `aov(y ~ A*B*C + Error(Block/A/B))` for the split-split plot (designs/split_split_plot
//! .toml, whose term list is that model), and `anova(lm(y ~ A + B + B:C + A:C))` for a
//! dropped C that two kept terms contain.

mod common;

use std::process::Command;

use emslab::Design;
use emslab::ems::{EmsNote, Model, NoTest, Ratio, TestKind, derive};
use serde_json::Value;

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/absorb")
        .join(name)
}

fn json(args: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args(args)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON")
}

/// (source, df, ss, f, p) rows of an R table written by reference.R.
fn r_table(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(data(name))
        .expect("reference")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn split_split_plot() -> Design {
    emslab::io::read_design(&common::design_path("split_split_plot.toml")).expect("shipped")
}

fn row(d: &Design, name: &str) -> usize {
    d.term_index(name).expect("term")
}

#[test]
fn the_split_split_plot_absorbs_block_b_into_the_sub_plot_error() {
    let d = split_split_plot();
    assert_eq!(d.absorbed.len(), 1);
    assert_eq!(d.absorbed[0].term.name, "Block:B");
    assert_eq!(d.terms[d.absorbed[0].into].name, "Block:A:B");
    assert!(d.absorbed[0].also.is_empty());
    let pooled: Vec<&str> = d.pooled.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(pooled, ["Block:C", "Block:A:C", "Block:B:C", "Block:A:B:C"]);
    // R: the Block:A:B stratum's Residuals have a(r-1)(b-1) = 9 df, Within's 18.
    let sub = row(&d, "Block:A:B");
    assert_eq!(d.row_df(sub), Some(9));
    assert_eq!(d.row_df_symbolic(sub), "a(r-1)(b-1)");
    assert_eq!(d.residual_df(), Some(18));
    assert_eq!(d.residual_df_symbolic(), "ab(r-1)(c-1)");
}

// The shipped split plot drops day:temperature and day:method:temperature: no kept term
// contains either, so both pool into the Residual as before.
#[test]
fn the_shipped_split_plot_pools_into_the_residual() {
    let d = emslab::io::read_design(&common::design_path("split_plot.toml")).expect("shipped");
    assert!(d.absorbed.is_empty());
    assert_eq!(d.pooled.len(), 2);
    assert_eq!(d.residual_df(), Some(18));
}

// Unrestricted model: every F test equals R's stratum F (the sub-plot error is
// MS(Block:B + Block:A:B), exact for B and A:B); SS and df of every row equal R's.
#[test]
fn unrestricted_analysis_equals_r_strata() {
    let design = common::design_path("split_split_plot.toml");
    let csv = common::design_path("split_split_plot.csv");
    let v = json(&[
        "analyze",
        design.to_str().expect("path"),
        csv.to_str().expect("path"),
        "--model",
        "unrestricted",
        "--no-reml",
        "--format",
        "json",
    ]);
    let terms = v["terms"].as_array().expect("terms");
    let find = |name: &str| {
        terms
            .iter()
            .find(|t| t["term"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let mut checked = 0;
    for r in r_table("split_split_plot_aov.csv") {
        let (stratum, source, df, ss, f, p) = (&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]);
        let name = if source == "Residuals" {
            match stratum.as_str() {
                "Error: Block" => "Block",
                "Error: Block:A" => "Block:A",
                "Error: Block:A:B" => "Block:A:B",
                _ => "Residual",
            }
        } else {
            source.as_str()
        };
        let t = find(name);
        assert_eq!(t["df"].to_string(), *df, "{name}");
        assert!(
            common::matches_printed(t["ss"].as_f64().expect("ss"), ss),
            "{name}: SS {} vs R {ss}",
            t["ss"]
        );
        if !f.is_empty() {
            let test = &t["test"];
            assert_eq!(test["kind"], "exact", "{name}");
            assert!(
                common::matches_printed(test["f"].as_f64().expect("f"), f),
                "{name} F"
            );
            assert!(
                common::matches_printed(test["p"].as_f64().expect("p"), p),
                "{name} p"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 11);
    assert_eq!(v["absorbed"][0]["term"], "Block:B");
    assert_eq!(v["absorbed"][0]["into"], "Block:A:B");
    assert_eq!(v["design"]["absorbed"][0]["into"], "Block:A:B");
}

// The EMS of the pooled mean square is the df-weighted share of its strata: in the
// unrestricted model σ²(Block:A:B) reaches both (coefficient c n, as for the classical
// split-plot error); in the restricted model it sums to zero over A, so it adds nothing to
// the Block:B stratum: c n (r-1)(a-1)(b-1) / (a(r-1)(b-1)) = (a-1)/a c n = 4/3. B is then
// tested against the Residual and A:B needs a quasi-F (a/(a-1) MS(Block:A:B) - 1/(a-1)
// MS(Residual) has expectation σ² + c n σ²(Block:A:B)).
#[test]
fn restricted_pooled_ems_is_a_share_and_changes_the_tests() {
    let d = split_split_plot();
    let sub = row(&d, "Block:A:B");
    let u = derive(&d, Model::Unrestricted);
    assert_eq!(u.ems_text(sub), "σ² + c n σ²(Block:A:B)");
    assert_eq!(u.tests[row(&d, "B")].denominator, vec![(sub, Ratio::ONE)]);
    assert_eq!(u.tests[row(&d, "A:B")].denominator, vec![(sub, Ratio::ONE)]);
    assert!(u.notes.is_empty());

    let r = derive(&d, Model::Restricted);
    assert_eq!(r.ems_text(sub), "σ² + (a-1)/a c n σ²(Block:A:B)");
    assert_eq!(
        r.coefficient(sub, sub).and_then(|c| c.value(&d)),
        Ratio::new(4, 3)
    );
    let resid = r.residual();
    assert_eq!(r.tests[row(&d, "B")].denominator, vec![(resid, Ratio::ONE)]);
    let ab = &r.tests[row(&d, "A:B")];
    assert_eq!(ab.kind, TestKind::Quasi);
    assert_eq!(
        ab.denominator,
        vec![
            (sub, Ratio::new(3, 2).expect("fits")),
            (resid, Ratio::new(-1, 2).expect("fits"))
        ]
    );
    assert_eq!(
        r.notes,
        vec![EmsNote::PartialShare {
            row: sub,
            components: vec![sub]
        }]
    );
    // σ²(Block:A:B) = (MS(Block:A:B) - MS(Residual)) / (4/3).
    let est = r.estimator(sub).expect("estimator");
    assert_eq!(
        r.estimator_text(est),
        "(3/2 MS(Block:A:B) - 3/2 MS(Residual)) / (c n)"
    );
}

// Without level counts the shares are fractions of unknown numbers: the EMS is still
// written symbolically, the tests wait for the levels (a note says so).
#[test]
fn unsized_absorbing_design_gives_symbolic_ems_and_no_tests() {
    let text = std::fs::read_to_string(common::design_path("split_split_plot.toml"))
        .expect("shipped")
        .replace("levels = 4\n", "")
        .replace("levels = 3\n", "");
    let d = Design::from_toml_str(&text).expect("valid");
    let t = derive(&d, Model::Restricted);
    let sub = row(&d, "Block:A:B");
    assert_eq!(t.ems_text(sub), "σ² + (a-1)/a c n σ²(Block:A:B)");
    assert_eq!(t.df_symbolic(sub), "a(r-1)(b-1)");
    assert!(
        t.tests[..t.residual()]
            .iter()
            .all(|x| x.kind == TestKind::None)
    );
    assert!(t.notes.contains(&EmsNote::NeedsLevels));
    // The Residual is still the error term, and σ² = MS(Residual) its one estimator.
    let resid = t.residual();
    assert_eq!(t.tests[resid].reason, Some(NoTest::ErrorTerm));
    assert_eq!(t.estimators.len(), 1);
    assert_eq!(t.estimators[0].component, resid);
    assert_eq!(t.estimator_text(&t.estimators[0]), "MS(Residual)");
    // The share in HTML: a fraction, then the product.
    assert_eq!(
        t.ems_html(sub),
        "σ<sup>2</sup> + <i>(a-1)/a·cn</i>σ<sup>2</sup><sub>Block:A:B</sub>"
    );

    // The unrestricted model has no shares (every component reaches all of Block:A:B's
    // strata): its tests need no level counts. B and A:B are tested by Block:A:B.
    let u = derive(&d, Model::Unrestricted);
    assert!(u.notes.is_empty());
    assert_eq!(u.tests[row(&d, "B")].denominator, vec![(sub, Ratio::ONE)]);
    assert_eq!(u.tests[row(&d, "A:B")].denominator, vec![(sub, Ratio::ONE)]);
}

// A fixed term that absorbs a dropped fixed term: φ(A:B)'s coefficient in its own row is a
// share, which the tests do not use (a fixed effect's own coefficient only scales it), so
// they need no level counts. R: anova(lm(y ~ A + A:B)) tests A and A:B (with a(b-1) df)
// against the Residual.
#[test]
fn a_fixed_row_with_a_share_of_its_own_is_tested_without_levels() {
    let d = Design::from_toml_str(
        "replicates = 2\n\
         terms = [\"A\", \"A:B\"]\n\
         [[factors]]\nname = \"A\"\nkind = \"fixed\"\n\
         [[factors]]\nname = \"B\"\nkind = \"fixed\"\n",
    )
    .expect("valid");
    let ab = row(&d, "A:B");
    assert_eq!(d.absorbed.len(), 1);
    assert_eq!(d.terms[d.absorbed[0].into].name, "A:B");
    for model in [Model::Restricted, Model::Unrestricted] {
        let t = derive(&d, model);
        let resid = t.residual();
        assert_eq!(t.df_symbolic(ab), "a(b-1)");
        assert!(t.coefficient(ab, ab).is_some_and(|c| c.share.is_some()));
        for term in [row(&d, "A"), ab] {
            assert_eq!(t.tests[term].kind, TestKind::Exact, "{}", model.as_str());
            assert_eq!(t.tests[term].denominator, vec![(resid, Ratio::ONE)]);
        }
        assert!(!t.notes.contains(&EmsNote::NeedsLevels));
    }
}

// C is dropped and both B:C and A:C contain it, with as many factors: B:C comes first in
// the term list and absorbs it, as R's sequential ANOVA of y ~ A + B + B:C + A:C does.
#[test]
fn term_list_order_decides_between_equal_absorbing_terms() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tie.toml");
    std::fs::write(
        &path,
        "replicates = 2\nterms = [\"A\", \"B\", \"B:C\", \"A:C\"]\n\
         [[factors]]\nname = \"A\"\nkind = \"random\"\nlevels = 3\n\
         [[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 2\n\
         [[factors]]\nname = \"C\"\nkind = \"random\"\nlevels = 3\n",
    )
    .expect("write");
    let d = emslab::io::read_design(&path).expect("valid");
    let c = d.absorbed.iter().find(|a| a.term.name == "C").expect("C");
    assert_eq!(d.terms[c.into].name, "B:C");
    assert_eq!(
        c.also
            .iter()
            .map(|&k| d.terms[k].name.as_str())
            .collect::<Vec<_>>(),
        ["A:C"]
    );
    let v = json(&[
        "analyze",
        path.to_str().expect("path"),
        data("tie.csv").to_str().expect("path"),
        "--no-reml",
        "--format",
        "json",
    ]);
    let terms = v["terms"].as_array().expect("terms");
    for r in r_table("tie_anova.csv") {
        let name = if r[0] == "Residuals" {
            "Residual"
        } else {
            &r[0]
        };
        let t = terms.iter().find(|t| t["term"] == name).expect("row");
        assert_eq!(t["df"].to_string(), r[1], "{name}");
        assert!(
            common::matches_printed(t["ss"].as_f64().expect("ss"), &r[2]),
            "{name}: {} vs R {}",
            t["ss"],
            r[2]
        );
    }
    // The design table says where C went and why.
    let o = Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args(["ems", path.to_str().expect("path"), "--table", "design"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("C is absorbed by B:C"), "{text}");
    assert!(text.contains("A:C also contains it"), "{text}");
    assert!(text.contains("term list"), "{text}");
}

// `emslab power` on the split-split plot: B's test is against the pooled sub-plot error
// (df 9) in the unrestricted model and against the Residual (df 18) in the restricted one;
// solving over the blocks derives the table again at each size (its shares depend on them).
#[test]
fn power_follows_the_absorbed_denominators() {
    let design = common::design_path("split_split_plot.toml");
    let path = design.to_str().expect("path");
    for (model, df_den) in [("unrestricted", 9.0), ("restricted", 18.0)] {
        let v = json(&[
            "power",
            path,
            "--model",
            model,
            "--sigma2",
            "Block=1",
            "Block:A=1",
            "Block:A:B=1",
            "Residual=1",
            "--effect",
            "B=-1,1",
            "--effect",
            "A:B=-1,1,0,0,1,-1",
            "--target",
            "0.8",
            "--solve",
            "Block",
            "--term",
            "A:B",
            "--format",
            "json",
        ]);
        let rows = v["power"].as_array().expect("rows");
        let b = rows.iter().find(|r| r["term"] == "B").expect("B");
        assert_eq!(b["test"], "exact", "{model}");
        assert_eq!(b["df_den"].as_f64(), Some(df_den), "{model}");
        assert!(
            v["solve"]["power"].as_f64().is_some_and(|p| p > 0.05),
            "{model}: {v}"
        );
    }
}

// Shares in every notation. A and B fixed, C random, with only A and A:B:C kept: A:B:C
// absorbs B, C, A:B, A:C and B:C (its row has a(bc-1) df).
#[test]
fn shares_in_every_notation() {
    let d = Design::from_toml_str(
        "replicates = 2\n\
         terms = [\"A\", \"A:B:C\"]\n\
         [[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 3\n\
         [[factors]]\nname = \"B\"\nkind = \"fixed\"\nlevels = 4\n\
         [[factors]]\nname = \"C\"\nkind = \"random\"\nlevels = 2\n",
    )
    .expect("valid");
    let abc = row(&d, "A:B:C");
    // Restricted: σ²(A:B:C) sums to zero over A and over B, so it reaches the strata of A:B
    // and A:B:C only, (a-1)(b-1)c of the row's a(bc-1) df; at a = 3, b = 4, c = 2, n = 2
    // the coefficient is 2·3·2/(3·7)·2 = 8/7. A is tested by the Residual.
    let t = derive(&d, Model::Restricted);
    let c = t.coefficient(abc, abc).expect("own coefficient");
    assert_eq!(c.as_product(), None);
    assert_eq!(c.value(&d), Ratio::new(8, 7));
    assert_eq!(c.symbolic(&d), "(a-1)(b-1)/(a(bc - 1)) c n");
    assert_eq!(c.compact(&d), "(a-1)(b-1)/(a(bc - 1))·cn");
    assert_eq!(c.latex(&d), "\\frac{cn(a-1)(b-1)}{a(bc - 1)}");
    assert_eq!(c.html(&d), "<i>(a-1)(b-1)/(a(bc - 1))·cn</i>");
    assert_eq!(t.ems_text(abc), "σ² + (a-1)(b-1)/(a(bc - 1)) c n σ²(A:B:C)");
    assert_eq!(
        t.ems_latex(abc),
        "\\sigma^2 + \\frac{cn(a-1)(b-1)}{a(bc - 1)}\\sigma^2_{ABC}"
    );
    assert_eq!(
        t.ems_html(abc),
        "σ<sup>2</sup> + <i>(a-1)(b-1)/(a(bc - 1))·cn</i>σ<sup>2</sup><sub>A:B:C</sub>"
    );
    let a = &t.tests[row(&d, "A")];
    assert_eq!(a.denominator, vec![(t.residual(), Ratio::ONE)]);
    // Unrestricted: σ²(A:B:C) reaches every absorbed stratum: no share, the product n in
    // every notation, and A is tested by A:B:C.
    let u = derive(&d, Model::Unrestricted);
    let c = u.coefficient(abc, abc).expect("own coefficient");
    assert!(c.as_product().is_some());
    assert_eq!(c.value(&d), Ratio::new(2, 1));
    let forms = [c.symbolic(&d), c.compact(&d), c.latex(&d), c.html(&d)];
    assert_eq!(forms, ["n", "n", "n", "<i>n</i>"]);
    assert_eq!(u.ems_text(abc), "σ² + n σ²(A:B:C)");
    assert_eq!(u.tests[row(&d, "A")].denominator, vec![(abc, Ratio::ONE)]);
}
