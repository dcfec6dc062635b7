package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binPath is the synthfed binary built once for the process tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "synthfed-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "synthfed")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build synthfed: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running synthfed process whose JSON log lines are collected.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []map[string]any
	raw  []string
	done chan struct{}
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"--log-format", "json"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			line := sc.Text()
			_ = json.Unmarshal([]byte(line), &m)
			p.mu.Lock()
			p.logs, p.raw = append(p.logs, m), append(p.raw, line)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// waitLog waits for a log line matching pred and returns it.
func (p *proc) waitLog(t *testing.T, what string, timeout time.Duration, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for _, m := range p.logs {
			if m != nil && pred(m) {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			p.mu.Lock()
			tail := p.raw[max(0, len(p.raw)-15):]
			p.mu.Unlock()
			t.Fatalf("%s: no %s within %v; last lines:\n%s", p.name, what, timeout, strings.Join(tail, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgIs(msg string, kv ...any) func(map[string]any) bool {
	return func(m map[string]any) bool {
		if m["msg"] != msg {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if fmt.Sprint(m[kv[i].(string)]) != fmt.Sprint(kv[i+1]) {
				return false
			}
		}
		return true
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const testGossip = `
[gossip]
enabled = true
bind = "127.0.0.1:0"
probe_interval = "200ms"
probe_timeout = "100ms"
gossip_interval = "50ms"
suspicion_mult = 2
`

// TestProcessesSurviveKills runs a coordinator and three agents as real
// processes on 127.0.0.1. It kills one agent with SIGKILL while it trains
// (gossip declares it dead and the round completes with the quorum of 2),
// then kills the coordinator with SIGKILL mid-job: the restarted coordinator
// resumes at the last committed round with the same model hash, the agents
// reconnect by themselves, and the job completes.
func TestProcessesSurviveKills(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	coordCfg := filepath.Join(dir, "coordinator.toml")
	writeFile(t, coordCfg, fmt.Sprintf(`
id = "c1"
listen = %q
insecure = true
data_dir = %q
heartbeat_interval = "200ms"
heartbeat_timeout = "0s"
stop_grace = "2s"
%s
[[jobs]]
id = "j"
rounds = 6
quorum = 2
sites = ["s1", "s2", "s3"]
[jobs.deadlines]
select = "3s"
init = "20s"
train = "20s"
[jobs.train]
local_steps = 20
params = { delay_ms = "400" }
`, addr, filepath.Join(dir, "data"), testGossip))
	var sites []string
	for i := 1; i <= 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("s%d.toml", i))
		writeFile(t, p, fmt.Sprintf("site_id = \"s%d\"\ncoordinator = %q\ninsecure = true\nstop_grace = \"1s\"\n[backoff]\ninitial = \"50ms\"\nmax = \"500ms\"\n%s\n[logreg]\nsite = %d\n", i, addr, testGossip, i-1))
		sites = append(sites, p)
	}
	coord := startProc(t, "coordinator", "coordinator", "--config", coordCfg)
	coord.waitLog(t, "listening", 20*time.Second, msgIs("coordinator listening"))
	var agents []*proc
	for i, p := range sites {
		agents = append(agents, startProc(t, fmt.Sprintf("s%d", i+1), "site-agent", "--config", p))
	}

	// Kill s3 while it trains round 2.
	agents[2].waitLog(t, "round 2 task", 30*time.Second, msgIs("task received", "round", 2, "kind", "train"))
	agents[2].kill()
	killed := time.Now()
	coord.waitLog(t, "s3 dropout", 15*time.Second, msgIs("site_dropout", "site", "s3", "round", 2))
	detect := time.Since(killed)
	r2 := coord.waitLog(t, "round 2 commit", 20*time.Second, msgIs("committed round", "round", 2))
	if fmt.Sprint(r2["accepted"]) != "2" {
		t.Fatalf("round 2 accepted %v, want 2", r2["accepted"])
	}
	t.Logf("gossip declared s3 dead %v after SIGKILL", detect)

	// Kill the coordinator while round 4 runs.
	r3 := coord.waitLog(t, "round 3 commit", 20*time.Second, msgIs("committed round", "round", 3))
	coord.kill()
	coord2 := startProc(t, "coordinator-2", "coordinator", "--config", coordCfg)
	res := coord2.waitLog(t, "resume", 20*time.Second, msgIs("resumed job", "job", "j"))
	if fmt.Sprint(res["round"]) != "3" || res["hash"] != r3["hash"] {
		t.Fatalf("resumed at round %v hash %v; last commit before the kill: round 3 hash %v", res["round"], res["hash"], r3["hash"])
	}
	end := coord2.waitLog(t, "job end", 60*time.Second, msgIs("job ended", "job", "j"))
	if end["state"] != "done" {
		t.Fatalf("job ended %v", end)
	}
	coord2.waitLog(t, "round 6 commit", time.Second, msgIs("committed round", "round", 6))

	// Graceful stop: SIGTERM, exit status 0.
	for _, p := range []*proc{agents[0], agents[1], coord2} {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("%s after SIGTERM: %v", p.name, err)
		}
	}
}
