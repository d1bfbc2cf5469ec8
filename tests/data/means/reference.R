# Reference values for tests/means.rs: estimated marginal means, pairwise comparisons with
# every adjustment, and compact letters, from lme4 REML fits held at the exact optimum, with
# lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4-1 and multcomp 1.4-22 (Debian
# packages, R 4.2.2).
# Run from the repository root:  Rscript tests/data/means/reference.R
# Writes into tests/data/means/:
#   - the data it simulates (split_plot.csv, nested_factorial.csv, three_factor_mixed.csv,
#     diet_time.csv), balanced, for the shipped designs of the same names (designs/), with
#     every variance component's estimate positive (the seed is advanced until it is);
#   - reference.csv, long format: dataset, method, kind, term, name, value (15 significant
#     digits); method is "satterthwaite" or "kenward-roger";
#   - letters.csv: dataset, term, level, letters: multcomp's compact letter display
#     (insert_absorb, as cld() of a Tukey glht calls it) of the Tukey-adjusted p-values of
#     emmeans at alpha = 0.05, the level combinations in emslab's order (first factor
#     slowest) and the comparisons in contrMat("Tukey") order of those.
# Level order: every factor's levels in order of first appearance in the file (the order
# emslab numbers them in), so that pairs and letters are in the same order.
# The test suite reads the CSVs and never needs R.
#
# Each model is fitted by lmer with every nloptwrap tolerance tightened, theta is polished
# by Newton steps on lme4's own profiled REML criterion (devFunOnly = TRUE) with numDeriv's
# Richardson derivatives, and the model is rebuilt at exactly that theta
# (lmerControl(optimizer = NULL) with start = theta): the references are at the optimum.
# On balanced data with every component positive that optimum is the unrestricted moment
# solution, which emslab's method "ems" estimates.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(emmeans)
  library(multcomp)
  library(numDeriv)
})
emm_options(pbkrtest.limit = 1e6, lmerTest.limit = 1e6)
dir <- "tests/data/means"
out <- list()
let <- list()
add <- function(dataset, method, kind, term, name, value) {
  out[[length(out) + 1]] <<- data.frame(dataset = dataset, method = method, kind = kind,
                                        term = term, name = name,
                                        value = sprintf("%.15g", value))
}
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                                   xtol_rel = 1e-12, ftol_rel = 1e-15, maxeval = 100000))

polish <- function(devfun, th) {
  for (it in 1:30) {
    free <- which(th > 0)
    if (!length(free)) break
    f <- function(x) { y <- th; y[free] <- x; devfun(y) }
    g <- numDeriv::grad(f, th[free])
    h <- numDeriv::hessian(f, th[free])
    step <- solve(h, g)
    th[free] <- th[free] - step
    if (max(abs(step) / pmax(abs(th[free]), 1e-3)) < 1e-12) break
  }
  th
}

fit <- function(f, d) {
  m0 <- lmer(f, d, REML = TRUE, control = ctrl)
  dev <- lmer(f, d, REML = TRUE, control = ctrl, devFunOnly = TRUE)
  th <- polish(dev, getME(m0, "theta"))
  m <<- lmerTest::lmer(f, d, REML = TRUE, start = list(theta = th),
                       control = lmerControl(optimizer = NULL))
  m
}

keys <- function(s, factors) {
  apply(as.data.frame(s)[, factors, drop = FALSE], 1, function(r)
    paste0(factors, "=", trimws(as.character(r)), collapse = ";"))
}

adjustments <- c("tukey", "bonferroni", "sidak", "none")

