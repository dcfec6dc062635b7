package siteagent

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol"
)

// validateSecurity reports problems of the [tls] and [privacy] tables.
func (c Config) validateSecurity() error {
	var p config.Problems
	if c.Insecure && c.TLS.Configured() {
		p.Addf("insecure = true and a [tls] table: choose one (plaintext is for local simulations only)")
	}
	if c.TLS.Configured() {
		p.Add(c.TLS.Validate("tls"))
	}
	if c.Privacy != (PrivacyConfig{}) {
		p.Add(c.Privacy.Validate("privacy"))
	}
	return p.Err()
}

// UseTLS loads the credentials cfg.TLS names (relative paths, and a
// relative privacy.state_dir, against base: the config file's directory)
// and readies the agent for a consortium:
//   - opts.Security: mTLS (TLS 1.3) to a coordinator certificate from the
//     consortium CA for the host of cfg.Coordinator, revocation honoured;
//   - cfg.SiteID: the certificate's site (a different site_id is an error);
//   - opts.Phases (unless set): a SecureRunner signing with the kit's key,
//     checking peers' certificates, with cfg.Privacy as the site's policy;
//   - cfg.Gossip.Keys: the consortium's gossip key (gossip without one is
//     refused; set gossip.enabled = false instead).
//
// It returns the watcher that re-reads the revocation list: run it beside
// the agent (go w.Run(ctx)).
func UseTLS(cfg *Config, base string, opts *Options) (*pki.CRLWatcher, error) {
	creds, err := cfg.TLS.Load(base, opts.Clock)
	if err != nil {
		return nil, fmt.Errorf("site agent [tls]: %w", err)
	}
	if creds.Identity.Role != pki.RoleSite {
		return nil, fmt.Errorf("site agent [tls]: certificate of %s is not a site's: %w", creds.Identity, pki.ErrRole)
	}
	if cfg.SiteID == "" {
		cfg.SiteID = creds.Identity.ID
	}
	if cfg.SiteID != creds.Identity.ID {
		return nil, fmt.Errorf("site_id = %q but the certificate names site %q: %w", cfg.SiteID, creds.Identity.ID, protocol.ErrPermission)
	}
	host, _, err := net.SplitHostPort(cfg.Coordinator)
	if err != nil {
		return nil, fmt.Errorf("coordinator = %q: %w", cfg.Coordinator, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	to := creds.TLSOptions(opts.Clock)
	to.ServerName = host
	to.OnReject = func(err error) { log.Warn("coordinator certificate refused", "err", err) }
	tc, err := pki.ClientTLSConfig(to)
	if err != nil {
		return nil, err
	}
	opts.Security = protocol.Security{TLS: tc}
	if cfg.Gossip.Enabled {
		if creds.GossipKey == nil {
			return nil, fmt.Errorf("gossip is enabled but the kit has no gossip key (tls.gossip_key): re-provision, or set gossip.enabled = false")
		}
		cfg.Gossip.Keys = [][]byte{creds.GossipKey}
	}
	if opts.Phases == nil {
		priv := cfg.Privacy
		if priv.StateDir != "" && !filepath.IsAbs(priv.StateDir) {
			priv.StateDir = filepath.Join(base, priv.StateDir)
		}
		r, err := NewSecureRunner(SecureSite{Site: cfg.SiteID, Identity: creds.Key, Certificate: creds.Cert.Raw,
			Verify: creds.Verifier(opts.Clock).VerifySiteKey, Privacy: priv, PartSize: cfg.ChunkSize, Clock: opts.Clock, Logger: log})
		if err != nil {
			return nil, err
		}
		opts.Phases = r
	}
	return creds.CRLWatcher(cfg.TLS.CRLReload.D(), opts.Clock, log.With("site", cfg.SiteID)), nil
}

// UseKit is UseTLS for a startup kit directory as synthfed provision
// writes it (its own layout, every path relative to dir).
func UseKit(dir string, cfg *Config, opts *Options) (*pki.CRLWatcher, error) {
	cfg.TLS = pki.KitTLSFiles()
	cfg.Insecure = false
	return UseTLS(cfg, dir, opts)
}
