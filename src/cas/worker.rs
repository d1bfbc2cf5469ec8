//! The child side (`emslab __symbolica-worker`, feature `symbolica`): reads requests on
//! stdin, answers on stdout. Every Symbolica call happens on one dedicated thread, which
//! also converts Symbolica's atoms to emslab's types; the main thread only moves JSON lines.
//!
//! What Symbolica computes, independently of [`crate::ems::derive`]'s algebra:
//! 1. every EMS coefficient c_TU: the product of row U's subscript-table cells outside T's
//!    live columns (1, 0, or the column's level symbol), expanded; U enters E(MS_T) when it
//!    contains T's subscripts;
//! 2. the moment equations Σ_U c_TU v_U = MS_T (v_U = σ²_U or φ_U), solved for every v_U
//!    with Symbolica's linear solver: each a rational function of the MS and level symbols,
//!    read back as integer weights of mean squares over a product of level symbols;
//! 3. for every term T, its F′ denominator: the solution w of Σ_V w_V c_VU = c_TU (U ≠ T),
//!    0 (U = T), which must be integers (the system is solved once with a symbolic
//!    right-hand side t_U, then t is set to each term's target);
//! 4. text and LaTeX of the solutions, from Symbolica's printer.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use numerica::printer::PrintUserData;
use symbolica::atom::{Atom, AtomCore, AtomView, Symbol};
use symbolica::domains::integer::Z;
use symbolica::domains::rational::{Q, Rational};
use symbolica::domains::rational_polynomial::RationalPolynomial;
use symbolica::id::Replacement;
use symbolica::poly::PolyVariable;
use symbolica::printer::{PrintOptions, PrintState};
use symbolica::symbol;

use super::{
    ANSWER_PREFIX, Answer, Malformed, Parts, Request, SYMBOLICA_VERSION, Solutions,
    SymbolicSolution, WireEstimator,
};
use crate::design::{Design, Kind, Term};
use crate::ems::Model;
use crate::notation::latex_symbol;

/// The most rows (terms and the Residual) the worker takes: a request solves two linear
/// systems with one unknown per row (64 rows take about 12 s in a debug build).
pub(crate) const MAX_ROWS: usize = 128;

/// The worker's main loop. Returns the exit code.
pub(super) fn run() -> u8 {
    let (request_tx, request_rx) = mpsc::channel::<Request>();
    let (answer_tx, answer_rx) = mpsc::channel::<Answer>();
    let spawned = thread::Builder::new()
        .name("symbolica".into())
        .stack_size(64 << 20)
        .spawn(move || symbolica_thread(request_rx, answer_tx));
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            eprintln!("emslab worker: cannot start the Symbolica thread: {e}");
            return 1;
        }
    };
    // The Symbolica thread answers `ready` once it has used Symbolica (Symbolica aborts
    // the process there when another instance holds its lock).
    match answer_rx.recv() {
        Ok(ready) => {
            if send(&ready).is_err() {
                return 1;
            }
        }
        Err(_) => {
            eprintln!("emslab worker: the Symbolica thread ended before it was ready");
            return 1;
        }
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                if request_tx.send(request).is_err() {
                    eprintln!("emslab worker: the Symbolica thread has ended");
                    return 1;
                }
                match answer_rx.recv() {
                    Ok(a) => a,
                    Err(_) => {
                        eprintln!("emslab worker: the Symbolica thread has ended");
                        return 1;
                    }
                }
            }
            Err(e) => Answer::Failed {
                id: 0,
                message: format!("bad request: {e}"),
            },
        };
        if send(&answer).is_err() {
            break;
        }
    }
    drop(request_tx);
    let _ = handle.join();
    0
}

/// Writes one answer line (prefixed, so that the client skips anything else on stdout).
fn send(answer: &Answer) -> std::io::Result<()> {
    let json = serde_json::to_string(answer).map_err(std::io::Error::other)?;
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{ANSWER_PREFIX}{json}\n").as_bytes())?;
    out.flush()
}

