package classifier

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func testImage(size int) []float32 {
	img := make([]float32, size*size)
	for i := range img {
		img[i] = float32(i%7)/7 - 0.5
	}
	return img
}

func TestAugment(t *testing.T) {
	const size = 6
	src := testImage(size)
	r := func() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
	dst := make([]float32, len(src))

	Augment(dst, src, size, AugmentConfig{}, r())
	if !slices.Equal(dst, src) {
		t.Fatal("zero config changed the image")
	}
	Augment(dst, src, size, AugmentConfig{FlipProb: 1}, r())
	for y := range size {
		for x := range size {
			if dst[y*size+x] != src[y*size+size-1-x] {
				t.Fatalf("flip: (%d,%d)", x, y)
			}
		}
	}
	// The affine path with a zero draw range reproduces the image, flipped
	// or not, exactly: it samples at integer positions.
	aff := AugmentConfig{FlipProb: 1, MaxShift: 1e-12}
	Augment(dst, src, size, aff, r())
	for y := range size {
		for x := range size {
			if math.Abs(float64(dst[y*size+x]-src[y*size+size-1-x])) > 1e-6 {
				t.Fatalf("affine flip: (%d,%d) %v vs %v", x, y, dst[y*size+x], src[y*size+size-1-x])
			}
		}
	}
	// Same seed, same result; another seed differs.
	full := DefaultAugmentConfig()
	a, b, c := make([]float32, len(src)), make([]float32, len(src)), make([]float32, len(src))
	Augment(a, src, size, full, r())
	Augment(b, src, size, full, r())
	Augment(c, src, size, full, rand.New(rand.NewPCG(3, 4)))
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatal("augmentation is not a function of the stream")
	}
	// Noise has the configured spread.
	big := make([]float32, 64*64)
	out := make([]float32, len(big))
	Augment(out, big, 64, AugmentConfig{NoiseStd: 0.1}, r())
	var ss float64
	for _, v := range out {
		ss += float64(v) * float64(v)
	}
	if std := math.Sqrt(ss / float64(len(out))); math.Abs(std-0.1) > 0.01 {
		t.Fatalf("noise std %v", std)
	}
}

func TestBilinearFillsOutside(t *testing.T) {
	src := []float32{1, 2, 3, 4}
	if v := bilinear(src, 2, 0.5, 0); v != 1.5 {
		t.Fatalf("midpoint %v", v)
	}
	if v := bilinear(src, 2, -1, 0); v != -1 {
		t.Fatalf("outside %v", v)
	}
	if v := bilinear(src, 2, -0.5, 0); v != 0 { // half -1, half 1
		t.Fatalf("edge %v", v)
	}
}
