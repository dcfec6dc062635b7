package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model/device/opencl"
)

// poclDevice returns "opencl:N" of the first OpenCL device of CPU type
// (pocl in CI; "auto" skips it, so it is named), or skips.
func poclDevice(t *testing.T) string {
	t.Helper()
	devs, err := opencl.Devices()
	if err != nil {
		t.Skipf("no OpenCL loader (scripts/deps.sh installs pocl): %v", err)
	}
	for _, d := range devs {
		if d.Type == "cpu" {
			return fmt.Sprintf("opencl:%d", d.Index)
		}
	}
	t.Skipf("no OpenCL CPU device (pocl) among %d devices", len(devs))
	return ""
}

// deviceJobs parses sim's "device jobs: K slots, at most M held at once"
// line.
func deviceJobs(t *testing.T, out string) (slots, most, waited int) {
	t.Helper()
	m := regexp.MustCompile(`device jobs: (\d+) slots, at most (\d+) held at once, \d+ granted, (\d+) waited`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no device jobs line in:\n%s", out)
	}
	slots, _ = strconv.Atoi(m[1])
	most, _ = strconv.Atoi(m[2])
	waited, _ = strconv.Atoi(m[3])
	return slots, most, waited
}

// TestSimOnPoclDevice runs the tiny study with two sites sharing the pocl
// device through one job slot (every site's train and sample job waits
// for it), and the logreg consortium's three sites through two slots:
// both complete, the sites' DDPM and classifier steps and sampling ran
// resident on the device, and the slots were never held by more than K
// jobs at once (and were contended).
func TestSimOnPoclDevice(t *testing.T) {
	dev := poclDevice(t)
	dir := t.TempDir()
	two := filepath.Join(dir, "two.toml")
	writeFile(t, two, "sites = 2\n")
	cases := []struct {
		name string
		k    int
		args []string
		want []string
		// inLog must be in the study's DIR/sim.log: the agents' jobs ran
		// on the device.
		inLog []string
	}{
		{"tiny study, 2 sites, K=1", 1, []string{"--profile", "tiny", "--config", two}, []string{"phase sampling: done", "report.html"},
			[]string{"ddpm steps resident on the device", "classifier steps resident on the device", "ddpm sampling on the device"}},
		{"logreg, 3 sites, K=2", 2, []string{"--profile", "logreg", "--rounds", "2"}, []string{"job done"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strconv.Itoa(tc.k))
			args := append([]string{"sim", "--out", out, "--device", dev, "--device-jobs", strconv.Itoa(tc.k)}, tc.args...)
			b, err := exec.Command(binPath, args...).CombinedOutput()
			stdout := string(b)
			if err != nil {
				t.Fatalf("sim %s: %v\n%s", strings.Join(args, " "), err, stdout)
			}
			for _, w := range append(tc.want, "sites compute on "+dev) {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			if len(tc.inLog) > 0 {
				log, err := os.ReadFile(filepath.Join(out, "sim.log"))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range tc.inLog {
					if !strings.Contains(string(log), w) {
						t.Errorf("sim.log lacks %q", w)
					}
				}
			}
			slots, most, waited := deviceJobs(t, stdout)
			if slots != tc.k || most < 1 || most > tc.k || waited == 0 {
				t.Errorf("%d slots, at most %d held, %d waited: want %d slots, 1..%d held, some waiting", slots, most, waited, tc.k, tc.k)
			}
		})
	}
}

// TestSimDeviceFlagsRefused checks that a bad --device or --device-jobs
// exits with status 2 naming the flag, both problems at once.
func TestSimDeviceFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--device", "gpu"}, []string{"--device", "opencl:N"}},
		{[]string{"--device", "opencl:x", "--device-jobs", "0"}, []string{"--device", "--device-jobs 0"}},
	} {
		out, err := exec.Command(binPath, append([]string{"sim", "--profile", "tiny", "--out", t.TempDir()}, tc.args...)...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("%v: exit %v, want 2:\n%s", tc.args, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}
