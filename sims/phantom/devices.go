package phantom

import (
	"math/rand/v2"
)

// device draws one kind of support device.
type device struct {
	name   string
	ap, pa float64 // base probability on AP and PA films
	draw   func(s *scene, c *canvas, r *rand.Rand)
}

// devices lists the drawn support devices. Portable AP films of inpatients
// carry tubes, lines and ECG leads; outpatient PA films carry pacemakers,
// ports and sternotomy wires; a pneumothorax usually has a chest tube.
var devices = []device{
	{"endotracheal tube", 0.5, 0.02, drawETTube},
	{"nasogastric tube", 0.4, 0.03, drawNGTube},
	{"central line", 0.5, 0.35, drawCentralLine},
	{"ECG leads", 0.6, 0.1, drawECG},
	{"pacemaker", 0.12, 0.4, drawPacemaker},
	{"sternotomy wires", 0.1, 0.35, drawSternotomy},
}

// devices draws the support devices of a study: each kind with its
// probability scaled by severity, at least one.
func (s *scene) devices(c *canvas, sev float64, r *rand.Rand) {
	drawn := 0
	if s.t.Present[Pneumothorax] && r.Float64() < 0.85 || s.t.Present[PleuralEffusion] && r.Float64() < 0.15 {
		drawChestTube(s, c, r)
		drawn++
	}
	best, bestP := 0, 0.0
	for i, d := range devices {
		p := d.pa
		if s.t.AP {
			p = d.ap
		}
		if p > bestP {
			best, bestP = i, p
		}
		if r.Float64() < p*(0.6+0.8*sev) {
			d.draw(s, c, r)
			drawn++
		}
	}
	if drawn == 0 {
		devices[best].draw(s, c, r)
	}
}

func drawETTube(s *scene, c *canvas, r *rand.Rand) {
	a := &s.a
	tip := s.heartC - s.hh - 0.05 - 0.03*r.Float64()
	c.line(c.dens, a.CX, 0, a.CX, tip, 0.007*a.Scale, tubeK)
	c.line(c.dens, a.CX+0.003, 0, a.CX+0.003, tip, 0.0015*a.Scale, metalK*0.4)
}

func drawNGTube(s *scene, c *canvas, r *rand.Rand) {
	a := &s.a
	c.polyline(c.dens, []float64{a.CX - 0.012, 0, a.CX - 0.01, s.heartC, a.CX + 0.03, a.Dome[1] + 0.03,
		s.lungCentre(1) + 0.02*r.NormFloat64(), a.Dome[1] + 0.09}, 0.004*a.Scale, tubeK)
}

func drawCentralLine(s *scene, c *canvas, r *rand.Rand) {
	a := &s.a
	sgn := float64(2*r.IntN(2) - 1)
	c.polyline(c.dens, []float64{a.CX + sgn*a.W*0.8, a.Apex, a.CX + sgn*0.07, a.Apex + 0.06,
		a.CX - 0.015, s.heartC - 0.04 + 0.03*r.Float64()}, 0.0035*a.Scale, tubeK*1.3)
}

func drawECG(s *scene, c *canvas, r *rand.Rand) {
	a := &s.a
	for k := 0; k < 3+r.IntN(3); k++ {
		u := a.CX + (2*r.Float64()-1)*a.W*1.05
		v := a.Apex + (a.Dome[0]-a.Apex)*(0.1+0.8*r.Float64())
		c.ellipse(c.dens, u, v, 0.012*a.Scale, 0.012*a.Scale, metalK*0.7)
	}
}

func drawPacemaker(s *scene, c *canvas, r *rand.Rand) {
	a := &s.a
	gu, gv := a.CX+a.W*(0.55+0.2*r.Float64()), a.Apex+0.03+0.03*r.Float64()
	c.ellipse(c.dens, gu, gv, 0.045*a.Scale, 0.032*a.Scale, metalK)
	c.polyline(c.dens, []float64{gu, gv, a.CX + 0.06, a.Apex + 0.08, a.CX - 0.01, s.heartC, a.CX + 0.06, s.heartC + s.hh*0.8}, 0.003*a.Scale, metalK*0.6)
}

func drawSternotomy(s *scene, c *canvas, _ *rand.Rand) {
	a := &s.a
	for k := 0; k < 5; k++ {
		v := a.Apex + 0.06 + float64(k)*(s.heartC-a.Apex-0.04)/5
		c.ellipse(c.dens, a.CX, v, 0.01*a.Scale, 0.007*a.Scale, metalK*0.8)
		c.ellipse(c.dens, a.CX, v, 0.005*a.Scale, 0.003*a.Scale, -metalK*0.8)
	}
}

func drawChestTube(s *scene, c *canvas, r *rand.Rand) {
	a := &s.a
	side := s.t.Side[Pneumothorax] % 2
	if s.ptxSide >= 0 {
		side = s.ptxSide
	}
	sgn := float64(2*side - 1)
	pts := []float64{a.CX + sgn*a.W*1.15, a.Dome[side] - 0.02, a.CX + sgn*a.W*0.85, a.Dome[side] - 0.1,
		a.CX + sgn*a.W*(0.5+0.1*r.Float64()), a.Apex + 0.07}
	c.polyline(c.dens, pts, 0.007*a.Scale, tubeK*1.2)
	c.polyline(c.dens, pts, 0.0015*a.Scale, metalK*0.4)
}
