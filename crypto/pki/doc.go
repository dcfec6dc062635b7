// Package pki is the consortium's public-key infrastructure: who may join.
//
// # Provisioning
//
// `synthfed provision --config consortium.toml --out DIR` (Provision)
// creates an Ed25519 consortium CA in DIR/ca and one startup kit per
// participant in DIR/kits/<role>/<id>:
//
//	ca.crt          the consortium CA certificate
//	cert.pem        the participant's certificate; its identity is the URI SAN
//	                synthfed://site/<id>, synthfed://coordinator/<id> or
//	                synthfed://admin/<id>
//	key.pem         its Ed25519 private key (PKCS #8, mode 0600); it also
//	                signs the site's secure-aggregation messages
//	crl.pem         the current revocation list (replaced on revocation)
//	site-agent.toml | coordinator.toml | admin.toml
//	                the identity, coordinator address and a [tls] table of
//	                the files above (TLSFiles); everything else keeps its
//	                default
//	start.sh        runs the participant with that configuration
//	MANIFEST.json   SHA-256 of every file but crl.pem, signed by the CA in
//	MANIFEST.sig    (checked by VerifyKit / `synthfed provision verify`)
//
// DIR/CA-FINGERPRINT holds the SHA-256 of the CA certificate, to publish out
// of band so that participants can check their kit. Running Provision again
// with more participants issues kits only for the new ones: nobody else is
// re-issued. Revoke adds a certificate to a new CA-signed revocation list
// (with a higher number) in DIR/ca/crl.pem and every kit's crl.pem.
//
// # Connections
//
// ServerTLSConfig and ClientTLSConfig build TLS 1.3 configurations with
// RequireAndVerifyClientCert against the consortium CA; their
// VerifyConnection hook (run on full and resumed handshakes) refuses a
// revoked certificate (ErrRevoked) or a role that may not connect
// (ErrRole). PeerIdentity and PeerIdentityFromContext return the identity
// from the verified certificate, never from a message field; SiteFromURI
// plugs into protocol.CertAuthenticator. Verifier.VerifySiteKey binds a
// secure-aggregation identity key to a site certificate (it fits
// secagg.IdentityVerifier).
//
// Time comes from an injected clock.Clock (TLS Config.Time and
// verification), so expiry is testable.
package pki
