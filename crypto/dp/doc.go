// Package dp bounds each site's privacy loss: it clips an update to an L2
// bound, adds Gaussian noise in distributed form, accounts the loss in
// zero-concentrated differential privacy (zCDP) across rounds and jobs, and
// refuses a task that would exceed the site's budget.
//
// # Distributed noise
//
// Under secure aggregation the aggregator sees only the sum of at least t
// sites' updates (crypto/secagg). If the central mechanism wants noise of
// standard deviation sigma = z*C on that sum (z the noise multiplier, C the
// clip bound, the L2 sensitivity of one site's contribution), each site adds
// N(0, sigma^2/t) per coordinate: the sum over at least t survivors then
// carries variance at least sigma^2, and every site is charged
// rho = C^2/(2 sigma^2) = 1/(2 z^2) per round. Without secure aggregation a
// site's own noisy update is released, and it is charged t/(2 z^2). With c
// sites assumed to collude with the aggregator (they know their own noise),
// only t-c noise shares protect an honest site: rho = t/(2 z^2 (t-c)).
//
// The site's pipeline for one round is: ClipL2 the raw update to C,
// multiply by the pre-scaled weight (secagg.PreScale; the weight is at most
// 1, so the sensitivity stays C), AddNoise with SiteSigma, then secagg
// encodes and masks it. The weight element itself is not noised: treat the
// sites' weights as public, or give every site weight 1.
//
// # Accounting
//
// zCDP composes by adding rho. Epsilon at a given delta uses the conversion
// of Canonne, Kamath and Steinke 2020 ("The Discrete Gaussian for
// Differential Privacy", Prop. 12 / Cor. 13), which is tighter than Bun and
// Steinke 2016 (Prop. 1.3, eps = rho + 2 sqrt(rho ln(1/delta))); both are
// provided. An Accountant holds one site's spent rho in a small JSON file
// written atomically, so the budget holds across jobs and restarts. The
// site checks a whole task before it accepts it (Check) and charges each
// round before its update leaves (Charge).
//
// Limits: noise is sampled in floating point (math/rand/v2 ChaCha8 seeded
// from crypto/rand, NormFloat64), not as a discrete Gaussian, so the
// guarantees carry the usual floating-point caveats (Mironov 2012).
package dp
