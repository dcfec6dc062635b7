package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/crypto/secagg/secaggtest"
)

// Workload is one round's inputs, shared by every scenario.
type Workload struct {
	N, Params int
	Updates   [][]float32
	Weights   []float64
	Sites     []secaggtest.Site
	Verify    secagg.IdentityVerifier
}

// Timing is one round's measurement.
type Timing struct {
	// Wall is the whole round run serially in this process.
	Wall time.Duration
	// Critical is the round if sites ran in parallel and the network were
	// free: the slowest site of each phase plus the aggregator.
	Critical   time.Duration
	Aggregator time.Duration
	SiteMax    time.Duration
	// The same in process CPU time, which other programs' load does not
	// inflate.
	CriticalCPU, AggregatorCPU, SiteMaxCPU time.Duration
	Bytes                                  int64
	// Mean is the round's output, to check scenarios agree.
	Mean []float32
}

// Scenario is one way of running a round. New transports (loopback gRPC)
// implement it and are added to scenarios.
type Scenario interface {
	// Name identifies the scenario in the report.
	Name() string
	// Transport says how messages travel ("inproc": encoded and decoded,
	// handed over in memory).
	Transport() string
	// Neighbours is the SecAgg+ degree (0: complete graph or no secagg).
	Neighbours() int
	// Run plays one round.
	Run(w *Workload) (Timing, error)
}

// scenarios lists the secure scenarios for n sites; each is measured
// against the plain baseline in the same repetitions.
func scenarios(n int, sparse bool) []Scenario {
	out := []Scenario{inprocSecure{}}
	if sparse && n > 20 {
		k := 2 * int(math.Ceil(math.Log2(float64(n))))
		out = append(out, inprocSecure{k: k})
	}
	return out
}

// newWorkload draws n random updates with sample-count weights.
func newWorkload(n, params int) *Workload {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(params)))
	w := &Workload{N: n, Params: params}
	w.Sites, w.Verify = secaggtest.NewSites(n, 1)
	for i := 0; i < n; i++ {
		u := make([]float32, params)
		for j := range u {
			u[j] = float32(rng.Float64() - 0.5)
		}
		w.Updates = append(w.Updates, u)
		w.Weights = append(w.Weights, float64(100+rng.IntN(900)))
	}
	return w
}

// inprocPlain is the baseline: each site encodes its float32 update as
// little-endian bytes; the aggregator decodes them and computes the
// weighted mean (FedAvg).
type inprocPlain struct{}

func (inprocPlain) Name() string      { return "plain-fedavg" }
func (inprocPlain) Transport() string { return "inproc" }
func (inprocPlain) Neighbours() int   { return 0 }

func (inprocPlain) Run(w *Workload) (Timing, error) {
	var t Timing
	start := time.Now()
	msgs := make([][]byte, w.N)
	for i, u := range w.Updates {
		t0, c0 := time.Now(), secaggtest.ProcessCPUTime()
		b := make([]byte, 4*len(u))
		for j, x := range u {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		msgs[i] = b
		t.SiteMax = max(t.SiteMax, time.Since(t0))
		t.SiteMaxCPU = max(t.SiteMaxCPU, secaggtest.ProcessCPUTime()-c0)
		t.Bytes += int64(len(b))
	}
	t0, c0 := time.Now(), secaggtest.ProcessCPUTime()
	sum := make([]float64, w.Params)
	var wsum float64
	for i, b := range msgs {
		wi := w.Weights[i]
		for j := range sum {
			sum[j] += wi * float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:])))
		}
		wsum += wi
	}
	t.Mean = make([]float32, w.Params)
	for j, s := range sum {
		t.Mean[j] = float32(s / wsum)
	}
	t.Aggregator = time.Since(t0)
	t.AggregatorCPU = secaggtest.ProcessCPUTime() - c0
	t.Wall = time.Since(start)
	t.Critical = t.SiteMax + t.Aggregator
	t.CriticalCPU = t.SiteMaxCPU + t.AggregatorCPU
	return t, nil
}

// inprocSecure runs crypto/secagg's state machines in this process, every
// message encoded and decoded; k > 0 selects the SecAgg+ graph of degree k.
type inprocSecure struct{ k int }

func (s inprocSecure) Name() string {
	if s.k > 0 {
		return "secagg+"
	}
	return "secagg"
}
func (inprocSecure) Transport() string { return "inproc" }
func (s inprocSecure) Neighbours() int { return s.k }

func (s inprocSecure) Run(w *Workload) (Timing, error) {
	cfg := secagg.DefaultConfig()
	cfg.MaxWeight, cfg.Clip = 1000, 1
	if s.k > 0 {
		cfg.SparseAbove, cfg.Neighbours = 1, s.k
	} else {
		cfg.SparseAbove = 0
	}
	p, err := cfg.Params(w.N, w.Params)
	if err != nil {
		return Timing{}, err
	}
	ctx := secagg.Context{Session: "bench", Round: 1, Roster: secaggtest.Roster(w.Sites), Params: p}
	inputs := map[string]secagg.Input{}
	for i, site := range w.Sites {
		in, err := secagg.PreScale(w.Updates[i], w.Weights[i], p)
		if err != nil {
			return Timing{}, err
		}
		inputs[site.ID] = in
	}
	start := time.Now()
	out, err := secaggtest.Run(secaggtest.Round{Context: ctx, Sites: w.Sites, Verify: w.Verify, Inputs: inputs})
	wall := time.Since(start)
	if err != nil {
		return Timing{}, err
	}
	if out.Err != nil {
		return Timing{}, fmt.Errorf("round failed: %w", out.Err)
	}
	for id, e := range out.SiteErrs {
		return Timing{}, fmt.Errorf("site %s: %w", id, e)
	}
	tm := out.Timing
	return Timing{Wall: wall, Critical: tm.CriticalPath(), Aggregator: tm.Aggregator, SiteMax: tm.SiteMax,
		CriticalCPU: tm.CriticalPathCPU(), AggregatorCPU: tm.AggregatorCPU, SiteMaxCPU: tm.SiteMaxCPU,
		Bytes: tm.Bytes, Mean: out.Result.Mean}, nil
}
