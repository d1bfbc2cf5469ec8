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

/// Rows of data, visited in order and possibly several times: the frame makes three passes
/// (the codes of each factor, the level combinations of the terms, the cross-products) and a
/// fourth for the conditional residuals. Nothing is kept per row: memory is that of the
/// levels and of the random-effects system (issue 17).
pub trait RowSource {
    /// Calls `row(codes, y)` for every observation, in the same order on every call; `codes`
    /// are the design factors' level codes. An error from `row` ends the visit and is
    /// returned.
    fn visit(&mut self, row: &mut RowVisitor<'_>) -> Result<(), RemlError>;
}

/// What a [`RowSource`] calls for each row: the codes of the design's factors and y.
pub type RowVisitor<'a> = dyn FnMut(&[u32], f64) -> Result<(), RemlError> + 'a;

/// Data held in memory as columns: `codes[f][obs]`, `y[obs]`.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub codes: &'a [Vec<u32>],
    pub y: &'a [f64],
}

impl RowSource for Columns<'_> {
    fn visit(&mut self, row: &mut RowVisitor<'_>) -> Result<(), RemlError> {
        let mut buf = vec![0u32; self.codes.len()];
        for (o, &y) in self.y.iter().enumerate() {
            for (b, c) in buf.iter_mut().zip(self.codes) {
                *b = c[o];
            }
            row(&buf, y)?;
        }
        Ok(())
    }
}

/// The codes of one factor: the distinct codes given (sorted: dense code d is the d-th
/// smallest) and the map from a given code to its dense code.
#[derive(Debug, Clone)]
struct FactorCodes {
    given: Vec<u32>,
    /// Direct table code -> dense (u32::MAX where absent) when the codes are small.
    direct: Vec<u32>,
    map: KeyMap<u32>,
}

impl FactorCodes {
    fn new(mut given: Vec<u32>, n: usize) -> FactorCodes {
        given.sort_unstable();
        given.dedup();
        let max = given.last().copied().unwrap_or(0) as usize;
        let mut fc = FactorCodes {
            given,
            direct: Vec::new(),
            map: KeyMap::default(),
        };
        if max < (4 * n).max(1 << 22) {
            fc.direct = vec![u32::MAX; max + 1];
            for (d, &c) in fc.given.iter().enumerate() {
                fc.direct[c as usize] = d as u32;
            }
        } else {
            for (d, &c) in fc.given.iter().enumerate() {
                fc.map.insert(spread(u64::from(c)), d as u32);
            }
        }
        fc
    }
    #[inline]
    fn dense(&self, code: u32) -> u32 {
        if self.direct.is_empty() {
            self.map
                .get(&spread(u64::from(code)))
                .copied()
                .unwrap_or(u32::MAX)
        } else {
            self.direct.get(code as usize).copied().unwrap_or(u32::MAX)
        }
    }
    fn len(&self) -> usize {
        self.given.len()
    }
}

/// The levels of a set of factors: the combinations of their dense codes seen in the data,
/// numbered in lexicographic order (first factor slowest), as `combine` numbers them. A
/// combination's key is its mixed-radix number (first factor most significant).
#[derive(Debug, Clone)]
pub(crate) struct LevelSet {
    /// The factors (design indices, ascending).
    factors: Vec<usize>,
    /// Place value of each factor's dense code in the key.
    strides: Vec<u128>,
    /// key -> level: a direct table when the key space is small, else a hash map.
    direct: Vec<u32>,
    map: FxHashMap<u128, u32>,
    /// Keys of the levels in level order (after `finish`).
    keys: Vec<u128>,
    /// Observations per level (after `finish`).
    counts: Vec<f64>,
}

impl LevelSet {
    fn new(factors: Vec<usize>, radix: &[usize], n: usize) -> Result<LevelSet, RemlError> {
        let mut strides = vec![1u128; factors.len()];
        let mut space: u128 = 1;
        for (i, &f) in factors.iter().enumerate().rev() {
            strides[i] = space;
            space = space.checked_mul(radix[f].max(1) as u128).ok_or_else(|| {
                RemlError::TooLarge(format!(
                    "the level combinations of {} factors",
                    factors.len()
                ))
            })?;
        }
        let direct_limit = (4 * n as u128).max(1 << 22);
        let direct = if space <= direct_limit {
            vec![u32::MAX; space as usize]
        } else {
            Vec::new()
        };
        Ok(LevelSet {
            factors,
            strides,
            direct,
            map: FxHashMap::default(),
            keys: Vec::new(),
            counts: Vec::new(),
        })
    }

