package phantom

import (
	"math"
	"math/rand/v2"
)

// downsample box-averages the n x n density into size x size (n a multiple
// of size).
func downsample(src []float32, n int, dst []float32, size int) {
	f := n / size
	if f == 1 {
		copy(dst, src[:n*n])
		return
	}
	if f == 2 {
		for y := 0; y < size; y++ {
			r0, r1 := src[2*y*n:(2*y+1)*n], src[(2*y+1)*n:(2*y+2)*n]
			row := dst[y*size : (y+1)*size]
			for x := range row {
				a, b := r0[2*x:2*x+2:2*x+2], r1[2*x:2*x+2:2*x+2]
				row[x] = 0.25 * (a[0] + a[1] + b[0] + b[1])
			}
		}
		return
	}
	inv := 1 / float32(f*f)
	for y := 0; y < size; y++ {
		row := dst[y*size : (y+1)*size]
		clear(row)
		for dy := 0; dy < f; dy++ {
			s := src[(y*f+dy)*n : (y*f+dy+1)*n]
			for x := range row {
				var acc float32
				for dx := 0; dx < f; dx++ {
					acc += s[x*f+dx]
				}
				row[x] += acc
			}
		}
		for x := range row {
			row[x] *= inv
		}
	}
}

// lutSteps is the resolution of the display gamma table.
const lutSteps = 128

// display maps density to display values in [0, 1] through the site's
// window, gamma and vendor curve, window and gamma jittered per film as
// exposures vary.
func display(img []float32, acq *Acquisition, r *rand.Rand) {
	lo, hi := acq.WindowLow, acq.WindowHigh
	width := (hi - lo) * math.Exp(0.05*r.NormFloat64())
	lo += 0.03 * (hi - lo) * r.NormFloat64()
	gamma := acq.Gamma * math.Exp(0.04*r.NormFloat64())
	var lut [lutSteps + 1]float32
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-acq.LUTContrast*(x-0.5))) }
	s0, s1 := sig(0), sig(1)
	for i := range lut {
		y := math.Pow(float64(i)/lutSteps, gamma)
		if acq.LUT == "sigmoid" {
			y = (sig(y) - s0) / (s1 - s0)
		}
		lut[i] = float32(y)
	}
	scale, off := float32(lutSteps/width), float32(-lo*lutSteps/width)
	for i, d := range img {
		x := d*scale + off
		switch {
		case x <= 0:
			img[i] = 0
		case x >= lutSteps:
			img[i] = 1
		default:
			k := int(x)
			img[i] = lut[k] + (lut[k+1]-lut[k])*(x-float32(k))
		}
	}
}

// collimate covers each side's blade with the collimator value, each blade
// hiding a random share around the site's mean. Only the border bands are
// visited.
func collimate(img []float32, size int, acq *Acquisition, r *rand.Rand) {
	if acq.Collimation <= 0 {
		return
	}
	var b [4]float64 // left, right, top, bottom in pixels
	for i := range b {
		b[i] = acq.Collimation * (0.4 + 1.2*r.Float64()) * float64(size)
	}
	val := float32(acq.CollimatorValue)
	sz := float64(size)
	cover := func(x, y int) {
		fx, fy := float64(x)+0.5, float64(y)+0.5
		cov := clamp01(b[0]-fx+0.5) + clamp01(fx-(sz-b[1])+0.5) + clamp01(b[2]-fy+0.5) + clamp01(fy-(sz-b[3])+0.5)
		if cov > 0 {
			if cov > 1 {
				cov = 1
			}
			i := y*size + x
			img[i] += float32(cov) * (val - img[i])
		}
	}
	l, rr := int(math.Ceil(b[0]+0.5)), size-int(math.Ceil(b[1]+0.5))
	t, bt := int(math.Ceil(b[2]+0.5)), size-int(math.Ceil(b[3]+0.5))
	for y := 0; y < size; y++ {
		if y < t || y >= bt {
			for x := 0; x < size; x++ {
				cover(x, y)
			}
			continue
		}
		for x := 0; x < min(l, size); x++ {
			cover(x, y)
		}
		for x := max(rr, 0); x < size; x++ {
			cover(x, y)
		}
	}
}

