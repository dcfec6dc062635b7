package scenario

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/sims/cluster"
	"github.com/synthfed/synthfed/sims/study"
)

// Epoch is the fake clock's start.
var Epoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Timing of the auto-advancing fake clock: while a script waits and no
// trainer computes, fake time moves by Step every Tick of real time (10x
// real time). The defaults of start leave the real work (gRPC calls,
// uploads) a wide margin in real time even on a busy machine: a 10 s
// heartbeat timeout is a second of real time.
const (
	Step = 20 * time.Millisecond
	Tick = 2 * time.Millisecond
)

// jobID is the scenarios' job.
const jobID = "scenario"

// Runner executes one script's commands against one consortium.
type Runner struct {
	dir     string
	log     *slog.Logger
	clk     *clock.Fake
	net     *cluster.Faults
	rec     *recorder
	c       *cluster.Cluster
	names   []string
	sites   []*study.Site
	patient time.Duration // real-time bound on a wait
	// secure is set when rounds are securely aggregated (mTLS); maxNorm
	// is the job's update-norm bound.
	secure  bool
	maxNorm float64
}

// NewRunner returns a runner keeping its state under dir; log may be nil.
func NewRunner(dir string, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := clock.NewFake(Epoch)
	return &Runner{dir: dir, log: log, clk: clk, rec: newRecorder(clk), patient: 60 * time.Second}
}

// Close clears every link fault and stops the consortium.
func (r *Runner) Close() error {
	if r.c == nil {
		return nil
	}
	for _, s := range r.net.Sites() {
		r.net.SetDelay(s, 0)
		r.net.SetDrop(s, 0)
		r.net.Heal(s)
	}
	return r.c.Close()
}

