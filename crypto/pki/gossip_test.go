package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/internal/clock"
)

func TestKitsShareTheConsortiumGossipKey(t *testing.T) {
	dir := t.TempDir()
	provision(t, consortium("site-a", "site-b"), dir, 30)
	other := t.TempDir()
	provision(t, consortium("site-a"), other, 31)
	load := func(dir string, id Identity) *Credentials {
		c, err := LoadKit(KitDir(dir, id), clock.NewFake(t0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b, c := load(dir, siteA), load(dir, coord), load(other, siteA)
	if len(a.GossipKey) != 32 || !bytes.Equal(a.GossipKey, b.GossipKey) {
		t.Fatalf("kits of one consortium derive different gossip keys")
	}
	if bytes.Equal(a.GossipKey, c.GossipKey) {
		t.Fatal("two consortia share a gossip key")
	}
	if st, _ := os.Stat(filepath.Join(KitDir(dir, siteA), KitGossipFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("gossip secret mode %v", st.Mode())
	}
	if _, err := os.Stat(filepath.Join(KitDir(dir, adminA), KitGossipFile)); err == nil {
		t.Fatal("an admin kit holds the gossip secret")
	}
	// A site added later gets the same secret.
	provision(t, consortium("site-a", "site-b", "site-c"), dir, 32)
	if d := load(dir, Identity{RoleSite, "site-c"}); !bytes.Equal(d.GossipKey, a.GossipKey) {
		t.Fatal("a site added later has another gossip key")
	}
	// A kit without the secret (issued before gossip keys) loads without one.
	os.Remove(filepath.Join(KitDir(dir, siteB), KitGossipFile))
	if e := load(dir, siteB); e.GossipKey != nil {
		t.Fatal("gossip key from a missing secret")
	}
}

func TestCRLWatcherReloadsRevocations(t *testing.T) {
	dir := t.TempDir()
	provision(t, consortium("site-a", "site-b"), dir, 33)
	creds, err := LoadKit(KitDir(dir, coord), clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	w := creds.CRLWatcher(0, nil, nil)
	serial, err := Revoke(dir, siteB, ProvisionOptions{Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := LoadKit(KitDir(dir, siteB), clock.NewFake(t0))
	if err := creds.Revocations.Check(append([]*x509.Certificate{b.Cert}, creds.CA)); err != nil {
		t.Fatalf("revoked before the reload: %v", err)
	}
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := creds.Revocations.Check([]*x509.Certificate{b.Cert}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("serial %x not revoked after reload: %v", serial, err)
	}
	// A tampered list is refused and the loaded one stays.
	os.WriteFile(creds.CRLPath, []byte("garbage"), 0o644)
	if err := w.Reload(); err == nil {
		t.Fatal("garbage list accepted")
	}
	if err := creds.Revocations.Check([]*x509.Certificate{b.Cert}); !errors.Is(err, ErrRevoked) {
		t.Fatal("a refused reload un-revoked the certificate")
	}
}
