package study

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/sims/cluster"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// Job IDs of the federated jobs.
const (
	JobDDPM       = "ddpm-federated"
	JobClassifier = "classifier-fedavg"
)

// Model names the agents serve.
const (
	ModelDDPM       = "ddpm"
	ModelClassifier = "classifier"
)

// Consortium is the running federation: the real coordinator and one real
// agent per site over loopback gRPC (mTLS from provisioned kits).
type Consortium struct {
	cfg   Config
	sites []*Site
	c     *cluster.Cluster
	dir   string
	start map[string]time.Time
}

// StartConsortium starts the coordinator and agents under dir and submits
// the federated DDPM job. Each agent has its site's [data] section (its
// CheXpert folder, patient-level split, synthetic folder) and builds the
// ddpm and classifier trainers of each job from the job's model_config;
// onRound sees every committed round (on the coordinator's goroutine: it
// must not block).
func StartConsortium(ctx context.Context, cfg Config, sites []*Site, dir string, opts cluster.Options, onRound func(coordinator.RoundSummary)) (*Consortium, error) {
	names := make([]string, len(sites))
	for i, s := range sites {
		names[i] = s.Name
	}
	cc := cluster.DefaultConfig()
	cc.Sites, cc.Names, cc.Transport, cc.TLS = len(sites), names, cfg.Consortium.Transport, cfg.Consortium.TLS
	cc.HeartbeatInterval, cc.HeartbeatTimeout = coordinator.Duration(cfg.Consortium.HeartbeatInterval), coordinator.Duration(cfg.Consortium.HeartbeatTimeout)
	var err error
	if cc.Job, err = ddpmJob(cfg, names); err != nil {
		return nil, err
	}
	opts.Agent = func(i int, ac *siteagent.Config) {
		ac.EvaluateGlobal = true
		ac.Data = SiteDataConfig(cfg, sites[i], dir)
	}
	opts.OnCommit = onRound
	c, err := cluster.Start(ctx, cc, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("study: start consortium: %w", err)
	}
	return &Consortium{cfg: cfg, sites: sites, c: c, dir: dir}, nil
}

// Cluster returns the running cluster.
func (k *Consortium) Cluster() *cluster.Cluster { return k.c }

// Close stops the agents and the coordinator.
func (k *Consortium) Close() error { return k.c.Close() }

func baseJob(cfg Config, id, mdl string, sites []string) coordinator.JobSpec {
	job := coordinator.DefaultJobSpec()
	job.ID, job.Model, job.Sites, job.Quorum, job.Seed = id, mdl, sites, len(sites), cfg.Seeds.Job
	d := coordinator.Duration(cfg.Consortium.RoundDeadline)
	job.Deadlines = coordinator.Deadlines{Select: coordinator.Duration(60 * time.Second), Init: d, Train: d}
	return job
}

// ddpmJob is the federated DDPM job: the study's 22-number condition.
func ddpmJob(cfg Config, sites []string) (coordinator.JobSpec, error) {
	d := cfg.DDPM
	return trainJob(cfg, JobDDPM, ModelDDPM, sites, d.Rounds, d.LocalSteps, d.Train.BatchSize, studyDDPM(cfg), d.RoundEMA)
}

// classifierJob is the FedAvg classifier job.
func classifierJob(cfg Config, sites []string) (coordinator.JobSpec, error) {
	c := cfg.Classifier
	return trainJob(cfg, JobClassifier, ModelClassifier, sites, c.FedAvgRounds, c.FedAvgLocalSteps, c.Train.BatchSize, c.Config, 0)
}

// siteNames lists the sites' names.
func (k *Consortium) siteNames() []string {
	out := make([]string, len(k.sites))
	for i, s := range k.sites {
		out[i] = s.Name
	}
	return out
}

// pooledVal is every site's validation images.
func (k *Consortium) pooledVal() *model.ImageSet {
	var vals []*model.ImageSet
	for _, s := range k.sites {
		vals = append(vals, s.Val)
	}
	return Pool(vals...)
}

