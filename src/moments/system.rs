//! The EMS equations with numbers, and their solution by back-substitution: the
//! combination of mean squares whose expectation is a term's EMS without its own component
//! (its test's denominator), and each variance component's moment estimator.
//!
//! The coefficients are any real numbers: integers from the subscript-table rules on
//! balanced data ([`System::new`]), or the trace-form coefficients of Type I and Type III
//! mean squares on unbalanced data ([`crate::unbalanced`]). Back-substitution needs the
//! equations triangular in the order of [`Row::size`]: the EMS of a row holds only its own
//! component and components of rows later in that order.

use super::{MsTerm, Weights};
use crate::anova::AnovaTable;
use crate::ems::{EmsTable, NoTest};

/// A target coefficient below this fraction of the largest one is a rounding residue of
/// numeric coefficients, not a component to remove (integer coefficients leave exact zeros).
const NEGLIGIBLE: f64 = 1e-9;

/// One row of the EMS equations, with numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub df: u64,
    pub ms: f64,
    pub ss: Option<f64>,
    /// Whether its own component is a variance (otherwise a fixed effect's φ).
    pub random: bool,
    /// Rank in the elimination order: the number of subscripts of its term (the lattice
    /// order) for the subscript-table EMS and Type III; the position in the sequential
    /// order for Type I.
    pub size: usize,
    /// `E(MS)`: (component = row index, coefficient).
    pub ems: Vec<(usize, f64)>,
    /// Set when the row has been pooled into another.
    pub pooled_into: Option<usize>,
    /// Rows pooled into this one.
    pub absorbed: Vec<usize>,
}

/// The EMS equations with numbers: one row per term, the Residual last.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub rows: Vec<Row>,
    pub residual: usize,
}

impl System {
    /// From an EMS table and the matching ANOVA table.
    pub fn new(table: &EmsTable, anova: &AnovaTable) -> System {
        let d = &table.design;
        let rows = table
            .terms
            .iter()
            .enumerate()
            .map(|(t, term)| Row {
                name: term.name.clone(),
                df: anova.rows[t].df,
                ms: anova.rows[t].ms,
                ss: anova.rows[t].ss,
                random: term.random,
                // The number of subscripts, then the term-list position
                // ([`crate::Design::rank`]): a row that absorbs a dropped term may hold
                // components of rows of its own size later in the term list.
                size: {
                    let (len, position) = d.rank(t);
                    let n = table.terms.len();
                    len.min(d.n_factors() + 1).saturating_mul(n + 1) + position.min(n)
                },
                ems: table.ems[t]
                    .iter()
                    .map(|e| (e.component, e.coefficient.to_f64(d).unwrap_or(0.0)))
                    .collect(),
                pooled_into: None,
                absorbed: Vec::new(),
            })
            .collect();
        System {
            rows,
            residual: table.residual(),
        }
    }

    pub fn coefficient(&self, row: usize, component: usize) -> f64 {
        self.rows[row]
            .ems
            .iter()
            .find(|(c, _)| *c == component)
            .map_or(0.0, |(_, k)| *k)
    }

    /// The system with row `t` pooled into row `into` (its exact denominator): their SS
    /// and df are added, component `t` leaves every EMS.
    pub fn pool(&self, t: usize, into: usize) -> System {
        let mut s = self.clone();
        let (a, b) = (&self.rows[t], &self.rows[into]);
        let df = a.df + b.df;
        let ss = a.ss.unwrap_or(a.ms * a.df as f64) + b.ss.unwrap_or(b.ms * b.df as f64);
        s.rows[into].df = df;
        s.rows[into].ss = Some(ss);
        s.rows[into].ms = if df > 0 { ss / df as f64 } else { f64::NAN };
        s.rows[into].absorbed.push(t);
        s.rows[t].pooled_into = Some(into);
        for r in &mut s.rows {
            r.ems.retain(|(c, _)| *c != t);
        }
        s
    }

    /// The combination of mean squares whose expectation is `E(MS_t)` without `t`'s own
    /// component: back-substitution in the order of [`Row::size`] (up the lattice).
    pub fn denominator(&self, t: usize) -> Result<Weights, NoTest> {
        if t == self.residual {
            return Err(NoTest::ErrorTerm);
        }
        let n = self.rows.len();
        let mut target = vec![0.0f64; n];
        for &(c, k) in &self.rows[t].ems {
            if c != t {
                target[c] = k;
            }
        }
        let negligible = NEGLIGIBLE * target.iter().fold(0.0f64, |a, k| a.max(k.abs()));
        let mut order: Vec<usize> = (0..n)
            .filter(|&u| self.rows[u].pooled_into.is_none())
            .collect();
        order.sort_by_key(|&u| (self.rows[u].size, u));
        let mut weights = vec![0.0f64; n];
        for &u in &order {
            let need = target[u];
            if need.abs() <= negligible {
                continue;
            }
            if !self.rows[u].random {
                return Err(NoTest::FixedEffect { term: u });
            }
            let k = self.coefficient(u, u);
            let mut w = need / k;
            if (w - w.round()).abs() < 1e-9 {
                w = w.round();
            }
            weights[u] += w;
            for &(c, kc) in &self.rows[u].ems {
                target[c] -= w * kc;
            }
            target[u] = 0.0;
        }
        let comb: Weights = weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(v, w)| (v, *w))
            .collect();
        if let Some(&(v, _)) = comb.iter().find(|&&(v, _)| self.rows[v].df == 0) {
            return Err(NoTest::ZeroDf { term: v });
        }
        if comb.is_empty() {
            return Err(NoTest::NoOtherComponent);
        }
        Ok(comb)
    }

    /// The estimator of random component `u`: weights `a_i` with `Σ a_i E(MS_i) = σ²_u`,
    /// and the divisor `k_u`.
    pub fn estimator(&self, u: usize) -> Result<(Weights, f64), NoTest> {
        let k = self.coefficient(u, u);
        if u == self.residual {
            return Ok((vec![(u, 1.0 / k)], k));
        }
        let den = self.denominator(u)?;
        let mut comb = vec![(u, 1.0 / k)];
        comb.extend(den.iter().map(|&(v, w)| (v, -w / k)));
        Ok((comb, k))
    }

    pub(crate) fn terms_of(&self, comb: &[(usize, f64)]) -> Vec<MsTerm> {
        comb.iter()
            .map(|&(v, a)| MsTerm {
                a,
                ms: self.rows[v].ms,
                df: self.rows[v].df as f64,
            })
            .collect()
    }

    pub(crate) fn value(&self, comb: &[(usize, f64)]) -> f64 {
        comb.iter().map(|&(v, w)| w * self.rows[v].ms).sum()
    }
}
