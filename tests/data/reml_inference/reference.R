# Reference values for tests/reml_inference.rs: inference from REML fits with lme4 1.1-31,
# lmerTest 3.1-3, pbkrtest 0.5.2 and emmeans 1.8.4-1 (Debian packages, R 4.2.2).
# Run from the repository root:  Rscript tests/data/reml_inference/reference.R
# Writes into tests/data/reml_inference/:
#   - the data it simulates (empty_cell.csv, split_plot.csv) and the rows it removes from the
#     shipped data (machines_removed.csv, pastes_removed.csv: 1-based row numbers);
#   - reference.csv, long format: dataset, method, kind, term, name, value (15 significant
#     digits). method is "" (the fit), "satterthwaite" or "kenward-roger".
# The test suite reads the CSVs and never needs R.
#
# Each model is fitted by lmer with every nloptwrap tolerance tightened, then theta is
# polished by Newton steps on lme4's own profiled REML criterion (devFunOnly = TRUE) with
# numDeriv's Richardson derivatives, and the model is rebuilt at exactly that theta
# (lmerControl(optimizer = NULL) with start = theta, which sets up the fit without
# optimising): the references are at the optimum, not where BOBYQA stopped (about 1e-6
# short in theta along flat directions).
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(emmeans)
  library(numDeriv)
})
emm_options(pbkrtest.limit = 1e6, lmerTest.limit = 1e6)
dir <- "tests/data/reml_inference"
out <- list()
add <- function(dataset, method, kind, term, name, value) {
  out[[length(out) + 1]] <<- data.frame(dataset = dataset, method = method, kind = kind,
                                        term = term, name = name,
                                        value = sprintf("%.15g", value))
}
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                                   xtol_rel = 1e-12, ftol_rel = 1e-15, maxeval = 100000))

# Newton on the profiled criterion over the components off the boundary.
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

# Level keys "factor=label;factor=label" of emmeans rows.
keys <- function(s, factors) {
  apply(as.data.frame(s)[, factors, drop = FALSE], 1, function(r)
    paste0(factors, "=", trimws(as.character(r)), collapse = ";"))
}

record <- function(dataset, f, d, terms, fixed) {
  # fixed: list(term name = character vector of its factors); terms: lme4 group -> name.
  m0 <- lmer(f, d, REML = TRUE, control = ctrl)
  dev <- lmer(f, d, REML = TRUE, control = ctrl, devFunOnly = TRUE)
  th <- polish(dev, getME(m0, "theta"))
  m <<- lmerTest::lmer(f, d, REML = TRUE, start = list(theta = th),
                       control = lmerControl(optimizer = NULL))
  add(dataset, "", "criterion", "", "", REMLcrit(m))
  add(dataset, "", "criterion_bobyqa", "", "", REMLcrit(m0))
  vc <- as.data.frame(VarCorr(m))
  for (i in seq_len(nrow(vc))) add(dataset, "", "variance", terms[[vc$grp[i]]], "", vc$vcov[i])
  # Fixed effects (summary's t tests).
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    method <- if (ddf == "Satterthwaite") "satterthwaite" else "kenward-roger"
    co <- summary(m, ddf = ddf)$coefficients
    for (nm in rownames(co)) {
      add(dataset, method, "fixef", "", nm, co[nm, "Estimate"])
      add(dataset, method, "fixef_se", "", nm, co[nm, "Std. Error"])
      add(dataset, method, "fixef_df", "", nm, co[nm, "df"])
      add(dataset, method, "fixef_t", "", nm, co[nm, "t value"])
      add(dataset, method, "fixef_p", "", nm, co[nm, "Pr(>|t|)"])
    }
    if (length(fixed)) {
      a <- anova(m, type = 3, ddf = ddf)
      for (i in seq_len(nrow(a))) {
        term <- names(fixed)[sapply(fixed, function(fs) paste(fs, collapse = ":")) == rownames(a)[i]]
        add(dataset, method, "F", term, "", a[i, "F value"])
        add(dataset, method, "ndf", term, "", a[i, "NumDF"])
        add(dataset, method, "ddf", term, "", a[i, "DenDF"])
        add(dataset, method, "p", term, "", a[i, "Pr(>F)"])
      }
    }
    mode <- if (ddf == "Satterthwaite") "satterthwaite" else "kenward-roger"
    g <- summary(emmeans(m, ~ 1, lmer.df = mode))
    if (is.na(g$emmean)) {
      add(dataset, method, "grand_mean_nonest", "", "", 0)
    } else {
      add(dataset, method, "grand_mean", "", "", g$emmean)
      add(dataset, method, "grand_mean_se", "", "", g$SE)
      add(dataset, method, "grand_mean_df", "", "", g$df)
      add(dataset, method, "grand_mean_lower", "", "", g$lower.CL)
      add(dataset, method, "grand_mean_upper", "", "", g$upper.CL)
    }
    for (term in names(fixed)) {
      fs <- fixed[[term]]
      e <- emmeans(m, fs, lmer.df = mode)
      s <- summary(e)
      k <- keys(s, fs)
      for (i in seq_len(nrow(s))) {
        if (is.na(s$emmean[i])) { add(dataset, method, "mean_nonest", term, k[i], 0); next }
        add(dataset, method, "mean", term, k[i], s$emmean[i])
        add(dataset, method, "mean_se", term, k[i], s$SE[i])
        add(dataset, method, "mean_df", term, k[i], s$df[i])
        add(dataset, method, "mean_lower", term, k[i], s$lower.CL[i])
        add(dataset, method, "mean_upper", term, k[i], s$upper.CL[i])
      }
      pr <- summary(pairs(e, adjust = "none"), infer = c(TRUE, TRUE))
      ij <- combn(nrow(s), 2)
      for (r in seq_len(nrow(pr))) {
        key <- paste0(k[ij[1, r]], "|", k[ij[2, r]])
        if (is.na(pr$estimate[r])) { add(dataset, method, "pair_nonest", term, key, 0); next }
        add(dataset, method, "pair", term, key, pr$estimate[r])
        add(dataset, method, "pair_se", term, key, pr$SE[r])
        add(dataset, method, "pair_df", term, key, pr$df[r])
        add(dataset, method, "pair_t", term, key, pr$t.ratio[r])
        add(dataset, method, "pair_p", term, key, pr$p.value[r])
        add(dataset, method, "pair_lower", term, key, pr$lower.CL[r])
        add(dataset, method, "pair_upper", term, key, pr$upper.CL[r])
      }
    }
  }
}

