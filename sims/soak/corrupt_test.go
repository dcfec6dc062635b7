package soak

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
)

// TestCommittedCheckpoint: the checkpoint the corrupt-checkpoint fault
// overwrites is the one the store names for the job's last committed
// round, not the newest file on disk. Under load the coordinator killed
// after a logged commit may already have written the next round's global
// (and EMA) checkpoint without committing it; a restart never reads that
// file, so corrupting it left the job running on to done and the audit
// invariant ("job did not fail naming checkpoint") broken.
func TestCommittedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	st, err := coordinator.OpenStore(filepath.Join(dir, "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := coordinator.OpenCheckpoints(filepath.Join(dir, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	w := func(v float32) model.Weights {
		return model.MustWeights(model.Tensor{Name: "w", Shape: []int{4}, Data: []float32{v, v, v, v}})
	}
	spec := coordinator.JobSpec{ID: "soak-001"}
	committed, err := ck.Write(w(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := coordinator.JobRecord{Spec: spec, State: coordinator.JobRunning, Committed: 1, GlobalHash: w(1).Hash(), Checkpoint: committed}
	if err := st.CommitRound(rec, coordinator.RoundRecord{Summary: coordinator.RoundSummary{Job: spec.ID, Round: 1}, Checkpoint: committed}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutJob(coordinator.JobRecord{Spec: coordinator.JobSpec{ID: "soak-000"}, State: coordinator.JobDone, Committed: 3, Checkpoint: committed}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	time.Sleep(10 * time.Millisecond)
	// Round 2's global, written but not committed when the kill came.
	uncommitted, err := ck.Write(w(2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if uncommitted == committed {
		t.Fatal("test setup: the two checkpoints coincide")
	}

	got, err := committedCheckpoint(dir, spec.ID)
	if err != nil || got != committed {
		t.Fatalf("committedCheckpoint = %q, %v; want %q (the newer %q is not committed)", got, err, committed, uncommitted)
	}
	if _, err := committedCheckpoint(dir, "soak-000"); !errors.Is(err, errNothingToCorrupt) {
		t.Errorf("done job: err = %v, want errNothingToCorrupt", err)
	}
	if _, err := committedCheckpoint(dir, "soak-404"); !errors.Is(err, errNothingToCorrupt) {
		t.Errorf("unknown job: err = %v, want errNothingToCorrupt", err)
	}
	for _, rec := range []coordinator.JobRecord{{State: coordinator.JobPending, Committed: -1}, {State: coordinator.JobFailed, Committed: 2, Checkpoint: committed}} {
		if _, err := resumeCheckpoint(rec, true); !errors.Is(err, errNothingToCorrupt) {
			t.Errorf("%s job: err = %v, want errNothingToCorrupt", rec.State, err)
		}
	}

	// The restarted coordinator fails the job on exactly that file.
	saved := filepath.Join(dir, "saved")
	if err := corruptFile(ck.Dir(), saved, got); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ck.Read(got); !errors.Is(err, coordinator.ErrCheckpoint) {
		t.Errorf("corrupted checkpoint reads back: %v", err)
	}
	if _, err := os.Stat(filepath.Join(saved, got)); err != nil {
		t.Errorf("no saved copy: %v", err)
	}
	if _, _, err := ck.Read(uncommitted); err != nil {
		t.Errorf("the uncommitted checkpoint was touched: %v", err)
	}
}