    /// The key of a row's combination; None when a code was not seen in the first pass.
    #[inline]
    fn key(&self, dense: &[u32]) -> Option<u128> {
        let mut key = 0u128;
        for (&f, &s) in self.factors.iter().zip(&self.strides) {
            let d = dense[f];
            if d == u32::MAX {
                return None;
            }
            key += u128::from(d) * s;
        }
        (self.direct.is_empty() || key < self.direct.len() as u128).then_some(key)
    }

    /// Pass 2: counts the row's combination (provisionally numbered); false when a code was
    /// not seen in the first pass.
    #[inline]
    fn count(&mut self, dense: &[u32]) -> bool {
        let Some(key) = self.key(dense) else {
            return false;
        };
        let next = self.counts.len() as u32;
        let slot = if self.direct.is_empty() {
            self.map.entry(key).or_insert(next)
        } else {
            &mut self.direct[key as usize]
        };
        if *slot == u32::MAX {
            *slot = next;
        }
        if *slot == next {
            self.counts.push(0.0);
            self.keys.push(key);
        }
        self.counts[*slot as usize] += 1.0;
        true
    }

    /// Renumbers the levels in key order.
    fn finish(&mut self) {
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_unstable_by_key(|&i| self.keys[i]);
        let keys: Vec<u128> = order.iter().map(|&i| self.keys[i]).collect();
        let counts: Vec<f64> = order.iter().map(|&i| self.counts[i]).collect();
        for (id, &key) in keys.iter().enumerate() {
            if self.direct.is_empty() {
                self.map.insert(key, id as u32);
            } else {
                self.direct[key as usize] = id as u32;
            }
        }
        self.keys = keys;
        self.counts = counts;
    }

    /// The level of a row (after `finish`); u32::MAX for a combination not seen.
    #[inline]
    fn level(&self, dense: &[u32]) -> u32 {
        let Some(key) = self.key(dense) else {
            return u32::MAX;
        };
        if self.direct.is_empty() {
            self.map.get(&key).copied().unwrap_or(u32::MAX)
        } else {
            self.direct[key as usize]
        }
    }

    fn n_levels(&self) -> usize {
        self.keys.len()
    }

    /// The dense code of factor `factors[i]` at a level.
    fn digit(&self, level: usize, i: usize, radix: usize) -> u32 {
        ((self.keys[level] / self.strides[i]) % radix.max(1) as u128) as u32
    }
}

/// The registry of level sets: one per distinct set of factors.
struct Sets {
    sets: Vec<LevelSet>,
    index: KeyMap<usize>,
}

