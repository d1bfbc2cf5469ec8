//! Benchmark: `analyze` end to end from a CSV file of 1,000,000 rows (a 4-factor mixed
//! design), against merely parsing the same file with the csv crate, in the same run; and
//! peak memory (VmHWM) of the analysis for growing files, each in a fresh process, to show
//! that memory does not grow with the number of rows. Also `simulate` of 10 million rows
//! streamed to a sink.
//!
//! The means stage (precision of means, the means of the fixed term with its Tukey
//! comparisons and letters, covariance patterns, and their tables and JSON) is part of
//! `analyze`; it is also timed alone, as a share of the whole.
//!
//! `cargo bench --bench analyze` (set `EMSLAB_BENCH_ROWS` for another size). Times are
//! medians of interleaved runs, as wall time and as this thread's CPU time (from
//! /proc/thread-self/schedstat), which other processes on a shared machine disturb less.
//!
//! What the two sides do: the baseline reads every record with `csv::Reader` and touches
//! every field; `analyze` reads the file with emslab's reader (plain lines split
//! directly, quoted ones through `csv_core`), parses every response as an exact decimal,
//! sums the cells, and computes the ANOVA, EMS, tests, components with their intervals
//! and the JSON and text reports.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use emslab::data::{self, ReadOptions};
use emslab::report::{self, Format};
use emslab::simulate::{SimSpec, Simulator};
use emslab::{Design, Model, analysis};

/// 5 x 40 x 25 x 10 = 50,000 cells; `replicates` per cell.
fn design(replicates: u32) -> Design {
    Design::from_toml_str(&format!(
        r#"
title = "Benchmark: 4-factor mixed design"
response = "y"
replicates = {replicates}

[[factors]]
name = "A"
kind = "fixed"
levels = 5

[[factors]]
name = "B"
kind = "random"
levels = 40

[[factors]]
name = "C"
kind = "random"
levels = 25

[[factors]]
name = "D"
kind = "random"
levels = 10
nested_in = ["C"]
"#
    ))
    .expect("benchmark design")
}

fn write_data(path: &Path, replicates: u32, seed: u64) {
    let d = design(replicates);
    let sigma2 = [
        ("B", 2.0),
        ("C", 1.5),
        ("D(C)", 1.0),
        ("A:B", 0.5),
        ("A:C", 0.4),
        ("B:C", 0.3),
        ("A:D(C)", 0.2),
        ("Residual", 1.0),
    ];
    let mut spec = SimSpec::new(&d, Model::Restricted, &sigma2, seed).expect("spec");
    spec.mean = 250.0;
    let spec = spec
        .with_effects("A", vec![-2.0, -1.0, 0.0, 1.0, 2.0])
        .expect("effects");
    let sim = Simulator::new(spec).expect("simulator");
    let file = std::fs::File::create(path).expect("create data file");
    sim.write_csv(file, Some(4)).expect("write data");
}

/// The whole `analyze` pipeline, as the CLI runs it: read, ANOVA, EMS, tests,
/// components with intervals, and the rendered JSON and text reports.
fn analyze(path: &Path, replicates: u32) -> (usize, f64) {
    let d = design(replicates);
    let ds = data::read_csv(path, &d, &ReadOptions::default()).expect("read");
    let opts = analysis::Options {
        likelihood: analysis::Likelihood::Off,
        ..analysis::Options::default()
    };
    let input = analysis::Input::Data {
        dataset: &ds,
        rows: analysis::Rows::Kept,
    };
    let a = analysis::run(&d, input, &opts, &analysis::Cancel::none(), &mut |_| {})
        .expect("balanced analysis");
    let r = report::analysis_report(&a);
    let text = report::render(&r.document, &r.json, Format::Text, None).expect("render");
    let js = report::render(&r.document, &r.json, Format::Json, None).expect("render");
    let m = &a.balanced().expect("balanced").moments;
    (text.len() + js.len(), m.components[0].estimate)
}

