package coordinator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptCheckpointFailsOnlyItsJob: after a crash, the checkpoint of a
// running job's last committed round is corrupted on disk. The restarted
// coordinator detects it by its content hash, records that job as failed
// with the reason (store and audit log) and starts serving: before the
// fix, restore returned the error and the coordinator could not start at
// all (found by the soak, issue 17).
func TestCorruptCheckpointFailsOnlyItsJob(t *testing.T) {
	dir := t.TempDir()
	c := newDriven(t, dir, emaCoordSpec())
	drive(t, c, "ddpm", []string{"a", "bb"}, emaInit(), 2, false)
	rec, err := c.Job("ddpm")
	must(t, err)
	if rec.State != JobRunning || rec.Committed != 2 {
		t.Fatalf("before the crash: %+v", rec)
	}
	c.crash()
	path := filepath.Join(dir, "checkpoints", rec.Checkpoint)
	must(t, os.WriteFile(path, []byte("not a checkpoint"), 0o644))

	c2 := newDriven(t, dir)
	got, err := c2.Job("ddpm")
	must(t, err)
	if got.State != JobFailed || !strings.Contains(got.Err, rec.Checkpoint) || !strings.Contains(got.Err, ErrCheckpoint.Error()) {
		t.Fatalf("after restart: state %s err %q; want failed naming %s", got.State, got.Err, rec.Checkpoint)
	}
	log, err := c2.store.AuditLog()
	must(t, err)
	last := log[len(log)-1]
	if last.Event != EventJobEnd || last.Job != "ddpm" || last.Reason != string(JobFailed) || last.Round != 2 {
		t.Fatalf("last audit entry %+v", last)
	}
	// Another job still runs on the restarted coordinator.
	other := emaCoordSpec()
	other.ID = "next"
	must(t, c2.submit(other, c2.clk.Now()))
	drive(t, c2, "next", []string{"a", "bb"}, emaInit(), 4, false)
	if r, _ := c2.Job("next"); r.State != JobDone {
		t.Fatalf("next job: %+v", r)
	}
}

// TestRestartRemembersRevokedSites: a site refused as revoked before a
// crash is marked failed by the restarted coordinator (from its audit
// log), so a resumed round does not wait for it until the select
// deadline; the revoked agent itself has stopped (found by the soak:
// 10 s recoveries after each restart).
func TestRestartRemembersRevokedSites(t *testing.T) {
	dir := t.TempDir()
	c := newDriven(t, dir, emaCoordSpec())
	must(t, c.store.Append(AuditEntry{Time: c.clk.Now(), Event: EventCallRefused, Site: "bb", Reason: "certificate_revoked"},
		AuditEntry{Time: c.clk.Now(), Event: EventCallRefused, Site: "admin/x", Reason: "certificate_revoked"}))
	c.crash()
	c2 := newDriven(t, dir)
	var failed []string
	for _, s := range c2.engine.Sites() {
		if s.Failed {
			failed = append(failed, s.ID)
		}
	}
	if len(failed) != 1 || failed[0] != "bb" {
		t.Fatalf("failed sites after restart %v, want [bb]", failed)
	}
}
