//! REML engine against lme4 on the same data, in the same run (not a timed test).
//!
//! `cargo bench --bench reml` simulates
//!   (a) a balanced nested design: 1,000 batches x 100 samples x 10 tests = 1,000,000 rows
//!       (batch and sample(batch) random), and
//!   (b) a crossed design with two random factors and their interaction: 500 A x 100 B x
//!       2 replicates = 100,000 rows (A, B, A:B random),
//! times `emslab::reml::fit` on each, writes the data to CSV under `target/reml_bench/`, and,
//! when `Rscript` (with lme4) is on the PATH, times `lmer(..., REML = TRUE)` with nloptwrap and
//! `xtol_abs = 1e-12, ftol_abs = 1e-14` on the same CSV (`benches/reml_vs_lme4/lme4_fit.R`,
//! which times only the lmer() call). It reports both times, the ratio, the largest relative
//! difference in the estimates, and both criteria, each evaluated at both optima (to show which
//! one is lower where they differ). The report is also written to
//! `target/reml_bench/report.md`.
//!
//! (c) `inference`: an unbalanced two-way mixed design, A fixed (10 levels) x B random (500)
//!     with A:B random, 10 to 30 replicates per cell (about 100,000 rows): the time of the
//!     inference from the fit (Type III tests with Satterthwaite df, means and comparisons:
//!     a fit with `RemlOptions::inference` less one without), against lme4's lmer() plus
//!     lmerTest's `as_lmerModLmerTest` and `anova(type = 3)` on the same CSV
//!     (`benches/reml_vs_lme4/lmertest_anova.R`), with both F statistics and df.
//!
//! Environment: `REML_BENCH_SCALE=0.1` shrinks both designs (quick runs); `REML_BENCH_NO_R=1`
//! skips lme4; `REML_BENCH_REPEAT=n` times our fit n times (default 3, the median is reported);
//! `REML_BENCH_CASES=nested` (or `crossed`, `inference`) runs one case; `REML_BENCH_NO_TIGHT=1` skips the
//! second lme4 run with its relative tolerances tightened too (which shows that the remaining
//! differences are lme4's stopping rule).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use emslab::Design;
use emslab::reml::{Criterion, Method, RemlFit, RemlOptions, fit};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.next().max(1e-300);
        let u2 = self.next();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

