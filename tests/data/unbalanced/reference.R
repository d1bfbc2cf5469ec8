# Reference values for tests/unbalanced.rs: Type III and Type I sums of squares, the
# expected mean squares of their mean squares (unrestricted model, trace form), the tests
# synthesized from them and the moment estimates of the variance components, on unbalanced
# data. R 4.2.2, car 3.1-1 (Debian r-cran-car). Run from the repository root:
#
#   Rscript tests/data/unbalanced/reference.R
#
# It writes the reduced data files (*.csv next to this script, from the shipped
# designs/machines.csv and designs/pastes.csv with rows removed at the seeds named below, and
# two simulated designs) and reference.csv (long format: case, ss_type, quantity, term,
# component, value; 17 significant digits). The test suite reads them and never needs R.
#
# Independent of emslab's cell-level computation: everything here is on the n observations,
# with explicit n x n projections P(X) = Q Q' of R's own model matrices (contr.sum), the
# EMS as tr(Z_k' A Z_k) / df with A = P(full) - P(without the term) (Type III) or
# P(first j terms) - P(first j - 1) (Type I), and the tests and estimates from R's solve()
# of the EMS equations. The sums of squares are checked against car::Anova(type = 3) and
# anova(lm) wherever those apply (to 1e-10), and those are what is recorded.
suppressPackageStartupMessages(library(car))
options(contrasts = c("contr.sum", "contr.poly"))
dir <- "tests/data/unbalanced"
out <- list()
add <- function(case, ss_type, quantity, term, component, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, ss_type = ss_type, quantity = quantity,
                                        term = term, component = component,
                                        value = sprintf("%.17g", value))
}
alpha <- 0.05

proj <- function(X) {
  if (ncol(X) == 0) return(matrix(0, nrow(X), nrow(X)))
  q <- qr(X, tol = 1e-7)
  Q <- qr.Q(q)[, seq_len(q$rank), drop = FALSE]
  Q %*% t(Q)
}
rank_of <- function(X) if (ncol(X) == 0) 0 else qr(X, tol = 1e-7)$rank
indicator <- function(d, factors) {
  g <- interaction(d[, factors, drop = FALSE], drop = TRUE, lex.order = TRUE)
  list(Z = model.matrix(~ 0 + g, data.frame(g = g)), g = g)
}

