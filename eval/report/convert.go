package report

import (
	"github.com/synthfed/synthfed/eval"
)

// MemorisationFrom summarises an eval.MemorisationResult for results.json,
// listing at most maxListed flagged images (0: all), each in the space with
// the smaller distance relative to that space's threshold.
func MemorisationFrom(model string, r *eval.MemorisationResult, maxListed int) Memorisation {
	m := Memorisation{Model: model, Synthetic: r.Synthetic, Training: r.Training, FlaggedTotal: len(r.Flagged)}
	m.Spaces = append(m.Spaces, spaceFrom(r.Pixel))
	if r.Feature != nil {
		m.Spaces = append(m.Spaces, spaceFrom(*r.Feature))
	}
	for _, i := range r.Flagged {
		if maxListed > 0 && len(m.Flagged) >= maxListed {
			break
		}
		n := r.Nearest[i]
		f := Flagged{Synthetic: i, Training: n.PixelIndex, Space: "pixel", Distance: n.PixelDistance}
		if !n.PixelFlag {
			f = Flagged{Synthetic: i, Training: n.FeatureIndex, Space: "feature", Distance: n.FeatureDistance}
		}
		m.Flagged = append(m.Flagged, f)
	}
	return m
}

func spaceFrom(s eval.SpaceResult) Space {
	return Space{Space: s.Space, Percentile: s.Percentile, Threshold: s.Threshold,
		MedianRealNN: s.MedianRealNN, MedianSyntheticNN: s.MedianSyntheticNN, Flagged: s.Flagged}
}

// QualityFrom gathers eval's quality metrics for results.json; any of pr,
// fid and div may be nil, and a NaN fd is left out.
func QualityFrom(model string, fd float64, pr *eval.PR, fid *eval.FidelityResult, div *eval.DiversityResult) Quality {
	q := Quality{Model: model, FD: F(fd)}
	if pr != nil {
		q.Precision, q.Recall, q.K = F(pr.Precision), F(pr.Recall), pr.K
	}
	if fid != nil {
		q.FidelityAUROC, q.FidelityAccuracy = F(fid.MacroAUROC), F(fid.MacroAccuracy)
	}
	if div != nil {
		q.DiversityWithin, q.DiversityRatio = F(div.Within), F(div.Ratio)
	}
	return q
}

// LabelRowsFrom builds a per-label table body from a paired macro DeLong
// comparison of a classifier (first) against its baseline (second), with
// the label counts of macro.
func LabelRowsFrom(test *eval.MacroTest, macro *eval.Macro) []LabelRow {
	rows := make([]LabelRow, len(test.Labels))
	for j, lt := range test.Labels {
		r := LabelRow{Name: lt.Name}
		if macro != nil && j < len(macro.Labels) {
			r.AUROC = F(macro.Labels[j].AUROC)
			r.Positives, r.Negatives = macro.Labels[j].Positives, macro.Labels[j].Negatives
		}
		if lt.Tested {
			r.AUROC, r.Baseline, r.P = F(lt.Test.AUROC1), F(lt.Test.AUROC2), F(lt.Test.P)
		}
		rows[j] = r
	}
	return rows
}

// CIFrom converts a bootstrap interval, or returns nil when it is undefined.
func CIFrom(ci eval.CI) *CI {
	if F(ci.Lo) == nil || F(ci.Hi) == nil {
		return nil
	}
	return &CI{Lo: ci.Lo, Hi: ci.Hi}
}
