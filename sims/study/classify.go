package study

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
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
}

// Trainer fits the study's classifiers in a pool of workers.
type Trainer struct {
	cfg   Config
	sites []*Site
	log   *slog.Logger
}

// NewClassifierTrainer returns a trainer for the sites' classifiers.
func NewClassifierTrainer(cfg Config, sites []*Site, log *slog.Logger) *Trainer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Trainer{cfg: cfg, sites: sites, log: log}
}

// RealModel is the real-only classifier of site s.
func (t *Trainer) RealModel(s int) *Model {
	site := t.sites[s]
	return &Model{Key: site.Name + "/real/0", Site: s, Arm: ArmReal, data: func() (*model.ImageSet, *model.ImageSet, error) {
		return site.Train, site.Val, nil
	}}
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

// Fit trains every model (each with every classifier seed) on workers
// goroutines and fills their predictions on every site's test set. done
// reports each finished model.
func (t *Trainer) Fit(ctx context.Context, models []*Model, done func(m *Model, finished int)) error {
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(t.cfg.Experiments.Workers)
	var mu sync.Mutex
	finished := 0
	for _, m := range models {
		eg.Go(func() error {
			if err := t.fit(ectx, m); err != nil {
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
		})
	}
	return eg.Wait()
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
		res, err := classifier.Fit(ctx, t.cfg.Classifier.Config, train, val, seed, t.log.With("classifier", m.Key))
		if err != nil {
			return err
		}
		m.Steps += float64(res.Steps) / float64(len(seeds))
		if k == 0 {
			m.Weights, m.History = res.Weights, res.History
		}
		if err := t.predictAll(ctx, m, res.Weights, 1/float32(len(seeds))); err != nil {
			return err
		}
	}
	return nil
}

// predictAll adds share times w's probabilities on every site's test set
// to m.Probs.
func (t *Trainer) predictAll(ctx context.Context, m *Model, w model.Weights, share float32) error {
	p, err := classifier.NewPredictor(t.cfg.Classifier.Arch, w, classifier.PredictBatch)
	if err != nil {
		return err
	}
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
// configured margin.
func (t *Trainer) fidelityFilter(syn *model.ImageSet, ref *Model) (*model.ImageSet, int, error) {
	probs, _, err := classifier.Predict(context.Background(), t.cfg.Classifier.Arch, ref.Weights, syn)
	if err != nil {
		return nil, 0, err
	}
	margin := t.cfg.Classifier.FidelityFilter
	var keep []int
	for i, lab := range syn.Labels {
		ok := true
		for l, v := range lab {
			if (v == model.LabelPositive || v == model.LabelNegative) && math.Abs(float64(probs[i][l])-float64(v)) > margin {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	return Subset(syn, keep), syn.Len() - len(keep), nil
}
