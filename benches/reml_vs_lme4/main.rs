//! REML engine against lme4 on the same data, in the same run (not a timed test).
//!
//! `cargo bench --bench reml` simulates the designs of the REML-at-scale issue and times
//! `emslab::reml::fit` on each, writes the data to CSV under `target/reml_bench/`, and, when
//! `Rscript` (with lme4) is on the PATH, times `lmer(..., REML = TRUE)` with nloptwrap and
//! `xtol_abs = 1e-12, ftol_abs = 1e-14` on the same CSV (`benches/reml_vs_lme4/lme4_fit.R`,
//! which times only the lmer() call):
//!
//! (a) `balanced`: `y ~ A + (1|B) + (1|A:B) + (1|B:C) + (1|A:B:C)`, A fixed (5 levels), B
//!     random (50), C random nested in B (20 per B), 200 replicates: 1,000,000 rows; the
//!     exact REML estimates are the unrestricted moment estimates;
//! (a') `balanced_100k`: the same with 20 replicates (100,000 rows);
//! (b) `crossed_unbalanced`: A and B random, 1,000 levels each, one observation per cell, 1%
//!     of the cells missing (990,000 rows), `y ~ 1 + (1|A) + (1|B)`: both criteria and
//!     emslab's criterion at lme4's theta;
//! (c) `inference`: an unbalanced two-way mixed design, A fixed (10 levels) x B random (500)
//!     with A:B random, 10 to 30 replicates per cell (about 100,000 rows): the time of the
//!     inference from the fit (Type III tests with Satterthwaite df, means and comparisons:
//!     a fit with `RemlOptions::inference` less one without), against lme4's lmer() plus
//!     lmerTest's `as_lmerModLmerTest` and `anova(type = 3)` on the same CSV
//!     (`benches/reml_vs_lme4/lmertest_anova.R`), with both F statistics and df.
//!
//! (d) `stream`: the balanced design of (a) with 3,360 replicates, 16,800,000 rows generated
//!     on every pass (`reml::fit_source` with a `RowSource`, nothing stored per row): time and
//!     peak memory of the fit (run it alone, `REML_BENCH_CASES=stream`, for a clean peak).
//!
//! Each REML case is fitted as `analyze` runs it (the moment estimates as first start on
//! balanced data, BLUPs, SEs, residuals, inference; profile intervals only up to 100,000
//! rows, timed separately above that) and from the default starts without the moment start
//! (estimates only). The report is also written to `target/reml_bench/report.md`.
//!
//! Environment: `REML_BENCH_SCALE=0.1` shrinks the designs (quick runs); `REML_BENCH_NO_R=1`
//! skips R; `REML_BENCH_REPEAT=n` times our fits n times (default 3, the median is
//! reported); `REML_BENCH_CASES=balanced,crossed_unbalanced` runs some cases.

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
    /// Key of the model in `lme4_fit.R`.
    kind: &'static str,
    design: Design,
    columns: Vec<&'static str>,
    codes: Vec<Vec<u32>>,
    y: Vec<f64>,
    /// Simulation truth, for orientation.
    truth: Vec<(String, f64)>,
    /// The exact REML estimates when known: on balanced data with every moment estimate
    /// positive, REML equals the unrestricted moment estimates (also the analysis' start).
    exact: Option<Vec<(String, f64)>>,
}

/// Unrestricted moment estimates of balanced data from the library's ANOVA and EMS stages.
fn moments_of(design: &Design, codes: &[Vec<u32>], y: &[f64]) -> Option<Vec<(String, f64)>> {
    let levels: Vec<u32> = design
        .factors
        .iter()
        .map(|f| f.levels.unwrap_or(0))
        .collect();
    let mut acc = emslab::data::CellAccumulator::new(levels);
    let mut row = vec![0u32; codes.len()];
    for (o, &v) in y.iter().enumerate() {
        for (f, c) in codes.iter().enumerate() {
            row[f] = c[o];
        }
        acc.push(&row, v);
    }
    let anova = emslab::anova::from_cells(design, &acc.finish()).ok()?;
    let table = emslab::derive(design, emslab::Model::Unrestricted);
    let est = emslab::moments::estimates(&table, &anova);
    Some(
        est.iter()
            .map(|&(t, v)| (table.terms[t].name.clone(), v))
            .collect(),
    )
}

