#!/usr/bin/env python3
"""Reference values for tests/dist.rs (the distributions in src/dist).

Run from this folder: python3 make_reference.py   (Python 3.11, scipy 1.17.1, mpmath 1.3.0)

Writes:
  ncf.csv    x, d1, d2, ncp, cdf, sf: scipy.stats.ncf.cdf / .sf (scipy 1.17.1 evaluates the
             noncentral F with Boost.Math). Before writing, a few points are checked against
             an mpmath evaluation of the Poisson-mixture series at 40 digits (agreement to
             1e-13 is asserted).
  tukey.csv  k, df, p, q, cdf: q is placed near the p quantile (brentq on scipy's cdf, loose
             tolerance: it only spreads the points over the body and both tails), and cdf is
             scipy.stats.studentized_range.cdf(q, k, df) at that q (double integral by
             QUADPACK with epsabs 1e-11, epsrel 1e-12; the df = inf form for df >= 1e5).
  tukey_ppf.csv  p, k, df, q: scipy.stats.studentized_range.ppf for a few points.
make_tukey_r.R then adds R's ptukey at the same points (tukey_r.csv).
"""
import csv
import math

import mpmath as mp
import numpy as np
import scipy
from scipy import optimize, stats

assert scipy.__version__ == "1.17.1", scipy.__version__


def ncf_sf_mpmath(x, d1, d2, lam):
    mp.mp.dps = 40
    x, d1, d2, lam = map(mp.mpf, (x, d1, d2, lam))
    y = d1 * x / (d1 * x + d2)
    a, b, mu = d1 / 2, d2 / 2, lam / 2
    m = int(mp.floor(mu))
    span = int(12 * mp.sqrt(mu)) + 60
    total = mp.mpf(0)
    for j in range(max(0, m - span), m + span + 1):
        w = mp.exp(-mu + j * mp.log(mu) - mp.loggamma(j + 1))
        total += w * mp.betainc(b, a + j, 0, 1 - y, regularized=True)
    return total


def write_ncf():
    for args in [(3.0, 2, 12, 5), (0.8, 1, 1.5, 0.5), (30, 4, 17.5, 200),
                 (2600, 3, 40, 1e4), (2.2, 5, 30.7, 30)]:
        exact = float(ncf_sf_mpmath(*args))
        assert abs(stats.ncf.sf(*args) - exact) < 1e-13, (args, exact)
    rows = []
    for d1 in [1, 2, 3.5, 10, 30]:
        for d2 in [1.5, 4, 12, 30.7, 200]:
            for ncp in [0.5, 5, 30, 200, 1000, 1e4, 1e5]:
                centre = (d1 + ncp) / d1
                for f in [0.25, 0.6, 0.9, 1.1, 1.6, 3.0]:
                    x = float(f"{centre * f:.6g}")
                    cdf = stats.ncf.cdf(x, d1, d2, ncp)
                    sf = stats.ncf.sf(x, d1, d2, ncp)
                    rows.append((x, d1, d2, ncp, repr(float(cdf)), repr(float(sf))))
    with open("ncf.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "d1", "d2", "ncp", "cdf", "sf"])
        w.writerows(rows)


def place_q(p, k, df):
    """A q near the p quantile (relative tolerance 1e-3)."""
    cdf = lambda t: stats.studentized_range.cdf(math.exp(t), k, df) - p
    lo, hi = math.log(0.05), math.log(8.0)
    while cdf(lo) > 0:
        lo -= 1.0
    while cdf(hi) < 0:
        hi += 1.0
    return float(f"{math.exp(optimize.brentq(cdf, lo, hi, xtol=1e-3)):.6g}")


def write_tukey():
    ks = list(range(2, 21)) + [50, 100]
    dfs = [1.5, 2, 3.7, 5, 10, 20.5, 60, 120, 1000, math.inf]
    ps = [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999]
    with open("tukey.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["k", "df", "p", "q", "cdf"])
        for k in ks:
            for df in dfs:
                for p in ps:
                    q = place_q(p, k, df)
                    cdf = float(stats.studentized_range.cdf(q, k, df))
                    w.writerow([k, "inf" if math.isinf(df) else df, p, q, repr(cdf)])
                fh.flush()


def write_tukey_ppf():
    points = [(0.95, 3, 10), (0.95, 10, 20.5), (0.99, 5, 2), (0.95, 20, 120),
              (0.95, 50, 60), (0.5, 4, 3.7), (0.05, 8, 1000), (0.999, 2, 5),
              (0.95, 6, math.inf), (0.9, 100, 10)]
    with open("tukey_ppf.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["p", "k", "df", "q"])
        for p, k, df in points:
            q = float(stats.studentized_range.ppf(p, k, df))
            w.writerow([p, k, "inf" if math.isinf(df) else df, repr(q)])


if __name__ == "__main__":
    np.seterr(all="ignore")
    write_ncf()
    write_tukey_ppf()
    write_tukey()
