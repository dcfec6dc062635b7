package soak

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Labels put on everything a container-mode run creates: the run's ID and
// the soak's process ID (a later run removes what a dead soak left).
const (
	LabelRun = "synthfed.soak"
	LabelPID = "synthfed.soak.pid"
	// LabelOut is the run's folder (a dead soak's tmpfs there is detached).
	LabelOut = "synthfed.soak.out"
)

// DefaultImage is the image `make image` loads into Docker.
const DefaultImage = "synthfed/synthfed:latest"

// containerBackend runs the coordinator and every site as its own
// container from the project's image, on a private internal Docker
// network where each has its own address. A kill is `docker kill -s
// KILL`, a stall `docker pause`, a partition `docker network disconnect`;
// site links are shaped with tbf when the kernel has it. The run's folder
// is mounted at the same path in every container, so kits, data and the
// coordinator's store keep their host paths.
type containerBackend struct {
	runID, image, out, user string
	network                 string
	base                    uint32 // the network's first address
	linkRate                string
	cpuShares               int
	shaping                 string // how links are shaped, in words

	mu    sync.Mutex
	pids  map[string][2]int // container -> incarnation, host PID
	sites map[int]*process
}

// docker runs the docker client and returns its combined output; the
// error carries the output.
func docker(ctx context.Context, args ...string) (string, error) {
	b, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	out := strings.TrimSpace(string(b))
	if err != nil {
		return out, fmt.Errorf("docker %s: %w: %s", strings.Join(args[:min(2, len(args))], " "), err, out)
	}
	return out, nil
}

// DockerReady says why the containers mode cannot run with image ("" when
// it can): no client, no engine answering, or no image.
func DockerReady(image string) string {
	if _, err := exec.LookPath("docker"); err != nil {
		return "no docker client on PATH"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return "no Docker Engine answering (docker info failed)"
	}
	if _, err := docker(ctx, "image", "inspect", "--format", "{{.Id}}", image); err != nil {
		return fmt.Sprintf("Docker has no image %s (make image builds it)", image)
	}
	return ""
}

func newContainerBackend(ctx context.Context, cfg Config, runID string) (*containerBackend, error) {
	b := &containerBackend{runID: runID, image: cfg.Image, out: cfg.Out, linkRate: cfg.LinkRate, cpuShares: cfg.CPUShares,
		user: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), pids: map[string][2]int{}, sites: map[int]*process{}}
	RemoveStale(ctx)
	labels := []string{"--label", LabelRun + "=" + runID, "--label", LabelPID + "=" + strconv.Itoa(os.Getpid()), "--label", LabelOut + "=" + cfg.Out}
	b.network = "synthfed-soak-" + runID
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	var last error
	for range 20 { // a free /20 in 10.200.0.0-10.249.255.255
		base := uint32(10)<<24 | uint32(200+r.IntN(50))<<16 | uint32(r.IntN(16))<<12
		subnet := fmt.Sprintf("%s/20", ipString(base))
		args := append([]string{"network", "create", "--internal", "--subnet", subnet}, labels...)
		if _, last = docker(ctx, append(args, b.network)...); last == nil {
			b.base = base
			break
		}
		if !strings.Contains(last.Error(), "overlap") {
			return nil, last
		}
	}
	if b.base == 0 {
		return nil, fmt.Errorf("soak: no free subnet for the run's network: %w", last)
	}
	b.shaping = "links not shaped"
	if b.linkRate != "" {
		if why := tbfMissing(); why != "" {
			b.shaping = "links not shaped: " + why
			b.linkRate = ""
		} else {
			b.shaping = fmt.Sprintf("each site's link shaped with tbf at %s (egress of its interface)", b.linkRate)
		}
	}
	return b, nil
}

// tbfMissing says why links cannot be shaped with tbf here ("" when they can).
func tbfMissing() string {
	for _, tool := range []string{"tc", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found"
		}
	}
	if os.Getuid() != 0 {
		return "not root (nsenter into a container's network needs it)"
	}
	return "" // the kernel's tbf is checked when applied; a failure is reported
}

func ipString(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return net.IP(b[:]).String()
}

