package dataset

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/dataset/dicom/dicomtest"
)

// torchPattern is the input of the reference values below.
func torchPattern(h, w int) *Gray {
	g := &Gray{Width: w, Height: h, Pix: make([]float32, w*h)}
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			g.Pix[r*w+c] = float32((r*w+c)*37%23) + 0.5*float32(r)
		}
	}
	return g
}

// TestPreprocessMatchesTorch compares with values printed by PyTorch 1.13
// (/usr/bin/python3): F.interpolate(mode="bilinear", align_corners=False) to
// (round(h*s), round(w*s)) with s = size/max(h, w), min-max to [-1, 1], and a
// -1 canvas with (size-h')//2 rows and (size-w')//2 columns before the image.
func TestPreprocessMatchesTorch(t *testing.T) {
	tests := []struct {
		h, w, size int
		want       []float32
	}{
		{7, 5, 4, []float32{-1.000000, -0.939163, 0.520913, -1.000000, -0.520913, -0.460076, 1.000000, -1.000000, -0.041825, 0.019011, 0.254753, -1.000000, 0.437262, 0.498099, 0.558935, -1.000000}},
		{5, 9, 6, []float32{-1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -0.752381, -0.323810, 0.323810, -0.561905, -0.133333, 0.295238, 1.000000, -0.542857, 0.542857, -1.000000, 0.085714, 0.514286, 0.561905, -0.323810, 0.323810, 0.752381, -0.133333, 0.295238, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000}},
		{3, 4, 8, []float32{-1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -0.666667, 0.000000, 0.119048, -0.309524, -0.190476, 0.476190, 0.809524, -0.750000, -0.553571, -0.160714, -0.041667, -0.196429, -0.077381, 0.315476, 0.511905, -0.250000, -0.327381, -0.482143, -0.363095, 0.029762, 0.148810, -0.005952, -0.083333, 0.250000, 0.035714, -0.392857, -0.410714, -0.017857, 0.101190, -0.053571, -0.130952, 0.750000, 0.535714, 0.107143, -0.184524, -0.339286, -0.220238, 0.172619, 0.369048, 1.000000, 0.785714, 0.357143, -0.071429, -0.500000, -0.380952, 0.285714, 0.619048, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000, -1.000000}},
		{10, 10, 3, []float32{0.448276, -1.000000, 0.856321, 0.189655, 0.724138, -0.724138, -0.068966, 0.068965, 1.000000}},
	}
	for _, tc := range tests {
		got, constant := Preprocess(torchPattern(tc.h, tc.w), tc.size)
		if constant {
			t.Fatalf("%dx%d reported constant", tc.h, tc.w)
		}
		for i := range tc.want {
			if math.Abs(float64(got[i]-tc.want[i])) > 2e-5 {
				t.Fatalf("%dx%d -> %d: value %d = %g, want %g", tc.h, tc.w, tc.size, i, got[i], tc.want[i])
			}
		}
	}
}

// naiveBilinear evaluates one output pixel straight from the definition.
func naiveBilinear(src []float32, w, h, ow, oh, x, y int) float64 {
	coord := func(i, in, out int) (int, int, float64) {
		s := (float64(i)+0.5)*float64(in)/float64(out) - 0.5
		s = math.Max(s, 0)
		a := int(math.Floor(s))
		a = min(a, in-1)
		return a, min(a+1, in-1), s - float64(a)
	}
	x0, x1, lx := coord(x, w, ow)
	y0, y1, ly := coord(y, h, oh)
	at := func(r, c int) float64 { return float64(src[r*w+c]) }
	return (1-ly)*((1-lx)*at(y0, x0)+lx*at(y0, x1)) + ly*((1-lx)*at(y1, x0)+lx*at(y1, x1))
}

func TestResizeBilinearAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 40; trial++ {
		w, h := 1+rng.IntN(40), 1+rng.IntN(40)
		ow, oh := 1+rng.IntN(40), 1+rng.IntN(40)
		src := make([]float32, w*h)
		for i := range src {
			src[i] = rng.Float32()
		}
		got := ResizeBilinear(src, w, h, ow, oh)
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				if d := math.Abs(float64(got[y*ow+x]) - naiveBilinear(src, w, h, ow, oh, x, y)); d > 1e-5 {
					t.Fatalf("%dx%d -> %dx%d at (%d,%d): off by %g", w, h, ow, oh, x, y, d)
				}
			}
		}
	}
}

