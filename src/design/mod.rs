//! Designs: factors (fixed or random, crossed or nested), replicates and the model's terms.
//!
//! [`DesignSpec`] is what a file says; [`Design`] is a checked design, built only through
//! `Design::try_from(spec)`. Nothing downstream re-checks it.

pub mod poly;
mod spec;

use std::fmt;

pub use poly::{Factored, Poly};
pub use spec::{DesignSpec, FactorSpec, Kind, Role, SpecParseError};

/// The most factors a design may have (one bit of a `u64` each, one more for the error).
pub const MAX_FACTORS: usize = 62;

/// The most terms the factor structure may allow unless a larger limit is given
/// ([`Design::from_spec`], `--max-terms`): 12 crossed factors (4,095 terms) derive in well
/// under a second; each further crossed factor doubles the terms and triples the EMS table.
pub const DEFAULT_MAX_TERMS: usize = 4096;

/// A set of subscripts (factor indices, and the error subscript at index `n_factors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Subscripts(pub u64);

impl Subscripts {
    pub const EMPTY: Subscripts = Subscripts(0);
    pub fn single(i: usize) -> Self {
        Subscripts(1u64 << i)
    }
    pub fn contains(self, i: usize) -> bool {
        self.0 >> i & 1 == 1
    }
    pub fn is_superset(self, other: Subscripts) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn union(self, other: Subscripts) -> Self {
        Subscripts(self.0 | other.0)
    }
    pub fn intersection(self, other: Subscripts) -> Self {
        Subscripts(self.0 & other.0)
    }
    pub fn minus(self, other: Subscripts) -> Self {
        Subscripts(self.0 & !other.0)
    }
    pub fn with(self, i: usize) -> Self {
        Subscripts(self.0 | 1u64 << i)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Indices in increasing order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                None
            } else {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(i)
            }
        })
    }
}

/// A checked factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub name: String,
    pub kind: Kind,
    /// Levels within each level of its parents; `None` until data supply it.
    pub levels: Option<u32>,
    /// Direct parents (indices into the design's factors).
    pub parents: Vec<usize>,
    /// All ancestors: parents, their parents, ...
    pub ancestors: Subscripts,
    /// Letter(s) for the level count in symbolic output (`a`, `b`, `s`, ...).
    pub symbol: String,
    /// Subscript letter in the subscript table (`i`, `j`, `k`, ...).
    pub subscript: String,
}

/// A term of the model: a set of factors closed under ancestry. The *live* factors are
/// those not nested in another factor of the term; the *dead* ones are their ancestors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// Canonical name (`A`, `A:B`, `B(A)`, `A:C(B)`, or `Residual`).
    pub name: String,
    /// Live and dead subscripts together.
    pub subscripts: Subscripts,
    pub live: Subscripts,
    pub dead: Subscripts,
    /// Random when any of its factors (or the error) is random.
    pub random: bool,
}

/// A checked design.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub title: String,
    pub response: Option<String>,
    pub factors: Vec<Factor>,
    /// Observations per cell of all factors; `None` until data supply it.
    pub replicates: Option<u32>,
    /// Model terms in canonical order (without the Residual).
    pub terms: Vec<Term>,
    /// Terms the factor structure allows but the term list leaves out, contained in no kept
    /// term: pooled into Residual.
    pub pooled: Vec<Term>,
    /// Terms the term list leaves out that a kept term contains: each is absorbed by the
    /// smallest kept term containing it (R's model formulas), in canonical order.
    pub absorbed: Vec<Absorbed>,
    /// Symbol of the replicate count (`n`).
    pub replicate_symbol: String,
    /// Subscript letter of the error (replicate) subscript.
    pub error_subscript: String,
    spec: DesignSpec,
    /// Position of each model term in the design's term list (canonical order when the
    /// file lists none): R's order, which breaks ties between absorbing terms.
    list_position: Vec<usize>,
    /// The limit on the number of terms this design was checked against.
    max_terms: usize,
}

/// A dropped term absorbed by a kept one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absorbed {
    pub term: Term,
    /// The kept term (index into [`Design::terms`]) whose mean square absorbs it: the one
    /// with the fewest factors among those containing it, the first in the term list
    /// among equals (R's model formulas).
    pub into: usize,
    /// Other kept terms that contain it minimally (none contained in another that does):
    /// when not empty, the term list's order decided.
    pub also: Vec<usize>,
}

/// How many terms a factor structure allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermCount {
    Exactly(u128),
    /// More than this many (counted until the limit was passed).
    MoreThan(u128),
}

impl fmt::Display for TermCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermCount::Exactly(n) => write!(f, "{}", thousands(*n)),
            TermCount::MoreThan(n) => write!(f, "more than {}", thousands(*n)),
        }
    }
}

