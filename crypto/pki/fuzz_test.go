package pki

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/config"
)

func FuzzDecodeManifest(f *testing.F) {
	dir := f.TempDir()
	provision(f, consortium("site-a"), dir, 30)
	seed, _ := os.ReadFile(filepath.Join(KitDir(dir, siteA), KitManifestFile))
	f.Add(seed)
	f.Add([]byte(`{"version":1,"role":"site","id":"x","files":[{"path":"../key.pem","sha256":"00"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error %v does not wrap ErrManifest", err)
			}
			return
		}
		for _, file := range m.Files {
			if filepath.Base(file.Path) != file.Path {
				t.Fatalf("accepted path %q outside the kit", file.Path)
			}
		}
	})
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"synthfed://site/site-a", "synthfed://admin/alice", "synthfed://site/../x", "synthfed://ca/x", "https://site/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		id, err := ParseURI(u)
		if err != nil {
			return
		}
		if ValidID(id.ID) != nil || !id.Role.valid() {
			t.Fatalf("accepted %q as %+v", s, id)
		}
		back, err := ParseURI(id.URI())
		if err != nil || back != id {
			t.Fatalf("round trip of %+v: %+v %v", id, back, err)
		}
	})
}

func FuzzLoadRevocations(f *testing.F) {
	ca, _ := NewCA("fuzz", t0, time.Hour, seeded(31))
	crl, _ := ca.NewCRL([]Revoked{{Serial: ca.Cert.SerialNumber, Time: t0}}, 3, t0, t0.Add(time.Hour), seeded(32))
	f.Add(crl)
	f.Add([]byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewRevocations()
		if err := r.Load(b, ca.Cert); err != nil && !errors.Is(err, ErrCA) {
			t.Fatalf("error %v does not wrap ErrCA", err)
		}
	})
}

func FuzzLoadConsortium(f *testing.F) {
	f.Add([]byte("name = \"c\"\n[coordinator]\nid = \"coord\"\naddress = \"h:1\"\n[[sites]]\nid = \"a\"\n"))
	f.Add([]byte("name = 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := DefaultConsortium()
		if err := config.Decode(b, "consortium.toml", &c); err != nil {
			return
		}
		_ = c.Validate()
	})
}

// TestSecAggIdentityFromCertificates runs the advertise phase of a secure
// aggregation round with the kits' keys and VerifySiteKey as the identity
// hook: a site's bundle is accepted with its own certificate, refused with
// another site's.
func TestSecAggIdentityFromCertificates(t *testing.T) {
	w := newTLSWorld(t)
	var hook secagg.IdentityVerifier = w.creds[coord].Verifier(w.clk).VerifySiteKey
	cfg := secagg.DefaultConfig()
	cfg.MaxWeight = 1
	p, err := cfg.Params(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx := secagg.Context{Session: "job", Round: 1, Roster: []string{"site-a", "site-b"}, Params: p}
	srv, err := secagg.NewServer(secagg.ServerConfig{Context: ctx, VerifyIdentity: hook})
	if err != nil {
		t.Fatal(err)
	}
	advertise := func(self Identity, cert []byte) error {
		c, err := secagg.NewClient(secagg.ClientConfig{Context: ctx, Self: self.ID, Identity: w.creds[self].Key,
			Certificate: cert, VerifyIdentity: hook})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Advertise()
		if err != nil {
			t.Fatal(err)
		}
		return srv.Handle(self.ID, m)
	}
	if err := advertise(siteB, w.creds[siteA].Cert.Raw); !errors.Is(err, secagg.ErrIdentity) {
		t.Fatalf("site-b with site-a's certificate: %v", err)
	}
	if err := advertise(siteA, w.creds[siteA].Cert.Raw); err != nil {
		t.Fatalf("site-a: %v", err)
	}
}
