package study

import (
	"errors"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

// FuzzConfig decodes arbitrary --config overlays over the quick profile and
// validates them: it must never panic, and every refusal must be a
// configuration error (config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	for _, name := range Profiles() {
		if data, err := profileFS.ReadFile("profiles/" + name + ".toml"); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("[experiments]\nlevels = [0, 200]\nsynthetic_only = [200]\nmixing = [200]\nfederation_level = 200\n"))
	f.Add([]byte("sites = 0\n[data]\nsize = 0\ntest_fraction = 1.5\n[ddpm.arch]\nchannel_mults = []\n"))
	f.Add([]byte("[classifier.train]\nreal_fraction = nan\n[eval]\nlevel = inf\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := DefaultConfig()
		err := config.Decode(data, "fuzz.toml", &c)
		if err == nil {
			err = c.Validate()
		}
		if err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("refusal without ErrInvalid: %v", err)
		}
	})
}
