package store

import (
	"fmt"
	"runtime"

	"github.com/synthfed/synthfed/internal/config"
)

// PreprocessVersion numbers dataset.Preprocess's behaviour; a change to the
// preprocessing bumps it so that stale stores are not reused.
const PreprocessVersion = 1

// Settings are what a prepared image depends on besides its source bytes.
type Settings struct {
	// Size is the side of the square preprocessed image.
	Size int
	// PixelBits is 8 or 16.
	PixelBits int
}

// Key names the store folder of these settings, e.g. "s256-u8-p1".
func (s Settings) Key() string {
	return fmt.Sprintf("s%d-u%d-p%d", s.Size, s.PixelBits, PreprocessVersion)
}

// BytesPerImage is the size of one stored image.
func (s Settings) BytesPerImage() int { return s.Size * s.Size * s.PixelBits / 8 }

// Validate reports settings out of range.
func (s Settings) Validate() error {
	var p config.Problems
	if s.Size < 1 || s.Size > 4096 {
		p.Addf("store: size %d: want 1 to 4096", s.Size)
	}
	if s.PixelBits != 8 && s.PixelBits != 16 {
		p.Addf("store: pixel_bits %d: want 8 or 16", s.PixelBits)
	}
	return p.Err()
}

// Config controls a store and its preparation.
type Config struct {
	// Dir is the store root; the settings' folder lives under it.
	Dir string `toml:"dir"`
	// Size is the side of the preprocessed images.
	Size int `toml:"size"`
	// PixelBits is 8 (the default, see the package doc) or 16.
	PixelBits int `toml:"pixel_bits"`
	// ChunkImages is the number of images per chunk file.
	ChunkImages int `toml:"chunk_images"`
	// Workers hash and decode in parallel; 0 means GOMAXPROCS.
	Workers int `toml:"workers"`
	// Verify checks every chunk's checksum when the store is opened.
	Verify bool `toml:"verify"`
}

// DefaultConfig returns 32-pixel uint8 images in chunks of 256, verified
// on open.
func DefaultConfig() Config {
	return Config{Size: 32, PixelBits: 8, ChunkImages: 256, Verify: true}
}

// Settings returns the preprocessing settings of c.
func (c Config) Settings() Settings { return Settings{Size: c.Size, PixelBits: c.PixelBits} }

// workers returns the number of worker goroutines.
func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Dir == "" {
		p.Addf("store: dir is empty")
	}
	p.Add(c.Settings().Validate())
	if c.ChunkImages < 1 || c.ChunkImages > 1<<20 {
		p.Addf("store: chunk_images %d: want 1 to %d", c.ChunkImages, 1<<20)
	}
	if c.Workers < 0 {
		p.Addf("store: workers %d: want >= 0", c.Workers)
	}
	return p.Err()
}
