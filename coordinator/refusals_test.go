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

// TestCallRefusedEngine checks the Engine's record of refused calls:
// counted every time, audited once a minute per caller and reason (the
// next entry says how many it stands for), in the running job's log for
// one of its sites, and a revoked site dropped from the round.
func TestCallRefusedEngine(t *testing.T) {
	h := newHarness(t, EngineConfig{})
	h.join("a", "b", "c")
	h.startJob(testSpec(), initW())
	h.e.CallRefused("c", ReasonCertRevoked, "call Heartbeat: revoked", h.now)
	h.drain()
	for range 3 {
		h.now = h.now.Add(10 * time.Second)
		h.e.CallRefused("c", ReasonCertRevoked, "call Heartbeat: revoked", h.now)
		h.e.CallRefused("admin/eve", ReasonCallRole, "call Join: admin may not", h.now)
	}
	h.drain()
	h.now = h.now.Add(time.Minute)
	h.e.CallRefused("c", ReasonCertRevoked, "call Heartbeat: revoked", h.now)
	h.drain()

	var refused, dropped []AuditEntry
	for _, a := range h.audit {
		switch {
		case a.Event == EventCallRefused && a.Site == "c":
			refused = append(refused, a)
		case a.Event == EventDropout && a.Site == "c":
			dropped = append(dropped, a)
		}
	}
	if len(refused) != 2 || refused[0].Job != "job1" || refused[0].Round != 1 || refused[0].Reason != ReasonCertRevoked {
		t.Fatalf("refusal entries of c: %+v", refused)
	}
	if !strings.Contains(refused[1].Detail, "and 3 more refusals") {
		t.Errorf("second entry does not count the refusals it stands for: %q", refused[1].Detail)
	}
	if len(dropped) != 1 || dropped[0].Reason != ReasonCertRevoked || dropped[0].Phase != string(PhaseTrain) {
		t.Errorf("dropout of the revoked site: %+v", dropped)
	}
	if h.e.SiteUpNow("c") {
		t.Error("revoked site still up")
	}
	cnt := h.e.Counters()
	if cnt.CallsRefused[ReasonCertRevoked] != 5 || cnt.CallsRefused[ReasonCallRole] != 3 || cnt.DropoutReasons[ReasonCertRevoked] != 1 {
		t.Errorf("counters %+v", cnt)
	}
	for _, a := range h.audit {
		if a.Event == EventCallRefused && a.Site == "admin/eve" && a.Job != "" {
			t.Errorf("an admin's refusal was filed under job %s", a.Job)
		}
	}
	f, ok := failureOf(refused[0])
	if !ok || f.What != EventCallRefused || !strings.HasPrefix(f.Why, ReasonCertRevoked+": ") {
		t.Errorf("failure log entry %+v", f)
	}
}

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
	for _, want := range []string{EventCallRefused + " " + ReasonCertRevoked + ": call /synthfed.fed.v1.Federation/Heartbeat",
		EventDropout + " " + ReasonCertRevoked} {
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
	if cnt.CallsRefused[ReasonCertRevoked] < 3 {
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
