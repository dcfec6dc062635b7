package main

import (
	"encoding/json"
	"math/rand/v2"

	"github.com/synthfed/synthfed/bench/internal/benchdata"
	"github.com/synthfed/synthfed/model/classifier"
)

// classifierStepCase times classifier.Stepper.Step: augmentation, label
// policy, forward, backward, AdamW and EMA on a batch of 32 images.
func classifierStepCase(name string, cfg classifier.Config) benchCase {
	return benchCase{name: name, build: func() (func() error, string, error) {
		w, err := cfg.Arch.InitWeights(1)
		if err != nil {
			return nil, "", err
		}
		st, err := classifier.NewStepper(cfg, w, 1)
		if err != nil {
			return nil, "", err
		}
		set := benchdata.RandomImageSet(cfg.Arch.ImageSize, cfg.Train.BatchSize, rand.New(rand.NewPCG(5, 6)))
		idx := make([]int, cfg.Train.BatchSize)
		for i := range idx {
			idx[i] = i
		}
		step := func() error {
			_, err := st.Step(set, idx)
			return err
		}
		spec, _ := json.Marshal(map[string]any{"arch": cfg.Arch, "train": cfg.Train, "params": w.NumParams()})
		return step, string(spec), nil
	}}
}
