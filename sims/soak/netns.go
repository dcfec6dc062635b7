package soak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// netnsBackend runs every member as a process inside a network namespace
// of its own, linked by a veth pair to a bridge. The bridge lives in a
// namespace of its own too (the run's "switch"): in the root namespace a
// bridge's traffic passes the host's iptables FORWARD chain when
// br_netfilter is loaded, and Docker's hosts drop it there. The soak
// reaches the members (job submission, /metrics) through one more veth
// pair, from the root namespace into the switch.
//
// Names: every namespace is NetnsPrefix+runID+"-"+member (the switch is
// NetnsPrefix+runID+"-switch"); the one link in the root namespace is
// "sfh"+runID; links inside the switch are "c" (the coordinator), "s001"...
// (sites) and "host". Members start with `ip netns exec`, which execs the
// member in place: the process the soak tracks (and kill -9s) is the
// member itself. A kill is SIGKILL, a stall SIGSTOP, a partition the
// site's switch port set down, shaping tbf on both ends of a site's link.
type netnsBackend struct {
	binary, runID, out string
	base               uint32
	linkRate           string

	// swept are the dead runs whose leftovers this run removed first.
	swept []string

	mu      sync.Mutex
	shaping string
}

// netnsSubnets is where a netns run picks its /20: 10.150.0.0 to
// 10.199.255.255 (the containers mode picks in 10.200-10.249).
const (
	netnsFirstOctet2 = 150
	netnsOctet2Span  = 50
)

func newNetnsBackend(ctx context.Context, cfg Config) (*netnsBackend, error) {
	swept := RemoveStaleNetns(ctx)
	id, err := newRunID()
	if err != nil {
		return nil, err
	}
	b := &netnsBackend{binary: cfg.Binary, runID: id, out: cfg.Out, linkRate: cfg.LinkRate, swept: swept}
	if err := writeRecord(id, cfg.Out); err != nil {
		return nil, err
	}
	if b.base, err = pickSubnet(ctx); err != nil {
		b.teardown()
		return nil, err
	}
	if err := b.makeSwitch(ctx); err != nil {
		b.teardown()
		return nil, err
	}
	return b, nil
}

// ns names a namespace of the run ("switch" or a member's name).
func (b *netnsBackend) ns(member string) string { return NetnsPrefix + b.runID + "-" + member }

func (b *netnsBackend) hostLink() string { return hostLinkPrefix + b.runID }

// port is the member's link in the switch.
func (b *netnsBackend) port(site int) string {
	if site < 0 {
		return "c"
	}
	return fmt.Sprintf("s%03d", site+1)
}

// ip is the address of a member: the soak's end .1, the coordinator .2,
// site i base+16+i.
func (b *netnsBackend) ip(site int) string {
	if site < 0 {
		return ipString(b.base + 2)
	}
	return ipString(b.base + 16 + uint32(site))
}

func (b *netnsBackend) cidr(addr string) string { return addr + "/20" }

// makeSwitch makes the switch namespace with its bridge, links the root
// namespace to it, and checks whether tbf can shape links here.
func (b *netnsBackend) makeSwitch(ctx context.Context) error {
	sw, host := b.ns("switch"), b.hostLink()
	steps := [][]string{
		{"netns", "add", sw},
		{"-n", sw, "link", "set", "lo", "up"},
		{"-n", sw, "link", "add", "br0", "type", "bridge"},
		{"-n", sw, "link", "set", "br0", "up"},
		{"link", "add", host, "type", "veth", "peer", "name", "host", "netns", sw},
		{"-n", sw, "link", "set", "host", "master", "br0", "up"},
		{"addr", "add", b.cidr(ipString(b.base + 1)), "dev", host},
		{"link", "set", host, "up"},
	}
	if err := ipSteps(ctx, steps); err != nil {
		return fmt.Errorf("soak: netns switch: %w", err)
	}
	b.shaping = "links not shaped"
	if b.linkRate != "" {
		if why := tbfProbe(ctx, sw, "host", b.linkRate); why != "" {
			b.shaping, b.linkRate = "links not shaped: "+why, ""
		} else {
			b.shaping = fmt.Sprintf("each site's link shaped with tbf at %s in both directions", b.linkRate)
		}
	}
	return nil
}

// tbfProbe puts a tbf qdisc on dev in namespace ns and takes it off; it
// says why links cannot be shaped ("" when they can).
func tbfProbe(ctx context.Context, ns, dev, rate string) string {
	if _, err := exec.LookPath("tc"); err != nil {
		return "tc not found"
	}
	if err := tbf(ctx, ns, dev, rate); err != nil {
		return "tbf not available: " + err.Error()
	}
	_, _ = run(ctx, "ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root")
	return ""
}

// tbf shapes the egress of dev in namespace ns at rate.
func tbf(ctx context.Context, ns, dev, rate string) error {
	_, err := run(ctx, "ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", "64kb", "latency", "100ms")
	return err
}

func (b *netnsBackend) mode() string { return ModeNetns }

