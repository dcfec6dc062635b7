package main

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBin runs the built synthfed binary and returns its output and exit code.
func runBin(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binPath, append([]string{"--log-level", "warn"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestDataCheck(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{name: "fixture with problems", args: []string{"data", "check", "--format", "chexpert", "../../dataset/testdata/chexpert"}, code: 1,
			want: []string{"records: 7", "train.csv:9: age out of range", "train.csv:17: unreadable image", "JPEG Baseline", "unreadable image                           2"}},
		{name: "mimic", args: []string{"data", "check", "--format", "mimic", "../../dataset/testdata/mimic"}, code: 1,
			want: []string{"records: 3", "no labels for study"}},
		{name: "csv only", args: []string{"data", "check", "--no-images", "--format", "manifest", "../../dataset/testdata/manifest/manifest.csv"}, code: 1,
			want: []string{"records: 3", "manifest.csv:5: missing image"}},
		{name: "bad format", args: []string{"data", "check", "--format", "nih", "x"}, code: 2},
		{name: "bad config", args: []string{"data", "check", "--format", "chexpert", "--size", "0", "x"}, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runBin(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestDataShow(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.png")
	msg, code := runBin(t, "data", "show", "../../dataset/testdata/chexpert/train/patient00003/study1/view1_frontal.dcm", "--size", "12", "--png", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 12 || img.Bounds().Dy() != 12 {
		t.Fatalf("png %v %v", img.Bounds(), err)
	}
	if _, code := runBin(t, "data", "show", "../../dataset/testdata/chexpert/train.csv", "--size", "12", "--png", out); code != 1 {
		t.Errorf("a CSV as an image: exit %d, want 1", code)
	}
}

// TestPhantomWritesLoadableSites writes a small consortium twice with the
// same seed: the files are identical and each site passes data check.
func TestPhantomWritesLoadableSites(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if out, code := runBin(t, "phantom", "--sites", "2", "--per-site", "30", "--size", "16", "--seed", "5", "--out", dir); code != 0 {
			t.Fatalf("phantom exit %d: %s", code, out)
		}
	}
	for _, f := range []string{"academic/train.csv", "community/demographics.csv", "community/train/patient00001/study1/view1_frontal.png"} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs with one seed (%v %v)", f, err1, err2)
		}
	}
	out, code := runBin(t, "data", "check", "--format", "chexpert", "--size", "16", filepath.Join(a, "community"))
	if code != 0 || !strings.Contains(out, "problems: 0 errors") {
		t.Fatalf("data check of a phantom site: exit %d\n%s", code, out)
	}
	if _, code := runBin(t, "phantom", "--sites", "1", "--size", "500", "--out", a); code != 2 {
		t.Errorf("--size 500: exit %d, want 2", code)
	}
}
