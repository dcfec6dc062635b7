package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func TestQuantileType7(t *testing.T) {
	// Values from R: quantile(c(1, 2, 4, 8), p, type = 7).
	x := []float64{1, 2, 4, 8}
	for _, tc := range []struct{ p, want float64 }{
		{0, 1}, {1, 8}, {0.5, 3}, {0.25, 1.75}, {0.9, 6.8}, {0.025, 1.075},
	} {
		if got := Quantile(x, tc.p); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Quantile([]float64{5}, 0.3); got != 5 {
		t.Errorf("single value quantile %v", got)
	}
}

func bootData(seed uint64, n int) (*TestSet, []Scores) {
	r := rand.New(rand.NewPCG(seed, 99))
	y0 := simLabels(r, n, 0.4, 0.1)
	y1 := simLabels(r, n, 0.3, 0.2)
	ts := &TestSet{Names: []string{"x", "y"}, Labels: [][]model.Label{y0, y1}}
	a := Scores{simScores(r, y0, 1, 2), simScores(r, y1, 0.5, 2)}
	b := Scores{simScores(r, y0, 0.6, 2), simScores(r, y1, 0.4, 2)}
	return ts, []Scores{a, b}
}

func TestBootstrapDeterministicAndSeeded(t *testing.T) {
	ts, sets := bootData(1, 150)
	cfg := BootstrapConfig{Reps: 300, Level: 0.95, Seed: 7}
	r1, err := Bootstrap(context.Background(), ts, sets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Bootstrap(context.Background(), ts, sets, cfg)
	if fmt.Sprint(r1) != fmt.Sprint(r2) {
		t.Fatal("same seed gave different intervals")
	}
	cfg.Seed = 8
	r3, _ := Bootstrap(context.Background(), ts, sets, cfg)
	if r3.Macro[0] == r1.Macro[0] {
		t.Fatal("different seeds gave identical intervals")
	}
	for s, ci := range r1.Macro {
		m, _ := MacroAUROC(ts, sets[s])
		if ci.Estimate != m.Mean || !(ci.Lo < ci.Estimate && ci.Estimate < ci.Hi) || ci.Valid != cfg.Reps {
			t.Errorf("set %d: macro CI %+v around %v", s, ci, m.Mean)
		}
	}
	d := r1.Diffs[0]
	if d.A != 0 || d.B != 1 || math.Abs(d.CI.Estimate-(r1.Macro[0].Estimate-r1.Macro[1].Estimate)) > 1e-15 {
		t.Errorf("diff CI %+v", d)
	}
	if r1.Clusters != 150 {
		t.Errorf("clusters %d, want 150 (no patient IDs)", r1.Clusters)
	}
}

// TestBootstrapResamplesPatients duplicates every row under the same
// patient ID: resampling patients must then give exactly the intervals of
// the original rows (each draw doubles every weight), while resampling the
// duplicated rows as independent images would give narrower intervals.
func TestBootstrapResamplesPatients(t *testing.T) {
	ts, sets := bootData(2, 120)
	cfg := BootstrapConfig{Reps: 400, Level: 0.9, Seed: 3}
	base, err := Bootstrap(context.Background(), ts, sets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dup := &TestSet{Names: ts.Names, Labels: make([][]model.Label, 2)}
	dsets := []Scores{make(Scores, 2), make(Scores, 2)}
	for i := range ts.Len() {
		id := fmt.Sprintf("p%03d", i)
		dup.Patients = append(dup.Patients, id)
		for j := range 2 {
			dup.Labels[j] = append(dup.Labels[j], ts.Labels[j][i])
			for s := range 2 {
				dsets[s][j] = append(dsets[s][j], sets[s][j][i])
			}
		}
	}
	// Second copy of every row, after the first copies, same patients.
	n := ts.Len()
	for i := range n {
		dup.Patients = append(dup.Patients, dup.Patients[i])
		for j := range 2 {
			dup.Labels[j] = append(dup.Labels[j], dup.Labels[j][i])
			for s := range 2 {
				dsets[s][j] = append(dsets[s][j], dsets[s][j][i])
			}
		}
	}
	got, err := Bootstrap(context.Background(), dup, dsets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clusters != n {
		t.Fatalf("clusters %d, want %d", got.Clusters, n)
	}
	for s := range base.Macro {
		if d := math.Abs(got.Macro[s].Lo-base.Macro[s].Lo) + math.Abs(got.Macro[s].Hi-base.Macro[s].Hi); d > 1e-12 {
			t.Errorf("set %d: patient bootstrap of duplicated rows %+v != original %+v", s, got.Macro[s], base.Macro[s])
		}
	}
	dup.Patients = nil
	rows, _ := Bootstrap(context.Background(), dup, dsets, cfg)
	if w, w0 := rows.Macro[0].Hi-rows.Macro[0].Lo, base.Macro[0].Hi-base.Macro[0].Lo; w > 0.85*w0 {
		t.Errorf("image-level bootstrap of duplicated rows width %.4f not narrower than patient-level %.4f", w, w0)
	}
}

func TestBootstrapErrors(t *testing.T) {
	ts, sets := bootData(3, 30)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Bootstrap(ctx, ts, sets, DefaultBootstrapConfig()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := Bootstrap(context.Background(), ts, sets, BootstrapConfig{Reps: 0, Level: 1.5}); err == nil {
		t.Error("invalid config accepted")
	}
	if _, err := Bootstrap(context.Background(), ts, nil, DefaultBootstrapConfig()); !errors.Is(err, ErrEmpty) {
		t.Errorf("no sets: err = %v", err)
	}
	ci, err := BootstrapAUROC(context.Background(), []float64{0.9, 0.1}, []model.Label{P, N}, nil, BootstrapConfig{Reps: 50, Level: 0.95, Seed: 1})
	if err != nil || ci.Valid == 0 || ci.Valid == 50 || ci.Estimate != 1 {
		t.Errorf("m1n1: %+v %v; want some resamples skipped for lacking a class", ci, err)
	}
}
