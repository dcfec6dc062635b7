package study

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/model"
)

// regimeSites makes three sites' test sets (n rows each, two rows per
// patient) with random labels.
func regimeSites(n int, rng *rand.Rand) []*Site {
	var sites []*Site
	for s := range 3 {
		set := &model.ImageSet{Size: 1, Pixels: make([]float32, n)}
		for i := range n {
			var l [model.NumLabels]model.Label
			for j := range l {
				l[j] = model.Label(rng.IntN(2))
			}
			set.Labels = append(set.Labels, l)
			set.PatientIDs = append(set.PatientIDs, fmt.Sprintf("s%d/p%d", s, i/2))
		}
		sites = append(sites, &Site{Name: fmt.Sprintf("site%d", s), Test: set})
	}
	return sites
}

// scoredModel scores every site's test rows: the label plus noise, with
// less noise on the sites in sharp (a classifier that is good there).
func scoredModel(key string, sites []*Site, sharp map[int]bool, rng *rand.Rand) *Model {
	m := &Model{Key: key, Probs: make([][][model.NumLabels]float32, len(sites))}
	for j, s := range sites {
		noise := 1.5
		if sharp[j] {
			noise = 0.5
		}
		for _, l := range s.Test.Labels {
			var p [model.NumLabels]float32
			for k := range p {
				p[k] = float32(float64(l[k]) + noise*rng.NormFloat64())
			}
			m.Probs[j] = append(m.Probs[j], p)
		}
	}
	return m
}

// macroOn is the reference: the macro AUROC of m's scores on the given
// sites' test rows concatenated.
func macroOn(t *testing.T, m *Model, sites []*Site, idx []int) float64 {
	t.Helper()
	var probs [][model.NumLabels]float32
	var labels [][model.NumLabels]model.Label
	for _, j := range idx {
		probs = append(probs, m.Probs[j]...)
		labels = append(labels, sites[j].Test.Labels...)
	}
	sc, err := eval.ScoreColumns(probs)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := eval.MacroAUROC(eval.NewTestSet(labels, nil), sc)
	if err != nil {
		t.Fatal(err)
	}
	return mac.Mean
}

// TestRegimeTable checks the regime's computation against direct macro
// AUROCs: each local classifier is sharp on its own site only and the
// central one everywhere, so every site has a gap that pooling closes; the
// verdict says yes. Local classifiers sharp everywhere leave no gap, and
// the verdict says no.
func TestRegimeTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sites := regimeSites(300, rng)
	cfg := DefaultConfig()
	cfg.Eval.BootstrapReps = 200
	sc := NewScorer(cfg, sites)
	var local []*Model
	for s := range sites {
		local = append(local, scoredModel(fmt.Sprintf("local%d", s), sites, map[int]bool{s: true}, rng))
	}
	central := scoredModel("central", sites, map[int]bool{0: true, 1: true, 2: true}, rng)
	g, err := sc.Regime(context.Background(), local, central, 0.02)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Sites) != 3 || g.Mean == nil {
		t.Fatalf("regime rows: %+v", g)
	}
	var meanGap, meanGain float64
	for s, row := range g.Sites {
		others := []int{0, 1, 2}
		others = append(others[:s], others[s+1:]...)
		li, le := macroOn(t, local[s], sites, []int{s}), macroOn(t, local[s], sites, others)
		ci, ce := macroOn(t, central, sites, []int{s}), macroOn(t, central, sites, others)
		for _, c := range []struct {
			name string
			got  report.Estimate
			want float64
		}{{"local internal", row.LocalInternal, li}, {"local external", row.LocalExternal, le}, {"central internal", row.CentralInternal, ci},
			{"central external", row.CentralExternal, ce}, {"gap", row.Gap, li - le}, {"gain", row.Gain, ce - le}} {
			if c.got.Value == nil || math.Abs(*c.got.Value-c.want) > 1e-12 {
				t.Errorf("%s %s = %v, want %v", row.Site, c.name, c.got.Value, c.want)
			}
			if c.got.CI == nil || !(c.got.CI.Lo <= c.want && c.want <= c.got.CI.Hi) {
				t.Errorf("%s %s CI %+v does not hold its estimate %v", row.Site, c.name, c.got.CI, c.want)
			}
		}
		if row.TestImages != 300 || row.ExternalImages != 600 {
			t.Errorf("%s: %d / %d test images", row.Site, row.TestImages, row.ExternalImages)
		}
		meanGap += (li - le) / 3
		meanGain += (ce - le) / 3
	}
	if math.Abs(*g.Mean.Gap.Value-meanGap) > 1e-12 || math.Abs(*g.Mean.Gain.Value-meanGain) > 1e-12 {
		t.Errorf("mean gap %v gain %v, want %v %v", *g.Mean.Gap.Value, *g.Mean.Gain.Value, meanGap, meanGain)
	}
	if !g.HasProblem || !strings.HasPrefix(g.Verdict, "Yes") {
		t.Errorf("gap %.3f and gain %.3f: verdict %q", meanGap, meanGain, g.Verdict)
	}
	if !(g.MaxHalfWidth > 0) || g.TargetHalfWidth != 0.02 {
		t.Errorf("half-width %v, target %v", g.MaxHalfWidth, g.TargetHalfWidth)
	}
	res := &report.Results{Schema: report.SchemaVersion, Regime: g}
	if err := res.Validate(); err != nil {
		t.Errorf("regime does not validate: %v", err)
	}

	for s := range sites {
		local[s] = scoredModel(fmt.Sprintf("even%d", s), sites, map[int]bool{0: true, 1: true, 2: true}, rng)
	}
	g, err = sc.Regime(context.Background(), local, central, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g.HasProblem || !strings.HasPrefix(g.Verdict, "No") {
		t.Errorf("no gap (mean %.3f): verdict %q", *g.Mean.Gap.Value, g.Verdict)
	}
}
