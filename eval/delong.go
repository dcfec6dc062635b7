package eval

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a two-sided confidence interval.
type Interval struct {
	// Lo and Hi are the lower and upper bounds.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// Test is the outcome of DeLong's test of H0: AUROC1 = AUROC2, two-sided.
type Test struct {
	// AUROC1 and AUROC2 are the two estimates being compared.
	AUROC1 float64 `json:"auroc1"`
	AUROC2 float64 `json:"auroc2"`
	// Diff is AUROC1 - AUROC2.
	Diff float64 `json:"diff"`
	// SE is DeLong's standard error of Diff.
	SE float64 `json:"se"`
	// Z is Diff/SE. When SE is 0, Z is 0 if Diff is 0 (pROC's convention)
	// and ±Inf otherwise.
	Z float64 `json:"z"`
	// P is the two-sided normal p-value 2*Phi(-|Z|).
	P float64 `json:"p"`
	// DF and PStudent are set by the unpaired tests only: the
	// Welch-Satterthwaite degrees of freedom and the two-sided Student-t
	// p-value that R's pROC reports for unpaired DeLong tests. Both are zero
	// for paired tests.
	DF       float64 `json:"df,omitempty"`
	PStudent float64 `json:"p_student,omitempty"`
}

// CI returns the normal-approximation interval Diff ± z*SE at level, as
// pROC's roc.test reports for paired DeLong tests.
func (t Test) CI(level float64) Interval {
	z := normalQuantile(1 - (1-level)/2)
	return Interval{Lo: t.Diff - z*t.SE, Hi: t.Diff + z*t.SE}
}

// newTest fills Z and P from the estimates and the variance of the
// difference.
func newTest(a1, a2, variance float64) Test {
	t := Test{AUROC1: a1, AUROC2: a2, Diff: a1 - a2, SE: math.Sqrt(math.Max(variance, 0))}
	switch {
	case t.SE > 0:
		t.Z = t.Diff / t.SE
	case t.Diff == 0:
		t.Z = 0
	default:
		t.Z = math.Copysign(math.Inf(1), t.Diff)
	}
	t.P = twoSidedP(t.Z)
	return t
}

// setStudent adds pROC's unpaired Student-t variant: the degrees of freedom
// (v1+v2)^2 / (v1^2/(n1-1) + v2^2/(n2-1)) for variances v and row counts n.
func (t *Test) setStudent(v1, v2 float64, n1, n2 int) {
	den := v1*v1/float64(n1-1) + v2*v2/float64(n2-1)
	if den == 0 {
		t.DF = math.Inf(1)
		t.PStudent = t.P
		return
	}
	t.DF = (v1 + v2) * (v1 + v2) / den
	t.PStudent = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: t.DF}.CDF(-math.Abs(t.Z))
}

// twoSidedP returns 2*Phi(-|z|).
func twoSidedP(z float64) float64 { return math.Erfc(math.Abs(z) / math.Sqrt2) }

// normalQuantile returns the standard normal quantile of p.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// influence returns the AUROC and each original row's DeLong influence:
// (placement - AUROC) / sqrt(k(k-1)), where k is the size of the row's
// class (m for positives, n for negatives), and 0 for a dropped row. The sum
// of products of two score vectors' influences over the rows equals DeLong's
// covariance S10/m + S01/n of their AUROCs. It needs m, n >= 2.
func (b *binary) influence(nrows int) (float64, []float64, error) {
	if err := b.check(); err != nil {
		return math.NaN(), nil, err
	}
	if b.m < 2 || b.n < 2 {
		return math.NaN(), nil, fmt.Errorf("DeLong variance needs 2 positives and 2 negatives, have %d and %d: %w", b.m, b.n, ErrTooFew)
	}
	auc, place := b.placements()
	phi := make([]float64, nrows)
	sm := math.Sqrt(float64(b.m) * float64(b.m-1))
	sn := math.Sqrt(float64(b.n) * float64(b.n-1))
	for k, r := range b.rows {
		if b.pos[k] {
			phi[r] = (place[k] - auc) / sm
		} else {
			phi[r] = (place[k] - auc) / sn
		}
	}
	return auc, phi, nil
}

