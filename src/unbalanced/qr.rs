//! Householder QR that keeps the column order and leaves out columns that depend on earlier
//! ones: the factorisation behind sequential (Type I) sums of squares, as R's `lm` computes
//! them (LINPACK `dqrdc2`, "limited pivoting": a column whose part orthogonal to the kept
//! columns is below `DEPENDENT` times its own norm is set aside).
//!
//! After [`SequentialQr::new`] every column holds `Q' x_j` (for a kept column, its column of
//! R; for a dependent one, its coordinates on the kept columns and a negligible rest), and
//! the reflectors give `Q` and `Q'` on any vector.

/// A column whose remainder, after projecting out the kept columns before it, is below this
/// fraction of its norm is dependent (R's `lm`: `tol = 1e-07`).
pub(crate) const DEPENDENT: f64 = 1e-7;

/// One Householder reflector `I - beta v v'`, acting on rows `row..`.
#[derive(Debug, Clone)]
struct Reflector {
    row: usize,
    beta: f64,
    /// `v` on rows `row..` (`v[0]` is row `row`).
    v: Vec<f64>,
}

impl Reflector {
    /// `x <- (I - beta v v') x` on rows `row..`.
    #[inline]
    fn apply(&self, x: &mut [f64]) {
        let tail = &mut x[self.row..];
        let s = dot(&self.v, tail);
        if s == 0.0 {
            return;
        }
        let f = self.beta * s;
        for (t, v) in tail.iter_mut().zip(&self.v) {
            *t -= f * v;
        }
    }
}

/// Columns per panel of the blocked factorisation.
const PANEL: usize = 32;

/// The reflector that zeroes `col[k + 1..]` (and sets `col[k..]` to R's entries), or `None`
/// when the column's part below row `k` is negligible: it depends on the kept columns.
fn reflect(col: &mut [f64], k: usize, m: usize) -> Option<Reflector> {
    if k >= m {
        return None;
    }
    // Orthogonal reflections keep the column's length: this is its original norm.
    let full = dot(col, col).sqrt();
    let tail_norm = dot(&col[k..], &col[k..]).sqrt();
    if full == 0.0 || tail_norm <= DEPENDENT * full {
        return None;
    }
    let x0 = col[k];
    let alpha = if x0 >= 0.0 { -tail_norm } else { tail_norm };
    let mut v: Vec<f64> = col[k..].to_vec();
    v[0] -= alpha;
    // v'v = 2 |alpha| (|alpha| + |x0|)
    let vtv = 2.0 * tail_norm * (tail_norm + x0.abs());
    col[k] = alpha;
    for t in col[k + 1..].iter_mut() {
        *t = 0.0;
    }
    Some(Reflector {
        row: k,
        beta: 2.0 / vtv,
        v,
    })
}

/// `a · b` with eight independent partial sums: a single running sum is one dependent
/// addition after another, which the compiler may not reorder into vector lanes.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((s, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
            *s += xi * yi;
        }
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f64>() + tail
}

/// The factorisation `X = Q R` of an `m × p` matrix, column by column in the given order.
#[derive(Debug, Clone)]
pub(crate) struct SequentialQr {
    m: usize,
    /// Column-major `m × p`: `Q' x_j` for every column `j`.
    transformed: Vec<f64>,
    reflectors: Vec<Reflector>,
    /// For each column, its position among the kept columns (`None`: dependent).
    position: Vec<Option<usize>>,
    /// The original index of each kept column, in order.
    kept: Vec<usize>,
}

