package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// data prepare on the CheXpert fixture: every row and image problem is
// listed with file:line as by data check (exit 1), the readable images (7) are
// stored, and a second run reuses them all.
func TestDataPrepare(t *testing.T) {
	dir := t.TempDir()
	src, _ := filepath.Abs("../../dataset/testdata/chexpert")
	cfg := filepath.Join(dir, "site.toml")
	os.WriteFile(cfg, []byte("[data]\nformat = \"chexpert\"\npath = \""+src+"\"\nimage_size = 16\nstore_dir = \"store\"\n"), 0o644)
	out, code := runBin(t, "data", "prepare", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the fixture has bad rows):\n%s", code, out)
	}
	for _, w := range []string{"train.csv:9: age out of range", "train.csv:17: unreadable image", "decoded 7", "images/s", "s16-u8-p1"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	out, _ = runBin(t, "data", "prepare", "--config", cfg, "--quiet")
	if !strings.Contains(out, "reused 7, decoded 0") {
		t.Errorf("second run did not reuse the store:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "store", "s16-u8-p1", "chunk-*.sfc")); len(m) != 1 {
		t.Errorf("chunks %v", m)
	}
	out, code = runBin(t, "data", "prepare", "--config", cfg, "--pixel-bits", "12")
	if code != 2 || !strings.Contains(out, "store_pixel_bits") {
		t.Errorf("bad pixel bits: exit %d\n%s", code, out)
	}
}
