package phantom

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refBlur is the plain separable Gaussian blur the unrolled one must equal
// bit for bit: the kernel built and normalised in place, each horizontal
// value summed over the taps in order, each vertical value accumulated row
// by row from zero, borders clamped.
func refBlur(img []float32, size int, sigma float64) {
	if sigma < 0.05 {
		return
	}
	rad := int(math.Ceil(2 * sigma))
	k := make([]float32, 2*rad+1)
	var sum float32
	for i := range k {
		d := float64(i - rad)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float32, size*size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var acc float32
			for j, w := range k {
				acc += w * img[y*size+min(max(x+j-rad, 0), size-1)]
			}
			tmp[y*size+x] = acc
		}
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img[y*size+x] = 0
		}
		for j, w := range k {
			sy := min(max(y+j-rad, 0), size-1)
			for x := 0; x < size; x++ {
				img[y*size+x] += w * tmp[sy*size+x]
			}
		}
	}
}

func TestBlurMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{1, 2, 3, 5, 8, 16, 33, 64} {
		// Radii 0 (no blur) to 6: every unrolled length and the general
		// loops, on images smaller and larger than the kernel.
		for _, sigma := range []float64{0, 0.3, 0.5, 0.8, 1.1, 1.6, 1.9, 2.4, 3} {
			img := make([]float32, size*size)
			for i := range img {
				img[i] = float32(r.NormFloat64())
			}
			want := append([]float32(nil), img...)
			refBlur(want, size, sigma)
			blur(img, make([]float32, size*size), size, gaussKernel(sigma))
			for i := range img {
				if math.Float32bits(img[i]) != math.Float32bits(want[i]) {
					t.Fatalf("size %d sigma %g: pixel %d is %g, want %g", size, sigma, i, img[i], want[i])
				}
			}
		}
	}
}
