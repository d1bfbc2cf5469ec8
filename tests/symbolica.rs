//! The Symbolica engine (cargo feature `symbolica`) against the default engine: identical
//! EMS, df, test denominators and estimator formulas on every shipped design and on random
//! designs; its worker process, the CLI's `--engine symbolica`, and the fallback when a
//! second instance is running.
//!
//! Unlicensed Symbolica allows one Symbolica thread per user: run these tests on one test
//! thread, `cargo test --features symbolica --test symbolica -- --test-threads=1`. The
//! engine hides Symbolica's banner itself (`SYMBOLICA_HIDE_BANNER=1` in the worker).
#![cfg(feature = "symbolica")]

mod common;

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::random_design::{build, recipes};
use emslab::cas::{self, CasError, Engine, SymbolicaEngine};
use emslab::design::DesignSpec;
use emslab::ems::{Model, TestKind, derive};
use emslab::{Design, EmsTable};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const EXE: &str = env!("CARGO_BIN_EXE_emslab");

fn engine() -> SymbolicaEngine {
    match SymbolicaEngine::spawn(Path::new(EXE)) {
        Ok(e) => e,
        Err(e) => panic!("the Symbolica worker does not start: {e}"),
    }
}

fn shipped_designs() -> Vec<(String, Design)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("designs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("designs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let d = emslab::io::read_design(&p).unwrap_or_else(|e| panic!("{e}"));
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                d,
            )
        })
        .collect()
}

/// Both engines agree: the whole table (EMS, df, tests, estimators) and the printed
/// estimator formulas.
fn agree(what: &str, ours: &EmsTable, theirs: &EmsTable) -> Result<(), String> {
    if ours != theirs {
        let mut diff = Vec::new();
        for t in 0..ours.terms.len() {
            if ours.ems.get(t) != theirs.ems.get(t) {
                diff.push(format!(
                    "E(MS({})): emslab {} / symbolica {}",
                    ours.terms[t].name,
                    ours.ems_text(t),
                    theirs
                        .ems
                        .get(t)
                        .map_or(String::new(), |_| theirs.ems_text(t))
                ));
            }
            if ours.tests.get(t) != theirs.tests.get(t) {
                diff.push(format!(
                    "test of {}: emslab {:?} / symbolica {:?}",
                    ours.terms[t].name,
                    ours.tests[t],
                    theirs.tests.get(t)
                ));
            }
        }
        if ours.estimators != theirs.estimators {
            diff.push(format!(
                "estimators: emslab {:?} / symbolica {:?}",
                ours.estimators, theirs.estimators
            ));
        }
        return Err(format!("{what}: the engines differ:\n{}", diff.join("\n")));
    }
    for t in 0..ours.terms.len() {
        if ours.df(t) != theirs.df(t) || ours.df_symbolic(t) != theirs.df_symbolic(t) {
            return Err(format!("{what}: df of {} differ", ours.terms[t].name));
        }
    }
    let formulas = |x: &EmsTable| -> Vec<(String, String)> {
        x.estimators
            .iter()
            .map(|e| (x.estimator_text(e), x.estimator_latex(e)))
            .collect()
    };
    if formulas(ours) != formulas(theirs) {
        return Err(format!(
            "{what}: estimator formulas differ: {:?} / {:?}",
            formulas(ours),
            formulas(theirs)
        ));
    }
    Ok(())
}

#[test]
fn every_shipped_design_agrees_under_both_models() {
    let mut engine = engine();
    let designs = shipped_designs();
    assert!(
        designs.len() >= 10,
        "designs/ has {} designs",
        designs.len()
    );
    for (name, d) in &designs {
        for model in [Model::Restricted, Model::Unrestricted] {
            let what = format!("{name}, {}", model.as_str());
            if !d.absorbed.is_empty() {
                // Symbolica does not derive the EMS of a mean square that absorbs dropped
                // terms: the engine falls back to emslab's and says which terms absorb.
                let out = cas::derive_with_engine(&mut engine, d, model);
                assert_eq!(out.engine, Engine::Emslab, "{what}");
                let why = out.fallback.unwrap_or_default();
                assert!(why.contains("absorbs"), "{what}: {why}");
                if let Err(e) = agree(&what, &derive(d, model), &out.table) {
                    panic!("{e}");
                }
                continue;
            }
            let out = engine
                .derive_with_solutions(d, model)
                .unwrap_or_else(|e| panic!("{what}: {e}\n{}", engine.stderr_tail()));
            let ours = derive(d, model);
            if let Err(e) = agree(&what, &ours, &out.table) {
                panic!("{e}");
            }
            // One solution per component, one denominator per tested term.
            assert_eq!(out.solutions.components.len(), ours.terms.len(), "{what}");
            let tested = ours
                .tests
                .iter()
                .filter(|t| t.kind != TestKind::None)
                .count();
            assert_eq!(out.solutions.denominators.len(), tested, "{what}");
        }
    }
}

