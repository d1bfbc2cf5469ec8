//! Tests of any estimable contrast of the fixed effects from a REML fit: t tests of one
//! contrast (lmerTest's `contest1D`) and F tests of several (`contestMD`), with
//! Satterthwaite's or Kenward-Roger's denominator df.

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use super::DdfMethod;
use super::kenward_roger::{self, KenwardRoger};
use super::linalg::quad;
use super::satterthwaite::{Satterthwaite, f_statistic_ddf};
use crate::dist::f_sf;

/// A t test of one contrast l'beta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContrastTest {
    pub estimate: f64,
    pub se: f64,
    pub df: f64,
    pub t: f64,
    /// Two-sided.
    pub p: f64,
}

/// An F test of the rows of a contrast matrix (all zero).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FTest {
    pub f: f64,
    pub df_num: u32,
    pub df_den: f64,
    pub p: f64,
}

/// Everything a test of a contrast needs: the estimates, their covariance and the pieces of
/// the df methods. Contrasts are in the order of [`crate::reml::RemlFit::fixed_effects`].
#[derive(Debug, Clone)]
pub struct ContrastEngine {
    pub(crate) beta: DVector<f64>,
    pub(crate) vcov: DMatrix<f64>,
    pub(crate) satterthwaite: Satterthwaite,
    pub(crate) kenward_roger: Option<KenwardRoger>,
}

/// Two-sided p-value of t on df: P(F(1, df) > t^2).
pub(crate) fn t_p_value(t: f64, df: f64) -> f64 {
    f_sf(t * t, 1.0, df)
}

impl ContrastEngine {
    /// Number of fixed-effect parameters.
    pub fn n_fixed(&self) -> usize {
        self.beta.len()
    }

    /// Whether Kenward-Roger's pieces were computed (`RemlOptions::kenward_roger`).
    pub fn has_kenward_roger(&self) -> bool {
        self.kenward_roger.is_some()
    }

    /// The variance of l'beta as the method uses it (Kenward-Roger: the adjusted one).
    pub fn variance(&self, l: &[f64], method: DdfMethod) -> Option<f64> {
        let l = self.vector(l)?;
        match method {
            DdfMethod::Satterthwaite => Some(quad(&l, &self.vcov)),
            DdfMethod::KenwardRoger => self
                .kenward_roger
                .as_ref()
                .map(|k| quad(&l, &k.phi_adjusted)),
        }
    }

    fn vector(&self, l: &[f64]) -> Option<DVector<f64>> {
        (l.len() == self.beta.len()).then(|| DVector::from_column_slice(l))
    }

    /// Satterthwaite's df of l'beta (lmerTest's `contest1D`): 2 Var^2 / (g' A g) with g the
    /// gradient of Var(l'beta) in the variance parameters and A their covariance.
    fn satterthwaite_df(&self, l: &DVector<f64>, var: f64) -> f64 {
        let s = &self.satterthwaite;
        let g = DVector::from_iterator(s.jacobian.len(), s.jacobian.iter().map(|j| quad(l, j)));
        2.0 * var * var / quad(&g, &s.cov_phi)
    }

    /// The t test of l'beta = 0; None when l has the wrong length, or Kenward-Roger was not
    /// computed.
    pub fn t_test(&self, l: &[f64], method: DdfMethod) -> Option<ContrastTest> {
        let lv = self.vector(l)?;
        let estimate = lv.dot(&self.beta);
        let (var, df) = match method {
            DdfMethod::Satterthwaite => {
                let var = quad(&lv, &self.vcov);
                (var, self.satterthwaite_df(&lv, var))
            }
            DdfMethod::KenwardRoger => {
                let kr = self.kenward_roger.as_ref()?;
                let var = quad(&lv, &kr.phi_adjusted);
                let row = DMatrix::from_row_slice(1, lv.len(), lv.as_slice());
                let (df, _) = kenward_roger::adjust(kr, &row, 1)?;
                (var, df)
            }
        };
        let se = var.sqrt();
        let t = estimate / se;
        Some(ContrastTest {
            estimate,
            se,
            df,
            t,
            p: t_p_value(t, df),
        })
    }

    /// The F test that every row of `l` (a matrix with `n_fixed` columns) is 0.
    pub fn f_test(&self, l: &DMatrix<f64>, method: DdfMethod) -> Option<FTest> {
        if l.ncols() != self.beta.len() || l.nrows() == 0 {
            return None;
        }
        match method {
            DdfMethod::Satterthwaite => self.f_satterthwaite(l),
            DdfMethod::KenwardRoger => self.f_kenward_roger(l),
        }
    }

    /// lmerTest's `contestMD`: the rows decorrelated through the eigenvectors of Var(L beta),
    /// F the mean of the squared t statistics, the df from theirs (`get_Fstat_ddf`).
    fn f_satterthwaite(&self, l: &DMatrix<f64>) -> Option<FTest> {
        if l.nrows() == 1 {
            let t = self.t_test(l.row(0).transpose().as_slice(), DdfMethod::Satterthwaite)?;
            return Some(one_df(t));
        }
        let vl = l * &self.vcov * l.transpose();
        let eig = ((&vl + vl.transpose()) * 0.5).symmetric_eigen();
        let mut order: Vec<usize> = (0..vl.nrows()).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let d1 = eig.eigenvalues[order[0]];
        let tol = (f64::EPSILON.sqrt() * d1).max(0.0);
        let pos: Vec<usize> = order
            .into_iter()
            .filter(|&i| eig.eigenvalues[i] > tol)
            .collect();
        let q = pos.len();
        if q == 0 {
            return None;
        }
        let rows: Vec<DVector<f64>> = pos
            .iter()
            .map(|&i| l.transpose() * eig.eigenvectors.column(i))
            .collect();
        if q == 1 {
            let t = self.t_test(rows[0].as_slice(), DdfMethod::Satterthwaite)?;
            return Some(one_df(t));
        }
        let mut f = 0.0;
        let mut nu = Vec::with_capacity(q);
        for (row, &i) in rows.iter().zip(&pos) {
            let d = eig.eigenvalues[i];
            let est = row.dot(&self.beta);
            f += est * est / d;
            nu.push(self.satterthwaite_df(row, d));
        }
        let f = f / q as f64;
        let df_den = f_statistic_ddf(&nu);
        Some(FTest {
            f,
            df_num: q as u32,
            df_den,
            p: f_sf(f, q as f64, df_den),
        })
    }

    /// pbkrtest's `KRmodcomp` with the contrast matrix (lmerTest's `contestMD` with
    /// `ddf = "Kenward-Roger"`): F = scaling * Wald(Φ_A) / q on (q, df).
    fn f_kenward_roger(&self, l: &DMatrix<f64>) -> Option<FTest> {
        let kr = self.kenward_roger.as_ref()?;
        let q = l
            .clone()
            .svd(false, false)
            .rank(1e-10 * l.amax().max(1e-300));
        if q == 0 {
            return None;
        }
        let (df, scaling) = kenward_roger::adjust(kr, l, q)?;
        let wald = kenward_roger::wald(kr, l, &self.beta)?;
        let f = scaling * wald / q as f64;
        Some(FTest {
            f,
            df_num: q as u32,
            df_den: df,
            p: f_sf(f, q as f64, df),
        })
    }
}

fn one_df(t: ContrastTest) -> FTest {
    FTest {
        f: t.t * t.t,
        df_num: 1,
        df_den: t.df,
        p: t.p,
    }
}
