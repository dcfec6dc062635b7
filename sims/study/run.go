package study

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/sims/cluster"
)

// Options are a run's injected parts; the zero value is usable.
type Options struct {
	// Logger receives the components' logs (nil: discard).
	Logger *slog.Logger
	// Clock times the phases (nil: the wall clock). The consortium runs on
	// the wall clock: its deadlines bound real training.
	Clock clock.Clock
	// Progress shows the run's progress (nil: nothing).
	Progress *Progress
	// Cluster adjusts the consortium's options before it starts: fault
	// injection, secure-aggregation wiring.
	Cluster func(*cluster.Options)
	// Compute, when not nil, is the backend every simulated site computes
	// on (the caller opens and closes it; nil: each agent selects its own
	// from its default [compute] section).
	Compute *device.Backend
	// Slots, when not nil, bounds the device jobs the sites run at once
	// on Compute's device.
	Slots *cluster.Slots
}

// run is one execution of the study.
type run struct {
	cfg  Config
	opts Options
	out  string
	clk  clock.Clock
	log  *slog.Logger
	prog *Progress

	res    *report.Results
	sites  []*Site
	fed    *Generator
	alone  []*Generator
	sited  *Generator     // E5's site-conditioned federated DDPM
	pools  [3][]*Replicas // federated, site-only, site-conditioned (E5)
	fedavg model.Weights
	plan   *Plan
	counts map[string]*Counts
	rounds map[string][]coordinator.RoundRecord
	kons   *Consortium
	// roundsDone counts the rounds committed in the current phase, whose
	// progress counts rounds when byRound is set.
	roundsDone int
	byRound    bool
	mu         sync.Mutex
	rejected   int
	fedCurve   []float64
}

// Run executes the study under out: it renders the consortium (out/data),
// runs the federation (out/consortium), trains, samples, scores, and
// writes out/results.json, out/report.md, out/report.html and the plots.
func Run(ctx context.Context, cfg Config, out string, opts Options) (*report.Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.New()
	}
	removed, err := prepareOut(out)
	if err != nil {
		return nil, err
	}
	if len(removed) > 0 {
		opts.Logger.Info("removed the previous run's state", "folders", removed)
	}
	r := &run{cfg: cfg, opts: opts, out: out, clk: opts.Clock, log: opts.Logger, prog: opts.Progress,
		rounds: map[string][]coordinator.RoundRecord{}}
	defer r.closeConsortium()
	r.res = &report.Results{Schema: report.SchemaVersion, Title: cfg.Title, Profile: cfg.Profile, Started: r.clk.Now().UTC().Format(time.RFC3339)}
	steps := []struct {
		name, unit string
		total      int
		fn         func(context.Context) error
	}{
		{"phantom", "sites", cfg.Sites, r.render},
		{"ddpm-federated", "rounds", cfg.DDPM.Rounds, r.federate},
		{"classifier-fedavg", "rounds", cfg.Classifier.FedAvgRounds, r.fedAvg},
		{"ddpm-site-only", "rounds", cfg.Sites * cfg.DDPM.Rounds, r.trainAlone},
		{"ddpm-site-conditioned", "rounds", cfg.DDPM.Rounds, r.trainSites},
		{"sampling", "images", r.imagesToSample(), r.sample},
		{"classifiers", "classifiers", 0, r.classify},
		{"evaluation", "experiments", 5, r.evaluate},
		{"quality", "generators", 1 + cfg.Sites, r.quality},
	}
	for _, st := range steps {
		if st.name == "ddpm-site-conditioned" && cfg.SiteLevel() == 0 {
			continue
		}
		if err := r.phase(ctx, st.name, st.total, st.unit, st.fn); err != nil {
			return r.res, err
		}
	}
	start := r.clk.Now()
	r.finish()
	r.res.Phases = append(r.res.Phases, report.Phase{Name: "report", WallSeconds: r.clk.Since(start).Seconds()})
	return r.res, r.write()
}

// phase runs fn as a timed phase.
func (r *run) phase(ctx context.Context, name string, total int, unit string, fn func(context.Context) error) error {
	r.mu.Lock()
	r.roundsDone, r.byRound = 0, unit == "rounds"
	r.mu.Unlock()
	start := r.clk.Now()
	r.prog.Start(name, total, unit)
	err := fn(ctx)
	d := r.clk.Since(start)
	r.res.Phases = append(r.res.Phases, report.Phase{Name: name, WallSeconds: d.Seconds()})
	r.prog.End(name, d)
	if err != nil {
		return fmt.Errorf("phase %s: %w", name, err)
	}
	return nil
}

func (r *run) render(ctx context.Context) error {
	var err error
	r.sites, err = RenderConsortium(ctx, r.cfg, filepath.Join(r.out, "data"), r.log)
	if err != nil {
		return err
	}
	for _, s := range r.sites {
		r.prog.Note("site %-10s %4d train  %3d validation  %4d test images  (%d refused by the loader)", s.Name, s.Train.Len(), s.Val.Len(), s.Test.Len(), s.Rejected())
	}
	r.prog.Update(len(r.sites))
	return nil
}

