package phantom

import "math"

// lungRows caches, for each pixel row, the thorax half-width and each
// side's medial border, and for each column each side's diaphragm and apex,
// so that the heart and lung passes evaluate no transcendental function
// per pixel. A canvas holds one, refilled per study.
type lungRows struct {
	hw, med0, med1         []float64
	base0, base1, ap0, ap1 []float32
}

func newLungRows(n int) lungRows {
	mk := func() []float64 { return make([]float64, n) }
	mk32 := func() []float32 { return make([]float32, n) }
	return lungRows{hw: mk(), med0: mk(), med1: mk(), base0: mk32(), base1: mk32(), ap0: mk32(), ap1: mk32()}
}

// rows fills c's lungRows for the scene: the row values from the top
// down to the lowest row that drawHeart or drawLungs visits (rows below
// are left stale), the column values everywhere.
func (s *scene) rows(c *canvas) *lungRows {
	l := &c.rows
	a := &s.a
	_, last := c.span(0, max(a.Dome[0], a.Dome[1]))
	for side := range 2 {
		_, y1 := c.span(a.Apex-0.01, a.Dome[side]+a.DomeDepth*1.3)
		last = max(last, y1)
	}
	for i := 0; i <= last; i++ {
		t := c.centre[i]
		l.hw[i], l.med0[i], l.med1[i] = s.halfWidth(t), s.medial(0, t), s.medial(1, t)
	}
	for i, t := range c.centre {
		l.base0[i], l.base1[i] = float32(s.base(0, t)), float32(s.base(1, t))
		l.ap0[i], l.ap1[i] = float32(s.apex(0, t)), float32(s.apex(1, t))
	}
	return l
}

// drawLungs subtracts the lungs' air, reduced by the filling layer and
// marked by vessels; on a pneumothorax side the collapsed lung keeps its
// markings and is denser, while the space around it is darker, without
// markings, behind a thin pleural line.
func (s *scene) drawLungs(c *canvas, l *lungRows) {
	n := c.n
	nf := float64(n)
	for side := 0; side < 2; side++ {
		sgn := float64(2*side - 1)
		p := lungPass{s: s, c: c, side: side, soft: softEdgePx / nf, inv: float32(1 / nf),
			lc: float32(s.lungCentre(side)), iq: float32(1 / (0.6 * s.a.W)), base: l.base0, ap: l.ap0,
			hx: s.a.CX + sgn*(s.a.Mediastinum+0.04), hy: s.a.Apex + 0.5*(s.a.Dome[side]-s.a.Apex)}
		med := l.med0
		if side == 1 {
			med, p.base, p.ap = l.med1, l.base1, l.ap1
		}
		y0, y1 := c.span(s.a.Apex-0.01, s.a.Dome[side]+s.a.DomeDepth*1.3)
		for y := y0; y <= y1; y++ {
			p.row(y, l.hw[y], med[y])
		}
	}
}

// lungPass draws one lung, row by row.
type lungPass struct {
	s        *scene
	c        *canvas
	side     int
	soft     float64
	inv      float32 // 1/n
	lc, iq   float32 // lung centre and inverse half-width of the air profile
	base, ap []float32
	hx, hy   float64 // hilum, the centre of a pneumothorax's collapse
}

// row draws one pixel row given the thorax half-width hw and the medial
// border md; the hot loop runs in float32 on precomputed rows and columns.
// (Its minima use the branch-free builtins: where they differ from a
// compare-and-swap, on the sign of a zero, 0.5 + d/soft is 0.5 either way.)
func (p *lungPass) row(y int, hw, md float64) {
	s, c := p.s, p.c
	lo, hi := s.a.CX-hw, s.a.CX-md
	if p.side == 1 {
		lo, hi = s.a.CX+md, s.a.CX+hw
	}
	x0, x1 := c.span(lo-p.soft, hi+p.soft)
	if x1 < x0 {
		return
	}
	n := c.n
	v := c.centre[y]
	hw32, md32, v32, cx32 := float32(hw), float32(md), float32(v), float32(s.a.CX)
	invSoft := float32(1 / p.soft)
	dens, fill, vess := c.dens[y*n:(y+1)*n], c.fill[y*n:(y+1)*n], c.vess[y*n:(y+1)*n]
	base, ap := p.base[:n], p.ap[:n]
	inv, lc, iq := p.inv, p.lc, p.iq
	var col collapse
	ptx := p.side == s.ptxSide
	if ptx {
		col = p.collapsed(v)
	}
	for x := x0; x <= x1; x++ {
		u := (float32(x) + 0.5) * inv
		du := u - cx32
		du = math.Float32frombits(math.Float32bits(du) &^ (1 << 31))
		d := min(hw32-du, du-md32, base[x]-v32, v32-ap[x])
		m := 0.5 + d*invSoft
		if m <= 0 {
			continue
		}
		m = min(m, 1)
		f, mark := min(fill[x], 1), min(vess[x], 1)
		q := (u - lc) * iq
		air := m * (1 - f) * (0.72 + 0.28*max(1-q*q, 0))
		if !ptx {
			dens[x] -= airK*air - vesselK*mark*air
			continue
		}
		dens[x] -= p.pneumothorax(&col, float64(u), m, air, mark)
	}
}

// collapse holds a pneumothorax row's terms that do not depend on the
// column: the row v maps to vk in the collapsed lung, with the thorax
// half-width and medial border there.
type collapse struct {
	vk, hw, md float64
}

// collapsed returns the collapse terms of row v.
func (p *lungPass) collapsed(v float64) collapse {
	s := p.s
	vk := p.hy + (v-p.hy)/s.ptxK
	return collapse{vk: vk, hw: s.halfWidth(vk), md: s.medial(p.side, vk)}
}

// pneumothorax returns the density lost at a pixel of the collapsed side.
func (p *lungPass) pneumothorax(col *collapse, u float64, m, air, mark float32) float32 {
	s := p.s
	k := s.ptxK
	var mc float32
	if uk := p.hx + (u-p.hx)/k; (uk < s.a.CX) == (p.side == 0) {
		mc = float32(s.lungWith(p.side, uk, col.vk, p.soft/k, col.hw, col.md))
	}
	mark *= mc
	air *= 1 - 0.5*float32(1-k)*mc
	dark := 0.35 * m * (1 - mc)
	line := 0.1 * m * 4 * mc * (1 - mc)
	return airK*air*(1+dark) - vesselK*mark*air - line
}
