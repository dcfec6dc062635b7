package localtrain

import (
	"context"
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
)

// LocalRound is the plan of one federated round's local training at a
// site, shared by the built-in trainers: how many steps, at which batch
// size and base learning rate, from a model.TrainSpec and the trainer's own
// defaults.
type LocalRound struct {
	// Round is the job's round (1 is the first).
	Round int
	// Steps and Batch are the number of optimiser steps and the batch size.
	Steps, Batch int
	// LR is the base learning rate (the schedule's peak).
	LR float64
}

// PlanRound returns spec's round plan: spec.BatchSize and spec.LearningRate
// when set, else batch and lr; spec.LocalSteps steps, or spec.LocalEpochs
// passes over trainLen images (one pass when both are 0).
func PlanRound(spec model.TrainSpec, batch int, lr float64, trainLen int) LocalRound {
	r := LocalRound{Round: spec.Round, Batch: batch, LR: lr, Steps: spec.LocalSteps}
	if spec.BatchSize > 0 {
		r.Batch = spec.BatchSize
	}
	if spec.LearningRate > 0 {
		r.LR = spec.LearningRate
	}
	if r.Steps <= 0 {
		r.Steps = max(spec.LocalEpochs, 1) * ((trainLen + r.Batch - 1) / max(r.Batch, 1))
	}
	return r
}

// Start prepares a for the round (optim.StartRound): zero moments, or
// with keep those of the site's previous round; the base learning rate;
// the schedule at the job's global step.
func (r LocalRound) Start(a *optim.Adam, keep *optim.RoundMoments) {
	optim.StartRound(a, keep, r.LR, r.Round, r.Steps)
}

// Run takes the round's steps: step(i) takes local step i and returns its
// loss. It checks ctx before each step and returns the mean and the last
// loss; errors name the model (what), the round and the step.
func (r LocalRound) Run(ctx context.Context, what string, step func(i int) (float64, error)) (mean, last float64, err error) {
	var sum float64
	for i := range r.Steps {
		if err := ctx.Err(); err != nil {
			return 0, 0, fmt.Errorf("%s: round %d step %d: %w", what, r.Round, i, err)
		}
		if last, err = step(i); err != nil {
			return 0, 0, fmt.Errorf("%s: round %d step %d: %w", what, r.Round, i, err)
		}
		sum += last
	}
	return sum / float64(max(r.Steps, 1)), last, nil
}

// Result is the round's model.TrainResult: a copy of w, numSamples, and the
// metrics loss (mean), last_loss and steps.
func (r LocalRound) Result(w model.Weights, numSamples int, mean, last float64) model.TrainResult {
	return model.TrainResult{
		Weights:    w.Clone(),
		NumSamples: numSamples,
		Metrics:    map[string]float64{"loss": mean, "last_loss": last, "steps": float64(r.Steps)},
	}
}
