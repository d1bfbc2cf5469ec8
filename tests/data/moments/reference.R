# Reference values for tests/moments.rs and tests/analyze_cli.rs: ANOVA tables, F tests
# (exact and quasi-F with Satterthwaite df, F' and F''), method-of-moments variance
# components with their Satterthwaite df, chi-square and modified large-sample (MLS)
# intervals, standard errors and the intraclass correlation, and `--negative pool`
# (refits of the reduced model), on balanced data. R 4.2.2, base R only. Run from the
# repository root:
#
#   Rscript tests/data/moments/reference.R
#
# It writes, next to this script: two simulated data sets (three_factor_random.csv for
# designs/three_factor_random.toml, three_factor_mixed.csv for designs/three_factor_mixed.toml;
# the seeds are below), published-style summary tables (term,df,ms) of four of the analyses
# (*_summary.csv), and reference.csv (long format: case, quantity, term, other, value; 17
# significant digits). The test suite reads them and never needs R.
#
# Independent of emslab's subscript-table rules: the sums of squares come from R's
# sequential anova(lm()) (balanced data, so the order of the terms does not matter); the
# expected mean squares of the unrestricted (and all-random) models are computed from the
# observations by the trace form E(MS_t) = sigma^2 + sum_k tr(Z_k' A_t Z_k) / df_t sigma^2_k,
# A_t the projection whose quadratic form is SS_t, Z_k the indicator matrix of term k's cells;
# those of the restricted models are written out from Montgomery (Design and Analysis of
# Experiments, 8th ed.: §13.3, the two-factor mixed model; §13.6, the three-factor mixed
# model, restricted form). Test
# denominators are found by solving for a combination of the other mean squares whose
# expectation is E(MS_t) without t's own component (exact when it is one mean square), the
# estimators by solving the EMS equations (solve()), and the intervals from the formulas:
#   Satterthwaite df  nu = (sum a_i MS_i)^2 / sum (a_i MS_i)^2 / df_i;
#   chi-square        [nu est / qchisq(0.975, nu), nu est / qchisq(0.025, nu)];
#   MLS               Ting, Burdick, Graybill, Jeyaratnam and Lu (1990), as printed in
#                     Burdick and Graybill (1992), Confidence Intervals on Variance
#                     Components, section 3.3 (Graybill and Wang 1980 for sums);
#   standard error    sqrt(2 sum a_i^2 MS_i^2 / (df_i + 2));
#   ICC interval      Searle, Casella and McCulloch (1992) eq. 3.51:
#                     [(F/F_u - 1)/(F/F_u + n - 1), (F/F_l - 1)/(F/F_l + n - 1)].
# `--negative pool` is the rule stated in the README: pool the negative estimate of highest
# order (exact denominator only) into its denominator, refit, repeat; here each refit is the
# reduced model fitted from scratch (the pooled terms left out of the lm formula).
options(contrasts = c("contr.sum", "contr.poly"))
dir <- "tests/data/moments"
out <- list()
add <- function(case, quantity, term, other, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, quantity = quantity, term = term,
                                        other = other, value = sprintf("%.17g", value))
}
alpha <- 0.05

proj <- function(X) {
  if (ncol(X) == 0) return(matrix(0, nrow(X), nrow(X)))
  q <- qr(X, tol = 1e-9)
  Q <- qr.Q(q)[, seq_len(q$rank), drop = FALSE]
  Q %*% t(Q)
}
cells <- function(d, factors) {
  g <- interaction(d[, factors, drop = FALSE], drop = TRUE, lex.order = TRUE)
  model.matrix(~ 0 + g, data.frame(g = g))
}

