//! Benchmark: EMS, test denominators and estimators for large designs, and `emslab ems`
//! end to end.
//!
//! `cargo bench --bench ems` (release profile). Two parts:
//!
//! 1. Derivation alone: the median of repeated runs of `derive`, as a ratio to a baseline
//!    measured in the same run (filling the subscript table: one visit per row x column,
//!    the least work any derivation must do).
//! 2. End to end on crossed designs of 10 and 12 two-level factors (alternately fixed and
//!    random, two replicates; the design files are written by [`crossed_toml`]) in both
//!    models: the `emslab` binary's wall time with `--format json` to a null sink; then,
//!    in a child process per case (so that its peak memory is its own), the same pipeline
//!    through the library with each phase timed and the peak resident memory (VmHWM)
//!    read from /proc/self/status; and, in the same child, the time a bare serializer
//!    (serde_json writing an already built `Value` of the same report) takes to write the
//!    same bytes: the floor for any report of that size.
//!
//! `EMSLAB_BENCH_FACTORS=10` limits part 2 to the listed factor counts (comma-separated).

use std::hint::black_box;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emslab::cas::EngineOutput;
use emslab::design::{DesignSpec, FactorSpec, Kind};
use emslab::ems::{Model, derive};
use emslab::report::{self, EmsOptions, Format};
use emslab::{Design, EmsTable};

const CHILD: &str = "EMSLAB_BENCH_CHILD";

fn median_time<T>(reps: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            black_box(f());
            t0.elapsed()
        })
        .collect();
    times.sort();
    times[reps / 2]
}

fn crossed(n: usize) -> DesignSpec {
    DesignSpec {
        title: format!("{n}-factor crossed mixed"),
        response: None,
        replicates: Some(2),
        factors: (0..n)
            .map(|i| FactorSpec {
                name: format!("F{i}"),
                kind: if i % 2 == 0 {
                    Kind::Fixed
                } else {
                    Kind::Random
                },
                levels: Some(2 + (i % 3) as u32),
                nested_in: Vec::new(),
                symbol: None,
                role: None,
            })
            .collect(),
        terms: None,
    }
}

/// The design file of `k` crossed two-level factors, alternately fixed and random, two
/// replicates: the generator of the end-to-end cases (and of the measurements).
pub fn crossed_toml(k: usize) -> String {
    let mut s = format!("title = \"{k} crossed two-level factors\"\nreplicates = 2\n");
    for i in 0..k {
        let kind = if i % 2 == 0 { "fixed" } else { "random" };
        s.push_str(&format!(
            "\n[[factors]]\nname = \"F{i}\"\nkind = \"{kind}\"\nlevels = 2\n"
        ));
    }
    s
}

fn nested_chain(n: usize) -> DesignSpec {
    DesignSpec {
        title: format!("{n}-level nested chain"),
        response: None,
        replicates: Some(2),
        factors: (0..n)
            .map(|i| FactorSpec {
                name: format!("L{i}"),
                kind: if i == 0 { Kind::Fixed } else { Kind::Random },
                levels: Some(3),
                nested_in: if i == 0 {
                    Vec::new()
                } else {
                    vec![format!("L{}", i - 1)]
                },
                symbol: None,
                role: None,
            })
            .collect(),
        terms: None,
    }
}

/// Baseline: visit every cell of the subscript table once.
fn table_fill(d: &Design) -> u64 {
    let terms = d.terms_with_residual();
    let mut acc = 0u64;
    for t in &terms {
        for c in 0..=d.n_factors() {
            acc += u64::from(t.live.contains(c)) * 2 + u64::from(t.dead.contains(c));
        }
    }
    acc
}

fn derive_report(name: &str, spec: DesignSpec, reps: usize) {
    let design = match Design::try_from(spec.clone()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{name}: {e}");
            return;
        }
    };
    let base = median_time(reps, || table_fill(&design));
    let validate = median_time(reps, || Design::try_from(spec.clone()));
    for model in [Model::Restricted, Model::Unrestricted] {
        let derive_t = median_time(reps, || derive(&design, model));
        let t: EmsTable = derive(&design, model);
        let quasi = t
            .tests
            .iter()
            .filter(|x| x.kind == emslab::ems::TestKind::Quasi)
            .count();
        let entries: usize = t.ems.iter().map(Vec::len).sum();
        println!(
            "{name:28} {:12} rows {:5} EMS entries {:7}  validate {:>9.3} ms  derive {:>9.3} ms  (baseline table fill {:>8.4} ms; derive/baseline {:>7.0}x; {quasi} quasi-F)",
            model.as_str(),
            t.terms.len(),
            entries,
            validate.as_secs_f64() * 1e3,
            derive_t.as_secs_f64() * 1e3,
            base.as_secs_f64() * 1e3,
            derive_t.as_secs_f64() / base.as_secs_f64().max(1e-9),
        );
    }
}