fn symbolica_thread(requests: Receiver<Request>, answers: Sender<Answer>) {
    let mut symbols = Symbols::default();
    // First use of Symbolica: its licence check takes the one-thread permit here.
    let x = symbols.atom("lv0");
    let _ = (&x * &x).expand();
    let ready = Answer::Ready {
        symbolica: SYMBOLICA_VERSION.to_string(),
    };
    if answers.send(ready).is_err() {
        return;
    }
    for request in requests {
        let id = request.id;
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let design = Design::try_from(request.spec.clone())
                .map_err(|e| Malformed(format!("the design does not check: {e}")))?;
            compute(&mut symbols, &design, request.model)
        }));
        let answer = match result {
            Ok(Ok(parts)) => Answer::Derived { id, parts },
            Ok(Err(Malformed(message))) => Answer::Failed { id, message },
            Err(payload) => Answer::Failed {
                id,
                message: format!("Symbolica panicked: {}", panic_text(&payload)),
            },
        };
        if answers.send(answer).is_err() {
            return;
        }
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// The worker's Symbolica symbols (`emslab::lv0`, `emslab::ms3`, ...), created once each.
/// They print through one function that looks their label up in the print options, so
/// that the same symbols serve every design: `lv<c>` is the level count of column c,
/// `ms<u>` the mean square of row u, `v<u>` and `w<u>` unknowns.
#[derive(Default)]
struct Symbols {
    made: HashMap<String, Symbol>,
}

impl Symbols {
    fn atom(&mut self, name: &str) -> Atom {
        let s = match self.made.get(name) {
            Some(s) => *s,
            None => {
                let full = format!("emslab::{name}");
                let s = symbol!(
                    &full,
                    print = |a: AtomView, opts: &PrintOptions, _state: &PrintState| {
                        let AtomView::Var(v) = a else { return None };
                        let mode = if opts.mode.is_latex() {
                            "latex"
                        } else {
                            "text"
                        };
                        let key = format!("{mode}:{}", v.get_symbol().get_stripped_name());
                        match opts.custom_print_mode.get(&key) {
                            Some(PrintUserData::String(s)) => Some(s.clone()),
                            _ => None,
                        }
                    }
                );
                self.made.insert(name.to_string(), s);
                s
            }
        };
        Atom::var(s)
    }

    fn atoms(&mut self, prefix: &str, n: usize) -> Vec<Atom> {
        (0..n).map(|i| self.atom(&format!("{prefix}{i}"))).collect()
    }
}

fn poly_variables(atoms: &[Atom]) -> Result<Vec<PolyVariable>, Malformed> {
    atoms
        .iter()
        .map(|a| PolyVariable::try_from(a.clone()).map_err(|e| Malformed(e.to_string())))
        .collect()
}

/// The printed forms of one design's symbols.
struct Printers {
    text: PrintOptions,
    latex: PrintOptions,
}

impl Printers {
    fn new(design: &Design, rows: &[Term]) -> Printers {
        let mut text = PrintOptions::file();
        let mut latex = PrintOptions::latex();
        let mut label = |name: String, t: String, l: String| {
            text.custom_print_mode
                .insert(format!("text:{name}"), PrintUserData::String(t));
            latex
                .custom_print_mode
                .insert(format!("latex:{name}"), PrintUserData::String(l));
        };
        for c in 0..=design.n_factors() {
            let s = design.symbol_of(c);
            label(format!("lv{c}"), s.to_string(), latex_symbol(s));
        }
        let residual = rows.len() - 1;
        for (u, t) in rows.iter().enumerate() {
            let l = if u == residual {
                "E".to_string()
            } else {
                term_latex(design, t)
            };
            label(
                format!("ms{u}"),
                format!("MS({})", t.name),
                format!("\\mathrm{{MS}}_{{{l}}}"),
            );
        }
        Printers { text, latex }
    }

