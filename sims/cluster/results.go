package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

// Result is what a simulation writes to results.json.
type Result struct {
	Config    Config                        `json:"config"`
	Seeds     Seeds                         `json:"seeds"`
	Sites     []string                      `json:"sites"`
	State     coordinator.JobState          `json:"state"`
	Error     string                        `json:"error,omitempty"`
	Rounds    []coordinator.RoundSummary    `json:"rounds"`
	Final     map[string]map[string]float64 `json:"final_eval"`
	FinalHash string                        `json:"final_hash"`
	Counters  coordinator.Counters          `json:"counters"`
	Seconds   float64                       `json:"seconds"`
}

// Seeds records every seed that fixes the run.
type Seeds struct {
	Data int64 `json:"data"`
	Job  int64 `json:"job"`
	// SiteOrder is the order sites are indexed in (site i gets shift i).
	SiteOrder []string `json:"site_order"`
}

// Run starts a cluster in dir, runs its job to the end, evaluates the final
// global model at every site and writes dir/results.json.
func Run(ctx context.Context, cfg Config, dir string, opts Options) (*Result, error) {
	start := time.Now()
	c, err := Start(ctx, cfg, dir, opts)
	if err != nil {
		return nil, err
	}
	st, werr := c.Wait(ctx)
	res, rerr := c.collect(ctx, st)
	cerr := c.Close()
	if werr != nil {
		return nil, werr
	}
	if rerr != nil {
		return nil, rerr
	}
	_ = cerr // agents may report the coordinator going away; the job is over
	res.Seconds = time.Since(start).Seconds()
	return res, WriteResult(filepath.Join(dir, "results.json"), res)
}

func (c *Cluster) collect(ctx context.Context, st coordinator.JobStatus) (*Result, error) {
	cfg := c.cfg
	res := &Result{Config: cfg, Sites: c.names, State: st.State, Error: st.Err, FinalHash: st.GlobalHash,
		Seeds: Seeds{Data: int64(cfg.Logreg.DataSeed), Job: cfg.Job.Seed, SiteOrder: c.names}, Final: map[string]map[string]float64{}}
	co := c.Coordinator()
	if co == nil {
		return nil, fmt.Errorf("cluster: collect results: coordinator stopped")
	}
	rounds, err := co.Rounds(cfg.Job.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rounds {
		res.Rounds = append(res.Rounds, r.Summary)
	}
	if res.Counters, err = co.Counters(ctx); err != nil {
		return nil, err
	}
	global, err := co.Global(cfg.Job.ID)
	if err != nil {
		return res, nil // no model to evaluate (the job failed early)
	}
	for i, name := range c.names {
		tr, ok := c.trainers[i][cfg.Job.Model]
		if !ok {
			continue
		}
		m, err := tr.Evaluate(ctx, global)
		if err != nil {
			return nil, fmt.Errorf("site %s final evaluation: %w", name, err)
		}
		res.Final[name] = m
	}
	return res, nil
}

// WriteResult writes res as indented JSON.
func WriteResult(path string, res *Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
