package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/nn"
)

// The kinds of case.
const (
	kindDDPM       = "ddpm-train"
	kindClassifier = "classifier-train"
	kindDDIM       = "ddim-sample"
)

// archStudy names the study-size 256-px U-Net (ddpm.StudyArch256).
const archStudy = "ddpm-256-study"

// caseSpec is one benchmark case.
type caseSpec struct {
	Name string `json:"case"`
	What string `json:"what"`
	Kind string `json:"kind"`
	// Arch is "default" (the package's default architecture at Size) or
	// archStudy.
	Arch  string `json:"arch"`
	Size  int    `json:"image_size"`
	Batch int    `json:"batch"`
	// Steps is the timed optimiser steps after one warm-up step (train),
	// or the DDIM steps per image (sample).
	Steps int `json:"steps"`
	// Images is the images drawn after a warm-up batch (sample only).
	Images int `json:"images,omitempty"`
}

// perOpPath names the per-op device path: every model/nn op on the
// device through device.Kernels, each call copying its tensors there and
// back (how the kernels are checked against the CPU; -device-path per-op).
const perOpPath = "per-op: every model/nn op on the device via device.Kernels (nn.UseKernels), tensors copied in and out per op"

// The device paths of -device-path.
const (
	pathResident = "resident"
	pathPerOp    = "per-op"
)

// measurement is one case on one path, as a child process reports it.
type measurement struct {
	Status  string `json:"status"` // ok, skipped or failed
	Reason  string `json:"reason,omitempty"`
	Path    string `json:"path,omitempty"`
	Kernels string `json:"kernels,omitempty"`
	// Source says where a CPU figure comes from when it was not measured
	// in this run.
	Source string `json:"source,omitempty"`
	Params int    `json:"params,omitempty"`
	// StepSeconds is one optimiser step (train) or one DDIM step of one
	// batch (sample).
	StepSeconds     float64 `json:"step_seconds,omitempty"`
	ImagesPerSecond float64 `json:"images_per_second,omitempty"`
	// Conv*: the convolutions' FLOPs per step (forward and both
	// gradients: 2 per multiply-add), the seconds spent in them per step,
	// and the rate they ran at.
	ConvGFLOPPerStep   float64 `json:"conv_gflop_per_step,omitempty"`
	ConvSecondsPerStep float64 `json:"conv_seconds_per_step,omitempty"`
	ConvGFLOPS         float64 `json:"conv_gflops,omitempty"`
	// StepConvGFLOPS is the conv FLOPs over the whole step's time: what
	// the step achieves, all other work and copies included.
	StepConvGFLOPS float64 `json:"step_conv_gflops,omitempty"`
	// ConvNote says how the conv figures were made where that differs
	// from timing each convolution call.
	ConvNote string `json:"conv_note,omitempty"`
	// WallSeconds is the child's whole run: build, warm-up and timing.
	WallSeconds float64 `json:"wall_seconds,omitempty"`
}

// measure runs c on the CPU path (spec "") or on the OpenCL device spec
// names by path (pathResident or pathPerOp), and times it.
func measure(ctx context.Context, c caseSpec, spec, path string) (measurement, error) {
	start := time.Now()
	var k nn.Kernels = nn.CPU()
	var dk *device.Kernels
	var fd *flopDevice
	m := measurement{Status: "ok", Path: "cpu"}
	if spec != "" {
		b, err := device.Select(device.Config{Device: spec}, nil)
		if err != nil {
			return m, err
		}
		defer b.Close()
		if !b.OnDevice() {
			return m, fmt.Errorf("%s: no OpenCL device (%s)", spec, b.Reason())
		}
		switch path {
		case pathPerOp:
			if dk, err = device.NewKernels(b); err != nil {
				return m, err
			}
			k, m.Path = dk, perOpPath
		case pathResident:
			fd, m.Path = &flopDevice{dev: b}, residentPath
		default:
			return m, fmt.Errorf("device path %q: want %s or %s", path, pathResident, pathPerOp)
		}
	}
	cc := newConvCounter(k)
	m.Kernels = k.Name()
	nn.UseKernels(cc)
	defer nn.UseKernels(nn.CPU())
	var err error
	switch c.Kind {
	case kindDDPM, kindClassifier:
		err = timeTrain(ctx, c, cc, fd, &m)
	case kindDDIM:
		err = timeSample(ctx, c, cc, fd, &m)
	default:
		err = fmt.Errorf("case %s: unknown kind %q", c.Name, c.Kind)
	}
	if err == nil && dk != nil && dk.Err() != nil {
		err = fmt.Errorf("a device error made ops run on the CPU: %w", dk.Err())
	}
	m.WallSeconds = time.Since(start).Seconds()
	return m, err
}