    fn solution(&self, term: usize, a: &Atom) -> SymbolicSolution {
        SymbolicSolution {
            term,
            text: format!("{}", a.printer(self.text.clone())),
            latex: format!("{}", a.printer(self.latex.clone())),
        }
    }
}

/// `S(B)`, `AB`: the upper-cased symbols of the live factors, dead ones in parentheses.
fn term_latex(design: &Design, t: &Term) -> String {
    let sym = |c: usize| latex_symbol(&design.symbol_of(c).to_uppercase());
    let live: String = t.live.iter().map(sym).collect();
    if t.dead.is_empty() {
        live
    } else {
        format!("{live}({})", t.dead.iter().map(sym).collect::<String>())
    }
}

/// Everything the worker computes for one design and model.
fn compute(symbols: &mut Symbols, design: &Design, model: Model) -> Result<Parts, Malformed> {
    let rows = design.terms_with_residual();
    let r = rows.len();
    if r > MAX_ROWS {
        return Err(Malformed(format!(
            "the design has {r} rows (terms and Residual); the Symbolica engine takes at most {MAX_ROWS}"
        )));
    }
    let nf = design.n_factors();
    let ncol = nf + 1;
    let residual = r - 1;
    let lv = symbols.atoms("lv", ncol);
    let ms = symbols.atoms("ms", r);
    let v = symbols.atoms("v", r);
    let w = symbols.atoms("w", r);
    let level_vars = Arc::new(poly_variables(&lv)?);
    let mut ms_and_levels = ms.clone();
    ms_and_levels.extend(lv.iter().cloned());
    let ms_level_vars = Arc::new(poly_variables(&ms_and_levels)?);
    let printers = Printers::new(design, &rows);

    // 1. The subscript table's cells, and the EMS coefficients.
    let cell = |u: &Term, c: usize| -> Atom {
        if u.dead.contains(c) {
            Atom::num(1)
        } else if u.live.contains(c) {
            let fixed_column = c < nf && design.factors[c].kind == Kind::Fixed;
            // Restricted model: 0 in a fixed live column. Unrestricted: a random row
            // takes 1 there (its effects do not sum to zero).
            if fixed_column && !(model == Model::Unrestricted && u.random) {
                Atom::num(0)
            } else {
                Atom::num(1)
            }
        } else {
            lv[c].clone()
        }
    };
    let mut coef: Vec<Vec<Atom>> = vec![vec![Atom::num(0); r]; r];
    for (t, row_t) in rows.iter().enumerate() {
        for (u, row_u) in rows.iter().enumerate() {
            if !row_u.subscripts.is_superset(row_t.subscripts) {
                continue;
            }
            let mut product = Atom::num(1);
            for c in (0..ncol).filter(|&c| !row_t.live.contains(c)) {
                product = &product * &cell(row_u, c);
            }
            coef[t][u] = product.expand();
        }
    }
    let mut ems = Vec::with_capacity(r);
    for t in 0..r {
        let mut entries = Vec::new();
        for u in 0..r {
            if coef[t][u].is_zero() {
                continue;
            }
            let mask = monomial_mask(&coef[t][u], &level_vars).map_err(|e| {
                format!(
                    "the coefficient of row `{}` in E(MS({})) is {}: {e}",
                    rows[u].name,
                    rows[t].name,
                    coef[t][u].printer(printers.text.clone())
                )
            })?;
            entries.push((u, mask));
        }
        ems.push(entries);
    }

    // 2. The moment equations, solved for every component.
    let system: Vec<Atom> = (0..r)
        .map(|t| {
            let mut e = -&ms[t];
            for u in 0..r {
                e = &e + &(&coef[t][u] * &v[u]);
            }
            e
        })
        .collect();
    let values = solve(&system, &v, "the moment equations")?;
    let mut estimators = Vec::new();
    let mut components = Vec::with_capacity(r);
    for (u, value) in values.iter().enumerate() {
        let rational: RationalPolynomial<_, u8> = value
            .try_to_rational_polynomial(&Q, &Z, Some(ms_level_vars.clone()))
            .map_err(|e| format!("the solution for row `{}`: {e}", rows[u].name))?;
        components.push(printers.solution(u, &rational.to_expression()));
        if rows[u].random {
            let (combination, divisor) = estimator(&rational, r).map_err(|e| {
                format!(
                    "the solution for row `{}`, {}, {e}",
                    rows[u].name,
                    value.printer(printers.text.clone())
                )
            })?;
            let mut ordered: Vec<(usize, i64)> = combination
                .iter()
                .copied()
                .filter(|&(x, _)| x == u)
                .collect();
            ordered.extend(combination.iter().copied().filter(|&(x, _)| x != u));
            estimators.push(WireEstimator {
                component: u,
                combination: ordered,
                divisor,
            });
        }
    }

    // 3. The F′ denominators. The system Σ_V w_V c_VU = t_U (one equation per row U) is
    // solved once for a symbolic right-hand side t; term T's weights are that solution at
    // t_U = c_TU for U ≠ T and t_T = 0, and must be integers.
    let rhs = symbols.atoms("t", r);
    let system: Vec<Atom> = (0..r)
        .map(|u| {
            let mut e = -&rhs[u];
            for x in 0..r {
                e = &e + &(&w[x] * &coef[x][u]);
            }
            e
        })
        .collect();
    let generic = solve(&system, &w, "the denominator equations")?;
    let mut denominators = Vec::with_capacity(r);
    let mut denominator_solutions = Vec::new();
    for t in 0..r {
        if t == residual {
            denominators.push(Vec::new());
            continue;
        }
        let at_t: Vec<Replacement> = (0..r)
            .map(|u| {
                let value = if u == t {
                    Atom::num(0)
                } else {
                    coef[t][u].clone()
                };
                Replacement::new(rhs[u].to_pattern(), value)
            })
            .collect();
        let mut combination = Vec::new();
        let mut expression = Atom::num(0);
        for (x, solution) in generic.iter().enumerate() {
            let weight = solution.replace_multiple(&at_t).expand();
            let value = integer(&weight, &level_vars).map_err(|e| {
                format!(
                    "the weight of MS({}) in the denominator of `{}` is {}: {e}",
                    rows[x].name,
                    rows[t].name,
                    weight.printer(printers.text.clone())
                )
            })?;
            if value != 0 {
                combination.push((x, value));
                expression = &expression + &(&weight * &ms[x]);
            }
        }
        let tested = combination.iter().all(|&(x, _)| rows[x].random);
        if tested && !combination.is_empty() {
            denominator_solutions.push(printers.solution(t, &expression.expand()));
        }
        denominators.push(combination);
    }
    Ok(Parts {
        ems,
        denominators,
        estimators,
        solutions: Solutions {
            components,
            denominators: denominator_solutions,
        },
    })
}

