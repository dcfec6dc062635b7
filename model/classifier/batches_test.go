package classifier

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/loader"
	"github.com/synthfed/synthfed/model/localtrain"
	"github.com/synthfed/synthfed/model/optim"
)

// mixedSet is toySet with every third image marked synthetic.
func mixedSet() *model.ImageSet {
	s := toySet(48, 1, 0.1)
	s.Synthetic = make([]bool, s.Len())
	for i := range s.Synthetic {
		s.Synthetic[i] = i%3 == 0
	}
	return s
}

// TestMemoryLoaderKeepsHistoricalBatches checks that Train on a
// model.ImageSet takes exactly the steps of the loop before loaders (the
// mixer's batches, Stepper.Step augmenting from the stepper's generator),
// so simulation results do not change.
func TestMemoryLoaderKeepsHistoricalBatches(t *testing.T) {
	ctx := context.Background()
	cfg := toyConfig()
	cfg.Train.RealFraction, cfg.Train.SyntheticWeight = 0.5, 0.5
	set := mixedSet()
	tr, err := NewTrainer(cfg, set, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := NewTrainer(cfg, set, nil, nil)
	w, _ := tr.Init(ctx, 3)
	gotW, wantW := w, w
	for round := 1; round <= 2; round++ {
		spec := model.TrainSpec{LocalSteps: 5, Seed: 11, Round: round, ProxMu: 0.01}
		got, err := tr.Train(ctx, gotW, spec)
		if err != nil {
			t.Fatal(err)
		}
		// The historical loop.
		r := localtrain.PlanRound(spec, cfg.Train.BatchSize, cfg.Train.Adam.LR, set.Len())
		st, err := ref.rounds.Begin(wantW, r, spec.Seed, spec.ProxMu, optim.LocalOnly(""))
		if err != nil {
			t.Fatal(err)
		}
		mix := newMixer(set, r.Batch, cfg.Train.RealFraction, rand.New(rand.NewPCG(uint64(spec.Seed), uint64(spec.Round))))
		for range r.Steps {
			if _, err := st.Step(set, mix.next()); err != nil {
				t.Fatal(err)
			}
		}
		want := ref.rounds.End(r, set.Len(), 0, 0)
		if got.Weights.Hash() != want.Weights.Hash() || tr.EMA().Hash() != ref.EMA().Hash() {
			t.Fatalf("round %d: weights differ from the historical loop's", round)
		}
		gotW, wantW = got.Weights, want.Weights
	}
}

// TestStreamTrainerDeterministic checks that a streamed trainer learns and
// that its result depends on the seed, not on the number of loader
// workers.
func TestStreamTrainerDeterministic(t *testing.T) {
	ctx := context.Background()
	set := mixedSet()
	cfg := toyConfig()
	cfg.Train.RealFraction = 0.5
	run := func(seed int64, workers int) (string, float64, float64) {
		tr, err := NewStreamTrainer(cfg, loader.FromImageSet(set), set, LoaderOptions{Workers: workers, Prefetch: workers}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := tr.Init(ctx, 3)
		m0, _ := tr.Evaluate(ctx, w)
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 30, Seed: seed, Round: 1})
		if err != nil {
			t.Fatal(err)
		}
		m1, _ := tr.Evaluate(ctx, res.Weights)
		return res.Weights.Hash(), m0["val_loss"], m1["val_loss"]
	}
	a, before, after := run(5, 1)
	if !(after < before) {
		t.Fatalf("streamed training did not lower the loss: %v -> %v", before, after)
	}
	if b, _, _ := run(5, 3); b != a {
		t.Fatal("3 loader workers gave other weights than 1")
	}
	if c, _, _ := run(6, 2); c == a {
		t.Fatal("another seed gave the same weights")
	}
}