// trainer builds c's trainer on a random training set, its steps
// resident on dev when dev is not nil.
func trainer(c caseSpec, dev *flopDevice) (model.Trainer, error) {
	train := randomSet(max(2*c.Batch, 8), c.Size)
	switch c.Kind {
	case kindDDPM:
		cfg, err := ddpmConfig(c)
		if err != nil {
			return nil, err
		}
		tr, err := ddpm.NewTrainer(cfg, train, nil, nil)
		if err == nil && dev != nil {
			tr.UseDevice(dev)
		}
		return tr, err
	case kindClassifier:
		cfg := classifier.DefaultConfig()
		cfg.Arch.ImageSize, cfg.Train.BatchSize = c.Size, c.Batch
		tr, err := classifier.NewTrainer(cfg, train, nil, nil)
		if err == nil && dev != nil {
			tr.UseDevice(dev)
		}
		return tr, err
	}
	return nil, fmt.Errorf("case %s: %q is not a training case", c.Name, c.Kind)
}

// ddpmConfig is c's DDPM: the default U-Net at c.Size, or the study's.
func ddpmConfig(c caseSpec) (ddpm.Config, error) {
	cfg := ddpm.DefaultConfig()
	switch c.Arch {
	case "", "default":
		cfg.Arch.ImageSize = c.Size
	case archStudy:
		cfg.Arch = ddpm.StudyArch256()
	default:
		return cfg, fmt.Errorf("case %s: unknown architecture %q", c.Name, c.Arch)
	}
	cfg.Train.BatchSize = c.Batch
	cfg.Sample = ddpm.SampleConfig{Method: ddpm.MethodDDIM, Steps: max(c.Steps, 1), ClipX0: true, BatchSize: c.Batch}
	return cfg, cfg.Validate()
}

// timeTrain times c.Steps optimiser steps in one Train call (one local
// round), after a warm-up step that builds the graph (and, on the device,
// compiles what the driver compiles lazily).
func timeTrain(ctx context.Context, c caseSpec, cc *convCounter, fd *flopDevice, m *measurement) error {
	tr, err := trainer(c, fd)
	if err != nil {
		return err
	}
	w, err := tr.Init(ctx, 1)
	if err != nil {
		return err
	}
	m.Params = w.NumParams()
	if _, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 1, Seed: 1}); err != nil {
		return fmt.Errorf("warm-up step: %w", err)
	}
	cc.reset()
	start := time.Now()
	if _, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: c.Steps, Seed: 2}); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	m.StepSeconds = el / float64(c.Steps)
	m.ImagesPerSecond = float64(c.Batch*c.Steps) / el
	m.convRates(cc, float64(c.Steps), el)
	if fd != nil {
		m.residentRates(fd.train.Load(), cc, el/float64(c.Steps))
	}
	return nil
}

