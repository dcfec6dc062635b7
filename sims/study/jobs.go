package study

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/ddpm"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// Job IDs of the workflow.
const (
	JobDDPMAlone     = "ddpm-site-only" // expands to ddpm-site-only.<site>
	JobSampleFed     = "sample-federated"
	JobSampleAlonePx = "sample-site-only." // + site
)

// SiteDataConfig is site's [data] section in the simulated consortium:
// its CheXpert folder, split by patient into training, validation and test
// sets, and its synthetic-set folder under dir.
func SiteDataConfig(cfg Config, s *Site, dir string) siteagent.DataConfig {
	d := siteagent.DefaultDataConfig()
	t, v := cfg.Data.TestFraction, cfg.Data.ValFraction
	d.Format, d.Path, d.TestPath, d.ImageSize = string(dataset.FormatCheXpert), s.Dir, s.TestDir, cfg.Data.Size
	d.Split, d.SplitSeed = []float64{(1 - t) * (1 - v), (1 - t) * v, t}, cfg.Seeds.Split
	d.CacheMemoryMB = 256
	d.SyntheticDir = filepath.Join(dir, "sites", s.Name, "synthetic")
	return d
}

// modelConfig is a model configuration as a job's model_config table.
func modelConfig(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// trainJob is a train job of model mdl on every site with cfg's schedule
// and a server EMA of decay ema, securely aggregated as
// consortium.secure_aggregation says.
func trainJob(cfg Config, id, mdl string, sites []string, rounds, steps, batch int, mc any, ema float64) (coordinator.JobSpec, error) {
	job := baseJob(cfg, id, mdl, sites)
	secure := cfg.Consortium.SecureAggregation
	job.Rounds, job.SecureAggregation = rounds, &secure
	job.Train = coordinator.TrainSpec{LocalSteps: steps, BatchSize: batch}
	job.Strategy.EMADecay = ema
	var err error
	job.ModelConfig, err = modelConfig(mc)
	return job, err
}

// sampleJob draws levels replicas of every training row of sites from the
// DDPM of job ddpmJob (its server EMA), with site condition asSite for a
// site-conditioned DDPM ("" otherwise).
func sampleJob(cfg Config, id, ddpmJob string, sites []string, levels int, asSite string) coordinator.JobSpec {
	job := baseJob(cfg, id, "", sites)
	job.Kind, job.Model, job.Seed = coordinator.JobSample, "", cfg.Seeds.Sample
	job.Sample = coordinator.SampleSpec{Checkpoint: coordinator.RefJobPrefix + ddpmJob, Weights: coordinator.OutputEMA, Levels: levels, AsSite: asSite}
	return job
}

// run submits spec, waits for every job it expands to, and returns their
// final statuses.
func (k *Consortium) run(ctx context.Context, spec coordinator.JobSpec) ([]coordinator.JobStatus, error) {
	co := k.c.Coordinator()
	if co == nil {
		return nil, fmt.Errorf("study: coordinator stopped")
	}
	ids, err := co.SubmitJobs(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("study: submit %s: %w", spec.ID, err)
	}
	var out []coordinator.JobStatus
	for _, id := range ids {
		st, err := k.c.WaitJob(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("study: job %s: %w", id, err)
		}
		if st.State != coordinator.JobDone {
			return nil, fmt.Errorf("study: job %s %s: %s", id, st.State, st.Err)
		}
		out = append(out, st)
	}
	return out, nil
}

// generator returns a train job's server EMA as a generator, with its
// per-round validation loss on val (the researcher's view) and the sites'
// training loss where they reported it.
func (k *Consortium) generator(ctx context.Context, job, name, site string, dc ddpm.Config, val *model.ImageSet) (*Generator, error) {
	co := k.c.Coordinator()
	w, err := co.EMA(job)
	if err != nil {
		return nil, err
	}
	rounds, err := co.Rounds(job)
	if err != nil {
		return nil, err
	}
	g := &Generator{Name: name, Site: site, Weights: w}
	judge, err := newDDPMJudge(dc, val)
	if err != nil {
		return nil, err
	}
	err = k.eachRound(rounds, func(r coordinator.RoundRecord, w model.Weights) error {
		g.Loss = append(g.Loss, r.Summary.Metrics["train_loss"])
		ev, err := judge.Evaluate(ctx, w)
		g.ValLoss = append(g.ValLoss, ev["val_loss"])
		return err
	})
	return g, err
}

// ReadReplicas loads the synthetic set a sample job left in site's
// synthetic folder, replica-major as Replicas holds them, and checks it
// against the site's training rows.
func ReadReplicas(ctx context.Context, cfg Config, site *Site, dir, setID, generator string) (*Replicas, error) {
	path := filepath.Join(dir, setID, "manifest.csv")
	dc := dataset.DefaultConfig()
	dc.Size = cfg.Data.Size
	ds, err := dataset.Load(ctx, dataset.Source{Format: dataset.FormatManifest, Path: path}, dc, nil)
	if err != nil {
		return nil, fmt.Errorf("study: %s synthetic set %s: %w", site.Name, setID, err)
	}
	if ds.Report.Failed() {
		return nil, fmt.Errorf("study: %s synthetic set %s: %d problems, first %v", site.Name, setID, ds.Report.Errors(), ds.Report.Problems()[0].Error())
	}
	set, _, err := dataset.ToImageSet(ctx, ds.Records, nil, dc, nil)
	if err != nil {
		return nil, err
	}
	rows := site.Train.Len()
	if rows == 0 || set.Len()%rows != 0 {
		return nil, fmt.Errorf("study: %s synthetic set %s: %d images for %d training rows", site.Name, setID, set.Len(), rows)
	}
	for k, r := range ds.Records {
		if r.ReplicaID != k/rows || set.Labels[k] != site.Train.Labels[k%rows] {
			return nil, fmt.Errorf("study: %s synthetic set %s row %d: replica %d of a row with other labels, want replica %d of training row %d", site.Name, setID, k, r.ReplicaID, k/rows, k%rows)
		}
	}
	set.Synthetic = make([]bool, set.Len())
	for i := range set.Synthetic {
		set.Synthetic[i] = true
	}
	set.PatientIDs = nil
	rep := &Replicas{Generator: generator, Site: site.Name, Rows: rows, Replicas: set.Len() / rows, Set: set}
	for k, r := range ds.Records {
		if r.SiteCondition != "" && rep.SiteConditions == nil {
			rep.SiteConditions = make([]string, len(ds.Records))
		}
		if rep.SiteConditions != nil {
			rep.SiteConditions[k] = r.SiteCondition
		}
	}
	return rep, nil
}
