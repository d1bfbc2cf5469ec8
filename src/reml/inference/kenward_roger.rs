//! Kenward-Roger: the adjusted covariance of the fixed effects and the scaled F test with its
//! denominator df, as pbkrtest 0.5.2 computes them (`vcovAdj`, `.KR_adjust`, `Lb_ddf`), from
//! the random-effects structure instead of n x n matrices.
//!
//! pbkrtest writes V = Σ_i γ_i G_i (γ the variance components, G_k = Z_k Z_k', the residual's
//! G = I) and needs, with Φ = Cov(beta):
//! P_i = -X'V^{-1}G_iV^{-1}X, Q_ij = X'V^{-1}G_iV^{-1}G_jV^{-1}X, tr(G_iV^{-1}G_jV^{-1}),
//! the expected information IE2_ij = tr(V^{-1}G_iV^{-1}G_j) - 2 tr(Φ Q_ij) + tr(Φ P_i Φ P_j)
//! (twice the REML expected information), W = 2 IE2^{-1} and
//! Φ_A = Φ + 2 Φ [Σ_ij W_ij (Q_ij - P_i Φ P_j)] Φ.
//!
//! Here everything comes from Ω = [Z X]'V~^{-1}[Z X] (V~ = V / sigma^2), by Woodbury:
//! Ω = C - B'B with C = [Z X]'[Z X] and B = L_Z^{-1} Λ C_{Z,.} (L_Z the random-effects block
//! of the factor of the mixed-model equations), (q + p) square. With M = Z'V^{-1}Z,
//! N = Z'V^{-1}X and S = X'V^{-1}X (blocks of Ω / sigma^2), P_a = -N_a'N_a,
//! Q_ab = N_a' M_ab N_b, tr(G_aV^{-1}G_bV^{-1}) = |M_ab|_F^2 for random terms a, b, and the
//! residual's terms follow from V^{-2} = (V^{-1} - Σ_k γ_k V^{-1}G_kV^{-1}) / sigma^2 (which
//! is V^{-1} V V^{-1} = V^{-1}): P_0 = -(S + Σ_k γ_k P_k) / sigma^2,
//! Z_a'V^{-2}X = (N_a - Σ_k γ_k M_ak N_k) / sigma^2, X'V^{-3}X = (-P_0 - Σ_k γ_k Q_k0) / sigma^2,
//! tr(G_aV^{-2}) = (tr M_aa - Σ_k γ_k |M_ak|^2) / sigma^2, tr V^{-1} = (n - Σ_k γ_k tr M_kk) /
//! sigma^2 and tr V^{-2} = (tr V^{-1} - Σ_k γ_k tr(G_kV^{-2})) / sigma^2. Components on the
//! boundary (γ_k = 0) stay in the list, as in pbkrtest.

use nalgebra::{DMatrix, DVector};

use super::InferenceError;
use super::linalg::trace_product;
use crate::reml::Criterion;
use crate::reml::tolerances::KR_MAX_DIMENSION;

/// The Kenward-Roger pieces of one fit.
#[derive(Debug, Clone)]
pub(crate) struct KenwardRoger {
    /// Φ, the unadjusted covariance of the fixed effects.
    pub phi: DMatrix<f64>,
    /// Φ_A, the adjusted covariance.
    pub phi_adjusted: DMatrix<f64>,
    /// P_i, one per variance parameter (random terms, then the residual).
    pub p: Vec<DMatrix<f64>>,
    /// W = 2 IE2^{-1}.
    pub w: DMatrix<f64>,
}

/// The blocks of V^{-1} between the random terms and X.
struct Blocks {
    /// M_ab = Z_a'V^{-1}Z_b.
    m: Vec<Vec<DMatrix<f64>>>,
    /// N_a = Z_a'V^{-1}X.
    n: Vec<DMatrix<f64>>,
    /// S = X'V^{-1}X.
    s: DMatrix<f64>,
}