// timeSample times DDIM sampling of c.Images images (c.Steps steps each,
// batches of c.Batch, no guidance) after a warm-up batch.
func timeSample(ctx context.Context, c caseSpec, cc *convCounter, fd *flopDevice, m *measurement) error {
	cfg, err := ddpmConfig(c)
	if err != nil {
		return err
	}
	w, err := cfg.Arch.InitWeights(1)
	if err != nil {
		return err
	}
	m.Params = w.NumParams()
	s, err := ddpm.NewSampler(cfg, w)
	if err != nil {
		return err
	}
	if fd != nil {
		s.UseDevice(fd)
	}
	set := randomSet(max(c.Images, c.Batch), c.Size)
	seeds := make([]int64, set.Len())
	for i := range seeds {
		seeds[i] = int64(i + 1)
	}
	if _, err := s.Sample(ctx, set.Cond[:c.Batch], seeds[:c.Batch]); err != nil {
		return fmt.Errorf("warm-up batch: %w", err)
	}
	cc.reset()
	start := time.Now()
	if _, err := s.Sample(ctx, set.Cond, seeds); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	batches := float64((set.Len() + c.Batch - 1) / c.Batch)
	steps := batches * float64(cfg.Sample.Steps)
	m.StepSeconds = el / steps
	m.ImagesPerSecond = float64(set.Len()) / el
	m.convRates(cc, steps, el)
	if fd != nil {
		m.residentRates(fd.infer.Load(), cc, el/steps)
	}
	return nil
}

// residentRates fills the conv figures of a resident step: its graph's
// conv FLOPs over the step's time. The convolutions' own time is not
// separated from the rest of a resident step, so the step's rate is a
// lower bound on theirs. Convolutions that ran on the CPU kernels during
// the timed steps are reported.
func (m *measurement) residentRates(flops int64, cc *convCounter, stepSecs float64) {
	m.ConvGFLOPPerStep = float64(flops) / 1e9
	m.ConvSecondsPerStep, m.ConvGFLOPS = 0, 0
	if stepSecs > 0 {
		m.StepConvGFLOPS = float64(flops) / stepSecs / 1e9
	}
	m.ConvNote = "resident: conv FLOPs counted from the compiled graph (nn.Describe); their own time is not separated from the step's, so step_conv_gflops is a lower bound on the convolutions' rate"
	if _, _, calls := cc.totals(); calls > 0 {
		m.ConvNote += fmt.Sprintf("; %d convolution calls ran on the CPU kernels during the timed steps", calls)
	}
}

// convRates fills the convolution figures from the counter over steps
// steps that took el seconds.
func (m *measurement) convRates(cc *convCounter, steps, el float64) {
	flops, secs, _ := cc.totals()
	if flops == 0 {
		return
	}
	m.ConvGFLOPPerStep = float64(flops) / steps / 1e9
	m.ConvSecondsPerStep = secs / steps
	if secs > 0 {
		m.ConvGFLOPS = float64(flops) / secs / 1e9
	}
	m.StepConvGFLOPS = float64(flops) / el / 1e9
}

// randomSet is n random images of side s with random conditions and
// labels (speed does not depend on the values).
func randomSet(n, s int) *model.ImageSet {
	r := rand.New(rand.NewPCG(uint64(n), uint64(s)))
	set := &model.ImageSet{Size: s, Pixels: make([]float32, n*s*s), Cond: make([][model.CondDim]float32, n), Labels: make([][model.NumLabels]model.Label, n)}
	for i := range set.Pixels {
		set.Pixels[i] = float32(r.Float64()*2 - 1)
	}
	for i := range n {
		for j := range model.NumLabels {
			set.Labels[i][j] = model.Label(r.IntN(2))
			set.Cond[i][8+j] = float32(set.Labels[i][j])
		}
		set.Cond[i][0], set.Cond[i][1+r.IntN(2)], set.Cond[i][3+r.IntN(5)] = float32(r.IntN(9)), 1, 1
	}
	return set
}

// errSkipped marks a case that was not run, with its reason.
var errSkipped = errors.New("skipped")
