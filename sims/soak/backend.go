package soak

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// Modes of a run: where the coordinator and the sites run.
const (
	// ModeAuto picks containers when a Docker Engine answers and has the
	// image, else netns when the soak runs as root and network namespaces
	// work here, and processes otherwise.
	ModeAuto = "auto"
	// ModeProcesses runs every member as a process on loopback, each site
	// behind an in-process fault proxy.
	ModeProcesses = "processes"
	// ModeContainers runs every member as its own container from the
	// project's image on a private Docker network with its own address.
	ModeContainers = "containers"
	// ModeNetns runs every member as a process in a network namespace of
	// its own, linked by veth pairs to a bridge, with its own address
	// (root only; netns.go).
	ModeNetns = "netns"
)

// backend is where a run's members live: it makes their commands, kills,
// stalls and partitions them, and says where to read their resources.
// processBackend, containerBackend and netnsBackend implement it.
type backend interface {
	// mode is ModeProcesses, ModeContainers or ModeNetns.
	mode() string
	// coordinatorAddr is the coordinator's address in the consortium
	// (what sites and the admin dial, and its certificate's host) and
	// the address it listens on.
	coordinatorAddr() (dial, listen string)
	// siteCoordinator is the address site i dials.
	siteCoordinator(i int) string
	// monitorListen is the address members serve /metrics on, and
	// debugListen the coordinator's profiles.
	monitorListen() string
	debugListen() string
	// create readies a member before its first start.
	create(ctx context.Context, p *process) error
	// command is the command of a new incarnation of p; its stdout and
	// stderr are the member's.
	command(p *process) *exec.Cmd
	// started is called once an incarnation's command runs.
	started(p *process)
	// signal sends the member a kill (SIGKILL), a stop request
	// (SIGTERM), a stall (SIGSTOP) or its end (SIGCONT).
	signal(p *process, sig syscall.Signal) error
	// hostPID is the running incarnation's process ID on this host (0:
	// none or unknown).
	hostPID(p *process) int
	// baseURL maps an HTTP address a member logged (/metrics, profiles)
	// to one the soak can reach ("http://host:port").
	baseURL(p *process, addr string) string
	// partition cuts site i's link to the coordinator for d, then heals
	// it; held is called once the cut is in place.
	partition(ctx context.Context, i int, d time.Duration, held func()) error
	// describe says how the members and links are set up (for the report).
	describe() string
	// teardown removes what the backend created (idempotent).
	teardown() error
	// leftovers lists what the backend created that still exists.
	leftovers() []string
}

// processBackend runs members as processes on loopback; a partition goes
// through the site's fault proxy.
type processBackend struct {
	binary  string
	addr    string
	proxies []*proxy
}

func newProcessBackend(binary string, sites int) (*processBackend, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b := &processBackend{binary: binary, addr: addr}
	for range sites {
		p, err := newProxy(addr)
		if err != nil {
			b.teardown()
			return nil, err
		}
		b.proxies = append(b.proxies, p)
	}
	return b, nil
}

func (b *processBackend) mode() string                           { return ModeProcesses }
func (b *processBackend) coordinatorAddr() (string, string)      { return b.addr, b.addr }
func (b *processBackend) siteCoordinator(i int) string           { return b.proxies[i].addr() }
func (b *processBackend) monitorListen() string                  { return "127.0.0.1:0" }
func (b *processBackend) create(context.Context, *process) error { return nil }
func (b *processBackend) started(*process)                       {}
func (b *processBackend) baseURL(_ *process, a string) string    { return "http://" + a }
func (b *processBackend) debugListen() string                    { return "127.0.0.1:0" }
func (b *processBackend) leftovers() []string                    { return nil }

func (b *processBackend) describe() string {
	return "processes on loopback; each site dials the coordinator through an in-process fault proxy (links not shaped)"
}

func (b *processBackend) command(p *process) *exec.Cmd {
	cmd := exec.Command(b.binary, append([]string{"--log-format", "json"}, p.args...)...)
	// Children die with the soak, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

func (b *processBackend) signal(p *process, sig syscall.Signal) error {
	return signalPID(p.pid(), sig)
}

func (b *processBackend) hostPID(p *process) int { return p.pid() }

func (b *processBackend) partition(ctx context.Context, i int, d time.Duration, held func()) error {
	b.proxies[i].cut(d)
	held()
	select {
	case <-ctx.Done():
		return errStopped
	case <-time.After(d):
		return nil
	}
}

func (b *processBackend) teardown() error {
	for _, p := range b.proxies {
		p.close()
	}
	return nil
}

// holdThenRestore keeps a fault for d (less when ctx ends first: then the
// result includes errStopped) and then undoes it with restore, which gets
// a fresh 30-second context so that a stopping run still heals its links.
func holdThenRestore(ctx context.Context, d time.Duration, restore func(context.Context) error) error {
	var stopped error
	select {
	case <-ctx.Done():
		stopped = errStopped
	case <-time.After(d):
	}
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := restore(cctx); err != nil {
		return errors.Join(stopped, err)
	}
	return stopped
}
