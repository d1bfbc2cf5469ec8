//! The model frame: each random term's level per observation (Z without ever building Z), the
//! fixed-effects matrix X as "cell of the fixed factors" times a small 0/1 cell matrix, and
//! the cross-products Z'Z, Z'X, X'X, Z'y, X'y, y'y accumulated in one pass over the data
//! (lme4's `lFormula`, MixedModels.jl's `remat.jl`).

use nalgebra::DMatrix;

use super::RemlError;
use super::tolerances::ALIAS_REL;
use crate::data::hash::FxHashMap;
use crate::design::{Design, Subscripts, Term};

/// Maps keyed by `u64` (level combinations, level pairs of crossed terms), with the crate's
/// one hasher. FxHash's bucket index depends on the low bits of the key only, and a pair key
/// `(level of j) << 32 | (level of i)` carries the level of j in its high bits: such keys go
/// through [`spread`] (a bijection mixing the high bits into the low ones) before hashing.
pub(crate) type KeyMap<V> = FxHashMap<u64, V>;

/// Odd multiplier of [`spread`] (the golden-ratio constant) and its inverse modulo 2^64.
const SPREAD_MUL: u64 = 0x9E37_79B9_7F4A_7C15;
const SPREAD_INV: u64 = inverse_mod_2_64(SPREAD_MUL);

/// The inverse of an odd number modulo 2^64 (Newton's iteration doubles the correct bits).
const fn inverse_mod_2_64(a: u64) -> u64 {
    let mut x = a; // correct to 3 bits for odd a
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// A bijection of `u64` whose low bits depend on every bit of the key.
#[inline]
pub(crate) fn spread(key: u64) -> u64 {
    let m = key.wrapping_mul(SPREAD_MUL);
    m ^ (m >> 32)
}

/// The inverse of [`spread`].
#[inline]
pub(crate) fn unspread(mixed: u64) -> u64 {
    (mixed ^ (mixed >> 32)).wrapping_mul(SPREAD_INV)
}

/// Relabels keys densely: each key's rank among the distinct keys (increasing key order).
/// `bound` is an exclusive upper bound of the keys.
pub(crate) fn densify(keys: &[u64], bound: u64) -> (Vec<u32>, usize) {
    let direct_limit = (4 * keys.len() as u64).max(1 << 22);
    if bound <= direct_limit {
        let mut map = vec![u32::MAX; bound as usize];
        for &k in keys {
            map[k as usize] = 0;
        }
        let mut m = 0u32;
        for slot in &mut map {
            if *slot == 0 {
                *slot = m;
                m += 1;
            }
        }
        let idx = keys.iter().map(|&k| map[k as usize]).collect();
        (idx, m as usize)
    } else {
        let mut uniq = keys.to_vec();
        uniq.sort_unstable();
        uniq.dedup();
        let idx = keys
            .iter()
            .map(|k| uniq.binary_search(k).map_or(0, |i| i as u32))
            .collect();
        (idx, uniq.len())
    }
}

/// Level index of every row for the combination of the given (densely coded) factors, in
/// lexicographic order of the codes in the order of `factors`.
fn combine(factors: &[usize], dense: &[(Vec<u32>, usize)], n_rows: usize) -> (Vec<u32>, usize) {
    let Some((&first, rest)) = factors.split_first() else {
        return (vec![0; n_rows], usize::from(n_rows > 0));
    };
    let (mut idx, mut m) = dense[first].clone();
    for &f in rest {
        let (codes, radix) = &dense[f];
        let radix = *radix as u64;
        let keys: Vec<u64> = idx
            .iter()
            .zip(codes)
            .map(|(&i, &c)| u64::from(i) * radix + u64::from(c))
            .collect();
        let (next, next_m) = densify(&keys, m as u64 * radix);
        idx = next;
        m = next_m;
    }
    (idx, m)
}

/// Level indices of factor combinations over the observations, computed once per set of
/// factors (random terms, the fixed cells and the balance check share them).
struct Combos<'a> {
    dense: &'a [(Vec<u32>, usize)],
    n: usize,
    cache: KeyMap<(Vec<u32>, usize)>,
}

