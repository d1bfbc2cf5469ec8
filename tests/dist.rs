//! The distributions of src/dist against scipy 1.17.1 and R 4.2.2 values computed by
//! tests/data/dist/make_reference.py and make_tukey_r.R (see tests/data/README.md).

mod common;

use std::path::PathBuf;

use common::{NONCENTRAL_F, R_PTUKEY, STUDENTIZED_RANGE, STUDENTIZED_RANGE_QUANTILE};
use emslab::dist;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dist")
        .join(name)
}

/// Rows of a reference CSV as numbers ("inf" is infinity, "NA" NaN).
fn rows(name: &str) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(data(name)).expect("reference file");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| match v.trim() {
                    "inf" | "Inf" => f64::INFINITY,
                    "NA" => f64::NAN,
                    s => s.parse().expect("number"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn noncentral_f_matches_scipy() {
    // scipy.stats.ncf.cdf / .sf (x, d1, d2, ncp), ncp from 0.5 to 1e5.
    let rows = rows("ncf.csv");
    assert!(rows.len() > 1000);
    let mut worst = 0.0f64;
    for r in &rows {
        let (x, d1, d2, ncp, cdf, sf) = (r[0], r[1], r[2], r[3], r[4], r[5]);
        let (c, s) = dist::ncf_tails(x, d1, d2, ncp);
        let err = (c - cdf).abs().max((s - sf).abs());
        worst = worst.max(err);
        assert!(
            err <= NONCENTRAL_F,
            "ncf x {x} d1 {d1} d2 {d2} ncp {ncp}: ours ({c}, {s}), scipy ({cdf}, {sf})"
        );
    }
    eprintln!("noncentral F: worst absolute difference from scipy {worst:.2e}");
}

#[test]
fn studentized_range_matches_scipy() {
    // scipy.stats.studentized_range.cdf(q, k, df): k 2..20, 50, 100; df 1.5 .. 1000 and
    // inf; q near the 0.001 .. 0.999 quantiles.
    let rows = rows("tukey.csv");
    assert!(rows.len() > 1800);
    let mut worst = (0.0f64, 0.0, 0.0, 0.0);
    for (i, r) in rows.iter().enumerate() {
        let (k, df, q, cdf) = (r[0], r[1], r[3], r[4]);
        let ours = dist::ptukey(q, k, df);
        let err = (ours - cdf).abs();
        if err > worst.0 {
            worst = (err, k, df, q);
        }
        assert!(
            err <= STUDENTIZED_RANGE,
            "ptukey({q}, {k}, {df}) = {ours}, scipy {cdf}"
        );
        // The upper tail is a separate integral: the two add to one (every fourth point).
        if i % 4 == 0 {
            let upper = dist::ptukey_sf(q, k, df);
            assert!(
                (ours + upper - 1.0).abs() <= common::COMPLEMENTARY_TAILS,
                "tails at {q}, {k}, {df}"
            );
        }
    }
    eprintln!("studentized range: worst absolute difference from scipy {worst:?}");
}

#[test]
fn studentized_range_matches_r_where_r_is_accurate() {
    // R 4.2.2: ptukey(q, k, df) at the points of tukey.csv with df >= 20.
    let rows = rows("tukey_r.csv");
    let mut checked = 0;
    for r in rows.iter().filter(|r| r[1] >= 20.0) {
        let (k, df, q, r_cdf) = (r[0], r[1], r[2], r[3]);
        let ours = dist::ptukey(q, k, df);
        assert!(
            (ours - r_cdf).abs() <= R_PTUKEY,
            "ptukey({q}, {k}, {df}) = {ours}, R {r_cdf}"
        );
        checked += 1;
    }
    assert!(checked > 900);
}

#[test]
fn studentized_range_quantile_matches_scipy() {
    // scipy.stats.studentized_range.ppf(p, k, df).
    for r in rows("tukey_ppf.csv") {
        let (p, k, df, q) = (r[0], r[1], r[2], r[3]);
        let ours = dist::qtukey(p, k, df);
        assert!(
            ((ours - q) / q).abs() <= STUDENTIZED_RANGE_QUANTILE,
            "qtukey({p}, {k}, {df}) = {ours}, scipy {q}"
        );
    }
}