/// `16383` as `16,383`.
pub(crate) fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// What is wrong with a design. Each message names the factor, field or term.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignError {
    #[error("{0}")]
    Parse(#[from] SpecParseError),
    #[error("`factors` is empty: declare at least one factor with [[factors]]")]
    NoFactors,
    #[error("too many factors ({0}); at most {MAX_FACTORS} are supported")]
    TooManyFactors(usize),
    #[error(
        "factors[{index}]: name `{name}` is not valid: use letters, digits and `_`, starting with a letter"
    )]
    BadName { index: usize, name: String },
    #[error(
        "factors[{index}]: name `{name}` is reserved: {}; choose another name",
        reserved.meaning()
    )]
    ReservedName {
        index: usize,
        name: String,
        reserved: Reserved,
    },
    #[error("factors[{index}]: name `{name}` is also the name of factors[{first}]")]
    DuplicateName {
        index: usize,
        first: usize,
        name: String,
    },
    #[error("factors[{index}] (`{name}`): `levels` is {levels}; a factor needs at least 2 levels")]
    TooFewLevels {
        index: usize,
        name: String,
        levels: u32,
    },
    #[error(
        "factors[{index}] (`{name}`): role `{role}` is also the role of factors[{first}] (`{first_name}`); a design has at most one part and one operator factor"
    )]
    DuplicateRole {
        index: usize,
        name: String,
        first: usize,
        first_name: String,
        role: &'static str,
    },
    #[error("`replicates` is 0; it must be at least 1 (1 for one observation per cell)")]
    ZeroReplicates,
    #[error("factors[{index}] (`{name}`): nested in unknown factor `{parent}`{hint}")]
    UnknownParent {
        index: usize,
        name: String,
        parent: String,
        hint: String,
    },
    #[error("factors[{index}] (`{name}`): `nested_in` names `{parent}` twice")]
    DuplicateParent {
        index: usize,
        name: String,
        parent: String,
    },
    #[error("factors[{index}] (`{name}`): nested in itself")]
    SelfNested { index: usize, name: String },
    #[error("`nested_in` is cyclic: {0}")]
    Cycle(String),
    #[error(
        "factors[{index}] (`{name}`): symbol `{symbol}` is not valid: use a letter, optionally followed by letters or digits"
    )]
    BadSymbol {
        index: usize,
        name: String,
        symbol: String,
    },
    #[error("factors[{index}] (`{name}`): symbol `{symbol}` is already used{by}")]
    DuplicateSymbol {
        index: usize,
        name: String,
        symbol: String,
        by: String,
    },
    #[error("terms[{index}]: `{term}` names unknown factor `{factor}`{hint}")]
    UnknownTermFactor {
        index: usize,
        term: String,
        factor: String,
        hint: String,
    },
    #[error("terms[{index}]: `{term}` is not a possible term: {reason}")]
    ImpossibleTerm {
        index: usize,
        term: String,
        reason: String,
    },
    #[error("terms[{index}]: `{term}` is listed twice (also terms[{first}])")]
    DuplicateTerm {
        index: usize,
        first: usize,
        term: String,
    },
    #[error("`terms` is empty: list at least one term, or leave `terms` out for the full model")]
    NoTerms,
    #[error(
        "the factors allow {count} terms, more than the limit of {}: every term is a row of the EMS table, and each crossed factor doubles the rows (and triples the table); raise the limit with --max-terms",
        thousands(*limit as u128)
    )]
    TooManyTerms { count: TermCount, limit: usize },
    #[error(
        "the Residual has 0 degrees of freedom (replicates = 1 and every term is kept), so the test of `{top}` has no denominator: drop `{top}` from `terms` to pool it into the Residual (terms = [{keep}]), or take replicates >= 2"
    )]
    NoResidualDf { top: String, keep: String },
}

impl DesignError {
    /// The field of the design file the error is about (`factors[1]`, `terms[0]`, ...).
    pub fn field(&self) -> Option<String> {
        use DesignError::*;
        match self {
            BadName { index, .. }
            | ReservedName { index, .. }
            | DuplicateName { index, .. }
            | TooFewLevels { index, .. }
            | UnknownParent { index, .. }
            | DuplicateParent { index, .. }
            | SelfNested { index, .. }
            | BadSymbol { index, .. }
            | DuplicateSymbol { index, .. }
            | DuplicateRole { index, .. } => Some(format!("factors[{index}]")),
            UnknownTermFactor { index, .. }
            | ImpossibleTerm { index, .. }
            | DuplicateTerm { index, .. } => Some(format!("terms[{index}]")),
            ZeroReplicates => Some("replicates".into()),
            NoTerms | NoResidualDf { .. } => Some("terms".into()),
            NoFactors | TooManyFactors(_) | TooManyTerms { .. } => Some("factors".into()),
            Parse(_) | Cycle(_) => None,
        }
    }
}

