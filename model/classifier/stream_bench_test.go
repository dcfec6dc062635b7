package classifier_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/loader"
)

// BenchmarkStreamStore256 times the streaming loader's batches of 32
// (two workers) from a warm 8-bit store of 256-px images, with the
// streams' augmentation and without; one op is one image.
func BenchmarkStreamStore256(b *testing.B) {
	dir := b.TempDir()
	recs := writeStoreSite(b, dir, 512, 256)
	scfg := store.DefaultConfig()
	scfg.Dir, scfg.Size = filepath.Join(dir, "store"), 256
	st, kept, _, err := store.Prepare(context.Background(), scfg, recs, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	set, err := store.NewSet(st, kept)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		aug  loader.Augmenter
	}{{"augmented", classifier.StreamAugmenter(classifier.DefaultAugmentConfig())}, {"plain", nil}} {
		b.Run(c.name, func(b *testing.B) {
			ld, err := loader.NewStream(set, loader.Config{Batch: 32, Workers: 2, Seed: 1}, 0, c.aug)
			if err != nil {
				b.Fatal(err)
			}
			defer ld.Close()
			b.SetBytes(256 * 256)
			for i := 0; i < b.N; i += 32 {
				bt, err := ld.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				ld.Release(bt)
			}
		})
	}
}
