package coordinator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// UseTLS loads the credentials cfg.TLS names (relative paths against base,
// the config file's directory) and readies a consortium coordinator:
//   - opts.Security: mTLS, TLS 1.3, RequireAndVerifyClientCert against the
//     consortium CA, revoked certificates refused at the handshake;
//   - opts.Authenticator: the site identity is the verified certificate's
//     URI SAN, never a message field (a Join claiming another is refused);
//   - opts.ServerOptions: every call is checked again against the current
//     revocation list (so a revocation also ends established connections'
//     use) and by role: sites use the federation and jobs services, admins
//     the admin service;
//   - opts.Secure (unless set): secure aggregation, on for jobs that leave
//     secure_aggregation unset, identity keys bound to certificates;
//   - cfg.Gossip: keyed with the consortium's gossip key, and a site's node
//     admitted only under its certificate's site ID at the address its
//     authenticated Join gave (gossip without a key is refused).
//
// It returns the watcher that re-reads the revocation list: run it beside
// the coordinator (go w.Run(ctx)).
func UseTLS(cfg *Config, base string, opts *Options) (*pki.CRLWatcher, error) {
	creds, err := cfg.TLS.Load(base, opts.Clock)
	if err != nil {
		return nil, fmt.Errorf("coordinator [tls]: %w", err)
	}
	if creds.Identity.Role != pki.RoleCoordinator {
		return nil, fmt.Errorf("coordinator [tls]: certificate of %s is not a coordinator's: %w", creds.Identity, pki.ErrRole)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	to := creds.TLSOptions(opts.Clock)
	to.OnReject = func(err error) { log.Warn("client certificate refused", "err", err) }
	tc, err := pki.ServerTLSConfig(to)
	if err != nil {
		return nil, err
	}
	g := &callGuard{rev: creds.Revocations, log: log, gossip: map[string]string{}}
	g.watchHandshakes(tc)
	opts.Security = protocol.Security{TLS: tc}
	opts.guard = g
	opts.Authenticator = protocol.CertAuthenticator{SiteFromURI: pki.SiteFromURI}
	opts.ServerOptions = append(opts.ServerOptions, grpc.ChainUnaryInterceptor(g.unary), grpc.ChainStreamInterceptor(g.stream))
	if opts.Secure == nil {
		opts.Secure = &SecureConfig{Verify: creds.Verifier(opts.Clock).VerifySiteKey, Default: true}
	}
	if cfg.Gossip.Enabled {
		if creds.GossipKey == nil {
			return nil, fmt.Errorf("gossip is enabled but the kit has no gossip key (tls.gossip_key): re-provision, or set gossip.enabled = false")
		}
		cfg.Gossip.Keys, cfg.Gossip.Admit = [][]byte{creds.GossipKey}, g.admit
	}
	return creds.CRLWatcher(cfg.TLS.CRLReload.D(), opts.Clock, log.With("component", "coordinator")), nil
}

// UseKit is UseTLS for a startup kit directory as synthfed provision
// writes it (its own layout, every path relative to dir).
func UseKit(dir string, cfg *Config, opts *Options) (*pki.CRLWatcher, error) {
	cfg.TLS = pki.KitTLSFiles()
	cfg.Insecure = false
	return UseTLS(cfg, dir, opts)
}

// Service prefixes of the coordinator's gRPC methods.
const (
	federationPrefix = "/synthfed.fed.v1.Federation/"
	jobsPrefix       = "/synthfed.fed.v1.Jobs/"
	adminPrefix      = "/synthfed.fed.v1.Admin/"
	joinMethod       = federationPrefix + "Join"
	statusMethod     = federationPrefix + "Status"
)

// callGuard checks every call of an mTLS coordinator and records the
// gossip address each site joined with.
type callGuard struct {
	rev *pki.Revocations
	log *slog.Logger

	mu     sync.Mutex
	gossip map[string]string // site -> gossip host:port from its Join
	report refusalSink       // the coordinator's audit (nil: log only)
}

// refusalSink receives a refused caller (a site ID, role/ID for other
// roles, "" when the certificate names nobody), the reason key and the
// detail.
type refusalSink func(who string, reason engine.Reason, detail string)

// setReport directs refusals to sink; Coordinator.New calls it.
func (g *callGuard) setReport(sink refusalSink) {
	g.mu.Lock()
	g.report = sink
	g.mu.Unlock()
}

// refused reports one refusal of caller id (zero when unknown).
func (g *callGuard) refused(id pki.Identity, where string, err error) {
	g.mu.Lock()
	sink := g.report
	g.mu.Unlock()
	if sink == nil {
		return
	}
	who := ""
	switch {
	case id.Role == pki.RoleSite:
		who = id.ID
	case id.ID != "":
		who = string(id.Role) + "/" + id.ID
	}
	sink(who, refusalReason(err), where+": "+err.Error())
}

// refusalReason names a refusal by its sentinel.
func refusalReason(err error) engine.Reason {
	switch {
	case errors.Is(err, pki.ErrRevoked):
		return engine.ReasonCallRevoked
	case errors.Is(err, pki.ErrRole):
		return engine.ReasonCallRole
	case errors.Is(err, pki.ErrNoIdentity):
		return engine.ReasonCallNoIdentity
	}
	return engine.ReasonCallDenied
}

// watchHandshakes reports the refusals of tc's own peer check (a revoked
// certificate or a role not allowed at the handshake, after the chain
// verified, so that the certificate's identity can be trusted).
func (g *callGuard) watchHandshakes(tc *tls.Config) {
	verify := tc.VerifyConnection
	if verify == nil {
		return
	}
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		err := verify(cs)
		if err != nil {
			id, _ := pki.PeerIdentity(cs)
			g.refused(id, "TLS handshake", err)
		}
		return err
	}
}