/// Names a factor may not take: they name rows of every table (`Residual`, `Total`) or are
/// read as the Residual in term lists, `--sigma2` and summary tables (`Error`, `Within`,
/// `Residuals`, `Resid`), in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// `Residual` and the names read as it.
    Residual,
    /// `Total`, the corrected total row of the ANOVA table.
    Total,
}

impl Reserved {
    /// Whether a name (any case) is reserved, and for what.
    pub fn of(name: &str) -> Option<Reserved> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "residual" | "residuals" | "resid" | "error" | "within" => Some(Reserved::Residual),
            "total" => Some(Reserved::Total),
            _ => None,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Reserved::Residual => {
                "it names the error term (`Residual`, also read from `Error`, `Within`, `Residuals`), in term lists, tables and --sigma2"
            }
            Reserved::Total => "it names the total row of the ANOVA table",
        }
    }
}

fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The letter of a factor's level count when the design names none: the first letter of
/// its name, lowercased; but never `o`, which reads as a zero in `o n σ²`: a name starting
/// with `o` takes its next letter that is neither `o` nor taken (`operator` -> `p`, or `e`
/// when `p` is taken).
fn default_symbol_letter(name: &str, used: &[(String, String)]) -> String {
    let letters: Vec<char> = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let first = letters.first().copied().unwrap_or('x');
    if first != 'o' {
        return first.to_string();
    }
    let others: Vec<char> = letters.into_iter().filter(|&c| c != 'o').collect();
    others
        .iter()
        .find(|c| !used.iter().any(|(s, _)| *s == c.to_string()))
        .or(others.first())
        .map_or_else(|| "x".to_string(), char::to_string)
}

