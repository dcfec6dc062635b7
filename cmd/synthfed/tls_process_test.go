package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProcessesFromKitsWithTLS provisions a consortium with `synthfed
// provision`, runs `synthfed coordinator` and three `synthfed site-agent`
// processes from the generated kit configs (mTLS, keyed gossip, secure
// aggregation on by default), and kills one agent as round 2 opens: the
// encrypted gossip reports it, and the secure round completes with the
// two others (t = 2).
func TestProcessesFromKitsWithTLS(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cons := filepath.Join(dir, "consortium.toml")
	writeFile(t, cons, fmt.Sprintf(`name = "proc-test"
[coordinator]
id = "coordinator"
address = %q
listen = %q
[[sites]]
id = "s1"
[[sites]]
id = "s2"
[[sites]]
id = "s3"
`, addr, addr))
	out := filepath.Join(dir, "pki")
	if b, err := exec.Command(binPath, "provision", "--config", cons, "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("provision: %v\n%s", err, b)
	}
	kit := func(role, id string) string { return filepath.Join(out, "kits", role, id) }
	// The generated coordinator.toml, plus a job and faster timings.
	coordCfg := filepath.Join(kit("coordinator", "coordinator"), "coordinator.toml")
	gen, err := os.ReadFile(coordCfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, coordCfg, strings.Replace(string(gen), "[tls]", `heartbeat_interval = "200ms"
heartbeat_timeout = "0s"
[gossip]
probe_interval = "200ms"
probe_timeout = "100ms"
gossip_interval = "50ms"
suspicion_mult = 2
[[jobs]]
id = "sj"
rounds = 2
quorum = 2
sites = ["s1", "s2", "s3"]
[jobs.deadlines]
select = "5s"
init = "20s"
train = "20s"
[jobs.train]
local_steps = 10
# Training waits 1.5 s, so that s3, killed once it has joined round 2's
# secure round, cannot have sent its masked input first (without it the
# round could commit all three sites within milliseconds of the kill).
params = { delay_ms = "1500" }
[jobs.secagg]
max_weight = 1000

[tls]`, 1))
	coord := startProc(t, "coordinator", "coordinator", "--config", coordCfg, "--data-dir", filepath.Join(dir, "data"),
		"--gossip-bind", "127.0.0.1:0")
	coord.waitLog(t, "listening", 20*time.Second, msgIs("coordinator listening", "tls", true))
	var agents []*proc
	for _, s := range []string{"s1", "s2", "s3"} {
		agents = append(agents, startProc(t, s, "site-agent", "--config", filepath.Join(kit("site", s), "site-agent.toml")))
	}
	for _, s := range []string{"s1", "s2", "s3"} {
		coord.waitLog(t, s+" joined", 20*time.Second, msgIs("site joined", "site", s))
	}
	coord.waitLog(t, "round 1 commit", 40*time.Second, msgIs("committed round", "round", 1, "accepted", 3))
	agents[2].waitLog(t, "round 2 opens", 20*time.Second, msgIs("joined secure round", "round", 2))
	agents[2].kill()
	coord.waitLog(t, "s3 dropout", 15*time.Second, func(m map[string]any) bool {
		return m["msg"] == "site_dropout" && m["site"] == "s3" && fmt.Sprint(m["round"]) == "2"
	})
	coord.waitLog(t, "round 2 commit", 30*time.Second, msgIs("committed round", "round", 2, "accepted", 2))
	coord.waitLog(t, "job end", 10*time.Second, msgIs("job ended", "job", "sj", "state", "done"))
	coord.waitLog(t, "secure round", time.Second, func(m map[string]any) bool {
		return m["msg"] == "secure_round_opened" && fmt.Sprint(m["round"]) == "2" && strings.Contains(fmt.Sprint(m["detail"]), "threshold 2")
	})
	if os.Getenv("SHOWLOG") != "" {
		coord.mu.Lock()
		t.Log(strings.Join(coord.raw, "\n"))
		coord.mu.Unlock()
	}
}

// TestSiteAgentNeedsTLSOrInsecure: a config with neither a [tls] table nor
// insecure = true is refused with exit status 2.
func TestSiteAgentNeedsTLSOrInsecure(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "site.toml")
	writeFile(t, cfg, "site_id = \"s1\"\ncoordinator = \"127.0.0.1:1\"\n")
	for _, cmd := range []string{"site-agent", "coordinator"} {
		if cmd == "coordinator" {
			writeFile(t, cfg, "id = \"c\"\nlisten = \"127.0.0.1:0\"\n")
		}
		b, err := exec.Command(binPath, cmd, "--config", cfg).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(b), "no [tls] credentials") {
			t.Errorf("%s without TLS: %v\n%s", cmd, err, b)
		}
	}
}
