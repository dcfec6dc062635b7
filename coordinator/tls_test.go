package coordinator

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// seeded is a deterministic randomness source for provisioning.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// provisionKits writes a consortium with the given sites (and admin
// "alice") into a new directory and returns it.
func provisionKits(t testing.TB, seed byte, sites ...string) string {
	t.Helper()
	dir := t.TempDir()
	c := pki.DefaultConsortium()
	c.Coordinator.Address = "localhost:7443"
	for _, s := range sites {
		c.Sites = append(c.Sites, pki.Participant{ID: s})
	}
	c.Admins = []pki.Participant{{ID: "alice"}}
	if _, err := pki.Provision(c, dir, pki.ProvisionOptions{Rand: seeded{rand.NewChaCha8([32]byte{seed})}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func kitOf(dir string, role pki.Role, id string) string {
	return pki.KitDir(dir, pki.Identity{Role: role, ID: id})
}

// tlsCoord runs a coordinator from the consortium's kit over bufconn.
type tlsCoord struct {
	c   *Coordinator
	lis *bufconn.Listener
	crl *pki.CRLWatcher
}

func startTLSCoord(t *testing.T, consortium string) *tlsCoord {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Gossip.Enabled = t.TempDir(), false
	cfg.StopGrace = Duration(time.Second)
	lis := bufconn.Listen(1 << 20)
	opts := Options{Listener: lis}
	crl, err := UseKit(kitOf(consortium, pki.RoleCoordinator, "coordinator"), &cfg, &opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("coordinator: %v", err)
		}
	})
	return &tlsCoord{c: c, lis: lis, crl: crl}
}

// dial connects to the coordinator presenting cert (none when nil) and
// trusting the consortium CA of dir.
func (tc *tlsCoord) dial(t *testing.T, dir string, cert *tls.Certificate) fedpb.FederationClient {
	t.Helper()
	creds, err := pki.LoadKit(kitOf(dir, pki.RoleSite, "site-a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := creds.TLSOptions(nil)
	o.ServerName = "localhost"
	cfg, err := pki.ClientTLSConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = nil
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := grpc.NewClient("passthrough:///localhost:7443", grpc.WithTransportCredentials(credentials.NewTLS(cfg)),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return tc.lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return fedpb.NewFederationClient(conn)
}

// kitCert returns the TLS certificate of a participant's kit.
func kitCert(t *testing.T, dir string, role pki.Role, id string) *tls.Certificate {
	t.Helper()
	creds, err := pki.LoadKit(kitOf(dir, role, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := creds.TLSOptions(nil).Certificate
	return &c
}

// expiredCert issues site-a a certificate from the consortium CA that
// expired a month ago.
func expiredCert(t *testing.T, dir string) *tls.Certificate {
	t.Helper()
	ca, err := pki.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	cert, err := ca.Issue(pki.IssueRequest{Identity: pki.Identity{Role: pki.RoleSite, ID: "site-a"}, Key: pub, Organization: "synthfed",
		Now: time.Now().Add(-400 * 24 * time.Hour), Validity: 365 * 24 * time.Hour}, crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func join(cl fedpb.FederationClient, claim string) (*fedpb.JoinReply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Join(ctx, &fedpb.JoinRequest{ProtocolVersion: protocol.Version, SiteId: claim})
}

func TestMTLSRefusalsAtTheServer(t *testing.T) {
	dir := provisionKits(t, 1, "site-a", "site-b")
	other := provisionKits(t, 2, "site-a")
	tc := startTLSCoord(t, dir)
	cases := []struct {
		name  string
		cert  *tls.Certificate
		claim string
		code  codes.Code // codes.OK: accepted
	}{
		{"own certificate", kitCert(t, dir, pki.RoleSite, "site-a"), "site-a", codes.OK},
		{"claims another site", kitCert(t, dir, pki.RoleSite, "site-a"), "site-b", codes.PermissionDenied},
		{"admin certificate joins", kitCert(t, dir, pki.RoleAdmin, "alice"), "alice", codes.PermissionDenied},
		{"no certificate", nil, "site-a", codes.Unavailable},
		{"another consortium's CA", kitCert(t, other, pki.RoleSite, "site-a"), "site-a", codes.Unavailable},
		{"expired certificate", expiredCert(t, dir), "site-a", codes.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := join(tc.dial(t, dir, c.cert), c.claim)
			if got := status.Code(err); got != c.code {
				t.Fatalf("join: code %v (%v), want %v", got, err, c.code)
			}
		})
	}
	st, err := tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-a")).Status(context.Background(), &fedpb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetSites()) != 1 || st.GetSites()[0].GetSiteId() != "site-a" {
		t.Fatalf("coordinator sees sites %v, want only the certificate's site-a", st.GetSites())
	}
}

func TestRevocationReloadEndsAccess(t *testing.T) {
	dir := provisionKits(t, 3, "site-a", "site-b")
	tc := startTLSCoord(t, dir)
	b := tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-b"))
	reply, err := join(b, "site-b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.Revoke(dir, pki.Identity{Role: pki.RoleSite, ID: "site-b"}, pki.ProvisionOptions{}); err != nil {
		t.Fatal(err)
	}
	// Before the coordinator re-reads its list, site-b still gets through.
	if _, err := b.Heartbeat(context.Background(), &fedpb.HeartbeatRequest{SessionId: reply.GetSessionId(), State: "ok"}); err != nil {
		t.Fatalf("heartbeat before reload: %v", err)
	}
	if err := tc.crl.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = b.Heartbeat(context.Background(), &fedpb.HeartbeatRequest{SessionId: reply.GetSessionId(), State: "ok"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("revoked site's call on its open connection: %v", err)
	}
	if _, err := join(tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-b")), "site-b"); err == nil {
		t.Fatal("revoked site joined on a new connection")
	}
	if _, err := join(tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-a")), "site-a"); err != nil {
		t.Fatalf("site-a refused after site-b's revocation: %v", err)
	}
}

func TestGossipAdmitsOnlyJoinedAddresses(t *testing.T) {
	g := &callGuard{gossip: map[string]string{"site-a": "10.0.0.1:7000"}}
	cases := []struct {
		name, addr string
		ok         bool
	}{
		{"site-a", "10.0.0.1:7000", true},
		{"site-a", "10.0.0.9:7000", false},
		{"site-b", "10.0.0.2:7000", false},
		{"coordinator/c/1234", "10.0.0.3:7946", true},
	}
	for _, c := range cases {
		if err := g.admit(c.name, c.addr); (err == nil) != c.ok {
			t.Errorf("admit(%s, %s) = %v, want ok=%v", c.name, c.addr, err, c.ok)
		}
	}
}

// TestGossipNeedsTheConsortiumKey starts a keyed coordinator node and
// checks that a node without the key cannot join it while one with it can.
func TestGossipNeedsTheConsortiumKey(t *testing.T) {
	key := make([]byte, 32)
	key[0] = 7
	g := GossipConfig{Enabled: true, Bind: "127.0.0.1:0", ProbeInterval: Duration(200 * time.Millisecond),
		ProbeTimeout: Duration(100 * time.Millisecond), GossipInterval: Duration(50 * time.Millisecond), SuspicionMult: 2, Keys: [][]byte{key}}
	log := slog.New(slog.DiscardHandler)
	m, err := startMembership(g, "coordinator/x/1", log, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave(0)
	for _, tc := range []struct {
		name string
		keys [][]byte
		ok   bool
	}{{"no key", nil, false}, {"the key", [][]byte{key}, true}} {
		mc, err := memberlistConfig(GossipConfig{Enabled: true, Bind: "127.0.0.1:0", ProbeInterval: g.ProbeInterval, ProbeTimeout: g.ProbeTimeout,
			GossipInterval: g.GossipInterval, SuspicionMult: 2, Keys: tc.keys}, "site-"+tc.name, log)
		if err != nil {
			t.Fatal(err)
		}
		mc.LogOutput = io.Discard
		mc.TCPTimeout = 500 * time.Millisecond
		n, err := memberlist.Create(mc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = n.Join([]string{m.Addr()})
		n.Shutdown()
		if (err == nil) != tc.ok {
			t.Errorf("%s: join %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