fn blocks(crit: &mut Criterion, theta: &[f64], sigma2: f64) -> Result<Blocks, InferenceError> {
    let k = crit.terms.len();
    let (off, size) = crit.a.offsets();
    if size > KR_MAX_DIMENSION {
        return Err(InferenceError::TooLarge {
            what: super::Size::KenwardRoger,
            size,
            limit: KR_MAX_DIMENSION,
        });
    }
    crit.pieces(theta).ok_or(InferenceError::NotFinite)?;
    let q = off[k];
    let c = crit.a.dense_symmetric();
    let lz = crit.l.dense_lower_z();
    let mut b0 = c.rows(0, q).into_owned();
    for j in 0..k {
        b0.rows_mut(off[j], crit.a.q[j]).scale_mut(theta[j]);
    }
    let b = lz
        .solve_lower_triangular(&b0)
        .ok_or(InferenceError::NotFinite)?;
    let mut omega = c;
    omega.gemm_tr(-1.0, &b, &b, 1.0);
    omega /= sigma2;
    let qs: Vec<usize> = (0..k).map(|j| crit.a.q[j]).collect();
    let p = size - q;
    let m = (0..k)
        .map(|a| {
            (0..k)
                .map(|bb| omega.view((off[a], off[bb]), (qs[a], qs[bb])).into_owned())
                .collect()
        })
        .collect();
    let n = (0..k)
        .map(|a| omega.view((off[a], q), (qs[a], p)).into_owned())
        .collect();
    let s = omega.view((q, q), (p, p)).into_owned();
    Ok(Blocks { m, n, s })
}

/// pbkrtest's `vcovAdj` at the fit: theta (criterion order), sigma^2, n observations, and
/// Φ = Cov(beta).
pub(crate) fn compute(
    crit: &mut Criterion,
    theta: &[f64],
    sigma2: f64,
    phi: &DMatrix<f64>,
) -> Result<KenwardRoger, InferenceError> {
    let k = crit.terms.len();
    let nobs = crit.n as f64;
    let bl = blocks(crit, theta, sigma2)?;
    let gamma: Vec<f64> = theta.iter().map(|t| t * t * sigma2).collect();
    let np = k + 1;
    // P_i.
    let mut pl: Vec<DMatrix<f64>> = bl.n.iter().map(|na| -(na.transpose() * na)).collect();
    let mut p0 = bl.s.clone();
    for a in 0..k {
        p0 += &pl[a] * gamma[a];
    }
    pl.push(-p0 / sigma2);
    // Z_a'V^{-2}X.
    let r: Vec<DMatrix<f64>> = (0..k)
        .map(|a| {
            let mut v = bl.n[a].clone();
            for (kk, g) in gamma.iter().enumerate() {
                v -= &bl.m[a][kk] * &bl.n[kk] * *g;
            }
            v / sigma2
        })
        .collect();
    // Q_ij.
    let mut qm: Vec<Vec<DMatrix<f64>>> = vec![vec![DMatrix::zeros(0, 0); np]; np];
    for a in 0..k {
        for (b, nb) in bl.n.iter().enumerate() {
            qm[a][b] = bl.n[a].transpose() * &bl.m[a][b] * nb;
        }
        qm[a][k] = bl.n[a].transpose() * &r[a];
        qm[k][a] = qm[a][k].transpose();
    }
    let mut q00 = -&pl[k];
    for kk in 0..k {
        q00 -= &qm[kk][k] * gamma[kk];
    }
    qm[k][k] = q00 / sigma2;
    // tr(G_i V^{-1} G_j V^{-1}).
    let mut kt = DMatrix::zeros(np, np);
    for a in 0..k {
        for b in 0..k {
            kt[(a, b)] = bl.m[a][b].norm_squared();
        }
    }
    let tr_vinv = (nobs
        - (0..k)
            .map(|kk| gamma[kk] * bl.m[kk][kk].trace())
            .sum::<f64>())
        / sigma2;
    for a in 0..k {
        let v =
            (bl.m[a][a].trace() - (0..k).map(|kk| gamma[kk] * kt[(a, kk)]).sum::<f64>()) / sigma2;
        kt[(a, k)] = v;
        kt[(k, a)] = v;
    }
    kt[(k, k)] = (tr_vinv - (0..k).map(|kk| gamma[kk] * kt[(kk, k)]).sum::<f64>()) / sigma2;
    // Expected information (times 2) and W.
    let phi_p: Vec<DMatrix<f64>> = pl.iter().map(|pi| phi * pi).collect();
    let mut ie2 = DMatrix::zeros(np, np);
    for i in 0..np {
        for j in i..np {
            let v = kt[(i, j)] - 2.0 * trace_product(phi, &qm[i][j])
                + trace_product(&phi_p[i], &phi_p[j]);
            ie2[(i, j)] = v;
            ie2[(j, i)] = v;
        }
    }
    let w = w_matrix(&ie2);
    let mut u = DMatrix::zeros(phi.nrows(), phi.ncols());
    for i in 0..np {
        for j in 0..np {
            u += (&qm[i][j] - &pl[i] * phi * &pl[j]) * w[(i, j)];
        }
    }
    let phi_adjusted = phi + phi * u * phi * 2.0;
    Ok(KenwardRoger {
        phi: phi.clone(),
        phi_adjusted,
        p: pl,
        w,
    })
}