# A case: data d (factors already factors), response y, terms in sequential order with
# emslab's names, R labels (as in the formula), factors of each term, random flags; X and
# assign: the model matrix (intercept first) and each column's term (0 = intercept).
analyse <- function(case, d, y, terms, X, assign, type3_wanted = NULL, check_car = NULL,
                    check_anova = NULL) {
  n <- nrow(d)
  P <- proj(X)
  res_df <- n - rank_of(X)
  res_ss <- drop(t(y) %*% (diag(n) - P) %*% y)
  nt <- length(terms)
  forms <- list()
  # Type I: sequential.
  for (j in seq_len(nt)) {
    A <- proj(X[, assign <= j, drop = FALSE]) - proj(X[, assign < j, drop = FALSE])
    forms[["I"]][[j]] <- list(A = A, df = rank_of(X[, assign <= j, drop = FALSE]) -
                                rank_of(X[, assign < j, drop = FALSE]))
  }
  # Type III: the full model less the term's columns.
  for (j in seq_len(nt)) {
    A <- P - proj(X[, assign != j, drop = FALSE])
    forms[["III"]][[j]] <- list(A = A, df = rank_of(X) - rank_of(X[, assign != j, drop = FALSE]))
  }
  if (is.null(type3_wanted)) type3_wanted <- seq_len(nt)
  for (ss_type in c("I", "III")) {
    rows <- if (ss_type == "I") seq_len(nt) else type3_wanted
    ss <- sapply(rows, function(j) drop(t(y) %*% forms[[ss_type]][[j]]$A %*% y))
    df <- sapply(rows, function(j) forms[[ss_type]][[j]]$df)
    ref <- if (ss_type == "I") check_anova else check_car
    if (!is.null(ref)) {
      for (k in seq_along(rows)) {
        r <- ref[[norm_label(terms[[rows[k]]]$label)]]
        if (abs(r - ss[k]) > 1e-10 * max(1, abs(r))) stop(case, " ", ss_type, " SS of ",
          terms[[rows[k]]]$name, ": projection ", ss[k], " vs R ", r)
        ss[k] <- r
      }
      rr <- ref[["Residuals"]]
      if (abs(rr - res_ss) > 1e-10 * max(1, rr)) stop(case, " residual SS")
    }
    # EMS: trace form, one column per model term, then the Residual.
    E <- matrix(0, length(rows) + 1, nt + 1)
    for (k in seq_along(rows)) {
      A <- forms[[ss_type]][[rows[k]]]$A
      for (v in seq_len(nt)) {
        ind <- indicator(d, terms[[v]]$factors)
        Z <- ind$Z
        if (terms[[v]]$random) {
          E[k, v] <- sum(diag(t(Z) %*% A %*% Z)) / df[k]
        } else {
          # Fixed: the quadratic form of the term's sum-to-zero effects, tr(Z'AZ P_C),
          # P_C the projection on the span of the term's contrast columns over its levels.
          first <- match(levels(ind$g), as.character(ind$g))
          C <- X[first, assign == v, drop = FALSE]
          PC <- C %*% MASS::ginv(t(C) %*% C) %*% t(C)
          E[k, v] <- sum(diag(t(Z) %*% A %*% Z %*% PC)) / df[k]
        }
      }
      E[k, nt + 1] <- sum(diag(A)) / df[k]
      E[k, abs(E[k, ]) < 1e-9 * max(1, abs(E[k, ]))] <- 0
    }
    E[length(rows) + 1, nt + 1] <- 1
    ms <- c(ss / df, res_ss / res_df)
    dfs <- c(df, res_df)
    names_row <- c(sapply(rows, function(j) terms[[j]]$name), "Residual")
    names_comp <- c(sapply(terms, function(t) t$name), "Residual")
    random_comp <- c(sapply(terms, function(t) t$random), TRUE)
    for (k in seq_along(names_row)) {
      add(case, ss_type, "df", names_row[k], "", dfs[k])
      add(case, ss_type, "ss", names_row[k], "", if (k <= length(rows)) ss[k] else res_ss)
      add(case, ss_type, "ms", names_row[k], "", ms[k])
      for (v in seq_along(names_comp)) if (E[k, v] != 0)
        add(case, ss_type, "ems", names_row[k], names_comp[v], E[k, v])
    }
    # Rows and components of the random part (the Residual included).
    comp_of_row <- c(rows, nt + 1)
    rnd <- which(random_comp[comp_of_row])
    M <- E[rnd, comp_of_row[rnd], drop = FALSE]
    # Tests: the combination of the other random rows' mean squares whose expectation is
    # the row's EMS without its own component (R's solve, not back-substitution).
    for (k in seq_along(rows)) {
      v_own <- rows[k]
      target <- E[k, comp_of_row]
      target[k] <- 0
      if (any(target[!random_comp[comp_of_row]] != 0)) next
      use <- setdiff(rnd, k)
      w <- solve(t(E[use, comp_of_row[use], drop = FALSE]), target[use])
      w[abs(w) < 1e-12] <- 0
      den <- sum(w * ms[use])
      nu <- den^2 / sum((w * ms[use])^2 / dfs[use])
      f <- ms[k] / den
      for (i in seq_along(use)) if (w[i] != 0)
        add(case, ss_type, "den_weight", names_row[k], names_row[use[i]], w[i])
      add(case, ss_type, "f", names_row[k], "", f)
      add(case, ss_type, "df_den", names_row[k], "", nu)
      add(case, ss_type, "p", names_row[k], "", pf(f, dfs[k], nu, lower.tail = FALSE))
    }
    # Moment estimates: MS = M sigma2 on the random rows.
    Minv <- solve(M)
    est <- drop(Minv %*% ms[rnd])
    for (i in seq_along(rnd)) {
      a <- Minv[i, ]
      nu <- est[i]^2 / sum((a * ms[rnd])^2 / dfs[rnd])
      nm <- names_row[rnd[i]]
      add(case, ss_type, "estimate", nm, "", est[i])
      add(case, ss_type, "satterthwaite_df", nm, "", nu)
      if (est[i] > 0) {
        add(case, ss_type, "ci_lower", nm, "", nu * est[i] / qchisq(1 - alpha / 2, nu))
        add(case, ss_type, "ci_upper", nm, "", nu * est[i] / qchisq(alpha / 2, nu))
      }
    }
  }
}

# Drops k rows at a seed; stops when a cell (or, for nested data, a level) empties.
drop_rows <- function(d, k, seed, cells) {
  set.seed(seed)
  r <- d[-sample(nrow(d), k), ]
  if (any(table(interaction(r[, cells], drop = FALSE)) == 0)) stop("seed ", seed, " empties a cell")
  r
}
write_data <- function(d, file) write.csv(d, file.path(dir, file), row.names = FALSE, quote = FALSE)
term <- function(name, label, factors, random) list(name = name, label = label,
                                                    factors = factors, random = random)
