package pki

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"sync/atomic"
	"time"
)

// Revoked is one entry of a revocation list.
type Revoked struct {
	Serial *big.Int
	Time   time.Time
}

// NewCRL signs a revocation list with the given number (which must grow
// with every list) and returns it PEM-encoded.
func (ca *CA) NewCRL(entries []Revoked, number int64, now, next time.Time, rnd io.Reader) ([]byte, error) {
	tmpl := &x509.RevocationList{Number: big.NewInt(number), ThisUpdate: now, NextUpdate: next}
	for _, e := range entries {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: e.Serial, RevocationTime: e.Time})
	}
	der, err := x509.CreateRevocationList(rnd, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: signing revocation list: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

// revSet is one loaded revocation list.
type revSet struct {
	serials map[string]bool
	number  *big.Int
}

// Revocations is the revocation list a participant honours. It is safe for
// concurrent use, and Load may replace the list while connections are being
// verified (for example when an operator distributes a new crl.pem).
type Revocations struct{ cur atomic.Pointer[revSet] }

// NewRevocations returns an empty list.
func NewRevocations() *Revocations {
	r := &Revocations{}
	r.cur.Store(&revSet{serials: map[string]bool{}, number: big.NewInt(0)})
	return r
}

// Load verifies a PEM or DER revocation list against the CA certificate and
// installs it. A list with a lower number than the current one is refused,
// so an old list cannot un-revoke a certificate.
func (r *Revocations) Load(data []byte, ca *x509.Certificate) error {
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" {
			return fmt.Errorf("pki: revocation list: PEM block %q: %w", b.Type, ErrCA)
		}
		data = b.Bytes
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return fmt.Errorf("pki: revocation list: %v: %w", err, ErrCA)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("pki: revocation list not signed by the consortium CA: %v: %w", err, ErrCA)
	}
	if crl.Number == nil {
		return fmt.Errorf("pki: revocation list has no number: %w", ErrCA)
	}
	cur := r.cur.Load()
	if crl.Number.Cmp(cur.number) < 0 {
		return fmt.Errorf("pki: revocation list number %v is older than the loaded %v: %w", crl.Number, cur.number, ErrCA)
	}
	set := &revSet{serials: map[string]bool{}, number: crl.Number}
	for _, e := range crl.RevokedCertificateEntries {
		set.serials[e.SerialNumber.String()] = true
	}
	r.cur.Store(set)
	return nil
}

// LoadFile is Load on a file.
func (r *Revocations) LoadFile(path string, ca *x509.Certificate) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := r.Load(data, ca); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Number returns the loaded list's number (0 when none is loaded).
func (r *Revocations) Number() *big.Int { return new(big.Int).Set(r.cur.Load().number) }

// Check refuses a chain any of whose certificates is revoked.
func (r *Revocations) Check(chain []*x509.Certificate) error {
	if r == nil {
		return nil
	}
	set := r.cur.Load()
	for _, c := range chain {
		if set.serials[c.SerialNumber.String()] {
			id, _ := CertIdentity(c)
			return fmt.Errorf("pki: certificate %s (serial %x) is revoked: %w", id, c.SerialNumber, ErrRevoked)
		}
	}
	return nil
}
