//! The JSON report against the interface contract (its "JSON report" section and the
//! additions): every required key, with its type, on every shipped design in both models,
//! for `emslab ems` and for `emslab analyze` of every shipped data set. A key renamed or
//! dropped by a change to the report fails here.

mod common;

use serde_json::Value;

/// What a required key holds.
#[derive(Clone, Copy, Debug)]
enum Type {
    Str,
    Num,
    /// A number or null (a df of an unsized design, a p-value that does not exist).
    NumOrNull,
    Bool,
    Obj,
    Arr,
}

fn check_type(v: &Value, t: Type) -> bool {
    match t {
        Type::Str => v.is_string(),
        Type::Num => v.is_number(),
        Type::NumOrNull => v.is_number() || v.is_null(),
        Type::Bool => v.is_boolean(),
        Type::Obj => v.is_object(),
        Type::Arr => v.is_array(),
    }
}

/// Checks that `path` (keys separated by `.`, `[]` for every element of an array) exists
/// with type `t`; returns the failures.
fn require(v: &Value, path: &str, t: Type, ctx: &str, out: &mut Vec<String>) {
    fn walk(v: &Value, parts: &[&str], t: Type, at: String, out: &mut Vec<String>) {
        let Some((head, rest)) = parts.split_first() else {
            if !check_type(v, t) {
                out.push(format!("{at}: expected {t:?}, found {v}"));
            }
            return;
        };
        if let Some(key) = head.strip_suffix("[]") {
            match v.get(key).and_then(Value::as_array) {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        walk(item, rest, t, format!("{at}.{key}[{i}]"), out);
                    }
                }
                _ => out.push(format!("{at}.{key}: missing or empty array")),
            }
        } else {
            match v.get(*head) {
                Some(x) => walk(x, rest, t, format!("{at}.{head}"), out),
                None => out.push(format!("{at}.{head}: missing")),
            }
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    walk(v, &parts, t, ctx.to_string(), out);
}

/// The keys every report of a design has (`emslab ems` and `emslab analyze`).
const DESIGN_KEYS: &[(&str, Type)] = &[
    ("emslab_version", Type::Str),
    ("model", Type::Str),
    ("design", Type::Obj),
    ("design.title", Type::Str),
    ("design.factors", Type::Arr),
    ("terms[].term", Type::Str),
    ("terms[].kind", Type::Str),
    ("terms[].df", Type::NumOrNull),
    ("terms[].ems[].component", Type::Str),
    ("terms[].ems[].coefficient", Type::NumOrNull),
    ("terms[].ems[].symbolic", Type::Str),
    ("terms[].ems_latex", Type::Str),
    ("terms[].test.kind", Type::Str),
];

/// The keys a test carries, by its kind.
fn check_tests(v: &Value, with_data: bool, ctx: &str, out: &mut Vec<String>) {
    for (u, term) in v["terms"].as_array().into_iter().flatten().enumerate() {
        let at = format!("{ctx}.terms[{u}].test");
        let test = &term["test"];
        match test["kind"].as_str() {
            Some("exact") | Some("quasi") => {
                require(test, "denominator[].term", Type::Str, &at, out);
                require(test, "denominator[].weight", Type::Num, &at, out);
                require(test, "df_num", Type::NumOrNull, &at, out);
                if with_data {
                    for key in ["df_den", "f", "p"] {
                        require(test, key, Type::NumOrNull, &at, out);
                    }
                }
            }
            Some("none") => require(test, "reason", Type::Str, &at, out),
            other => out.push(format!("{at}.kind: not exact, quasi or none: {other:?}")),
        }
        if test["kind"] == "quasi" {
            require(test, "alternatives[].form", Type::Str, &at, out);
        }
    }
}

/// The precision of means (`emslab ems` and `analyze` on balanced data).
const PRECISION_KEYS: &[(&str, Type)] = &[
    ("precision[].over", Type::Arr),
    ("precision[].variance", Type::Arr),
    ("precision[].variance[].term", Type::Str),
    ("precision[].variance[].weight", Type::NumOrNull),
    ("precision[].variance_symbolic", Type::Str),
    ("precision[].components_symbolic.restricted", Type::Str),
    ("precision[].components_symbolic.unrestricted", Type::Str),
];

/// The covariance of two observations.
const COVARIANCE_KEYS: &[(&str, Type)] = &[
    ("covariances[].shared", Type::Arr),
    ("covariances[].covariance", Type::Arr),
    ("covariances[].covariance_symbolic", Type::Str),
];

