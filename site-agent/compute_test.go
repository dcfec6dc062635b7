package siteagent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// TestComputeMetrics checks that the agent's metrics name the compute
// device it trains on, with its memory, compute units and job cap.
func TestComputeMetrics(t *testing.T) {
	cfg := siteagent.DefaultConfig()
	cfg.SiteID, cfg.Insecure = "a", true
	cfg.Compute = device.Config{Device: "cpu", MemoryCapMiB: 512}
	a, err := siteagent.New(cfg, siteagent.Options{Trainers: map[string]model.Trainer{"logreg": logregSites(t, false, "a")["a"]}})
	if err != nil {
		t.Fatal(err)
	}
	fams, err := a.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var info map[string]string
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "synthfed_agent_compute_") {
			continue
		}
		m := f.GetMetric()[0]
		got[f.GetName()] = m.GetGauge().GetValue()
		if f.GetName() == "synthfed_agent_compute_device_info" {
			info = map[string]string{}
			for _, l := range m.GetLabel() {
				info[l.GetName()] = l.GetValue()
			}
		}
	}
	if info["device"] != "cpu" || info["site"] != "a" || got["synthfed_agent_compute_device_info"] != 1 {
		t.Errorf("device info %v = %v", info, got["synthfed_agent_compute_device_info"])
	}
	if got["synthfed_agent_compute_memory_cap_bytes"] != 512<<20 || got["synthfed_agent_compute_device_compute_units"] < 1 {
		t.Errorf("compute metrics %v", got)
	}
	if _, ok := got["synthfed_agent_compute_device_memory_bytes"]; !ok {
		t.Errorf("no device memory metric: %v", got)
	}
}

// TestNamedDeviceMissing checks that a site naming a device that does not
// exist is refused at start and by --check, with the device named.
func TestNamedDeviceMissing(t *testing.T) {
	cfg := siteagent.DefaultConfig()
	cfg.SiteID, cfg.Insecure = "a", true
	cfg.Compute.Device = "opencl:200"
	_, err := siteagent.New(cfg, siteagent.Options{Trainers: map[string]model.Trainer{"logreg": logregSites(t, false, "a")["a"]}})
	if err == nil || !strings.Contains(err.Error(), "opencl:200") {
		t.Fatalf("New with opencl:200: %v", err)
	}
	var found bool
	for _, r := range siteagent.Check(context.Background(), cfg, siteagent.CheckOptions{}) {
		if r.Name == "compute" {
			found = true
			if r.Status != siteagent.CheckFail || !strings.Contains(r.Detail, "opencl:200") {
				t.Errorf("compute check %+v", r)
			}
		}
	}
	if !found {
		t.Error("no compute check")
	}
	cfg.Compute.Device = "cpu"
	for _, r := range siteagent.Check(context.Background(), cfg, siteagent.CheckOptions{}) {
		if r.Name == "compute" && (r.Status != siteagent.CheckOK || !strings.HasPrefix(r.Detail, "cpu")) {
			t.Errorf("compute check on the cpu %+v", r)
		}
	}
}

// TestJobOverMemoryCapFails runs a DDPM job whose batch does not fit site
// b's memory cap: b's task fails in each round with an error naming the
// model and the batch size, b's agent lives on to fail the next round, and
// site a's training carries the job.
func TestJobOverMemoryCapFails(t *testing.T) {
	w := startWorkflow(t, 20, []string{"a", "b"}, func(site string, cfg *siteagent.Config) {
		if site == "b" {
			cfg.Compute = device.Config{Device: "cpu", MemoryCapMiB: 1}
		}
	})
	ddpm := strings.Replace(wfDDPM, "batch_size = 8\n[model_config.sample]", "batch_size = 64\n[model_config.sample]", 1)
	if ddpm == wfDDPM {
		t.Fatal("wfDDPM changed: no train batch_size to replace")
	}
	w.submit(t, `id = "big"
kind = "train"
model = "ddpm"
rounds = 2
quorum = 1
sites = ["a", "b"]
[train]
local_steps = 1
`+wfDeadlines+ddpm)
	log, err := w.c.FailureLog("big", "b")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("site b failures %v, want one per round", log)
	}
	for _, f := range log {
		if f.What != coordinator.EventTaskFailed || !strings.Contains(f.Why, "model ddpm at batch size 64") || !strings.Contains(f.Why, "memory cap of 1 MiB") {
			t.Errorf("failure %+v", f)
		}
	}
	if other, _ := w.c.FailureLog("big", "a"); len(other) != 0 {
		t.Errorf("site a failed: %v", other)
	}
}
