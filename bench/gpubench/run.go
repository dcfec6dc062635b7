package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/nn"
)

// report is gpu.json.
type report struct {
	Started     string  `json:"started"`
	Host        string  `json:"host"`
	CPUs        int     `json:"cpus"`
	LoadAverage float64 `json:"load_average_1m"`
	// DeviceSpec is the -device flag; Device the device it opened, or
	// DeviceNote why there is none.
	DeviceSpec string  `json:"device_spec"`
	Device     string  `json:"device,omitempty"`
	DeviceNote string  `json:"device_note,omitempty"`
	DevicePath string  `json:"device_path,omitempty"`
	PeakGFLOPS float64 `json:"fp32_peak_gflops,omitempty"`
	PeakHow    string  `json:"fp32_peak_derivation,omitempty"`
	// CPUPath is how the CPU figures were made.
	CPUPath       string  `json:"cpu_path"`
	BudgetSeconds float64 `json:"budget_seconds_per_case_and_path"`
	Rows          []row   `json:"rows"`
}

// row is one case on both paths.
type row struct {
	caseSpec
	Device *measurement `json:"device,omitempty"`
	CPU    *measurement `json:"cpu,omitempty"`
	// Speedup is the CPU path's step time over the device's.
	Speedup float64 `json:"cpu_step_over_device_step,omitempty"`
	// The device's FP32 peak (as in the report) and the convolutions'
	// achieved share of it: in the convolution calls, and over the
	// whole step.
	PeakGFLOPS           float64 `json:"fp32_peak_gflops,omitempty"`
	PeakHow              string  `json:"fp32_peak_derivation,omitempty"`
	ConvPeakFraction     float64 `json:"conv_fraction_of_peak,omitempty"`
	StepConvPeakFraction float64 `json:"step_conv_fraction_of_peak,omitempty"`
}

// cpuBaseline is the CPU path measured on the 2-core CI machine
// (OpenBLAS) at the default batch sizes, for -cpu embedded: the device
// check on a GPU machine compares against it rather than that machine's
// CPU.
//
//go:embed cpu_baseline.json
var cpuBaseline []byte

// run measures every selected case and writes o.out after each.
func run(o options) error {
	cases, err := o.selected()
	if err != nil {
		return err
	}
	if o.cpu != "run" && o.cpu != "embedded" && o.cpu != "off" {
		return fmt.Errorf("-cpu %q: want run, embedded or off", o.cpu)
	}
	if o.path != pathResident && o.path != pathPerOp {
		return fmt.Errorf("-device-path %q: want %s or %s", o.path, pathResident, pathPerOp)
	}
	host, _ := os.Hostname()
	rep := &report{Started: time.Now().UTC().Format(time.RFC3339), Host: host, CPUs: runtime.NumCPU(), LoadAverage: loadAverage(),
		DeviceSpec: o.device, BudgetSeconds: o.budget.Seconds()}
	spec := openDevice(o.device, o.path, rep)
	var base map[string]measurement
	switch o.cpu {
	case "run":
		rep.CPUPath = fmt.Sprintf("%s, measured here with %d threads (GOMAXPROCS)", nn.CPU().Name(), o.threads)
	case "embedded":
		if base, rep.CPUPath, err = embeddedBaseline(); err != nil {
			return err
		}
	default:
		rep.CPUPath = "off"
	}
	for _, c := range cases {
		r := row{caseSpec: c, PeakGFLOPS: rep.PeakGFLOPS, PeakHow: rep.PeakHow}
		fmt.Fprintf(os.Stderr, "gpubench: %s (batch %d)\n", c.Name, c.Batch)
		if spec != "" {
			r.Device = runChild(c, spec, o)
		} else {
			r.Device = &measurement{Status: "skipped", Reason: rep.DeviceNote}
		}
		switch o.cpu {
		case "run":
			r.CPU = runChild(c, "", o)
		case "embedded":
			r.CPU = fromBaseline(base, c)
		}
		r.derive()
		rep.Rows = append(rep.Rows, r)
		if err := write(o.out, rep); err != nil {
			return err
		}
	}
	printTable(os.Stdout, rep)
	return nil
}

// openDevice opens the -device once to describe it and derive its peak,
// and returns the "opencl:N" the children open ("" when there is no
// device, with the reason in rep.DeviceNote).
func openDevice(spec, path string, rep *report) string {
	if spec == "none" {
		rep.DeviceNote = "-device none: the CPU path only"
		return ""
	}
	b, err := device.Select(device.Config{Device: spec}, nil)
	if err != nil {
		rep.DeviceNote = err.Error()
		return ""
	}
	defer b.Close()
	if !b.OnDevice() {
		rep.DeviceNote = b.Reason() + `; name an OpenCL CPU device (pocl) explicitly to bench it: GPU_DEVICE=opencl:N (synthfed devices)`
		return ""
	}
	rep.Device, rep.DevicePath = b.String(), residentPath
	if path == pathPerOp {
		rep.DevicePath = perOpPath
	}
	pk := fp32Peak(b.Device(), readCPUFlags())
	rep.PeakGFLOPS, rep.PeakHow = pk.GFLOPS, pk.How
	return fmt.Sprintf("opencl:%d", b.Device().Index)
}

