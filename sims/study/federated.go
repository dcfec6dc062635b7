package study

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
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

// StartConsortium starts the coordinator and agents under dir. Each agent
// serves the DDPM and classifier trainers on its site's data; onRound sees
// every committed round (on the coordinator's goroutine: it must not block).
func StartConsortium(ctx context.Context, cfg Config, sites []*Site, dir string, opts cluster.Options, onRound func(coordinator.RoundSummary)) (*Consortium, error) {
	names := make([]string, len(sites))
	for i, s := range sites {
		names[i] = s.Name
	}
	cc := cluster.DefaultConfig()
	cc.Sites, cc.Names, cc.Transport, cc.TLS = len(sites), names, cfg.Consortium.Transport, cfg.Consortium.TLS
	cc.HeartbeatInterval, cc.HeartbeatTimeout = coordinator.Duration(cfg.Consortium.HeartbeatInterval), coordinator.Duration(cfg.Consortium.HeartbeatTimeout)
	cc.Job = ddpmJob(cfg, names)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.Trainers = func(i int, name string) (map[string]model.Trainer, error) {
		dt, err := ddpm.NewTrainer(cfg.DDPM.Config, sites[i].Train, sites[i].Val, log.With("site", name))
		if err != nil {
			return nil, err
		}
		ct, err := classifier.NewTrainer(cfg.Classifier.Config, sites[i].Train, sites[i].Val, log.With("site", name))
		if err != nil {
			return nil, err
		}
		return map[string]model.Trainer{ModelDDPM: dt, ModelClassifier: ct}, nil
	}
	opts.Agent = func(_ int, ac *siteagent.Config) { ac.EvaluateGlobal = true }
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

func ddpmJob(cfg Config, sites []string) coordinator.JobSpec {
	job := baseJob(cfg, JobDDPM, ModelDDPM, sites)
	job.Rounds = cfg.DDPM.Rounds
	job.Train = coordinator.TrainSpec{LocalSteps: cfg.DDPM.LocalSteps, BatchSize: cfg.DDPM.Train.BatchSize}
	return job
}

func classifierJob(cfg Config, sites []string) coordinator.JobSpec {
	job := baseJob(cfg, JobClassifier, ModelClassifier, sites)
	job.Rounds = cfg.Classifier.FedAvgRounds
	job.Train = coordinator.TrainSpec{LocalSteps: cfg.Classifier.FedAvgLocalSteps, BatchSize: cfg.Classifier.Train.BatchSize}
	return job
}

// siteNames lists the sites' names.
func (k *Consortium) siteNames() []string {
	out := make([]string, len(k.sites))
	for i, s := range k.sites {
		out[i] = s.Name
	}
	return out
}

// WaitDDPM waits for the federated DDPM job and returns the federated
// generator: the EMA (decay cfg.DDPM.RoundEMA) over the global models of
// rounds 1..R, read from the coordinator's checkpoints. Its ValLoss is each
// round's global model scored on the sites' pooled validation images (the
// researcher's view: under secure aggregation the sites report no
// metrics); Loss is the sites' mean training loss where they reported it.
func (k *Consortium) WaitDDPM(ctx context.Context) (*Generator, error) {
	rounds, err := k.wait(ctx, JobDDPM)
	if err != nil {
		return nil, err
	}
	var vals []*model.ImageSet
	for _, s := range k.sites {
		vals = append(vals, s.Val)
	}
	val := Pool(vals...)
	judge, err := ddpm.NewTrainer(k.cfg.DDPM.Config, val, val, nil)
	if err != nil {
		return nil, err
	}
	g := &Generator{Name: "federated"}
	var ema roundEMA
	err = k.eachRound(rounds, func(r coordinator.RoundRecord, w model.Weights) error {
		ema.add(w, k.cfg.DDPM.RoundEMA)
		g.Loss = append(g.Loss, r.Summary.Metrics["train_loss"])
		ev, err := judge.Evaluate(ctx, w)
		g.ValLoss = append(g.ValLoss, ev["val_loss"])
		return err
	})
	g.Weights = ema.w
	return g, err
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
	var vals []*model.ImageSet
	for _, s := range k.sites {
		vals = append(vals, s.Val)
	}
	val := Pool(vals...)
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
	if err := co.Submit(ctx, classifierJob(k.cfg, k.siteNames())); err != nil {
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

// AuditEvents counts the audit log's entries by event, sorted by name.
func (k *Consortium) AuditEvents() ([]string, map[string]int, error) {
	log, err := k.c.Coordinator().AuditLog()
	if err != nil {
		return nil, nil, err
	}
	n := map[string]int{}
	for _, e := range log {
		n[e.Event]++
	}
	keys := make([]string, 0, len(n))
	for e := range n {
		keys = append(keys, e)
	}
	sort.Strings(keys)
	return keys, n, nil
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