/// A null sink that counts the bytes written.
struct Counting(usize);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Peak resident memory of this process, kB (Linux).
fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) of this process so far, ms (Linux: /proc/self/stat, in clock
/// ticks of 10 ms): on a busy machine it shows the work apart from the waiting.
fn cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (in parentheses, which may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The child: `emslab ems DESIGN --model M --format json` through the library, each phase
/// timed, written to a null sink; then the bare serializer on the same report.
fn child(job: &str) {
    let mut parts = job.split(':');
    let path = parts.next().unwrap_or_default();
    let model = match parts.next() {
        Some("unrestricted") => Model::Unrestricted,
        _ => Model::Restricted,
    };
    let t0 = Instant::now();
    let design = match emslab::io::read_design(std::path::Path::new(path)) {
        Ok(d) => d,
        Err(e) => {
            println!("error={e}");
            return;
        }
    };
    let t1 = Instant::now();
    let out = EngineOutput::builtin(&design, model);
    let t2 = Instant::now();
    let (doc, json) = report::ems_report(&out, EmsOptions::default());
    let t3 = Instant::now();
    // Written as the binary writes standard output: streamed, counted on the way.
    let mut sink = Counting(0);
    let _ = report::write_report(&mut sink, &doc, &json, Format::Json, None);
    let t4 = Instant::now();
    let bytes = sink.0;
    let hwm = vm_hwm_kb().unwrap_or(0);
    // The floor: serde_json writing the same report from a Value built beforehand (not
    // timed, and after the peak memory was read).
    let value = serde_json::to_value(&json).unwrap_or_default();
    let cpu = cpu_ms().unwrap_or(f64::NAN);
    let entries: usize = out.table.ems.iter().map(Vec::len).sum();
    let bare = median_time(3, || {
        let mut w = std::io::BufWriter::new(std::io::sink());
        serde_json::to_writer_pretty(&mut w, &value).map(|()| w.flush())
    });
    println!(
        "read={:.3} derive={:.3} report={:.3} render={:.3} total={:.3} cpu={cpu:.0} bare={:.3} bytes={} rows={} entries={} hwm_kb={hwm}",
        ms(t1 - t0),
        ms(t2 - t1),
        ms(t3 - t2),
        ms(t4 - t3),
        ms(t4 - t0),
        ms(bare),
        bytes,
        out.table.terms.len(),
        entries,
    );
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("?")
}

fn end_to_end(k: usize, dir: &std::path::Path) {
    let path = dir.join(format!("crossed{k}.toml"));
    if let Err(e) = std::fs::write(&path, crossed_toml(k)) {
        eprintln!("{}: {e}", path.display());
        return;
    }
    let exe = std::env::current_exe().unwrap_or_default();
    for model in ["restricted", "unrestricted"] {
        let reps = if k <= 10 { 3 } else { 1 };
        let binary = median_time(reps, || {
            Command::new(env!("CARGO_BIN_EXE_emslab"))
                .args(["ems", &path.display().to_string(), "--model", model])
                .args(["--format", "json"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
        });
        let out = Command::new(&exe)
            .env(CHILD, format!("{}:{model}", path.display()))
            .output();
        let line = out
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let hwm_mb = field(&line, "hwm_kb").parse::<f64>().unwrap_or(f64::NAN) / 1024.0;
        let total: f64 = field(&line, "total").parse().unwrap_or(f64::NAN);
        let bare: f64 = field(&line, "bare").parse().unwrap_or(f64::NAN);
        let bytes: f64 = field(&line, "bytes").parse().unwrap_or(f64::NAN);
        println!(
            "{k:2} crossed factors {model:12} rows {:>5} EMS entries {:>7} JSON {:>7.1} MB | binary {:>9.1} ms | library: read {:>7} ms, derive {:>8} ms, report {:>9} ms, render {:>8} ms (child CPU so far {} ms); peak memory {:>7.1} MB | bare serializer {:>8.1} ms (binary/bare {:.1}x, library/bare {:.1}x)",
            field(&line, "rows"),
            field(&line, "entries"),
            bytes / 1e6,
            ms(binary),
            field(&line, "read"),
            field(&line, "derive"),
            field(&line, "report"),
            field(&line, "render"),
            field(&line, "cpu"),
            hwm_mb,
            bare,
            ms(binary) / bare,
            total / bare,
        );
    }
}

fn main() {
    if let Ok(job) = std::env::var(CHILD) {
        child(&job);
        return;
    }
    derive_report(
        "12-factor crossed two-level",
        {
            let mut s = crossed(12);
            s.factors.iter_mut().for_each(|f| f.levels = Some(2));
            s
        },
        5,
    );
    derive_report("10-factor crossed mixed", crossed(10), 15);
    derive_report("6-level nested chain", nested_chain(6), 201);
    derive_report("3-factor crossed mixed", crossed(3), 2001);

    let factors: Vec<usize> = std::env::var("EMSLAB_BENCH_FACTORS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 12]);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("no temporary folder: {e}");
            return;
        }
    };
    for k in factors {
        end_to_end(k, dir.path());
    }
}
