package phantom

import (
	"math"
	"math/rand/v2"
)

// newScene applies the study's findings to its anatomy: heart size,
// mediastinal width, volume loss, the collapsed lung and broken ribs.
func newScene(a Anatomy, t *Truth, acq *Acquisition, r *rand.Rand) *scene {
	s := &scene{a: a, t: t, ptxSide: -1, ptxK: 1}
	s.boneK = a.Bone * acq.BoneContrast
	ctr := a.CTR
	if t.Present[Cardiomegaly] {
		ctr = max(ctr, 0.53+0.15*t.Severity[Cardiomegaly])
		if t.AP {
			ctr *= 1.06
		}
	}
	s.heartW = ctr * 2 * a.W
	if t.Present[EnlargedCardiomediastinum] {
		s.ecm = (0.025 + 0.06*t.Severity[EnlargedCardiomediastinum]) * a.Scale
	}
	if t.Present[Atelectasis] {
		for _, side := range sides(t.Side[Atelectasis]) {
			s.a.Dome[side] -= 0.035 * t.Severity[Atelectasis] * a.Scale
		}
	}
	s.hh = (min(s.a.Dome[0], s.a.Dome[1]) - a.HeartTop) * 0.55
	s.heartC = a.HeartTop + s.hh
	if t.Present[Pneumothorax] {
		s.ptxSide = t.Side[Pneumothorax] % 2
		s.ptxK = 1 - (0.07 + 0.3*t.Severity[Pneumothorax])
	}
	if t.Present[Fracture] {
		sev := t.Severity[Fracture]
		for k := 0; k < 1+int(2.5*sev); k++ {
			s.fractures = append(s.fractures, fracture{side: t.Side[Fracture] % 2, rib: 2 + r.IntN(7),
				t: 0.45 + 0.4*r.Float64(), gap: 0.03 + 0.05*sev, step: (0.006 + 0.02*sev) * a.Scale,
				callus: r.Float64() < 0.3+0.6*sev})
		}
	}
	return s
}

// sides lists the sides of a Truth.Side value.
func sides(v int) []int {
	if v == 2 {
		return []int{0, 1}
	}
	return []int{v}
}

// drawFilling paints the air-space and pleural findings into the filling
// layer, which replaces lung air.
func (s *scene) drawFilling(c *canvas, r *rand.Rand) {
	t := &s.t.Present
	sev := &s.t.Severity
	if t[PleuralEffusion] {
		for _, side := range sides(s.t.Side[PleuralEffusion]) {
			s.effusion(c, side, sev[PleuralEffusion], r)
		}
	}
	if t[Edema] {
		s.edema(c, sev[Edema])
	}
	if t[Consolidation] {
		for _, side := range sides(s.t.Side[Consolidation]) {
			s.patches(c, side, sev[Consolidation], 1+r.IntN(2), 3, 0.9, 0.045, r)
		}
	}
	if t[Pneumonia] {
		for _, side := range sides(s.t.Side[Pneumonia]) {
			s.patches(c, side, sev[Pneumonia], 1+r.IntN(2), 5, 0.5, 0.04, r)
		}
	}
	if t[LungOpacity] && !t[Consolidation] && !t[Pneumonia] && !t[Edema] && !t[Atelectasis] && !t[LungLesion] {
		s.patches(c, r.IntN(2), sev[LungOpacity], 1, 4, 0.45, 0.06, r)
	}
	if t[Atelectasis] {
		for _, side := range sides(s.t.Side[Atelectasis]) {
			s.atelectasis(c, side, sev[Atelectasis], r)
		}
	}
	if t[PleuralOther] {
		s.pleuralThickening(c, s.t.Side[PleuralOther]%2, sev[PleuralOther])
	}
}

// effusion fills the base of a hemithorax up to a meniscus that rises
// laterally; on a supine AP film half of effusions layer behind the lung as
// a veil instead.
func (s *scene) effusion(c *canvas, side int, sev float64, r *rand.Rand) {
	a := &s.a
	sgn := float64(2*side - 1)
	h := (0.04 + 0.26*sev) * a.Scale
	veil := s.t.AP && r.Float64() < 0.5
	top := a.Dome[side] - h - 0.05
	y0, y1 := c.span(top, a.Dome[side]+a.DomeDepth*1.3)
	x0, x1 := c.span(min(a.CX, a.CX+sgn*a.W*1.05), max(a.CX, a.CX+sgn*a.W*1.05))
	n := float64(c.n)
	for y := y0; y <= y1; y++ {
		v := (float64(y) + 0.5) / n
		for x := x0; x <= x1; x++ {
			u := (float64(x) + 0.5) / n
			lat := min(math.Abs(u-a.CX)/a.W, 1)
			var f float64
			if veil {
				f = (0.25 + 0.5*sev) * smooth((v-(a.Apex+0.1))/(a.Dome[side]-a.Apex))
				f = max(f, smooth((v-(a.Dome[side]+0.01-0.3*h*lat))*n/2))
			} else {
				level := a.Dome[side] + 0.03 - h*(0.55+0.45*lat*lat)
				f = smooth((v - level) * n / 2)
			}
			c.fill[y*c.n+x] += float32(f)
		}
	}
}