# The ANOVA and the trace-form EMS of a balanced data set. `terms`: list of
# list(name = emslab's name, label = R's term label, factors = factors of its cells,
# random = TRUE/FALSE), in an order where every term follows the terms it contains.
anova_ems <- function(d, y, terms) {
  n <- nrow(d)
  f <- reformulate(sapply(terms, `[[`, "label"), response = "y")
  fit <- lm(f, data = cbind(d, y = y))
  a <- anova(fit)
  X <- model.matrix(fit)
  assign <- attr(X, "assign")
  nt <- length(terms)
  rows <- data.frame(name = c(sapply(terms, `[[`, "name"), "Residual"),
                     df = a[["Df"]], ss = a[["Sum Sq"]], stringsAsFactors = FALSE)
  stopifnot(all(rownames(a)[seq_len(nt)] == sapply(terms, `[[`, "label")))
  rows$ms <- rows$ss / rows$df
  random <- c(sapply(terms, `[[`, "random"), TRUE)
  # EMS coefficients: rows = mean squares, columns = random terms and the Residual.
  comp <- which(random)
  C <- matrix(0, nt + 1, length(comp), dimnames = list(rows$name, rows$name[comp]))
  Zs <- lapply(comp, function(k) if (k > nt) diag(n) else cells(d, terms[[k]]$factors))
  for (j in seq_len(nt + 1)) {
    A <- if (j > nt) diag(n) - proj(X) else
      proj(X[, assign <= j, drop = FALSE]) - proj(X[, assign < j, drop = FALSE])
    df <- rows$df[j]
    stopifnot(abs(sum(diag(A)) - df) < 1e-9)
    stopifnot(abs(drop(t(y) %*% A %*% y) - rows$ss[j]) < 1e-9 * max(1, rows$ss[j]))
    for (i in seq_along(comp)) C[j, i] <- sum(diag(t(Zs[[i]]) %*% A %*% Zs[[i]])) / df
  }
  C[abs(C) < 1e-9] <- 0
  C <- round(C, 9)  # the coefficients are integers or simple fractions of the layout
  list(rows = rows, random = random, C = C)
}

# A combination of mean squares (other than row t) whose expectation is E(MS_t) without
# t's own component: the rows whose components are a subset of t's, solved by least
# squares and checked exact. NULL when there is none.
denominator <- function(C, random, t) {
  target <- C[t, ]
  if (random[t]) target[rownames(C)[t]] <- 0
  own <- which(target != 0)
  cand <- setdiff(which(random & apply(C, 1, function(r) all(which(r != 0) %in% own))), t)
  if (length(cand) == 0) return(NULL)
  M <- t(C[cand, , drop = FALSE])
  w <- qr.solve(M, target, tol = 1e-12)
  if (max(abs(M %*% w - target)) > 1e-9) return(NULL)
  snap(w)
}
# Solutions of the EMS equations are simple rationals; a solve leaves them a few ulps off.
# Snap to the nearest multiple of 1/720720 (every denominator up to 16 divides it) when
# within 1e-10, and drop zeros.
snap <- function(w) {
  r <- round(w * 720720) / 720720
  w[abs(w - r) < 1e-10] <- r[abs(w - r) < 1e-10]
  w[abs(w) > 1e-12]
}

satt <- function(w, ms, df) sum(w * ms)^2 / sum((w * ms)^2 / df)

# MLS interval on sum(w * ms) (Burdick and Graybill 1992, section 3.3), bounds not clipped.
mls <- function(w, ms, df) {
  a <- alpha / 2
  pos <- which(w > 0); neg <- which(w < 0)
  cs <- abs(w * ms)
  G <- 1 - 1 / (qchisq(1 - a, df) / df)
  H <- 1 / (qchisq(a, df) / df) - 1
  P <- length(pos); Q <- length(pos) + length(neg)
  vl <- sum(G[pos]^2 * cs[pos]^2) + sum(H[neg]^2 * cs[neg]^2)
  vu <- sum(H[pos]^2 * cs[pos]^2) + sum(G[neg]^2 * cs[neg]^2)
  for (q in pos) for (r in neg) {
    F1 <- qf(1 - a, df[q], df[r]); F2 <- qf(a, df[q], df[r])
    vl <- vl + ((F1 - 1)^2 - G[q]^2 * F1^2 - H[r]^2) / F1 * cs[q] * cs[r]
    vu <- vu + ((1 - F2)^2 - H[q]^2 * F2^2 - G[r]^2) / F2 * cs[q] * cs[r]
  }
  star <- function(i, j) {
    ni <- df[i]; nj <- df[j]
    (1 - 1 / (qchisq(1 - a, ni + nj) / (ni + nj)))^2 * (ni + nj)^2 / (ni * nj) -
      G[i]^2 * ni / nj - G[j]^2 * nj / ni
  }
  if (P > 1) for (x in seq_len(P - 1)) for (z in (x + 1):P)
    vl <- vl + star(pos[x], pos[z]) / (P - 1) * cs[pos[x]] * cs[pos[z]]
  if (Q - P > 1) for (x in seq_len(Q - P - 1)) for (z in (x + 1):(Q - P))
    vu <- vu + star(neg[x], neg[z]) / (Q - P - 1) * cs[neg[x]] * cs[neg[z]]
  est <- sum(w * ms)
  c(est - sqrt(max(vl, 0)), est + sqrt(max(vu, 0)))
}

