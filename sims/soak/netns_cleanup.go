package soak

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names of what a netns-mode run creates (netns.go).
const (
	// NetnsPrefix starts the name of every network namespace a netns run
	// makes: NetnsPrefix + run ID + "-" + member.
	NetnsPrefix = "sfsoak-"
	// hostLinkPrefix + run ID is the run's one link in the root namespace.
	hostLinkPrefix = "sfh"
	// probePrefix + pid + "-" starts NetnsReady's throwaway namespace.
	probePrefix = "sfprobe-"
)

// NetnsRecordDir holds one record per live netns run (run ID -> the soak's
// pid and run folder), written before anything is created: a later run
// removes what a dead soak left.
var NetnsRecordDir = "/run/synthfed-soak"

var (
	runIDRe    = regexp.MustCompile(`^[0-9a-f]{6}$`)
	hostLinkRe = regexp.MustCompile(`^` + hostLinkPrefix + `([0-9a-f]{6})$`)
)

// newRunID draws a run ID that no namespace, link or record uses yet.
func newRunID() (string, error) {
	for range 100 {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		id := hex.EncodeToString(b[:])
		if _, err := os.Stat(recordPath(id)); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("/run/netns", NetnsPrefix+id+"-switch")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", hostLinkPrefix+id)); err == nil {
			continue
		}
		return id, nil
	}
	return "", errors.New("soak: no free run ID")
}

func recordPath(id string) string { return filepath.Join(NetnsRecordDir, "netns-"+id) }

// writeRecord records that this process owns run id, with its folder.
func writeRecord(id, out string) error {
	if err := os.MkdirAll(NetnsRecordDir, 0o755); err != nil {
		return fmt.Errorf("soak: netns record: %w", err)
	}
	return os.WriteFile(recordPath(id), fmt.Appendf(nil, "pid=%d\nout=%s\n", os.Getpid(), out), 0o644)
}

// readRecord returns run id's owner and folder (pid 0: no record).
func readRecord(id string) (pid int, out string) {
	b, err := os.ReadFile(recordPath(id))
	if err != nil {
		return 0, ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "pid":
			pid, _ = strconv.Atoi(v)
		case "out":
			out = v
		}
	}
	return pid, out
}

// namespaces lists the network namespaces whose names start with prefix.
func namespaces(ctx context.Context, prefix string) ([]string, error) {
	s, err := run(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			out = append(out, f[0])
		}
	}
	return out, nil
}

