package logreg

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func meanLoss(p *params, d *Dataset, idx []int) float64 {
	var l float64
	for _, i := range idx {
		l += logLoss(p.logit(d.Row(i)), d.Y[i])
	}
	return l / float64(len(idx))
}

// TestGradientFiniteDifference checks the hand-written backward of every
// parameter against central differences, with and without the norm layer.
func TestGradientFiniteDifference(t *testing.T) {
	for _, norm := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Dim, cfg.Norm, cfg.TrainSamples = 5, norm, 20
		d := Generate(cfg, cfg.TrainSamples, 0)
		r := rand.New(rand.NewPCG(3, 4))
		p := &params{w: make([]float64, 5), b: 0.2, norm: norm}
		if norm {
			p.g, p.c = make([]float64, 5), make([]float64, 5)
		}
		for j := range p.w {
			p.w[j] = r.NormFloat64()
			if norm {
				p.g[j], p.c[j] = 1+0.3*r.NormFloat64(), 0.3*r.NormFloat64()
			}
		}
		idx := []int{0, 3, 5, 7, 11, 19}
		g := p.zerosLike()
		p.lossGrad(d, idx, g)
		check := func(name string, v *float64, analytic float64) {
			const h = 1e-6
			old := *v
			*v = old + h
			lp := meanLoss(p, d, idx)
			*v = old - h
			lm := meanLoss(p, d, idx)
			*v = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-analytic) > 1e-6*(1+math.Abs(num)) {
				t.Errorf("norm=%v %s: analytic %v, numeric %v", norm, name, analytic, num)
			}
		}
		check("b", &p.b, g.b)
		for j := range p.w {
			check("w", &p.w[j], g.w[j])
			if norm {
				check("g", &p.g[j], g.g[j])
				check("c", &p.c[j], g.c[j])
			}
		}
	}
}

func TestProxGradient(t *testing.T) {
	p := &params{w: []float64{1, 2}, b: 3}
	a := &params{w: []float64{0, 1}, b: 1}
	g := p.zerosLike()
	p.prox(a, 0.5, g)
	if g.b != 1 || g.w[0] != 0.5 || g.w[1] != 0.5 {
		t.Fatalf("prox gradient %+v", g)
	}
}

func TestTrainImprovesAndIsDeterministic(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Site = 1
	tr, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w0, _ := tr.Init(ctx, 7)
	before, _ := tr.Evaluate(ctx, w0)
	spec := model.TrainSpec{Round: 1, Seed: 11, LocalSteps: 200}
	res, err := tr.Train(ctx, w0, spec)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := tr.Evaluate(ctx, res.Weights)
	if !(after["loss"] < before["loss"]-0.05) || after["accuracy"] < 0.7 {
		t.Fatalf("before %v after %v", before, after)
	}
	res2, _ := tr.Train(ctx, w0, spec)
	if res.Weights.Hash() != res2.Weights.Hash() {
		t.Fatal("same seed gave different weights")
	}
	if res.NumSamples != cfg.TrainSamples {
		t.Fatalf("samples %d", res.NumSamples)
	}
}

func TestSitesDiffer(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	b.Site = 1
	da, db := Generate(a, 50, 0), Generate(b, 50, 0)
	if da.X[0] == db.X[0] {
		t.Fatal("sites share data")
	}
}

func TestTrainCancelled(t *testing.T) {
	cfg := DefaultConfig()
	tr, _ := New(cfg, nil)
	w0, _ := tr.Init(context.Background(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tr.Train(ctx, w0, model.TrainSpec{Params: map[string]string{"delay_ms": "10000"}})
	if err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
}

func TestWrongWeightsRefused(t *testing.T) {
	cfg := DefaultConfig()
	tr, _ := New(cfg, nil)
	bad := model.MustWeights(model.Tensor{Name: WeightName, Shape: []int{1, 3}, Data: make([]float32, 3)})
	if _, err := tr.Evaluate(context.Background(), bad); err == nil {
		t.Fatal("wrong-shape weights accepted")
	}
}

func TestConfigValidateListsAll(t *testing.T) {
	c := Config{Dim: 0, Shift: -1, LearningRate: 0}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"dim", "shift", "learning_rate", "batch_size", "train_samples"} {
		if !contains(err.Error(), want) {
			t.Errorf("error misses %s: %v", want, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
