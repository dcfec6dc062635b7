package eval

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
)

// binary is one label's rows that carry a 0/1 value, sorted by score.
type binary struct {
	// rows holds the original row index of each kept row, in ascending
	// score order.
	rows []int
	// scores and pos hold each kept row's score and class, in that order.
	scores []float64
	pos    []bool
	// groups holds the start of each run of tied scores in sorted order,
	// with a final entry len(rows).
	groups []int
	// m and n count positives and negatives.
	m, n int
}

// newBinary keeps the rows of labels that are 0 or 1, rejecting unknown
// label values and non-finite scores of kept rows, and sorts them by score.
func newBinary(scores []float64, labels []model.Label) (*binary, error) {
	if len(scores) != len(labels) {
		return nil, fmt.Errorf("%d scores for %d labels: %w", len(scores), len(labels), ErrLength)
	}
	keys := make([]uint64, 0, len(scores))
	idx := make([]int32, 0, len(scores))
	for i, l := range labels {
		switch l {
		case model.LabelPositive, model.LabelNegative:
		case model.LabelUncertain, model.LabelBlank:
			continue
		default:
			return nil, fmt.Errorf("row %d: label value %d: %w", i, l, ErrLabel)
		}
		s := scores[i]
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("row %d: score %v: %w", i, s, ErrNonFinite)
		}
		keys = append(keys, orderKey(s))
		idx = append(idx, int32(i))
	}
	argsortKeys(keys, idx)
	k := len(keys)
	b := &binary{rows: make([]int, k), scores: make([]float64, k), pos: make([]bool, k), groups: make([]int, 0, 64)}
	for j, i := range idx {
		b.rows[j] = int(i)
		b.scores[j] = scores[i]
		b.pos[j] = labels[i] == model.LabelPositive
		if b.pos[j] {
			b.m++
		}
		if j == 0 || keys[j] != keys[j-1] {
			b.groups = append(b.groups, j)
		}
	}
	b.n = k - b.m
	b.groups = append(b.groups, k)
	return b, nil
}

// check reports an empty or one-class label.
func (b *binary) check() error {
	switch {
	case b.m+b.n == 0:
		return fmt.Errorf("no row with a 0/1 label: %w", ErrEmpty)
	case b.m == 0 || b.n == 0:
		return fmt.Errorf("%d positives, %d negatives: %w", b.m, b.n, ErrOneClass)
	}
	return nil
}

// placements returns the AUROC and, for every kept row in sorted order, its
// DeLong structural component (placement value): for a positive, the share
// of negatives scored below it plus half the share tied with it (V10); for a
// negative, the share of positives scored above it plus half the share tied
// (V01). This is Sun & Xu's midrank form, V10 = (Tz - Tx)/n and
// V01 = 1 - (Tz - Ty)/m, evaluated in one pass over the sorted scores.
func (b *binary) placements() (float64, []float64) {
	place := make([]float64, len(b.rows))
	negBelow, posBelow := 0, 0
	var sum float64
	for g := 0; g+1 < len(b.groups); g++ {
		lo, hi := b.groups[g], b.groups[g+1]
		p := 0
		for k := lo; k < hi; k++ {
			if b.pos[k] {
				p++
			}
		}
		q := hi - lo - p
		v10 := (float64(negBelow) + float64(q)/2) / float64(b.n)
		v01 := (float64(b.m-posBelow-p) + float64(p)/2) / float64(b.m)
		for k := lo; k < hi; k++ {
			if b.pos[k] {
				place[k] = v10
			} else {
				place[k] = v01
			}
		}
		sum += float64(p) * (float64(negBelow) + float64(q)/2)
		negBelow += q
		posBelow += p
	}
	return sum / (float64(b.m) * float64(b.n)), place
}

// AUROC returns the area under the ROC curve of scores against labels,
// dropping rows whose label is uncertain or blank. Ties count one half (the
// Mann-Whitney statistic, equal to the trapezoidal area of scikit-learn's
// roc_auc_score and pROC's auc). It fails with ErrOneClass when a class is
// missing, ErrNonFinite on a NaN or infinite score of a kept row and
// ErrLabel on a value outside the four label states.
func AUROC(scores []float64, labels []model.Label) (float64, error) {
	b, err := newBinary(scores, labels)
	if err != nil {
		return math.NaN(), err
	}
	if err := b.check(); err != nil {
		return math.NaN(), err
	}
	auc, _ := b.placements()
	return auc, nil
}

// LabelAUROC is one label's AUROC with the counts behind it.
type LabelAUROC struct {
	// Name is the label's name.
	Name string `json:"name"`
	// AUROC is NaN when the label is not Included.
	AUROC float64 `json:"auroc"`
	// Positives and Negatives count the rows with label 1 and 0.
	Positives int `json:"positives"`
	Negatives int `json:"negatives"`
	// Dropped counts rows with an uncertain or blank label.
	Dropped int `json:"dropped"`
	// Included is true when both classes are present, so that the label
	// enters the macro mean.
	Included bool `json:"included"`
}

// Macro is a macro-averaged AUROC with its per-label parts.
type Macro struct {
	// Labels holds every label of the test set, included or not.
	Labels []LabelAUROC `json:"labels"`
	// Mean is the mean AUROC over the included labels.
	Mean float64 `json:"mean"`
	// Included counts the labels in the mean.
	Included int `json:"included"`
}

// MacroAUROC returns each label's AUROC and their mean over the labels with
// both classes present, as the study scores a classifier. It fails with
// ErrNoLabels when no label has both classes, and on malformed input.
func MacroAUROC(ts *TestSet, s Scores) (*Macro, error) {
	if err := ts.Validate(); err != nil {
		return nil, err
	}
	if err := ts.checkScores(s); err != nil {
		return nil, err
	}
	out := &Macro{Labels: make([]LabelAUROC, len(ts.Labels))}
	var sum float64
	for j := range ts.Labels {
		b, err := newBinary(s[j], ts.Labels[j])
		if err != nil {
			return nil, fmt.Errorf("label %q: %w", ts.Names[j], err)
		}
		la := LabelAUROC{Name: ts.Names[j], AUROC: math.NaN(), Positives: b.m, Negatives: b.n, Dropped: ts.Len() - b.m - b.n}
		if b.check() == nil {
			la.AUROC, _ = b.placements()
			la.Included = true
			sum += la.AUROC
			out.Included++
		}
		out.Labels[j] = la
	}
	if out.Included == 0 {
		out.Mean = math.NaN()
		return out, fmt.Errorf("macro AUROC over %d labels: %w", len(ts.Labels), ErrNoLabels)
	}
	out.Mean = sum / float64(out.Included)
	return out, nil
}
