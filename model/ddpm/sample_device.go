package ddpm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
)

// sampleOnDevice is sampleBatch with the images kept on m's device: the
// noisy images go up once, each step writes only the time features (and,
// for DDPM, the noise drawn from each image's stream as on the host), the
// U-Net, the guidance and the update run there, and the images come down
// at the end. The result matches the host loop's up to float32 rounding.
func (m *Model) sampleOnDevice(ctx context.Context, sched *Schedule, steps []int, px int, conds [][model.CondDim]float32, seeds []int64, cfg SampleConfig, x []float32) error {
	n, a := len(seeds), m.arch
	doubled := cfg.Guidance != 0
	mm := n
	if doubled {
		mm = 2 * n
	}
	f, err := m.net(mm)
	if err != nil {
		return err
	}
	ds, ok := f.fw.(graph.Sampling)
	if !ok {
		return fmt.Errorf("ddpm: the device %s keeps no sampler state", m.dev.Name())
	}
	if f.epoch != m.epoch { // the weights once per SampleWith call, not per batch
		if err := f.fw.Reload(); err != nil {
			return fmt.Errorf("ddpm: sampling: %w", err)
		}
		f.epoch = m.epoch
	}
	rngs := make([]*rand.Rand, n)
	for k, s := range seeds {
		rngs[k] = noiseSource(s)
		fillNormal(x[k*px:(k+1)*px], rngs[k])
	}
	copy(f.in.x, x)
	if doubled {
		copy(f.in.x[n*px:], x)
	}
	for k := range mm {
		f.in.fill(a, mm, k, steps[0], &conds[k%n], k < n, m.site)
	}
	for i, v := range f.in.values(f.u) {
		if err := ds.SetInput(i, v); err != nil {
			return fmt.Errorf("ddpm: sampling: %w", err)
		}
	}
	z := make([]float32, n*px)
	for s, i := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.deviceStep(ds, f, sched, steps, s, i, px, n, mm, cfg, rngs, z); err != nil {
			return fmt.Errorf("ddpm: sampling step %d: %w", s, err)
		}
	}
	if err := ds.ReadInput(0, f.in.x); err != nil {
		return fmt.Errorf("ddpm: sampling: %w", err)
	}
	copy(x, f.in.x[:n*px])
	return nil
}

// deviceStep runs step s (schedule index i) of sampleOnDevice.
func (m *Model) deviceStep(ds graph.Sampling, f *inferNet, sched *Schedule, steps []int, s, i, px, n, mm int, cfg SampleConfig, rngs []*rand.Rand, z []float32) error {
	b := m.arch.BaseChannels
	if s > 0 {
		for k := range mm {
			TimeFeatures(f.in.tfeat[k*b:(k+1)*b], i)
		}
		if err := ds.SetInput(1, f.in.tfeat); err != nil {
			return err
		}
	}
	if err := ds.RunResident(); err != nil {
		return err
	}
	sa, s1a := sched.Coeffs(i)
	st := graph.DenoiseStep{Images: n, Pixels: px, Doubled: mm > n, W: cfg.Guidance, Rescale: cfg.GuidanceRescale,
		SqrtAbar: sa, SqrtOneMinus: s1a, Clip: cfg.ClipX0}
	j := -1
	if s+1 < len(steps) {
		j = steps[s+1]
	}
	switch {
	case cfg.Method == MethodDDIM:
		ab := abarAt(sched, j)
		st.C0, st.CEps = math.Sqrt(ab), math.Sqrt(1-ab)
	case j < 0:
		st.C0 = 1
	default: // ddpmStep's posterior, its noise from each image's stream
		abI, abJ := sched.AlphaBar[i], abarAt(sched, j)
		alpha := abI / abJ
		beta := 1 - alpha
		st.C0 = math.Sqrt(abJ) * beta / (1 - abI)
		st.CX = math.Sqrt(alpha) * (1 - abJ) / (1 - abI)
		st.SD = math.Sqrt(beta * (1 - abJ) / (1 - abI))
		for k := range n {
			fillNormal(z[k*px:(k+1)*px], rngs[k])
		}
	}
	return ds.Denoise(0, 0, st, z)
}
