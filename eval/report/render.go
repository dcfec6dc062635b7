package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// NotRun is the text shown for a section whose data is missing.
const NotRun = "not run"

// renderer builds one Document.
type renderer struct {
	res    *Results
	images fs.FS
	cfg    Config
	log    *slog.Logger
	doc    *Document
}

// Render builds the report of res. images resolves sample-grid file paths
// (normally os.DirFS of the directory holding results.json) and may be nil.
// Missing sections render as "not run"; unreadable sample files are drawn
// as crossed tiles and listed. log may be nil. It fails only on an invalid
// res or cfg or when a plot cannot be encoded.
func Render(res *Results, images fs.FS, cfg Config, log *slog.Logger) (*Document, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := res.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	title := res.Title
	if title == "" {
		title = "synthfed: synthetic data in a federated consortium"
	}
	r := &renderer{res: res, images: images, cfg: cfg, log: log, doc: &Document{Title: title}}
	builders := []func() (Section, error){r.overview, r.regime, r.findings}
	for _, e := range res.experiments() {
		builders = append(builders, func() (Section, error) { return r.experiment(e) })
	}
	builders = append(builders, r.quality, r.memorisation, r.samples, r.losses, r.sites, r.phases, r.configSection)
	for _, b := range builders {
		s, err := b()
		if err != nil {
			return nil, err
		}
		r.doc.Sections = append(r.doc.Sections, s)
	}
	if len(res.Notes) > 0 {
		r.doc.Sections = append(r.doc.Sections, Section{ID: "notes", Title: "Notes", Blocks: []Block{{List: res.Notes}}})
	}
	return r.doc, nil
}

// RenderFile loads the results file at path, renders it with sample paths
// resolved against the file's directory, and writes the report into outDir.
func RenderFile(path, outDir string, cfg Config, log *slog.Logger) error {
	res, err := Load(path)
	if err != nil {
		return err
	}
	doc, err := Render(res, os.DirFS(filepath.Dir(path)), cfg, log)
	if err != nil {
		return err
	}
	return doc.WriteDir(outDir)
}

func notRun(id, title string) Section {
	return Section{ID: id, Title: title, Blocks: []Block{{Para: NotRun}}}
}

func (r *renderer) overview() (Section, error) {
	s := Section{ID: "overview", Title: "Overview"}
	var items []string
	if r.res.Profile != "" {
		items = append(items, "profile: "+r.res.Profile)
	}
	if r.res.Started != "" {
		items = append(items, "started: "+r.res.Started)
	}
	if len(r.res.Sites) > 0 {
		ids := make([]string, len(r.res.Sites))
		for i, st := range r.res.Sites {
			ids[i] = st.Site
		}
		items = append(items, fmt.Sprintf("sites: %d (%s)", len(ids), strings.Join(ids, ", ")))
	}
	if len(r.res.Phases) > 0 {
		var total float64
		for _, p := range r.res.Phases {
			total += p.WallSeconds
		}
		items = append(items, "total wall time: "+seconds(total))
	}
	for _, e := range r.res.experiments() {
		state := NotRun
		if e.exp != nil {
			state = fmt.Sprintf("%d rows", len(e.exp.Rows))
		}
		items = append(items, e.title+": "+state)
	}
	s.Blocks = append(s.Blocks, Block{List: items})
	return s, nil
}

func (r *renderer) findings() (Section, error) {
	if len(r.res.Findings) == 0 {
		return notRun("findings", "Did the study's findings reproduce?"), nil
	}
	s := Section{ID: "findings", Title: "Did the study's findings reproduce?"}
	t := &Table{Header: []string{"finding", "reproduced", "evidence"}}
	yes := 0
	for _, f := range r.res.Findings {
		v := "NO: not reproduced"
		if f.Reproduced {
			v, yes = "yes: reproduced", yes+1
		}
		t.Rows = append(t.Rows, []string{f.Finding, v, f.Evidence})
	}
	s.Blocks = append(s.Blocks, Block{Para: fmt.Sprintf("%d of %d findings reproduced in this run.", yes, len(r.res.Findings))}, Block{Table: t})
	return s, nil
}

