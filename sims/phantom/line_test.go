package phantom

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refLine is the stroke line draws, by brute force: every pixel of the
// canvas gets the distance-to-segment coverage, computed in the same
// order of operations.
func refLine(c *canvas, buf []float32, au, av, bu, bv, w float64, amp float32) {
	n := float64(c.n)
	ax, ay, bx, by := c.px(au), c.px(av), c.px(bu), c.px(bv)
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	hw := w * n
	if l2 < 1e-12 {
		c.ellipse(buf, au, av, w, w, amp)
		return
	}
	inv := 1 / l2
	full, reach := (hw-0.5)*(hw-0.5), (hw+0.5)*(hw+0.5)
	if hw < 0.5 {
		full = -1
	}
	for y := 0; y < c.n; y++ {
		for x := 0; x < c.n; x++ {
			px, py := float64(x)-ax, float64(y)-ay
			t := min(max((px*dx+py*dy)*inv, 0), 1)
			ex, ey := px-t*dx, py-t*dy
			d2 := ex*ex + ey*ey
			switch {
			case d2 >= reach:
			case d2 <= full:
				buf[y*c.n+x] += amp
			default:
				buf[y*c.n+x] += amp * float32(0.5+hw-math.Sqrt(d2))
			}
		}
	}
}

// TestLineMatchesBruteForce strokes random segments (thin and thick, any
// direction, axis-aligned, tiny, partly off the canvas) and requires the
// pixels line visits to give exactly what visiting every pixel gives.
func TestLineMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{16, 64, 128} {
		c := newCanvas(n)
		want := make([]float32, n*n)
		for i := range 400 {
			au, av := r.Float64()*1.2-0.1, r.Float64()*1.2-0.1
			bu, bv := au+(r.Float64()-0.5)*0.6, av+(r.Float64()-0.5)*0.6
			switch i % 5 {
			case 1:
				bv = av // horizontal
			case 2:
				bu = au // vertical
			case 3:
				bu, bv = au+(r.Float64()-0.5)*0.02, av+(r.Float64()-0.5)*0.02 // short
			}
			w := []float64{0.001, 0.003, 0.0045, 0.01, 0.03}[r.IntN(5)]
			amp := float32(r.Float64()*2 - 0.5)
			for j := range want {
				want[j] = float32(r.Float64())
				c.dens[j] = want[j]
			}
			refLine(c, want, au, av, bu, bv, w, amp)
			c.line(c.dens, au, av, bu, bv, w, amp)
			for j := range want {
				if math.Float32bits(c.dens[j]) != math.Float32bits(want[j]) {
					t.Fatalf("n %d, (%g, %g)-(%g, %g) w %g: pixel (%d, %d) is %g, want %g",
						n, au, av, bu, bv, w, j%n, j/n, c.dens[j], want[j])
				}
			}
		}
	}
}
