package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
)

// modelCases are the whole-model cases: the U-Net training step at the
// simulation default and at the benchmark size, the classifier training
// step, and DDIM sampling.
func modelCases() []benchCase {
	bench := ddpm.DefaultConfig()
	bench.Arch = ddpm.BenchArch()
	return []benchCase{
		unetStepCase("unet_default_train_b32", ddpm.DefaultConfig()),
		unetStepCase("unet_bench_train_b32", bench),
		classifierStepCase("classifier_default_train_b32", classifier.DefaultConfig()),
		ddimCase("ddim50_default_b32", ddpm.DefaultConfig()),
	}
}

// ddpmSpec is what the PyTorch twin needs to build the same model and step:
// the architecture and the training and sampling settings, as JSON.
func ddpmSpec(cfg ddpm.Config, params int) string {
	b, _ := json.Marshal(map[string]any{"arch": cfg.Arch, "train": cfg.Train, "sample": cfg.Sample, "params": params})
	return string(b)
}

// randomBatch returns n images in [-1, 1] and random conditions.
func randomBatch(a ddpm.Arch, n int, rng *rand.Rand) ([]float32, [][model.CondDim]float32) {
	x := make([]float32, n*a.InChannels*a.ImageSize*a.ImageSize)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	conds := make([][model.CondDim]float32, n)
	for i := range conds {
		for j := range conds[i] {
			conds[i][j] = float32(rng.IntN(2))
		}
	}
	return x, conds
}

// unetStepCase times ddpm.Stepper.Step: noise draws, forward, backward,
// AdamW and EMA on a batch of cfg.Train.BatchSize (32) images.
func unetStepCase(name string, cfg ddpm.Config) benchCase {
	return benchCase{name: name, build: func() (func() error, string, error) {
		w, err := cfg.Arch.InitWeights(1)
		if err != nil {
			return nil, "", err
		}
		st, err := ddpm.NewStepper(cfg, w, 1)
		if err != nil {
			return nil, "", err
		}
		x, conds := randomBatch(cfg.Arch, cfg.Train.BatchSize, rand.New(rand.NewPCG(1, 2)))
		step := func() error {
			_, err := st.Step(x, conds)
			return err
		}
		return step, ddpmSpec(cfg, w.NumParams()), nil
	}}
}

// ddimCase times sampling one batch of cfg.Sample.BatchSize (32) images
// with cfg.Sample.Steps (50) DDIM steps.
func ddimCase(name string, cfg ddpm.Config) benchCase {
	return benchCase{name: name, build: func() (func() error, string, error) {
		w, err := cfg.Arch.InitWeights(1)
		if err != nil {
			return nil, "", err
		}
		s, err := ddpm.NewSampler(cfg, w)
		if err != nil {
			return nil, "", err
		}
		n := cfg.Sample.BatchSize
		_, conds := randomBatch(cfg.Arch, n, rand.New(rand.NewPCG(3, 4)))
		seeds := make([]int64, n)
		for i := range seeds {
			seeds[i] = int64(i)
		}
		step := func() error {
			_, err := s.Sample(context.Background(), conds, seeds)
			return err
		}
		return step, ddpmSpec(cfg, w.NumParams()), nil
	}}
}
