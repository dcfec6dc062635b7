package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

// FuzzConfig decodes and validates arbitrary coordinator configuration
// files: it must never panic, and every refusal must be a configuration
// error (config.ErrInvalid) rather than something else.
func FuzzConfig(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "examples", "coordinator.toml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("listen = \"127.0.0.1:1\"\n[[jobs]]\nid = \"a\"\nrounds = 2\n[jobs.strategy]\nname = \"fedavg\"\n"))
	f.Add([]byte("heartbeat_interval = \"-1s\"\nchunk_size = -3\n[[jobs]]\n[[jobs]]\nid = 7\n"))
	f.Add([]byte("[gossip\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(data, "fuzz.toml")
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("decode error without ErrInvalid: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("validate error without ErrInvalid: %v", err)
		}
	})
}
