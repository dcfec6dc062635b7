package ddpm

import (
	"context"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// benchStep times Stepper.Step for cfg on random data.
func benchStep(b *testing.B, cfg Config) {
	w, err := cfg.Arch.InitWeights(1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewStepper(cfg, w, 1)
	if err != nil {
		b.Fatal(err)
	}
	set := toySet(cfg.Train.BatchSize, cfg.Arch.ImageSize, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := s.Step(set.Pixels, set.Cond); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStepToy times the learning test's step (16x16, batch 16).
func BenchmarkStepToy(b *testing.B) { benchStep(b, toyConfig()) }

// BenchmarkStepDefault times the default U-Net at batch 32.
func BenchmarkStepDefault(b *testing.B) { benchStep(b, DefaultConfig()) }

// BenchmarkStepBench times BenchArch at batch 32.
func BenchmarkStepBench(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Arch = BenchArch()
	benchStep(b, cfg)
}

// BenchmarkDDIM50Default times DDIM sampling of 32 images in 50 steps with
// the default U-Net (no guidance).
func BenchmarkDDIM50Default(b *testing.B) {
	cfg := DefaultConfig()
	w, _ := cfg.Arch.InitWeights(1)
	s, err := NewSampler(cfg, w)
	if err != nil {
		b.Fatal(err)
	}
	conds := make([][model.CondDim]float32, 32)
	seeds := make([]int64, 32)
	for i := range seeds {
		seeds[i] = int64(i)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Sample(context.Background(), conds, seeds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "images/s")
}
