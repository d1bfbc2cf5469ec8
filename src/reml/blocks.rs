//! The blocked lower Cholesky factor L of
//!
//! ```text
//! [ Λ'Z'ZΛ + I   Λ'Z'X   Λ'Z'y ]
//! [ X'ZΛ         X'X     X'y   ]  =  L L'
//! [ y'ZΛ         y'X     y'y   ]
//! ```
//!
//! in the style of MixedModels.jl (`updateL!`, `linalg/cholUnblocked.jl`, `rankUpdate.jl`):
//! one block per random term, ordered by decreasing number of levels, then one dense "tail"
//! block for [X y]. Diagonal blocks stay diagonal where the structure allows it (nested terms),
//! off-diagonal blocks stay sparse until fill-in makes them dense; the pattern including the
//! fill-in is found once (symbolic phase) and every evaluation of the criterion refills the
//! same storage. The last diagonal element of L is the square root of the penalised residual
//! sum of squares.
//!
//! The selected inverse (Takahashi's equations, blockwise) gives the entries of the inverse
//! of the mixed-model-equations matrix on the pattern of L: its diagonal for the prediction
//! error variances of the BLUPs and its X block for the covariance of the BLUEs.

use nalgebra::DMatrix;

use super::RemlError;
use super::frame::{CrossProducts, Csc};
use super::tolerances::{DENSE_FRACTION, MAX_DENSE_ENTRIES};

/// A diagonal block: diagonal, or dense (lower triangle used).
#[derive(Debug, Clone)]
pub(crate) enum DiagBlock {
    Diag(Vec<f64>),
    Dense(DMatrix<f64>),
}

/// An off-diagonal block: sparse (fixed pattern), or dense.
#[derive(Debug, Clone)]
pub(crate) enum OffBlock {
    Sparse(Csc),
    Dense(DMatrix<f64>),
}

/// One column of an off-diagonal block.
enum ColView<'a> {
    Sparse(&'a [u32], &'a [f64]),
    Dense(&'a [f64]),
}

impl ColView<'_> {
    #[inline]
    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        match self {
            ColView::Sparse(rows, vals) => {
                for (&r, &v) in rows.iter().zip(vals.iter()) {
                    f(r as usize, v);
                }
            }
            ColView::Dense(vals) => {
                for (r, &v) in vals.iter().enumerate() {
                    f(r, v);
                }
            }
        }
    }
}

impl OffBlock {
    fn ncols(&self) -> usize {
        match self {
            OffBlock::Sparse(s) => s.ncols(),
            OffBlock::Dense(m) => m.ncols(),
        }
    }
    fn col(&self, c: usize) -> ColView<'_> {
        match self {
            OffBlock::Sparse(s) => {
                let (r, v) = s.col(c);
                ColView::Sparse(r, v)
            }
            OffBlock::Dense(m) => {
                let nr = m.nrows();
                ColView::Dense(&m.as_slice()[c * nr..(c + 1) * nr])
            }
        }
    }
    /// Entry (r, c); 0 off the pattern.
    pub(crate) fn get(&self, r: usize, c: usize) -> f64 {
        match self {
            OffBlock::Sparse(s) => s.find(r as u32, c).map_or(0.0, |i| s.nzval[i]),
            OffBlock::Dense(m) => m[(r, c)],
        }
    }
    fn values(&self) -> &[f64] {
        match self {
            OffBlock::Sparse(s) => &s.nzval,
            OffBlock::Dense(m) => m.as_slice(),
        }
    }
    fn values_mut(&mut self) -> &mut [f64] {
        match self {
            OffBlock::Sparse(s) => &mut s.nzval,
            OffBlock::Dense(m) => m.as_mut_slice(),
        }
    }
    /// Same structure, all values zero.
    fn zeroed(&self) -> OffBlock {
        let mut b = self.clone();
        b.values_mut().fill(0.0);
        b
    }
}

impl DiagBlock {
    fn get(&self, r: usize, c: usize) -> f64 {
        match self {
            DiagBlock::Diag(d) => {
                if r == c {
                    d[r]
                } else {
                    0.0
                }
            }
            DiagBlock::Dense(m) => m[(r, c)],
        }
    }
    fn diagonal(&self, c: usize) -> f64 {
        self.get(c, c)
    }
}

/// The Cholesky factor failed: a non-positive pivot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotPositive {
    pub block: usize,
    pub pivot: usize,
}

/// The blocked matrix: `q.len() - 1` random blocks, then the tail ([X y], size p + 1).
#[derive(Debug, Clone)]
pub(crate) struct Blocked {
    pub q: Vec<usize>,
    pub diag: Vec<DiagBlock>,
    /// `off[i][j]`, j < i.
    pub off: Vec<Vec<OffBlock>>,
}

