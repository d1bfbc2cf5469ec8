# Reference fits for tests/reml.rs, made with lme4 (Debian r-cran-lme4 1.1-31, R 4.2.2).
# Run from the repository root:  Rscript tests/data/reml/reference_fits.R
# Writes tests/data/reml/reference_fits.csv (long format: dataset, method, kind, term, name,
# value). The test suite reads the CSV and never needs R.
suppressPackageStartupMessages(library(lme4))
dir <- "tests/data/reml"
# The README's tight settings (xtol_abs = 1e-12, ftol_abs = 1e-14) leave nloptwrap's default
# xtol_rel = 1e-6 in force, which stops BOBYQA about 1e-6 (relative, in theta) short of the
# optimum; the relative tolerances are tightened too so that these references are limited by
# lme4's arithmetic rather than by its stopping rule (nloptwrap may then warn
# NLOPT_ROUNDOFF_LIMITED: the criterion is flat at the rounding level; the fit is kept).
# Profile intervals come from confint(profile), which interpolates the profile with splines.
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                                   xtol_rel = 1e-12, ftol_rel = 1e-15, maxeval = 100000))
out <- list()
add <- function(dataset, method, kind, term, name, value) {
  out[[length(out) + 1]] <<- data.frame(dataset = dataset, method = method, kind = kind,
                                        term = term, name = name,
                                        value = sprintf("%.15g", value))
}
fac <- function(d, cols) { for (c in cols) d[[c]] <- factor(d[[c]]); d }

record <- function(dataset, fit, terms, profile = FALSE) {
  method <- if (isREML(fit)) "REML" else "ML"
  vc <- as.data.frame(VarCorr(fit))
  for (i in seq_len(nrow(vc))) {
    g <- vc$grp[i]
    add(dataset, method, "variance", terms[[g]], "", vc$vcov[i])
  }
  add(dataset, method, "criterion", "", "", if (isREML(fit)) REMLcrit(fit) else deviance(fit))
  th <- getME(fit, "theta")
  for (nm in names(th)) {
    g <- sub(":\\(Intercept\\)$", "", sub("\\.\\(Intercept\\)$", "", nm))
    add(dataset, method, "theta", terms[[g]], "", th[[nm]])
  }
  fe <- fixef(fit); se <- sqrt(diag(as.matrix(vcov(fit))))
  for (nm in names(fe)) {
    add(dataset, method, "fixef", "", nm, fe[[nm]])
    add(dataset, method, "fixef_se", "", nm, se[[nm]])
  }
  re <- ranef(fit, condVar = TRUE)
  for (g in names(re)) {
    pv <- attr(re[[g]], "postVar")
    for (i in seq_len(nrow(re[[g]]))) {
      lev <- rownames(re[[g]])[i]
      add(dataset, method, "blup", terms[[g]], lev, re[[g]][i, 1])
      add(dataset, method, "pev", terms[[g]], lev, pv[1, 1, i] * 1)
    }
  }
  if (profile) {
    # Profile-likelihood intervals (lme4 profiles the standard deviations; squared here).
    # lme4 profiles the ML deviance even for a REML fit (devfun2() calls refitML()), so these
    # are recorded under method "ML" and compared with emslab's ML fits.
    ci <- confint(fit, parm = "theta_", method = "profile", level = 0.95, oldNames = FALSE,
                  quiet = TRUE)
    for (rn in rownames(ci)) {
      g <- if (rn == "sigma") "Residual" else sub("^sd_\\(Intercept\\)\\|", "", rn)
      add(dataset, "ML", "profile_lower", terms[[g]], "", ci[rn, 1]^2)
      add(dataset, "ML", "profile_upper", terms[[g]], "", ci[rn, 2]^2)
    }
  }
  add(dataset, method, "aic", "", "", AIC(fit))
  add(dataset, method, "bic", "", "", BIC(fit))
  add(dataset, method, "loglik", "", "", as.numeric(logLik(fit)))
}

# ---- Dyestuff ----
d <- fac(read.csv(file.path(dir, "dyestuff.csv")), "Batch")
t <- list(Batch = "Batch", Residual = "Residual")
record("dyestuff", lmer(Yield ~ 1 + (1 | Batch), d, REML = TRUE, control = ctrl), t, TRUE)
record("dyestuff", lmer(Yield ~ 1 + (1 | Batch), d, REML = FALSE, control = ctrl), t)

# ---- Dyestuff2 ----
d <- fac(read.csv(file.path(dir, "dyestuff2.csv")), "Batch")
record("dyestuff2", lmer(Yield ~ 1 + (1 | Batch), d, REML = TRUE, control = ctrl), t, TRUE)

# ---- Pastes (balanced, and with rows 1, 7, 8, 33 dropped) ----
d <- fac(read.csv(file.path(dir, "pastes.csv")), c("batch", "cask"))
t <- list(batch = "batch", "batch:cask" = "cask(batch)", Residual = "Residual")
f <- strength ~ 1 + (1 | batch) + (1 | batch:cask)
record("pastes", lmer(f, d, REML = TRUE, control = ctrl), t, TRUE)
record("pastes_unbalanced", lmer(f, d[-c(1, 7, 8, 33), ], REML = TRUE, control = ctrl), t)

# ---- Machines (balanced, and as lme4 users drop rows: Machines[-c(1, 2, 10), ]) ----
d <- fac(read.csv(file.path(dir, "machines.csv")), c("Machine", "Worker"))
t <- list(Worker = "Worker", "Machine:Worker" = "Machine:Worker", Residual = "Residual")
f <- score ~ Machine + (1 | Worker) + (1 | Machine:Worker)
record("machines", lmer(f, d, REML = TRUE, control = ctrl), t)
du <- d[-c(1, 2, 10), ]
record("machines_unbalanced", lmer(f, du, REML = TRUE, control = ctrl), t, TRUE)
record("machines_unbalanced", lmer(f, du, REML = FALSE, control = ctrl), t)
# The profiled REML criterion at fixed theta (lme4's devFunOnly), theta in the order
# (Machine:Worker, Worker) of lme4's random-effects terms.
dev <- lmer(f, du, REML = TRUE, control = ctrl, devFunOnly = TRUE)
for (th in list(c(1, 1), c(0.5, 2), c(3.8, 4.9), c(0, 1.5))) {
  add("machines_unbalanced", "REML", "devfun",
      sprintf("Machine:Worker=%g", th[1]), sprintf("Worker=%g", th[2]), dev(th))
}

# ---- Montgomery gauge study (crossed, both random; negative interaction moment) ----
d <- fac(read.csv(file.path(dir, "montgomery_gauge.csv")), c("part", "operator"))
t <- list(part = "part", operator = "operator", "part:operator" = "part:operator",
          Residual = "Residual")
record("gauge", lmer(measurement ~ 1 + (1 | part) + (1 | operator) + (1 | part:operator),
                     d, REML = TRUE, control = ctrl), t)

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "reference_fits.csv"), row.names = FALSE, quote = TRUE)
cat("wrote", nrow(res), "rows; lme4", as.character(packageVersion("lme4")), "\n")
