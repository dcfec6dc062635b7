package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/secagg/secaggtest"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/cluster"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// GRPCStats compares whole rounds over loopback gRPC: the real coordinator
// and n real site agents in this process, mTLS from provisioned kits on
// 127.0.0.1. With the instant workload each site "trains" at once (global +
// a fixed update), so that the round time is transport, aggregation and,
// for the secure round, crypto/secagg; with the trained workload each site
// runs real local steps of a 1M-parameter classifier first, as in a real
// FedAvg round. Plain and secure jobs alternate on the same cluster.
type GRPCStats struct {
	Scenario  string `json:"scenario"`
	Transport string `json:"transport"`
	// Workload is what a site does between download and upload: "instant"
	// or the classifier's local training.
	Workload string `json:"workload"`
	// Neighbours is the SecAgg+ degree (0: complete graph).
	Neighbours int `json:"neighbours"`
	Sites      int `json:"sites"`
	Params     int `json:"params"`
	Reps       int `json:"reps"`
	// PlainRoundS and SecureRoundS are median round times (select to
	// commit) of a plain FedAvg round and a secure one.
	PlainRoundS  float64 `json:"plain_round_s"`
	SecureRoundS float64 `json:"secure_round_s"`
	// Ratio is SecureRoundS / PlainRoundS; AddedS their difference.
	Ratio  float64 `json:"ratio"`
	AddedS float64 `json:"added_s"`
	// PairedRatios are each repetition's secure round time over the plain
	// round run just before it.
	PairedRatios []float64 `json:"paired_ratios"`
	// TenPercentRoundS is the shortest whole round (local training
	// included) to which the added time is at most 10%: AddedS / 0.1.
	TenPercentRoundS float64 `json:"ten_percent_round_s"`
	// SecurePhasesS are the median durations of the secure round's phases
	// (the masked-input phase includes download, training and upload).
	SecurePhasesS map[string]float64 `json:"secure_phases_s"`
	// PlainS and SecureS are every repetition's round time.
	PlainS  []float64 `json:"plain_s"`
	SecureS []float64 `json:"secure_s"`
	// PlainCPUS and SecureCPUS are the median process CPU time of a round
	// (every party together), which other programs' load does not inflate;
	// CPURatio is their ratio.
	PlainCPUS  float64 `json:"plain_cpu_s"`
	SecureCPUS float64 `json:"secure_cpu_s"`
	CPURatio   float64 `json:"cpu_ratio"`
	// MaxMeanDifference is the largest |secure - plain| element of the two
	// jobs' global models after the round (the fixed-point error).
	MaxMeanDifference float64 `json:"max_mean_difference"`
}

// grpcCluster is one provisioned consortium with its coordinator and agents
// (sims/cluster over loopback TCP with mTLS kits).
type grpcCluster struct {
	dir    string
	c      *cluster.Cluster
	co     *coordinator.Coordinator
	mu     sync.Mutex
	rounds map[string]coordinator.RoundSummary // job -> round 1
	cpu0   map[string]time.Duration            // job -> process CPU at round 0's commit
	cpu    map[string]time.Duration            // job -> process CPU of round 1
	onJob  func(job string)
}

// grpcVariant is one way of aggregating a round: plain, or secure with the
// complete graph or the SecAgg+ graph of degree k.
type grpcVariant struct {
	name string
	k    int
}

// variants lists plain first, then the secure ways for n sites.
func variants(n int, sparse bool) []grpcVariant {
	out := []grpcVariant{{"plain", -1}, {"secagg", 0}}
	if sparse && n > 20 {
		out = append(out, grpcVariant{"secagg+", 2 * int(math.Ceil(math.Log2(float64(n))))})
	}
	return out
}

func jobID(v grpcVariant, rep int) string {
	name := strings.ReplaceAll(v.name, "+", "plus")
	if rep == warmupRep {
		return "warmup-" + name
	}
	return fmt.Sprintf("%s-%d", name, rep)
}

// warmupRep is the repetition index of the unmeasured first job of each
// variant, which pays the cluster's cold start (first connections and
// allocations) that would otherwise be billed to the first plain round.
const warmupRep = -1

