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
//! Environment: `REML_BENCH_SCALE=0.1` shrinks both designs (quick runs); `REML_BENCH_NO_R=1`
//! skips lme4; `REML_BENCH_REPEAT=n` times our fit n times (default 3, the median is reported);
//! `REML_BENCH_CASES=nested` (or `crossed`) runs one case; `REML_BENCH_NO_TIGHT=1` skips the
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
    Case {
        name: "nested",
        kind: "nested",
        design,
        columns: ["batch", "sample"],
        codes,
        y,
        truth: vec![("batch", sb), ("sample(batch)", ss), ("Residual", se)],
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
    Case {
        name: "crossed",
        kind: "crossed",
        design,
        columns: ["A", "B"],
        codes,
        y,
        truth: vec![("A", sa), ("B", sb), ("A:B", sab), ("Residual", se)],
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
        let lme = if use_r {
            match run_lme4(&script, &csv, case.kind, false) {
                Ok(r) => Some(r),
                Err(e) => {
                    let _ = writeln!(report, "lme4: {e}\n");
                    None
                }
            }
        } else {
            None
        };
        let _ = writeln!(
            report,
            "| component | truth | emslab | lme4 | relative difference |"
        );
        let _ = writeln!(report, "|---|---|---|---|---|");
        let mut worst: f64 = 0.0;
        for c in &ours.components {
            let truth = case
                .truth
                .iter()
                .find(|t| t.0 == c.term)
                .map_or(f64::NAN, |t| t.1);
            let theirs = lme
                .as_ref()
                .and_then(|l| l.variances.iter().find(|v| v.0 == c.term).map(|v| v.1));
            let rel = theirs.map(|t| (c.variance - t).abs() / t.abs());
            if let Some(r) = rel {
                worst = worst.max(r);
            }
            let _ = writeln!(
                report,
                "| {} | {truth} | {:.10} | {} | {} |",
                c.term,
                c.variance,
                theirs.map_or("-".into(), |t| format!("{t:.10}")),
                rel.map_or("-".into(), |r| format!("{r:.2e}"))
            );
        }
        let _ = writeln!(report);
        if let Some(l) = &lme {
            // Both criteria at both optima.
            let mut crit = match Criterion::new(&case.design, &case.codes, &case.y, Method::Reml) {
                Ok(c) => c,
                Err(e) => {
                    let _ = writeln!(report, "criterion: {e}");
                    continue;
                }
            };
            let their_theta: Vec<f64> = crit
                .terms
                .clone()
                .iter()
                .map(|t| l.theta.iter().find(|v| &v.0 == t).map_or(f64::NAN, |v| v.1))
                .collect();
            let ours_at_theirs = crit.eval(&their_theta);
            let _ = writeln!(
                report,
                "lme4 {}: {:.3} s. emslab is {:.1}x faster ({:.1}x without BLUPs/SEs). Largest relative difference in the estimates: {worst:.2e}.\n",
                l.version,
                l.seconds,
                l.seconds / t_ours,
                l.seconds / t_lean
            );
            let _ = writeln!(
                report,
                "REML criterion: emslab {:.10} at its optimum; lme4 reports {:.10}; emslab's criterion at lme4's theta {:.10} (lower is better; the difference is lme4's stopping rule).\n",
                ours.criterion, l.criterion, ours_at_theirs
            );
            if tight {
                match run_lme4(&script, &csv, case.kind, true) {
                    Ok(t) => {
                        let worst_tight = ours
                            .components
                            .iter()
                            .filter_map(|c| {
                                t.variances
                                    .iter()
                                    .find(|v| v.0 == c.term)
                                    .map(|v| (c.variance - v.1).abs() / v.1.abs())
                            })
                            .fold(0.0f64, f64::max);
                        let _ = writeln!(
                            report,
                            "lme4 with xtol_rel = 1e-12, ftol_rel = 1e-15 as well: {:.3} s, criterion {:.10}; largest relative difference from emslab {worst_tight:.2e}.\n",
                            t.seconds, t.criterion
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(report, "lme4 (tight): {e}\n");
                    }
                }
            }
        }
    }
    print!("{report}");
    let path = outdir.join("report.md");
    if std::fs::write(&path, &report).is_ok() {
        println!("(written to {})", path.display());
    }
}