# Tests and components of one analysis (rows: name, df, ms; C: EMS coefficients over the
# random components; random: per row). Writes everything under `case`.
record <- function(case, rows, C, random) {
  ms <- setNames(rows$ms, rows$name)
  df <- setNames(rows$df, rows$name)
  for (j in seq_len(nrow(rows))) {
    nm <- rows$name[j]
    add(case, "df", nm, "", rows$df[j])
    if (!is.null(rows$ss)) add(case, "ss", nm, "", rows$ss[j])
    add(case, "ms", nm, "", rows$ms[j])
    if (nm == "Residual") next
    w <- denominator(C, random, j)
    if (is.null(w)) next
    for (v in names(w)) add(case, "den_weight", nm, v, w[[v]])
    den <- sum(w * ms[names(w)])
    nu <- satt(w, ms[names(w)], df[names(w)])
    f <- ms[[nm]] / den
    add(case, "df_den", nm, "", nu)
    add(case, "f", nm, "", f)
    add(case, "p", nm, "", pf(f, df[[nm]], nu, lower.tail = FALSE))
    if (any(w < 0)) {
      # F'': the negative part of the denominator joins the numerator.
      nw <- c(setNames(1, nm), -w[w < 0]); dw <- w[w > 0]
      n1 <- satt(nw, ms[names(nw)], df[names(nw)]); n2 <- satt(dw, ms[names(dw)], df[names(dw)])
      f2 <- sum(nw * ms[names(nw)]) / sum(dw * ms[names(dw)])
      add(case, "f2", nm, "", f2)
      add(case, "f2_df_num", nm, "", n1)
      add(case, "f2_df_den", nm, "", n2)
      add(case, "f2_p", nm, "", pf(f2, n1, n2, lower.tail = FALSE))
    }
  }
  # Estimators: the EMS equations of the random rows, solved.
  rr <- which(random)
  Cinv <- solve(C[rr, , drop = FALSE])
  ests <- c()
  for (i in seq_len(ncol(C))) {
    nm <- colnames(C)[i]
    w <- Cinv[i, ]; names(w) <- rows$name[rr]; w <- snap(w)
    est <- sum(w * ms[names(w)])
    ests[nm] <- est
    for (v in names(w)) add(case, "est_weight", nm, v, w[[v]])
    nu <- satt(w, ms[names(w)], df[names(w)])
    add(case, "estimate", nm, "", est)
    add(case, "satterthwaite_df", nm, "", nu)
    add(case, "se", nm, "", sqrt(sum(2 * (w * ms[names(w)])^2 / (df[names(w)] + 2))))
    if (est > 0) {
      add(case, "ci_lower", nm, "", nu * est / qchisq(1 - alpha / 2, nu))
      add(case, "ci_upper", nm, "", nu * est / qchisq(alpha / 2, nu))
    }
    if (length(w) > 1) {
      b <- mls(w, ms[names(w)], df[names(w)])
      add(case, "mls_lower", nm, "", max(b[1], 0))
      add(case, "mls_upper", nm, "", max(b[2], 0))
    }
  }
  invisible(ests)
}