/// (a) The issue's balanced design, `y ~ A + (1|B) + (1|A:B) + (1|B:C) + (1|A:B:C)`: A fixed
/// (5 levels), B random (50), C random nested in B (20 per B), `reps` replicates per cell
/// (200: 1,000,000 rows; 20: 100,000).
fn balanced(name: &'static str, reps: u32) -> Case {
    let (a, b, c) = (5u32, 50u32, 20u32);
    let design = Design::from_toml_str(&format!(
        r#"
title = "balanced benchmark"
replicates = {reps}
[[factors]]
name = "A"
kind = "fixed"
levels = {a}
[[factors]]
name = "B"
kind = "random"
levels = {b}
[[factors]]
name = "C"
kind = "random"
levels = {c}
nested_in = ["B"]
"#
    ))
    .expect("design");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(reps));
    let truth: [(&str, f64); 5] = [
        ("B", 4.0),
        ("C(B)", 2.0),
        ("A:B", 1.0),
        ("A:C(B)", 0.5),
        ("Residual", 1.0),
    ];
    let sd = |t: &str| {
        truth
            .iter()
            .find(|x| x.0 == t)
            .map_or(0.0f64, |x| x.1)
            .sqrt()
    };
    let eb: Vec<f64> = (0..b).map(|_| sd("B") * rng.normal()).collect();
    let ec: Vec<f64> = (0..b * c).map(|_| sd("C(B)") * rng.normal()).collect();
    let eab: Vec<f64> = (0..a * b).map(|_| sd("A:B") * rng.normal()).collect();
    let eacb: Vec<f64> = (0..a * b * c)
        .map(|_| sd("A:C(B)") * rng.normal())
        .collect();
    let n = (a * b * c * reps) as usize;
    let mut codes = vec![
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    ];
    let mut y = Vec::with_capacity(n);
    for i in 0..a {
        for j in 0..b {
            for k in 0..c {
                let e = eb[j as usize]
                    + ec[(j * c + k) as usize]
                    + eab[(i * b + j) as usize]
                    + eacb[((i * b + j) * c + k) as usize];
                for _ in 0..reps {
                    codes[0].push(i);
                    codes[1].push(j);
                    codes[2].push(k);
                    y.push(100.0 + f64::from(i) + e + sd("Residual") * rng.normal());
                }
            }
        }
    }
    let exact = moments_of(&design, &codes, &y);
    Case {
        name,
        kind: "balanced",
        design,
        columns: vec!["A", "B", "C"],
        codes,
        y,
        truth: truth.iter().map(|(t, v)| ((*t).to_string(), *v)).collect(),
        exact,
    }
}

