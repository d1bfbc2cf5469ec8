//! REML at scale (issue 17): the search over starts ends at a verified optimum unless the
//! multi-start check is asked for, and the log says which.
//!
//! Reference values: the Machines data (`tests/data/reml/machines.csv`, balanced) and their
//! unrestricted moment estimates to 10 digits (Worker 22.85844444, Machine:Worker
//! 13.90945679, Residual 0.9246296296), which the REML optimum equals: lme4 1.1-31 at its
//! polished optimum gives 22.8584444803963, 13.9094567767015, 0.924629629724998
//! (`tests/data/reml_inference/reference.csv`, dataset `machines`).

#![allow(clippy::unwrap_used)]

mod common;

use common::{CRITERION_SAME_OPTIMUM, REML_EQUALS_MOMENTS_RULE};
use emslab::Design;
use emslab::reml::{RemlOptions, fit};

const MACHINES: &str = r#"
[[factors]]
name = "Machine"
kind = "fixed"
[[factors]]
name = "Worker"
kind = "random"
"#;

/// Machines, coded by sorted labels (Worker 1..6, Machine A..C).
fn machines() -> (Design, Vec<Vec<u32>>, Vec<f64>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reml/machines.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let (mut codes, mut y) = (vec![Vec::new(), Vec::new()], Vec::new());
    for r in rdr.records() {
        let r = r.unwrap();
        let machine = u32::from(r[1].as_bytes()[0] - b'A');
        let worker: u32 = r[0].parse::<u32>().unwrap() - 1;
        codes[0].push(machine);
        codes[1].push(worker);
        y.push(r[2].parse().unwrap());
    }
    (Design::from_toml_str(MACHINES).unwrap(), codes, y)
}

/// The moment estimates of balanced Machines (the reference data's README).
fn moments() -> Vec<(String, f64)> {
    vec![
        ("Worker".into(), 22.85844444),
        ("Machine:Worker".into(), 13.90945679),
        ("Residual".into(), 0.9246296296),
    ]
}

#[test]
fn a_verified_moment_start_ends_the_search() {
    let (d, codes, y) = machines();
    let o = RemlOptions {
        start: Some(moments()),
        profile: false,
        ..RemlOptions::default()
    };
    let f = fit(&d, &codes, &y, &o).unwrap();
    let log = &f.optimizer;
    assert!(f.converged, "{}", log.message);
    assert_eq!(log.verified_start, Some(0), "{}", log.message);
    assert_eq!(log.starts[0].label, "moments");
    assert!(log.starts[0].run);
    assert!(log.starts[1..].iter().all(|s| !s.run && s.evaluations == 0));
    assert!(
        log.message.contains("later start(s) not run"),
        "{}",
        log.message
    );
    // The moments printed to 10 digits are the optimum to ~1e-9: a few Newton steps.
    assert!(log.starts[0].iterations <= 3, "{:?}", log.starts[0]);
    for (t, v) in moments() {
        let got = f.variance(&t).unwrap();
        assert!(
            (got - v).abs() <= REML_EQUALS_MOMENTS_RULE * v,
            "{t}: {got} vs {v}"
        );
    }
}

#[test]
fn the_multi_start_check_runs_every_start() {
    let (d, codes, y) = machines();
    let o = RemlOptions {
        start: Some(moments()),
        reml_starts: Some(4),
        profile: false,
        ..RemlOptions::default()
    };
    let f = fit(&d, &codes, &y, &o).unwrap();
    let log = &f.optimizer;
    assert_eq!(log.starts.len(), 4);
    assert!(log.starts.iter().all(|s| s.run), "{:?}", log.starts);
    assert_eq!(log.verified_start, None);
    assert!(
        log.message.contains("multi-start check: 4 starts run"),
        "{}",
        log.message
    );
    for s in &log.starts {
        assert!(
            (s.criterion_end - f.criterion).abs() <= CRITERION_SAME_OPTIMUM,
            "{s:?}"
        );
    }
    // Without the moment start the first start is the variance decomposition, and it is
    // verified too.
    let plain = fit(
        &d,
        &codes,
        &y,
        &RemlOptions {
            profile: false,
            ..RemlOptions::default()
        },
    )
    .unwrap();
    assert_eq!(plain.optimizer.verified_start, Some(0));
    assert!((plain.criterion - f.criterion).abs() <= CRITERION_SAME_OPTIMUM);
}

/// The same rows visited in passes (`fit_source`) give the same fit as the columns, with the
/// residuals in row order; rows that change between passes are an error, not a wrong fit.
#[test]
fn rows_from_a_source_give_the_same_fit() {
    use emslab::reml::{RemlError, RowSource, fit_source};
    let (d, codes, y) = machines();
    let o = RemlOptions {
        profile: false,
        ..RemlOptions::default()
    };
    let a = fit(&d, &codes, &y, &o).unwrap();
    /// Rows generated on every visit (nothing held but the generator's parameters).
    struct Rows<'a> {
        codes: &'a [Vec<u32>],
        y: &'a [f64],
        visits: usize,
        change_on: Option<usize>,
    }
    impl RowSource for Rows<'_> {
        fn visit(&mut self, row: &mut emslab::reml::RowVisitor<'_>) -> Result<(), RemlError> {
            self.visits += 1;
            for o in 0..self.y.len() {
                let mut r = [self.codes[0][o], self.codes[1][o]];
                if self.change_on == Some(self.visits) {
                    r[1] += 100;
                }
                row(&r, self.y[o])?;
            }
            Ok(())
        }
    }
    let mut src = Rows {
        codes: &codes,
        y: &y,
        visits: 0,
        change_on: None,
    };
    let b = fit_source(&d, &mut src, &o).unwrap();
    // Codes, levels, the mean of y, cross-products and residuals: four passes.
    assert_eq!(src.visits, 4);
    assert_eq!(a.criterion, b.criterion);
    assert_eq!(a.theta, b.theta);
    assert_eq!(a.residuals, b.residuals);
    let names = |f: &emslab::reml::RemlFit| -> Vec<String> {
        f.random_effects
            .iter()
            .flat_map(|r| r.levels.iter().map(|l| l.level.clone()))
            .collect()
    };
    assert_eq!(names(&a), names(&b));
    let mut changed = Rows {
        codes: &codes,
        y: &y,
        visits: 0,
        change_on: Some(3),
    };
    assert_eq!(
        fit_source(&d, &mut changed, &o).unwrap_err(),
        RemlError::SourceChanged
    );
}
