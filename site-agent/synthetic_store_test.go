package siteagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// writeStoreSet writes a store set of levels replicas of recs as a store
// site's sample job does.
func writeStoreSet(t *testing.T, cfg DataConfig, dir string, recs []dataset.Record, levels int) {
	t.Helper()
	w, err := store.NewWriter(cfg.syntheticStoreConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []dataset.Record
	px := make([]float32, cfg.ImageSize*cfg.ImageSize)
	for r := range levels {
		for i := range recs {
			for k := range px {
				px[k] = float32((k+i+r)%7)/3 - 1
			}
			rec := dataset.Replica(recs[i], r, fmt.Sprintf("r%03d/%06d.png", r, i), strings.Repeat("d", 64))
			if err := w.Add(rec.Path, px, &rec); err != nil {
				t.Fatal(err)
			}
			out = append(out, rec)
		}
	}
	st, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	info := &SetInfo{SetID: filepath.Base(dir), Checkpoint: strings.Repeat("d", 64), Levels: levels, Rows: len(recs), Images: len(out), Format: FormatStore}
	if err := writeSetFiles(dir, out, info); err != nil {
		t.Fatal(err)
	}
}

// TestRecipeSourceStore: on a store site, a recipe's synthetic replicas
// come from the set's store as a stream (real split then replicas <
// level), a PNG set falls back to memory, and a set with fewer replicas
// than asked is refused.
func TestRecipeSourceStore(t *testing.T) {
	const size = 8
	root := t.TempDir()
	cfg := DefaultConfig()
	cfg.Data.ImageSize, cfg.Data.SyntheticDir, cfg.Data.StoreDir = size, root, filepath.Join(root, "site-store")
	recs := testRecords(5)
	for i := range recs {
		recs[i].Labels[2] = model.LabelPositive
	}
	// The real split: a store of its own holding the same records.
	realSet := strings.Repeat("7a", 32)
	writeStoreSet(t, cfg.Data, filepath.Join(root, "real"), recs[:3], 1)
	rst, err := store.Open(cfg.Data.syntheticStoreConfig(filepath.Join(root, "real")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	real, err := store.Records(rst)
	if err != nil {
		t.Fatal(err)
	}
	setID := strings.Repeat("5e", 32)
	writeStoreSet(t, cfg.Data, filepath.Join(root, setID), recs, 3)
	writeSet(t, filepath.Join(root, realSet), recs, 1, size) // a PNG set
	x := newExecutor(cfg, slog.New(slog.DiscardHandler), nil, nil, nil)
	data := &SiteData{Train: Split{Stream: real}}
	recipe := &protocol.DataRecipe{Real: true, SyntheticLevel: 2, SyntheticSet: setID, RealFraction: 0.5}
	src, ok, err := x.recipeSource(context.Background(), recipe, data)
	if err != nil || !ok {
		t.Fatalf("store set: ok %v, %v", ok, err)
	}
	if src.Len() != 3+2*5 {
		t.Fatalf("%d images, want 3 real + 10 synthetic", src.Len())
	}
	for i := range src.Len() {
		// The real split's own store marks its images synthetic (they were
		// written as replicas); only the offset matters here.
		if i >= 3 && (!src.Synthetic(i) || src.Labels(i)[2] != model.LabelPositive) {
			t.Fatalf("image %d: synthetic %v, labels %v", i, src.Synthetic(i), src.Labels(i))
		}
	}
	recipe.Real = false
	if src, ok, err = x.recipeSource(context.Background(), recipe, data); err != nil || !ok || src.Len() != 10 {
		t.Fatalf("synthetic only: %v %v", ok, err)
	}
	recipe.SyntheticSet = realSet
	if _, ok, err = x.recipeSource(context.Background(), recipe, data); err != nil || ok {
		t.Fatalf("PNG set: ok %v, %v; want ok false (read into memory)", ok, err)
	}
	recipe.SyntheticSet, recipe.SyntheticLevel = setID, 4
	if _, _, err := x.recipeSource(context.Background(), recipe, data); !errors.Is(err, ErrSyntheticSet) {
		t.Fatalf("level 4 of a 3-level set: %v", err)
	}
}
