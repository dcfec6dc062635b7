package phantom

import (
	"testing"

	"github.com/synthfed/synthfed/internal/config/configtest"
)

// FuzzConfig decodes arbitrary phantom configuration files
// (configtest.Fuzz: no panic, every refusal a config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	configtest.Fuzz(f, [][]byte{configtest.Marshal(DefaultConfig()),
		[]byte("seed = 3\nsize = 32\n[[site]]\nname = \"community\"\nnoise = 0.1\n"),
		[]byte("size = -1\nsupersample = 0\nvalid_fraction = 2\n[[site]]\n[[site]]\nname = 7\n"),
		[]byte("[[site]]\nname = \"x\"\nap_fraction = nan\n"),
	}, func(data []byte) error {
		_, err := DecodeConfig(data, "fuzz.toml")
		return err
	})
}
