package classifier

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model/loader"
)

// smooth256 is a smooth 256-px test image (a lung-field-like bump).
func smooth256() []float32 {
	const size = 256
	img := make([]float32, size*size)
	for y := range size {
		for x := range size {
			dx, dy := float64(x-128)/90, float64(y-120)/110
			img[y*size+x] = float32(math.Exp(-(dx*dx+dy*dy))*1.6 - 0.8 + 0.1*math.Sin(float64(x)/9))
		}
	}
	return img
}

// TestStreamAugmenterGeometryMatchesAugment: for the same geometry the
// streams' fixed-point warp and the in-memory float64 affine sample the
// same image (within 1e-3 on a smooth image; 16.16 positions).
func TestStreamAugmenterGeometryMatchesAugment(t *testing.T) {
	const size = 256
	src := smooth256()
	ref, got := make([]float32, size*size), make([]float32, size*size)
	r := rand.New(rand.NewPCG(4, 4))
	for k := range 12 {
		w := loader.Warp{Flip: k%2 == 1, Theta: (2*r.Float64() - 1) * 5 * math.Pi / 180, Scale: 1 + (2*r.Float64()-1)*0.05,
			DX: (2*r.Float64() - 1) * 0.05 * size, DY: (2*r.Float64() - 1) * 0.05 * size}
		affine(ref, src, size, w.Flip, w.Theta, w.Scale, w.DX, w.DY)
		loader.WarpFloat(got, src, size, w)
		for i := range ref {
			if d := math.Abs(float64(ref[i] - got[i])); d > 1e-3 {
				t.Fatalf("warp %d (%+v) pixel %d: stream %v, Augment %v", k, w, i, got[i], ref[i])
			}
		}
	}
}

// TestStreamAugmenterStatistics compares the two augmentations over many
// draws of the default configuration on one image: the per-pixel mean
// image and the mean per-pixel std across draws agree (the affine's
// spread), and so does the noise's std with the affine switched off.
func TestStreamAugmenterStatistics(t *testing.T) {
	const size, n = 256, 300
	src := smooth256()
	cfg := DefaultAugmentConfig()
	mean := func(aug func(dst []float32, k int)) (m, sd []float64) {
		m, s2 := make([]float64, size*size), make([]float64, size*size)
		dst := make([]float32, size*size)
		for k := range n {
			aug(dst, k)
			for i, v := range dst {
				m[i] += float64(v)
				s2[i] += float64(v) * float64(v)
			}
		}
		sd = make([]float64, len(m))
		for i := range m {
			m[i] /= n
			sd[i] = math.Sqrt(max(s2[i]/n-m[i]*m[i], 0))
		}
		return m, sd
	}
	rng := rand.New(rand.NewPCG(8, 9))
	refM, refS := mean(func(dst []float32, _ int) { Augment(dst, src, size, cfg, rng) })
	fast := StreamAugmenter(cfg)
	gotM, gotS := mean(func(dst []float32, k int) { fast.AugmentFloat(dst, src, size, loader.Key{Hi: 8, Lo: uint64(k)}) })
	var dm, as, bs float64
	for i := range refM {
		dm += math.Abs(refM[i] - gotM[i])
		as += refS[i]
		bs += gotS[i]
	}
	dm, as, bs = dm/float64(len(refM)), as/float64(len(refM)), bs/float64(len(refM))
	t.Logf("mean |mean image difference| %.4f; mean per-pixel std: Augment %.4f, stream %.4f", dm, as, bs)
	if dm > 0.02 || math.Abs(as-bs) > 0.1*as {
		t.Fatalf("mean image differs by %.4f per pixel, stds %.4f vs %.4f", dm, as, bs)
	}
	// Noise only.
	noise := AugmentConfig{NoiseStd: 0.02}
	_, refS = mean(func(dst []float32, _ int) { Augment(dst, src, size, noise, rng) })
	fn := StreamAugmenter(noise)
	_, gotS = mean(func(dst []float32, k int) { fn.AugmentFloat(dst, src, size, loader.Key{Hi: 9, Lo: uint64(k)}) })
	as, bs = 0, 0
	for i := range refS {
		as += refS[i]
		bs += gotS[i]
	}
	as, bs = as/float64(len(refS)), bs/float64(len(refS))
	if math.Abs(as-0.02) > 0.001 || math.Abs(bs-0.02) > 0.001 {
		t.Fatalf("noise std across draws: Augment %.5f, stream %.5f, want 0.02", as, bs)
	}
}
