//! The report of `emslab power`: the power of every test (with the Monte Carlo check beside
//! it), the power curve against an effect-size multiplier, and a solve for a size with its
//! curve; every format from the same tables, JSON from typed structs with the contract's
//! keys (`power`, `solve`, `solve.curve`).

use serde::Serialize;

use super::json::{DesignJson, TermWeight};
use super::table::{Align, Cell, Document, Table, fmt_sig};
use super::words;
use crate::ems::{EmsTable, TestKind};
use crate::power::{
    Distribution, EffectCurve, PowerNote, PowerRow, PowerSpec, PowerTable, SimulationCheck,
    Solution, Vary,
};

/// Everything `emslab power` reports.
pub struct PowerReport<'a> {
    pub table: &'a EmsTable,
    pub spec: &'a PowerSpec,
    pub power: &'a PowerTable,
    pub curve: &'a EffectCurve,
    pub solution: Option<&'a Solution>,
    pub simulation: Option<&'a SimulationCheck>,
}

/// The distribution's key in JSON.
pub fn distribution_key(d: Distribution) -> &'static str {
    match d {
        Distribution::NoncentralF => "noncentral-f",
        Distribution::ScaledCentralF => "scaled-central-f",
        Distribution::Satterthwaite { .. } => "satterthwaite",
        Distribution::None => "none",
    }
}

/// The distribution in words (table cells).
pub fn distribution_text(d: Distribution) -> &'static str {
    match d {
        Distribution::NoncentralF => "noncentral F",
        Distribution::ScaledCentralF => "scaled central F",
        Distribution::Satterthwaite { fixed: true } => "Satterthwaite, noncentral F",
        Distribution::Satterthwaite { fixed: false } => "Satterthwaite, scaled central F",
        Distribution::None => "—",
    }
}

/// Why a test's power comes from its distribution.
pub fn distribution_reason(d: Distribution) -> &'static str {
    match d {
        Distribution::NoncentralF => {
            "exact test of a fixed term: the denominator's expected mean square is the numerator's without φ, so F follows a noncentral F with λ = k Σ effects² / E(MS denominator)"
        }
        Distribution::ScaledCentralF => {
            "exact test of a random term: F divided by the ratio E(MS term) / E(MS denominator) follows a central F"
        }
        Distribution::Satterthwaite { fixed: true } => {
            "synthetic denominator: taken as a scaled chi-square with Satterthwaite df from the expected mean squares, and F′ as a noncentral F with those df (an approximation; --simulate checks it)"
        }
        Distribution::Satterthwaite { fixed: false } => {
            "synthetic denominator: taken as a scaled chi-square with Satterthwaite df from the expected mean squares, and F′ divided by the ratio of expectations as a central F with those df (an approximation; --simulate checks it)"
        }
        Distribution::None => "no test",
    }
}

fn note_text(t: &EmsTable, n: &PowerNote) -> String {
    match *n {
        PowerNote::VarianceNotGiven { term } => format!(
            "No variance given for `{}`: taken as 0 (--sigma2 {}=VALUE).",
            t.terms[term].name, t.terms[term].name
        ),
        PowerNote::EffectsNotGiven { term } => format!(
            "No effects given for `{}`: taken as 0, so its power is alpha (--effect {}=V1,V2,...).",
            t.terms[term].name, t.terms[term].name
        ),
        PowerNote::SmallSatterthwaiteDf { term, df } => format!(
            "`{}`: the synthetic denominator's Satterthwaite df from the expected mean squares is small ({}); F′ as applied to data (df from the observed mean squares, no rejection when the denominator is ≤ 0) tends to have less power than computed: check with --simulate.",
            t.terms[term].name,
            fmt_sig(df, 4)
        ),
    }
}

fn vary_name(r: &PowerReport, v: Vary) -> String {
    match v {
        Vary::Factor(i) => r.spec.design().factors[i].name.clone(),
        Vary::Replicates => "replicates".to_string(),
    }
}

fn opt_num(v: Option<f64>, sig: usize) -> Cell {
    v.map_or_else(Cell::empty_dash, |v| Cell::num(v, sig))
}

