package dataset

import (
	"testing"

	"github.com/synthfed/synthfed/internal/config/configtest"
)

// FuzzConfig decodes and validates arbitrary configuration files of this
// package (configtest.Fuzz: no panic, every refusal a config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	configtest.Fuzz(f, [][]byte{configtest.Marshal(DefaultConfig()), []byte("x = nan\n"), []byte("[a\n")}, func(data []byte) error {
		return configtest.DecodeValidate(data, DefaultConfig(), Config.Validate)
	})
}
