package study

import (
	"context"
	"fmt"

	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/eval/report"
)

// MinRegimeEffect is the smallest site-averaged local-to-external gap and
// pooling gain with which the consortium counts as having the study's
// problem (each with its CI excluding 0).
const MinRegimeEffect = 0.05

// The four statistics of each site in the regime's bootstrap, in order.
const (
	statLocalInternal = iota
	statLocalExternal
	statCentralInternal
	statCentralExternal
	statsPerSite
)

// Regime measures whether the consortium has the study's problem: each
// site's real-only classifier (local) and the classifier trained on every
// site's real data pooled (central), on the site's own test set and on
// the other sites' pooled, with the local-to-external gap and the pooling
// gain. Every interval comes from one stratified bootstrap (each site's
// test patients resampled on their own), so the differences are paired
// and the site averages keep the sites' correlations.
func (sc *Scorer) Regime(ctx context.Context, local []*Model, central *Model, target float64) (*report.Regime, error) {
	n := len(sc.sites)
	if len(local) != n {
		return nil, fmt.Errorf("study: regime: %d local classifiers for %d sites", len(local), n)
	}
	stats := make([]eval.MacroStat, 0, n*statsPerSite)
	for s := range n {
		others := make([]int, 0, n-1)
		for j := range n {
			if j != s {
				others = append(others, j)
			}
		}
		for _, st := range []struct {
			m      *Model
			strata []int
			scope  int
		}{{local[s], []int{s}, 0}, {local[s], others, 1}, {central, []int{s}, 0}, {central, others, 1}} {
			scores, err := sc.scores(st.m, s, st.scope)
			if err != nil {
				return nil, err
			}
			stats = append(stats, eval.MacroStat{Strata: st.strata, Scores: scores})
		}
	}
	res, err := eval.StratifiedBootstrap(ctx, sc.tests[0], stats, regimeDerived(n), sc.boot)
	if err != nil {
		return nil, fmt.Errorf("study: regime bootstrap: %w", err)
	}
	return sc.regimeTable(res, target), nil
}

// regimeDerived lists each site's gap and gain, then the site averages of
// the four AUROCs, the gap and the gain.
func regimeDerived(n int) []eval.Derived {
	at := func(s, k int) int { return s*statsPerSite + k }
	var out []eval.Derived
	for s := range n {
		out = append(out,
			func(v []float64) float64 { return v[at(s, statLocalInternal)] - v[at(s, statLocalExternal)] },
			func(v []float64) float64 { return v[at(s, statCentralExternal)] - v[at(s, statLocalExternal)] })
	}
	mean := func(f func(v []float64, s int) float64) eval.Derived {
		return func(v []float64) float64 {
			var sum float64
			for s := range n {
				sum += f(v, s)
			}
			return sum / float64(n)
		}
	}
	for k := range statsPerSite {
		out = append(out, mean(func(v []float64, s int) float64 { return v[at(s, k)] }))
	}
	return append(out,
		mean(func(v []float64, s int) float64 { return v[at(s, statLocalInternal)] - v[at(s, statLocalExternal)] }),
		mean(func(v []float64, s int) float64 { return v[at(s, statCentralExternal)] - v[at(s, statLocalExternal)] }))
}

// regimeTable lays the bootstrap out as the report's regime table, with
// the verdict and the power.
func (sc *Scorer) regimeTable(res *eval.StrataResult, target float64) *report.Regime {
	n := len(sc.sites)
	est := func(ci eval.CI) report.Estimate {
		return report.Estimate{Value: report.F(ci.Estimate), CI: report.CIFrom(ci)}
	}
	g := &report.Regime{MinEffect: MinRegimeEffect, TargetHalfWidth: target,
		Description: fmt.Sprintf("Local: each site's real-only classifier; central: one classifier trained on every site's real training images pooled (the upper bound). Internal: the site's own test set; external: the other sites' test sets pooled. Gap = local internal - local external; gain = central external - local external. 95%% percentile CIs from %d patient-level bootstrap resamples, each site's test patients resampled on their own, every figure on the same resamples.", sc.boot.Reps)}
	for s, site := range sc.sites {
		st := res.Stats[s*statsPerSite : (s+1)*statsPerSite]
		row := report.RegimeRow{Site: site.Name, TestImages: sc.tests[0][s].Len(), ExternalImages: sc.tests[1][s].Len(),
			LocalInternal: est(st[statLocalInternal]), LocalExternal: est(st[statLocalExternal]),
			CentralInternal: est(st[statCentralInternal]), CentralExternal: est(st[statCentralExternal]),
			Gap: est(res.Derived[2*s]), Gain: est(res.Derived[2*s+1])}
		g.Sites = append(g.Sites, row)
		for _, e := range []report.Estimate{row.LocalInternal, row.LocalExternal} {
			if h := e.HalfWidth(); h > g.MaxHalfWidth {
				g.MaxHalfWidth = h
			}
		}
	}
	m := res.Derived[2*n:]
	g.Mean = &report.RegimeRow{Site: "mean", LocalInternal: est(m[statLocalInternal]), LocalExternal: est(m[statLocalExternal]),
		CentralInternal: est(m[statCentralInternal]), CentralExternal: est(m[statCentralExternal]), Gap: est(m[statsPerSite]), Gain: est(m[statsPerSite+1])}
	g.HasProblem, g.Verdict = regimeVerdict(g.Mean)
	return g
}

// regimeVerdict states whether the mean gap and gain reach MinRegimeEffect
// with CIs excluding 0.
func regimeVerdict(m *report.RegimeRow) (bool, string) {
	ok := func(e report.Estimate) bool { return e.Value != nil && *e.Value >= MinRegimeEffect && e.Excludes0() }
	gap, gain := ok(m.Gap), ok(m.Gain)
	nums := fmt.Sprintf("the site-averaged local-to-external gap is %s and the pooling gain over local external is %s (each must be at least %.2f with its 95%% CI excluding 0)",
		estimate(m.Gap), estimate(m.Gain), MinRegimeEffect)
	switch {
	case gap && gain:
		return true, "Yes: this consortium has the study's problem: " + nums + ". Classifiers trained at one hospital lose AUROC at the others, and pooled data wins it back: synthetic data has something to close."
	case !gap:
		return false, "No: " + nums + ". Classifiers trained at one hospital do not lose enough at the others for synthetic data to have a gap to close; the findings below do not test the study's question."
	default:
		return false, "No: " + nums + ". Pooling every site's real data does not win back enough external AUROC; the findings below do not test the study's question."
	}
}

// estimate formats a difference with its CI.
func estimate(e report.Estimate) string {
	if e.Value == nil {
		return "undefined"
	}
	if e.CI == nil {
		return fmt.Sprintf("%+.3f", *e.Value)
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", *e.Value, e.CI.Lo, e.CI.Hi)
}
