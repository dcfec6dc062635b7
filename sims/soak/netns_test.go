package soak

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a stand-in member (see TestMain):
// "listen" serves "ok" on 0.0.0.0:7443; "dial ADDR" exits 0 when ADDR
// answers "ok" within 2 s.
const helperEnv = "SOAK_NETNS_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	mode, addr, _ := strings.Cut(h, " ")
	switch mode {
	case "listen":
		l, err := net.Listen("tcp", "0.0.0.0:7443")
		if err != nil {
			return 2
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return 2
			}
			c.Write([]byte("ok\n"))
			c.Close()
		}
	case "dial":
		if dialOK(addr, 2*time.Second) {
			return 0
		}
		return 1
	}
	return 3
}

func dialOK(addr string, d time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ok\n"
}

// needNetns skips a test where network namespaces cannot be made.
func needNetns(t *testing.T) {
	t.Helper()
	if why := NetnsReady(); why != "" {
		t.Skipf("netns mode not available here: %s", why)
	}
}

func TestChooseMode(t *testing.T) {
	ready := func() string { return "" }
	no := func(why string) func() string { return func() string { return why } }
	for _, tc := range []struct {
		mode          string
		docker, netns func() string
		want, note    string
		err           bool
	}{
		{ModeAuto, ready, ready, ModeContainers, "", false},
		{ModeAuto, no("no docker"), ready, ModeNetns, "containers mode not available (no docker): running in network namespaces", false},
		{ModeAuto, no("no docker"), no("not root"), ModeProcesses, "containers mode not available (no docker), netns mode not available (not root): running processes", false},
		{ModeContainers, no("no docker"), ready, "", "", true},
		{ModeNetns, ready, no("not root"), "", "", true},
		{ModeNetns, no("no docker"), ready, ModeNetns, "", false},
		{ModeProcesses, no("x"), no("y"), ModeProcesses, "", false},
	} {
		got, note, err := chooseMode(tc.mode, tc.docker, tc.netns)
		if got != tc.want || note != tc.note || (err != nil) != tc.err {
			t.Errorf("chooseMode(%s) = %q, %q, %v; want %q, %q, error %v", tc.mode, got, note, err, tc.want, tc.note, tc.err)
		}
	}
}

func TestSubnets(t *testing.T) {
	got := parseSubnets("default via 192.0.2.1 dev eth0\n10.150.16.0/20 dev sfh proto kernel scope link src 10.150.16.1\nbroadcast 10.150.31.255 dev x\n1.2.3/8 999.1.1.1/8 10.0.0.0/33")
	want := []subnet{{192<<24 | 2<<8 | 1, 32}, {10<<24 | 150<<16 | 16<<8, 20}, {10<<24 | 150<<16 | 16<<8 | 1, 32}, {10<<24 | 150<<16 | 31<<8 | 255, 32}}
	if len(got) != len(want) {
		t.Fatalf("parseSubnets = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseSubnets[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	a := subnet{10<<24 | 150<<16, 20}
	for _, tc := range []struct {
		o    subnet
		want bool
	}{
		{subnet{10<<24 | 150<<16 | 15<<8 | 255, 32}, true},
		{subnet{10<<24 | 150<<16 | 16<<8, 20}, false},
		{subnet{10 << 24, 8}, true},
		{subnet{10<<24 | 151<<16, 16}, false},
	} {
		if a.overlaps(tc.o) != tc.want || tc.o.overlaps(a) != tc.want {
			t.Errorf("%v overlaps %v = %v, want %v", a, tc.o, a.overlaps(tc.o), tc.want)
		}
	}
}

// TestNetnsBackend makes a coordinator and two sites in namespaces, with
// stand-in members from this test binary: the soak reaches the
// coordinator, sites reach it, a partition cuts exactly its site, a kill
// hits the member itself (not a wrapper), and teardown leaves nothing.
func TestNetnsBackend(t *testing.T) {
	needNetns(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Binary, cfg.Out = bin, t.TempDir()
	b, err := newNetnsBackend(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.teardown(); err != nil {
			t.Error(err)
		}
		if left := b.leftovers(); len(left) > 0 {
			t.Errorf("left after teardown: %v", left)
		}
	})
	coord := &process{name: "coordinator", site: -1}
	sites := []*process{{name: "site-001", site: 0}, {name: "site-002", site: 1}}
	for _, p := range append([]*process{coord}, sites...) {
		if err := b.create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	dial, _ := b.coordinatorAddr()
	cmd := b.command(coord)
	cmd.Env = append(os.Environ(), helperEnv+"=listen")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	if !eventually(5*time.Second, func() bool { return dialOK(dial, time.Second) }) {
		t.Fatalf("the soak cannot reach the coordinator at %s", dial)
	}
	if exe, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); exe != bin {
		t.Errorf("the tracked pid %d runs %q, not the member %q", pid, exe, bin)
	}
	siteDials := func(p *process) bool {
		c := b.command(p)
		c.Env = append(os.Environ(), helperEnv+"=dial "+dial)
		return c.Run() == nil
	}
	for _, p := range sites {
		if !siteDials(p) {
			t.Errorf("%s cannot reach the coordinator", p.name)
		}
	}
	held := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- b.partition(ctx, 0, 3*time.Second, func() { close(held) }) }()
	<-held
	if siteDials(sites[0]) {
		t.Error("partitioned site-001 still reaches the coordinator")
	}
	if !siteDials(sites[1]) {
		t.Error("site-002 lost the coordinator in site-001's partition")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return siteDials(sites[0]) }) {
		t.Error("site-001 does not reach the coordinator after the partition healed")
	}
	if strings.Contains(b.describe(), "shaped with tbf") {
		out, err := run(ctx, "ip", "netns", "exec", b.ns("site-001"), "tc", "qdisc", "show", "dev", "eth0")
		if err != nil || !strings.Contains(out, "tbf") {
			t.Errorf("shaping reported but site-001's eth0 has %q (%v)", out, err)
		}
	}
	if err := signalPID(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := <-exited; !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the coordinator's wait after kill -9: %v", err)
	}
}