// federate starts the consortium and runs the federated DDPM job.
func (r *run) federate(ctx context.Context) error {
	co := cluster.Options{Logger: r.log, Compute: r.opts.Compute, Slots: r.opts.Slots}
	if r.opts.Cluster != nil {
		r.opts.Cluster(&co)
	}
	last := time.Now()
	k, err := StartConsortium(ctx, r.cfg, r.sites, filepath.Join(r.out, "consortium"), co, func(s coordinator.RoundSummary) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if s.Round > 0 && r.byRound {
			r.roundsDone++
			steps, batch := r.cfg.DDPM.LocalSteps, r.cfg.DDPM.Train.BatchSize
			if s.Job == JobClassifier {
				steps, batch = r.cfg.Classifier.FedAvgLocalSteps, r.cfg.Classifier.Train.BatchSize
			}
			imgs := float64(len(s.Accepted) * steps * batch)
			loss := any("n/a (secure aggregation)")
			if v, ok := s.Metrics["train_loss"]; ok {
				loss = v
			}
			r.prog.Update(r.roundsDone, "job", s.Job, "round", s.Round, "loss", loss, "train images/s", imgs/time.Since(last).Seconds())
		}
		last = time.Now()
	})
	if err != nil {
		return err
	}
	r.kons = k
	if r.fed, err = k.WaitDDPM(ctx); err != nil {
		return err
	}
	r.rounds[JobDDPM], err = k.Cluster().Coordinator().Rounds(JobDDPM)
	return err
}

// fedAvg runs the FedAvg classifier job.
func (r *run) fedAvg(ctx context.Context) error {
	k := r.kons
	w, rounds, err := k.TrainClassifierFedAvg(ctx)
	if err != nil {
		return err
	}
	r.fedavg, r.rounds[JobClassifier] = w, rounds
	r.fedCurve, err = k.ClassifierCurve(ctx, rounds)
	return err
}

// closeConsortium stops the consortium if it runs, after taking the
// sites' refusal and dropout counts from the audit log.
func (r *run) closeConsortium() error {
	if r.kons == nil {
		return nil
	}
	counts, err := r.kons.SiteCounts()
	if err == nil {
		r.counts = counts
	}
	if kits := r.kons.Cluster().Kits(); kits != nil {
		r.rejected = kits.RejectedCount()
	}
	err = errors.Join(err, r.kons.Close())
	r.kons = nil
	return err
}

// trainAlone runs the site-only DDPM jobs, one site after another.
func (r *run) trainAlone(ctx context.Context) error {
	var err error
	r.alone, err = r.kons.TrainAlone(ctx)
	return err
}

// imagesToSample estimates the synthetic images of the sampling phase.
func (r *run) imagesToSample() int {
	rows := 0
	for _, s := range r.sites {
		rows += s.Train.Len()
	}
	if rows == 0 {
		rows = r.cfg.Data.ImagesPerSite * r.cfg.Sites
	}
	return rows * (r.cfg.MaxLevel() + r.cfg.Experiments.FederationLevel + r.cfg.SiteLevel()) / 100
}

// trainSites runs E5's site-conditioned federated DDPM job.
func (r *run) trainSites(ctx context.Context) error {
	var err error
	r.sited, err = r.kons.TrainSiteConditioned(ctx)
	return err
}

// sample runs the sample jobs: every site draws replicas of its training
// rows from the federated DDPM (up to the highest level) and from its
// site-only DDPM (the federation level), into its synthetic folder; then
// the researcher reads each site's set back for the in-process work.
func (r *run) sample(ctx context.Context) error {
	r.prog.Start("sampling", r.imagesToSample(), "images")
	start := time.Now()
	all := make([]int, len(r.sites))
	for i := range all {
		all[i] = i
	}
	fed, err := r.kons.Sample(ctx, JobSampleFed, JobDDPM, r.fed.Name, all, r.cfg.MaxLevel()/100)
	if err != nil {
		return err
	}
	r.pools[0] = fed
	n := 0
	for _, p := range fed {
		n += p.Set.Len()
	}
	r.prog.Update(n, "generator", r.fed.Name, "images/s", rate(n, time.Since(start)))
	for i, s := range r.sites {
		rep, err := r.kons.Sample(ctx, JobSampleAlonePx+s.Name, JobDDPMAlone+"."+s.Name, r.alone[i].Name, []int{i}, r.cfg.Experiments.FederationLevel/100)
		if err != nil {
			return err
		}
		r.pools[1] = append(r.pools[1], rep[0])
		n += rep[0].Set.Len()
		r.prog.Update(n, "generator", r.alone[i].Name, "images/s", rate(n, time.Since(start)))
	}
	if r.sited != nil {
		rep, err := r.kons.SampleOtherSites(ctx, r.sited.Name, r.cfg.SiteLevel()/100)
		if err != nil {
			return err
		}
		r.pools[2] = rep
		for _, p := range rep {
			n += p.Set.Len()
		}
		r.prog.Update(n, "generator", r.sited.Name, "images/s", rate(n, time.Since(start)))
	}
	r.prog.Note("sampled %d images at the sites at %.1f images/s (%d DDIM steps, sample jobs)", n, rate(n, time.Since(start)), r.cfg.DDPM.Sample.Steps)
	return nil
}

