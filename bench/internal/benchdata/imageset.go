// Package benchdata makes the inputs the benchmark commands time models on.
package benchdata

import (
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
)

// RandomImageSet returns n random size x size images in [-1, 1] with
// random labels in all four states: what a training step costs does not
// depend on what the pixels show.
func RandomImageSet(size, n int, rng *rand.Rand) *model.ImageSet {
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