impl<'a> Combos<'a> {
    fn new(dense: &'a [(Vec<u32>, usize)], n: usize) -> Self {
        Combos {
            dense,
            n,
            cache: KeyMap::default(),
        }
    }
    fn get(&mut self, set: Subscripts) -> &(Vec<u32>, usize) {
        let (dense, n) = (self.dense, self.n);
        self.cache.entry(set.0).or_insert_with(|| {
            let factors: Vec<usize> = set.iter().collect();
            combine(&factors, dense, n)
        })
    }
}

/// First row at which each level occurs.
fn first_rows(levels: &[u32], m: usize) -> Vec<u32> {
    let mut first = vec![u32::MAX; m];
    for (o, &l) in levels.iter().enumerate() {
        let slot = &mut first[l as usize];
        if *slot == u32::MAX {
            *slot = o as u32;
        }
    }
    first
}

/// A random term: its level for each observation (Z_k as an index vector).
#[derive(Debug, Clone)]
pub(crate) struct RandomTerm {
    pub name: String,
    /// Position in `design.terms`.
    pub design_index: usize,
    pub subscripts: Subscripts,
    /// Its factors, in declaration order.
    pub factors: Vec<usize>,
    pub obs_level: Vec<u32>,
    pub n_levels: usize,
    /// Codes (as given) of the term's factors for each level, row-major
    /// (`n_levels x factors.len()`).
    pub level_codes: Vec<u32>,
}

/// The fixed-effects matrix, stored as the cell of the fixed factors of each observation and
/// the 0/1 row of X of each cell (X has only indicator columns and the intercept).
#[derive(Debug, Clone)]
pub(crate) struct FixedPart {
    pub names: Vec<String>,
    pub obs_cell: Vec<u32>,
    /// Columns of X equal to 1 in each cell (sorted).
    pub cell_cols: Vec<Vec<u32>>,
    pub p: usize,
    /// Candidate columns dropped as aliased (already spanned by earlier columns).
    pub aliased: usize,
    /// The fixed factors (design indices, declaration order): those of the fixed terms.
    pub factors: Vec<usize>,
    /// `cell_codes[c][i]`: dense code of fixed factor `factors[i]` in cell `c`.
    pub cell_codes: Vec<Vec<u32>>,
    /// Observations in each cell.
    pub cell_counts: Vec<f64>,
}

/// Everything the likelihood needs from the data, with no n-by-anything matrix.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub n: usize,
    /// Random terms ordered by decreasing number of levels (ties: more factors first).
    pub random: Vec<RandomTerm>,
    pub fixed: FixedPart,
    /// Subtracted from y before accumulating (the mean), added back to the intercept.
    pub shift: f64,
    /// Every cell of the factor structure present with the same number of replicates.
    pub balanced: bool,
    /// `codes[f][d]`: the code (as given) of dense code `d` of factor `f` (dense codes rank
    /// the codes given, so that the first level is the smallest code).
    pub codes: Vec<Vec<u32>>,
}

/// Label of a level code of factor `f`.
pub(crate) fn label(labels: Option<&[Vec<String>]>, f: usize, code: u32) -> String {
    labels
        .and_then(|l| l.get(f))
        .and_then(|l| l.get(code as usize))
        .cloned()
        .unwrap_or_else(|| code.to_string())
}

/// Readable name of a level of a term: `Machine=B`, `A=2:B=3`, `cask=b(batch=A)`.
pub(crate) fn level_name(
    design: &Design,
    term: &Term,
    codes_of: impl Fn(usize) -> u32,
    labels: Option<&[Vec<String>]>,
) -> String {
    let part = |f: usize| {
        format!(
            "{}={}",
            design.factors[f].name,
            label(labels, f, codes_of(f))
        )
    };
    let mut name = term.live.iter().map(part).collect::<Vec<_>>().join(":");
    if !term.dead.is_empty() {
        name.push('(');
        name.push_str(&term.dead.iter().map(part).collect::<Vec<_>>().join(","));
        name.push(')');
    }
    name
}

