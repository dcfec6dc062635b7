package study

import (
	"context"
	"fmt"

	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/eval/report"
)

// summarise averages each arm and level of an experiment over its sites:
// the AUROC change against the baseline, internal and external, with CIs
// from one stratified bootstrap per arm and level (every site's test
// patients resampled on their own, each site's model and baseline on the
// same resamples), and the sites whose DeLong test rose or fell at p <
// 0.05 (scored is the experiment's scored rows, parallel to rows).
func (sc *Scorer) summarise(ctx context.Context, rows []Row, scored []report.Row) ([]report.ArmSummary, error) {
	type key struct {
		arm   string
		level int
	}
	var order []key
	groups := map[key][]int{}
	for i, r := range rows {
		if r.Baseline == nil {
			continue
		}
		k := key{r.Arm, r.Level}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	var out []report.ArmSummary
	for _, k := range order {
		id := ""
		for _, i := range groups[k] {
			id += rows[i].Model.Key + "\x00" + rows[i].Baseline.Key + "\x00"
		}
		s, ok := sc.summaries[id]
		if !ok {
			var err error
			if s, err = sc.summariseGroup(ctx, rows, scored, groups[k]); err != nil {
				return nil, fmt.Errorf("study: summary of %s at %d%%: %w", k.arm, k.level, err)
			}
			if sc.summaries == nil {
				sc.summaries = map[string]report.ArmSummary{}
			}
			sc.summaries[id] = s
		}
		out = append(out, s)
	}
	return out, nil
}

// summariseGroup summarises the rows idx (one arm and level, one row per
// site).
func (sc *Scorer) summariseGroup(ctx context.Context, rows []Row, scored []report.Row, idx []int) (report.ArmSummary, error) {
	first := rows[idx[0]]
	sum := report.ArmSummary{Arm: first.Arm, LevelPct: first.Level, Sites: len(idx)}
	var stats []eval.MacroStat
	for _, i := range idx {
		r := rows[i]
		for scope := range 2 {
			strata := []int{r.Site}
			if scope == 1 {
				strata = sc.others(r.Site)
			}
			for _, m := range []*Model{r.Model, r.Baseline} {
				s, err := sc.scores(m, r.Site, scope)
				if err != nil {
					return sum, err
				}
				stats = append(stats, eval.MacroStat{Strata: strata, Scores: s})
			}
		}
	}
	// Stats per site: internal model, internal baseline, external model,
	// external baseline.
	n := len(idx)
	meanDiff := func(scope int) eval.Derived {
		return func(v []float64) float64 {
			var d float64
			for k := range n {
				d += v[4*k+2*scope] - v[4*k+2*scope+1]
			}
			return d / float64(n)
		}
	}
	res, err := eval.StratifiedBootstrap(ctx, sc.tests[0], stats, []eval.Derived{meanDiff(0), meanDiff(1)}, sc.boot)
	if undefined(err) {
		return sum, nil // too few test rows: no summary figures
	}
	if err != nil {
		return sum, err
	}
	for scope, dst := range []*report.Estimate{&sum.Internal, &sum.External} {
		ci := res.Derived[scope]
		*dst = report.Estimate{Value: report.F(ci.Estimate), CI: report.CIFrom(ci)}
	}
	for k, i := range idx {
		pv := scored[i].PVsBaseline
		if pv == nil {
			continue
		}
		for scope, p := range []*float64{pv.Internal, pv.External} {
			if p == nil || *p >= SignificanceLevel {
				continue
			}
			if res.Stats[4*k+2*scope].Estimate > res.Stats[4*k+2*scope+1].Estimate {
				sum.Rises[scope]++
			} else {
				sum.Falls[scope]++
			}
		}
	}
	return sum, nil
}

// SignificanceLevel is the DeLong p-value below which a site's change
// counts as a significant rise or fall.
const SignificanceLevel = 0.05

// others lists the sites other than s, in order: site s's external test
// set.
func (sc *Scorer) others(s int) []int {
	var out []int
	for j := range sc.sites {
		if j != s {
			out = append(out, j)
		}
	}
	return out
}
