package soak

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

// errNothingToCorrupt reports a job that had no running, committed round
// left to corrupt when the coordinator was killed (it ended meanwhile).
var errNothingToCorrupt = errors.New("no running job with a committed checkpoint")

// corrupt waits for a commit of a round before the job's last, kill -9s
// the coordinator, overwrites the global checkpoint that the store names
// for the job's last committed round (a copy is saved for the FedAvg
// check) and restarts the coordinator, which must fail that job with a
// reason naming the file.
//
// The file is taken from the stopped coordinator's store, not from the
// log line or the newest file on disk: between the commit logged and the
// kill the coordinator goes on, and under load it may have written the
// next round's checkpoint (not yet committed: resuming never reads it) or
// committed it, or ended the job. When the job ended before the kill the
// coordinator is restarted and the next commit is waited for.
func (r *runner) corrupt(ctx context.Context, in *Injection) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		e, ok := r.await(ctx, time.Until(deadline), func(e event) bool {
			return e.proc == r.coord && e.msg == "committed round" && toInt(e.m["round"]) < r.cfg.Rounds
		})
		if !ok {
			if ctx.Err() != nil {
				return errors.New("the run ended before a commit to corrupt came")
			}
			return fmt.Errorf("no commit to corrupt within 90s")
		}
		job := e.str("job")
		r.coord.kill() // before it commits another round
		name, err := committedCheckpoint(r.coordData(), job)
		if errors.Is(err, errNothingToCorrupt) {
			r.log.Info("soak: job ended before the kill, corrupting a later commit", "job", job, "why", err)
			if err := r.restartCoordinator(ctx); err != nil {
				return err
			}
			continue
		}
		if err == nil {
			err = corruptFile(filepath.Join(r.coordData(), "checkpoints"), filepath.Join(r.cfg.Out, "saved-checkpoints"), name)
		}
		if err != nil {
			return errors.Join(err, r.restartCoordinator(ctx))
		}
		in.Job, in.Checkpoint = job, name
		return r.restartCoordinator(ctx)
	}
}

// committedCheckpoint returns the global checkpoint file that the stopped
// coordinator's store (in dataDir) names for job's last committed round:
// the one a restart resumes from. It wraps errNothingToCorrupt when the
// job is not running with a committed round.
func committedCheckpoint(dataDir, job string) (string, error) {
	st, err := coordinator.OpenStore(filepath.Join(dataDir, "state.db"), 10*time.Second)
	if err != nil {
		return "", err
	}
	defer st.Close()
	rec, found, err := st.Job(job)
	if err != nil {
		return "", err
	}
	return resumeCheckpoint(rec, found)
}

// resumeCheckpoint is the file a restart reads to resume the job of rec:
// its last committed round's global model, when the job runs and has one.
func resumeCheckpoint(rec coordinator.JobRecord, found bool) (string, error) {
	switch {
	case !found:
		return "", fmt.Errorf("job not in the store: %w", errNothingToCorrupt)
	case rec.State != coordinator.JobRunning:
		return "", fmt.Errorf("job %s is %s: %w", rec.Spec.ID, rec.State, errNothingToCorrupt)
	case rec.Committed < 0 || rec.Checkpoint == "":
		return "", fmt.Errorf("job %s has no committed round: %w", rec.Spec.ID, errNothingToCorrupt)
	}
	return rec.Checkpoint, nil
}

// corruptFile saves a copy of dir/name in saved and flips bytes in the
// second half of the original.
func corruptFile(dir, saved, name string) error {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(saved, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(saved, name), data, 0o644); err != nil {
		return err
	}
	bad := append([]byte(nil), data...)
	for i := len(bad) / 2; i < len(bad); i += 7 {
		bad[i] ^= 0x5a
	}
	return os.WriteFile(path, bad, 0o644)
}
