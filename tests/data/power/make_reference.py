#!/usr/bin/env python3
"""Exact-test power references for tests/power.rs.

Run from this folder: python3 make_reference.py   (Python 3.11, scipy 1.17.1)

Every noncentrality (lambda) and ratio of expected mean squares below is written out by
hand from the textbook EMS of each shipped design (Montgomery, Design and Analysis of
Experiments, ch. 13-14: restricted and unrestricted mixed models), not taken from emslab.
The power is then
  fixed term:  scipy.stats.ncf.sf(f.ppf(1 - alpha, d1, d2), d1, d2, lambda)
  random term: scipy.stats.f.sf(f.ppf(1 - alpha, d1, d2) / ratio, d1, d2)
(R: 1 - pf(qf(0.95, d1, d2), d1, d2, ncp = lambda), 1 - pf(qf(0.95, d1, d2) / ratio, d1, d2)).
Writes exact.csv: case, design, model, sigma2, effects, term, distribution, df_num, df_den,
param (lambda or ratio), power.
"""
import csv

import scipy
from scipy import stats

assert scipy.__version__ == "1.17.1", scipy.__version__
ALPHA = 0.05
rows = []


def add(case, design, model, sigma2, effects, term, dist, d1, d2, param):
    crit = stats.f.ppf(1 - ALPHA, d1, d2)
    if dist == "noncentral-f":
        p = stats.ncf.sf(crit, d1, d2, param)
    else:
        p = stats.f.sf(crit / param, d1, d2)
    rows.append([case, design, model, sigma2, effects, term, dist, d1, d2, repr(float(param)),
                 repr(float(p))])


def both(fn):
    for model in ("restricted", "unrestricted"):
        fn(model)


# 1. Crossed, mixed: A fixed (a=3), B random (b=4), n=2.
def two_factor(model):
    s2, e = "B=0.5;A:B=0.25;Residual=1", "A=-1,0,1"
    d = "two_factor_mixed.toml"
    add("crossed", d, model, s2, e, "A", "noncentral-f", 2, 6, 4 * 2 * 2 / (1 + 2 * 0.25))
    if model == "restricted":
        add("crossed", d, model, s2, e, "B", "scaled-central-f", 3, 12, (1 + 3 * 2 * 0.5) / 1)
    else:
        add("crossed", d, model, s2, e, "B", "scaled-central-f", 3, 6,
            (1 + 2 * 0.25 + 3 * 2 * 0.5) / (1 + 2 * 0.25))
    add("crossed", d, model, s2, e, "A:B", "scaled-central-f", 6, 12, (1 + 2 * 0.25) / 1)


# 2. Crossed, large noncentrality: Machine fixed (3), Worker random (6), n=3; level means
#    50, 55, 65 centre to -6.667, -1.667, 8.333 (sum of squares 350/3).
def machines(model):
    s2, e = "Worker=20;Machine:Worker=0.05;Residual=0.1", "Machine=50,55,65"
    d = "machines.toml"
    ss = 350 / 3
    add("large-ncp", d, model, s2, e, "Machine", "noncentral-f", 2, 10,
        6 * 3 * ss / (0.1 + 3 * 0.05))


# 3. Nested-factorial: fixture fixed (a=3), layout fixed (b=2), operator(layout) random
#    (c=4), n=2.
def nested(model):
    s2 = "operator(layout)=0.4;fixture:operator(layout)=0.2;Residual=1"
    e = "fixture=1,0,-1|layout=0.5,-0.5|fixture:layout=0.3,-0.3,0,0,-0.3,0.3"
    d = "nested_factorial.toml"
    fo = 1 + 2 * 0.2
    add("nested", d, model, s2, e, "fixture", "noncentral-f", 2, 12, 2 * 4 * 2 * 2 / fo)
    if model == "restricted":
        ol = 1 + 3 * 2 * 0.4
        add("nested", d, model, s2, e, "layout", "noncentral-f", 1, 6, 3 * 4 * 2 * 0.5 / ol)
        add("nested", d, model, s2, e, "operator(layout)", "scaled-central-f", 6, 24, ol / 1)
    else:
        ol = 1 + 2 * 0.2 + 3 * 2 * 0.4
        add("nested", d, model, s2, e, "layout", "noncentral-f", 1, 6, 3 * 4 * 2 * 0.5 / ol)
        add("nested", d, model, s2, e, "operator(layout)", "scaled-central-f", 6, 12, ol / fo)
    add("nested", d, model, s2, e, "fixture:layout", "noncentral-f", 2, 12, 4 * 2 * 0.36 / fo)
    add("nested", d, model, s2, e, "fixture:operator(layout)", "scaled-central-f", 12, 24, fo)


# 4. Split plot: day random (r=3), method fixed (a=3), temperature fixed (b=4), n=1;
#    day:temperature and day:method:temperature pooled into the Residual (df 18).
def split_plot(model):
    s2 = "day=2;day:method=0.5;Residual=1"
    e = "method=1,0,-1|temperature=-1.5,-0.5,0.5,1.5|method:temperature=0.2,-0.2,0,0,-0.2,0.2,0,0,0,0,0,0"
    d = "split_plot.toml"
    dm = 1 + 4 * 0.5
    if model == "restricted":
        add("split-plot", d, model, s2, e, "day", "scaled-central-f", 2, 18, (1 + 12 * 2) / 1)
    else:
        add("split-plot", d, model, s2, e, "day", "scaled-central-f", 2, 4, (dm + 12 * 2) / dm)
    add("split-plot", d, model, s2, e, "method", "noncentral-f", 2, 4, 3 * 4 * 2 / dm)
    add("split-plot", d, model, s2, e, "day:method", "scaled-central-f", 4, 18, dm / 1)
    add("split-plot", d, model, s2, e, "temperature", "noncentral-f", 3, 18, 3 * 3 * 5 / 1)
    add("split-plot", d, model, s2, e, "method:temperature", "noncentral-f", 6, 18, 3 * 0.16 / 1)


# 5. RCBD: treatment fixed (a=4), block random (b=6), one run per cell (block:treatment
#    pooled into the Residual, df 15); means 0, 0.5, 1, 1.5 centre to sum of squares 1.25.
def rcbd(model):
    s2, e = "block=1;Residual=0.5", "treatment=0,0.5,1,1.5"
    d = "rcbd.toml"
    add("rcbd", d, model, s2, e, "treatment", "noncentral-f", 3, 15, 6 * 1.25 / 0.5)
    add("rcbd", d, model, s2, e, "block", "scaled-central-f", 5, 15, (0.5 + 4 * 1) / 0.5)


for fn in (two_factor, machines, nested, split_plot, rcbd):
    both(fn)

with open("exact.csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["case", "design", "model", "sigma2", "effects", "term", "distribution",
                "df_num", "df_den", "param", "power"])
    w.writerows(rows)
