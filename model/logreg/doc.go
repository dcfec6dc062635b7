// Package logreg is a small engine-free model for exercising the federation
// end to end before the diffusion model lands: logistic regression on
// generated feature vectors, with an optional per-feature affine input layer
// ("norm.*", the layer FedBN keeps local). Each site draws its data from the
// same true decision rule but a different feature shift, so sites disagree
// and federation has something to do.
package logreg
