package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/eval/report"
)

// TestSimTinyProfile runs the reduced end-to-end study (`sim --profile
// tiny`, seconds) and checks what it prints and writes.
func TestSimTinyProfile(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binPath, "sim", "--profile", "tiny", "--out", out)
	stdout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, stdout)
	}
	for _, want := range []string{"phase ddpm-federated: done", "phase classifiers: done", "wall time by phase", "REPRODUCED", "report.html"} {
		if !strings.Contains(string(stdout), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"report.md", "report.html", "sim.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	res, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile != "tiny" || res.Supplementation == nil || res.SyntheticOnly == nil || res.Mixing == nil || res.Federation == nil || len(res.Findings) != 4 {
		t.Errorf("results: profile %q, findings %d, experiments %v %v %v %v", res.Profile, len(res.Findings), res.Supplementation != nil, res.SyntheticOnly != nil, res.Mixing != nil, res.Federation != nil)
	}
}

// TestSimBadInvocationsExit2 checks that bad profiles, flags and files are
// refused with exit status 2 and a message naming the problem.
func TestSimBadInvocationsExit2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	writeFile(t, bad, "[ddpm]\nroundz = 1\nrounds = 0\n")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown profile", []string{"--profile", "huge"}, []string{"huge", "quick"}},
		{"logreg flag with a study profile", []string{"--profile", "tiny", "--rounds", "2"}, []string{"--rounds", "logreg"}},
		{"unknown key and bad value together", []string{"--config", bad}, []string{"bad.toml:2", "ddpm.roundz", "rounds 0"}},
	}
	cases = append(cases, struct {
		name string
		args []string
		want []string
	}{"no output folder", []string{"--out", "", "--profile", "tiny"}, []string{"--out", "--plan"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(binPath, append([]string{"sim", "--out", filepath.Join(dir, "out")}, tc.args...)...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2:\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestSimPlan prints the measured per-phase budget without running, and
// so needs no output folder.
func TestSimPlan(t *testing.T) {
	out, err := exec.Command(binPath, "sim", "--profile", "tiny", "--plan").CombinedOutput()
	if err != nil {
		t.Fatalf("sim --plan: %v\n%s", err, out)
	}
	for _, want := range []string{"unit costs", "ddpm-federated", "sampling", "classifiers", "total"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}
