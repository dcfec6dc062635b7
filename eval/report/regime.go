package report

import (
	"fmt"
	"math"
)

// Regime says whether the consortium has the problem the study addresses:
// a classifier trained at one site loses AUROC at the others (the gap,
// local internal minus local external) and pooling every site's real data
// wins it back (the gain, central external minus local external). It also
// gives the test sets' power: the half-width of each macro AUROC's CI.
type Regime struct {
	// Description says how the table was computed.
	Description string `json:"description,omitempty"`
	// Sites holds one row per site; Mean the site average (its CIs from
	// the same resamples, so the sites' correlations are kept).
	Sites []RegimeRow `json:"sites"`
	Mean  *RegimeRow  `json:"mean,omitempty"`
	// MinEffect is the smallest gap and gain that count (0.05).
	MinEffect float64 `json:"min_effect"`
	// HasProblem is true when the mean gap and the mean gain are both at
	// least MinEffect with CIs that exclude 0.
	HasProblem bool `json:"has_problem"`
	// Verdict says so in words, with the numbers.
	Verdict string `json:"verdict"`
	// TargetHalfWidth is the CI half-width the test sets were sized for
	// (0: none set); MaxHalfWidth the widest of the sites' local internal
	// and external CIs.
	TargetHalfWidth float64 `json:"target_half_width,omitempty"`
	MaxHalfWidth    float64 `json:"max_half_width"`
}

// RegimeRow is one site's (or the mean's) regime figures.
type RegimeRow struct {
	// Site is the site's ID, or "mean" for the site average.
	Site string `json:"site"`
	// TestImages and ExternalImages count the site's own test images and
	// the other sites' pooled ones.
	TestImages     int `json:"test_images,omitempty"`
	ExternalImages int `json:"external_images,omitempty"`
	// LocalInternal and LocalExternal score the site's real-only
	// classifier; CentralInternal and CentralExternal the classifier
	// trained on every site's real data pooled, on the same test sets.
	LocalInternal   Estimate `json:"local_internal"`
	LocalExternal   Estimate `json:"local_external"`
	CentralInternal Estimate `json:"central_internal"`
	CentralExternal Estimate `json:"central_external"`
	// Gap is LocalInternal - LocalExternal; Gain is CentralExternal -
	// LocalExternal (paired: the same external rows).
	Gap  Estimate `json:"gap"`
	Gain Estimate `json:"gain"`
}

// Estimate is a number with its bootstrap CI.
type Estimate struct {
	// Value is the estimate on the full test sets; nil when undefined.
	Value *float64 `json:"value"`
	// CI is its percentile interval; nil when not computed.
	CI *CI `json:"ci,omitempty"`
}

// HalfWidth is half the CI's width (NaN without one).
func (e Estimate) HalfWidth() float64 {
	if e.CI == nil {
		return math.NaN()
	}
	return (e.CI.Hi - e.CI.Lo) / 2
}

// Excludes0 reports whether the CI lies wholly above or below 0.
func (e Estimate) Excludes0() bool {
	return e.CI != nil && (e.CI.Lo > 0 || e.CI.Hi < 0)
}

// validate checks the regime's numbers: AUROCs and their CIs within
// [0, 1], differences and their CIs within [-1, 1].
func (g *Regime) validate(p *problems) {
	rows := g.Sites
	if g.Mean != nil {
		rows = append(append([]RegimeRow(nil), rows...), *g.Mean)
	}
	for i, r := range rows {
		path := fmt.Sprintf("regime.sites[%d]", i)
		if r.Site == "" {
			p.addf(path+".site", "empty")
		}
		for _, f := range []struct {
			name string
			e    Estimate
		}{{"local_internal", r.LocalInternal}, {"local_external", r.LocalExternal}, {"central_internal", r.CentralInternal}, {"central_external", r.CentralExternal}} {
			p.unit(path+"."+f.name, f.e.Value)
			p.ci(path+"."+f.name+".ci", f.e.CI)
		}
		for _, f := range []struct {
			name string
			e    Estimate
		}{{"gap", r.Gap}, {"gain", r.Gain}} {
			if v := f.e.Value; v != nil && !(math.Abs(*v) <= 1) {
				p.addf(path+"."+f.name, "%v outside [-1, 1]", *v)
			}
			if c := f.e.CI; c != nil && !(c.Lo >= -1 && c.Lo <= c.Hi && c.Hi <= 1) {
				p.addf(path+"."+f.name+".ci", "[%v, %v] is not an interval within [-1, 1]", c.Lo, c.Hi)
			}
		}
		if r.TestImages < 0 || r.ExternalImages < 0 {
			p.addf(path, "negative image count")
		}
	}
	if !(g.MinEffect >= 0 && g.MinEffect < 1) || !(g.MaxHalfWidth >= 0) || !(g.TargetHalfWidth >= 0) {
		p.addf("regime", "min_effect %v, max_half_width %v, target_half_width %v out of range", g.MinEffect, g.MaxHalfWidth, g.TargetHalfWidth)
	}
}

// regime renders the regime section: the verdict, the table and the power.
func (r *renderer) regime() (Section, error) {
	g := r.res.Regime
	const id, title = "regime", "Does this consortium have the study's problem?"
	if g == nil {
		return notRun(id, title), nil
	}
	s := Section{ID: id, Title: title, Blocks: []Block{{Para: g.Verdict}}}
	if g.Description != "" {
		s.Blocks = append(s.Blocks, Block{Para: g.Description})
	}
	t := &Table{Header: []string{"site", "test images (own / external)", "local internal", "local external", "gap", "central internal", "central external", "gain"}}
	rows := g.Sites
	if g.Mean != nil {
		rows = append(append([]RegimeRow(nil), rows...), *g.Mean)
	}
	for _, row := range rows {
		imgs := fmt.Sprintf("%d / %d", row.TestImages, row.ExternalImages)
		if row.TestImages == 0 {
			imgs = ""
		}
		t.Rows = append(t.Rows, []string{row.Site, imgs, auroc(row.LocalInternal.Value, row.LocalInternal.CI), auroc(row.LocalExternal.Value, row.LocalExternal.CI),
			signed(row.Gap), auroc(row.CentralInternal.Value, row.CentralInternal.CI), auroc(row.CentralExternal.Value, row.CentralExternal.CI), signed(row.Gain)})
	}
	s.Blocks = append(s.Blocks, Block{Table: t})
	power := fmt.Sprintf("Power: the widest 95%% CI half-width of a site's local macro AUROC, internal or external, is %.3f", g.MaxHalfWidth)
	if g.TargetHalfWidth > 0 {
		met := "met"
		if g.MaxHalfWidth > g.TargetHalfWidth {
			met = "not met"
		}
		power += fmt.Sprintf(" (target %.3f: %s)", g.TargetHalfWidth, met)
	}
	s.Blocks = append(s.Blocks, Block{Para: power + "."})
	return s, nil
}

// signed formats a difference with its CI.
func signed(e Estimate) string {
	if e.Value == nil {
		return "n/a"
	}
	if e.CI == nil {
		return fmt.Sprintf("%+.3f", *e.Value)
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", *e.Value, e.CI.Lo, e.CI.Hi)
}
