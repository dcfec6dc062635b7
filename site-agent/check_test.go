package siteagent_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/phantom"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// provisionAt writes a consortium whose certificates were issued at t and
// last validity days, and returns site a's kit directory.
func provisionAt(t *testing.T, at time.Time, validity int) string {
	t.Helper()
	dir := t.TempDir()
	c := pki.DefaultConsortium()
	c.Coordinator.Address = "localhost:7443"
	c.CertValidityDays = validity
	c.Sites = []pki.Participant{{ID: "a"}}
	if _, err := pki.Provision(c, dir, pki.ProvisionOptions{Clock: clock.NewFake(at)}); err != nil {
		t.Fatal(err)
	}
	return pki.KitDir(dir, pki.Identity{Role: pki.RoleSite, ID: "a"})
}

// kitConfig returns a site config using the kit's credentials.
func kitConfig(coord string) siteagent.Config {
	cfg := siteagent.DefaultConfig()
	cfg.SiteID, cfg.Coordinator, cfg.Gossip.Enabled = "a", coord, false
	cfg.TLS = pki.KitTLSFiles()
	return cfg
}

func result(t *testing.T, rs []siteagent.CheckResult, name string) siteagent.CheckResult {
	t.Helper()
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %q check in %+v", name, rs)
	return siteagent.CheckResult{}
}

func phantomSource(size, rows int) siteagent.DataSource {
	pc := phantom.DefaultConfig()
	pc.Size, pc.Supersample = size, 1
	return func(ctx context.Context) ([]dataset.Record, *model.ImageSet, error) {
		s, err := pc.RenderSite(ctx, 0, rows)
		if err != nil {
			return nil, nil, err
		}
		return s.Records, s.Images, nil
	}
}

// TestCheckFailures checks that site-agent --check names the reason of each
// of the three failures hospital IT meets first.
func TestCheckFailures(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		cfg   func(t *testing.T) (siteagent.Config, siteagent.CheckOptions)
		check string
		want  []string
	}{
		{"expired certificate", func(t *testing.T) (siteagent.Config, siteagent.CheckOptions) {
			kit := provisionAt(t, time.Now().AddDate(-1, 0, 0), 30)
			return kitConfig("localhost:7443"), siteagent.CheckOptions{Base: kit}
		}, "certificates", []string{"cert.pem expired on", "new startup kit"}},
		{"unreachable coordinator", func(t *testing.T) (siteagent.Config, siteagent.CheckOptions) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := lis.Addr().String()
			lis.Close() // nothing listens there now
			cfg := kitConfig(addr)
			return cfg, siteagent.CheckOptions{Base: provisionAt(t, time.Now(), 30), Timeout: 3 * time.Second}
		}, "coordinator", []string{"unreachable", "connection refused"}},
		{"empty data folder", func(t *testing.T) (siteagent.Config, siteagent.CheckOptions) {
			cfg := kitConfig("localhost:7443")
			cfg.TLS, cfg.Insecure = pki.TLSFiles{}, true
			cfg.Data.Format, cfg.Data.Path = "chexpert", t.TempDir()
			return cfg, siteagent.CheckOptions{Timeout: time.Second}
		}, "data", []string{"no train.csv or valid.csv", "no local data"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, o := tc.cfg(t)
			rs := siteagent.Check(ctx, cfg, o)
			r := result(t, rs, tc.check)
			if r.Status != siteagent.CheckFail || !siteagent.CheckFailed(rs) {
				t.Fatalf("%s check: %+v", tc.check, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Detail, w) {
					t.Errorf("%s check says %q, missing %q", tc.check, r.Detail, w)
				}
			}
		})
	}
}

// TestCheckPasses runs every check against a live coordinator with data.
func TestCheckPasses(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	ccfg := coordinator.DefaultConfig()
	ccfg.Insecure, ccfg.DataDir, ccfg.Gossip.Enabled = true, t.TempDir(), false
	ccfg.StopGrace = coordinator.Duration(time.Second)
	c, err := coordinator.New(ccfg, coordinator.Options{Listener: lis})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cfg := siteagent.DefaultConfig()
	cfg.SiteID, cfg.Coordinator, cfg.Insecure, cfg.Gossip.Enabled = "a", "bufconn:0", true, false
	cfg.Data.ImageSize, cfg.Data.SyntheticDir = 8, t.TempDir()
	rs := siteagent.Check(ctx, cfg, siteagent.CheckOptions{Data: phantomSource(8, 30), Timeout: 5 * time.Second,
		Dialer: func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }})
	if siteagent.CheckFailed(rs) {
		t.Fatalf("checks failed: %+v", rs)
	}
	for _, name := range []string{"config", "coordinator", "data", "synthetic_dir"} {
		if r := result(t, rs, name); r.Status != siteagent.CheckOK {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if r := result(t, rs, "certificates"); r.Status != siteagent.CheckWarn || !strings.Contains(r.Detail, "insecure") {
		t.Errorf("insecure mode certificates check: %+v", r)
	}
}