func TestPreprocessShapes(t *testing.T) {
	tests := []struct{ h, w, size, oh, ow int }{
		{100, 50, 32, 32, 16}, {50, 100, 32, 16, 32}, {3, 1000, 16, 1, 16}, {64, 64, 64, 64, 64}, {5, 2, 4, 4, 2},
	}
	for _, tc := range tests {
		oh, ow := fitLongest(tc.h, tc.w, tc.size)
		if oh != tc.oh || ow != tc.ow {
			t.Errorf("fitLongest(%d,%d,%d) = %d,%d want %d,%d", tc.h, tc.w, tc.size, oh, ow, tc.oh, tc.ow)
		}
		g := &Gray{Width: tc.w, Height: tc.h, Pix: make([]float32, tc.w*tc.h)}
		for i := range g.Pix {
			g.Pix[i] = float32(i % 7)
		}
		out, _ := Preprocess(g, tc.size)
		r0, c0 := (tc.size-oh)/2, (tc.size-ow)/2
		lo, hi := float32(1), float32(-1)
		for y := 0; y < tc.size; y++ {
			for x := 0; x < tc.size; x++ {
				v := out[y*tc.size+x]
				inside := y >= r0 && y < r0+oh && x >= c0 && x < c0+ow
				if !inside && v != -1 {
					t.Fatalf("%v: padding (%d,%d) = %g", tc, x, y, v)
				}
				if inside {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		if lo != -1 || hi != 1 {
			t.Errorf("%v: image range [%g, %g], want [-1, 1]", tc, lo, hi)
		}
	}
	c, constant := Preprocess(&Gray{Width: 3, Height: 3, Pix: []float32{5, 5, 5, 5, 5, 5, 5, 5, 5}}, 2)
	if !constant || c[0] != -1 || c[3] != -1 {
		t.Errorf("constant image: %v %v", c, constant)
	}
}

// TestFormatsAgree decodes one pattern stored as 8-bit PNG, 16-bit PNG,
// JPEG, RGB PNG and DICOM (both syntaxes) and checks that preprocessing gives
// the same tensor.
func TestFormatsAgree(t *testing.T) {
	ref, _ := Preprocess(decodeOrFail(t, png8(8, 6)), 8)
	tests := []struct {
		name string
		data []byte
		tol  float64
	}{
		{"png16", png16(8, 6), 0.01},
		{"jpeg", jpegGray(8, 6), 0.08},
		{"rgb png", rgbPNG(8, 6), 0.01},
		{"dicom explicit", dicomFileMono2(8, 6, dicomtest.ExplicitLE), 0.01},
		{"dicom implicit monochrome1", dicomFile(8, 6, dicomtest.ImplicitLE), 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Preprocess(decodeOrFail(t, tc.data), 8)
			sign := 1.0
			if tc.name == "dicom implicit monochrome1" {
				sign = -1 // stored values are the inverse of the display
			}
			for i := range ref {
				if ref[i] == -1 && got[i] == -1 {
					continue
				}
				if d := math.Abs(float64(got[i]) - sign*float64(ref[i])); d > tc.tol && !(sign < 0 && isPad(i, 8, 6, 8)) {
					t.Fatalf("value %d = %g, want %g", i, got[i], sign*float64(ref[i]))
				}
			}
		})
	}
	if _, err := DecodeImage([]byte("GIF89a")); err != ErrImageFormat {
		t.Errorf("GIF: %v", err)
	}
}

func isPad(i, size, w, h int) bool {
	oh, ow := fitLongest(h, w, size)
	y, x := i/size, i%size
	r0, c0 := (size-oh)/2, (size-ow)/2
	return y < r0 || y >= r0+oh || x < c0 || x >= c0+ow
}

func decodeOrFail(t *testing.T, data []byte) *Gray {
	t.Helper()
	g, err := DecodeImage(data)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func dicomFileMono2(w, h int, syntax string) []byte {
	px := make([]int, w*h)
	for i, v := range gradient(w, h) {
		px[i] = int(v * 4095)
	}
	return dicomtest.File{TransferSyntax: syntax, Rows: h, Columns: w, BitsStored: 12, Pixels: px}.Bytes()
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	if err := os.WriteFile(img, png8(8, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(dir, "cache")
	c, err := NewCache(cacheDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Preprocess(decodeOrFail(t, png8(8, 6)), 8)
	for i := 0; i < 3; i++ {
		got, _, err := c.Get(img, 8)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, got, want)
	}
	if s := c.Stats(); s.Decodes != 1 || s.MemoryHits != 2 {
		t.Fatalf("stats %+v, want 1 decode and 2 memory hits", s)
	}
	// A new process: the disk level serves the same content under a new name.
	copyPath := filepath.Join(dir, "renamed.png")
	if err := os.WriteFile(copyPath, png8(8, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, _ := NewCache(cacheDir, 0)
	got, _, err := c2.Get(copyPath, 8)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, got, want)
	if s := c2.Stats(); s.DiskHits != 1 || s.Decodes != 0 {
		t.Fatalf("stats %+v, want 1 disk hit", s)
	}
	// Another size is another entry; a corrupt entry is recomputed.
	if _, _, err := c2.Get(copyPath, 4); err != nil || c2.Stats().Decodes != 1 {
		t.Fatalf("size 4: %v %+v", err, c2.Stats())
	}
	entries, _ := filepath.Glob(filepath.Join(cacheDir, "*-8.f32"))
	if len(entries) != 1 {
		t.Fatalf("disk entries %v", entries)
	}
	b, _ := os.ReadFile(entries[0])
	b[len(b)-1] ^= 0xFF
	_ = os.WriteFile(entries[0], b, 0o644)
	c3, _ := NewCache(cacheDir, 0)
	got, _, _ = c3.Get(copyPath, 8)
	assertEqual(t, got, want)
	if s := c3.Stats(); s.DiskErrors != 1 || s.Decodes != 1 {
		t.Fatalf("corrupt entry: stats %+v", s)
	}
	if _, _, err := c3.Get(filepath.Join(dir, "none.png"), 8); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCacheEviction(t *testing.T) {
	dir := t.TempDir()
	c, _ := NewCache("", 2*4*8*8) // room for two 8x8 tensors
	var paths []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		_ = os.WriteFile(p, png8(8, 6+i), 0o644)
		paths = append(paths, p)
		_, _, _ = c.Get(p, 8)
	}
	_, _, _ = c.Get(paths[0], 8) // evicted: decoded again
	_, _, _ = c.Get(paths[2], 8) // still there
	if s := c.Stats(); s.Decodes != 4 || s.MemoryHits != 1 {
		t.Fatalf("stats %+v, want 4 decodes and 1 hit", s)
	}
}

func assertEqual(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d = %g, want %g", i, got[i], want[i])
		}
	}
}
