package loader

import (
	"runtime"

	"github.com/synthfed/synthfed/internal/config"
)

// Config sets a Stream's batches and its resources.
type Config struct {
	// Batch is the number of images per batch.
	Batch int `toml:"batch"`
	// RealFraction, in (0, 1], fixes the share of real images in a batch
	// of a source holding both real and synthetic images (round(f*Batch)
	// real); 0 draws from the pooled set.
	RealFraction float64 `toml:"real_fraction"`
	// Seed and Salt (e.g. a job's seed and round) select the permutations
	// and augmentation draws.
	Seed int64  `toml:"seed"`
	Salt uint64 `toml:"salt"`
	// Workers assemble batches in parallel; 0 means GOMAXPROCS.
	Workers int `toml:"workers"`
	// Prefetch bounds the batches assembled ahead of the trainer; 0 means
	// 2*Workers. Memory is (Prefetch+1) batch buffers whatever the set's
	// size.
	Prefetch int `toml:"prefetch"`
}

// DefaultConfig returns batches of 32 from the pooled set, GOMAXPROCS
// workers and 2 batches per worker ahead.
func DefaultConfig() Config { return Config{Batch: 32} }

// workers returns the number of workers.
func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// prefetch returns the number of batches assembled ahead.
func (c Config) prefetch() int {
	if c.Prefetch > 0 {
		return c.Prefetch
	}
	return 2 * c.workers()
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Batch < 1 {
		p.Addf("loader: batch %d: want >= 1", c.Batch)
	}
	if !(c.RealFraction >= 0 && c.RealFraction <= 1) {
		p.Addf("loader: real_fraction %v: want in [0,1]", c.RealFraction)
	}
	if c.Workers < 0 || c.Prefetch < 0 {
		p.Addf("loader: workers %d and prefetch %d: want >= 0", c.Workers, c.Prefetch)
	}
	return p.Err()
}
