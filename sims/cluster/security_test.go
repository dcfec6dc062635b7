package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

// TestRunMTLS runs the default job over bufconn with mTLS from provisioned
// kits: every site joins by its certificate and every round accepts all
// three updates.
func TestRunMTLS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Transport, cfg.TLS, cfg.Job.Rounds = "bufconn", true, 2
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != coordinator.JobDone {
		t.Fatalf("job %s: %s", res.State, res.Error)
	}
	for _, r := range res.Rounds[1:] {
		if len(r.Accepted) != 3 {
			t.Errorf("round %d accepted %v", r.Round, r.Accepted)
		}
	}
}

// TestRevokedSiteIsRefused revokes site-3 before the consortium starts:
// its handshakes are refused (and counted), and the job completes with the
// two others.
func TestRevokedSiteIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Transport, cfg.Job.Rounds = "bufconn", 2
	cfg.Job.Deadlines.Select = coordinator.Duration(500 * time.Millisecond)
	kits, err := ProvisionKits(dir+"/pki", SiteNames(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := kits.Revoke("site-3"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, dir, Options{Kits: kits})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != coordinator.JobDone {
		t.Fatalf("job %s: %s", res.State, res.Error)
	}
	for _, r := range res.Rounds[1:] {
		if strings.Join(r.Accepted, ",") != "site-1,site-2" {
			t.Errorf("round %d accepted %v", r.Round, r.Accepted)
		}
	}
	if kits.RejectedCount() == 0 || !strings.Contains(kits.Rejected()[0], "revoked") {
		t.Errorf("refusals %v", kits.Rejected())
	}
}
