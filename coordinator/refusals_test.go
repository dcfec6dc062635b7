package coordinator

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// writeInit writes w as a safetensors file for init.checkpoint.
func writeInit(t *testing.T, w model.Weights) string {
	t.Helper()
	b, err := model.EncodeSafetensors(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "init.safetensors")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// settle lets the loop take the queued refusals and write their audit
// entries.
func settle(t *testing.T, c *Coordinator) {
	t.Helper()
	if err := c.do(context.Background(), c.flush); err != nil {
		t.Fatal(err)
	}
}

// TestRevokedSiteIsAuditedOverMTLS: a site revoked mid-job and refused on
// its open connection is audited by name and reason, counted, dropped from
// its round at once and shown in the job's failure log; its handshakes on
// new connections are counted too.
func TestRevokedSiteIsAuditedOverMTLS(t *testing.T) {
	dir := provisionKits(t, 4, "site-a", "site-b")
	tc := startTLSCoord(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	spec := testSpec()
	spec.ID, spec.Sites, spec.Rounds, spec.MaxAttempts = "rv", []string{"site-a", "site-b"}, 1, 1
	spec.Init.Checkpoint = writeInit(t, model.MustWeights(vec("w", 1, 2)))
	off := false
	spec.SecureAggregation = &off // a plain round sees its quorum lost at once
	if _, err := tc.c.SubmitJobs(ctx, spec); err != nil {
		t.Fatal(err)
	}
	a := tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-a"))
	b := tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-b"))
	if _, err := join(a, "site-a"); err != nil {
		t.Fatal(err)
	}
	rb, err := join(b, "site-b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.Revoke(dir, pki.Identity{Role: pki.RoleSite, ID: "site-b"}, pki.ProvisionOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tc.crl.Reload(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.Heartbeat(ctx, &fedpb.HeartbeatRequest{SessionId: rb.GetSessionId(), State: "ok"}); err == nil {
			t.Fatal("revoked site's heartbeat served")
		}
	}
	if _, err := join(tc.dial(t, dir, kitCert(t, dir, pki.RoleSite, "site-b")), "site-b"); err == nil {
		t.Fatal("revoked site joined on a new connection")
	}
	st, err := tc.c.Wait(ctx, "rv") // quorum 2 is out of reach without site-b
	if err != nil || st.State != JobFailed {
		t.Fatalf("job %+v, %v: want failed at once", st, err)
	}
	settle(t, tc.c)
	log, err := tc.c.FailureLog("rv", "site-b")
	if err != nil {
		t.Fatal(err)
	}
	var what []string
	for _, f := range log {
		what = append(what, f.What+" "+f.Why)
	}
	all := strings.Join(what, "\n")
	for _, want := range []string{EventCallRefused + " " + string(ReasonCertRevoked) + ": call /synthfed.fed.v1.Federation/Heartbeat",
		EventDropout + " " + string(ReasonCertRevoked)} {
		if !strings.Contains(all, want) {
			t.Errorf("failure log of site-b lacks %q:\n%s", want, all)
		}
	}
	cnt, err := tc.c.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two calls and at least one handshake (the client redials in the
	// background, so more may follow).
	if cnt.CallsRefused[string(ReasonCertRevoked)] < 3 {
		t.Errorf("refusals counted %v, want >= 3", cnt.CallsRefused)
	}
	rec := httptest.NewRecorder()
	tc.c.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`synthfed_coordinator_calls_refused_total{reason="certificate_revoked"} `,
		`synthfed_coordinator_dropouts_total{reason="certificate_revoked"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
