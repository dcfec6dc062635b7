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
	if (u < s.a.CX) != (side == 0) {
		return 0
	}
	return s.lungWith(side, u, v, soft, s.halfWidth(v), s.medial(side, v))
}

// lungWith is lung for a point on the lung's side of the midline, given
// the thorax half-width hw and the medial border md at row v.
func (s *scene) lungWith(side int, u, v, soft, hw, md float64) float64 {
	du := math.Abs(u - s.a.CX)
	d := min(hw-du, du-md, s.base(side, u)-v, v-s.apex(side, u))
	return min(max(0.5+d/soft, 0), 1)
}

// drawBody paints the soft tissue of neck, shoulders, chest wall and
// abdomen, and the arms beside the chest.
func (s *scene) drawBody(c *canvas) {
	a := &s.a
	n := c.n
	cx := c.px(a.CX)
	prof := c.gx[:n] // the last row's profile, reused while bw is unchanged
	lastBW, lx0, lx1 := -1.0, 0, -1
	for y := 0; y < n; y++ {
		v := c.centre[y]
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
		if lx1 >= lx0 {
			seg, pr := row[lx0:lx1+1], prof[lx0:lx1+1]
			pr = pr[:len(seg)]
			for x := range seg {
				seg[x] += pr[x]
			}
		}
	}
	for side := 0; side < 2; side++ {
		sgn := float64(2*side - 1)
		c.ellipse(c.dens, a.CX+sgn*(a.W+0.16*a.Scale), a.Apex+0.32*a.Scale, 0.055*a.Scale, 0.45*a.Scale, 0.33)
	}
}

// drawHeart adds the density of heart and mediastinum over the body,
// between the medial borders of l.
func (s *scene) drawHeart(c *canvas, l *lungRows) {
	a := &s.a
	n := c.n
	y0, y1 := c.span(0, max(a.Dome[0], a.Dome[1]))
	for y := y0; y <= y1; y++ {
		x0, x1 := c.span(a.CX-l.med0[y], a.CX+l.med1[y])
		if x1 < x0 {
			continue
		}
		row := c.dens[y*n+x0 : y*n+x1+1]
		for x := range row {
			row[x] += heartK
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
	// Each run's centre row goes into c.sq, NaN where the fracture's gap
	// leaves the column empty, then c.columns draws them.
	x0, x1 := c.span(min(inner, inner+sgn*w*1.02), max(inner, inner+sgn*w*1.02))
	if x1 >= x0 {
		vs := c.sq[:x1-x0+1]
		for j := range vs {
			t := math.Abs(c.centre[x0+j]-inner) / w
			v := v0 - rise*ribArc[min(int(t*64), 64)] + drop*t*t
			if fr != nil && t > fr.t {
				if t < fr.t+fr.gap {
					fr.v = v
					vs[j] = math.NaN()
					continue
				}
				v += fr.step
			}
			vs[j] = v
		}
		c.columns(c.dens, x0, vs, th, ribK*k)
	}
	ax0, ax1 := c.span(min(a.CX+sgn*0.35*w, a.CX+sgn*w), max(a.CX+sgn*0.35*w, a.CX+sgn*w))
	if ax1 >= ax0 {
		vs := c.sq[:ax1-ax0+1]
		for j := range vs {
			t := math.Abs(c.centre[ax0+j]-a.CX) / w
			vs[j] = v0 + 0.07*a.Scale + 0.16*a.Scale*(1-t)*(1-t)
		}
		c.columns(c.dens, ax0, vs, th*0.8, 0.45*ribK*k)
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
