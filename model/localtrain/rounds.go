package localtrain

import (
	"encoding/json"
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
)

// Stepper is a model's training stepper as Rounds uses it: one compiled
// training graph for a batch size, whose weights Load replaces and whose
// Updater holds the optimiser, the EMA and the proximal term.
type Stepper interface {
	// Load copies a model's values into the live weights.
	Load(model.Weights) error
	// Weights returns the live weights (shared, not copied).
	Weights() model.Weights
	// Updater returns the stepper's update rule and its state.
	Updater() *graph.Updater
	// Reseed restarts the stepper's random draws for a job seed and round.
	Reseed(seed int64, round int)
}

// NewStepperFunc builds a stepper for batch size batch training w in place,
// its random draws seeded with seed.
type NewStepperFunc[S Stepper] func(batch int, w model.Weights, seed int64) (S, error)

// Rounds is the state a site's trainer keeps across a job's rounds: the
// stepper for the current batch size (rebuilt when the batch size changes,
// keeping the EMA), the AdamW moments of the site's previous round when
// they are kept, and the number of steps taken. It is not safe for
// concurrent use.
type Rounds[S Stepper] struct {
	what    string
	build   NewStepperFunc[S]
	keep    bool
	st      S
	batch   int
	built   bool
	moments optim.RoundMoments
	steps   int64
}

// NewRounds returns the round state of a trainer for model what (named in
// errors), building steppers with build; keepMoments carries the AdamW
// moments from a site's round r-1 into round r (optim.RoundMoments).
func NewRounds[S Stepper](what string, keepMoments bool, build NewStepperFunc[S]) *Rounds[S] {
	return &Rounds[S]{what: what, build: build, keep: keepMoments}
}

// Begin prepares round plan from global: the stepper for plan.Batch loaded
// with global, the optimiser placed for the round (moments, learning rate,
// schedule step), the random draws reseeded for (seed, round), and
// FedProx's term mu/2*||w - global||^2 over every tensor that skip does
// not exempt (local-only layers).
func (r *Rounds[S]) Begin(global model.Weights, plan LocalRound, seed int64, mu float64, skip func(string) bool) (S, error) {
	var zero S
	if !r.built || r.batch != plan.Batch {
		st, err := r.build(plan.Batch, global.Clone(), seed)
		if err != nil {
			return zero, fmt.Errorf("%s: round %d: %w", r.what, plan.Round, err)
		}
		if r.built {
			st.Updater().EMA = r.st.Updater().EMA
		}
		r.st, r.batch, r.built = st, plan.Batch, true
	}
	if err := r.st.Load(global); err != nil {
		return zero, fmt.Errorf("%s: round %d: %w", r.what, plan.Round, err)
	}
	u := r.st.Updater()
	plan.Start(u.Adam, r.kept())
	r.st.Reseed(seed, plan.Round)
	u.SetProx(global, mu, skip)
	return r.st, nil
}

func (r *Rounds[S]) kept() *optim.RoundMoments {
	if r.keep {
		return &r.moments
	}
	return nil
}

// End closes round plan after its steps: it keeps the moments for the
// next round (when kept), counts the steps and returns the round's result
// for numSamples training images with the given mean and last losses.
func (r *Rounds[S]) End(plan LocalRound, numSamples int, mean, last float64) model.TrainResult {
	if k := r.kept(); k != nil {
		k.End(r.st.Updater().Adam, plan.Round)
	}
	r.steps += int64(plan.Steps)
	return plan.Result(r.st.Weights(), numSamples, mean, last)
}

// Steps returns the number of optimiser steps taken over all rounds.
func (r *Rounds[S]) Steps() int64 { return r.steps }

// Stepper returns the current stepper and whether one has been built.
func (r *Rounds[S]) Stepper() (S, bool) { return r.st, r.built }

// EMA returns a copy of the EMA weights (empty before any training).
func (r *Rounds[S]) EMA() model.Weights {
	if !r.built {
		return model.Weights{}
	}
	return r.st.Updater().EMA.Weights()
}

// Checkpoint returns the last trained weights and the EMA as a checkpoint
// of architecture arch with config cfg.
func (r *Rounds[S]) Checkpoint(arch string, cfg json.RawMessage) (model.Checkpoint, error) {
	if !r.built {
		return model.Checkpoint{}, fmt.Errorf("%s: checkpoint before any training", r.what)
	}
	ema := r.st.Updater().EMA
	return model.Checkpoint{
		Arch: arch, Config: cfg, Step: r.steps,
		Weights: r.st.Weights().Clone(), EMA: ema.Weights(),
		EMADecay: ema.Decay, EMASteps: ema.Updates,
	}, nil
}
