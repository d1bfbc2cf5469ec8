//! Benchmark: the power of every test of a 10-factor crossed design, and a solve over
//! 2..100 levels of a random factor.
//!
//! `cargo bench --bench power`. Each figure is the median of repeated runs. The EMS
//! derivation (its own scaling is measured by `benches/ems.rs`) is timed separately from the
//! power evaluation that a view repeats on every edit.

use std::hint::black_box;
use std::time::{Duration, Instant};

use emslab::Design;
use emslab::design::{DesignSpec, FactorSpec, Kind};
use emslab::ems::{Model, derive};
use emslab::power::{self, PowerSpec, SolveSpec, Vary, solve::power_at_sizes};

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

/// F0..F9, even ones fixed with 2 levels, odd ones random with 3; 2 replicates; every
/// interaction (1023 terms).
fn crossed(n: usize) -> Design {
    let spec = DesignSpec {
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
                levels: Some(if i % 2 == 0 { 2 } else { 3 }),
                nested_in: Vec::new(),
                symbol: None,
                role: None,
            })
            .collect(),
        terms: None,
    };
    Design::try_from(spec).expect("design")
}

fn main() {
    let d = crossed(10);
    let model = Model::Restricted;
    let t_derive = median_time(3, || derive(&d, model));
    let table = derive(&d, model);
    // Every random term 0.1, Residual 1; each fixed main effect (-0.5, 0.5).
    let mut sigma2: Vec<(String, f64)> = table
        .terms
        .iter()
        .filter(|t| t.random && t.name != "Residual")
        .map(|t| (t.name.clone(), 0.1))
        .collect();
    sigma2.push(("Residual".into(), 1.0));
    let s2: Vec<(&str, f64)> = sigma2.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let effects: Vec<(&str, Vec<f64>)> = (0..10)
        .step_by(2)
        .map(|i| (d.factors[i].name.as_str(), vec![-0.5, 0.5]))
        .collect();
    let names: Vec<String> = effects.iter().map(|e| e.0.to_string()).collect();
    let effects: Vec<(&str, Vec<f64>)> = names
        .iter()
        .zip(effects)
        .map(|(n, e)| (n.as_str(), e.1))
        .collect();
    let spec = PowerSpec::new(&d, model, &s2, &effects, 0.05).expect("inputs");
    let t_table = median_time(5, || power::power(&table, &spec));
    let result = power::power(&table, &spec);
    let tested = result.rows.iter().filter(|r| r.power.is_some()).count();

    // Solve: the level count of F1 (random) for the test of F0 (fixed, tested over F0:F1).
    let f0 = d.term_index("F0").expect("F0");
    let t_curve = median_time(5, || {
        power_at_sizes(&table, &spec, Vary::Factor(1), f0, 2..=100)
    });
    let curve = power_at_sizes(&table, &spec, Vary::Factor(1), f0, 2..=100);
    let target = curve[curve.len() / 2].1.min(0.999);
    let s = SolveSpec {
        vary: Vary::Factor(1),
        term: f0,
        target,
    };
    let t_solve = median_time(5, || power::solve(&table, &spec, s));
    let solution = power::solve(&table, &spec, s).expect("solve");

    println!(
        "10-factor crossed design: {} terms, {} tested",
        table.terms.len(),
        tested
    );
    println!(
        "  derive (EMS, tests)          {:>10.3} ms",
        t_derive.as_secs_f64() * 1e3
    );
    println!(
        "  power of every test          {:>10.3} ms",
        t_table.as_secs_f64() * 1e3
    );
    println!(
        "  power of F0 at F1 = 2..100   {:>10.3} ms",
        t_curve.as_secs_f64() * 1e3
    );
    println!(
        "  solve (target {:.3}: {:?} levels, curve {} points) {:>8.3} ms",
        target,
        solution.size,
        solution.curve.len(),
        t_solve.as_secs_f64() * 1e3
    );
}
