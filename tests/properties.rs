//! Properties of the whole pipeline (CSV → cells → ANOVA → components) on simulated data:
//! estimates do not change when rows are shuffled and levels relabelled (nested factors
//! switching between restarting and globally unique labels), and scaling y by c scales
//! every component by c². Unbiasedness over many seeds is in `tests/moments.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use common::{COMPONENT_IDENTITY, design_path};
use emslab::data::{CellAccumulator, ReadOptions, read_csv_from};
use emslab::simulate::{SimSpec, Simulator};
use emslab::{Design, Model, anova, derive, moments};
use proptest::prelude::*;

const DESIGNS: [&str; 6] = [
    "pastes.toml",
    "machines.toml",
    "nested_factorial.toml",
    "nested_chain.toml",
    "split_plot.toml",
    "three_factor_mixed.toml",
];

fn rows(design: &Design, model: Model, seed: u64) -> Vec<(Vec<u32>, f64)> {
    let sigma2: Vec<(String, f64)> = design
        .terms_with_residual()
        .iter()
        .enumerate()
        .filter(|(_, t)| t.random)
        .map(|(k, t)| (t.name.clone(), 0.5 + k as f64))
        .collect();
    let s: Vec<(&str, f64)> = sigma2.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut spec = SimSpec::new(design, model, &s, seed).unwrap();
    spec.mean = 100.0;
    let sim = Simulator::new(spec).unwrap();
    let mut out = Vec::new();
    sim.for_each(|c, y| out.push((c.to_vec(), y)));
    out
}

fn estimates_from_csv(design: &Design, model: Model, csv: &str) -> Vec<(usize, f64)> {
    let ds = read_csv_from(csv.as_bytes(), "p.csv", design, &ReadOptions::default()).unwrap();
    ds.require_balanced().unwrap();
    let sized = ds.sized_design(design).unwrap();
    let a = anova::from_cells(&sized, &ds.cells).unwrap();
    moments::estimates(&derive(&sized, model), &a)
}

fn estimates_from_rows(
    design: &Design,
    model: Model,
    rows: &[(Vec<u32>, f64)],
) -> Vec<(usize, f64)> {
    let radix: Vec<u32> = design.factors.iter().map(|f| f.levels.unwrap()).collect();
    let mut acc = CellAccumulator::new(radix);
    for (c, y) in rows {
        acc.push(c, *y);
    }
    let a = anova::from_cells(design, &acc.finish()).unwrap();
    moments::estimates(&derive(design, model), &a)
}

/// A label for a level: `perm` scrambles the codes; with `unique`, a nested factor's label
/// also names its parents' codes (globally unique coding).
fn label(design: &Design, f: usize, codes: &[u32], perm: u64, unique: bool) -> String {
    let scrambled = (u64::from(codes[f]) ^ perm.rotate_left(f as u32 * 7)) & 0xFFFF;
    let mut s = format!("{}{scrambled}", ["x", "lvl", "Q"][f % 3]);
    if unique {
        for a in design.factors[f].ancestors.iter() {
            s.push_str(&format!("-{}", codes[a]));
        }
    }
    s
}

fn to_csv(design: &Design, rows: &[&(Vec<u32>, f64)], perm: u64, unique: bool) -> String {
    let mut s: String = design
        .factors
        .iter()
        .map(|f| f.name.clone())
        .collect::<Vec<_>>()
        .join(",");
    s.push(',');
    s.push_str(design.response.as_deref().unwrap_or("y"));
    s.push('\n');
    for (codes, y) in rows {
        for f in 0..design.factors.len() {
            s.push_str(&label(design, f, codes, perm, unique));
            s.push(',');
        }
        s.push_str(&format!("{y}\n"));
    }
    s
}

fn agree(a: &[(usize, f64)], b: &[(usize, f64)], scale: f64) -> Result<(), String> {
    let size = a.iter().map(|x| x.1.abs()).fold(1.0, f64::max);
    for ((u, x), (v, y)) in a.iter().zip(b) {
        if u != v || (x * scale - y).abs() > COMPONENT_IDENTITY * size * scale {
            return Err(format!("component {u}: {} vs {y}", x * scale));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn shuffling_rows_and_relabelling_levels_changes_nothing(
        which in 0usize..DESIGNS.len(),
        unrestricted in any::<bool>(),
        seed in any::<u64>(),
        order_seed in any::<u64>(),
        perm in any::<u64>(),
        unique in any::<bool>(),
    ) {
        let design = emslab::io::read_design(&design_path(DESIGNS[which])).unwrap();
        let model = if unrestricted { Model::Unrestricted } else { Model::Restricted };
        let data = rows(&design, model, seed);
        let in_order: Vec<&(Vec<u32>, f64)> = data.iter().collect();
        let base = estimates_from_csv(&design, model, &to_csv(&design, &in_order, 0, false));
        // Shuffle (Fisher-Yates with a small generator).
        let mut shuffled = in_order.clone();
        let mut state = order_seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let other = estimates_from_csv(&design, model, &to_csv(&design, &shuffled, perm, unique));
        prop_assert!(agree(&base, &other, 1.0).is_ok(), "{:?}", agree(&base, &other, 1.0));
        // The same as the in-memory path.
        let direct = estimates_from_rows(&design, model, &data);
        prop_assert!(agree(&base, &direct, 1.0).is_ok());
    }

    #[test]
    fn scaling_y_scales_components_by_c_squared(
        which in 0usize..DESIGNS.len(),
        seed in any::<u64>(),
        c in 0.01f64..100.0,
    ) {
        let design = emslab::io::read_design(&design_path(DESIGNS[which])).unwrap();
        let data = rows(&design, Model::Restricted, seed);
        let scaled: Vec<(Vec<u32>, f64)> = data.iter().map(|(k, y)| (k.clone(), c * y)).collect();
        let a = estimates_from_rows(&design, Model::Restricted, &data);
        let b = estimates_from_rows(&design, Model::Restricted, &scaled);
        prop_assert!(agree(&a, &b, c * c).is_ok(), "{:?}", agree(&a, &b, c * c));
    }
}
