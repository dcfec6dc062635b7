package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func scalarW(v float32) model.Weights { return model.MustWeights(vec("w", v)) }

// TestFedOptHandComputed checks two server steps of FedAdam and FedYogi
// (lr 0.1, b1 0.9, b2 0.99, tau 1e-3, global 1, means 2 then 3) against
// values worked out by hand:
//
//	step 1 (both): d=1, m=0.1, v=0.01, w = 1 + 0.1*0.1/(0.1+0.001) = 1.0990099
//	step 2: d=1.9009901, m=0.2800990; Adam v=0.99*0.01+0.01*d^2 = 0.0460376,
//	Yogi v=0.01+0.01*d^2 = 0.0461376 (v < d^2, so v grows by (1-b2)d^2).
func TestFedOptHandComputed(t *testing.T) {
	spec := DefaultStrategySpec()
	cases := []struct {
		kind FedOptKind
		want [2]float64
	}{
		{FedOptAdam, [2]float64{1.0990099, 1.2289478}},
		{FedOptYogi, [2]float64{1.0990099, 1.2288075}},
	}
	for _, tc := range cases {
		f := NewFedOpt(tc.kind, spec)
		g := scalarW(1)
		for i, mean := range []float32{2, 3} {
			next, err := f.Apply(g, scalarW(mean))
			if err != nil {
				t.Fatal(err)
			}
			got := float64(next.Tensors()[0].Data[0])
			if math.Abs(got-tc.want[i]) > 2e-6 {
				t.Errorf("%s step %d = %.7f, want %.7f", f.Name(), i+1, got, tc.want[i])
			}
			if g.Tensors()[0].Data[0] == next.Tensors()[0].Data[0] {
				t.Errorf("%s step %d did not move", f.Name(), i+1)
			}
			g = next
		}
	}
}

// TestFedOptStateRestoresExactly checks that a restored optimiser continues
// bit for bit, which resume after a crash relies on.
func TestFedOptStateRestoresExactly(t *testing.T) {
	for _, kind := range []FedOptKind{FedOptAdam, FedOptYogi} {
		a := NewFedOpt(kind, DefaultStrategySpec())
		g := model.MustWeights(vec("x", 1, -2), vec("y", 0.5))
		means := []model.Weights{
			model.MustWeights(vec("x", 1.5, -1), vec("y", 0.25)),
			model.MustWeights(vec("x", 2, -3), vec("y", 1)),
			model.MustWeights(vec("x", 0, 0), vec("y", 0)),
		}
		g1, _ := a.Apply(g, means[0])
		g2, _ := a.Apply(g1, means[1])
		b := NewFedOpt(kind, DefaultStrategySpec())
		if err := b.Restore(a.State()); err != nil {
			t.Fatal(err)
		}
		ga, _ := a.Apply(g2, means[2])
		gb, _ := b.Apply(g2, means[2])
		if ga.Hash() != gb.Hash() {
			t.Fatalf("%v: restored optimiser diverged", kind)
		}
	}
}

func TestFedAvgAndProx(t *testing.T) {
	avg, _ := NewStrategy(StrategySpec{Name: StrategyFedAvg})
	prox, _ := NewStrategy(StrategySpec{Name: StrategyFedProx, ProxMu: 0.01})
	mean := scalarW(3)
	for _, s := range []Strategy{avg, prox} {
		out, err := s.Apply(scalarW(1), mean)
		if err != nil || out.Hash() != mean.Hash() {
			t.Fatalf("%s: apply = %v, %v", s.Name(), out, err)
		}
	}
	var spec model.TrainSpec
	prox.ConfigureTrain(&spec)
	if spec.ProxMu != 0.01 || prox.Name() != StrategyFedProx {
		t.Fatalf("fedprox sends mu %v", spec.ProxMu)
	}
	avg.ConfigureTrain(&spec)
	if spec.ProxMu != 0 {
		t.Fatal("fedavg kept mu")
	}
}

func TestStrategySpecValidate(t *testing.T) {
	cases := []struct {
		spec StrategySpec
		ok   bool
	}{
		{StrategySpec{Name: "fedavg"}, true},
		{StrategySpec{Name: "fedprox"}, false},
		{StrategySpec{Name: "fedbn"}, false},
		{StrategySpec{Name: "fedbn", LocalOnly: []string{"^bn\\."}}, true},
		{StrategySpec{Name: "fedbn", LocalOnly: []string{"("}}, false},
		{StrategySpec{Name: "fedadam"}, false},
		{DefaultStrategySpec(), true},
		{StrategySpec{Name: "sgd"}, false},
	}
	for _, tc := range cases {
		if err := tc.spec.Validate("s"); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v", tc.spec, err)
		}
	}
}