formula_model <- function(d, rhs, response) {
  f <- terms(as.formula(paste(response, "~", rhs)), keep.order = TRUE)
  X <- model.matrix(f, d)
  list(f = f, X = X, assign = attr(X, "assign"))
}
# R writes a term's factors in their order in the formula (day:method as method:day).
norm_label <- function(l) paste(sort(strsplit(trimws(l), ":")[[1]]), collapse = ":")
by_label <- function(v, labels) setNames(v, sapply(labels, norm_label))
car_ss <- function(fit) { a <- Anova(fit, type = 3); by_label(a[["Sum Sq"]], rownames(a)) }
anova_ss <- function(fit) { a <- anova(fit); by_label(a[["Sum Sq"]], rownames(a)) }

# --- Machines: Machine (fixed) x Worker (random), 54 rows; 8 rows dropped (seed 1201).
machines <- read.csv("designs/machines.csv", colClasses = c("character", "character", "numeric"))
m1 <- drop_rows(machines, 8, 1201, c("Machine", "Worker"))
write_data(m1, "machines_seed1201.csv")
fac <- function(d) { for (c in names(d)[sapply(d, is.character)]) d[[c]] <- factor(d[[c]]); d }
m1 <- fac(m1)
mt <- list(term("Machine", "Machine", "Machine", FALSE), term("Worker", "Worker", "Worker", TRUE),
           term("Machine:Worker", "Machine:Worker", c("Machine", "Worker"), TRUE))
mm <- formula_model(m1, "Machine + Worker + Machine:Worker", "score")
fit <- lm(mm$f, m1)
analyse("machines_seed1201", m1, m1$score, mt, mm$X, mm$assign,
        check_car = car_ss(fit), check_anova = anova_ss(fit))

# --- The same data, the interaction dropped from the term list (pooled into the Residual:
# lack of fit plus pure error).
ma <- formula_model(m1, "Machine + Worker", "score")
fit <- lm(ma$f, m1)
analyse("machines_additive", m1, m1$score, mt[1:2], ma$X, ma$assign,
        check_car = car_ss(fit), check_anova = anova_ss(fit))

# --- Machines with the cell (Machine C, Worker 6) empty and 5 more rows dropped (seed 1203):
# Type III only for Machine:Worker (Machine and Worker are in it); Type I for all.
m3 <- machines[!(machines$Machine == "C" & machines$Worker == "6"), ]
set.seed(1203)
m3 <- m3[-sample(nrow(m3), 5), ]
write_data(m3, "machines_empty_cell.csv")
m3 <- fac(m3)
mm3 <- formula_model(m3, "Machine + Worker + Machine:Worker", "score")
fit <- lm(mm3$f, m3)
red <- lm(score ~ Machine + Worker, m3)
analyse("machines_empty_cell", m3, m3$score, mt, mm3$X, mm3$assign, type3_wanted = 3,
        check_car = by_label(c(anova(red, fit)[["Sum of Sq"]][2], deviance(fit)),
                             c("Machine:Worker", "Residuals")),
        check_anova = anova_ss(fit))

# --- Pastes: cask (random) nested in batch (random), 60 rows; 9 dropped (seed 1203), no cask
# left without data (casks a, b, c restart within each batch: R's batch:cask is nested).
pastes <- read.csv("designs/pastes.csv", colClasses = c("character", "character", "numeric"))
p1 <- drop_rows(pastes, 9, 1203, c("batch", "cask"))
write_data(p1, "pastes_seed1203.csv")
p1 <- fac(p1)
pt <- list(term("batch", "batch", "batch", TRUE),
           term("cask(batch)", "batch:cask", c("batch", "cask"), TRUE))
pm <- formula_model(p1, "batch + batch:cask", "strength")
fit <- lm(pm$f, p1)
analyse("pastes_seed1203", p1, p1$strength, pt, pm$X, pm$assign,
        check_car = car_ss(fit), check_anova = anova_ss(fit))

# --- Pastes with every row of cask c in batch A dropped and 6 more (seed 1204): batch A has
# 2 casks, the others 3. R's contr.sum on a restarting cask label would alias batch A's
# casks with batch A, so the nested columns are built here: contr.sum over the casks present
# within each batch.
p2 <- pastes[!(pastes$batch == "A" & pastes$cask == "c"), ]
set.seed(1204)
p2 <- p2[-sample(nrow(p2), 6), ]
if (any(table(interaction(p2$batch, p2$cask, drop = TRUE)) == 0)) stop("empty cask")
write_data(p2, "pastes_missing_cask.csv")
p2 <- fac(p2)
Xb <- model.matrix(~ batch, p2)
nest <- do.call(cbind, lapply(levels(p2$batch), function(b) {
  casks <- factor(as.character(p2$cask[p2$batch == b]))
  C <- contr.sum(nlevels(casks))
  out <- matrix(0, nrow(p2), ncol(C))
  out[p2$batch == b, ] <- C[as.integer(casks), , drop = FALSE]
  out
}))
X2 <- cbind(Xb, nest)
a2 <- c(attr(Xb, "assign"), rep(2, ncol(nest)))
fit <- lm(strength ~ batch + batch:cask, p2)
analyse("pastes_missing_cask", p2, p2$strength, pt, X2, a2, check_anova = anova_ss(fit))