// links lists the root namespace's links.
func links() []string {
	ents, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// removeNetnsRun kills every process in run id's namespaces, then removes
// the root namespace's link, the members' namespaces, the switch and the
// record. It removes what exists and reports what it could not.
func removeNetnsRun(ctx context.Context, id string) error {
	if !runIDRe.MatchString(id) {
		return fmt.Errorf("soak: run ID %q", id)
	}
	nss, err := namespaces(ctx, NetnsPrefix+id+"-")
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range nss {
		killIn(ctx, ns)
	}
	if slices.Contains(links(), hostLinkPrefix+id) {
		if _, err := run(ctx, "ip", "link", "del", hostLinkPrefix+id); err != nil {
			errs = append(errs, err)
		}
	}
	// The switch last: deleting a member's namespace takes its veth pair
	// with it.
	sw := NetnsPrefix + id + "-switch"
	slices.SortFunc(nss, func(a, b string) int {
		if (a == sw) != (b == sw) {
			if a == sw {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, ns := range nss {
		if _, err := run(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(recordPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killIn kill -9s every process in namespace ns and waits (up to 5 s) for
// them to go.
func killIn(ctx context.Context, ns string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := run(ctx, "ip", "netns", "pids", ns)
		if err != nil || strings.TrimSpace(s) == "" || time.Now().After(deadline) {
			return
		}
		for _, f := range strings.Fields(s) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGCONT)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// netnsLeftovers lists run id's namespaces, its link and record that exist.
func netnsLeftovers(ctx context.Context, id string) []string {
	var out []string
	nss, err := namespaces(ctx, NetnsPrefix+id+"-")
	if err != nil {
		out = append(out, "cannot list namespaces: "+err.Error())
	}
	for _, ns := range nss {
		out = append(out, "namespace "+ns)
	}
	if slices.Contains(links(), hostLinkPrefix+id) {
		out = append(out, "link "+hostLinkPrefix+id)
	}
	if _, err := os.Stat(recordPath(id)); err == nil {
		out = append(out, "record "+recordPath(id))
	}
	return out
}

// RemoveStaleNetns removes what netns runs left behind when their soak
// died (its recorded pid runs no soak any more, or no record says who owns
// them), and the probes of dead processes; it returns the run IDs removed.
func RemoveStaleNetns(ctx context.Context) []string {
	ids := map[string]bool{}
	all, _ := namespaces(ctx, "sf")
	for _, ns := range all {
		if rest, ok := strings.CutPrefix(ns, NetnsPrefix); ok {
			if id, _, ok := strings.Cut(rest, "-"); ok && runIDRe.MatchString(id) {
				ids[id] = true
			}
		} else if rest, ok := strings.CutPrefix(ns, probePrefix); ok {
			pidS, _, _ := strings.Cut(rest, "-")
			if pid, err := strconv.Atoi(pidS); err == nil && !alive(pid) {
				_, _ = run(ctx, "ip", "netns", "del", ns)
			}
		}
	}
	for _, l := range links() {
		if m := hostLinkRe.FindStringSubmatch(l); m != nil {
			ids[m[1]] = true
		}
	}
	if ents, err := os.ReadDir(NetnsRecordDir); err == nil {
		for _, e := range ents {
			if id, ok := strings.CutPrefix(e.Name(), "netns-"); ok && runIDRe.MatchString(id) {
				ids[id] = true
			}
		}
	}
	var removed []string
	for id := range ids {
		pid, out := readRecord(id)
		if pid != 0 && soakAlive(pid) {
			continue
		}
		_ = removeNetnsRun(ctx, id)
		if filepath.IsAbs(out) {
			unmountUnder(out) // its coordinator's tmpfs
		}
		removed = append(removed, id)
	}
	slices.Sort(removed)
	return removed
}

// alive reports whether a process pid exists.
func alive(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}

// pickSubnet draws a /20 in 10.150.0.0-10.199.255.255 that overlaps no
// address or route of the root namespace (another run's link included).
func pickSubnet(ctx context.Context) (uint32, error) {
	var used []subnet
	for _, args := range [][]string{{"-4", "-o", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
		s, err := run(ctx, "ip", args...)
		if err != nil {
			return 0, err
		}
		used = append(used, parseSubnets(s)...)
	}
	for range 200 {
		n, err := rand.Int(rand.Reader, big.NewInt(netnsOctet2Span*16))
		if err != nil {
			return 0, err
		}
		v := uint32(n.Int64())
		cand := subnet{base: 10<<24 | (netnsFirstOctet2+v/16)<<16 | (v%16)<<12, bits: 20}
		if !slices.ContainsFunc(used, cand.overlaps) {
			return cand.base, nil
		}
	}
	return 0, errors.New("soak: no free /20 in 10.150.0.0/15-10.199.255.255 for the run's links")
}

// subnet is an IPv4 prefix.
type subnet struct {
	base uint32
	bits int
}

func (s subnet) mask() uint32 {
	if s.bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - s.bits)
}

// overlaps reports whether s and o share an address.
func (s subnet) overlaps(o subnet) bool {
	m := s.mask() & o.mask() // the shorter prefix's mask
	return s.base&m == o.base&m
}

// parseSubnets reads every a.b.c.d[/n] that `ip` printed (default routes
// aside: they overlap everything and route nothing away).
func parseSubnets(s string) []subnet {
	var out []subnet
	for _, f := range strings.Fields(s) {
		addr, bits, hasBits := strings.Cut(f, "/")
		ip := parseIPv4(addr)
		if ip == nil {
			continue
		}
		n := 32
		if hasBits {
			var err error
			if n, err = strconv.Atoi(bits); err != nil || n < 0 || n > 32 {
				continue
			}
		}
		if n == 0 {
			continue
		}
		sn := subnet{base: *ip, bits: n}
		sn.base &= sn.mask()
		out = append(out, sn)
	}
	return out
}

func parseIPv4(s string) *uint32 {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	var v uint32
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || p == "" {
			return nil
		}
		v = v<<8 | uint32(n)
	}
	return &v
}
