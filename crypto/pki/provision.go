package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// Layout of a provisioning directory.
const (
	caDir           = "ca"
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	registryFile    = "registry.json"
	fingerprintFile = "CA-FINGERPRINT"
	kitsDir         = "kits"
	crlValidity     = 30 * 24 * time.Hour
	registryVersion = 1
	privateFileMode = 0o600
	privateDirMode  = 0o700
	executableMode  = 0o755
	publicFileMode  = 0o644
	publicDirMode   = 0o755
	day             = 24 * time.Hour
)

// KitDir is where the kit of a participant lies in a provisioning
// directory: DIR/kits/<role>/<id>.
func KitDir(out string, id Identity) string {
	return filepath.Join(out, kitsDir, string(id.Role), id.ID)
}

// CRLPath is the consortium's current revocation list in a provisioning
// directory.
func CRLPath(out string) string { return filepath.Join(out, caDir, KitCRLFile) }

// ProvisionOptions injects time, randomness and logging.
type ProvisionOptions struct {
	Clock  clock.Clock
	Rand   io.Reader
	Logger *slog.Logger
}

func (o *ProvisionOptions) defaults() {
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ProvisionReport says what Provision did.
type ProvisionReport struct {
	// CAFingerprint is the SHA-256 of the CA certificate, to publish out of
	// band so that participants can check their kits.
	CAFingerprint string
	// CACreated is true when this run created the CA.
	CACreated bool
	// Issued lists the participants that got a new kit.
	Issued []Identity
	// Kept lists participants whose existing kit was left alone.
	Kept []Identity
	// Revoked lists participants in the configuration whose certificate is
	// revoked; they are not re-issued.
	Revoked []Identity
}

// issued is one certificate in the registry.
type issued struct {
	Role      Role       `json:"role"`
	ID        string     `json:"id"`
	Serial    string     `json:"serial"`
	NotAfter  time.Time  `json:"not_after"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// registry records every certificate the CA issued.
type registry struct {
	Version    int      `json:"version"`
	Consortium string   `json:"consortium"`
	CRLNumber  int64    `json:"crl_number"`
	Issued     []issued `json:"issued"`
}

func (r *registry) find(id Identity) *issued {
	for i := range r.Issued {
		if r.Issued[i].Role == id.Role && r.Issued[i].ID == id.ID {
			return &r.Issued[i]
		}
	}
	return nil
}

// Provision creates the consortium CA in out (or loads the one there) and a
// startup kit for every participant of c that has none yet. Existing kits
// are never re-issued, so a site can be added later by listing it in the
// configuration and running Provision again.
func Provision(c Consortium, out string, o ProvisionOptions) (*ProvisionReport, error) {
	o.defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ca, reg, created, err := openCA(c, out, o)
	if err != nil {
		return nil, err
	}
	rep := &ProvisionReport{CAFingerprint: ca.Fingerprint(), CACreated: created}
	gossip, err := ensureGossipSecret(out, o.Rand)
	if err != nil {
		return nil, err
	}
	for _, id := range c.participants() {
		if e := reg.find(id); e != nil {
			if e.RevokedAt != nil {
				rep.Revoked = append(rep.Revoked, id)
			} else {
				rep.Kept = append(rep.Kept, id)
			}
			continue
		}
		e, err := writeKit(c, out, id, ca, gossip, o)
		if err != nil {
			return rep, err
		}
		reg.Issued = append(reg.Issued, e)
		if err := saveRegistry(out, reg); err != nil {
			return rep, err
		}
		rep.Issued = append(rep.Issued, id)
		o.Logger.Info("kit issued", "participant", id.String(), "dir", KitDir(out, id))
	}
	return rep, nil
}

// openCA loads the CA and registry in out, or creates them.
func openCA(c Consortium, out string, o ProvisionOptions) (*CA, *registry, bool, error) {
	dir := filepath.Join(out, caDir)
	if _, err := os.Stat(filepath.Join(dir, caKeyFile)); err == nil {
		ca, reg, err := loadCA(out)
		if err != nil {
			return nil, nil, false, err
		}
		if reg.Consortium != c.Name {
			return nil, nil, false, fmt.Errorf("pki: %s holds consortium %q, the configuration names %q: %w", out, reg.Consortium, c.Name, ErrCA)
		}
		return ca, reg, false, nil
	}
	if err := os.MkdirAll(dir, privateDirMode); err != nil {
		return nil, nil, false, fmt.Errorf("pki: %w", err)
	}
	now := o.Clock.Now()
	ca, err := NewCA(c.Name, now, time.Duration(c.CAValidityDays)*day, o.Rand)
	if err != nil {
		return nil, nil, false, err
	}
	key, err := keyPEM(ca.Key)
	if err != nil {
		return nil, nil, false, err
	}
	reg := &registry{Version: registryVersion, Consortium: c.Name, CRLNumber: 1}
	crl, err := ca.NewCRL(nil, reg.CRLNumber, now, now.Add(crlValidity), o.Rand)
	if err != nil {
		return nil, nil, false, err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{caKeyFile, key, privateFileMode}, {caCertFile, certPEM(ca.Cert), publicFileMode}, {KitCRLFile, crl, publicFileMode}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, nil, false, err
		}
	}
	if err := writeFileAtomic(filepath.Join(out, fingerprintFile), []byte(ca.Fingerprint()+"\n"), publicFileMode); err != nil {
		return nil, nil, false, err
	}
	o.Logger.Info("consortium CA created", "fingerprint", ca.Fingerprint())
	return ca, reg, true, saveRegistry(out, reg)
}

// LoadCA reads the CA from a provisioning directory.
func LoadCA(out string) (*CA, error) {
	ca, _, err := loadCA(out)
	return ca, err
}

// loadCA reads the CA and its registry from a provisioning directory.
func loadCA(out string) (*CA, *registry, error) {
	dir := filepath.Join(out, caDir)
	cert, err := ReadCertFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	key, err := ReadKeyFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("pki: %s: CA key does not match its certificate: %w", dir, ErrCA)
	}
	data, err := os.ReadFile(filepath.Join(dir, registryFile))
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w: %w", ErrCA, err)
	}
	var reg registry
	if err := json.Unmarshal(data, &reg); err != nil || reg.Version != registryVersion {
		return nil, nil, fmt.Errorf("pki: %s: unreadable registry (version %d): %v: %w", dir, reg.Version, err, ErrCA)
	}
	return &CA{Cert: cert, Key: key}, &reg, nil
}

func saveRegistry(out string, reg *registry) error {
	data, err := json.MarshalIndent(reg, "", "  ")
	if err != nil {
		return fmt.Errorf("pki: registry: %w", err)
	}
	return writeFileAtomic(filepath.Join(out, caDir, registryFile), append(data, '\n'), privateFileMode)
}

// writeKit issues a participant's key and certificate and writes its kit.
func writeKit(c Consortium, out string, id Identity, ca *CA, gossip []byte, o ProvisionOptions) (issued, error) {
	dir := KitDir(out, id)
	if _, err := os.Stat(dir); err == nil {
		return issued{}, fmt.Errorf("pki: %s exists but the registry has no certificate for %s: %w", dir, id, ErrCA)
	}
	pub, key, err := ed25519.GenerateKey(o.Rand)
	if err != nil {
		return issued{}, fmt.Errorf("pki: key of %s: %w", id, err)
	}
	req := IssueRequest{Identity: id, Key: pub, Organization: c.Name, Now: o.Clock.Now(),
		Validity: time.Duration(c.CertValidityDays) * day}
	if id.Role == RoleCoordinator {
		req.Hosts = c.coordinatorHosts()
	}
	cert, err := ca.Issue(req, o.Rand)
	if err != nil {
		return issued{}, err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return issued{}, err
	}
	crl, err := os.ReadFile(CRLPath(out))
	if err != nil {
		return issued{}, fmt.Errorf("pki: %w: %w", ErrCA, err)
	}
	cfgName, cfg := kitConfig(c, id)
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{{KitCAFile, certPEM(ca.Cert), publicFileMode}, {KitCertFile, certPEM(cert), publicFileMode},
		{KitKeyFile, kp, privateFileMode}, {cfgName, []byte(cfg), publicFileMode},
		{KitStartFile, []byte(startScript(c, id, cfgName)), executableMode}, {KitCRLFile, crl, publicFileMode}}
	if id.Role != RoleAdmin { // operators do not gossip
		files = append(files, struct {
			name string
			data []byte
			mode os.FileMode
		}{KitGossipFile, []byte(hex.EncodeToString(gossip) + "\n"), privateFileMode})
	}
	if err := os.MkdirAll(dir, privateDirMode); err != nil {
		return issued{}, fmt.Errorf("pki: %w", err)
	}
	var listed []string
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return issued{}, err
		}
		if f.name != KitCRLFile { // the list is replaced on revocation
			listed = append(listed, f.name)
		}
	}
	m := Manifest{Consortium: c.Name, Role: id.Role, ID: id.ID, Serial: cert.SerialNumber.Text(16),
		NotAfter: cert.NotAfter.UTC(), Created: o.Clock.Now().UTC()}
	if err := writeManifest(dir, m, listed, ca); err != nil {
		return issued{}, err
	}
	return issued{Role: id.Role, ID: id.ID, Serial: cert.SerialNumber.String(), NotAfter: cert.NotAfter.UTC()}, nil
}

// Revoke revokes the current certificate of a participant: it signs a new
// revocation list (with a higher number) into DIR/ca/crl.pem and into the
// crl.pem of every kit under DIR/kits. Distribute it to the coordinator
// (and sites) for it to take effect there. It returns the revoked serial.
func Revoke(out string, id Identity, o ProvisionOptions) (*big.Int, error) {
	o.defaults()
	ca, reg, err := loadCA(out)
	if err != nil {
		return nil, err
	}
	e := reg.find(id)
	if e == nil {
		return nil, fmt.Errorf("pki: %s was never issued a certificate: %w", id, ErrNoIdentity)
	}
	if e.RevokedAt != nil {
		return nil, fmt.Errorf("pki: %s is already revoked: %w", id, ErrRevoked)
	}
	now := o.Clock.Now().UTC()
	e.RevokedAt = &now
	reg.CRLNumber++
	var entries []Revoked
	for _, r := range reg.Issued {
		if r.RevokedAt != nil {
			s, ok := new(big.Int).SetString(r.Serial, 10)
			if !ok {
				return nil, fmt.Errorf("pki: registry serial %q of %s/%s: %w", r.Serial, r.Role, r.ID, ErrCA)
			}
			entries = append(entries, Revoked{Serial: s, Time: *r.RevokedAt})
		}
	}
	crl, err := ca.NewCRL(entries, reg.CRLNumber, now, now.Add(crlValidity), o.Rand)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(CRLPath(out), crl, publicFileMode); err != nil {
		return nil, err
	}
	if err := saveRegistry(out, reg); err != nil {
		return nil, err
	}
	if err := refreshKitCRLs(out, crl); err != nil {
		return nil, err
	}
	serial, _ := new(big.Int).SetString(e.Serial, 10)
	o.Logger.Info("certificate revoked", "participant", id.String(), "serial", serial.Text(16), "crl_number", reg.CRLNumber)
	return serial, nil
}

// refreshKitCRLs writes the new list into every kit directory present.
func refreshKitCRLs(out string, crl []byte) error {
	return filepath.WalkDir(filepath.Join(out, kitsDir), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == KitManifestFile {
			return writeFileAtomic(filepath.Join(filepath.Dir(p), KitCRLFile), crl, publicFileMode)
		}
		return nil
	})
}

// writeFileAtomic writes data to a temporary file in the same directory,
// syncs it, sets its mode and renames it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	err = errors.Join(werr, f.Chmod(mode), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	return nil
}
