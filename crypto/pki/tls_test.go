package pki

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// tlsWorld is a provisioned consortium with loaded credentials.
type tlsWorld struct {
	dir   string
	creds map[Identity]*Credentials
	clk   *clock.Fake
}

func newTLSWorld(t *testing.T) *tlsWorld {
	t.Helper()
	w := &tlsWorld{dir: t.TempDir(), creds: map[Identity]*Credentials{}, clk: clock.NewFake(t0.Add(time.Hour))}
	rep := provision(t, consortium("site-a", "site-b"), w.dir, 20)
	for _, id := range rep.Issued {
		c, err := LoadKit(KitDir(w.dir, id), w.clk)
		if err != nil {
			t.Fatal(err)
		}
		w.creds[id] = c
	}
	return w
}

var (
	coord  = Identity{RoleCoordinator, "coord"}
	siteA  = Identity{RoleSite, "site-a"}
	siteB  = Identity{RoleSite, "site-b"}
	adminA = Identity{RoleAdmin, "alice"}
)

// handshake runs one TLS handshake over loopback TCP and returns the
// server's error and the identity it saw, and the client's error.
func handshake(t *testing.T, srv, cli *tls.Config) (Identity, error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		wg     sync.WaitGroup
		seen   Identity
		srvErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			srvErr = err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(conn, srv)
		if srvErr = tc.Handshake(); srvErr == nil {
			seen, srvErr = PeerIdentity(tc.ConnectionState())
			tc.Write([]byte("ok"))
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(conn, cli)
	cliErr := tc.Handshake()
	if cliErr == nil { // TLS 1.3: a refused client certificate shows on the first read
		buf := make([]byte, 2)
		_, cliErr = tc.Read(buf)
	}
	conn.Close()
	wg.Wait()
	return seen, srvErr, cliErr
}

func (w *tlsWorld) server(t *testing.T, clk clock.Clock, onReject func(error)) *tls.Config {
	o := w.creds[coord].TLSOptions(clk)
	o.OnReject = onReject
	cfg, err := ServerTLSConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (w *tlsWorld) client(t *testing.T, id Identity) *tls.Config {
	o := w.creds[id].TLSOptions(w.clk)
	o.ServerName = "localhost"
	cfg, err := ClientTLSConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestMutualTLSRefusals(t *testing.T) {
	w := newTLSWorld(t)
	otherDir := t.TempDir()
	provision(t, consortium("site-a"), otherDir, 21)
	foreign, err := LoadKit(KitDir(otherDir, siteA), w.clk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(w.dir, siteB, ProvisionOptions{Clock: w.clk}); err != nil {
		t.Fatal(err)
	}
	if err := w.creds[coord].Revocations.LoadFile(CRLPath(w.dir), w.creds[coord].CA); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		client    func() *tls.Config
		serverClk clock.Clock
		want      Identity
		reject    error // wanted in OnReject (nil: refused by the TLS stack itself, or accepted)
		refused   bool
	}{
		{name: "site certificate", client: func() *tls.Config { return w.client(t, siteA) }, want: siteA},
		{name: "admin certificate", client: func() *tls.Config { return w.client(t, adminA) }, want: adminA},
		{name: "no certificate", refused: true, client: func() *tls.Config {
			c := w.client(t, siteA)
			c.Certificates = nil
			return c
		}},
		{name: "other CA", refused: true, client: func() *tls.Config {
			o := foreign.TLSOptions(w.clk)
			o.Roots = w.creds[siteA].TLSOptions(nil).Roots // trusts our server, presents a foreign cert
			o.ServerName = "localhost"
			c, _ := ClientTLSConfig(o)
			return c
		}},
		{name: "revoked", refused: true, reject: ErrRevoked, client: func() *tls.Config { return w.client(t, siteB) }},
		{name: "expired", refused: true, serverClk: clock.NewFake(t0.Add(400 * 24 * time.Hour)),
			client: func() *tls.Config { return w.client(t, siteA) }},
		{name: "coordinator role as client", refused: true, reject: ErrRole, client: func() *tls.Config {
			o := w.creds[coord].TLSOptions(w.clk)
			o.ServerName, o.AllowedRoles = "localhost", []Role{RoleCoordinator}
			c, _ := ClientTLSConfig(o)
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := tc.serverClk
			if clk == nil {
				clk = w.clk
			}
			var rejected error
			seen, srvErr, cliErr := handshake(t, w.server(t, clk, func(err error) { rejected = err }), tc.client())
			if !tc.refused {
				if srvErr != nil || cliErr != nil {
					t.Fatalf("refused: server %v, client %v", srvErr, cliErr)
				}
				if seen != tc.want {
					t.Fatalf("server saw %s, the certificate names %s", seen, tc.want)
				}
				return
			}
			if srvErr == nil || cliErr == nil {
				t.Fatalf("accepted (server err %v, client err %v)", srvErr, cliErr)
			}
			if tc.reject != nil && !errors.Is(rejected, tc.reject) {
				t.Fatalf("rejected with %v, want %v (server %v)", rejected, tc.reject, srvErr)
			}
		})
	}
}

func TestClientRefusesNonCoordinatorServer(t *testing.T) {
	w := newTLSWorld(t)
	// A site's certificate cannot serve: it has no server usage, and its
	// role is not coordinator.
	o := w.creds[siteA].TLSOptions(w.clk)
	srv, _ := ServerTLSConfig(o)
	_, srvErr, cliErr := handshake(t, srv, w.client(t, siteB))
	if cliErr == nil || srvErr == nil {
		t.Fatalf("client accepted a site as coordinator: %v %v", srvErr, cliErr)
	}
}

func TestVerifySiteKey(t *testing.T) {
	w := newTLSWorld(t)
	v := w.creds[coord].Verifier(w.clk)
	a := w.creds[siteA]
	pub := a.Key.Public().(ed25519.PublicKey)
	if err := v.VerifySiteKey("site-a", pub, a.Cert.Raw); err != nil {
		t.Fatalf("genuine key: %v", err)
	}
	other := w.creds[siteB].Key.Public().(ed25519.PublicKey)
	cases := []struct {
		name string
		site string
		key  ed25519.PublicKey
		der  []byte
		want error
	}{
		{"other key", "site-a", other, a.Cert.Raw, ErrKeyMismatch},
		{"other site", "site-b", pub, a.Cert.Raw, ErrKeyMismatch},
		{"admin certificate", "alice", w.creds[adminA].Key.Public().(ed25519.PublicKey), w.creds[adminA].Cert.Raw, ErrRole},
		{"garbage", "site-a", pub, []byte{1, 2, 3}, ErrNoIdentity},
	}
	for _, tc := range cases {
		if err := v.VerifySiteKey(tc.site, tc.key, tc.der); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Revoke(w.dir, siteA, ProvisionOptions{Clock: w.clk}); err != nil {
		t.Fatal(err)
	}
	if err := v.Revocations.LoadFile(CRLPath(w.dir), a.CA); err != nil {
		t.Fatal(err)
	}
	if err := v.VerifySiteKey("site-a", pub, a.Cert.Raw); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked site key: %v", err)
	}
	w.clk.Advance(400 * 24 * time.Hour)
	if err := v.VerifySiteKey("site-b", other, w.creds[siteB].Cert.Raw); err == nil {
		t.Fatal("expired certificate accepted")
	}
}
