package eval

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
)

// FidelityLabel is one label's conditioning fidelity.
type FidelityLabel struct {
	// Name is the label's name.
	Name string `json:"name"`
	// AUROC of the real-trained classifier's probabilities against the
	// conditioned labels; NaN when a class is missing.
	AUROC float64 `json:"auroc"`
	// Accuracy is the share of rows whose thresholded prediction agrees
	// with the conditioned label; NaN when no row has a 0/1 label.
	Accuracy float64 `json:"accuracy"`
	// Positives and Negatives count the rows conditioned on 1 and 0.
	Positives int `json:"positives"`
	Negatives int `json:"negatives"`
}

// FidelityResult is the conditioning fidelity of a synthetic set.
type FidelityResult struct {
	// Labels holds every label.
	Labels []FidelityLabel `json:"labels"`
	// MacroAUROC is the mean AUROC over labels with both classes; NaN when
	// there is none.
	MacroAUROC float64 `json:"macro_auroc"`
	// MacroAccuracy is the mean accuracy over labels with a 0/1 row.
	MacroAccuracy float64 `json:"macro_accuracy"`
	// AUROCLabels and AccuracyLabels count the labels in each mean.
	AUROCLabels    int `json:"auroc_labels"`
	AccuracyLabels int `json:"accuracy_labels"`
	// Threshold is the probability cut used for accuracy.
	Threshold float64 `json:"threshold"`
}

// Fidelity scores how well synthetic images carry the labels they were
// conditioned on: conditioned holds the conditioning labels (uncertain and
// blank values are dropped per label, as in evaluation) and probs a
// classifier's probabilities on the synthetic images, where the classifier
// was trained on real data only. A probability >= threshold counts as a
// positive prediction.
func Fidelity(conditioned *TestSet, probs Scores, threshold float64) (*FidelityResult, error) {
	if err := conditioned.Validate(); err != nil {
		return nil, fmt.Errorf("fidelity: %w", err)
	}
	if err := conditioned.checkScores(probs); err != nil {
		return nil, fmt.Errorf("fidelity: %w", err)
	}
	out := &FidelityResult{Threshold: threshold, Labels: make([]FidelityLabel, len(probs))}
	var sumAUC, sumAcc float64
	for j, col := range probs {
		b, err := newBinary(col, conditioned.Labels[j])
		if err != nil {
			return nil, fmt.Errorf("fidelity: label %q: %w", conditioned.Names[j], err)
		}
		fl := FidelityLabel{Name: conditioned.Names[j], AUROC: math.NaN(), Accuracy: math.NaN(), Positives: b.m, Negatives: b.n}
		if b.check() == nil {
			fl.AUROC, _ = b.placements()
			sumAUC += fl.AUROC
			out.AUROCLabels++
		}
		if b.m+b.n > 0 {
			fl.Accuracy = accuracy(col, conditioned.Labels[j], threshold)
			sumAcc += fl.Accuracy
			out.AccuracyLabels++
		}
		out.Labels[j] = fl
	}
	if out.AccuracyLabels == 0 {
		return out, fmt.Errorf("fidelity over %d labels: no conditioned 0/1 label: %w", len(probs), ErrEmpty)
	}
	out.MacroAUROC = math.NaN()
	if out.AUROCLabels > 0 {
		out.MacroAUROC = sumAUC / float64(out.AUROCLabels)
	}
	out.MacroAccuracy = sumAcc / float64(out.AccuracyLabels)
	return out, nil
}

// accuracy is the agreement of thresholded scores with the 0/1 labels.
func accuracy(scores []float64, labels []model.Label, threshold float64) float64 {
	right, n := 0, 0
	for i, l := range labels {
		if l != model.LabelPositive && l != model.LabelNegative {
			continue
		}
		n++
		if (scores[i] >= threshold) == (l == model.LabelPositive) {
			right++
		}
	}
	return float64(right) / float64(n)
}
