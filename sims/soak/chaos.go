package soak

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
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