# `--negative pool` by refits: drop the negative term of highest order whose denominator is
# one mean square, refit the reduced model, repeat. Returns the pooled term names in order.
pool_chain <- function(case, d, y, terms) {
  pooled <- c()
  repeat {
    ae <- anova_ems(d, y, terms)
    r <- ae$rows; C <- ae$C
    rr <- which(ae$random)
    est <- drop(solve(C[rr, , drop = FALSE]) %*% r$ms[rr])
    names(est) <- colnames(C)
    order_of <- function(nm) if (nm == "Residual") Inf else
      length(terms[[which(sapply(terms, `[[`, "name") == nm)]]$factors)
    neg <- names(est)[est < 0 & names(est) != "Residual"]
    exact <- Filter(function(nm) {
      w <- denominator(C, ae$random, which(r$name == nm))
      length(w) == 1 && w[[1]] == 1
    }, neg)
    if (length(exact) == 0) break
    # Highest order first; among equals the later term.
    ord <- sapply(exact, order_of)
    pick <- exact[order(-ord, -match(exact, r$name))][1]
    into <- names(denominator(C, ae$random, which(r$name == pick)))
    add(case, "pool_step", pick, into, est[[pick]])
    pooled <- c(pooled, pick)
    add(case, "pool_order", pick, "", length(pooled))
    terms <- Filter(function(t) t$name != pick, terms)
  }
  ae <- anova_ems(d, y, terms)
  record(case, ae$rows, ae$C, ae$random)
  invisible(pooled)
}

term <- function(name, label, factors, random) {
  list(name = name, label = label, factors = factors, random = random)
}
read_shipped <- function(name) {
  d <- read.csv(file.path("designs", paste0(name, ".csv")), colClasses = "character")
  d
}
summary_csv <- function(file, rows) {
  write.table(data.frame(term = rows$name, df = rows$df, ms = sprintf("%.17g", rows$ms)),
              file.path(dir, file), sep = ",", quote = FALSE, row.names = FALSE)
}

# ---- the shipped data sets -----------------------------------------------------------------

d <- read_shipped("dyestuff"); d$Batch <- factor(d$Batch)
ae <- anova_ems(d["Batch"], as.numeric(d$Yield), list(term("Batch", "Batch", "Batch", TRUE)))
e <- record("dyestuff", ae$rows, ae$C, ae$random)
add("dyestuff", "grand_mean", "", "", mean(as.numeric(d$Yield)))
# ICC of the one-way random model with n = 5 per batch.
Fb <- ae$rows$ms[1] / ae$rows$ms[2]
add("dyestuff", "icc", "Batch", "", e[["Batch"]] / (e[["Batch"]] + e[["Residual"]]))
fl <- Fb / qf(1 - alpha / 2, 5, 24); fu <- Fb / qf(alpha / 2, 5, 24)
add("dyestuff", "icc_lower", "Batch", "", (fl - 1) / (fl + 4))
add("dyestuff", "icc_upper", "Batch", "", (fu - 1) / (fu + 4))

d <- read_shipped("dyestuff2"); d$Batch <- factor(d$Batch)
ae <- anova_ems(d["Batch"], as.numeric(d$Yield), list(term("Batch", "Batch", "Batch", TRUE)))
record("dyestuff2", ae$rows, ae$C, ae$random)
add("dyestuff2", "grand_mean", "", "", mean(as.numeric(d$Yield)))

d <- read_shipped("pastes"); d$batch <- factor(d$batch); d$cask <- factor(d$cask)
pastes_terms <- list(term("batch", "batch", "batch", TRUE),
                     term("cask(batch)", "batch:cask", c("batch", "cask"), TRUE))
ae <- anova_ems(d[c("batch", "cask")], as.numeric(d$strength), pastes_terms)
record("pastes", ae$rows, ae$C, ae$random)
add("pastes", "grand_mean", "", "", mean(as.numeric(d$strength)))
# The same at alpha = 0.10 (90% intervals; the app's alpha setting).
alpha <- 0.10
record("pastes_alpha10", ae$rows, ae$C, ae$random)
alpha <- 0.05

d <- read_shipped("machines"); d$Machine <- factor(d$Machine); d$Worker <- factor(d$Worker)
machines_terms <- list(term("Machine", "Machine", "Machine", FALSE),
                       term("Worker", "Worker", "Worker", TRUE),
                       term("Machine:Worker", "Machine:Worker", c("Machine", "Worker"), TRUE))
