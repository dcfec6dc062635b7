package siteagent_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// failingTrainer fails every Train with err.
type failingTrainer struct {
	model.Trainer
	err error
}

func (f failingTrainer) Train(context.Context, model.Weights, model.TrainSpec) (model.TrainResult, error) {
	return model.TrainResult{}, f.err
}

// TestFailedTaskIsReported checks that a site whose local training fails
// tells the coordinator at once: the round goes on without it long before
// the deadline, and the job's failure log says what failed, where and why.
func TestFailedTaskIsReported(t *testing.T) {
	trainers := logregSites(t, false, "a", "b", "c")
	trainers["c"] = failingTrainer{Trainer: trainers["c"], err: errors.New("disk full while reading batch 3")}
	lis := bufconn.Listen(1 << 20)
	cfg := coordinator.DefaultConfig()
	cfg.Insecure, cfg.DataDir, cfg.Gossip.Enabled = true, t.TempDir(), false
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = coordinator.Duration(100*time.Millisecond), coordinator.Duration(5*time.Second)
	cfg.StopGrace = coordinator.Duration(time.Second)
	job := baseJob("fail", "a", "b", "c")
	job.Rounds = 2
	job.Deadlines.Train = coordinator.Duration(time.Minute) // a failure must not wait for it
	cfg.Jobs = []coordinator.JobSpec{job}
	c, err := coordinator.New(cfg, coordinator.Options{Listener: lis})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); _ = c.Run(ctx) }()
	for site, tr := range trainers {
		acfg := siteagent.DefaultConfig()
		acfg.SiteID, acfg.Coordinator, acfg.Insecure, acfg.Gossip.Enabled = site, "bufconn:0", true, false
		acfg.StopGrace = siteagent.Duration(time.Second)
		a, err := siteagent.New(acfg, siteagent.Options{Trainers: map[string]model.Trainer{"logreg": tr},
			Dialer: func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = a.Run(ctx) }()
	}
	start := time.Now()
	st := wait(t, c, "fail")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %s: %s", st.State, st.Err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("job took %v: the failure was not reported before the deadline", d)
	}
	rounds, err := c.Rounds("fail")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rounds[1:] {
		if len(r.Summary.Dropped) != 1 || r.Summary.Dropped[0] != "c" || len(r.Summary.Accepted) != 2 {
			t.Errorf("round %d: accepted %v, dropped %v", r.Summary.Round, r.Summary.Accepted, r.Summary.Dropped)
		}
	}
	log, err := c.FailureLog("fail", "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("failure log of c: %v", log)
	}
	for _, f := range log {
		if f.Site != "c" || f.What != coordinator.EventTaskFailed || f.Where != "site stage train" || !strings.Contains(f.Why, "disk full while reading batch 3") {
			t.Errorf("failure %+v", f)
		}
	}
	if other, _ := c.FailureLog("fail", "a"); len(other) != 0 {
		t.Errorf("site a has failures: %v", other)
	}
}
