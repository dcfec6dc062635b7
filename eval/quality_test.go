package eval

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func gaussFeatures(r *rand.Rand, n, d int, shift, scale float32) [][]float32 {
	x := make([][]float32, n)
	for i := range x {
		x[i] = make([]float32, d)
		for j := range x[i] {
			x[i][j] = float32(r.NormFloat64())*scale + shift
		}
	}
	return x
}

func shifted(x [][]float32, c float32) [][]float32 {
	out := make([][]float32, len(x))
	for i, row := range x {
		out[i] = make([]float32, len(row))
		for j, v := range row {
			out[i][j] = v + c
		}
	}
	return out
}

// TestFrechetProperties checks FD(X, X) = 0, FD(X, X + c) = d c^2 (the
// covariances coincide), symmetry, and the rank-deficient case of fewer rows
// than dimensions, where a plain matrix square root of S1 S2 is unstable.
func TestFrechetProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		n, d int
	}{{"full rank", 200, 8}, {"rank deficient n<d", 10, 40}} {
		t.Run(tc.name, func(t *testing.T) {
			x := gaussFeatures(r, tc.n, tc.d, 0, 1)
			y := gaussFeatures(r, tc.n+3, tc.d, 0.2, 1.5)
			self, err := FrechetDistance(x, x)
			if err != nil {
				t.Fatal(err)
			}
			tr := 0.0
			_, c := meanCov(x)
			for i := range tc.d {
				tr += c.At(i, i)
			}
			if self > 1e-9*tr {
				t.Errorf("FD(X, X) = %g, want 0", self)
			}
			sh, _ := FrechetDistance(x, shifted(x, 0.5))
			if want := float64(tc.d) * 0.25; math.Abs(sh-want) > 1e-6*want+1e-9*tr {
				t.Errorf("FD(X, X+0.5) = %.9g, want %.9g", sh, want)
			}
			ab, _ := FrechetDistance(x, y)
			ba, _ := FrechetDistance(y, x)
			if math.Abs(ab-ba) > 1e-8*ab || ab <= sh/10 {
				t.Errorf("FD not symmetric or implausible: %v vs %v", ab, ba)
			}
		})
	}
}

func TestFeatureInputErrors(t *testing.T) {
	ok := [][]float32{{1, 2}, {3, 4}, {5, 7}}
	tests := []struct {
		name  string
		a, b  [][]float32
		wantE error
	}{
		{"one row", ok[:1], ok, ErrTooFew},
		{"ragged", [][]float32{{1, 2}, {3}}, ok, ErrDimension},
		{"dimension mismatch", ok, [][]float32{{1}, {2}}, ErrDimension},
		{"NaN", [][]float32{{1, 2}, {float32(math.NaN()), 1}}, ok, ErrNonFinite},
	}
	for _, tc := range tests {
		if _, err := FrechetDistance(tc.a, tc.b); !errors.Is(err, tc.wantE) {
			t.Errorf("%s: FrechetDistance err = %v, want %v", tc.name, err, tc.wantE)
		}
	}
	if _, err := PrecisionRecall(context.Background(), ok, ok, 3); !errors.Is(err, ErrTooFew) {
		t.Errorf("k = 3 with 3 rows: err = %v", err)
	}
}

// brutePR recomputes precision and recall with full sorting.
func brutePR(real, synth [][]float32, k int) (float64, float64) {
	radius := func(x [][]float32) []float64 {
		out := make([]float64, len(x))
		for i := range x {
			var d []float64
			for j := range x {
				if i != j {
					d = append(d, math.Sqrt(sqDist(x[i], x[j])))
				}
			}
			slices.Sort(d)
			out[i] = d[k-1]
		}
		return out
	}
	share := func(q, c [][]float32, rad []float64) float64 {
		in := 0
		for _, p := range q {
			for j := range c {
				if math.Sqrt(sqDist(p, c[j])) <= rad[j] {
					in++
					break
				}
			}
		}
		return float64(in) / float64(len(q))
	}
	return share(synth, real, radius(real)), share(real, synth, radius(synth))
}

