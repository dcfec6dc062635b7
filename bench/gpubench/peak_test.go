package main

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
)

// TestFP32Peak checks the peak formula on known devices: an H100 SXM (132
// SMs at 1980 MHz: 66.9 TFLOP/s, NVIDIA's published FP32 figure) and
// pocl on this machine's 2 AVX-512 cores.
func TestFP32Peak(t *testing.T) {
	cases := []struct {
		name  string
		d     opencl.Device
		flags string
		want  float64
		how   string
	}{
		{"h100", opencl.Device{Type: "gpu", Vendor: "NVIDIA Corporation", Name: "NVIDIA H100 80GB HBM3", ComputeUnits: 132, ClockMHz: 1980}, "", 66908.16, "128 FP32 lanes per NVIDIA SM"},
		{"pocl avx512", opencl.Device{Type: "cpu", Platform: "Portable Computing Language", ComputeUnits: 2, ClockMHz: 2096}, "fpu sse avx2 avx512f", 134.144, "AVX-512"},
		{"pocl avx2", opencl.Device{Type: "cpu", ComputeUnits: 4, ClockMHz: 3000}, "sse avx avx2", 192, "AVX/AVX2"},
		{"no clock", opencl.Device{Type: "gpu", Vendor: "NVIDIA", ComputeUnits: 132}, "", 0, "unknown"},
		{"other vendor", opencl.Device{Type: "accelerator", Vendor: "X"}, "", 0, "unknown"},
	}
	for _, tc := range cases {
		p := fp32Peak(tc.d, tc.flags)
		if math.Abs(p.GFLOPS-tc.want) > 1e-6*max(1, tc.want) || !strings.Contains(p.How, tc.how) {
			t.Errorf("%s: %v GFLOP/s (%s), want %v (%s)", tc.name, p.GFLOPS, p.How, tc.want, tc.how)
		}
	}
}

// TestConvCounter runs convolutions through the counter and compares its
// FLOPs with a count of the multiply-adds of a direct loop over the
// output (padding taps included, as the GEMM form computes them).
func TestConvCounter(t *testing.T) {
	cc := newConvCounter(nn.CPU())
	for _, s := range []struct{ n, c, h, w, o, k, stride, pad int }{{2, 3, 8, 8, 4, 3, 1, 1}, {1, 2, 9, 7, 5, 3, 2, 0}, {3, 4, 4, 4, 2, 1, 1, 0}} {
		oh, ow := (s.h+2*s.pad-s.k)/s.stride+1, (s.w+2*s.pad-s.k)/s.stride+1
		p := nn.ConvParams{N: s.n, C: s.c, H: s.h, W: s.w, O: s.o, KH: s.k, KW: s.k, Stride: s.stride, Pad: s.pad, OH: oh, OW: ow}
		x := tensor.New(tensor.WithShape(s.n, s.c, s.h, s.w), tensor.Of(tensor.Float32))
		w := tensor.New(tensor.WithShape(s.o, s.c, s.k, s.k), tensor.Of(tensor.Float32))
		y := tensor.New(tensor.WithShape(s.n, s.o, oh, ow), tensor.Of(tensor.Float32))
		cc.reset()
		cc.Conv2D(p, x, w, nil, y)
		cc.Conv2DGradW(p, x, y, w)
		var macs int64
		for range s.n * s.o * oh * ow {
			for range s.c * s.k * s.k {
				macs++
			}
		}
		flops, secs, calls := cc.totals()
		if flops != 2*2*macs || calls != 2 || secs <= 0 {
			t.Errorf("%+v: %d FLOPs in %d calls (%v s), want %d in 2", s, flops, calls, secs, 4*macs)
		}
	}
}

// TestMeasureCPU times a small DDPM, classifier and sampling case on the
// CPU path and checks the figures are there and consistent.
func TestMeasureCPU(t *testing.T) {
	for _, c := range []caseSpec{
		{Name: "d", Kind: kindDDPM, Arch: "default", Size: 16, Batch: 2, Steps: 1},
		{Name: "c", Kind: kindClassifier, Arch: "default", Size: 16, Batch: 2, Steps: 1},
		{Name: "s", Kind: kindDDIM, Arch: "default", Size: 16, Batch: 2, Steps: 2, Images: 3},
	} {
		m, err := measure(context.Background(), c, "", "")
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if m.Status != "ok" || m.Params == 0 || m.StepSeconds <= 0 || m.ImagesPerSecond <= 0 || m.ConvGFLOPPerStep <= 0 || m.ConvGFLOPS < m.StepConvGFLOPS {
			t.Errorf("%s: %+v", c.Name, m)
		}
	}
	if _, err := measure(context.Background(), caseSpec{Name: "x", Kind: "nope", Size: 16, Batch: 1}, "", ""); err == nil {
		t.Error("unknown kind: no error")
	}
}

