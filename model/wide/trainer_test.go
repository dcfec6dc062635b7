package wide

import (
	"context"
	"errors"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func small(site int) Config {
	c := DefaultConfig()
	c.Features, c.Site, c.NNZ, c.TrainRows, c.ValRows = 2000, site, 8, 400, 400
	return c
}

// TestTrainLowersLoss: local training lowers the validation loss and
// raises accuracy above chance, touches only the rows' features, and
// leaves the global model unchanged.
func TestTrainLowersLoss(t *testing.T) {
	ctx := context.Background()
	tr, err := New(small(0))
	if err != nil {
		t.Fatal(err)
	}
	g, err := tr.Init(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := tr.Evaluate(ctx, g)
	hash := g.Hash()
	res, err := tr.Train(ctx, g, model.TrainSpec{LocalSteps: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if g.Hash() != hash {
		t.Fatal("Train changed the global model")
	}
	after, _ := tr.Evaluate(ctx, res.Weights)
	if !(after["loss"] < before["loss"]) || after["acc"] < 0.6 {
		t.Fatalf("validation before %v, after %v", before, after)
	}
	touched := map[int32]bool{}
	for _, j := range tr.train.idx {
		touched[j] = true
	}
	gw, _ := g.Get(WeightName)
	lw, _ := res.Weights.Get(WeightName)
	for j := range gw.Data {
		if gw.Data[j] != lw.Data[j] && !touched[int32(j)] {
			t.Fatalf("weight %d changed without a row using it", j)
		}
	}
	if res.NumSamples != 400 {
		t.Fatalf("samples %d", res.NumSamples)
	}
}

// TestInitSameEverywhere: every site's Init of one seed is identical,
// another seed differs.
func TestInitSameEverywhere(t *testing.T) {
	ctx := context.Background()
	a, _ := New(small(0))
	b, _ := New(small(3))
	wa, _ := a.Init(ctx, 1)
	wb, _ := b.Init(ctx, 1)
	wc, _ := b.Init(ctx, 2)
	if wa.Hash() != wb.Hash() || wa.Hash() == wc.Hash() {
		t.Fatal("init is not a function of the seed alone")
	}
	if wa.NumParams() != 2001 {
		t.Fatalf("%d params", wa.NumParams())
	}
}

// TestRefusals: FedProx, a wrong model and a bad config are refused.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	tr, _ := New(small(0))
	g, _ := tr.Init(ctx, 1)
	if _, err := tr.Train(ctx, g, model.TrainSpec{ProxMu: 0.1}); !errors.Is(err, ErrProx) {
		t.Fatalf("prox: %v", err)
	}
	other, _ := New(Config{Features: 10, NNZ: 1, TrainRows: 1, ValRows: 1, LearningRate: 1, BatchSize: 1, Steps: 1})
	if _, err := other.Train(ctx, g, model.TrainSpec{}); !errors.Is(err, model.ErrShape) {
		t.Fatalf("shape: %v", err)
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("zero config accepted")
	}
}