/// Pattern of an off-diagonal block during the symbolic phase.
enum Pat {
    Sparse(Csc),
    Dense,
}

fn has_multi_entry_column(s: &Csc) -> bool {
    s.colptr.windows(2).any(|w| w[1] - w[0] > 1)
}

fn check_dense(rows: usize, cols: usize, what: &str) -> Result<(), RemlError> {
    if rows.saturating_mul(cols) > MAX_DENSE_ENTRIES {
        return Err(RemlError::TooLarge(format!(
            "{what} would need a dense {rows} x {cols} block (more than {MAX_DENSE_ENTRIES} entries)"
        )));
    }
    Ok(())
}

impl Blocked {
    /// Number of random blocks.
    pub(crate) fn k(&self) -> usize {
        self.q.len() - 1
    }

    /// The symbolic phase: finds the pattern of L (fill-in included) and stores the
    /// cross-products in it. `names` name the random blocks for error messages.
    pub(crate) fn from_cross_products(
        cp: CrossProducts,
        names: &[String],
    ) -> Result<Blocked, RemlError> {
        let k = cp.diag.len();
        let p1 = cp.tail.nrows();
        let mut q: Vec<usize> = cp.diag.iter().map(Vec::len).collect();
        q.push(p1);
        let mut pats: Vec<Vec<Option<Pat>>> =
            (0..k).map(|i| (0..i).map(|_| None).collect()).collect();
        let mut diag_dense = vec![false; k];
        for j in 0..k {
            diag_dense[j] = (0..j).any(|kk| match &pats[j][kk] {
                Some(Pat::Dense) => q[j] > 1,
                Some(Pat::Sparse(s)) => has_multi_entry_column(s),
                None => false,
            });
            if diag_dense[j] {
                check_dense(q[j], q[j], &format!("random term `{}`", names[j]))?;
            }
            for i in j + 1..k {
                let a = &cp.pairs[i][j];
                let mut dense = diag_dense[j];
                let mut entries: Vec<(u32, u32, f64)> = Vec::new();
                if !dense {
                    for c in 0..a.ncols() {
                        let (rows, vals) = a.col(c);
                        for (&r, &v) in rows.iter().zip(vals) {
                            entries.push((c as u32, r, v));
                        }
                    }
                    'fill: for kk in 0..j {
                        match (&pats[i][kk], &pats[j][kk]) {
                            (Some(Pat::Sparse(ai)), Some(Pat::Sparse(bj))) => {
                                for c in 0..q[kk] {
                                    let (ri, _) = ai.col(c);
                                    let (rj, _) = bj.col(c);
                                    for &s in rj {
                                        for &r in ri {
                                            entries.push((s, r, 0.0));
                                        }
                                    }
                                    if entries.len() > 1 << 26 {
                                        dense = true;
                                        break 'fill;
                                    }
                                }
                            }
                            _ => {
                                dense = true;
                                break 'fill;
                            }
                        }
                    }
                }
                let pat = if dense {
                    Pat::Dense
                } else {
                    let csc = Csc::from_triplets(q[i], q[j], entries);
                    if csc.nzval.len() as f64 > DENSE_FRACTION * (q[i] as f64) * (q[j] as f64) {
                        Pat::Dense
                    } else {
                        Pat::Sparse(csc)
                    }
                };
                if matches!(pat, Pat::Dense) {
                    check_dense(
                        q[i],
                        q[j],
                        &format!("random terms `{}` and `{}`", names[i], names[j]),
                    )?;
                }
                pats[i][j] = Some(pat);
            }
        }
        // Store the cross-products in the pattern.
        let mut diag = Vec::with_capacity(k + 1);
        for (j, d) in cp.diag.into_iter().enumerate() {
            diag.push(if diag_dense[j] {
                DiagBlock::Dense(DMatrix::from_diagonal(&nalgebra::DVector::from_vec(d)))
            } else {
                DiagBlock::Diag(d)
            });
        }
        diag.push(DiagBlock::Dense(cp.tail));
        let mut off: Vec<Vec<OffBlock>> = Vec::with_capacity(k + 1);
        for (i, row) in pats.into_iter().enumerate() {
            let mut blocks = Vec::with_capacity(i);
            for (j, pat) in row.into_iter().enumerate() {
                let a = &cp.pairs[i][j];
                let block = match pat {
                    Some(Pat::Sparse(mut csc)) => {
                        csc.nzval.fill(0.0);
                        for c in 0..a.ncols() {
                            let (rows, vals) = a.col(c);
                            for (&r, &v) in rows.iter().zip(vals) {
                                if let Some(pos) = csc.find(r, c) {
                                    csc.nzval[pos] = v;
                                }
                            }
                        }
                        OffBlock::Sparse(csc)
                    }
                    _ => {
                        let mut m = DMatrix::zeros(q[i], q[j]);
                        for c in 0..a.ncols() {
                            let (rows, vals) = a.col(c);
                            for (&r, &v) in rows.iter().zip(vals) {
                                m[(r as usize, c)] = v;
                            }
                        }
                        OffBlock::Dense(m)
                    }
                };
                blocks.push(block);
            }
            off.push(blocks);
        }
        let mut tail_row = Vec::with_capacity(k);
        for (j, m) in cp.tail_rows.into_iter().enumerate() {
            check_dense(
                p1,
                q[j],
                &format!("the fixed effects against `{}`", names[j]),
            )?;
            tail_row.push(OffBlock::Dense(m));
        }
        off.push(tail_row);
        Ok(Blocked { q, diag, off })
    }

    /// L's storage := Λ'AΛ + I on the random blocks, the cross-products elsewhere.
    pub(crate) fn fill_from(&mut self, a: &Blocked, theta: &[f64]) {
        let k = self.k();
        for j in 0..=k {
            let tj = if j < k { theta[j] } else { 1.0 };
            match (&mut self.diag[j], &a.diag[j]) {
                (DiagBlock::Diag(l), DiagBlock::Diag(av)) => {
                    let t2 = tj * tj;
                    for (x, &y) in l.iter_mut().zip(av) {
                        *x = t2 * y + 1.0;
                    }
                }
                (DiagBlock::Dense(l), DiagBlock::Dense(am)) => {
                    if j < k {
                        let t2 = tj * tj;
                        for (x, &y) in l.as_mut_slice().iter_mut().zip(am.as_slice()) {
                            *x = t2 * y;
                        }
                        for c in 0..l.nrows() {
                            l[(c, c)] += 1.0;
                        }
                    } else {
                        l.copy_from(am);
                    }
                }
                _ => {}
            }
            for i in j + 1..=k {
                let ti = theta.get(i).copied().unwrap_or(1.0);
                let s = ti * tj;
                let src = a.off[i][j].values();
                for (x, &y) in self.off[i][j].values_mut().iter_mut().zip(src) {
                    *x = s * y;
                }
            }
        }
    }

    /// In-place blocked Cholesky (left-looking, MixedModels.jl `updateL!`).
    pub(crate) fn factorize(&mut self) -> Result<(), NotPositive> {
        let k = self.k();
        for j in 0..=k {
            for kk in 0..j {
                rank_update(&mut self.diag[j], &self.off[j][kk]);
            }
            chol(&mut self.diag[j]).map_err(|pivot| NotPositive { block: j, pivot })?;
            for i in j + 1..=k {
                let (lo, hi) = self.off.split_at_mut(i);
                let row_j = &lo[j];
                let (left, right) = hi[0].split_at_mut(j);
                let target = &mut right[0];
                for kk in 0..j {
                    off_update(target, &left[kk], &row_j[kk]);
                }
                rdiv(target, &self.diag[j]);
            }
        }
        Ok(())
    }

    /// log det(L_Z)^2 = log det(Λ'Z'ZΛ + I).
    pub(crate) fn logdet_z(&self) -> f64 {
        let k = self.k();
        let mut s = 0.0;
        for j in 0..k {
            s += match &self.diag[j] {
                DiagBlock::Diag(d) => sum_ln(d.iter().copied()),
                DiagBlock::Dense(m) => sum_ln((0..m.nrows()).map(|c| m[(c, c)])),
            };
        }
        2.0 * s
    }

    /// log det(L_X)^2 = log det(X'V~^{-1}X) (V~ = V / sigma^2).
    pub(crate) fn logdet_x(&self) -> f64 {
        let k = self.k();
        let p = self.q[k] - 1;
        2.0 * (0..p).map(|a| self.diag[k].diagonal(a).ln()).sum::<f64>()
    }

    /// Penalised residual sum of squares: the square of L's last diagonal element.
    pub(crate) fn pwrss(&self) -> f64 {
        let k = self.k();
        let p = self.q[k] - 1;
        let r = self.diag[k].diagonal(p);
        r * r
    }

    /// Solves L'[u; beta] = l (l the last row of L): the spherical random effects u (one
    /// vector per random block) and the fixed effects beta.
    pub(crate) fn solve(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let k = self.k();
        let p = self.q[k] - 1;
        let DiagBlock::Dense(t) = &self.diag[k] else {
            return (Vec::new(), Vec::new());
        };
        let mut beta: Vec<f64> = (0..p).map(|a| t[(p, a)]).collect();
        for a in (0..p).rev() {
            let mut v = beta[a];
            for b in a + 1..p {
                v -= t[(b, a)] * beta[b];
            }
            beta[a] = v / t[(a, a)];
        }
        let mut u: Vec<Vec<f64>> = self.q[..k].iter().map(|&m| vec![0.0; m]).collect();
        for j in (0..k).rev() {
            let mut rhs = vec![0.0; self.q[j]];
            if let OffBlock::Dense(tr) = &self.off[k][j] {
                for (c, r) in rhs.iter_mut().enumerate() {
                    let col = &tr.as_slice()[c * (p + 1)..(c + 1) * (p + 1)];
                    *r = col[p] - (0..p).map(|a| col[a] * beta[a]).sum::<f64>();
                }
            }
            for (i, xi) in u.iter().enumerate().take(k).skip(j + 1) {
                let blk = &self.off[i][j];
                for (c, r) in rhs.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    blk.col(c).for_each(|row, v| acc += v * xi[row]);
                    *r -= acc;
                }
            }
            match &self.diag[j] {
                DiagBlock::Diag(d) => {
                    for (r, &dv) in rhs.iter_mut().zip(d) {
                        *r /= dv;
                    }
                }
                DiagBlock::Dense(l) => {
                    let m = l.nrows();
                    for a in (0..m).rev() {
                        let mut v = rhs[a];
                        for b in a + 1..m {
                            v -= l[(b, a)] * rhs[b];
                        }
                        rhs[a] = v / l[(a, a)];
                    }
                }
            }
            u[j] = rhs;
        }
        (u, beta)
    }

    /// The selected inverse of the mixed-model-equations part of L L' (without y): the same
    /// block structure as L, holding the entries of the inverse on L's pattern (the tail
    /// block's row and column p, the y position, are left at 0).
    ///
    /// With `with_x = false` the fixed effects are left out: the inverse of Λ'Z'ZΛ + I alone
    /// (lme4's conditional variances, given the fixed effects).
    pub(crate) fn selected_inverse(&self, with_x: bool) -> Blocked {
        let k = self.k();
        let p = if with_x { self.q[k] - 1 } else { 0 };
        let mut sig = Blocked {
            q: self.q.clone(),
            diag: self.diag.clone(),
            off: self
                .off
                .iter()
                .map(|row| row.iter().map(OffBlock::zeroed).collect())
                .collect(),
        };
        // The X block: (L_XX L_XX')^{-1}.
        let mut sxx = DMatrix::zeros(self.q[k], self.q[k]);
        if let DiagBlock::Dense(t) = &self.diag[k] {
            let lx = t.view((0, 0), (p, p)).into_owned();
            let w = lower_inverse(&lx);
            let s = w.transpose() * &w;
            sxx.view_mut((0, 0), (p, p)).copy_from(&s);
        }
        sig.diag[k] = DiagBlock::Dense(sxx);
        // Entries of column c of blocks below j: (block, row, value, position in storage).
        let mut g: Vec<(usize, usize, f64, usize)> = Vec::new();
        let mut tv: Vec<f64> = Vec::new();
        for j in (0..k).rev() {
            let qj = self.q[j];
            let mut new_off: Vec<OffBlock> = (j + 1..=k).map(|i| self.off[i][j].zeroed()).collect();
            let mut sjj_diag = vec![0.0; qj];
            let batch = self.below_product(&sig, j, p);
            for c in 0..qj {
                g.clear();
                for i in j + 1..=k {
                    match &self.off[i][j] {
                        OffBlock::Sparse(s) => {
                            for pos in s.colptr[c]..s.colptr[c + 1] {
                                g.push((i, s.rowval[pos] as usize, s.nzval[pos], pos));
                            }
                        }
                        OffBlock::Dense(m) => {
                            let nr = if i == k { p } else { m.nrows() };
                            let base = c * m.nrows();
                            for r in 0..nr {
                                g.push((i, r, m.as_slice()[base + r], base + r));
                            }
                        }
                    }
                }
                tv.clear();
                if let Some(t) = &batch {
                    let nr = t.nrows();
                    tv.extend_from_slice(&t.as_slice()[c * nr..(c + 1) * nr]);
                } else {
                    for &(i, r, _, _) in &g {
                        let mut t = 0.0;
                        for &(kk, s, v, _) in &g {
                            if v != 0.0 {
                                t += sig.entry(i, kk, r, s) * v;
                            }
                        }
                        tv.push(t);
                    }
                }
                match &self.diag[j] {
                    DiagBlock::Diag(d) => {
                        let dc = d[c];
                        let mut acc = 0.0;
                        for (e, &t) in g.iter().zip(&tv) {
                            new_off[e.0 - j - 1].values_mut()[e.3] = -t / dc;
                            acc += e.2 * t;
                        }
                        sjj_diag[c] = (1.0 + acc) / (dc * dc);
                    }
                    DiagBlock::Dense(_) => {
                        for (e, &t) in g.iter().zip(&tv) {
                            new_off[e.0 - j - 1].values_mut()[e.3] = t;
                        }
                    }
                }
            }
            match &self.diag[j] {
                DiagBlock::Diag(_) => {
                    sig.diag[j] = DiagBlock::Diag(sjj_diag);
                }
                DiagBlock::Dense(l) => {
                    // Σ_ij = -T_ij L_jj^{-1};  Σ_jj = L^{-T} (L^{-1} - Σ_i L_ij' Σ_ij).
                    let w = lower_inverse(l);
                    let mut b = w.clone();
                    for (idx, blk) in new_off.iter_mut().enumerate() {
                        if let OffBlock::Dense(t) = blk {
                            let x = right_solve_lower(t, l);
                            if let OffBlock::Dense(lij) = &self.off[j + 1 + idx][j] {
                                // b -= L_ij' Σ_ij with Σ_ij = -x
                                b.gemm_tr(1.0, lij, &x, 1.0);
                            }
                            *t = -x;
                        }
                    }
                    // Σ_jj = L^{-T} b = W' b
                    let s = w.transpose() * b;
                    let sym = (&s + s.transpose()) * 0.5;
                    sig.diag[j] = DiagBlock::Dense(sym);
                }
            }
            for (idx, blk) in new_off.into_iter().enumerate() {
                sig.off[j + 1 + idx][j] = blk;
            }
        }
        sig
    }

    /// When every block below diagonal block j is dense (rows 0..p of the tail): the products
    /// Σ_below L_below,j for all columns of j at once, one matrix product instead of a
    /// quadratic loop of entry look-ups per column (the crossed terms of a big crossed design).
    /// Rows in the order of the blocks below j. None otherwise, or when too big.
    fn below_product(&self, sig: &Blocked, j: usize, p: usize) -> Option<DMatrix<f64>> {
        let k = self.k();
        let mut rows = Vec::with_capacity(k - j);
        for i in j + 1..=k {
            match &self.off[i][j] {
                OffBlock::Dense(m) => rows.push((i, if i == k { p } else { m.nrows() })),
                OffBlock::Sparse(_) => return None,
            }
        }
        let total: usize = rows.iter().map(|r| r.1).sum();
        if total < 8 || total.saturating_mul(total) > MAX_DENSE_ENTRIES {
            return None;
        }
        let mut s = DMatrix::zeros(total, total);
        let mut gm = DMatrix::zeros(total, self.q[j]);
        let mut oi = 0;
        for &(i, ni) in &rows {
            let mut ok = 0;
            for &(kk, nk) in &rows {
                for a in 0..ni {
                    for b in 0..nk {
                        s[(oi + a, ok + b)] = sig.entry(i, kk, a, b);
                    }
                }
                ok += nk;
            }
            if let OffBlock::Dense(m) = &self.off[i][j] {
                gm.view_mut((oi, 0), (ni, self.q[j]))
                    .copy_from(&m.view((0, 0), (ni, self.q[j])));
            }
            oi += ni;
        }
        Some(s * gm)
    }

    /// Entry (r, s) of the symmetric matrix between blocks i and kk.
    fn entry(&self, i: usize, kk: usize, r: usize, s: usize) -> f64 {
        use std::cmp::Ordering::*;
        match i.cmp(&kk) {
            Equal => self.diag[i].get(r, s),
            Greater => self.off[i][kk].get(r, s),
            Less => self.off[kk][i].get(s, r),
        }
    }

    /// Diagonal entry c of diagonal block j.
    pub(crate) fn diag_entry(&self, j: usize, c: usize) -> f64 {
        self.diag[j].diagonal(c)
    }

    /// Rows 0..p of the tail's off-diagonal block against random block j: in the selected
    /// inverse, the covariance block Σ_{X,u_j} (p x q_j); in the cross-products, X'Z_j.
    pub(crate) fn tail_cross(&self, j: usize) -> DMatrix<f64> {
        let k = self.k();
        let p = self.q[k] - 1;
        match &self.off[k][j] {
            OffBlock::Dense(m) => m.rows(0, p).into_owned(),
            OffBlock::Sparse(s) => {
                let mut m = DMatrix::zeros(p, s.ncols());
                for c in 0..s.ncols() {
                    let (rows, vals) = s.col(c);
                    for (&r, &v) in rows.iter().zip(vals) {
                        if (r as usize) < p {
                            m[(r as usize, c)] = v;
                        }
                    }
                }
                m
            }
        }
    }

    /// Offsets of the random blocks in the dense layout [u_1 .. u_K, X], and the total size
    /// (y left out).
    pub(crate) fn offsets(&self) -> (Vec<usize>, usize) {
        let k = self.k();
        let mut offsets = Vec::with_capacity(k + 1);
        let mut at = 0;
        for j in 0..=k {
            offsets.push(at);
            at += self.q[j];
        }
        (offsets, at - 1)
    }

    /// The whole symmetric matrix without the y row and column, dense ((q + p) square):
    /// for the cross-products `a`, [Z X]'[Z X]. Both triangles are filled.
    pub(crate) fn dense_symmetric(&self) -> DMatrix<f64> {
        let k = self.k();
        let (off, size) = self.offsets();
        let mut m = DMatrix::zeros(size, size);
        for j in 0..=k {
            let qj = if j == k { self.q[k] - 1 } else { self.q[j] };
            for c in 0..qj {
                for r in 0..qj {
                    let v = match &self.diag[j] {
                        DiagBlock::Diag(d) => {
                            if r == c {
                                d[r]
                            } else {
                                0.0
                            }
                        }
                        // Lower triangle holds the values.
                        DiagBlock::Dense(t) => t[(r.max(c), r.min(c))],
                    };
                    m[(off[j] + r, off[j] + c)] = v;
                }
            }
            for i in j + 1..=k {
                let qi = if i == k { self.q[k] - 1 } else { self.q[i] };
                for c in 0..qj {
                    self.off[i][j].col(c).for_each(|r, v| {
                        if r < qi {
                            m[(off[i] + r, off[j] + c)] = v;
                            m[(off[j] + c, off[i] + r)] = v;
                        }
                    });
                }
            }
        }
        m
    }

    /// The random-effects part of a factor (L_Z, lower triangular, q x q), dense.
    pub(crate) fn dense_lower_z(&self) -> DMatrix<f64> {
        let k = self.k();
        let (off, _) = self.offsets();
        let q = off[k];
        let mut m = DMatrix::zeros(q, q);
        for j in 0..k {
            match &self.diag[j] {
                DiagBlock::Diag(d) => {
                    for (c, &v) in d.iter().enumerate() {
                        m[(off[j] + c, off[j] + c)] = v;
                    }
                }
                DiagBlock::Dense(t) => {
                    for c in 0..self.q[j] {
                        for r in c..self.q[j] {
                            m[(off[j] + r, off[j] + c)] = t[(r, c)];
                        }
                    }
                }
            }
            for i in j + 1..k {
                for c in 0..self.q[j] {
                    self.off[i][j]
                        .col(c)
                        .for_each(|r, v| m[(off[i] + r, off[j] + c)] = v);
                }
            }
        }
        m
    }

    /// The dense tail block (for the selected inverse: the covariance of the BLUEs, scaled).
    pub(crate) fn tail(&self) -> Option<&DMatrix<f64>> {
        match self.diag.last() {
            Some(DiagBlock::Dense(t)) => Some(t),
            _ => None,
        }
    }
}

