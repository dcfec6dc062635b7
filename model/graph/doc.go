// Package graph holds the gorgonia plumbing the engine packages share:
// a Builder that creates named parameter nodes bound to model.Weights (so a
// graph trains the very slices the weights hold), a Recipe that records an
// architecture's graph to give its tensor specs and initial weights
// (arch.go), deterministic parameter initialisation, and a Program that
// runs a compiled training or inference graph and hands its gradients to
// model/optim.
package graph