record <- function(dataset, m, fixed, methods = "satterthwaite") {
  vc <- as.data.frame(VarCorr(m))
  for (i in seq_len(nrow(vc))) add(dataset, "", "variance", vc$grp[i], "", vc$vcov[i])
  for (mode in methods) {
    g <- summary(emmeans(m, ~ 1, lmer.df = mode))
    add(dataset, mode, "grand_mean", "", "", g$emmean)
    add(dataset, mode, "grand_mean_se", "", "", g$SE)
    add(dataset, mode, "grand_mean_df", "", "", g$df)
    add(dataset, mode, "grand_mean_lower", "", "", g$lower.CL)
    add(dataset, mode, "grand_mean_upper", "", "", g$upper.CL)
    for (term in names(fixed)) {
      fs <- fixed[[term]]
      e <- emmeans(m, fs, lmer.df = mode)
      s <- summary(e)
      k <- keys(s, fs)
      for (i in seq_len(nrow(s))) {
        add(dataset, mode, "mean", term, k[i], s$emmean[i])
        add(dataset, mode, "mean_se", term, k[i], s$SE[i])
        add(dataset, mode, "mean_df", term, k[i], s$df[i])
        add(dataset, mode, "mean_lower", term, k[i], s$lower.CL[i])
        add(dataset, mode, "mean_upper", term, k[i], s$upper.CL[i])
      }
      ij <- combn(nrow(s), 2)
      pk <- paste0(k[ij[1, ]], "|", k[ij[2, ]])
      for (adj in adjustments) {
        pr <- summary(pairs(e, adjust = adj), infer = c(TRUE, TRUE))
        for (r in seq_len(nrow(pr))) {
          if (adj == "none") {
            add(dataset, mode, "pair", term, pk[r], pr$estimate[r])
            add(dataset, mode, "pair_se", term, pk[r], pr$SE[r])
            add(dataset, mode, "pair_df", term, pk[r], pr$df[r])
            add(dataset, mode, "pair_t", term, pk[r], pr$t.ratio[r])
          }
          add(dataset, mode, paste0("p_", adj), term, pk[r], pr$p.value[r])
          add(dataset, mode, paste0("lower_", adj), term, pk[r], pr$lower.CL[r])
          add(dataset, mode, paste0("upper_", adj), term, pk[r], pr$upper.CL[r])
        }
        if (adj == "tukey" && mode == "satterthwaite") {
          # emslab's order of a term's level combinations: the first factor slowest
          # (emmeans varies the first fastest); the pairs and letters in that order.
          o <- do.call(order, lapply(fs, function(f) as.integer(as.data.frame(s)[[f]])))
          kk <- k[o]
          pv <- setNames(pr$p.value, pk)
          jj <- combn(length(kk), 2)
          p2 <- mapply(function(a, b) {
            x <- pv[paste0(a, "|", b)]
            if (is.na(x)) pv[paste0(b, "|", a)] else x
          }, kk[jj[1, ]], kk[jj[2, ]])
          sig <- unname(p2) < 0.05
          names(sig) <- paste0(kk[jj[1, ]], "|", kk[jj[2, ]])
          comps <- cbind(kk[jj[2, ]], kk[jj[1, ]])
          l <- multcomp:::insert_absorb(sig, comps = comps,
                                        lvl_order = kk[order(s$emmean[o])],
                                        levels.x = kk)$Letters
          let[[length(let) + 1]] <<- data.frame(dataset = dataset, term = term, level = kk,
                                                letters = unname(l[kk]))
        }
      }
    }
  }
}

# Levels in order of first appearance.
fac <- function(d, cols) { for (c in cols) d[[c]] <- factor(d[[c]], levels = unique(d[[c]])); d }

# Simulates until every variance component of the REML fit is clearly positive.
simulate <- function(seed, make, f) {
  repeat {
    set.seed(seed)
    d <- make()
    m <- fit(f, fac(d, setdiff(names(d), "y")))
    if (all(as.data.frame(VarCorr(m))$vcov > 1e-3)) return(list(d = d, m = m, seed = seed))
    seed <- seed + 1
  }
}

eff <- function(levels, sd) setNames(rnorm(length(levels), sd = sd), levels)

# ---- Machines (shipped data): Machine fixed, Worker random, 3 replicates ----
machines <- read.csv("designs/machines.csv")
mm <- fit(score ~ Machine + (1 | Worker) + (1 | Machine:Worker), fac(machines, c("Machine", "Worker")))
record("machines", mm, list(Machine = "Machine"))

# ---- Pastes (shipped data): batch and cask(batch) random: the grand mean ----
pastes <- read.csv("designs/pastes.csv")
pm <- fit(strength ~ 1 + (1 | batch) + (1 | batch:cask), fac(pastes, c("batch", "cask")))
record("pastes", pm, list())

# ---- Split plot (designs/split_plot.toml): 3 days (random blocks), method (whole plot, 3),
#      temperature (split plot, 4), one run per cell ----
sp <- simulate(20251101, function() {
  g <- expand.grid(temperature = sprintf("t%d", 1:4), method = sprintf("m%d", 1:3),
                   day = sprintf("d%d", 1:3), stringsAsFactors = FALSE)[, 3:1]
  ed <- eff(sprintf("d%d", 1:3), 3); edm <- eff(outer(sprintf("d%d", 1:3), sprintf("m%d", 1:3), paste), 1.5)
  g$y <- round(36 + c(m1 = 0, m2 = 2, m3 = 3.5)[g$method] + c(t1 = 0, t2 = 1, t3 = 3, t4 = 3.5)[g$temperature] +
               (g$method == "m3") * (g$temperature == "t4") * 1.2 +
               ed[g$day] + edm[paste(g$day, g$method)] + rnorm(nrow(g)), 2)
  g
}, y ~ method * temperature + (1 | day) + (1 | day:method))
write.csv(sp$d, file.path(dir, "split_plot.csv"), row.names = FALSE, quote = FALSE)
record("split_plot", sp$m, list(method = "method", temperature = "temperature",
                                "method:temperature" = c("method", "temperature")))

