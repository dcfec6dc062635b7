package report

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"
)

// Limits on what a results file may ask the renderer to draw.
const (
	maxTileSize     = 1024
	maxGridRows     = 64
	maxRowImages    = 64
	maxCurvePoints  = 1_000_000
	maxLevelPercent = 100_000
)

// problems collects every validation failure with its field path.
type problems struct{ errs []error }

func (p *problems) addf(path, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (p *problems) unit(path string, v *float64) {
	if v != nil && !(*v >= 0 && *v <= 1) {
		p.addf(path, "%v outside [0, 1]", *v)
	}
}

func (p *problems) nonNeg(path string, v float64) {
	if !(v >= 0) || math.IsInf(v, 0) {
		p.addf(path, "%v, want a finite value >= 0", v)
	}
}

func (p *problems) ci(path string, c *CI) {
	if c != nil && !(c.Lo >= 0 && c.Lo <= c.Hi && c.Hi <= 1) {
		p.addf(path, "[%v, %v] is not an interval within [0, 1]", c.Lo, c.Hi)
	}
}

// Validate reports every out-of-range or inconsistent field at once, each
// named by its JSON path, wrapped with ErrResults.
func (r *Results) Validate() error {
	var p problems
	if r.Schema != SchemaVersion {
		p.addf("schema", "version %d, this build reads %d", r.Schema, SchemaVersion)
	}
	if r.Started != "" {
		if _, err := time.Parse(time.RFC3339, r.Started); err != nil {
			p.addf("started", "%q is not RFC 3339", r.Started)
		}
	}
	for i, ph := range r.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		if ph.Name == "" {
			p.addf(path+".name", "empty")
		}
		p.nonNeg(path+".wall_seconds", ph.WallSeconds)
	}
	seen := map[string]bool{}
	for i, s := range r.Sites {
		path := fmt.Sprintf("sites[%d]", i)
		if s.Site == "" || seen[s.Site] {
			p.addf(path+".site", "%q is empty or repeated", s.Site)
		}
		seen[s.Site] = true
		if s.Rejected < 0 || s.Dropouts < 0 {
			p.addf(path, "negative count")
		}
	}
	if r.Regime != nil {
		r.Regime.validate(&p)
	}
	for _, e := range r.experiments() {
		if e.exp != nil {
			e.exp.validate(&p, e.key)
		}
	}
	for i, c := range r.LossCurves {
		c.validate(&p, fmt.Sprintf("loss_curves[%d]", i))
	}
	for i, g := range r.SampleGrids {
		g.validate(&p, fmt.Sprintf("sample_grids[%d]", i))
	}
	for i, q := range r.Quality {
		q.validate(&p, fmt.Sprintf("quality[%d]", i))
	}
	for i, m := range r.Memorisation {
		m.validate(&p, fmt.Sprintf("memorisation[%d]", i))
	}
	for i, f := range r.Findings {
		if f.Finding == "" {
			p.addf(fmt.Sprintf("findings[%d].finding", i), "empty")
		}
	}
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", ErrResults, errors.Join(p.errs...))
}

// namedExperiment pairs an experiment with its JSON key and title.
type namedExperiment struct {
	key, title string
	exp        *Experiment
}

func (r *Results) experiments() []namedExperiment {
	return []namedExperiment{
		{"supplementation", "E1: supplementation", r.Supplementation},
		{"synthetic_only", "E2: synthetic only", r.SyntheticOnly},
		{"mixing", "E3: mixing sources", r.Mixing},
		{"federation", "E4: what federation adds", r.Federation},
		{"site_conditioned", "E5: site-conditioned federated generation", r.SiteConditioned},
	}
}

func (e *Experiment) validate(p *problems, key string) {
	for i, row := range e.Rows {
		path := fmt.Sprintf("%s.rows[%d]", key, i)
		if row.Site == "" {
			p.addf(path+".site", "empty")
		}
		if row.LevelPct < 0 || row.LevelPct > maxLevelPercent {
			p.addf(path+".level_pct", "%d outside [0, %d]", row.LevelPct, maxLevelPercent)
		}
		p.unit(path+".auroc_internal", row.AUROCInternal)
		p.unit(path+".auroc_external", row.AUROCExternal)
		p.ci(path+".ci_internal", row.CIInternal)
		p.ci(path+".ci_external", row.CIExternal)
		if row.PVsBaseline != nil {
			p.unit(path+".p_vs_baseline.internal", row.PVsBaseline.Internal)
			p.unit(path+".p_vs_baseline.external", row.PVsBaseline.External)
		}
	}
	for i, t := range e.PerLabel {
		path := fmt.Sprintf("%s.per_label[%d]", key, i)
		if t.Scope != "internal" && t.Scope != "external" {
			p.addf(path+".scope", "%q, want internal or external", t.Scope)
		}
		for j, l := range t.Labels {
			lp := fmt.Sprintf("%s.labels[%d]", path, j)
			p.unit(lp+".auroc", l.AUROC)
			p.unit(lp+".baseline", l.Baseline)
			p.unit(lp+".p", l.P)
			if l.Positives < 0 || l.Negatives < 0 {
				p.addf(lp, "negative count")
			}
		}
	}
}

