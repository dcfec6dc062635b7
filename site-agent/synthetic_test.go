package siteagent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/protocol"
)

func TestReplicaSeed(t *testing.T) {
	seen := map[int64]string{}
	for _, site := range []string{"a", "b"} {
		for row := range 50 {
			for r := range 4 {
				s := ReplicaSeed(7, site, row, r)
				if s < 0 {
					t.Fatalf("negative seed %d", s)
				}
				key := site + "/" + string(rune('0'+r))
				if prev, dup := seen[s]; dup {
					t.Fatalf("seed %d of %s row %d collides with %s", s, key, row, prev)
				}
				seen[s] = key
				if ReplicaSeed(7, site, row, r) != s {
					t.Fatal("seed is not deterministic")
				}
			}
		}
	}
	if ReplicaSeed(7, "a", 0, 0) == ReplicaSeed(8, "a", 0, 0) {
		t.Error("the job seed does not change the replica seed")
	}
}

// writeSet writes a synthetic set of replicas 0..levels-1 of recs as the
// sample task does.
func writeSet(t *testing.T, dir string, recs []dataset.Record, levels, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	var out []dataset.Record
	px := make([]float32, size*size)
	for r := range levels {
		os.MkdirAll(filepath.Join(dir, "r"+string(rune('0'+r))), 0o750)
		for i := range recs {
			for k := range px {
				px[k] = float32((k+i+r)%7)/3 - 1
			}
			rel := "r" + string(rune('0'+r)) + "/" + recs[i].PatientID + "-" + string(rune('a'+i)) + ".png"
			if err := writePNG16(filepath.Join(dir, rel), px, size); err != nil {
				t.Fatal(err)
			}
			out = append(out, dataset.Replica(recs[i], r, rel, strings.Repeat("d", 64)))
		}
	}
	info := &SetInfo{SetID: filepath.Base(dir), Checkpoint: strings.Repeat("d", 64), Levels: levels, Rows: len(recs), Images: len(out)}
	if err := writeSetFiles(dir, out, info); err != nil {
		t.Fatal(err)
	}
}

func testRecords(n int) []dataset.Record {
	recs := make([]dataset.Record, n)
	for i := range recs {
		recs[i] = dataset.Record{Path: "p" + string(rune('a'+i)) + ".png", PatientID: "pat" + string(rune('a'+i%3)), Sex: dataset.SexFemale,
			Age: 40 + i, View: dataset.ViewFrontal, Projection: "PA"}
		recs[i].Labels[2] = model.LabelPositive
	}
	return recs
}

// TestRecipeSyntheticOnly builds a synthetic-only training set from a set
// on disk and refuses a set whose manifest was changed.
func TestRecipeSyntheticOnly(t *testing.T) {
	const size = 8
	root := t.TempDir()
	setID := strings.Repeat("5e", 32)
	recs := testRecords(4)
	writeSet(t, filepath.Join(root, setID), recs, 3, size)
	cfg := DefaultConfig()
	cfg.Data.ImageSize, cfg.Data.SyntheticDir = size, root
	x := newExecutor(cfg, slog.New(slog.DiscardHandler), nil, nil, nil)
	cache, err := dataset.NewCache("", 0)
	if err != nil {
		t.Fatal(err)
	}
	data := &SiteData{Cache: cache}
	ccfg := classifier.DefaultConfig()
	recipe := &protocol.DataRecipe{Real: false, SyntheticLevel: 2, SyntheticSet: setID, RealFraction: 0.25, SyntheticWeight: 0.5}
	set, err := x.recipeSet(context.Background(), recipe, data, &ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 8 || set.Size != size {
		t.Fatalf("%d images of %d pixels, want 8 of %d", set.Len(), set.Size, size)
	}
	for i, syn := range set.Synthetic {
		if !syn || set.Labels[i][2] != model.LabelPositive {
			t.Fatalf("row %d: synthetic %v, labels %v", i, syn, set.Labels[i])
		}
	}
	if ccfg.Train.RealFraction != 0.25 || ccfg.Train.SyntheticWeight != 0.5 {
		t.Errorf("recipe knobs not applied: %+v", ccfg.Train)
	}
	recipe.SyntheticLevel = 4
	if _, err := x.recipeSet(context.Background(), recipe, data, &ccfg); !errors.Is(err, ErrSyntheticSet) {
		t.Errorf("level 4 of a 3-level set: %v", err)
	}
	recipe.SyntheticLevel = 1
	f, _ := os.OpenFile(filepath.Join(root, setID, ManifestFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n")
	f.Close()
	if _, err := x.recipeSet(context.Background(), recipe, data, &ccfg); !errors.Is(err, ErrSyntheticSet) {
		t.Errorf("a changed manifest: %v", err)
	}
}

func TestSubset(t *testing.T) {
	recs := testRecords(5)
	set := &model.ImageSet{Size: 2}
	for i := range recs {
		set.Pixels = append(set.Pixels, float32(i), float32(i), float32(i), float32(i))
		set.Cond = append(set.Cond, recs[i].Condition())
		set.Labels = append(set.Labels, recs[i].Labels)
		set.PatientIDs = append(set.PatientIDs, recs[i].PatientID)
	}
	part := []dataset.Record{recs[3], recs[1]}
	s, err := subset(recs, set, part)
	if err != nil {
		t.Fatal(err)
	}
	if s.Images.Len() != 2 || s.Images.Image(0)[0] != 3 || s.Images.Image(1)[0] != 1 || s.Images.PatientIDs[0] != recs[3].PatientID {
		t.Fatalf("subset %+v", s.Images)
	}
	if _, err := subset(recs, set, []dataset.Record{{Path: "unknown"}}); err == nil {
		t.Error("a record without an image was accepted")
	}
}

func FuzzCheckModelConfig(f *testing.F) {
	f.Add("ddpm", []byte(`{"arch":{"image_size":8,"channel_mults":[1]}}`))
	f.Add("classifier", []byte(`{"arch":{"widths":[8],"groups":4}}`))
	f.Add("ddpm", []byte(`{"arch":{"image_size":100000}}`))
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		if err := CheckModelConfig(name, raw); err != nil {
			return
		}
		switch name {
		case ModelDDPM:
			if c, err := DDPMConfig(raw); err != nil || c.Validate() != nil {
				t.Fatalf("accepted config does not decode: %v", err)
			}
		case ModelClassifier:
			if c, err := ClassifierConfig(raw); err != nil || c.Validate() != nil {
				t.Fatalf("accepted config does not decode: %v", err)
			}
		}
	})
}
