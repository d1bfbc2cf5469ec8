//! The `emslab ems` report of an engine's output: the EMS report, the engine named, and
//! Symbolica's solutions when it computed the table.

use serde::Serialize;

use super::json::{EmsJson, EstimatorJson, LazyRows, TermJson, estimators};
use super::table::{Align, Cell, Document, Table, html_escape};
use super::{EmsOptions, ems_document};
use crate::cas::{Engine, EngineOutput, SYMBOLICA_VERSION, Solutions, SymbolicSolution};
use crate::ems::EmsTable;

/// The report of `emslab ems` for an engine's output: [`engine_document`] and
/// [`EngineJson`].
pub fn ems_report(out: &EngineOutput, opts: EmsOptions) -> (Document, EngineJson<'_>) {
    (engine_document(out, opts), EngineJson::new(out))
}

/// The document of `emslab ems` for an engine's output: [`ems_document`]'s, plus a
/// preamble line naming the engine when Symbolica was asked for and, with Symbolica, the
/// table of its symbolic solutions (key `symbolica`). For the default engine the document
/// is exactly [`ems_document`]'s (the app's exports are byte-identical to the command
/// line's).
pub fn engine_document(out: &EngineOutput, opts: EmsOptions) -> Document {
    let mut doc = ems_document(&out.table, opts);
    match &out.fallback {
        Some(why) => doc.preamble.push(format!(
            "Engine: {}; {} was asked for but not used: {why}.",
            out.engine.label(),
            out.requested.label()
        )),
        None if out.engine != Engine::Emslab => {
            doc.preamble
                .push(format!("Engine: {}.", out.engine.label()));
        }
        None => {}
    }
    if let Some(s) = &out.solutions {
        doc.tables.push(solutions_table(&out.table, s));
    }
    doc
}

#[derive(Serialize)]
pub struct SolutionJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<&'a str>,
    pub text: &'a str,
    pub latex: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
}

#[derive(Serialize)]
pub struct SymbolicaJson<'a> {
    pub version: &'static str,
    pub components: Vec<SolutionJson<'a>>,
    pub denominators: Vec<SolutionJson<'a>>,
}

/// The JSON report of `emslab ems` for an engine's output: the EMS report, with `engine`
/// (and `engine_requested`, `engine_fallback` after a fallback) and, with Symbolica, its
/// solutions under `symbolica`.
#[derive(Serialize)]
pub struct EngineJson<'a> {
    #[serde(flatten)]
    pub ems: EmsJson<'a, LazyRows<'a, EstimatorJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_requested: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_fallback: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbolica: Option<SymbolicaJson<'a>>,
}

impl<'a> EngineJson<'a> {
    pub fn new(out: &'a EngineOutput) -> EngineJson<'a> {
        let t = &out.table;
        let mut ems =
            EmsJson::with(t, move |u| TermJson::ems(t, u), estimators(t)).with_symbolic_means(t);
        ems.engine = out.engine.as_str();
        let solution = |x: &'a SymbolicSolution, component: bool| SolutionJson {
            component: component.then(|| t.terms[x.term].name.as_str()),
            term: (!component).then(|| t.terms[x.term].name.as_str()),
            text: &x.text,
            latex: &x.latex,
            kind: component.then_some(if t.is_random(x.term) {
                "random"
            } else {
                "fixed"
            }),
        };
        EngineJson {
            ems,
            engine_requested: out.fallback.as_ref().map(|_| out.requested.as_str()),
            engine_fallback: out.fallback.as_deref(),
            symbolica: out.solutions.as_ref().map(|s| SymbolicaJson {
                version: SYMBOLICA_VERSION,
                components: s.components.iter().map(|x| solution(x, true)).collect(),
                denominators: s.denominators.iter().map(|x| solution(x, false)).collect(),
            }),
        }
    }
}

/// The table of Symbolica's solutions (key `symbolica`).
pub fn solutions_table(t: &EmsTable, s: &Solutions) -> Table {
    let mut tab = Table::new("symbolica", "Symbolic solutions (Symbolica)")
        .columns(&[("Unknown", Align::Left), ("Solution", Align::Left)]);
    // Display style, so that fractions are set at full size, with a strut that makes the
    // table row tall enough for them.
    let solution = |x: &SymbolicSolution| {
        let latex = if x.latex.contains("\\frac") {
            format!("\\displaystyle {}\\rule[-2.2ex]{{0pt}}{{5.4ex}}", x.latex)
        } else {
            x.latex.clone()
        };
        Cell::math(&x.text, &latex, html_escape(&x.text))
    };
    for x in &s.components {
        tab.push(vec![
            Cell::math(
                t.component_text(x.term),
                &t.component_latex(x.term),
                t.component_html(x.term),
            ),
            solution(x),
        ]);
    }
    for x in &s.denominators {
        tab.push(vec![
            Cell::text(format!("F′ denominator of {}", t.terms[x.term].name)),
            solution(x),
        ]);
    }
    tab.notes.push(format!(
        "Solved by Symbolica {SYMBOLICA_VERSION}: the moment equations E(MS) = MS for every component (rational functions of the mean squares and level counts, simplified), and for every tested term the weights w of Σ w·E(MS) = its E(MS) without its own component."
    ));
    tab.notes.push(
        "The tables above were computed from these solutions; the default engine (emslab's own exact algebra) gives the same tables."
            .into(),
    );
    tab
}
