package siteagent_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// seeded is a deterministic randomness source for provisioning.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// provisionKits writes a consortium of the given sites into a new
// directory; the coordinator is "coordinator" at localhost:7443.
func provisionKits(t *testing.T, sites ...string) string {
	t.Helper()
	dir := t.TempDir()
	c := pki.DefaultConsortium()
	c.Coordinator.Address = "localhost:7443"
	for _, s := range sites {
		c.Sites = append(c.Sites, pki.Participant{ID: s})
	}
	if _, err := pki.Provision(c, dir, pki.ProvisionOptions{Rand: seeded{rand.NewChaCha8([32]byte{9})}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fixedTrainer returns global + delta with a fixed sample count, so that
// the FedAvg reference is computed by hand. With block set, Train waits
// for its context instead (a site that dies while training).
type fixedTrainer struct {
	delta   []float32
	samples int
	loss    float64 // reported as the "loss" metric when not 0
	block   chan struct{}
}

var fixedInit = []float32{0.5, -1, 2, 0.25}

func (f *fixedTrainer) Init(context.Context, int64) (model.Weights, error) {
	return model.MustWeights(model.Tensor{Name: "w", Shape: []int{len(fixedInit)}, Data: append([]float32(nil), fixedInit...)}), nil
}

func (f *fixedTrainer) Train(ctx context.Context, g model.Weights, _ model.TrainSpec) (model.TrainResult, error) {
	if f.block != nil {
		close(f.block)
		<-ctx.Done()
		return model.TrainResult{}, ctx.Err()
	}
	w := g.Clone()
	for i := range w.Tensors()[0].Data {
		w.Tensors()[0].Data[i] += f.delta[i]
	}
	res := model.TrainResult{Weights: w, NumSamples: f.samples}
	if f.loss != 0 {
		res.Metrics = map[string]float64{"loss": f.loss}
	}
	return res, nil
}

func (f *fixedTrainer) Evaluate(context.Context, model.Weights) (map[string]float64, error) {
	return map[string]float64{}, nil
}

// secureCluster is a coordinator and agents over bufconn with mTLS from
// provisioned kits and secure aggregation on.
type secureCluster struct {
	t       *testing.T
	n       *memNet
	kits    string
	co      *coordProc
	cancel  map[string]context.CancelFunc
	runners map[string]*siteagent.SecureRunner
	wg      sync.WaitGroup
}

func secureJob(sites ...string) coordinator.JobSpec {
	j := baseJob("sj", sites...)
	j.Rounds, j.MaxAttempts = 1, 1
	j.SecAgg.MaxWeight = 1000
	return j
}

func startSecure(t *testing.T, sites []string, job coordinator.JobSpec) *secureCluster {
	t.Helper()
	sc := &secureCluster{t: t, n: &memNet{}, kits: provisionKits(t, sites...), cancel: map[string]context.CancelFunc{},
		runners: map[string]*siteagent.SecureRunner{}}
	cfg := coordinator.DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Gossip.Enabled = t.TempDir(), "127.0.0.1:0", false
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = coordinator.Duration(100*time.Millisecond), coordinator.Duration(time.Second)
	cfg.StopGrace, cfg.Jobs = coordinator.Duration(time.Second), []coordinator.JobSpec{job}
	opts := coordinator.Options{Listener: sc.n.listen()}
	if _, err := coordinator.UseKit(pki.KitDir(sc.kits, pki.Identity{Role: pki.RoleCoordinator, ID: "coordinator"}), &cfg, &opts); err != nil {
		t.Fatal(err)
	}
	c, err := coordinator.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc.co = &coordProc{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { sc.co.done <- c.Run(ctx) }()
	t.Cleanup(func() { sc.stopAll(); sc.co.cancel(); <-sc.co.done })
	return sc
}

// agent starts site's agent from its kit with its own privacy state.
func (sc *secureCluster) agent(site string, tr model.Trainer, priv siteagent.PrivacyConfig) {
	t := sc.t
	t.Helper()
	cfg := siteagent.DefaultConfig()
	cfg.Coordinator, cfg.Gossip.Enabled = "localhost:7443", false
	cfg.Backoff = siteagent.BackoffConfig{Initial: siteagent.Duration(20 * time.Millisecond), Max: siteagent.Duration(200 * time.Millisecond), Multiplier: 2, Jitter: 0.1}
	cfg.StopGrace, cfg.EvaluateGlobal = siteagent.Duration(time.Second), false
	priv.StateDir = t.TempDir()
	cfg.Privacy = priv
	opts := siteagent.Options{Trainers: map[string]model.Trainer{"logreg": tr}, Dialer: sc.n.dial}
	if _, err := siteagent.UseKit(pki.KitDir(sc.kits, pki.Identity{Role: pki.RoleSite, ID: site}), &cfg, &opts); err != nil {
		t.Fatal(err)
	}
	a, err := siteagent.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc.cancel[site], sc.runners[site] = cancel, opts.Phases.(*siteagent.SecureRunner)
	sc.wg.Add(1)
	go func() { defer sc.wg.Done(); _ = a.Run(ctx) }()
}

func (sc *secureCluster) stopAll() {
	for _, c := range sc.cancel {
		c()
	}
	sc.wg.Wait()
}

// fedavg is the plain sample-weighted mean of fixedInit + delta.
func fedavg(trs map[string]*fixedTrainer, sites ...string) []float64 {
	out := make([]float64, len(fixedInit))
	var total float64
	for _, s := range sites {
		for i := range out {
			out[i] += float64(trs[s].samples) * float64(fixedInit[i]+trs[s].delta[i])
		}
		total += float64(trs[s].samples)
	}
	for i := range out {
		out[i] /= total
	}
	return out
}

func threeTrainers() map[string]*fixedTrainer {
	return map[string]*fixedTrainer{
		"site-a": {delta: []float32{0.1, -0.2, 0.05, 0}, samples: 100, loss: 0.9},
		"site-b": {delta: []float32{-0.3, 0.1, 0.02, 0.4}, samples: 250, loss: 0.6},
		"site-c": {delta: []float32{0.2, 0.3, -0.1, -0.05}, samples: 400, loss: 0.45},
	}
}

// checkMean compares a committed global model with plain FedAvg: within
// the fixed-point step (n half-steps per element over the weight sum) and
// float32 rounding.
func checkMean(t *testing.T, got model.Weights, want []float64, wsum float64) {
	t.Helper()
	p, _ := secagg.DefaultConfig().Params(3, len(fixedInit))
	bound := 3*p.Step(3)/wsum + 4*math.Pow(2, -23)*2
	for i, v := range got.Flatten() {
		if d := math.Abs(float64(v) - want[i]); d > bound {
			t.Errorf("element %d: secure %v, fedavg %v (|d| %g > %g)", i, v, want[i], d, bound)
		}
	}
}

func TestSecureFedAvgOverMTLS(t *testing.T) {
	sites := []string{"site-a", "site-b", "site-c"}
	sc := startSecure(t, sites, secureJob(sites...))
	trs := threeTrainers()
	for _, s := range sites {
		sc.agent(s, trs[s], siteagent.DefaultPrivacyConfig())
	}
	st := wait(t, sc.co.c, "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	g, _ := sc.co.c.Global("sj")
	checkMean(t, g, fedavg(trs, sites...), 0.75)
	rounds, _ := sc.co.c.Rounds("sj")
	sum := rounds[len(rounds)-1].Summary
	if strings.Join(sum.Accepted, ",") != "site-a,site-b,site-c" || sum.Metrics["secagg_survivors"] != 3 || sum.NumSamples != 750 {
		t.Fatalf("round summary %+v", sum)
	}
	// The train loss came through the secure sum: the sample-weighted
	// mean, with no site's own value anywhere.
	want := (100*0.9 + 250*0.6 + 400*0.45) / 750
	if got, ok := sum.Metrics["train_loss"]; !ok || math.Abs(got-want) > 1e-5 || len(sum.SiteMetrics) != 0 {
		t.Fatalf("train_loss %v (present %v), want %v; site metrics %v", got, ok, want, sum.SiteMetrics)
	}
}

func TestSecureRoundSurvivesAKilledSite(t *testing.T) {
	sites := []string{"site-a", "site-b", "site-c"}
	sc := startSecure(t, sites, secureJob(sites...))
	trs := threeTrainers()
	victim := &fixedTrainer{block: make(chan struct{})}
	sc.agent("site-a", trs["site-a"], siteagent.DefaultPrivacyConfig())
	sc.agent("site-b", victim, siteagent.DefaultPrivacyConfig())
	sc.agent("site-c", trs["site-c"], siteagent.DefaultPrivacyConfig())
	<-victim.block // site-b shared its keys and is training: kill it
	sc.cancel["site-b"]()
	st := wait(t, sc.co.c, "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	g, _ := sc.co.c.Global("sj")
	checkMean(t, g, fedavg(trs, "site-a", "site-c"), 0.5)
	rounds, _ := sc.co.c.Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; strings.Join(sum.Accepted, ",") != "site-a,site-c" || sum.Metrics["secagg_dropped"] != 1 {
		t.Fatalf("round summary %+v", sum)
	}
}

func TestSecureRoundBelowThresholdFailsCleanly(t *testing.T) {
	sites := []string{"site-a", "site-b", "site-c"}
	sc := startSecure(t, sites, secureJob(sites...))
	trs := threeTrainers()
	v1, v2 := &fixedTrainer{block: make(chan struct{})}, &fixedTrainer{block: make(chan struct{})}
	sc.agent("site-a", trs["site-a"], siteagent.DefaultPrivacyConfig())
	sc.agent("site-b", v1, siteagent.DefaultPrivacyConfig())
	sc.agent("site-c", v2, siteagent.DefaultPrivacyConfig())
	<-v1.block
	<-v2.block
	sc.cancel["site-b"]()
	sc.cancel["site-c"]()
	st := wait(t, sc.co.c, "sj")
	if st.State != coordinator.JobFailed || !strings.Contains(st.Err, "too few survivors") {
		t.Fatalf("job %+v, want failed for too few survivors", st)
	}
	if rounds, _ := sc.co.c.Rounds("sj"); len(rounds) != 1 {
		t.Fatalf("%d rounds committed, want only round 0", len(rounds))
	}
}

func TestPrivacyBudgetRefusal(t *testing.T) {
	sites := []string{"site-a", "site-b", "site-c"}
	job := secureJob(sites...)
	job.Privacy = coordinator.PrivacySpec{Enabled: true, ClipNorm: 1, NoiseMultiplier: 2}
	sc := startSecure(t, sites, job)
	trs := threeTrainers()
	poor := siteagent.DefaultPrivacyConfig()
	poor.EpsilonBudget = 0.01
	sc.agent("site-a", trs["site-a"], siteagent.DefaultPrivacyConfig())
	sc.agent("site-b", trs["site-b"], siteagent.DefaultPrivacyConfig())
	sc.agent("site-c", trs["site-c"], poor)
	st := wait(t, sc.co.c, "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	log, _ := sc.co.c.AuditLog()
	var refusal *coordinator.AuditEntry
	for i, e := range log {
		if e.Event == coordinator.EventDropout && e.Site == "site-c" {
			refusal = &log[i]
		}
	}
	if refusal == nil || refusal.Reason != string(coordinator.ReasonTaskRefused) || !strings.Contains(refusal.Detail, siteagent.RefuseBudget) {
		t.Fatalf("refusal in the audit log: %+v", refusal)
	}
	if rho, _ := sc.runners["site-c"].Spent(); rho != 0 {
		t.Errorf("refusing site charged rho %v", rho)
	}
	if rho, eps := sc.runners["site-a"].Spent(); !(rho > 0 && eps > 0) {
		t.Errorf("contributing site charged rho %v epsilon %v", rho, eps)
	}
	// The noise is there: std z*C/sum(weights) = 2/0.35 per element.
	g, _ := sc.co.c.Global("sj")
	want, noisy := fedavg(trs, "site-a", "site-b"), false
	for i, v := range g.Flatten() {
		noisy = noisy || math.Abs(float64(v)-want[i]) > 0.01
	}
	if !noisy {
		t.Error("the privacy job's model carries no noise")
	}
}

// TestSecureFedBNOverMTLS: with FedBN the sites' norm layers stay out of
// the masked vector (the round would refuse a vector of the wrong length)
// and the global norm layer never changes.
func TestSecureFedBNOverMTLS(t *testing.T) {
	sites := []string{"site-a", "site-b", "site-c"}
	job := secureJob(sites...)
	job.Strategy = coordinator.StrategySpec{Name: coordinator.StrategyFedBN, LocalOnly: []string{`^norm\.`}}
	job.Train = coordinator.TrainSpec{LocalSteps: 5, BatchSize: 16, LearningRate: 0.1}
	sc := startSecure(t, sites, job)
	trs := logregSites(t, true, sites...)
	for _, s := range sites {
		sc.agent(s, trs[s], siteagent.DefaultPrivacyConfig())
	}
	if st := wait(t, sc.co.c, "sj"); st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	g, _ := sc.co.c.Global("sj")
	ns, _ := g.Get(logreg.NormWeightName)
	for _, v := range ns.Data {
		if v != 1 {
			t.Fatalf("global norm layer changed: %v", ns.Data)
		}
	}
	rounds, _ := sc.co.c.Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; len(sum.Accepted) != 3 {
		t.Fatalf("round summary %+v", sum)
	}
}

// TestSiteRefusesPlaintextTraining: a site whose policy requires secure
// aggregation refuses the train task of a plain job and says so; the round
// completes with the two other sites.
func TestSiteRefusesPlaintextTraining(t *testing.T) {
	sites := []string{"site-a", "site-b", "site-c"}
	job := secureJob(sites...)
	off := false
	job.SecureAggregation = &off
	sc := startSecure(t, sites, job)
	trs := threeTrainers()
	strict := siteagent.DefaultPrivacyConfig()
	strict.RequireSecureAggregation = true
	sc.agent("site-a", trs["site-a"], siteagent.DefaultPrivacyConfig())
	sc.agent("site-b", trs["site-b"], siteagent.DefaultPrivacyConfig())
	sc.agent("site-c", trs["site-c"], strict)
	if st := wait(t, sc.co.c, "sj"); st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	rounds, _ := sc.co.c.Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; strings.Join(sum.Accepted, ",") != "site-a,site-b" {
		t.Fatalf("round summary %+v", sum)
	}
	log, _ := sc.co.c.AuditLog()
	found := false
	for _, e := range log {
		found = found || e.Site == "site-c" && strings.Contains(e.Detail, "requires secure aggregation")
	}
	if !found {
		t.Fatalf("no audit entry for site-c's refusal: %+v", log)
	}
}
