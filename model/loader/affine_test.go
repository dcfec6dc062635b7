package loader

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testWarps are geometries from none to far beyond the defaults (45
// degrees, 40% zoom, 40% shift), flipped and not.
func testWarps(size int) []Warp {
	ws := []Warp{{Scale: 1}, {Flip: true, Scale: 1}}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		ws = append(ws, Warp{Flip: r.IntN(2) == 1, Theta: (2*r.Float64() - 1) * math.Pi / 4, Scale: 0.6 + 0.8*r.Float64(),
			DX: (2*r.Float64() - 1) * 0.4 * float64(size), DY: (2*r.Float64() - 1) * 0.4 * float64(size)})
	}
	return ws
}

// testImage returns a size x size 8-bit image and its dequantised values.
func testImage(size int, seed uint64) ([]byte, []float32) {
	r := rand.New(rand.NewPCG(seed, 1))
	px, f := make([]byte, size*size), make([]float32, size*size)
	for i := range px {
		px[i] = byte(r.IntN(256))
		f[i] = float32(px[i])/127.5 - 1
	}
	return px, f
}

// TestWarpInteriorRuns checks the interior runs against sampling every
// pixel with the border rule: the float warp must equal it exactly, so
// no run includes a position with a neighbour outside.
func TestWarpInteriorRuns(t *testing.T) {
	for _, size := range []int{2, 3, 7, 32, 255} {
		_, src := testImage(size, uint64(size))
		dst := make([]float32, size*size)
		sc := getScratch(size)
		for wi, w := range testWarps(size) {
			WarpFloat(dst, src, size, w)
			ax, ay := w.rows(size, sc)
			for y := range size {
				for x := range size {
					want := edgeFloat(src, size, sc.sx[y]+x*ax, sc.sy[y]+x*ay)
					if got := dst[y*size+x]; got != want {
						t.Fatalf("size %d warp %d (%+v) pixel (%d,%d): %v, per-pixel border rule gives %v", size, wi, w, x, y, got, want)
					}
				}
			}
		}
	}
}

// TestWarpBytesMatchesFloat: the 8-bit path (integer weights of 8 bits,
// fused dequantisation) is within one weight step (1/256 of the range 2 on
// each axis) of the float path, and
// the C kernels (when built in) equal the Go code exactly.
func TestWarpBytesMatchesFloat(t *testing.T) {
	for _, size := range []int{2, 5, 16, 64, 256} {
		px, f := testImage(size, 9)
		got, want, gor := make([]float32, size*size), make([]float32, size*size), make([]float32, size*size)
		sc := getScratch(size)
		for wi, w := range testWarps(size) {
			WarpBytes(got, px, size, w)
			WarpFloat(want, f, size, w)
			ax, ay := w.rows(size, sc)
			for y := range size {
				warpRowBytes(gor[y*size:(y+1)*size], px, size, sc.sx[y], sc.sy[y], ax, ay)
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 2*2.0/256+1e-5 {
					t.Fatalf("size %d warp %d pixel %d: bytes %v, float %v (diff %v)", size, wi, i, got[i], want[i], d)
				}
				if got[i] != gor[i] {
					t.Fatalf("size %d warp %d pixel %d: kernel %v, Go reference %v (native %v)", size, wi, i, got[i], gor[i], haveNative)
				}
			}
		}
	}
}

// TestAffineNoise: the table noise has the configured std and mean 0 over
// an image, differs between keys, and the C kernel equals the Go loop.
func TestAffineNoise(t *testing.T) {
	const size = 256
	a := Affine{NoiseStd: 0.02}
	img := make([]float32, size*size)
	var s, s2 float64
	seen := map[float32]bool{}
	for k := range 8 {
		clear(img)
		a.AugmentFloat(img, make([]float32, size*size), size, Key{Hi: 3, Lo: uint64(k)})
		seen[img[0]] = true
		for _, v := range img {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
	}
	n := float64(8 * size * size)
	mean, std := s/n, math.Sqrt(s2/n-(s/n)*(s/n))
	if math.Abs(mean) > 0.001 || math.Abs(std-0.02) > 0.001 {
		t.Fatalf("noise mean %v std %v, want 0 and 0.02", mean, std)
	}
	if len(seen) < 8 {
		t.Fatalf("8 keys gave %d distinct first pixels", len(seen))
	}
	if !haveNative {
		return
	}
	_, r1 := a.Draw(Key{Hi: 1, Lo: 2}, size)
	_, r2 := a.Draw(Key{Hi: 1, Lo: 2}, size)
	native := make([]float32, size*size)
	a.noise(native, size, r1)
	// The Go loop, with the same draws.
	sc := getScratch(size)
	goImg := make([]float32, size*size)
	sd := float32(a.NoiseStd)
	for j := range sc.start {
		u := r2.next()
		sc.scale[j] = sd
		if u&1 != 0 {
			sc.scale[j] = -sd
		}
		sc.start[j] = int32((u >> 1) % (noiseLen - noiseSeg))
	}
	tab := noiseTable()
	for y := range size {
		for x := range size {
			j := y*((size+noiseSeg-1)/noiseSeg) + x/noiseSeg
			goImg[y*size+x] += sc.scale[j] * tab[int(sc.start[j])+x%noiseSeg]
		}
	}
	for i := range native {
		if native[i] != goImg[i] {
			t.Fatalf("pixel %d: C noise %v, Go %v", i, native[i], goImg[i])
		}
	}
}

// TestAffineDrawDistributions: flips, rotations, scales and shifts are
// uniform over their configured ranges.
func TestAffineDrawDistributions(t *testing.T) {
	a := Affine{FlipProb: 0.5, MaxRotateDeg: 5, MaxScale: 0.05, MaxShift: 0.05}
	const n = 20000
	flips := 0
	var th, th2 float64
	for k := range n {
		w, _ := a.Draw(Key{Hi: 11, Lo: uint64(k)}, 256)
		if w.Flip {
			flips++
		}
		if math.Abs(w.Theta) > 5*math.Pi/180 || math.Abs(w.Scale-1) > 0.05 || math.Abs(w.DX) > 0.05*256 || math.Abs(w.DY) > 0.05*256 {
			t.Fatalf("draw %d out of range: %+v", k, w)
		}
		th += w.Theta
		th2 += w.Theta * w.Theta
	}
	max := 5 * math.Pi / 180
	if f := float64(flips) / n; math.Abs(f-0.5) > 0.02 {
		t.Fatalf("flip share %v, want 0.5", f)
	}
	if sd := math.Sqrt(th2 / n); math.Abs(th/n) > 0.02*max || math.Abs(sd-max/math.Sqrt(3)) > 0.02*max {
		t.Fatalf("rotation mean %v std %v, want 0 and %v (uniform)", th/n, sd, max/math.Sqrt(3))
	}
}
