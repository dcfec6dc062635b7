package dataset

import (
	"github.com/synthfed/synthfed/internal/config"
)

// Config controls loading and preprocessing. Its TOML form is strict: an
// unknown key is an error naming the line.
type Config struct {
	// Size is the side of the square preprocessed image in pixels.
	Size int `toml:"size"`
	// FrontalOnly drops lateral and unknown views while loading (counted in
	// the report, not as problems).
	FrontalOnly bool `toml:"frontal_only"`
	// Strict makes the first bad row or image an error that stops the load.
	Strict bool `toml:"strict"`
	// MinAge and MaxAge bound a valid age in years, inclusive.
	MinAge int `toml:"min_age"`
	MaxAge int `toml:"max_age"`
	// Workers decode images in parallel; 0 means GOMAXPROCS.
	Workers int `toml:"workers"`
	// CacheDir, when set, keeps preprocessed tensors on disk across runs.
	CacheDir string `toml:"cache_dir"`
	// CacheMemoryMB bounds the in-memory tensor cache; 0 disables it.
	CacheMemoryMB int `toml:"cache_memory_mb"`
	// Uncertain says how an uncertain (-1) label enters the condition
	// vector: "zeros", "ones" or "keep" (see Record.ConditionWith).
	Uncertain UncertainPolicy `toml:"uncertain"`
	// MaxProblems bounds how many problems the report keeps in detail; the
	// counts per kind are always complete.
	MaxProblems int `toml:"max_problems"`
}

// DefaultConfig returns the defaults: 32-pixel images (the project's CPU
// default), frontal views only, lenient loading, ages 0 to 120, a 1 GiB
// memory cache, uncertain labels conditioned as 0.
func DefaultConfig() Config {
	return Config{
		Size:          32,
		FrontalOnly:   true,
		MinAge:        0,
		MaxAge:        120,
		CacheMemoryMB: 1024,
		Uncertain:     UncertainZeros,
		MaxProblems:   10000,
	}
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Size < 1 || c.Size > 4096 {
		p.Addf("dataset: size %d: want 1 to 4096", c.Size)
	}
	if c.MinAge < 0 {
		p.Addf("dataset: min_age %d: want >= 0", c.MinAge)
	}
	if c.MaxAge < c.MinAge || c.MaxAge > 150 {
		p.Addf("dataset: max_age %d: want min_age (%d) to 150", c.MaxAge, c.MinAge)
	}
	if c.Workers < 0 {
		p.Addf("dataset: workers %d: want >= 0", c.Workers)
	}
	if c.CacheMemoryMB < 0 {
		p.Addf("dataset: cache_memory_mb %d: want >= 0", c.CacheMemoryMB)
	}
	if err := c.Uncertain.Validate(); err != nil {
		p.Add(err)
	}
	if c.MaxProblems < 0 {
		p.Addf("dataset: max_problems %d: want >= 0", c.MaxProblems)
	}
	return p.Err()
}

// LoadConfig reads a TOML file over the defaults and validates the result.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if err := config.LoadFile(path, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}
