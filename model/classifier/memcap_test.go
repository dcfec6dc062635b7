package classifier_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
)

// writeStoreSite writes n w x w PNGs with a manifest and returns the
// loaded records.
func writeStoreSite(t testing.TB, dir string, n, w int) []dataset.Record {
	t.Helper()
	var rows []dataset.Record
	img := image.NewGray(image.Rect(0, 0, w, w))
	for i := range n {
		for k := range img.Pix {
			img.Pix[k] = uint8((k*(i%13+1) + i) % 253)
		}
		var b bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("i%05d.png", i)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		r := dataset.Record{Path: name, PatientID: fmt.Sprint(i), View: dataset.ViewFrontal, Projection: "PA"}
		for j := range model.NumLabels {
			r.Labels[j] = model.Label((i >> j) & 1)
		}
		rows = append(rows, r)
	}
	var b bytes.Buffer
	if err := dataset.WriteManifest(&b, rows); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.csv")
	os.WriteFile(manifest, b.Bytes(), 0o644)
	ds, err := dataset.Load(context.Background(), dataset.Source{Format: dataset.FormatManifest, Path: manifest}, dataset.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds.Records
}

// TestStreamTrainUnderMemoryCap trains on a prepared store whose
// images, as float32 in memory, would take twice the heap cap the test
// sets; the live heap must stay under the cap throughout.
func TestStreamTrainUnderMemoryCap(t *testing.T) {
	if testing.Short() {
		t.Skip("prepares 8000 images and trains 100 steps")
	}
	const n, size, batch, steps = 8000, 32, 16, 100
	inMemory := int64(n * size * size * 4) // 33 MB as a model.ImageSet
	limit := inMemory / 2
	dir := t.TempDir()
	t0 := time.Now()
	recs := writeStoreSite(t, dir, n, size)
	t.Logf("site written in %v", time.Since(t0))
	scfg := store.DefaultConfig()
	scfg.Dir, scfg.Size, scfg.ChunkImages = filepath.Join(dir, "store"), size, 2000
	st, kept, _, err := store.Prepare(context.Background(), scfg, recs, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t.Logf("prepared in %v", time.Since(t0))
	set, err := store.NewSet(st, kept)
	if err != nil {
		t.Fatal(err)
	}
	recs, kept = nil, nil
	cfg := classifier.DefaultConfig()
	cfg.Arch = classifier.Arch{ImageSize: size, InChannels: 1, Widths: []int{4, 8}, BlocksPerStage: 1, Groups: 4}
	cfg.Train.BatchSize = batch
	tr, err := classifier.NewStreamTrainer(cfg, set, nil, classifier.LoaderOptions{Workers: 2, Prefetch: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tr.Init(context.Background(), 1)

	runtime.GC()
	old := debug.SetMemoryLimit(limit)
	defer debug.SetMemoryLimit(old)
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t0 = time.Now()
	res, err := tr.Train(context.Background(), w, model.TrainSpec{LocalSteps: steps, Seed: 1, Round: 1})
	close(stop)
	<-sampled
	t.Logf("trained in %v", time.Since(t0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics["steps"] != steps || res.NumSamples != n {
		t.Fatalf("%v steps on %d images, want %d on %d", res.Metrics["steps"], res.NumSamples, steps, n)
	}
	t.Logf("%d images (%.1f MB as float32): peak heap in use %.1f MB, cap %.1f MB", n, float64(inMemory)/1e6, float64(peak)/1e6, float64(limit)/1e6)
	if int64(peak) > limit {
		t.Fatalf("peak heap %d bytes over the %d-byte cap", peak, limit)
	}
}
