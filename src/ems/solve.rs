//! Test denominators and moment estimators: back-substitution over the EMS rows.
//!
//! Mean squares are taken in [`Design::rank`] order (size, then term-list position); each
//! row's EMS holds only components of later rows, so one pass settles every weight. The
//! pass touches only the rows a denominator uses and their entries, through a scratch
//! array and a queue reused across terms: nothing proportional to the number of terms is
//! allocated or scanned per term. The work per term is the sum of the EMS sizes of the
//! rows its denominator uses (in a crossed unrestricted design about 4^k over all terms,
//! against 3^k entries printed: the cancellations are not free).
//!
//! Classical rows (every random component's coefficient the same product `k_V` wherever
//! it appears) give integer weights, symbolically, whether or not the level counts are
//! known. Rows that absorb dropped terms have fractional shares: their weights are exact
//! rationals computed from the level counts.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{
    Combination, EmsEntry, EmsNote, Estimator, Monomial, NoTest, Ratio, Test, TestKind,
    fixed_effect_test, no_test, residual_test, test_from_denominator,
};
use crate::design::{Design, Subscripts, Term};

/// Why back-substitution gave no denominator.
enum Stop {
    /// A fixed effect's φ would have to be removed.
    Fixed(usize),
    /// An exact rational did not fit in 64 bits.
    Overflow,
}

/// Weights during back-substitution: integers (multiples of each component's `k_V`, on
/// classical rows) or exact rationals (rows with shares). Checked: `None` on overflow.
trait Weight: Copy {
    const ZERO: Self;
    fn is_zero(self) -> bool;
    fn add(self, o: Self) -> Option<Self>;
    fn mul(self, o: Self) -> Option<Self>;
    fn div(self, o: Self) -> Option<Self>;
    fn neg(self) -> Option<Self>;
    fn ratio(self) -> Ratio;
}

impl Weight for i64 {
    const ZERO: i64 = 0;
    fn is_zero(self) -> bool {
        self == 0
    }
    fn add(self, o: i64) -> Option<i64> {
        self.checked_add(o)
    }
    fn mul(self, o: i64) -> Option<i64> {
        self.checked_mul(o)
    }
    fn div(self, o: i64) -> Option<i64> {
        // Classical rows: every divisor is 1 (the coefficient k_V counts as one unit).
        (o == 1).then_some(self)
    }
    fn neg(self) -> Option<i64> {
        self.checked_neg()
    }
    fn ratio(self) -> Ratio {
        Ratio::integer(self)
    }
}

impl Weight for Ratio {
    const ZERO: Ratio = Ratio::ZERO;
    fn is_zero(self) -> bool {
        Ratio::is_zero(self)
    }
    fn add(self, o: Ratio) -> Option<Ratio> {
        self.checked_add(o)
    }
    fn mul(self, o: Ratio) -> Option<Ratio> {
        self.checked_mul(o)
    }
    fn div(self, o: Ratio) -> Option<Ratio> {
        self.checked_div(o)
    }
    fn neg(self) -> Option<Ratio> {
        self.checked_neg()
    }
    fn ratio(self) -> Ratio {
        self
    }
}

/// How coefficients are taken as numbers.
enum Arith<'a> {
    /// Every random coefficient is `k_V` wherever it appears: weights are integers, and
    /// the coefficient of V counts as 1.
    Uniform,
    /// Exact values at the design's level counts.
    Exact(&'a [Vec<Ratio>]),
}

/// The rows waiting to be processed, in solving order. Without absorbed terms a row's
/// EMS holds only larger rows, so buckets by size are enough (and much cheaper than a
/// heap); with them, rows of one size can depend on each other in term-list order.
enum Queue {
    Buckets {
        buckets: Vec<Vec<usize>>,
        cursor: usize,
    },
    Heap(BinaryHeap<Reverse<((usize, usize), usize)>>),
}

impl Queue {
    fn new(design: &Design) -> Queue {
        if design.absorbed.is_empty() {
            Queue::Buckets {
                buckets: vec![Vec::new(); design.n_factors() + 2],
                cursor: 0,
            }
        } else {
            Queue::Heap(BinaryHeap::new())
        }
    }

