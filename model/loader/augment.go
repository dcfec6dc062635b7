package loader

import (
	"math/rand/v2"
)

// Key seeds one image's augmentation: a function of (seed, salt, step,
// position in the batch), never of the worker that runs it.
type Key struct{ Hi, Lo uint64 }

// keyFor returns the key of position k of step's batch.
func keyFor(c Config, step, k int) Key {
	return Key{Hi: uint64(c.Seed) ^ 0xa076_1d64_78bd_642f, Lo: c.Salt<<40 ^ uint64(step)*uint64(c.Batch) + uint64(k)}
}

// Augmenter writes an augmented copy of the size x size image src (values
// in [-1, 1]) into dst, drawing every random choice from key.
type Augmenter interface {
	AugmentFloat(dst, src []float32, size int, key Key)
}

// ByteAugmenter is an Augmenter that also reads 8-bit pixels (a
// ByteSource's), dequantising in the same pass as it augments.
type ByteAugmenter interface {
	Augmenter
	// AugmentBytes augments src, 8-bit pixels (0 is -1, 255 is 1).
	AugmentBytes(dst []float32, src []byte, size int, key Key)
}

// AugmentFunc writes an augmented copy of the size x size image src into
// dst, drawing every random choice from r. It is an Augmenter whose r is a
// PCG seeded by the key.
type AugmentFunc func(dst, src []float32, size int, r *rand.Rand)

// AugmentFloat calls f with a generator seeded by key.
func (f AugmentFunc) AugmentFloat(dst, src []float32, size int, key Key) {
	f(dst, src, size, rand.New(rand.NewPCG(key.Hi, key.Lo)))
}
