package ddpm

import (
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
)

// The two-condition toy: a bright square (condition label 2 set) or a
// bright disk (unset) on a black background, with random brightness and
// pixel noise. The square's corners lie outside the disk, so the mean of
// the corner region tells the two apart.
const toyLabel = 8 + 2 // Cardiomegaly's slot in the condition vector

// toyMasks returns the square and disk masks of a size x size image.
func toyMasks(size int) (square, disk []bool) {
	square = make([]bool, size*size)
	disk = make([]bool, size*size)
	c := float64(size-1) / 2
	half := float64(size) * 0.3
	for y := range size {
		for x := range size {
			dx, dy := float64(x)-c, float64(y)-c
			square[y*size+x] = math.Abs(dx) <= half && math.Abs(dy) <= half
			disk[y*size+x] = dx*dx+dy*dy <= half*half
		}
	}
	return square, disk
}

// toySet generates n images, alternating square and disk.
func toySet(n, size int, seed uint64) *model.ImageSet {
	r := rand.New(rand.NewPCG(seed, 1))
	square, disk := toyMasks(size)
	s := &model.ImageSet{Size: size, Pixels: make([]float32, n*size*size), Cond: make([][model.CondDim]float32, n), Labels: make([][model.NumLabels]model.Label, n)}
	for i := range n {
		isSquare := i%2 == 0
		mask := disk
		if isSquare {
			mask = square
			s.Cond[i][toyLabel] = 1
			s.Labels[i][2] = model.LabelPositive
		}
		s.Cond[i][0] = 0.5
		bright := 0.5 + 0.5*r.Float64()
		img := s.Image(i)
		for k := range img {
			v := -1.0
			if mask[k] {
				v = bright
			}
			img[k] = float32(v + 0.05*r.NormFloat64())
		}
	}
	return s
}

// toyIsSquare is the hand-made discriminator: the mean of the pixels in
// the square but not in the disk is high for a square, -1 for a disk.
func toyIsSquare(img []float32, size int) bool {
	square, disk := toyMasks(size)
	var s float64
	var n int
	for k := range img {
		if square[k] && !disk[k] {
			s += float64(img[k])
			n++
		}
	}
	return s/float64(n) > -0.2
}