/// The document: inputs, power, effect curve, solve and its curve.
pub fn power_document(r: &PowerReport) -> Document {
    let d = r.spec.design();
    let title = if d.title.is_empty() {
        "Power of the F tests".to_string()
    } else {
        format!("Power: {}", d.title)
    };
    let preamble = vec![format!(
        "Model: {} ({}). Level alpha = {}. emslab {}.",
        r.table.model.as_str(),
        super::model_blurb(r.table.model),
        fmt_sig(r.spec.alpha, 6),
        env!("CARGO_PKG_VERSION")
    )];
    let mut tables = vec![inputs_table(r), power_table(r), curve_table(r)];
    if let Some(s) = r.solution {
        tables.push(solve_table(r, s));
        tables.push(solve_curve_table(r, s));
    }
    Document {
        title,
        preamble,
        tables,
    }
}

fn inputs_table(r: &PowerReport) -> Table {
    let mut t = Table::new("inputs", "Expected components and effects").columns(&[
        ("Term", Align::Left),
        ("Kind", Align::Left),
        ("Variance", Align::Right),
        ("Centred effects", Align::Left),
        ("Σ effects²", Align::Right),
    ]);
    let sim = &r.spec.sim;
    for (u, term) in r.table.terms.iter().enumerate() {
        let (variance, effects, ss) = if term.random {
            (
                Cell::num(sim.sigma2[u], 6),
                Cell::empty_dash(),
                Cell::empty_dash(),
            )
        } else {
            match &sim.effects[u] {
                Some(e) => (
                    Cell::empty_dash(),
                    Cell::text(
                        e.iter()
                            .map(|v| fmt_sig(*v, 6))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    Cell::num(e.iter().map(|v| v * v).sum(), 6),
                ),
                None => (Cell::empty_dash(), Cell::text("0"), Cell::num(0.0, 6)),
            }
        };
        let kind = if term.random { "random" } else { "fixed" };
        t.push(vec![
            Cell::text(&term.name),
            Cell::text(kind),
            variance,
            effects,
            ss,
        ]);
    }
    t.notes.extend(
        r.power
            .notes
            .iter()
            .filter(|n| !matches!(n, PowerNote::SmallSatterthwaiteDf { .. }))
            .map(|n| note_text(r.table, n)),
    );
    t
}

fn power_table(r: &PowerReport) -> Table {
    let mut cols = vec![
        ("Term", Align::Left),
        ("Test", Align::Left),
        ("Denominator", Align::Left),
        ("df num", Align::Right),
        ("df den", Align::Right),
        ("Critical F", Align::Right),
        ("Distribution", Align::Left),
        ("λ", Align::Right),
        ("E(MS) ratio", Align::Right),
        ("Power", Align::Right),
    ];
    if r.simulation.is_some() {
        cols.push(("Simulated", Align::Right));
        cols.push(("MC SE", Align::Right));
    }
    let mut t = Table::new("power", "Power of the F tests").columns(&cols);
    let mut used: Vec<Distribution> = Vec::new();
    for row in &r.power.rows {
        let test = r.table.tests.get(row.term);
        let denominator = match (row.test, test) {
            (TestKind::None, _) | (_, None) => Cell::empty_dash(),
            (_, Some(test)) => Cell::text(r.table.combination_text(&test.denominator)),
        };
        let mut cells = vec![
            Cell::text(&r.table.terms[row.term].name),
            Cell::text(test_kind(row.test)),
            denominator,
            Cell::int(row.df_num),
            opt_num(row.df_den, 5),
            opt_num(row.critical_f, 5),
            Cell::text(distribution_text(row.distribution)),
            opt_num(row.noncentrality, 5),
            opt_num(row.ratio, 5),
            opt_num(row.power, 4),
        ];
        if let Some(sim) = r.simulation {
            let s = sim.rows.iter().find(|s| s.term == row.term);
            cells.push(opt_num(s.map(|s| s.power), 4));
            cells.push(opt_num(s.map(|s| s.se), 2));
        }
        t.push(cells);
        if let Some(reason) = row.reason {
            t.notes.push(format!(
                "`{}`: no test: {}.",
                r.table.terms[row.term].name,
                words::no_test(r.table, reason)
            ));
        }
        if row.distribution != Distribution::None && !used.contains(&row.distribution) {
            used.push(row.distribution);
        }
    }
    for d in used {
        t.notes.push(format!(
            "{}: {}.",
            distribution_text(d),
            distribution_reason(d)
        ));
    }
    t.notes.extend(
        r.power
            .notes
            .iter()
            .filter(|n| matches!(n, PowerNote::SmallSatterthwaiteDf { .. }))
            .map(|n| note_text(r.table, n)),
    );
    if let Some(sim) = r.simulation {
        t.notes.push(format!(
            "Simulated: rejection rate at level alpha in {} data sets drawn with these components and effects (seed {}), each analysed as `analyze` does (synthetic tests as F′ with Satterthwaite df from the observed mean squares; a denominator ≤ 0 does not reject); MC SE = √(p(1-p)/N).",
            sim.replicates, sim.seed
        ));
    }
    t
}

fn test_kind(k: TestKind) -> &'static str {
    match k {
        TestKind::Exact => "exact",
        TestKind::Quasi => "quasi",
        TestKind::None => "none",
    }
}

