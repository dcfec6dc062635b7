package model

import "context"

// TrainSpec is what a coordinator asks of one site for one round of local
// training. Fields a trainer does not understand are ignored by it.
type TrainSpec struct {
	// JobID and Round identify the request, for logs and seeds.
	JobID string
	Round int
	// LocalSteps is the number of optimiser steps to take (0: use LocalEpochs).
	LocalSteps int
	// LocalEpochs is the number of passes over the local data when LocalSteps is 0.
	LocalEpochs int
	// BatchSize and LearningRate override the trainer's defaults when non-zero.
	BatchSize    int
	LearningRate float64
	// ProxMu is the FedProx proximal coefficient; 0 disables the term.
	ProxMu float64
	// Seed makes the local step deterministic (data order, noise, dropout).
	Seed int64
	// Params carries trainer-specific options as text.
	Params map[string]string
}

// TrainResult is one site's answer to a TrainSpec.
type TrainResult struct {
	// Weights are the locally trained weights (the full model, not a delta).
	Weights Weights
	// NumSamples is the number of local examples behind the update, used as
	// the FedAvg weight.
	NumSamples int
	// Metrics are scalar training metrics, for example "loss".
	Metrics map[string]float64
}

// Trainer trains a model on a site's local data. Implementations live in the
// engine subpackages (a DDPM trainer, a classifier trainer) and in simple
// built-in models; the site agent drives them without knowing which.
type Trainer interface {
	// Init returns freshly initialised weights for seed. Every site given the
	// same seed returns identical weights.
	Init(ctx context.Context, seed int64) (Weights, error)
	// Train starts from global and returns locally trained weights. It stops
	// early with ctx's error when ctx is cancelled.
	Train(ctx context.Context, global Weights, spec TrainSpec) (TrainResult, error)
	// Evaluate scores weights on the site's local validation data.
	Evaluate(ctx context.Context, w Weights) (map[string]float64, error)
}
