//! `emslab analyze` with the REML cross-check, through the binary: balanced data (REML
//! beside the moments, JSON `reml` section) and unbalanced data (REML instead of the
//! ANOVA route).

mod common;

use common::{
    CRITERION_ABS, MomentsReference, REML_AT_MOMENTS, REML_VS_LME4, emslab_command, lme4_reference,
    rel_close,
};

fn analyze(args: &[&str]) -> (i32, String, String) {
    let o = emslab_command()
        .arg("analyze")
        .args(args)
        .output()
        .expect("binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn path(name: &str) -> String {
    common::design_path(name).display().to_string()
}

fn component(v: &serde_json::Value, term: &str) -> f64 {
    v["reml"]["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["term"] == term)
        .and_then(|c| c["estimate"].as_f64())
        .expect("component present")
}

// Dyestuff is balanced with every moment estimate positive: the REML optimum is the moment
// estimates, 1764.05 and 2451.25 (R: tests/data/moments/reference.R), to REML_AT_MOMENTS,
// which rejects lme4's default optimiser's early stop at 1764.0375; REML criterion
// 319.654276842257 (lme4 1.1-31 with tight tolerances, tests/data/reml/reference_fits.csv).
#[test]
fn balanced_json_has_the_reml_section() {
    let (code, out, err) = analyze(&[
        &path("dyestuff.toml"),
        &path("dyestuff.csv"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["reml"]["converged"], true);
    let r = MomentsReference::load();
    for term in ["Batch", "Residual"] {
        let (reml, moments) = (component(&v, term), r.get("dyestuff", "estimate", term));
        assert!(
            rel_close(reml, moments, REML_AT_MOMENTS),
            "{term}: {reml} vs {moments}"
        );
    }
    assert!(
        (component(&v, "Batch") - 1764.0375).abs() > 0.01,
        "not lme4's early stop"
    );
    let crit = v["reml"]["reml_criterion"].as_f64().expect("criterion");
    let lme4 = lme4_reference("dyestuff", "REML", "criterion", "", "");
    assert!((crit - lme4).abs() < CRITERION_ABS, "{crit} vs {lme4}");
    let loglik = v["reml"]["log_likelihood"]
        .as_f64()
        .expect("log-likelihood");
    assert!(
        (loglik + crit / 2.0).abs() < CRITERION_ABS,
        "log L = -criterion / 2"
    );
    assert_eq!(v["reml"]["comparison"]["consistent"], true);
}

// Dyestuff2: MS(Batch) < MS(Residual), so REML puts Batch at exactly 0 (boundary) and the
// residual variance is the total SS over N - 1 = 29: (41.6816288 + 358.7013504) / 29 (R:
// tests/data/moments/reference.R); lme4 13.80631 (tests/data/reml/reference_fits.csv).
#[test]
fn negative_moment_estimate_sits_on_the_boundary() {
    let (code, out, err) = analyze(&[
        &path("dyestuff2.toml"),
        &path("dyestuff2.csv"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(component(&v, "Batch"), 0.0);
    let r = MomentsReference::load();
    let total = r.get("dyestuff2", "ss", "Batch") + r.get("dyestuff2", "ss", "Residual");
    assert!(rel_close(
        component(&v, "Residual"),
        total / 29.0,
        REML_AT_MOMENTS
    ));
    let lme4 = lme4_reference("dyestuff2", "REML", "variance", "Residual", "");
    assert!(rel_close(component(&v, "Residual"), lme4, REML_VS_LME4));
    assert_eq!(v["reml"]["boundary"], true);
}

#[test]
fn no_reml_leaves_the_section_out() {
    let (code, out, _) = analyze(&[
        &path("pastes.toml"),
        &path("pastes.csv"),
        "--format",
        "json",
        "--no-reml",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v.get("reml").is_none());
}

#[test]
fn ml_fit_on_request() {
    let (code, out, err) = analyze(&[
        &path("machines.toml"),
        &path("machines.csv"),
        "--format",
        "json",
        "--ml",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["reml"]["method"], "REML");
    assert_eq!(v["reml"]["ml"]["method"], "ML");
}

// tests/data/reml/reference_fits.R: lmer(score ~ Machine + (1|Worker) + (1|Machine:Worker),
// Machines[-c(1, 2, 10), ], REML = TRUE) with tight tolerances (reference_fits.csv,
// "machines_unbalanced"): Worker 22.9775440481524, Machine:Worker 13.833154810804,
// Residual 0.987310877533344, criterion 208.083230814486.
#[test]
fn unbalanced_data_fall_back_to_reml() {
    let dir = std::env::temp_dir().join(format!("emslab-unbal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let text = std::fs::read_to_string(common::design_path("machines.csv")).expect("csv");
    // Drop data rows 1, 2 and 10 (file lines 2, 3 and 11).
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| ![1, 2, 10].contains(i))
        .map(|(_, l)| l)
        .collect();
    let csv = dir.join("machines_unbalanced.csv");
    std::fs::write(&csv, kept.join("\n") + "\n").expect("write");
    let (code, out, err) = analyze(&[
        &path("machines.toml"),
        &csv.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["balanced"], false);
    assert!(
        v["balance_problem"]
            .as_str()
            .unwrap_or_default()
            .contains("Machine=A, Worker=1")
    );
    for (term, lme4) in [
        ("Worker", 22.9775440481524),
        ("Machine:Worker", 13.833154810804),
        ("Residual", 0.987310877533344),
    ] {
        let got = component(&v, term);
        assert!(
            rel_close(got, lme4, REML_VS_LME4),
            "{term}: {got} vs {lme4}"
        );
    }
    let crit = v["reml"]["reml_criterion"].as_f64().expect("criterion");
    assert!((crit - 208.083230814486).abs() < CRITERION_ABS, "{crit}");
    // Without REML, the Type III analysis with the balance report (no REML section).
    let (code, out, err) = analyze(&[
        &path("machines.toml"),
        &csv.display().to_string(),
        "--no-reml",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert!(v.get("reml").is_none());
    assert!(
        v["balance_problem"]
            .as_str()
            .unwrap_or_default()
            .contains("2 short")
    );
    assert_eq!(v["ss_type"], "III");
    let _ = std::fs::remove_dir_all(&dir);
}

/// BLUEs and BLUPs are named by the data's level labels, as lme4 names them (`ranef(fm)`
/// rows `A`, ... for batch; `A:a` for cask within batch A), not by level codes.
#[test]
fn blups_and_blues_carry_the_level_labels_of_the_data() {
    let (code, out, err) = analyze(&[
        &path("pastes.toml"),
        &path("pastes.csv"),
        "--format",
        "csv",
        "--table",
        "reml_blup",
    ]);
    assert_eq!(code, 0, "{err}");
    let levels: Vec<(String, String)> = out
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            (
                f.next().unwrap_or_default().to_string(),
                f.next().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let batches: Vec<&str> = levels
        .iter()
        .filter(|(t, _)| t == "batch")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(batches, ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]);
    let casks: Vec<&str> = levels
        .iter()
        .filter(|(t, _)| t == "cask(batch)")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(casks.len(), 30);
    assert_eq!(&casks[..4], ["A:a", "A:b", "A:c", "B:a"]);

    // Fixed effects: Machines' `Machine=B`, `Machine=C` (lme4: MachineB, MachineC).
    let (code, out, err) = analyze(&[
        &path("machines.toml"),
        &path("machines.csv"),
        "--format",
        "csv",
        "--table",
        "reml_blue",
    ]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(names, ["(Intercept)", "Machine=B", "Machine=C"]);
}

/// Issue 17: the search ends at the moment start once its optimum is verified; `--reml-starts
/// N` runs N starts (the multi-start check) and the log says which ran. Both give the
/// moment solution on balanced machines data (reference values: tests/data/reml/README.md).
#[test]
fn reml_starts_runs_the_multi_start_check_on_request() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            path("machines.toml"),
            path("machines.csv"),
            "--model".into(),
            "unrestricted".into(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = analyze(&refs);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).expect("JSON")
    };
    let ran = |v: &serde_json::Value| -> Vec<bool> {
        v["reml"]["optimizer"]["starts"]
            .as_array()
            .expect("starts")
            .iter()
            .map(|s| s["run"].as_bool().expect("run"))
            .collect()
    };
    let one = run(&[]);
    assert_eq!(one["reml"]["optimizer"]["verified_start"], 0);
    assert_eq!(ran(&one), [true, false, false]);
    let three = run(&["--reml-starts", "3"]);
    assert_eq!(ran(&three), [true, true, true]);
    for v in [&one, &three] {
        assert!(common::close(
            component(v, "Worker"),
            22.85844444,
            common::REML_VS_LME4
        ));
    }
    let (code, _, err) = analyze(&[
        &path("machines.toml"),
        &path("machines.csv"),
        "--reml-starts",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
}
