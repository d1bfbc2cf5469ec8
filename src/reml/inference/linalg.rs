//! Small dense linear-algebra helpers of the inference (the matrices are p x p or
//! cells x columns of the fixed part, or (q + p) square for Kenward-Roger).

use nalgebra::{DMatrix, DVector};

/// The zeros of R's `zapsmall(x)` (digits = 7) on a whole matrix: entries that zapsmall
/// rounds to 0, those below half a unit of the 7th significant digit of the largest
/// (`0.5 * 10^(ceiling(log10(max |x|)) - 7)`), become exactly 0. lmerTest zaps its Type III
/// contrasts so; the other entries are left unrounded (zapsmall also rounds them to 7
/// digits, which moves F by up to ~1e-6 relative: the exact contrast is kept instead).
pub(crate) fn zapsmall(m: &mut DMatrix<f64>) {
    let mx = m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if mx.is_nan() || mx <= 0.0 || !mx.is_finite() {
        return;
    }
    let threshold = 0.5 * 10f64.powf(mx.log10().ceil() - 7.0);
    for v in m.iter_mut() {
        if v.abs() < threshold {
            *v = 0.0;
        }
    }
}

/// An orthonormal basis (columns) of the span of `a`'s columns: modified Gram-Schmidt with
/// re-orthogonalisation in column order, a column dropped when what is left of it is below
/// `tol` times its norm (R's `lm.fit` uses a pivoted QR with tolerance 1e-7 alike).
pub(crate) fn orthonormal_basis(a: &DMatrix<f64>, tol: f64) -> DMatrix<f64> {
    let (basis, _) = gram_schmidt(a, tol);
    let mut q = DMatrix::zeros(a.nrows(), basis.len());
    for (c, b) in basis.iter().enumerate() {
        q.set_column(c, b);
    }
    q
}

/// The Gram-Schmidt pass of [`orthonormal_basis`]: the basis vectors and the positions of
/// the columns that gave them (each one not spanned by those before it).
pub(crate) fn gram_schmidt(a: &DMatrix<f64>, tol: f64) -> (Vec<DVector<f64>>, Vec<usize>) {
    let mut basis: Vec<DVector<f64>> = Vec::new();
    let mut kept = Vec::new();
    for c in 0..a.ncols() {
        let mut v = a.column(c).into_owned();
        let norm0 = v.norm();
        if norm0 == 0.0 {
            continue;
        }
        for _ in 0..2 {
            for b in &basis {
                let d = b.dot(&v);
                v.axpy(-d, b, 1.0);
            }
        }
        let norm = v.norm();
        if norm > tol * norm0 {
            basis.push(v / norm);
            kept.push(c);
        }
    }
    (basis, kept)
}

/// The exact solution X of A X = B for A of full column rank whose column span holds B's
/// columns (least squares through a QR factorisation); None when A is rank deficient.
pub(crate) fn solve_in_span(a: &DMatrix<f64>, b: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let p = a.ncols();
    if p == 0 {
        return Some(DMatrix::zeros(0, b.ncols()));
    }
    if a.nrows() < p {
        return None;
    }
    let qr = a.clone().qr();
    let r = qr.r();
    let scale = (0..p).fold(0.0f64, |m, i| m.max(r[(i, i)].abs()));
    if (0..p).any(|i| r[(i, i)].is_nan() || r[(i, i)].abs() <= 1e-12 * scale) {
        return None;
    }
    let qtb = qr.q().transpose() * b;
    r.solve_upper_triangular(&qtb)
}

/// The Moore-Penrose inverse of a symmetric matrix over its eigenvalues above `tol`
/// (lmerTest's inverse of the Hessian), with the eigenvalues.
pub(crate) fn symmetric_pinv(m: &DMatrix<f64>, tol: f64) -> (DMatrix<f64>, Vec<f64>) {
    let sym = (m + m.transpose()) * 0.5;
    let n = sym.nrows();
    let eig = sym.symmetric_eigen();
    let mut inv = DMatrix::zeros(n, n);
    for (i, &l) in eig.eigenvalues.iter().enumerate() {
        if l > tol {
            let v = eig.eigenvectors.column(i);
            inv += v * v.transpose() / l;
        }
    }
    (inv, eig.eigenvalues.iter().copied().collect())
}

/// x' M x.
pub(crate) fn quad(x: &DVector<f64>, m: &DMatrix<f64>) -> f64 {
    (m * x).dot(x)
}

/// tr(A B) for square matrices of the same size (sum of A ∘ B').
pub(crate) fn trace_product(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let n = a.nrows();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += a[(i, j)] * b[(j, i)];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zapsmall_zeros_what_r_zeros() {
        // R: zapsmall(c(1, 1/3, 1e-9, -2.5e-8, 6e-8)) = 1.0000000 0.3333333 0 0 0.0000001
        let mut m = DMatrix::from_row_slice(1, 5, &[1.0, 1.0 / 3.0, 1e-9, -2.5e-8, 6e-8]);
        zapsmall(&mut m);
        assert_eq!(m[(0, 0)], 1.0);
        assert_eq!(m[(0, 1)], 1.0 / 3.0);
        assert_eq!(m[(0, 2)], 0.0);
        assert_eq!(m[(0, 3)], 0.0);
        assert_eq!(m[(0, 4)], 6e-8);
    }

    #[test]
    fn basis_drops_dependent_columns() {
        let a = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 1.0]);
        let q = orthonormal_basis(&a, 1e-7);
        assert_eq!(q.ncols(), 2);
        let i = q.transpose() * &q;
        assert!((i - DMatrix::identity(2, 2)).norm() < 1e-14);
    }

    #[test]
    fn solve_in_span_recovers_coordinates() {
        let a = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
        let b = DMatrix::from_row_slice(3, 1, &[1.0, 0.0, 1.0]); // intercept - column 2
        let x = solve_in_span(&a, &b).expect("full rank");
        assert!((x[(0, 0)] - 1.0).abs() < 1e-14 && (x[(1, 0)] + 1.0).abs() < 1e-14);
    }
}
