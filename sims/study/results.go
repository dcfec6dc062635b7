package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/eval/report"
)

// finish fills the results' config, seeds, site counts, loss curves,
// findings and notes.
func (r *run) finish() {
	res := r.res
	if b, err := json.Marshal(r.cfg); err == nil {
		res.Config = b
	}
	s := r.cfg.Seeds
	res.Seeds = map[string]int64{"data": int64(s.Data), "split": int64(s.Split), "job": s.Job, "sample": s.Sample, "bootstrap": int64(s.Bootstrap)}
	for i, c := range s.Classifier {
		res.Seeds[fmt.Sprintf("classifier_%d", i+1)] = c
	}
	res.Sites = r.siteCounts()
	res.LossCurves = r.curves()
	res.Findings = Findings(res)
	res.Notes = append(res.Notes, FederationNotes(res.Federation)...)
	res.Notes = append(res.Notes, r.notes()...)
}

// siteCounts merges the coordinator's refusals and dropouts with what each
// site's loader refused (reasons prefixed "data: ").
func (r *run) siteCounts() []report.SiteCounts {
	var out []report.SiteCounts
	for _, site := range r.sites {
		sc := report.SiteCounts{Site: site.Name, Reasons: map[string]int{}}
		if c, ok := r.counts[site.Name]; ok {
			sc.Rejected, sc.Dropouts = c.Rejected, c.Dropouts
			for k, v := range c.Reasons {
				sc.Reasons["update: "+k] = v
			}
		}
		for _, rep := range []*dataset.Report{site.Report, site.TestReport} {
			if rep == nil {
				continue
			}
			for _, p := range rep.Problems() {
				if !p.Kind.Warning() {
					sc.Rejected++
					sc.Reasons["data: "+string(p.Kind)]++
				}
			}
		}
		if len(sc.Reasons) == 0 {
			sc.Reasons = nil
		}
		out = append(out, sc)
	}
	return out
}

// curves returns the training-loss series: the federated and site-only
// DDPMs by round, the FedAvg classifier by round, and the real-only
// classifiers' validation loss by step.
func (r *run) curves() []report.Curve {
	var out []report.Curve
	add := func(name, plot, unit string, y []float64, x0 float64) {
		c := report.Curve{Name: name, Plot: plot, Unit: unit}
		for i, v := range y {
			if v > 0 {
				c.X, c.Y = append(c.X, x0+float64(i)), append(c.Y, v)
			}
		}
		if len(c.X) > 0 {
			out = append(out, c)
		}
	}
	if r.fed != nil {
		add("federated DDPM: training loss", "DDPM training loss", "round", r.fed.Loss, 1)
		add("federated DDPM: validation loss (global model, pooled validation images)", "DDPM validation loss", "round", r.fed.ValLoss, 1)
	}
	if r.sited != nil {
		add(r.sited.Name+" DDPM: training loss", "DDPM training loss", "round", r.sited.Loss, 1)
		add(r.sited.Name+" DDPM: validation loss (any-site embedding, pooled validation images)", "DDPM validation loss", "round", r.sited.ValLoss, 1)
	}
	for _, g := range r.alone {
		if g != nil {
			add(g.Name+": training loss", "DDPM training loss", "round", g.Loss, 1)
			add(g.Name+": validation loss", "DDPM validation loss", "round", g.ValLoss, 0)
		}
	}
	add("FedAvg classifier: macro AUROC of the global model on pooled validation images", "FedAvg classifier", "round", r.fedCurve, 1)
	if r.plan != nil {
		for _, m := range r.plan.First() {
			c := report.Curve{Name: m.Key + ": validation loss", Plot: "classifier validation loss", Unit: "step"}
			for _, h := range m.History {
				c.X, c.Y = append(c.X, float64(h.Step)), append(c.Y, h.ValLoss)
			}
			if len(c.X) > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

// notes records the run's security, knobs and per-model training sizes.
func (r *run) notes() []string {
	c := r.cfg
	notes := []string{
		fmt.Sprintf("Consortium: real coordinator and %d real site agents over loopback gRPC (%s), mTLS %v (%d handshakes refused), secure aggregation %v.",
			c.Sites, c.Consortium.Transport, c.Consortium.TLS, r.rejected, c.Consortium.SecureAggregation),
		fmt.Sprintf("Knobs: guidance %.2g, DDIM steps %d, real share per batch %.2g (0 = pooled, as in the study), synthetic loss weight %.2g, fidelity filter %.2g (0 = off), classifier seeds %v (probabilities averaged).",
			c.DDPM.Sample.Guidance, c.DDPM.Sample.Steps, c.Classifier.Train.RealFraction, c.Classifier.Train.SyntheticWeight, c.Classifier.FidelityFilter, c.Seeds.Classifier),
		fmt.Sprintf("Sampling uses the EMA (decay %.2g) over the %d committed global DDPMs; a site-only DDPM uses the same EMA over its own round models.", c.DDPM.RoundEMA, c.DDPM.Rounds),
	}
	if r.plan != nil {
		var lines []string
		for _, m := range append(r.plan.First(), r.plan.Rest()...) {
			l := fmt.Sprintf("%s: %d real + %d synthetic, %.0f steps", m.Key, m.Real, m.Synthetic, m.Steps)
			if m.Filtered > 0 {
				l += fmt.Sprintf(", %d synthetic filtered", m.Filtered)
			}
			lines = append(lines, l)
		}
		sort.Strings(lines)
		for _, l := range lines {
			notes = append(notes, "Classifier "+l+".")
		}
	}
	return notes
}

// write saves results.json and renders the report next to it.
func (r *run) write() error {
	path := filepath.Join(r.out, "results.json")
	if err := report.Save(path, r.res); err != nil {
		return err
	}
	doc, err := report.Render(r.res, os.DirFS(r.out), report.DefaultConfig(), r.log)
	if err != nil {
		return fmt.Errorf("study: render report: %w", err)
	}
	return doc.WriteDir(r.out)
}