/// Sum of the logarithms of positive values, with one `ln` per 8 values: the product is
/// accumulated and its binary exponent taken out (exactly) every 8 factors. Falls back to
/// summing logarithms when a value is not a positive normal number.
fn sum_ln(values: impl Iterator<Item = f64>) -> f64 {
    const EXP_MASK: u64 = 0x7ff << 52;
    let mut exponent: i64 = 0;
    let mut prod = 1.0f64;
    let mut count = 0;
    let mut fallback = 0.0;
    for v in values {
        if !(v.is_normal() && (1e-30..=1e30).contains(&v)) {
            fallback += v.ln();
            continue;
        }
        prod *= v;
        count += 1;
        if count == 8 {
            let bits = prod.to_bits();
            exponent += ((bits & EXP_MASK) >> 52) as i64 - 1023;
            prod = f64::from_bits((bits & !EXP_MASK) | (1023u64 << 52));
            count = 0;
        }
    }
    fallback + prod.ln() + exponent as f64 * std::f64::consts::LN_2
}

/// Inverse of a lower-triangular matrix, column by column: forward substitution of e_c with
/// the columns of L as contiguous slices (vectorised axpy).
fn lower_inverse(l: &DMatrix<f64>) -> DMatrix<f64> {
    let m = l.nrows();
    let mut w = DMatrix::zeros(m, m);
    let ls = l.as_slice();
    let ws = w.as_mut_slice();
    for c in 0..m {
        let col = &mut ws[c * m..(c + 1) * m];
        col[c] = 1.0;
        for t in c..m {
            let lcol = &ls[t * m..(t + 1) * m];
            let wt = col[t] / lcol[t];
            col[t] = wt;
            if wt != 0.0 {
                for (x, &lv) in col[t + 1..].iter_mut().zip(&lcol[t + 1..]) {
                    *x -= wt * lv;
                }
            }
        }
    }
    w
}