struct Case {
    name: &'static str,
    kind: &'static str,
    design: Design,
    columns: [&'static str; 2],
    codes: Vec<Vec<u32>>,
    y: Vec<f64>,
    /// Simulation truth, for orientation.
    truth: Vec<(&'static str, f64)>,
    /// The exact REML estimates: both designs are balanced and every moment estimate is
    /// positive, so REML equals the ANOVA (moment) estimates of the unrestricted model.
    exact: Vec<(&'static str, f64)>,
}

/// Means of y (centred) over groups given by a level index per row.
fn group_means(levels: impl Iterator<Item = usize>, y: &[f64], m: usize) -> Vec<f64> {
    let mut sum = vec![0.0; m];
    let mut cnt = vec![0.0; m];
    for (l, &v) in levels.zip(y) {
        sum[l] += v;
        cnt[l] += 1.0;
    }
    sum.iter().zip(&cnt).map(|(s, c)| s / c).collect()
}

fn centred(y: &[f64]) -> Vec<f64> {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    y.iter().map(|v| v - mean).collect()
}

/// Balanced nested a x b x n: (batch, sample(batch), Residual) moment estimates.
fn nested_moments(
    codes: &[Vec<u32>],
    y: &[f64],
    a: usize,
    b: usize,
    n: usize,
) -> Vec<(&'static str, f64)> {
    let yc = centred(y);
    let ma = group_means(codes[0].iter().map(|&c| c as usize), &yc, a);
    let mab = group_means(
        codes[0]
            .iter()
            .zip(&codes[1])
            .map(|(&i, &j)| i as usize * b + j as usize),
        &yc,
        a * b,
    );
    let mut ss_a = 0.0;
    for m in &ma {
        ss_a += (b * n) as f64 * m * m;
    }
    let mut ss_b = 0.0;
    for i in 0..a {
        for j in 0..b {
            let d = mab[i * b + j] - ma[i];
            ss_b += n as f64 * d * d;
        }
    }
    let mut ss_e = 0.0;
    for (o, v) in yc.iter().enumerate() {
        let d = v - mab[codes[0][o] as usize * b + codes[1][o] as usize];
        ss_e += d * d;
    }
    let ms_a = ss_a / (a - 1) as f64;
    let ms_b = ss_b / (a * (b - 1)) as f64;
    let ms_e = ss_e / (a * b * (n - 1)) as f64;
    vec![
        ("batch", (ms_a - ms_b) / (b * n) as f64),
        ("sample(batch)", (ms_b - ms_e) / n as f64),
        ("Residual", ms_e),
    ]
}

/// Balanced crossed a x b x n with interaction: (A, B, A:B, Residual) moment estimates of the
/// unrestricted model.
fn crossed_moments(
    codes: &[Vec<u32>],
    y: &[f64],
    a: usize,
    b: usize,
    n: usize,
) -> Vec<(&'static str, f64)> {
    let yc = centred(y);
    let ma = group_means(codes[0].iter().map(|&c| c as usize), &yc, a);
    let mb = group_means(codes[1].iter().map(|&c| c as usize), &yc, b);
    let mab = group_means(
        codes[0]
            .iter()
            .zip(&codes[1])
            .map(|(&i, &j)| i as usize * b + j as usize),
        &yc,
        a * b,
    );
    let ss_a: f64 = ma.iter().map(|m| (b * n) as f64 * m * m).sum();
    let ss_b: f64 = mb.iter().map(|m| (a * n) as f64 * m * m).sum();
    let mut ss_ab = 0.0;
    for i in 0..a {
        for j in 0..b {
            let d = mab[i * b + j] - ma[i] - mb[j];
            ss_ab += n as f64 * d * d;
        }
    }
    let mut ss_e = 0.0;
    for (o, v) in yc.iter().enumerate() {
        let d = v - mab[codes[0][o] as usize * b + codes[1][o] as usize];
        ss_e += d * d;
    }
    let ms_a = ss_a / (a - 1) as f64;
    let ms_b = ss_b / (b - 1) as f64;
    let ms_ab = ss_ab / ((a - 1) * (b - 1)) as f64;
    let ms_e = ss_e / (a * b * (n - 1)) as f64;
    vec![
        ("A", (ms_a - ms_ab) / (b * n) as f64),
        ("B", (ms_b - ms_ab) / (a * n) as f64),
        ("A:B", (ms_ab - ms_e) / n as f64),
        ("Residual", ms_e),
    ]
}

fn nested(scale: f64) -> Case {
    let batches = ((1000.0 * scale) as u32).max(5);
    let (samples, tests) = (100u32, 10u32);
    let design = Design::from_toml_str(
        r#"
title = "nested benchmark"
[[factors]]
name = "batch"
kind = "random"
[[factors]]
name = "sample"
kind = "random"
nested_in = ["batch"]
"#,
    )
    .expect("design");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let n = (batches * samples * tests) as usize;
    let mut codes = vec![Vec::with_capacity(n), Vec::with_capacity(n)];
    let mut y = Vec::with_capacity(n);
    let (sb, ss, se) = (4.0f64, 2.0f64, 1.0f64);
    for b in 0..batches {
        let eb = sb.sqrt() * rng.normal();
        for s in 0..samples {
            let es = ss.sqrt() * rng.normal();
            for _ in 0..tests {
                codes[0].push(b);
                codes[1].push(s);
                y.push(50.0 + eb + es + se.sqrt() * rng.normal());
            }
        }
    }
    let exact = nested_moments(
        &codes,
        &y,
        batches as usize,
        samples as usize,
        tests as usize,
    );
    Case {
        name: "nested",
        kind: "nested",
        design,
        columns: ["batch", "sample"],
        codes,
        y,
        truth: vec![("batch", sb), ("sample(batch)", ss), ("Residual", se)],
        exact,
    }
}

fn crossed(scale: f64) -> Case {
    let a = ((500.0 * scale) as u32).max(5);
    let (b, reps) = (100u32, 2u32);
    let design = Design::from_toml_str(
        r#"
title = "crossed benchmark"
[[factors]]
name = "A"
kind = "random"
[[factors]]
name = "B"
kind = "random"
"#,
    )
    .expect("design");
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (sa, sb, sab, se) = (3.0f64, 2.0f64, 1.0f64, 1.0f64);
    let ea: Vec<f64> = (0..a).map(|_| sa.sqrt() * rng.normal()).collect();
    let eb: Vec<f64> = (0..b).map(|_| sb.sqrt() * rng.normal()).collect();
    let n = (a * b * reps) as usize;
    let mut codes = vec![Vec::with_capacity(n), Vec::with_capacity(n)];
    let mut y = Vec::with_capacity(n);
    for i in 0..a {
        for j in 0..b {
            let eab = sab.sqrt() * rng.normal();
            for _ in 0..reps {
                codes[0].push(i);
                codes[1].push(j);
                y.push(20.0 + ea[i as usize] + eb[j as usize] + eab + se.sqrt() * rng.normal());
            }
        }
    }
    let exact = crossed_moments(&codes, &y, a as usize, b as usize, reps as usize);
    Case {
        name: "crossed",
        kind: "crossed",
        design,
        columns: ["A", "B"],
        codes,
        y,
        truth: vec![("A", sa), ("B", sb), ("A:B", sab), ("Residual", se)],
        exact,
    }
}

fn write_csv(case: &Case, path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "{},{},y", case.columns[0], case.columns[1])?;
    for o in 0..case.y.len() {
        // Labels with a letter so that R reads them as factors' labels, not numbers.
        writeln!(
            w,
            "L{},L{},{:.17e}",
            case.codes[0][o], case.codes[1][o], case.y[o]
        )?;
    }
    w.flush()
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Lme4 {
    seconds: f64,
    variances: Vec<(String, f64)>,
    theta: Vec<(String, f64)>,
    criterion: f64,
    version: String,
}

fn run_lme4(script: &Path, csv: &Path, kind: &str, tight: bool) -> Result<Lme4, String> {
    let out = Command::new("Rscript")
        .arg(script)
        .arg(csv)
        .arg(kind)
        .arg(if tight { "tight" } else { "default" })
        .output()
        .map_err(|e| format!("Rscript: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Rscript failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r = Lme4 {
        seconds: f64::NAN,
        variances: Vec::new(),
        theta: Vec::new(),
        criterion: f64::NAN,
        version: String::new(),
    };
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["time", t] => r.seconds = t.parse().unwrap_or(f64::NAN),
            ["var", term, v] => r
                .variances
                .push(((*term).into(), v.parse().unwrap_or(f64::NAN))),
            ["theta", term, v] => r
                .theta
                .push(((*term).into(), v.parse().unwrap_or(f64::NAN))),
            ["crit", v] => r.criterion = v.parse().unwrap_or(f64::NAN),
            ["lme4", v] => r.version = (*v).into(),
            _ => {}
        }
    }
    Ok(r)
}

/// (c): the inference from the fit on an unbalanced two-way mixed design.
fn inference_case(scale: f64, use_r: bool, root: &Path, outdir: &Path, report: &mut String) {
    let b_levels = ((500.0 * scale) as u32).max(10);
    let a_levels = 10u32;
    let design = Design::from_toml_str(
        r#"
title = "two-way mixed, unbalanced"
[[factors]]
name = "A"
kind = "fixed"
[[factors]]
name = "B"
kind = "random"
"#,
    )
    .expect("design");
    let mut rng = Rng(0x5851_F42D_4C95_7F2D);
    let (sb, sab, se) = (2.0f64, 1.0f64, 4.0f64);
    let eb: Vec<f64> = (0..b_levels).map(|_| sb.sqrt() * rng.normal()).collect();
    let mut codes = vec![Vec::new(), Vec::new()];
    let mut y = Vec::new();
    for i in 0..a_levels {
        for j in 0..b_levels {
            let eab = sab.sqrt() * rng.normal();
            let reps = 10 + (rng.next() * 21.0) as u32;
            for _ in 0..reps {
                codes[0].push(i);
                codes[1].push(j);
                y.push(30.0 + 0.3 * f64::from(i) + eb[j as usize] + eab + se.sqrt() * rng.normal());
            }
        }
    }
    let n = y.len();
    let _ = writeln!(
        report,
        "## inference: unbalanced two-way mixed ({n} rows, A fixed {a_levels} x B random {b_levels}, A:B random)\n"
    );
    let base = RemlOptions {
        profile: false,
        blups: false,
        residuals: false,
        information: false,
        inference: false,
        ..RemlOptions::default()
    };
    let with = RemlOptions {
        inference: true,
        ..base.clone()
    };
    let time = |o: &RemlOptions| {
        let mut v = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let t = Instant::now();
            last = fit(&design, &codes, &y, o).ok();
            v.push(t.elapsed().as_secs_f64());
        }
        (median(&mut v), last)
    };
    let (t_fit, _) = time(&base);
    let (t_all, ours) = time(&with);
    let Some(ours) = ours else {
        let _ = writeln!(report, "emslab failed\n");
        return;
    };
    let t_inf = (t_all - t_fit).max(0.0);
    let test = ours
        .inference
        .as_ref()
        .and_then(|i| i.fixed_tests.iter().find(|t| t.term == "A").cloned());
    let _ = writeln!(
        report,
        "emslab: fit {t_fit:.3} s, fit with inference {t_all:.3} s: inference {t_inf:.3} s (Type III tests, Satterthwaite df, means and pairwise differences); A: F = {}, df = {}\n",
        test.as_ref().map_or(f64::NAN, |t| t.f),
        test.as_ref().map_or(f64::NAN, |t| t.df_den),
    );
    if !use_r {
        return;
    }
    let csv = outdir.join("inference.csv");
    let written = (|| -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(w, "A,B,y")?;
        for o in 0..n {
            writeln!(w, "L{},L{},{:.17e}", codes[0][o], codes[1][o], y[o])?;
        }
        w.flush()
    })();
    if written.is_err() {
        return;
    }
    let out = Command::new("Rscript")
        .arg(root.join("benches/reml_vs_lme4/lmertest_anova.R"))
        .arg(&csv)
        .output();
    let Ok(out) = out else { return };
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key)
                    .map(|v| v.trim().parse::<f64>().unwrap_or(f64::NAN))
            })
            .unwrap_or(f64::NAN)
    };
    let (r_fit, r_inf, r_f, r_ddf) = (get("fit "), get("lmertest "), get("F "), get("ddf "));
    let _ = writeln!(
        report,
        "**lme4 + lmerTest: fit {r_fit:.3} s, lmerTest (Hessian, Jacobian, anova type 3) {r_inf:.3} s; A: F = {r_f}, df = {r_ddf}. Inference {:.1}x faster than lmerTest's; fit plus inference {:.1}x faster than lme4 + lmerTest.**\n",
        r_inf / t_inf,
        (r_fit + r_inf) / t_all
    );
}

