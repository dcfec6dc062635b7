package classifier

import (
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
)

// toyLabels are the labels the separable task draws, each with its own
// pattern at a random place: a bright 4x4 blob, a horizontal line, a
// vertical line and a 6x6 checkerboard.
var toyLabels = [4]int{2, 3, 9, 10}

// drawPattern paints pattern q at a random position of a size x size image.
func drawPattern(img []float32, size, q int, r *rand.Rand) {
	set := func(x, y int, v float64) { img[y*size+x] = float32(v + 0.05*r.NormFloat64()) }
	switch q {
	case 0:
		x0, y0 := r.IntN(size-4), r.IntN(size-4)
		for y := y0; y < y0+4; y++ {
			for x := x0; x < x0+4; x++ {
				set(x, y, 0.6)
			}
		}
	case 1:
		x0, y0 := r.IntN(size-10), r.IntN(size)
		for x := x0; x < x0+10; x++ {
			set(x, y0, 0.8)
		}
	case 2:
		x0, y0 := r.IntN(size), r.IntN(size-10)
		for y := y0; y < y0+10; y++ {
			set(x0, y, 0.8)
		}
	case 3:
		x0, y0 := r.IntN(size-6), r.IntN(size-6)
		for y := y0; y < y0+6; y++ {
			for x := x0; x < x0+6; x++ {
				if (x+y)%2 == 0 {
					set(x, y, 0.7)
				}
			}
		}
	}
}

// toySet generates n images of size 16: every toy label is present with
// probability 0.4; uncertainFrac of the toy-label entries are marked
// uncertain (their patch drawn at random); the other labels are negative
// or blank.
func toySet(n int, seed uint64, uncertainFrac float64) *model.ImageSet {
	const size = 16
	r := rand.New(rand.NewPCG(seed, 7))
	s := &model.ImageSet{Size: size, Pixels: make([]float32, n*size*size), Cond: make([][model.CondDim]float32, n), Labels: make([][model.NumLabels]model.Label, n)}
	for i := range n {
		img := s.Image(i)
		for k := range img {
			img[k] = float32(-1 + 0.1*r.NormFloat64())
		}
		for j := range model.NumLabels {
			s.Labels[i][j] = model.LabelNegative
			if r.IntN(3) == 0 {
				s.Labels[i][j] = model.LabelBlank
			}
		}
		for q, j := range toyLabels {
			present := r.Float64() < 0.4
			s.Labels[i][j] = model.LabelNegative
			if present {
				s.Labels[i][j] = model.LabelPositive
			}
			if r.Float64() < uncertainFrac {
				s.Labels[i][j] = model.LabelUncertain
				present = r.IntN(2) == 0
			}
			if present {
				drawPattern(img, size, q, r)
			}
		}
	}
	return s
}

// toyConfig is a small classifier for 16x16 images.
func toyConfig() Config {
	cfg := DefaultConfig()
	cfg.Arch = Arch{ImageSize: 16, InChannels: 1, Widths: []int{16, 32}, BlocksPerStage: 1, Groups: 4}
	cfg.Train.BatchSize = 16
	cfg.Train.Adam.LR = 5e-3
	cfg.Train.EMADecay = 0.9
	cfg.Train.MaxSteps = 400
	cfg.Train.EvalEvery = 50
	cfg.Train.Patience = 3
	return cfg
}
