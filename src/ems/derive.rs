//! The EMS rows, written entry by entry: each component visits only the rows it reaches.
//!
//! Component U (a kept term) reaches the stratum of term T when T ⊆ U and no fixed live
//! column of U is uncovered by T: T contains U's fixed live columns (restricted model, or a
//! fixed U in either model; in the unrestricted model a random U reaches every T ⊆ U).
//! Those T are the subsets of U closed under ancestry that contain its forced columns: they
//! are enumerated directly, so the work is proportional to the entries written, never to
//! the number of terms squared. A stratum that a kept term absorbs adds to that term's row
//! with a share of the row's df (see [`Coefficient`]).

use std::collections::HashMap;

use super::{Coefficient, EmsEntry, Model, Monomial, Share, display_order};
use crate::design::{Design, Kind, Poly, Subscripts, Term};

/// Where the stratum of an allowed term goes.
#[derive(Clone, Copy)]
enum Stratum {
    /// The row of a kept term that absorbs nothing.
    Own(usize),
    /// Piece `piece` of absorbing row `row` (0: the kept term itself, k: its k-th absorbed
    /// term).
    Piece { row: usize, piece: usize },
}

/// `ems[t]` for every row, components listed from the Residual up (display order).
pub(super) fn ems_rows(design: &Design, terms: &[Term], model: Model) -> Vec<Vec<EmsEntry>> {
    let nf = design.n_factors();
    let residual = terms.len() - 1;
    let all = Subscripts((1u64 << (nf + 1)) - 1);
    let fixed_cols = Subscripts(
        (0..nf)
            .filter(|&c| design.factors[c].kind == Kind::Fixed)
            .fold(0u64, |m, c| m | 1 << c),
    );
    // Pieces of absorbing rows: the kept term first, then what it absorbs.
    let mut pieces: HashMap<usize, Vec<Poly>> = HashMap::new();
    let mut strata: HashMap<Subscripts, Stratum> = HashMap::with_capacity(terms.len());
    for (r, t) in terms[..residual].iter().enumerate() {
        strata.insert(t.subscripts, Stratum::Own(r));
    }
    for a in &design.absorbed {
        let list = pieces
            .entry(a.into)
            .or_insert_with(|| vec![Poly::df(&terms[a.into])]);
        strata.insert(
            a.term.subscripts,
            Stratum::Piece {
                row: a.into,
                piece: list.len(),
            },
        );
        list.push(Poly::df(&a.term));
    }
    for (&r, _) in pieces.iter() {
        strata.insert(terms[r].subscripts, Stratum::Piece { row: r, piece: 0 });
    }
    let totals: HashMap<usize, Poly> = pieces
        .iter()
        .map(|(&r, list)| {
            let mut sum = Poly::default();
            for p in list {
                sum.add(p);
            }
            (r, sum)
        })
        .collect();

    let mut ems: Vec<Vec<EmsEntry>> = vec![Vec::new(); terms.len()];
    // Per component: the pieces it reaches in each absorbing row.
    let mut reached: Vec<(usize, Vec<usize>)> = Vec::new();
    for u in display_order(terms) {
        if u == residual {
            // σ² is in every mean square with coefficient 1.
            for row in &mut ems {
                row.push(EmsEntry {
                    component: residual,
                    coefficient: Monomial::default().into(),
                });
            }
            continue;
        }
        let term = &terms[u];
        let forced = if model == Model::Unrestricted && term.random {
            Subscripts::EMPTY
        } else {
            closure(design, term.live.intersection(fixed_cols))
        };
        let product = Monomial(all.minus(term.subscripts));
        reached.clear();
        for_each_closed_subset(design, term.subscripts, forced, &mut |set| {
            match strata.get(&set) {
                Some(&Stratum::Own(r)) => ems[r].push(EmsEntry {
                    component: u,
                    coefficient: product.into(),
                }),
                Some(&Stratum::Piece { row, piece }) => {
                    match reached.iter_mut().find(|(r, _)| *r == row) {
                        Some((_, list)) => list.push(piece),
                        None => reached.push((row, vec![piece])),
                    }
                }
                // The grand mean, or a term pooled into the Residual (no kept term
                // contains those).
                None => {}
            }
        });
        for (row, list) in &reached {
            let share = (list.len() < pieces[row].len()).then(|| {
                let mut numerator = Poly::default();
                for &p in list {
                    numerator.add(&pieces[row][p]);
                }
                Box::new(Share {
                    numerator,
                    denominator: totals[row].clone(),
                })
            });
            ems[*row].push(EmsEntry {
                component: u,
                coefficient: Coefficient { product, share },
            });
        }
    }
    ems
}

/// A set of factors with all their ancestors.
fn closure(design: &Design, set: Subscripts) -> Subscripts {
    set.iter()
        .fold(set, |acc, i| acc.union(design.factors[i].ancestors))
}

/// Calls `f` with every non-empty subset of the factors in `set` that is closed under
/// ancestry and contains `forced` (itself closed). Depth-first over the factors, parents
/// before children: every branch ends in a distinct set, so the work is proportional to
/// the number of sets times the number of factors.
fn for_each_closed_subset(
    design: &Design,
    set: Subscripts,
    forced: Subscripts,
    f: &mut impl FnMut(Subscripts),
) {
    let nf = design.n_factors();
    let mut factors: Vec<usize> = set.iter().filter(|&i| i < nf).collect();
    factors.sort_by_key(|&i| design.factors[i].ancestors.len());
    fn visit(
        design: &Design,
        factors: &[usize],
        forced: Subscripts,
        current: Subscripts,
        f: &mut impl FnMut(Subscripts),
    ) {
        let Some((&x, rest)) = factors.split_first() else {
            if !current.is_empty() {
                f(current);
            }
            return;
        };
        let includable = current.is_superset(design.factors[x].ancestors);
        if !forced.contains(x) {
            visit(design, rest, forced, current, f);
        }
        if includable {
            visit(design, rest, forced, current.with(x), f);
        }
    }
    visit(design, &factors, forced, Subscripts::EMPTY, f);
}
