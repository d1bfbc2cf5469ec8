# References for absorbed terms (issue 16 item 14). Run from this folder:
#   Rscript reference.R
# R 4.2.2. Writes split_split_plot.csv and tie.csv (data, seeded), and
# split_split_plot_aov.csv, tie_anova.csv (R's tables) that tests/absorbed.rs reads.
set.seed(16)
# Split-split plot: blocks (random, r = 4), A whole plot (a = 3), B split plot (b = 2),
# C split-split plot (c = 2), one run per cell.
d <- expand.grid(C = 1:2, B = 1:2, A = 1:3, Block = 1:4)[, c("Block", "A", "B", "C")]
blk <- rnorm(4, 0, 2); wp <- rnorm(12, 0, 1.5); sp <- rnorm(24, 0, 1)
d$y <- round(50 + blk[d$Block] + c(0, 2, 3)[d$A] + wp[(d$Block - 1) * 3 + d$A] +
  c(0, 1.5)[d$B] + sp[((d$Block - 1) * 3 + d$A - 1) * 2 + d$B] + c(0, 1)[d$C] +
  rnorm(48, 0, 0.8), 1)
write.csv(d, "split_split_plot.csv", row.names = FALSE, quote = FALSE)
for (v in c("Block", "A", "B", "C")) d[[v]] <- factor(d[[v]])
fit <- aov(y ~ A * B * C + Error(Block / A / B), data = d)
rows <- do.call(rbind, lapply(names(summary(fit)), function(s) {
  t <- summary(fit)[[s]][[1]]
  data.frame(stratum = s, source = trimws(rownames(t)), df = t$Df,
             ss = sprintf("%.10g", t$`Sum Sq`),
             f = ifelse(is.na(t$`F value`), "", sprintf("%.10g", t$`F value`)),
             p = ifelse(is.na(t$`Pr(>F)`), "", sprintf("%.10g", t$`Pr(>F)`)))
}))
write.csv(rows, "split_split_plot_aov.csv", row.names = FALSE, quote = FALSE)

# Two kept terms contain a dropped one minimally: y ~ A + B + B:C + A:C without C.
# R's sequential ANOVA puts C's sum of squares in B:C, the first of them in the formula.
e <- expand.grid(C = 1:3, B = 1:2, A = 1:3)[, c("A", "B", "C")]
e <- e[rep(seq_len(nrow(e)), each = 2), ]
e$y <- round(10 + rnorm(3)[e$A] + rnorm(2)[e$B] + rnorm(3)[e$C] + rnorm(nrow(e)), 2)
write.csv(e, "tie.csv", row.names = FALSE, quote = FALSE)
for (v in c("A", "B", "C")) e[[v]] <- factor(e[[v]])
t <- anova(lm(y ~ A + B + B:C + A:C, data = e))
write.csv(data.frame(source = rownames(t), df = t$Df, ss = sprintf("%.10g", t$`Sum Sq`)),
          "tie_anova.csv", row.names = FALSE, quote = FALSE)
