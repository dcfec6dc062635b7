package siteagent_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/sims/phantom"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// With data.store_dir the site's data is prepared into the store on first
// use and the training split streams from it; the split and the
// validation and test images are those of the in-memory load (within 8-bit
// quantisation), and a second load reuses every prepared image.
func TestStoreSiteData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pc := phantom.DefaultConfig()
	pc.Size, pc.Supersample = 8, 1
	site, err := pc.WriteSite(ctx, dir, 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	cfg := siteagent.DefaultDataConfig()
	cfg.Format, cfg.Path, cfg.ImageSize = "chexpert", site.Dir, 8
	mem, err := siteagent.LoadSiteData(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StoreDir = filepath.Join(dir, "store")
	st, err := siteagent.LoadSiteData(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Train.Stream == nil || st.Train.Images != nil || st.Store == nil {
		t.Fatal("the training split is not streamed from the store")
	}
	// The streamed training split keeps only its compact index: the same
	// rows (patients hashed) in the same order.
	if st.Train.Records != nil || st.Train.Len() != mem.Train.Len() {
		t.Fatalf("streamed train split keeps %d records for %d rows", len(st.Train.Records), st.Train.Len())
	}
	for i := range st.Train.Len() {
		a, b := mem.Train.Records[i], st.Train.Record(i)
		if b.PatientID != fmt.Sprintf("%016x", store.PatientKey(a.PatientID)) || a.Labels != b.Labels || a.Age != b.Age || a.Sex != b.Sex {
			t.Fatalf("train row %d: store %+v, memory %+v", i, b, a)
		}
	}
	for name, pair := range map[string][2]siteagent.Split{"val": {mem.Val, st.Val}, "test": {mem.Test, st.Test}} {
		a, b := pair[0], pair[1]
		if a.Len() != b.Len() || !slices.EqualFunc(a.Records, b.Records, func(x, y dataset.Record) bool { return x.Path == y.Path }) {
			t.Fatalf("%s: %d records in memory, %d from the store, or another order", name, a.Len(), b.Len())
		}
	}
	img := make([]float32, 64)
	for i := range st.Train.Len() {
		st.Train.Stream.ReadImage(i, img)
		for k, v := range mem.Train.Images.Image(i) {
			if math.Abs(float64(v-img[k])) > 1.0/255+1e-6 {
				t.Fatalf("train image %d pixel %d: store %v, memory %v", i, k, img[k], v)
			}
		}
	}
	// The validation split is scored in slices from the store.
	if st.Val.Images != nil || st.Val.Stream == nil {
		t.Fatal("the validation split is not streamed from the store")
	}
	val, err := st.Val.Stream.Slice(0, st.Val.Len(), dataset.DefaultConfig().Uncertain)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range mem.Val.Images.Pixels {
		if math.Abs(float64(v-val.Pixels[i])) > 1.0/255+1e-6 {
			t.Fatalf("validation pixel %d: store %v, memory %v", i, val.Pixels[i], v)
		}
	}
	if mem.Val.Images.Cond[3] != val.Cond[3] {
		t.Fatalf("conditions differ: %v %v", mem.Val.Images.Cond[3], val.Cond[3])
	}
	// The test split streams to the evaluate task.
	if st.Test.Images != nil || st.Test.Stream == nil {
		t.Fatal("the test split is not streamed from the store")
	}
	for i := range st.Test.Len() {
		st.Test.Stream.ReadImage(i, img)
		for k, v := range mem.Test.Images.Image(i) {
			if math.Abs(float64(v-img[k])) > 1.0/255+1e-6 {
				t.Fatalf("test image %d pixel %d: store %v, memory %v", i, k, img[k], v)
			}
		}
	}
	warm, err := siteagent.PrepareStore(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if warm.Stats.Reused != warm.Stats.Records || warm.Stats.Decoded != 0 {
		t.Fatalf("second prepare: %+v: want everything reused", warm.Stats)
	}
}

// A site whose config sets data.store_dir trains a classifier job from its
// store: prepared on first use, streamed.
func TestStoreClassifierJob(t *testing.T) {
	dir := t.TempDir()
	sites := []string{"a", "b"}
	dirs := writeStoreSites(t, dir, sites)
	cl := startImageCluster(t, sites, func(i int, acfg *siteagent.Config) {
		acfg.Data.Format, acfg.Data.Path = "chexpert", dirs[i]
		acfg.Data.StoreDir = filepath.Join(dir, "store-"+sites[i])
	}, nil)
	w := &wfCluster{c: cl.Coordinator()}
	st := w.submit(t, `id = "clf-store"
kind = "train"
model = "classifier"
rounds = 2
quorum = 2
sites = ["a", "b"]
[train]
local_steps = 3
`+wfDeadlines+wfClassifier)[0]
	if st.Committed != 2 || st.Output == "" {
		t.Fatalf("job status %+v", st)
	}
	for _, s := range sites {
		if m, _ := filepath.Glob(filepath.Join(dir, "store-"+s, "*", "INDEX")); len(m) != 1 {
			t.Fatalf("site %s prepared no store: %v", s, m)
		}
	}
}

// On store sites a sample job writes each set into a store as it samples
// (chunks, index, records file; no PNGs unless data.synthetic_png), with
// its manifest, and a classifier job whose recipe mixes real and
// synthetic images with a fidelity filter streams both from the stores.
func TestStoreSyntheticWorkflow(t *testing.T) {
	dir := t.TempDir()
	sites := []string{"a", "b"}
	dirs := writeStoreSites(t, dir, sites)
	synth := func(i int) string { return filepath.Join(dir, "synthetic-"+sites[i]) }
	cl := startImageCluster(t, sites, func(i int, acfg *siteagent.Config) {
		acfg.Data.Format, acfg.Data.Path = "chexpert", dirs[i]
		acfg.Data.StoreDir, acfg.Data.SyntheticDir = filepath.Join(dir, "store-"+sites[i]), synth(i)
		acfg.Data.SyntheticPNG = i == 1
	}, nil)
	w := &wfCluster{c: cl.Coordinator()}
	ddpmJob := w.submit(t, `id = "ddpm"
kind = "train"
model = "ddpm"
rounds = 1
quorum = 2
sites = ["a", "b"]
[train]
local_steps = 2
`+wfDeadlines+wfDDPM)[0]
	sample := w.submit(t, fmt.Sprintf(`id = "sample"
kind = "sample"
quorum = 2
sites = ["a", "b"]
seed = 7
[sample]
checkpoint = %q
levels = 2
ddim_steps = 2
`+wfDeadlines, ddpmJob.Output))[0]
	for i := range sites {
		setDir := filepath.Join(synth(i), sample.Output)
		info, err := siteagent.ReadSetInfo(setDir)
		if err != nil {
			t.Fatal(err)
		}
		if info.Format != siteagent.FormatStore || info.Images != 2*info.Rows || info.PNG != (i == 1) {
			t.Fatalf("site %s set %+v: want a store set of 2 replicas, PNGs only at b", sites[i], info)
		}
		for _, f := range []string{"INDEX", "RECORDS"} {
			if m, _ := filepath.Glob(filepath.Join(setDir, "store", "*", f)); len(m) != 1 {
				t.Fatalf("site %s: no %s in the set's store", sites[i], f)
			}
		}
		pngs, _ := filepath.Glob(filepath.Join(setDir, "r000", "*.png"))
		if (len(pngs) > 0) != (i == 1) {
			t.Fatalf("site %s: %d PNGs", sites[i], len(pngs))
		}
		checkManifestRows(t, setDir, info.Images)
	}
	w.submit(t, `id = "clf-real"
kind = "train"
model = "classifier"
rounds = 1
quorum = 2
sites = ["a", "b"]
[train]
local_steps = 2
`+wfDeadlines+wfClassifier)
	syn := w.submit(t, `id = "clf-syn"
kind = "train"
model = "classifier"
rounds = 1
quorum = 2
sites = ["a", "b"]
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
	if syn.Committed != 1 {
		t.Fatalf("clf-syn: %+v", syn)
	}
	// The evaluate task streams each site's test split from its store.
	w.submit(t, fmt.Sprintf(`id = "eval"
kind = "evaluate"
quorum = 2
sites = ["a", "b"]
[evaluate]
checkpoints = [%q, "job:clf-real"]
baseline = "job:clf-real"
bootstrap_reps = 20
`+wfDeadlines, syn.Output))
	res, err := w.c.Results("eval")
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range sites {
		er, err := protocol.DecodeEvaluateResult(res.Results[site])
		if err != nil {
			t.Fatal(err)
		}
		if er.Images == 0 || er.Patients == 0 || len(er.Models) != 2 || er.Models[0].VsBaseline == nil {
			t.Fatalf("site %s evaluation %+v", site, er)
		}
	}
}

// checkManifestRows checks that a set's manifest lists n images.
func checkManifestRows(t *testing.T, dir string, n int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, siteagent.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(b), "\n") - 1; rows != n {
		t.Fatalf("%s: %d manifest rows, want %d", dir, rows, n)
	}
}

// writeStoreSites renders a 40-image phantom folder per site under dir at
// the workflow tests' size and returns the folders.
func writeStoreSites(t *testing.T, dir string, sites []string) []string {
	t.Helper()
	pc := phantom.DefaultConfig()
	pc.Size, pc.Supersample = wfSize, 1
	var dirs []string
	for i := range sites {
		s, err := pc.WriteSite(context.Background(), dir, i, 40)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, s.Dir)
	}
	return dirs
}
