//! Benchmark: the unbalanced analysis (issue 12) of a 100,000-row two-way mixed design.
//!
//! `cargo bench --bench unbalanced` simulates y = A effect + B effect + A:B effect + noise
//! with every row's A (fixed) and B (random) level drawn at random, so the cell counts vary
//! (about Poisson), and times, as medians of `UNBAL_BENCH_REPEAT` runs (default 5):
//!
//! - the cell pass: 100,000 rows summed into cells (`CellAccumulator`);
//! - `unbalanced::analyze` with Type III sums of squares: the cell-level QR, the EMS of every
//!   mean square by the trace form, the synthesized tests and the moment estimates with
//!   their intervals; and with Type I;
//! - the report tables.
//!
//! Two cases: 5 x 40 levels (200 cells, about 500 rows each) and 10 x 100 (1,000 cells,
//! about 100 each: a 1,000-column cell-level system). When `Rscript` with car is on the PATH
//! (and `UNBAL_BENCH_NO_R` is unset), the same data go to
//! `car::Anova(lm(y ~ A * B, contrasts = contr.sum), type = 3)` (sums of squares only: R has
//! no EMS for them), timed around those calls, and its SS are printed beside ours. The
//! REML part of the issue's 2 s budget (Satterthwaite tests from the REML fit) is timed by the
//! REML benchmark.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use emslab::Design;
use emslab::data::{CellAccumulator, Cells};
use emslab::report::unbalanced_tables;
use emslab::unbalanced::{self, SsType, UnbalancedAnova, UnbalancedOptions};

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

fn design() -> Design {
    Design::from_toml_str(
        r#"
title = "Benchmark: unbalanced two-way mixed design"
response = "y"
[[factors]]
name = "A"
kind = "fixed"
[[factors]]
name = "B"
kind = "random"
"#,
    )
    .unwrap()
}

/// Rows `(a, b, y)`.
fn simulate(a: u32, b: u32, rows: usize, seed: u64) -> Vec<(u32, u32, f64)> {
    let mut rng = Rng(seed);
    let ea: Vec<f64> = (0..a).map(|i| f64::from(i) * 0.5).collect();
    let eb: Vec<f64> = (0..b).map(|_| 1.5 * rng.normal()).collect();
    let eab: Vec<f64> = (0..a * b).map(|_| 0.7 * rng.normal()).collect();
    (0..rows)
        .map(|_| {
            let i = ((rng.next() * f64::from(a)) as u32).min(a - 1);
            let j = ((rng.next() * f64::from(b)) as u32).min(b - 1);
            let y =
                100.0 + ea[i as usize] + eb[j as usize] + eab[(i * b + j) as usize] + rng.normal();
            (i, j, (y * 1000.0).round() / 1000.0)
        })
        .collect()
}

fn cells(a: u32, b: u32, rows: &[(u32, u32, f64)]) -> Cells {
    let mut acc = CellAccumulator::new(vec![a, b]);
    for &(i, j, y) in rows {
        acc.push(&[i, j], y);
    }
    acc.finish()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeat {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    (median(times), last.unwrap())
}

/// car::Anova on the same rows: (seconds, SS by term), or why not.
fn car(path: &Path) -> Result<(f64, String), String> {
    let script = format!(
        r#"suppressPackageStartupMessages(library(car))
d <- read.csv("{}", colClasses = c("character", "character", "numeric"))
d$A <- factor(d$A); d$B <- factor(d$B)
t0 <- proc.time()[["elapsed"]]
a <- Anova(lm(y ~ A * B, d, contrasts = list(A = contr.sum, B = contr.sum)), type = 3)
t1 <- proc.time()[["elapsed"]]
cat(t1 - t0, "\n")
for (r in c("A", "B", "A:B", "Residuals")) cat(r, sprintf("%.15g", a[r, "Sum Sq"]), "\n")
"#,
        path.display()
    );
    let out = Command::new("Rscript")
        .arg("-e")
        .arg(script)
        .output()
        .map_err(|e| format!("Rscript: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let secs: f64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("no time")?;
    Ok((secs, lines.collect::<Vec<_>>().join("; ")))
}

fn summary(a: &UnbalancedAnova) -> String {
    a.terms
        .iter()
        .map(|r| format!("{} {:.12e}", r.term, r.ss))
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() {
    let repeat: usize = std::env::var("UNBAL_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let use_r = std::env::var_os("UNBAL_BENCH_NO_R").is_none();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/unbalanced_bench");
    std::fs::create_dir_all(&dir).unwrap();
    let d = design();
    let mut report = String::new();
    for (a, b, seed) in [(5u32, 40u32, 12u64), (10, 100, 13)] {
        let rows = simulate(a, b, 100_000, seed);
        let (t_cells, c) = time(repeat, || cells(a, b, &rows));
        let opts3 = UnbalancedOptions {
            ss_type: SsType::III,
            alpha: 0.05,
        };
        let opts1 = UnbalancedOptions {
            ss_type: SsType::I,
            ..opts3
        };
        let (t3, fit3) = time(repeat, || unbalanced::analyze(&d, &c, &opts3).unwrap());
        let (t1, _) = time(repeat, || unbalanced::analyze(&d, &c, &opts1).unwrap());
        let (t_tab, _) = time(repeat, || unbalanced_tables(&fit3));
        let m = c.count.iter().filter(|&&n| n > 0).count();
        let _ = writeln!(
            report,
            "{a} x {b} levels, 100,000 rows, {m} cells (counts {}..{}):\n  cell pass {:.1} ms; Type III table with EMS, tests, components {:.1} ms; Type I {:.1} ms; report tables {:.2} ms; cell pass + Type III = {:.1} ms",
            c.count.iter().min().unwrap(),
            c.count.iter().max().unwrap(),
            1e3 * t_cells,
            1e3 * t3,
            1e3 * t1,
            1e3 * t_tab,
            1e3 * (t_cells + t3)
        );
        let _ = writeln!(report, "  emslab Type III SS: {}", summary(&fit3));
        if use_r {
            let path = dir.join(format!("two_way_{a}x{b}.csv"));
            let mut csv = String::from("A,B,y\n");
            for &(i, j, y) in &rows {
                let _ = writeln!(csv, "a{i},b{j},{y}");
            }
            std::fs::write(&path, csv).unwrap();
            match car(&path) {
                Ok((secs, ss)) => {
                    let _ = writeln!(
                        report,
                        "  car::Anova(lm, type = 3) {:.1} ms (SS only; ratio emslab Type III / car = {:.3}): {ss}",
                        1e3 * secs,
                        t3 / secs
                    );
                }
                Err(e) => {
                    let _ = writeln!(report, "  R not run: {}", e.trim());
                }
            }
        }
    }
    print!("{report}");
    std::fs::write(dir.join("report.md"), &report).unwrap();
}