impl Frame {
    pub(crate) fn build(
        design: &Design,
        codes: &[Vec<u32>],
        y: &[f64],
        labels: Option<&[Vec<String>]>,
    ) -> Result<Frame, RemlError> {
        let nf = design.factors.len();
        if codes.len() != nf {
            return Err(RemlError::FactorCount {
                expected: nf,
                found: codes.len(),
            });
        }
        let n = y.len();
        if n == 0 {
            return Err(RemlError::NoObservations);
        }
        if n >= u32::MAX as usize {
            return Err(RemlError::TooLarge(format!(
                "{n} observations (at most {})",
                u32::MAX - 1
            )));
        }
        for (f, c) in codes.iter().enumerate() {
            if c.len() != n {
                return Err(RemlError::LengthMismatch {
                    factor: design.factors[f].name.clone(),
                    expected: n,
                    found: c.len(),
                });
            }
        }
        if let Some(index) = y.iter().position(|v| !v.is_finite()) {
            return Err(RemlError::NonFiniteResponse { index });
        }
        // The mean, with a correction pass (y is shifted by it before any sum of squares).
        let mut shift = y.iter().sum::<f64>() / n as f64;
        shift += y.iter().map(|v| v - shift).sum::<f64>() / n as f64;

        // Each factor's codes relabelled densely (sparse codes, large codes).
        let dense: Vec<(Vec<u32>, usize)> = codes
            .iter()
            .map(|c| {
                let keys: Vec<u64> = c.iter().map(|&v| u64::from(v)).collect();
                let bound = keys.iter().copied().max().unwrap_or(0) + 1;
                densify(&keys, bound)
            })
            .collect();

        // Random terms.
        let mut combos = Combos::new(&dense, n);
        let mut random = Vec::new();
        for (design_index, t) in design.terms.iter().enumerate() {
            if !t.random {
                continue;
            }
            let factors: Vec<usize> = t.subscripts.iter().collect();
            let (obs_level, n_levels) = combos.get(t.subscripts).clone();
            let first = first_rows(&obs_level, n_levels);
            let mut level_codes = Vec::with_capacity(n_levels * factors.len());
            for &o in &first {
                for &f in &factors {
                    level_codes.push(codes[f][o as usize]);
                }
            }
            random.push(RandomTerm {
                name: t.name.clone(),
                design_index,
                subscripts: t.subscripts,
                factors,
                obs_level,
                n_levels,
                level_codes,
            });
        }
        random.sort_by(|a, b| {
            b.n_levels
                .cmp(&a.n_levels)
                .then(b.subscripts.len().cmp(&a.subscripts.len()))
                .then(a.design_index.cmp(&b.design_index))
        });

        let fixed = build_fixed(design, codes, &mut combos, labels)?;
        let balanced = is_balanced(design, &mut combos);
        let given: Vec<Vec<u32>> = codes
            .iter()
            .zip(&dense)
            .map(|(c, (d, m))| {
                let mut of = vec![0u32; *m];
                for (&code, &dc) in c.iter().zip(d) {
                    of[dc as usize] = code;
                }
                of
            })
            .collect();
        Ok(Frame {
            n,
            random,
            fixed,
            shift,
            balanced,
            codes: given,
        })
    }

