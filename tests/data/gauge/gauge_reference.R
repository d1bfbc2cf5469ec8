# Independent reference for `emslab gauge` (tests/gauge.rs). Run from the repository root:
#
#   Rscript tests/data/gauge/gauge_reference.R
#
# R 4.2.2, base R only (aov for the sums of squares, qf/qchisq/pf for the distributions,
# uniroot where a share has no closed form). It writes the simulated studies (sim_*.csv,
# fixed seeds) and three tables of results:
#   gauge_anova.csv    every ANOVA table (full and reduced model) with the random-model F tests
#   gauge_rows.csv     every row of the gauge table with its 95% intervals and their methods
#   gauge_summary.csv  interaction decision, number of distinct categories and its interval
# Numbers are written with 17 significant digits.
#
# Method (each interval written out row by row from the book, not from emslab's code):
#  - ANOVA by aov(); crossed model y ~ part * operator, interaction removed when its
#    p-value (MS_PO / MS_E) is >= alpha, then y ~ part + operator; nested y ~ operator/part.
#  - Components by the ANOVA (moment) equations of the random model; negative set to 0;
#    Reproducibility = Operator + Operator*Part, Total Gage = Repeatability + Reproducibility,
#    Total = Total Gage + Part-To-Part (sums of the zeroed components, as Minitab).
#  - ndc = max(1, floor(sqrt(2) * SD(part) / SD(gauge))).
#  - Variance-component intervals: Burdick, Borror and Montgomery (2005), Design and
#    Analysis of Gauge R&R Studies, chapter 3 (two-factor crossed random model, with and
#    without interaction): repeatability exact chi-square; a component that is a difference
#    of two mean squares by the MLS interval with G_q, H_r, G_qr, H_qr; reproducibility
#    (three mean squares, one subtracted) with the extra constant G*_23; the sums gamma_M
#    (gauge) and gamma_Y (total) by Graybill and Wang's interval (no cross terms). The nested
#    study (operators, parts within operators) by the same constants on its mean squares.
#  - %Contribution: Part-To-Part and Total Gage R&R from the book's interval (L*, U*) on
#    gamma_P / gamma_M (with interaction: linear in the mean squares, Burdick and Larsen
#    1997; without: the quadratic form of the book's model without interaction):
#    rho_P in [L/(1+L), U/(1+U)], rho_M in [1/(1+U), 1/(1+L)], L and U set to 0 when
#    negative. Operator (and Reproducibility without interaction): the same interval with
#    parts and operators exchanged, sigma2_O / (gamma_Y - sigma2_O). Every other share (and
#    every share of the nested study): the delta where the MLS lower (upper) bound of Ting
#    et al. (1990) on gamma - delta * gamma_Y is 0 (Burdick and Graybill 1992, section 3.3).
#  - ndc interval: sqrt(2 L) to sqrt(2 U) (crossed); nested: from the gauge share.

options(digits = 17)
LEVEL <- 0.95
A <- (1 - LEVEL) / 2 # each tail

# The book's constants (upper-tail points: F(1 - A; n, Inf) etc.).
G <- function(n) 1 - 1 / qf(1 - A, n, Inf)
H <- function(n) 1 / qf(A, n, Inf) - 1
Gqr <- function(nq, nr) { f <- qf(1 - A, nq, nr); ((f - 1)^2 - G(nq)^2 * f^2 - H(nr)^2) / f }
Hqr <- function(nq, nr) { f <- qf(A, nq, nr); ((1 - f)^2 - H(nq)^2 * f^2 - G(nr)^2) / f }
# Ting et al.'s constant for two terms of the same sign among k of that sign.
Gstar <- function(nq, nt, k) {
  ((1 - 1 / qf(1 - A, nq + nt, Inf))^2 * (nq + nt)^2 / (nq * nt) - G(nq)^2 * nq / nt -
     G(nt)^2 * nt / nq) / (k - 1)
}

exact_chisq <- function(S, n) c(n * S / qchisq(1 - A, n), n * S / qchisq(A, n))

