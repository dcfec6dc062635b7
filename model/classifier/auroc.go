package classifier

import (
	"sort"

	"github.com/synthfed/synthfed/model"
)

// AUROC returns the area under the ROC curve of scores against binary
// truths, by the rank-sum (Mann-Whitney) formula with ties counted half,
// and false when either class is empty. It is a small local copy for
// training-time monitoring; eval has the study's full metrics.
func AUROC(scores []float32, positive []bool) (float64, bool) {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum float64
	var nPos int
	for lo := 0; lo < len(idx); {
		hi := lo
		for hi < len(idx) && scores[idx[hi]] == scores[idx[lo]] {
			hi++
		}
		mid := float64(lo+hi+1) / 2 // average 1-based rank of the tie block
		for _, i := range idx[lo:hi] {
			if positive[i] {
				rankSum += mid
				nPos++
			}
		}
		lo = hi
	}
	nNeg := len(scores) - nPos
	if nPos == 0 || nNeg == 0 {
		return 0, false
	}
	return (rankSum - float64(nPos)*float64(nPos+1)/2) / (float64(nPos) * float64(nNeg)), true
}

// MacroAUROC averages the per-label AUROC over labels that have both
// classes, dropping rows whose label is uncertain and counting blanks as
// negative, as the study's evaluation does. It returns 0 when no label
// qualifies.
func MacroAUROC(probs [][model.NumLabels]float32, labels [][model.NumLabels]model.Label) float64 {
	var sum float64
	var n int
	for j := range model.NumLabels {
		var s []float32
		var pos []bool
		for i, l := range labels {
			if l[j] == model.LabelUncertain {
				continue
			}
			s = append(s, probs[i][j])
			pos = append(pos, l[j] == model.LabelPositive)
		}
		if a, ok := AUROC(s, pos); ok {
			sum += a
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
