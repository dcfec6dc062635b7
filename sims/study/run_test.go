package study

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/eval/report"
)

// TestTinyRunEndToEnd runs the whole study on the tiny profile: the real
// coordinator and agents over bufconn with mTLS, federated DDPM and FedAvg
// classifier jobs, site-only DDPMs, sampling, every classifier, scoring,
// quality and the report. It checks the shape of what is written, not the
// (meaningless) numbers.
func TestTinyRunEndToEnd(t *testing.T) {
	cfg, err := Profile("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.Corrupt = map[string]int{"county": 2}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	var log bytes.Buffer
	res, err := Run(ctx, cfg, out, Options{Progress: NewProgress(&log, false, nil)})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, f := range []string{"results.json", "report.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	back, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatalf("results.json does not decode strictly: %v", err)
	}
	exps := map[string]*report.Experiment{"supplementation": back.Supplementation, "synthetic_only": back.SyntheticOnly, "mixing": back.Mixing, "federation": back.Federation,
		"site_conditioned": back.SiteConditioned}
	want := map[string]int{"supplementation": 3 * 3, "synthetic_only": 3 * 3, "mixing": 3 * 2, "federation": 3 * 5, "site_conditioned": 3 * 4}
	for k, e := range exps {
		if e == nil || len(e.Rows) != want[k] {
			t.Errorf("%s: %v rows, want %d", k, e, want[k])
		}
	}
	if len(res.Findings) != 4 || len(res.Quality) != 6 || len(res.Memorisation) != 5 {
		t.Errorf("%d findings, %d quality rows, %d memorisation rows", len(res.Findings), len(res.Quality), len(res.Memorisation))
	}
	for _, q := range back.Quality {
		if q.SiteFidelity == nil || q.SiteChance == nil || *q.SiteChance != 1.0/3 {
			t.Errorf("quality row %s: site fidelity %v, chance %v; want both, chance 1/3", q.Model, q.SiteFidelity, q.SiteChance)
		}
	}
	if q := back.Quality[0]; q.SiteFidelity != nil && *q.SiteFidelity <= 1.0/3 {
		t.Errorf("real test images' site fidelity %v: want above chance (the sites' acquisitions differ)", *q.SiteFidelity)
	}
	if g := back.Regime; g == nil || len(g.Sites) != 3 || g.Mean == nil || g.Verdict == "" || g.Sites[0].TestImages < 48 {
		t.Errorf("regime table %+v: want 3 sites with their held-out test images, a mean and a verdict", g)
	}
	var county report.SiteCounts
	for _, s := range res.Sites {
		if s.Site == "county" {
			county = s
		}
	}
	if county.Reasons["data: unreadable image"] != 2 {
		t.Errorf("county counts %+v: want 2 unreadable images", county)
	}
	names := map[string]bool{}
	for _, p := range res.Phases {
		names[p.Name] = true
	}
	for _, p := range []string{"phantom", "ddpm-federated", "classifier-fedavg", "ddpm-site-only", "ddpm-site-conditioned", "sampling", "classifiers", "evaluation", "quality", "report"} {
		if !names[p] {
			t.Errorf("phase %s not timed: %+v", p, res.Phases)
		}
	}
	if !strings.Contains(log.String(), "phase sampling: done") {
		t.Errorf("progress log lacks phase ends:\n%s", log.String())
	}
	// The same command again in the same folder starts afresh (the earlier
	// run's jobs are not found in the coordinator's store) and, every seed
	// being fixed, gives the same results.
	again, err := Run(ctx, cfg, out, Options{})
	if err != nil {
		t.Fatalf("second run in the same folder: %v", err)
	}
	if !reflect.DeepEqual(again.Supplementation, res.Supplementation) || !reflect.DeepEqual(again.Findings, res.Findings) {
		t.Errorf("second run's results differ from the first's")
	}
}

func TestPrepareOutRemovesOnlyRunState(t *testing.T) {
	out := t.TempDir()
	for _, d := range []string{"data/site", "consortium/coordinator", "plots", "mine"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := prepareOut(out)
	if err != nil || len(removed) != 3 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	for _, d := range []string{"data", "consortium", "plots"} {
		if _, err := os.Stat(filepath.Join(out, d)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", d, err)
		}
	}
	for _, keep := range []string{"mine", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(out, keep)); err != nil {
			t.Errorf("%s removed: %v", keep, err)
		}
	}
	if removed, err := prepareOut(filepath.Join(out, "new", "dir")); err != nil || len(removed) != 0 {
		t.Errorf("fresh folder: removed %v, %v", removed, err)
	}
}