# c1 S1 - c2 S2 (a component that is a difference of two mean squares).
mls_difference <- function(c1, S1, n1, c2, S2, n2) {
  est <- c1 * S1 - c2 * S2
  vl <- G(n1)^2 * c1^2 * S1^2 + H(n2)^2 * c2^2 * S2^2 + Gqr(n1, n2) * c1 * c2 * S1 * S2
  vu <- H(n1)^2 * c1^2 * S1^2 + G(n2)^2 * c2^2 * S2^2 + Hqr(n1, n2) * c1 * c2 * S1 * S2
  c(est - sqrt(vl), est + sqrt(vu))
}

# sum c_q S_q, every c_q > 0 (Graybill and Wang 1980).
mls_sum <- function(cs, S, n) {
  est <- sum(cs * S)
  c(est - sqrt(sum(G(n)^2 * cs^2 * S^2)), est + sqrt(sum(H(n)^2 * cs^2 * S^2)))
}

# Ting et al. (1990) on any combination (for the shares without a closed form).
mls_general <- function(coef, S, n) {
  keep <- abs(coef) > 1e-14 * max(abs(coef))
  coef <- coef[keep]; S <- S[keep]; n <- n[keep]
  q <- which(coef > 0); r <- which(coef < 0); cs <- abs(coef) * S
  vl <- sum(G(n[q])^2 * cs[q]^2) + sum(H(n[r])^2 * cs[r]^2)
  vu <- sum(H(n[q])^2 * cs[q]^2) + sum(G(n[r])^2 * cs[r]^2)
  for (i in q) for (j in r) {
    vl <- vl + Gqr(n[i], n[j]) * cs[i] * cs[j]
    vu <- vu + Hqr(n[i], n[j]) * cs[i] * cs[j]
  }
  if (length(q) > 1) for (i in q) for (j in q) if (i < j)
    vl <- vl + Gstar(n[i], n[j], length(q)) * cs[i] * cs[j]
  if (length(r) > 1) for (i in r) for (j in r) if (i < j)
    vu <- vu + Gstar(n[i], n[j], length(r)) * cs[i] * cs[j]
  est <- sum(coef * S)
  c(est - sqrt(max(vl, 0)), est + sqrt(max(vu, 0)))
}

# The share num/total in [0, 1] by inverting mls_general on num - delta * total.
inverted_share <- function(num, total, S, n) {
  f <- function(d, side) mls_general(num - d * total, S, n)[side]
  root <- function(side) {
    if (f(0, side) <= 0) return(0)
    if (f(1, side) >= 0) return(1)
    uniroot(function(d) f(d, side), c(0, 1), tol = 1e-16, maxiter = 10000)$root
  }
  lo <- root(1); c(lo, max(lo, root(2)))
}

# The book's interval on gamma_P / gamma_M, model with interaction (Burdick and Larsen 1997):
# a = the factor whose share (levels na), b = the other factor (nb levels).
ratio_with_interaction <- function(Sa, Sb, Sab, Se, na, nb, r) {
  n1 <- na - 1; n2 <- nb - 1; n3 <- (na - 1) * (nb - 1)
  F1 <- qf(1 - A, n1, n3); F2 <- qf(A, n1, n3); F3 <- qf(1 - A, n1, n2); F4 <- qf(A, n1, n2)
  L <- na * (1 - G(n1)) * (Sa - F1 * Sab) /
    (na * nb * (r - 1) * Se + nb * (1 - G(n1)) * F3 * Sb + nb * (na - 1) * Sab)
  U <- na * (1 + H(n1)) * (Sa - F2 * Sab) /
    (na * nb * (r - 1) * Se + nb * (1 + H(n1)) * F4 * Sb + nb * (na - 1) * Sab)
  c(L, U)
}