// benchJobs runs one unmeasured warm-up job per variant, then interleaves
// the variants' one-round jobs, repetition by repetition.
func benchJobs(sites []string, reps int, vs []grpcVariant, wl workload) []coordinator.JobSpec {
	var out []coordinator.JobSpec
	for r := warmupRep; r < reps; r++ {
		for _, v := range vs {
			j := coordinator.DefaultJobSpec()
			j.ID = jobID(v, r)
			on := v.k >= 0
			j.SecureAggregation = &on
			j.Sites, j.Rounds, j.Quorum, j.MaxAttempts = sites, 1, len(sites), 1
			j.Model = wl.model()
			if wl.trained() {
				j.Train = coordinator.TrainSpec{LocalSteps: wl.steps, BatchSize: trainedBatch}
			}
			j.SecAgg.MaxWeight, j.SecAgg.SparseAbove = 1000, 0
			if v.k > 0 {
				j.SecAgg.SparseAbove, j.SecAgg.Neighbours = 1, v.k
			}
			j.Deadlines = coordinator.Deadlines{Select: coordinator.Duration(2 * time.Minute), Init: coordinator.Duration(5 * time.Minute), Train: coordinator.Duration(10 * time.Minute)}
			out = append(out, j)
		}
	}
	return out
}

// startGRPC starts n sites and the coordinator with every job queued: a
// cluster over loopback TCP with mTLS kits and secure aggregation, the
// coordinator's default heartbeats, and no per-round evaluation.
func startGRPC(n, reps int, vs []grpcVariant, wl workload) (*grpcCluster, error) {
	dir, err := os.MkdirTemp("", "cryptobench-")
	if err != nil {
		return nil, err
	}
	gc := &grpcCluster{dir: dir, rounds: map[string]coordinator.RoundSummary{}, cpu0: map[string]time.Duration{}, cpu: map[string]time.Duration{}}
	sites := make([]string, n)
	for i := range sites {
		sites[i] = fmt.Sprintf("site-%03d", i)
	}
	jobs := benchJobs(sites, reps, vs, wl)
	cfg := cluster.DefaultConfig()
	cfg.Sites, cfg.Names, cfg.Transport, cfg.TLS, cfg.Job = n, sites, "tcp", true, jobs[0]
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = coordinator.DefaultConfig().HeartbeatInterval, coordinator.Duration(time.Minute)
	opts := cluster.Options{OnCommit: gc.commit,
		Trainers: func(i int, _ string) (map[string]model.Trainer, error) {
			tr, err := wl.trainer(i)
			return map[string]model.Trainer{wl.model(): tr}, err
		},
		Coordinator: func(cc *coordinator.Config, _ *coordinator.Options) { cc.Jobs = jobs },
		Agent:       func(_ int, ac *siteagent.Config) { ac.EvaluateGlobal = false }}
	if gc.c, err = cluster.Start(context.Background(), cfg, dir, opts); err != nil {
		return gc, err
	}
	gc.co = gc.c.Coordinator()
	return gc, nil
}

// commit records round 1 of each job (OnCommit, coordinator goroutine).
func (gc *grpcCluster) commit(s coordinator.RoundSummary) {
	now := secaggtest.ProcessCPUTime()
	gc.mu.Lock()
	if s.Round == 0 {
		gc.cpu0[s.Job] = now
		gc.mu.Unlock()
		return
	}
	gc.rounds[s.Job], gc.cpu[s.Job] = s, now-gc.cpu0[s.Job]
	hook := gc.onJob
	gc.mu.Unlock()
	if hook != nil {
		hook(s.Job)
	}
}

func (gc *grpcCluster) close() {
	if gc.c != nil {
		_ = gc.c.Close()
	}
	os.RemoveAll(gc.dir)
}

