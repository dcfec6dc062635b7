package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSoakShort is the short soak of make test: 5 real site agents and the
// real coordinator (mTLS, secure aggregation) for 60 s under seed 11's
// chaos schedule (a corrupted checkpoint, agents killed, the
// coordinator's disk full, the coordinator killed mid secure
// aggregation), each member its own container from this tree's image when
// a Docker Engine runs here, processes otherwise. It fails if an
// invariant breaks.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the short soak takes about 80 s")
	}
	mode := []string{"--mode", "processes"}
	if why := dockerEngine(); why == "" {
		buildTestImage(t)
		// CPU weight 2 (about nice 19), beside other work.
		mode = []string{"--mode", "containers", "--image", testImage, "--cpu-shares", "2"}
	} else {
		t.Logf("short soak as processes: %s", why)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	js := filepath.Join(dir, "soak.json")
	cmd := exec.Command(binPath, append([]string{"soak", "--sites", "5", "--duration", "60s", "--seed", "11", "--fault-gap", "6s",
		"--out", out, "--json", js}, mode...)...)
	b, err := cmd.CombinedOutput()
	report := string(b)
	if i := strings.Index(report, "soak: 5 sites"); i > 0 {
		report = report[i:]
	}
	t.Logf("%s", report)
	if err != nil {
		t.Fatalf("soak: %v (logs in %s)", err, out)
	}
	res := readSoakJSON(t, js)
	if len(res.Invariants) != 6 || res.Report.Rounds == 0 || len(res.Report.Faults) < 4 {
		t.Fatalf("soak.json: %d invariants, %d rounds, faults %v", len(res.Invariants), res.Report.Rounds, res.Report.Faults)
	}
	res.checkInvariants(t)
}

// soakResult is the part of soak.json the soak tests check.
type soakResult struct {
	Mode       string `json:"mode"`
	Setup      string `json:"setup"`
	Invariants []struct {
		Name string `json:"name"`
		Held bool   `json:"held"`
	} `json:"invariants"`
	Report struct {
		Faults map[string]int `json:"faults_by_kind"`
		Rounds int            `json:"rounds_committed"`
	} `json:"report"`
}

// readSoakJSON reads the soak.json a soak run wrote at path.
func readSoakJSON(t *testing.T, path string) soakResult {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res soakResult
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// checkInvariants fails the test for every invariant the run broke.
func (r soakResult) checkInvariants(t *testing.T) {
	t.Helper()
	for _, v := range r.Invariants {
		if !v.Held {
			t.Errorf("broken: %s", v.Name)
		}
	}
}
