//! What Satterthwaite's degrees of freedom need from the fit, as lmerTest computes them
//! (`as_lmerModLT`): the covariance of the fixed effects, its Jacobian in the variance
//! parameters, and the asymptotic covariance of those parameters, twice the inverse Hessian
//! of the REML deviance at the optimum.
//!
//! Parameters: theta_k of the components inside the parameter space, and sigma^2 (lmerTest
//! takes theta and sigma; any smooth reparametrisation gives the same degrees of freedom at
//! a stationary point, where the Hessian transforms with the Jacobian of the map). A
//! component at the boundary (theta_k = 0) is left out: the deviance is even in theta_k, so
//! its Hessian row is 0 off the diagonal, and Cov(beta) depends on theta_k^2, so its
//! Jacobian is 0 there too: lmerTest's answer is the same with or without it.
//!
//! - Cov(beta) = s Σ_XX, with s = sigma^2 and Σ the inverse of the mixed-model equations in
//!   the spherical parametrisation (the selected inverse holds Σ_XX and Σ_{X,u_k}).
//! - d Cov(beta) / d theta_k = s (2 / theta_k) Σ_{X,u_k} Σ_{u_k,X} (differentiating
//!   (X'V~^{-1}X)^{-1} and using theta_k Z_k'V~^{-1} X Σ_XX = -Σ_{u_k,X}); d / ds = Σ_XX.
//! - The Hessian of the REML deviance in (theta, s): `crate::reml::hessian` (central
//!   differences of the analytic gradient plus the exact terms profiling removed), shared
//!   with the standard errors of the components.

use nalgebra::DMatrix;

use super::InferenceError;
use super::linalg::symmetric_pinv;
use crate::reml::hessian::{DevianceHessian, HessianError};
use crate::reml::tolerances::HESSIAN_PINV_REL;
use crate::reml::{Cancel, Criterion};

/// The Satterthwaite machinery of one fit.
#[derive(Debug, Clone)]
pub(crate) struct Satterthwaite {
    /// d Cov(beta) / d phi_i for phi = (theta_k of the interior components, sigma^2).
    pub jacobian: Vec<DMatrix<f64>>,
    /// Asymptotic covariance of phi: 2 H^{-1} (Moore-Penrose over the positive curvature).
    pub cov_phi: DMatrix<f64>,
    /// Eigenvalues of the Hessian in log-parameters (scale free); all positive at a
    /// converged interior optimum.
    pub eigenvalues: Vec<f64>,
}

/// The covariance of the fixed effects at theta and the Satterthwaite machinery; the
/// deviance's Hessian is computed unless the fit already has it.
pub(crate) fn compute(
    crit: &mut Criterion,
    theta: &[f64],
    interior: &[usize],
    hessian: Option<&DevianceHessian>,
    cancel: Cancel<'_>,
) -> Result<(DMatrix<f64>, Satterthwaite), InferenceError> {
    let owned;
    let hess = match hessian {
        Some(h) if h.interior == interior => h,
        _ => {
            owned = DevianceHessian::at(crit, theta, interior, cancel).map_err(|e| match e {
                HessianError::Cancelled => InferenceError::Cancelled,
                HessianError::NotFinite => InferenceError::NotFinite,
            })?;
            &owned
        }
    };
    let pc = crit.pieces(theta).ok_or(InferenceError::NotFinite)?;
    let s = crit.sigma2(pc.pwrss);
    let p = crit.n_fixed();
    let sig = crit.l.selected_inverse(true);
    let sxx = sig
        .tail()
        .map(|t| t.view((0, 0), (p, p)).into_owned())
        .ok_or(InferenceError::NotFinite)?;
    let vcov = &sxx * s;
    let mut jacobian = Vec::with_capacity(interior.len() + 1);
    for &k in interior {
        let sx = sig.tail_cross(k);
        jacobian.push(&sx * sx.transpose() * (2.0 * s / theta[k]));
    }
    jacobian.push(sxx);
    cancel.check().map_err(|_| InferenceError::Cancelled)?;
    // In log-parameters (D H D, D = diag(phi)) the eigenvalues are scale free.
    let m = interior.len();
    let d = &hess.phi;
    let mut hs = hess.h.clone();
    for i in 0..=m {
        for j in 0..=m {
            hs[(i, j)] *= d[i] * d[j];
        }
    }
    let lmax = hs.clone().symmetric_eigen().eigenvalues.amax();
    let (inv_s, eigenvalues) = symmetric_pinv(&hs, HESSIAN_PINV_REL * lmax);
    let mut cov_phi = inv_s * 2.0;
    for i in 0..=m {
        for j in 0..=m {
            cov_phi[(i, j)] *= d[i] * d[j];
        }
    }
    Ok((
        vcov,
        Satterthwaite {
            jacobian,
            cov_phi,
            eigenvalues,
        },
    ))
}

/// lmerTest's `get_Fstat_ddf`: the denominator df of an F statistic that is the mean of q
/// squared t statistics with nu_m df each.
pub(crate) fn f_statistic_ddf(nu: &[f64]) -> f64 {
    match nu {
        [] => f64::NAN,
        [one] => *one,
        _ => {
            if nu.windows(2).all(|w| (w[1] - w[0]).abs() < 1e-8) {
                return nu.iter().sum::<f64>() / nu.len() as f64;
            }
            if nu.iter().any(|&v| v <= 2.0) {
                return 2.0;
            }
            let e: f64 = nu.iter().map(|&v| v / (v - 2.0)).sum();
            2.0 * e / (e - nu.len() as f64)
        }
    }
}