fn curve_table(r: &PowerReport) -> Table {
    let mut cols: Vec<(&str, Align)> = vec![("Multiplier", Align::Right)];
    let names: Vec<&str> = r
        .curve
        .terms
        .iter()
        .map(|&u| r.table.terms[u].name.as_str())
        .collect();
    cols.extend(names.iter().map(|n| (*n, Align::Right)));
    let mut t =
        Table::new("effect_curve", "Power against an effect-size multiplier").columns(&cols);
    for (m, powers) in r.curve.multipliers.iter().zip(&r.curve.power) {
        let mut row = vec![Cell::num(*m, 4)];
        row.extend(powers.iter().map(|p| Cell::num(*p, 4)));
        t.push(row);
    }
    t.notes.push(
        "Each fixed effect multiplied by the multiplier, each random term's standard deviation too (its variance by the square); the Residual unchanged.".into(),
    );
    t
}

fn solve_table(r: &PowerReport, s: &Solution) -> Table {
    let mut t = Table::new("solve", "Smallest size reaching the target power").columns(&[
        ("Vary", Align::Left),
        ("Term", Align::Left),
        ("Target", Align::Right),
        ("Size", Align::Right),
        ("Power", Align::Right),
    ]);
    t.push(vec![
        Cell::text(vary_name(r, s.spec.vary)),
        Cell::text(&r.table.terms[s.spec.term].name),
        Cell::num(s.spec.target, 4),
        s.size.map_or_else(
            || Cell::text("none up to 1000"),
            |n| Cell::int(u64::from(n)),
        ),
        Cell::num(s.power, 4),
    ]);
    if s.size.is_none() {
        t.notes
            .push("No size from 2 to 1000 reaches the target; the power shown is at 1000.".into());
    }
    t
}

fn solve_curve_table(r: &PowerReport, s: &Solution) -> Table {
    let title = format!(
        "Power of the test of `{}` against {}",
        r.table.terms[s.spec.term].name,
        vary_name(r, s.spec.vary)
    );
    let mut t = Table::new("solve_curve", title)
        .columns(&[("Size", Align::Right), ("Power", Align::Right)]);
    for &(n, p) in &s.curve {
        t.push(vec![Cell::int(u64::from(n)), Cell::num(p, 4)]);
    }
    t
}

// ---- JSON ----

/// One row of `power`.
#[derive(Serialize)]
pub struct PowerRowJson<'a> {
    pub term: &'a str,
    pub kind: &'static str,
    pub test: &'static str,
    pub df_num: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_den: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_f: Option<f64>,
    pub distribution: &'static str,
    /// For `satterthwaite`: the F the approximation uses (`noncentral-f`, `scaled-central-f`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximated_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncentrality: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    pub power: Option<f64>,
    pub ems_numerator: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ems_denominator: Option<f64>,
    pub denominator: Vec<TermWeight<'a, crate::ems::Ratio>>,
    pub why: String,
}

#[derive(Serialize)]
pub struct CurvePointJson {
    pub size: u32,
    pub power: f64,
}

/// `solve`.
#[derive(Serialize)]
pub struct SolveJson<'a> {
    pub vary: String,
    pub target: f64,
    pub term: &'a str,
    pub levels: Option<u32>,
    pub power: f64,
    pub curve: Vec<CurvePointJson>,
}

#[derive(Serialize)]
pub struct TermPowerJson<'a> {
    pub term: &'a str,
    pub power: f64,
}

