package phantom

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPCGMatchesStdlib checks that pcg yields rand.PCG's words for the
// same seeds, alone and through rand.Rand's derived draws, and that
// addNoise consumes exactly one word per pixel.
func TestPCGMatchesStdlib(t *testing.T) {
	seeds := [][2]uint64{{0, 0}, {1, 2}, {^uint64(0), 12345}, {0xac9, 1 << 63}, {42, 0xdeadbeef}}
	for _, sd := range seeds {
		ref, got := rand.NewPCG(sd[0], sd[1]), newPCG(sd[0], sd[1])
		for i := range 1000 {
			if a, b := ref.Uint64(), got.Uint64(); a != b {
				t.Fatalf("seed %v word %d: %#x, want %#x", sd, i, b, a)
			}
		}
		rr, rg := rand.New(rand.NewPCG(sd[0], sd[1])), rand.New(newPCG(sd[0], sd[1]))
		for i := range 200 {
			if a, b := rr.NormFloat64(), rg.NormFloat64(); a != b {
				t.Fatalf("seed %v normal %d: %g, want %g", sd, i, b, a)
			}
		}
		// addNoise against the plain loop over rand.PCG's words, then the
		// next word: both streams must agree after it.
		ref2, got2 := rand.NewPCG(sd[0], sd[1]), newPCG(sd[0], sd[1])
		img, want := make([]float32, 37), make([]float32, 37)
		for i := range img {
			img[i] = float32(i) / 37
			want[i] = img[i]
		}
		addNoise(img, 0.1, got2)
		k := float32(0.1 / math.Sqrt(4*(256*256-1)/12.0))
		for i := range want {
			u := ref2.Uint64()
			s := int32(u&0xFF) + int32(u>>8&0xFF) + int32(u>>16&0xFF) + int32(u>>24&0xFF) - 510
			want[i] += k * float32(s)
		}
		for i := range img {
			if math.Float32bits(img[i]) != math.Float32bits(want[i]) {
				t.Fatalf("seed %v: noisy pixel %d is %g, want %g", sd, i, img[i], want[i])
			}
		}
		if a, b := ref2.Uint64(), got2.Uint64(); a != b {
			t.Fatalf("seed %v: after addNoise of %d pixels the streams differ", sd, len(img))
		}
	}
}