/// X with X L = B (L lower triangular).
fn right_solve_lower(b: &DMatrix<f64>, l: &DMatrix<f64>) -> DMatrix<f64> {
    let m = l.nrows();
    let nr = b.nrows();
    let mut x = b.clone();
    let xs = x.as_mut_slice();
    for c in (0..m).rev() {
        let (head, rest) = xs.split_at_mut((c + 1) * nr);
        let col = &mut head[c * nr..];
        for c2 in c + 1..m {
            let f = l[(c2, c)];
            if f != 0.0 {
                let other = &rest[(c2 - c - 1) * nr..(c2 - c) * nr];
                for (x, &o) in col.iter_mut().zip(other) {
                    *x -= o * f;
                }
            }
        }
        let d = l[(c, c)];
        for x in col.iter_mut() {
            *x /= d;
        }
    }
    x
}

/// target -= src src' (lower triangle for dense targets).
fn rank_update(target: &mut DiagBlock, src: &OffBlock) {
    match target {
        DiagBlock::Diag(d) => match src {
            OffBlock::Sparse(s) if s.unit => {
                for (&r, &v) in s.rowval.iter().zip(&s.nzval) {
                    d[r as usize] -= v * v;
                }
            }
            _ => {
                for c in 0..src.ncols() {
                    src.col(c).for_each(|r, v| d[r] -= v * v);
                }
            }
        },
        DiagBlock::Dense(t) => {
            let m = t.nrows();
            if let OffBlock::Dense(s) = src
                && m >= 32
                && s.ncols() >= 32
            {
                t.gemm(-1.0, s, &s.transpose(), 1.0);
                return;
            }
            let ts = t.as_mut_slice();
            if let OffBlock::Sparse(s) = src
                && s.unit
            {
                for (&r, &v) in s.rowval.iter().zip(&s.nzval) {
                    ts[r as usize * (m + 1)] -= v * v;
                }
                return;
            }
            if let OffBlock::Dense(s) = src
                && m <= 4
            {
                // Few rows (the tail block of a model with few fixed effects): accumulate
                // the lower triangle over the columns in registers.
                let mut acc = [[0.0f64; 4]; 4];
                for col in s.as_slice().chunks_exact(m.max(1)) {
                    for a in 0..m {
                        for b in 0..=a {
                            acc[a][b] += col[a] * col[b];
                        }
                    }
                }
                for a in 0..m {
                    for b in 0..=a {
                        ts[b * m + a] -= acc[a][b];
                    }
                }
                return;
            }
            for c in 0..src.ncols() {
                match src.col(c) {
                    ColView::Sparse(rows, vals) => {
                        for (a, (&ra, &va)) in rows.iter().zip(vals).enumerate() {
                            if va == 0.0 {
                                continue;
                            }
                            for (&rb, &vb) in rows[..=a].iter().zip(&vals[..=a]) {
                                ts[rb as usize * m + ra as usize] -= va * vb;
                            }
                        }
                    }
                    ColView::Dense(col) => {
                        for (b, &vb) in col.iter().enumerate() {
                            if vb == 0.0 {
                                continue;
                            }
                            let tcol = &mut ts[b * m..(b + 1) * m];
                            for a in b..m {
                                tcol[a] -= col[a] * vb;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// target -= a b' (a: block (i, k), b: block (j, k), target: block (i, j)).
fn off_update(target: &mut OffBlock, a: &OffBlock, b: &OffBlock) {
    // Nested terms: b has one entry per column.
    if let OffBlock::Sparse(bs) = b
        && bs.unit
    {
        match (target, a) {
            (OffBlock::Dense(t), OffBlock::Dense(am)) => {
                let m = t.nrows();
                let ts = t.as_mut_slice();
                for ((&s, &vs), acol) in bs
                    .rowval
                    .iter()
                    .zip(&bs.nzval)
                    .zip(am.as_slice().chunks_exact(m.max(1)))
                {
                    let s = s as usize;
                    for (x, &va) in ts[s * m..(s + 1) * m].iter_mut().zip(acol) {
                        *x -= va * vs;
                    }
                }
            }
            (OffBlock::Dense(t), OffBlock::Sparse(asp)) if asp.unit => {
                let m = t.nrows();
                let ts = t.as_mut_slice();
                for (((&s, &vs), &r), &va) in bs
                    .rowval
                    .iter()
                    .zip(&bs.nzval)
                    .zip(&asp.rowval)
                    .zip(&asp.nzval)
                {
                    ts[s as usize * m + r as usize] -= va * vs;
                }
            }
            (OffBlock::Sparse(t), OffBlock::Sparse(asp)) if asp.unit => {
                for (((&s, &vs), &r), &va) in bs
                    .rowval
                    .iter()
                    .zip(&bs.nzval)
                    .zip(&asp.rowval)
                    .zip(&asp.nzval)
                {
                    if let Some(pos) = t.find(r, s as usize) {
                        t.nzval[pos] -= va * vs;
                    }
                }
            }
            (target, a) => off_update_general(target, a, b),
        }
        return;
    }
    off_update_general(target, a, b);
}

fn off_update_general(target: &mut OffBlock, a: &OffBlock, b: &OffBlock) {
    match target {
        OffBlock::Sparse(t) => {
            for c in 0..a.ncols() {
                let ca = a.col(c);
                b.col(c).for_each(|s, vs| {
                    if vs == 0.0 {
                        return;
                    }
                    ca.for_each(|r, vr| {
                        if let Some(pos) = t.find(r as u32, s) {
                            t.nzval[pos] -= vr * vs;
                        }
                    });
                });
            }
        }
        OffBlock::Dense(t) => {
            if let (OffBlock::Dense(am), OffBlock::Dense(bm)) = (a, b)
                && t.nrows() >= 16
                && t.ncols() >= 16
                && am.ncols() >= 16
            {
                t.gemm(-1.0, am, &bm.transpose(), 1.0);
                return;
            }
            let m = t.nrows();
            let ts = t.as_mut_slice();
            for c in 0..a.ncols() {
                let ca = a.col(c);
                b.col(c).for_each(|s, vs| {
                    if vs == 0.0 {
                        return;
                    }
                    let tcol = &mut ts[s * m..(s + 1) * m];
                    ca.for_each(|r, vr| tcol[r] -= vr * vs);
                });
            }
        }
    }
}

/// target := target L^{-T}.
fn rdiv(target: &mut OffBlock, l: &DiagBlock) {
    match (target, l) {
        (OffBlock::Sparse(t), DiagBlock::Diag(d)) if t.unit => {
            for (v, &dc) in t.nzval.iter_mut().zip(d) {
                *v /= dc;
            }
        }
        (OffBlock::Sparse(t), DiagBlock::Diag(d)) => {
            for (c, &dc) in d.iter().enumerate() {
                let inv = 1.0 / dc;
                for v in &mut t.nzval[t.colptr[c]..t.colptr[c + 1]] {
                    *v *= inv;
                }
            }
        }
        (OffBlock::Dense(t), DiagBlock::Diag(d)) => {
            let m = t.nrows();
            for (col, &dc) in t.as_mut_slice().chunks_exact_mut(m.max(1)).zip(d) {
                let inv = 1.0 / dc;
                for v in col {
                    *v *= inv;
                }
            }
        }
        (OffBlock::Dense(t), DiagBlock::Dense(l)) => {
            // X L' = T, column by column: X[:, c] = (T[:, c] - sum_{c' < c} X[:, c'] L[c, c']) / L[c, c].
            let m = t.nrows();
            let q = l.nrows();
            let ts = t.as_mut_slice();
            for c in 0..q {
                let (done, rest) = ts.split_at_mut(c * m);
                let col = &mut rest[..m];
                for c2 in 0..c {
                    let f = l[(c, c2)];
                    if f != 0.0 {
                        let prev = &done[c2 * m..(c2 + 1) * m];
                        for (x, &pv) in col.iter_mut().zip(prev) {
                            *x -= pv * f;
                        }
                    }
                }
                let dc = l[(c, c)];
                for x in col.iter_mut() {
                    *x /= dc;
                }
            }
        }
        // Excluded by the symbolic phase: a dense diagonal block makes every block below it
        // dense.
        (OffBlock::Sparse(_), DiagBlock::Dense(_)) => {}
    }
}

/// In-place Cholesky of a diagonal block; Err(pivot) on a non-positive pivot.
fn chol(block: &mut DiagBlock) -> Result<(), usize> {
    match block {
        DiagBlock::Diag(d) => {
            for v in d.iter_mut() {
                *v = v.sqrt();
            }
            // sqrt of a negative number is NaN, which fails this test too.
            match d.iter().position(|v| v.is_nan() || *v <= 0.0) {
                Some(i) => Err(i),
                None => Ok(()),
            }
        }
        DiagBlock::Dense(t) => {
            let m = t.nrows();
            let ts = t.as_mut_slice();
            for j in 0..m {
                let (done, rest) = ts.split_at_mut(j * m);
                let col = &mut rest[..m];
                for kk in 0..j {
                    let prev = &done[kk * m..(kk + 1) * m];
                    let f = prev[j];
                    if f != 0.0 {
                        for i in j..m {
                            col[i] -= prev[i] * f;
                        }
                    }
                }
                let d = col[j];
                if d.is_nan() || d <= 0.0 || !d.is_finite() {
                    return Err(j);
                }
                let d = d.sqrt();
                col[j] = d;
                for v in &mut col[j + 1..] {
                    *v /= d;
                }
            }
            Ok(())
        }
    }
}