// TestSelected checks the case filter and the batch flags.
func TestSelected(t *testing.T) {
	o := options{batch: map[string]*int{}, steps: 3}
	for _, c := range defaultCases() {
		b := c.Batch
		o.batch[c.Name] = &b
	}
	*o.batch["ddim-64"] = 5
	o.cases = "ddim-64, ddpm-32"
	got, err := o.selected()
	if err != nil || len(got) != 2 || got[0].Name != "ddpm-32" || got[0].Steps != 3 || got[1].Batch != 5 || got[1].Images != 10 || got[1].Steps != 10 {
		t.Errorf("selected %+v, %v", got, err)
	}
	o.cases = "ddpm-33"
	if _, err := o.selected(); err == nil || !strings.Contains(err.Error(), "ddpm-33") {
		t.Errorf("unknown case: %v", err)
	}
	o.cases = ""
	*o.batch["ddpm-32"] = 0
	if _, err := o.selected(); err == nil || !strings.Contains(err.Error(), "-batch-ddpm-32") {
		t.Errorf("batch 0: %v", err)
	}
}

// errCompile is what fakeDevice's compilations return.
var errCompile = errors.New("fake device compiles nothing")

// fakeDevice refuses to compile: with flopDevice around it, a trainer's
// first step records its graph's conv FLOPs and then fails.
type fakeDevice struct{}

func (fakeDevice) Name() string { return "fake" }
func (fakeDevice) CompileTrain(*graph.TrainGraph) (graph.Resident, error) {
	return nil, errCompile
}
func (fakeDevice) CompileInfer(*graph.InferGraph) (graph.Forward, error) { return nil, errCompile }

// TestGraphConvFLOPs checks that the conv FLOPs read from a compiled
// training graph (the resident path's count) equal those the counter
// sees in one CPU step of the same case, for the DDPM and the classifier;
// and, when an OpenCL device is there (pocl in CI), that a resident
// measurement reports the same count.
func TestGraphConvFLOPs(t *testing.T) {
	spec := ""
	if devs, err := opencl.Devices(); err == nil && len(devs) > 0 {
		spec = "opencl:0"
	}
	for _, c := range []caseSpec{
		{Name: "d", Kind: kindDDPM, Arch: "default", Size: 16, Batch: 2, Steps: 1},
		{Name: "c", Kind: kindClassifier, Arch: "default", Size: 16, Batch: 2, Steps: 1},
	} {
		cpu, err := measure(context.Background(), c, "", "")
		if err != nil {
			t.Fatal(err)
		}
		fd := &flopDevice{dev: fakeDevice{}}
		tr, err := trainer(c, fd)
		if err != nil {
			t.Fatal(err)
		}
		w, err := tr.Init(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Train(context.Background(), w, model.TrainSpec{LocalSteps: 1, Seed: 1}); !errors.Is(err, errCompile) {
			t.Fatalf("%s: Train on the fake device: %v", c.Name, err)
		}
		got := float64(fd.train.Load()) / 1e9
		if got == 0 || math.Abs(got-cpu.ConvGFLOPPerStep) > 1e-9 {
			t.Errorf("%s: graph %v GFLOP per step, CPU counter %v", c.Name, got, cpu.ConvGFLOPPerStep)
		}
		if spec == "" {
			continue
		}
		dev, err := measure(context.Background(), c, spec, pathResident)
		if err != nil {
			t.Fatalf("%s on %s: %v", c.Name, spec, err)
		}
		if math.Abs(dev.ConvGFLOPPerStep-cpu.ConvGFLOPPerStep) > 1e-9 || dev.StepConvGFLOPS <= 0 || dev.Path != residentPath || strings.Contains(dev.ConvNote, "CPU kernels") {
			t.Errorf("%s on %s: %+v; want %v GFLOP per step, resident, nothing on the CPU kernels", c.Name, spec, dev, cpu.ConvGFLOPPerStep)
		}
	}
}
