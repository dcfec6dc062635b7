package pki

import (
	"crypto/ed25519"
	"crypto/x509"
	"fmt"

	"github.com/synthfed/synthfed/internal/clock"
)

// Verifier checks participant certificates outside a TLS handshake, for
// example the certificate a site advertises with its secure-aggregation
// identity key.
type Verifier struct {
	// Roots holds the consortium CA.
	Roots *x509.CertPool
	// Revocations is the list to honour (nil: none).
	Revocations *Revocations
	// Clock supplies the time for validity checks (nil: wall clock).
	Clock clock.Clock
}

// VerifyCertificate checks that a DER certificate chains to the consortium
// CA at the current time for client authentication, is not revoked and
// names an identity of the given role; it returns that identity.
func (v *Verifier) VerifyCertificate(der []byte, role Role) (Identity, *x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("pki: certificate does not parse: %v: %w", err, ErrNoIdentity)
	}
	clk := v.Clock
	if clk == nil {
		clk = clock.New()
	}
	chains, err := c.Verify(x509.VerifyOptions{Roots: v.Roots, CurrentTime: clk.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return Identity{}, nil, fmt.Errorf("pki: certificate %q: %w", c.Subject.CommonName, err)
	}
	if err := v.Revocations.Check(chains[0]); err != nil {
		return Identity{}, nil, err
	}
	id, err := CertIdentity(c)
	if err != nil {
		return Identity{}, nil, err
	}
	if id.Role != role {
		return Identity{}, nil, fmt.Errorf("pki: certificate of %s, want role %q: %w", id, role, ErrRole)
	}
	return id, c, nil
}

// VerifySiteKey accepts an Ed25519 identity key for a site when certDER is a
// valid, unrevoked site certificate naming that site and holding exactly
// that key. Its signature fits secagg.IdentityVerifier.
func (v *Verifier) VerifySiteKey(site string, key ed25519.PublicKey, certDER []byte) error {
	id, c, err := v.VerifyCertificate(certDER, RoleSite)
	if err != nil {
		return err
	}
	if id.ID != site {
		return fmt.Errorf("pki: certificate names site %q, key claimed for %q: %w", id.ID, site, ErrKeyMismatch)
	}
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok || !pub.Equal(key) {
		return fmt.Errorf("pki: identity key of site %q is not its certificate's key: %w", site, ErrKeyMismatch)
	}
	return nil
}
