package report

import (
	"github.com/synthfed/synthfed/internal/config"
)

// Config holds the renderer's presentation settings.
type Config struct {
	// WidthCm and HeightCm size each plot.
	WidthCm  float64 `toml:"width_cm"`
	HeightCm float64 `toml:"height_cm"`
	// DPI is the plots' resolution.
	DPI int `toml:"dpi"`
	// TilePx is the minimum displayed side of a sample tile; small images
	// are scaled up by an integer factor (nearest neighbour).
	TilePx int `toml:"tile_px"`
	// MaxFlagged caps the near-copies listed per generator.
	MaxFlagged int `toml:"max_flagged"`
}

// DefaultConfig returns 16 x 9 cm plots at 110 DPI, tiles of at least 64
// pixels and up to 20 listed near-copies per generator.
func DefaultConfig() Config {
	return Config{WidthCm: 16, HeightCm: 9, DPI: 110, TilePx: 64, MaxFlagged: 20}
}

// LoadConfig decodes the TOML file at path strictly over DefaultConfig and
// validates it.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if err := config.LoadFile(path, &cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Validate reports every out-of-range field at once.
func (c Config) Validate() error {
	var p config.Problems
	if !(c.WidthCm >= 4 && c.WidthCm <= 100) {
		p.Addf("width_cm = %v: want 4 to 100", c.WidthCm)
	}
	if !(c.HeightCm >= 3 && c.HeightCm <= 100) {
		p.Addf("height_cm = %v: want 3 to 100", c.HeightCm)
	}
	if c.DPI < 30 || c.DPI > 600 {
		p.Addf("dpi = %d: want 30 to 600", c.DPI)
	}
	if c.TilePx < 1 || c.TilePx > 512 {
		p.Addf("tile_px = %d: want 1 to 512", c.TilePx)
	}
	if c.MaxFlagged < 0 {
		p.Addf("max_flagged = %d: want >= 0", c.MaxFlagged)
	}
	return p.Err()
}