# The same, model without interaction (the quadratic form of the book's no-interaction model).
ratio_without_interaction <- function(Sa, Sb, Se, na, nb, r) {
  n1 <- na - 1; n2 <- nb - 1; ne <- na * nb * r - na - nb + 1
  F1 <- qf(1 - A, n1, ne); F2 <- qf(A, n1, ne); F3 <- qf(1 - A, n1, n2); F4 <- qf(A, n1, n2)
  g <- 1 - G(n1); h <- 1 + H(n1)
  L <- (na * g * Sa^2 - na * Sa * Se + na * (F1 - g * F1^2) * Se^2) /
    (nb * (na * r - 1) * Sa * Se + nb * g * F3 * Sa * Sb)
  U <- (na * h * Sa^2 - na * Sa * Se + na * (F2 - h * F2^2) * Se^2) /
    (nb * (na * r - 1) * Sa * Se + nb * h * F4 * Sa * Sb)
  c(L, U)
}

share_of <- function(lambda) { l <- pmax(lambda, 0); l / (1 + l) }
rest_of <- function(lambda) { l <- pmax(lambda, 0); rev(1 / (1 + l)) }

# Every row of a study: the estimate's combination (for the point values and the inverted
# shares), its interval and method, its share interval and method.
# m, n: mean squares and df of the final model. Names: "P","O","PO","E" / "O","P","E".
crossed_intervals <- function(m, n, p, o, r, kept) {
  tot_w <- if (kept) c(p, o, p * o - p - o, p * o * (r - 1)) / (p * o * r) else
    c(p, o, p * o * r - p - o) / (p * o * r)
  if (kept) {
    SP <- m[1]; SO <- m[2]; SPO <- m[3]; SE <- m[4]; nP <- n[1]; nO <- n[2]; nPO <- n[3]; nE <- n[4]
    lam_p <- ratio_with_interaction(SP, SO, SPO, SE, p, o, r)
    lam_o <- ratio_with_interaction(SO, SP, SPO, SE, o, p, r)
    repro <- {
      est <- (SO + (p - 1) * SPO - p * SE) / (p * r)
      vl <- G(nO)^2 * SO^2 + G(nPO)^2 * (p - 1)^2 * SPO^2 + H(nE)^2 * p^2 * SE^2 +
        Gqr(nO, nE) * p * SO * SE + Gqr(nPO, nE) * p * (p - 1) * SPO * SE +
        Gstar(nO, nPO, 2) * (p - 1) * SO * SPO
      vu <- H(nO)^2 * SO^2 + H(nPO)^2 * (p - 1)^2 * SPO^2 + G(nE)^2 * p^2 * SE^2 +
        Hqr(nO, nE) * p * SO * SE + Hqr(nPO, nE) * p * (p - 1) * SPO * SE
      c(est - sqrt(vl) / (p * r), est + sqrt(vu) / (p * r))
    }
    rows <- list(
      "Total Gage R&R" = list(w = c(0, 1, p - 1, p * (r - 1)) / (p * r),
        ci = mls_sum(c(1, p - 1, p * (r - 1)) / (p * r), c(SO, SPO, SE), c(nO, nPO, nE)),
        vm = "mls-graybill-wang", share = rest_of(lam_p), sm = "mls-part-gauge-ratio"),
      "Repeatability" = list(w = c(0, 0, 0, 1), ci = exact_chisq(SE, nE), vm = "chi-square",
        share = NULL, sm = "mls-inverted"),
      "Reproducibility" = list(w = c(0, 1, p - 1, -p) / (p * r), ci = repro, vm = "mls-ting",
        share = NULL, sm = "mls-inverted"),
      "Operator" = list(w = c(0, 1, -1, 0) / (p * r),
        ci = mls_difference(1 / (p * r), SO, nO, 1 / (p * r), SPO, nPO), vm = "mls-ting",
        share = share_of(lam_o), sm = "mls-operator-ratio"),
      "Operator*Part" = list(w = c(0, 0, 1, -1) / r,
        ci = mls_difference(1 / r, SPO, nPO, 1 / r, SE, nE), vm = "mls-ting",
        share = NULL, sm = "mls-inverted"),
      "Part-To-Part" = list(w = c(1, 0, -1, 0) / (o * r),
        ci = mls_difference(1 / (o * r), SP, nP, 1 / (o * r), SPO, nPO), vm = "mls-ting",
        share = share_of(lam_p), sm = "mls-part-gauge-ratio"),
      "Total Variation" = list(w = tot_w,
        ci = mls_sum(tot_w, m, n), vm = "mls-graybill-wang", share = NULL, sm = NA))
  } else {
    SP <- m[1]; SO <- m[2]; SE <- m[3]; nP <- n[1]; nO <- n[2]; nE <- n[3]
    lam_p <- ratio_without_interaction(SP, SO, SE, p, o, r)
    lam_o <- ratio_without_interaction(SO, SP, SE, o, p, r)
    op <- mls_difference(1 / (p * r), SO, nO, 1 / (p * r), SE, nE)
    rows <- list(
      "Total Gage R&R" = list(w = c(0, 1, p * r - 1) / (p * r),
        ci = mls_sum(c(1, p * r - 1) / (p * r), c(SO, SE), c(nO, nE)),
        vm = "mls-graybill-wang", share = rest_of(lam_p), sm = "mls-part-gauge-ratio"),
      "Repeatability" = list(w = c(0, 0, 1), ci = exact_chisq(SE, nE), vm = "chi-square",
        share = NULL, sm = "mls-inverted"),
      "Reproducibility" = list(w = c(0, 1, -1) / (p * r), ci = op, vm = "mls-ting",
        share = share_of(lam_o), sm = "mls-operator-ratio"),
      "Operator" = list(w = c(0, 1, -1) / (p * r), ci = op, vm = "mls-ting",
        share = share_of(lam_o), sm = "mls-operator-ratio"),
      "Part-To-Part" = list(w = c(1, 0, -1) / (o * r),
        ci = mls_difference(1 / (o * r), SP, nP, 1 / (o * r), SE, nE), vm = "mls-ting",
        share = share_of(lam_p), sm = "mls-part-gauge-ratio"),
      "Total Variation" = list(w = tot_w,
        ci = mls_sum(tot_w, m, n), vm = "mls-graybill-wang", share = NULL, sm = NA))
  }
  list(rows = rows, ndc = sqrt(2 * pmax(lam_p, 0)), ndc_method = "mls-part-gauge-ratio")
}

