package pki

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/internal/config"
)

// Names of the files in a startup kit.
const (
	KitCAFile       = "ca.crt"
	KitCertFile     = "cert.pem"
	KitKeyFile      = "key.pem"
	KitCRLFile      = "crl.pem"
	KitStartFile    = "start.sh"
	KitManifestFile = "MANIFEST.json"
	KitSigFile      = "MANIFEST.sig"
)

// TLSFiles names a participant's credential files. The coordinator and site
// agent configurations embed it as their [tls] table; relative paths are
// relative to the directory of the configuration file.
type TLSFiles struct {
	// CA is the consortium CA certificate (PEM).
	CA string `toml:"ca"`
	// Cert is the participant's certificate (PEM).
	Cert string `toml:"cert"`
	// Key is the participant's Ed25519 private key (PEM, PKCS #8).
	Key string `toml:"key"`
	// CRL is the consortium revocation list (PEM); empty means none.
	CRL string `toml:"crl"`
	// GossipKey is the consortium gossip secret (KitGossipFile); empty
	// means none, and then gossip must stay off outside insecure mode.
	GossipKey string `toml:"gossip_key"`
	// CRLReload is how often a running participant re-reads CRL (0: one
	// minute).
	CRLReload config.Duration `toml:"crl_reload"`
}

// Configured reports whether the table names any credential file.
func (f TLSFiles) Configured() bool {
	return f.CA != "" || f.Cert != "" || f.Key != "" || f.CRL != "" || f.GossipKey != ""
}

// Validate reports every problem of a [tls] table at once: the CA,
// certificate and key files are required together.
func (f TLSFiles) Validate(prefix string) error {
	var p config.Problems
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		p.Addf("%s: ca, cert and key are all required (got ca %q, cert %q, key %q)", prefix, f.CA, f.Cert, f.Key)
	}
	if f.CRLReload < 0 {
		p.Addf("%s.crl_reload = %v: want >= 0", prefix, f.CRLReload.D())
	}
	return p.Err()
}

// KitTLSFiles are the TLSFiles of a kit's own layout.
func KitTLSFiles() TLSFiles {
	return TLSFiles{CA: KitCAFile, Cert: KitCertFile, Key: KitKeyFile, CRL: KitCRLFile, GossipKey: KitGossipFile}
}

// Credentials are a participant's loaded and checked credentials.
type Credentials struct {
	// Identity is who the certificate names.
	Identity Identity
	// Cert and Key are the participant's certificate and key (the key also
	// signs secure-aggregation messages).
	Cert *x509.Certificate
	Key  ed25519.PrivateKey
	// CA is the consortium CA certificate.
	CA *x509.Certificate
	// Revocations holds the loaded revocation list (empty if none).
	Revocations *Revocations
	// CRLPath is the revocation list file (empty if none), for reloading.
	CRLPath string
	// GossipKey is the derived memberlist key (nil without a gossip secret).
	GossipKey []byte
}

// Load reads the files (relative paths against base) and checks that the
// certificate chains to the CA (at the clock's time) and matches the key.
func (f TLSFiles) Load(base string, clk clock.Clock) (*Credentials, error) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	ca, err := ReadCertFile(abs(f.CA))
	if err != nil {
		return nil, err
	}
	cert, err := ReadCertFile(abs(f.Cert))
	if err != nil {
		return nil, err
	}
	key, err := ReadKeyFile(abs(f.Key))
	if err != nil {
		return nil, err
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("pki: %s does not hold the key of %s: %w", abs(f.Key), abs(f.Cert), ErrKeyMismatch)
	}
	if clk == nil {
		clk = clock.New()
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: clk.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("pki: %s: %w", abs(f.Cert), err)
	}
	id, err := CertIdentity(cert)
	if err != nil {
		return nil, err
	}
	rev := NewRevocations()
	if f.CRL != "" {
		if err := rev.LoadFile(abs(f.CRL), ca); err != nil {
			return nil, err
		}
	}
	creds := &Credentials{Identity: id, Cert: cert, Key: key, CA: ca, Revocations: rev, CRLPath: abs(f.CRL)}
	if f.GossipKey != "" {
		secret, err := ReadGossipSecret(abs(f.GossipKey))
		switch {
		case errors.Is(err, fs.ErrNotExist): // a kit issued before gossip secrets: no key
		case err != nil:
			return nil, err
		default:
			if creds.GossipKey, err = GossipKey(secret, ca); err != nil {
				return nil, err
			}
		}
	}
	return creds, nil
}

// LoadKit loads the credentials of a startup kit directory.
func LoadKit(dir string, clk clock.Clock) (*Credentials, error) {
	return KitTLSFiles().Load(dir, clk)
}

// TLSOptions returns options for ServerTLSConfig or ClientTLSConfig built
// from the credentials; set ServerName (client) and OnReject as needed.
func (c *Credentials) TLSOptions(clk clock.Clock) TLSOptions {
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	return TLSOptions{
		Certificate: tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert},
		Roots:       pool, Revocations: c.Revocations, Clock: clk,
	}
}

// Verifier returns a Verifier over the same CA and revocation list.
func (c *Credentials) Verifier(clk clock.Clock) *Verifier {
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	return &Verifier{Roots: pool, Revocations: c.Revocations, Clock: clk}
}
