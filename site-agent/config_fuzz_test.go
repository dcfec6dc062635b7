package siteagent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/internal/config/configtest"
)

// FuzzConfig decodes and validates arbitrary site-agent configuration files
// (configtest.Fuzz: no panic, every refusal a config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	example, _ := os.ReadFile(filepath.Join("..", "examples", "site.toml"))
	configtest.Fuzz(f, [][]byte{example, configtest.Marshal(DefaultConfig()),
		[]byte("site_id = \"a\"\ncoordinator = \"x:1\"\ninsecure = true\n[data]\nformat = \"chexpert\"\npath = \"/x\"\nsplit = [0.5, 0.5]\n"),
		[]byte("[backoff]\nmultiplier = -1\njitter = 9\n[gossip]\nsuspicion_mult = 0\n"),
		[]byte("[privacy]\nepsilon_budget = nan\ndelta = 2\n"),
		[]byte("[compute]\ndevice = \"opencl:07\"\nmemory_cap_mib = -5\n"),
		[]byte("[compute]\ndevice = \"opencl:1\"\nmemory_cap_mib = 81920\n"),
	}, func(data []byte) error {
		return configtest.DecodeValidate(data, DefaultConfig(), Config.Validate)
	})
}
