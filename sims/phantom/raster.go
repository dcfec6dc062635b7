package phantom

import (
	"math"
)

// canvas holds the layers a study is drawn in, at n x n pixels: density
// (brighter is denser), air-space filling of the lungs (0 clear to 1
// opaque), and lung markings. Shapes are given in image coordinates
// (0 to 1) and drawn with a one-pixel soft edge. centre holds each pixel
// index's centre in image coordinates; sq and gx are scratch rows, rows
// the scene's cached lung geometry.
type canvas struct {
	n      int
	dens   []float32
	fill   []float32
	vess   []float32
	centre []float64
	sq     []float64
	gx     []float32
	rows   lungRows
}

func newCanvas(n int) *canvas {
	c := &canvas{n: n, dens: make([]float32, n*n), fill: make([]float32, n*n), vess: make([]float32, n*n),
		centre: make([]float64, n), sq: make([]float64, n), gx: make([]float32, n), rows: newLungRows(n)}
	for i := range c.centre {
		c.centre[i] = (float64(i) + 0.5) / float64(n)
	}
	return c
}

func (c *canvas) reset() {
	clear(c.dens)
	clear(c.fill)
	clear(c.vess)
}

// px converts an image coordinate to a continuous pixel coordinate (pixel
// centres at integers).
func (c *canvas) px(u float64) float64 { return u*float64(c.n) - 0.5 }

// span returns the clamped pixel index range [lo, hi] covering [a, b].
func (c *canvas) span(a, b float64) (int, int) {
	lo := floorInt(c.px(a))
	hi := ceilInt(c.px(b))
	return max(lo, 0), min(hi, c.n-1)
}

// ceilInt is int(math.Ceil(x)), inlined: within +-2^60 by comparing the
// truncated value, elsewhere (and for NaN) by math.Ceil itself.
func ceilInt(x float64) int {
	if !(x > -1<<60 && x < 1<<60) {
		return int(math.Ceil(x))
	}
	i := int(x)
	if float64(i) < x {
		i++
	}
	return i
}

// floorInt is int(math.Floor(x)), inlined like ceilInt.
func floorInt(x float64) int {
	if !(x > -1<<60 && x < 1<<60) {
		return int(math.Floor(x))
	}
	i := int(x)
	if float64(i) > x {
		i--
	}
	return i
}

// ellipse adds amp times the coverage of an axis-aligned ellipse. Each
// column's squared normalised offset is computed once, not once a row.
func (c *canvas) ellipse(buf []float32, u, v, ru, rv float64, amp float32) {
	if ru <= 0 || rv <= 0 {
		return
	}
	x0, x1 := c.span(u-ru, u+ru)
	y0, y1 := c.span(v-rv, v+rv)
	if x1 < x0 {
		return
	}
	cx, cy := c.px(u), c.px(v)
	rx, ry := ru*float64(c.n), rv*float64(c.n)
	half := float32(min(rx, ry) / 2)
	sq := c.sq[:x1-x0+1]
	for i := range sq {
		dx := (float64(i+x0) - cx) / rx
		sq[i] = dx * dx
	}
	for y := y0; y <= y1; y++ {
		dy := (float64(y) - cy) / ry
		dy2 := dy * dy
		row := buf[y*c.n+x0 : y*c.n+x1+1]
		row = row[:len(sq)]
		for i, dx2 := range sq {
			q := float32(1 - dx2 - dy2)
			if cov := 0.5 + q*half; cov > 0 {
				row[i] += amp * min(cov, 1)
			}
		}
	}
}

// blob adds an elliptical Gaussian of peak amp and standard deviations su,
// sv, cut at 2.5 standard deviations (4% of the peak). The Gaussian is
// separable: one exponential per row and per column.
func (c *canvas) blob(buf []float32, u, v, su, sv float64, amp float32) {
	if su <= 0 || sv <= 0 {
		return
	}
	x0, x1 := c.span(u-2.5*su, u+2.5*su)
	y0, y1 := c.span(v-2.5*sv, v+2.5*sv)
	if x1 < x0 || y1 < y0 {
		return
	}
	cx, cy := c.px(u), c.px(v)
	ix, iy := 1/(su*float64(c.n)), 1/(sv*float64(c.n))
	gx := c.gx[:x1-x0+1]
	for x := range gx {
		dx := (float64(x+x0) - cx) * ix
		gx[x] = amp * expNeg(float32(0.5*dx*dx))
	}
	for y := y0; y <= y1; y++ {
		dy := (float64(y) - cy) * iy
		gy := expNeg(float32(0.5 * dy * dy))
		row := buf[y*c.n+x0 : y*c.n+x1+1]
		row = row[:len(gx)]
		for x, g := range gx {
			row[x] += gy * g
		}
	}
}

