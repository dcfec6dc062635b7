package memlimit

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"sync"
)

// Config sizes the limit a Governor sets.
type Config struct {
	// Factor is the limit in model sizes above Base (default 2.25: two
	// live models plus a quarter of a model of garbage; measured in
	// docs/scale.md).
	Factor float64 `toml:"factor"`
	// BaseMiB is the process's memory apart from models (default 128).
	BaseMiB int `toml:"base_mib"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Factor: 2.25, BaseMiB: 128} }

// Validate checks the settings.
func (c Config) Validate() error {
	if !(c.Factor >= 1) || math.IsInf(c.Factor, 0) {
		return fmt.Errorf("memlimit: factor %v: want a finite number >= 1", c.Factor)
	}
	if c.BaseMiB < 0 {
		return fmt.Errorf("memlimit: base_mib %d: want >= 0", c.BaseMiB)
	}
	return nil
}

// Limit returns the soft limit in bytes for a model of modelBytes.
func (c Config) Limit(modelBytes int64) int64 {
	return int64(c.BaseMiB)<<20 + int64(c.Factor*float64(modelBytes))
}

// Governor raises the process's soft memory limit as larger models
// arrive; it never lowers it. A nil *Governor does nothing, so callers
// may hold one unconditionally.
type Governor struct {
	cfg Config
	log *slog.Logger
	set func(int64) int64

	mu    sync.Mutex
	limit int64
}

// ErrEnvLimit reports that GOMEMLIMIT is set in the environment: the
// runtime's limit is the operator's, and no Governor is made.
var ErrEnvLimit = errors.New("memlimit: GOMEMLIMIT is set; the limit is left to it")

// New returns a Governor that sets the runtime's limit
// (runtime/debug.SetMemoryLimit), or ErrEnvLimit when the environment
// already sets one.
func New(cfg Config, log *slog.Logger) (*Governor, error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return nil, ErrEnvLimit
	}
	return NewWith(cfg, log, debug.SetMemoryLimit)
}

// NewWith returns a Governor that applies limits through set (tests pass
// a recorder; New passes debug.SetMemoryLimit).
func NewWith(cfg Config, log *slog.Logger, set func(int64) int64) (*Governor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Governor{cfg: cfg, log: log, set: set}, nil
}

// MinModelBytes is the smallest model that sets a limit (2^24 float32
// values, 64 MiB): below it the process's other memory may outweigh the
// models, and the collector's default pacing is left alone.
const MinModelBytes = 4 << 24

// Model tells the Governor the process now handles a model of modelBytes;
// the limit rises when this model needs more than the current one allows.
// Models under MinModelBytes are ignored.
func (g *Governor) Model(modelBytes int64) {
	if g == nil || modelBytes < MinModelBytes {
		return
	}
	want := g.cfg.Limit(modelBytes)
	g.mu.Lock()
	defer g.mu.Unlock()
	if want <= g.limit {
		return
	}
	g.limit = want
	g.set(want)
	g.log.Info("memory limit raised for the model size", "model_mib", modelBytes>>20, "limit_mib", want>>20)
}

// Current returns the limit set so far (0: none yet).
func (g *Governor) Current() int64 {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}