    fn push(&mut self, design: &Design, row: usize) {
        let rank = design.rank(row);
        match self {
            Queue::Buckets { buckets, cursor } => {
                let size = rank.0.min(buckets.len() - 1);
                *cursor = (*cursor).min(size);
                buckets[size].push(row);
            }
            Queue::Heap(h) => h.push(Reverse((rank, row))),
        }
    }

    fn pop(&mut self) -> Option<usize> {
        match self {
            Queue::Buckets { buckets, cursor } => loop {
                let bucket = buckets.get_mut(*cursor)?;
                match bucket.pop() {
                    Some(row) => return Some(row),
                    None => *cursor += 1,
                }
            },
            Queue::Heap(h) => h.pop().map(|Reverse((_, row))| row),
        }
    }
}

struct Scratch<W> {
    target: Vec<W>,
    queued: Vec<bool>,
    queue: Queue,
}

impl<W: Weight> Scratch<W> {
    fn new(design: &Design, n: usize) -> Scratch<W> {
        Scratch {
            target: vec![W::ZERO; n],
            queued: vec![false; n],
            queue: Queue::new(design),
        }
    }

    fn add(&mut self, design: &Design, row: usize, w: W) -> Option<()> {
        self.target[row] = self.target[row].add(w)?;
        if !self.queued[row] {
            self.queued[row] = true;
            self.queue.push(design, row);
        }
        Some(())
    }

    fn clear(&mut self) {
        while let Some(u) = self.queue.pop() {
            self.queued[u] = false;
            self.target[u] = W::ZERO;
        }
        if let Queue::Buckets { cursor, .. } = &mut self.queue {
            *cursor = 0;
        }
    }
}

/// Tests, estimators and notes of a table's rows.
pub(super) fn solve(
    design: &Design,
    terms: &[Term],
    ems: &[Vec<EmsEntry>],
) -> (Vec<Test>, Vec<Estimator>, Vec<EmsNote>) {
    let residual = terms.len() - 1;
    let residual_df_zero = design.residual_df() == Some(0);
    let uniform = ems.iter().enumerate().all(|(t, row)| {
        row.iter()
            .all(|e| e.coefficient.share.is_none() || (e.component == t && !terms[t].random))
    });
    let values: Option<Vec<Vec<Ratio>>> = if uniform {
        None
    } else {
        ems.iter()
            .map(|row| row.iter().map(|e| e.coefficient.value(design)).collect())
            .collect()
    };
    let arith = match (&values, uniform) {
        (_, true) => Arith::Uniform,
        (Some(v), false) => Arith::Exact(v),
        (None, false) => return needs_levels(terms),
    };
    let mut ints: Scratch<i64> = Scratch::new(design, terms.len());
    let mut exact: Scratch<Ratio> = Scratch::new(design, 0);
    let mut tests = Vec::with_capacity(terms.len());
    for ti in 0..terms.len() {
        if ti == residual {
            tests.push(residual_test());
            continue;
        }
        let den = match &arith {
            Arith::Uniform => denominator(design, terms, ems, |_, _| 1i64, ti, &mut ints),
            Arith::Exact(v) => {
                if exact.target.is_empty() {
                    exact = Scratch::new(design, terms.len());
                }
                denominator(design, terms, ems, |t, k| v[t][k], ti, &mut exact)
            }
        };
        let test = match den {
            Ok(den) => test_from_denominator(ti, den, residual, residual_df_zero),
            Err(Stop::Fixed(u)) => fixed_effect_test(u),
            Err(Stop::Overflow) => no_test(NoTest::WeightsOverflow),
        };
        tests.push(test);
    }
    let all = Subscripts((1u64 << (design.n_factors() + 1)) - 1);
    let estimators = (0..terms.len())
        .filter(|&u| terms[u].random)
        .filter_map(|u| {
            let divisor = Monomial(all.minus(terms[u].subscripts));
            if u == residual {
                return Some(Estimator {
                    component: u,
                    combination: vec![(u, Ratio::ONE)],
                    divisor,
                });
            }
            let test = &tests[u];
            if test.kind == TestKind::None {
                return None;
            }
            // E(MS_u) - denominator = c_uu σ²_u with c_uu = share × k_u.
            let share = match &arith {
                Arith::Uniform => Ratio::ONE,
                Arith::Exact(v) => {
                    let own = own_value(ems, v, u)?;
                    own.checked_div(Ratio::new(i128::from(divisor.value(design)?), 1)?)?
                }
            };
            let mut combination = vec![(u, Ratio::ONE.checked_div(share)?)];
            for &(v, w) in &test.denominator {
                combination.push((v, w.checked_neg()?.checked_div(share)?));
            }
            Some(Estimator {
                component: u,
                combination,
                divisor,
            })
        })
        .collect();
    let notes = restricted_absorption_notes(design, terms, ems);
    (tests, estimators, notes)
}

