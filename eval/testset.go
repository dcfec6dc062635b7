package eval

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// TestSet is the ground truth of a multi-label test set, stored label by
// label: Labels[j][i] is the value of label j on row i. Rows whose value is
// model.LabelUncertain or model.LabelBlank are dropped for that label only.
type TestSet struct {
	// Names holds one name per label, in the order of Labels.
	Names []string
	// Labels holds one column of row values per label.
	Labels [][]model.Label
	// Patients holds each row's patient ID, for patient-level resampling.
	// It may be nil (every row is its own patient); an empty ID also makes
	// the row its own patient.
	Patients []string
}

// Scores holds a model's scores label by label: Scores[j][i] is the score of
// label j on row i, in the same layout as TestSet.Labels.
type Scores [][]float64

// NewTestSet builds a TestSet of the 14 CheXpert labels from row-major label
// vectors (the layout of model.ImageSet.Labels). patients may be nil.
func NewTestSet(rows [][model.NumLabels]model.Label, patients []string) *TestSet {
	ts := &TestSet{Names: model.LabelNames[:], Labels: make([][]model.Label, model.NumLabels), Patients: patients}
	for j := range ts.Labels {
		col := make([]model.Label, len(rows))
		for i := range rows {
			col[i] = rows[i][j]
		}
		ts.Labels[j] = col
	}
	return ts
}

// TestSetFromImageSet builds the TestSet of an image set's labels and
// patients.
func TestSetFromImageSet(s *model.ImageSet) *TestSet {
	return NewTestSet(s.Labels, s.PatientIDs)
}

// BinaryTestSet builds a one-label TestSet named name from one column.
func BinaryTestSet(name string, labels []model.Label, patients []string) *TestSet {
	return &TestSet{Names: []string{name}, Labels: [][]model.Label{labels}, Patients: patients}
}

// ScoreColumns transposes row-major classifier outputs (one vector of
// per-label probabilities per row, as slices or as arrays of
// model.NumLabels) into Scores. Rows of different lengths are an error.
func ScoreColumns[R ~[]float32 | ~[model.NumLabels]float32](rows []R) (Scores, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("score rows: %w", ErrEmpty)
	}
	out := make(Scores, len(rows[0]))
	for j := range out {
		out[j] = make([]float64, len(rows))
	}
	for i := range rows {
		if len(rows[i]) != len(out) {
			return nil, fmt.Errorf("score row %d has %d values, want %d: %w", i, len(rows[i]), len(out), ErrLength)
		}
		for j := range out {
			out[j][i] = float64(rows[i][j])
		}
	}
	return out, nil
}

// Len returns the number of rows.
func (ts *TestSet) Len() int {
	if len(ts.Labels) == 0 {
		return 0
	}
	return len(ts.Labels[0])
}

// Validate checks that names, label columns and patients agree in length and
// that every label value is one of the four model.Label states.
func (ts *TestSet) Validate() error {
	if len(ts.Labels) == 0 {
		return fmt.Errorf("test set: no labels: %w", ErrEmpty)
	}
	if len(ts.Names) != len(ts.Labels) {
		return fmt.Errorf("test set: %d names for %d labels: %w", len(ts.Names), len(ts.Labels), ErrLength)
	}
	n := ts.Len()
	for j, col := range ts.Labels {
		if len(col) != n {
			return fmt.Errorf("test set: label %q has %d rows, want %d: %w", ts.Names[j], len(col), n, ErrLength)
		}
		for i, v := range col {
			if !validLabel(v) {
				return fmt.Errorf("test set: label %q row %d: value %d: %w", ts.Names[j], i, v, ErrLabel)
			}
		}
	}
	if ts.Patients != nil && len(ts.Patients) != n {
		return fmt.Errorf("test set: %d patient IDs for %d rows: %w", len(ts.Patients), n, ErrLength)
	}
	return nil
}

// checkScores validates that s matches the test set's shape.
func (ts *TestSet) checkScores(s Scores) error {
	if len(s) != len(ts.Labels) {
		return fmt.Errorf("scores: %d label columns for %d labels: %w", len(s), len(ts.Labels), ErrLength)
	}
	for j, col := range s {
		if len(col) != ts.Len() {
			return fmt.Errorf("scores: label %q has %d rows, want %d: %w", ts.Names[j], len(col), ts.Len(), ErrLength)
		}
	}
	return nil
}

func validLabel(v model.Label) bool {
	switch v {
	case model.LabelNegative, model.LabelPositive, model.LabelUncertain, model.LabelBlank:
		return true
	}
	return false
}