// newDDPMJudge scores DDPM weights of configuration dc by their
// validation loss on val (a site-conditioned DDPM with the "any site"
// embedding).
func newDDPMJudge(dc ddpm.Config, val *model.ImageSet) (*ddpm.Trainer, error) {
	return ddpm.NewTrainer(dc, val, val, nil)
}

// WaitDDPM waits for the federated DDPM job and returns the federated
// generator: the coordinator's server EMA (decay ddpm.round_ema) over the
// committed global models. Its ValLoss is each round's global model scored
// on the sites' pooled validation images (the researcher's view: under
// secure aggregation the sites report no metrics).
func (k *Consortium) WaitDDPM(ctx context.Context) (*Generator, error) {
	if _, err := k.wait(ctx, JobDDPM); err != nil {
		return nil, err
	}
	return k.generator(ctx, JobDDPM, "federated", "", studyDDPM(k.cfg), k.pooledVal())
}

// TrainAlone runs the site-only DDPM jobs (mode local: one job per site,
// the federated schedule, no averaging) and returns each site's generator.
func (k *Consortium) TrainAlone(ctx context.Context) ([]*Generator, error) {
	d := k.cfg.DDPM
	job, err := trainJob(k.cfg, JobDDPMAlone, ModelDDPM, k.siteNames(), d.Rounds, d.LocalSteps, d.Train.BatchSize, studyDDPM(k.cfg), d.RoundEMA)
	if err != nil {
		return nil, err
	}
	// A site alone has nothing to aggregate: secure aggregation needs two
	// sites, and the coordinator would otherwise default it on with TLS.
	off := false
	job.Mode, job.Quorum, job.SecureAggregation = coordinator.ModeLocal, 1, &off
	sts, err := k.run(ctx, job)
	if err != nil {
		return nil, err
	}
	out := make([]*Generator, len(k.sites))
	for i, s := range k.sites {
		id := JobDDPMAlone + "." + s.Name
		if i >= len(sts) || sts[i].ID != id {
			return nil, fmt.Errorf("study: site-only DDPM jobs %v: want %s at %d", sts, id, i)
		}
		if out[i], err = k.generator(ctx, id, s.Name+" only", s.Name, studyDDPM(k.cfg), s.Val); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Sample runs a sample job of levels replicas per training row at sites
// from the DDPM of ddpmJob and reads each site's set back.
func (k *Consortium) Sample(ctx context.Context, id, ddpmJob, generator string, sites []int, levels int) ([]*Replicas, error) {
	return k.SampleAs(ctx, id, ddpmJob, generator, sites, levels, "")
}

// SampleAs is Sample from a site-conditioned DDPM with site condition
// asSite (protocol.ValidAsSite).
func (k *Consortium) SampleAs(ctx context.Context, id, ddpmJob, generator string, sites []int, levels int, asSite string) ([]*Replicas, error) {
	var names []string
	for _, i := range sites {
		names = append(names, k.sites[i].Name)
	}
	sts, err := k.run(ctx, sampleJob(k.cfg, id, ddpmJob, names, levels, asSite))
	if err != nil {
		return nil, err
	}
	var out []*Replicas
	for _, i := range sites {
		s := k.sites[i]
		dir := SiteDataConfig(k.cfg, s, k.dir).SyntheticDir
		rep, err := ReadReplicas(ctx, k.cfg, s, dir, sts[0].Output, generator)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

// eachRound calls fn with every committed round after round 0 and its
// global model, read from the coordinator's checkpoints.
func (k *Consortium) eachRound(rounds []coordinator.RoundRecord, fn func(coordinator.RoundRecord, model.Weights) error) error {
	ck, err := coordinator.OpenCheckpoints(filepath.Join(k.dir, "coordinator", "checkpoints"))
	if err != nil {
		return err
	}
	for _, r := range rounds {
		if r.Summary.Round == 0 {
			continue
		}
		w, _, err := ck.Read(r.Checkpoint)
		if err != nil {
			return fmt.Errorf("study: round %d checkpoint: %w", r.Summary.Round, err)
		}
		if err := fn(r, w); err != nil {
			return err
		}
	}
	return nil
}

// ClassifierCurve scores each FedAvg round's global classifier on the
// sites' pooled validation images (macro AUROC).
func (k *Consortium) ClassifierCurve(ctx context.Context, rounds []coordinator.RoundRecord) ([]float64, error) {
	val := k.pooledVal()
	var out []float64
	err := k.eachRound(rounds, func(_ coordinator.RoundRecord, w model.Weights) error {
		probs, _, err := classifier.Predict(ctx, k.cfg.Classifier.Arch, w, val)
		if err != nil {
			return err
		}
		out = append(out, classifier.MacroAUROC(probs, val.Labels))
		return nil
	})
	return out, err
}

// TrainClassifierFedAvg submits the FedAvg classifier job, waits for it
// and returns the final global weights.
func (k *Consortium) TrainClassifierFedAvg(ctx context.Context) (model.Weights, []coordinator.RoundRecord, error) {
	co := k.c.Coordinator()
	if co == nil {
		return model.Weights{}, nil, fmt.Errorf("study: coordinator stopped")
	}
	job, err := classifierJob(k.cfg, k.siteNames())
	if err != nil {
		return model.Weights{}, nil, err
	}
	if err := co.Submit(ctx, job); err != nil {
		return model.Weights{}, nil, fmt.Errorf("study: submit %s: %w", JobClassifier, err)
	}
	rounds, err := k.wait(ctx, JobClassifier)
	if err != nil {
		return model.Weights{}, nil, err
	}
	w, err := k.c.Coordinator().Global(JobClassifier)
	return w, rounds, err
}

// wait waits for job and checks that it succeeded.
func (k *Consortium) wait(ctx context.Context, job string) ([]coordinator.RoundRecord, error) {
	st, err := k.c.WaitJob(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("study: job %s: %w", job, err)
	}
	if st.State != coordinator.JobDone {
		return nil, fmt.Errorf("study: job %s %s: %s", job, st.State, st.Err)
	}
	return k.c.Coordinator().Rounds(job)
}

// SiteCounts returns each site's rejected updates (by reason) and
// dropouts from the coordinator's audit log.
func (k *Consortium) SiteCounts() (map[string]*Counts, error) {
	log, err := k.c.Coordinator().AuditLog()
	if err != nil {
		return nil, err
	}
	out := map[string]*Counts{}
	for _, s := range k.siteNames() {
		out[s] = &Counts{Reasons: map[string]int{}}
	}
	for _, e := range log {
		c, ok := out[e.Site]
		if !ok {
			continue
		}
		switch e.Event {
		case coordinator.EventRejected:
			c.Rejected++
			c.Reasons[e.Reason]++
		case coordinator.EventDropout, coordinator.EventAbsent:
			c.Dropouts++
		}
	}
	return out, nil
}

// Counts are one site's refusals and dropouts.
type Counts struct {
	Rejected, Dropouts int
	Reasons            map[string]int
}

// roundEMA is an exponential moving average over models: the first model
// as is, then ema = d*ema + (1-d)*w.
type roundEMA struct{ w model.Weights }

func (e *roundEMA) add(w model.Weights, d float64) {
	if e.w.Len() == 0 || d == 0 {
		e.w = w.Clone()
		return
	}
	mine := e.w.Tensors()
	for i, t := range w.Tensors() {
		dst := mine[i].Data
		for j, v := range t.Data {
			dst[j] = float32(d)*dst[j] + float32(1-d)*v
		}
	}
}

// TrainClassifier runs a classifier train job of one site (mode local) and
// returns its final model and rounds.
func (k *Consortium) TrainClassifier(ctx context.Context, spec coordinator.JobSpec) (model.Weights, []coordinator.RoundRecord, error) {
	sts, err := k.run(ctx, spec)
	if err != nil {
		return model.Weights{}, nil, err
	}
	if len(sts) != 1 {
		return model.Weights{}, nil, fmt.Errorf("study: classifier job %s ran as %d jobs, want 1", spec.ID, len(sts))
	}
	co := k.c.Coordinator()
	w, err := co.Global(sts[0].ID)
	if err != nil {
		return model.Weights{}, nil, err
	}
	rounds, err := co.Rounds(sts[0].ID)
	return w, rounds, err
}