    /// Z'Z, Z'[X y] and [X y]'[X y] in one pass over the observations.
    pub(crate) fn cross_products(&self, y: &[f64]) -> CrossProducts {
        let k = self.random.len();
        let p = self.fixed.p;
        let q: Vec<usize> = self.random.iter().map(|r| r.n_levels).collect();
        let mut diag: Vec<Vec<f64>> = q.iter().map(|&m| vec![0.0; m]).collect();
        let mut tail_rows: Vec<DMatrix<f64>> =
            q.iter().map(|&m| DMatrix::zeros(p + 1, m)).collect();
        let n_cells = self.fixed.cell_cols.len();
        let mut cell_n = vec![0.0; n_cells];
        let mut cell_y = vec![0.0; n_cells];
        let mut yy = 0.0;
        // Pair accumulators for i > j (term i has no more levels than term j).
        let mut pairs: Vec<(usize, usize, PairAcc)> = Vec::new();
        for i in 0..k {
            for j in 0..i {
                let (ri, rj) = (&self.random[i], &self.random[j]);
                let acc = if rj.subscripts.is_superset(ri.subscripts) {
                    PairAcc::Nested(vec![0; q[j]])
                } else if q[i].saturating_mul(q[j]) <= 1 << 21 {
                    PairAcc::Dense(vec![0.0; q[i] * q[j]])
                } else {
                    PairAcc::Hash(KeyMap::default())
                };
                pairs.push((i, j, acc));
            }
        }
        let levels: Vec<&[u32]> = self.random.iter().map(|r| r.obs_level.as_slice()).collect();
        for (o, &yo) in y.iter().enumerate() {
            let yc = yo - self.shift;
            let c = self.fixed.obs_cell[o] as usize;
            cell_n[c] += 1.0;
            cell_y[c] += yc;
            yy += yc * yc;
            let cols = &self.fixed.cell_cols[c];
            for t in 0..k {
                let l = levels[t][o] as usize;
                diag[t][l] += 1.0;
                let col = &mut tail_rows[t].as_mut_slice()[l * (p + 1)..(l + 1) * (p + 1)];
                for &j in cols {
                    col[j as usize] += 1.0;
                }
                col[p] += yc;
            }
            for (i, j, acc) in &mut pairs {
                let (li, lj) = (levels[*i][o], levels[*j][o]);
                match acc {
                    PairAcc::Nested(parent) => parent[lj as usize] = li,
                    PairAcc::Dense(m) => m[lj as usize * q[*i] + li as usize] += 1.0,
                    PairAcc::Hash(h) => {
                        *h.entry(spread(u64::from(lj) << 32 | u64::from(li)))
                            .or_insert(0.0) += 1.0;
                    }
                }
            }
        }
        let mut tail = DMatrix::zeros(p + 1, p + 1);
        for c in 0..n_cells {
            let cols = &self.fixed.cell_cols[c];
            for &a in cols {
                for &b in cols {
                    tail[(a as usize, b as usize)] += cell_n[c];
                }
                tail[(p, a as usize)] += cell_y[c];
                tail[(a as usize, p)] += cell_y[c];
            }
        }
        tail[(p, p)] = yy;
        let mut pair_blocks: Vec<Vec<Csc>> = (0..k).map(|_| Vec::new()).collect();
        for (i, j, acc) in pairs {
            let csc = acc.into_csc(q[i], q[j], &diag[j]);
            pair_blocks[i].push(csc);
            debug_assert_eq!(pair_blocks[i].len(), j + 1);
        }
        CrossProducts {
            diag,
            pairs: pair_blocks,
            tail_rows,
            tail,
        }
    }
}

enum PairAcc {
    /// Term j nested in term i: the level of i of each level of j.
    Nested(Vec<u32>),
    /// Counts, column-major q_i x q_j.
    Dense(Vec<f64>),
    /// Counts keyed by `spread((level of j) << 32 | (level of i))`.
    Hash(KeyMap<f64>),
}

impl PairAcc {
    fn into_csc(self, nrows: usize, ncols: usize, counts_j: &[f64]) -> Csc {
        match self {
            PairAcc::Nested(parent) => Csc {
                nrows,
                colptr: (0..=ncols).collect(),
                rowval: parent,
                nzval: counts_j.to_vec(),
                unit: true,
            },
            PairAcc::Dense(m) => {
                let mut colptr = Vec::with_capacity(ncols + 1);
                let mut rowval = Vec::new();
                let mut nzval = Vec::new();
                colptr.push(0);
                for col in m.chunks(nrows.max(1)).take(ncols) {
                    for (r, &v) in col.iter().enumerate() {
                        if v != 0.0 {
                            rowval.push(r as u32);
                            nzval.push(v);
                        }
                    }
                    colptr.push(rowval.len());
                }
                Csc::new(nrows, colptr, rowval, nzval)
            }
            PairAcc::Hash(h) => {
                let entries: Vec<(u32, u32, f64)> = h
                    .into_iter()
                    .map(|(mixed, v)| {
                        let key = unspread(mixed);
                        ((key >> 32) as u32, key as u32, v)
                    })
                    .collect();
                Csc::from_triplets(nrows, ncols, entries)
            }
        }
    }
}

