// Package wide is a hashed-feature logistic regression with a study-size
// weight vector (10^8 weights by default, as many as the study's U-Net
// has parameters) whose local step is cheap: every row has a few non-zero
// features, so an SGD step reads and writes only theirs, while the model
// that travels is the whole dense vector.
//
// It exists to move study-size updates through real federated rounds on
// a CPU (issue 15, make bench-scale): the coordinator, the agents, mTLS,
// chunk streams and secure aggregation carry 400 MB per site exactly as
// they would a 256-px U-Net's, and the training behind each update is
// real (log loss falls on the site's rows), only small. A U-Net step at
// that size takes minutes of CPU and about 12 GB per image (docs/scale.md),
// which ten sites on two cores cannot afford.
//
// Each site's rows are generated from (data seed, site): row r has NNZ
// features drawn by a hash, values +-1, and its label is the sign of a
// hidden consortium-wide rule (a hash of the feature) plus site noise.
package wide