// classify trains every classifier of the plan and scores the FedAvg one.
func (r *run) classify(ctx context.Context) error {
	t := NewClassifierTrainer(r.cfg, r.sites, r.kons, r.log)
	t.UseDevice(r.opts.Compute, r.opts.Slots)
	r.plan = NewPlan(r.cfg, t, r.pools[0], r.pools[1], r.pools[2])
	first, rest := r.plan.First(), r.plan.Rest()
	total := len(first) + len(rest)
	r.prog.Start("classifiers", total, "classifiers")
	start := time.Now()
	offset := 0
	report := func(m *Model, n int) {
		r.prog.Update(offset+n, "last", m.Key, "steps", m.Steps, "classifiers/min", float64(offset+n)/time.Since(start).Minutes())
	}
	if err := t.Fit(ctx, first, report); err != nil {
		return err
	}
	offset = len(first)
	if err := t.Fit(ctx, rest, report); err != nil {
		return err
	}
	if r.fedavg.Len() > 0 {
		if err := t.PredictWeights(ctx, r.plan.FedAvg, r.fedavg); err != nil {
			return err
		}
	}
	return r.closeConsortium()
}

func (r *run) evaluate(ctx context.Context) error {
	sc := NewScorer(r.cfg, r.sites)
	var err error
	if r.res.Regime, err = sc.Regime(ctx, r.plan.Real, r.plan.Central, r.cfg.Eval.TargetHalfWidth); err != nil {
		return err
	}
	r.prog.Note("regime: %s", r.res.Regime.Verdict)
	return r.plan.Experiments(ctx, r.cfg, sc, r.res)
}

// quality scores every generator's samples with the central classifier as
// the judge, and draws the sample grids.
func (r *run) quality(ctx context.Context) error {
	j, err := NewJudge(r.cfg, r.plan.Central.Weights)
	if err != nil {
		return err
	}
	var trains, tests []*model.ImageSet
	for _, s := range r.sites {
		trains, tests = append(trains, s.Train), append(tests, s.Test)
	}
	pooled := Pool(trains...)
	sj, err := NewSiteJudge(r.sites)
	if err != nil {
		return err
	}
	per := max(1, r.cfg.Eval.QualityImages/len(r.sites))
	ref, _, err := j.Quality(ctx, QualityReference, capped(Pool(tests...), r.cfg.Eval.QualityImages), pooled)
	if err != nil {
		return err
	}
	cappedTests := make([]*model.ImageSet, len(tests))
	for i, t := range tests {
		cappedTests[i] = capped(t, per)
	}
	if err := withSiteFidelity(&ref, sj, func() (float64, error) { return sj.Real(cappedTests) }); err != nil {
		return err
	}
	r.res.Quality = append(r.res.Quality, ref)
	fedSample := QualitySample(r.cfg, r.pools[0])
	q, mem, err := j.Quality(ctx, r.fed.Name, fedSample, pooled)
	if err != nil {
		return err
	}
	if err := withSiteFidelity(&q, sj, func() (float64, error) { return sj.Replicas(r.pools[0], per) }); err != nil {
		return err
	}
	r.res.Quality, r.res.Memorisation = append(r.res.Quality, q), append(r.res.Memorisation, mem)
	r.prog.Update(1)
	if r.sited != nil {
		q, mem, err := j.Quality(ctx, r.sited.Name+" (own rows as other sites)", QualitySample(r.cfg, r.pools[2]), pooled)
		if err != nil {
			return err
		}
		if err := withSiteFidelity(&q, sj, func() (float64, error) { return sj.Replicas(r.pools[2], per) }); err != nil {
			return err
		}
		r.res.Quality, r.res.Memorisation = append(r.res.Quality, q), append(r.res.Memorisation, mem)
	}
	for i, s := range r.sites {
		q, mem, err := j.Quality(ctx, r.alone[i].Name, QualitySample(r.cfg, r.pools[1][i:i+1]), s.Train)
		if err != nil {
			return err
		}
		if err := withSiteFidelity(&q, sj, func() (float64, error) { return sj.Replicas(r.pools[1][i:i+1], per) }); err != nil {
			return err
		}
		r.res.Quality, r.res.Memorisation = append(r.res.Quality, q), append(r.res.Memorisation, mem)
		r.prog.Update(2 + i)
	}
	e := r.cfg.Eval
	r.res.SampleGrids = []report.SampleGrid{
		Grid("real training images", pooled, e.GridConditions, e.GridImages),
		Grid("federated DDPM", fedSample, e.GridConditions, e.GridImages),
		Grid(r.alone[0].Name+" DDPM", QualitySample(r.cfg, r.pools[1][:1]), e.GridConditions, e.GridImages),
	}
	if r.sited != nil {
		r.res.SampleGrids = append(r.res.SampleGrids, Grid("site-conditioned federated DDPM: own rows as other sites", QualitySample(r.cfg, r.pools[2]), e.GridConditions, e.GridImages))
	}
	return nil
}