// line adds a stroke of half-width w between two points, with round caps.
// It walks the stroke along its major axis and visits only the pixels
// within reach of it: across the major axis, ext = reachAlong + 0.5 of
// the stroke's centre in the columns (rows) of the caps, and only
// reachAlong + lineSlack in those between, where the centre is the line's
// own and a pixel further off lies more than hw + 0.5 (plus at least
// lineSlack/sqrt 2, far above rounding) from the line, so from any point
// on it: its d2 is beyond reach and it would add nothing.
func (c *canvas) line(buf []float32, au, av, bu, bv, w float64, amp float32) {
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
	// plot adds the stroke at pixel i, offset (px, py) from the start,
	// given dot = px*dx + py*dy (its row- or column-invariant product
	// hoisted by the caller).
	plot := func(i int, px, py, dot float64) {
		t := dot * inv
		if t < 0 {
			t = 0
		} else if t > 1 {
			t = 1
		}
		ex, ey := px-t*dx, py-t*dy
		d2 := ex*ex + ey*ey
		switch {
		case d2 >= reach:
		case d2 <= full:
			buf[i] += amp
		default:
			buf[i] += amp * float32(0.5+hw-math.Sqrt(d2))
		}
	}
	length := math.Sqrt(l2)
	if math.Abs(dy) >= math.Abs(dx) {
		reachAlong := (hw + 0.5) * length / math.Abs(dy)
		ext, tight := reachAlong+0.5, reachAlong+lineSlack
		y0, y1 := c.span(min(av, bv)-w, max(av, bv)+w)
		for y := y0; y <= y1; y++ {
			s := (float64(y) - ay) / dy
			xc := ax + min(max(s, 0), 1)*dx
			e := ext
			if s > 0 && s < 1 {
				e = tight
			}
			py := float64(y) - ay
			pdy := py * dy
			xa, xb := max(0, ceilInt(xc-e)), min(c.n-1, floorInt(xc+e))
			for x := xa; x <= xb; x++ {
				px := float64(x) - ax
				plot(y*c.n+x, px, py, px*dx+pdy)
			}
		}
		return
	}
	reachAlong := (hw + 0.5) * length / math.Abs(dx)
	ext, tight := reachAlong+0.5, reachAlong+lineSlack
	x0, x1 := c.span(min(au, bu)-w, max(au, bu)+w)
	for x := x0; x <= x1; x++ {
		s := (float64(x) - ax) / dx
		yc := ay + min(max(s, 0), 1)*dy
		e := ext
		if s > 0 && s < 1 {
			e = tight
		}
		px := float64(x) - ax
		pdx := px * dx
		ya, yb := max(0, ceilInt(yc-e)), min(c.n-1, floorInt(yc+e))
		for y := ya; y <= yb; y++ {
			py := float64(y) - ay
			plot(y*c.n+x, px, py, pdx+py*dy)
		}
	}
}

// lineSlack pads line's tight reach across its major axis against
// rounding.
const lineSlack = 1e-6

// polyline strokes consecutive points (u0, v0, u1, v1, ...).
func (c *canvas) polyline(buf []float32, pts []float64, w float64, amp float32) {
	for i := 0; i+3 < len(pts); i += 2 {
		c.line(buf, pts[i], pts[i+1], pts[i+2], pts[i+3], w, amp)
	}
}

// columns adds, to each column x0+j, amp times the coverage of a vertical
// run centred at row vs[j] with half-thickness w (image units): the
// columns of a near-horizontal curve. A NaN centre draws nothing there.
func (c *canvas) columns(buf []float32, x0 int, vs []float64, w float64, amp float32) {
	n := float64(c.n)
	hw := w * n
	for j, v := range vs {
		if v != v {
			continue
		}
		x := x0 + j
		cy := v*n - 0.5
		y0, y1 := ceilInt(cy-hw-0.5), int(cy+hw+0.5)
		y0, y1 = max(y0, 0), min(y1, c.n-1)
		// math.Abs and min are branch-free; d is never -0 (float64(y) is not).
		for y := y0; y <= y1; y++ {
			d := math.Abs(float64(y) - cy)
			if cov := 0.5 + hw - d; cov > 0 {
				buf[y*c.n+x] += amp * float32(min(cov, 1))
			}
		}
	}
}

// expTable samples exp(-x) on [0, expMax].
const (
	expSteps = 1024
	expMax   = 9
)

var expTable = func() [expSteps + 2]float32 {
	var t [expSteps + 2]float32
	for i := range t {
		t[i] = float32(math.Exp(-float64(i) * expMax / expSteps))
	}
	return t
}()

// expNeg approximates exp(-x) for x >= 0 (0 beyond expMax).
func expNeg(x float32) float32 {
	if x >= expMax {
		return 0
	}
	f := x * (expSteps / expMax)
	i := int(f)
	fr := f - float32(i)
	return expTable[i] + (expTable[i+1]-expTable[i])*fr
}

// smooth is the cubic smoothstep of x clamped to [0, 1].
func smooth(x float64) float64 {
	x = min(max(x, 0), 1)
	return x * x * (3 - 2*x)
}