# ---- Nested factorial (designs/nested_factorial.toml): fixture (3) x operator(layout),
#      layout fixed (2), 4 operators per layout, 2 replicates ----
nf <- simulate(20251201, function() {
  g <- expand.grid(rep = 1:2, operator = sprintf("o%d", 1:4), fixture = sprintf("f%d", 1:3),
                   layout = sprintf("L%d", 1:2), stringsAsFactors = FALSE)
  g <- g[, c("fixture", "layout", "operator", "rep")]
  eo <- eff(outer(sprintf("L%d", 1:2), sprintf("o%d", 1:4), paste), 2)
  efo <- eff(outer(outer(sprintf("f%d", 1:3), sprintf("L%d", 1:2), paste), sprintf("o%d", 1:4), paste), 1.2)
  g$y <- round(22 + c(f1 = 0, f2 = 3, f3 = 1)[g$fixture] + c(L1 = 0, L2 = 1.5)[g$layout] +
               eo[paste(g$layout, g$operator)] + efo[paste(g$fixture, g$layout, g$operator)] +
               rnorm(nrow(g)), 2)
  g$rep <- NULL
  g
}, y ~ fixture * layout + (1 | layout:operator) + (1 | fixture:layout:operator))
write.csv(nf$d, file.path(dir, "nested_factorial.csv"), row.names = FALSE, quote = FALSE)
record("nested_factorial", nf$m, list(fixture = "fixture", layout = "layout",
                                      "fixture:layout" = c("fixture", "layout")))

# ---- Three-factor mixed (designs/three_factor_mixed.toml): A fixed (3), B (4) and C (5)
#      random, 2 replicates: A's differences have a synthetic variance ----
tf <- simulate(20251301, function() {
  g <- expand.grid(rep = 1:2, C = sprintf("c%d", 1:5), B = sprintf("b%d", 1:4),
                   A = sprintf("a%d", 1:3), stringsAsFactors = FALSE)
  g <- g[, c("A", "B", "C", "rep")]
  lb <- sprintf("b%d", 1:4); lc <- sprintf("c%d", 1:5); la <- sprintf("a%d", 1:3)
  eb <- eff(lb, 2); ec <- eff(lc, 1.5)
  eab <- eff(outer(la, lb, paste), 1.2); eac <- eff(outer(la, lc, paste), 1)
  ebc <- eff(outer(lb, lc, paste), 1); eabc <- eff(outer(outer(la, lb, paste), lc, paste), 0.9)
  g$y <- round(50 + c(a1 = 0, a2 = 2.5, a3 = 1)[g$A] + eb[g$B] + ec[g$C] + eab[paste(g$A, g$B)] +
               eac[paste(g$A, g$C)] + ebc[paste(g$B, g$C)] + eabc[paste(g$A, g$B, g$C)] +
               rnorm(nrow(g)), 2)
  g$rep <- NULL
  g
}, y ~ A + (1 | B) + (1 | C) + (1 | A:B) + (1 | A:C) + (1 | B:C) + (1 | A:B:C))
write.csv(tf$d, file.path(dir, "three_factor_mixed.csv"), row.names = FALSE, quote = FALSE)
record("three_factor_mixed", tf$m, list(A = "A"))

# ---- Diet x time (designs/diet_time.toml): 3 diets, 6 subjects in each (labels 1..6
#      restart within diet), 6 times crossed with diet, one observation per subject and time ----
dt <- simulate(20251401, function() {
  g <- expand.grid(time = sprintf("t%d", 1:6), subject = 1:6, diet = sprintf("D%d", 1:3),
                   stringsAsFactors = FALSE)[, 3:1]
  es <- eff(outer(sprintf("D%d", 1:3), 1:6, paste), 2.5)
  g$y <- round(70 + c(D1 = 0, D2 = 2, D3 = 4.5)[g$diet] + c(0, 1, 1.8, 2.4, 2.9, 3.1)[as.integer(sub("t", "", g$time))] +
               0.6 * (g$diet == "D3") * as.integer(sub("t", "", g$time)) +
               es[paste(g$diet, g$subject)] + rnorm(nrow(g), sd = 1.5), 2)
  g
}, y ~ diet * time + (1 | diet:subject))
write.csv(dt$d, file.path(dir, "diet_time.csv"), row.names = FALSE, quote = FALSE)
record("diet_time", dt$m, list(diet = "diet", time = "time", "diet:time" = c("diet", "time")))

# ---- Unbalanced: machines without the 8 rows tests/data/reml_inference/machines_removed.csv
#      names (1-based), Satterthwaite and Kenward-Roger ----
drop <- read.csv("tests/data/reml_inference/machines_removed.csv")$row
mu <- fit(score ~ Machine + (1 | Worker) + (1 | Machine:Worker),
          fac(machines[-drop, ], c("Machine", "Worker")))
record("machines_removed", mu, list(Machine = "Machine"), c("satterthwaite", "kenward-roger"))

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "reference.csv"), row.names = FALSE, quote = TRUE)
write.csv(do.call(rbind, let), file.path(dir, "letters.csv"), row.names = FALSE, quote = TRUE)
cat("seeds: split_plot", sp$seed, "nested_factorial", nf$seed, "three_factor_mixed", tf$seed,
    "diet_time", dt$seed, "\n")
cat("wrote", nrow(res), "rows; lme4", as.character(packageVersion("lme4")),
    "lmerTest", as.character(packageVersion("lmerTest")),
    "pbkrtest", as.character(packageVersion("pbkrtest")),
    "emmeans", as.character(packageVersion("emmeans")),
    "multcomp", as.character(packageVersion("multcomp")), "\n")