// TestWeightedSumMatchesMean compares the streaming aggregator, in its
// float64 and its float32-delta mode, with a hand-computed weighted mean,
// and checks it refuses a misfit update.
func TestWeightedSumMatchesMean(t *testing.T) {
	base := model.MustWeights(vec("a", 1, 1), vec("b", 0.5))
	for _, limit := range []int{0, -1} {
		agg, err := NewWeightedSum(base, limit)
		must(t, err)
		if agg.Float32() != (limit < 0) {
			t.Fatalf("limit %d: float32 mode %v", limit, agg.Float32())
		}
		ups := []struct {
			w model.Weights
			n float64
		}{
			{model.MustWeights(vec("a", 1, 2), vec("b", 3)), 1},
			{model.MustWeights(vec("a", 4, 0), vec("b", -3)), 2},
			{model.MustWeights(vec("a", 0, 8), vec("b", 0)), 1},
		}
		for _, u := range ups {
			must(t, agg.Add("s", u.w, u.n))
		}
		if err := agg.Add("x", model.MustWeights(vec("a", 1, 2)), 1); err == nil {
			t.Fatal("misfit update folded")
		}
		got, err := agg.Mean()
		must(t, err)
		wantData(t, got, "a", (1+8+0)/4.0, (2+0+8)/4.0)
		wantData(t, got, "b", (3-6+0)/4.0)
		if agg.Count() != 3 {
			t.Fatalf("count %d", agg.Count())
		}
		if again, _ := agg.Mean(); again.Hash() != got.Hash() {
			t.Fatalf("limit %d: a second Mean differs", limit)
		}
		if agg.Float32() && agg.Add("late", ups[0].w, 1) == nil {
			t.Fatal("an update folded after the mean was built in the sum")
		}
	}
}

// TestWeightedSumFloat32Precision: the float32-delta mean of many sites'
// updates differs from the float64 one by at most an ulp of the value plus
// a float32 rounding of the update's size (here 0.01), far below what
// float32 training itself resolves.
func TestWeightedSumFloat32Precision(t *testing.T) {
	const n, sites = 4096, 10
	rng := rand.New(rand.NewPCG(1, 2))
	g := make([]float32, n)
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	base := model.MustWeights(model.Tensor{Name: "w", Shape: []int{n}, Data: g})
	f64, _ := NewWeightedSum(base, 0)
	f32, _ := NewWeightedSum(base, -1)
	for s := 0; s < sites; s++ {
		u := make([]float32, n)
		for i := range u {
			u[i] = g[i] + 0.01*float32(rng.NormFloat64())
		}
		w := model.MustWeights(model.Tensor{Name: "w", Shape: []int{n}, Data: u})
		must(t, f64.Add("s", w, float64(100+37*s)))
		must(t, f32.Add("s", w, float64(100+37*s)))
	}
	a, _ := f64.Mean()
	b, _ := f32.Mean()
	for i, v := range a.Tensors()[0].Data {
		av := float32(math.Abs(float64(v)))
		ulp := float64(math.Nextafter32(av, float32(math.Inf(1))) - av)
		if d := math.Abs(float64(b.Tensors()[0].Data[i] - v)); d > ulp+4*0.01*0x1p-24*sites {
			t.Fatalf("value %d: float32-delta mean %v, float64 mean %v (%.3g apart, ulp %.3g)", i, b.Tensors()[0].Data[i], v, d, ulp)
		}
	}
}

// TestFedBNKeepsLocalLayers runs an engine round with a local-only pattern:
// the shared tensor is averaged, the local one keeps the global's value,
// uploads must leave local tensors out, and sites are told the pattern.
func TestFedBNKeepsLocalLayers(t *testing.T) {
	h := newHarness(t, Config{})
	spec := testSpec()
	spec.Strategy = StrategySpec{Name: StrategyFedBN, LocalOnly: []string{`^bn\.`}}
	h.join("a", "b", "c")
	h.startJob(spec, model.MustWeights(vec("bn.scale", 1, 1), vec("w", 0, 0)))
	if lo := h.tasks["a"].LocalOnly; len(lo) != 1 || lo[0] != `^bn\.` {
		t.Fatalf("local-only not sent: %v", lo)
	}
	if err := h.deliver("a", model.MustWeights(vec("bn.scale", 5, 5), vec("w", 1, 1)), 1); err == nil {
		t.Fatal("upload with a local tensor accepted")
	}
	must(t, h.deliver("b", model.MustWeights(vec("w", 2, 4)), 1))
	must(t, h.deliver("c", model.MustWeights(vec("w", 4, 8)), 1))
	c := h.commitLast()
	wantData(t, c.Global, "w", 3, 6)
	wantData(t, c.Global, "bn.scale", 1, 1)
}
