package coordinator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/internal/config/configtest"
)

// FuzzConfig decodes and validates arbitrary coordinator configuration
// files (configtest.Fuzz: no panic, every refusal a config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	example, _ := os.ReadFile(filepath.Join("..", "examples", "coordinator.toml"))
	configtest.Fuzz(f, [][]byte{example,
		[]byte("listen = \"127.0.0.1:1\"\n[[jobs]]\nid = \"a\"\nrounds = 2\n[jobs.strategy]\nname = \"fedavg\"\n"),
		[]byte("heartbeat_interval = \"-1s\"\nchunk_size = -3\n[[jobs]]\n[[jobs]]\nid = 7\n"),
		[]byte("[gossip\n"),
	}, func(data []byte) error {
		cfg, err := DecodeConfig(data, "fuzz.toml")
		if err != nil {
			return err
		}
		return cfg.Validate()
	})
}
