package study

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/sims/cluster"
)

// The arms of the experiments' rows.
const (
	ArmReal          = "real only"
	ArmSupplemented  = "real+synthetic"
	ArmSynthetic     = "synthetic only"
	ArmMixed         = "real+other sites' synthetic"
	ArmSiteDDPM      = "real+site-only DDPM"
	ArmFederatedDDPM = "real+federated DDPM"
	ArmLocal         = "local"
	ArmFedAvg        = "fedavg"
	ArmCentral       = "central (pooled, upper bound)"
)

// Model is one classifier of the study: what it was trained on and its
// probabilities on every site's test set.
type Model struct {
	// Key identifies it, for example "community/real+synthetic/300".
	Key string
	// Site indexes the site whose data it was trained on (-1: pooled).
	Site int
	// Arm and Level describe its training data.
	Arm   string
	Level int
	// Real and Synthetic count its training images.
	Real, Synthetic int
	// Filtered counts synthetic images the fidelity filter dropped.
	Filtered int
	// Steps is the mean number of optimiser steps over seeds.
	Steps float64
	// Probs holds, per test site, each test image's probabilities
	// averaged over the classifier seeds.
	Probs [][][model.NumLabels]float32
	// Weights are the first seed's weights (features for quality metrics).
	Weights model.Weights
	// History is the first seed's validation history.
	History []classifier.Check

	data func() (train, val *model.ImageSet, err error)
	// job, when set, trains the model at its site with a classifier train
	// job of this data recipe instead of in-process.
	job *coordinator.DataSpec
}

// JobID is the base ID of the model's classifier jobs (without the seed
// and site suffixes).
func (m *Model) JobID() string {
	return "clf." + strings.NewReplacer("/", ".", " ", "", "+", "", "'", "", "(", "", ")", "", ",", "").Replace(m.Key)
}

// ClassifierJobs trains a classifier with a job and returns its weights
// and rounds (the Consortium implements it).
type ClassifierJobs interface {
	TrainClassifier(ctx context.Context, spec coordinator.JobSpec) (model.Weights, []coordinator.RoundRecord, error)
}

// Trainer trains the study's classifiers: each site's own with classifier
// train jobs at the site (one after another, as the coordinator runs jobs),
// the researcher's (central pooled, mixed sources) in-process beside them.
type Trainer struct {
	cfg   Config
	sites []*Site
	log   *slog.Logger
	jobs  ClassifierJobs
	// dev, when not nil, runs the in-process training and prediction,
	// each holding one of slots (when not nil) while it computes.
	dev   graph.Device
	slots *cluster.Slots
}

// NewClassifierTrainer returns a trainer for the sites' classifiers; jobs
// may be nil, and then every model trains in-process.
func NewClassifierTrainer(cfg Config, sites []*Site, jobs ClassifierJobs, log *slog.Logger) *Trainer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Trainer{cfg: cfg, sites: sites, jobs: jobs, log: log}
}

// UseDevice runs the researcher's in-process classifier training and
// every test-set prediction on b's device (resident), each holding a slot
// of slots, as the sites' jobs do; a CPU backend or nil changes nothing.
func (t *Trainer) UseDevice(b *device.Backend, slots *cluster.Slots) {
	if b == nil || !b.OnDevice() {
		return
	}
	t.dev, t.slots = b, slots
}

// deviceSlot takes a slot when the trainer computes on a shared device.
func (t *Trainer) deviceSlot(ctx context.Context) (func(), error) {
	if t.dev == nil || t.slots == nil {
		return func() {}, nil
	}
	return t.slots.Acquire(ctx)
}

// RealModel is the real-only classifier of site s.
func (t *Trainer) RealModel(s int) *Model {
	site := t.sites[s]
	return &Model{Key: site.Name + "/real/0", Site: s, Arm: ArmReal, job: &coordinator.DataSpec{Real: true}, data: func() (*model.ImageSet, *model.ImageSet, error) {
		return site.Train, site.Val, nil
	}}
}

// SiteModel is a classifier site s trains with a job on its real data
// (when withReal) and level% of the replicas from sample job sampleJob,
// filtered by filter's real-only classifier when the fidelity filter is
// on. synth gives the same images for in-process training.
func (t *Trainer) SiteModel(s int, arm string, level int, withReal bool, sampleJob string, synth func() *model.ImageSet, filter *Model) *Model {
	m := t.SyntheticModel(s, arm, level, withReal, synth, filter)
	tc := t.cfg.Classifier
	m.job = &coordinator.DataSpec{Real: withReal, SyntheticLevel: level / 100, SyntheticJob: sampleJob,
		RealFraction: tc.Train.RealFraction, SyntheticWeight: tc.Train.SyntheticWeight}
	if tc.FidelityFilter > 0 && filter != nil {
		m.job.Fidelity = coordinator.FidelitySpec{Checkpoint: coordinator.RefJobPrefix + filter.JobID() + ".s1." + t.sites[s].Name, Threshold: 1 - tc.FidelityFilter}
	}
	return m
}

