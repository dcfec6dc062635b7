package scenario

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the scenario scripts' expected outputs")

// TestScenarios runs every script in sims/testdata.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Parse(bytes.NewReader(data), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var log *slog.Logger
	if os.Getenv("SCENARIO_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r := NewRunner(t.TempDir(), log)
	defer r.Close()
	outs := make([]string, len(ds))
	for i := range ds {
		d := &ds[i]
		out, err := r.Do(ctx, d)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, d.Line, d.Raw, err)
		}
		outs[i] = out
		if !*rewrite && out != d.Expected {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, d.Line, d.Raw, out, d.Expected)
		}
	}
	if *rewrite {
		var b bytes.Buffer
		if err := Format(&b, ds, outs); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