# --- Nested factorial (Montgomery Example 14.2's structure): fixture (fixed, 3) x
# operator (random, 4 within each layout) nested in layout (fixed, 2), 2 replicates,
# simulated (seed 1205) and rounded to 0.1; 7 rows dropped (seed 1206).
set.seed(1205)
g <- expand.grid(rep = 1:2, operator = 1:4, layout = 1:2, fixture = 1:3)
op <- rnorm(8, 0, 1.5); fo <- rnorm(24, 0, 1)
g$time <- round(20 + c(0, 2, -2)[g$fixture] + c(0, 1.5)[g$layout] +
                  op[(g$layout - 1) * 4 + g$operator] +
                  fo[((g$fixture - 1) * 2 + g$layout - 1) * 4 + g$operator] + rnorm(nrow(g)), 1)
nf <- data.frame(fixture = paste0("F", g$fixture), layout = paste0("L", g$layout),
                 operator = g$operator, time = g$time)
nf1 <- drop_rows(nf, 7, 1206, c("fixture", "layout", "operator"))
write_data(nf1, "nested_factorial_seed1206.csv")
nf1$operator <- as.character(nf1$operator)
nf1 <- fac(nf1)
nt <- list(term("fixture", "fixture", "fixture", FALSE),
           term("layout", "layout", "layout", FALSE),
           term("fixture:layout", "fixture:layout", c("fixture", "layout"), FALSE),
           term("operator(layout)", "layout:operator", c("layout", "operator"), TRUE),
           term("fixture:operator(layout)", "fixture:layout:operator",
                c("fixture", "layout", "operator"), TRUE))
nm <- formula_model(nf1, "fixture + layout + fixture:layout + layout:operator + fixture:layout:operator", "time")
fit <- lm(nm$f, nf1)
analyse("nested_factorial", nf1, nf1$time, nt, nm$X, nm$assign,
        check_car = car_ss(fit), check_anova = anova_ss(fit))

# --- A term absorbed by a kept term: day (random, 3) x method (fixed, 3) x temperature
# (fixed, 4), 2 replicates, with day:temperature left out of the term list, so the kept
# day:method:temperature carries it (R codes method by indicators there); simulated (seed
# 1207), rounded to 0.1, 10 rows dropped (seed 1208).
set.seed(1207)
g <- expand.grid(rep = 1:2, temperature = 1:4, method = 1:3, day = 1:3)
dy <- rnorm(3, 0, 2); dm <- rnorm(9, 0, 1); dt <- rnorm(12, 0, 0.7); dmt <- rnorm(36, 0, 0.5)
g$y <- round(36 + c(-1, 0, 1)[g$method] + c(-2, -1, 1, 2)[g$temperature] + dy[g$day] +
               dm[(g$day - 1) * 3 + g$method] + dt[(g$day - 1) * 4 + g$temperature] +
               dmt[((g$day - 1) * 3 + g$method - 1) * 4 + g$temperature] + rnorm(nrow(g)), 1)
sp <- data.frame(day = paste0("D", g$day), method = paste0("M", g$method),
                 temperature = paste0("T", g$temperature), y = g$y)
sp1 <- drop_rows(sp, 10, 1208, c("day", "method", "temperature"))
write_data(sp1, "absorbed_seed1208.csv")
sp1 <- fac(sp1)
st <- list(term("method", "method", "method", FALSE),
           term("temperature", "temperature", "temperature", FALSE),
           term("method:temperature", "method:temperature", c("method", "temperature"), FALSE),
           term("day", "day", "day", TRUE),
           term("day:method", "day:method", c("day", "method"), TRUE),
           term("day:method:temperature", "day:method:temperature",
                c("day", "method", "temperature"), TRUE))
sm <- formula_model(sp1, "method + temperature + method:temperature + day + day:method + day:method:temperature", "y")
fit <- lm(sm$f, sp1)
analyse("absorbed", sp1, sp1$y, st, sm$X, sm$assign,
        check_car = car_ss(fit), check_anova = anova_ss(fit))

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "reference.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", nrow(res), "rows\n")