/// One point of `effect_curve`.
#[derive(Serialize)]
pub struct EffectPointJson<'a> {
    pub multiplier: f64,
    pub power: Vec<TermPowerJson<'a>>,
}

#[derive(Serialize)]
pub struct SimulationRowJson<'a> {
    pub term: &'a str,
    /// The computed power, for comparison.
    pub power: Option<f64>,
    pub empirical_power: f64,
    pub se: f64,
    pub rejections: u32,
    pub negative_denominators: u32,
}

/// `simulation`: the Monte Carlo check.
#[derive(Serialize)]
pub struct SimulationJson<'a> {
    pub replicates: u32,
    pub seed: u64,
    pub rows: Vec<SimulationRowJson<'a>>,
}

/// The whole JSON report of `emslab power`.
#[derive(Serialize)]
pub struct PowerJson<'a> {
    pub emslab_version: &'static str,
    pub model: &'static str,
    pub alpha: f64,
    pub design: DesignJson<'a>,
    pub power: Vec<PowerRowJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solve: Option<SolveJson<'a>>,
    pub effect_curve: Vec<EffectPointJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationJson<'a>>,
    pub notes: Vec<String>,
}

fn row_json<'a>(r: &PowerReport<'a>, row: &PowerRow) -> PowerRowJson<'a> {
    let t = r.table;
    let test = &t.tests[row.term];
    let why = match row.reason {
        Some(reason) if row.test == TestKind::None => words::no_test(t, reason),
        _ => distribution_reason(row.distribution).to_string(),
    };
    PowerRowJson {
        term: &t.terms[row.term].name,
        kind: if t.terms[row.term].random {
            "random"
        } else {
            "fixed"
        },
        test: test_kind(row.test),
        df_num: row.df_num,
        df_den: row.df_den,
        critical_f: row.critical_f,
        distribution: distribution_key(row.distribution),
        approximated_by: match row.distribution {
            Distribution::Satterthwaite { fixed: true } => Some("noncentral-f"),
            Distribution::Satterthwaite { fixed: false } => Some("scaled-central-f"),
            _ => None,
        },
        noncentrality: row.noncentrality,
        ratio: row.ratio,
        power: row.power,
        ems_numerator: row.ems_numerator,
        ems_denominator: row.ems_denominator,
        denominator: if row.test == TestKind::None {
            Vec::new()
        } else {
            test.denominator
                .iter()
                .map(|&(v, w)| TermWeight {
                    term: &t.terms[v].name,
                    weight: w,
                })
                .collect()
        },
        why,
    }
}

/// The JSON report.
pub fn power_json<'a>(r: &PowerReport<'a>) -> PowerJson<'a> {
    let t = r.table;
    PowerJson {
        emslab_version: env!("CARGO_PKG_VERSION"),
        model: t.model.as_str(),
        alpha: r.spec.alpha,
        design: DesignJson::new(r.spec.design()),
        power: r.power.rows.iter().map(|row| row_json(r, row)).collect(),
        solve: r.solution.map(|s| SolveJson {
            vary: vary_name(r, s.spec.vary),
            target: s.spec.target,
            term: &t.terms[s.spec.term].name,
            levels: s.size,
            power: s.power,
            curve: s
                .curve
                .iter()
                .map(|&(size, power)| CurvePointJson { size, power })
                .collect(),
        }),
        effect_curve: r
            .curve
            .multipliers
            .iter()
            .zip(&r.curve.power)
            .map(|(&multiplier, powers)| EffectPointJson {
                multiplier,
                power: r
                    .curve
                    .terms
                    .iter()
                    .zip(powers)
                    .map(|(&u, &power)| TermPowerJson {
                        term: &t.terms[u].name,
                        power,
                    })
                    .collect(),
            })
            .collect(),
        simulation: r.simulation.map(|sim| SimulationJson {
            replicates: sim.replicates,
            seed: sim.seed,
            rows: sim
                .rows
                .iter()
                .map(|s| SimulationRowJson {
                    term: &t.terms[s.term].name,
                    power: r.power.rows.get(s.term).and_then(|p| p.power),
                    empirical_power: s.power,
                    se: s.se,
                    rejections: s.rejections,
                    negative_denominators: s.negative_denominators,
                })
                .collect(),
        }),
        notes: r.power.notes.iter().map(|n| note_text(t, n)).collect(),
    }
}
