package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synthfed/synthfed/sims/soak"
)

// needNetns skips a test where the soak's netns mode cannot run (not
// root, no ip command, namespaces refused).
func needNetns(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("the netns soak runs real processes for a minute")
	}
	if why := soak.NetnsReady(); why != "" {
		t.Skipf("netns mode not available here: %s", why)
	}
}

var runPrefixRe = regexp.MustCompile(soak.NetnsPrefix + `([0-9a-f]{6})-`)

// netnsLeft lists the namespaces whose names start with prefix.
func netnsLeft(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			left = append(left, f[0])
		}
	}
	return left
}

// TestSoakNetnsShort is the short soak in network namespaces: 4 real site
// agents and the real coordinator (mTLS, secure aggregation), each in a
// namespace of its own, for 45 s under seed 165's schedule of the faults
// that the mode maps (a partition by link down, a stall by SIGSTOP, an
// agent killed, the coordinator killed mid secure aggregation). It fails
// if an invariant breaks or if a namespace or link of the run remains.
// It runs beside the containers short soak without conflict: its
// addresses are in 10.150-10.199 (Docker's soak networks in 10.200-10.249)
// and its names start sfsoak- (the containers' synthfed-soak-).
func TestSoakNetnsShort(t *testing.T) {
	needNetns(t)
	dir := t.TempDir()
	out, js := filepath.Join(dir, "run"), filepath.Join(dir, "soak.json")
	cmd := exec.Command(binPath, "soak", "--mode", "netns", "--sites", "4", "--duration", "45s", "--seed", "165",
		"--fault-gap", "2s", "--deadline", "5s", "--faults", "partition,stall,kill-agents,kill-coordinator-secagg",
		"--out", out, "--json", js)
	b, err := cmd.CombinedOutput()
	report := string(b)
	if i := strings.Index(report, "soak: 4 sites"); i > 0 {
		report = report[i:]
	}
	t.Logf("%s", report)
	if err != nil {
		t.Fatalf("soak: %v (logs in %s)", err, out)
	}
	res := readSoakJSON(t, js)
	if res.Mode != soak.ModeNetns || len(res.Invariants) != 6 || res.Report.Rounds == 0 {
		t.Fatalf("soak.json: mode %q, %d invariants, %d rounds", res.Mode, len(res.Invariants), res.Report.Rounds)
	}
	for _, k := range []string{"partition", "stall", "kill-agents"} {
		if res.Report.Faults[k] == 0 {
			t.Errorf("no %s fault applied (faults %v)", k, res.Report.Faults)
		}
	}
	res.checkInvariants(t)
	m := runPrefixRe.FindStringSubmatch(res.Setup)
	if m == nil {
		t.Fatalf("no run prefix in the setup %q", res.Setup)
	}
	if left := netnsLeft(t, soak.NetnsPrefix+m[1]+"-"); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
	if _, err := os.Stat("/sys/class/net/sfh" + m[1]); err == nil {
		t.Errorf("link sfh%s left", m[1])
	}
}

// TestSoakNetnsInterrupted: a netns soak stopped by SIGINT mid-run removes
// its namespaces, its link and its record, and stops every member.
func TestSoakNetnsInterrupted(t *testing.T) {
	needNetns(t)
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(binPath, "soak", "--mode", "netns", "--sites", "3", "--duration", "2m", "--seed", "5",
		"--out", out, "--json", "")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "soak: job submitted") {
	}
	go func() {
		for sc.Scan() { // keep the pipe drained
		}
	}()
	runID := netnsRunOf(t, cmd.Process.Pid)
	if runID == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("no netns record of the soak's pid while its first job ran")
	}
	if left := netnsLeft(t, soak.NetnsPrefix+runID+"-"); len(left) != 5 {
		t.Errorf("namespaces of the running soak: %v, want the switch, the coordinator and 3 sites", left)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() { werr <- cmd.Wait() }()
	select {
	case err = <-werr:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the soak did not stop within 60 s of SIGINT")
	}
	if err == nil {
		t.Error("an interrupted soak exited 0")
	}
	if left := netnsLeft(t, soak.NetnsPrefix+runID+"-"); len(left) > 0 {
		t.Errorf("namespaces left after SIGINT: %v", left)
	}
	for _, p := range []string{"/sys/class/net/sfh" + runID, filepath.Join(soak.NetnsRecordDir, "netns-"+runID)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left after SIGINT", p)
		}
	}
	if procs := processesMentioning(out); len(procs) > 0 {
		t.Errorf("processes left after SIGINT: %v", procs)
	}
}

// netnsRunOf returns the run ID whose record names pid ("" if none yet).
func netnsRunOf(t *testing.T, pid int) string {
	t.Helper()
	ents, _ := os.ReadDir(soak.NetnsRecordDir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(soak.NetnsRecordDir, e.Name()))
		if err == nil && strings.Contains(string(b), "pid="+strconv.Itoa(pid)+"\n") {
			return strings.TrimPrefix(e.Name(), "netns-")
		}
	}
	return ""
}

// processesMentioning lists live, non-zombie processes whose command line
// contains s.
func processesMentioning(s string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}
