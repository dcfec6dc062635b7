package soak

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

// chaos carries out the plan's faults at their times.
func (r *runner) chaos(ctx context.Context, plan []Fault) {
	for _, f := range plan {
		if r.sleep(ctx, time.Until(r.start.Add(f.At))) != nil {
			return
		}
		in := Injection{Fault: f, Start: time.Now()}
		for _, i := range f.Sites {
			in.Names = append(in.Names, siteID(i))
		}
		r.log.Info("soak: fault", "kind", f.Kind, "sites", strings.Join(in.Names, ","), "for", f.For, "elapsed", time.Since(r.start).Round(time.Second))
		if err := r.inject(ctx, &in); err != nil {
			if err == errStopped {
				return
			}
			in.Skipped = err.Error()
			r.log.Warn("soak: fault not applied", "kind", f.Kind, "err", err)
		}
		in.End = time.Now()
		r.mu.Lock()
		r.hist.Injected = append(r.hist.Injected, in)
		r.mu.Unlock()
	}
}

func (r *runner) inject(ctx context.Context, in *Injection) error {
	switch in.Kind {
	case KillAgents:
		var wg sync.WaitGroup
		for _, i := range in.Sites {
			wg.Add(1)
			go func() { defer wg.Done(); r.agents[i].kill() }()
		}
		wg.Wait()
		in.InForce = time.Now()
		if err := r.sleep(ctx, in.For); err != nil {
			return err
		}
		for _, i := range in.Sites {
			if err := r.agents[i].start(); err != nil {
				return err
			}
		}
	case Stall:
		r.stopAgent(in.Sites[0], syscall.SIGSTOP)
		in.InForce = time.Now()
		err := r.sleep(ctx, in.For)
		r.stopAgent(in.Sites[0], syscall.SIGCONT)
		return err
	case Partition:
		return r.be.partition(ctx, in.Sites[0], in.For, func() { in.InForce = time.Now() })
	case DataUnreadable:
		return r.unreadable(ctx, in)
	case Revoke:
		b, err := exec.CommandContext(ctx, r.cfg.Binary, "provision", "revoke", "--out", r.pki(), "--id", in.Names[0]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("revoke: %w: %s", err, b)
		}
	case KillCoordinatorRound:
		return r.killCoordinator(ctx, func(e event) bool { return e.proc != r.coord && e.msg == "task received" }, 200*time.Millisecond)
	case KillCoordinatorSecAgg:
		return r.killCoordinator(ctx, func(e event) bool { return e.proc != r.coord && e.msg == "joined secure round" }, 300*time.Millisecond)
	case CorruptCheckpoint:
		return r.corrupt(ctx, in)
	case DiskFull:
		if err := r.disk.fill(); err != nil {
			_ = r.disk.free()
			return err
		}
		in.InForce = time.Now()
		err := r.sleep(ctx, in.For)
		if ferr := r.disk.free(); ferr != nil {
			return ferr
		}
		return err
	}
	return nil
}

// killCoordinator waits for an event showing the phase to hit, waits
// delay more, kill -9s the coordinator and restarts it.
func (r *runner) killCoordinator(ctx context.Context, when func(event) bool, delay time.Duration) error {
	if _, ok := r.await(ctx, 60*time.Second, when); !ok {
		if ctx.Err() != nil {
			return errors.New("the run ended before the phase to kill in came")
		}
		return fmt.Errorf("the phase to kill in did not come within 60s")
	}
	if err := r.sleep(ctx, delay); err != nil {
		return err
	}
	return r.restartCoordinator(ctx)
}

func (r *runner) restartCoordinator(ctx context.Context) error {
	r.coordMu.Lock()
	defer r.coordMu.Unlock()
	r.coord.kill()
	now := time.Now()
	r.mu.Lock()
	r.hist.CoordinatorKills = append(r.hist.CoordinatorKills, now)
	r.mu.Unlock()
	err := r.startCoordinator(ctx, true)
	r.mu.Lock()
	r.hist.CoordinatorStarts = append(r.hist.CoordinatorStarts, r.coord.startedAt())
	r.mu.Unlock()
	return err
}

// unreadable takes a site's data folder away (moved aside, a mode-000
// file in its place: the soak may run as root, for whom permissions are
// no barrier) and brings it back after For.
func (r *runner) unreadable(ctx context.Context, in *Injection) error {
	dir := r.dataDir(in.Names[0])
	aside := dir + ".away"
	if err := os.Rename(dir, aside); err != nil {
		return err
	}
	if err := os.WriteFile(dir, nil, 0); err != nil {
		return err
	}
	in.InForce = time.Now()
	err := r.sleep(ctx, in.For)
	os.Remove(dir)
	if rerr := os.Rename(aside, dir); rerr != nil {
		return rerr
	}
	return err
}

// corrupt waits for a commit of a round before the job's last, then
// overwrites the newest checkpoint (that round's global, written just
// before the commit; a copy is saved for the FedAvg check) and kill -9s
// and restarts the coordinator, which must fail that job with a reason.
func (r *runner) corrupt(ctx context.Context, in *Injection) error {
	e, ok := r.await(ctx, 90*time.Second, func(e event) bool {
		return e.proc == r.coord && e.msg == "committed round" && toInt(e.m["round"]) < r.cfg.Rounds
	})
	if !ok {
		if ctx.Err() != nil {
			return errors.New("the run ended before a commit to corrupt came")
		}
		return fmt.Errorf("no commit to corrupt within 90s")
	}
	dir := filepath.Join(r.coordData(), "checkpoints")
	name, err := newest(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	saved := filepath.Join(r.cfg.Out, "saved-checkpoints")
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
	r.coord.kill() // before it writes the next round
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		return err
	}
	in.Job, in.Checkpoint = e.str("job"), name
	return r.restartCoordinator(ctx)
}

// newest returns the most recently written checkpoint file in dir.
func newest(dir string) (string, error) {
	var best string
	var bt time.Time
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, coordinator.CheckpointExt) {
			return err
		}
		info, err := d.Info()
		if err == nil && info.ModTime().After(bt) {
			best, bt = d.Name(), info.ModTime()
		}
		return err
	})
	if best == "" && err == nil {
		err = fmt.Errorf("no checkpoint in %s", dir)
	}
	return best, err
}
