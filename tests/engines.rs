//! Engine selection without Symbolica: `EmsTable::from_parts` rebuilds the default
//! engine's tables from their parts, `--engine emslab` gives the library's report (its JSON
//! names the engine), and a build without the `symbolica` feature refuses
//! `--engine symbolica` (exit 2).

mod common;

use std::path::Path;

use emslab::cas::{self, Engine};
use emslab::ems::{Model, Ratio, derive};
use emslab::report::EmsOptions;
use emslab::{Design, EmsTable};

use common::emslab;

fn shipped_designs() -> Vec<Design> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("designs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("designs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| emslab::io::read_design(p).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn from_parts_rebuilds_the_default_tables_from_shuffled_parts() {
    // The Symbolica engine (the one caller of from_parts) does not take designs whose
    // mean squares absorb dropped terms: it falls back.
    for d in shipped_designs()
        .into_iter()
        .filter(|d| d.absorbed.is_empty())
    {
        for model in [Model::Restricted, Model::Unrestricted] {
            let t = derive(&d, model);
            // Parts in another order, with zero weights: the constructor puts them in the
            // default engine's order.
            let ems = t
                .ems
                .iter()
                .map(|e| e.iter().rev().cloned().collect())
                .collect();
            let denominators = (0..t.terms.len())
                .map(|u| {
                    let mut w: Vec<(usize, Ratio)> = t.tests[u].denominator.clone();
                    w.reverse();
                    w.push((u, Ratio::ZERO));
                    // A test blocked by a fixed effect: that term's weight, as a solver
                    // would give it.
                    if let Some(emslab::ems::NoTest::FixedEffect { term }) = t.tests[u].reason {
                        w.push((term, Ratio::ONE));
                    }
                    w
                })
                .collect();
            let mut estimators = t.estimators.clone();
            estimators.reverse();
            let rebuilt = EmsTable::from_parts(&d, model, ems, denominators, estimators);
            assert_eq!(rebuilt, t, "{} ({})", d.title, model.as_str());
        }
    }
}

#[test]
fn the_default_engine_gives_the_library_report_and_names_itself_in_json() {
    let path = common::design_path("two_factor_mixed.toml");
    let path = path.to_str().expect("path");
    for args in [vec!["ems", path], vec!["ems", path, "--engine", "emslab"]] {
        let mut json_args = args.clone();
        json_args.extend(["--format", "json"]);
        let o = emslab(&json_args);
        assert!(o.status.success());
        assert!(o.stderr.is_empty());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(v["engine"], "emslab");
        assert!(v.get("symbolica").is_none() && v.get("engine_fallback").is_none());
        // The document is the library's, unchanged (the app's exports equal the CLI's).
        let o = emslab(&args);
        let d = emslab::io::read_design(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
        let doc =
            emslab::report::ems_document(&derive(&d, Model::Restricted), EmsOptions::default());
        let text = emslab::report::render(&doc, &(), emslab::report::Format::Text, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(String::from_utf8_lossy(&o.stdout), text);
    }
    // The library: the default engine never starts a process.
    let d = emslab::io::read_design(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    let out = cas::derive_with(
        Engine::Emslab,
        Path::new("/nonexistent"),
        &d,
        Model::Restricted,
    );
    assert_eq!(out.engine, Engine::Emslab);
    assert!(out.fallback.is_none() && out.solutions.is_none());
    assert_eq!(out.table, derive(&d, Model::Restricted));
    let (doc, json) = emslab::report::ems_report(&out, EmsOptions::default());
    assert_eq!(
        doc,
        emslab::report::ems_document(&out.table, EmsOptions::default())
    );
    let json = serde_json::to_value(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["engine"], "emslab");
}

#[cfg(not(feature = "symbolica"))]
#[test]
fn without_the_feature_engine_symbolica_is_a_usage_error() {
    let path = common::design_path("two_factor_mixed.toml");
    let o = emslab(&["ems", path.to_str().expect("path"), "--engine", "symbolica"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("lacks the `symbolica` feature"), "{err}");
    // The worker subcommand exists but has nothing to run.
    let o = emslab(&[cas::WORKER_COMMAND]);
    assert_eq!(o.status.code(), Some(2));
    // The library says so without starting anything.
    assert!(!Engine::Symbolica.is_available());
    let d = emslab::io::read_design(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = cas::derive_with(
        Engine::Symbolica,
        Path::new(env!("CARGO_BIN_EXE_emslab")),
        &d,
        Model::Restricted,
    );
    assert_eq!(out.engine, Engine::Emslab);
    assert!(
        out.fallback
            .as_deref()
            .is_some_and(|f| f.contains("`symbolica` feature"))
    );
}

/// The app runs engines on worker threads.
#[test]
fn engines_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<cas::SymbolicaEngine>();
    send::<cas::EngineOutput>();
}
