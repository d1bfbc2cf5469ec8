# Reference values for the app's tests (src/gui/tests.rs, src/gui/tests_state.rs) that no
# other reference file has: lme4 1.1-31 (R 4.2.2, Debian r-cran-lme4) fits with every
# nloptwrap tolerance tightened, as in tests/data/reml/reference_fits.R. Run from the
# repository root:
#
#   Rscript tests/data/gui/reference.R
#
# It writes reference.csv (dataset, method, kind, term, value; 15 significant digits):
#   - dyestuff_last_dropped: designs/dyestuff.csv without its last row (batch F with 4
#     yields, the others 5): REML variances of Batch and the Residual.
suppressPackageStartupMessages(library(lme4))
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                                   xtol_rel = 1e-12, ftol_rel = 1e-15, maxeval = 100000))
out <- list()
add <- function(dataset, method, kind, term, value) {
  out[[length(out) + 1]] <<- data.frame(dataset = dataset, method = method, kind = kind,
                                        term = term, value = sprintf("%.15g", value))
}
d <- read.csv("designs/dyestuff.csv")
d <- d[-nrow(d), ]
fit <- lmer(Yield ~ 1 + (1 | Batch), data = d, REML = TRUE, control = ctrl)
vc <- as.data.frame(VarCorr(fit))
add("dyestuff_last_dropped", "REML", "variance", "Batch", vc$vcov[vc$grp == "Batch"])
add("dyestuff_last_dropped", "REML", "variance", "Residual", vc$vcov[vc$grp == "Residual"])
add("dyestuff_last_dropped", "REML", "criterion", "", REMLcrit(fit))
write.csv(do.call(rbind, out), "tests/data/gui/reference.csv", row.names = FALSE, quote = FALSE)
