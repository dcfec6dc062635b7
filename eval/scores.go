package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/synthfed/synthfed/model"
)

// ScoreSummary is one score column's AUROC with its bootstrap interval.
type ScoreSummary struct {
	// Name is the column's name.
	Name string `json:"name"`
	// AUROC is the area under the ROC curve.
	AUROC float64 `json:"auroc"`
	// CILo and CIHi bound the bootstrap percentile interval.
	CILo float64 `json:"ci_lo"`
	CIHi float64 `json:"ci_hi"`
	// Valid counts the resamples with both classes.
	Valid int `json:"valid_resamples"`
}

// PairSummary is DeLong's paired test of two score columns.
type PairSummary struct {
	// A and B name the columns; Diff is AUROC(A) - AUROC(B).
	A    string  `json:"a"`
	B    string  `json:"b"`
	Diff float64 `json:"diff"`
	// Z and P are DeLong's statistic and two-sided p-value; Z is null in
	// JSON when infinite (zero variance with a non-zero difference).
	Z *float64 `json:"z"`
	P float64  `json:"p"`
	// CILo and CIHi bound the bootstrap percentile interval of Diff.
	CILo float64 `json:"ci_lo"`
	CIHi float64 `json:"ci_hi"`
}

// ScoreAnalysis is the result of `synthfed eval auroc`.
type ScoreAnalysis struct {
	// File is the scores file.
	File string `json:"file"`
	// Rows, Positives, Negatives and Patients count the input.
	Rows      int `json:"rows"`
	Positives int `json:"positives"`
	Negatives int `json:"negatives"`
	Patients  int `json:"patients"`
	// Bootstrap is the resampling configuration.
	Bootstrap BootstrapConfig `json:"bootstrap"`
	// Scores holds every score column.
	Scores []ScoreSummary `json:"scores"`
	// Pairs holds every pair of score columns in file order.
	Pairs []PairSummary `json:"pairs"`
}

// AnalyseScores computes each column's AUROC with a patient-level bootstrap
// interval and DeLong's paired test for every pair of columns.
func AnalyseScores(ctx context.Context, t *ScoreTable, cfg BootstrapConfig) (*ScoreAnalysis, error) {
	for k, col := range t.Scores {
		if _, err := AUROC(col, t.Labels); err != nil {
			return nil, fmt.Errorf("%s: column %q: %w", t.File, t.Columns[k], err)
		}
	}
	ts := BinaryTestSet("label", t.Labels, t.Patients)
	sets := make([]Scores, len(t.Scores))
	for k, col := range t.Scores {
		sets[k] = Scores{col}
	}
	boot, err := Bootstrap(ctx, ts, sets, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.File, err)
	}
	a := &ScoreAnalysis{File: t.File, Rows: len(t.Labels), Patients: boot.Clusters, Bootstrap: cfg}
	for _, l := range t.Labels {
		if l == model.LabelPositive {
			a.Positives++
		}
	}
	a.Negatives = a.Rows - a.Positives
	for k, name := range t.Columns {
		ci := boot.Labels[k][0]
		if ci.Valid == 0 {
			return nil, fmt.Errorf("%s: column %q: no bootstrap resample drew both classes: %w", t.File, name, ErrTooFew)
		}
		a.Scores = append(a.Scores, ScoreSummary{Name: name, AUROC: ci.Estimate, CILo: ci.Lo, CIHi: ci.Hi, Valid: ci.Valid})
	}
	for _, d := range boot.Diffs {
		test, err := DeLongPaired(t.Scores[d.A], t.Scores[d.B], t.Labels)
		if err != nil {
			return nil, fmt.Errorf("%s: DeLong %s vs %s: %w", t.File, t.Columns[d.A], t.Columns[d.B], err)
		}
		ps := PairSummary{A: t.Columns[d.A], B: t.Columns[d.B], Diff: test.Diff, P: test.P, CILo: d.CI.Lo, CIHi: d.CI.Hi}
		if !math.IsInf(test.Z, 0) {
			z := test.Z
			ps.Z = &z
		}
		a.Pairs = append(a.Pairs, ps)
	}
	return a, nil
}

// WriteJSON writes the analysis as indented JSON.
func (a *ScoreAnalysis) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// WriteText writes the analysis as aligned text tables.
func (a *ScoreAnalysis) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "scores %s: %d rows (%d positive, %d negative), %d patients\n", a.File, a.Rows, a.Positives, a.Negatives, a.Patients)
	fmt.Fprintf(tw, "bootstrap: %d patient resamples, seed %d, %g%% percentile intervals\n\n", a.Bootstrap.Reps, a.Bootstrap.Seed, 100*a.Bootstrap.Level)
	fmt.Fprintf(tw, "score\tAUROC\t%g%% CI\n", 100*a.Bootstrap.Level)
	for _, s := range a.Scores {
		fmt.Fprintf(tw, "%s\t%.4f\t[%.4f, %.4f]\n", s.Name, s.AUROC, s.CILo, s.CIHi)
	}
	if len(a.Pairs) > 0 {
		fmt.Fprintf(tw, "\npair (DeLong, paired)\tdiff\t%g%% CI\tz\tp\n", 100*a.Bootstrap.Level)
		for _, p := range a.Pairs {
			z := "inf"
			if p.Z != nil {
				z = fmt.Sprintf("%.3f", *p.Z)
			}
			fmt.Fprintf(tw, "%s - %s\t%+.4f\t[%+.4f, %+.4f]\t%s\t%.4g\n", p.A, p.B, p.Diff, p.CILo, p.CIHi, z, p.P)
		}
	}
	return tw.Flush()
}
