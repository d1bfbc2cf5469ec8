//! Tables and JSON of an analysis (`emslab analyze`): data, ANOVA with F tests, variance
//! components with intervals. The JSON is the EMS report's ([`super::ems_json`]) with the
//! data fields added.

use serde_json::{Value, json};

use super::table::{Align, Cell, Document, Table, fmt_sig};
use super::{EmsOptions, ems_json, ems_tables, model_blurb};
use crate::anova::AnovaTable;
use crate::data::summary::Summary;
use crate::data::{Coding, Dataset};
use crate::ems::{EmsTable, TestKind, combination_string};
use crate::moments::{Analysis, Component, Interval, TestResult, Weights};

/// Where the numbers came from, for the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataInfo {
    /// The file, as named.
    pub source: String,
    /// `data` (raw observations) or `summary` (a published ANOVA table).
    pub kind: String,
    pub response: Option<String>,
    pub n_rows: Option<u64>,
    /// One per factor: name, column header, level count, coding.
    pub factors: Vec<FactorInfo>,
    pub notes: Vec<String>,
    /// Grand mean in the data's units.
    pub grand_mean: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FactorInfo {
    pub name: String,
    pub column: String,
    pub levels: u32,
    pub distinct_labels: usize,
    pub coding: &'static str,
    pub example_labels: Vec<String>,
}

impl DataInfo {
    pub fn from_dataset(d: &Dataset, anova: Option<&AnovaTable>) -> DataInfo {
        DataInfo {
            source: d.source.clone(),
            kind: "data".into(),
            response: Some(d.response.clone()),
            n_rows: Some(d.n_rows),
            factors: d
                .factors
                .iter()
                .map(|f| FactorInfo {
                    name: f.name.clone(),
                    column: f.header.clone(),
                    levels: f.levels,
                    distinct_labels: f.distinct_labels,
                    coding: match f.coding {
                        Coding::Crossed => "levels",
                        Coding::Restarting => "restarting within parent",
                        Coding::Unique => "unique labels",
                        Coding::Mixed => "mixed",
                    },
                    example_labels: f.example_labels.clone(),
                })
                .collect(),
            notes: d.notes.iter().map(super::data_notes::render).collect(),
            grand_mean: anova.and_then(|a| a.grand_mean).map(|g| g + d.offset_f64()),
        }
    }

    pub fn from_summary(s: &Summary) -> DataInfo {
        DataInfo {
            source: s.source.clone(),
            kind: "summary".into(),
            notes: vec![
                "Mean squares and df from a published ANOVA table; SS = df × MS.".to_string(),
            ],
            ..DataInfo::default()
        }
    }
}

/// Everything an analysis report shows.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisReport<'a> {
    pub table: &'a EmsTable,
    pub anova: &'a AnovaTable,
    pub analysis: &'a Analysis,
    pub data: &'a DataInfo,
    /// The REML section (JSON), when a fit was made.
    pub reml: Option<&'a Value>,
    /// Lines about REML (not run, not available, ...).
    pub reml_notes: &'a [String],
}

fn sig(v: f64, digits: usize) -> Cell {
    if v.is_nan() {
        return Cell::empty_dash();
    }
    Cell::num(v, digits)
}

fn p_cell(p: f64) -> Cell {
    if p.is_nan() {
        return Cell::empty_dash();
    }
    Cell::num(p, 4)
}

fn weight_json(w: f64) -> Value {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        json!(w as i64)
    } else {
        json!(w)
    }
}

fn weights_text(t: &EmsTable, comb: &Weights) -> String {
    if comb.iter().all(|(_, w)| w.fract() == 0.0) {
        let ints: Vec<(usize, i64)> = comb.iter().map(|&(v, w)| (v, w as i64)).collect();
        t.combination_text(&ints)
    } else {
        combination_string(
            &comb.iter().map(|&(v, _)| (v, 1)).collect::<Vec<_>>(),
            |v| {
                let w = comb.iter().find(|(x, _)| *x == v).map_or(0.0, |x| x.1);
                format!("{} MS({})", fmt_sig(w, 6), t.terms[v].name)
            },
        )
    }
}

fn weights_json(t: &EmsTable, comb: &Weights) -> Value {
    Value::Array(
        comb.iter()
            .map(|&(v, w)| json!({ "term": t.terms[v].name, "weight": weight_json(w) }))
            .collect(),
    )
}

