package ddpm

import (
	"context"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
)

// Sampler draws images from one set of weights (normally the EMA weights),
// keeping its compiled forward graphs between calls. It is not safe for
// concurrent use.
type Sampler struct {
	cfg   Config
	sched *Schedule
	m     *Model
}

// NewSampler binds cfg.Arch to w (copied) for sampling with cfg.Sample.
func NewSampler(cfg Config, w model.Weights) (*Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sched, err := CosineSchedule(cfg.Train.Steps, cfg.Train.CosineOffset, cfg.Train.ZeroTerminalSNR)
	if err != nil {
		return nil, err
	}
	batch := cfg.Sample.BatchSize
	if cfg.Sample.Guidance != 0 {
		batch *= 2
	}
	m, err := NewModel(cfg.Arch, w.Clone(), batch)
	if err != nil {
		return nil, err
	}
	return &Sampler{cfg: cfg, sched: sched, m: m}, nil
}

// UseDevice runs the sampler's U-Net forward passes on dev (nil: the
// CPU); the DDIM updates and the guidance stay on the host.
func (s *Sampler) UseDevice(dev graph.Device) { s.m.UseDevice(dev) }

// SetSite conditions the following samples on site index k of a
// site-conditioned model (an index of Arch.Sites: images as if acquired
// at that site), or AnySite for the sites' mixture (the default).
func (s *Sampler) SetSite(k int) error { return s.m.SetSite(k) }

// Sample draws one image per (condition, seed) pair and returns their
// pixels, ImageSize^2 per image, in [-1, 1] when ClipX0 is set. An image
// depends only on the weights, its condition and its seed, not on the other
// images of the call.
func (s *Sampler) Sample(ctx context.Context, conds [][model.CondDim]float32, seeds []int64) ([]float32, error) {
	a := s.cfg.Arch
	return SampleWith(ctx, s.m, s.sched, a.InChannels*a.ImageSize*a.ImageSize, conds, seeds, s.cfg.Sample)
}

// Sample is the one-call form of NewSampler(cfg, w).Sample(ctx, conds, seeds).
func Sample(ctx context.Context, cfg Config, w model.Weights, conds [][model.CondDim]float32, seeds []int64) ([]float32, error) {
	s, err := NewSampler(cfg, w)
	if err != nil {
		return nil, err
	}
	return s.Sample(ctx, conds, seeds)
}

// SampleLike draws one synthetic image per row of like, with the row's
// condition and labels and seeds[i] for row i, as the study's replicas of
// real rows. The result is marked Synthetic and has no patient IDs.
func (s *Sampler) SampleLike(ctx context.Context, like *model.ImageSet, seeds []int64) (*model.ImageSet, error) {
	if len(seeds) != like.Len() {
		return nil, fmt.Errorf("ddpm: %d seeds for %d rows: %w", len(seeds), like.Len(), model.ErrShape)
	}
	px, err := s.Sample(ctx, like.Cond, seeds)
	if err != nil {
		return nil, err
	}
	out := &model.ImageSet{
		Size:      s.cfg.Arch.ImageSize,
		Pixels:    px,
		Cond:      append([][model.CondDim]float32(nil), like.Cond...),
		Labels:    append([][model.NumLabels]model.Label(nil), like.Labels...),
		Synthetic: make([]bool, like.Len()),
	}
	for i := range out.Synthetic {
		out.Synthetic[i] = true
	}
	return out, nil
}

// Evaluate scores w on the validation images: the v-prediction MSE at
// fixed, evenly spread timesteps with fixed per-image noise, so the same
// weights always score the same. It returns "val_loss" and "val_images".
func (t *Trainer) Evaluate(ctx context.Context, w model.Weights) (map[string]float64, error) {
	if t.val == nil || t.val.Len() == 0 {
		return map[string]float64{"val_images": 0}, nil
	}
	n := t.val.Len()
	if c := t.cfg.Train.EvalImages; c > 0 && c < n {
		n = c
	}
	if t.evalM == nil {
		t.evalW = w.Clone()
		m, err := NewModel(t.cfg.Arch, t.evalW, t.cfg.Train.BatchSize)
		if err != nil {
			return nil, err
		}
		if err := m.SetSite(t.site); err != nil {
			return nil, err
		}
		m.UseDevice(t.dev)
		t.evalM = m
	} else if err := optim.CopyValues(t.evalW, w); err != nil {
		return nil, fmt.Errorf("ddpm: evaluate: %w", err)
	}
	loss, err := validationLoss(ctx, t.evalM, t.cfg.Train, t.val, n)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"val_loss": loss, "val_images": float64(n)}, nil
}

// validationLoss is the mean v-MSE over the first n images of set, image k
// at step index floor((k+0.5)*T/n) with noise from seed k.
func validationLoss(ctx context.Context, m *Model, tc TrainConfig, set *model.ImageSet, n int) (float64, error) {
	sched, err := CosineSchedule(tc.Steps, tc.CosineOffset, tc.ZeroTerminalSNR)
	if err != nil {
		return 0, err
	}
	px := set.Size * set.Size
	xt := make([]float32, n*px)
	v := make([]float32, n*px)
	ts := make([]int, n)
	eps := make([]float32, px)
	for k := range n {
		ts[k] = int((float64(k) + 0.5) * float64(sched.T()) / float64(n))
		fillNormal(eps, noiseSource(int64(k)))
		sched.QSample(xt[k*px:(k+1)*px], v[k*px:(k+1)*px], set.Image(k), eps, ts[k])
	}
	pred := make([]float32, n*px)
	if err := m.PredictV(ctx, pred, xt, ts, set.Cond[:n], make([]bool, n)); err != nil {
		return 0, err
	}
	var s float64
	for i := range pred {
		d := float64(pred[i] - v[i])
		s += d * d
	}
	loss := s / float64(len(pred))
	if math.IsNaN(loss) {
		return loss, fmt.Errorf("ddpm: validation loss: %w", model.ErrNonFinite)
	}
	return loss, nil
}
