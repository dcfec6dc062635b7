package phantom

import (
	"math"
)

// Densities of the tissues, in display-independent units: air outside the
// body is 0, soft tissue through the chest about 0.5, the lungs about 0.1.
const (
	softBase   = 0.30
	softThick  = 0.22
	airK       = 0.42
	vesselK    = 0.08
	heartK     = 0.06
	spineK     = 0.07
	ribK       = 0.09
	clavicleK  = 0.12
	humerusK   = 0.12
	tracheaK   = 0.12
	metalK     = 0.9
	tubeK      = 0.35
	lesionK    = 0.22
	softEdgePx = 1.2
)

// scene is a study's anatomy with its findings applied, ready to draw.
type scene struct {
	a          Anatomy
	t          *Truth
	boneK      float64 // ribK scale: patient bone density x site contrast
	heartW     float64 // full heart width
	heartC, hh float64 // heart convexity centre row and half-height
	ecm        float64 // extra upper-mediastinal half-width
	ptxSide    int     // -1 when no pneumothorax
	ptxK       float64 // collapsed lung scale (1 none)
	fractures  []fracture
}

// fracture is a broken rib: side, rib index, lateral position (share of
// the rib's length), gap and step; u, v is where the break was drawn, for
// the callus.
type fracture struct {
	side, rib int
	t, gap    float64
	step      float64
	callus    bool
	u, v      float64
}

// halfWidth is the thorax's inner half-width at row v.
func (s *scene) halfWidth(v float64) float64 {
	t := min(max((v-s.a.Apex+0.03)/(s.a.Dome[0]-s.a.Apex), 0), 1)
	return s.a.W * (0.35 + 0.65*math.Pow(math.Sin(math.Pi/2*t), 0.6))
}

// medial is the distance from the midline to the lung's medial border on
// a side (0 image left, 1 image right) at row v: mediastinum or heart.
func (s *scene) medial(side int, v float64) float64 {
	a := &s.a
	m := a.Mediastinum + s.ecm*(1-smooth((v-s.heartC+s.hh)/(0.4*s.hh)))
	if side == 1 {
		d := (v - a.Apex - 0.1) / 0.035
		m += a.Knob * math.Exp(-d*d)
	}
	share := a.HeartRight
	if side == 1 {
		share = 1 - a.HeartRight
	}
	e := 1.0
	if v < s.heartC {
		q := (s.heartC - v) / s.hh
		e = math.Sqrt(max(0, 1-q*q))
	}
	return max(m, share*s.heartW*e)
}

// lungCentre is the middle of a hemithorax.
func (s *scene) lungCentre(side int) float64 {
	return s.a.CX + float64(2*side-1)*0.5*s.a.W
}

// base is the diaphragm's row under column u on a side.
func (s *scene) base(side int, u float64) float64 {
	q := (u - s.lungCentre(side)) / (0.5 * s.a.W)
	return s.a.Dome[side] + s.a.DomeDepth*q*q
}

// apex is the lung top's row at column u.
func (s *scene) apex(side int, u float64) float64 {
	q := (u - s.lungCentre(side)) / (0.55 * s.a.W)
	return s.a.Apex + 0.09*s.a.Scale*q*q
}

// lung returns the membership of (u, v) in a lung, with a soft edge of
// soft image units.
func (s *scene) lung(side int, u, v, soft float64) float64 {
	du := math.Abs(u - s.a.CX)
	if (u < s.a.CX) != (side == 0) {
		return 0
	}
	d := min(s.halfWidth(v)-du, du-s.medial(side, v), s.base(side, u)-v, v-s.apex(side, u))
	return min(max(0.5+d/soft, 0), 1)
}

// drawBody paints the soft tissue of neck, shoulders, chest wall and
// abdomen, and the arms beside the chest.
func (s *scene) drawBody(c *canvas) {
	a := &s.a
	n := c.n
	cx := c.px(a.CX)
	prof := make([]float32, n) // the last row's profile, reused while bw is unchanged
	lastBW, lx0, lx1 := -1.0, 0, -1
	for y := 0; y < n; y++ {
		v := (float64(y) + 0.5) / float64(n)
		neck := 0.085 * a.Scale
		bw := neck + (a.W+0.06*a.Scale-neck)*smooth((v-a.Apex+0.13*a.Scale)/(0.12*a.Scale))
		row := c.dens[y*n : (y+1)*n]
		if bw != lastBW {
			lastBW = bw
			lx0, lx1 = c.span(a.CX-bw, a.CX+bw)
			ibw := 1 / (bw * float64(n))
			// Within the outer softEdgePx pixels the edge fades linearly.
			inner := max(1-softEdgePx/(bw*float64(n)), 0)
			for x := lx0; x <= lx1; x++ {
				q := (float64(x) - cx) * ibw
				q *= q
				t := 1 - q*q
				if t <= 0 {
					prof[x] = 0
					continue
				}
				val := softBase + softThick*t
				if q > inner*inner {
					val *= min(1, (1-math.Sqrt(q))*bw*float64(n)/softEdgePx)
				}
				prof[x] = float32(val)
			}
		}
		for x := lx0; x <= lx1; x++ {
			row[x] += prof[x]
		}
	}
	for side := 0; side < 2; side++ {
		sgn := float64(2*side - 1)
		c.ellipse(c.dens, a.CX+sgn*(a.W+0.16*a.Scale), a.Apex+0.32*a.Scale, 0.055*a.Scale, 0.45*a.Scale, 0.33)
	}
}