/// W = 2 IE2^{-1}, or 2 ginv(IE2) when the smallest |eigenvalue| is at most 1e-10 (pbkrtest's
/// rule; MASS::ginv drops singular values below sqrt(eps) times the largest).
fn w_matrix(ie2: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (ie2 + ie2.transpose()) * 0.5;
    let eig = sym.clone().symmetric_eigen();
    let condi = eig
        .eigenvalues
        .iter()
        .fold(f64::INFINITY, |a, v| a.min(v.abs()));
    if condi > 1e-10
        && let Some(inv) = sym.clone().try_inverse()
    {
        return inv * 2.0;
    }
    let smax = eig.eigenvalues.amax();
    let tol = f64::EPSILON.sqrt() * smax;
    let n = sym.nrows();
    let mut inv = DMatrix::zeros(n, n);
    for (i, &l) in eig.eigenvalues.iter().enumerate() {
        if l.abs() > tol {
            let v = eig.eigenvectors.column(i);
            inv += v * v.transpose() / l;
        }
    }
    inv * 2.0
}

/// pbkrtest's `.KR_adjust` / `Lb_ddf` for a contrast matrix L (rows) of rank q: the
/// denominator df and the F scaling.
pub(crate) fn adjust(kr: &KenwardRoger, l: &DMatrix<f64>, q: usize) -> Option<(f64, f64)> {
    let phi = &kr.phi;
    let lphil = l * phi * l.transpose();
    let inner = lphil.clone().try_inverse()?;
    let theta = l.transpose() * inner * l;
    let theta_phi = &theta * phi;
    let ui: Vec<DMatrix<f64>> = kr.p.iter().map(|pi| &theta_phi * pi * phi).collect();
    let np = ui.len();
    let (mut a1, mut a2) = (0.0, 0.0);
    for i in 0..np {
        for j in i..np {
            let e = if i == j { 1.0 } else { 2.0 };
            a1 += e * kr.w[(i, j)] * ui[i].trace() * ui[j].trace();
            a2 += e * kr.w[(i, j)] * trace_product(&ui[i], &ui[j]);
        }
    }
    let qf = q as f64;
    let b = (a1 + 6.0 * a2) / (2.0 * qf);
    let g = ((qf + 1.0) * a1 - (qf + 4.0) * a2) / ((qf + 2.0) * a2);
    let den = 3.0 * qf + 2.0 * (1.0 - g);
    let (c1, c2, c3) = (g / den, (qf - g) / den, (qf + 2.0 - g) / den);
    let mut v0 = 1.0 + c1 * b;
    let v1 = 1.0 - c2 * b;
    let v2 = 1.0 - c3 * b;
    if v0.abs() < 1e-10 {
        v0 = 0.0;
    }
    let x = 1.0 - a2 / qf;
    let ratio = if x.abs() < 1e-14 && v1.abs() < 1e-14 {
        1.0
    } else {
        x / v1
    };
    let rho = ratio * ratio * v0 / (qf * v2);
    let df2 = 4.0 + (qf + 2.0) / (qf * rho - 1.0);
    let scaling = if (df2 - 2.0).abs() < 0.01 {
        1.0
    } else {
        df2 * (1.0 - a2 / qf) / (df2 - 2.0)
    };
    Some((df2, scaling))
}

/// The Wald statistic beta'L'(L Φ_A L')^{-1} L beta.
pub(crate) fn wald(kr: &KenwardRoger, l: &DMatrix<f64>, beta: &DVector<f64>) -> Option<f64> {
    let lb = l * beta;
    let m = l * &kr.phi_adjusted * l.transpose();
    let x = m.lu().solve(&lb)?;
    Some(lb.dot(&x))
}
