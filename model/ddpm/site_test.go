package ddpm

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// siteConfig is tinyConfig with three named sites and no weight decay, so
// that a parameter without a gradient does not move.
func siteConfig() Config {
	cfg := tinyConfig()
	cfg.Arch.Sites = []string{"a", "b", "c"}
	cfg.Train.Adam.WeightDecay = 0
	cfg.Train.SiteDropProb = 0.5
	return cfg
}

func siteTable(t *testing.T, w model.Weights) []float32 {
	t.Helper()
	for _, tn := range w.Tensors() {
		if tn.Name == "cond.site" {
			return tn.Data
		}
	}
	t.Fatal("no cond.site tensor")
	return nil
}

// A site-conditioned U-Net has one embedding row per site plus "any site";
// without sites the parameters are the study's, unchanged.
func TestSiteEmbeddingShape(t *testing.T) {
	plain, err := tinyConfig().Arch.InitWeights(1)
	if err != nil {
		t.Fatal(err)
	}
	sited, err := siteConfig().Arch.InitWeights(1)
	if err != nil {
		t.Fatal(err)
	}
	if sited.Len() != plain.Len()+1 {
		t.Fatalf("%d tensors with sites, %d without", sited.Len(), plain.Len())
	}
	for _, tn := range plain.Tensors() {
		if tn.Name == "cond.site" {
			t.Fatal("a plain U-Net has a site table")
		}
	}
	if got, e := len(siteTable(t, sited)), siteConfig().Arch.TimeEmbDim; got != 4*e {
		t.Errorf("site table has %d values, want (3+1) x %d", got, e)
	}
	if _, err := siteConfig().Arch.SiteIndex("d"); !errors.Is(err, model.ErrConfig) {
		t.Errorf("unknown site: %v", err)
	}
	bad := siteConfig().Arch
	bad.Sites = []string{"a", "a"}
	if bad.Validate() == nil {
		t.Error("repeated site names accepted")
	}
}

// Training at site b moves only b's row and the "any site" row of the site
// table: the other sites' rows get no gradient. This is why a site's
// embedding update is its own, even when aggregated (docs/sim.md).
func TestSiteTrainsOnlyItsOwnRow(t *testing.T) {
	ctx := context.Background()
	cfg := siteConfig()
	tr, err := NewTrainer(cfg, toySet(12, 8, 5), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetSite(1); err != nil {
		t.Fatal(err)
	}
	w, err := tr.Init(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(siteTable(t, w))
	res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 4, Seed: 9, Round: 1})
	if err != nil {
		t.Fatal(err)
	}
	after := siteTable(t, res.Weights)
	e := cfg.Arch.TimeEmbDim
	for row, moved := range []bool{false, true, false, true} {
		changed := !slices.Equal(before[row*e:(row+1)*e], after[row*e:(row+1)*e])
		if changed != moved {
			t.Errorf("site table row %d changed = %v, want %v", row, changed, moved)
		}
	}
	if err := tr.SetSite(3); !errors.Is(err, model.ErrConfig) {
		t.Errorf("site index 3 of 3 sites: %v", err)
	}
}

// The site condition reaches the output: the same noise and condition
// sampled as site a, site b and any site give three different images, and
// the same site twice the same image.
func TestSampleDependsOnSite(t *testing.T) {
	ctx := context.Background()
	cfg := siteConfig()
	w, err := cfg.Arch.InitWeights(4)
	if err != nil {
		t.Fatal(err)
	}
	// Zero-initialised output layers make every prediction 0; give the
	// network a non-trivial output.
	for _, tn := range w.Tensors() {
		for i := range tn.Data {
			if tn.Data[i] == 0 {
				tn.Data[i] = 0.01 * float32(i%7-3)
			}
		}
	}
	s, err := NewSampler(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	conds := make([][model.CondDim]float32, 2)
	seeds := []int64{1, 2}
	draw := func(k int) []float32 {
		if err := s.SetSite(k); err != nil {
			t.Fatal(err)
		}
		px, err := s.Sample(ctx, conds, seeds)
		if err != nil {
			t.Fatal(err)
		}
		return px
	}
	a, b, anySite, a2 := draw(0), draw(1), draw(AnySite), draw(0)
	if slices.Equal(a, b) || slices.Equal(a, anySite) || slices.Equal(b, anySite) {
		t.Error("the site condition does not change the samples")
	}
	if !slices.Equal(a, a2) {
		t.Error("the same site and seeds gave different samples")
	}
	plain := tinyConfig()
	ps, err := NewSampler(plain, mustInit(t, plain.Arch))
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.SetSite(0); !errors.Is(err, model.ErrConfig) {
		t.Errorf("site 0 on a model without sites: %v", err)
	}
}

func mustInit(t *testing.T, a Arch) model.Weights {
	t.Helper()
	w, err := a.InitWeights(1)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
