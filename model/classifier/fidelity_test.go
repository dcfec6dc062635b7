package classifier

import (
	"testing"

	"github.com/synthfed/synthfed/model"
)

// TestFaithful checks the fidelity rule row by row at threshold 0.1.
func TestFaithful(t *testing.T) {
	var labels [model.NumLabels]model.Label
	for i := range labels {
		labels[i] = model.LabelBlank
	}
	labels[2], labels[5], labels[9] = model.LabelPositive, model.LabelNegative, model.LabelUncertain
	p := func(pos, neg, unc float32) [model.NumLabels]float32 {
		var out [model.NumLabels]float32
		out[2], out[5], out[9] = pos, neg, unc
		return out
	}
	cases := []struct {
		name  string
		probs [model.NumLabels]float32
		want  bool
	}{
		{"agrees", p(0.8, 0.2, 0.5), false},
		{"positive scored low", p(0.05, 0.2, 0.5), true},
		{"negative scored high", p(0.8, 0.95, 0.5), true},
		{"uncertain ignored", p(0.8, 0.2, 0.99), false},
		{"at the threshold", p(0.1, 0.9, 0.5), false},
	}
	for _, tc := range cases {
		if got := contradicts(labels, tc.probs, 0.1); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
		kept := Faithful([][model.NumLabels]model.Label{labels}, [][model.NumLabels]float32{tc.probs}, 0.1)
		if dropped := len(kept) == 0; dropped != tc.want {
			t.Errorf("%s: Faithful kept %v", tc.name, kept)
		}
	}
}
