package eval

import (
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
)

// bruteAUC is the Mann-Whitney AUROC by the O(mn) double loop, the
// reference for the sorted-pass implementation.
func bruteAUC(s []float64, y []model.Label) float64 {
	var num float64
	m, n := 0, 0
	for i := range s {
		if y[i] != model.LabelPositive {
			continue
		}
		m++
		for j := range s {
			if y[j] != model.LabelNegative {
				continue
			}
			switch {
			case s[i] > s[j]:
				num++
			case s[i] == s[j]:
				num += 0.5
			}
		}
	}
	for i := range y {
		if y[i] == model.LabelNegative {
			n++
		}
	}
	return num / float64(m*n)
}

// bruteInfluence computes DeLong's structural components by the double
// loop of DeLong et al. 1988 and returns each row's influence as defined in
// delong_macro.go.
func bruteInfluence(s []float64, y []model.Label) (float64, []float64) {
	psiF := func(x, z float64) float64 {
		switch {
		case x > z:
			return 1
		case x == z:
			return 0.5
		}
		return 0
	}
	var pos, neg []int
	for i, l := range y {
		switch l {
		case model.LabelPositive:
			pos = append(pos, i)
		case model.LabelNegative:
			neg = append(neg, i)
		}
	}
	m, n := float64(len(pos)), float64(len(neg))
	auc := bruteAUC(s, y)
	phi := make([]float64, len(s))
	for _, i := range pos {
		var v float64
		for _, j := range neg {
			v += psiF(s[i], s[j])
		}
		phi[i] = (v/n - auc) / math.Sqrt(m*(m-1))
	}
	for _, j := range neg {
		var v float64
		for _, i := range pos {
			v += psiF(s[i], s[j])
		}
		phi[j] = (v/m - auc) / math.Sqrt(n*(n-1))
	}
	return auc, phi
}

// simLabels draws n labels with the given positive rate and a share of
// uncertain and blank values.
func simLabels(r *rand.Rand, n int, rate, missing float64) []model.Label {
	y := make([]model.Label, n)
	for i := range y {
		switch u := r.Float64(); {
		case u < missing/2:
			y[i] = model.LabelUncertain
		case u < missing:
			y[i] = model.LabelBlank
		case r.Float64() < rate:
			y[i] = model.LabelPositive
		default:
			y[i] = model.LabelNegative
		}
	}
	return y
}

// simScores draws scores that separate positives by shift, rounded to
// round decimals (0: no rounding) to create ties.
func simScores(r *rand.Rand, y []model.Label, shift float64, round int) []float64 {
	s := make([]float64, len(y))
	for i := range s {
		s[i] = r.NormFloat64()
		if y[i] == model.LabelPositive {
			s[i] += shift
		}
		if round > 0 {
			p := math.Pow(10, float64(round))
			s[i] = math.Round(s[i]*p) / p
		}
	}
	return s
}
