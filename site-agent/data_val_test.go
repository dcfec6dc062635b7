package siteagent

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/sims/phantom"
)

// TestStoreValidationSlices: a store site keeps its validation split in
// the store (no images in memory), and a classifier scoring it in slices
// reports the numbers of the split read whole into memory (the earlier
// path); a DDPM trainer reads only the images it scores.
func TestStoreValidationSlices(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pc := phantom.DefaultConfig()
	pc.Size, pc.Supersample = 16, 1
	site, err := pc.WriteSite(ctx, dir, 0, 120)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultDataConfig()
	cfg.Format, cfg.Path, cfg.ImageSize, cfg.StoreDir = "chexpert", site.Dir, 16, filepath.Join(dir, "store")
	d, err := LoadSiteData(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Val.Images != nil || d.Val.Stream == nil || d.Val.Len() < 2 {
		t.Fatalf("validation split: images %v, streamed %v, %d rows", d.Val.Images != nil, d.Val.Stream != nil, d.Val.Len())
	}
	whole, err := store.ReadImageSet(d.Store, d.Val.Records, d.uncertain)
	if err != nil {
		t.Fatal(err)
	}
	train, err := d.TrainImages()
	if err != nil {
		t.Fatal(err)
	}
	ccfg := classifier.DefaultConfig()
	ccfg.Arch = classifier.Arch{ImageSize: 16, InChannels: 1, Widths: []int{8, 16}, BlocksPerStage: 1, Groups: 4}
	ccfg.Train.BatchSize = 8
	mem, err := classifier.NewTrainer(ccfg, train, whole, nil)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := classifier.NewTrainer(ccfg, train, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := setValSlices(sl, d); err != nil {
		t.Fatal(err)
	}
	w, err := mem.Init(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, err := mem.Evaluate(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sl.Evaluate(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if a["val_images"] != float64(d.Val.Len()) || len(a) != 3 || len(b) != 3 {
		t.Fatalf("metrics %v in memory, %v in slices, %d validation rows", a, b, d.Val.Len())
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: %v in slices, %v in memory", k, b[k], v)
		}
	}
	// The DDPM trainer's validation set: only the first eval_images.
	n := d.Val.Len() - 1
	pre, err := d.valPrefix(n)
	if err != nil {
		t.Fatal(err)
	}
	if pre.Len() != n || !slices.Equal(pre.Pixels, whole.Pixels[:n*16*16]) || !slices.Equal(pre.Cond, whole.Cond[:n]) || !slices.Equal(pre.Labels, whole.Labels[:n]) {
		t.Fatalf("DDPM validation prefix: %d images (want %d) or other pixels, conditions or labels", pre.Len(), n)
	}
	if all, err := d.valPrefix(0); err != nil || all.Len() != d.Val.Len() {
		t.Fatalf("eval_images 0: %v, %v", all, err)
	}
	var _ model.Slicer = d.valSlices()
}
