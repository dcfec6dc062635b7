package phantom

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refStampGlyph is the plain 3x3-supersampled glyph stamp: every subsample
// of every pixel looks up its glyph cell.
func refStampGlyph(img []float32, size int, g [7]string, x0, y0, cell float64) {
	ix0, iy0 := int(math.Floor(x0)), int(math.Floor(y0))
	ix1, iy1 := int(math.Ceil(x0+5*cell)), int(math.Ceil(y0+7*cell))
	for y := max(iy0, 0); y < min(iy1, size); y++ {
		for x := max(ix0, 0); x < min(ix1, size); x++ {
			hits := 0
			for sy := 0; sy < 3; sy++ {
				for sx := 0; sx < 3; sx++ {
					gx := int((float64(x) + (float64(sx)+0.5)/3 - x0) / cell)
					gy := int((float64(y) + (float64(sy)+0.5)/3 - y0) / cell)
					if gx >= 0 && gx < 5 && gy >= 0 && gy < 7 && g[gy][gx] == '#' {
						hits++
					}
				}
			}
			if hits > 0 {
				i := y*size + x
				img[i] += float32(hits) / 9 * (1 - img[i])
			}
		}
	}
}

// TestStampGlyphMatchesReference stamps every glyph at random positions
// (partly or wholly off the image, where truncation toward zero matters)
// and sizes, including glyphs wider than the fixed column buffer, and
// compares bit for bit with the plain stamp.
func TestStampGlyphMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, size := range []int{8, 32, 64, 128, 300} {
		for ch, g := range glyphs {
			for range 20 {
				cell := float64(size) / 44 * (0.5 + 2*r.Float64())
				x0 := (r.Float64()*1.4 - 0.2) * float64(size)
				y0 := (r.Float64()*1.4 - 0.2) * float64(size)
				img := make([]float32, size*size)
				for i := range img {
					img[i] = r.Float32()
				}
				want := append([]float32(nil), img...)
				refStampGlyph(want, size, g, x0, y0, cell)
				stampGlyph(img, size, g, x0, y0, cell)
				for i := range img {
					if math.Float32bits(img[i]) != math.Float32bits(want[i]) {
						t.Fatalf("size %d glyph %q at (%g, %g) cell %g: pixel %d is %g, want %g", size, ch, x0, y0, cell, i, img[i], want[i])
					}
				}
			}
		}
	}
}
