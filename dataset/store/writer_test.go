package store

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// TestWriterRoundTrip writes a synthetic set image by image and reads it
// back through Records: the same items in order, the pixels within half a
// quantisation step, the index naming each image by its path. An
// unfinished writer leaves no store; a second writer is refused.
func TestWriterRoundTrip(t *testing.T) {
	for _, bits := range []int{8, 16} {
		cfg := DefaultConfig()
		cfg.Dir, cfg.Size, cfg.PixelBits, cfg.ChunkImages = filepath.Join(t.TempDir(), "store"), 8, bits, 3
		w, err := NewWriter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		const n = 10
		img := func(i int) []float32 {
			px := make([]float32, 64)
			for k := range px {
				px[k] = float32(math.Sin(float64(i*64+k))) * 0.9
			}
			return px
		}
		for i := range n {
			rec := dataset.Record{PatientID: fmt.Sprint("p", i/2), Sex: dataset.SexMale, Age: 30 + i, Race: dataset.RaceAsian,
				View: dataset.ViewFrontal, Synthetic: true, ReplicaID: i % 2}
			rec.Labels[i%model.NumLabels] = model.LabelPositive
			if err := w.Add(fmt.Sprintf("r%03d/%06d.png", i%2, i), img(i), &rec); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Open(cfg, nil); !errors.Is(err, ErrNotPrepared) {
			t.Fatalf("bits %d: an unfinished writer's store opens: %v", bits, err)
		}
		st, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		set, err := Records(st)
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != n || st.Chunks() != 4 {
			t.Fatalf("bits %d: %d images in %d chunks, want %d in 4", bits, set.Len(), st.Chunks(), n)
		}
		got := make([]float32, 64)
		step := 2 / (math.Pow(2, float64(bits)) - 1)
		for i := range n {
			it := set.Item(i)
			if !it.Synthetic || int(it.Replica) != i%2 || int(it.Age) != 30+i || it.Labels[i%model.NumLabels] != model.LabelPositive || it.Patient != PatientKey(fmt.Sprint("p", i/2)) {
				t.Fatalf("bits %d item %d: %+v", bits, i, it)
			}
			set.ReadImage(i, got)
			for k, v := range img(i) {
				if math.Abs(float64(v-got[k])) > step/2+1e-6 {
					t.Fatalf("bits %d image %d pixel %d: %v, wrote %v", bits, i, k, got[k], v)
				}
			}
			ref, _, ok := st.Lookup(fmt.Sprintf("r%03d/%06d.png", i%2, i))
			if !ok || ref != set.refs[i] {
				t.Fatalf("bits %d image %d: the index does not name it by its path", bits, i)
			}
		}
		st.Close()
		reopened, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		reopened.Close()
		if _, err := NewWriter(cfg); !errors.Is(err, ErrExists) {
			t.Fatalf("bits %d: a writer over a store: %v", bits, err)
		}
	}
}