/// The means stage of a balanced analysis, as `analyze` runs it: the precision table and its
/// estimates, the means with all comparisons (Tukey) and letters, the covariance patterns,
/// and their tables (text) and JSON.
fn means_stage(
    a: &analysis::Analysis,
    ds: &data::Dataset,
    adjustment: emslab::means::Adjustment,
) -> usize {
    use emslab::means::{self, covariance};
    use emslab::report::means_tables as mt;
    let b = a.balanced().expect("balanced");
    let t = &b.table;
    let p = means::precision::derive(t);
    let e = means::evaluate_precision(t, &b.moments, &p);
    let labels: Vec<Vec<String>> = ds.factors.iter().map(|f| f.labels.clone()).collect();
    let cells = means::CellSource {
        cells: &ds.cells,
        offset: ds.offset_f64(),
        labels: &labels,
    };
    let input = means::balanced::BalancedInput {
        table: t,
        moments: &b.moments,
        precision: &p,
        estimates: &e,
        adjustment,
        alpha: 0.05,
    };
    let m = means::balanced_means(&input, Some(&cells), None);
    let mut c = covariance::covariances(t, t.model);
    c.estimates = c.evaluate(&t.design, |u| b.moments.component(u).map(|x| x.estimate));
    let doc = report::Document {
        title: String::new(),
        preamble: Vec::new(),
        tables: vec![
            mt::precision_table(t, &p, Some(&e)),
            mt::means_table(&m, Some(t), Some(&p)),
            mt::comparisons_table(&m),
            mt::covariances_table(t, &c, None),
        ],
    };
    let src = mt::PrecisionSource {
        table: t,
        precision: &p,
        estimates: &e,
        symbolic: true,
    };
    let js = serde_json::to_string(&(
        mt::MeansJson::new(&m, Some(src)),
        mt::precision_json(t, &p, Some(&e), true),
        mt::covariances_json(t, &c),
    ))
    .expect("json");
    report::write_document(&doc, Format::Text).len() + js.len()
}

/// Parsing only: every record read with the csv crate, every field touched.
fn bare_parse(path: &Path) -> (u64, usize) {
    let mut rdr = csv::Reader::from_path(path).expect("open");
    let mut rec = csv::ByteRecord::new();
    let mut n = 0u64;
    let mut bytes = 0usize;
    while rdr.read_byte_record(&mut rec).expect("parse") {
        n += 1;
        bytes += rec.as_slice().len();
    }
    (n, bytes)
}

