package cluster

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc/test/bufconn"
)

// Network makes the coordinator's listener and each site's dialer. Wrap one
// to inject faults per site: drop or delay bytes, cut connections, or
// partition a site by failing its dials (see Faults).
type Network interface {
	// Listen returns the coordinator's gRPC listener. A restarted
	// coordinator calls it again; the new listener must be reachable at the
	// same address as the first.
	Listen() (net.Listener, error)
	// Dialer returns the dial function site uses to reach addr.
	Dialer(site string) func(ctx context.Context, addr string) (net.Conn, error)
}

// TCP is a Network over loopback TCP. The first Listen picks a free port;
// later ones (a restarted coordinator) listen on the same port again.
type TCP struct {
	mu   sync.Mutex
	addr string
}

// Listen listens on 127.0.0.1, on a free port the first time and on that
// same port afterwards.
func (t *TCP) Listen() (net.Listener, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := t.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen %s: %w", addr, err)
	}
	t.addr = lis.Addr().String()
	return lis, nil
}

// Dialer dials TCP.
func (*TCP) Dialer(string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// Bufconn is an in-memory Network (grpc's bufconn): no ports, no kernel.
// Each Listen makes a fresh listener; dials go to the newest one.
type Bufconn struct {
	mu  sync.Mutex
	lis *bufconn.Listener
}

// NewBufconn returns an in-memory network with 1 MiB buffers.
func NewBufconn() *Bufconn { return &Bufconn{} }

// Listen returns a new in-memory listener, which replaces the previous one
// as the target of dials.
func (b *Bufconn) Listen() (net.Listener, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lis = bufconn.Listen(1 << 20)
	return b.lis, nil
}

// Dialer connects to the newest in-memory listener.
func (b *Bufconn) Dialer(string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		b.mu.Lock()
		lis := b.lis
		b.mu.Unlock()
		if lis == nil {
			return nil, fmt.Errorf("cluster: bufconn: no listener yet")
		}
		return lis.DialContext(ctx)
	}
}

// NetworkFor returns the network a transport name stands for.
func NetworkFor(transport string) (Network, error) {
	switch transport {
	case "tcp":
		return &TCP{}, nil
	case "bufconn":
		return NewBufconn(), nil
	}
	return nil, fmt.Errorf("transport %q: want tcp or bufconn", transport)
}
