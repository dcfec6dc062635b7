package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs the binary and returns its stdout, stderr and exit status.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestJobCLI drives a coordinator and two agents (real processes, loopback,
// insecure mode) through the admin CLI: a bad spec is refused before it is
// sent, a job is submitted and waited for, and list, status, logs, status
// and cancel answer in tables and JSON.
func TestJobCLI(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	coordCfg := filepath.Join(dir, "coordinator.toml")
	writeFile(t, coordCfg, fmt.Sprintf("id = \"c\"\nlisten = %q\ninsecure = true\ndata_dir = %q\nheartbeat_interval = \"200ms\"\nstop_grace = \"1s\"\n[gossip]\nenabled = false\n",
		addr, filepath.Join(dir, "data")))
	coord := startProc(t, "coordinator", "coordinator", "--config", coordCfg)
	coord.waitLog(t, "listening", 20*time.Second, msgIs("coordinator listening"))
	for i, site := range []string{"a", "b"} {
		p := filepath.Join(dir, site+".toml")
		writeFile(t, p, fmt.Sprintf("site_id = %q\ncoordinator = %q\ninsecure = true\nstop_grace = \"1s\"\n[gossip]\nenabled = false\n[logreg]\nsite = %d\n", site, addr, i))
		startProc(t, site, "site-agent", "--config", p)
	}
	conn := []string{"--insecure", "--coordinator", addr}

	bad := filepath.Join(dir, "bad.toml")
	writeFile(t, bad, "id = \"x\"\nkind = \"train\"\nmodel = \"logreg\"\nroundz = 2\n")
	if _, stderr, code := runCLI(t, append([]string{"job", "submit", bad}, conn...)...); code != 2 || !strings.Contains(stderr, "bad.toml:4") {
		t.Errorf("bad spec: exit %d, stderr %q", code, stderr)
	}
	spec := filepath.Join(dir, "lr.toml")
	writeFile(t, spec, "id = \"lr\"\nkind = \"train\"\nmodel = \"logreg\"\nrounds = 2\nquorum = 2\nsites = [\"a\", \"b\"]\n[train]\nlocal_steps = 10\n")
	out, stderr, code := runCLI(t, append([]string{"job", "submit", spec, "--wait"}, conn...)...)
	if code != 0 || strings.TrimSpace(out) != "lr" {
		t.Fatalf("submit: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	out, _, code = runCLI(t, append([]string{"job", "list", "--json"}, conn...)...)
	var jobs []jobJSON
	if err := json.Unmarshal([]byte(out), &jobs); err != nil || code != 0 {
		t.Fatalf("list --json: %v (exit %d) %q", err, code, out)
	}
	if len(jobs) != 1 || jobs[0].State != "done" || len(jobs[0].Output) != 64 {
		t.Fatalf("jobs %+v", jobs)
	}
	out, _, _ = runCLI(t, append([]string{"job", "list"}, conn...)...)
	if !strings.Contains(out, "JOB") || !strings.Contains(out, jobs[0].Output[:12]) {
		t.Errorf("list table:\n%s", out)
	}

	out, _, code = runCLI(t, append([]string{"job", "status", "lr", "--json"}, conn...)...)
	var detail struct {
		Job    jobJSON           `json:"job"`
		Rounds []json.RawMessage `json:"rounds"`
		Sites  []struct {
			Site  string `json:"site"`
			State string `json:"state"`
		} `json:"sites"`
	}
	if err := json.Unmarshal([]byte(out), &detail); err != nil || code != 0 {
		t.Fatalf("status --json: %v %q", err, out)
	}
	if len(detail.Rounds) != 3 || len(detail.Sites) != 2 || detail.Sites[0].State != "accepted" {
		t.Errorf("job detail: %d rounds, sites %+v", len(detail.Rounds), detail.Sites)
	}

	out, _, code = runCLI(t, append([]string{"status"}, conn...)...)
	if code != 0 || !strings.Contains(out, "SERVING") || strings.Count(out, "alive") != 2 {
		t.Errorf("status:\n%s", out)
	}
	if out, _, _ := runCLI(t, append([]string{"job", "logs", "lr"}, conn...)...); !strings.Contains(out, "no failures") {
		t.Errorf("logs: %q", out)
	}
	if _, stderr, code := runCLI(t, append([]string{"job", "cancel", "lr"}, conn...)...); code != 1 || !strings.Contains(stderr, "already ended") {
		t.Errorf("cancel of a finished job: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "status", "--coordinator", addr); code != 2 || !strings.Contains(stderr, "no credentials") {
		t.Errorf("status without credentials: exit %d, %q", code, stderr)
	}
}