// runChild measures c on one path (spec "" is the CPU) in a child process
// killed at the budget.
func runChild(c caseSpec, spec string, o options) *measurement {
	exe, err := os.Executable()
	if err != nil {
		return &measurement{Status: "failed", Reason: err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.budget)
	defer cancel()
	cj, _ := json.Marshal(c)
	cmd := exec.CommandContext(ctx, exe, "-child-case", string(cj), "-child-device", spec, "-child-path", o.path)
	cmd.Env = os.Environ()
	where := spec
	if spec == "" {
		where = "the CPU path"
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(o.threads))
	}
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.Output()
	if ctx.Err() != nil {
		what := fmt.Sprintf("one warm-up step and %d timed steps", c.Steps)
		if c.Kind == kindDDIM {
			what = fmt.Sprintf("a warm-up batch and %d images", c.Images)
		}
		return &measurement{Status: "skipped", WallSeconds: time.Since(start).Seconds(),
			Reason: fmt.Sprintf("over its %s budget on %s (graph build, %s at batch %d); a smaller -batch-%s or a larger -budget would fit", o.budget, where, what, c.Batch, c.Name)}
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var m measurement
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &m); jerr != nil {
		return &measurement{Status: "failed", Reason: fmt.Sprintf("child: %v; output %q", errors.Join(err, jerr), string(out))}
	}
	return &m
}

// derive fills the ratio and the shares of the peak.
func (r *row) derive() {
	d, c := r.Device, r.CPU
	if d != nil && c != nil && d.Status == "ok" && c.Status == "ok" && d.StepSeconds > 0 {
		r.Speedup = c.StepSeconds / d.StepSeconds
	}
	if d != nil && d.Status == "ok" && r.PeakGFLOPS > 0 {
		r.ConvPeakFraction = d.ConvGFLOPS / r.PeakGFLOPS
		r.StepConvPeakFraction = d.StepConvGFLOPS / r.PeakGFLOPS
	}
}

// embeddedBaseline returns the built-in CPU figures by case and batch.
func embeddedBaseline() (map[string]measurement, string, error) {
	var rep report
	if err := json.Unmarshal(cpuBaseline, &rep); err != nil {
		return nil, "", fmt.Errorf("embedded CPU baseline: %w", err)
	}
	out := map[string]measurement{}
	for _, r := range rep.Rows {
		if r.CPU != nil {
			m := *r.CPU
			m.Source = fmt.Sprintf("embedded: %s on %s (%d CPUs, load %.1f), %s", rep.CPUPath, rep.Host, rep.CPUs, rep.LoadAverage, rep.Started)
			out[baselineKey(r.caseSpec)] = m
		}
	}
	return out, "embedded figures of the 2-core CI machine (see each row's source)", nil
}

func baselineKey(c caseSpec) string { return fmt.Sprintf("%s/%d", c.Name, c.Batch) }

// fromBaseline returns the embedded CPU figure of c, or a skip saying
// there is none at c's batch size.
func fromBaseline(base map[string]measurement, c caseSpec) *measurement {
	if m, ok := base[baselineKey(c)]; ok {
		return &m
	}
	return &measurement{Status: "skipped", Reason: fmt.Sprintf("no embedded CPU figure for %s at batch %d (-cpu run measures it here)", c.Name, c.Batch)}
}

// write writes rep as indented JSON through a temporary file.
func write(path string, rep *report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadAverage is the 1-minute load average (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// printTable prints the rows for a terminal.
func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "device: %s\n", orStr(rep.Device, rep.DeviceNote))
	if rep.PeakHow != "" {
		fmt.Fprintf(w, "FP32 peak: %.0f GFLOP/s = %s\n", rep.PeakGFLOPS, rep.PeakHow)
	}
	fmt.Fprintf(w, "device path: %s\nCPU path: %s\n", orStr(rep.DevicePath, "-"), rep.CPUPath)
	fmt.Fprintln(w, "(conv: the device's convolution GFLOP/s and % of peak within the conv calls; over the whole step where marked >=)")
	fmt.Fprintf(w, "%-15s %5s  %12s %12s %8s  %10s %10s  %10s %8s\n", "case", "batch", "device s", "cpu s", "cpu/dev", "dev img/s", "cpu img/s", "conv GF/s", "% peak")
	for _, r := range rep.Rows {
		conv, frac := convStr(r.Device), num(100*r.ConvPeakFraction, "%.1f")
		if d := r.Device; d != nil && d.Status == "ok" && d.ConvGFLOPS == 0 && d.StepConvGFLOPS > 0 {
			conv, frac = ">="+num(d.StepConvGFLOPS, "%.1f"), ">="+num(100*r.StepConvPeakFraction, "%.2f")
		}
		fmt.Fprintf(w, "%-15s %5d  %12s %12s %8s  %10s %10s  %10s %8s\n", r.Name, r.Batch, stepStr(r.Device), stepStr(r.CPU), num(r.Speedup, "%.2f"),
			rate(r.Device), rate(r.CPU), conv, frac)
		for _, m := range []*measurement{r.Device, r.CPU} {
			if m != nil && m.Status != "ok" {
				fmt.Fprintf(w, "    %s: %s\n", m.Status, m.Reason)
			}
		}
	}
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func num(v float64, f string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(f, v)
}

func stepStr(m *measurement) string {
	if m == nil || m.Status != "ok" {
		if m == nil {
			return "-"
		}
		return m.Status
	}
	return fmt.Sprintf("%.4g", m.StepSeconds)
}

func rate(m *measurement) string {
	if m == nil || m.Status != "ok" {
		return "-"
	}
	return fmt.Sprintf("%.1f", m.ImagesPerSecond)
}

func convStr(m *measurement) string {
	if m == nil || m.Status != "ok" {
		return "-"
	}
	return num(m.ConvGFLOPS, "%.1f")
}
