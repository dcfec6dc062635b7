package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/synthfed/synthfed/bench/internal/benchdata"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
)

// workload is what each site does between downloading the global model and
// uploading its update in the loopback-gRPC rounds.
type workload struct {
	// steps is the number of local optimiser steps of the real classifier
	// (trainedArch, batches of trainedBatch random images); 0 means the
	// site "trains" instantly (global + a fixed update of params values).
	steps int
	// params is the update size of the instant workload.
	params int
	// slots bounds how many sites of the trained workload train at once
	// (see slotTrainer); made by trainedWorkload.
	slots chan struct{}
}

// trainedWorkload returns the trained workload of steps local steps, with
// at most GOMAXPROCS sites training at once.
func trainedWorkload(steps int) workload {
	return workload{steps: steps, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// trainedBatch is the classifier's batch size in trained rounds.
const trainedBatch = 32

// trainedArch is the classifier the trained rounds run: four stages of 32,
// 64, 128 and 224 channels on 16x16 images: 1.05M parameters, the update
// size the instant rounds use too, and about 0.2 s a step on two cores.
func trainedArch() classifier.Arch {
	a := classifier.DefaultArch()
	a.ImageSize, a.Widths = 16, []int{32, 64, 128, 224}
	return a
}

// trained reports whether the sites run real local training.
func (w workload) trained() bool { return w.steps > 0 }

// model is the trainer name the jobs ask for.
func (w workload) model() string {
	if w.trained() {
		return "classifier"
	}
	return "logreg"
}

// label describes the workload in the table and the JSON.
func (w workload) label() string {
	if w.trained() {
		return fmt.Sprintf("classifier, %d local steps of %d images", w.steps, trainedBatch)
	}
	return "instant"
}

// trainer returns site i's trainer.
func (w workload) trainer(i int) (model.Trainer, error) {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(w.params)))
	if w.trained() {
		cfg := classifier.DefaultConfig()
		cfg.Arch, cfg.Train.BatchSize = trainedArch(), trainedBatch
		return &slotTrainer{cfg: cfg, set: benchdata.RandomImageSet(cfg.Arch.ImageSize, w.steps*trainedBatch, rng), slots: w.slots}, nil
	}
	specs := benchSpecs(w.params)
	tr := &benchTrainer{specs: specs, delta: make([]float32, w.params), samples: 100 + rng.IntN(900)}
	for j := range tr.delta {
		tr.delta[j] = float32(rng.Float64()-0.5) * 0.02
	}
	return tr, nil
}

// slotTrainer is a site's real classifier trainer, built for each round
// while the site holds one of the workload's slots and dropped after it. A
// compiled classifier holds about 0.4 GB, so 50 sites keeping theirs would
// need 20 GB in this one process, where a deployment has one per machine;
// and two cores run only two trainings at a time anyway. Building it is
// part of every round's training time, plain and secure alike.
type slotTrainer struct {
	cfg   classifier.Config
	set   *model.ImageSet
	slots chan struct{}
}

func (s *slotTrainer) Init(_ context.Context, seed int64) (model.Weights, error) {
	return s.cfg.Arch.InitWeights(seed)
}

func (s *slotTrainer) Train(ctx context.Context, g model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return model.TrainResult{}, ctx.Err()
	}
	defer func() { <-s.slots }()
	tr, err := classifier.NewTrainer(s.cfg, s.set, nil, nil)
	if err != nil {
		return model.TrainResult{}, err
	}
	return tr.Train(ctx, g, spec)
}

func (s *slotTrainer) Evaluate(context.Context, model.Weights) (map[string]float64, error) {
	return map[string]float64{}, nil
}

// benchTrainer returns global + a fixed update at once.
type benchTrainer struct {
	specs   []model.TensorSpec
	delta   []float32
	samples int
}

func (b *benchTrainer) Init(context.Context, int64) (model.Weights, error) {
	return model.Zeros(b.specs)
}

func (b *benchTrainer) Train(_ context.Context, g model.Weights, _ model.TrainSpec) (model.TrainResult, error) {
	w := g.Clone()
	off := 0
	for _, t := range w.Tensors() {
		for i := range t.Data {
			t.Data[i] += b.delta[off+i]
		}
		off += len(t.Data)
	}
	return model.TrainResult{Weights: w, NumSamples: b.samples}, nil
}

func (b *benchTrainer) Evaluate(context.Context, model.Weights) (map[string]float64, error) {
	return map[string]float64{}, nil
}

// benchSpecs splits params into four tensors.
func benchSpecs(params int) []model.TensorSpec {
	var out []model.TensorSpec
	for i, left := 0, params; i < 4; i++ {
		n := left / (4 - i)
		out = append(out, model.TensorSpec{Name: fmt.Sprintf("layer%d.weight", i), Shape: []int{n}})
		left -= n
	}
	return out
}