func (b *netnsBackend) coordinatorAddr() (string, string) {
	return net.JoinHostPort(b.ip(-1), "7443"), "0.0.0.0:7443"
}

func (b *netnsBackend) siteCoordinator(int) string { d, _ := b.coordinatorAddr(); return d }
func (b *netnsBackend) monitorListen() string      { return "0.0.0.0:9464" }
func (b *netnsBackend) debugListen() string        { return "0.0.0.0:6060" }
func (b *netnsBackend) started(*process)           {}
func (b *netnsBackend) hostPID(p *process) int     { return p.pid() }

func (b *netnsBackend) describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := fmt.Sprintf("processes in network namespaces %s* (one each, veth into a bridge in %s, %s/20, one address each); %s",
		b.ns(""), b.ns("switch"), ipString(b.base), b.shaping)
	if len(b.swept) > 0 {
		s += fmt.Sprintf("; removed first what dead soaks left (runs %s)", strings.Join(b.swept, ", "))
	}
	return s
}

// create makes the member's namespace, links it into the switch with its
// address, and shapes a site's link.
func (b *netnsBackend) create(ctx context.Context, p *process) error {
	ns, sw, port := b.ns(p.name), b.ns("switch"), b.port(p.site)
	steps := [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", sw, "link", "set", port, "master", "br0", "up"},
		{"-n", ns, "addr", "add", b.cidr(b.ip(p.site)), "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
	}
	if err := ipSteps(ctx, steps); err != nil {
		return fmt.Errorf("soak: netns for %s: %w", p.name, err)
	}
	b.mu.Lock()
	rate := b.linkRate
	b.mu.Unlock()
	if p.site >= 0 && rate != "" {
		err := tbf(ctx, ns, "eth0", rate)
		if err == nil {
			err = tbf(ctx, sw, port, rate)
		}
		if err != nil {
			b.mu.Lock()
			b.shaping, b.linkRate = fmt.Sprintf("links not shaped: tbf on %s failed: %v", p.name, err), ""
			b.mu.Unlock()
		}
	}
	return nil
}

// command runs the member inside its namespace: `ip netns exec` execs it
// in place (same process), so signals reach the member itself.
func (b *netnsBackend) command(p *process) *exec.Cmd {
	args := append([]string{"netns", "exec", b.ns(p.name), b.binary, "--log-format", "json"}, p.args...)
	cmd := exec.Command("ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

func (b *netnsBackend) signal(p *process, sig syscall.Signal) error { return signalPID(p.pid(), sig) }

// signalPID sends sig to a member's process; a stopped process is
// continued first for a kill or stop request, so that it dies cleanly.
func signalPID(pid int, sig syscall.Signal) error {
	if pid == 0 {
		return errors.New("not running")
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	return syscall.Kill(pid, sig)
}

func (b *netnsBackend) baseURL(p *process, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return "http://" + net.JoinHostPort(b.ip(p.site), port)
}

// partition sets site i's port in the switch down for d, then up again.
func (b *netnsBackend) partition(ctx context.Context, i int, d time.Duration, held func()) error {
	sw, port := b.ns("switch"), b.port(i)
	if _, err := run(ctx, "ip", "-n", sw, "link", "set", port, "down"); err != nil {
		return err
	}
	held()
	return holdThenRestore(ctx, d, func(cctx context.Context) error {
		_, err := run(cctx, "ip", "-n", sw, "link", "set", port, "up")
		return err
	})
}

// teardown kills what runs in the run's namespaces and removes them, the
// root namespace's link and the run's record (idempotent).
func (b *netnsBackend) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return removeNetnsRun(ctx, b.runID)
}

// leftovers lists the run's namespaces and links that still exist.
func (b *netnsBackend) leftovers() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return netnsLeftovers(ctx, b.runID)
}

// run runs a command and returns its combined output; the error carries it.
func run(ctx context.Context, name string, args ...string) (string, error) {
	b, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	out := strings.TrimSpace(string(b))
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return out, nil
}

// ipSteps runs `ip` once per step, stopping at the first failure.
func ipSteps(ctx context.Context, steps [][]string) error {
	for _, s := range steps {
		if _, err := run(ctx, "ip", s...); err != nil {
			return err
		}
	}
	return nil
}

// NetnsReady says why the netns mode cannot run here ("" when it can):
// not root, no ip command, or the kernel or sandbox refuses network
// namespaces, bridges or veth pairs (probed with a throwaway namespace).
func NetnsReady() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "no ip command on PATH"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	name := fmt.Sprintf("%s%d-%d", probePrefix, os.Getpid(), time.Now().UnixNano()%1e6)
	if _, err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err.Error()
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		_, _ = run(dctx, "ip", "netns", "del", name)
	}()
	err := ipSteps(ctx, [][]string{
		{"-n", name, "link", "add", "br0", "type", "bridge"},
		{"-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"-n", name, "link", "set", "v0", "master", "br0"},
		{"-n", name, "link", "set", "br0", "up"},
	})
	if err != nil {
		return err.Error()
	}
	return ""
}