func TestPrecisionRecall(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	real := gaussFeatures(r, 120, 6, 0, 1)
	for _, tc := range []struct {
		name    string
		synth   [][]float32
		k       int
		minP    float64
		maxP    float64
		minR    float64
		maxR    float64
		checkBF bool
	}{
		{"same set", real, 3, 1, 1, 1, 1, true},
		{"far away", shifted(gaussFeatures(r, 80, 6, 0, 1), 50), 3, 0, 0, 0, 0, true},
		{"collapsed generator", gaussFeatures(r, 80, 6, 0, 0.2), 3, 0.9, 1, 0, 0.6, true},
		{"same distribution", gaussFeatures(r, 150, 6, 0, 1), 5, 0.6, 1, 0.6, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := PrecisionRecall(context.Background(), real, tc.synth, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Precision < tc.minP || pr.Precision > tc.maxP || pr.Recall < tc.minR || pr.Recall > tc.maxR {
				t.Errorf("precision %.3f recall %.3f outside [%v,%v] [%v,%v]", pr.Precision, pr.Recall, tc.minP, tc.maxP, tc.minR, tc.maxR)
			}
			bp, br := brutePR(real, tc.synth, tc.k)
			if pr.Precision != bp || pr.Recall != br {
				t.Errorf("precision %v recall %v, brute force %v %v", pr.Precision, pr.Recall, bp, br)
			}
		})
	}
}

