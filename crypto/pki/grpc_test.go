package pki

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestGRPCIdentityIsTheCertificates serves the gRPC health service over
// mTLS on loopback and checks who the server sees: the site of the client's
// certificate, whatever the client claims; revoked and certificate-less
// clients get no call through.
func TestGRPCIdentityIsTheCertificates(t *testing.T) {
	w := newTLSWorld(t)
	if _, err := Revoke(w.dir, siteB, ProvisionOptions{Clock: w.clk}); err != nil {
		t.Fatal(err)
	}
	if err := w.creds[coord].Revocations.LoadFile(CRLPath(w.dir), w.creds[coord].CA); err != nil {
		t.Fatal(err)
	}
	seen := make(chan Identity, 4)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(w.server(t, w.clk, nil))),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			id, err := PeerIdentityFromContext(ctx)
			if err != nil {
				return nil, err
			}
			seen <- id
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()
	call := func(id Identity, strip bool) error {
		cfg := w.client(t, id)
		if strip {
			cfg.Certificates = nil
		}
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The service name is what a lying client could claim; it is ignored.
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: ""})
		return err
	}
	if err := call(siteA, false); err != nil {
		t.Fatalf("site-a refused: %v", err)
	}
	if got := <-seen; got != siteA {
		t.Fatalf("server saw %s, want %s", got, siteA)
	}
	for name, err := range map[string]error{"revoked site-b": call(siteB, false), "no certificate": call(siteA, true)} {
		if err == nil {
			t.Errorf("%s: call went through", name)
		}
	}
	select {
	case id := <-seen:
		t.Fatalf("a refused client reached the handler as %s", id)
	default:
	}
	if _, err := PeerIdentityFromContext(context.Background()); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("no peer: %v", err)
	}
}