nested_intervals <- function(m, n, p, o, r) { # operator, part(operator), error
  SO <- m[1]; SP <- m[2]; SE <- m[3]; nO <- n[1]; nP <- n[2]; nE <- n[3]
  cO <- 1 / (p * r)
  tot_w <- c(cO, 1 / r - cO, 1 - 1 / r)
  op <- mls_difference(cO, SO, nO, cO, SP, nP)
  gauge <- {
    est <- cO * SO - cO * SP + SE
    vl <- G(nO)^2 * cO^2 * SO^2 + G(nE)^2 * SE^2 + H(nP)^2 * cO^2 * SP^2 +
      Gqr(nO, nP) * cO * cO * SO * SP + Gqr(nE, nP) * cO * SE * SP + Gstar(nO, nE, 2) * cO * SO * SE
    vu <- H(nO)^2 * cO^2 * SO^2 + H(nE)^2 * SE^2 + G(nP)^2 * cO^2 * SP^2 +
      Hqr(nO, nP) * cO * cO * SO * SP + Hqr(nE, nP) * cO * SE * SP
    c(est - sqrt(vl), est + sqrt(vu))
  }
  rows <- list(
    "Total Gage R&R" = list(w = c(cO, -cO, 1), ci = gauge, vm = "mls-ting", share = NULL,
      sm = "mls-inverted"),
    "Repeatability" = list(w = c(0, 0, 1), ci = exact_chisq(SE, nE), vm = "chi-square",
      share = NULL, sm = "mls-inverted"),
    "Reproducibility" = list(w = c(cO, -cO, 0), ci = op, vm = "mls-ting", share = NULL,
      sm = "mls-inverted"),
    "Part-To-Part" = list(w = c(0, 1, -1) / r,
      ci = mls_difference(1 / r, SP, nP, 1 / r, SE, nE), vm = "mls-ting", share = NULL,
      sm = "mls-inverted"),
    "Total Variation" = list(w = tot_w, ci = mls_sum(tot_w, m, n), vm = "mls-graybill-wang",
      share = NULL, sm = NA))
  g <- inverted_share(rows[["Total Gage R&R"]]$w, tot_w, m, n)
  ndc <- if (g[1] > 0) sqrt(2 * (1 - rev(g)) / rev(g)) else c(NA, NA)
  list(rows = rows, ndc = ndc, ndc_method = "mls-inverted")
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
    iv <- crossed_intervals(m, df, p, o, r, kept)
  } else {
    p <- nrow(unique(d[, c("operator", "part")])) / o; r <- nrow(d) / (p * o)
    d$part_in <- interaction(d$operator, d$part, drop = TRUE)
    fit <- aov(y ~ operator + part_in, d)
    m <- summary(fit)[[1]]$`Mean Sq`; df <- summary(fit)[[1]]$Df
    fs <- c(m[1] / m[2], m[2] / m[3])
    ps <- c(pf(fs[1], df[1], df[2], lower.tail = FALSE), pf(fs[2], df[2], df[3], lower.tail = FALSE))
    an[[1]] <- anova_rows(name, "full", fit, list(f = fs, p = ps))
    iv <- nested_intervals(m, df, p, o, r)
  }
  rows <- iv$rows
  if (layout == "crossed" && length(m) == 3) rows[["Operator*Part"]] <- NULL
  if (layout == "nested") rows[["Operator"]] <- NULL
  est <- function(w) sum(w * m)
  comp <- function(w) max(0, est(w))
  # Reported values: the zeroed components and their sums (as Minitab).
  v <- list()
  v$rep <- est(rows[["Repeatability"]]$w)
  v$pt <- comp(rows[["Part-To-Part"]]$w)
  v$op <- if (layout == "crossed") comp(rows[["Operator"]]$w) else comp(rows[["Reproducibility"]]$w)
  v$po <- if (!is.null(rows[["Operator*Part"]])) comp(rows[["Operator*Part"]]$w) else 0
  reported <- c("Total Gage R&R" = v$rep + v$op + v$po, "Repeatability" = v$rep,
                "Reproducibility" = v$op + v$po, "Operator" = v$op, "Operator*Part" = v$po,
                "Part-To-Part" = v$pt, "Total Variation" = v$rep + v$op + v$po + v$pt)
  total <- reported[["Total Variation"]]
  tot_w <- rows[["Total Variation"]]$w
  out <- do.call(rbind, lapply(names(rows), function(src) {
    x <- rows[[src]]; val <- reported[[src]]; b <- pmax(x$ci, 0)
    sh <- if (src == "Total Variation") c(NA, NA) else if (is.null(x$share))
      inverted_share(x$w, tot_w, m, df) else x$share
    data.frame(dataset = name, source = src, varcomp = val, pct_contribution = 100 * val / total,
               sd = sqrt(val), study_var = k * sqrt(val), pct_study_var = 100 * sqrt(val / total),
               pct_tolerance = 100 * k * sqrt(val) / tol,
               varcomp_lower = b[1], varcomp_upper = b[2],
               pct_contribution_lower = 100 * sh[1], pct_contribution_upper = 100 * sh[2],
               pct_study_var_lower = 100 * sqrt(sh[1]), pct_study_var_upper = 100 * sqrt(sh[2]),
               pct_tolerance_lower = 100 * k * sqrt(b[1]) / tol,
               pct_tolerance_upper = 100 * k * sqrt(b[2]) / tol,
               varcomp_method = x$vm, share_method = x$sm)
  }))
  g <- reported[["Total Gage R&R"]]; pp <- reported[["Part-To-Part"]]
  summ$ndc_value <- sqrt(2) * sqrt(pp / g)
  summ$ndc <- max(1, floor(summ$ndc_value))
  summ$ndc_lower <- iv$ndc[1]; summ$ndc_upper <- iv$ndc[2]; summ$ndc_method <- iv$ndc_method
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
