package siteagent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/clock"
)

// CheckStatus is the outcome of one check.
type CheckStatus string

// Check outcomes.
const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
	CheckSkip CheckStatus = "skipped"
)

// CheckResult is one check of Check: its name, outcome and a reason a
// hospital's IT can act on.
type CheckResult struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail"`
}

// CheckOptions are Check's injected parts.
type CheckOptions struct {
	// Base is the config file's directory (relative [tls] paths).
	Base string
	// Clock is the time certificates are checked at (nil: the wall clock).
	Clock clock.Clock
	// Dialer replaces the TCP dialer (tests).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
	// Data replaces the [data] folder (simulations).
	Data DataSource
	// Timeout bounds the coordinator check (0: 10 s).
	Timeout time.Duration
	// Logger receives the data loader's logs (nil: discard).
	Logger *slog.Logger
}

// Check verifies a site's setup without joining the federation: the
// configuration is valid, the certificates verify (chain, expiry, role,
// site ID, revocation), the coordinator answers its health check, and the
// local data loads and splits. Every check runs; a failed one does not
// stop the others unless they depend on it.
func Check(ctx context.Context, cfg Config, o CheckOptions) []CheckResult {
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var out []CheckResult
	add := func(name string, st CheckStatus, format string, args ...any) {
		out = append(out, CheckResult{Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
	}
	if err := cfg.Validate(); err != nil {
		add("config", CheckFail, "%v", err)
	} else {
		add("config", CheckOK, "site %s, coordinator %s", cfg.SiteID, cfg.Coordinator)
	}
	tc, certRes := checkCertificates(cfg, o)
	out = append(out, certRes)
	out = append(out, checkCoordinator(ctx, cfg, o, tc, certRes.Status == CheckFail))
	out = append(out, checkData(ctx, cfg, o)...)
	out = append(out, checkCompute(cfg, o.Logger))
	return out
}

// CheckFailed reports whether any check failed.
func CheckFailed(rs []CheckResult) bool {
	for _, r := range rs {
		if r.Status == CheckFail {
			return true
		}
	}
	return false
}

// checkCertificates loads and verifies the [tls] credentials and returns
// the client TLS configuration for the coordinator check.
func checkCertificates(cfg Config, o CheckOptions) (*tls.Config, CheckResult) {
	res := CheckResult{Name: "certificates"}
	fail := func(format string, args ...any) (*tls.Config, CheckResult) {
		res.Status, res.Detail = CheckFail, fmt.Sprintf(format, args...)
		return nil, res
	}
	if cfg.Insecure {
		res.Status, res.Detail = CheckWarn, "insecure = true: plaintext, no certificates (local simulations only)"
		return nil, res
	}
	if !cfg.TLS.Configured() {
		return fail("no [tls] table and not insecure: install the site's startup kit (synthfed provision) and point [tls] at it")
	}
	if err := expiry(cfg.TLS, o); err != nil {
		return fail("%v", err)
	}
	creds, err := cfg.TLS.Load(o.Base, o.Clock)
	if err != nil {
		return fail("%v", err)
	}
	if creds.Identity.Role != pki.RoleSite {
		return fail("%s is a %s certificate, not a site's", creds.Identity, creds.Identity.Role)
	}
	if cfg.SiteID != "" && cfg.SiteID != creds.Identity.ID {
		return fail("site_id = %q but the certificate names site %q", cfg.SiteID, creds.Identity.ID)
	}
	if err := creds.Revocations.Check([]*x509.Certificate{creds.Cert, creds.CA}); err != nil {
		return fail("the site's certificate is revoked by %s: %v", cfg.TLS.CRL, err)
	}
	to := creds.TLSOptions(o.Clock)
	to.ServerName, _, _ = net.SplitHostPort(cfg.Coordinator)
	tc, err := pki.ClientTLSConfig(to)
	if err != nil {
		return fail("%v", err)
	}
	res.Status = CheckOK
	res.Detail = fmt.Sprintf("%s, valid until %s, CA %.16s", creds.Identity, creds.Cert.NotAfter.UTC().Format(time.RFC3339), pki.Fingerprint(creds.CA))
	return tc, res
}

// expiry explains an expired or not yet valid certificate in words before
// the chain check reports it in x509's.
func expiry(files pki.TLSFiles, o CheckOptions) error {
	path := files.Cert
	if !filepath.IsAbs(path) {
		path = filepath.Join(o.Base, path)
	}
	c, err := pki.ReadCertFile(path)
	if err != nil {
		return err
	}
	now := o.Clock.Now()
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("certificate %s expired on %s (now %s): ask the consortium for a new startup kit",
			path, c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("certificate %s is not valid before %s (now %s): check this machine's clock",
			path, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkCoordinator asks the coordinator's gRPC health service, which any
// consortium member may call, without joining.
func checkCoordinator(ctx context.Context, cfg Config, o CheckOptions, tc *tls.Config, certFailed bool) CheckResult {
	res := CheckResult{Name: "coordinator"}
	if certFailed {
		res.Status, res.Detail = CheckSkip, "needs valid certificates"
		return res
	}
	cred := insecure.NewCredentials()
	if tc != nil {
		cred = credentials.NewTLS(tc)
	}
	dopts := []grpc.DialOption{grpc.WithTransportCredentials(cred)}
	if o.Dialer != nil {
		dopts = append(dopts, grpc.WithContextDialer(o.Dialer))
	}
	conn, err := grpc.NewClient("passthrough:///"+cfg.Coordinator, dopts...)
	if err != nil {
		res.Status, res.Detail = CheckFail, fmt.Sprintf("coordinator %s: %v", cfg.Coordinator, err)
		return res
	}
	defer conn.Close()
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
	switch {
	case err != nil:
		res.Status, res.Detail = CheckFail, fmt.Sprintf("coordinator %s unreachable: %v (check the address, the site's outbound firewall and the coordinator)", cfg.Coordinator, err)
	case reply.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		res.Status, res.Detail = CheckWarn, fmt.Sprintf("coordinator %s answers but is %s", cfg.Coordinator, reply.GetStatus())
	default:
		res.Status, res.Detail = CheckOK, fmt.Sprintf("coordinator %s is serving", cfg.Coordinator)
	}
	return res
}

// checkData loads and splits the site's data and checks the synthetic
// folder is writable.
func checkData(ctx context.Context, cfg Config, o CheckOptions) []CheckResult {
	res := CheckResult{Name: "data"}
	if o.Data == nil && !cfg.Data.Enabled() {
		res.Status, res.Detail = CheckWarn, "no [data] section: only the built-in trainers can run (the study's ddpm, classifier, sample and evaluate jobs need data)"
		return []CheckResult{res}
	}
	d, err := LoadSiteData(ctx, cfg.Data, o.Data, o.Logger)
	switch {
	case err != nil && errors.Is(err, ErrNoData):
		res.Status, res.Detail = CheckFail, fmt.Sprintf("%v (is data.path the folder holding the CSVs and images, and data.format right?)", err)
	case err != nil:
		res.Status, res.Detail = CheckFail, err.Error()
	default:
		res.Status = CheckOK
		res.Detail = fmt.Sprintf("%d train, %d validation, %d test images at %dx%d", d.Train.Len(), d.Val.Len(), d.Test.Len(), cfg.Data.ImageSize, cfg.Data.ImageSize)
		if rep := d.Report; rep != nil && (rep.Errors() > 0 || rep.Warnings() > 0) {
			res.Status = CheckWarn
			res.Detail += fmt.Sprintf("; %d rows or images refused and %d warnings (run synthfed data check for the list)", rep.Errors(), rep.Warnings())
		}
	}
	out := []CheckResult{res}
	if dir := cfg.Data.SyntheticDir; dir != "" {
		out = append(out, checkWritable(dir))
	}
	return out
}

// checkWritable checks that the synthetic folder can be created and
// written.
func checkWritable(dir string) CheckResult {
	res := CheckResult{Name: "synthetic_dir"}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		res.Status, res.Detail = CheckFail, fmt.Sprintf("data.synthetic_dir %s: %v", dir, err)
		return res
	}
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		res.Status, res.Detail = CheckFail, fmt.Sprintf("data.synthetic_dir %s is not writable: %v", dir, err)
		return res
	}
	f.Close()
	os.Remove(f.Name())
	res.Status, res.Detail = CheckOK, dir+" is writable"
	return res
}