fn valid_symbol(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// A "did you mean" hint: the known name closest to `wanted`, when close enough.
pub(crate) fn suggestion<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let wanted_lower = wanted.to_ascii_lowercase();
    let limit = 2.max(wanted.len() / 3);
    let wanted_chars = wanted.chars().count();
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        // The distance is at least the difference in length: skip the quadratic
        // comparison of a long field (a 10 MB header) that cannot be close.
        if k.chars().count().abs_diff(wanted_chars) > limit {
            continue;
        }
        let d = edit_distance(&wanted_lower, &k.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Subscript letters, in the order of the subscript table: i j k l m p q r s t u v w, then
/// i13, i14, ... (n and o are left out: n is the replicate count).
fn subscript_letter(i: usize) -> String {
    const LETTERS: [&str; 13] = [
        "i", "j", "k", "l", "m", "p", "q", "r", "s", "t", "u", "v", "w",
    ];
    LETTERS
        .get(i)
        .map_or_else(|| format!("i{}", i + 1), |s| (*s).to_string())
}

impl TryFrom<DesignSpec> for Design {
    type Error = DesignError;

    /// Checks a spec against [`DEFAULT_MAX_TERMS`].
    fn try_from(spec: DesignSpec) -> Result<Design, DesignError> {
        Design::from_spec(spec, DEFAULT_MAX_TERMS)
    }
}

impl Design {
    /// Checks a spec; a factor structure that allows more than `max_terms` terms is
    /// refused before they are listed (with their number, or a lower bound of it).
    pub fn from_spec(spec: DesignSpec, max_terms: usize) -> Result<Design, DesignError> {
        let nf = spec.factors.len();
        if nf == 0 {
            return Err(DesignError::NoFactors);
        }
        if nf > MAX_FACTORS {
            return Err(DesignError::TooManyFactors(nf));
        }
        if spec.replicates == Some(0) {
            return Err(DesignError::ZeroReplicates);
        }
        check_names(&spec)?;
        check_roles(&spec)?;
        let parents = parent_lists(&spec)?;
        let ancestors = ancestor_sets(&spec, &parents)?;
        let factors = factor_list(&spec, &parents, &ancestors)?;
        // Terms.
        let all = all_terms(&factors, max_terms).ok_or_else(|| DesignError::TooManyTerms {
            count: count_terms(&factors, max_terms),
            limit: max_terms,
        })?;
        let ChosenTerms {
            terms,
            list_position,
            pooled,
            absorbed,
        } = chosen_terms(&spec, &factors, all)?;
        if spec.replicates == Some(1) && pooled.is_empty() && absorbed.is_empty() {
            // The full model with one observation per cell: the top term is confounded with
            // the error and nothing can test it.
            let top = terms.last().map(|t| t.name.clone()).unwrap_or_default();
            let keep = terms[..terms.len().saturating_sub(1)]
                .iter()
                .map(|t| format!("\"{}\"", t.name))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(DesignError::NoResidualDf { top, keep });
        }
        Ok(Design {
            title: spec.title.clone(),
            response: spec.response.clone(),
            replicates: spec.replicates,
            replicate_symbol: "n".to_string(),
            error_subscript: subscript_letter(nf),
            factors,
            terms,
            pooled,
            absorbed,
            spec,
            list_position,
            max_terms,
        })
    }
}

/// Factor names: identifiers, not reserved, unique; declared level counts at least 2.
fn check_names(spec: &DesignSpec) -> Result<(), DesignError> {
    for (index, f) in spec.factors.iter().enumerate() {
        if !valid_identifier(&f.name) {
            return Err(DesignError::BadName {
                index,
                name: f.name.clone(),
            });
        }
        if let Some(reserved) = Reserved::of(&f.name) {
            return Err(DesignError::ReservedName {
                index,
                name: f.name.clone(),
                reserved,
            });
        }
        if let Some(first) = spec.factors[..index].iter().position(|g| g.name == f.name) {
            return Err(DesignError::DuplicateName {
                index,
                first,
                name: f.name.clone(),
            });
        }
        if let Some(levels) = f.levels
            && levels < 2
        {
            return Err(DesignError::TooFewLevels {
                index,
                name: f.name.clone(),
                levels,
            });
        }
    }
    Ok(())
}

/// Gauge roles: at most one factor each.
fn check_roles(spec: &DesignSpec) -> Result<(), DesignError> {
    for (index, f) in spec.factors.iter().enumerate() {
        let Some(role) = f.role else { continue };
        if let Some(first) = spec.factors[..index]
            .iter()
            .position(|g| g.role == Some(role))
        {
            return Err(DesignError::DuplicateRole {
                index,
                name: f.name.clone(),
                first,
                first_name: spec.factors[first].name.clone(),
                role: role.as_str(),
            });
        }
    }
    Ok(())
}

/// Each factor's parents (positions, sorted), checked to exist and to be listed once.
fn parent_lists(spec: &DesignSpec) -> Result<Vec<Vec<usize>>, DesignError> {
    let nf = spec.factors.len();
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(nf);
    for (index, f) in spec.factors.iter().enumerate() {
        let mut ps = Vec::new();
        for p in &f.nested_in {
            let Some(pi) = spec.factors.iter().position(|g| &g.name == p) else {
                return Err(DesignError::UnknownParent {
                    index,
                    name: f.name.clone(),
                    parent: p.clone(),
                    hint: suggestion(p, spec.factors.iter().map(|g| g.name.as_str())),
                });
            };
            if pi == index {
                return Err(DesignError::SelfNested {
                    index,
                    name: f.name.clone(),
                });
            }
            if ps.contains(&pi) {
                return Err(DesignError::DuplicateParent {
                    index,
                    name: f.name.clone(),
                    parent: p.clone(),
                });
            }
            ps.push(pi);
        }
        ps.sort_unstable();
        parents.push(ps);
    }
    Ok(parents)
}

/// The factors with their symbols (given ones checked and unique, the others chosen
/// from the name's letters) and subscripts.
fn factor_list(
    spec: &DesignSpec,
    parents: &[Vec<usize>],
    ancestors: &[Subscripts],
) -> Result<Vec<Factor>, DesignError> {
    let nf = spec.factors.len();
    let mut used: Vec<(String, String)> = vec![("n".to_string(), "the replicates".to_string())];
    for (index, f) in spec.factors.iter().enumerate() {
        if let Some(sym) = &f.symbol {
            if !valid_symbol(sym) {
                return Err(DesignError::BadSymbol {
                    index,
                    name: f.name.clone(),
                    symbol: sym.clone(),
                });
            }
            if let Some((_, by)) = used.iter().find(|(s, _)| s == sym) {
                return Err(DesignError::DuplicateSymbol {
                    index,
                    name: f.name.clone(),
                    symbol: sym.clone(),
                    by: format!(" by {by}"),
                });
            }
            used.push((sym.clone(), format!("factor `{}`", f.name)));
        }
    }
    let mut factors = Vec::with_capacity(nf);
    for (index, f) in spec.factors.iter().enumerate() {
        let symbol = match &f.symbol {
            Some(s) => s.clone(),
            None => {
                let first = default_symbol_letter(&f.name, &used);
                let mut candidate = first.clone();
                let mut k = 2;
                while used.iter().any(|(s, _)| *s == candidate) {
                    candidate = format!("{first}{k}");
                    k += 1;
                }
                used.push((candidate.clone(), format!("factor `{}`", f.name)));
                candidate
            }
        };
        factors.push(Factor {
            name: f.name.clone(),
            kind: f.kind,
            levels: f.levels,
            parents: parents[index].clone(),
            ancestors: ancestors[index],
            symbol,
            subscript: subscript_letter(index),
        });
    }
    Ok(factors)
}

/// The kept terms (all of them without a term list) with their positions in the list,
/// and the dropped terms pooled into the Residual or absorbed by a kept term.
fn chosen_terms(
    spec: &DesignSpec,
    factors: &[Factor],
    all: Vec<Term>,
) -> Result<ChosenTerms, DesignError> {
    let (terms, list_position, pooled, absorbed) = match &spec.terms {
        None => {
            let n = all.len();
            (all, (0..n).collect(), Vec::new(), Vec::new())
        }
        Some(list) => {
            if list.is_empty() {
                return Err(DesignError::NoTerms);
            }
            let mut chosen: std::collections::HashMap<Subscripts, usize> =
                std::collections::HashMap::new();
            for (index, text) in list.iter().enumerate() {
                let set = parse_term(index, text, factors)?;
                if let Some(&first) = chosen.get(&set) {
                    return Err(DesignError::DuplicateTerm {
                        index,
                        first,
                        term: text.clone(),
                    });
                }
                chosen.insert(set, index);
            }
            let (kept, dropped): (Vec<Term>, Vec<Term>) = all
                .into_iter()
                .partition(|t| chosen.contains_key(&t.subscripts));
            let positions: Vec<usize> = kept
                .iter()
                .map(|t| chosen.get(&t.subscripts).copied().unwrap_or(usize::MAX))
                .collect();
            let (pooled, absorbed) = absorb(&kept, &positions, dropped);
            (kept, positions, pooled, absorbed)
        }
    };
    Ok(ChosenTerms {
        terms,
        list_position,
        pooled,
        absorbed,
    })
}

/// The terms a term list keeps, their positions in it, and the dropped ones.
struct ChosenTerms {
    terms: Vec<Term>,
    list_position: Vec<usize>,
    pooled: Vec<Term>,
    absorbed: Vec<Absorbed>,
}

/// Splits dropped terms into those absorbed by a kept term (the smallest containing it,
/// the first in the term list among equals) and those pooled into the Residual.
fn absorb(kept: &[Term], positions: &[usize], dropped: Vec<Term>) -> (Vec<Term>, Vec<Absorbed>) {
    let mut pooled = Vec::new();
    let mut absorbed = Vec::new();
    for term in dropped {
        let candidates: Vec<usize> = (0..kept.len())
            .filter(|&k| kept[k].subscripts.is_superset(term.subscripts))
            .collect();
        let Some(&into) = candidates
            .iter()
            .min_by_key(|&&k| (kept[k].subscripts.len(), positions[k]))
        else {
            pooled.push(term);
            continue;
        };
        let also = candidates
            .iter()
            .copied()
            .filter(|&k| k != into)
            .filter(|&k| {
                !candidates
                    .iter()
                    .any(|&j| j != k && kept[k].subscripts.is_superset(kept[j].subscripts))
            })
            .collect();
        absorbed.push(Absorbed { term, into, also });
    }
    (pooled, absorbed)
}

/// Transitive closure of the parent relation; detects cycles.
fn ancestor_sets(
    spec: &DesignSpec,
    parents: &[Vec<usize>],
) -> Result<Vec<Subscripts>, DesignError> {
    let nf = parents.len();
    // 0 = unvisited, 1 = on the stack, 2 = done
    let mut state = vec![0u8; nf];
    let mut result = vec![Subscripts::EMPTY; nf];
    fn visit(
        i: usize,
        parents: &[Vec<usize>],
        state: &mut [u8],
        result: &mut [Subscripts],
        stack: &mut Vec<usize>,
        spec: &DesignSpec,
    ) -> Result<(), DesignError> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut names: Vec<&str> = stack[start..]
                    .iter()
                    .map(|&s| spec.factors[s].name.as_str())
                    .collect();
                names.push(spec.factors[i].name.as_str());
                return Err(DesignError::Cycle(names.join(" is nested in ")));
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        let mut set = Subscripts::EMPTY;
        for &p in &parents[i] {
            visit(p, parents, state, result, stack, spec)?;
            set = set.with(p).union(result[p]);
        }
        stack.pop();
        state[i] = 2;
        result[i] = set;
        Ok(())
    }
    let mut stack = Vec::new();
    for i in 0..nf {
        visit(i, parents, &mut state, &mut result, &mut stack, spec)?;
    }
    Ok(result)
}

/// Canonical name of a term given its subscript set.
pub(crate) fn term_name(factors: &[Factor], set: Subscripts) -> String {
    let dead = dead_of(factors, set);
    let live = set.minus(dead);
    let mut name = live
        .iter()
        .map(|i| factors[i].name.as_str())
        .collect::<Vec<_>>()
        .join(":");
    if !dead.is_empty() {
        name.push('(');
        name.push_str(
            &dead
                .iter()
                .map(|i| factors[i].name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        name.push(')');
    }
    name
}

/// The dead subscripts of a term: factors that are ancestors of another factor in it.
fn dead_of(factors: &[Factor], set: Subscripts) -> Subscripts {
    let mut dead = Subscripts::EMPTY;
    for i in set.iter() {
        dead = dead.union(factors[i].ancestors);
    }
    dead.intersection(set)
}

fn make_term(factors: &[Factor], set: Subscripts) -> Term {
    let dead = dead_of(factors, set);
    Term {
        name: term_name(factors, set),
        subscripts: set,
        live: set.minus(dead),
        dead,
        random: set.iter().any(|i| factors[i].kind == Kind::Random),
    }
}

/// Canonical order: by the number of live factors, then by the live factors' declaration
/// order (A, B, C, A:B, A:C, B:C, A:B:C; B(A) sits with the main effects).
fn canonical_key(t: &Term) -> (usize, Vec<usize>, Vec<usize>) {
    (
        t.live.len(),
        t.live.iter().collect(),
        t.dead.iter().collect(),
    )
}

/// Every term the factor structure allows: each non-empty set of factors closed under
/// ancestry, in canonical order.
fn all_terms(factors: &[Factor], max_terms: usize) -> Option<Vec<Term>> {
    // Build closed sets incrementally: start from {∅}; for each factor in an order where
    // parents come first, extend every closed set that contains its ancestors. The count
    // only grows, so passing the limit at any step means the whole exceeds it.
    let nf = factors.len();
    let mut order: Vec<usize> = (0..nf).collect();
    order.sort_by_key(|&i| factors[i].ancestors.len());
    let mut sets: Vec<Subscripts> = vec![Subscripts::EMPTY];
    for &i in &order {
        let anc = factors[i].ancestors;
        let extra: Vec<Subscripts> = sets
            .iter()
            .filter(|s| s.is_superset(anc))
            .map(|s| s.with(i))
            .collect();
        sets.extend(extra);
        if sets.len() - 1 > max_terms {
            return None;
        }
    }
    let mut terms: Vec<Term> = sets
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| make_term(factors, s))
        .collect();
    terms.sort_by_key(canonical_key);
    Some(terms)
}

/// The number of terms a factor structure allows: exact when every factor has at most one
/// parent (a forest: each subtree contributes a product), otherwise a lower bound.
fn count_terms(factors: &[Factor], counted_past: usize) -> TermCount {
    if factors.iter().any(|f| f.parents.len() > 1) {
        return TermCount::MoreThan(counted_past as u128);
    }
    // Closed sets within the subtree of v that contain v: the product over v's children
    // of (1 + theirs). Children come after their parents in no particular order, so
    // compute from the deepest factors up.
    let nf = factors.len();
    let mut order: Vec<usize> = (0..nf).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(factors[i].ancestors.len()));
    let mut within = vec![1u128; nf];
    for &v in &order {
        if let Some(&p) = factors[v].parents.first() {
            within[p] = within[p].saturating_mul(within[v].saturating_add(1));
        }
    }
    let total = (0..nf)
        .filter(|&v| factors[v].parents.is_empty())
        .fold(1u128, |acc, v| {
            acc.saturating_mul(within[v].saturating_add(1))
        });
    TermCount::Exactly(total - 1)
}

/// Parses a term name (`A:C(B)`, `sample(batch)`) into its subscript set.
fn parse_term(index: usize, text: &str, factors: &[Factor]) -> Result<Subscripts, DesignError> {
    let impossible = |reason: String| DesignError::ImpossibleTerm {
        index,
        term: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    let (live_part, dead_part) = match trimmed.find('(') {
        Some(open) => {
            let Some(inner) = trimmed[open + 1..].strip_suffix(')') else {
                return Err(impossible("unbalanced parentheses".into()));
            };
            (&trimmed[..open], Some(inner))
        }
        None => (trimmed, None),
    };
    let lookup = |name: &str| -> Result<usize, DesignError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(impossible(
                "a factor name is missing (an empty name next to `:`, `,` or a parenthesis)".into(),
            ));
        }
        factors
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| DesignError::UnknownTermFactor {
                index,
                term: text.to_string(),
                factor: name.to_string(),
                hint: suggestion(name, factors.iter().map(|f| f.name.as_str())),
            })
    };
    if trimmed.is_empty() {
        return Err(impossible("the term is empty".into()));
    }
    if live_part.trim().is_empty() {
        return Err(impossible("no factor before the parentheses".into()));
    }
    let mut live = Subscripts::EMPTY;
    for name in live_part.split(':') {
        let i = lookup(name)?;
        if live.contains(i) {
            return Err(impossible(format!("`{}` appears twice", factors[i].name)));
        }
        live = live.with(i);
    }
    let mut dead = Subscripts::EMPTY;
    if let Some(d) = dead_part {
        for name in d.split(',') {
            let i = lookup(name)?;
            if dead.contains(i) || live.contains(i) {
                return Err(impossible(format!("`{}` appears twice", factors[i].name)));
            }
            dead = dead.with(i);
        }
    }
    // A live factor may not be an ancestor of another live factor (A:B(A)).
    for i in live.iter() {
        for j in live.iter() {
            if factors[j].ancestors.contains(i) {
                return Err(impossible(format!(
                    "`{}` is nested in `{}`, so they cannot be crossed; the nested term is `{}`",
                    factors[j].name,
                    factors[i].name,
                    term_name(factors, live.union(factors[j].ancestors)),
                )));
            }
        }
    }
    let mut needed = Subscripts::EMPTY;
    for i in live.iter() {
        needed = needed.union(factors[i].ancestors);
    }
    if dead != needed {
        let canonical = term_name(factors, live.union(needed));
        let reason = if needed.minus(dead).is_empty() {
            format!(
                "the factors in parentheses must be exactly the ancestors of {}; write `{canonical}`",
                live.iter()
                    .map(|i| format!("`{}`", factors[i].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "it leaves out the parents {}; write `{canonical}`",
                needed
                    .minus(dead)
                    .iter()
                    .map(|i| format!("`{}`", factors[i].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(impossible(reason));
    }
    Ok(live.union(dead))
}

impl Design {
    /// Parses and checks TOML text.
    pub fn from_toml_str(text: &str) -> Result<Design, DesignError> {
        Design::try_from(DesignSpec::from_toml_str(text)?)
    }

    /// Parses and checks the bytes of a design file (see [`DesignSpec::from_toml_bytes`]).
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<Design, DesignError> {
        Design::try_from(DesignSpec::from_toml_bytes(bytes)?)
    }

    /// The (normalised) spec this design was built from, e.g. to write it back to a file.
    pub fn spec(&self) -> &DesignSpec {
        &self.spec
    }

    pub fn n_factors(&self) -> usize {
        self.factors.len()
    }

    /// Index of the error (replicate) subscript.
    pub fn error_index(&self) -> usize {
        self.factors.len()
    }

    /// The Residual term (all factors dead, the error subscript live).
    pub fn residual(&self) -> Term {
        let nf = self.factors.len();
        let all = Subscripts((1u64 << nf) - 1);
        Term {
            name: "Residual".to_string(),
            subscripts: all.with(nf),
            live: Subscripts::single(nf),
            dead: all,
            random: true,
        }
    }

    /// Model terms followed by the Residual: the rows of the EMS table.
    pub fn terms_with_residual(&self) -> Vec<Term> {
        let mut t = self.terms.clone();
        t.push(self.residual());
        t
    }

    /// Level count of a subscript (factor index, or the error index for replicates).
    pub fn levels_of(&self, subscript: usize) -> Option<u32> {
        if subscript == self.factors.len() {
            self.replicates
        } else {
            self.factors.get(subscript).and_then(|f| f.levels)
        }
    }

    /// Symbol of a subscript's level count.
    pub fn symbol_of(&self, subscript: usize) -> &str {
        if subscript == self.factors.len() {
            &self.replicate_symbol
        } else {
            &self.factors[subscript].symbol
        }
    }

    /// Whether every level count (and the replicate count) is known.
    pub fn is_sized(&self) -> bool {
        self.replicates.is_some() && self.factors.iter().all(|f| f.levels.is_some())
    }

    /// Number of cells of a subscript set (product of level counts), if known.
    pub fn cells(&self, set: Subscripts) -> Option<u64> {
        set.iter().try_fold(1u64, |acc, i| {
            acc.checked_mul(u64::from(self.levels_of(i)?))
        })
    }

    /// Total number of observations, if known.
    pub fn n_observations(&self) -> Option<u64> {
        let nf = self.factors.len();
        self.cells(Subscripts((1u64 << nf) - 1).with(nf))
    }

    /// Degrees of freedom of a model term: product of (levels - 1) over live subscripts and
    /// levels over dead ones (Rule 4).
    pub fn df(&self, term: &Term) -> Option<u64> {
        let mut df = 1u64;
        for i in term.live.iter() {
            df = df.checked_mul(u64::from(self.levels_of(i)?) - 1)?;
        }
        for i in term.dead.iter() {
            df = df.checked_mul(u64::from(self.levels_of(i)?))?;
        }
        Some(df)
    }

    /// The limit on the number of terms this design was checked against.
    pub fn max_terms(&self) -> usize {
        self.max_terms
    }

    /// The order in which mean squares are solved for: the number of subscripts, then the
    /// position in the term list (the Residual last). A term's expected mean square holds
    /// only components of rows later in this order: rows containing it, and the kept
    /// terms that contain a term it absorbs (those come after it by the rule that chose
    /// the absorbing term).
    pub fn rank(&self, row: usize) -> (usize, usize) {
        match self.terms.get(row) {
            Some(t) => (t.subscripts.len(), self.list_position[row]),
            None => (usize::MAX, usize::MAX),
        }
    }

    /// The dropped terms model term `row` absorbs.
    pub fn absorbed_by(&self, row: usize) -> impl Iterator<Item = &Absorbed> {
        self.absorbed.iter().filter(move |a| a.into == row)
    }

    /// Whether a model term absorbs any dropped term.
    pub fn absorbs(&self, row: usize) -> bool {
        self.absorbed.iter().any(|a| a.into == row)
    }

    /// Degrees of freedom of row `row` of the EMS table (model terms, then the Residual):
    /// a term's own df plus those of the terms it absorbs.
    pub fn row_df(&self, row: usize) -> Option<u64> {
        let Some(t) = self.terms.get(row) else {
            return self.residual_df();
        };
        let mut df = self.df(t)?;
        for a in self.absorbed_by(row) {
            df = df.checked_add(self.df(&a.term)?)?;
        }
        Some(df)
    }

    /// The df of a model term's row as a polynomial in the level counts.
    pub fn row_df_poly(&self, row: usize) -> Poly {
        let mut p = Poly::df(&self.terms[row]);
        for a in self.absorbed_by(row) {
            p.add(&Poly::df(&a.term));
        }
        p
    }

    /// Symbolic df of row `row`: `(a-1)`, `a(r-1)(b-1)` for `r:a:b` absorbing `r:b`.
    pub fn row_df_symbolic(&self, row: usize) -> String {
        match self.terms.get(row) {
            None => self.residual_df_symbolic(),
            Some(t) if !self.absorbs(row) => self.df_symbolic(t),
            Some(_) => self.row_df_poly(row).factor().text(self, false),
        }
    }

    /// Residual df: pure error plus every pooled term.
    pub fn residual_df(&self) -> Option<u64> {
        let mut df = self.df(&self.residual())?;
        for t in &self.pooled {
            df += self.df(t)?;
        }
        Some(df)
    }

    /// Symbolic df of a term: `(a-1)`, `a(b-1)`, `(a-1)(b-1)`, `ab(n-1)`.
    pub fn df_symbolic(&self, term: &Term) -> String {
        let dead: Vec<&str> = term.dead.iter().map(|i| self.symbol_of(i)).collect();
        let mut s = crate::notation::product_string(&dead);
        for i in term.live.iter() {
            s.push_str(&format!("({}-1)", self.symbol_of(i)));
        }
        s
    }

    /// Symbolic residual df, including pooled terms: `ab(n-1)`, `(a-1)(b-1)`.
    /// When the pooled terms' df sum to a product (`ab(r-1)(c-1)` for a split-split plot's
    /// sub-sub-plot error), the product; otherwise the sum as written.
    pub fn residual_df_symbolic(&self) -> String {
        let mut parts = Vec::new();
        let mut sum = Poly::default();
        if self.replicates != Some(1) {
            parts.push(self.df_symbolic(&self.residual()));
            sum.add(&Poly::df(&self.residual()));
        }
        for t in &self.pooled {
            parts.push(self.df_symbolic(t));
            sum.add(&Poly::df(t));
        }
        let factored = sum.factor();
        if parts.len() > 1 && factored.rest == Poly::constant(1) {
            return factored.text(self, false);
        }
        parts.join(" + ")
    }

    /// Returns a copy with level counts and replicates set (from data). Counts given as
    /// `None` keep the design's value.
    pub fn with_sizes(
        &self,
        levels: &[Option<u32>],
        replicates: Option<u32>,
    ) -> Result<Design, DesignError> {
        let mut spec = self.spec.clone();
        for (f, l) in spec.factors.iter_mut().zip(levels) {
            if l.is_some() {
                f.levels = *l;
            }
        }
        if replicates.is_some() {
            spec.replicates = replicates;
        }
        Design::from_spec(spec, self.max_terms)
    }

    /// Finds a term (or `Residual`) by its canonical name.
    pub fn term_index(&self, name: &str) -> Option<usize> {
        if name == "Residual" {
            return Some(self.terms.len());
        }
        self.terms.iter().position(|t| t.name == name)
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