// ip is the address of member p: the coordinator .2, site i base+16+i.
func (b *containerBackend) ip(site int) string {
	if site < 0 {
		return ipString(b.base + 2)
	}
	return ipString(b.base + 16 + uint32(site))
}

func (b *containerBackend) name(p *process) string { return "synthfed-soak-" + b.runID + "-" + p.name }

func (b *containerBackend) mode() string { return ModeContainers }

func (b *containerBackend) coordinatorAddr() (string, string) {
	return net.JoinHostPort(b.ip(-1), "7443"), "0.0.0.0:7443"
}

func (b *containerBackend) siteCoordinator(int) string { d, _ := b.coordinatorAddr(); return d }
func (b *containerBackend) monitorListen() string      { return "0.0.0.0:9464" }

func (b *containerBackend) describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("containers from %s on the internal Docker network %s (%s/20), one address each; %s", b.image, b.network, ipString(b.base), b.shaping)
}

// create makes the member's container (started by command).
func (b *containerBackend) create(ctx context.Context, p *process) error {
	b.mu.Lock()
	b.sites[p.site] = p
	b.mu.Unlock()
	args := []string{"create", "--name", b.name(p), "--label", LabelRun + "=" + b.runID, "--label", LabelPID + "=" + strconv.Itoa(os.Getpid()), "--label", LabelOut + "=" + b.out,
		"--network", b.network, "--ip", b.ip(p.site), "--user", b.user, "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--stop-timeout", "5", "-v", b.out + ":" + b.out, "-w", p.workDir, "--entrypoint", "/usr/local/bin/synthfed", b.image,
		"--log-format", "json"}
	if b.cpuShares > 0 {
		args = append(args[:1], append([]string{"--cpu-shares", strconv.Itoa(b.cpuShares)}, args[1:]...)...)
	}
	_, err := docker(ctx, append(args, p.args...)...)
	return err
}