// labelInfluence prepares one score vector and returns its influence.
func labelInfluence(scores []float64, labels []model.Label) (float64, []float64, error) {
	b, err := newBinary(scores, labels)
	if err != nil {
		return math.NaN(), nil, err
	}
	return b.influence(len(labels))
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// DeLongVariance returns the AUROC of scores against labels and DeLong's
// estimate of its variance, S10/m + S01/n with sample (m-1, n-1)
// denominators, as pROC's var(roc, method = "delong").
func DeLongVariance(scores []float64, labels []model.Label) (auc, variance float64, err error) {
	auc, phi, err := labelInfluence(scores, labels)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	return auc, dot(phi, phi), nil
}

// DeLongCI returns the AUROC and its DeLong confidence interval at level,
// AUROC ± z*sqrt(variance) clipped to [0, 1], as pROC's
// ci.auc(method = "delong").
func DeLongCI(scores []float64, labels []model.Label, level float64) (float64, Interval, error) {
	auc, v, err := DeLongVariance(scores, labels)
	if err != nil {
		return auc, Interval{math.NaN(), math.NaN()}, err
	}
	return auc, clipCI(auc, v, level), nil
}

func clipCI(est, variance, level float64) Interval {
	h := normalQuantile(1-(1-level)/2) * math.Sqrt(variance)
	return Interval{Lo: math.Max(est-h, 0), Hi: math.Min(est+h, 1)}
}

// DeLongCovariance returns the AUROCs of k score vectors on the same rows
// and their k x k DeLong covariance matrix (Sun & Xu 2014, eq. 2-3).
func DeLongCovariance(labels []model.Label, scores ...[]float64) ([]float64, [][]float64, error) {
	aucs := make([]float64, len(scores))
	phis := make([][]float64, len(scores))
	for a, s := range scores {
		var err error
		if aucs[a], phis[a], err = labelInfluence(s, labels); err != nil {
			return nil, nil, fmt.Errorf("score %d: %w", a, err)
		}
	}
	cov := make([][]float64, len(scores))
	for a := range cov {
		cov[a] = make([]float64, len(scores))
		for b := range cov[a] {
			cov[a][b] = dot(phis[a], phis[b])
		}
	}
	return aucs, cov, nil
}

// DeLongPaired compares the AUROCs of two score vectors on the same rows
// (DeLong et al. 1988): Z = (A1 - A2) / sqrt(V1 + V2 - 2 C12). It matches
// pROC's roc.test(paired = TRUE, method = "delong").
func DeLongPaired(a, b []float64, labels []model.Label) (Test, error) {
	if len(a) != len(b) {
		return Test{}, fmt.Errorf("paired scores: %d and %d rows: %w", len(a), len(b), ErrLength)
	}
	a1, pa, err := labelInfluence(a, labels)
	if err != nil {
		return Test{}, fmt.Errorf("first scores: %w", err)
	}
	a2, pb, err := labelInfluence(b, labels)
	if err != nil {
		return Test{}, fmt.Errorf("second scores: %w", err)
	}
	var v float64
	for i := range pa {
		d := pa[i] - pb[i]
		v += d * d
	}
	return newTest(a1, a2, v), nil
}

// DeLongUnpaired compares the AUROCs of two independent test sets:
// Z = (A1 - A2) / sqrt(V1 + V2), with the normal p-value in P and pROC's
// Student-t variant (roc.test(paired = FALSE)) in DF and PStudent.
func DeLongUnpaired(a []float64, la []model.Label, b []float64, lb []model.Label) (Test, error) {
	a1, v1, err := DeLongVariance(a, la)
	if err != nil {
		return Test{}, fmt.Errorf("first set: %w", err)
	}
	a2, v2, err := DeLongVariance(b, lb)
	if err != nil {
		return Test{}, fmt.Errorf("second set: %w", err)
	}
	t := newTest(a1, a2, v1+v2)
	t.setStudent(v1, v2, countKept(la), countKept(lb))
	return t, nil
}

// countKept counts rows with a 0/1 label.
func countKept(ls []model.Label) int {
	n := 0
	for _, l := range ls {
		if l == model.LabelPositive || l == model.LabelNegative {
			n++
		}
	}
	return n
}
