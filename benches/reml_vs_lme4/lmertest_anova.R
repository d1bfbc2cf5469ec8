# Times lme4 + lmerTest on the unbalanced two-way mixed design written by the `reml` bench
# (benches/reml_vs_lme4/main.rs) and prints what the bench parses: `fit <seconds>` (the
# lmer() call), `lmertest <seconds>` (as_lmerModLmerTest: the Hessian and Jacobian of
# Satterthwaite's method, and anova(type = 3)), then `F`, `ddf` of the term A and the
# lmerTest version. Usage: Rscript lmertest_anova.R FILE.csv
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages({ library(lme4); library(lmerTest) })
d <- read.csv(args[1])
d$A <- factor(d$A)
d$B <- factor(d$B)
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14))
invisible(gc())
t0 <- proc.time()[["elapsed"]]
m <- lme4::lmer(y ~ A + (1 | B) + (1 | A:B), d, REML = TRUE, control = ctrl)
t1 <- proc.time()[["elapsed"]]
mt <- lmerTest::as_lmerModLmerTest(m)
a <- anova(mt, type = 3)
t2 <- proc.time()[["elapsed"]]
cat(sprintf("fit %.6f\nlmertest %.6f\n", t1 - t0, t2 - t1))
cat(sprintf("F %.15g\nddf %.15g\n", a[1, "F value"], a[1, "DenDF"]))
cat(sprintf("lmerTest %s\n", as.character(packageVersion("lmerTest"))))