/// A compressed-sparse-column block with sorted row indices.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Csc {
    pub nrows: usize,
    pub colptr: Vec<usize>,
    pub rowval: Vec<u32>,
    pub nzval: Vec<f64>,
    /// Exactly one entry per column (a term nested in another): entry c is column c's, and
    /// the hot loops skip `colptr`.
    pub unit: bool,
}

impl Csc {
    pub(crate) fn new(nrows: usize, colptr: Vec<usize>, rowval: Vec<u32>, nzval: Vec<f64>) -> Csc {
        let unit = colptr.windows(2).all(|w| w[1] - w[0] == 1);
        Csc {
            nrows,
            colptr,
            rowval,
            nzval,
            unit,
        }
    }

    /// From (column, row, value) triplets; duplicates are summed.
    pub(crate) fn from_triplets(nrows: usize, ncols: usize, entries: Vec<(u32, u32, f64)>) -> Csc {
        let mut colptr = vec![0usize; ncols + 1];
        for &(c, _, _) in &entries {
            colptr[c as usize + 1] += 1;
        }
        for c in 0..ncols {
            colptr[c + 1] += colptr[c];
        }
        let mut next = colptr.clone();
        let mut rows = vec![0u32; entries.len()];
        let mut vals = vec![0.0; entries.len()];
        for (c, r, v) in entries {
            let slot = &mut next[c as usize];
            rows[*slot] = r;
            vals[*slot] = v;
            *slot += 1;
        }
        let mut out_ptr = Vec::with_capacity(ncols + 1);
        let mut rowval = Vec::with_capacity(rows.len());
        let mut nzval = Vec::with_capacity(rows.len());
        out_ptr.push(0);
        let mut buf: Vec<(u32, f64)> = Vec::new();
        for c in 0..ncols {
            buf.clear();
            buf.extend((colptr[c]..colptr[c + 1]).map(|i| (rows[i], vals[i])));
            buf.sort_unstable_by_key(|e| e.0);
            for &(r, v) in &buf {
                if rowval.len() > out_ptr[c] && rowval.last() == Some(&r) {
                    if let Some(last) = nzval.last_mut() {
                        *last += v;
                    }
                } else {
                    rowval.push(r);
                    nzval.push(v);
                }
            }
            out_ptr.push(rowval.len());
        }
        Csc::new(nrows, out_ptr, rowval, nzval)
    }

    pub(crate) fn ncols(&self) -> usize {
        self.colptr.len() - 1
    }

    pub(crate) fn col(&self, c: usize) -> (&[u32], &[f64]) {
        let r = self.colptr[c]..self.colptr[c + 1];
        (&self.rowval[r.clone()], &self.nzval[r])
    }

    /// Position of (row, col) in `nzval`.
    pub(crate) fn find(&self, row: u32, col: usize) -> Option<usize> {
        let (lo, hi) = (self.colptr[col], self.colptr[col + 1]);
        let rows = &self.rowval[lo..hi];
        if rows.len() <= 8 {
            rows.iter().position(|&r| r == row).map(|i| lo + i)
        } else {
            rows.binary_search(&row).ok().map(|i| lo + i)
        }
    }
}

/// The cross-products of the model, in the order of `Frame::random`.
#[derive(Debug, Clone)]
pub(crate) struct CrossProducts {
    /// Z_k'Z_k (diagonal: the level counts).
    pub diag: Vec<Vec<f64>>,
    /// `pairs[i][j]` = Z_i'Z_j for j < i (q_i x q_j, sparse).
    pub pairs: Vec<Vec<Csc>>,
    /// [X y]'Z_k, (p+1) x q_k.
    pub tail_rows: Vec<DMatrix<f64>>,
    /// [X y]'[X y].
    pub tail: DMatrix<f64>,
}