func (r *renderer) quality() (Section, error) {
	if len(r.res.Quality) == 0 {
		return notRun("quality", "Synthetic-image quality"), nil
	}
	t := &Table{Header: []string{"generator", "Fréchet distance", "precision", "recall", "k", "fidelity AUROC", "fidelity accuracy", "diversity within", "diversity ratio", "site fidelity (chance)"}}
	for _, q := range r.res.Quality {
		k := ""
		if q.K > 0 {
			k = fmt.Sprint(q.K)
		}
		t.Rows = append(t.Rows, []string{q.Model, num(q.FD, "%.3f"), num(q.Precision, "%.3f"), num(q.Recall, "%.3f"), k,
			num(q.FidelityAUROC, "%.3f"), num(q.FidelityAccuracy, "%.3f"), num(q.DiversityWithin, "%.3f"), num(q.DiversityRatio, "%.3f"), siteFidelity(q)})
	}
	return Section{ID: "quality", Title: "Synthetic-image quality", Blocks: []Block{
		{Para: "Fréchet distance, k-NN precision/recall and diversity on the real-trained classifier's penultimate features, each generator against the real training images it learned from (a site-only generator: its own site's; a federated one: all sites' pooled), so generators that learned from different sets are not directly comparable; fidelity is that classifier's macro AUROC and accuracy on synthetic images against the labels they were conditioned on. Diversity ratio: mean distance within a condition over the mean distance in the whole set. Site fidelity: the share of images that a nearest-centroid site classifier on acquisition features (intensity quantiles, noise, collimation, corner markers), fitted on the sites' real training images, assigns to the site each image was meant to look acquired at (a site's own for real images, site-only DDPMs and the federated DDPM's replicas of a site's rows; the condition's site for E5), with chance in brackets."},
		{Table: t},
	}}, nil
}

// siteFidelity formats a quality row's site fidelity with its chance level.
func siteFidelity(q Quality) string {
	if q.SiteFidelity == nil {
		return ""
	}
	if q.SiteChance == nil {
		return num(q.SiteFidelity, "%.2f")
	}
	return num(q.SiteFidelity, "%.2f") + " (" + num(q.SiteChance, "%.2f") + ")"
}

func (r *renderer) memorisation() (Section, error) {
	if len(r.res.Memorisation) == 0 {
		return notRun("memorisation", "Memorisation"), nil
	}
	s := Section{ID: "memorisation", Title: "Memorisation"}
	var summary []string
	t := &Table{Header: []string{"generator", "space", "threshold (percentile)", "median real-real NN", "median synthetic-train NN", "flagged"}}
	for _, m := range r.res.Memorisation {
		summary = append(summary, fmt.Sprintf("%s: %d of %d synthetic images flagged as near-copies of %d training images (%s).",
			m.Model, m.FlaggedTotal, m.Synthetic, m.Training, pct(m.FlaggedTotal, m.Synthetic)))
		for _, sp := range m.Spaces {
			t.Rows = append(t.Rows, []string{m.Model, sp.Space, fmt.Sprintf("%.4g (p%g)", sp.Threshold, sp.Percentile),
				fmt.Sprintf("%.4g", sp.MedianRealNN), fmt.Sprintf("%.4g", sp.MedianSyntheticNN), fmt.Sprint(sp.Flagged)})
		}
	}
	s.Blocks = append(s.Blocks, Block{Para: "A synthetic image is flagged when its nearest training image is closer than the given percentile of real-to-real nearest-neighbour distances."},
		Block{List: summary}, Block{Table: t})
	for _, m := range r.res.Memorisation {
		if len(m.Flagged) == 0 {
			continue
		}
		ft := &Table{Header: []string{"synthetic", "nearest training", "space", "distance"}}
		for _, f := range m.Flagged[:min(len(m.Flagged), r.cfg.MaxFlagged)] {
			id := fmt.Sprint(f.Synthetic)
			if f.ID != "" {
				id += " (" + f.ID + ")"
			}
			ft.Rows = append(ft.Rows, []string{id, fmt.Sprint(f.Training), f.Space, fmt.Sprintf("%.4g", f.Distance)})
		}
		s.Blocks = append(s.Blocks, Block{Heading: fmt.Sprintf("%s: flagged images (%d listed of %d)", m.Model, len(ft.Rows), m.FlaggedTotal)}, Block{Table: ft})
	}
	return s, nil
}