fn interval_text(i: &Interval) -> String {
    let lo = if i.lower_clipped {
        "0*".to_string()
    } else {
        fmt_sig(i.lower, 5)
    };
    let hi = if i.upper_clipped {
        "0*".to_string()
    } else {
        fmt_sig(i.upper, 5)
    };
    format!("[{lo}, {hi}]")
}

fn interval_json(i: &Interval) -> Value {
    json!({
        "method": i.method.as_str(),
        "level": i.level,
        "lower": i.lower,
        "upper": i.upper,
        "lower_clipped": i.lower_clipped,
        "upper_clipped": i.upper_clipped,
    })
}

fn level_text(alpha: f64) -> String {
    format!("{}%", fmt_sig(100.0 * (1.0 - alpha), 4))
}

/// The document of `emslab analyze`.
pub fn analysis_document(r: &AnalysisReport<'_>) -> Document {
    let t = r.table;
    let d = &t.design;
    let title = if d.title.is_empty() {
        "Analysis of variance".to_string()
    } else {
        d.title.clone()
    };
    let mut preamble = vec![format!(
        "Model: {} ({}). emslab {}.",
        t.model.as_str(),
        model_blurb(t.model),
        env!("CARGO_PKG_VERSION")
    )];
    match r.data.kind.as_str() {
        "summary" => preamble.push(format!(
            "Mean squares from the published table {}.",
            r.data.source
        )),
        _ => preamble.push(format!(
            "Data: {} ({} observations; response `{}`).",
            r.data.source,
            r.data.n_rows.unwrap_or(0),
            r.data.response.clone().unwrap_or_default()
        )),
    }
    let mut tables = Vec::new();
    if r.data.kind == "data" {
        tables.push(data_table(r.data));
    }
    tables.extend(
        ems_tables(t, EmsOptions::default())
            .into_iter()
            .filter(|x| x.key == "design" || x.key == "ems"),
    );
    tables.push(anova_table(r));
    tables.push(components_table(r));
    if !r.reml_notes.is_empty() {
        let mut tab = Table::new("reml", "REML cross-check").columns(&[("", Align::Left)]);
        tab.notes = r.reml_notes.to_vec();
        tables.push(tab);
    }
    Document {
        title,
        preamble,
        tables,
    }
}

fn data_table(info: &DataInfo) -> Table {
    let mut tab = Table::new("data", "Data").columns(&[
        ("Factor", Align::Left),
        ("Column", Align::Left),
        ("Levels", Align::Right),
        ("Labels", Align::Right),
        ("Coding", Align::Left),
        ("First labels", Align::Left),
    ]);
    for f in &info.factors {
        tab.push(vec![
            Cell::text(&f.name),
            Cell::text(&f.column),
            Cell::int(u64::from(f.levels)),
            Cell::int(f.distinct_labels as u64),
            Cell::text(f.coding),
            Cell::text(f.example_labels.join(", ")),
        ]);
    }
    tab.notes.push(format!(
        "{}: {} observations; response `{}`{}.",
        info.source,
        info.n_rows.unwrap_or(0),
        info.response.clone().unwrap_or_default(),
        info.grand_mean
            .map(|g| format!(", grand mean {}", fmt_sig(g, 8)))
            .unwrap_or_default()
    ));
    tab.notes.extend(info.notes.iter().cloned());
    tab
}

