package siteagent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/cluster"
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
	trs := logregSites(t, false, "a", "b", "c")
	trs["c"] = failingTrainer{Trainer: trs["c"], err: errors.New("disk full while reading batch 3")}
	job := baseJob("fail")
	job.Rounds = 2
	job.Deadlines.Train = coordinator.Duration(time.Minute) // a failure must not wait for it
	cl := start(t, localCluster(job, "a", "b", "c"), cluster.Options{Trainers: trainers(trs)})
	c := cl.Coordinator()
	start := time.Now()
	st := wait(t, cl.Coordinator(), "fail")
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
