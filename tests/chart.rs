//! Chart data of an analysis (src/chart/analysis.rs): the residual plots' normal scores
//! and histogram.

mod common;

use emslab::chart::analysis::{histogram, normal_scores};

#[test]
fn blom_normal_scores_match_r() {
    // R 4.2.2: print(qnorm(ppoints(5)), digits = 10)
    // -1.1797611176 -0.4972005707 0.0000000000 0.4972005707 1.1797611176
    // (ppoints(n) = (1:n - 3/8)/(n + 1/4) for n <= 10: Blom's positions.)
    let r = [
        -1.1797611176,
        -0.4972005707,
        0.0,
        0.4972005707,
        1.1797611176,
    ];
    for (a, b) in normal_scores(5).iter().zip(r) {
        assert!((a - b).abs() < common::NORMAL_SCORES_VS_R, "{a} {b}");
    }
}

#[test]
fn the_histogram_counts_every_value_in_sturges_bins() {
    let v: Vec<f64> = (0..100).map(|i| f64::from(i) / 10.0).collect();
    let bars = histogram(&v);
    // Sturges: ceil(log2 100) + 1 = 8 bins.
    assert_eq!(bars.len(), 8);
    assert_eq!(bars.iter().map(|b| b.height).sum::<f64>(), 100.0);
}
