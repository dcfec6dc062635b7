package classifier

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// pairAUROC is the definition: the share of (positive, negative) pairs the
// scores order correctly, ties counting half.
func pairAUROC(s []float32, pos []bool) float64 {
	var num, den float64
	for i := range s {
		for j := range s {
			if pos[i] && !pos[j] {
				den++
				switch {
				case s[i] > s[j]:
					num++
				case s[i] == s[j]:
					num += 0.5
				}
			}
		}
	}
	return num / den
}

func TestAUROC(t *testing.T) {
	cases := []struct {
		s    []float32
		pos  []bool
		want float64
	}{
		{[]float32{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{[]float32{0.5, 0.5}, []bool{true, false}, 0.5},
		{[]float32{0.9, 0.1}, []bool{true, false}, 1},
	}
	for _, tc := range cases {
		if got, ok := AUROC(tc.s, tc.pos); !ok || got != tc.want {
			t.Errorf("AUROC(%v,%v) = %v, want %v", tc.s, tc.pos, got, tc.want)
		}
	}
	if _, ok := AUROC([]float32{1, 2}, []bool{true, true}); ok {
		t.Error("one class accepted")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		n := 2 + r.IntN(40)
		s := make([]float32, n)
		pos := make([]bool, n)
		for i := range s {
			s[i] = float32(r.IntN(6)) // many ties
			pos[i] = r.IntN(2) == 0
		}
		pos[0], pos[1] = true, false
		got, _ := AUROC(s, pos)
		if want := pairAUROC(s, pos); math.Abs(got-want) > 1e-12 {
			t.Fatalf("AUROC %v, pairwise %v", got, want)
		}
	}
}

func TestMacroAUROCDropsUncertain(t *testing.T) {
	probs := make([][model.NumLabels]float32, 4)
	labels := make([][model.NumLabels]model.Label, 4)
	for i := range labels {
		for j := range model.NumLabels {
			labels[i][j] = model.LabelNegative
		}
	}
	// Label 0: perfect once the uncertain row (scored highest) is dropped.
	probs[0][0], probs[1][0], probs[2][0], probs[3][0] = 0.9, 0.8, 0.1, 0.99
	labels[0][0], labels[1][0], labels[3][0] = model.LabelPositive, model.LabelPositive, model.LabelUncertain
	// Label 1: blank counts as negative; the blank row outscores a positive.
	probs[0][1], probs[1][1], probs[2][1] = 0.6, 0.2, 0.7
	labels[0][1], labels[2][1] = model.LabelPositive, model.LabelBlank
	// (0.6 vs 0.2 correct, 0.6 vs 0.7 wrong, 0.6 vs 0 correct) = 2/3.
	want := (1 + 2.0/3) / 2
	if got := MacroAUROC(probs, labels); math.Abs(got-want) > 1e-12 {
		t.Fatalf("macro %v, want %v", got, want)
	}
}
