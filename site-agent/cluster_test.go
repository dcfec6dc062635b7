package siteagent_test

import (
	"context"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/sims/cluster"
)

// The site-agent tests run whole consortia on sims/cluster: the real
// coordinator and real agents in this process over bufconn, with its
// local deadline profile (cluster.DefaultLocalConfig).

// localCluster is the test profile for the named sites and job.
func localCluster(job coordinator.JobSpec, sites ...string) cluster.Config {
	cfg := cluster.DefaultLocalConfig()
	cfg.Sites, cfg.Names = len(sites), sites
	job.Sites = sites
	cfg.Job = job
	return cfg
}

// baseJob is a 3-round FedAvg job of quorum 2 on the logreg trainer over
// sites (localCluster sets them from the cluster's sites).
func baseJob(id string, sites ...string) coordinator.JobSpec {
	j := coordinator.DefaultJobSpec()
	j.ID, j.Sites, j.Rounds, j.Quorum = id, sites, 3, 2
	j.Train = coordinator.TrainSpec{LocalSteps: 20, BatchSize: 16, LearningRate: 0.1}
	j.Deadlines = cluster.DefaultLocalConfig().Job.Deadlines
	return j
}

// start runs a cluster in a test directory until the test ends.
func start(t *testing.T, cfg cluster.Config, opts cluster.Options) *cluster.Cluster {
	t.Helper()
	c, err := cluster.Start(context.Background(), cfg, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// trainers gives every site the trainer of byName (the model "logreg").
func trainers(byName map[string]model.Trainer) func(int, string) (map[string]model.Trainer, error) {
	return func(_ int, name string) (map[string]model.Trainer, error) {
		return map[string]model.Trainer{"logreg": byName[name]}, nil
	}
}

// logregSites makes a small logistic-regression trainer per site, each
// with its own data shift.
func logregSites(t *testing.T, norm bool, names ...string) map[string]model.Trainer {
	t.Helper()
	out := map[string]model.Trainer{}
	for i, n := range names {
		cfg := logreg.DefaultConfig()
		cfg.Site, cfg.Norm, cfg.Dim, cfg.TrainSamples = i, norm, 8, 200
		tr, err := logreg.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = tr
	}
	return out
}

// wait waits up to a minute for job to end.
func wait(t *testing.T, c *coordinator.Coordinator, job string) coordinator.JobStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.Wait(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
