# pROC side of eval's reference vectors; run by gen_reference.sh.
#   Rscript reference.R IN.json OUT.json
suppressMessages({
  library(jsonlite)
  library(pROC)
})
args <- commandArgs(trailingOnly = TRUE)
inp <- fromJSON(args[1], simplifyVector = TRUE)

mkroc <- function(s, y) {
  keep <- y == 0 | y == 1
  roc(response = y[keep], predictor = s[keep], levels = c(0, 1), direction = "<", quiet = TRUE)
}
try1 <- function(expr) tryCatch(suppressWarnings(expr), error = function(e) NULL)
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

binary <- list()
rocs <- list()
for (i in seq_len(nrow(inp$binary))) {
  c <- inp$binary[i, ]
  y <- unlist(c$labels); a <- unlist(c$a); b <- unlist(c$b)
  ra <- try1(mkroc(a, y)); rb <- try1(mkroc(b, y))
  rocs[[c$name]] <- list(a = ra, b = rb)
  r <- list(error = is.null(ra))
  if (!is.null(ra)) {
    r$auc_a <- num(auc(ra)); r$auc_b <- num(auc(rb))
    r$var_a <- num(try1(var(ra, method = "delong"))); r$var_b <- num(try1(var(rb, method = "delong")))
    r$ci_a <- num(try1(ci.auc(ra, method = "delong", conf.level = 0.95)))
    r$ci90_b <- num(try1(ci.auc(rb, method = "delong", conf.level = 0.90)))
    t <- try1(roc.test(ra, rb, method = "delong", paired = TRUE))
    if (!is.null(t)) {
      r$paired <- list(z = num(t$statistic), p = num(t$p.value), ci = num(t$conf.int))
    }
  }
  binary[[c$name]] <- r
}

unpaired <- list()
for (p in list(c("random_uncertain", "a", "large_n400", "a"), c("ties", "a", "perfect", "b"),
               c("m2n2", "a", "ties", "b"))) {
  r1 <- rocs[[p[1]]][[p[2]]]; r2 <- rocs[[p[3]]][[p[4]]]
  t <- roc.test(r1, r2, method = "delong", paired = FALSE)
  unpaired[[length(unpaired) + 1]] <- list(
    first = p[1], first_scores = p[2], second = p[3], second_scores = p[4],
    d = num(t$statistic), df = num(t$parameter), p = num(t$p.value))
}

# Bootstrap: replay pROC's resampling (one sample(1:n, replace = TRUE) per
# resample) to record the indices, then ask pROC for the CI with the same seed.
bc <- inp$bootstrap
rb <- mkroc(bc$scores, bc$labels)
n <- length(bc$scores)
set.seed(bc$seed)
draws <- t(sapply(seq_len(bc$reps), function(i) sample(1:n, replace = TRUE)))
aucs <- apply(draws, 1, function(idx) {
  yy <- bc$labels[idx]; ss <- bc$scores[idx]
  if (length(unique(yy)) < 2) return(NA)
  as.numeric(auc(roc(yy, ss, levels = c(0, 1), direction = "<", quiet = TRUE)))
})
boot <- list(draws = draws - 1L, ci = list())
for (lv in bc$levels) {
  set.seed(bc$seed)
  ci <- as.numeric(ci.auc(rb, method = "bootstrap", boot.n = bc$reps, boot.stratified = FALSE,
                          conf.level = lv, progress = "none"))
  replay <- as.numeric(quantile(aucs, c((1 - lv) / 2, 0.5, (1 + lv) / 2), na.rm = TRUE))
  if (max(abs(ci - replay)) > 1e-12) stop("replayed draws do not reproduce pROC's bootstrap CI")
  boot$ci[[length(boot$ci) + 1]] <- list(level = lv, lo = ci[1], median = ci[2], hi = ci[3])
}

out <- list(binary = binary, unpaired = unpaired, bootstrap = boot,
            versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                            pROC = as.character(packageVersion("pROC"))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null"), args[2])