// runGRPC measures plain and secure rounds over loopback gRPC for n sites
// (SecAgg+ too above 20 sites when sparse); with profile set, the last
// secure round with the complete graph is CPU-profiled into it.
func runGRPC(n, reps int, sparse bool, wl workload, profile string) ([]GRPCStats, error) {
	runtime.GC()
	vs := variants(n, sparse)
	gc, err := startGRPC(n, reps, vs, wl)
	defer gc.close()
	if err != nil {
		return nil, err
	}
	if profile != "" {
		gc.onJob = profileLast(profile, reps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration((reps+1)*len(vs))*10*time.Minute)
	defer cancel()
	for r := warmupRep; r < reps; r++ {
		for _, v := range vs {
			st, err := gc.co.Wait(ctx, jobID(v, r))
			if err != nil {
				return nil, err
			}
			if st.State != coordinator.JobDone {
				return nil, fmt.Errorf("job %s: %s %s", jobID(v, r), st.State, st.Err)
			}
		}
	}
	var out []GRPCStats
	for _, v := range vs[1:] {
		st, err := gc.stats(n, reps, v, wl)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// profileLast CPU-profiles from the commit of the last plain round to the
// commit of the last secure round with the complete graph.
func profileLast(path string, reps int) func(string) {
	var f *os.File
	return func(job string) {
		switch job {
		case fmt.Sprintf("plain-%d", reps-1):
			var err error
			if f, err = os.Create(path); err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "cryptobench: profile:", err)
				f = nil
			}
		case fmt.Sprintf("secagg-%d", reps-1):
			if f != nil {
				pprof.StopCPUProfile()
				f.Close()
			}
		}
	}
}

func (gc *grpcCluster) stats(n, reps int, v grpcVariant, wl workload) (GRPCStats, error) {
	st := GRPCStats{Scenario: v.name, Transport: "loopback-grpc-mtls", Workload: wl.label(), Neighbours: v.k, Sites: n, Reps: reps,
		SecurePhasesS: map[string]float64{}}
	phases := map[string][]time.Duration{}
	var plain, secure, plainCPU, secureCPU []time.Duration
	gc.mu.Lock()
	for r := 0; r < reps; r++ {
		p, s := gc.rounds[fmt.Sprintf("plain-%d", r)], gc.rounds[jobID(v, r)]
		if len(p.Accepted) != n || len(s.Accepted) != n {
			gc.mu.Unlock()
			return st, fmt.Errorf("rep %d: %d and %d sites in the plain and secure sums, want %d", r, len(p.Accepted), len(s.Accepted), n)
		}
		plain, secure = append(plain, p.Finished.Sub(p.Started)), append(secure, s.Finished.Sub(s.Started))
		plainCPU, secureCPU = append(plainCPU, gc.cpu[fmt.Sprintf("plain-%d", r)]), append(secureCPU, gc.cpu[jobID(v, r)])
		for k, v := range s.Metrics {
			if strings.HasPrefix(k, "secagg_") && strings.HasSuffix(k, "_s") {
				phases[k] = append(phases[k], time.Duration(v*float64(time.Second)))
			}
		}
	}
	gc.mu.Unlock()
	for _, d := range plain {
		st.PlainS = append(st.PlainS, d.Seconds())
	}
	for i, d := range secure {
		st.SecureS = append(st.SecureS, d.Seconds())
		st.PairedRatios = append(st.PairedRatios, d.Seconds()/plain[i].Seconds())
	}
	st.PlainRoundS, st.SecureRoundS = median(plain).Seconds(), median(secure).Seconds()
	st.Ratio, st.AddedS = st.SecureRoundS/st.PlainRoundS, st.SecureRoundS-st.PlainRoundS
	st.TenPercentRoundS = max(st.AddedS, 0) / 0.10
	st.PlainCPUS, st.SecureCPUS = median(plainCPU).Seconds(), median(secureCPU).Seconds()
	st.CPURatio = st.SecureCPUS / st.PlainCPUS
	for k, ds := range phases {
		st.SecurePhasesS[strings.TrimSuffix(strings.TrimPrefix(k, "secagg_"), "_s")] = median(ds).Seconds()
	}
	pg, err := gc.co.Global("plain-0")
	if err != nil {
		return st, err
	}
	sg, err := gc.co.Global(jobID(v, 0))
	if err != nil {
		return st, err
	}
	a, b := pg.Flatten(), sg.Flatten()
	st.Params = len(a)
	for i := range a {
		st.MaxMeanDifference = math.Max(st.MaxMeanDifference, math.Abs(float64(a[i]-b[i])))
	}
	if st.MaxMeanDifference > 1e-4 {
		return st, fmt.Errorf("secure global differs from the plain one by %g", st.MaxMeanDifference)
	}
	return st, nil
}

func printGRPC(s GRPCStats) {
	fmt.Printf("n=%-3d %-8s k=%-2d %s params=%d reps=%d sites train: %s\n", s.Sites, s.Scenario, s.Neighbours, s.Transport, s.Params, s.Reps, s.Workload)
	fmt.Printf("    round (median):  plain %7.3fs  secure %7.3fs  (x%.2f, +%.3fs; within 10%% for rounds >= %.1fs)\n",
		s.PlainRoundS, s.SecureRoundS, s.Ratio, s.AddedS, s.TenPercentRoundS)
	fmt.Printf("    paired ratios:   %s\n", ratios(s.PairedRatios))
	fmt.Printf("    process CPU:     plain %7.3fs  secure %7.3fs  (x%.2f; all parties together)\n", s.PlainCPUS, s.SecureCPUS, s.CPURatio)
	keys := make([]string, 0, len(s.SecurePhasesS))
	for k := range s.SecurePhasesS {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return phaseOrder(keys[a]) < phaseOrder(keys[b]) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.3fs", k, s.SecurePhasesS[k]))
	}
	fmt.Printf("    secure phases:   %s\n", strings.Join(parts, ", "))
	fmt.Printf("    max |secure - plain| of the new global model: %.2g\n", s.MaxMeanDifference)
}

func phaseOrder(k string) int {
	return slices.Index([]string{"advertise", "share-keys", "masked-input", "consistency", "unmask"}, k)
}
