package classifier

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/loader"
	"github.com/synthfed/synthfed/model/localtrain"
	"github.com/synthfed/synthfed/model/optim"
)

// Trainer trains the classifier on a site's images; it implements
// model.Trainer. The learning-rate schedule follows the job's global step,
// (spec.Round-1)*steps + s, not restarting each round; the AdamW moments
// restart every round unless TrainConfig.KeepMoments carries them from the
// site's previous round; the EMA weights carry over between rounds. It is
// not safe for concurrent use.
type Trainer struct {
	cfg    Config
	train  *model.ImageSet
	stream loader.Source
	lopt   LoaderOptions
	val    *model.ImageSet
	valS   model.Slicer
	log    *slog.Logger
	rounds *localtrain.Rounds[*Stepper]
	// evalW is the copy of the weights Evaluate scores, bound to evalP.
	evalW model.Weights
	evalP *Predictor
	// dev, when set, runs the steps and Evaluate's forward passes on a device.
	dev graph.Device
}

// NewTrainer returns a trainer on train (which may mix real and synthetic
// images) and val (scored by Evaluate; it may be nil).
func NewTrainer(cfg Config, train, val *model.ImageSet, log *slog.Logger) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if train == nil || train.Len() == 0 {
		return nil, ErrNoData
	}
	if err := checkSets(cfg, train, val); err != nil {
		return nil, err
	}
	t := newTrainer(cfg, val, log)
	t.train = train
	return t, nil
}

// NewStreamTrainer returns a trainer that reads its training set through a
// streaming loader (prefetching and augmenting in background goroutines
// with bounded buffers), for sets too large for memory such as a prepared
// store's. val (scored by Evaluate) is in memory and may be nil.
func NewStreamTrainer(cfg Config, train loader.Source, val *model.ImageSet, opt LoaderOptions, log *slog.Logger) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if train == nil || train.Len() == 0 {
		return nil, ErrNoData
	}
	if train.Size() != cfg.Arch.ImageSize || cfg.Arch.InChannels != 1 {
		return nil, fmt.Errorf("classifier: train set: %dx%dx1 images, architecture wants %dx%dx%d: %w", train.Size(), train.Size(), cfg.Arch.ImageSize, cfg.Arch.ImageSize, cfg.Arch.InChannels, model.ErrShape)
	}
	for i := range train.Len() {
		if _, _, err := cfg.Train.Labels.Targets(train.Labels(i)); err != nil {
			return nil, fmt.Errorf("classifier: train set row %d: %w", i, err)
		}
	}
	if err := checkSets(cfg, nil, val); err != nil {
		return nil, err
	}
	t := newTrainer(cfg, val, log)
	t.stream, t.lopt = train, opt
	return t, nil
}

// newTrainer returns the parts common to both constructors.
func newTrainer(cfg Config, val *model.ImageSet, log *slog.Logger) *Trainer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Trainer{cfg: cfg, val: val, log: log}
	t.rounds = localtrain.NewRounds("classifier", cfg.Train.KeepMoments, func(batch int, w model.Weights, seed int64) (*Stepper, error) {
		c := cfg
		c.Train.BatchSize = batch
		return NewStepperOn(c, w, seed, t.dev)
	})
	return t
}

// UseDevice runs the training steps resident on dev and Evaluate's
// forward passes on it (nil: the CPU): the weights, AdamW moments and EMA
// stay on the device during a round and come back to the host at its end.
// Call it before the first Train or Evaluate.
func (t *Trainer) UseDevice(dev graph.Device) { t.dev = dev }

// checkSets validates the sets' shapes and labels, naming the set and row.
func checkSets(cfg Config, train, val *model.ImageSet) error {
	for name, set := range map[string]*model.ImageSet{"train": train, "val": val} {
		if set == nil {
			continue
		}
		if err := set.Validate(); err != nil {
			return fmt.Errorf("classifier: %s set: %w", name, err)
		}
		if set.Size != cfg.Arch.ImageSize || cfg.Arch.InChannels != 1 {
			return fmt.Errorf("classifier: %s set: %dx%dx1 images, architecture wants %dx%dx%d: %w", name, set.Size, set.Size, cfg.Arch.ImageSize, cfg.Arch.ImageSize, cfg.Arch.InChannels, model.ErrShape)
		}
		for i, l := range set.Labels {
			if _, _, err := cfg.Train.Labels.Targets(l); err != nil {
				return fmt.Errorf("classifier: %s set row %d: %w", name, i, err)
			}
		}
	}
	return nil
}

// SetValSlices makes Evaluate score v, read model.SliceImages images at a
// time (a store's validation split: memory does not grow with it), in
// place of the in-memory val set, which must be nil. The metrics equal
// those of v read whole into memory.
func (t *Trainer) SetValSlices(v model.Slicer) error {
	if t.val != nil {
		return fmt.Errorf("classifier: val set given twice (in memory and in slices)")
	}
	if v.Size() != t.cfg.Arch.ImageSize || t.cfg.Arch.InChannels != 1 {
		return fmt.Errorf("classifier: val set: %dx%dx1 images, architecture wants %dx%dx%d: %w", v.Size(), v.Size(), t.cfg.Arch.ImageSize, t.cfg.Arch.ImageSize, t.cfg.Arch.InChannels, model.ErrShape)
	}
	t.valS = v
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
	n := t.trainLen()
	r := localtrain.PlanRound(spec, t.cfg.Train.BatchSize, t.cfg.Train.Adam.LR, n)
	st, err := t.rounds.Begin(global, r, spec.Seed, spec.ProxMu, optim.LocalOnly(spec.Params[optim.ParamLocalOnly]))
	if err != nil {
		return model.TrainResult{}, err
	}
	ld, err := t.loader(r.Batch, spec)
	if err != nil {
		return model.TrainResult{}, err
	}
	defer ld.Close()
	mean, last, err := r.Run(ctx, "classifier", func(int) (float64, error) {
		b, err := ld.Next(ctx)
		if err != nil {
			return 0, err
		}
		defer ld.Release(b)
		return st.StepBatch(b)
	})
	if err == nil {
		err = st.Sync() // the round boundary: weights, EMA and moments from the device
	}
	if err != nil {
		return model.TrainResult{}, err
	}
	res := t.rounds.End(r, n, mean, last)
	t.log.Debug("classifier local training done", "round", spec.Round, "steps", r.Steps, "loss", mean)
	return res, nil
}