// check refuses a call whose verified certificate is revoked by the
// current list or whose role may not use the method; it returns the
// caller's identity.
func (g *callGuard) check(ctx context.Context, method string) (pki.Identity, error) {
	p, ok := peer.FromContext(ctx)
	var info credentials.TLSInfo
	if ok {
		info, ok = p.AuthInfo.(credentials.TLSInfo)
	}
	if !ok || len(info.State.VerifiedChains) == 0 {
		err := fmt.Errorf("%s: no verified client certificate: %w", method, pki.ErrNoIdentity)
		g.refused(pki.Identity{}, "call from "+peerAddr(p), err)
		return pki.Identity{}, fmt.Errorf("%w: %w", protocol.ErrPermission, err)
	}
	id, err := pki.PeerIdentity(info.State)
	if err == nil {
		err = g.rev.Check(info.State.VerifiedChains[0])
	}
	if err == nil && !roleMayCall(id.Role, method) {
		err = fmt.Errorf("%s may not call %s: %w", id, method, pki.ErrRole)
	}
	if err != nil {
		g.log.Warn("call refused", "method", method, "peer", p.Addr, "err", err)
		g.refused(id, "call "+method, err)
		return pki.Identity{}, fmt.Errorf("%w: %w", protocol.ErrPermission, err)
	}
	return id, nil
}

// roleMayCall is the coordinator's authorisation by certificate role.
func roleMayCall(r pki.Role, method string) bool {
	switch {
	case method == statusMethod:
		return r == pki.RoleSite || r == pki.RoleAdmin
	case strings.HasPrefix(method, federationPrefix), strings.HasPrefix(method, jobsPrefix):
		return r == pki.RoleSite
	case strings.HasPrefix(method, adminPrefix):
		return r == pki.RoleAdmin
	}
	return true // health, reflection
}

func (g *callGuard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	id, err := g.check(ctx, info.FullMethod)
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	resp, err := h(ctx, req)
	if j, ok := req.(*fedpb.JoinRequest); ok && err == nil && info.FullMethod == joinMethod {
		g.mu.Lock()
		g.gossip[id.ID] = j.GetGossipAddr()
		g.mu.Unlock()
	}
	return resp, err
}

func (g *callGuard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if _, err := g.check(ss.Context(), info.FullMethod); err != nil {
		return protocol.ToStatus(err)
	}
	return h(srv, ss)
}

// admit accepts a gossip node named after a site only at the address that
// site's certificate-authenticated Join announced, and coordinator nodes
// (which only ever lead to no-op failure reports).
func (g *callGuard) admit(name, addr string) error {
	if strings.HasPrefix(name, "coordinator/") {
		return nil
	}
	g.mu.Lock()
	want, ok := g.gossip[name]
	g.mu.Unlock()
	if !ok || want != addr {
		return fmt.Errorf("gossip node %q at %s: no site joined with that name and address", name, addr)
	}
	return nil
}

func peerAddr(p *peer.Peer) string {
	if p == nil || p.Addr == nil {
		return "unknown"
	}
	return p.Addr.String()
}
