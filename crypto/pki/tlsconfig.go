package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// TLSOptions configures ServerTLSConfig and ClientTLSConfig.
type TLSOptions struct {
	// Certificate is this participant's certificate and key.
	Certificate tls.Certificate
	// Roots holds the consortium CA.
	Roots *x509.CertPool
	// Revocations is the list to honour (nil: none).
	Revocations *Revocations
	// AllowedRoles are the peer roles accepted. Defaults: a server accepts
	// sites and admins; a client accepts only the coordinator.
	AllowedRoles []Role
	// ServerName is the host name the client expects in the server's
	// certificate (client only).
	ServerName string
	// Clock supplies the time for certificate validity (nil: wall clock).
	Clock clock.Clock
	// OnReject, when set, is called with every refusal this package makes
	// after the chain verified (revoked, wrong role, no identity), for
	// counting and logging.
	OnReject func(error)
}

// ServerTLSConfig returns a TLS 1.3 server configuration that requires and
// verifies a client certificate from the consortium CA, then refuses a
// revoked certificate or a role not allowed. Use PeerIdentity or
// PeerIdentityFromContext to learn who the client is.
func ServerTLSConfig(o TLSOptions) (*tls.Config, error) {
	if err := o.check(false); err != nil {
		return nil, err
	}
	roles := o.AllowedRoles
	if roles == nil {
		roles = []Role{RoleSite, RoleAdmin}
	}
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{o.Certificate},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        o.Roots,
		Time:             o.now(),
		VerifyConnection: o.verifyPeer(roles),
	}, nil
}

// ClientTLSConfig returns a TLS 1.3 client configuration that presents the
// participant's certificate and accepts only a non-revoked coordinator
// certificate from the consortium CA for ServerName.
func ClientTLSConfig(o TLSOptions) (*tls.Config, error) {
	if err := o.check(true); err != nil {
		return nil, err
	}
	roles := o.AllowedRoles
	if roles == nil {
		roles = []Role{RoleCoordinator}
	}
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{o.Certificate},
		RootCAs:          o.Roots,
		ServerName:       o.ServerName,
		Time:             o.now(),
		VerifyConnection: o.verifyPeer(roles),
	}, nil
}

func (o TLSOptions) check(client bool) error {
	var errs []error
	if len(o.Certificate.Certificate) == 0 || o.Certificate.PrivateKey == nil {
		errs = append(errs, errors.New("pki: TLS options need a certificate and key"))
	}
	if o.Roots == nil {
		errs = append(errs, errors.New("pki: TLS options need the consortium CA pool"))
	}
	if client && o.ServerName == "" {
		errs = append(errs, errors.New("pki: client TLS options need the coordinator's server name"))
	}
	return errors.Join(errs...)
}

func (o TLSOptions) now() func() time.Time {
	if o.Clock == nil {
		return nil
	}
	return o.Clock.Now
}

// verifyPeer runs after the standard chain verification, on full and on
// resumed handshakes alike.
func (o TLSOptions) verifyPeer(roles []Role) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		err := o.peerAllowed(cs, roles)
		if err != nil && o.OnReject != nil {
			o.OnReject(err)
		}
		return err
	}
}

func (o TLSOptions) peerAllowed(cs tls.ConnectionState, roles []Role) error {
	id, err := PeerIdentity(cs)
	if err != nil {
		return err
	}
	if err := o.Revocations.Check(cs.VerifiedChains[0]); err != nil {
		return err
	}
	if !slices.Contains(roles, id.Role) {
		return fmt.Errorf("pki: peer %s: role %q may not connect here: %w", id, id.Role, ErrRole)
	}
	return nil
}
