package classifier

import (
	"context"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/loader"
)

// LoaderOptions sets the streaming loader of a trainer built on a
// loader.Source (NewStreamTrainer).
type LoaderOptions struct {
	// Workers assemble and augment batches off the training goroutine (0:
	// GOMAXPROCS).
	Workers int
	// Prefetch bounds the batches assembled ahead (0: 2*Workers).
	Prefetch int
}

// memLoader is the loader of an in-memory set: the historical draw order
// (the mixer's batches, then Augment of each image in turn from one
// generator seeded by (seed, round)), so that results on a model.ImageSet
// are those of every earlier version. It runs on the caller's goroutine.
type memLoader struct {
	set *model.ImageSet
	mix *mixer
	aug AugmentConfig
	rng *rand.Rand
	b   *loader.Batch
	n   int
}

// newMemLoader returns the batches of a round on set.
func newMemLoader(set *model.ImageSet, batch int, frac float64, aug AugmentConfig, seed int64, round int) *memLoader {
	return &memLoader{
		set: set, aug: aug,
		mix: newMixer(set, batch, frac, rand.New(rand.NewPCG(uint64(seed), uint64(round)))),
		rng: rand.New(rand.NewPCG(uint64(seed), 0xc1a55+uint64(round))),
		b:   loader.NewBatch(batch, set.Size),
	}
}

// Next draws the next batch.
func (l *memLoader) Next(ctx context.Context) (*loader.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := l.b
	b.Step = l.n
	l.n++
	copy(b.Index, l.mix.next())
	for k, i := range b.Index {
		Augment(b.Image(k), l.set.Image(i), l.set.Size, l.aug, l.rng)
		b.Labels[k] = l.set.Labels[i]
		b.Synthetic[k] = l.set.Synthetic != nil && l.set.Synthetic[i]
	}
	return b, nil
}

// Release does nothing: the one buffer is reused.
func (l *memLoader) Release(*loader.Batch) {}

// Close does nothing.
func (l *memLoader) Close() error { return nil }

// newStreamLoader returns the streaming loader of a round on src: batch s
// of round r is a function of (seed, r, s). Streams augment with the fast
// loader.Affine (StreamAugmenter), the in-memory loader with Augment.
func newStreamLoader(src loader.Source, batch int, frac float64, aug AugmentConfig, opt LoaderOptions, seed int64, round int) (loader.Loader, error) {
	cfg := loader.Config{Batch: batch, RealFraction: frac, Seed: seed, Salt: uint64(round), Workers: opt.Workers, Prefetch: opt.Prefetch}
	return loader.NewStream(src, cfg, 0, StreamAugmenter(aug))
}

// StreamAugmenter returns the streaming loaders' form of c: the same
// flip, affine and noise distributions as Augment, computed in one fast
// pass (loader.Affine; its noise comes from a fixed table of Gaussian
// draws, a random segment per row).
func StreamAugmenter(c AugmentConfig) loader.Affine {
	return loader.Affine{FlipProb: c.FlipProb, MaxRotateDeg: c.MaxRotateDeg, MaxScale: c.MaxScale, MaxShift: c.MaxShift, NoiseStd: c.NoiseStd}
}

// The in-memory loader is a loader.Loader.
var _ loader.Loader = (*memLoader)(nil)
