//! Root finding for the quantile functions: bracketing, then Brent's method.

// `!(x > 0.0)` is meant: it is true for NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

/// Root of an increasing function of `t` (`f(t) < 0` below the root), from a guess:
/// bracket by doubling steps, then Brent's method to full precision.
pub(crate) fn solve_log(f: impl Fn(f64) -> f64, guess: f64) -> f64 {
    solve_log_tol(f, guess, 0.5, 0.0)
}

/// [`solve_log`] to a relative tolerance `rel_tol` on the root (an absolute one on its
/// logarithm), for functions too costly to evaluate to the last bit; 0 means full
/// precision.
pub(crate) fn solve_log_tol(
    f: impl Fn(f64) -> f64,
    guess: f64,
    half_width: f64,
    rel_tol: f64,
) -> f64 {
    let mut lo = guess - half_width;
    let mut hi = guess + half_width;
    let mut flo = f(lo);
    let mut fhi = f(hi);
    let mut step = 2.0 * half_width;
    let mut tries = 0;
    while flo > 0.0 && tries < 200 {
        hi = lo;
        fhi = flo;
        lo -= step;
        step *= 2.0;
        flo = f(lo);
        tries += 1;
    }
    step = 2.0 * half_width;
    while fhi < 0.0 && tries < 400 {
        lo = hi;
        flo = fhi;
        hi += step;
        step *= 2.0;
        fhi = f(hi);
        tries += 1;
    }
    if flo.is_nan() || fhi.is_nan() || flo > 0.0 || fhi < 0.0 {
        return f64::NAN;
    }
    brent(&f, lo, hi, flo, fhi, rel_tol).exp()
}

/// Brent's root finder on a bracket with `fa <= 0 <= fb`, to two ulps of the root plus
/// `tol_abs`.
pub(crate) fn brent(
    f: &impl Fn(f64) -> f64,
    a0: f64,
    b0: f64,
    fa0: f64,
    fb0: f64,
    tol_abs: f64,
) -> f64 {
    let (mut a, mut b, mut fa, mut fb) = (a0, b0, fa0, fb0);
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 {
        return b;
    }
    let mut c = a;
    let mut fc = fa;
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs().max(1e-300) + tol_abs.max(1e-300);
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return b;
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    b
}
