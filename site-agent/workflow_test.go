package siteagent_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/sims/cluster"
	"github.com/synthfed/synthfed/sims/phantom"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// wfCluster is a coordinator and phantom-data agents over bufconn.
type wfCluster struct {
	c     *coordinator.Coordinator
	synth map[string]string // site -> synthetic dir
}

// wfSize is the side of the phantom images of the workflow tests.
const wfSize = 8

// testLogger logs warnings and errors to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startWorkflow starts a coordinator and one agent per site on phantom
// sites of rows images at wfSize pixels, with no job yet; mod may change
// each agent's config.
func startWorkflow(t *testing.T, rows int, sites []string, mod func(site string, cfg *siteagent.Config)) *wfCluster {
	t.Helper()
	w := &wfCluster{synth: map[string]string{}}
	for _, site := range sites {
		w.synth[site] = filepath.Join(t.TempDir(), "synthetic")
	}
	pc := phantom.DefaultConfig()
	pc.Size, pc.Supersample = wfSize, 1
	cl := startImageCluster(t, sites, func(i int, acfg *siteagent.Config) {
		acfg.Data.SyntheticDir = w.synth[sites[i]]
		if mod != nil {
			mod(sites[i], acfg)
		}
	}, func(i int, opts *siteagent.Options) {
		opts.Data = func(ctx context.Context) ([]dataset.Record, *model.ImageSet, error) {
			s, err := pc.RenderSite(ctx, i, rows)
			if err != nil {
				return nil, nil, err
			}
			return s.Records, s.Images, nil
		}
	})
	w.c = cl.Coordinator()
	return w
}

// startImageCluster starts a coordinator with no job and one agent per site
// whose trainers come from each job's model config, with images of wfSize
// pixels split 60/20/20; agent and agentOpts complete each site's config
// and options.
func startImageCluster(t *testing.T, sites []string, agent func(i int, acfg *siteagent.Config), agentOpts func(i int, opts *siteagent.Options)) *cluster.Cluster {
	t.Helper()
	return start(t, localCluster(baseJob("unused"), sites...), cluster.Options{Logger: testLogger(t),
		Trainers: func(int, string) (map[string]model.Trainer, error) { return nil, nil },
		Coordinator: func(cc *coordinator.Config, opts *coordinator.Options) {
			cc.Jobs, opts.CheckModelConfig = nil, siteagent.CheckModelConfig
		},
		Agent: func(i int, acfg *siteagent.Config) {
			acfg.EvaluateGlobal = false
			acfg.Data.ImageSize, acfg.Data.Split = wfSize, []float64{0.6, 0.2, 0.2}
			agent(i, acfg)
		},
		AgentOptions: agentOpts})
}

// submit submits a TOML job spec and waits for every job it expands to.
func (w *wfCluster) submit(t *testing.T, spec string) []coordinator.JobStatus {
	t.Helper()
	js, err := coordinator.DecodeJobSpec([]byte(spec), "spec.toml")
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ids, err := w.c.SubmitJobs(ctx, js)
	if err != nil {
		t.Fatalf("submit %s: %v", js.ID, err)
	}
	var out []coordinator.JobStatus
	for _, id := range ids {
		st, err := w.c.Wait(ctx, id)
		if err != nil {
			t.Fatalf("wait %s: %v", id, err)
		}
		if st.State != coordinator.JobDone {
			log, _ := w.c.FailureLog(id, "")
			t.Fatalf("job %s ended %s: %s\nfailure log: %v", id, st.State, st.Err, log)
		}
		out = append(out, st)
	}
	return out
}

// Tiny model configurations for the workflow tests.
const (
	wfDDPM = `
[model_config.arch]
image_size = 8
base_channels = 8
channel_mults = [1]
num_res_blocks = 1
groups = 4
time_emb_dim = 16
[model_config.train]
steps = 50
batch_size = 8
[model_config.sample]
steps = 4
batch_size = 16
`
	wfClassifier = `
[model_config.arch]
image_size = 8
widths = [8]
blocks_per_stage = 1
groups = 4
[model_config.train]
batch_size = 8
`
	wfDeadlines = `
[deadlines]
select = "30s"
init = "60s"
train = "120s"
`
)

