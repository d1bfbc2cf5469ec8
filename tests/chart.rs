//! Chart data of an analysis (src/chart/analysis.rs): the residual plots' normal scores
//! and histogram; the power curves; the plot of means (src/chart/means.rs).

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

/// The power curves of the Plan view (src/chart/power.rs): two_factor_mixed (restricted),
/// σ²(B) = 0.5, σ²(A:B) = 0.25, σ² = 1, effects of A -1, 0, 1 (tests/data/power/exact.csv,
/// row `crossed`).
#[test]
fn power_curves_draw_the_curve_and_the_solution() {
    use emslab::chart::SeriesData;
    use emslab::chart::power::{effect_curve_panel, single, solve_panel};
    use emslab::power::{self, PowerSpec, SolveSpec, Vary};

    let d = emslab::io::read_design(&common::design_path("two_factor_mixed.toml")).expect("design");
    let m = emslab::Model::Restricted;
    let spec = PowerSpec::new(
        &d,
        m,
        &[("B", 0.5), ("A:B", 0.25), ("Residual", 1.0)],
        &[("A", vec![-1.0, 0.0, 1.0])],
        0.05,
    )
    .expect("inputs");
    let table = emslab::derive(&d, m);
    let curve = power::effect_curve(&table, &spec, &power::CURVE_MULTIPLIERS);
    let panel = effect_curve_panel(&table, &curve, 0.05);
    // One line per test (A, B, A:B) and the level α.
    assert_eq!(panel.series.len(), 4);
    assert_eq!(panel.series[0].name, "A");
    let SeriesData::Line { points, .. } = &panel.series[0].data else {
        panic!("a line")
    };
    let xs: Vec<f64> = points.iter().map(|p| p[0]).collect();
    assert_eq!(xs, power::CURVE_MULTIPLIERS.to_vec());
    let at_one = points.iter().find(|p| p[0] == 1.0).expect("m = 1")[1];
    // scipy.stats.ncf.sf(f.isf(0.05, 2, 6), 2, 6, 32/3) = 0.6078235989119101.
    assert!((at_one - 0.6078235989119101).abs() <= common::POWER_VS_SCIPY);
    assert!(matches!(
        panel.series[3].data,
        SeriesData::Level { value, .. } if value == 0.05
    ));

    // How many levels of B for power 0.8 in the test of A: the marker sits at the answer.
    let s = power::solve(
        &table,
        &spec,
        SolveSpec {
            vary: Vary::Factor(1),
            term: 0,
            target: 0.8,
        },
    )
    .expect("solves");
    let n = s.size.expect("reachable");
    let brute = power::solve::power_at_sizes(&table, &spec, Vary::Factor(1), 0, 2..=n);
    assert!(brute[..brute.len() - 1].iter().all(|&(_, p)| p < 0.8));
    assert!(brute[brute.len() - 1].1 >= 0.8);
    let panel = solve_panel(&table, &d, &s);
    assert_eq!(panel.x.label, "Levels of B");
    let SeriesData::Line { points, .. } = &panel.series[0].data else {
        panic!("a line")
    };
    let expected: Vec<[f64; 2]> = s.curve.iter().map(|&(k, p)| [f64::from(k), p]).collect();
    assert_eq!(points, &expected);
    assert!(matches!(
        panel.series[1].data,
        SeriesData::Level { value, .. } if value == 0.8
    ));
    assert_eq!(
        panel.series[2].data,
        SeriesData::Points(vec![[f64::from(n), s.power]])
    );
    // Exported as the other figures are.
    let svg = emslab::chart::render::to_svg(&single(panel)).expect("svg");
    assert!(svg.contains("<svg") && svg.contains("Levels of B"));
}

/// The plot of means (src/chart/means.rs) of machines: one bar per level at its mean and
/// t interval as the analysis has them, the letters beside the level names, the grand mean
/// as a dashed line; a mean without a standard error is drawn as a bare point, with a note.
#[test]
fn the_plot_of_means_draws_each_mean_with_its_interval() {
    use emslab::analysis::{self, Likelihood};
    use emslab::chart::means::means_figure;
    use emslab::chart::{Scale, SeriesData};
    let dir = env!("CARGO_MANIFEST_DIR");
    let d = emslab::io::read_design(std::path::Path::new(&format!(
        "{dir}/designs/machines.toml"
    )))
    .expect("machines.toml reads");
    let ds = emslab::data::read_csv(
        std::path::Path::new(&format!("{dir}/designs/machines.csv")),
        &d,
        &Default::default(),
    )
    .expect("machines.csv reads");
    let opts = analysis::Options {
        likelihood: Likelihood::Off,
        ..Default::default()
    };
    let a = analysis::analyze_moments(&d, &ds, &opts).expect("machines analyses");
    let mut m = a.means.clone().expect("machines has a fixed term");
    assert!(means_figure(&m, 1, "score").is_none(), "one fixed term");
    let fig = means_figure(&m, 0, "score").expect("Machine");
    let p = &fig.panels[0];
    assert_eq!(p.y.label, "score");
    assert_eq!(
        p.x.scale,
        Scale::Categories(vec!["A (a)".into(), "B (b)".into(), "C (b)".into()])
    );
    let SeriesData::Intervals(bars) = &p.series[0].data else {
        panic!("interval bars first")
    };
    for (k, (bar, x)) in bars.iter().zip(&m.terms[0].means).enumerate() {
        let ci = x.ci.as_ref().expect("an interval");
        assert_eq!(
            (bar.x, bar.center, bar.lower, bar.upper),
            (k as f64, x.mean, ci.lower, ci.upper)
        );
    }
    let grand = m.grand_mean.as_ref().expect("grand mean").mean;
    assert!(p.series.iter().any(|s| matches!(
        s.data,
        SeriesData::Level { value, dashed: true, .. } if value == grand
    )));
    // No standard error: a point without a bar.
    m.terms[0].means[1].se = None;
    m.terms[0].means[1].ci = None;
    let p = &means_figure(&m, 0, "score").expect("Machine").panels[0];
    let SeriesData::Intervals(bars) = &p.series[0].data else {
        panic!("interval bars")
    };
    assert_eq!(bars.len(), 2);
    assert!(
        p.series
            .iter()
            .any(|s| s.data == SeriesData::Points(vec![[1.0, m.terms[0].means[1].mean]]))
    );
    assert!(p.notes.iter().any(|n| n.contains("no standard error")));
}