// trainLen returns the number of training images.
func (t *Trainer) trainLen() int {
	if t.stream != nil {
		return t.stream.Len()
	}
	return t.train.Len()
}

// loader returns the round's batches: streamed from a Source, or drawn in
// memory in the historical order from a model.ImageSet.
func (t *Trainer) loader(batch int, spec model.TrainSpec) (loader.Loader, error) {
	c := t.cfg.Train
	if t.stream != nil {
		return newStreamLoader(t.stream, batch, c.RealFraction, c.Augment, t.lopt, spec.Seed, spec.Round)
	}
	return newMemLoader(t.train, batch, c.RealFraction, c.Augment, spec.Seed, spec.Round), nil
}

// Evaluate scores w on the validation set: "val_loss" (the masked BCE under
// the label policy, synthetic weighting ignored), "val_auroc_macro" (the
// mean over labels with both classes of the per-label AUROC, uncertain rows
// dropped and blanks negative) and "val_images".
func (t *Trainer) Evaluate(ctx context.Context, w model.Weights) (map[string]float64, error) {
	if (t.val == nil || t.val.Len() == 0) && (t.valS == nil || t.valS.Len() == 0) {
		return map[string]float64{"val_images": 0}, nil
	}
	if t.evalP == nil {
		t.evalW = w.Clone()
		p, err := NewPredictor(t.cfg.Arch, t.evalW, PredictBatch)
		if err != nil {
			return nil, err
		}
		p.UseDevice(t.dev)
		t.evalP = p
	} else if err := optim.CopyValues(t.evalW, w); err != nil {
		return nil, fmt.Errorf("classifier: evaluate: %w", err)
	}
	p := t.evalP
	if t.valS != nil {
		return evaluateSlices(ctx, p, t.valS, t.cfg.Train.Labels)
	}
	loss, err := p.Loss(ctx, t.val, t.cfg.Train.Labels, 1)
	if err != nil {
		return nil, err
	}
	probs, _, err := p.Predict(ctx, t.val)
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		"val_loss":        loss,
		"val_auroc_macro": MacroAUROC(probs, t.val.Labels),
		"val_images":      float64(t.val.Len()),
	}, nil
}

// evaluateSlices is Evaluate on a set read in slices: one forward pass per
// slice gives both the loss and the probabilities, at the batch size the
// whole set would run at, so the numbers are those of the set in memory.
// It holds one slice and 14 probabilities and labels per image.
func evaluateSlices(ctx context.Context, p *Predictor, val model.Slicer, pol LabelPolicy) (map[string]float64, error) {
	n := val.Len()
	bs := min(p.batch, n)
	var acc lossSum
	probs := make([][model.NumLabels]float32, n)
	labels := make([][model.NumLabels]model.Label, n)
	err := model.EachSlice(ctx, val, func(lo int, part *model.ImageSet) error {
		copy(labels[lo:], part.Labels)
		return p.forwardBatch(ctx, part, bs, func(i int, lg, _ []float32) {
			acc.add(lo+i, lg, part, i, pol, 1)
			for j, z := range lg {
				probs[lo+i][j] = sigmoid(z)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	loss, err := acc.loss()
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		"val_loss":        loss,
		"val_auroc_macro": MacroAUROC(probs, labels),
		"val_images":      float64(n),
	}, nil
}

// EMA returns a copy of the EMA weights (empty before any training).
func (t *Trainer) EMA() model.Weights { return t.rounds.EMA() }

// Checkpoint returns the last trained weights and the EMA as a checkpoint.
func (t *Trainer) Checkpoint() (model.Checkpoint, error) {
	return t.rounds.Checkpoint(ArchName, t.cfg.Arch.ArchJSON())
}

// mixer draws batches either from the pooled set or, with a real fraction
// f in (0,1] and both kinds present, round(f*n) real and the rest synthetic.
type mixer struct {
	all, real, synth *optim.Batcher
	nReal            int
	buf              []int
}

func newMixer(set *model.ImageSet, n int, frac float64, rng *rand.Rand) *mixer {
	m := &mixer{buf: make([]int, n)}
	var real, synth []int
	for i := range set.Len() {
		if set.Synthetic != nil && set.Synthetic[i] {
			synth = append(synth, i)
		} else {
			real = append(real, i)
		}
	}
	if frac <= 0 || len(real) == 0 || len(synth) == 0 {
		m.all = optim.NewBatcher(optim.Range(set.Len()), n, rng)
		return m
	}
	m.nReal = int(math.Round(frac * float64(n)))
	m.real = optim.NewBatcher(real, n, rng)
	m.synth = optim.NewBatcher(synth, n, rng)
	return m
}

func (m *mixer) next() []int {
	if m.all != nil {
		return m.all.Next()
	}
	m.real.Fill(m.buf[:m.nReal])
	m.synth.Fill(m.buf[m.nReal:])
	return m.buf
}

// The trainer is a model.Trainer.
var _ model.Trainer = (*Trainer)(nil)
