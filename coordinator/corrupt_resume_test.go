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