fn own_value(ems: &[Vec<EmsEntry>], values: &[Vec<Ratio>], u: usize) -> Option<Ratio> {
    ems[u]
        .iter()
        .position(|e| e.component == u)
        .map(|k| values[u][k])
}

/// Without level counts, fractional shares leave every test open.
fn needs_levels(terms: &[Term]) -> (Vec<Test>, Vec<Estimator>, Vec<EmsNote>) {
    let residual = terms.len() - 1;
    let tests = (0..terms.len())
        .map(|t| {
            if t == residual {
                residual_test()
            } else {
                no_test(NoTest::NeedsLevels)
            }
        })
        .collect();
    let estimators = vec![Estimator {
        component: residual,
        combination: vec![(residual, Ratio::ONE)],
        divisor: Monomial::default(),
    }];
    (tests, estimators, vec![EmsNote::NeedsLevels])
}

/// The weights of term `ti`'s F′ denominator, sorted by row; `coef(t, k)` is the k-th
/// coefficient of row t.
fn denominator<W: Weight>(
    design: &Design,
    terms: &[Term],
    ems: &[Vec<EmsEntry>],
    coef: impl Fn(usize, usize) -> W,
    ti: usize,
    s: &mut Scratch<W>,
) -> Result<Combination, Stop> {
    for (k, e) in ems[ti].iter().enumerate() {
        if e.component != ti {
            s.add(design, e.component, coef(ti, k))
                .ok_or(Stop::Overflow)?;
        }
    }
    let mut weights: Combination = Vec::new();
    while let Some(u) = s.queue.pop() {
        s.queued[u] = false;
        let need = std::mem::replace(&mut s.target[u], W::ZERO);
        if need.is_zero() {
            continue;
        }
        if !terms[u].random {
            s.clear();
            return Err(Stop::Fixed(u));
        }
        let own = ems[u]
            .iter()
            .position(|e| e.component == u)
            .map(|k| coef(u, k));
        let Some(w) = own.and_then(|o| need.div(o)) else {
            s.clear();
            return Err(Stop::Overflow);
        };
        weights.push((u, w.ratio()));
        for (k, e) in ems[u].iter().enumerate() {
            if e.component == u {
                continue;
            }
            let sub = w.mul(coef(u, k)).and_then(Weight::neg);
            if sub.and_then(|x| s.add(design, e.component, x)).is_none() {
                s.clear();
                return Err(Stop::Overflow);
            }
        }
    }
    s.clear();
    weights.sort_unstable_by_key(|&(v, _)| v);
    Ok(weights)
}

/// Restricted model: rows that absorb dropped terms in whose strata a mixed component
/// has a share below 1 (it sums to zero over a fixed subscript the absorbed term lacks).
fn restricted_absorption_notes(
    design: &Design,
    terms: &[Term],
    ems: &[Vec<EmsEntry>],
) -> Vec<EmsNote> {
    let residual = terms.len() - 1;
    let mut notes = Vec::new();
    for (row, entries) in ems.iter().enumerate().take(residual) {
        if !design.absorbs(row) {
            continue;
        }
        let components: Vec<usize> = entries
            .iter()
            .filter(|e| terms[e.component].random && e.coefficient.share.is_some())
            .map(|e| e.component)
            .collect();
        if !components.is_empty() {
            notes.push(EmsNote::PartialShare { row, components });
        }
    }
    notes
}
