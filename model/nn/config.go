package nn

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/synthfed/synthfed/internal/config"
)

// Config tunes the CPU kernels. It is process-wide: the kernels are shared
// by every graph.
type Config struct {
	// Threads is the number of goroutines a kernel splits its work across.
	// GEMM itself runs single-threaded inside each worker, so this is the
	// total number of cores the ops use.
	Threads int `toml:"threads"`
}

// DefaultConfig uses one worker per core available to the Go runtime.
func DefaultConfig() Config {
	return Config{Threads: runtime.GOMAXPROCS(0)}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Threads < 1 || c.Threads > 1024 {
		p.Addf("nn.threads = %d: must be in [1, 1024]", c.Threads)
	}
	return p.Err()
}

// Configure applies cfg process-wide. It sets the kernel worker count and
// pins OpenBLAS (when compiled in) to one thread so that the two never
// oversubscribe the cores.
func Configure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("nn: configure: %w", err)
	}
	workers.Store(int32(cfg.Threads))
	setBLASThreads(1)
	return nil
}

// BLAS names the GEMM implementation compiled in: "openblas" or "go".
func BLAS() string { return blasName }

// Sentinel errors. Errors returned by the ops wrap one of these and name the
// op and the offending shapes.
var (
	// ErrShape reports inputs whose shapes do not fit the op.
	ErrShape = errors.New("nn: shape mismatch")
	// ErrDtype reports an input that is not float32 or float64, or inputs of
	// mixed dtypes.
	ErrDtype = errors.New("nn: unsupported dtype")
	// ErrArg reports a bad scalar argument (stride, groups, eps...).
	ErrArg = errors.New("nn: bad argument")
)
