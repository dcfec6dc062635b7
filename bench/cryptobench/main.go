// Command cryptobench measures the cost of secure aggregation: mask
// expansion throughput, and whole rounds with crypto/secagg against a plain
// FedAvg sum, for several roster sizes. It prints a table and writes JSON.
//
// Each way of running a round is a scenario (see scenario.go); the
// in-process ones run every party's state machine in this process. The
// loopback-gRPC measurement (grpc.go) runs the real coordinator and site
// agents over mTLS on 127.0.0.1 and times whole rounds, secure against
// plain FedAvg, with the secure round's phase times and an optional CPU
// profile of one secure round.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// Report is the JSON written to -out.
type Report struct {
	Host          Host         `json:"host"`
	Params        int          `json:"params"`
	Reps          int          `json:"reps"`
	MaskExpansion MaskResult   `json:"mask_expansion"`
	Rounds        []RoundStats `json:"rounds"`
	GRPCRounds    []GRPCStats  `json:"grpc_rounds,omitempty"`
	Goal          string       `json:"goal"`
	Notes         []string     `json:"notes"`
}

// Host describes the machine.
type Host struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	Time       string `json:"time"`
}

func main() {
	out := flag.String("out", "bench/out/crypto.json", "JSON report path")
	params := flag.Int("params", 1_000_000, "model parameters per update")
	sitesFlag := flag.String("sites", "10,50", "roster sizes, comma-separated")
	reps := flag.Int("reps", 3, "repetitions per measurement (medians are reported)")
	maskMB := flag.Int("mask-mb", 64, "megabytes of mask stream per throughput repetition")
	sparse := flag.Bool("sparse", true, "also run SecAgg+ (k-regular graph) for rosters above 20 sites")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the in-process round measurements to this file")
	grpcSites := flag.String("grpc-sites", "", "roster sizes of the loopback-gRPC rounds (default: -sites; \"none\" skips them)")
	grpcReps := flag.Int("grpc-reps", 0, "repetitions of the loopback-gRPC rounds (default: -reps)")
	grpcProfile := flag.String("grpc-profile", "", "CPU-profile the last secure loopback-gRPC round of the largest roster into this file")
	trainSteps := flag.Int("train-steps", 0, "also run loopback-gRPC rounds in which every site first runs this many real local steps of a 1M-parameter classifier (0: none)")
	trainSites := flag.String("train-sites", "", "roster sizes of the trained rounds (default: -grpc-sites)")
	trainReps := flag.Int("train-reps", 3, "repetitions of the trained rounds")
	flag.Parse()
	sites, err := parseInts(*sitesFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cryptobench:", err)
		os.Exit(2)
	}
	rep := Report{
		Host: Host{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(),
			GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), Time: time.Now().UTC().Format(time.RFC3339)},
		Params: *params, Reps: *reps,
		Goal: "secure aggregation adds at most 10% to round time",
	}
	rep.MaskExpansion = measureMasks(*maskMB<<20, *reps)
	printMasks(rep.MaskExpansion)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cryptobench:", err)
			os.Exit(1)
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for _, n := range sites {
		for _, sc := range scenarios(n, *sparse) {
			st, err := runScenario(sc, n, *params, *reps)
			if err != nil {
				fmt.Fprintf(os.Stderr, "cryptobench: %s n=%d: %v\n", sc.Name(), n, err)
				os.Exit(1)
			}
			rep.Rounds = append(rep.Rounds, st)
			printRound(st)
		}
	}
	pprof.StopCPUProfile()
	if *grpcSites == "" {
		*grpcSites = *sitesFlag
	}
	if *grpcReps <= 0 {
		*grpcReps = *reps
	}
	if *trainSites == "" {
		*trainSites = *grpcSites
	}
	err = runGRPCAll(&rep, *grpcSites, workload{params: *params}, *grpcReps, *sparse, *grpcProfile)
	if err == nil && *trainSteps > 0 {
		err = runGRPCAll(&rep, *trainSites, trainedWorkload(*trainSteps), max(*trainReps, 1), *sparse, "")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cryptobench:", err)
		os.Exit(1)
	}
	rep.Notes = notes(rep)
	for _, n := range rep.Notes {
		fmt.Println("note:", n)
	}
	if err := writeJSON(*out, rep); err != nil {
		fmt.Fprintln(os.Stderr, "cryptobench:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}

// runGRPCAll runs the loopback-gRPC measurement of workload wl for each
// roster size in sitesFlag ("none": no roster).
func runGRPCAll(rep *Report, sitesFlag string, wl workload, reps int, sparse bool, profile string) error {
	if sitesFlag == "none" {
		return nil
	}
	sites, err := parseInts(sitesFlag)
	if err != nil {
		return err
	}
	for i, n := range sites {
		prof := ""
		if i == len(sites)-1 {
			prof = profile
		}
		sts, err := runGRPC(n, reps, sparse, wl, prof)
		if err != nil {
			return fmt.Errorf("loopback gRPC n=%d (%s): %w", n, wl.label(), err)
		}
		for _, st := range sts {
			rep.GRPCRounds = append(rep.GRPCRounds, st)
			printGRPC(st)
		}
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("-sites %q: want integers >= 2", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
