// Command modelbench times one model-engine case per process for
// bench/model.sh: it runs warm-up steps, then timed steps, and prints one
// JSON object with the median step time and the process's peak RSS, so that
// each case's memory is measured on its own.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"time"

	"github.com/synthfed/synthfed/model/nn"
)

// result is what bench/model.sh reads for one case.
type result struct {
	Name  string  `json:"name"`
	MS    float64 `json:"ms"`
	RSSMB float64 `json:"rss_mb"`
	// CPUMS is the median process CPU time (user+system) per step.
	CPUMS float64 `json:"cpu_ms"`
	Steps int     `json:"steps"`
	Note  string  `json:"note,omitempty"`
}

// benchCase builds a case and returns its step function. The step does
// one unit of work: a training step, or a batch of samples.
type benchCase struct {
	name  string
	build func() (step func() error, note string, err error)
}

func main() {
	name := flag.String("case", "", "case to run (see -list)")
	list := flag.Bool("list", false, "list the cases and exit")
	steps := flag.Int("steps", 10, "timed steps")
	warmup := flag.Int("warmup", 3, "untimed warm-up steps")
	threads := flag.Int("threads", 2, "kernel worker threads")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	flag.Parse()
	if *list {
		for _, c := range cases() {
			fmt.Println(c.name)
		}
		return
	}
	if err := nn.Configure(nn.Config{Threads: *threads}); err != nil {
		fail(err)
	}
	i := slices.IndexFunc(cases(), func(c benchCase) bool { return c.name == *name })
	if i < 0 {
		fail(fmt.Errorf("unknown case %q (see -list)", *name))
	}
	stop, err := startProfile(*cpuprofile)
	if err != nil {
		fail(err)
	}
	r, err := run(cases()[i], *warmup, *steps)
	stop()
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
}

// startProfile starts a CPU profile into path when it is set and returns
// the function that stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "modelbench:", err)
	os.Exit(1)
}

// run builds c, runs warm-up and timed steps and reports the median.
func run(c benchCase, warmup, steps int) (result, error) {
	step, note, err := c.build()
	if err != nil {
		return result{}, fmt.Errorf("%s: build: %w", c.name, err)
	}
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return result{}, fmt.Errorf("%s: warm-up step %d: %w", c.name, i, err)
		}
	}
	ts := make([]float64, 0, steps)
	cs := make([]float64, 0, steps)
	for i := 0; i < steps; i++ {
		c0 := cpuTime()
		t0 := time.Now()
		if err := step(); err != nil {
			return result{}, fmt.Errorf("%s: step %d: %w", c.name, i, err)
		}
		ts = append(ts, float64(time.Since(t0).Microseconds())/1e3)
		cs = append(cs, float64((cpuTime()-c0).Microseconds())/1e3)
	}
	sort.Float64s(ts)
	sort.Float64s(cs)
	rss, err := peakRSSMB()
	if err != nil {
		return result{}, err
	}
	return result{Name: c.name, MS: ts[len(ts)/2], CPUMS: cs[len(cs)/2], RSSMB: rss, Steps: steps, Note: note}, nil
}
