package cluster

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc/test/bufconn"
)

// Network makes the coordinator's listener and each site's dialer. Wrap one
// to inject faults per site: drop or delay bytes, cut connections, or
// partition a site by failing its dials.
type Network interface {
	// Listen returns the coordinator's gRPC listener.
	Listen() (net.Listener, error)
	// Dialer returns the dial function site uses to reach addr.
	Dialer(site string) func(ctx context.Context, addr string) (net.Conn, error)
}

// TCP is a Network over loopback TCP on a free port.
type TCP struct{}

// Listen listens on 127.0.0.1:0.
func (TCP) Listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// Dialer dials TCP.
func (TCP) Dialer(string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// Bufconn is an in-memory Network (grpc's bufconn): no ports, no kernel.
type Bufconn struct {
	lis *bufconn.Listener
}

// NewBufconn returns an in-memory network with 1 MiB buffers.
func NewBufconn() *Bufconn { return &Bufconn{lis: bufconn.Listen(1 << 20)} }

// Listen returns the in-memory listener (once).
func (b *Bufconn) Listen() (net.Listener, error) { return b.lis, nil }

// Dialer connects to the in-memory listener.
func (b *Bufconn) Dialer(string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) { return b.lis.DialContext(ctx) }
}

// NetworkFor returns the network a transport name stands for.
func NetworkFor(transport string) (Network, error) {
	switch transport {
	case "tcp":
		return TCP{}, nil
	case "bufconn":
		return NewBufconn(), nil
	}
	return nil, fmt.Errorf("transport %q: want tcp or bufconn", transport)
}
