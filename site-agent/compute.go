package siteagent

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/graph"
)

// selectCompute returns the backend the agent trains on: opts.Compute when
// given (not owned), else the one cfg.Compute selects (owned: Run closes
// it). "auto" without a working device is the CPU, logged once.
func selectCompute(cfg Config, given *device.Backend, log *slog.Logger) (b *device.Backend, owned bool, err error) {
	if given != nil {
		return given, false, nil
	}
	b, err = device.Select(cfg.Compute, log)
	if err != nil {
		return nil, false, fmt.Errorf("site %s: %w", cfg.SiteID, err)
	}
	return b, true, nil
}

// registerCompute adds the backend's figures to the agent's metrics: an
// info gauge naming the device, its memory, compute units and the job
// memory cap.
func (m *agentMetrics) registerCompute(site string, b *device.Backend) {
	if m == nil || b == nil {
		return
	}
	labels := prometheus.Labels{"site": site}
	gauge := func(name, help string, extra prometheus.Labels, v float64) {
		l := prometheus.Labels{}
		for k, x := range labels {
			l[k] = x
		}
		for k, x := range extra {
			l[k] = x
		}
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: l}, func() float64 { return v }))
	}
	dev := b.Device()
	id := string(b.Kind())
	if b.OnDevice() {
		id = fmt.Sprintf("opencl:%d", dev.Index)
	}
	gauge("synthfed_agent_compute_device_info", "The compute device the agent trains on (1), by device, name, type and platform.",
		prometheus.Labels{"device": id, "name": nameOr(dev.Name, "cpu"), "type": nameOr(dev.Type, "cpu"), "platform": dev.Platform}, 1)
	gauge("synthfed_agent_compute_device_memory_bytes", "Global memory of the compute device (0 on the CPU path).", nil, float64(b.MemoryBytes()))
	gauge("synthfed_agent_compute_device_compute_units", "Compute units of the compute device (logical CPUs on the CPU path).", nil, float64(b.ComputeUnits()))
	gauge("synthfed_agent_compute_memory_cap_bytes", "Memory a training job may need on the device (0: no cap).", nil, float64(b.CapBytes()))
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkCompute opens the configured device (building the kernels on it) and
// reports the backend the agent would use.
func checkCompute(cfg Config, log *slog.Logger) CheckResult {
	res := CheckResult{Name: "compute"}
	b, err := device.Select(cfg.Compute, log)
	if err != nil {
		res.Status, res.Detail = CheckFail, fmt.Sprintf("%v (synthfed devices lists the devices; device = \"auto\" falls back to the CPU)", err)
		return res
	}
	defer b.Close()
	res.Status, res.Detail = CheckOK, fmt.Sprintf("%s; %s", b, b.Reason())
	return res
}

// fits refuses a training job whose model at its batch size would not fit
// the backend's memory cap (estimated from the architecture's footprint).
func (x *executor) fits(modelName string, batch int, footprint func() (graph.Footprint, error)) error {
	return x.fitsJob(device.Job{Model: modelName, Batch: batch}, footprint)
}

// fitsJob checks j with its parameter and activation counts from footprint.
func (x *executor) fitsJob(j device.Job, footprint func() (graph.Footprint, error)) error {
	if x.compute == nil || x.compute.CapBytes() <= 0 {
		return nil
	}
	fp, err := footprint()
	if err != nil {
		return err
	}
	j.Params, j.ActivationsPerImage = fp.Params, fp.ActivationsPerImage
	return x.compute.Fits(j)
}

// samplingPasses is the images a DDPM sampler runs per batch image:
// guidance runs the conditional and the unconditional passes together.
func samplingPasses(guidance float64) int {
	if guidance != 0 {
		return 2
	}
	return 1
}

// device returns the OpenCL device the DDPM and classifier jobs run on
// (their steps resident there, and their forward passes), or nil for the
// CPU path; what and attrs describe its use in the log line.
func (x *executor) device(what string, attrs ...any) graph.Device {
	if x.compute == nil || !x.compute.OnDevice() {
		return nil // an untyped nil: a nil *device.Backend would not be
	}
	x.log.Info(what+" on the device", append(attrs, "device", x.compute.Name())...)
	return x.compute
}
