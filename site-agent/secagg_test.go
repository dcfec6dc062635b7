package siteagent_test

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/sims/cluster"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

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

// secureCluster is a consortium with mTLS from provisioned kits and
// secure aggregation on, over bufconn.
type secureCluster struct {
	*cluster.Cluster
	t *testing.T
}

func secureJob() coordinator.JobSpec {
	j := baseJob("sj")
	j.Rounds, j.MaxAttempts = 1, 1
	j.SecAgg.MaxWeight = 1000
	return j
}

// startSecure starts the sites of trs with their privacy policies (the
// default for a site not in priv).
func startSecure(t *testing.T, job coordinator.JobSpec, trs map[string]model.Trainer, priv map[string]siteagent.PrivacyConfig) *secureCluster {
	t.Helper()
	sites := slices.Sorted(maps.Keys(trs))
	cfg := localCluster(job, sites...)
	cfg.TLS = true
	c := start(t, cfg, cluster.Options{Trainers: trainers(trs), Agent: func(i int, ac *siteagent.Config) {
		ac.EvaluateGlobal = false
		if p, ok := priv[sites[i]]; ok {
			ac.Privacy = p
		}
	}})
	return &secureCluster{Cluster: c, t: t}
}

// runner returns site's secure runner.
func (sc *secureCluster) runner(site string) *siteagent.SecureRunner {
	_, r := sc.Agent(sc.Index(site))
	return r.(*siteagent.SecureRunner)
}

// kill stops site's agent, as a crash would.
func (sc *secureCluster) kill(site string) {
	if err := sc.StopAgent(sc.Index(site)); err != nil {
		sc.t.Log(err)
	}
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

// asTrainers lists fixed trainers as model trainers.
func asTrainers(trs map[string]*fixedTrainer) map[string]model.Trainer {
	out := map[string]model.Trainer{}
	for k, v := range trs {
		out[k] = v
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
	trs := threeTrainers()
	sc := startSecure(t, secureJob(), asTrainers(trs), nil)
	st := wait(t, sc.Coordinator(), "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	co := sc.Coordinator()
	g, _ := co.Global("sj")
	checkMean(t, g, fedavg(trs, sites...), 0.75)
	rounds, _ := co.Rounds("sj")
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
	trs := threeTrainers()
	victim := &fixedTrainer{block: make(chan struct{})}
	all := asTrainers(trs)
	all["site-b"] = victim
	sc := startSecure(t, secureJob(), all, nil)
	<-victim.block // site-b shared its keys and is training: kill it
	sc.kill("site-b")
	st := wait(t, sc.Coordinator(), "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	co := sc.Coordinator()
	g, _ := co.Global("sj")
	checkMean(t, g, fedavg(trs, "site-a", "site-c"), 0.5)
	rounds, _ := co.Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; strings.Join(sum.Accepted, ",") != "site-a,site-c" || sum.Metrics["secagg_dropped"] != 1 {
		t.Fatalf("round summary %+v", sum)
	}
}

func TestSecureRoundBelowThresholdFailsCleanly(t *testing.T) {
	trs := threeTrainers()
	v1, v2 := &fixedTrainer{block: make(chan struct{})}, &fixedTrainer{block: make(chan struct{})}
	sc := startSecure(t, secureJob(), map[string]model.Trainer{"site-a": trs["site-a"], "site-b": v1, "site-c": v2}, nil)
	<-v1.block
	<-v2.block
	sc.kill("site-b")
	sc.kill("site-c")
	st := wait(t, sc.Coordinator(), "sj")
	if st.State != coordinator.JobFailed || !strings.Contains(st.Err, "too few survivors") {
		t.Fatalf("job %+v, want failed for too few survivors", st)
	}
	if rounds, _ := sc.Coordinator().Rounds("sj"); len(rounds) != 1 {
		t.Fatalf("%d rounds committed, want only round 0", len(rounds))
	}
}

func TestPrivacyBudgetRefusal(t *testing.T) {
	job := secureJob()
	job.Privacy = coordinator.PrivacySpec{Enabled: true, ClipNorm: 1, NoiseMultiplier: 2}
	trs := threeTrainers()
	poor := siteagent.DefaultPrivacyConfig()
	poor.EpsilonBudget = 0.01
	sc := startSecure(t, job, asTrainers(trs), map[string]siteagent.PrivacyConfig{"site-c": poor})
	st := wait(t, sc.Coordinator(), "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	co := sc.Coordinator()
	log, _ := co.AuditLog()
	var refusal *coordinator.AuditEntry
	for i, e := range log {
		if e.Event == coordinator.EventDropout && e.Site == "site-c" {
			refusal = &log[i]
		}
	}
	if refusal == nil || refusal.Reason != string(coordinator.ReasonTaskRefused) || !strings.Contains(refusal.Detail, siteagent.RefuseBudget) {
		t.Fatalf("refusal in the audit log: %+v", refusal)
	}
	if rho, _ := sc.runner("site-c").Spent(); rho != 0 {
		t.Errorf("refusing site charged rho %v", rho)
	}
	if rho, eps := sc.runner("site-a").Spent(); !(rho > 0 && eps > 0) {
		t.Errorf("contributing site charged rho %v epsilon %v", rho, eps)
	}
	// The noise is there: std z*C/sum(weights) = 2/0.35 per element.
	g, _ := co.Global("sj")
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
	job := secureJob()
	job.Strategy = coordinator.StrategySpec{Name: coordinator.StrategyFedBN, LocalOnly: []string{`^norm\.`}}
	job.Train = coordinator.TrainSpec{LocalSteps: 5, BatchSize: 16, LearningRate: 0.1}
	sc := startSecure(t, job, logregSites(t, true, sites...), nil)
	if st := wait(t, sc.Coordinator(), "sj"); st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	co := sc.Coordinator()
	g, _ := co.Global("sj")
	ns, _ := g.Get(logreg.NormWeightName)
	for _, v := range ns.Data {
		if v != 1 {
			t.Fatalf("global norm layer changed: %v", ns.Data)
		}
	}
	rounds, _ := co.Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; len(sum.Accepted) != 3 {
		t.Fatalf("round summary %+v", sum)
	}
}

// TestSiteRefusesPlaintextTraining: a site whose policy requires secure
// aggregation refuses the train task of a plain job and says so; the round
// completes with the two other sites.
func TestSiteRefusesPlaintextTraining(t *testing.T) {
	job := secureJob()
	off := false
	job.SecureAggregation = &off
	strict := siteagent.DefaultPrivacyConfig()
	strict.RequireSecureAggregation = true
	sc := startSecure(t, job, asTrainers(threeTrainers()), map[string]siteagent.PrivacyConfig{"site-c": strict})
	if st := wait(t, sc.Coordinator(), "sj"); st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	co := sc.Coordinator()
	rounds, _ := co.Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; strings.Join(sum.Accepted, ",") != "site-a,site-b" {
		t.Fatalf("round summary %+v", sum)
	}
	log, _ := co.AuditLog()
	found := false
	for _, e := range log {
		found = found || e.Site == "site-c" && strings.Contains(e.Detail, "requires secure aggregation")
	}
	if !found {
		t.Fatalf("no audit entry for site-c's refusal: %+v", log)
	}
}
