//! Every numerical tolerance of the REML engine and of its tests, in one place (the habit of
//! statrs' `prec.rs`). The engine reads the first group; `tests/reml.rs` reads the second.

// ---- engine ----------------------------------------------------------------------------

/// A candidate column of X is aliased (dropped) when its norm after projecting out the columns
/// already kept is below this fraction of its original norm (Gram-Schmidt with
/// re-orthogonalisation, over the cells of the fixed factors).
pub const ALIAS_REL: f64 = 1e-9;

/// Relative step of the finite differences in theta: `h = FD_REL * max(|theta|, FD_FLOOR)`.
pub const FD_REL: f64 = 1e-4;
/// Floor of the scale of the finite-difference step (theta near the boundary).
pub const FD_FLOOR: f64 = 0.05;

/// Starting values of theta are raised to at least this (theta = 0 is a stationary point of
/// the criterion, which is even in every theta_k, so Newton would not leave it).
pub const START_FLOOR: f64 = 0.05;
/// Largest theta the optimiser visits (sigma^2 -> 0 beyond it).
pub const THETA_MAX: f64 = 1e8;
/// Newton iterations per start.
pub const MAX_ITER: usize = 200;
/// Newton stops when the largest relative step falls below this.
pub const STEP_REL: f64 = 1e-11;
/// ... or when the predicted decrease (Newton decrement / 2) falls below this, in units of
/// the criterion (-2 log L).
pub const DECREMENT_STOP: f64 = 1e-16;
/// A fit is reported converged when the Newton decrement at the end is below this
/// (predicted further improvement of -2 log L).
pub const DECREMENT_CONVERGED: f64 = 1e-8;
/// The final polish (Newton steps on the analytic gradient) stops when the Newton step the
/// gradient implies is below this, relative to max(|theta|, `FD_FLOOR`) ...
pub const POLISH_STEP_REL: f64 = 1e-13;
/// ... or when every gradient component is below this times the size of the terms it is the
/// difference of (its rounding level) ...
pub const GRADIENT_REL: f64 = 1e-14;
/// ... or after this many steps (Newton with BFGS updates of the Hessian converges
/// superlinearly from where the finite-difference Newton stops; two to five steps are usual).
pub const POLISH_MAX_ITER: usize = 20;
/// A Newton step on the analytic gradient below this (relative to max(|theta|, `FD_FLOOR`))
/// ends the descent: theta is that close to where the gradient vanishes (the variances to
/// twice that).
pub const NEWTON_DONE_REL: f64 = 1e-10;
/// Newton steps on the analytic gradient below this (relative) that stop shrinking twice
/// running are at the gradient's rounding level: the descent ends there (near the optimum a
/// Newton step squares the previous one, so only rounding keeps it at the same size).
pub const STALL_STEP_REL: f64 = 1e-7;
/// |theta_k| below this is tried at exactly 0 (a boundary fit).
pub const THETA_SNAP: f64 = 1e-4;
/// Snapping to 0 is accepted when the criterion does not grow by more than this (absolute).
pub const SNAP_F_TOL: f64 = 1e-9;
/// A later start whose theta comes within this (relative) of the optimum an earlier start
/// found stops there: it has joined that optimum.
pub const JOIN_REL: f64 = 1e-3;
/// Two starts reaching criteria closer than this found the same optimum.
pub const SAME_OPTIMUM: f64 = 1e-7;
/// Largest dense block (entries) the blocked Cholesky may create.
pub const MAX_DENSE_ENTRIES: usize = 1 << 25;
/// A sparse off-diagonal block whose fill exceeds this fraction is stored dense.
pub const DENSE_FRACTION: f64 = 0.3;

// ---- inference from the fit (Satterthwaite, Kenward-Roger, Type III, means) -------------

/// Relative step of the central differences of the analytic gradient that give the Hessian
/// of the criterion in theta (truncation ~1e-8 relative, rounding ~1e-11).
pub const HESSIAN_FD_REL: f64 = 1e-4;
/// Eigenvalues of the Hessian (in log-parameters) at or below this fraction of the largest
/// are left out of its inverse (lmerTest inverts over the eigenvalues above 1e-8).
pub const HESSIAN_PINV_REL: f64 = 1e-10;
/// A linear function of the fixed effects is estimable when its squared projection on the
/// null space of the model matrix is below this fraction of its squared norm (emmeans'
/// `estimability::is.estble`, tol = 1e-8).
pub const ESTIMABLE_REL: f64 = 1e-8;
/// Rank tolerance of the regressions that orthogonalise Type III contrasts (R's `lm.fit`).
pub const LM_FIT_TOL: f64 = 1e-7;
/// Most treatment-coded fixed-effect columns the inference handles (dense cells x columns).
pub const MAX_FIXED_COLUMNS: usize = 4000;
/// Most points of the reference grid of the means.
pub const MAX_REFERENCE_GRID: usize = 1_000_000;
/// Largest q + p for Kenward-Roger (three dense matrices of that order).
pub const KR_MAX_DIMENSION: usize = 4000;

// ---- the comparison rule ------------------------------------------------------------------

/// On balanced data with every moment estimate positive, REML equals the moment estimates to
/// this relative difference; more is a bug (the rule `compare` states).
pub const MOMENTS_AGREE_REL: f64 = 1e-6;
/// The analytic gradient of the criterion against Richardson-extrapolated central
/// differences (relative to 1 + |gradient|; limited by the differences' rounding).
#[cfg(test)]
pub(crate) const GRADIENT_CHECK_REL: f64 = 1e-6;
