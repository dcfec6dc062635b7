package study

import (
	"context"
	"fmt"
	"slices"

	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/model"
)

// Plan is every classifier the experiments need, deduplicated: the
// real-only model of a site serves as E1's 0%, E2's and E3's baseline and
// E4's local arm, and E1's model at the federation level is E4's
// federated-DDPM arm.
type Plan struct {
	// Real holds each site's real-only model; Central the pooled one;
	// FedAvg the consortium's.
	Real            []*Model
	Central, FedAvg *Model
	// Supplemented, SyntheticOnly and Mixed hold [site][level index].
	Supplemented, SyntheticOnly, Mixed [][]*Model
	// SiteDDPM holds each site's model with site-only synthetic data.
	SiteDDPM []*Model
	// SiteConditioned holds E5's [site][level index]: real data plus the
	// site's own rows drawn as acquired at the other sites.
	SiteConditioned [][]*Model
}

// NewPlan builds the plan over the federated replicas fed[site], the
// site-only replicas alone[site], E5's site-conditioned replicas
// sited[site] (nil: no E5) and the levels of cfg.
func NewPlan(cfg Config, t *Trainer, fed, alone, sited []*Replicas) *Plan {
	e := cfg.Experiments
	p := &Plan{Central: t.CentralModel(), FedAvg: &Model{Key: "fedavg/real/0", Site: -1, Arm: ArmFedAvg}}
	for s := range fed {
		real := t.RealModel(s)
		p.Real = append(p.Real, real)
		var sup, syn, mix []*Model
		for _, l := range e.Levels[1:] {
			sup = append(sup, t.SiteModel(s, ArmSupplemented, l, true, JobSampleFed, func() *model.ImageSet { return fed[s].Level(l) }, real))
		}
		for _, l := range e.SyntheticOnly {
			syn = append(syn, t.SiteModel(s, ArmSynthetic, l, false, JobSampleFed, func() *model.ImageSet { return fed[s].Level(l) }, real))
		}
		for _, l := range e.Mixing {
			mix = append(mix, t.SyntheticModel(s, ArmMixed, l, true, func() *model.ImageSet { return MixOthers(fed, s, l) }, real))
		}
		p.Supplemented, p.SyntheticOnly, p.Mixed = append(p.Supplemented, sup), append(p.SyntheticOnly, syn), append(p.Mixed, mix)
		if alone != nil {
			f := e.FederationLevel
			p.SiteDDPM = append(p.SiteDDPM, t.SiteModel(s, ArmSiteDDPM, f, true, JobSampleAlonePx+alone[s].Site, func() *model.ImageSet { return alone[s].Level(f) }, real))
		}
		if sited != nil {
			var sc []*Model
			for _, l := range e.SiteConditioned {
				sc = append(sc, t.SiteModel(s, ArmSiteConditioned, l, true, JobSampleSites, func() *model.ImageSet { return sited[s].Level(l) }, real))
			}
			p.SiteConditioned = append(p.SiteConditioned, sc)
		}
	}
	return p
}

// First lists the models to train before the others (the fidelity filter
// and the quality judge need them); Rest the others.
func (p *Plan) First() []*Model { return append(append([]*Model(nil), p.Real...), p.Central) }

// Rest lists the remaining models to train.
func (p *Plan) Rest() []*Model {
	var out []*Model
	for s := range p.Real {
		out = append(out, p.Supplemented[s]...)
		out = append(out, p.SyntheticOnly[s]...)
		out = append(out, p.Mixed[s]...)
		if s < len(p.SiteDDPM) {
			out = append(out, p.SiteDDPM[s])
		}
		if s < len(p.SiteConditioned) {
			out = append(out, p.SiteConditioned[s]...)
		}
	}
	return out
}