/// Means, comparisons and letters of a design with fixed terms (`analyze`).
const MEANS_KEYS: &[(&str, Type)] = &[
    ("means[].term", Type::Str),
    ("means[].levels", Type::Obj),
    ("means[].mean", Type::Num),
    ("means[].se", Type::NumOrNull),
    ("means[].df", Type::NumOrNull),
    ("means[].ci.level", Type::Num),
    ("means[].ci.lower", Type::Num),
    ("means[].ci.upper", Type::Num),
    ("means[].method", Type::Str),
    ("comparisons[].term", Type::Str),
    ("comparisons[].a", Type::Obj),
    ("comparisons[].b", Type::Obj),
    ("comparisons[].difference", Type::Num),
    ("comparisons[].se", Type::NumOrNull),
    ("comparisons[].df", Type::NumOrNull),
    ("comparisons[].t", Type::NumOrNull),
    ("comparisons[].p", Type::NumOrNull),
    ("comparisons[].adjustment", Type::Str),
    ("comparisons[].p_adjusted", Type::NumOrNull),
    ("comparisons[].ci.lower", Type::Num),
    ("letters[].term", Type::Str),
    ("letters[].levels", Type::Obj),
    ("letters[].letters", Type::Str),
    ("fixed_tests[].term", Type::Str),
    ("fixed_tests[].type", Type::Str),
    ("fixed_tests[].f", Type::Num),
    ("fixed_tests[].df_num", Type::Num),
    ("fixed_tests[].df_den", Type::Num),
    ("fixed_tests[].p", Type::Num),
    ("fixed_tests[].ddf_method", Type::Str),
    ("reml.fixed_effects[].df", Type::Num),
    ("reml.fixed_effects[].t", Type::Num),
    ("reml.fixed_effects[].p", Type::Num),
    ("reml.fixed_effects[].ci.lower", Type::Num),
];