fn rscript_available() -> bool {
    Command::new("Rscript")
        .arg("-e")
        .arg("quit(status = !requireNamespace('lme4', quietly = TRUE))")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let scale: f64 = std::env::var("REML_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let repeat: usize = std::env::var("REML_BENCH_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let use_r = std::env::var_os("REML_BENCH_NO_R").is_none() && rscript_available();
    let tight = std::env::var_os("REML_BENCH_NO_TIGHT").is_none();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let outdir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("reml_bench");
    if let Err(e) = std::fs::create_dir_all(&outdir) {
        eprintln!("cannot create {}: {e}", outdir.display());
        return;
    }
    let script = root.join("benches/reml_vs_lme4/lme4_fit.R");
    let mut report = String::new();
    let _ = writeln!(report, "# REML: emslab vs lme4\n");
    if !use_r {
        let _ = writeln!(
            report,
            "Rscript with lme4 not found (or REML_BENCH_NO_R set): lme4 skipped.\n"
        );
    }
    let only = std::env::var("REML_BENCH_CASES").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|c| c == name);
    let mut cases = Vec::new();
    if wanted("nested") {
        cases.push(nested(scale));
    }
    if wanted("crossed") {
        cases.push(crossed(scale));
    }
    if wanted("inference") {
        inference_case(scale, use_r, &root, &outdir, &mut report);
    }
    for case in cases {
        let n = case.y.len();
        let _ = writeln!(report, "## {} ({} rows)\n", case.name, n);
        // What lmer() computes, and more (BLUPs with PEVs, SEs, residuals); the profile
        // intervals (confint(profile()) in lme4) are timed separately below.
        let opts = RemlOptions {
            profile: false,
            ..RemlOptions::default()
        };
        let lean = RemlOptions {
            blups: false,
            information: false,
            residuals: false,
            profile: false,
            ..RemlOptions::default()
        };
        let mut times = Vec::new();
        let mut ours: Option<RemlFit> = None;
        for _ in 0..repeat {
            let t = Instant::now();
            match fit(&case.design, &case.codes, &case.y, &opts) {
                Ok(f) => ours = Some(f),
                Err(e) => {
                    let _ = writeln!(report, "emslab failed: {e}\n");
                    break;
                }
            }
            times.push(t.elapsed().as_secs_f64());
        }
        let Some(ours) = ours else { continue };
        let t_ours = median(&mut times);
        let mut lean_times = Vec::new();
        for _ in 0..repeat {
            let t = Instant::now();
            let _ = fit(&case.design, &case.codes, &case.y, &lean);
            lean_times.push(t.elapsed().as_secs_f64());
        }
        let t_lean = median(&mut lean_times);
        let t = Instant::now();
        let with_profiles = fit(&case.design, &case.codes, &case.y, &RemlOptions::default());
        let t_profile = t.elapsed().as_secs_f64();
        if let Ok(f) = &with_profiles {
            let _ = writeln!(
                report,
                "with profile-likelihood intervals as well (RemlOptions::default()): {t_profile:.3} s"
            );
            for c in &f.components {
                if let Some(p) = &c.profile {
                    let _ = writeln!(
                        report,
                        "- {}: profile interval [{:.6}, {:.6}]",
                        c.term, p.lower, p.upper
                    );
                }
            }
            let _ = writeln!(report);
        }
        let _ = writeln!(
            report,
            "emslab fit: {t_ours:.3} s (median of {repeat}; BLUPs with PEVs, SEs, residuals), {t_lean:.3} s without them; {} criterion evaluations, converged: {}; peak RSS so far {:.0} MiB\n",
            ours.optimizer.evaluations,
            ours.converged,
            peak_rss_mib().unwrap_or(f64::NAN)
        );
        // Cost of one evaluation of the criterion at the optimum.
        if let Ok(mut crit) = Criterion::new(&case.design, &case.codes, &case.y, Method::Reml) {
            let theta: Vec<f64> = crit
                .terms
                .clone()
                .iter()
                .map(|t| {
                    let i = ours
                        .optimizer
                        .terms
                        .iter()
                        .position(|x| x == t)
                        .unwrap_or(0);
                    ours.theta.get(i).copied().unwrap_or(1.0)
                })
                .collect();
            let reps = 20;
            let t = Instant::now();
            let mut v = 0.0;
            for _ in 0..reps {
                v += crit.eval(&theta);
            }
            let per = t.elapsed().as_secs_f64() / reps as f64;
            let _ = writeln!(
                report,
                "one evaluation of the criterion: {:.2} ms (criterion {:.6})\n",
                per * 1e3,
                v / reps as f64
            );
        }
        for st in &ours.optimizer.starts {
            let _ = writeln!(
                report,
                "- start `{}`: {} iterations, {} evaluations, criterion {:.6} -> {:.10}",
                st.label, st.iterations, st.evaluations, st.criterion_start, st.criterion_end
            );
        }
        let _ = writeln!(report);
        let csv = outdir.join(format!("{}.csv", case.name));
        if let Err(e) = write_csv(&case, &csv) {
            let _ = writeln!(report, "cannot write {}: {e}\n", csv.display());
            continue;
        }
        let run = |tight: bool| -> Option<Lme4> {
            if !use_r {
                return None;
            }
            run_lme4(&script, &csv, case.kind, tight)
                .map_err(|e| eprintln!("lme4: {e}"))
                .ok()
        };
        let lme = run(false);
        let lme_tight = if tight && lme.is_some() {
            run(true)
        } else {
            None
        };
        let get = |l: &Option<Lme4>, term: &str| {
            l.as_ref()
                .and_then(|l| l.variances.iter().find(|v| v.0 == term).map(|v| v.1))
        };
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        let fmt_rel = |x: Option<f64>| x.map_or("-".to_string(), |r| format!("{r:.1e}"));
        let _ = writeln!(
            report,
            "| component | truth | exact (REML = moments) | emslab | rel. to exact | lme4 | rel. to exact | rel. to emslab | lme4 tight | rel. to exact |"
        );
        let _ = writeln!(report, "|---|---|---|---|---|---|---|---|---|---|");
        let (mut worst, mut worst_exact, mut worst_lme_exact, mut worst_tight) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for c in &ours.components {
            let find =
                |v: &[(&str, f64)]| v.iter().find(|t| t.0 == c.term).map_or(f64::NAN, |t| t.1);
            let (truth, exact) = (find(&case.truth), find(&case.exact));
            let (theirs, tight_v) = (get(&lme, &c.term), get(&lme_tight, &c.term));
            let ours_exact = rel(c.variance, exact);
            worst_exact = worst_exact.max(ours_exact);
            if let Some(t) = theirs {
                worst = worst.max(rel(c.variance, t));
                worst_lme_exact = worst_lme_exact.max(rel(t, exact));
            }
            if let Some(t) = tight_v {
                worst_tight = worst_tight.max(rel(t, exact));
            }
            let _ = writeln!(
                report,
                "| {} | {truth} | {exact:.10} | {:.10} | {ours_exact:.1e} | {} | {} | {} | {} | {} |",
                c.term,
                c.variance,
                theirs.map_or("-".into(), |t| format!("{t:.10}")),
                fmt_rel(theirs.map(|t| rel(t, exact))),
                fmt_rel(theirs.map(|t| rel(c.variance, t))),
                tight_v.map_or("-".into(), |t| format!("{t:.10}")),
                fmt_rel(tight_v.map(|t| rel(t, exact))),
            );
        }
        let _ = writeln!(report);
        let _ = writeln!(
            report,
            "Largest relative difference from the exact estimates: emslab {worst_exact:.1e}{}{}.\n",
            if lme.is_some() {
                format!(", lme4 {worst_lme_exact:.1e}")
            } else {
                String::new()
            },
            if lme_tight.is_some() {
                format!(", lme4 tight {worst_tight:.1e}")
            } else {
                String::new()
            },
        );
        // The criterion at each point.
        if let Ok(mut crit) = Criterion::new(&case.design, &case.codes, &case.y, Method::Reml) {
            let terms = crit.terms.clone();
            let at = |v: &dyn Fn(&str) -> Option<f64>| -> Vec<f64> {
                let s2 = v("Residual").unwrap_or(f64::NAN);
                terms
                    .iter()
                    .map(|t| (v(t).unwrap_or(f64::NAN) / s2).sqrt())
                    .collect()
            };
            let exact_theta = at(&|t| case.exact.iter().find(|e| e.0 == t).map(|e| e.1));
            let f_exact = crit.eval(&exact_theta);
            let mut line = format!(
                "REML criterion: at the exact estimates {f_exact:.10}; emslab {:.10}",
                ours.criterion
            );
            for (name, l) in [("lme4", &lme), ("lme4 tight", &lme_tight)] {
                if let Some(l) = l {
                    let th: Vec<f64> = terms
                        .iter()
                        .map(|t| l.theta.iter().find(|v| &v.0 == t).map_or(f64::NAN, |v| v.1))
                        .collect();
                    line.push_str(&format!(
                        "; {name} reports {:.10}, emslab's criterion at {name}'s theta {:.10}",
                        l.criterion,
                        crit.eval(&th)
                    ));
                }
            }
            let _ = writeln!(report, "{line}.\n");
        }
        if let Some(l) = &lme {
            let _ = writeln!(
                report,
                "**lme4 {}: {:.3} s; emslab {t_ours:.3} s: {:.1}x faster ({:.1}x without BLUPs/SEs). Largest relative difference emslab vs lme4: {worst:.1e}.**\n",
                l.version,
                l.seconds,
                l.seconds / t_ours,
                l.seconds / t_lean
            );
        }
        if let Some(t) = &lme_tight {
            let _ = writeln!(
                report,
                "lme4 with xtol_rel = 1e-12, ftol_rel = 1e-15 as well: {:.3} s.\n",
                t.seconds
            );
        }
    }
    print!("{report}");
    let path = outdir.join("report.md");
    if std::fs::write(&path, &report).is_ok() {
        println!("(written to {})", path.display());
    }
}