/// CPU time of this thread (ns), from /proc/thread-self/schedstat: unlike wall time it
/// does not count the time other processes hold the CPU (a shared 2-core machine).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Median wall time and median CPU time of repeated runs.
fn median<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, Option<Duration>) {
    let mut wall = Vec::with_capacity(reps);
    let mut cpu = Vec::with_capacity(reps);
    for _ in 0..reps {
        let c0 = cpu_ns();
        let t0 = Instant::now();
        black_box(f());
        wall.push(t0.elapsed());
        if let (Some(a), Some(b)) = (c0, cpu_ns()) {
            cpu.push(Duration::from_nanos(b - a));
        }
    }
    wall.sort();
    cpu.sort();
    (wall[reps / 2], (cpu.len() == reps).then(|| cpu[reps / 2]))
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    // Child modes: one measurement in a fresh process.
    if let Ok(spec) = std::env::var("EMSLAB_BENCH_CHILD") {
        let mut parts = spec.splitn(3, ':');
        let mode = parts.next().unwrap_or("");
        let arg = parts.next().unwrap_or("0");
        let rest = parts.next().unwrap_or("");
        let t0 = Instant::now();
        match mode {
            "analyze" => {
                let reps: u32 = arg.parse().unwrap_or(1);
                black_box(analyze(Path::new(rest), reps));
            }
            "parse" => {
                black_box(bare_parse(Path::new(rest)));
            }
            "read" => {
                let reps: u32 = arg.parse().unwrap_or(1);
                let d = design(reps);
                black_box(
                    data::read_csv(Path::new(rest), &d, &ReadOptions::default())
                        .map(|x| x.n_rows)
                        .ok(),
                );
            }
            "simulate" => {
                let reps: u32 = arg.parse().unwrap_or(1);
                let d = design(reps);
                let spec = SimSpec::new(&d, Model::Restricted, &[("B", 1.0), ("Residual", 1.0)], 3)
                    .expect("spec");
                let sim = Simulator::new(spec).expect("sim");
                let rows = sim.write_csv(std::io::sink(), Some(4)).expect("write");
                black_box(rows);
            }
            _ => {}
        }
        println!("{} {}", vm_hwm_kib(), t0.elapsed().as_secs_f64());
        return;
    }

    let rows: u64 = std::env::var("EMSLAB_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let cells = 50_000u64;
    let replicates = (rows / cells).max(2) as u32;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.csv");
    let t0 = Instant::now();
    write_data(&path, replicates, 1);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "data: {} rows ({} cells x {replicates}), {:.1} MB, simulated and written in {:.2} s",
        cells * u64::from(replicates),
        cells,
        size as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );

    // Warm the page cache, then alternate the two measurements.
    black_box(bare_parse(&path));
    let reps = 9;
    let mut parse = Vec::new();
    let mut full = Vec::new();
    // Interleaved, so that both see the same machine load.
    for _ in 0..3 {
        parse.push(median(reps, || bare_parse(&path)));
        full.push(median(reps, || analyze(&path, replicates)));
    }
    let pick = |v: &[(Duration, Option<Duration>)], cpu: bool| -> f64 {
        let mut x: Vec<f64> = v
            .iter()
            .map(|(w, c)| if cpu { c.unwrap_or(*w) } else { *w }.as_secs_f64() * 1e3)
            .collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    println!("                                   wall (ms)   CPU (ms)");
    println!(
        "csv crate, parse only:            {:9.1}  {:9.1}",
        pick(&parse, false),
        pick(&parse, true)
    );
    println!(
        "emslab analyze (end to end):      {:9.1}  {:9.1}",
        pick(&full, false),
        pick(&full, true)
    );
    println!(
        "ratio analyze / parse:            {:9.3}  {:9.3}   (target <= 1.5)",
        pick(&full, false) / pick(&parse, false),
        pick(&full, true) / pick(&parse, true)
    );

    // The means stage alone, on the analysis of the same file.
    let d = design(replicates);
    let ds = data::read_csv(&path, &d, &ReadOptions::default()).expect("read");
    let opts = analysis::Options {
        likelihood: analysis::Likelihood::Off,
        ..analysis::Options::default()
    };
    let input = analysis::Input::Data {
        dataset: &ds,
        rows: analysis::Rows::Kept,
    };
    let a = analysis::run(&d, input, &opts, &analysis::Cancel::none(), &mut |_| {})
        .expect("balanced analysis");
    let share = |label: &str, adj: emslab::means::Adjustment| {
        let stage = median(reps, || means_stage(&a, &ds, adj));
        let (wall, cpu) = (
            stage.0.as_secs_f64() * 1e3,
            stage.1.unwrap_or(stage.0).as_secs_f64() * 1e3,
        );
        println!(
            "{label:<34}{wall:9.2}  {cpu:9.2}   = {:.2}% / {:.2}% of analyze without it (target < 10%)",
            100.0 * wall / (pick(&full, false) - wall),
            100.0 * cpu / (pick(&full, true) - cpu),
        );
    };
    share(
        "means stage, Tukey (in analyze):",
        emslab::means::Adjustment::Tukey,
    );
    share(
        "means stage, no adjustment:",
        emslab::means::Adjustment::None,
    );

    // Peak memory for growing files, each analysed in a fresh process.
    let exe = std::env::current_exe().expect("current exe");
    println!("\npeak memory of analyze (VmHWM, fresh process each):");
    for reps in [replicates / 4, replicates, replicates * 2] {
        let reps = reps.max(2);
        let p = dir.path().join(format!("mem{reps}.csv"));
        write_data(&p, reps, 2);
        let out = Command::new(&exe)
            .env(
                "EMSLAB_BENCH_CHILD",
                format!("analyze:{reps}:{}", p.display()),
            )
            .output()
            .expect("child");
        let s = String::from_utf8_lossy(&out.stdout);
        let mut it = s.split_whitespace();
        let kib: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let secs: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        println!(
            "  {:>9} rows ({:6.1} MB file): {:7.1} MB peak, {:.2} s",
            cells * u64::from(reps),
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
            kib / 1024.0,
            secs
        );
        let _ = std::fs::remove_file(&p);
    }
    // Simulation streams: 10 million rows to a sink.
    let out = Command::new(&exe)
        .env("EMSLAB_BENCH_CHILD", "simulate:200:")
        .output()
        .expect("child");
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace();
    let kib: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let secs: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    println!(
        "\nsimulate 10,000,000 rows as CSV to a sink: {:.1} MB peak, {:.2} s",
        kib / 1024.0,
        secs
    );
    let _ = std::io::stdout().flush();
}