impl SequentialQr {
    /// Factorises the column-major `m × p` matrix `x`.
    pub(crate) fn new(x: Vec<f64>, m: usize, p: usize) -> SequentialQr {
        debug_assert_eq!(x.len(), m * p);
        let mut a = x;
        let mut reflectors: Vec<Reflector> = Vec::with_capacity(p.min(m));
        let mut position = vec![None; p];
        // Which reflectors each dependent column still has to meet.
        let mut pending: Vec<(usize, usize)> = Vec::new();
        // Panels of PANEL columns: within a panel each column first meets the panel's
        // reflectors so far; then the panel's reflectors update the later columns a tile of
        // PANEL columns at a time (the tile and the reflectors stay in cache).
        let mut j0 = 0;
        while j0 < p {
            let j1 = (j0 + PANEL).min(p);
            let first = reflectors.len();
            for j in j0..j1 {
                let col = &mut a[j * m..(j + 1) * m];
                for r in &reflectors[first..] {
                    r.apply(col);
                }
                let k = reflectors.len();
                match reflect(col, k, m) {
                    Some(r) => {
                        reflectors.push(r);
                        position[j] = Some(k);
                    }
                    None => pending.push((j, k)),
                }
            }
            let panel = &reflectors[first..];
            if !panel.is_empty() {
                for tile in a[j1 * m..].chunks_mut(PANEL * m) {
                    for r in panel {
                        for col in tile.chunks_exact_mut(m) {
                            r.apply(col);
                        }
                    }
                }
            }
            j0 = j1;
        }
        // Dependent columns meet the reflectors made after them.
        for (j, k) in pending {
            let col = &mut a[j * m..(j + 1) * m];
            for r in &reflectors[k..] {
                r.apply(col);
            }
        }
        let kept = (0..p).filter(|&j| position[j].is_some()).collect();
        SequentialQr {
            m,
            transformed: a,
            reflectors,
            position,
            kept,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.m
    }

    /// Number of kept (independent) columns.
    pub(crate) fn rank(&self) -> usize {
        self.reflectors.len()
    }

    /// Position of column `j` among the kept columns, `None` when it depends on earlier ones.
    pub(crate) fn position(&self, j: usize) -> Option<usize> {
        self.position[j]
    }

    /// `Q' x_j`: column `j` in the coordinates of `Q`.
    pub(crate) fn transformed_column(&self, j: usize) -> &[f64] {
        &self.transformed[j * self.m..(j + 1) * self.m]
    }

    /// `R[i][k]` for kept positions `i <= k` (the triangular factor of the kept columns).
    pub(crate) fn r(&self, i: usize, k: usize) -> f64 {
        // The k-th kept column.
        let j = self.kept_column(k);
        self.transformed[j * self.m + i]
    }

    /// The original index of the `k`-th kept column.
    pub(crate) fn kept_column(&self, k: usize) -> usize {
        self.kept[k]
    }

    /// `x <- Q' x`.
    pub(crate) fn apply_qt(&self, x: &mut [f64]) {
        for r in &self.reflectors {
            r.apply(x);
        }
    }

    /// `x_i <- Q x_i` for every `m`-vector of the column-major block `xs`, one reflector at
    /// a time over all vectors (each reflector is read once).
    pub(crate) fn apply_q_block(&self, xs: &mut [f64]) {
        for r in self.reflectors.iter().rev() {
            for x in xs.chunks_exact_mut(self.m) {
                r.apply(x);
            }
        }
    }

    /// Column `l` of `Q` (an `m`-vector).
    pub(crate) fn q_column(&self, l: usize) -> Vec<f64> {
        let mut x = vec![0.0; self.m];
        x[l] = 1.0;
        // Reflectors after row l leave e_l alone.
        let last = self.reflectors.len().min(l + 1);
        for r in self.reflectors[..last].iter().rev() {
            r.apply(&mut x);
        }
        x
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn matmul_qr(qr: &SequentialQr, j: usize) -> Vec<f64> {
        // Q (Q' x_j) reproduces x_j.
        let mut x = qr.transformed_column(j).to_vec();
        qr.apply_q_block(&mut x);
        x
    }

    #[test]
    fn reproduces_columns_and_sets_dependent_ones_aside() {
        // Columns: 1, t, 2t + 1 (dependent), t².
        let t = [0.0, 1.0, 2.0, 3.0, 4.0];
        let mut x = Vec::new();
        x.extend(t.iter().map(|_| 1.0));
        x.extend(t.iter().copied());
        x.extend(t.iter().map(|v| 2.0 * v + 1.0));
        x.extend(t.iter().map(|v| v * v));
        let qr = SequentialQr::new(x.clone(), 5, 4);
        assert_eq!(qr.rank(), 3);
        assert_eq!(qr.position(2), None);
        assert_eq!(qr.position(3), Some(2));
        for j in 0..4 {
            let back = matmul_qr(&qr, j);
            for (a, b) in back.iter().zip(&x[j * 5..(j + 1) * 5]) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
        // Q is orthogonal: its columns have unit length and are orthogonal.
        let q0 = qr.q_column(0);
        let q4 = qr.q_column(4);
        let dot: f64 = q0.iter().zip(&q4).map(|(a, b)| a * b).sum();
        let n4: f64 = q4.iter().map(|a| a * a).sum();
        assert!(dot.abs() < 1e-14 && (n4 - 1.0).abs() < 1e-14);
        // The dependent column lies in the span of the first two: no part beyond row 2.
        assert!(
            qr.transformed_column(2)[2..]
                .iter()
                .all(|v| v.abs() < 1e-12)
        );
    }
}
