package ddpm

import (
	"context"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
)

// toyConfig is a 42k-parameter U-Net on 16x16 images that learns the toy
// in a few hundred steps.
func toyConfig() Config {
	cfg := DefaultConfig()
	cfg.Arch = Arch{ImageSize: 16, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4, TimeEmbDim: 32}
	cfg.Train.BatchSize = 8
	cfg.Train.Adam.LR = 2e-3
	cfg.Train.Adam.WarmupSteps = 20
	cfg.Train.EMADecay = 0.98
	cfg.Sample = SampleConfig{Method: MethodDDIM, Steps: 20, ClipX0: true, BatchSize: 20}
	return cfg
}

// toyScore samples n images, alternating square and disk conditions, and
// returns how many the discriminator assigns to their condition.
func toyScore(t *testing.T, cfg Config, w model.Weights, n int) int {
	t.Helper()
	conds := make([][model.CondDim]float32, n)
	seeds := make([]int64, n)
	for i := range n {
		conds[i][0] = 0.5
		if i%2 == 0 {
			conds[i][toyLabel] = 1
		}
		seeds[i] = int64(1000 + i)
	}
	px, err := Sample(context.Background(), cfg, w, conds, seeds)
	if err != nil {
		t.Fatal(err)
	}
	size := cfg.Arch.ImageSize
	right := 0
	for i := range n {
		if toyIsSquare(px[i*size*size:(i+1)*size*size], size) == (i%2 == 0) {
			right++
		}
	}
	return right
}

func TestDDPMLearnsTwoConditionToy(t *testing.T) {
	cfg := toyConfig()
	tr, err := NewTrainer(cfg, toySet(256, 16, 1), toySet(32, 16, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := tr.Init(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	if got := toyScore(t, cfg, w, n); got >= n*9/10 {
		t.Fatalf("untrained model already scores %d/%d: the discriminator is too lenient", got, n)
	}
	before, _ := tr.Evaluate(ctx, w)
	start := time.Now()
	const steps = 200
	res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: steps, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d parameters, %d steps in %v (%v/step)", w.NumParams(), steps, time.Since(start), time.Since(start)/steps)
	after, _ := tr.Evaluate(ctx, res.Weights)
	if !(after["val_loss"] < before["val_loss"]/2) {
		t.Errorf("validation loss %v -> %v: not learning", before["val_loss"], after["val_loss"])
	}
	raw := toyScore(t, cfg, res.Weights, n)
	ema := toyScore(t, cfg, tr.EMA(), n)
	t.Logf("val loss %v -> %v; samples showing their condition: raw %d/%d, EMA %d/%d", before["val_loss"], after["val_loss"], raw, n, ema, n)
	if raw < n*9/10 {
		t.Fatalf("only %d/%d samples show their condition", raw, n)
	}
}