impl Sets {
    fn add(&mut self, set: Subscripts, radix: &[usize], n: usize) -> Result<usize, RemlError> {
        if let Some(&i) = self.index.get(&set.0) {
            return Ok(i);
        }
        self.sets
            .push(LevelSet::new(set.iter().collect(), radix, n)?);
        self.index.insert(set.0, self.sets.len() - 1);
        Ok(self.sets.len() - 1)
    }
    fn get(&self, set: Subscripts) -> Option<&LevelSet> {
        self.index.get(&set.0).map(|&i| &self.sets[i])
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

/// A random term: its levels (Z_k is the indicator of the level of each observation, found
/// from the row's codes in every pass).
#[derive(Debug, Clone)]
pub(crate) struct RandomTerm {
    pub name: String,
    /// Position in `design.terms`.
    pub design_index: usize,
    pub subscripts: Subscripts,
    /// Its factors, in declaration order.
    pub factors: Vec<usize>,
    /// Its level set in the frame.
    set: usize,
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

/// Everything the likelihood needs from the data, with nothing kept per observation.
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
    factor_codes: Vec<FactorCodes>,
    sets: Vec<LevelSet>,
    /// Level set of the cells of the fixed factors.
    fixed_set: usize,
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
    /// The frame of data held as columns (`codes[f][obs]`, `y[obs]`), checked for shape.
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
        for (f, c) in codes.iter().enumerate() {
            if c.len() != y.len() {
                return Err(RemlError::LengthMismatch {
                    factor: design.factors[f].name.clone(),
                    expected: y.len(),
                    found: c.len(),
                });
            }
        }
        Frame::from_source(design, &mut Columns { codes, y }, labels)
    }

    /// The frame from two passes over the rows: the codes of every factor and the mean of y,
    /// then the level combinations of every term (and their counts).
    pub(crate) fn from_source(
        design: &Design,
        source: &mut dyn RowSource,
        labels: Option<&[Vec<String>]>,
    ) -> Result<Frame, RemlError> {
        let nf = design.factors.len();
        // Pass 1: the codes of each factor, the mean of y (compensated sum).
        let mut seen: Vec<KeyMap<()>> = vec![KeyMap::default(); nf];
        let mut n = 0usize;
        let (mut sum, mut comp) = (0.0f64, 0.0f64);
        source.visit(&mut |row, y| {
            if row.len() != nf {
                return Err(RemlError::FactorCount {
                    expected: nf,
                    found: row.len(),
                });
            }
            if !y.is_finite() {
                return Err(RemlError::NonFiniteResponse { index: n });
            }
            for (s, &c) in seen.iter_mut().zip(row) {
                s.entry(spread(u64::from(c))).or_insert(());
            }
            let t = sum + y;
            comp += if sum.abs() >= y.abs() {
                (sum - t) + y
            } else {
                (y - t) + sum
            };
            sum = t;
            n += 1;
            Ok(())
        })?;
        if n == 0 {
            return Err(RemlError::NoObservations);
        }
        if n >= u32::MAX as usize {
            return Err(RemlError::TooLarge(format!(
                "{n} observations (at most {})",
                u32::MAX - 1
            )));
        }
        let shift = (sum + comp) / n as f64;
        let factor_codes: Vec<FactorCodes> = seen
            .into_iter()
            .map(|s| FactorCodes::new(s.into_keys().map(|k| unspread(k) as u32).collect(), n))
            .collect();
        let radix: Vec<usize> = factor_codes.iter().map(FactorCodes::len).collect();

        // The sets of factors whose levels are needed: random terms, the fixed cells, and
        // the balance check (all factors; each nested factor with and without its
        // ancestors).
        let mut reg = Sets {
            sets: Vec::new(),
            index: KeyMap::default(),
        };
        let fixed_all = design
            .terms
            .iter()
            .filter(|t| !t.random)
            .fold(Subscripts::EMPTY, |s, t| s.union(t.subscripts));
        let fixed_set = reg.add(fixed_all, &radix, n)?;
        let mut term_sets = Vec::new();
        for t in design.terms.iter().filter(|t| t.random) {
            term_sets.push(reg.add(t.subscripts, &radix, n)?);
        }
        reg.add(Subscripts((1u64 << nf) - 1), &radix, n)?;
        for (f, factor) in design.factors.iter().enumerate() {
            if !factor.ancestors.is_empty() {
                reg.add(factor.ancestors.with(f), &radix, n)?;
                reg.add(factor.ancestors, &radix, n)?;
            }
        }
        // Pass 2: the level combinations.
        let mut dense = vec![0u32; nf];
        source.visit(&mut |row, _| {
            if row.len() != nf {
                return Err(RemlError::FactorCount {
                    expected: nf,
                    found: row.len(),
                });
            }
            for ((d, fc), &c) in dense.iter_mut().zip(&factor_codes).zip(row) {
                *d = fc.dense(c);
            }
            for set in &mut reg.sets {
                if !set.count(&dense) {
                    return Err(RemlError::SourceChanged);
                }
            }
            Ok(())
        })?;
        for set in &mut reg.sets {
            set.finish();
        }
        let given: Vec<Vec<u32>> = factor_codes.iter().map(|fc| fc.given.clone()).collect();

        // Random terms.
        let mut random = Vec::new();
        let mut ti = 0;
        for (design_index, t) in design.terms.iter().enumerate() {
            if !t.random {
                continue;
            }
            let set = term_sets[ti];
            ti += 1;
            let ls = &reg.sets[set];
            let factors: Vec<usize> = t.subscripts.iter().collect();
            let n_levels = ls.n_levels();
            let mut level_codes = Vec::with_capacity(n_levels * factors.len());
            for l in 0..n_levels {
                for (i, &f) in factors.iter().enumerate() {
                    level_codes.push(given[f][ls.digit(l, i, radix[f]) as usize]);
                }
            }
            random.push(RandomTerm {
                name: t.name.clone(),
                design_index,
                subscripts: t.subscripts,
                factors,
                set,
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
        let fixed = build_fixed(design, &reg.sets[fixed_set], &radix, &given, labels)?;
        let balanced = is_balanced(design, &reg, &radix);
        Ok(Frame {
            n,
            random,
            fixed,
            shift,
            balanced,
            codes: given,
            factor_codes,
            sets: reg.sets,
            fixed_set,
        })
    }

    /// Visits every row with the levels of the random terms (in `random`'s order), the
    /// fixed cell and y.
    pub(crate) fn visit_levels(
        &self,
        source: &mut dyn RowSource,
        row_fn: &mut dyn FnMut(&[u32], usize, f64),
    ) -> Result<(), RemlError> {
        let nf = self.factor_codes.len();
        let mut dense = vec![0u32; nf];
        let mut levels = vec![0u32; self.random.len()];
        let mut index = 0usize;
        source.visit(&mut |row, y| {
            if row.len() != nf {
                return Err(RemlError::FactorCount {
                    expected: nf,
                    found: row.len(),
                });
            }
            if !y.is_finite() {
                return Err(RemlError::NonFiniteResponse { index });
            }
            index += 1;
            for ((d, fc), &c) in dense.iter_mut().zip(&self.factor_codes).zip(row) {
                *d = fc.dense(c);
            }
            for (l, rt) in levels.iter_mut().zip(&self.random) {
                *l = self.sets[rt.set].level(&dense);
            }
            let cell = self.sets[self.fixed_set].level(&dense) as usize;
            if levels.contains(&u32::MAX) || cell >= self.fixed.cell_cols.len() {
                return Err(RemlError::SourceChanged);
            }
            row_fn(&levels, cell, y);
            Ok(())
        })
    }

    /// Z'Z, Z'[X y] and [X y]'[X y] in one pass over the rows.
    pub(crate) fn cross_products(
        &self,
        source: &mut dyn RowSource,
    ) -> Result<CrossProducts, RemlError> {
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
        let shift = self.shift;
        self.visit_levels(source, &mut |levels, c, yo| {
            let yc = yo - shift;
            cell_n[c] += 1.0;
            cell_y[c] += yc;
            yy += yc * yc;
            let cols = &self.fixed.cell_cols[c];
            for t in 0..k {
                let l = levels[t] as usize;
                diag[t][l] += 1.0;
                let col = &mut tail_rows[t].as_mut_slice()[l * (p + 1)..(l + 1) * (p + 1)];
                for &j in cols {
                    col[j as usize] += 1.0;
                }
                col[p] += yc;
            }
            for (i, j, acc) in &mut pairs {
                let (li, lj) = (levels[*i], levels[*j]);
                match acc {
                    PairAcc::Nested(parent) => parent[lj as usize] = li,
                    PairAcc::Dense(m) => m[lj as usize * q[*i] + li as usize] += 1.0,
                    PairAcc::Hash(h) => {
                        *h.entry(spread(u64::from(lj) << 32 | u64::from(li)))
                            .or_insert(0.0) += 1.0;
                    }
                }
            }
        })?;
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
        Ok(CrossProducts {
            diag,
            pairs: pair_blocks,
            tail_rows,
            tail,
        })
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

/// The fixed-effects part from the cells of the fixed factors (their level set).
fn build_fixed(
    design: &Design,
    cells: &LevelSet,
    radix: &[usize],
    given: &[Vec<u32>],
    labels: Option<&[Vec<String>]>,
) -> Result<FixedPart, RemlError> {
    let fixed_terms: Vec<&Term> = design.terms.iter().filter(|t| !t.random).collect();
    let n_cells = cells.n_levels();
    // Dense codes of each fixed factor in each cell (a single 0 for the others).
    let cell_dense: Vec<(Vec<u32>, usize)> = (0..design.factors.len())
        .map(|f| match cells.factors.iter().position(|&g| g == f) {
            Some(i) => (
                (0..n_cells).map(|c| cells.digit(c, i, radix[f])).collect(),
                radix[f],
            ),
            None => (vec![0; n_cells], 1),
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
            let name = level_name(design, t, |f| given[f][cell_dense[f].0[c] as usize], labels);
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
    let factors: Vec<usize> = cells.factors.clone();
    let cell_codes = (0..n_cells)
        .map(|c| factors.iter().map(|&f| cell_dense[f].0[c]).collect())
        .collect();
    let cell_counts = cells.counts.clone();
    Ok(FixedPart {
        names,
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
fn is_balanced(design: &Design, reg: &Sets, radix: &[usize]) -> bool {
    let nf = design.factors.len();
    let Some(all) = reg.get(Subscripts((1u64 << nf) - 1)) else {
        return false;
    };
    let m = all.n_levels();
    if all.counts.iter().any(|&c| c != all.counts[0]) {
        return false;
    }
    let mut expected: f64 = 1.0;
    for (f, factor) in design.factors.iter().enumerate() {
        let anc = factor.ancestors;
        if anc.is_empty() {
            expected *= radix[f] as f64;
            continue;
        }
        let (Some(child), Some(parent)) = (reg.get(anc.with(f)), reg.get(anc)) else {
            return false;
        };
        // The parent level of each child level: its dense codes without factor f.
        let mut per_parent = vec![0u64; parent.n_levels()];
        let mut dense = vec![0u32; nf];
        for l in 0..child.n_levels() {
            for (i, &g) in child.factors.iter().enumerate() {
                dense[g] = child.digit(l, i, radix[g]);
            }
            let pl = parent.level(&dense);
            match per_parent.get_mut(pl as usize) {
                Some(c) => *c += 1,
                None => return false,
            }
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
