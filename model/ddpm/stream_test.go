package ddpm

import (
	"context"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/loader"
)

// TestStreamTrainerDeterministic: a trainer streaming its images and
// conditions trains to the same weights for the same seed whatever the
// loader's workers, to others for another seed, and counts its images.
func TestStreamTrainerDeterministic(t *testing.T) {
	ctx := context.Background()
	set := toySet(12, 8, 5)
	run := func(seed int64, workers int) model.TrainResult {
		tr, err := NewStreamTrainer(tinyConfig(), loader.FromImageSet(set), toySet(6, 8, 6), StreamOptions{Workers: workers, Prefetch: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := tr.Init(ctx, 11)
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 4, Seed: seed, Round: 1})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(3, 1), run(3, 3), run(4, 2)
	if a.Weights.Hash() != b.Weights.Hash() {
		t.Fatal("one and three loader workers gave different weights")
	}
	if a.Weights.Hash() == c.Weights.Hash() {
		t.Fatal("another seed gave the same weights")
	}
	if a.NumSamples != set.Len() || a.Weights.CheckFinite() != nil {
		t.Fatalf("%d samples, want %d; finite: %v", a.NumSamples, set.Len(), a.Weights.CheckFinite())
	}
	if _, err := NewStreamTrainer(tinyConfig(), loader.FromImageSet(toySet(3, 4, 1)), nil, StreamOptions{}, nil); err == nil {
		t.Fatal("4-px images accepted by an 8-px U-Net")
	}
}
