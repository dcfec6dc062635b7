package study

import (
	"testing"

	"github.com/synthfed/synthfed/internal/config/configtest"
)

// FuzzConfig decodes arbitrary --config overlays over the quick profile and
// validates them (configtest.Fuzz: no panic, every refusal a
// config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	var seeds [][]byte
	for _, name := range Profiles() {
		if data, err := profileFS.ReadFile("profiles/" + name + ".toml"); err == nil {
			seeds = append(seeds, data)
		}
	}
	seeds = append(seeds,
		[]byte("[experiments]\nlevels = [0, 200]\nsynthetic_only = [200]\nmixing = [200]\nfederation_level = 200\n"),
		[]byte("sites = 0\n[data]\nsize = 0\ntest_fraction = 1.5\n[ddpm.arch]\nchannel_mults = []\n"),
		[]byte("[classifier.train]\nreal_fraction = nan\n[eval]\nlevel = inf\n"))
	configtest.Fuzz(f, seeds, func(data []byte) error {
		return configtest.DecodeValidate(data, DefaultConfig(), Config.Validate)
	})
}
