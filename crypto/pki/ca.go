package pki

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"time"
)

// CA is the consortium's certificate authority: an Ed25519 key and its
// self-signed certificate. It signs participant certificates, revocation
// lists and kit manifests.
type CA struct {
	Cert *x509.Certificate
	Key  ed25519.PrivateKey
}

// backdate lets certificates be valid slightly before issuance, for clock
// skew between machines.
const backdate = 5 * time.Minute

// NewCA creates a CA named after the consortium, valid from now for
// validity. rnd supplies the key and serial randomness.
func NewCA(name string, now time.Time, validity time.Duration, rnd io.Reader) (*CA, error) {
	pub, key, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	serial, err := newSerial(rnd)
	if err != nil {
		return nil, err
	}
	skid := sha256.Sum256(pub)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name + " CA", Organization: []string{name}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          skid[:20],
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// newSerial draws a random positive 128-bit serial number.
func newSerial(rnd io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never a short or zero serial
	return new(big.Int).SetBytes(b), nil
}

// Fingerprint is the hex SHA-256 of the CA certificate: participants compare
// it with the value the consortium publishes out of band.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.Cert) }

// Fingerprint is the hex SHA-256 of a certificate's DER encoding.
func Fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

// IssueRequest describes one participant certificate.
type IssueRequest struct {
	Identity Identity
	// Key is the participant's public key (Ed25519).
	Key ed25519.PublicKey
	// Hosts are DNS names or IP addresses (coordinator only).
	Hosts []string
	// Organization is the consortium name, recorded in the subject.
	Organization string
	Now          time.Time
	Validity     time.Duration
}

// Issue signs a participant certificate. The identity is the URI SAN; sites
// and admins get client authentication, the coordinator both server and
// client authentication and its host names.
func (ca *CA) Issue(req IssueRequest, rnd io.Reader) (*x509.Certificate, error) {
	if !req.Identity.Role.valid() {
		return nil, fmt.Errorf("pki: role %q: %w", req.Identity.Role, ErrRole)
	}
	if err := ValidID(req.Identity.ID); err != nil {
		return nil, err
	}
	serial, err := newSerial(rnd)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: req.Identity.ID, Organization: []string{req.Organization},
			OrganizationalUnit: []string{string(req.Identity.Role)}},
		NotBefore:   req.Now.Add(-backdate),
		NotAfter:    req.Now.Add(req.Validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{req.Identity.URI()},
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter // never outlive the CA
	}
	if req.Identity.Role == RoleCoordinator {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		for _, h := range req.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rnd, tmpl, ca.Cert, req.Key, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: issuing %v: %w", req.Identity, err)
	}
	return x509.ParseCertificate(der)
}

// Signer returns the CA key as a crypto.Signer.
func (ca *CA) Signer() crypto.Signer { return ca.Key }

// Pool returns a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// --- PEM files

// certPEM encodes a certificate.
func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// keyPEM encodes an Ed25519 private key as PKCS #8.
func keyPEM(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ReadCertFile reads one PEM certificate.
func ReadCertFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("pki: %s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return c, nil
}

// ReadKeyFile reads one PEM PKCS #8 Ed25519 private key.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("pki: %s: no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: %s: key is %T, want Ed25519", path, k)
	}
	return ek, nil
}