// lungRows caches, for each pixel row, the thorax half-width and each
// side's medial border, and for each column each side's diaphragm and apex,
// so that the lung pass evaluates no transcendental function per pixel.
type lungRows struct {
	hw, med0, med1         []float64
	base0, base1, ap0, ap1 []float32
}

func (s *scene) rows(n int) *lungRows {
	l := &lungRows{}
	mk := func() []float64 { return make([]float64, n) }
	mk32 := func() []float32 { return make([]float32, n) }
	l.hw, l.med0, l.med1 = mk(), mk(), mk()
	l.base0, l.base1, l.ap0, l.ap1 = mk32(), mk32(), mk32(), mk32()
	for i := 0; i < n; i++ {
		t := (float64(i) + 0.5) / float64(n)
		l.hw[i], l.med0[i], l.med1[i] = s.halfWidth(t), s.medial(0, t), s.medial(1, t)
		l.base0[i], l.base1[i] = float32(s.base(0, t)), float32(s.base(1, t))
		l.ap0[i], l.ap1[i] = float32(s.apex(0, t)), float32(s.apex(1, t))
	}
	return l
}

// drawLungs subtracts the lungs' air, reduced by the filling layer and
// marked by vessels; on a pneumothorax side the collapsed lung keeps its
// markings and is denser, while the space around it is darker, without
// markings, behind a thin pleural line.
func (s *scene) drawLungs(c *canvas) {
	n := c.n
	nf := float64(n)
	l := s.rows(n)
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
func (p *lungPass) row(y int, hw, md float64) {
	s, c := p.s, p.c
	lo, hi := s.a.CX-hw, s.a.CX-md
	if p.side == 1 {
		lo, hi = s.a.CX+md, s.a.CX+hw
	}
	x0, x1 := c.span(lo-p.soft, hi+p.soft)
	v := (float64(y) + 0.5) / float64(c.n)
	hw32, md32, v32, cx32 := float32(hw), float32(md), float32(v), float32(s.a.CX)
	invSoft := float32(1 / p.soft)
	for x := x0; x <= x1; x++ {
		u := (float32(x) + 0.5) * p.inv
		du := u - cx32
		if du < 0 {
			du = -du
		}
		d := hw32 - du
		if e := du - md32; e < d {
			d = e
		}
		if e := p.base[x] - v32; e < d {
			d = e
		}
		if e := v32 - p.ap[x]; e < d {
			d = e
		}
		m := 0.5 + d*invSoft
		if m <= 0 {
			continue
		}
		if m > 1 {
			m = 1
		}
		i := y*c.n + x
		f, mark := min32(c.fill[i], 1), min32(c.vess[i], 1)
		q := (u - p.lc) * p.iq
		air := m * (1 - f) * (0.72 + 0.28*max32(1-q*q, 0))
		if p.side != s.ptxSide {
			c.dens[i] -= airK*air - vesselK*mark*air
			continue
		}
		c.dens[i] -= p.pneumothorax(float64(u), v, m, air, mark)
	}
}

// pneumothorax returns the density lost at a pixel of the collapsed side.
func (p *lungPass) pneumothorax(u, v float64, m, air, mark float32) float32 {
	s := p.s
	k := s.ptxK
	mc := float32(s.lung(p.side, p.hx+(u-p.hx)/k, p.hy+(v-p.hy)/k, p.soft/k))
	mark *= mc
	air *= 1 - 0.5*float32(1-k)*mc
	dark := 0.35 * m * (1 - mc)
	line := 0.1 * m * 4 * mc * (1 - mc)
	return airK*air*(1+dark) - vesselK*mark*air - line
}

func min32(a, b float32) float32 {
	if a < b {
		return a
	}
	return b
}

func max32(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

// drawHeart adds the density of heart and mediastinum over the body.
func (s *scene) drawHeart(c *canvas) {
	a := &s.a
	n := c.n
	y0, y1 := c.span(0, max(a.Dome[0], a.Dome[1]))
	for y := y0; y <= y1; y++ {
		v := (float64(y) + 0.5) / float64(n)
		l, r := s.medial(0, v), s.medial(1, v)
		x0, x1 := c.span(a.CX-l, a.CX+r)
		for x := x0; x <= x1; x++ {
			c.dens[y*n+x] += heartK
		}
	}
}

// drawSkeleton adds spine, ribs (with fractures), clavicles and humeral
// heads.
func (s *scene) drawSkeleton(c *canvas) {
	a := &s.a
	k := float32(s.boneK)
	sw := 0.045 * a.Scale
	c.ellipse(c.dens, a.CX, 0.5, sw, 0.75, float32(spineK)*k/float32(ribK))
	for v := a.Apex - 0.04; v < 1; v += 0.042 * a.Scale {
		c.line(c.dens, a.CX-sw, v, a.CX+sw, v, 0.004, -0.03*k/float32(ribK))
	}
	spacing := (a.Dome[0] + 0.03 - a.Apex) / 9.5
	for side := 0; side < 2; side++ {
		sgn := float64(2*side - 1)
		for i := 0; i < 10; i++ {
			s.drawRib(c, side, i, a.Apex-0.015+float64(i)*spacing, sgn, k)
		}
		// Clavicle: from the sternal notch up and out to the shoulder.
		cy := a.Apex - 0.01 - a.ClavicleLift
		c.polyline(c.dens, []float64{a.CX + sgn*0.025, cy + 0.03, a.CX + sgn*0.12*a.Scale, cy + 0.005,
			a.CX + sgn*0.24*a.Scale, cy - 0.005, a.CX + sgn*(a.W+0.05*a.Scale), cy - 0.035}, 0.011*a.Scale, clavicleK*k/float32(ribK))
		c.ellipse(c.dens, a.CX+sgn*(a.W+0.11*a.Scale), a.Apex-0.02, 0.06*a.Scale, 0.065*a.Scale, humerusK*k/float32(ribK))
	}
}

// ribArc samples sin(0.6*pi*t) for t in [0, 1], the rise of a posterior rib.
var ribArc = func() [65]float64 {
	var t [65]float64
	for i := range t {
		t[i] = math.Sin(0.6 * math.Pi * float64(i) / 64)
	}
	return t
}()

// drawRib draws one posterior rib (rising from the spine, then sweeping
// down at the lateral wall, broken where a fracture is) and its fainter
// anterior arc, column by column.
func (s *scene) drawRib(c *canvas, side, i int, v0, sgn float64, k float32) {
	a := &s.a
	inner := a.CX + sgn*0.035*a.Scale
	w := 0.55*a.W + 0.45*s.halfWidth(v0+0.05)
	var fr *fracture
	for j := range s.fractures {
		if s.fractures[j].side == side && s.fractures[j].rib == i {
			fr = &s.fractures[j]
			fr.u = inner + sgn*(fr.t+fr.gap/2)*w
		}
	}
	th := (0.0075 + 0.0006*float64(i)) * a.Scale
	rise, drop := 0.05*a.Scale, 0.12*a.Scale
	n := float64(c.n)
	x0, x1 := c.span(min(inner, inner+sgn*w*1.02), max(inner, inner+sgn*w*1.02))
	for x := x0; x <= x1; x++ {
		u := (float64(x) + 0.5) / n
		t := math.Abs(u-inner) / w
		v := v0 - rise*ribArc[min(int(t*64), 64)] + drop*t*t
		if fr != nil && t > fr.t {
			if t < fr.t+fr.gap {
				fr.v = v
				continue
			}
			v += fr.step
		}
		c.column(c.dens, x, v, th, ribK*k)
	}
	ax0, ax1 := c.span(min(a.CX+sgn*0.35*w, a.CX+sgn*w), max(a.CX+sgn*0.35*w, a.CX+sgn*w))
	for x := ax0; x <= ax1; x++ {
		t := math.Abs((float64(x)+0.5)/n-a.CX) / w
		c.column(c.dens, x, v0+0.07*a.Scale+0.16*a.Scale*(1-t)*(1-t), th*0.8, 0.45*ribK*k)
	}
}

// drawExtras adds trachea, gastric bubble, breast shadows and vessels.
func (s *scene) drawExtras(c *canvas) {
	a := &s.a
	carina := s.heartC - s.hh - 0.02
	c.line(c.dens, a.CX-0.004, 0, a.CX-0.004, carina, 0.013*a.Scale, -tracheaK)
	c.ellipse(c.dens, s.lungCentre(1)+0.03, a.Dome[1]+a.DomeDepth+0.04*a.Scale, 0.045*a.Scale, 0.022*a.Scale, -0.2)
	if a.Breast > 0 {
		for side := 0; side < 2; side++ {
			u := a.CX + float64(2*side-1)*0.6*a.W
			c.blob(c.dens, u, a.Dome[side]+0.01, 0.11*a.Scale, 0.065*a.Scale, float32(0.09*a.Breast))
		}
	}
	for _, g := range a.Vessels {
		c.line(c.vess, g.ax, g.ay, g.bx, g.by, g.w/2, 0.8)
	}
}
