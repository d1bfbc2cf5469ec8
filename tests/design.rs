//! Design files: round trip, default symbols, term generation and naming (interface.md,
//! "Term names").

mod common;

use emslab::design::{Design, DesignSpec};

#[test]
fn toml_round_trip_keeps_the_design() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("designs");
    for entry in std::fs::read_dir(dir).expect("designs/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let spec = DesignSpec::from_toml_str(&text).expect("parses");
        let again = DesignSpec::from_toml_str(&spec.to_toml_string()).expect("re-parses");
        assert_eq!(spec, again, "{}", path.display());
        let d1 = Design::try_from(spec).expect("valid");
        let d2 = Design::try_from(again).expect("valid");
        assert_eq!(d1, d2);
    }
}

fn factors(list: &[(&str, &str, &[&str])]) -> String {
    let mut s = String::from("replicates = 2\n");
    for (name, kind, parents) in list {
        s.push_str(&format!(
            "[[factors]]\nname = \"{name}\"\nkind = \"{kind}\"\nlevels = 2\n"
        ));
        if !parents.is_empty() {
            let p: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
            s.push_str(&format!("nested_in = [{}]\n", p.join(", ")));
        }
    }
    s
}

#[test]
fn default_symbols_are_unique_and_avoid_n() {
    let d = Design::from_toml_str(&factors(&[
        ("machine", "fixed", &[]),
        ("method", "fixed", &[]),
        ("nozzle", "random", &[]),
    ]))
    .expect("valid");
    let syms: Vec<&str> = d.factors.iter().map(|f| f.symbol.as_str()).collect();
    assert_eq!(syms, ["m", "m2", "n2"]);
    assert_eq!(d.replicate_symbol, "n");
}

// Issue 15 item 13: `o` reads as a zero in `o n σ²(operator)`; a name starting with `o`
// takes its next letter that is free.
#[test]
fn default_symbols_avoid_o() {
    let d = Design::from_toml_str(&factors(&[
        ("part", "random", &[]),
        ("operator", "random", &[]),
        ("oven", "fixed", &[]),
    ]))
    .expect("valid");
    let syms: Vec<&str> = d.factors.iter().map(|f| f.symbol.as_str()).collect();
    assert_eq!(syms, ["p", "e", "v"]);
}

// interface.md: `wafer(source,lot)` for wafer in lot in source; `C(A,B)` for C nested in
// the cells of A x B; `A:C(B)` for C nested in B and crossed with A.
#[test]
fn canonical_term_names() {
    let chain = Design::from_toml_str(&factors(&[
        ("source", "fixed", &[]),
        ("lot", "random", &["source"]),
        ("wafer", "random", &["lot"]),
    ]))
    .expect("valid");
    let names: Vec<&str> = chain.terms.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["source", "lot(source)", "wafer(source,lot)"]);

    let cells = Design::from_toml_str(&factors(&[
        ("A", "fixed", &[]),
        ("B", "fixed", &[]),
        ("C", "random", &["A", "B"]),
    ]))
    .expect("valid");
    let names: Vec<&str> = cells.terms.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C(A,B)", "A:B"]);

    let nf = Design::from_toml_str(&factors(&[
        ("A", "fixed", &[]),
        ("B", "fixed", &[]),
        ("C", "random", &["B"]),
    ]))
    .expect("valid");
    let names: Vec<&str> = nf.terms.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C(B)", "A:B", "A:C(B)"]);
}

#[test]
fn explicit_term_list_pools_the_rest() {
    let mut text = factors(&[
        ("A", "fixed", &[]),
        ("B", "random", &[]),
        ("C", "random", &[]),
    ]);
    text = format!("terms = [\"A\", \"B\", \"C\", \"A:B\", \"A:C\"]\n{text}");
    let d = Design::from_toml_str(&text).expect("valid");
    let pooled: Vec<&str> = d.pooled.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(pooled, ["B:C", "A:B:C"]);
    // Residual df = abc(n-1) + (b-1)(c-1) + (a-1)(b-1)(c-1) = 8 + 1 + 1.
    assert_eq!(d.residual_df(), Some(10));
    assert_eq!(
        d.residual_df_symbolic(),
        "abc(n-1) + (b-1)(c-1) + (a-1)(b-1)(c-1)"
    );
}

#[test]
fn levels_may_come_from_data() {
    let d = Design::from_toml_str(
        "[[factors]]\nname = \"A\"\nkind = \"random\"\n[[factors]]\nname = \"B\"\nkind = \"fixed\"\n",
    )
    .expect("valid without sizes");
    assert!(!d.is_sized());
    let t = emslab::derive(&d, emslab::Model::Restricted);
    assert_eq!(t.ems_text(0), "σ² + b n σ²(A)");
    assert_eq!(t.ems_numeric_text(0), None);
    let sized = d.with_sizes(&[Some(3), Some(4)], Some(2)).expect("valid");
    let t = emslab::derive(&sized, emslab::Model::Restricted);
    assert_eq!(t.ems_numeric_text(0).as_deref(), Some("σ² + 8 σ²(A)"));
}
