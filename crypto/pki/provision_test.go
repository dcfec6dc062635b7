package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/internal/config"
)

// t0 is the fake provisioning time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// randReader adapts a ChaCha8 generator to io.Reader: deterministic keys
// and serials for tests.
type randReader struct{ r *rand.ChaCha8 }

func (r randReader) Read(p []byte) (int, error) { return r.r.Read(p) }

func seeded(seed byte) io.Reader { return randReader{rand.NewChaCha8([32]byte{seed})} }

// consortium returns a test consortium of the given sites.
func consortium(sites ...string) Consortium {
	c := DefaultConsortium()
	c.Name = "test-consortium"
	c.Coordinator = CoordinatorSpec{ID: "coord", Address: "localhost:7443"}
	for _, s := range sites {
		c.Sites = append(c.Sites, Participant{ID: s})
	}
	c.Admins = []Participant{{ID: "alice"}}
	return c
}

// provision provisions c into dir at t0.
func provision(t testing.TB, c Consortium, dir string, seed byte) *ProvisionReport {
	t.Helper()
	rep, err := Provision(c, dir, ProvisionOptions{Clock: clock.NewFake(t0), Rand: seeded(seed)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestProvisionWritesVerifiableKits(t *testing.T) {
	dir := t.TempDir()
	rep := provision(t, consortium("site-a", "site-b"), dir, 1)
	if !rep.CACreated || len(rep.Issued) != 4 {
		t.Fatalf("report %+v, want a new CA and 4 kits", rep)
	}
	fp, _ := os.ReadFile(filepath.Join(dir, fingerprintFile))
	if strings.TrimSpace(string(fp)) != rep.CAFingerprint {
		t.Fatal("CA-FINGERPRINT differs from the report")
	}
	for _, id := range rep.Issued {
		kit := KitDir(dir, id)
		m, err := VerifyKit(kit, rep.CAFingerprint)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if m.Role != id.Role || m.ID != id.ID {
			t.Fatalf("manifest names %s/%s, want %s", m.Role, m.ID, id)
		}
		creds, err := LoadKit(kit, clock.NewFake(t0))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if creds.Identity != id {
			t.Fatalf("kit certificate names %s, want %s", creds.Identity, id)
		}
		if st, _ := os.Stat(filepath.Join(kit, KitKeyFile)); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s key mode %v", id, st.Mode())
		}
		if st, _ := os.Stat(filepath.Join(kit, KitStartFile)); st.Mode().Perm()&0o100 == 0 {
			t.Fatalf("%s start script not executable", id)
		}
	}
	site := KitDir(dir, Identity{RoleSite, "site-a"})
	cfg, _ := os.ReadFile(filepath.Join(site, "site-agent.toml"))
	for _, want := range []string{`site_id = "site-a"`, `coordinator = "localhost:7443"`, "[tls]", `key = "key.pem"`} {
		if !bytes.Contains(cfg, []byte(want)) {
			t.Errorf("site-agent.toml lacks %s:\n%s", want, cfg)
		}
	}
	// The [tls] table decodes strictly into TLSFiles.
	var wrapper struct {
		SiteID      string   `toml:"site_id"`
		Coordinator string   `toml:"coordinator"`
		TLS         TLSFiles `toml:"tls"`
	}
	if err := config.Decode(cfg, "site-agent.toml", &wrapper); err != nil || wrapper.TLS != KitTLSFiles() {
		t.Fatalf("kit config does not decode: %v %+v", err, wrapper)
	}
}

func TestVerifyKitCatchesTampering(t *testing.T) {
	dir := t.TempDir()
	rep := provision(t, consortium("site-a"), dir, 2)
	other := provision(t, consortium("site-a"), t.TempDir(), 3)
	kit := KitDir(dir, Identity{RoleSite, "site-a"})
	cases := []struct {
		name   string
		fp     string
		mutate func(t *testing.T)
	}{
		{"wrong published fingerprint", other.CAFingerprint, func(*testing.T) {}},
		{"altered config", "", func(t *testing.T) {
			os.WriteFile(filepath.Join(kit, "site-agent.toml"), []byte("site_id = \"site-x\"\n"), 0o644)
		}},
		{"altered manifest", "", func(t *testing.T) {
			m, _ := os.ReadFile(filepath.Join(kit, KitManifestFile))
			os.WriteFile(filepath.Join(kit, KitManifestFile), bytes.Replace(m, []byte("site-a"), []byte("site-b"), 1), 0o644)
		}},
		{"substituted CA", "", func(t *testing.T) {
			data, _ := os.ReadFile(filepath.Join(KitDir(other0(t, other), Identity{RoleSite, "site-a"}), KitCAFile))
			os.WriteFile(filepath.Join(kit, KitCAFile), data, 0o644)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backup := snapshot(t, kit)
			defer restore(t, kit, backup)
			tc.mutate(t)
			if _, err := VerifyKit(kit, tc.fp); !errors.Is(err, ErrManifest) {
				t.Fatalf("err %v, want ErrManifest", err)
			}
		})
	}
	if _, err := VerifyKit(kit, rep.CAFingerprint); err != nil {
		t.Fatalf("restored kit: %v", err)
	}
}

// other0 provisions a second consortium and returns its directory.
func other0(t *testing.T, _ *ProvisionReport) string {
	d := t.TempDir()
	provision(t, consortium("site-a"), d, 4)
	return d
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		out[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
	}
	return out
}

func restore(t *testing.T, dir string, files map[string][]byte) {
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
}

func TestAddSiteLaterKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	first := provision(t, consortium("site-a"), dir, 5)
	before := snapshot(t, KitDir(dir, Identity{RoleSite, "site-a"}))
	rep := provision(t, consortium("site-a", "site-b"), dir, 6)
	if rep.CACreated || rep.CAFingerprint != first.CAFingerprint {
		t.Fatal("second run replaced the CA")
	}
	if len(rep.Issued) != 1 || rep.Issued[0] != (Identity{RoleSite, "site-b"}) || len(rep.Kept) != 3 {
		t.Fatalf("second run: issued %v kept %v, want only site-b issued", rep.Issued, rep.Kept)
	}
	after := snapshot(t, KitDir(dir, Identity{RoleSite, "site-a"}))
	for name, data := range before {
		if !bytes.Equal(after[name], data) {
			t.Fatalf("site-a's %s changed", name)
		}
	}
	// Both sites' kits verify under the one CA.
	for _, s := range []string{"site-a", "site-b"} {
		if _, err := VerifyKit(KitDir(dir, Identity{RoleSite, s}), first.CAFingerprint); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// Another consortium's configuration is refused on this directory.
	c := consortium("site-a")
	c.Name = "other"
	if _, err := Provision(c, dir, ProvisionOptions{Clock: clock.NewFake(t0)}); !errors.Is(err, ErrCA) {
		t.Fatalf("other consortium: %v", err)
	}
}

func TestConsortiumValidate(t *testing.T) {
	c := Consortium{CertValidityDays: 0, CAValidityDays: -1,
		Coordinator: CoordinatorSpec{ID: "bad id", Address: "nohost"},
		Sites:       []Participant{{ID: "a"}, {ID: "a"}, {ID: "-x"}}}
	err := c.Validate()
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"name", "validity", "coordinator.id", "coordinator.address", "listed twice", "sites[2]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

func TestRevokeUpdatesEveryKit(t *testing.T) {
	dir := t.TempDir()
	provision(t, consortium("site-a", "site-b"), dir, 7)
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := Revoke(dir, Identity{RoleSite, "site-b"}, ProvisionOptions{Clock: clock.NewFake(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []Identity{{RoleCoordinator, "coord"}, {RoleSite, "site-a"}} {
		rev := NewRevocations()
		if err := rev.LoadFile(filepath.Join(KitDir(dir, id), KitCRLFile), ca.Cert); err != nil {
			t.Fatal(err)
		}
		if rev.Number().Int64() != 2 {
			t.Fatalf("%s CRL number %v, want 2", id, rev.Number())
		}
		creds, _ := LoadKit(KitDir(dir, Identity{RoleSite, "site-b"}), clock.NewFake(t0))
		if creds.Cert.SerialNumber.Cmp(serial) != 0 {
			t.Fatal("revoked serial is not site-b's")
		}
		if err := rev.Check([]*x509.Certificate{creds.Cert}); !errors.Is(err, ErrRevoked) {
			t.Fatalf("%s does not see site-b revoked: %v", id, err)
		}
	}
	if _, err := Revoke(dir, Identity{RoleSite, "site-b"}, ProvisionOptions{}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("second revocation: %v", err)
	}
	// A revoked participant is not re-issued by a later provisioning run.
	rep := provision(t, consortium("site-a", "site-b"), dir, 8)
	if len(rep.Issued) != 0 || len(rep.Revoked) != 1 {
		t.Fatalf("after revocation: %+v", rep)
	}
}

func TestRevocationListRefusesRollbackAndForeignCA(t *testing.T) {
	now := t0
	ca, _ := NewCA("a", now, 24*time.Hour, seeded(9))
	other, _ := NewCA("b", now, 24*time.Hour, seeded(10))
	newer, _ := ca.NewCRL(nil, 5, now, now.Add(time.Hour), seeded(11))
	older, _ := ca.NewCRL(nil, 4, now, now.Add(time.Hour), seeded(12))
	foreign, _ := other.NewCRL(nil, 9, now, now.Add(time.Hour), seeded(13))
	r := NewRevocations()
	if err := r.Load(newer, ca.Cert); err != nil {
		t.Fatal(err)
	}
	for name, crl := range map[string][]byte{"older": older, "foreign": foreign, "garbage": []byte("not a crl")} {
		if err := r.Load(crl, ca.Cert); !errors.Is(err, ErrCA) {
			t.Errorf("%s list: %v, want ErrCA", name, err)
		}
	}
}

func TestExampleConsortiumLoads(t *testing.T) {
	c, err := LoadConsortium("../../examples/consortium.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sites) != 3 || c.Coordinator.Address != "coordinator:7443" || len(c.Admins) != 1 {
		t.Fatalf("example consortium: %v", c)
	}
}
