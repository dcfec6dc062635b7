package siteagent_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/sims/cluster"
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
	big := w.submit(t, `id = "big"
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
	// b fails each training round; it may also have been drawn for the
	// init round (0), whose attempt then fails and is redrawn.
	failed := map[int]bool{}
	for _, f := range log {
		if f.What != coordinator.EventTaskFailed {
			continue
		}
		failed[f.Round] = true
		if !strings.Contains(f.Why, "model ddpm at batch size 64") || !strings.Contains(f.Why, "memory cap of 1 MiB") {
			t.Errorf("failure %+v", f)
		}
	}
	if !failed[1] || !failed[2] {
		t.Fatalf("site b failures %v, want a task failure in rounds 1 and 2", log)
	}
	// a's log also holds the round-level attempt failure when b was the
	// init site; a itself must never have failed a task.
	other, _ := w.c.FailureLog("big", "a")
	for _, f := range other {
		if f.What == coordinator.EventTaskFailed {
			t.Errorf("site a failed: %v", other)
		}
	}

	// Sampling from the job's model at batch 16 with guidance (32 images a
	// pass) does not fit b's cap either.
	w.submit(t, fmt.Sprintf(`id = "sample"
kind = "sample"
quorum = 1
sites = ["a", "b"]
seed = 7
[sample]
checkpoint = %q
levels = 1
ddim_steps = 2
batch_size = 16
guidance = 1.0
`+wfDeadlines, big[0].Output))
	log, err = w.c.FailureLog("sample", "b")
	if err != nil || len(log) == 0 {
		t.Fatalf("site b's sample failures: %v, %v", log, err)
	}
	if !strings.Contains(log[0].Why, "model ddpm sampling at batch size 16 (2 passes per image)") {
		t.Errorf("sample failure %+v", log[0])
	}
}

// TestTrainJobOnDevice runs a FedAvg logreg job whose site b trains on the
// first OpenCL device (pocl in CI) through device.LogregTrainer, beside a
// CPU site: the job completes, b's updates are accepted every round, and
// b's metrics name the device.
func TestTrainJobOnDevice(t *testing.T) {
	b, err := device.Select(device.Config{Device: "opencl:0"}, nil)
	if err != nil {
		t.Skipf("no OpenCL device (scripts/deps.sh installs pocl as root): %v", err)
	}
	defer b.Close()
	trs := logregSites(t, true, "a", "b")
	lt, ok := trs["b"].(*logreg.Trainer)
	if !ok {
		t.Fatalf("site b's trainer is a %T", trs["b"])
	}
	if trs["b"], err = device.NewLogregTrainer(lt, b); err != nil {
		t.Fatal(err)
	}
	cl := start(t, localCluster(baseJob("dev"), "a", "b"), cluster.Options{Trainers: trainers(trs),
		AgentOptions: func(i int, opts *siteagent.Options) {
			if i == 1 {
				opts.Compute = b
			}
		}})
	if st := wait(t, cl.Coordinator(), "dev"); st.State != coordinator.JobDone {
		t.Fatalf("job %s: %s", st.State, st.Err)
	}
	rounds, err := cl.Coordinator().Rounds("dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rounds[1:] {
		if !slices.Contains(r.Summary.Accepted, "b") {
			t.Errorf("round %d: accepted %v, dropped %v", r.Summary.Round, r.Summary.Accepted, r.Summary.Dropped)
		}
	}
	agentB, _ := cl.Agent(1)
	fams, err := agentB.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "synthfed_agent_compute_device_info" {
			for _, l := range f.GetMetric()[0].GetLabel() {
				if l.GetName() == "device" && l.GetValue() != "opencl:0" {
					t.Errorf("site b reports device %q", l.GetValue())
				}
			}
		}
	}
}

// TestImageJobsOnDevice runs a DDPM train job, a sample job from its
// model, a classifier train job and an evaluate job of the classifier with
// site b on the first OpenCL device (pocl in CI), beside CPU site a: b's
// DDPM and classifier steps run resident on the device, and its sampling
// and scoring there too. Every job completes, b's updates are accepted in
// every round and both sites report scores.
func TestImageJobsOnDevice(t *testing.T) {
	b, err := device.Select(device.Config{Device: "opencl:0"}, nil)
	if err != nil {
		t.Skipf("no OpenCL device (scripts/deps.sh installs pocl as root): %v", err)
	}
	b.Close()
	w := startWorkflow(t, 40, []string{"a", "b"}, func(site string, cfg *siteagent.Config) {
		if site == "b" {
			cfg.Compute = device.Config{Device: "opencl:0"}
		}
	})
	accepted := func(job string) {
		t.Helper()
		rounds, err := w.c.Rounds(job)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rounds[1:] {
			if !slices.Contains(r.Summary.Accepted, "b") {
				t.Errorf("job %s round %d: accepted %v, dropped %v", job, r.Summary.Round, r.Summary.Accepted, r.Summary.Dropped)
			}
		}
	}
	train := `kind = "train"
rounds = 2
quorum = 2
sites = ["a", "b"]
[train]
local_steps = 2
` + wfDeadlines
	dj := w.submit(t, `id = "ddpm"
model = "ddpm"
`+train+wfDDPM)[0]
	accepted("ddpm")
	w.submit(t, fmt.Sprintf(`id = "sample"
kind = "sample"
quorum = 2
sites = ["a", "b"]
seed = 7
[sample]
checkpoint = %q
levels = 1
ddim_steps = 2
`+wfDeadlines, dj.Output))
	cls := w.submit(t, `id = "cls"
model = "classifier"
`+train+wfClassifier)[0]
	accepted("cls")
	w.submit(t, fmt.Sprintf(`id = "eval"
kind = "evaluate"
quorum = 2
sites = ["a", "b"]
[evaluate]
checkpoints = [%q]
bootstrap_reps = 10
`+wfDeadlines, cls.Output))
	res, err := w.c.Results("eval")
	if err != nil || len(res.Results) != 2 {
		t.Fatalf("evaluate results: %v, %v", res, err)
	}
}
