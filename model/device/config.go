package device

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/synthfed/synthfed/internal/config"
)

// Kind is the kind of compute a Spec asks for.
type Kind string

// The kinds of compute.
const (
	// KindAuto takes the first working OpenCL GPU, else the CPU.
	KindAuto Kind = "auto"
	// KindCPU is model/nn's CPU path.
	KindCPU Kind = "cpu"
	// KindOpenCL is the OpenCL device numbered as `synthfed devices` lists.
	KindOpenCL Kind = "opencl"
)

// ErrBadDevice reports a device string that is not "auto", "cpu" or
// "opencl:N".
var ErrBadDevice = errors.New(`want "auto", "cpu" or "opencl:N"`)

// Spec is a parsed device string.
type Spec struct {
	Kind Kind
	// Index is N of "opencl:N".
	Index int
}

// String returns the device string Spec parses from.
func (s Spec) String() string {
	if s.Kind == KindOpenCL {
		return fmt.Sprintf("opencl:%d", s.Index)
	}
	return string(s.Kind)
}

// ParseSpec parses "auto", "cpu" or "opencl:N" (N a device number, 0..255).
func ParseSpec(s string) (Spec, error) {
	switch s {
	case string(KindAuto):
		return Spec{Kind: KindAuto}, nil
	case string(KindCPU):
		return Spec{Kind: KindCPU}, nil
	}
	rest, ok := strings.CutPrefix(s, "opencl:")
	if !ok {
		return Spec{}, fmt.Errorf("device %q: %w", s, ErrBadDevice)
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > 255 || rest != strconv.Itoa(n) {
		return Spec{}, fmt.Errorf("device %q: N must be a device number 0..255 (synthfed devices lists them): %w", s, ErrBadDevice)
	}
	return Spec{Kind: KindOpenCL, Index: n}, nil
}

// Config is a site's [compute] section.
type Config struct {
	// Device is "auto", "cpu" or "opencl:N".
	Device string `toml:"device" json:"device"`
	// MemoryCapMiB caps the memory a training job may need on the device,
	// in MiB; 0 means the device's global memory (and no cap on the CPU).
	MemoryCapMiB int64 `toml:"memory_cap_mib" json:"memory_cap_mib"`
}

// maxCapMiB is 1 PiB, far above any device; it keeps the byte count in
// an int64.
const maxCapMiB = 1 << 30

// DefaultConfig returns device "auto" with no cap beyond the device's
// memory.
func DefaultConfig() Config { return Config{Device: string(KindAuto)} }

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if _, err := ParseSpec(c.Device); err != nil {
		p.Addf("compute.device: %v", err)
	}
	if c.MemoryCapMiB < 0 || c.MemoryCapMiB > maxCapMiB {
		p.Addf("compute.memory_cap_mib = %d: want 0 (the device's memory) .. %d", c.MemoryCapMiB, maxCapMiB)
	}
	return p.Err()
}

// capBytes returns the configured cap in bytes (0: none).
func (c Config) capBytes() int64 { return c.MemoryCapMiB << 20 }