// addNoise adds approximately Gaussian detector noise: the sum of four
// uniform bytes of one random word (Irwin-Hall), scaled to unit variance.
// It draws one word per pixel from r, the source behind the film's
// acquisition stream, stepping its state in registers.
func addNoise(img []float32, sd float64, r *pcg) {
	if sd <= 0 {
		return
	}
	// Four uniform integers on 0..255 have mean 510 and variance 4*(256^2-1)/12.
	k := float32(sd / math.Sqrt(4*(256*256-1)/12.0))
	hi, lo := r.hi, r.lo
	for i := range img {
		hi, lo = pcgStep(hi, lo)
		u := pcgOut(hi, lo)
		s := int32(u&0xFF) + int32(u>>8&0xFF) + int32(u>>16&0xFF) + int32(u>>24&0xFF) - 510
		img[i] += k * float32(s)
	}
	r.hi, r.lo = hi, lo
}

// glyphs are 5x7 bitmaps, one string per row, for burned-in annotations.
var glyphs = map[rune][7]string{
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
}

// markText is what a "text" marker burns in; portableText what a mobile
// unit burns into its AP films.
const (
	markText     = "ST2"
	portableText = "AP"
)

// drawMarker burns the site's annotation into a corner at full white: a
// lead L or R marker (placed by hand, so it moves a little between films) or
// a fixed text label.
func drawMarker(img []float32, size int, acq *Acquisition, r *rand.Rand) {
	text := acq.Marker
	switch text {
	case "none":
		return
	case "text":
		text = markText
	}
	stampText(img, size, text, acq.MarkerCorner, acq.Marker != "text", r)
}

// stampText burns text into a corner; hand-placed lead markers move a
// little between films.
func stampText(img []float32, size int, text, corner string, moves bool, r *rand.Rand) {
	cell := float64(size) / 44
	w := (float64(len(text))*6 - 1) * cell
	h := 7 * cell
	margin := float64(size) / 14
	x0, y0 := margin, margin
	if corner[1] == 'r' {
		x0 = float64(size) - margin - w
	}
	if corner[0] == 'b' {
		y0 = float64(size) - margin - h
	}
	if moves {
		x0 += float64(size) / 40 * r.NormFloat64()
		y0 += float64(size) / 40 * r.NormFloat64()
	}
	for i, ch := range text {
		g, ok := glyphs[ch]
		if !ok {
			continue
		}
		stampGlyph(img, size, g, x0+float64(i)*6*cell, y0, cell)
	}
}

// stampGlyph draws a glyph with its top-left corner at (x0, y0) pixels and
// cells of the given size, by 3x3 supersampled coverage. The glyph cell
// under each subsample depends on the column or the row alone, so it is
// computed once per column and per row: as a bit index into a row of the
// glyph (7, an unset bit, outside it) and as the row's bit mask (0
// outside it).
func stampGlyph(img []float32, size int, g [7]string, x0, y0, cell float64) {
	ix0, iy0 := int(math.Floor(x0)), int(math.Floor(y0))
	ix1, iy1 := int(math.Ceil(x0+5*cell)), int(math.Ceil(y0+7*cell))
	xa, xb := max(ix0, 0), min(ix1, size)
	ya, yb := max(iy0, 0), min(iy1, size)
	if xb <= xa || yb <= ya {
		return
	}
	var masks [7]uint8
	for gy, row := range g {
		for gx := 0; gx < 5; gx++ {
			if row[gx] == '#' {
				masks[gy] |= 1 << gx
			}
		}
	}
	var shiftBuf [32][3]uint8
	shifts := shiftBuf[:0]
	if xb-xa > len(shiftBuf) {
		shifts = make([][3]uint8, 0, xb-xa)
	}
	for x := xa; x < xb; x++ {
		var sh [3]uint8
		for sx := 0; sx < 3; sx++ {
			sh[sx] = 7
			if gx := int((float64(x) + (float64(sx)+0.5)/3 - x0) / cell); gx >= 0 && gx < 5 {
				sh[sx] = uint8(gx)
			}
		}
		shifts = append(shifts, sh)
	}
	for y := ya; y < yb; y++ {
		var rm [3]uint8
		for sy := 0; sy < 3; sy++ {
			if gy := int((float64(y) + (float64(sy)+0.5)/3 - y0) / cell); gy >= 0 && gy < 7 {
				rm[sy] = masks[gy]
			}
		}
		if rm == ([3]uint8{}) {
			continue
		}
		row := img[y*size+xa : y*size+xb]
		for i, sh := range shifts[:len(row)] {
			hits := 0
			for sy := 0; sy < 3; sy++ {
				m := rm[sy]
				hits += int(m>>sh[0]&1 + m>>sh[1]&1 + m>>sh[2]&1)
			}
			if hits > 0 {
				row[i] += float32(hits) / 9 * (1 - row[i])
			}
		}
	}
}

// clamp01 clamps x to [0, 1] (NaN-unaware, for hot loops).
func clamp01(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}
