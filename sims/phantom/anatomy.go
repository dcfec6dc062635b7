package phantom

import (
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/dataset"
)

// Anatomy is a study's geometry in image coordinates: u from 0 (left edge,
// the patient's right) to 1, v from 0 (top) to 1. Patient-level shape comes
// from sex, age and habitus (the same for all of a patient's studies);
// positioning, inspiration and AP magnification vary per study.
type Anatomy struct {
	// CX is the midline; W the half-width of the thorax at the lung bases.
	CX, W float64
	// Apex is the top of the lungs; Dome the height of each hemidiaphragm's
	// dome (0 the patient's right, image left) and DomeDepth its curvature.
	Apex      float64
	Dome      [2]float64
	DomeDepth float64
	// CTR is the cardiothoracic ratio; HeartTop the top of the heart's
	// convexity and HeartRight the share of its width right of the midline
	// (image left).
	CTR, HeartTop, HeartRight float64
	// Mediastinum is the half-width of the upper mediastinum; Knob the
	// aortic knob's bulge.
	Mediastinum, Knob float64
	// Breast is the breast shadow's strength (0 for men).
	Breast float64
	// Bone scales bone density (lower in the elderly).
	Bone float64
	// Scale is the field-of-view scale; ClavicleLift raises the clavicles
	// on lordotic AP films.
	Scale, ClavicleLift float64
	// Vessels are the lung markings: segments from the hila.
	Vessels []segment
}

// segment is a tapered line in image coordinates.
type segment struct{ ax, ay, bx, by, w float64 }

// drawAnatomy draws a study's anatomy: patient shape from the patient's own
// stream, positioning from the study's.
func drawAnatomy(pat patient, age int, ap bool, acq *Acquisition, r *rand.Rand) Anatomy {
	pr := rand.New(rand.NewPCG(pat.anatSeed, 0xa9a70))
	a := Anatomy{CX: 0.5, Apex: 0.15, DomeDepth: 0.045 + 0.01*pr.Float64(), HeartRight: 0.36 + 0.05*pr.Float64(), Bone: 1}
	female := pat.sex == dataset.SexFemale
	a.W = 0.35 + 0.012*pat.habitus + 0.008*pr.NormFloat64()
	a.CTR = 0.44 + 0.025*pr.NormFloat64() + 0.0015*float64(age-50)
	if female {
		a.W -= 0.03
		a.CTR += 0.01
		a.Breast = clampF(0.5+0.25*pat.habitus+0.2*pr.NormFloat64(), 0.1, 1)
	}
	a.Mediastinum = 0.05 + 0.006*pr.Float64() + 0.0004*float64(max(age-40, 0))
	a.Knob = 0.012 + 0.00035*float64(max(age-40, 0))
	a.Bone = 1.1 - 0.006*float64(max(age-40, 0))
	if female {
		a.Bone -= 0.1
	}
	dome := 0.7 + 0.012*pr.NormFloat64() + 0.0006*float64(age-50)
	if female {
		dome -= 0.01
	}
	// Study-level: inspiration, projection and positioning.
	dome += 0.012 * r.NormFloat64()
	if ap {
		dome -= 0.045
		a.CTR *= 1.12
		a.ClavicleLift = 0.025
	}
	a.Dome = [2]float64{dome, dome + 0.02 + 0.006*r.NormFloat64()}
	a.HeartTop = dome - 0.19
	j := acq.Jitter
	a.Scale = acq.Scale * (1 + 0.035*pat.habitus + 0.02*j*r.NormFloat64())
	shiftU, shiftV := 0.012*j*r.NormFloat64(), 0.015*j*r.NormFloat64()
	a.place(shiftU, shiftV)
	a.Vessels = vessels(&a, pr)
	return a
}

// place applies scale and shift about the centre of the thorax.
func (a *Anatomy) place(du, dv float64) {
	const cv = 0.45
	s := a.Scale
	a.CX = 0.5 + du
	a.W *= s
	a.Apex = cv + (a.Apex-cv)*s + dv
	for i := range a.Dome {
		a.Dome[i] = cv + (a.Dome[i]-cv)*s + dv
	}
	a.HeartTop = cv + (a.HeartTop-cv)*s + dv
	a.DomeDepth *= s
	a.Mediastinum *= s
	a.Knob *= s
}

// vessels draws the branching lung markings from each hilum.
func vessels(a *Anatomy, r *rand.Rand) []segment {
	var out []segment
	for side := 0; side < 2; side++ {
		sgn := float64(2*side - 1)
		hx, hy := a.CX+sgn*(a.Mediastinum+0.035), a.Apex+0.55*(a.Dome[side]-a.Apex)
		for k := 0; k < 7; k++ {
			ang := math.Pi*(0.1+0.8*float64(k)/6) + 0.12*r.NormFloat64()
			dx, dy := -math.Cos(ang)*sgn, -math.Sin(ang)+0.35
			n := math.Hypot(dx, dy)
			l := a.W * (0.35 + 0.25*r.Float64())
			bx, by := hx+dx/n*l, hy+dy/n*l
			out = append(out, segment{hx, hy, bx, by, 0.009 * a.Scale})
			// One side branch from the middle.
			mx, my := (hx+bx)/2, (hy+by)/2
			b2 := ang + 0.5*(r.Float64()-0.5)
			out = append(out, segment{mx, my, mx - math.Cos(b2)*sgn*l*0.45, my - math.Sin(b2)*l*0.45 + 0.1*l, 0.006 * a.Scale})
		}
	}
	return out
}
