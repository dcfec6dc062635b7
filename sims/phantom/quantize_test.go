package phantom

import (
	"math"
	"testing"
)

// TestQuantizeMatchesRound checks quantize against float32(math.Round(v *
// 65535)) bit for bit, where the fast path is most likely to differ: a few
// ulps either side of every half level, the ends of [0, 1], denormals, and
// the values the fast path must leave to math.Round (-0, NaN, out of
// range). (Every float32 in [+0, 1] was also checked once, exhaustively.)
func TestQuantizeMatchesRound(t *testing.T) {
	var vs []float32
	for k := 0; k <= 65535; k++ {
		h := float32((float64(k) + 0.5) / 65535)
		b := math.Float32bits(h)
		for d := uint32(0); d <= 3; d++ {
			vs = append(vs, math.Float32frombits(b+d), math.Float32frombits(b-d))
		}
		vs = append(vs, float32(float64(k)/65535))
	}
	vs = append(vs, 0, float32(math.Copysign(0, -1)), 1, math.Nextafter32(1, 2), 1.5, 70000, -0.3, -1e-30,
		math.Float32frombits(1), math.SmallestNonzeroFloat32*1e10, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))
	got := append([]float32(nil), vs...)
	quantize(got)
	for i, v := range vs {
		want := float32(math.Round(float64(v) * 65535))
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Errorf("quantize(%g) = %g (%#x), want %g (%#x)", v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
		}
	}
}
