package ddpm

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/loader"
	"github.com/synthfed/synthfed/model/localtrain"
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
	cfg    Config
	train  *model.ImageSet
	stream loader.CondSource
	lopt   StreamOptions
	val    *model.ImageSet
	log    *slog.Logger
	rounds *localtrain.Rounds[*Stepper]
	// evalW is the copy of the weights Evaluate scores, bound to evalM.
	evalW model.Weights
	evalM *Model
	// site is the site index of the training images (site.go).
	site int
	// dev, when set, runs the training steps resident on a device.
	dev graph.Device
}

// UseDevice runs the training steps resident on dev (nil: the CPU): the
// weights, AdamW moments and EMA stay on the device during a round and
// come back to the host at its end. Call it before the first Train.
func (t *Trainer) UseDevice(dev graph.Device) { t.dev = dev }

// SetSite sets the site index of this trainer's images (an index of
// Arch.Sites) for a site-conditioned model: its steps train that site's
// embedding, and Evaluate scores with it. A site-conditioned trainer
// without a site trains the "any site" embedding only.
func (t *Trainer) SetSite(k int) error {
	if err := t.cfg.Arch.checkSite(k); err != nil {
		return err
	}
	t.site = k
	if t.evalM != nil {
		return t.evalM.SetSite(k)
	}
	return nil
}

// NewTrainer returns a trainer on train (used for steps) and val (scored by
// Evaluate; it may be nil). Both must hold ImageSize x ImageSize images and
// cfg.Arch.InChannels must be 1.
func NewTrainer(cfg Config, train, val *model.ImageSet, log *slog.Logger) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if train != nil {
		if err := checkSet(cfg.Arch, train); err != nil {
			return nil, fmt.Errorf("ddpm: train set: %w", err)
		}
	}
	if train == nil || train.Len() == 0 {
		return nil, ErrNoData
	}
	t, err := newTrainer(cfg, val, log)
	if err != nil {
		return nil, err
	}
	t.train = train
	return t, nil
}

// newTrainer returns the parts common to both constructors.
func newTrainer(cfg Config, val *model.ImageSet, log *slog.Logger) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if val != nil {
		if err := checkSet(cfg.Arch, val); err != nil {
			return nil, fmt.Errorf("ddpm: val set: %w", err)
		}
	}
	t := &Trainer{cfg: cfg, val: val, log: log, site: AnySite}
	t.rounds = localtrain.NewRounds("ddpm", cfg.Train.KeepMoments, func(batch int, w model.Weights, seed int64) (*Stepper, error) {
		c := cfg
		c.Train.BatchSize = batch
		return NewStepperOn(c, w, seed, t.dev)
	})
	return t, nil
}

// StreamOptions sets the loader of a trainer built on a stream.
type StreamOptions struct {
	// Workers read batches off the training goroutine (0: GOMAXPROCS).
	Workers int
	// Prefetch bounds the batches read ahead (0: 2*Workers).
	Prefetch int
}

// NewStreamTrainer returns a trainer that reads its training images and
// their conditions through a streaming loader (a prepared store's set:
// memory does not depend on its size); batch s of round r is a function
// of (seed, r, s). val (scored by Evaluate) is in memory and may be nil.
func NewStreamTrainer(cfg Config, train loader.CondSource, val *model.ImageSet, opt StreamOptions, log *slog.Logger) (*Trainer, error) {
	if train == nil || train.Len() == 0 {
		return nil, ErrNoData
	}
	if cfg.Arch.InChannels != 1 || train.Size() != cfg.Arch.ImageSize {
		return nil, fmt.Errorf("ddpm: train set: images %dx%dx1, architecture wants %dx%dx%d: %w", train.Size(), train.Size(), cfg.Arch.ImageSize, cfg.Arch.ImageSize, cfg.Arch.InChannels, model.ErrShape)
	}
	t, err := newTrainer(cfg, val, log)
	if err != nil {
		return nil, err
	}
	t.stream, t.lopt = train, opt
	return t, nil
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

// Train runs spec.LocalSteps optimiser steps (or spec.LocalEpochs passes,
// one pass when both are 0) from global and returns the trained weights.
// It checks ctx between steps.
func (t *Trainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	r := localtrain.PlanRound(spec, t.cfg.Train.BatchSize, t.cfg.Train.Adam.LR, t.trainLen())
	st, err := t.rounds.Begin(global, r, spec.Seed, spec.ProxMu, optim.LocalOnly(spec.Params[optim.ParamLocalOnly]))
	if err != nil {
		return model.TrainResult{}, err
	}
	if err := st.SetSite(t.site); err != nil {
		return model.TrainResult{}, err
	}
	step, done, err := t.batches(r.Batch, spec)
	if err != nil {
		return model.TrainResult{}, err
	}
	defer done()
	mean, last, err := r.Run(ctx, "ddpm", func(int) (float64, error) { return step(ctx, st) })
	if err == nil {
		err = st.Sync() // the round boundary: weights, EMA and moments from the device
	}
	if err != nil {
		return model.TrainResult{}, err
	}
	res := t.rounds.End(r, t.trainLen(), mean, last)
	t.log.Debug("ddpm local training done", "round", spec.Round, "steps", r.Steps, "loss", mean)
	return res, nil
}

// trainLen returns the number of training images.
func (t *Trainer) trainLen() int {
	if t.stream != nil {
		return t.stream.Len()
	}
	return t.train.Len()
}

// batches returns the round's step function, on the in-memory set in its
// historical draw order or on the stream's batches, and what ends it.
func (t *Trainer) batches(n int, spec model.TrainSpec) (func(context.Context, *Stepper) (float64, error), func(), error) {
	if t.stream != nil {
		ld, err := loader.NewStream(t.stream, loader.Config{Batch: n, Seed: spec.Seed, Salt: uint64(spec.Round), Workers: t.lopt.Workers, Prefetch: t.lopt.Prefetch}, 0, nil)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, st *Stepper) (float64, error) {
			b, err := ld.Next(ctx)
			if err != nil {
				return 0, err
			}
			defer ld.Release(b)
			return st.Step(b.Pixels, b.Cond)
		}, func() { ld.Close() }, nil
	}
	order := optim.NewBatcher(optim.Range(t.train.Len()), n, rand.New(rand.NewPCG(uint64(spec.Seed), uint64(spec.Round))))
	x := make([]float32, n*t.train.Size*t.train.Size)
	conds := make([][model.CondDim]float32, n)
	return func(_ context.Context, st *Stepper) (float64, error) {
		gather(t.train, order.Next(), x, conds)
		return st.Step(x, conds)
	}, func() {}, nil
}

// EMA returns a copy of the EMA weights (empty before any training).
func (t *Trainer) EMA() model.Weights { return t.rounds.EMA() }

// Checkpoint returns the last trained weights and the EMA as a checkpoint.
func (t *Trainer) Checkpoint() (model.Checkpoint, error) {
	return t.rounds.Checkpoint(ArchName, t.cfg.Arch.ArchJSON())
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