/// Solves a linear system for `unknowns`; one value per unknown, in order.
fn solve(system: &[Atom], unknowns: &[Atom], what: &str) -> Result<Vec<Atom>, Malformed> {
    let set = AtomView::solve(system)
        .wrt_with_exponent::<u8, _>(unknowns)
        .map_err(|e| format!("{what}: Symbolica's solver: {e}"))?;
    if set.len() != 1 {
        return Err(Malformed(format!(
            "{what}: {} solution branches, expected one",
            set.len()
        )));
    }
    let solution = &set[0];
    if !solution.free_variables().is_empty() {
        return Err(Malformed(format!("{what}: the solution is not unique")));
    }
    let variables = poly_variables(unknowns)?;
    variables
        .iter()
        .map(|var| {
            solution
                .get(var)
                .cloned()
                .ok_or_else(|| Malformed(format!("{what}: no value for {var}")))
        })
        .collect()
}

/// The column mask of a product of distinct level symbols with coefficient 1.
fn monomial_mask(atom: &Atom, level_vars: &Arc<Vec<PolyVariable>>) -> Result<u64, Malformed> {
    let poly = atom
        .try_to_polynomial::<_, u8>(&Z, Some(level_vars.clone()))
        .map_err(|e| format!("not a polynomial in the level symbols ({e})"))?;
    if poly.nterms() != 1 {
        return Err(Malformed("not a single product of level symbols".into()));
    }
    let mut mask = 0u64;
    for term in &poly {
        if !term.coefficient.is_one() {
            return Err(Malformed(format!(
                "its numeric factor is {}",
                term.coefficient
            )));
        }
        for (c, &e) in term.exponents.iter().enumerate() {
            match e {
                0 => {}
                1 => mask |= 1 << c,
                _ => return Err(Malformed("a level symbol appears squared".into())),
            }
        }
    }
    Ok(mask)
}

