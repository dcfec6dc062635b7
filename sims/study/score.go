package study

import (
	"context"
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/model"
)

// Row is one row of an experiment before scoring: a site's classifier and
// the baseline its p-values compare against (nil for the baseline row).
type Row struct {
	Site     int
	Arm      string
	Level    int
	Model    *Model
	Baseline *Model
	// PerLabel asks for the per-label tables of this row.
	PerLabel bool
}

// Scorer scores classifiers on the sites' test sets: internally on the
// site's own and externally on the other sites' pooled.
type Scorer struct {
	sites []*Site
	boot  eval.BootstrapConfig
	tests [2][]*eval.TestSet // [internal, external][site]
	// summaries caches each arm summary by its models and baselines: an
	// arm shown in two experiments (E5 beside E1 and E3) is resampled once.
	summaries map[string]report.ArmSummary
}

// NewScorer prepares the internal and external test sets of every site.
func NewScorer(cfg Config, sites []*Site) *Scorer {
	sc := &Scorer{sites: sites, boot: eval.BootstrapConfig{Reps: cfg.Eval.BootstrapReps, Level: cfg.Eval.Level, Seed: cfg.Seeds.Bootstrap}}
	for s := range sites {
		sc.tests[0] = append(sc.tests[0], eval.TestSetFromImageSet(sites[s].Test))
		var labels [][model.NumLabels]model.Label
		var patients []string
		for j, o := range sites {
			if j != s {
				labels = append(labels, o.Test.Labels...)
				patients = append(patients, o.Test.PatientIDs...)
			}
		}
		sc.tests[1] = append(sc.tests[1], eval.NewTestSet(labels, patients))
	}
	return sc
}

// scores returns m's scores on site s's internal (scope 0) or external
// (scope 1) test set.
func (sc *Scorer) scores(m *Model, s, scope int) (eval.Scores, error) {
	var rows [][model.NumLabels]float32
	if scope == 0 {
		rows = m.Probs[s]
	} else {
		for j := range sc.sites {
			if j != s {
				rows = append(rows, m.Probs[j]...)
			}
		}
	}
	return eval.ScoreColumns(rows)
}

// Experiment scores rows into a report experiment: macro AUROC with
// bootstrap CIs (patients resampled, every model of a site on the same
// resamples), DeLong's paired p-value against the baseline, and per-label
// tables where asked.
func (sc *Scorer) Experiment(ctx context.Context, desc, baseline string, rows []Row) (*report.Experiment, error) {
	exp := &report.Experiment{Description: desc, Baseline: baseline}
	out := make([]report.Row, len(rows))
	for i, r := range rows {
		out[i] = report.Row{Site: sc.sites[r.Site].Name, Arm: r.Arm, LevelPct: r.Level}
	}
	for scope := range 2 {
		bySite := map[int][]int{}
		for i, r := range rows {
			bySite[r.Site] = append(bySite[r.Site], i)
		}
		for s := range sc.sites {
			idx, ok := bySite[s]
			if !ok {
				continue
			}
			if err := sc.scoreSite(ctx, rows, idx, s, scope, out, exp); err != nil {
				return nil, err
			}
		}
	}
	exp.Rows = out
	var err error
	if exp.Summary, err = sc.summarise(ctx, rows, out); err != nil {
		return nil, err
	}
	return exp, nil
}

// scoreSite scores the rows idx of site s on one scope.
func (sc *Scorer) scoreSite(ctx context.Context, rows []Row, idx []int, s, scope int, out []report.Row, exp *report.Experiment) error {
	ts := sc.tests[scope][s]
	sets := make([]eval.Scores, len(idx))
	for k, i := range idx {
		var err error
		if sets[k], err = sc.scores(rows[i].Model, s, scope); err != nil {
			return err
		}
	}
	boot, err := eval.Bootstrap(ctx, ts, sets, sc.boot)
	if undefined(err) {
		boot, err = nil, nil // too few test rows: no intervals
	}
	if err != nil {
		return fmt.Errorf("study: bootstrap %s: %w", sc.sites[s].Name, err)
	}
	for k, i := range idx {
		r := rows[i]
		mac, err := eval.MacroAUROC(ts, sets[k])
		if undefined(err) {
			continue // no label with both classes: the row stays empty
		}
		if err != nil {
			return fmt.Errorf("study: %s AUROC: %w", r.Model.Key, err)
		}
		var ci *report.CI
		if boot != nil {
			ci = report.CIFrom(boot.Macro[k])
		}
		var p *float64
		if r.Baseline != nil {
			p, err = sc.compare(ctx, r, s, scope, ts, sets[k], mac, exp)
			if err != nil {
				return err
			}
		}
		setScope(&out[i], scope, report.F(mac.Mean), ci, p)
	}
	return nil
}

// compare runs DeLong's paired test of row r against its baseline and
// adds the per-label table when the row asks for it.
func (sc *Scorer) compare(ctx context.Context, r Row, s, scope int, ts *eval.TestSet, a eval.Scores, mac *eval.Macro, exp *report.Experiment) (*float64, error) {
	b, err := sc.scores(r.Baseline, s, scope)
	if err != nil {
		return nil, err
	}
	test, err := eval.DeLongMacroPaired(ts, a, b)
	if undefined(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("study: DeLong %s vs %s: %w", r.Model.Key, r.Baseline.Key, err)
	}
	if r.PerLabel {
		lt := report.LabelTable{Site: sc.sites[s].Name, Arm: r.Arm, LevelPct: r.Level, Scope: []string{"internal", "external"}[scope],
			Labels: report.LabelRowsFrom(test, mac)}
		exp.PerLabel = append(exp.PerLabel, lt)
	}
	return report.F(test.Macro.P), nil
}

func setScope(r *report.Row, scope int, auc *float64, ci *report.CI, p *float64) {
	if scope == 0 {
		r.AUROCInternal, r.CIInternal = auc, ci
	} else {
		r.AUROCExternal, r.CIExternal = auc, ci
	}
	if p != nil {
		if r.PVsBaseline == nil {
			r.PVsBaseline = &report.PValues{}
		}
		if scope == 0 {
			r.PVsBaseline.Internal = p
		} else {
			r.PVsBaseline.External = p
		}
	}
}

// undefined reports an error that only says the statistic is undefined on
// this test set (a label with one class, too few rows), which leaves the
// value out instead of failing the run.
func undefined(err error) bool {
	return errors.Is(err, eval.ErrNoLabels) || errors.Is(err, eval.ErrOneClass) || errors.Is(err, eval.ErrTooFew) || errors.Is(err, eval.ErrEmpty)
}
