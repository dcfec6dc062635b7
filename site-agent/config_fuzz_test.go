package siteagent

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

// FuzzConfig decodes and validates arbitrary site-agent configuration
// files: it must never panic, and every refusal must be a configuration
// error (config.ErrInvalid).
func FuzzConfig(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "examples", "site.toml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("site_id = \"a\"\ncoordinator = \"x:1\"\ninsecure = true\n[data]\nformat = \"chexpert\"\npath = \"/x\"\nsplit = [0.5, 0.5]\n"))
	f.Add([]byte("[backoff]\nmultiplier = -1\njitter = 9\n[gossip]\nsuspicion_mult = 0\n"))
	f.Add([]byte("[privacy]\nepsilon_budget = nan\ndelta = 2\n"))
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
