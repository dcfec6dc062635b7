package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// The macro-mean variance.
//
// Each label l's AUROC estimate A_l has, on every row r, a DeLong influence
// phi_l(r) = (V_l(r) - A_l) / sqrt(k(k-1)), where V_l(r) is the row's
// structural component (V10 for a positive, V01 for a negative), k is the size
// of the row's class for label l, and phi_l(r) = 0 when the row is dropped
// for l. For one label, sum_r phi_a(r) phi_b(r) is exactly DeLong's
// covariance S10/m + S01/n of two score vectors a and b. Extending the same
// sum across labels estimates Cov(A_l, A_l') through the rows the two labels
// share (rows positive for one label and negative for the other included).
// The macro mean M = (1/L) sum_l A_l over L tested labels then has influence
// psi(r) = (1/L) sum_l phi_l(r) and variance Var(M) = sum_r psi(r)^2, that is
// (1/L^2) sum_{l,l'} Cov(A_l, A_l'). Two macro means on the same rows have
// covariance sum_r psi_a(r) psi_b(r); on independent test sets the variances
// add. With one label this reduces exactly to DeLong's test. Rows are taken
// as independent: several images of one patient are not clustered.
//
// A label is tested, and enters the macro mean of these tests, when it has at
// least two positives and two negatives (DeLong's variance needs both); the
// others are listed with the reason.

// LabelTest is the DeLong test of one label within a macro comparison.
type LabelTest struct {
	// Name is the label's name.
	Name string `json:"name"`
	// Tested is false when the label has too few positives or negatives.
	Tested bool `json:"tested"`
	// Reason says why an untested label was skipped.
	Reason string `json:"reason,omitempty"`
	// Test is the label's test when Tested.
	Test Test `json:"test"`
}

// MacroTest compares two macro-mean AUROCs label by label and overall.
type MacroTest struct {
	// Labels holds every label of the test set.
	Labels []LabelTest `json:"labels"`
	// Macro compares the macro means over the tested labels.
	Macro Test `json:"macro"`
	// Tested counts the labels in the macro means.
	Tested int `json:"tested"`
}

// macroPart is one score set's macro influence on one test set.
type macroPart struct {
	aucs []float64   // per label, NaN when untested
	phis [][]float64 // per label, nil when untested
	why  []string    // per label, the reason when untested
}

// prepareMacro computes every label's influence; input errors are fatal,
// too-few-rows conditions mark the label untested.
func prepareMacro(ts *TestSet, s Scores) (*macroPart, error) {
	if err := ts.Validate(); err != nil {
		return nil, err
	}
	if err := ts.checkScores(s); err != nil {
		return nil, err
	}
	p := &macroPart{aucs: make([]float64, len(s)), phis: make([][]float64, len(s)), why: make([]string, len(s))}
	for j := range s {
		b, err := newBinary(s[j], ts.Labels[j])
		if err != nil {
			return nil, fmt.Errorf("label %q: %w", ts.Names[j], err)
		}
		p.aucs[j], p.phis[j], err = b.influence(ts.Len())
		if err != nil {
			if !errors.Is(err, ErrOneClass) && !errors.Is(err, ErrTooFew) && !errors.Is(err, ErrEmpty) {
				return nil, fmt.Errorf("label %q: %w", ts.Names[j], err)
			}
			p.why[j] = err.Error()
		}
	}
	return p, nil
}

// psi returns the mean AUROC and the macro influence over the labels in use.
func (p *macroPart) psi(use []bool, nrows int) (float64, []float64) {
	psi := make([]float64, nrows)
	var sum float64
	l := 0
	for j, ok := range use {
		if !ok {
			continue
		}
		l++
		sum += p.aucs[j]
		for r, v := range p.phis[j] {
			psi[r] += v
		}
	}
	for r := range psi {
		psi[r] /= float64(l)
	}
	return sum / float64(l), psi
}