ae <- anova_ems(d[c("Machine", "Worker")], as.numeric(d$score), machines_terms)
record("machines_unrestricted", ae$rows, ae$C, ae$random)
add("machines_unrestricted", "grand_mean", "", "", mean(as.numeric(d$score)))
summary_csv("machines_summary.csv", ae$rows)
# Restricted model (Montgomery §13.3; a = 3 machines, b = 6 workers, n = 3): E(MS_B) =
# s^2 + a n s^2_B, E(MS_AB) = s^2 + n s^2_AB (the interaction's variance as the restricted
# model defines it).
Cr <- ae$C
Cr["Worker", ] <- c(9, 0, 1); Cr["Machine:Worker", ] <- c(0, 3, 1)
record("machines_restricted", ae$rows, Cr, ae$random)
pool_chain("machines_unrestricted_pool", d[c("Machine", "Worker")], as.numeric(d$score),
           machines_terms)

d <- read_shipped("montgomery_gauge"); d$part <- factor(d$part); d$operator <- factor(d$operator)
gauge_terms <- list(term("part", "part", "part", TRUE),
                    term("operator", "operator", "operator", TRUE),
                    term("part:operator", "part:operator", c("part", "operator"), TRUE))
ae <- anova_ems(d[c("part", "operator")], as.numeric(d$measurement), gauge_terms)
record("montgomery_gauge", ae$rows, ae$C, ae$random)
add("montgomery_gauge", "grand_mean", "", "", mean(as.numeric(d$measurement)))
summary_csv("montgomery_gauge_summary.csv", ae$rows)
pool_chain("montgomery_gauge_pool", d[c("part", "operator")], as.numeric(d$measurement),
           gauge_terms)

# Pigment paste (Box, Hunter and Hunter, Statistics for Experimenters, 2nd ed., section 9.3):
# only the mean squares are published (df 14/15/30, MS 86.495/57.983/0.917). The EMS
# come from the trace form on the layout (15 batches x 2 samples x 2 tests; y does not enter).
layout <- expand.grid(test = 1:2, sample = factor(1:2), batch = factor(1:15))
ae <- anova_ems(layout[c("batch", "sample")], seq_len(60),
                list(term("batch", "batch", "batch", TRUE),
                     term("sample(batch)", "batch:sample", c("batch", "sample"), TRUE)))
pig <- data.frame(name = c("batch", "sample(batch)", "Residual"), df = c(14, 15, 30),
                  ms = c(86.495, 57.983, 0.917), stringsAsFactors = FALSE)
stopifnot(all(ae$rows$df == pig$df))
record("pigment_paste", pig, ae$C, ae$random)

# ---- simulated three-factor designs (quasi-F tests) ------------------------------------------

# Balanced data for a crossed design with the given level counts and replicates: random
# effects normal with the given variances, fixed effects as given; responses rounded to 0.01.
simulate <- function(levels, n, sigma2, fixed) {
  grid <- expand.grid(rep = seq_len(n), C = seq_len(levels[3]), B = seq_len(levels[2]),
                      A = seq_len(levels[1]))
  grid <- grid[c("A", "B", "C", "rep")]
  y <- rep(50, nrow(grid))
  for (nm in names(sigma2)) {
    fs <- if (nm == "Residual") c("A", "B", "C", "rep") else strsplit(nm, ":")[[1]]
    key <- interaction(grid[fs], drop = TRUE, lex.order = TRUE)
    eff <- rnorm(nlevels(key), 0, sqrt(sigma2[[nm]]))
    y <- y + eff[as.integer(key)]
  }
  for (nm in names(fixed)) y <- y + fixed[[nm]][grid[[nm]]]
  d <- data.frame(A = paste0("a", grid$A), B = paste0("b", grid$B), C = paste0("c", grid$C),
                  y = round(y, 2))
  d
}
abc_terms <- function(random) {
  list(term("A", "A", "A", random[1]), term("B", "B", "B", random[2]),
       term("C", "C", "C", random[3]),
       term("A:B", "A:B", c("A", "B"), random[1] || random[2]),
       term("A:C", "A:C", c("A", "C"), random[1] || random[3]),
       term("B:C", "B:C", c("B", "C"), random[2] || random[3]),
       term("A:B:C", "A:B:C", c("A", "B", "C"), TRUE))
}
as_factors <- function(d) { for (f in c("A", "B", "C")) d[[f]] <- factor(d[[f]]); d }

