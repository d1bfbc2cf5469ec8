# Times lme4 on a CSV written by the `reml` bench (benches/reml_vs_lme4/main.rs) and prints
# what the bench parses: `time <seconds>`, `var <term> <value>`, `theta <term> <value>`,
# `crit <value>`. Only the lmer() call is timed (not the CSV read, not the factor coding).
# Usage: Rscript lme4_fit.R FILE.csv balanced|crossed2 [tight]
# `tight` also sets xtol_rel = 1e-12 and ftol_rel = 1e-15 (nloptwrap's default xtol_rel = 1e-6
# otherwise stops BOBYQA about 1e-6 relative short of the optimum in theta).
args <- commandArgs(trailingOnly = TRUE)
file <- args[1]
kind <- args[2]
tight <- length(args) >= 3 && args[3] == "tight"
suppressPackageStartupMessages(library(lme4))
d <- read.csv(file)
opt <- list(xtol_abs = 1e-12, ftol_abs = 1e-14)
if (tight) opt <- c(opt, list(xtol_rel = 1e-12, ftol_rel = 1e-15, maxeval = 100000))
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = opt)
for (c in setdiff(names(d), "y")) d[[c]] <- factor(d[[c]])
if (kind == "balanced") {
  f <- y ~ A + (1 | B) + (1 | A:B) + (1 | B:C) + (1 | A:B:C)
  terms <- c(B = "B", "A:B" = "A:B", "B:C" = "C(B)", "A:B:C" = "A:C(B)")
} else {
  f <- y ~ 1 + (1 | A) + (1 | B)
  terms <- c(A = "A", B = "B")
}
invisible(gc())
t0 <- proc.time()[["elapsed"]]
fit <- lmer(f, d, REML = TRUE, control = ctrl)
t1 <- proc.time()[["elapsed"]]
cat(sprintf("time %.6f\n", t1 - t0))
vc <- as.data.frame(VarCorr(fit))
for (i in seq_len(nrow(vc))) {
  g <- vc$grp[i]
  cat(sprintf("var %s %.15g\n", if (g == "Residual") "Residual" else terms[[g]], vc$vcov[i]))
}
th <- getME(fit, "theta")
for (nm in names(th)) {
  g <- sub("\\.\\(Intercept\\)$", "", nm)
  cat(sprintf("theta %s %.15g\n", terms[[g]], th[[nm]]))
}
cat(sprintf("crit %.15g\n", REMLcrit(fit)))
cat(sprintf("lme4 %s\n", as.character(packageVersion("lme4"))))