// Do runs one directive and returns its output.
func (r *Runner) Do(ctx context.Context, d *Directive) (string, error) {
	if d.Cmd != "start" && r.c == nil {
		return "", fmt.Errorf("%s before start", d.Cmd)
	}
	switch d.Cmd {
	case "start":
		return r.start(ctx, d)
	case "wait-task":
		return r.waitTask(ctx, d)
	case "wait-round":
		return r.waitRound(ctx, d)
	case "wait-job":
		return r.waitJob(ctx)
	case "crash", "restart":
		return r.agent(d)
	case "restart-coordinator":
		if err := r.c.RestartCoordinator(); err != nil {
			return "", err
		}
		return "coordinator restarted", nil
	case "partition", "heal", "link", "cut":
		return r.link(d)
	case "slow", "poison":
		return r.fault(d)
	case "revoke":
		return r.revoke(d)
	case "advance":
		return r.advance(d)
	case "data":
		return r.data(d)
	case "audit":
		return r.audit(d)
	case "check":
		return r.check()
	case "tls":
		return r.tls()
	case "metric":
		return r.metric(d)
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

// start builds the consortium.
func (r *Runner) start(ctx context.Context, d *Directive) (string, error) {
	cfg, opts, err := r.config(ctx, d)
	if err != nil {
		return "", err
	}
	if r.c, err = cluster.Start(ctx, cfg, r.dir, opts); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d sites (%s), %d rounds, quorum %d, model %s", len(r.names), strings.Join(r.names, " "), cfg.Job.Rounds, cfg.Job.Quorum, cfg.Job.Model), nil
}

// config reads start's arguments into a cluster configuration.
func (r *Runner) config(ctx context.Context, d *Directive) (cluster.Config, cluster.Options, error) {
	cfg := cluster.DefaultConfig()
	cfg.Transport = d.arg("transport", "bufconn")
	job := &cfg.Job
	job.ID, job.MaxAttempts = jobID, 3
	var errs []error
	get := func(k string, def int) int {
		v, e := d.int(k, def)
		errs = append(errs, e)
		return v
	}
	getd := func(k string, def time.Duration) time.Duration {
		v, e := d.dur(k, def)
		errs = append(errs, e)
		return v
	}
	cfg.Sites, job.Rounds, job.Quorum = get("sites", 3), get("rounds", 4), get("quorum", 2)
	job.Validation.MaxUpdateNorm = float64(get("max-norm", 0))
	dl := coordinator.Duration(getd("deadline", 60*time.Second))
	job.Deadlines = coordinator.Deadlines{Select: coordinator.Duration(getd("select", 10*time.Second)), Init: dl, Train: dl}
	cfg.HeartbeatInterval = coordinator.Duration(getd("heartbeat", 200*time.Millisecond))
	cfg.HeartbeatTimeout = coordinator.Duration(getd("heartbeat-timeout", 10*time.Second))
	for _, e := range errs {
		if e != nil {
			return cfg, cluster.Options{}, e
		}
	}
	r.net = cluster.NewFaults(cluster.NewBufconn(), r.clk, 1)
	if cfg.Transport == "tcp" {
		r.net = cluster.NewFaults(&cluster.TCP{}, r.clk, 1)
	}
	opts := cluster.Options{Logger: r.log, Clock: r.clk, Network: r.net}
	switch d.arg("model", "logreg") {
	case "logreg":
		r.names = cluster.SiteNames(cfg.Sites)
		opts.Trainers = r.logregTrainers(cfg.Logreg)
	case "classifier":
		if err := r.phantomSites(ctx, d, &cfg); err != nil {
			return cfg, opts, err
		}
		opts.Trainers = r.classifierTrainers()
	default:
		return cfg, opts, fmt.Errorf("model=%q: want logreg or classifier", d.arg("model", ""))
	}
	r.maxNorm = job.Validation.MaxUpdateNorm
	return cfg, opts, r.security(d, &opts)
}

// security provisions kits when start asks for tls (revoking revoke=S
// before the start) and sets the initial slowness of slow=S:D.
func (r *Runner) security(d *Directive, opts *cluster.Options) error {
	if _, ok := d.Args["tls"]; ok {
		r.secure = true
		var err error
		if opts.Kits, err = cluster.ProvisionKits(filepath.Join(r.dir, "pki"), r.names, r.clk); err != nil {
			return err
		}
		if s := d.arg("revoke", ""); s != "" {
			if err := opts.Kits.Revoke(s); err != nil {
				return err
			}
		}
	}
	if s := d.arg("slow", ""); s != "" {
		site, dur, ok := strings.Cut(s, ":")
		x, err := time.ParseDuration(dur)
		if !ok || err != nil {
			return fmt.Errorf("slow=%q: want SITE:DURATION", s)
		}
		r.rec.slow[site] = x
	}
	return nil
}

func (r *Runner) logregTrainers(base logreg.Config) func(int, string) (map[string]model.Trainer, error) {
	return func(i int, name string) (map[string]model.Trainer, error) {
		c := base
		c.Site = i
		t, err := logreg.New(c, r.clk)
		if err != nil {
			return nil, err
		}
		return map[string]model.Trainer{"logreg": r.rec.wrap(name, t)}, nil
	}
}

// phantomSites renders the tiny phantom consortium (with the corruption
// drill of corrupt=SITE:N) and loads it as the sites' data.
func (r *Runner) phantomSites(ctx context.Context, d *Directive, cfg *cluster.Config) error {
	sc, err := study.Profile("tiny")
	if err != nil {
		return err
	}
	if s := d.arg("corrupt", ""); s != "" {
		site, n, ok := strings.Cut(s, ":")
		var k int
		if _, err := fmt.Sscanf(n, "%d", &k); !ok || err != nil {
			return fmt.Errorf("corrupt=%q: want SITE:N", s)
		}
		sc.Data.Corrupt = map[string]int{site: k}
	}
	sc.Sites = cfg.Sites
	if r.sites, err = study.RenderConsortium(ctx, sc, filepath.Join(r.dir, "data"), r.log); err != nil {
		return err
	}
	for _, s := range r.sites {
		r.names = append(r.names, s.Name)
		r.rec.extra[s.Name] = map[string]float64{"data_refused": float64(s.Rejected())}
	}
	cfg.Names = r.names
	cfg.Job.Model = "classifier"
	cfg.Job.Train = coordinator.TrainSpec{LocalSteps: 2, BatchSize: 8}
	return nil
}

func (r *Runner) classifierTrainers() func(int, string) (map[string]model.Trainer, error) {
	cc, _ := study.Profile("tiny")
	return func(i int, name string) (map[string]model.Trainer, error) {
		t, err := classifier.NewTrainer(cc.Classifier.Config, r.sites[i].Train, r.sites[i].Val, r.log)
		if err != nil {
			return nil, err
		}
		return map[string]model.Trainer{"classifier": r.rec.wrap(name, t)}, nil
	}
}

// index returns a site's index.
func (r *Runner) index(site string) (int, error) {
	for i, n := range r.names {
		if n == site {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no site %q (sites: %s)", site, strings.Join(r.names, " "))
}

// waitFor polls cond, advancing the fake clock by Step every Tick while
// no trainer computes, until cond holds or the real-time bound passes.
func (r *Runner) waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(r.patient)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s (fake time %s)", what, r.clk.Since(Epoch))
		}
		if r.rec.idle() {
			r.clk.Advance(Step)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(Tick):
		}
	}
}

func (r *Runner) waitTask(ctx context.Context, d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	round, err := d.int("round", 1)
	if err != nil {
		return "", err
	}
	err = r.waitFor(ctx, fmt.Sprintf("%s to train round %d", site, round), func() (bool, error) { return r.rec.hasStarted(site, round), nil })
	return fmt.Sprintf("%s is training round %d", site, round), err
}

// rounds returns the job's committed rounds (none while the coordinator
// is down).
func (r *Runner) rounds() ([]coordinator.RoundRecord, error) {
	co := r.c.Coordinator()
	if co == nil {
		return nil, nil
	}
	return co.Rounds(jobID)
}

func (r *Runner) waitRound(ctx context.Context, d *Directive) (string, error) {
	if len(d.Pos) != 1 {
		return "", fmt.Errorf("wait-round needs one round number")
	}
	var n int
	if _, err := fmt.Sscanf(d.Pos[0], "%d", &n); err != nil {
		return "", fmt.Errorf("wait-round %q: not a number", d.Pos[0])
	}
	var rec *coordinator.RoundRecord
	err := r.waitFor(ctx, fmt.Sprintf("round %d to commit", n), func() (bool, error) {
		rs, err := r.rounds()
		for i := range rs {
			if rs[i].Summary.Round == n {
				rec = &rs[i]
			}
		}
		return rec != nil, err
	})
	if err != nil {
		return "", err
	}
	return describeRound(rec.Summary), nil
}

// describeRound prints a round's outcome.
func describeRound(s coordinator.RoundSummary) string {
	var b strings.Builder
	acc := append([]string(nil), s.Accepted...)
	sort.Strings(acc)
	fmt.Fprintf(&b, "round %d committed: accepted %s", s.Round, strings.Join(acc, " "))
	for _, site := range sortedKeys(s.Rejected) {
		fmt.Fprintf(&b, "; rejected %s (%s)", site, s.Rejected[site])
	}
	if len(s.Dropped) > 0 {
		dr := append([]string(nil), s.Dropped...)
		sort.Strings(dr)
		fmt.Fprintf(&b, "; dropped %s", strings.Join(dr, " "))
	}
	var missed []string
	for _, site := range s.Cohort {
		if !slices.Contains(s.Accepted, site) && !slices.Contains(s.Dropped, site) && s.Rejected[site] == "" {
			missed = append(missed, site)
		}
	}
	if len(missed) > 0 {
		sort.Strings(missed)
		fmt.Fprintf(&b, "; no update from %s", strings.Join(missed, " "))
	}
	return b.String()
}

func (r *Runner) waitJob(ctx context.Context) (string, error) {
	var st coordinator.JobStatus
	err := r.waitFor(ctx, "the job to end", func() (bool, error) {
		co := r.c.Coordinator()
		if co == nil {
			return false, nil
		}
		jobs, err := co.Jobs(ctx)
		for _, j := range jobs {
			if j.ID == jobID && (j.State == coordinator.JobDone || j.State == coordinator.JobFailed) {
				st = j
				return true, nil
			}
		}
		return false, err
	})
	if err != nil {
		return "", err
	}
	rs, err := r.rounds()
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf("job %s: %d rounds committed", st.State, len(rs)-1)
	if st.Err != "" {
		out += ": " + st.Err
	}
	return out, nil
}
