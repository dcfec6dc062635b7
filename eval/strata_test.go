package eval

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// With one stratum, StratifiedBootstrap draws the resamples Bootstrap
// draws, so its intervals and a derived difference must equal Bootstrap's
// macro intervals and paired difference exactly.
func TestStratifiedBootstrapOneStratumIsBootstrap(t *testing.T) {
	ts, sets := bootData(3, 120)
	ts.Patients = make([]string, ts.Len())
	for i := range ts.Patients {
		ts.Patients[i] = string(rune('a' + i/3)) // three rows per patient
	}
	cfg := BootstrapConfig{Reps: 200, Level: 0.9, Seed: 11}
	want, err := Bootstrap(context.Background(), ts, sets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stats := []MacroStat{{Strata: []int{0}, Scores: sets[0]}, {Strata: []int{0}, Scores: sets[1]}}
	diff := func(v []float64) float64 { return v[0] - v[1] }
	got, err := StratifiedBootstrap(context.Background(), []*TestSet{ts}, stats, []Derived{diff}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stats {
		if got.Stats[i] != want.Macro[i] {
			t.Errorf("stat %d: %+v, Bootstrap gave %+v", i, got.Stats[i], want.Macro[i])
		}
	}
	if got.Derived[0] != want.Diffs[0].CI {
		t.Errorf("difference: %+v, Bootstrap gave %+v", got.Derived[0], want.Diffs[0].CI)
	}
	if got.Clusters[0] != want.Clusters {
		t.Errorf("clusters %v, want %d", got.Clusters, want.Clusters)
	}
}

// A statistic on two strata has the macro AUROC of the concatenated rows as
// its estimate, and its interval narrows against one stratum's alone.
func TestStratifiedBootstrapUnion(t *testing.T) {
	a, sa := bootData(5, 200)
	b, sb := bootData(6, 200)
	cat := &TestSet{Names: a.Names, Labels: make([][]model.Label, len(a.Names))}
	sc := make(Scores, len(sa[0]))
	for j := range cat.Labels {
		cat.Labels[j] = append(append([]model.Label(nil), a.Labels[j]...), b.Labels[j]...)
		sc[j] = append(append([]float64(nil), sa[0][j]...), sb[0][j]...)
	}
	stats := []MacroStat{{Strata: []int{0}, Scores: sa[0]}, {Strata: []int{0, 1}, Scores: sc}}
	res, err := StratifiedBootstrap(context.Background(), []*TestSet{a, b}, stats, nil, BootstrapConfig{Reps: 400, Level: 0.95, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := MacroAUROC(cat, sc)
	if math.Abs(res.Stats[1].Estimate-m.Mean) > 1e-15 {
		t.Errorf("union estimate %v, macro of the concatenation %v", res.Stats[1].Estimate, m.Mean)
	}
	one, two := res.Stats[0].Hi-res.Stats[0].Lo, res.Stats[1].Hi-res.Stats[1].Lo
	if !(two < one) {
		t.Errorf("interval on 400 rows %.4f not narrower than on 200 rows %.4f", two, one)
	}
}

func TestStratifiedBootstrapRefusals(t *testing.T) {
	ts, sets := bootData(1, 50)
	cfg := BootstrapConfig{Reps: 20, Level: 0.95}
	ctx := context.Background()
	if _, err := StratifiedBootstrap(ctx, []*TestSet{ts}, nil, nil, cfg); !errors.Is(err, ErrEmpty) {
		t.Errorf("no statistics: %v", err)
	}
	if _, err := StratifiedBootstrap(ctx, []*TestSet{ts}, []MacroStat{{Strata: []int{1}, Scores: sets[0]}}, nil, cfg); !errors.Is(err, ErrLength) {
		t.Errorf("stratum out of range: %v", err)
	}
	if _, err := StratifiedBootstrap(ctx, []*TestSet{ts}, []MacroStat{{Strata: []int{0}, Scores: sets[0][:1]}}, nil, cfg); err == nil {
		t.Error("scores for one label of two accepted")
	}
}

// BenchmarkStratifiedBootstrap times the regime's bootstrap at the quick
// profile's size: three sites of 1,700 test images, four statistics per
// site, 200 resamples.
func BenchmarkStratifiedBootstrap(b *testing.B) {
	var strata []*TestSet
	var sets []Scores
	for s := range 3 {
		ts, sc := bootData(uint64(10+s), 1700)
		strata, sets = append(strata, ts), append(sets, sc[0], sc[1])
	}
	cat := func(idx []int, k int) Scores {
		out := make(Scores, len(sets[0]))
		for j := range out {
			for _, s := range idx {
				out[j] = append(out[j], sets[2*s+k][j]...)
			}
		}
		return out
	}
	var stats []MacroStat
	for s := range 3 {
		var others []int
		for j := range 3 {
			if j != s {
				others = append(others, j)
			}
		}
		for k := range 2 {
			stats = append(stats, MacroStat{Strata: []int{s}, Scores: cat([]int{s}, k)}, MacroStat{Strata: others, Scores: cat(others, k)})
		}
	}
	cfg := BootstrapConfig{Reps: 200, Level: 0.95, Seed: 1}
	b.ResetTimer()
	for range b.N {
		if _, err := StratifiedBootstrap(context.Background(), strata, stats, nil, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