// CentralModel is the classifier trained on every site's real data pooled.
func (t *Trainer) CentralModel() *Model {
	return &Model{Key: "central/real/0", Site: -1, Arm: ArmCentral, data: func() (*model.ImageSet, *model.ImageSet, error) {
		var tr, va []*model.ImageSet
		for _, s := range t.sites {
			tr, va = append(tr, s.Train), append(va, s.Val)
		}
		return Pool(tr...), Pool(va...), nil
	}}
}

// SyntheticModel is a classifier of site s trained on synth (plus the
// site's real training images when withReal), filtered by filter when the
// fidelity filter is on.
func (t *Trainer) SyntheticModel(s int, arm string, level int, withReal bool, synth func() *model.ImageSet, filter *Model) *Model {
	site := t.sites[s]
	m := &Model{Key: fmt.Sprintf("%s/%s/%d", site.Name, arm, level), Site: s, Arm: arm, Level: level}
	m.data = func() (*model.ImageSet, *model.ImageSet, error) {
		syn := synth()
		if t.cfg.Classifier.FidelityFilter > 0 && filter != nil {
			kept, dropped, err := t.fidelityFilter(syn, filter)
			if err != nil {
				return nil, nil, err
			}
			syn, m.Filtered = kept, dropped
		}
		if !withReal {
			return syn, site.Val, nil
		}
		return Pool(site.Train, syn), site.Val, nil
	}
	return m
}

