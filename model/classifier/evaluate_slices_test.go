package classifier

import (
	"context"
	"errors"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// countingSlicer serves an in-memory set a slice at a time (copies, as a
// store reads them) and records the largest slice it handed out.
type countingSlicer struct {
	set      *model.ImageSet
	maxSlice int
	slices   int
}

func (c *countingSlicer) Len() int  { return c.set.Len() }
func (c *countingSlicer) Size() int { return c.set.Size }
func (c *countingSlicer) Slice(lo, hi int) (*model.ImageSet, error) {
	c.slices++
	c.maxSlice = max(c.maxSlice, hi-lo)
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	return c.set.Subset(idx), nil
}

// TestEvaluateSlicesEqualsMemory: a validation set scored in slices
// (a store site's) gives the very numbers of the same set in memory, and
// holds at most model.SliceImages images at once.
func TestEvaluateSlicesEqualsMemory(t *testing.T) {
	ctx := context.Background()
	const n = 2*model.SliceImages + 37 // two whole slices and a short one
	val := toySet(n, 2, 0.1)
	mem, err := NewTrainer(toyConfig(), toySet(64, 1, 0.1), val, nil)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := NewTrainer(toyConfig(), toySet(64, 1, 0.1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingSlicer{set: val}
	if err := sl.SetValSlices(cs); err != nil {
		t.Fatal(err)
	}
	w, _ := mem.Init(ctx, 1)
	res, err := mem.Train(ctx, w, model.TrainSpec{LocalSteps: 3, Round: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []model.Weights{w, res.Weights} {
		a, err := mem.Evaluate(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sl.Evaluate(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 3 || len(b) != len(a) {
			t.Fatalf("metrics %v in memory, %v in slices", a, b)
		}
		for k, v := range a {
			if b[k] != v {
				t.Errorf("%s: %v in slices, %v in memory", k, b[k], v)
			}
		}
	}
	if cs.maxSlice != model.SliceImages || cs.slices != 2*3 {
		t.Fatalf("largest slice %d images in %d slices over two evaluations: want %d in 6", cs.maxSlice, cs.slices, model.SliceImages)
	}
	// Both forms at once are refused; a slicer of the wrong size too.
	if err := mem.SetValSlices(cs); err == nil {
		t.Fatal("a second validation set was accepted")
	}
	small := &countingSlicer{set: &model.ImageSet{Size: 8}}
	if err := sl.SetValSlices(small); !errors.Is(err, model.ErrShape) {
		t.Fatalf("8x8 validation slices for 16x16 model: %v", err)
	}
}
