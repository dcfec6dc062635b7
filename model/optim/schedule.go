package optim

import "math"

// LRAt returns the learning rate of a job's step-th optimiser step
// (1-based, counted over the whole job, not per round): a linear warm-up
// from 0 over WarmupSteps steps, then, when DecaySteps > WarmupSteps, a
// half-cosine from LR down to MinLRRatio*LR reached at step DecaySteps and
// held after it; otherwise LR.
//
// Federated trainers run a job as rounds of local steps. The schedule must
// follow the job's global step, (round-1)*stepsPerRound + s, not restart
// every round: a warm-up that restarts each round never lets the learning
// rate reach LR when rounds are shorter than the warm-up.
func (c AdamConfig) LRAt(step int) float64 {
	lr := c.LR
	if step < 1 {
		step = 1
	}
	if c.WarmupSteps > 0 && step < c.WarmupSteps {
		return lr * float64(step) / float64(c.WarmupSteps)
	}
	if c.DecaySteps <= c.WarmupSteps {
		return lr
	}
	if step >= c.DecaySteps {
		return lr * c.MinLRRatio
	}
	p := float64(step-c.WarmupSteps) / float64(c.DecaySteps-c.WarmupSteps)
	return lr * (c.MinLRRatio + (1-c.MinLRRatio)*0.5*(1+math.Cos(math.Pi*p)))
}

// RoundStart returns the number of optimiser steps a job has taken before
// the local steps of round (1-based; round 0 is a job's initial model) when
// every round takes stepsPerRound steps: (round-1)*stepsPerRound. Trainers
// pass it to Adam.SetScheduleStep so that warm-up and decay follow the job.
func RoundStart(round, stepsPerRound int) int {
	if round < 1 || stepsPerRound < 0 {
		return 0
	}
	return (round - 1) * stepsPerRound
}