func (c *Curve) validate(p *problems, path string) {
	if c.Name == "" || c.Unit == "" {
		p.addf(path, "name and unit are required")
	}
	if len(c.X) != len(c.Y) || len(c.X) > maxCurvePoints {
		p.addf(path, "%d x values and %d y values (at most %d)", len(c.X), len(c.Y), maxCurvePoints)
	}
}

func (g *SampleGrid) validate(p *problems, path string) {
	if len(g.Rows) > maxGridRows {
		p.addf(path+".rows", "%d rows, at most %d", len(g.Rows), maxGridRows)
	}
	for i, row := range g.Rows {
		rp := fmt.Sprintf("%s.rows[%d]", path, i)
		if n := len(row.Images) + len(row.Paths); n == 0 || n > maxRowImages {
			p.addf(rp, "%d images, want 1 to %d", n, maxRowImages)
		}
		if len(row.Images) > 0 && (row.Size < 1 || row.Size > maxTileSize) {
			p.addf(rp+".size", "%d outside [1, %d]", row.Size, maxTileSize)
			continue
		}
		for j, img := range row.Images {
			if len(img) != row.Size*row.Size {
				p.addf(fmt.Sprintf("%s.images[%d]", rp, j), "%d values for %dx%d", len(img), row.Size, row.Size)
			}
		}
		for j, path := range row.Paths {
			if !fs.ValidPath(path) || path == "." {
				p.addf(fmt.Sprintf("%s.paths[%d]", rp, j), "%q is not a relative path inside the results directory", path)
			}
		}
	}
}

func (q *Quality) validate(p *problems, path string) {
	if q.Model == "" {
		p.addf(path+".model", "empty")
	}
	if q.FD != nil {
		p.nonNeg(path+".fd", *q.FD)
	}
	p.unit(path+".precision", q.Precision)
	p.unit(path+".recall", q.Recall)
	p.unit(path+".fidelity_auroc", q.FidelityAUROC)
	p.unit(path+".fidelity_accuracy", q.FidelityAccuracy)
	p.unit(path+".site_fidelity", q.SiteFidelity)
	p.unit(path+".site_chance", q.SiteChance)
	if q.DiversityWithin != nil {
		p.nonNeg(path+".diversity_within", *q.DiversityWithin)
	}
	if q.DiversityRatio != nil {
		p.nonNeg(path+".diversity_ratio", *q.DiversityRatio)
	}
}

func (m *Memorisation) validate(p *problems, path string) {
	if m.Model == "" {
		p.addf(path+".model", "empty")
	}
	if m.Synthetic < 0 || m.Training < 0 || m.FlaggedTotal < 0 || m.FlaggedTotal > m.Synthetic || len(m.Flagged) > m.FlaggedTotal {
		p.addf(path, "inconsistent counts: %d synthetic, %d flagged, %d listed", m.Synthetic, m.FlaggedTotal, len(m.Flagged))
	}
	for i, s := range m.Spaces {
		sp := fmt.Sprintf("%s.spaces[%d]", path, i)
		if s.Space != "pixel" && s.Space != "feature" {
			p.addf(sp+".space", "%q, want pixel or feature", s.Space)
		}
		if !(s.Percentile >= 0 && s.Percentile <= 100) {
			p.addf(sp+".percentile", "%v outside [0, 100]", s.Percentile)
		}
		p.nonNeg(sp+".threshold", s.Threshold)
		if s.Flagged < 0 || s.Flagged > m.Synthetic {
			p.addf(sp+".flagged", "%d of %d synthetic images", s.Flagged, m.Synthetic)
		}
	}
	for i, f := range m.Flagged {
		if f.Synthetic < 0 || f.Training < 0 || (f.Space != "pixel" && f.Space != "feature") {
			p.addf(fmt.Sprintf("%s.flagged[%d]", path, i), "bad entry %+v", f)
		}
	}
}
