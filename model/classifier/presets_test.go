package classifier

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
)

// TestArch256 builds the 256-pixel classifier, checks its parameter count,
// round-trips it through a safetensors checkpoint and takes one training
// step at batch 1 on the CPU (24 s of CPU measured here: with
// SYNTHFED_SCALE_STEP=1 only, to keep make test short).
func TestArch256(t *testing.T) {
	a := Arch256()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := a.InitWeights(1)
	if err != nil {
		t.Fatal(err)
	}
	const want = 11_198_414
	if n := w.NumParams(); n != want {
		t.Fatalf("%d parameters, want %d", n, want)
	}
	path := filepath.Join(t.TempDir(), "cls256.safetensors")
	if err := model.WriteCheckpointFile(path, model.Checkpoint{Arch: ArchName, Config: a.ArchJSON(), Weights: w}); err != nil {
		t.Fatal(err)
	}
	back, err := model.ReadCheckpointFile(path)
	if err != nil || back.Weights.Hash() != w.Hash() {
		t.Fatalf("checkpoint round trip: %v", err)
	}
	if ra, err := ArchOf(back); err != nil || ra.ImageSize != 256 {
		t.Fatalf("ArchOf: %+v %v", ra, err)
	}
	if os.Getenv("SYNTHFED_SCALE_STEP") != "1" {
		t.Skip("a 256-pixel step takes about 24 s of CPU: set SYNTHFED_SCALE_STEP=1")
	}
	cfg := DefaultConfig()
	cfg.Arch, cfg.Train.BatchSize = a, 1
	set := &model.ImageSet{Size: 256, Pixels: make([]float32, 256*256), Cond: make([][model.CondDim]float32, 1), Labels: make([][model.NumLabels]model.Label, 1)}
	set.Labels[0][2] = model.LabelPositive
	tr, err := NewTrainer(cfg, set, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res, err := tr.Train(context.Background(), back.Weights, model.TrainSpec{LocalSteps: 1, Seed: 1, Round: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d parameters; one batch-1 step in %v, loss %.4f", w.NumParams(), time.Since(t0).Round(time.Millisecond), res.Metrics["loss"])
}
