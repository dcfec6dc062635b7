package main

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"
)

// RoundStats compares one secure scenario with the plain baseline measured
// in the same repetitions (medians over reps).
type RoundStats struct {
	Scenario   string `json:"scenario"`
	Transport  string `json:"transport"`
	Sites      int    `json:"sites"`
	Params     int    `json:"params"`
	Neighbours int    `json:"neighbours"`
	// Serial wall time of the whole round in one process.
	PlainWallS  float64 `json:"plain_wall_s"`
	SecureWallS float64 `json:"secure_wall_s"`
	// Critical path: sites in parallel, free network.
	PlainCriticalS  float64 `json:"plain_critical_s"`
	SecureCriticalS float64 `json:"secure_critical_s"`
	// Aggregator-only and slowest-site time of the secure round.
	SecureAggregatorS float64 `json:"secure_aggregator_s"`
	SecureSiteMaxS    float64 `json:"secure_site_max_s"`
	// Critical path and its parts in CPU time (robust to other load).
	PlainCriticalCPUS    float64 `json:"plain_critical_cpu_s"`
	SecureCriticalCPUS   float64 `json:"secure_critical_cpu_s"`
	SecureAggregatorCPUS float64 `json:"secure_aggregator_cpu_s"`
	SecureSiteMaxCPUS    float64 `json:"secure_site_max_cpu_s"`
	// Added critical-path time (wall, and CPU), and the shortest round for
	// which the added CPU time stays within 10%.
	AddedCriticalS    float64 `json:"added_critical_s"`
	AddedCriticalCPUS float64 `json:"added_critical_cpu_s"`
	TenPercentRoundS  float64 `json:"ten_percent_round_s"`
	PlainMB           float64 `json:"plain_mb"`
	SecureMB          float64 `json:"secure_mb"`
	MaxMeanDifference float64 `json:"max_mean_difference"`
}

func runScenario(sc Scenario, n, params, reps int) (RoundStats, error) {
	w := newWorkload(n, params)
	var pw, sw, pc, sc2, sa, ss, pcc, scc, sac, ssc []time.Duration
	var plain, secure Timing
	for r := 0; r < reps; r++ {
		var err error
		runtime.GC()
		if plain, err = (inprocPlain{}).Run(w); err != nil {
			return RoundStats{}, err
		}
		runtime.GC()
		if secure, err = sc.Run(w); err != nil {
			return RoundStats{}, err
		}
		pw, pc = append(pw, plain.Wall), append(pc, plain.Critical)
		sw, sc2 = append(sw, secure.Wall), append(sc2, secure.Critical)
		sa, ss = append(sa, secure.Aggregator), append(ss, secure.SiteMax)
		pcc, scc = append(pcc, plain.CriticalCPU), append(scc, secure.CriticalCPU)
		sac, ssc = append(sac, secure.AggregatorCPU), append(ssc, secure.SiteMaxCPU)
	}
	st := RoundStats{Scenario: sc.Name(), Transport: sc.Transport(), Sites: n, Params: params, Neighbours: sc.Neighbours(),
		PlainWallS: median(pw).Seconds(), SecureWallS: median(sw).Seconds(),
		PlainCriticalS: median(pc).Seconds(), SecureCriticalS: median(sc2).Seconds(),
		SecureAggregatorS: median(sa).Seconds(), SecureSiteMaxS: median(ss).Seconds(),
		PlainMB: float64(plain.Bytes) / 1e6, SecureMB: float64(secure.Bytes) / 1e6}
	st.PlainCriticalCPUS, st.SecureCriticalCPUS = median(pcc).Seconds(), median(scc).Seconds()
	st.SecureAggregatorCPUS, st.SecureSiteMaxCPUS = median(sac).Seconds(), median(ssc).Seconds()
	st.AddedCriticalS = st.SecureCriticalS - st.PlainCriticalS
	st.AddedCriticalCPUS = st.SecureCriticalCPUS - st.PlainCriticalCPUS
	st.TenPercentRoundS = max(st.AddedCriticalCPUS, 0) / 0.10
	for i := range plain.Mean {
		st.MaxMeanDifference = math.Max(st.MaxMeanDifference, math.Abs(float64(plain.Mean[i]-secure.Mean[i])))
	}
	if st.MaxMeanDifference > 1e-4 {
		return st, fmt.Errorf("secure mean differs from the plain mean by %g", st.MaxMeanDifference)
	}
	return st, nil
}

func printRound(s RoundStats) {
	fmt.Printf("n=%-3d %-8s k=%-2d params=%d\n", s.Sites, s.Scenario, s.Neighbours, s.Params)
	fmt.Printf("    serial wall:         plain %7.3fs  secure %7.3fs  (x%.1f)\n", s.PlainWallS, s.SecureWallS, s.SecureWallS/s.PlainWallS)
	fmt.Printf("    critical path wall:  plain %7.3fs  secure %7.3fs  (+%.3fs; aggregator %.3fs, slowest sites %.3fs)\n",
		s.PlainCriticalS, s.SecureCriticalS, s.AddedCriticalS, s.SecureAggregatorS, s.SecureSiteMaxS)
	fmt.Printf("    critical path CPU:   plain %7.3fs  secure %7.3fs  (+%.3fs; aggregator %.3fs, slowest sites %.3fs)\n",
		s.PlainCriticalCPUS, s.SecureCriticalCPUS, s.AddedCriticalCPUS, s.SecureAggregatorCPUS, s.SecureSiteMaxCPUS)
	fmt.Printf("    within 10%% of the round time for rounds >= %.1fs; traffic %.0f MB vs %.0f MB; max |mean diff| %.2g\n",
		s.TenPercentRoundS, s.PlainMB, s.SecureMB, s.MaxMeanDifference)
}

// notes explains how to read the numbers against the 10% goal.
func notes(r Report) []string {
	out := []string{
		"in-process: every party runs in this one process, one after another; 'serial wall' is that total, 'critical path' sums the slowest site of each phase and the aggregator (sites in parallel, network free)",
		"CPU figures use the process CPU clock, which other programs on the machine do not inflate; wall figures do include that load",
		"the 10% goal applies to a whole round, local training included: ten_percent_round_s is the shortest round for which the added critical-path CPU time stays within 10%",
	}
	instant := false
	for _, g := range r.GRPCRounds {
		if g.Workload == "instant" {
			instant = true
			out = append(out, fmt.Sprintf("loopback gRPC, %d sites, %s, instant training: a secure round takes %.2fx a plain FedAvg round (+%.2fs); the 10%% goal holds only for whole rounds (local training included) of at least %.1fs",
				g.Sites, g.Scenario, g.Ratio, g.AddedS, g.TenPercentRoundS))
			continue
		}
		out = append(out, fmt.Sprintf("loopback gRPC, %d sites, %s, %s: a secure round takes %.2fx a plain FedAvg round (paired per repetition: %s); goal %s",
			g.Sites, g.Scenario, g.Workload, g.Ratio, ratios(g.PairedRatios), met(g.Ratio <= 1.10)))
	}
	if instant {
		out = append(out, "loopback gRPC: the real coordinator and agents in one process over mTLS on 127.0.0.1; with instant training the times are transport, aggregation and crypto only; all sites and the coordinator share this machine's CPUs, whereas in a deployment each site computes its masks on its own machine in parallel")
	}
	if r.Host.CPUs <= 2 {
		out = append(out, fmt.Sprintf("machine has %d CPUs shared with other work: timings are noisy; plain and secure are interleaved per repetition", r.Host.CPUs))
	}
	return out
}

func ratios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.3f", r)
	}
	return strings.Join(parts, " ")
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
