package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

const (
	P = model.LabelPositive
	N = model.LabelNegative
	U = model.LabelUncertain
	B = model.LabelBlank
)

func TestAUROCCases(t *testing.T) {
	tests := []struct {
		name   string
		s      []float64
		y      []model.Label
		want   float64
		wantEr error
	}{
		{"perfect", []float64{0.9, 0.8, 0.1, 0.2}, []model.Label{P, P, N, N}, 1, nil},
		{"reversed", []float64{0.1, 0.2, 0.9, 0.8}, []model.Label{P, P, N, N}, 0, nil},
		{"all tied", []float64{0.5, 0.5, 0.5}, []model.Label{P, N, N}, 0.5, nil},
		{"one tie pair", []float64{0.5, 0.5, 0.1}, []model.Label{P, N, N}, 0.75, nil},
		{"uncertain and blank dropped", []float64{0.9, 0.0, 0.1, 1.0, 0.2}, []model.Label{P, U, N, B, N}, 1, nil},
		{"m1n1", []float64{0.3, 0.7}, []model.Label{P, N}, 0, nil},
		{"n=1", []float64{0.3}, []model.Label{P}, math.NaN(), ErrOneClass},
		{"one class", []float64{0.3, 0.4}, []model.Label{N, N}, math.NaN(), ErrOneClass},
		{"only uncertain", []float64{0.3, 0.4}, []model.Label{U, B}, math.NaN(), ErrEmpty},
		{"empty", nil, nil, math.NaN(), ErrEmpty},
		{"NaN score", []float64{math.NaN(), 0.4}, []model.Label{P, N}, math.NaN(), ErrNonFinite},
		{"NaN on a dropped row is ignored", []float64{math.NaN(), 0.4, 0.5}, []model.Label{U, N, P}, 1, nil},
		{"Inf score", []float64{math.Inf(1), 0.4}, []model.Label{P, N}, math.NaN(), ErrNonFinite},
		{"bad label", []float64{0.1, 0.4}, []model.Label{P, 7}, math.NaN(), ErrLabel},
		{"length mismatch", []float64{0.1}, []model.Label{P, N}, math.NaN(), ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AUROC(tc.s, tc.y)
			if !errors.Is(err, tc.wantEr) {
				t.Fatalf("err = %v, want %v", err, tc.wantEr)
			}
			if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Fatalf("AUROC = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAUROCMatchesBruteForce compares the sorted pass with the O(mn)
// double loop on random data with and without ties.
func TestAUROCMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 2 + r.IntN(80)
		y := simLabels(r, n, 0.4, 0.2)
		s := simScores(r, y, r.Float64()*2-0.5, trial%3)
		want := bruteAUC(s, y)
		got, err := AUROC(s, y)
		if math.IsNaN(want) {
			if err == nil {
				t.Fatalf("trial %d: one-class data gave %v without error", trial, got)
			}
			continue
		}
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUROC = %v, %v; brute force %v", trial, got, err, want)
		}
	}
}

// TestAUROCNegation checks AUROC(s) = 1 - AUROC(-s), ties included.
func TestAUROCNegation(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 100 {
		y := simLabels(r, 5+r.IntN(200), 0.3, 0.1)
		s := simScores(r, y, 1, trial%2)
		neg := make([]float64, len(s))
		for i, v := range s {
			neg[i] = -v
		}
		a, err1 := AUROC(s, y)
		b, err2 := AUROC(neg, y)
		if err1 != nil || err2 != nil {
			continue
		}
		if math.Abs(a-(1-b)) > 1e-12 {
			t.Fatalf("trial %d: AUROC(s) = %v, 1 - AUROC(-s) = %v", trial, a, 1-b)
		}
	}
}

func TestMacroAUROC(t *testing.T) {
	ts := &TestSet{
		Names: []string{"both", "one class", "all uncertain"},
		Labels: [][]model.Label{
			{P, N, P, N, U},
			{P, P, U, P, B},
			{U, U, B, B, U},
		},
	}
	s := Scores{
		{0.9, 0.1, 0.4, 0.6, 0.5},
		{0.1, 0.2, 0.3, 0.4, 0.5},
		{0.1, 0.2, 0.3, 0.4, 0.5},
	}
	m, err := MacroAUROC(ts, s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Included != 1 || m.Mean != 0.75 {
		t.Fatalf("macro = %v over %d labels, want 0.75 over 1", m.Mean, m.Included)
	}
	want := []LabelAUROC{
		{Name: "both", AUROC: 0.75, Positives: 2, Negatives: 2, Dropped: 1, Included: true},
		{Name: "one class", Positives: 3, Negatives: 0, Dropped: 2},
		{Name: "all uncertain", Dropped: 5},
	}
	for j, w := range want {
		g := m.Labels[j]
		if g.Name != w.Name || g.Positives != w.Positives || g.Negatives != w.Negatives || g.Dropped != w.Dropped || g.Included != w.Included {
			t.Errorf("label %d = %+v, want %+v", j, g, w)
		}
		if w.Included != !math.IsNaN(g.AUROC) || (w.Included && g.AUROC != w.AUROC) {
			t.Errorf("label %d AUROC = %v", j, g.AUROC)
		}
	}
	if _, err := MacroAUROC(&TestSet{Names: ts.Names[1:], Labels: ts.Labels[1:]}, s[1:]); !errors.Is(err, ErrNoLabels) {
		t.Fatalf("no two-class label: err = %v, want ErrNoLabels", err)
	}
	if _, err := MacroAUROC(ts, s[:2]); !errors.Is(err, ErrLength) {
		t.Fatalf("missing score column: err = %v, want ErrLength", err)
	}
}

func TestNewTestSetAndScoreColumns(t *testing.T) {
	rows := make([][model.NumLabels]model.Label, 3)
	probs := make([][model.NumLabels]float32, 3)
	for i := range rows {
		for j := range rows[i] {
			rows[i][j] = model.Label(int8((i + j) % 2))
			probs[i][j] = float32(i*100 + j)
		}
	}
	ts := NewTestSet(rows, nil)
	sc, err := ScoreColumns(probs)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Validate(); err != nil {
		t.Fatal(err)
	}
	if ts.Len() != 3 || len(sc) != model.NumLabels || ts.Labels[5][2] != rows[2][5] || sc[5][2] != 205 {
		t.Fatalf("transpose wrong: len %d, label %v, score %v", ts.Len(), ts.Labels[5][2], sc[5][2])
	}
	if _, err := ScoreColumns([][]float32{{1, 2}, {3}}); !errors.Is(err, ErrLength) {
		t.Fatalf("ragged rows: err = %v", err)
	}
}
