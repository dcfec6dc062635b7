package ddpm

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
)

// Trainer trains the conditional DDPM on a site's images; it implements
// model.Trainer. The learning-rate schedule (warm-up, decay) follows the
// job's global step, (spec.Round-1)*steps + s for local step s of a round
// of steps steps, so it does not restart each round. The AdamW moments
// restart every round unless TrainConfig.KeepMoments carries them from the
// site's previous round (optim.RoundMoments). The EMA weights carry over
// between rounds, averaging the local iterates; they stay at the site.
// A Trainer is not safe for concurrent use.
type Trainer struct {
	cfg     Config
	train   *model.ImageSet
	val     *model.ImageSet
	log     *slog.Logger
	st      *Stepper
	steps   int64
	moments optim.RoundMoments
	// evalW is the copy of the weights Evaluate scores, bound to evalM.
	evalW model.Weights
	evalM *Model
}

// NewTrainer returns a trainer on train (used for steps) and val (scored by
// Evaluate; it may be nil). Both must hold ImageSize x ImageSize images and
// cfg.Arch.InChannels must be 1.
func NewTrainer(cfg Config, train, val *model.ImageSet, log *slog.Logger) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for name, set := range map[string]*model.ImageSet{"train": train, "val": val} {
		if set == nil {
			continue
		}
		if err := checkSet(cfg.Arch, set); err != nil {
			return nil, fmt.Errorf("ddpm: %s set: %w", name, err)
		}
	}
	if train == nil || train.Len() == 0 {
		return nil, ErrNoData
	}
	return &Trainer{cfg: cfg, train: train, val: val, log: log}, nil
}

func checkSet(a Arch, s *model.ImageSet) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if a.InChannels != 1 || s.Size != a.ImageSize {
		return fmt.Errorf("images %dx%dx1, architecture wants %dx%dx%d: %w", s.Size, s.Size, a.ImageSize, a.ImageSize, a.InChannels, model.ErrShape)
	}
	return nil
}

// Init returns freshly initialised weights for seed.
func (t *Trainer) Init(_ context.Context, seed int64) (model.Weights, error) {
	return t.cfg.Arch.InitWeights(seed)
}

// stepper returns a stepper for batch size n loaded with global, keeping the
// EMA across rebuilds.
func (t *Trainer) stepper(global model.Weights, n int, seed int64) (*Stepper, error) {
	if t.st == nil || t.st.cfg.Train.BatchSize != n {
		cfg := t.cfg
		cfg.Train.BatchSize = n
		st, err := NewStepper(cfg, global.Clone(), seed)
		if err != nil {
			return nil, err
		}
		if t.st != nil {
			st.upd.EMA = t.st.upd.EMA
		}
		t.st = st
	}
	if err := t.st.Load(global); err != nil {
		return nil, err
	}
	return t.st, nil
}

// Train runs spec.LocalSteps optimiser steps (or spec.LocalEpochs passes,
// one pass when both are 0) from global and returns the trained weights.
// It checks ctx between steps.
func (t *Trainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	r := optim.PlanRound(spec, t.cfg.Train.BatchSize, t.cfg.Train.Adam.LR, t.train.Len())
	st, err := t.stepper(global, r.Batch, spec.Seed)
	if err != nil {
		return model.TrainResult{}, fmt.Errorf("ddpm: round %d: %w", spec.Round, err)
	}
	var keep *optim.RoundMoments
	if t.cfg.Train.KeepMoments {
		keep = &t.moments
	}
	r.Start(st.upd.Adam, keep)
	st.Reseed(spec.Seed, spec.Round)
	st.SetProx(global, spec.ProxMu, optim.LocalOnly(spec.Params[optim.ParamLocalOnly]))
	n := r.Batch
	order := optim.NewBatcher(optim.Range(t.train.Len()), n, rand.New(rand.NewPCG(uint64(spec.Seed), uint64(spec.Round))))
	x := make([]float32, n*t.train.Size*t.train.Size)
	conds := make([][model.CondDim]float32, n)
	mean, last, err := r.Run(ctx, "ddpm", func(int) (float64, error) {
		gather(t.train, order.Next(), x, conds)
		return st.Step(x, conds)
	})
	if err != nil {
		return model.TrainResult{}, err
	}
	if keep != nil {
		keep.End(st.upd.Adam, spec.Round)
	}
	t.steps += int64(r.Steps)
	t.log.Debug("ddpm local training done", "round", spec.Round, "steps", r.Steps, "loss", mean)
	return r.Result(st.w, t.train.Len(), mean, last), nil
}

// EMA returns a copy of the EMA weights (nil weights before any training).
func (t *Trainer) EMA() model.Weights {
	if t.st == nil {
		return model.Weights{}
	}
	return t.st.upd.EMA.Weights()
}

// Checkpoint returns the last trained weights and the EMA as a checkpoint.
func (t *Trainer) Checkpoint() (model.Checkpoint, error) {
	if t.st == nil {
		return model.Checkpoint{}, fmt.Errorf("ddpm: checkpoint before any training")
	}
	return model.Checkpoint{
		Arch: ArchName, Config: t.cfg.Arch.ArchJSON(), Step: t.steps,
		Weights: t.st.w.Clone(), EMA: t.st.upd.EMA.Weights(),
		EMADecay: t.st.upd.EMA.Decay, EMASteps: t.st.upd.EMA.Updates,
	}, nil
}

// gather copies the images and conditions of idx into x and conds.
func gather(s *model.ImageSet, idx []int, x []float32, conds [][model.CondDim]float32) {
	px := s.Size * s.Size
	for k, i := range idx {
		copy(x[k*px:(k+1)*px], s.Image(i))
		conds[k] = s.Cond[i]
	}
}

// The trainer is a model.Trainer.
var _ model.Trainer = (*Trainer)(nil)
