# Independent reference for `emslab gauge` (tests/gauge.rs). Run from the repository root:
#
#   Rscript tests/data/gauge/gauge_reference.R
#
# R 4.2.2, base R only (aov for the sums of squares, qf/pf for the distributions,
# uniroot for the ratio intervals). It writes the simulated studies (sim_*.csv, fixed
# seeds) and three tables of results:
#   gauge_anova.csv    every ANOVA table (full and reduced model) with the random-model F tests
#   gauge_rows.csv     every row of the gauge table with its 95% intervals
#   gauge_summary.csv  interaction decision and number of distinct categories
# Numbers are written with 17 significant digits.
#
# Method (written from the formulas, not from emslab's code):
#  - ANOVA by aov(); crossed model y ~ part * operator, interaction removed when its
#    p-value (MS_PO / MS_E) is >= alpha, then y ~ part + operator; nested y ~ operator/part.
#  - Components by the ANOVA (moment) equations of the random model; negative set to 0;
#    Reproducibility = Operator + Operator*Part, Total Gage = Repeatability + Reproducibility,
#    Total = Total Gage + Part-To-Part (sums of the zeroed components, as Minitab).
#  - ndc = max(1, floor(sqrt(2) * SD(part) / SD(gauge))).
#  - Intervals: the modified large-sample interval of Ting, Burdick, Graybill, Jeyaratnam
#    and Lu (1990) on sum(c_q theta_q) - sum(c_r theta_r) (Burdick and Graybill 1992,
#    section 3.3) for each row's combination of expected mean squares; the share of the
#    total by inverting it: the delta where the MLS lower (upper) bound on
#    gamma - delta * gamma_total is 0.

options(digits = 17)

mls_bounds <- function(coef, ms, df, level = 0.95) {
  keep <- abs(coef) > 1e-14 * max(abs(coef))
  coef <- coef[keep]; ms <- ms[keep]; df <- df[keep]
  a <- (1 - level) / 2
  pos <- coef > 0
  G <- 1 - 1 / qf(1 - a, df, Inf)
  H <- 1 / qf(a, df, Inf) - 1
  cs <- abs(coef * ms)
  np <- sum(pos); nn <- sum(!pos)
  vl <- sum(ifelse(pos, G^2, H^2) * cs^2)
  vu <- sum(ifelse(pos, H^2, G^2) * cs^2)
  k <- length(coef)
  for (i in seq_len(k)) for (j in seq_len(k)) {
    if (i == j) next
    ni <- df[i]; nj <- df[j]
    if (pos[i] && !pos[j]) {
      f1 <- qf(1 - a, ni, nj); f2 <- qf(a, ni, nj)
      vl <- vl + ((f1 - 1)^2 - G[i]^2 * f1^2 - H[j]^2) / f1 * cs[i] * cs[j]
      vu <- vu + ((1 - f2)^2 - H[i]^2 * f2^2 - G[j]^2) / f2 * cs[i] * cs[j]
    } else if (pos[i] && pos[j] && i < j) {
      gs <- 1 - 1 / qf(1 - a, ni + nj, Inf)
      vl <- vl + (gs^2 * (ni + nj)^2 / (ni * nj) - G[i]^2 * ni / nj - G[j]^2 * nj / ni) /
        (np - 1) * cs[i] * cs[j]
    } else if (!pos[i] && !pos[j] && i < j) {
      gs <- 1 - 1 / qf(1 - a, ni + nj, Inf)
      vu <- vu + (gs^2 * (ni + nj)^2 / (ni * nj) - G[i]^2 * ni / nj - G[j]^2 * nj / ni) /
        (nn - 1) * cs[i] * cs[j]
    }
  }
  theta <- sum(coef * ms)
  c(theta - sqrt(max(vl, 0)), theta + sqrt(max(vu, 0)))
}

ratio_bounds <- function(num, tot, ms, df) {
  f <- function(d, side) mls_bounds(num - d * tot, ms, df)[side]
  root <- function(side) {
    if (f(0, side) <= 0) return(0)
    if (f(1, side) >= 0) return(1)
    uniroot(function(d) f(d, side), c(0, 1), tol = 1e-16, maxiter = 10000)$root
  }
  c(root(1), root(2))
}

# Rows of the gauge table as coefficient vectors on the mean squares of the final model.
crossed_rows <- function(p, o, r, kept) {
  if (kept) { # MS order: part, operator, part:operator, error
    e <- c(0, 0, 0, 1); op <- c(0, 1, -1, 0) / (p * r); po <- c(0, 0, 1, -1) / r
    pt <- c(1, 0, -1, 0) / (o * r)
    list(e = e, op = op, po = po, pt = pt)
  } else {      # part, operator, error (pooled)
    e <- c(0, 0, 1); op <- c(0, 1, -1) / (p * r); pt <- c(1, 0, -1) / (o * r)
    list(e = e, op = op, po = NULL, pt = pt)
  }
}

