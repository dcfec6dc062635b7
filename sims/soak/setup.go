package soak

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/synthfed/synthfed/model/logreg"
)

// siteID names site i.
func siteID(i int) string { return fmt.Sprintf("site-%03d", i+1) }

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// prepareOut makes the run's folder: empty, or one an earlier soak left.
func prepareOut(out string) error {
	ents, err := os.ReadDir(out)
	if err == nil && len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(out, ".soak")); err != nil {
			return fmt.Errorf("soak: %s is not empty and not a soak folder; pick another --out", out)
		}
		unmountUnder(out) // a killed soak's tmpfs
		if err := os.RemoveAll(out); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(out, "logs"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, ".soak"), nil, 0o644)
}

// consortiumTOML is the run's consortium: the coordinator on addr, the
// sites and one admin (who submits the jobs).
func consortiumTOML(addr, listen string, sites int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name = \"soak\"\n[coordinator]\nid = \"coordinator\"\naddress = %q\nlisten = %q\n", addr, listen)
	for i := range sites {
		fmt.Fprintf(&b, "[[sites]]\nid = %q\n", siteID(i))
	}
	b.WriteString("[[admins]]\nid = \"soak\"\n")
	return b.String()
}

// provision writes the consortium, runs `synthfed provision`, and adapts
// the generated configs: timings for a soak, no gossip (partitions cut
// the only path), each site dialling its proxy, with its data folder.
func (r *runner) provision() error {
	addr, listen := r.be.coordinatorAddr()
	cons := filepath.Join(r.cfg.Out, "consortium.toml")
	if err := os.WriteFile(cons, []byte(consortiumTOML(addr, listen, r.cfg.Sites)), 0o644); err != nil {
		return err
	}
	if b, err := exec.Command(r.cfg.Binary, "provision", "--config", cons, "--out", r.pki()).CombinedOutput(); err != nil {
		return fmt.Errorf("provision: %w\n%s", err, b)
	}
	cpath := filepath.Join(r.pki(), "kits", "coordinator", "coordinator", "coordinator.toml")
	mon := r.be.monitorListen()
	if err := edit(cpath, func(s string) string {
		return strings.Replace(s, "\n[tls]", `
metrics_listen = "`+mon+`"
heartbeat_interval = "500ms"
heartbeat_timeout = "3s"
stop_grace = "2s"
[gossip]
enabled = false

[tls]`, 1) + "crl_reload = \"1s\"\n"
	}); err != nil {
		return err
	}
	for i := range r.cfg.Sites {
		id := siteID(i)
		lc := logreg.DefaultConfig()
		lc.Site, lc.DataSeed = i, r.cfg.Seed
		if err := logreg.WriteDataDir(r.dataDir(id), lc); err != nil {
			return err
		}
		if err := os.MkdirAll(r.updates(id), 0o755); err != nil {
			return err
		}
		path := filepath.Join(r.kit(id), "site-agent.toml")
		err := edit(path, func(s string) string {
			s = strings.Replace(s, fmt.Sprintf("coordinator = %q", addr), fmt.Sprintf("coordinator = %q", r.be.siteCoordinator(i)), 1)
			return strings.Replace(s, "\n[tls]", fmt.Sprintf(`
stop_grace = "1s"
[monitor]
listen = %q
[backoff]
initial = "100ms"
max = "1s"
[gossip]
enabled = false
[logreg]
site = %d
data_seed = %d
data_dir = %q

[tls]`, mon, i, r.cfg.Seed, r.dataDir(id)), 1) + "crl_reload = \"1s\"\n"
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func edit(path string, f func(string) string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(f(string(b))), 0o644)
}

func (r *runner) pki() string              { return filepath.Join(r.cfg.Out, "pki") }
func (r *runner) kit(id string) string     { return filepath.Join(r.pki(), "kits", "site", id) }
func (r *runner) dataDir(id string) string { return filepath.Join(r.cfg.Out, "sites", id, "data") }
func (r *runner) updates(id string) string {
	return filepath.Join(r.cfg.Out, "sites", id, "updates")
}
func (r *runner) coordData() string { return filepath.Join(r.cfg.Out, "coordinator-data") }

// jobSpec is the TOML of the soak's n-th job: logistic regression over
// every site, secure aggregation, updates clipped to maxNorm.
func (r *runner) jobSpec(id string, n int) string {
	var sites []string
	for i := range r.cfg.Sites {
		sites = append(sites, fmt.Sprintf("%q", siteID(i)))
	}
	d := r.cfg.Deadline.String()
	return fmt.Sprintf(`id = %q
model = "logreg"
rounds = %d
quorum = %d
sites = [%s]
seed = %d
max_attempts = 3
[deadlines]
select = %q
init = %q
train = %q
[train]
local_steps = %d
params = { delay_ms = "%d" }
[validation]
max_update_norm = %g
`, id, r.cfg.Rounds, r.cfg.Quorum(), strings.Join(sites, ", "), int64(r.cfg.Seed)*1000+int64(n), d, d, d,
		r.cfg.LocalSteps, r.cfg.TrainDelay.Milliseconds(), maxNorm)
}

// maxNorm is the jobs' update bound: sites clip their updates to it.
const maxNorm = 1.0