// TestWorkflowChain runs the study's workflow as jobs on a live coordinator
// with three agents on phantom data: federated DDPM training, sampling at
// every site, a classifier on real plus synthetic data (level 2) and one on
// real data alone, and evaluation on every site's test set with DeLong
// against the real-only classifier. Each job's output is named by hash and
// the next job finds it by that hash.
func TestWorkflowChain(t *testing.T) {
	sites := []string{"a", "b", "c"}
	w := startWorkflow(t, 40, sites, nil)

	ddpmJob := w.submit(t, `id = "ddpm"
kind = "train"
model = "ddpm"
rounds = 2
quorum = 3
sites = ["a", "b", "c"]
[train]
local_steps = 2
`+wfDeadlines+wfDDPM)[0]
	if protocol.ValidHash(ddpmJob.Output) != nil {
		t.Fatalf("ddpm job output %q is not a content hash", ddpmJob.Output)
	}
	if got, err := w.c.Global("ddpm"); err != nil || got.Hash() != ddpmJob.Output {
		t.Fatalf("ddpm global %v, output %s: %v", got.Hash(), ddpmJob.Output, err)
	}

	// The sample job names the DDPM by its content hash.
	sample := w.submit(t, fmt.Sprintf(`id = "sample"
kind = "sample"
quorum = 3
sites = ["a", "b", "c"]
seed = 7
[sample]
checkpoint = %q
levels = 2
ddim_steps = 3
`+wfDeadlines, ddpmJob.Output))[0]
	res, err := w.c.Results("sample")
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != sample.Output || len(res.Results) != 3 {
		t.Fatalf("sample results: output %s vs %s, %d sites", res.Output, sample.Output, len(res.Results))
	}
	for _, site := range sites {
		sr, err := protocol.DecodeSampleResult(res.Results[site])
		if err != nil {
			t.Fatal(err)
		}
		if sr.SetID != sample.Output || sr.Checkpoint != ddpmJob.Output || sr.Levels != 2 || sr.Images != 2*sr.Rows || sr.Rows == 0 {
			t.Errorf("site %s sample result %+v", site, sr)
		}
		checkManifest(t, filepath.Join(w.synth[site], sr.SetID), ddpmJob.Output, sr.Images)
	}

	// The classifiers: real only (the baseline and the fidelity filter),
	// then real + 2 replicas per row from the sample job, filtered by the
	// real-only classifier; both referenced by job.
	real := w.submit(t, `id = "clf-real"
kind = "train"
model = "classifier"
rounds = 1
quorum = 3
sites = ["a", "b", "c"]
[train]
local_steps = 2
`+wfDeadlines+wfClassifier)[0]
	synth := w.submit(t, `id = "clf-syn"
kind = "train"
model = "classifier"
rounds = 1
quorum = 3
sites = ["a", "b", "c"]
[train]
local_steps = 2
[data]
synthetic_job = "sample"
synthetic_level = 2
real_fraction = 0.5
[data.fidelity]
checkpoint = "job:clf-real"
threshold = 0.05
`+wfDeadlines+wfClassifier)[0]
	rec, err := w.c.Job("clf-syn")
	if err != nil || rec.Spec.Data.SyntheticSet != sample.Output || rec.Spec.Refs["job:clf-real"].Hash != real.Output {
		t.Fatalf("classifier job uses set %q and filter %+v; sample made %q, clf-real %q (%v)",
			rec.Spec.Data.SyntheticSet, rec.Spec.Refs["job:clf-real"], sample.Output, real.Output, err)
	}

	ev := w.submit(t, fmt.Sprintf(`id = "eval"
kind = "evaluate"
quorum = 3
sites = ["a", "b", "c"]
[evaluate]
checkpoints = [%q, "job:clf-real"]
baseline = "job:clf-real"
bootstrap_reps = 50
`+wfDeadlines, synth.Output))[0]
	if ev.Model != "classifier" || sample.Model != "ddpm" {
		t.Errorf("jobs take their model from their checkpoints: evaluate %q, sample %q", ev.Model, sample.Model)
	}
	checkEvaluation(t, w.c, sites, synth.Output, real.Output)
}

// checkManifest checks a site's synthetic set: its manifest names the DDPM
// in every row and lists n images that exist.
func checkManifest(t *testing.T, dir, ddpm string, n int) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, siteagent.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 {
		t.Fatalf("%s: %d manifest rows, want %d", dir, len(rows)-1, n)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[col["Checkpoint"]] != ddpm {
			t.Fatalf("%s: row names checkpoint %q, want %q", dir, r[col["Checkpoint"]], ddpm)
		}
		if _, err := os.Stat(filepath.Join(dir, r[col["Path"]])); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEvaluation checks the evaluate job's per-site aggregates.
func checkEvaluation(t *testing.T, c *coordinator.Coordinator, sites []string, synth, real string) {
	t.Helper()
	res, err := c.Results("eval")
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range sites {
		raw := res.Results[site]
		for _, forbidden := range []string{"scores", "probs", "predictions", "pixels"} {
			if bytes.Contains(raw, []byte(forbidden)) {
				t.Errorf("site %s result holds %q: %s", site, forbidden, raw)
			}
		}
		er, err := protocol.DecodeEvaluateResult(raw)
		if err != nil {
			t.Fatal(err)
		}
		if er.Site != site || er.Images == 0 || len(er.Models) != 2 {
			t.Fatalf("site %s result: %+v", site, er)
		}
		if er.Models[0].Hash != synth || er.Models[1].Hash != real {
			t.Errorf("site %s scored %s and %s, want %s and %s", site, er.Models[0].Hash, er.Models[1].Hash, synth, real)
		}
		if len(er.Models[0].Labels) != model.NumLabels {
			t.Errorf("site %s: %d label scores", site, len(er.Models[0].Labels))
		}
		cmp := er.Models[0].VsBaseline
		if cmp == nil || cmp.Baseline != real || er.Models[1].VsBaseline != nil {
			t.Errorf("site %s: comparison %+v, baseline's own %+v", site, cmp, er.Models[1].VsBaseline)
		}
	}
}
