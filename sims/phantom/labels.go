package phantom

import (
	"math/rand/v2"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// risk is a finding's log-odds model: a base rate for a PA film of a
// 60-year-old of nominal sickness, and slopes per decade of age, per unit of
// sickness and for an AP film. Dependencies between findings are added in
// drawFindings.
type risk struct{ base, age, sick, ap float64 }

var risks = [model.NumLabels]risk{
	EnlargedCardiomediastinum: {-3.1, 0.15, 0.3, 0.3},
	Cardiomegaly:              {-2.0, 0.35, 0.5, 0.3},
	LungOpacity:               {-3.0, 0.1, 0.4, 0.2},
	LungLesion:                {-3.2, 0.3, 0.2, 0},
	Edema:                     {-3.0, 0.15, 0.6, 0.6},
	Consolidation:             {-3.6, 0.05, 0.4, 0.3},
	Pneumonia:                 {-2.7, 0.05, 0.7, 0.3},
	Atelectasis:               {-2.6, 0.15, 0.4, 0.7},
	Pneumothorax:              {-3.5, -0.1, 0.4, 0.8},
	PleuralEffusion:           {-2.6, 0.2, 0.6, 0.5},
	PleuralOther:              {-4.0, 0.25, 0.1, 0},
	Fracture:                  {-3.6, 0.3, 0.2, 0.2},
	SupportDevices:            {-2.6, 0.1, 0.9, 2.2},
}

// drawFindings samples the true findings of a study. Dependencies follow
// clinical co-occurrence: heart failure links cardiomegaly, an enlarged
// cardiomediastinum, edema and effusions; pneumonia brings consolidation;
// effusion brings atelectasis; pneumothorax brings a chest tube; most
// parenchymal findings are also lung opacities.
func drawFindings(r *rand.Rand, prof *Profile, pat patient, age int, sick float64, ap bool) Truth {
	t := Truth{AP: ap, Sickness: sick}
	on := func(i int) float64 {
		if t.Present[i] {
			return 1
		}
		return 0
	}
	draw := func(i int, extra float64) {
		k := risks[i]
		x := k.base + k.age*(float64(age)-60)/10 + k.sick*sick + prof.Prevalence[model.LabelNames[i]] + pat.effects[i] + extra
		if ap {
			x += k.ap
		}
		if r.Float64() < logistic(x) {
			t.Present[i] = true
			t.Severity[i] = clampF(0.15+0.85*r.Float64()+0.08*sick, 0.15, 1)
		}
	}
	male := 0.0
	if pat.sex == dataset.SexMale {
		male = 1
	}
	draw(Cardiomegaly, 0.2*male)
	draw(EnlargedCardiomediastinum, 1.6*on(Cardiomegaly))
	draw(Edema, 1.8*on(Cardiomegaly))
	draw(PleuralEffusion, 1.1*on(Cardiomegaly)+1.4*on(Edema))
	draw(Pneumonia, 0)
	draw(Consolidation, 3.0*on(Pneumonia))
	draw(Atelectasis, 1.0*on(PleuralEffusion)+0.5*on(Pneumonia))
	draw(LungLesion, 0)
	draw(Pneumothorax, 0.4*male)
	draw(SupportDevices, 1.6*on(Pneumothorax)+0.6*on(Edema))
	draw(Fracture, 0.8*on(Pneumothorax))
	draw(PleuralOther, 0.5*on(PleuralEffusion))
	draw(LungOpacity, 0)
	addOpacity(r, &t)
	for i := range t.Side {
		t.Side[i] = r.IntN(2)
		if r.Float64() < 0.3 {
			t.Side[i] = 2
		}
	}
	t.Side[Edema] = 2
	t.Present[NoFinding] = true
	for i := EnlargedCardiomediastinum; i < SupportDevices; i++ {
		if t.Present[i] {
			t.Present[NoFinding] = false
		}
	}
	return t
}

// addOpacity marks most parenchymal findings as lung opacities too, with
// the largest contributor's severity.
func addOpacity(r *rand.Rand, t *Truth) {
	for _, c := range []struct {
		i int
		p float64
	}{{Consolidation, 0.95}, {Pneumonia, 0.85}, {Edema, 0.7}, {Atelectasis, 0.6}, {LungLesion, 0.5}} {
		if i := c.i; t.Present[i] && r.Float64() < c.p {
			if !t.Present[LungOpacity] {
				t.Present[LungOpacity], t.Severity[LungOpacity] = true, 0
			}
			t.Severity[LungOpacity] = max(t.Severity[LungOpacity], t.Severity[i])
		}
	}
}

// reporting holds how a radiology report mentions a finding: when present,
// how often it is hedged (uncertain, more for small findings) or missed;
// when absent, how often it is explicitly negated or hedged. The shares
// follow CheXpert's training labels.
type reporting struct{ unc, neg, hedge float64 }

var reports = [model.NumLabels]reporting{
	EnlargedCardiomediastinum: {0.45, 0.08, 0.04},
	Cardiomegaly:              {0.12, 0.05, 0.02},
	LungOpacity:               {0.06, 0.03, 0.02},
	LungLesion:                {0.15, 0.02, 0.01},
	Edema:                     {0.15, 0.10, 0.03},
	Consolidation:             {0.40, 0.12, 0.06},
	Pneumonia:                 {0.60, 0.02, 0.06},
	Atelectasis:               {0.40, 0.02, 0.06},
	Pneumothorax:              {0.08, 0.28, 0.01},
	PleuralEffusion:           {0.10, 0.15, 0.03},
	PleuralOther:              {0.35, 0.01, 0.01},
	Fracture:                  {0.05, 0.02, 0.005},
	SupportDevices:            {0.01, 0.01, 0.005},
}

// reportLabels turns the truth into CheXpert labeler output under a site's
// reporting habits: 1, -1, 0 or blank for each finding, and No Finding 1 when no pathology (Support
// Devices aside) is positive or uncertain, blank otherwise.
func reportLabels(r *rand.Rand, t *Truth, rep *Reporting) [model.NumLabels]model.Label {
	var l [model.NumLabels]model.Label
	miss, hs := rep.MissRate, rep.HedgeScale
	for i := EnlargedCardiomediastinum; i <= SupportDevices; i++ {
		rp := reports[i]
		switch u := r.Float64(); {
		case t.Present[i] && u < miss:
			l[i] = model.LabelBlank
		case t.Present[i] && u < miss+hs*rp.unc*(1.15-t.Severity[i]):
			l[i] = model.LabelUncertain
		case t.Present[i]:
			l[i] = model.LabelPositive
		case u < hs*rp.hedge:
			l[i] = model.LabelUncertain
		case u < hs*rp.hedge+rp.neg:
			l[i] = model.LabelNegative
		default:
			l[i] = model.LabelBlank
		}
	}
	l[NoFinding] = model.LabelPositive
	for i := EnlargedCardiomediastinum; i < SupportDevices; i++ {
		if l[i] == model.LabelPositive || l[i] == model.LabelUncertain {
			l[NoFinding] = model.LabelBlank
		}
	}
	return l
}

// expertLabels are a validation set's consensus labels: the truth as 1 or 0.
func expertLabels(t *Truth) [model.NumLabels]model.Label {
	var l [model.NumLabels]model.Label
	for i, p := range t.Present {
		if p {
			l[i] = model.LabelPositive
		} else {
			l[i] = model.LabelNegative
		}
	}
	return l
}
