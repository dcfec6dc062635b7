package classifier

import "github.com/synthfed/synthfed/model"

// Faithful returns the rows of a synthetic set whose conditioning labels a
// real-trained classifier does not contradict: a row is dropped when a
// label it was conditioned positive on scores under threshold t, or one it
// was conditioned negative on scores over 1-t (uncertain and blank labels
// never count). labels and probs are per row; the result lists kept rows
// in order.
func Faithful(labels [][model.NumLabels]model.Label, probs [][model.NumLabels]float32, t float64) []int {
	keep := make([]int, 0, len(labels))
	for i, l := range labels {
		if !contradicts(l, probs[i], t) {
			keep = append(keep, i)
		}
	}
	return keep
}

func contradicts(labels [model.NumLabels]model.Label, p [model.NumLabels]float32, t float64) bool {
	for j, l := range labels {
		switch {
		case l == model.LabelPositive && float64(p[j]) < t:
			return true
		case l == model.LabelNegative && float64(p[j]) > 1-t:
			return true
		}
	}
	return false
}
