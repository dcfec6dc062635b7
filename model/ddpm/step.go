package ddpm

import (
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// Stepper takes optimiser steps on the U-Net: it owns one compiled
// training graph for the configured batch size, the AdamW state and the EMA
// weights. Build it once and call Step repeatedly (the benchmark times
// Step). It is not safe for concurrent use.
type Stepper struct {
	cfg    Config
	sched  *Schedule
	w      model.Weights
	u      *unet
	prog   *graph.Program
	loss   graph.Reader
	target *G.Node
	in     *netInputs
	tgt    []float32
	eps    []float32
	upd    graph.Updater
	rng    *rand.Rand
	// site is the site index of the images stepped on (AnySite until
	// SetSite; ignored without arch.sites).
	site int
	// res runs the steps resident on a device when active (prog is nil).
	res graph.OnDevice
}

// SetSite sets the site index of the images the following steps train on
// (an index of Arch.Sites: the site's own acquisition).
func (s *Stepper) SetSite(k int) error {
	if err := s.cfg.Arch.checkSite(k); err != nil {
		return err
	}
	s.site = k
	return nil
}

// NewStepper compiles the training graph for cfg.Train.BatchSize, training
// w in place (w's slices are the graph's parameters). seed drives the
// timestep, noise and condition-dropout draws.
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
	sched, err := CosineSchedule(cfg.Train.Steps, cfg.Train.CosineOffset, cfg.Train.ZeroTerminalSNR)
	if err != nil {
		return nil, err
	}
	n := cfg.Train.BatchSize
	a := cfg.Arch
	b := graph.NewBuilder(w)
	u, err := buildUNet(b, a, n)
	if err != nil {
		return nil, err
	}
	target := b.Input("v_target", n, a.InChannels, a.ImageSize, a.ImageSize)
	lossNode := b.Op(nn.MSE(u.out, target))
	if err := b.Err(); err != nil {
		return nil, err
	}
	var (
		prog *graph.Program
		loss graph.Reader
		res  graph.Resident
	)
	if dev != nil {
		tg, err := graph.NewTrainGraph(b, lossNode, cfg.Train.Adam, append(u.inputs(), target)...)
		if err != nil {
			return nil, err
		}
		if res, err = dev.CompileTrain(tg); err != nil {
			return nil, fmt.Errorf("ddpm: training step on %s: %w", dev.Name(), err)
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
	px := n * a.InChannels * a.ImageSize * a.ImageSize
	st := &Stepper{
		cfg: cfg, sched: sched, w: w, u: u, prog: prog, loss: loss, target: target,
		in: newNetInputs(a, n), tgt: make([]float32, px), eps: make([]float32, px),
		upd: graph.Updater{Adam: adam, EMA: ema}, rng: rand.New(rand.NewPCG(uint64(seed), 0xd1ff)), site: AnySite, res: graph.OnDevice{Res: res},
	}
	if res != nil {
		// A stepper dropped without Close (a trainer rebuilds it when the
		// batch size changes) frees its device memory when collected.
		runtime.AddCleanup(st, func(r graph.Resident) { _ = r.Close() }, res)
	}
	return st, nil
}

// Reseed restarts the random draws from seed and round.
func (s *Stepper) Reseed(seed int64, round int) {
	s.rng = rand.New(rand.NewPCG(uint64(seed), 0xd1ff+uint64(round)))
}

// Step takes one optimiser step on a batch of exactly BatchSize images x
// (each InChannels*ImageSize^2 values in [-1, 1]) with their conditions. It
// draws a timestep, noise and a condition-dropout flag per image, runs the
// forward and backward passes, applies the proximal term, AdamW and the EMA,
// and returns the loss before the update.
func (s *Stepper) Step(x []float32, conds [][model.CondDim]float32) (float64, error) {
	a := s.cfg.Arch
	n := s.cfg.Train.BatchSize
	px := a.InChannels * a.ImageSize * a.ImageSize
	if len(x) != n*px || len(conds) != n {
		return 0, fmt.Errorf("ddpm: step on %d values and %d conditions, want %d images of %d: %w", len(x), len(conds), n, px, model.ErrShape)
	}
	for k := range n {
		t := s.rng.IntN(s.sched.T())
		keep := s.rng.Float64() >= s.cfg.Train.CondDropProb
		e := s.eps[k*px : (k+1)*px]
		fillNormal(e, s.rng)
		s.sched.QSample(s.in.x[k*px:(k+1)*px], s.tgt[k*px:(k+1)*px], x[k*px:(k+1)*px], e, t)
		site := s.site
		if a.SiteConditioned() && s.rng.Float64() < s.cfg.Train.SiteDropProb {
			site = AnySite
		}
		s.in.fill(a, n, k, t, &conds[k], keep, site)
	}
	if s.res.Active() {
		return s.res.Step(&s.upd, "ddpm", append(s.in.values(s.u), s.tgt)...)
	}
	if err := s.in.let(s.u); err != nil {
		return 0, err
	}
	if err := graph.Let(s.target, s.tgt); err != nil {
		return 0, err
	}
	return s.upd.Step("ddpm", s.prog, s.loss)
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

// Load copies src's values into the live weights (same specs required),
// for example the global model at the start of a round.
func (s *Stepper) Load(src model.Weights) error {
	if err := s.Sync(); err != nil {
		return err
	}
	return optim.CopyValues(s.w, src)
}
