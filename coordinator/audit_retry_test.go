package coordinator

import (
	"errors"
	"slices"
	"testing"
)

// TestAuditKeptWhileTheStoreRefuses: while the store refuses audit entries
// (the soak's full disk: "no space left on device"), the coordinator keeps
// them and writes them with the next flush that succeeds, in order. Before
// the fix the refused batch was logged and lost (100 entries in the
// 20-minute soak's five disk-full faults, issue 17).
func TestAuditKeptWhileTheStoreRefuses(t *testing.T) {
	c := newDriven(t, t.TempDir(), emaCoordSpec())
	var refused []AuditEntry
	fails := 2
	c.appendAudit = func(es ...AuditEntry) error {
		if fails > 0 {
			fails--
			refused = append(refused, es...)
			return errors.New("write state.db: no space left on device")
		}
		return c.store.Append(es...)
	}
	drive(t, c, "ddpm", []string{"a", "bb"}, emaInit(), 2, false)
	if fails != 0 || len(refused) == 0 {
		t.Fatalf("the store was not asked: %d failures left, %d entries refused", fails, len(refused))
	}
	if len(c.auditPending) != 0 {
		t.Fatalf("%d entries still pending after a successful flush", len(c.auditPending))
	}
	log, err := c.store.AuditLog()
	must(t, err)
	key := func(e AuditEntry) string {
		return e.Event + "/" + e.Job + "/" + e.Site + "/" + e.Reason + "/" + e.Detail
	}
	var got []string
	for _, e := range log {
		got = append(got, key(e))
	}
	for _, e := range refused {
		if !slices.Contains(got, key(e)) {
			t.Errorf("refused entry %s lost", key(e))
		}
	}
	for i := 1; i < len(log); i++ {
		if log[i].Time.Before(log[i-1].Time) {
			t.Fatalf("audit log out of order at %d: %v after %v", i, log[i].Time, log[i-1].Time)
		}
	}
}
