package protocol

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
)

// ErrNoCredentials reports a transport with neither TLS nor an explicit
// insecure mode: plaintext is never the silent default.
var ErrNoCredentials = errors.New("no transport credentials: set TLS or the explicit insecure mode")

// Security chooses the transport credentials of a server or client.
// Exactly one of Insecure and TLS must be set.
type Security struct {
	// Insecure selects plaintext, for loopback simulations and tests only.
	Insecure bool
	// TLS is the TLS configuration (with client certificates for mTLS).
	TLS *tls.Config
}

// ServerOption returns the grpc.ServerOption for s.
func (s Security) ServerOption() (grpc.ServerOption, error) {
	switch {
	case s.TLS != nil && !s.Insecure:
		return grpc.Creds(credentials.NewTLS(s.TLS)), nil
	case s.Insecure && s.TLS == nil:
		return grpc.Creds(insecure.NewCredentials()), nil
	}
	return nil, ErrNoCredentials
}

// DialOption returns the grpc.DialOption for s.
func (s Security) DialOption() (grpc.DialOption, error) {
	switch {
	case s.TLS != nil && !s.Insecure:
		return grpc.WithTransportCredentials(credentials.NewTLS(s.TLS)), nil
	case s.Insecure && s.TLS == nil:
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	return nil, ErrNoCredentials
}

// Authenticator decides which site the peer of a call is. The coordinator
// asks it on Join and trusts its answer over the site's claim.
type Authenticator interface {
	// Identify returns the site identity of the caller of ctx, given the
	// identity it claims, or an error wrapping ErrPermission.
	Identify(ctx context.Context, claimed string) (string, error)
}

// ClaimAuthenticator trusts the claimed identity. It is the insecure mode's
// authenticator, for simulations and tests.
type ClaimAuthenticator struct{}

// Identify returns claimed when it is a valid site ID.
func (ClaimAuthenticator) Identify(_ context.Context, claimed string) (string, error) {
	if err := ValidSiteID(claimed); err != nil {
		return "", fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return claimed, nil
}

// CertAuthenticator takes the identity from the verified client certificate:
// the first URI SAN that SiteFromURI accepts. A claim that differs is refused.
type CertAuthenticator struct {
	// SiteFromURI maps a URI SAN to a site ID and reports whether it is one.
	SiteFromURI func(u *url.URL) (string, bool)
}

// Identify reads the verified peer certificate of ctx.
func (a CertAuthenticator) Identify(ctx context.Context, claimed string) (string, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", fmt.Errorf("no peer in context: %w", ErrPermission)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return "", fmt.Errorf("peer %v has no verified client certificate: %w", p.Addr, ErrPermission)
	}
	for _, u := range info.State.VerifiedChains[0][0].URIs {
		if site, ok := a.SiteFromURI(u); ok {
			if claimed != "" && claimed != site {
				return "", fmt.Errorf("certificate names site %q, peer claims %q: %w", site, claimed, ErrPermission)
			}
			return site, nil
		}
	}
	return "", fmt.Errorf("peer %v: certificate has no site URI SAN: %w", p.Addr, ErrPermission)
}
