//! The Hessian of the (REML or ML) deviance at the optimum in (theta_k of the components
//! inside the parameter space, s = sigma^2), from the analytic gradient: shared by the
//! standard errors of the components (observed information) and by Satterthwaite's df.
//!
//! The profiled criterion's Hessian in theta comes from central differences of its analytic
//! gradient (whose rounding error is far below that of second differences of values); the
//! terms that profiling sigma^2 out removed are exact: with r the penalised RSS,
//! r'_k = -2 |u_k|^2 / theta_k, d = n - p (REML) or n (ML) and s = r / d,
//! H_theta,theta = H_profiled + d r' r'^T / r^2, H_theta,s = -r' / s^2, H_s,s = d / s^2
//! (differentiate D(theta, s) = logdet(theta) + d log(2 pi s) + r(theta) / s and compare with
//! the profiled D(theta) = logdet(theta) + d (1 + log(2 pi r / d))).

use nalgebra::{DMatrix, DVector};

use super::tolerances::HESSIAN_FD_REL;
use super::{Cancel, Criterion};

/// The Hessian of the deviance in phi = (theta_k for k in `interior`, s).
#[derive(Debug, Clone)]
pub(crate) struct DevianceHessian {
    /// Components (criterion order) whose theta is in phi.
    pub interior: Vec<usize>,
    /// phi at the optimum.
    pub phi: Vec<f64>,
    /// (m + 1) x (m + 1).
    pub h: DMatrix<f64>,
}

/// Why the Hessian could not be formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HessianError {
    Cancelled,
    NotFinite,
}

impl DevianceHessian {
    /// From the profiled criterion's Hessian over the interior components (the optimiser's
    /// verification computed it at theta with the same differences).
    pub(crate) fn from_profiled(
        crit: &mut Criterion,
        theta: &[f64],
        interior: &[usize],
        hp: DMatrix<f64>,
    ) -> Result<DevianceHessian, HessianError> {
        Self::complete(crit, theta, interior, hp)
    }

    /// At theta (criterion order) over the given interior components.
    pub(crate) fn at(
        crit: &mut Criterion,
        theta: &[f64],
        interior: &[usize],
        cancel: Cancel<'_>,
    ) -> Result<DevianceHessian, HessianError> {
        let m = interior.len();
        let mut hp = DMatrix::zeros(m, m);
        let mut x = theta.to_vec();
        for (ia, &a) in interior.iter().enumerate() {
            let h = HESSIAN_FD_REL * theta[a];
            x[a] = theta[a] + h;
            let up = crit.value_and_gradient(&x).ok_or(HessianError::NotFinite)?;
            x[a] = theta[a] - h;
            let down = crit.value_and_gradient(&x).ok_or(HessianError::NotFinite)?;
            x[a] = theta[a];
            if cancel.is_set() {
                return Err(HessianError::Cancelled);
            }
            for (ib, &b) in interior.iter().enumerate() {
                hp[(ib, ia)] = (up.gradient[b] - down.gradient[b]) / (2.0 * h);
            }
        }
        let hp = (&hp + hp.transpose()) * 0.5;
        Self::complete(crit, theta, interior, hp)
    }

    /// The Hessian in (theta, s) from the profiled one: the terms profiling removed.
    fn complete(
        crit: &mut Criterion,
        theta: &[f64],
        interior: &[usize],
        hp: DMatrix<f64>,
    ) -> Result<DevianceHessian, HessianError> {
        let m = interior.len();
        if hp.nrows() != m {
            return Err(HessianError::NotFinite);
        }
        // The factorisation at the optimum, for the pieces below and the callers that follow.
        let pc = crit.pieces(theta).ok_or(HessianError::NotFinite)?;
        let (u, _) = crit.l.solve();
        let r = pc.pwrss;
        let d = crit.residual_df();
        let s = r / d;
        let rp = DVector::from_iterator(
            m,
            interior.iter().map(|&k| {
                let uu: f64 = u[k].iter().map(|v| v * v).sum();
                -2.0 * uu / theta[k]
            }),
        );
        let mut h = DMatrix::zeros(m + 1, m + 1);
        h.view_mut((0, 0), (m, m))
            .copy_from(&(&hp + &rp * rp.transpose() * (d / (r * r))));
        for i in 0..m {
            h[(i, m)] = -rp[i] / (s * s);
            h[(m, i)] = h[(i, m)];
        }
        h[(m, m)] = d / (s * s);
        if !h.iter().all(|v| v.is_finite()) {
            return Err(HessianError::NotFinite);
        }
        Ok(DevianceHessian {
            interior: interior.to_vec(),
            phi: interior.iter().map(|&k| theta[k]).chain([s]).collect(),
            h,
        })
    }

    /// The covariance of eta = (log sigma_k^2 = log(theta_k^2 s) for the interior
    /// components, log s): twice the inverse of the Hessian in eta, J'HJ with J = d phi /
    /// d eta (the Hessian transforms so at a stationary point); None when not positive
    /// definite.
    pub(crate) fn log_variance_covariance(&self) -> Option<DMatrix<f64>> {
        let m = self.interior.len();
        let s = self.phi[m];
        let mut j = DMatrix::zeros(m + 1, m + 1);
        for i in 0..m {
            j[(i, i)] = self.phi[i] / 2.0;
            j[(i, m)] = -self.phi[i] / 2.0;
        }
        j[(m, m)] = s;
        let he = j.transpose() * &self.h * &j;
        let he = (&he + he.transpose()) * 0.5;
        he.cholesky().map(|c| c.inverse() * 2.0)
    }
}