// DeLongMacroPaired compares two score sets on the same test set, per label
// and for the macro mean, with the covariance defined above.
func DeLongMacroPaired(ts *TestSet, a, b Scores) (*MacroTest, error) {
	pa, err := prepareMacro(ts, a)
	if err != nil {
		return nil, fmt.Errorf("first scores: %w", err)
	}
	pb, err := prepareMacro(ts, b)
	if err != nil {
		return nil, fmt.Errorf("second scores: %w", err)
	}
	out := &MacroTest{Labels: make([]LabelTest, len(a))}
	use := make([]bool, len(a))
	for j := range a {
		lt := LabelTest{Name: ts.Names[j], Reason: pa.why[j]}
		if pa.phis[j] != nil {
			var v float64
			for r, x := range pa.phis[j] {
				d := x - pb.phis[j][r]
				v += d * d
			}
			lt.Tested, lt.Test = true, newTest(pa.aucs[j], pb.aucs[j], v)
			use[j] = true
			out.Tested++
		}
		out.Labels[j] = lt
	}
	if out.Tested == 0 {
		return out, fmt.Errorf("paired macro DeLong over %d labels: %w", len(a), ErrNoLabels)
	}
	m1, psa := pa.psi(use, ts.Len())
	m2, psb := pb.psi(use, ts.Len())
	var v float64
	for r := range psa {
		d := psa[r] - psb[r]
		v += d * d
	}
	out.Macro = newTest(m1, m2, v)
	return out, nil
}

// DeLongMacroUnpaired compares score set a on test set ta with score set b
// on an independent test set tb with the same label names, per label and for
// the macro mean over the labels tested in both. The macro DF uses the two
// sets' row counts in pROC's Welch-Satterthwaite formula.
func DeLongMacroUnpaired(ta *TestSet, a Scores, tb *TestSet, b Scores) (*MacroTest, error) {
	if !slices.Equal(ta.Names, tb.Names) {
		return nil, fmt.Errorf("unpaired macro DeLong: label names differ (%v vs %v): %w", ta.Names, tb.Names, ErrLength)
	}
	pa, err := prepareMacro(ta, a)
	if err != nil {
		return nil, fmt.Errorf("first set: %w", err)
	}
	pb, err := prepareMacro(tb, b)
	if err != nil {
		return nil, fmt.Errorf("second set: %w", err)
	}
	out := &MacroTest{Labels: make([]LabelTest, len(a))}
	use := make([]bool, len(a))
	for j := range a {
		lt := LabelTest{Name: ta.Names[j]}
		switch {
		case pa.phis[j] == nil:
			lt.Reason = "first set: " + pa.why[j]
		case pb.phis[j] == nil:
			lt.Reason = "second set: " + pb.why[j]
		default:
			va, vb := dot(pa.phis[j], pa.phis[j]), dot(pb.phis[j], pb.phis[j])
			lt.Tested, lt.Test = true, newTest(pa.aucs[j], pb.aucs[j], va+vb)
			lt.Test.setStudent(va, vb, countKept(ta.Labels[j]), countKept(tb.Labels[j]))
			use[j] = true
			out.Tested++
		}
		out.Labels[j] = lt
	}
	if out.Tested == 0 {
		return out, fmt.Errorf("unpaired macro DeLong over %d labels: %w", len(a), ErrNoLabels)
	}
	m1, psa := pa.psi(use, ta.Len())
	m2, psb := pb.psi(use, tb.Len())
	va, vb := dot(psa, psa), dot(psb, psb)
	out.Macro = newTest(m1, m2, va+vb)
	out.Macro.setStudent(va, vb, ta.Len(), tb.Len())
	return out, nil
}

// DeLongMacroVariance returns the macro-mean AUROC over the tested labels
// (two positives and two negatives at least), its variance as defined above,
// and which labels were tested.
func DeLongMacroVariance(ts *TestSet, s Scores) (mean, variance float64, tested []bool, err error) {
	p, err := prepareMacro(ts, s)
	if err != nil {
		return math.NaN(), math.NaN(), nil, err
	}
	tested = make([]bool, len(s))
	any := false
	for j := range s {
		tested[j] = p.phis[j] != nil
		any = any || tested[j]
	}
	if !any {
		return math.NaN(), math.NaN(), tested, fmt.Errorf("macro DeLong variance over %d labels: %w", len(s), ErrNoLabels)
	}
	mean, psi := p.psi(tested, ts.Len())
	return mean, dot(psi, psi), tested, nil
}

// DeLongMacroCI returns the macro-mean AUROC over the tested labels and its
// normal interval at level, clipped to [0, 1].
func DeLongMacroCI(ts *TestSet, s Scores, level float64) (float64, Interval, error) {
	mean, v, _, err := DeLongMacroVariance(ts, s)
	if err != nil {
		return mean, Interval{math.NaN(), math.NaN()}, err
	}
	return mean, clipCI(mean, v, level), nil
}
