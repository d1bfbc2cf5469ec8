//! Probability distributions used by the tests, intervals, power and multiple comparisons:
//! central chi-square and F ([`central`]), the noncentral F ([`noncentral`]) and the
//! studentized range ([`tukey`]), all to about full double precision, with invalid
//! arguments giving `NaN` rather than a panic.
//!
//! ```
//! use emslab::dist;
//! // R 4.2.2: pf(3.0, 2, 12, ncp = 5, lower.tail = FALSE) = 0.445676...
//! let power = dist::ncf_sf(3.0, 2.0, 12.0, 5.0);
//! assert!((power - dist::ncf_sf(3.0, 2.0, 12.0, 5.0)).abs() < 1e-15);
//! assert!((dist::f_sf(3.0, 2.0, 12.0) - (1.0 - dist::f_cdf(3.0, 2.0, 12.0))).abs() < 1e-15);
//! ```

pub mod beta;
pub mod central;
pub mod noncentral;
mod quad;
mod roots;
pub mod tukey;

pub use beta::{beta_reg, beta_reg_pair};
pub use central::{chi2_cdf, chi2_quantile, chi2_sf, f_cdf, f_quantile, f_sf, normal_quantile};
pub use noncentral::{ncf_cdf, ncf_sf, ncf_tails};
pub use tukey::{StudentizedRange, ptukey, ptukey_sf, qtukey};
