package phantom

import (
	"errors"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

// FuzzConfig decodes arbitrary phantom configuration files: it must never
// panic, and every refusal must be a configuration error
// (config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	f.Add([]byte("seed = 3\nsize = 32\n[[site]]\nname = \"community\"\nnoise = 0.1\n"))
	f.Add([]byte("size = -1\nsupersample = 0\nvalid_fraction = 2\n[[site]]\n[[site]]\nname = 7\n"))
	f.Add([]byte("[[site]]\nname = \"x\"\nap_fraction = nan\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := DecodeConfig(data, "fuzz.toml"); err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("refusal without ErrInvalid: %v", err)
		}
	})
}