#[test]
fn random_designs_agree_under_both_models() {
    let engine = RefCell::new(engine());
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &recipes(2..=4, 2..=5, 1..=3),
        |(recipes, replicates, pool_top)| {
            let d = build(&recipes, replicates, pool_top);
            for model in [Model::Restricted, Model::Unrestricted] {
                let what = format!("{recipes:?}, n = {replicates}, {}", model.as_str());
                let theirs = engine
                    .borrow_mut()
                    .derive(&d, model)
                    .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
                agree(&what, &derive(&d, model), &theirs).map_err(TestCaseError::fail)?;
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn solutions_are_rational_functions_printed_by_symbolica() {
    let d = emslab::io::read_design(&common::design_path("two_factor_mixed.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut engine = engine();
    let s = engine
        .solutions(&d, Model::Restricted)
        .unwrap_or_else(|e| panic!("{e}"));
    let table = derive(&d, Model::Restricted);
    let b = table.design.term_index("B").expect("B");
    let sol = s.components.iter().find(|x| x.term == b).expect("σ²(B)");
    // σ²(B) = (MS(B) - MS(Residual)) / (a n), as Symbolica prints it.
    assert_eq!(sol.text, "(MS(B)-MS(Residual))/(a*n)", "{sol:?}");
    assert_eq!(
        sol.latex, "\\frac{\\mathrm{MS}_{B}-\\mathrm{MS}_{E}}{a n}",
        "{sol:?}"
    );
    let a = table.design.term_index("A").expect("A");
    let den = s.denominators.iter().find(|x| x.term == a).expect("F′(A)");
    assert_eq!(den.text, "MS(A:B)");
    // The engine is reused: a second request on the same worker.
    let again = engine
        .derive(&d, Model::Unrestricted)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, derive(&d, Model::Unrestricted));
}

#[test]
fn worker_writes_only_prefixed_answer_lines() {
    let mut child = Command::new(EXE)
        .arg(cas::WORKER_COMMAND)
        .env("SYMBOLICA_HIDE_BANNER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts");
    let spec = std::fs::read_to_string(common::design_path("gauge_rr.toml")).expect("design");
    let spec = DesignSpec::from_toml_str(&spec).expect("spec");
    let request = serde_json::json!({ "id": 7, "spec": spec, "model": "unrestricted" });
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{request}").expect("request written");
    drop(stdin);
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let lines: Vec<String> = out.lines().map(|l| l.expect("utf-8")).collect();
    let status = child.wait().expect("worker ends");
    assert!(status.success(), "{status:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert!(line.starts_with("@@emslab-cas@@ {"), "{line}");
    }
    assert!(lines[0].contains("\"ready\""), "{}", lines[0]);
    assert!(lines[1].contains("\"derived\"") && lines[1].contains("\"id\":7"));
}

fn run_cli(args: &[&str]) -> Output {
    Command::new(EXE).args(args).output().expect("emslab runs")
}

#[test]
fn cli_symbolica_engine_reports_the_engine_and_its_solutions() {
    let path = common::design_path("three_factor_mixed.toml");
    let path = path.to_str().expect("path");
    let o = run_cli(&["ems", path, "--engine", "symbolica", "--format", "json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.is_empty(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["engine"], "symbolica");
    assert!(v.get("engine_fallback").is_none());
    assert_eq!(v["symbolica"]["version"], cas::SYMBOLICA_VERSION);
    assert_eq!(
        v["symbolica"]["components"].as_array().map(Vec::len),
        v["terms"].as_array().map(Vec::len)
    );
    // The same report as the default engine, but for the engine and Symbolica's table.
    let o2 = run_cli(&["ems", path, "--format", "json"]);
    let mut v2: serde_json::Value = serde_json::from_slice(&o2.stdout).expect("JSON");
    assert_eq!(v2["engine"], "emslab");
    v2["engine"] = "symbolica".into();
    v2["symbolica"] = v["symbolica"].clone();
    assert_eq!(v, v2);

    let o = run_cli(&["ems", path, "--engine", "symbolica"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(text.contains("Engine: Symbolica 3.0.0"), "{text}");
    assert!(text.contains("Symbolic solutions (Symbolica)"), "{text}");
    assert!(
        !text.contains("restricted Symbolica instance"),
        "banner leaked: {text}"
    );
    let o = run_cli(&["ems", path, "--engine", "symbolica", "--format", "latex"]);
    let tex = String::from_utf8_lossy(&o.stdout);
    assert!(tex.contains("\\frac{"), "{tex}");
}

#[test]
fn a_second_instance_falls_back_without_aborting() {
    // Hold a worker (and so Symbolica's one-process allowance) while the CLI runs.
    let mut held = engine();
    let path = common::design_path("two_factor_mixed.toml");
    let path = path.to_str().expect("path");
    let o = run_cli(&["ems", path, "--engine", "symbolica", "--format", "json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
    assert!(err.contains("another Symbolica process"), "{err}");
    assert!(err.contains("default engine"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a whole JSON report");
    assert_eq!(v["engine"], "emslab");
    assert_eq!(v["engine_requested"], "symbolica");
    assert!(v.get("symbolica").is_none());
    // The library says the same, and the held worker is unharmed.
    let d = emslab::io::read_design(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    match SymbolicaEngine::spawn(Path::new(EXE)) {
        Err(CasError::Died {
            starting: true,
            lock_held: true,
            ..
        }) => {}
        other => panic!("expected the lock to be held: {other:?}"),
    }
    let out = cas::derive_with(Engine::Symbolica, Path::new(EXE), &d, Model::Restricted);
    assert_eq!(out.engine, Engine::Emslab);
    assert!(out.fallback.is_some());
    assert_eq!(out.table, derive(&d, Model::Restricted));
    let table = held
        .derive(&d, Model::Restricted)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table, derive(&d, Model::Restricted));
    // Once the first instance has ended, Symbolica starts again.
    drop(held);
    let out = cas::derive_with(Engine::Symbolica, Path::new(EXE), &d, Model::Restricted);
    assert_eq!(out.engine, Engine::Symbolica, "{:?}", out.fallback);
}