# Three-factor random (designs/three_factor_random.toml: a = 3, b = 4, c = 2, n = 2), with
# sigma^2_AB = sigma^2_ABC = 0: the first seed from 1 at which every F' denominator is
# positive and `--negative pool` pools two terms in a chain (the second pooled into the row
# the first was pooled into).
for (seed in 1:1000) {
  set.seed(seed)
  d <- simulate(c(3, 4, 2), 2, c(A = 4, B = 2, C = 3, `A:B` = 0, `A:C` = 1, `B:C` = 1.5,
                                  `A:B:C` = 0, Residual = 1), list())
  df3 <- as_factors(d)
  ae <- anova_ems(df3[c("A", "B", "C")], d$y, abc_terms(c(TRUE, TRUE, TRUE)))
  ms <- setNames(ae$rows$ms, ae$rows$name)
  dens <- c(ms[["A:B"]] + ms[["A:C"]] - ms[["A:B:C"]], ms[["A:B"]] + ms[["B:C"]] - ms[["A:B:C"]],
            ms[["A:C"]] + ms[["B:C"]] - ms[["A:B:C"]])
  if (any(dens <= 0)) next
  out_before <- out
  chain <- pool_chain("probe", df3[c("A", "B", "C")], d$y, abc_terms(c(TRUE, TRUE, TRUE)))
  out <- out_before
  if (length(chain) >= 2) break
}
random_seed <- seed
write.csv(d, file.path(dir, "three_factor_random.csv"), row.names = FALSE, quote = FALSE)
record("three_factor_random", ae$rows, ae$C, ae$random)
summary_csv("three_factor_random_summary.csv", ae$rows)
pool_chain("three_factor_random_pool", df3[c("A", "B", "C")], d$y,
           abc_terms(c(TRUE, TRUE, TRUE)))

# Three-factor mixed (designs/three_factor_mixed.toml: A fixed a = 3, B random b = 4,
# C random c = 5, n = 2), sigma^2_ABC = 0, A effects -1, 0, 1: the first seed from 1 at which
# every F' denominator is positive and the A:B:C estimate is negative (pooled in the
# unrestricted model).
for (seed in 1:1000) {
  set.seed(seed)
  d <- simulate(c(3, 4, 5), 2, c(B = 2, C = 1, `A:B` = 0.5, `A:C` = 0.8, `B:C` = 0.6,
                                  `A:B:C` = 0, Residual = 1), list(A = c(-1, 0, 1)))
  dfm <- as_factors(d)
  ae <- anova_ems(dfm[c("A", "B", "C")], d$y, abc_terms(c(FALSE, TRUE, TRUE)))
  ms <- setNames(ae$rows$ms, ae$rows$name)
  dens <- c(ms[["A:B"]] + ms[["A:C"]] - ms[["A:B:C"]], ms[["A:B"]] + ms[["B:C"]] - ms[["A:B:C"]],
            ms[["A:C"]] + ms[["B:C"]] - ms[["A:B:C"]])
  if (any(dens <= 0) || ms[["A:B:C"]] >= ms[["Residual"]]) next
  break
}
mixed_seed <- seed
write.csv(d, file.path(dir, "three_factor_mixed.csv"), row.names = FALSE, quote = FALSE)
record("three_factor_mixed_unrestricted", ae$rows, ae$C, ae$random)
summary_csv("three_factor_mixed_summary.csv", ae$rows)
pool_chain("three_factor_mixed_unrestricted_pool", dfm[c("A", "B", "C")], d$y,
           abc_terms(c(FALSE, TRUE, TRUE)))
# Restricted model (Montgomery §13.6, A fixed; a = 3, b = 4, c = 5, n = 2): the B, C
# and B:C rows lose the interactions with A. Columns: B, C, A:B, A:C, B:C, A:B:C, Residual.
Cr <- ae$C
Cr["B", ] <- c(30, 0, 0, 0, 6, 0, 1)
Cr["C", ] <- c(0, 24, 0, 0, 6, 0, 1)
Cr["B:C", ] <- c(0, 0, 0, 0, 6, 0, 1)
stopifnot(all(Cr["A:B", ] == c(0, 0, 10, 0, 0, 2, 1)), all(Cr["A:C", ] == c(0, 0, 0, 8, 0, 2, 1)))
record("three_factor_mixed_restricted", ae$rows, Cr, ae$random)

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "reference.csv"), row.names = FALSE, quote = FALSE)
cat("seeds:", random_seed, mixed_seed, "\n")
