package main

import (
	"encoding/json"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
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
		set := randomImageSet(cfg.Arch.ImageSize, cfg.Train.BatchSize, rand.New(rand.NewPCG(5, 6)))
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

// randomImageSet returns n random images in [-1, 1] with random labels in
// all four states.
func randomImageSet(size, n int, rng *rand.Rand) *model.ImageSet {
	s := &model.ImageSet{Size: size, Pixels: make([]float32, n*size*size),
		Cond: make([][model.CondDim]float32, n), Labels: make([][model.NumLabels]model.Label, n)}
	for i := range s.Pixels {
		s.Pixels[i] = float32(rng.Float64()*2 - 1)
	}
	states := []model.Label{model.LabelNegative, model.LabelPositive, model.LabelUncertain, model.LabelBlank}
	for i := range s.Labels {
		for j := range s.Labels[i] {
			s.Labels[i][j] = states[rng.IntN(len(states))]
		}
	}
	return s
}