// Experiments scores E1-E4 into the results.
func (p *Plan) Experiments(ctx context.Context, cfg Config, sc *Scorer, res *report.Results) error {
	e := cfg.Experiments
	var e1, e2, e3, e4, e5 []Row
	last := func(i, n int) bool { return i == n-1 }
	for s, real := range p.Real {
		base := Row{Site: s, Arm: ArmReal, Level: 0, Model: real}
		e1 = append(e1, base)
		for i, l := range e.Levels[1:] {
			e1 = append(e1, Row{Site: s, Arm: ArmSupplemented, Level: l, Model: p.Supplemented[s][i], Baseline: real, PerLabel: last(i, len(e.Levels)-1)})
		}
		e2 = append(e2, base)
		for i, l := range e.SyntheticOnly {
			e2 = append(e2, Row{Site: s, Arm: ArmSynthetic, Level: l, Model: p.SyntheticOnly[s][i], Baseline: real, PerLabel: last(i, len(e.SyntheticOnly))})
		}
		e3 = append(e3, base)
		for i, l := range e.Mixing {
			e3 = append(e3, Row{Site: s, Arm: ArmMixed, Level: l, Model: p.Mixed[s][i], Baseline: real, PerLabel: last(i, len(e.Mixing))})
		}
		e4 = append(e4, p.federationRows(cfg, s)...)
		e5 = append(e5, p.siteConditionedRows(cfg, s)...)
	}
	var err error
	steps := []struct {
		dst        **report.Experiment
		desc, base string
		rows       []Row
	}{
		{&res.Supplementation, "E1: each site's real training images plus N x 100% synthetic replicas of its own rows from the federated DDPM.", "real only (0%)", e1},
		{&res.SyntheticOnly, "E2: classifiers trained on synthetic replicas alone, against the same site's real-only classifier.", "real only (0%)", e2},
		{&res.Mixing, "E3: one site's real images plus synthetic replicas of the other sites' rows, from the federated DDPM that has seen the other sites.", "real only (0%)", e3},
		{&res.Federation, fmt.Sprintf("E4: what federation adds. Synthetic data (%d%%) from a DDPM trained on the site alone against one trained federated; and a classifier trained locally against FedAvg against one trained centrally on pooled data (the upper bound; its external test sets were part of its pool's sites).", e.FederationLevel), "the local real-only classifier", e4},
	}
	if len(p.SiteConditioned) > 0 {
		steps = append(steps, struct {
			dst        **report.Experiment
			desc, base string
			rows       []Row
		}{&res.SiteConditioned, "E5: each site's real training images plus its own rows drawn by a site-conditioned federated DDPM as acquired at the other sites (replica r at the r-th other site), beside E1 (its own rows from the study's DDPM, the sites' mixture) and E3 (the other sites' rows) at the same levels.", "real only (0%)", e5})
	}
	for _, st := range steps {
		if *st.dst, err = sc.Experiment(ctx, st.desc, st.base, st.rows); err != nil {
			return err
		}
	}
	return nil
}

// siteConditionedRows are E5's rows of site s: the real-only baseline,
// then at each E5 level the E5 model and the E1 and E3 models of that
// level where those experiments have it.
func (p *Plan) siteConditionedRows(cfg Config, s int) []Row {
	if s >= len(p.SiteConditioned) {
		return nil
	}
	e := cfg.Experiments
	real := p.Real[s]
	rows := []Row{{Site: s, Arm: ArmReal, Level: 0, Model: real}}
	for i, l := range e.SiteConditioned {
		rows = append(rows, Row{Site: s, Arm: ArmSiteConditioned, Level: l, Model: p.SiteConditioned[s][i], Baseline: real, PerLabel: i == len(e.SiteConditioned)-1})
		if k := slices.Index(e.Levels[1:], l); k >= 0 {
			rows = append(rows, Row{Site: s, Arm: ArmSupplemented, Level: l, Model: p.Supplemented[s][k], Baseline: real})
		}
		if k := slices.Index(e.Mixing, l); k >= 0 {
			rows = append(rows, Row{Site: s, Arm: ArmMixed, Level: l, Model: p.Mixed[s][k], Baseline: real})
		}
	}
	return rows
}

// federationRows are E4's rows of site s.
func (p *Plan) federationRows(cfg Config, s int) []Row {
	real := p.Real[s]
	rows := []Row{{Site: s, Arm: ArmLocal, Level: 0, Model: real}}
	f := cfg.Experiments.FederationLevel
	if s < len(p.SiteDDPM) {
		rows = append(rows, Row{Site: s, Arm: ArmSiteDDPM, Level: f, Model: p.SiteDDPM[s], Baseline: real, PerLabel: true})
	}
	for i, l := range cfg.Experiments.Levels[1:] {
		if l == f {
			rows = append(rows, Row{Site: s, Arm: ArmFederatedDDPM, Level: f, Model: p.Supplemented[s][i], Baseline: real})
		}
	}
	if p.FedAvg.Probs != nil {
		rows = append(rows, Row{Site: s, Arm: ArmFedAvg, Level: 0, Model: p.FedAvg, Baseline: real})
	}
	return append(rows, Row{Site: s, Arm: ArmCentral, Level: 0, Model: p.Central, Baseline: real})
}