// TestNetnsRunFailureCleansUp runs the netns mode with a binary that
// fails (provisioning breaks after the switch is made): Run returns the
// error and leaves no namespace, link or record behind.
func TestNetnsRunFailureCleansUp(t *testing.T) {
	needNetns(t)
	cfg := DefaultConfig()
	cfg.Mode, cfg.Sites, cfg.Duration, cfg.Out, cfg.Binary = ModeNetns, 3, 10*time.Second, t.TempDir(), "/bin/false"
	if _, err := Run(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "provision") {
		t.Fatalf("Run with /bin/false: %v, want a provision error", err)
	}
	assertNoOwnLeftovers(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.Out = t.TempDir()
	if _, err := Run(ctx, cfg, nil); err == nil {
		t.Fatal("Run with a cancelled context succeeded")
	}
	assertNoOwnLeftovers(t)
}

// assertNoOwnLeftovers fails if a run namespace, link or record is this
// process's or nobody's (a live run writes its record first).
func assertNoOwnLeftovers(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	nss, err := namespaces(ctx, NetnsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss {
		id, _, _ := strings.Cut(strings.TrimPrefix(ns, NetnsPrefix), "-")
		if pid, _ := readRecord(id); pid == 0 || pid == os.Getpid() {
			t.Errorf("namespace %s left behind (record pid %d)", ns, pid)
		}
	}
	for _, l := range links() {
		if m := hostLinkRe.FindStringSubmatch(l); m != nil {
			if pid, _ := readRecord(m[1]); pid == 0 || pid == os.Getpid() {
				t.Errorf("link %s left behind (record pid %d)", l, pid)
			}
		}
	}
	if ents, err := os.ReadDir(NetnsRecordDir); err == nil {
		for _, e := range ents {
			if pid, _ := readRecord(strings.TrimPrefix(e.Name(), "netns-")); pid == os.Getpid() {
				t.Errorf("record %s left behind", e.Name())
			}
		}
	}
}

// TestRemoveStaleNetns: what a dead soak left (its record names a pid
// that has exited) is removed, with the orphan of no record; a live
// soak's run is kept.
func TestRemoveStaleNetns(t *testing.T) {
	needNetns(t)
	ctx := context.Background()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(owner int) string {
		id, err := newRunID()
		if err != nil {
			t.Fatal(err)
		}
		if owner != 0 {
			if err := writeRecord(id, t.TempDir()); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(recordPath(id), []byte("pid="+strconv.Itoa(owner)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []string{"switch", "site-001"} {
			if _, err := run(ctx, "ip", "netns", "add", NetnsPrefix+id+"-"+m); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { _ = removeNetnsRun(context.Background(), id) })
		return id
	}
	stale, orphan, live := mk(dead.Process.Pid), mk(0), mk(os.Getpid())
	removed := RemoveStaleNetns(ctx)
	for _, id := range []string{stale, orphan} {
		// Another soak starting meanwhile (make test runs packages side
		// by side) may have swept it first: what counts is that it is gone.
		if left := netnsLeftovers(ctx, id); len(left) > 0 {
			t.Errorf("run %s: left %v", id, left)
		}
	}
	if slices.Contains(removed, live) || len(netnsLeftovers(ctx, live)) != 3 {
		t.Errorf("the live run %s was touched: removed %v, left %v", live, removed, netnsLeftovers(ctx, live))
	}
}

func eventually(d time.Duration, f func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if f() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
