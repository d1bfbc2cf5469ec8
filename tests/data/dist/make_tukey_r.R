# R's ptukey at the points of tukey.csv (written by make_reference.py), for tests/dist.rs.
# Run from this folder: Rscript make_tukey_r.R   (R 4.2.2)
# Writes tukey_r.csv: k, df, q, r_cdf = ptukey(q, k, df). R requires df >= 2; rows with
# df < 2 are left out.
pts <- read.csv("tukey.csv")
pts <- pts[pts$df >= 2, ]
out <- data.frame(k = pts$k, df = pts$df, q = pts$q,
                  r_cdf = sprintf("%.17g", ptukey(pts$q, pts$k, pts$df)))
write.csv(out, "tukey_r.csv", row.names = FALSE, quote = FALSE)