fn anova_table(r: &AnalysisReport<'_>) -> Table {
    let t = r.table;
    let a = r.analysis;
    let sys = &a.system;
    let mut tab = Table::new("anova", "Analysis of variance").columns(&[
        ("Term", Align::Left),
        ("df", Align::Right),
        ("SS", Align::Right),
        ("MS", Align::Right),
        ("F", Align::Right),
        ("p", Align::Right),
        ("Test", Align::Left),
    ]);
    let mut notes = Vec::new();
    for (u, row) in r.anova.rows.iter().enumerate() {
        let test = &a.tests[u];
        let (f, p, what) = test_cells(t, test, &mut notes);
        tab.push(vec![
            Cell::text(&row.term),
            Cell::int(row.df),
            row.ss.map_or_else(Cell::empty_dash, |s| sig(s, 7)),
            sig(row.ms, 7),
            f,
            p,
            Cell::text(what),
        ]);
    }
    if let Some(total) = &r.anova.total {
        tab.push(vec![
            Cell::text("Total"),
            Cell::int(total.df),
            total.ss.map_or_else(Cell::empty_dash, |s| sig(s, 7)),
            Cell::empty(),
            Cell::empty(),
            Cell::empty(),
            Cell::empty(),
        ]);
    }
    if !r.anova.pooled.is_empty() {
        notes.push(format!(
            "Residual includes the terms left out of the model: {}.",
            r.anova
                .pooled
                .iter()
                .map(|p| format!(
                    "{} (df {}, SS {})",
                    p.term,
                    p.df,
                    p.ss.map_or("—".to_string(), |s| fmt_sig(s, 7))
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for p in &a.pooling {
        notes.push(format!(
            "{} pooled into {} (--negative pool): MS({}) = {} on {} df in the reduced model.",
            sys.rows[p.term].name,
            sys.rows[p.into].name,
            sys.rows[p.into].name,
            fmt_sig(p.ms, 7),
            p.df
        ));
    }
    if let Some(r2) = r.anova.r_squared()
        && r.anova.pooled.is_empty()
    {
        notes.push(format!("R² = {}.", fmt_sig(r2, 6)));
    }
    if r.anova.from_summary {
        notes.push("SS = df × MS from the published mean squares.".into());
    }
    notes.extend(
        a.notes
            .iter()
            .filter(|n| n.contains("synthetic denominator"))
            .cloned(),
    );
    tab.notes = notes;
    tab
}

fn test_cells(t: &EmsTable, test: &TestResult, notes: &mut Vec<String>) -> (Cell, Cell, String) {
    let name = &t.terms[test.term].name;
    match test.kind {
        TestKind::None => (
            Cell::empty(),
            Cell::empty(),
            if test.term == t.residual() {
                String::new()
            } else {
                format!("none: {}", test.reason.clone().unwrap_or_default())
            },
        ),
        TestKind::Exact => {
            let den = weights_text(t, &test.denominator);
            (
                test.f.map_or_else(Cell::empty_dash, |f| sig(f, 6)),
                test.p.map_or_else(Cell::empty_dash, p_cell),
                format!(
                    "/ {den} on ({}, {})",
                    test.df_num,
                    fmt_sig(test.df_den.unwrap_or(f64::NAN), 6)
                ),
            )
        }
        TestKind::Quasi => {
            let den = weights_text(t, &test.denominator);
            if let Some(f2) = &test.f2 {
                notes.push(format!(
                    "{name}: F″ = ({}) / ({}) = {} on ({}, {}) df, p = {}.",
                    weights_text(t, &f2.numerator),
                    weights_text(t, &f2.denominator),
                    fmt_sig(f2.f, 6),
                    fmt_sig(f2.df_num, 5),
                    fmt_sig(f2.df_den, 5),
                    fmt_sig(f2.p, 4)
                ));
            }
            (
                test.f.map_or_else(Cell::empty_dash, |f| sig(f, 6)),
                test.p.map_or_else(Cell::empty_dash, p_cell),
                if test.negative_denominator {
                    format!("quasi F′ / ({den}): denominator negative")
                } else {
                    format!(
                        "quasi F′ / ({den}) on ({}, {})",
                        test.df_num,
                        fmt_sig(test.df_den.unwrap_or(f64::NAN), 5)
                    )
                },
            )
        }
    }
}

fn components_table(r: &AnalysisReport<'_>) -> Table {
    let a = r.analysis;
    let level = level_text(a.alpha);
    let mut tab = Table::new("components", "Variance components (method of moments)").columns(&[
        ("Component", Align::Left),
        ("Estimate", Align::Right),
        ("SE", Align::Right),
        ("ν", Align::Right),
        ("CI", Align::Left),
        ("MLS CI", Align::Left),
        ("Share", Align::Right),
    ]);
    tab.headers[0][4] = Cell::text(format!("{level} CI (χ²)"));
    tab.headers[0][5] = Cell::text(format!("{level} CI (MLS)"));
    let mut clipped = false;
    let mut notes = Vec::new();
    for c in &a.components {
        let ci = match (&c.ci, &c.ci_missing) {
            (Some(i), _) => {
                clipped |= i.lower_clipped || i.upper_clipped;
                Cell::text(interval_text(i))
            }
            (None, Some(m)) => Cell::text(m),
            _ => Cell::empty_dash(),
        };
        let mls = match &c.mls {
            Some(i) => {
                clipped |= i.lower_clipped || i.upper_clipped;
                Cell::text(interval_text(i))
            }
            None if c.pooled_into.is_none() && c.combination.len() == 1 => {
                Cell::text("(same: exact)")
            }
            None => Cell::empty_dash(),
        };
        tab.push(vec![
            Cell::text(&c.name),
            sig(c.estimate, 7),
            sig(c.se, 5),
            sig(c.satterthwaite_df, 6),
            ci,
            mls,
            c.share.map_or_else(Cell::empty_dash, |s| {
                let mut cell = Cell::text(format!("{}%", fmt_sig(100.0 * s, 3)));
                cell.value = Some(s);
                cell
            }),
        ]);
        for n in &c.notes {
            notes.push(format!("{}: {n}.", c.name));
        }
    }
    tab.notes.push(format!(
        "Estimate = the solution of the EMS equations (see the estimators of `emslab ems`); ν = Cochran-Satterthwaite df (Residual: its own df); χ² CI: ν·s²/χ²(1-α/2, ν) to ν·s²/χ²(α/2, ν), exact for the Residual; MLS: modified large-sample interval (Ting et al. 1990) for differences of mean squares; SE = sqrt(2 Σ aᵢ² MSᵢ² / (dfᵢ + 2)); α = {}.",
        fmt_sig(a.alpha, 4)
    ));
    if clipped {
        tab.notes
            .push("0* = a bound that came out negative, set to 0.".to_string());
    }
    tab.notes.extend(notes);
    tab.notes.extend(
        a.notes
            .iter()
            .filter(|n| !n.contains("synthetic denominator"))
            .cloned(),
    );
    if let Some(icc) = &a.icc {
        let sys = &a.system;
        tab.notes.push(format!(
            "Intraclass correlation σ²({}) / (σ²({}) + σ²) = {}{}.",
            sys.rows[icc.term].name,
            sys.rows[icc.term].name,
            fmt_sig(icc.estimate, 5),
            icc.interval
                .map(|i| format!(", {level} exact F interval {}", interval_text(&i)))
                .unwrap_or_default()
        ));
    }
    tab
}

fn test_json(t: &EmsTable, test: &TestResult) -> Value {
    let mut v = json!({
        "kind": match test.kind { TestKind::Exact => "exact", TestKind::Quasi => "quasi", TestKind::None => "none" },
    });
    if test.kind != TestKind::None {
        v["denominator"] = weights_json(t, &test.denominator);
        v["denominator_text"] = json!(weights_text(t, &test.denominator));
        v["df_num"] = json!(test.df_num);
        v["df_den"] = match test.kind {
            TestKind::Exact => json!(test.df_den.map(|d| d as u64)),
            _ => json!(test.df_den),
        };
        v["denominator_ms"] = json!(test.denominator_ms);
        v["f"] = json!(test.f);
        v["p"] = json!(test.p);
        if test.kind == TestKind::Quasi {
            v["negative_denominator"] = json!(test.negative_denominator);
            if let Some(f2) = &test.f2 {
                v["alternatives"] = json!([{
                    "form": "F''",
                    "numerator": weights_json(t, &f2.numerator),
                    "denominator": weights_json(t, &f2.denominator),
                    "df_num": f2.df_num,
                    "df_den": f2.df_den,
                    "f": f2.f,
                    "p": f2.p,
                }]);
            }
        }
    }
    if let Some(r) = &test.reason {
        v["reason"] = json!(r);
    }
    v
}

fn component_json(t: &EmsTable, c: &Component, formulas: Option<&Value>) -> Value {
    let mut v = json!({
        "term": c.name,
        "estimate": c.estimate,
        "combination": weights_json(t, &c.combination),
        "divisor": c.divisor,
        "satterthwaite_df": c.satterthwaite_df,
        "se": c.se,
        "share": c.share,
    });
    if c.pooled_into.is_some() {
        v["combination"] = json!([]);
        v["satterthwaite_df"] = Value::Null;
        v["se"] = Value::Null;
        v["divisor"] = Value::Null;
    }
    if c.computed != c.estimate || c.computed < 0.0 {
        v["computed"] = json!(c.computed);
    }
    v["ci"] = match &c.ci {
        Some(i) => interval_json(i),
        None => Value::Null,
    };
    if let Some(m) = &c.ci_missing {
        v["ci_note"] = json!(m);
    }
    let mut intervals = Vec::new();
    if let Some(i) = &c.ci {
        intervals.push(interval_json(i));
    }
    if let Some(i) = &c.mls {
        intervals.push(interval_json(i));
    }
    v["intervals"] = json!(intervals);
    if let Some(into) = c.pooled_into {
        v["pooled_into"] = json!(t.terms[into].name);
    }
    if !c.notes.is_empty() {
        v["note"] = json!(c.notes.join("; "));
    }
    if let Some(f) = formulas {
        for key in ["formula", "formula_latex"] {
            if let Some(x) = f.get(key) {
                v[key] = x.clone();
            }
        }
    }
    v
}

/// The JSON report of `emslab analyze`: the EMS report plus the data fields.
pub fn analysis_json(r: &AnalysisReport<'_>) -> Value {
    let t = r.table;
    let a = r.analysis;
    let mut v = ems_json(t);
    v["n_observations"] = json!(r.anova.n_observations);
    v["alpha"] = json!(a.alpha);
    v["negative_policy"] = json!(a.policy.as_str());
    let mut data = json!({
        "source": r.data.source,
        "kind": r.data.kind,
        "notes": r.data.notes,
    });
    if r.data.kind == "data" {
        data["response"] = json!(r.data.response);
        data["n_rows"] = json!(r.data.n_rows);
        data["grand_mean"] = json!(r.data.grand_mean);
        data["factors"] = Value::Array(
            r.data
                .factors
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name, "column": f.column, "levels": f.levels,
                        "distinct_labels": f.distinct_labels, "coding": f.coding,
                    })
                })
                .collect(),
        );
    }
    v["data"] = data;
    if let Some(terms) = v.get_mut("terms").and_then(Value::as_array_mut) {
        for (u, term) in terms.iter_mut().enumerate() {
            let row = &r.anova.rows[u];
            term["ss"] = json!(row.ss);
            term["ms"] = json!(row.ms);
            term["test"] = test_json(t, &a.tests[u]);
            if let Some(into) = a.system.rows[u].pooled_into {
                term["pooled_into"] = json!(t.terms[into].name);
            }
            if !a.system.rows[u].absorbed.is_empty() {
                term["pooled_df"] = json!(a.system.rows[u].df);
                term["pooled_ms"] = json!(a.system.rows[u].ms);
            }
        }
    }
    let formulas: Vec<Value> = v
        .get("components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let formula_of = |name: &str| {
        if !a.pooling.is_empty() {
            return None;
        }
        formulas
            .iter()
            .find(|f| f.get("term").and_then(Value::as_str) == Some(name))
    };
    v["components"] = Value::Array(
        a.components
            .iter()
            .map(|c| component_json(t, c, formula_of(&c.name)))
            .collect(),
    );
    if let Some(total) = &r.anova.total {
        v["total"] = json!({ "df": total.df, "ss": total.ss });
    }
    if let Some(pe) = &r.anova.pure_error {
        v["pure_error"] = json!({ "df": pe.df, "ss": pe.ss });
    }
    if !r.anova.pooled.is_empty() {
        v["pooled_into_residual"] = Value::Array(
            r.anova
                .pooled
                .iter()
                .map(|p| json!({ "term": p.term, "df": p.df, "ss": p.ss }))
                .collect(),
        );
    }
    if let Some(r2) = r.anova.r_squared() {
        v["r_squared"] = json!(r2);
    }
    v["pooling"] = Value::Array(
        a.pooling
            .iter()
            .map(|p| {
                json!({
                    "term": t.terms[p.term].name,
                    "into": t.terms[p.into].name,
                    "computed": p.computed,
                    "df": p.df,
                    "ms": p.ms,
                })
            })
            .collect(),
    );
    if let Some(icc) = &a.icc {
        v["icc"] = json!({
            "term": t.terms[icc.term].name,
            "estimate": icc.estimate,
            "ci": icc.interval.as_ref().map(interval_json),
        });
    }
    v["notes"] = json!(a.notes);
    if let Some(reml) = r.reml {
        v["reml"] = reml.clone();
    } else if !r.reml_notes.is_empty() {
        v["reml_notes"] = json!(r.reml_notes);
    }
    v
}
