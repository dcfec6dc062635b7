package coordinator

import (
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
)

// dropoutsOf returns the dropout entries of the audit log.
func dropoutsOf(audit []AuditEntry) []AuditEntry {
	var out []AuditEntry
	for _, a := range audit {
		if a.Event == EventDropout {
			out = append(out, a)
		}
	}
	return out
}

// TestDeadlineMissedIsADropout checks that a site silent until its phase's
// deadline is audited as a dropout for deadline_missed with the phase,
// counted by reason, and shown in the job's failure log.
func TestDeadlineMissedIsADropout(t *testing.T) {
	cases := []struct {
		name       string
		run        func(h *harness)
		site       string
		phase      Phase
		committed  bool // the round still commits (quorum held)
		attemptErr string
	}{
		{"train phase, quorum holds", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1))
			must(h.t, h.deliver("b", model.MustWeights(vec("w", 3, 3)), 1))
			h.advance(20 * time.Second)
		}, "c", PhaseTrain, true, ""},
		{"train phase, quorum missed", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1))
			h.advance(20 * time.Second)
		}, "b", PhaseTrain, false, "deadline passed with 1 of 2 needed updates"},
		{"init phase", func(h *harness) {
			h.join("a", "b", "c")
			if err := h.e.Submit(testSpec(), nil, h.now); err != nil {
				h.t.Fatal(err)
			}
			h.drain()
			h.advance(5 * time.Second)
		}, "a", PhaseInit, false, "deadline passed with 0 of 1 needed updates"},
		{"run phase of an evaluate job", func(h *harness) {
			h.join("a", "b")
			s := testSpec()
			s.Kind, s.Model, s.Sites = JobEvaluate, "", []string{"a", "b"}
			s.Evaluate.Checkpoints = []string{strings.Repeat("ab", 32)}
			if err := h.e.Submit(s, nil, h.now); err != nil {
				h.t.Fatal(err)
			}
			h.drain()
			h.advance(20 * time.Second)
		}, "a", PhaseRun, false, "deadline passed with 0 of 2 needed updates"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, EngineConfig{})
			tc.run(h)
			var got *AuditEntry
			for _, a := range dropoutsOf(h.audit) {
				if a.Site == tc.site {
					got = &a
				}
			}
			if got == nil || got.Reason != ReasonDeadlineMissed || got.Phase != string(tc.phase) || !strings.Contains(got.Detail, "deadline") {
				t.Fatalf("dropout of %s: %+v; audit %+v", tc.site, got, h.audit)
			}
			if tc.committed && !h.cancels[tc.site] {
				t.Errorf("site %s was not told to stop", tc.site) // (a retried attempt sends it a new task instead)
			}
			cnt := h.e.Counters()
			if cnt.DropoutReasons[ReasonDeadlineMissed] == 0 || cnt.Dropouts != cnt.DropoutReasons[ReasonDeadlineMissed] {
				t.Errorf("counters %+v", cnt)
			}
			f, ok := failureOf(*got)
			if !ok || f.Where != "round phase "+string(tc.phase) || !strings.HasPrefix(f.Why, ReasonDeadlineMissed+": ") {
				t.Errorf("failure log entry %+v", f)
			}
			if tc.committed {
				c := h.commitLast()
				if !equalStrings(c.Summary.Dropped, []string{tc.site}) {
					t.Errorf("summary dropped %v", c.Summary.Dropped)
				}
				return
			}
			found := false
			for _, a := range h.audit {
				found = found || a.Event == EventAttempt && a.Detail == tc.attemptErr
			}
			if !found {
				t.Errorf("no attempt_failed %q in %+v", tc.attemptErr, h.audit)
			}
		})
	}
}

// TestSecurePhaseDeadlineIsADropout: a site silent until a secure phase's
// deadline is dropped with deadline_missed and the phase named.
func TestSecurePhaseDeadlineIsADropout(t *testing.T) {
	w := newSecWorld(t, 3)
	w.join(w.ids...)
	w.startJob(w.spec(), secInit())
	w.step(t, PhaseSecAdvertise, w.ids...)
	w.step(t, PhaseSecShareKeys, "site-000", "site-001")
	w.advance(20 * time.Second)
	var got *AuditEntry
	for _, a := range dropoutsOf(w.audit) {
		if a.Site == "site-002" {
			got = &a
		}
	}
	if got == nil || got.Reason != ReasonDeadlineMissed || got.Phase != PhaseSecShareKeys {
		t.Fatalf("dropout of site-002: %+v; audit %+v", got, w.audit)
	}
	if n := w.e.Counters().DropoutReasons[ReasonDeadlineMissed]; n != 1 {
		t.Errorf("deadline_missed counted %d times", n)
	}
	if w.tasks["site-000"].Phase != PhaseSecInput {
		t.Errorf("round did not move on after the deadline: %+v", w.tasks["site-000"])
	}
}

// TestSiteDownReasonsAreCounted: every way a site leaves a round is a
// dropout counted under its reason.
func TestSiteDownReasonsAreCounted(t *testing.T) {
	h := newHarness(t, EngineConfig{HeartbeatTimeout: 3 * time.Second})
	s := testSpec()
	s.Sites, s.Quorum = []string{"a", "b", "c", "d"}, 1
	h.join("a", "b", "c", "d")
	h.startJob(s, initW())
	h.e.SiteDown("a", ReasonGossipFailed, h.now)
	h.e.SiteDown("b", ReasonStreamClosed, h.now)
	h.e.SiteSeen("d", h.now.Add(2*time.Second))
	h.advance(4 * time.Second) // c is silent past the heartbeat timeout
	got := map[string]string{}
	for _, a := range dropoutsOf(h.audit) {
		got[a.Site] = a.Reason
	}
	want := map[string]string{"a": ReasonGossipFailed, "b": ReasonStreamClosed, "c": ReasonHeartbeatTimeout}
	for site, r := range want {
		if got[site] != r {
			t.Errorf("site %s dropout reason %q, want %q (all %v)", site, got[site], r, got)
		}
	}
	cnt := h.e.Counters()
	for _, r := range want {
		if cnt.DropoutReasons[r] != 1 {
			t.Errorf("reason %s counted %d", r, cnt.DropoutReasons[r])
		}
	}
	if cnt.Dropouts != 3 {
		t.Errorf("dropouts %d, want 3", cnt.Dropouts)
	}
}