func (b *containerBackend) command(p *process) *exec.Cmd {
	cmd := exec.Command("docker", "start", "--attach", b.name(p))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// started waits for the container's process and shapes a site's link.
func (b *containerBackend) started(p *process) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if pid := b.hostPID(p); pid != 0 {
			if p.site >= 0 && b.linkRate != "" {
				b.shape(p, pid)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shape puts a tbf qdisc on the egress of the container's interface.
func (b *containerBackend) shape(p *process, pid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ns := []string{"-t", strconv.Itoa(pid), "-n"}
	out, err := exec.CommandContext(ctx, "nsenter", append(ns, "ip", "-o", "-4", "addr", "show")...).Output()
	if err != nil {
		b.shapeFailed(p, err)
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[3], b.ip(p.site)+"/") {
			continue
		}
		b.mu.Lock()
		rate := b.linkRate
		b.mu.Unlock()
		args := append(ns, "tc", "qdisc", "replace", "dev", strings.TrimSuffix(f[1], ":"), "root", "tbf", "rate", rate, "burst", "64kb", "latency", "100ms")
		if o, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput(); err != nil {
			b.shapeFailed(p, fmt.Errorf("%w: %s", err, o))
		}
		return
	}
}

func (b *containerBackend) shapeFailed(p *process, err error) {
	b.mu.Lock()
	b.shaping = fmt.Sprintf("links not shaped: tbf on %s failed: %v", p.name, err)
	b.linkRate = ""
	b.mu.Unlock()
}

func (b *containerBackend) signal(p *process, sig syscall.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	switch sig {
	case syscall.SIGSTOP:
		_, err = docker(ctx, "pause", b.name(p))
	case syscall.SIGCONT:
		_, err = docker(ctx, "unpause", b.name(p))
	case syscall.SIGTERM:
		_, _ = docker(ctx, "unpause", b.name(p))
		_, err = docker(ctx, "kill", "-s", "TERM", b.name(p))
	default:
		_, err = docker(ctx, "kill", "-s", "KILL", b.name(p))
	}
	return err
}

// hostPID asks Docker once per incarnation for the container's process.
func (b *containerBackend) hostPID(p *process) int {
	if p.pid() == 0 {
		return 0
	}
	inc := p.incarnation()
	b.mu.Lock()
	c, ok := b.pids[p.name]
	b.mu.Unlock()
	if ok && c[0] == inc {
		return c[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := docker(ctx, "inspect", "--format", "{{.State.Pid}}", b.name(p))
	pid, _ := strconv.Atoi(out)
	if err != nil || pid == 0 {
		return 0
	}
	b.mu.Lock()
	b.pids[p.name] = [2]int{inc, pid}
	b.mu.Unlock()
	return pid
}

func (b *containerBackend) baseURL(p *process, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return "http://" + net.JoinHostPort(b.ip(p.site), port)
}

func (b *containerBackend) debugListen() string { return "0.0.0.0:6060" }

// partition disconnects site i's container from the network for d, then
// connects it again with its address (and shapes the new interface).
func (b *containerBackend) partition(ctx context.Context, i int, d time.Duration, held func()) error {
	name := "synthfed-soak-" + b.runID + "-" + siteID(i)
	if _, err := docker(ctx, "network", "disconnect", "--force", b.network, name); err != nil {
		return err
	}
	held()
	return holdThenRestore(ctx, d, func(cctx context.Context) error {
		if _, err := docker(cctx, "network", "connect", "--ip", b.ip(i), b.network, name); err != nil {
			return err
		}
		b.mu.Lock()
		p, rate := b.sites[i], b.linkRate
		b.mu.Unlock()
		if pid := b.hostPID(p); pid != 0 && rate != "" {
			b.shape(p, pid) // the new interface
		}
		return nil
	})
}

// teardown removes the run's containers and network.
func (b *containerBackend) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return removeLabelled(ctx, LabelRun+"="+b.runID)
}

// leftovers lists the run's containers and networks that still exist.
func (b *containerBackend) leftovers() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	f := "label=" + LabelRun + "=" + b.runID
	if s, err := docker(ctx, "ps", "-a", "--filter", f, "--format", "{{.Names}}"); err != nil {
		out = append(out, "cannot list containers: "+err.Error())
	} else if s != "" {
		for _, n := range strings.Fields(s) {
			out = append(out, "container "+n)
		}
	}
	if s, err := docker(ctx, "network", "ls", "--filter", f, "--format", "{{.Name}}"); err != nil {
		out = append(out, "cannot list networks: "+err.Error())
	} else if s != "" {
		for _, n := range strings.Fields(s) {
			out = append(out, "network "+n)
		}
	}
	return out
}

// removeLabelled force-removes the containers, then the networks, that
// match a label filter.
func removeLabelled(ctx context.Context, label string) error {
	var errs []error
	if s, err := docker(ctx, "ps", "-aq", "--filter", "label="+label); err != nil {
		errs = append(errs, err)
	} else if ids := strings.Fields(s); len(ids) > 0 {
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"}, ids...)...); err != nil {
			errs = append(errs, err)
		}
	}
	if s, err := docker(ctx, "network", "ls", "-q", "--filter", "label="+label); err != nil {
		errs = append(errs, err)
	} else if ids := strings.Fields(s); len(ids) > 0 {
		if _, err := docker(ctx, append([]string{"network", "rm"}, ids...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveStale removes containers and networks that a soak left behind
// when it died (its labelled process ID no longer runs a soak).
func RemoveStale(ctx context.Context) {
	seen := map[string]bool{}
	for _, kind := range [][]string{{"ps", "-a"}, {"network", "ls"}} {
		s, err := docker(ctx, append(kind, "--filter", "label="+LabelRun, "--format", `{{.Label "`+LabelRun+`"}} {{.Label "`+LabelPID+`"}} {{.Label "`+LabelOut+`"}}`)...)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(s, "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || seen[f[0]] {
				continue
			}
			seen[f[0]] = true
			if pid, err := strconv.Atoi(f[1]); err == nil && !soakAlive(pid) {
				_ = removeLabelled(ctx, LabelRun+"="+f[0])
				if len(f) == 3 && filepath.IsAbs(f[2]) {
					unmountUnder(f[2]) // its coordinator's tmpfs
				}
			}
		}
	}
}

// soakAlive reports whether pid runs a soak.
func soakAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return err == nil && strings.Contains(string(b), "soak")
}
