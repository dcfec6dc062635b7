package study

import (
	"fmt"
	"sort"
	"strings"

	"github.com/synthfed/synthfed/eval/report"
)

// NearReal is how close (in macro AUROC) synthetic-only training must come
// to real-only training, on average over sites, for finding 2.
const NearReal = 0.03

// The study's findings, as stated in the report.
const (
	FindingSupplementation = "Supplementing real data with synthetic data raises AUROC, internally and externally"
	FindingSyntheticOnly   = "Training on synthetic data alone at high levels comes near training on real data"
	FindingMixing          = "Mixing real data with synthetic data from a model that has seen other sites improves generalisation (external AUROC)"
)

// levelGain is the site-averaged AUROC difference against the baseline at
// one level of one arm, internally and externally.
type levelGain struct {
	level              int
	internal, external float64
	// ci holds the site-averaged changes' CIs (internal, external) where
	// the experiment's summary has them.
	ci             [2]*report.CI
	sites          int
	sigUp, sigDown [2]int // significant (p < 0.05) rises and falls: internal, external
}

// gains averages each level's difference to the site's baseline row
// (arm base at level 0) over sites: from the experiment's summary, with
// CIs, when it has one for the arm.
func gains(exp *report.Experiment, arm, base string) []levelGain {
	if exp == nil {
		return nil
	}
	if g := summaryGains(exp, arm); len(g) > 0 {
		return g
	}
	baseline := map[string]report.Row{}
	for _, r := range exp.Rows {
		if r.Arm == base && r.LevelPct == 0 {
			baseline[r.Site] = r
		}
	}
	byLevel := map[int]*levelGain{}
	for _, r := range exp.Rows {
		b, ok := baseline[r.Site]
		if r.Arm != arm || !ok || r.AUROCInternal == nil || r.AUROCExternal == nil || b.AUROCInternal == nil || b.AUROCExternal == nil {
			continue
		}
		g := byLevel[r.LevelPct]
		if g == nil {
			g = &levelGain{level: r.LevelPct}
			byLevel[r.LevelPct] = g
		}
		g.internal += *r.AUROCInternal - *b.AUROCInternal
		g.external += *r.AUROCExternal - *b.AUROCExternal
		g.sites++
		countSig(g, r, 0, *r.AUROCInternal-*b.AUROCInternal)
		countSig(g, r, 1, *r.AUROCExternal-*b.AUROCExternal)
	}
	var out []levelGain
	for _, g := range byLevel {
		g.internal /= float64(g.sites)
		g.external /= float64(g.sites)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].level < out[j].level })
	return out
}

// summaryGains reads an arm's levels from the experiment's summary.
func summaryGains(exp *report.Experiment, arm string) []levelGain {
	var out []levelGain
	for _, s := range exp.Summary {
		if s.Arm != arm || s.Internal.Value == nil || s.External.Value == nil {
			continue
		}
		out = append(out, levelGain{level: s.LevelPct, internal: *s.Internal.Value, external: *s.External.Value,
			ci: [2]*report.CI{s.Internal.CI, s.External.CI}, sites: s.Sites, sigUp: s.Rises, sigDown: s.Falls})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].level < out[j].level })
	return out
}

func countSig(g *levelGain, r report.Row, scope int, diff float64) {
	if r.PVsBaseline == nil {
		return
	}
	p := r.PVsBaseline.Internal
	if scope == 1 {
		p = r.PVsBaseline.External
	}
	if p == nil || *p >= 0.05 {
		return
	}
	if diff > 0 {
		g.sigUp[scope]++
	} else {
		g.sigDown[scope]++
	}
}

// describe lists the gains by level, for evidence.
func describe(gs []levelGain) string {
	var in, ex []string
	var up, down [2]int
	n := 0
	for _, g := range gs {
		in = append(in, fmt.Sprintf("%s at %d%%", change(g.internal, g.ci[0]), g.level))
		ex = append(ex, fmt.Sprintf("%s at %d%%", change(g.external, g.ci[1]), g.level))
		for s := range 2 {
			up[s] += g.sigUp[s]
			down[s] += g.sigDown[s]
		}
		n += g.sites
	}
	return fmt.Sprintf("site-averaged AUROC change vs real only [95%% CI], internal: %s; external: %s. DeLong p < 0.05: %d rises and %d falls internally, %d rises and %d falls externally, of %d site-level comparisons each",
		strings.Join(in, ", "), strings.Join(ex, ", "), up[0], down[0], up[1], down[1], n)
}

// change formats a site-averaged change with its CI when it has one.
func change(v float64, ci *report.CI) string {
	if ci == nil {
		return fmt.Sprintf("%+.3f", v)
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", v, ci.Lo, ci.Hi)
}

// majority reports whether more than half the levels satisfy ok.
func majority(gs []levelGain, ok func(levelGain) bool) bool {
	k := 0
	for _, g := range gs {
		if ok(g) {
			k++
		}
	}
	return len(gs) > 0 && 2*k > len(gs)
}

// Findings states whether each of the study's findings reproduced in res,
// with the numbers behind each verdict.
func Findings(res *report.Results) []report.Finding {
	var out []report.Finding
	if g := gains(res.Supplementation, ArmSupplemented, ArmReal); len(g) > 0 {
		ok := majority(g, func(l levelGain) bool { return l.internal > 0 && l.external > 0 })
		out = append(out, report.Finding{Finding: FindingSupplementation, Reproduced: ok,
			Evidence: verdict(ok, "the site-averaged AUROC rose both internally and externally at a majority of the supplemented levels", "it did not rise both internally and externally at a majority of the supplemented levels") + ": " + describe(g) + "."})
	}
	if g := gains(res.SyntheticOnly, ArmSynthetic, ArmReal); len(g) > 0 {
		top := g[len(g)-1]
		ok := top.internal >= -NearReal && top.external >= -NearReal
		out = append(out, report.Finding{Finding: FindingSyntheticOnly, Reproduced: ok,
			Evidence: fmt.Sprintf("%s at the highest level (%d%%) synthetic-only training is %+.3f internally and %+.3f externally against real only (site-averaged; 'near' means within %.2f on both). %s.",
				verdict(ok, "within the margin:", "outside the margin:"), top.level, top.internal, top.external, NearReal, upper(describe(g)))})
	}
	if g := gains(res.Mixing, ArmMixed, ArmReal); len(g) > 0 {
		ok := majority(g, func(l levelGain) bool { return l.external > 0 })
		out = append(out, report.Finding{Finding: FindingMixing, Reproduced: ok,
			Evidence: verdict(ok, "the site-averaged external AUROC rose at a majority of the mixing levels", "the site-averaged external AUROC did not rise at a majority of the mixing levels") + ": " + describe(g) + "."})
	}
	if f, ok := GoalFinding(res); ok {
		out = append(out, f)
	}
	return out
}

// upper capitalises the first letter of s.
func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func verdict(ok bool, yes, no string) string {
	if ok {
		return "Reproduced: " + yes
	}
	return "Not reproduced: " + no
}

// FederationNotes summarises E4 in plain sentences: site-only against
// federated DDPM, and local against FedAvg against central classifiers.
func FederationNotes(exp *report.Experiment) []string {
	if exp == nil {
		return nil
	}
	var notes []string
	for _, arm := range []string{ArmSiteDDPM, ArmFederatedDDPM, ArmFedAvg, ArmCentral} {
		g := gains(exp, arm, ArmLocal)
		if len(g) == 0 {
			continue
		}
		notes = append(notes, fmt.Sprintf("E4 %s vs local real-only: %s.", arm, describe(g)))
	}
	return notes
}
