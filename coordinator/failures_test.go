package coordinator

import (
	"github.com/synthfed/synthfed/coordinator/engine"
	"strings"
	"testing"
	"time"
)

// TestFailureOf: the audit entries of failures become failure-log lines
// that say where and why; other entries are not failures.
func TestFailureOf(t *testing.T) {
	at := time.Unix(1_000_000, 0)
	cases := []struct {
		entry      AuditEntry
		where, why string
		isFailure  bool
	}{
		{AuditEntry{Event: EventDropout, Site: "c", Phase: "train", Reason: string(ReasonDeadlineMissed), Detail: "no train result"},
			"round phase train", string(ReasonDeadlineMissed) + ": no train result", true},
		{AuditEntry{Event: EventDropout, Site: "c", Reason: string(engine.ReasonGossipFailed)}, "round membership", string(engine.ReasonGossipFailed), true},
		{AuditEntry{Event: EventCallRefused, Site: "c", Reason: string(ReasonCertRevoked), Detail: "revoked"},
			"coordinator access check", string(ReasonCertRevoked) + ": revoked", true},
		{AuditEntry{Event: EventRejected, Site: "a", Reason: string(ReasonNonFinite), Detail: "NaN"}, "coordinator check non_finite", "NaN", true},
		{AuditEntry{Event: EventTaskFailed, Site: "b", Reason: "train", Detail: "disk full"}, "site stage train", "disk full", true},
		{AuditEntry{Event: EventAttempt, Detail: "deadline passed"}, "round quorum", "deadline passed", true},
		{AuditEntry{Event: EventJobEnd, Reason: string(JobFailed), Detail: "cancelled by ops"}, "job", "cancelled by ops", true},
		{AuditEntry{Event: EventJobEnd, Reason: string(JobDone)}, "", "", false},
		{AuditEntry{Event: EventCommitted}, "", "", false},
	}
	for _, tc := range cases {
		tc.entry.Time = at
		f, ok := failureOf(tc.entry)
		if ok != tc.isFailure || ok && (f.Where != tc.where || f.Why != tc.why) {
			t.Errorf("%+v: failure %v %+v, want %v where %q why %q", tc.entry, ok, f, tc.isFailure, tc.where, tc.why)
		}
		if ok && !strings.Contains(f.String(), tc.where) {
			t.Errorf("%q does not say where", f.String())
		}
	}
}
