package classifier

import (
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/loader"
	"github.com/synthfed/synthfed/model/nn"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// Stepper takes optimiser steps on the classifier: it owns one compiled
// training graph for the configured batch size, the AdamW state and the EMA
// weights. Build it once and call Step repeatedly (the benchmark times
// Step). It is not safe for concurrent use.
type Stepper struct {
	cfg      Config
	w        model.Weights
	u        *net
	prog     *graph.Program
	loss     graph.Reader
	tgtNode  *G.Node
	maskNode *G.Node
	x        []float32
	tgt      []float32
	mask     []float32
	upd      graph.Updater
	rng      *rand.Rand
	// res runs the steps resident on a device when active (prog is nil).
	res graph.OnDevice
}

// NewStepper compiles the training graph for cfg.Train.BatchSize, training
// w in place (w's slices are the graph's parameters). seed drives the
// augmentation draws.
func NewStepper(cfg Config, w model.Weights, seed int64) (*Stepper, error) {
	return NewStepperOn(cfg, w, seed, nil)
}

// NewStepperOn is NewStepper with the steps resident on dev when it is not
// nil: the weights, AdamW moments and EMA stay on the device between
// steps, and w (and the Updater's EMA and moments) are brought up to date
// by Sync, Weights, Updater and Load.
func NewStepperOn(cfg Config, w model.Weights, seed int64, dev graph.Device) (*Stepper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n, a := cfg.Train.BatchSize, cfg.Arch
	b := graph.NewBuilder(w)
	u, err := buildNet(b, a, n)
	if err != nil {
		return nil, err
	}
	tgt := b.Input("targets", n, model.NumLabels)
	mask := b.Input("mask", n, model.NumLabels)
	lossNode := b.Op(nn.BCEWithLogitsMasked(u.logits, tgt, mask))
	if err := b.Err(); err != nil {
		return nil, err
	}
	var (
		prog *graph.Program
		loss graph.Reader
		res  graph.Resident
	)
	if dev != nil {
		tg, err := graph.NewTrainGraph(b, lossNode, cfg.Train.Adam, u.x, tgt, mask)
		if err != nil {
			return nil, err
		}
		if res, err = dev.CompileTrain(tg); err != nil {
			return nil, fmt.Errorf("classifier: training step on %s: %w", dev.Name(), err)
		}
	} else {
		loss = graph.Read(lossNode)
		if prog, err = graph.NewTrainProgram(b, lossNode); err != nil {
			return nil, err
		}
	}
	adam, err := optim.NewAdam(cfg.Train.Adam)
	if err != nil {
		return nil, err
	}
	ema, err := optim.NewEMA(w, cfg.Train.EMADecay, cfg.Train.EMAWarmup)
	if err != nil {
		return nil, err
	}
	st := &Stepper{
		cfg: cfg, w: w, u: u, prog: prog, loss: loss, tgtNode: tgt, maskNode: mask,
		x:   make([]float32, n*a.InChannels*a.ImageSize*a.ImageSize),
		tgt: make([]float32, n*model.NumLabels), mask: make([]float32, n*model.NumLabels),
		upd: graph.Updater{Adam: adam, EMA: ema}, rng: rand.New(rand.NewPCG(uint64(seed), 0xc1a55)), res: graph.OnDevice{Res: res},
	}
	if res != nil {
		// A stepper dropped without Close (a trainer rebuilds it when the
		// batch size changes) frees its device memory when collected.
		runtime.AddCleanup(st, func(r graph.Resident) { _ = r.Close() }, res)
	}
	return st, nil
}

// Reseed restarts the augmentation draws from seed and round.
func (s *Stepper) Reseed(seed int64, round int) {
	s.rng = rand.New(rand.NewPCG(uint64(seed), 0xc1a55+uint64(round)))
}

// Step takes one optimiser step on the images idx of set (exactly
// BatchSize of them): each is augmented, its labels turned into targets and
// a mask by the label policy (synthetic images weighted by
// SyntheticWeight), then the forward and backward passes, the proximal
// term, AdamW and the EMA run. It returns the loss before the update.
func (s *Stepper) Step(set *model.ImageSet, idx []int) (float64, error) {
	t := s.cfg.Train
	n := t.BatchSize
	if len(idx) != n {
		return 0, fmt.Errorf("classifier: step on %d images, want %d: %w", len(idx), n, model.ErrShape)
	}
	if set.Size != s.cfg.Arch.ImageSize {
		return 0, fmt.Errorf("classifier: %dx%d images, architecture wants %d: %w", set.Size, set.Size, s.cfg.Arch.ImageSize, model.ErrShape)
	}
	px := set.Size * set.Size
	for k, i := range idx {
		Augment(s.x[k*px:(k+1)*px], set.Image(i), set.Size, t.Augment, s.rng)
		tg, m, err := t.Labels.Targets(set.Labels[i])
		if err != nil {
			return 0, fmt.Errorf("classifier: image %d: %w", i, err)
		}
		scale := float32(1)
		if set.Synthetic != nil && set.Synthetic[i] {
			scale = float32(t.SyntheticWeight)
		}
		for j := range m {
			m[j] *= scale
		}
		copy(s.tgt[k*model.NumLabels:], tg[:])
		copy(s.mask[k*model.NumLabels:], m[:])
	}
	return s.run()
}

// StepBatch takes one optimiser step on a loader's batch, whose images
// are already augmented: labels become targets and a mask by the label
// policy (synthetic images weighted by SyntheticWeight), then the forward
// and backward passes, the proximal term, AdamW and the EMA run. It
// returns the loss before the update.
func (s *Stepper) StepBatch(b *loader.Batch) (float64, error) {
	t := s.cfg.Train
	if len(b.Index) != t.BatchSize || b.Size != s.cfg.Arch.ImageSize || len(b.Pixels) != len(s.x) {
		return 0, fmt.Errorf("classifier: step on %d images of %dx%d, want %d of %d: %w", len(b.Index), b.Size, b.Size, t.BatchSize, s.cfg.Arch.ImageSize, model.ErrShape)
	}
	copy(s.x, b.Pixels)
	for k := range b.Index {
		tg, m, err := t.Labels.Targets(b.Labels[k])
		if err != nil {
			return 0, fmt.Errorf("classifier: image %d: %w", b.Index[k], err)
		}
		if b.Synthetic[k] {
			for j := range m {
				m[j] *= float32(t.SyntheticWeight)
			}
		}
		copy(s.tgt[k*model.NumLabels:], tg[:])
		copy(s.mask[k*model.NumLabels:], m[:])
	}
	return s.run()
}

// run executes the graph on the filled buffers and updates the weights.
func (s *Stepper) run() (float64, error) {
	if s.res.Active() {
		return s.res.Step(&s.upd, "classifier", s.x, s.tgt, s.mask)
	}
	for _, in := range []struct {
		node *G.Node
		data []float32
	}{{s.u.x, s.x}, {s.tgtNode, s.tgt}, {s.maskNode, s.mask}} {
		if err := graph.Let(in.node, in.data); err != nil {
			return 0, err
		}
	}
	return s.upd.Step("classifier", s.prog, s.loss)
}

// Sync brings the weights, the EMA and the AdamW moments of a
// device-resident stepper back to the host (nothing on the CPU).
func (s *Stepper) Sync() error { return s.res.Sync(&s.upd) }

// DeviceBytes returns the device memory a resident stepper holds (its
// program's values, the gradients, moments, EMA and anchor; 0 on the CPU).
func (s *Stepper) DeviceBytes() int64 { return s.res.Bytes() }

// Close frees a device-resident stepper's device memory.
func (s *Stepper) Close() error { return s.res.Close() }

// Weights returns the live weights being trained (shared, not copied),
// synced from the device when the steps are resident there.
func (s *Stepper) Weights() model.Weights {
	_ = s.Sync() // a failure is reported by the next Step or Sync
	return s.w
}

// Updater returns the update rule and its state (AdamW, EMA, proximal
// term), synced from the device when the steps are resident there.
func (s *Stepper) Updater() *graph.Updater {
	_ = s.Sync()
	return &s.upd
}

// Load copies src's values into the live weights (same specs required).
func (s *Stepper) Load(src model.Weights) error {
	if err := s.Sync(); err != nil {
		return err
	}
	return optim.CopyValues(s.w, src)
}
