// Command gpubench measures training and sampling on an OpenCL device
// against the CPU path (make bench-gpu) and writes bench/out/gpu.json: one
// row per case with the device's step time, the CPU path's step time and
// their ratio, images per second, and the convolutions' achieved FLOP/s
// against the device's FP32 peak (derived from its OpenCL device info; the
// row says how).
//
// Cases: the default DDPM U-Net at 32 and 64 px, the classifier at 64 px,
// DDIM sampling (10 steps) at 64 px, and the study-size 256-px U-Net
// (ddpm.StudyArch256) at a small batch. Each case runs on each path in a
// child process under a time budget: a case over budget is killed and
// reported as skipped with the reason, so the bench reports on pocl and
// does not fail there.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"
)

// options are the bench's flags.
type options struct {
	device  string
	path    string
	out     string
	cpu     string
	threads int
	budget  time.Duration
	steps   int
	cases   string
	batch   map[string]*int
	images  int
}

func main() {
	childCase := flag.String("child-case", "", "internal: run this case (JSON) and print its measurement")
	childDevice := flag.String("child-device", "", "internal: the child's OpenCL device (empty: the CPU path)")
	childPath := flag.String("child-path", pathResident, "internal: the child's device path")
	var o options
	flag.StringVar(&o.device, "device", envOr("GPU_DEVICE", "auto"), `device: "auto" (the first OpenCL GPU), "opencl:N" (pocl must be named), or "none" (CPU path only); env GPU_DEVICE`)
	flag.StringVar(&o.out, "out", "bench/out/gpu.json", "output JSON")
	flag.StringVar(&o.path, "device-path", pathResident, `how the device runs a step: "resident" (the compiled step keeps weights, optimiser state and activations on the device) or "per-op" (every model/nn op through device.Kernels, copying per op)`)
	flag.StringVar(&o.cpu, "cpu", "run", `the CPU path: "run" (measure it here), "embedded" (the figures measured on the 2-core CI machine, built in), or "off"`)
	flag.IntVar(&o.threads, "cpu-threads", 2, "GOMAXPROCS (model/nn threads) of the CPU path's run")
	flag.DurationVar(&o.budget, "budget", 240*time.Second, "time budget of each case on each path (build, warm-up and timed steps); over it the case is skipped")
	flag.IntVar(&o.steps, "steps", 2, "timed optimiser steps per training case (after one warm-up step)")
	flag.StringVar(&o.cases, "cases", "", "comma-separated case names to run (default: all)")
	o.batch = map[string]*int{}
	for _, c := range defaultCases() {
		o.batch[c.Name] = flag.Int("batch-"+c.Name, c.Batch, "batch size of case "+c.Name)
	}
	flag.IntVar(&o.images, "sample-images", 0, "images the sampling case draws after its warm-up batch (default: 2 batches)")
	flag.Parse()
	if *childCase != "" {
		os.Exit(child(*childCase, *childDevice, *childPath))
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// envOr returns $name, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// child measures one case and prints the measurement as one JSON line.
func child(caseJSON, spec, path string) int {
	var c caseSpec
	if err := json.Unmarshal([]byte(caseJSON), &c); err != nil {
		fmt.Fprintln(os.Stderr, "gpubench child:", err)
		return 2
	}
	m, err := measure(context.Background(), c, spec, path)
	if err != nil {
		m.Status, m.Reason = "failed", err.Error()
	}
	b, _ := json.Marshal(m)
	fmt.Println(string(b))
	return 0
}

// defaultCases are the cases at the batch sizes of its GPU goals
// (the 64-px DDPM at batch 64) and a small batch for the 256-px U-Net.
func defaultCases() []caseSpec {
	return []caseSpec{
		{Name: "ddpm-32", What: "DDPM training step, default U-Net, 32 px", Kind: kindDDPM, Arch: "default", Size: 32, Batch: 32},
		{Name: "ddpm-64", What: "DDPM training step, default U-Net, 64 px", Kind: kindDDPM, Arch: "default", Size: 64, Batch: 64},
		{Name: "classifier-64", What: "classifier training step, default architecture, 64 px", Kind: kindClassifier, Arch: "default", Size: 64, Batch: 64},
		{Name: "ddim-64", What: "DDIM sampling, 10 steps, no guidance, default U-Net, 64 px", Kind: kindDDIM, Arch: "default", Size: 64, Batch: 64, Steps: 10},
		{Name: "ddpm-256-study", What: "DDPM training step, study U-Net (base 128, mults [1,1,2,2,4,4], 2 res blocks, attention at 32/16/8), 256 px", Kind: kindDDPM, Arch: archStudy, Size: 256, Batch: 2},
	}
}

// selected returns the cases to run with the flags' batch sizes and steps.
func (o options) selected() ([]caseSpec, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(o.cases, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	all := len(want) == 0
	var out []caseSpec
	for _, c := range defaultCases() {
		if !all && !want[c.Name] {
			continue
		}
		delete(want, c.Name)
		c.Batch = *o.batch[c.Name]
		if c.Batch < 1 {
			return nil, fmt.Errorf("-batch-%s %d: want >= 1", c.Name, c.Batch)
		}
		if c.Kind == kindDDIM {
			c.Images = o.images
			if c.Images <= 0 {
				c.Images = 2 * c.Batch
			}
		} else {
			c.Steps = o.steps
		}
		out = append(out, c)
	}
	for n := range want {
		return nil, fmt.Errorf("-cases: unknown case %q", n)
	}
	return out, nil
}