// Fit trains every model (each with every classifier seed) and fills its
// predictions on every site's test set: site models with jobs, one after
// another, and the others in-process on the remaining workers meanwhile.
// done reports each finished model.
func (t *Trainer) Fit(ctx context.Context, models []*Model, done func(m *Model, finished int)) error {
	var mu sync.Mutex
	finished := 0
	finish := func(m *Model, err error) error {
		if err != nil {
			return fmt.Errorf("study: classifier %s: %w", m.Key, err)
		}
		mu.Lock()
		finished++
		n := finished
		mu.Unlock()
		if done != nil {
			done(m, n)
		}
		return nil
	}
	var viaJobs, local []*Model
	for _, m := range models {
		if m.job != nil && t.jobs != nil {
			viaJobs = append(viaJobs, m)
		} else {
			local = append(local, m)
		}
	}
	eg, ectx := errgroup.WithContext(ctx)
	workers := t.cfg.Experiments.Workers
	if len(viaJobs) > 0 {
		workers = max(1, workers-1)
		eg.Go(func() error {
			for _, m := range viaJobs {
				if err := finish(m, t.fitJob(ectx, m)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	sem := make(chan struct{}, workers)
	for _, m := range local {
		eg.Go(func() error {
			select {
			case sem <- struct{}{}:
			case <-ectx.Done():
				return ectx.Err()
			}
			defer func() { <-sem }()
			return finish(m, t.fit(ectx, m))
		})
	}
	return eg.Wait()
}

// fitJob trains m at its site with one classifier train job per seed
// (mode local: the site alone, rounds of eval_every steps up to
// max_steps) and averages the probabilities of the jobs' final models.
func (t *Trainer) fitJob(ctx context.Context, m *Model) error {
	tc := t.cfg.Classifier
	site := t.sites[m.Site]
	rows := site.Train.Len()
	m.Real, m.Synthetic = 0, m.job.SyntheticLevel*rows
	if m.job.Real || m.job.SyntheticLevel == 0 {
		m.Real = rows
	}
	rounds := max(1, tc.Train.MaxSteps/tc.Train.EvalEvery)
	seeds := t.cfg.Seeds.Classifier
	for k, seed := range seeds {
		spec, err := trainJob(t.cfg, fmt.Sprintf("%s.s%d", m.JobID(), k+1), ModelClassifier, []string{site.Name}, rounds, tc.Train.EvalEvery, tc.Train.BatchSize, tc.Config, 0)
		if err != nil {
			return err
		}
		off := false
		spec.Mode, spec.Quorum, spec.Seed, spec.SecureAggregation, spec.Data = coordinator.ModeLocal, 1, seed, &off, *m.job
		w, recs, err := t.jobs.TrainClassifier(ctx, spec)
		if err != nil {
			return err
		}
		m.Steps += float64(rounds*tc.Train.EvalEvery) / float64(len(seeds))
		if k == 0 {
			m.Weights, m.History = w, jobHistory(recs, tc.Train.EvalEvery)
		}
		if err := t.predictAll(ctx, m, w, 1/float32(len(seeds))); err != nil {
			return err
		}
	}
	return nil
}

// jobHistory is a job's validation loss by step, from the loss its site
// measured on each round's starting model.
func jobHistory(rounds []coordinator.RoundRecord, steps int) []classifier.Check {
	var out []classifier.Check
	for _, r := range rounds {
		if v, ok := r.Summary.Metrics["eval_val_loss"]; ok && r.Summary.Round > 0 {
			out = append(out, classifier.Check{Step: (r.Summary.Round - 1) * steps, TrainLoss: r.Summary.Metrics["train_loss"], ValLoss: v})
		}
	}
	return out
}

// fit trains one model over the seeds and averages its probabilities.
func (t *Trainer) fit(ctx context.Context, m *Model) error {
	train, val, err := m.data()
	if err != nil {
		return err
	}
	m.Real, m.Synthetic = 0, 0
	for i := range train.Len() {
		if train.Synthetic != nil && train.Synthetic[i] {
			m.Synthetic++
		} else {
			m.Real++
		}
	}
	seeds := t.cfg.Seeds.Classifier
	for k, seed := range seeds {
		w, hist, steps, err := t.trainRounds(ctx, train, val, seed)
		if err != nil {
			return err
		}
		m.Steps += float64(steps) / float64(len(seeds))
		if k == 0 {
			m.Weights, m.History = w, hist
		}
		if err := t.predictAll(ctx, m, w, 1/float32(len(seeds))); err != nil {
			return err
		}
	}
	return nil
}

// trainRounds trains a classifier in-process exactly as a local classifier
// train job does at a site, so that researcher-only models compare fairly
// with the sites' own: the model.Trainer from the job seed's initial
// weights, max_steps/eval_every rounds of eval_every steps (the optimiser
// restarting each round, the seeds the coordinator would send), and the
// final weights; the validation loss is measured at the start of each
// round, as an agent does before training.
func (t *Trainer) trainRounds(ctx context.Context, train, val *model.ImageSet, seed int64) (model.Weights, []classifier.Check, int, error) {
	tc := t.cfg.Classifier
	tr, err := classifier.NewTrainer(tc.Config, train, val, t.log)
	if err != nil {
		return model.Weights{}, nil, 0, err
	}
	if t.dev != nil {
		tr.UseDevice(t.dev)
	}
	release, err := t.deviceSlot(ctx)
	if err != nil {
		return model.Weights{}, nil, 0, err
	}
	defer release()
	w, err := tr.Init(ctx, seed)
	if err != nil {
		return model.Weights{}, nil, 0, err
	}
	rounds, steps := max(1, tc.Train.MaxSteps/tc.Train.EvalEvery), tc.Train.EvalEvery
	var hist []classifier.Check
	for r := 1; r <= rounds; r++ {
		ev, err := tr.Evaluate(ctx, w)
		if err != nil {
			return model.Weights{}, nil, 0, err
		}
		res, err := tr.Train(ctx, w, model.TrainSpec{Round: r, LocalSteps: steps, BatchSize: tc.Train.BatchSize, Seed: seed*1_000_003 + int64(r)*1009})
		if err != nil {
			return model.Weights{}, nil, 0, err
		}
		hist = append(hist, classifier.Check{Step: (r - 1) * steps, TrainLoss: res.Metrics["loss"], ValLoss: ev["val_loss"]})
		w = res.Weights
	}
	return w, hist, rounds * steps, nil
}

// predictAll adds share times w's probabilities on every site's test set
// to m.Probs.
func (t *Trainer) predictAll(ctx context.Context, m *Model, w model.Weights, share float32) error {
	p, err := classifier.NewPredictor(t.cfg.Classifier.Arch, w, classifier.PredictBatch)
	if err != nil {
		return err
	}
	if t.dev != nil {
		p.UseDevice(t.dev)
	}
	release, err := t.deviceSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	if m.Probs == nil {
		m.Probs = make([][][model.NumLabels]float32, len(t.sites))
	}
	for j, s := range t.sites {
		probs, _, err := p.Predict(ctx, s.Test)
		if err != nil {
			return err
		}
		if m.Probs[j] == nil {
			m.Probs[j] = make([][model.NumLabels]float32, len(probs))
		}
		for i := range probs {
			for l := range probs[i] {
				m.Probs[j][i][l] += share * probs[i][l]
			}
		}
	}
	return nil
}

// PredictWeights fills m's predictions from given weights (the FedAvg
// classifier, trained by the consortium).
func (t *Trainer) PredictWeights(ctx context.Context, m *Model, w model.Weights) error {
	m.Weights = w
	return t.predictAll(ctx, m, w, 1)
}

// fidelityFilter keeps the synthetic images whose 0/1 conditioning labels
// the real-only classifier ref does not contradict by more than the
// configured margin (classifier.Faithful at threshold 1 - margin, the rule
// the sites apply to their own data recipes).
func (t *Trainer) fidelityFilter(syn *model.ImageSet, ref *Model) (*model.ImageSet, int, error) {
	probs, _, err := classifier.Predict(context.Background(), t.cfg.Classifier.Arch, ref.Weights, syn)
	if err != nil {
		return nil, 0, err
	}
	keep := classifier.Faithful(syn.Labels, probs, 1-t.cfg.Classifier.FidelityFilter)
	return syn.Subset(keep), syn.Len() - len(keep), nil
}