fn build_fixed(
    design: &Design,
    codes: &[Vec<u32>],
    combos: &mut Combos<'_>,
    labels: Option<&[Vec<String>]>,
) -> Result<FixedPart, RemlError> {
    let dense = combos.dense;
    let fixed_terms: Vec<&Term> = design.terms.iter().filter(|t| !t.random).collect();
    let all = fixed_terms
        .iter()
        .fold(Subscripts::EMPTY, |s, t| s.union(t.subscripts));
    let (obs_cell, n_cells) = combos.get(all).clone();
    let first = first_rows(&obs_cell, n_cells);
    // Dense codes of each fixed factor in each cell.
    let cell_dense: Vec<(Vec<u32>, usize)> = dense
        .iter()
        .enumerate()
        .map(|(f, (c, m))| {
            if all.contains(f) {
                (first.iter().map(|&o| c[o as usize]).collect(), *m)
            } else {
                (vec![0; n_cells], 1)
            }
        })
        .collect();
    // Candidate columns, over cells: intercept, then each fixed term's level indicators with
    // the levels involving a factor's first level last (so that those are the ones found
    // aliased, as with R's treatment contrasts).
    let mut names = vec!["(Intercept)".to_string()];
    let mut candidates: Vec<(String, Vec<u32>)> = Vec::new();
    let mut n_candidates = 1usize;
    for t in &fixed_terms {
        let tf: Vec<usize> = t.subscripts.iter().collect();
        let (cell_level, m) = combine(&tf, &cell_dense, n_cells);
        let rep = first_rows(&cell_level, m);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by_key(|&l| {
            let c = rep[l] as usize;
            let at_first = tf.iter().filter(|&&f| cell_dense[f].0[c] == 0).count();
            (at_first, l)
        });
        let mut by_level: Vec<Vec<u32>> = vec![Vec::new(); m];
        for (cc, &l) in cell_level.iter().enumerate() {
            by_level[l as usize].push(cc as u32);
        }
        for l in order {
            let c = rep[l] as usize;
            let o = first[c] as usize;
            let name = level_name(design, t, |f| codes[f][o], labels);
            candidates.push((name, std::mem::take(&mut by_level[l])));
            n_candidates += 1;
        }
    }
    if (n_cells as f64) * (n_candidates as f64) * (n_candidates as f64) > 4e10
        || (n_cells as f64) * (n_candidates as f64) > 5e7
    {
        return Err(RemlError::TooLarge(format!(
            "{n_candidates} fixed-effect columns over {n_cells} cells"
        )));
    }
    // Modified Gram-Schmidt with re-orthogonalisation over the cells (unit weights: the rank
    // over the observed cells is that of X itself).
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let intercept = vec![1.0 / (n_cells as f64).sqrt(); n_cells];
    basis.push(intercept);
    let mut kept_cells: Vec<Vec<u32>> = Vec::new();
    let mut aliased = 0;
    for (name, cells) in candidates {
        let mut v = vec![0.0; n_cells];
        for &c in &cells {
            v[c as usize] = 1.0;
        }
        let norm0 = (cells.len() as f64).sqrt();
        for _ in 0..2 {
            for b in &basis {
                let d: f64 = b.iter().zip(&v).map(|(x, y)| x * y).sum();
                for (vi, bi) in v.iter_mut().zip(b) {
                    *vi -= d * bi;
                }
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > ALIAS_REL * norm0 {
            for x in &mut v {
                *x /= norm;
            }
            basis.push(v);
            names.push(name);
            kept_cells.push(cells);
        } else {
            aliased += 1;
        }
    }
    let p = names.len();
    let mut cell_cols: Vec<Vec<u32>> = vec![vec![0]; n_cells];
    for (j, cells) in kept_cells.iter().enumerate() {
        for &c in cells {
            cell_cols[c as usize].push(j as u32 + 1);
        }
    }
    let factors: Vec<usize> = all.iter().collect();
    let cell_codes = (0..n_cells)
        .map(|c| factors.iter().map(|&f| cell_dense[f].0[c]).collect())
        .collect();
    let mut cell_counts = vec![0.0; n_cells];
    for &c in &obs_cell {
        cell_counts[c as usize] += 1.0;
    }
    Ok(FixedPart {
        names,
        obs_cell,
        cell_cols,
        p,
        aliased,
        factors,
        cell_codes,
        cell_counts,
    })
}

/// Balanced: every cell of the factor structure is present (each factor has the same number
/// of levels within every combination of its ancestors) with the same number of replicates.
fn is_balanced(design: &Design, combos: &mut Combos<'_>) -> bool {
    let nf = design.factors.len();
    let dense = combos.dense;
    let all = Subscripts((1u64 << nf) - 1);
    let (cells, m) = combos.get(all);
    let m = *m;
    let mut counts = vec![0u64; m];
    for &c in cells {
        counts[c as usize] += 1;
    }
    if counts.iter().any(|&c| c != counts[0]) {
        return false;
    }
    let mut expected: f64 = 1.0;
    for (f, (factor, (_, n_codes))) in design.factors.iter().zip(dense).enumerate() {
        let anc = factor.ancestors;
        if anc.is_empty() {
            expected *= *n_codes as f64;
            continue;
        }
        let (child, mc) = combos.get(anc.with(f)).clone();
        let (parent, mp) = combos.get(anc);
        let mp = *mp;
        let mut parent_of = vec![u32::MAX; mc];
        for (c, p) in child.iter().zip(parent) {
            parent_of[*c as usize] = *p;
        }
        let mut per_parent = vec![0u64; mp];
        for p in parent_of {
            per_parent[p as usize] += 1;
        }
        if per_parent.iter().any(|&c| c != per_parent[0]) {
            return false;
        }
        expected *= per_parent[0] as f64;
    }
    expected == m as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densify_ranks_keys_both_ways() {
        let keys = [7u64, 3, 7, 100, 3];
        let (idx, m) = densify(&keys, 101);
        assert_eq!((idx, m), (vec![1, 0, 1, 2, 0], 3));
        // Keys beyond the direct-table limit go through sorting.
        let big = [u64::MAX - 1, 5, u64::MAX - 1];
        let (idx, m) = densify(&big, u64::MAX);
        assert_eq!((idx, m), (vec![1, 0, 1], 2));
    }

    #[test]
    fn spread_is_a_bijection_that_mixes_the_high_bits() {
        for key in [0u64, 1, 7 << 32 | 3, u64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(unspread(spread(key)), key);
        }
        // Keys differing only in their high half land in different low bits.
        let low: Vec<u64> = (0..64u64).map(|j| spread(j << 32 | 5) & 0xfff).collect();
        let mut distinct = low.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 60, "{low:?}");
    }

    #[test]
    fn combine_orders_levels_lexicographically() {
        let dense = vec![(vec![1, 0, 1, 0], 2), (vec![0, 1, 1, 0], 2)];
        let (idx, m) = combine(&[0, 1], &dense, 4);
        // (1,0) (0,1) (1,1) (0,0) -> ranks 2 1 3 0
        assert_eq!((idx, m), (vec![2, 1, 3, 0], 4));
    }

    #[test]
    fn triplets_sum_duplicates_and_sort_rows() {
        let c = Csc::from_triplets(
            3,
            2,
            vec![(1, 2, 1.0), (0, 1, 2.0), (1, 0, 3.0), (1, 2, 4.0)],
        );
        assert_eq!(c.colptr, vec![0, 1, 3]);
        assert_eq!(c.rowval, vec![1, 0, 2]);
        assert_eq!(c.nzval, vec![2.0, 3.0, 5.0]);
        assert!(!c.unit);
        assert_eq!(c.find(2, 1), Some(2));
        assert_eq!(c.find(1, 1), None);
    }

    #[test]
    fn hashed_and_dense_pair_counts_agree() {
        let pairs = [(0u32, 1u32), (2, 0), (0, 1), (1, 1)];
        let mut h: KeyMap<f64> = KeyMap::default();
        let mut dense = vec![0.0; 3 * 2];
        for &(lj, li) in &pairs {
            *h.entry(spread(u64::from(lj) << 32 | u64::from(li)))
                .or_insert(0.0) += 1.0;
            dense[lj as usize * 2 + li as usize] += 1.0;
        }
        let a = PairAcc::Hash(h).into_csc(2, 3, &[]);
        let b = PairAcc::Dense(dense).into_csc(2, 3, &[]);
        assert_eq!(a, b);
        assert_eq!(a.nzval, vec![2.0, 1.0, 1.0]);
    }
}
