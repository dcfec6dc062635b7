package study

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/optim"
)

// Costs are measured unit costs of a configuration on this machine, in
// seconds of wall time.
type Costs struct {
	// DDPMStep is one DDPM training step at the configured batch size.
	DDPMStep float64 `json:"ddpm_step"`
	// SampleImage is one synthetic image (every DDIM step), in batches of
	// the configured size.
	SampleImage float64 `json:"sample_image"`
	// ClassifierStep is one classifier training step.
	ClassifierStep float64 `json:"classifier_step"`
	// ClassifierImage is one test image scored by a classifier.
	ClassifierImage float64 `json:"classifier_image"`
}

// Calibrate measures the unit costs of cfg's models: a few DDPM steps, a
// sampling batch and a few classifier steps on blank images, after one
// warm-up call each. It takes a few seconds.
func Calibrate(ctx context.Context, cfg Config) (Costs, error) {
	var c Costs
	dc := cfg.DDPM.Config
	w, err := dc.Arch.InitWeights(1)
	if err != nil {
		return c, err
	}
	st, err := ddpm.NewStepper(dc, w, 1)
	if err != nil {
		return c, err
	}
	n, px := dc.Train.BatchSize, cfg.Data.Size*cfg.Data.Size
	x, conds := make([]float32, n*px), make([][model.CondDim]float32, n)
	if c.DDPMStep, err = timeIt(3, func() error { _, err := st.Step(x, conds); return err }); err != nil {
		return c, err
	}
	s, err := ddpm.NewSampler(dc, w)
	if err != nil {
		return c, err
	}
	b := dc.Sample.BatchSize
	seeds, sc := make([]int64, b), make([][model.CondDim]float32, b)
	per, err := timeIt(1, func() error { _, err := s.Sample(ctx, sc, seeds); return err })
	if err != nil {
		return c, err
	}
	c.SampleImage = per / float64(b)
	cc := cfg.Classifier.Config
	cw, err := cc.Arch.InitWeights(1)
	if err != nil {
		return c, err
	}
	cs, err := classifier.NewStepper(cc, cw, 1)
	if err != nil {
		return c, err
	}
	m := cc.Train.BatchSize
	set := &model.ImageSet{Size: cfg.Data.Size, Pixels: make([]float32, m*px), Cond: make([][model.CondDim]float32, m), Labels: make([][model.NumLabels]model.Label, m)}
	idx := optim.Range(m)
	if c.ClassifierStep, err = timeIt(5, func() error { _, err := cs.Step(set, idx); return err }); err != nil {
		return c, err
	}
	p, err := classifier.NewPredictor(cc.Arch, cw, classifier.PredictBatch)
	if err != nil {
		return c, err
	}
	k := 4 * classifier.PredictBatch
	test := &model.ImageSet{Size: cfg.Data.Size, Pixels: make([]float32, k*px), Cond: make([][model.CondDim]float32, k), Labels: make([][model.NumLabels]model.Label, k)}
	per, err = timeIt(1, func() error { _, _, err := p.Predict(ctx, test); return err })
	c.ClassifierImage = per / float64(k)
	return c, err
}

// timeIt runs fn once to warm up, then n times, and returns the mean.
func timeIt(n int, fn func() error) (float64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	start := time.Now()
	for range n {
		if err := fn(); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds() / float64(n), nil
}

// PhaseBudget is the estimated wall time of one phase.
type PhaseBudget struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Work    string  `json:"work"`
}

// Budget is a run's estimated wall time by phase.
type Budget struct {
	Costs  Costs         `json:"costs"`
	Phases []PhaseBudget `json:"phases"`
	Total  float64       `json:"total"`
}

// EstimateBudget estimates each phase from unit costs, assuming the sites'
// work shares the machine's cores (so it adds up) and classifiers run to
// max_steps (early stopping only shortens them).
func EstimateBudget(cfg Config, c Costs) Budget {
	d := cfg.Data
	rows := float64(d.ImagesPerSite) * (1 - d.TestFraction) * (1 - d.ValFraction)
	tests := float64(d.ImagesPerSite)*d.TestFraction + float64(d.TestImagesPerSite)
	sites := float64(cfg.Sites)
	ddpmSteps := sites * float64(cfg.DDPM.Rounds*cfg.DDPM.LocalSteps)
	images := sites * rows * float64(cfg.MaxLevel()+cfg.Experiments.FederationLevel+cfg.SiteLevel()) / 100
	e := cfg.Experiments
	models := float64(cfg.Sites*(len(e.Levels)+len(e.SyntheticOnly)+len(e.Mixing)+1+len(e.SiteConditioned)) + 1)
	seeds := float64(len(cfg.Seeds.Classifier))
	clsSteps := models * seeds * float64(cfg.Classifier.Train.MaxSteps)
	scored := models * seeds * sites * tests
	fedSteps := sites * float64(cfg.Classifier.FedAvgRounds*cfg.Classifier.FedAvgLocalSteps)
	rendered := cfg.Sites * (d.ImagesPerSite + d.TestImagesPerSite)
	b := Budget{Costs: c, Phases: []PhaseBudget{
		{"phantom", 0.004 * float64(rendered), fmt.Sprintf("%d images (%d held-out test)", rendered, cfg.Sites*d.TestImagesPerSite)},
		{"ddpm-federated", ddpmSteps * c.DDPMStep, fmt.Sprintf("%.0f DDPM steps", ddpmSteps)},
		{"classifier-fedavg", fedSteps * c.ClassifierStep, fmt.Sprintf("%.0f classifier steps", fedSteps)},
		{"ddpm-site-only", ddpmSteps * c.DDPMStep, fmt.Sprintf("%.0f DDPM steps", ddpmSteps)},
	}}
	if cfg.SiteLevel() > 0 {
		b.Phases = append(b.Phases, PhaseBudget{"ddpm-site-conditioned", ddpmSteps * c.DDPMStep, fmt.Sprintf("%.0f DDPM steps (E5)", ddpmSteps)})
	}
	b.Phases = append(b.Phases,
		PhaseBudget{"sampling", images * c.SampleImage, fmt.Sprintf("%.0f images", images)},
		PhaseBudget{"classifiers", clsSteps*c.ClassifierStep + scored*c.ClassifierImage, fmt.Sprintf("%.0f models x %.0f seeds, at most %.0f steps; %.0f test images scored", models, seeds, clsSteps, scored)},
		PhaseBudget{"evaluation", 5 + 2e-7*float64(cfg.Eval.BootstrapReps)*models*sites*tests, "bootstrap and DeLong"},
		PhaseBudget{"quality", 5, "features, distances"})
	for _, p := range b.Phases {
		b.Total += p.Seconds
	}
	return b
}

// Write prints the budget as a table.
func (b Budget) Write(w io.Writer) {
	fmt.Fprintf(w, "unit costs: DDPM step %.3fs, synthetic image %.4fs, classifier step %.4fs, scored test image %.5fs\n", b.Costs.DDPMStep, b.Costs.SampleImage, b.Costs.ClassifierStep, b.Costs.ClassifierImage)
	for _, p := range b.Phases {
		fmt.Fprintf(w, "  %-18s %7.0fs  %s\n", p.Name, p.Seconds, p.Work)
	}
	fmt.Fprintf(w, "  %-18s %7.0fs  (%.1f min)\n", "total", b.Total, b.Total/60)
}