func TestFidelity(t *testing.T) {
	ts := &TestSet{Names: []string{"a", "b"}, Labels: [][]model.Label{{P, N, P, N, U}, {N, N, N, B, N}}}
	probs := Scores{{0.9, 0.2, 0.4, 0.6, 0.99}, {0.1, 0.7, 0.2, 0.9, 0.3}}
	f, err := Fidelity(ts, probs, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Labels[0], f.Labels[1]
	if a.AUROC != 0.75 || a.Accuracy != 0.5 || !math.IsNaN(b.AUROC) || b.Accuracy != 0.75 {
		t.Fatalf("labels %+v %+v", a, b)
	}
	if f.MacroAUROC != 0.75 || f.MacroAccuracy != 0.625 || f.AUROCLabels != 1 || f.AccuracyLabels != 2 {
		t.Fatalf("macro %+v", f)
	}
	none := &TestSet{Names: []string{"a"}, Labels: [][]model.Label{{U, B}}}
	if _, err := Fidelity(none, Scores{{0.1, 0.2}}, 0.5); !errors.Is(err, ErrEmpty) {
		t.Fatalf("no conditioned label: err = %v", err)
	}
}

func TestDiversity(t *testing.T) {
	f := [][]float32{{0, 0}, {3, 4}, {0, 4}, {10, 10}, {10, 10}, {7, 7}}
	groups := []string{"g1", "g1", "g1", "g2", "g2", "solo"}
	d, err := Diversity(context.Background(), f, groups)
	if err != nil {
		t.Fatal(err)
	}
	// g1 pairs: 5, 4, 3 -> 4; g2: 0.
	if len(d.Groups) != 3 || d.Groups[0].MeanDistance != 4 || d.Groups[1].MeanDistance != 0 || !math.IsNaN(d.Groups[2].MeanDistance) {
		t.Fatalf("groups %+v", d.Groups)
	}
	if d.Within != 2 || d.Singletons != 1 || !(d.Ratio > 0 && d.Ratio < 1) {
		t.Fatalf("summary %+v", d)
	}
	if math.Abs(d.Overall-meanPairwise(f, []int{0, 1, 2, 3, 4, 5})) > 1e-12 {
		t.Fatalf("overall %v", d.Overall)
	}
	if _, err := Diversity(context.Background(), f, groups[:2]); !errors.Is(err, ErrLength) {
		t.Fatalf("short groups: err = %v", err)
	}
	var cond [2][model.CondDim]float32
	cond[0][0], cond[1][0] = 6, 6
	cond[1][3] = 1
	keys := ConditionKeys(cond[:])
	if keys[0] == keys[1] || keys[0] != ConditionKeys(cond[:1])[0] {
		t.Fatalf("condition keys %q", keys)
	}
}

func TestMemorisation(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	train := gaussFeatures(r, 60, 64, 0, 0.5)
	synth := gaussFeatures(r, 20, 64, 0, 0.5)
	synth[3] = slices.Clone(train[17])
	synth[9] = slices.Clone(train[42])
	for j := range synth[9] {
		synth[9][j] += 0.001 * float32(r.NormFloat64())
	}
	tf := gaussFeatures(r, 60, 8, 0, 1)
	// Synthetic features sit apart from the real ones except for one copy.
	sf := gaussFeatures(r, 20, 8, 3, 1)
	sf[3] = slices.Clone(tf[17])
	res, err := Memorisation(context.Background(), MemorisationInput{
		Synthetic: synth, Training: train, SyntheticFeatures: sf, TrainingFeatures: tf,
	}, MemorisationConfig{Percentile: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Flagged, []int{3, 9}) {
		t.Fatalf("flagged %v, want [3 9]", res.Flagged)
	}
	n3, n9 := res.Nearest[3], res.Nearest[9]
	if n3.PixelIndex != 17 || n3.PixelDistance != 0 || !n3.PixelFlag || n3.FeatureIndex != 17 || !n3.FeatureFlag {
		t.Fatalf("synthetic 3: %+v", n3)
	}
	if n9.PixelIndex != 42 || !n9.PixelFlag || n9.FeatureFlag {
		t.Fatalf("synthetic 9: %+v", n9)
	}
	if res.Pixel.Flagged != 2 || res.Feature.Flagged != 1 || res.Pixel.CalibrationRows != 60 {
		t.Fatalf("summary %+v %+v", res.Pixel, *res.Feature)
	}
	// A brute-force nearest neighbour for every synthetic image.
	for i, s := range synth {
		best, bi := math.Inf(1), -1
		for j, tr := range train {
			if d := sqDist(s, tr); d < best {
				best, bi = d, j
			}
		}
		if res.Nearest[i].PixelIndex != bi || math.Abs(res.Nearest[i].PixelDistance-math.Sqrt(best)) > 1e-12 {
			t.Fatalf("synthetic %d: nearest %d at %v, brute force %d at %v", i, res.Nearest[i].PixelIndex, res.Nearest[i].PixelDistance, bi, math.Sqrt(best))
		}
	}
}

// TestMemorisationPatients duplicates a training image under one patient:
// without patient IDs the real-to-real calibration sees a zero distance;
// with them the pair is excluded.
func TestMemorisationPatients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	train := gaussFeatures(r, 30, 16, 0, 1)
	train[1] = slices.Clone(train[0])
	synth := gaussFeatures(r, 5, 16, 0, 1)
	patients := make([]string, 30)
	for i := range patients {
		patients[i] = string(rune('A' + i))
	}
	patients[1] = patients[0]
	cfg := MemorisationConfig{Percentile: 0}
	without, err := Memorisation(context.Background(), MemorisationInput{Synthetic: synth, Training: train}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	with, err := Memorisation(context.Background(), MemorisationInput{Synthetic: synth, Training: train, TrainingPatients: patients}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if without.Pixel.Threshold != 0 || with.Pixel.Threshold <= 0 {
		t.Fatalf("thresholds without patients %v, with %v", without.Pixel.Threshold, with.Pixel.Threshold)
	}
	if _, err := Memorisation(context.Background(), MemorisationInput{Synthetic: synth, Training: train[:1]}, cfg); !errors.Is(err, ErrTooFew) {
		t.Fatalf("one training image: err = %v", err)
	}
	if _, err := Memorisation(context.Background(), MemorisationInput{Synthetic: synth, Training: train, SyntheticFeatures: synth}, cfg); !errors.Is(err, ErrLength) {
		t.Fatalf("features for one side only: err = %v", err)
	}
}
