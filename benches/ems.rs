//! Benchmark: deriving EMS, test denominators and estimators for large designs.
//!
//! `cargo bench --bench ems`. Each figure is the median of repeated runs, reported with
//! its ratio to a baseline measured in the same run: filling the subscript table (one
//! visit per row x column), the least work any derivation must do.

use std::hint::black_box;
use std::time::{Duration, Instant};

use emslab::design::{DesignSpec, FactorSpec, Kind};
use emslab::ems::{Model, derive};
use emslab::{Design, EmsTable};

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

fn report(name: &str, spec: DesignSpec, reps: usize) {
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
        println!(
            "{name:28} {:12} rows {:5}  validate {:>9.3} ms  derive {:>9.3} ms  (baseline table fill {:>8.4} ms; derive/baseline {:>7.0}x; {quasi} quasi-F)",
            model.as_str(),
            t.terms.len(),
            validate.as_secs_f64() * 1e3,
            derive_t.as_secs_f64() * 1e3,
            base.as_secs_f64() * 1e3,
            derive_t.as_secs_f64() / base.as_secs_f64().max(1e-9),
        );
    }
}

fn main() {
    report("10-factor crossed mixed", crossed(10), 15);
    report("6-level nested chain", nested_chain(6), 201);
    report("3-factor crossed mixed", crossed(3), 2001);
}