nested_rows <- function(p, o, r) { # MS order: operator, part(operator), error
  list(e = c(0, 0, 1), op = c(1, -1, 0) / (p * r), po = NULL, pt = c(0, 1, -1) / r)
}

anova_rows <- function(name, model, fit, tests) {
  tab <- summary(fit)[[1]]
  data.frame(dataset = name, model = model, term = trimws(rownames(tab)),
             df = tab$Df, ss = tab$`Sum Sq`, ms = tab$`Mean Sq`,
             f = c(tests$f, NA), p = c(tests$p, NA))
}

study <- function(name, d, layout, alpha = 0.05, k = 6, tol = NA) {
  d$part <- factor(d$part); d$operator <- factor(d$operator)
  o <- nlevels(d$operator)
  an <- list(); summ <- list(dataset = name, interaction = NA, interaction_p = NA)
  if (layout == "crossed") {
    p <- nlevels(d$part); r <- nrow(d) / (p * o)
    full <- aov(y ~ part * operator, d)
    m <- summary(full)[[1]]$`Mean Sq`; df <- summary(full)[[1]]$Df
    fs <- c(m[1] / m[3], m[2] / m[3], m[3] / m[4])
    ps <- c(pf(fs[1], df[1], df[3], lower.tail = FALSE), pf(fs[2], df[2], df[3], lower.tail = FALSE),
            pf(fs[3], df[3], df[4], lower.tail = FALSE))
    an[[1]] <- anova_rows(name, "full", full, list(f = fs, p = ps))
    kept <- ps[3] < alpha
    summ$interaction <- if (kept) "kept" else "removed"; summ$interaction_p <- ps[3]
    if (!kept) {
      red <- aov(y ~ part + operator, d)
      m <- summary(red)[[1]]$`Mean Sq`; df <- summary(red)[[1]]$Df
      fs <- m[1:2] / m[3]
      ps <- pf(fs, df[1:2], df[3], lower.tail = FALSE)
      an[[2]] <- anova_rows(name, "reduced", red, list(f = fs, p = ps))
    }
    w <- crossed_rows(p, o, r, kept)
  } else {
    p <- nrow(unique(d[, c("operator", "part")])) / o; r <- nrow(d) / (p * o)
    d$part_in <- interaction(d$operator, d$part, drop = TRUE)
    fit <- aov(y ~ operator + part_in, d)
    m <- summary(fit)[[1]]$`Mean Sq`; df <- summary(fit)[[1]]$Df
    fs <- c(m[1] / m[2], m[2] / m[3])
    ps <- c(pf(fs[1], df[1], df[2], lower.tail = FALSE), pf(fs[2], df[2], df[3], lower.tail = FALSE))
    an[[1]] <- anova_rows(name, "full", fit, list(f = fs, p = ps))
    w <- nested_rows(p, o, r)
  }
  est <- function(v) sum(v * m)
  comp <- function(v) if (is.null(v)) NULL else max(0, est(v))
  repro_w <- if (is.null(w$po)) w$op else w$op + w$po
  repro <- comp(w$op) + if (is.null(w$po)) 0 else comp(w$po)
  gauge_w <- w$e + repro_w; gauge <- est(w$e) + repro
  total_w <- gauge_w + w$pt; total <- gauge + comp(w$pt)
  rows <- list(list("Total Gage R&R", gauge, gauge_w), list("Repeatability", est(w$e), w$e),
               list("Reproducibility", repro, repro_w))
  if (layout == "crossed") {
    rows[[length(rows) + 1]] <- list("Operator", comp(w$op), w$op)
    if (!is.null(w$po)) rows[[length(rows) + 1]] <- list("Operator*Part", comp(w$po), w$po)
  }
  rows[[length(rows) + 1]] <- list("Part-To-Part", comp(w$pt), w$pt)
  rows[[length(rows) + 1]] <- list("Total Variation", total, total_w)
  out <- do.call(rbind, lapply(rows, function(x) {
    v <- x[[2]]; b <- mls_bounds(x[[3]], m, df); b <- pmax(b, 0)
    sh <- if (x[[1]] == "Total Variation") c(NA, NA) else ratio_bounds(x[[3]], total_w, m, df)
    data.frame(dataset = name, source = x[[1]], varcomp = v, pct_contribution = 100 * v / total,
               sd = sqrt(v), study_var = k * sqrt(v), pct_study_var = 100 * sqrt(v / total),
               pct_tolerance = 100 * k * sqrt(v) / tol,
               varcomp_lower = b[1], varcomp_upper = b[2],
               pct_contribution_lower = 100 * sh[1], pct_contribution_upper = 100 * sh[2],
               pct_study_var_lower = 100 * sqrt(sh[1]), pct_study_var_upper = 100 * sqrt(sh[2]),
               pct_tolerance_lower = 100 * k * sqrt(b[1]) / tol,
               pct_tolerance_upper = 100 * k * sqrt(b[2]) / tol)
  }))
  g <- out$varcomp[out$source == "Total Gage R&R"]; pp <- out$varcomp[out$source == "Part-To-Part"]
  summ$ndc_value <- sqrt(2) * sqrt(pp / g)
  summ$ndc <- max(1, floor(summ$ndc_value))
  list(anova = do.call(rbind, an), rows = out, summary = as.data.frame(summ))
}