/// (b) An unbalanced crossed design: A and B random with 1,000 levels each, one observation
/// per cell, 1% of the cells missing (990,000 rows): `y ~ 1 + (1|A) + (1|B)`.
fn crossed_unbalanced(levels: u32) -> Case {
    let design = Design::from_toml_str(
        r#"
title = "crossed unbalanced benchmark"
replicates = 1
terms = ["A", "B"]
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
    let (sa, sb, se) = (2.0f64, 1.0f64, 1.0f64);
    let ea: Vec<f64> = (0..levels).map(|_| sa.sqrt() * rng.normal()).collect();
    let eb: Vec<f64> = (0..levels).map(|_| sb.sqrt() * rng.normal()).collect();
    let mut codes = vec![Vec::new(), Vec::new()];
    let mut y = Vec::new();
    for i in 0..levels {
        for j in 0..levels {
            if rng.next() < 0.01 {
                continue;
            }
            codes[0].push(i);
            codes[1].push(j);
            y.push(20.0 + ea[i as usize] + eb[j as usize] + se.sqrt() * rng.normal());
        }
    }
    Case {
        name: "crossed_unbalanced",
        kind: "crossed2",
        design,
        columns: vec!["A", "B"],
        codes,
        y,
        truth: vec![("A".into(), sa), ("B".into(), sb), ("Residual".into(), se)],
        exact: None,
    }
}

fn write_csv(case: &Case, path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "{},y", case.columns.join(","))?;
    for o in 0..case.y.len() {
        // Labels with a letter so that R reads them as factors' labels, not numbers.
        for c in &case.codes {
            write!(w, "L{},", c[o])?;
        }
        writeln!(w, "{:.17e}", case.y[o])?;
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

/// The balanced design of (a), rows generated on every visit from their index.
struct Generated {
    reps: u32,
    levels: [u32; 3],
    effects: [Vec<f64>; 4],
}

impl Generated {
    fn new(reps: u32) -> Generated {
        let (a, b, c) = (5u32, 50u32, 20u32);
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut draw =
            |m: u32, v: f64| -> Vec<f64> { (0..m).map(|_| v.sqrt() * rng.normal()).collect() };
        let effects = [
            draw(b, 4.0),
            draw(b * c, 2.0),
            draw(a * b, 1.0),
            draw(a * b * c, 0.5),
        ];
        Generated {
            reps,
            levels: [a, b, c],
            effects,
        }
    }
    fn rows(&self) -> u64 {
        u64::from(self.levels.iter().product::<u32>()) * u64::from(self.reps)
    }
}

/// N(0, 1) from a row index (splitmix64 and Box-Muller): the same value on every pass.
fn noise(o: u64) -> f64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let u1 = ((mix(2 * o + 1) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = (mix(2 * o + 2) >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl emslab::reml::RowSource for Generated {
    fn visit(
        &mut self,
        row: &mut emslab::reml::RowVisitor<'_>,
    ) -> Result<(), emslab::reml::RemlError> {
        let [a, b, c] = self.levels;
        let mut o = 0u64;
        for i in 0..a {
            for j in 0..b {
                for k in 0..c {
                    let e = self.effects[0][j as usize]
                        + self.effects[1][(j * c + k) as usize]
                        + self.effects[2][(i * b + j) as usize]
                        + self.effects[3][((i * b + j) * c + k) as usize];
                    for _ in 0..self.reps {
                        row(&[i, j, k], 100.0 + f64::from(i) + e + noise(o))?;
                        o += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// (d): 16.8 million generated rows through `fit_source`.
fn stream_case(scale: f64, report: &mut String) {
    let reps = ((3360.0 * scale).round() as u32).max(2);
    let mut rows = Generated::new(reps);
    let design = balanced("stream", 2).design;
    let _ = writeln!(
        report,
        "## stream ({} rows generated on every pass)\n",
        rows.rows()
    );
    let before = peak_rss_mib().unwrap_or(f64::NAN);
    let opts = RemlOptions {
        profile: false,
        residuals: false,
        ..RemlOptions::default()
    };
    let t = Instant::now();
    match emslab::reml::fit_source(&design, &mut rows, &opts) {
        Ok(f) => {
            let _ = writeln!(
                report,
                "emslab fit_source (BLUPs, SEs, inference; no residuals): {:.3} s; {} criterion evaluations; peak RSS {:.0} MiB (before the fit {before:.0} MiB); components: {}\n",
                t.elapsed().as_secs_f64(),
                f.optimizer.evaluations,
                peak_rss_mib().unwrap_or(f64::NAN),
                f.components
                    .iter()
                    .map(|c| format!("{} {:.6}", c.term, c.variance))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Err(e) => {
            let _ = writeln!(report, "fit_source failed: {e}\n");
        }
    }
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

/// What `analyze` asks of the fit, profile intervals aside (lmer() computes none; they are
/// timed separately): BLUPs with PEVs, SEs, residuals, inference, the moment estimates as the
/// first start.
fn analysis_options(case: &Case) -> RemlOptions {
    RemlOptions {
        start: case.exact.clone(),
        profile: false,
        ..RemlOptions::default()
    }
}

fn time_fit(case: &Case, opts: &RemlOptions, repeat: usize) -> (f64, Option<RemlFit>, String) {
    let mut times = Vec::new();
    let mut last = None;
    let mut error = String::new();
    for _ in 0..repeat {
        let t = Instant::now();
        match fit(&case.design, &case.codes, &case.y, opts) {
            Ok(f) => last = Some(f),
            Err(e) => error = e.to_string(),
        }
        times.push(t.elapsed().as_secs_f64());
    }
    (median(&mut times), last, error)
}

/// One case: our fits (as `analyze` runs it, and from the default starts without the moment
/// start), lme4 on the same CSV, estimates and criteria side by side.
fn run_case(case: &Case, ctx: &Ctx, report: &mut String) {
    let n = case.y.len();
    let _ = writeln!(report, "## {} ({} rows)\n", case.name, n);
    let opts = analysis_options(case);
    let (t_ours, ours, err) = time_fit(case, &opts, ctx.repeat);
    let Some(ours) = ours else {
        let _ = writeln!(report, "emslab failed: {err}\n");
        return;
    };
    let _ = writeln!(
        report,
        "emslab fit as `analyze` runs it ({}): {t_ours:.3} s (median of {}); {} criterion evaluations, {} with the gradient; converged: {}; peak RSS so far {:.0} MiB\n",
        if case.exact.is_some() {
            "moment start, BLUPs, SEs, residuals, inference"
        } else {
            "BLUPs, SEs, residuals, inference"
        },
        ctx.repeat,
        ours.optimizer.evaluations,
        ours.optimizer.gradient_evaluations,
        ours.converged,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    let lean = RemlOptions {
        start: None,
        blups: false,
        information: false,
        residuals: false,
        profile: false,
        inference: false,
        ..RemlOptions::default()
    };
    let (t_lean, lean_fit, _) = time_fit(case, &lean, ctx.repeat);
    if let Some(f) = &lean_fit {
        let _ = writeln!(
            report,
            "emslab fit from the default starts (no moment start), estimates only: {t_lean:.3} s; {} evaluations, {} with the gradient; criterion {:.10}\n",
            f.optimizer.evaluations, f.optimizer.gradient_evaluations, f.criterion
        );
    }
    {
        let with_profile = RemlOptions {
            profile: true,
            ..opts.clone()
        };
        let (t_p, fp, _) = time_fit(case, &with_profile, 1);
        if let Some(fp) = fp {
            let _ = writeln!(
                report,
                "with profile-likelihood intervals as well: {t_p:.3} s"
            );
            for c in &fp.components {
                if let Some(p) = &c.profile {
                    let _ = writeln!(report, "- {}: [{:.6}, {:.6}]", c.term, p.lower, p.upper);
                }
            }
            let _ = writeln!(report);
        }
    }
    for st in &ours.optimizer.starts {
        let _ = writeln!(
            report,
            "- start `{}`: {} iterations, {} evaluations, criterion {:.6} -> {:.10}: {}",
            st.label,
            st.iterations,
            st.evaluations,
            st.criterion_start,
            st.criterion_end,
            st.message
        );
    }
    let _ = writeln!(report, "\n{}\n", ours.optimizer.message);
    let csv = ctx.outdir.join(format!("{}.csv", case.name));
    let lme = if ctx.use_r {
        match write_csv(case, &csv) {
            Ok(()) => run_lme4(&ctx.script, &csv, case.kind, false)
                .map_err(|e| eprintln!("lme4: {e}"))
                .ok(),
            Err(e) => {
                let _ = writeln!(report, "cannot write {}: {e}\n", csv.display());
                None
            }
        }
    } else {
        None
    };
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    let _ = writeln!(
        report,
        "| component | truth | exact (moments) | emslab | rel. to exact | lme4 | rel. to exact | rel. to emslab |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|---|");
    let mut worst_exact = 0.0f64;
    for c in &ours.components {
        let find = |v: &[(String, f64)]| v.iter().find(|t| t.0 == c.term).map(|t| t.1);
        let truth = find(&case.truth).unwrap_or(f64::NAN);
        let exact = case.exact.as_deref().and_then(find);
        let theirs = lme
            .as_ref()
            .and_then(|l| l.variances.iter().find(|v| v.0 == c.term).map(|v| v.1));
        if let Some(e) = exact {
            worst_exact = worst_exact.max(rel(c.variance, e));
        }
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.10}"));
        let r = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1e}"));
        let _ = writeln!(
            report,
            "| {} | {truth} | {} | {:.10} | {} | {} | {} | {} |",
            c.term,
            f(exact),
            c.variance,
            r(exact.map(|e| rel(c.variance, e))),
            f(theirs),
            r(exact.zip(theirs).map(|(e, t)| rel(t, e))),
            r(theirs.map(|t| rel(c.variance, t))),
        );
    }
    let _ = writeln!(report);
    if case.exact.is_some() {
        let _ = writeln!(
            report,
            "Largest relative difference of emslab from the exact estimates: {worst_exact:.1e}.\n"
        );
    }
    if let Some(l) = &lme {
        let mut line = format!(
            "REML criterion: emslab {:.10}, lme4 {:.10} (emslab minus lme4: {:.2e})",
            ours.criterion,
            l.criterion,
            ours.criterion - l.criterion
        );
        if let Ok(mut crit) = Criterion::new(&case.design, &case.codes, &case.y, Method::Reml) {
            let th: Vec<f64> = crit
                .terms
                .iter()
                .map(|t| l.theta.iter().find(|v| &v.0 == t).map_or(f64::NAN, |v| v.1))
                .collect();
            line.push_str(&format!(
                "; emslab's criterion at lme4's theta {:.10}",
                crit.eval(&th)
            ));
        }
        let _ = writeln!(report, "{line}.\n");
        let _ = writeln!(
            report,
            "**lme4 {}: {:.3} s; emslab as `analyze` runs it {t_ours:.3} s: {:.1}x; from the default starts, estimates only, {t_lean:.3} s: {:.1}x.**\n",
            l.version,
            l.seconds,
            l.seconds / t_ours,
            l.seconds / t_lean
        );
    }
}

struct Ctx {
    repeat: usize,
    use_r: bool,
    outdir: PathBuf,
    script: PathBuf,
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
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let outdir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("reml_bench");
    if let Err(e) = std::fs::create_dir_all(&outdir) {
        eprintln!("cannot create {}: {e}", outdir.display());
        return;
    }
    let ctx = Ctx {
        repeat,
        use_r,
        outdir: outdir.clone(),
        script: root.join("benches/reml_vs_lme4/lme4_fit.R"),
    };
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
    let reps = |r: f64| ((r * scale).round() as u32).max(2);
    if wanted("balanced") {
        run_case(&balanced("balanced", reps(200.0)), &ctx, &mut report);
    }
    if wanted("balanced_100k") {
        run_case(&balanced("balanced_100k", reps(20.0)), &ctx, &mut report);
    }
    if wanted("crossed_unbalanced") {
        let levels = ((1000.0 * scale.sqrt()) as u32).max(20);
        run_case(&crossed_unbalanced(levels), &ctx, &mut report);
    }
    if wanted("inference") {
        inference_case(scale, use_r, &root, &outdir, &mut report);
    }
    if only.split(',').any(|c| c == "stream") {
        stream_case(scale, &mut report);
    }
    print!("{report}");
    let path = outdir.join("report.md");
    if std::fs::write(&path, &report).is_ok() {
        println!("(written to {})", path.display());
    }
}