fac <- function(d, cols) { for (c in cols) d[[c]] <- factor(d[[c]]); d }

# ---- Machines: balanced, and with 8 of 54 rows removed ----
machines <- fac(read.csv("tests/data/reml/machines.csv"), c("Machine", "Worker"))
mt <- list(Worker = "Worker", "Machine:Worker" = "Machine:Worker", Residual = "Residual")
mf <- score ~ Machine + (1 | Worker) + (1 | Machine:Worker)
record("machines", mf, machines, mt, list(Machine = "Machine"))
set.seed(20240611)
drop <- sort(sample(nrow(machines), 8))
write.csv(data.frame(row = drop), file.path(dir, "machines_removed.csv"), row.names = FALSE)
record("machines_removed", mf, machines[-drop, ], mt, list(Machine = "Machine"))

# ---- Pastes with 9 of 60 rows removed (intercept only: its df and the grand mean) ----
pastes <- fac(read.csv("tests/data/reml/pastes.csv"), c("batch", "cask"))
set.seed(20240612)
drop <- sort(sample(nrow(pastes), 9))
write.csv(data.frame(row = drop), file.path(dir, "pastes_removed.csv"), row.names = FALSE)
record("pastes_removed", strength ~ 1 + (1 | batch) + (1 | batch:cask), pastes[-drop, ],
       list(batch = "batch", "batch:cask" = "cask(batch)", Residual = "Residual"), list())

# ---- Two fixed factors with an empty cell (a3, b3), blocks random with block:A ----
set.seed(20240613)
g <- expand.grid(rep = 1:2, block = sprintf("k%d", 1:6), B = sprintf("b%d", 1:3),
                 A = sprintf("a%d", 1:3), stringsAsFactors = FALSE)
ea <- c(a1 = 0, a2 = 1.5, a3 = -1); eb <- c(b1 = 0, b2 = 0.8, b3 = 2)
ek <- setNames(rnorm(6, sd = 1.2), sprintf("k%d", 1:6))
eak <- rnorm(18, sd = 0.7); names(eak) <- outer(sprintf("a%d", 1:3), sprintf("k%d", 1:6), paste)
g$y <- round(20 + ea[g$A] + eb[g$B] + 0.5 * (g$A == "a2" & g$B == "b2") + ek[g$block] +
             eak[paste(g$A, g$block)] + rnorm(nrow(g)), 3)
g <- g[!(g$A == "a3" & g$B == "b3"), ]
g <- g[-sort(sample(nrow(g), 10)), c("A", "B", "block", "y")]
rownames(g) <- NULL
write.csv(g, file.path(dir, "empty_cell.csv"), row.names = FALSE, quote = FALSE)
record("empty_cell", y ~ A * B + (1 | block) + (1 | A:block), fac(g, c("A", "B", "block")),
       list(block = "block", "A:block" = "A:block", Residual = "Residual"),
       list(A = "A", B = "B", "A:B" = c("A", "B")))

# ---- Diets x times, 4 subjects nested in each diet, one observation per subject and time,
#      15% of rows removed (a split plot: the nested design) ----
set.seed(20240614)
s <- expand.grid(time = sprintf("t%d", 1:4), subject = sprintf("s%d", 1:4),
                 diet = sprintf("d%d", 1:3), stringsAsFactors = FALSE)
es <- setNames(rnorm(12, sd = 2), outer(sprintf("d%d", 1:3), sprintf("s%d", 1:4), paste))
s$y <- round(50 + c(d1 = 0, d2 = 3, d3 = 5)[s$diet] + c(t1 = 0, t2 = 1, t3 = 3, t4 = 4)[s$time] +
             1.5 * (s$diet == "d3") * (s$time == "t4") + es[paste(s$diet, s$subject)] +
             rnorm(nrow(s)), 3)
s <- s[-sort(sample(nrow(s), 7)), c("diet", "subject", "time", "y")]
rownames(s) <- NULL
write.csv(s, file.path(dir, "split_plot.csv"), row.names = FALSE, quote = FALSE)
record("split_plot", y ~ diet * time + (1 | diet:subject), fac(s, c("diet", "subject", "time")),
       list("diet:subject" = "subject(diet)", Residual = "Residual"),
       list(diet = "diet", time = "time", "diet:time" = c("diet", "time")))

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "reference.csv"), row.names = FALSE, quote = TRUE)
cat("wrote", nrow(res), "rows; lme4", as.character(packageVersion("lme4")),
    "lmerTest", as.character(packageVersion("lmerTest")),
    "pbkrtest", as.character(packageVersion("pbkrtest")),
    "emmeans", as.character(packageVersion("emmeans")), "\n")