/// Reads Σ k_V MS_V / (product of level symbols) with integer k_V; `r` MS symbols come
/// first in the variables, then the level symbols.
fn estimator(
    rational: &RationalPolynomial<Z, u8>,
    r: usize,
) -> Result<(Vec<(usize, i64)>, u64), Malformed> {
    let den = &rational.denominator;
    if den.nterms() != 1 {
        return Err(Malformed(
            "its denominator is not a single product of level symbols".into(),
        ));
    }
    let mut sign = 1i64;
    let mut divisor = 0u64;
    for term in den {
        if term.coefficient.is_negative() {
            sign = -1;
        }
        let magnitude = term.coefficient.abs();
        if !magnitude.is_one() {
            return Err(Malformed(format!(
                "its denominator has the factor {}",
                term.coefficient
            )));
        }
        for (k, &e) in term.exponents.iter().enumerate() {
            match (k < r, e) {
                (_, 0) => {}
                (false, 1) => divisor |= 1 << (k - r),
                (true, _) => {
                    return Err(Malformed("a mean square appears in its denominator".into()));
                }
                (false, _) => return Err(Malformed("a level symbol appears squared".into())),
            }
        }
    }
    let mut combination = Vec::new();
    for term in &rational.numerator {
        let nonzero: Vec<(usize, u8)> = term
            .exponents
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, e)| e != 0)
            .collect();
        let [(k, 1)] = nonzero[..] else {
            return Err(Malformed(
                "its numerator is not a sum of integer multiples of mean squares".into(),
            ));
        };
        if k >= r {
            return Err(Malformed(
                "its numerator is not a sum of integer multiples of mean squares".into(),
            ));
        }
        let weight = term
            .coefficient
            .to_i64()
            .ok_or_else(|| format!("the weight {} is too large", term.coefficient))?;
        combination.push((k, sign * weight));
    }
    combination.sort_unstable();
    Ok((combination, divisor))
}

/// An integer constant (after simplification as a rational function of the level symbols).
fn integer(atom: &Atom, level_vars: &Arc<Vec<PolyVariable>>) -> Result<i64, Malformed> {
    let q = match Rational::try_from(atom.as_view()) {
        Ok(q) => q,
        Err(_) => {
            let rational: RationalPolynomial<_, u8> = atom
                .try_to_rational_polynomial(&Q, &Z, Some(level_vars.clone()))
                .map_err(|e| format!("not a rational function of the level symbols ({e})"))?;
            if !rational.numerator.is_constant() || !rational.denominator.is_constant() {
                return Err(Malformed("not a number".into()));
            }
            let (n, d) = (
                rational.numerator.get_constant(),
                rational.denominator.get_constant(),
            );
            if !d.is_one() {
                return Err(Malformed("not an integer".into()));
            }
            Rational::from(n)
        }
    };
    if !q.is_integer() {
        return Err(Malformed("not an integer".into()));
    }
    q.numerator_ref()
        .to_i64()
        .ok_or_else(|| Malformed("too large".into()))
}