fn json_of(args: &[&str]) -> Value {
    let o = common::emslab(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: JSON: {e}"))
}

#[test]
fn every_shipped_design_has_the_ems_report_keys_in_both_models() {
    let mut failures = Vec::new();
    for path in common::shipped_designs() {
        let p = path.to_str().expect("path");
        for model in ["restricted", "unrestricted"] {
            let v = json_of(&["ems", p, "--model", model, "--format", "json"]);
            let ctx = format!("ems {p} --model {model}");
            for &(key, t) in DESIGN_KEYS {
                require(&v, key, t, &ctx, &mut failures);
            }
            check_tests(&v, false, &ctx, &mut failures);
            for &(key, t) in PRECISION_KEYS {
                require(&v, key, t, &ctx, &mut failures);
            }
            for &(key, t) in COVARIANCE_KEYS {
                require(&v, key, t, &ctx, &mut failures);
            }
            // No data: none of the data keys.
            for key in ["n_observations", "reml", "grand_mean"] {
                if v.get(key).is_some() {
                    failures.push(format!("{ctx}: `{key}` present without data"));
                }
            }
            for (u, term) in v["terms"].as_array().into_iter().flatten().enumerate() {
                for key in ["ss", "ms"] {
                    if term.get(key).is_some() {
                        failures.push(format!("{ctx}.terms[{u}]: `{key}` present without data"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_shipped_data_set_has_the_analysis_report_keys() {
    let mut failures = Vec::new();
    let with_data: Vec<_> = common::shipped_designs()
        .into_iter()
        .filter(|p| p.with_extension("csv").is_file())
        .collect();
    assert!(with_data.len() >= 5, "the shipped data sets");
    for path in with_data {
        let (p, csv) = (
            path.to_str().expect("path"),
            path.with_extension("csv").display().to_string(),
        );
        for model in ["restricted", "unrestricted"] {
            let v = json_of(&["analyze", p, &csv, "--model", model, "--format", "json"]);
            let ctx = format!("analyze {p} --model {model}");
            for &(key, t) in DESIGN_KEYS {
                require(&v, key, t, &ctx, &mut failures);
            }
            check_tests(&v, true, &ctx, &mut failures);
            for (key, t) in [
                ("n_observations", Type::Num),
                ("balanced", Type::Bool),
                ("terms[].ss", Type::NumOrNull),
                ("terms[].ms", Type::NumOrNull),
                ("components[].term", Type::Str),
                ("components[].estimate", Type::Num),
                ("components[].combination", Type::Arr),
                ("components[].satterthwaite_df", Type::NumOrNull),
                ("reml.converged", Type::Bool),
                ("reml.log_likelihood", Type::Num),
                ("reml.components[].term", Type::Str),
                ("reml.components[].estimate", Type::Num),
            ] {
                require(&v, key, t, &ctx, &mut failures);
            }
            for (key, t) in [
                ("grand_mean.mean", Type::Num),
                ("grand_mean.se", Type::NumOrNull),
                ("grand_mean.df", Type::NumOrNull),
                ("grand_mean.ci.lower", Type::Num),
                ("grand_mean.variance", Type::Arr),
                ("grand_mean.variance_symbolic", Type::Str),
            ] {
                require(&v, key, t, &ctx, &mut failures);
            }
            for &(key, t) in PRECISION_KEYS.iter().chain(COVARIANCE_KEYS) {
                require(&v, key, t, &ctx, &mut failures);
            }
            let has_fixed = v["terms"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["kind"] == "fixed");
            if has_fixed {
                for &(key, t) in MEANS_KEYS {
                    require(&v, key, t, &ctx, &mut failures);
                }
            }
            // An interval, where there is one, has the contract's fields.
            for (i, c) in v["components"].as_array().into_iter().flatten().enumerate() {
                if !c["ci"].is_null() {
                    for (key, t) in [
                        ("ci.method", Type::Str),
                        ("ci.level", Type::Num),
                        ("ci.lower", Type::Num),
                        ("ci.upper", Type::Num),
                    ] {
                        require(c, key, t, &format!("{ctx}.components[{i}]"), &mut failures);
                    }
                }
            }
            // --no-reml: no `reml`.
            let v = json_of(&["analyze", p, &csv, "--no-reml", "--format", "json"]);
            if v.get("reml").is_some() {
                failures.push(format!("analyze {p} --no-reml: `reml` present"));
            }
            if v.get("fixed_tests").is_some() {
                failures.push(format!("analyze {p} --no-reml: `fixed_tests` present"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_published_table_has_the_analysis_keys_without_observations() {
    // Pigment paste: the contract's own example (df 14/15/30, MS 86.495/57.983/0.917).
    let d = common::design_path("pigment_paste.toml");
    let s = common::design_path("pigment_paste_summary.csv");
    let v = json_of(&[
        "analyze",
        d.to_str().expect("path"),
        "--summary",
        s.to_str().expect("path"),
        "--format",
        "json",
    ]);
    let mut failures = Vec::new();
    for &(key, t) in DESIGN_KEYS {
        require(&v, key, t, "summary", &mut failures);
    }
    check_tests(&v, true, "summary", &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(v["terms"][0]["test"]["df_num"], 14);
    assert_eq!(v["terms"][0]["test"]["df_den"], 15);
    assert!(v.get("reml").is_none());
    // No grand mean without --grand-mean; with it, the grand mean's keys.
    assert!(v.get("grand_mean").is_none());
    let v = json_of(&[
        "analyze",
        d.to_str().expect("path"),
        "--summary",
        s.to_str().expect("path"),
        "--grand-mean",
        "26.78",
        "--format",
        "json",
    ]);
    for (key, t) in [
        ("grand_mean.mean", Type::Num),
        ("grand_mean.se", Type::Num),
        ("grand_mean.df", Type::Num),
        ("grand_mean.ci.lower", Type::Num),
        ("grand_mean.ci.upper", Type::Num),
        ("grand_mean.variance", Type::Arr),
        ("grand_mean.variance_symbolic", Type::Str),
    ] {
        require(&v, key, t, "summary --grand-mean", &mut failures);
    }
    for &(key, t) in PRECISION_KEYS {
        require(&v, key, t, "summary --grand-mean", &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unbalanced_data_never_carry_a_balanced_number() {
    // Machines without its last 10 rows (cells of Machine C empty or short): the terms are
    // the Type III rows with numeric EMS coefficients, never the balanced EMS or tests.
    let text = std::fs::read_to_string(common::design_path("machines.csv")).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    let dir = std::env::temp_dir().join(format!("emslab-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let csv = dir.join("machines_short.csv");
    std::fs::write(&csv, lines[..lines.len() - 10].join("\n")).expect("write");
    let d = common::design_path("machines.toml");
    let (d, csv) = (d.to_str().expect("path"), csv.to_str().expect("path"));
    for ss in ["III", "I"] {
        let v = json_of(&["analyze", d, csv, "--ss-type", ss, "--format", "json"]);
        let ctx = format!("unbalanced --ss-type {ss}");
        let mut failures = Vec::new();
        for (key, t) in [
            ("emslab_version", Type::Str),
            ("model", Type::Str),
            ("balanced", Type::Bool),
            ("ss_type", Type::Str),
            ("n_observations", Type::Num),
            ("terms[].term", Type::Str),
            ("terms[].df", Type::Num),
            ("terms[].ss", Type::Num),
            ("terms[].ems[].component", Type::Str),
            ("terms[].ems[].coefficient", Type::Num),
            ("terms[].test.kind", Type::Str),
            ("components[].term", Type::Str),
            ("components[].estimate", Type::Num),
            ("reml.components[].estimate", Type::Num),
        ] {
            require(&v, key, t, &ctx, &mut failures);
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(v["balanced"], false);
        assert_eq!(v["ss_type"], ss);
        assert_eq!(
            v["model"], "unrestricted",
            "SAS's model, whatever --model says"
        );
        assert_eq!(v["n_observations"], 44);
        for term in v["terms"].as_array().expect("terms") {
            for e in term["ems"].as_array().expect("ems") {
                assert!(
                    e.get("symbolic").is_none(),
                    "{ctx}: a symbolic (balanced) EMS"
                );
            }
        }
        // Without REML the Type III analysis stands on its own.
        let v = json_of(&[
            "analyze",
            d,
            csv,
            "--ss-type",
            ss,
            "--no-reml",
            "--format",
            "json",
        ]);
        assert!(v.get("reml").is_none() && v["terms"].as_array().is_some_and(|t| !t.is_empty()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