// edema adds bilateral perihilar haze ("bat wing"), with Kerley B lines at
// the lateral bases when marked.
func (s *scene) edema(c *canvas, sev float64) {
	a := &s.a
	for side := 0; side < 2; side++ {
		sgn := float64(2*side - 1)
		hx, hy := a.CX+sgn*(a.Mediastinum+0.06*a.Scale), a.Apex+0.5*(a.Dome[side]-a.Apex)
		su, sv := (0.06+0.07*sev)*a.Scale, (0.08+0.08*sev)*a.Scale
		c.blob(c.fill, hx+sgn*0.02, hy, su, sv, float32(0.35+0.4*sev))
		if sev > 0.35 {
			for k := 0; k < 4; k++ {
				v := a.Dome[side] - (0.02+0.025*float64(k))*a.Scale
				u := a.CX + sgn*(s.halfWidth(v)-0.005)
				c.line(c.dens, u, v, u-sgn*0.035*a.Scale, v, 0.003*a.Scale, 0.08)
			}
		}
	}
}

// patches adds k irregular air-space opacities in the lower two thirds of
// a lung, each made of m Gaussian lobes around a random centre.
func (s *scene) patches(c *canvas, side int, sev float64, k, m int, amp, size float64, r *rand.Rand) {
	a := &s.a
	sgn := float64(2*side - 1)
	for i := 0; i < k; i++ {
		v := a.Apex + (0.35+0.5*r.Float64())*(a.Dome[side]-a.Apex)
		u := a.CX + sgn*s.medial(side, v) + sgn*(0.25+0.55*r.Float64())*(s.halfWidth(v)-s.medial(side, v))
		rad := (size + 0.07*sev) * a.Scale
		for j := 0; j < m; j++ {
			du, dv := rad*0.7*r.NormFloat64(), rad*0.7*r.NormFloat64()
			c.blob(c.fill, u+du, v+dv, rad*(0.5+0.4*r.Float64()), rad*(0.5+0.4*r.Float64()), float32(amp*(0.6+0.4*sev)))
		}
	}
}

// atelectasis adds a plate-like band above the diaphragm, and for marked
// collapse a triangular opacity beside the heart.
func (s *scene) atelectasis(c *canvas, side int, sev float64, r *rand.Rand) {
	a := &s.a
	sgn := float64(2*side - 1)
	v := a.Dome[side] - (0.04+0.06*r.Float64())*a.Scale
	mid := a.CX + sgn*(0.35+0.3*r.Float64())*a.W
	l := (0.05 + 0.08*sev) * a.Scale
	tilt := 0.02 * r.NormFloat64()
	c.line(c.fill, mid-l, v-tilt, mid+l, v+tilt, (0.006+0.012*sev)*a.Scale, 1)
	if sev > 0.6 {
		u := a.CX + sgn*(s.medial(side, a.Dome[side]-0.04)+0.02)
		c.blob(c.fill, u, a.Dome[side]-0.05, 0.035*a.Scale, 0.06*a.Scale, float32(0.8*sev))
	}
}

// pleuralThickening adds a band along the lateral chest wall.
func (s *scene) pleuralThickening(c *canvas, side int, sev float64) {
	a := &s.a
	sgn := float64(2*side - 1)
	w := (0.008 + 0.02*sev) * a.Scale
	for v := a.Apex + 0.15; v < a.Dome[side]; v += 0.01 {
		u := a.CX + sgn*(s.halfWidth(v)-w)
		c.line(c.fill, u, v, u, v+0.01, w, 0.8)
	}
}

// drawDense adds findings denser than soft tissue, on top of the lungs:
// nodules and masses, calcified plaques, fracture callus and devices.
func (s *scene) drawDense(c *canvas, r *rand.Rand) {
	t := &s.t.Present
	sev := &s.t.Severity
	a := &s.a
	if t[LungLesion] {
		for k := 0; k < 1+r.IntN(2); k++ {
			u, v := s.inLung(r)
			rad := (0.012 + 0.045*math.Pow(sev[LungLesion], 1.5)) * a.Scale
			c.ellipse(c.dens, u, v, rad, rad, lesionK)
		}
	}
	if t[PleuralOther] && r.Float64() < 0.5 {
		side := s.t.Side[PleuralOther] % 2
		c.ellipse(c.dens, s.lungCentre(side), a.Dome[side]-0.005, 0.03*a.Scale, 0.008*a.Scale, 0.25)
	}
	for _, f := range s.fractures {
		if f.callus {
			rad := (0.01 + 0.012*s.t.Severity[Fracture]) * a.Scale
			c.ellipse(c.dens, f.u, f.v, rad, rad*0.8, 0.15)
		}
	}
	if t[SupportDevices] {
		s.devices(c, sev[SupportDevices], r)
	}
}

// inLung returns a random point well inside either lung.
func (s *scene) inLung(r *rand.Rand) (float64, float64) {
	for i := 0; i < 20; i++ {
		side := r.IntN(2)
		u := s.a.CX + float64(2*side-1)*s.a.W*r.Float64()
		v := s.a.Apex + (s.a.Dome[side]-s.a.Apex)*r.Float64()
		if s.lung(side, u, v, 0.02) >= 1 {
			return u, v
		}
	}
	return s.lungCentre(0), (s.a.Apex + s.a.Dome[0]) / 2
}
