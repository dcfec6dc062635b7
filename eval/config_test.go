package eval

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := Config{Bootstrap: BootstrapConfig{Reps: 0, Level: 1}, PRNeighbours: 0, FidelityThreshold: 1.5, Memorisation: MemorisationConfig{Percentile: 101}}
	err := bad.Validate()
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"bootstrap.reps", "bootstrap.level", "pr_neighbours", "fidelity_threshold", "memorisation.percentile"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "eval.toml")
	os.WriteFile(good, []byte("pr_neighbours = 5\n[bootstrap]\nreps = 500\n"), 0o600)
	cfg, err := LoadConfig(good)
	if err != nil || cfg.PRNeighbours != 5 || cfg.Bootstrap.Reps != 500 || cfg.Bootstrap.Level != 0.95 {
		t.Fatalf("cfg %+v err %v", cfg, err)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[bootstrap]\nrepz = 5\n"), 0o600)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "bad.toml:2") {
		t.Fatalf("unknown key: err = %v", err)
	}
}
