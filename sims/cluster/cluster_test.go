package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

func TestRunBufconn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Transport = "bufconn"
	cfg.Job.Rounds = 3
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != "done" || len(res.Rounds) != 4 {
		t.Fatalf("state %s, %d rounds: %+v", res.State, len(res.Rounds), res)
	}
	for _, r := range res.Rounds[1:] {
		if len(r.Accepted) != 3 {
			t.Errorf("round %d accepted %v", r.Round, r.Accepted)
		}
	}
	t.Logf("final %v in %.2fs", res.Final, res.Seconds)
}

// TestRunIsReproducible runs the same profile twice: the seeds fix data,
// initial model, cohorts and local training, so the final models match.
func TestRunIsReproducible(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Transport, cfg.Job.Rounds = "bufconn", 2
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Run(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.FinalHash != b.FinalHash || a.FinalHash == "" {
		t.Fatalf("final hashes %s and %s", a.FinalHash, b.FinalHash)
	}
	cfg.Job.Seed = 99
	c, err := Run(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.FinalHash == a.FinalHash {
		t.Fatal("another job seed gave the same model")
	}
}

// TestAgentCrashOverTCP stops one agent after round 1 over loopback TCP:
// the heartbeat timeout marks it failed and later rounds complete with the
// quorum of the two others.
func TestAgentCrashOverTCP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Job.Rounds = 3
	cfg.Job.Train.Params = map[string]string{"delay_ms": "100"}
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = coordinator.Duration(50*time.Millisecond), coordinator.Duration(1500*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	round1 := make(chan struct{})
	var once sync.Once
	c, err := Start(ctx, cfg, t.TempDir(), Options{OnCommit: func(s coordinator.RoundSummary) {
		if s.Round == 1 {
			once.Do(func() { close(round1) })
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-round1:
	case <-ctx.Done():
		st, _ := c.Coordinator().Job(cfg.Job.ID)
		t.Fatalf("round 1 never committed: job %+v", st)
	}
	_ = c.StopAgent(2)
	st, err := c.Wait(ctx)
	if err != nil || st.State != coordinator.JobDone {
		t.Fatalf("job %+v %v", st, err)
	}
	rounds, _ := c.Coordinator().Rounds(cfg.Job.ID)
	if last := rounds[len(rounds)-1].Summary; len(last.Accepted) != 2 {
		t.Fatalf("last round accepted %v", last.Accepted)
	}
}
