package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"regexp"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Sentinel errors of the package.
var (
	// ErrNoIdentity reports a connection or certificate without a verified
	// synthfed identity (no client certificate, or no valid URI SAN).
	ErrNoIdentity = errors.New("no verified synthfed identity")
	// ErrRevoked reports a certificate on the consortium's revocation list.
	ErrRevoked = errors.New("certificate revoked")
	// ErrRole reports a peer whose role may not use this endpoint.
	ErrRole = errors.New("role not allowed")
	// ErrKeyMismatch reports an identity key that is not the certificate's.
	ErrKeyMismatch = errors.New("key does not match the certificate")
	// ErrManifest reports a startup kit whose manifest does not verify.
	ErrManifest = errors.New("kit manifest does not verify")
	// ErrInvalidID reports a participant ID that is not well formed.
	ErrInvalidID = errors.New("invalid participant ID")
	// ErrCA reports a missing, unreadable or inconsistent consortium CA.
	ErrCA = errors.New("consortium CA problem")
)

// Role is what a participant is allowed to be.
type Role string

// The roles of a consortium.
const (
	RoleSite        Role = "site"
	RoleCoordinator Role = "coordinator"
	RoleAdmin       Role = "admin"
)

// valid reports whether r is a known role.
func (r Role) valid() bool { return r == RoleSite || r == RoleCoordinator || r == RoleAdmin }

// URIScheme is the scheme of identity URI SANs: synthfed://<role>/<id>.
const URIScheme = "synthfed"

// idRe is the participant ID syntax, the same as protocol.ValidSiteID.
var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidID checks a participant ID: 1 to 128 of [A-Za-z0-9._-], starting
// with a letter or digit.
func ValidID(id string) error {
	if !idRe.MatchString(id) {
		return fmt.Errorf("pki: ID %q: want 1-128 of [A-Za-z0-9._-] starting alphanumeric: %w", id, ErrInvalidID)
	}
	return nil
}

// Identity is who a certificate names.
type Identity struct {
	Role Role
	ID   string
}

// String formats the identity as its URI.
func (i Identity) String() string { return i.URI().String() }

// URI returns synthfed://<role>/<id>.
func (i Identity) URI() *url.URL {
	return &url.URL{Scheme: URIScheme, Host: string(i.Role), Path: "/" + i.ID}
}

// ParseURI reads an identity URI SAN.
func ParseURI(u *url.URL) (Identity, error) {
	if u == nil || u.Scheme != URIScheme || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Identity{}, fmt.Errorf("pki: URI %v is not a synthfed identity: %w", u, ErrNoIdentity)
	}
	id := Identity{Role: Role(u.Host)}
	if !id.Role.valid() {
		return Identity{}, fmt.Errorf("pki: URI %v: unknown role %q: %w", u, u.Host, ErrNoIdentity)
	}
	if len(u.Path) < 2 || u.Path[0] != '/' {
		return Identity{}, fmt.Errorf("pki: URI %v has no ID: %w", u, ErrNoIdentity)
	}
	id.ID = u.Path[1:]
	if err := ValidID(id.ID); err != nil {
		return Identity{}, fmt.Errorf("pki: URI %v: %w: %w", u, ErrNoIdentity, err)
	}
	return id, nil
}

// CertIdentity returns the identity a certificate names: exactly one
// synthfed URI SAN. It does not verify the certificate.
func CertIdentity(c *x509.Certificate) (Identity, error) {
	var found []Identity
	for _, u := range c.URIs {
		if u.Scheme != URIScheme {
			continue
		}
		id, err := ParseURI(u)
		if err != nil {
			return Identity{}, err
		}
		found = append(found, id)
	}
	switch len(found) {
	case 0:
		return Identity{}, fmt.Errorf("pki: certificate %q has no synthfed URI SAN: %w", c.Subject.CommonName, ErrNoIdentity)
	case 1:
		return found[0], nil
	}
	return Identity{}, fmt.Errorf("pki: certificate %q names %d identities: %w", c.Subject.CommonName, len(found), ErrNoIdentity)
}

// SiteFromURI maps a URI SAN to a site ID; it fits
// protocol.CertAuthenticator.SiteFromURI.
func SiteFromURI(u *url.URL) (string, bool) {
	id, err := ParseURI(u)
	if err != nil || id.Role != RoleSite {
		return "", false
	}
	return id.ID, true
}

// PeerIdentity returns the identity of the peer of a TLS connection, taken
// from its verified certificate chain (never from anything the peer says).
func PeerIdentity(cs tls.ConnectionState) (Identity, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Identity{}, fmt.Errorf("pki: peer presented no verified certificate: %w", ErrNoIdentity)
	}
	return CertIdentity(cs.VerifiedChains[0][0])
}

// PeerIdentityFromContext returns the verified identity of the caller of a
// gRPC call served over TLS.
func PeerIdentityFromContext(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, fmt.Errorf("pki: no gRPC peer in context: %w", ErrNoIdentity)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Identity{}, fmt.Errorf("pki: peer %v is not on TLS: %w", p.Addr, ErrNoIdentity)
	}
	id, err := PeerIdentity(info.State)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: peer %v: %w", p.Addr, err)
	}
	return id, nil
}