func (r *renderer) samples() (Section, error) {
	if len(r.res.SampleGrids) == 0 {
		return notRun("samples", "Synthetic samples by condition"), nil
	}
	s := Section{ID: "samples", Title: "Synthetic samples by condition"}
	var problems []string
	for i, g := range r.res.SampleGrids {
		png, probs, err := gridImage(g, r.images, r.cfg)
		if err != nil {
			return s, err
		}
		for _, p := range probs {
			r.log.Warn("sample image unreadable", "problem", p)
		}
		problems = append(problems, probs...)
		t := &Table{Header: []string{"row", "condition", "images"}}
		for k, row := range g.Rows {
			t.Rows = append(t.Rows, []string{fmt.Sprint(k + 1), row.Condition, fmt.Sprint(len(row.Images) + len(row.Paths))})
		}
		s.Blocks = append(s.Blocks, Block{Heading: g.Title}, r.doc.addImage(fmt.Sprintf("samples-%d", i+1), png, g.Title+": one row per condition, top to bottom as in the table"), Block{Table: t})
	}
	if len(problems) > 0 {
		s.Blocks = append(s.Blocks, Block{Para: "Sample files that could not be read (crossed tiles):"}, Block{List: problems})
	}
	return s, nil
}

func (r *renderer) losses() (Section, error) {
	if len(r.res.LossCurves) == 0 {
		return notRun("losses", "Training loss"), nil
	}
	s := Section{ID: "losses", Title: "Training loss"}
	groups := map[string][]Curve{}
	var order []string
	for _, c := range r.res.LossCurves {
		key := c.Plot
		if key == "" {
			key = c.Name
		}
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], c)
	}
	for i, key := range order {
		png, err := curvePlot(key, groups[key], r.cfg)
		if err != nil {
			return s, err
		}
		s.Blocks = append(s.Blocks, r.doc.addImage(fmt.Sprintf("loss-%d", i+1), png, "training loss: "+key))
	}
	return s, nil
}

func (r *renderer) sites() (Section, error) {
	if len(r.res.Sites) == 0 {
		return notRun("sites", "Sites: rejections and dropouts"), nil
	}
	t := &Table{Header: []string{"site", "rejected updates", "dropouts", "reasons"}}
	for _, st := range r.res.Sites {
		var reasons []string
		for _, k := range slices.Sorted(maps.Keys(st.Reasons)) {
			reasons = append(reasons, fmt.Sprintf("%s: %d", k, st.Reasons[k]))
		}
		t.Rows = append(t.Rows, []string{st.Site, fmt.Sprint(st.Rejected), fmt.Sprint(st.Dropouts), strings.Join(reasons, ", ")})
	}
	return Section{ID: "sites", Title: "Sites: rejections and dropouts", Blocks: []Block{{Table: t}}}, nil
}

func (r *renderer) phases() (Section, error) {
	if len(r.res.Phases) == 0 {
		return notRun("phases", "Wall time per phase"), nil
	}
	var total float64
	for _, p := range r.res.Phases {
		total += p.WallSeconds
	}
	t := &Table{Header: []string{"phase", "wall time", "share"}}
	for _, p := range r.res.Phases {
		share := "n/a"
		if total > 0 {
			share = fmt.Sprintf("%.1f%%", 100*p.WallSeconds/total)
		}
		t.Rows = append(t.Rows, []string{p.Name, seconds(p.WallSeconds), share})
	}
	t.Rows = append(t.Rows, []string{"total", seconds(total), ""})
	return Section{ID: "phases", Title: "Wall time per phase", Blocks: []Block{{Table: t}}}, nil
}

func (r *renderer) configSection() (Section, error) {
	if len(r.res.Config) == 0 && len(r.res.Seeds) == 0 {
		return notRun("config", "Configuration and seeds"), nil
	}
	s := Section{ID: "config", Title: "Configuration and seeds"}
	if len(r.res.Seeds) > 0 {
		t := &Table{Header: []string{"seed", "value"}}
		for _, k := range slices.Sorted(maps.Keys(r.res.Seeds)) {
			t.Rows = append(t.Rows, []string{k, fmt.Sprint(r.res.Seeds[k])})
		}
		s.Blocks = append(s.Blocks, Block{Table: t})
	}
	if len(r.res.Config) > 0 {
		var buf bytes.Buffer
		if err := json.Indent(&buf, r.res.Config, "", "  "); err != nil {
			buf.Reset()
			buf.Write(r.res.Config)
		}
		s.Blocks = append(s.Blocks, Block{Code: buf.String()})
	}
	return s, nil
}
