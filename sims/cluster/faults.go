package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// ErrPartitioned is the dial error of a site cut off by Faults.Partition,
// and the write error of its connections.
var ErrPartitioned = errors.New("network partition")

// ErrDropped is the write error of a connection that Faults cut to
// simulate loss on the link.
var ErrDropped = errors.New("link dropped the connection")

// LinkStats counts what Faults did to one site's link.
type LinkStats struct {
	// Dials counts connection attempts; Refused those failed by a partition.
	Dials, Refused int
	// Cut counts connections closed by a partition or a drop.
	Cut int
	// Delayed counts writes held back by a delay.
	Delayed int
}

// link is one site's fault state and open connections.
type link struct {
	partitioned bool
	delay       time.Duration
	drop        float64
	conns       map[*faultConn]struct{}
	stats       LinkStats
}

// Faults wraps a Network with per-site link faults: a partition (dials
// fail, open connections are cut) that heals, a delay before every write
// in either direction (timed by the injected clock, so a fake clock makes
// it deterministic), and a drop probability per write that cuts the
// connection, as a lossy link eventually resets a TCP stream. The draws
// come from a seeded generator. It is safe for concurrent use.
type Faults struct {
	inner Network
	clk   clock.Clock

	mu    sync.Mutex
	rng   *rand.Rand
	links map[string]*link
}

// NewFaults wraps inner; clk times the delays (nil: the wall clock).
func NewFaults(inner Network, clk clock.Clock, seed uint64) *Faults {
	if clk == nil {
		clk = clock.New()
	}
	return &Faults{inner: inner, clk: clk, rng: rand.New(rand.NewPCG(seed, 0xfa17)), links: map[string]*link{}}
}

// Listen returns the inner network's listener.
func (f *Faults) Listen() (net.Listener, error) { return f.inner.Listen() }

func (f *Faults) link(site string) *link {
	l, ok := f.links[site]
	if !ok {
		l = &link{conns: map[*faultConn]struct{}{}}
		f.links[site] = l
	}
	return l
}

// Dialer returns site's dialer through its link.
func (f *Faults) Dialer(site string) func(ctx context.Context, addr string) (net.Conn, error) {
	dial := f.inner.Dialer(site)
	return func(ctx context.Context, addr string) (net.Conn, error) {
		f.mu.Lock()
		l := f.link(site)
		l.stats.Dials++
		if l.partitioned {
			l.stats.Refused++
			f.mu.Unlock()
			return nil, fmt.Errorf("site %s dial %s: %w", site, addr, ErrPartitioned)
		}
		f.mu.Unlock()
		c, err := dial(ctx, addr)
		if err != nil {
			return nil, err
		}
		fc := &faultConn{Conn: c, f: f, site: site, closed: make(chan struct{})}
		f.mu.Lock()
		f.link(site).conns[fc] = struct{}{}
		f.mu.Unlock()
		return fc, nil
	}
}

// Partition cuts site off: its open connections close and its dials fail
// until Heal.
func (f *Faults) Partition(site string) {
	f.mu.Lock()
	l := f.link(site)
	l.partitioned = true
	conns := make([]*faultConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.stats.Cut += len(conns)
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Heal ends site's partition.
func (f *Faults) Heal(site string) {
	f.mu.Lock()
	f.link(site).partitioned = false
	f.mu.Unlock()
}

// SetDelay holds every write on site's connections for d (0: none).
func (f *Faults) SetDelay(site string, d time.Duration) {
	f.mu.Lock()
	f.link(site).delay = d
	f.mu.Unlock()
}

// SetDrop makes each write on site's connections cut the connection with
// probability p (0: none).
func (f *Faults) SetDrop(site string, p float64) {
	f.mu.Lock()
	f.link(site).drop = p
	f.mu.Unlock()
}

// Stats returns what happened on site's link so far.
func (f *Faults) Stats(site string) LinkStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.link(site).stats
}

// Sites lists the sites that have a link, sorted.
func (f *Faults) Sites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.links))
	for s := range f.links {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// before decides the fate of one write on c: an error to fail it with,
// or the delay to apply first.
func (f *Faults) before(c *faultConn) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.link(c.site)
	switch {
	case l.partitioned:
		return 0, fmt.Errorf("site %s: %w", c.site, ErrPartitioned)
	case l.drop > 0 && f.rng.Float64() < l.drop:
		l.stats.Cut++
		return 0, fmt.Errorf("site %s: %w", c.site, ErrDropped)
	case l.delay > 0:
		l.stats.Delayed++
	}
	return l.delay, nil
}

func (f *Faults) forget(c *faultConn) {
	f.mu.Lock()
	delete(f.link(c.site).conns, c)
	f.mu.Unlock()
}

// faultConn is one site connection under Faults.
type faultConn struct {
	net.Conn
	f      *Faults
	site   string
	once   sync.Once
	closed chan struct{}
}

// fault applies the link's faults to one transfer: an error (the
// connection is then closed) or a wait of the link's delay, which Close
// interrupts.
func (c *faultConn) fault() error {
	d, err := c.f.before(c)
	if err != nil {
		_ = c.Close()
		return err
	}
	if d > 0 {
		select {
		case <-c.f.clk.After(d):
		case <-c.closed:
			return net.ErrClosed
		}
	}
	return nil
}

// Write applies the link's faults, then writes.
func (c *faultConn) Write(p []byte) (int, error) {
	if err := c.fault(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Read reads, then applies the link's faults to the data coming back.
func (c *faultConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if ferr := c.fault(); ferr != nil {
			return 0, ferr
		}
	}
	return n, err
}

// Close closes the connection once and forgets it.
func (c *faultConn) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		c.f.forget(c)
		err = c.Conn.Close()
	})
	return err
}