sim_crossed <- function(p, o, r, s2p, s2o, s2po, s2e, mean = 10) {
  P <- rnorm(p, 0, sqrt(s2p)); O <- rnorm(o, 0, sqrt(s2o))
  PO <- matrix(rnorm(p * o, 0, sqrt(s2po)), p, o)
  d <- expand.grid(rep = 1:r, part = 1:p, operator = 1:o)
  d$y <- round(mean + P[d$part] + O[d$operator] + PO[cbind(d$part, d$operator)] +
                 rnorm(nrow(d), 0, sqrt(s2e)), 4)
  d[, c("part", "operator", "y")]
}

sim_nested <- function(p, o, r, s2p, s2o, s2e, mean = 10) {
  O <- rnorm(o, 0, sqrt(s2o)); P <- matrix(rnorm(p * o, 0, sqrt(s2p)), p, o)
  d <- expand.grid(rep = 1:r, part = 1:p, operator = 1:o)
  d$y <- round(mean + O[d$operator] + P[cbind(d$part, d$operator)] + rnorm(nrow(d), 0, sqrt(s2e)), 4)
  d[, c("part", "operator", "y")]
}

interaction_p <- function(d) {
  d$part <- factor(d$part); d$operator <- factor(d$operator)
  m <- summary(aov(y ~ part * operator, d))[[1]]
  pf(m$`Mean Sq`[3] / m$`Mean Sq`[4], m$Df[3], m$Df[4], lower.tail = FALSE)
}

# The first seed from 1 up whose data meet the condition on the interaction p-value.
find_seed <- function(gen, ok) {
  for (seed in 1:10000) { set.seed(seed); d <- gen(); if (ok(interaction_p(d))) return(list(seed = seed, d = d)) }
  stop("no seed")
}

dir <- "tests/data/gauge"
write_sim <- function(d, file) {
  names(d)[3] <- "measurement"
  write.csv(d, file.path(dir, file), row.names = FALSE, quote = FALSE)
}

kept <- find_seed(function() sim_crossed(10, 3, 2, 4, 0.5, 1, 0.5), function(p) p < 0.05)
removed <- find_seed(function() sim_crossed(8, 4, 3, 2, 0.3, 0, 1), function(p) p >= 0.05)
alpha25 <- find_seed(function() sim_crossed(10, 3, 2, 3, 0.4, 0.25, 1), function(p) p >= 0.05 && p < 0.25)
set.seed(7); nested <- sim_nested(5, 3, 3, 2, 0.5, 0.4)
write_sim(kept$d, "sim_kept.csv"); write_sim(removed$d, "sim_removed.csv")
write_sim(alpha25$d, "sim_alpha25.csv"); write_sim(nested, "sim_nested.csv")
cat("seeds: kept", kept$seed, "removed", removed$seed, "alpha25", alpha25$seed, "nested 7\n")

read <- function(file) { d <- read.csv(file); names(d)[names(d) == "measurement"] <- "y"; d }
res <- list(
  study("montgomery", read("designs/montgomery_gauge.csv"), "crossed", tol = 55),
  study("aiag", read("designs/gauge_aiag.csv"), "crossed", tol = 8),
  study("sim_kept", read(file.path(dir, "sim_kept.csv")), "crossed"),
  study("sim_removed", read(file.path(dir, "sim_removed.csv")), "crossed", tol = 10),
  study("sim_alpha25_at_005", read(file.path(dir, "sim_alpha25.csv")), "crossed"),
  study("sim_alpha25_at_025", read(file.path(dir, "sim_alpha25.csv")), "crossed", alpha = 0.25),
  study("sim_nested", read(file.path(dir, "sim_nested.csv")), "nested", k = 5.15, tol = 12)
)
w <- function(x, file) write.csv(format(x, digits = 17), file.path(dir, file), row.names = FALSE)
w(do.call(rbind, lapply(res, `[[`, "anova")), "gauge_anova.csv")
w(do.call(rbind, lapply(res, `[[`, "rows")), "gauge_rows.csv")
w(do.call(rbind, lapply(res, `[[`, "summary")), "gauge_summary.csv")
