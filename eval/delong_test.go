package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// TestInfluenceMatchesBruteForce checks the one-pass placements against
// DeLong's double-loop structural components.
func TestInfluenceMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 100 {
		y := simLabels(r, 6+r.IntN(60), 0.4, 0.2)
		s := simScores(r, y, 0.8, trial%3)
		auc, phi, err := labelInfluence(s, y)
		if err != nil {
			continue
		}
		wantAUC, wantPhi := bruteInfluence(s, y)
		if math.Abs(auc-wantAUC) > 1e-12 {
			t.Fatalf("trial %d: AUROC %v, brute %v", trial, auc, wantAUC)
		}
		for i := range phi {
			if math.Abs(phi[i]-wantPhi[i]) > 1e-12 {
				t.Fatalf("trial %d row %d: influence %v, brute %v", trial, i, phi[i], wantPhi[i])
			}
		}
	}
}

func TestDeLongCovariance(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	y := simLabels(r, 120, 0.4, 0.1)
	a := simScores(r, y, 1, 0)
	b := make([]float64, len(a))
	for i := range b {
		b[i] = a[i] + 0.5*r.NormFloat64()
	}
	aucs, cov, err := DeLongCovariance(y, a, b)
	if err != nil {
		t.Fatal(err)
	}
	_, va, _ := DeLongVariance(a, y)
	_, vb, _ := DeLongVariance(b, y)
	if cov[0][1] != cov[1][0] || math.Abs(cov[0][0]-va) > 1e-15 || math.Abs(cov[1][1]-vb) > 1e-15 {
		t.Fatalf("cov %v, variances %v %v", cov, va, vb)
	}
	test, _ := DeLongPaired(a, b, y)
	wantSE := math.Sqrt(cov[0][0] + cov[1][1] - 2*cov[0][1])
	if math.Abs(test.SE-wantSE) > 1e-12 || math.Abs(test.Diff-(aucs[0]-aucs[1])) > 1e-15 {
		t.Fatalf("paired SE %v, want %v", test.SE, wantSE)
	}
	if cov[0][1] <= 0 {
		t.Fatalf("correlated scores gave covariance %v", cov[0][1])
	}
}

func TestDeLongDegenerate(t *testing.T) {
	y := []model.Label{P, P, N, N, N}
	constant := []float64{0.5, 0.5, 0.5, 0.5, 0.5}
	perfect := []float64{0.9, 0.8, 0.1, 0.2, 0.3}
	tests := []struct {
		name  string
		a, b  []float64
		y     []model.Label
		z, p  float64
		wantE error
	}{
		{"constant vs constant: z 0, p 1 as pROC", constant, constant, y, 0, 1, nil},
		{"perfect vs constant: zero variance, non-zero diff", perfect, constant, y, math.Inf(1), 0, nil},
		{"constant vs perfect", constant, perfect, y, math.Inf(-1), 0, nil},
		{"one positive", perfect, constant, []model.Label{P, N, N, N, N}, 0, 0, ErrTooFew},
		{"one class", perfect, constant, []model.Label{N, N, N, N, N}, 0, 0, ErrOneClass},
		{"length mismatch", perfect, constant[:4], y, 0, 0, ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			test, err := DeLongPaired(tc.a, tc.b, tc.y)
			if !errors.Is(err, tc.wantE) {
				t.Fatalf("err = %v, want %v", err, tc.wantE)
			}
			if err == nil && (test.Z != tc.z || test.P != tc.p) {
				t.Fatalf("z %v p %v, want %v %v", test.Z, test.P, tc.z, tc.p)
			}
		})
	}
	auc, ci, err := DeLongCI(constant, y, 0.95)
	if err != nil || auc != 0.5 || ci.Lo != 0.5 || ci.Hi != 0.5 {
		t.Fatalf("constant CI: %v %v %v", auc, ci, err)
	}
}

// TestDeLongNullUniform simulates paired scores of equal AUROC and checks
// that DeLong's p-values are close to uniform: Kolmogorov-Smirnov distance
// below its 1% critical value and the 5% rejection rate in [2%, 9%].
func TestDeLongNullUniform(t *testing.T) {
	r := rand.New(rand.NewPCG(2024, 6))
	const trials = 600
	ps := make([]float64, 0, trials)
	for range trials {
		y := simLabels(r, 120, 0.4, 0)
		a := make([]float64, len(y))
		b := make([]float64, len(y))
		for i := range y {
			shared := r.NormFloat64()
			shift := 0.0
			if y[i] == P {
				shift = 0.8
			}
			a[i] = shift + 0.7*shared + 0.7*r.NormFloat64()
			b[i] = shift + 0.7*shared + 0.7*r.NormFloat64()
		}
		test, err := DeLongPaired(a, b, y)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, test.P)
	}
	slices.Sort(ps)
	var ks float64
	reject := 0
	for i, p := range ps {
		ks = math.Max(ks, math.Max(math.Abs(float64(i+1)/trials-p), math.Abs(p-float64(i)/trials)))
		if p < 0.05 {
			reject++
		}
	}
	if crit := 1.63 / math.Sqrt(trials); ks > crit {
		t.Errorf("KS distance of p-values from uniform %.4f > %.4f", ks, crit)
	}
	if rate := float64(reject) / trials; rate < 0.02 || rate > 0.09 {
		t.Errorf("rejection rate at 5%% = %.3f", rate)
	}
}

// multiLabel simulates a test set whose labels share rows: label 1 copies
// label 0 on most rows, so their AUROCs are strongly correlated.
func multiLabel(r *rand.Rand, n int) (*TestSet, Scores, Scores) {
	ts := &TestSet{Names: []string{"a", "b", "c"}, Labels: make([][]model.Label, 3)}
	ts.Labels[0] = simLabels(r, n, 0.4, 0.1)
	ts.Labels[1] = slices.Clone(ts.Labels[0])
	for i := range ts.Labels[1] {
		if r.Float64() < 0.1 {
			ts.Labels[1][i] = simLabels(r, 1, 0.4, 0.2)[0]
		}
	}
	ts.Labels[2] = simLabels(r, n, 0.3, 0.2)
	a, b := make(Scores, 3), make(Scores, 3)
	for j := range a {
		a[j] = simScores(r, ts.Labels[j], 1, 0)
		b[j] = make([]float64, n)
		for i := range b[j] {
			b[j][i] = a[j][i] + 0.6*r.NormFloat64()
		}
	}
	// Labels 0 and 1 score the same rows with the same scores.
	copy(a[1], a[0])
	copy(b[1], b[0])
	return ts, a, b
}

// TestDeLongMacroDefinition checks the macro variance against the explicit
// double sum (1/L^2) sum_{l,l'} Cov(A_l, A_l') with brute-force structural
// components, and that one label reduces to DeLongPaired.
func TestDeLongMacroDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	ts, a, b := multiLabel(r, 150)
	mt, err := DeLongMacroPaired(ts, a, b)
	if err != nil {
		t.Fatal(err)
	}
	L := len(a)
	var phis [][]float64
	var m1, m2 float64
	for j := range L {
		a1, pa := bruteInfluence(a[j], ts.Labels[j])
		a2, pb := bruteInfluence(b[j], ts.Labels[j])
		m1 += a1 / float64(L)
		m2 += a2 / float64(L)
		d := make([]float64, len(pa))
		for i := range d {
			d[i] = pa[i] - pb[i]
		}
		phis = append(phis, d)
	}
	var v float64
	for l := range L {
		for k := range L {
			v += dot(phis[l], phis[k]) / float64(L*L)
		}
	}
	if mt.Tested != L || math.Abs(mt.Macro.AUROC1-m1) > 1e-12 || math.Abs(mt.Macro.AUROC2-m2) > 1e-12 || math.Abs(mt.Macro.SE-math.Sqrt(v)) > 1e-12 {
		t.Fatalf("macro test %+v, want AUROCs %v %v SE %v", mt.Macro, m1, m2, math.Sqrt(v))
	}
	one := &TestSet{Names: ts.Names[:1], Labels: ts.Labels[:1]}
	mt1, err := DeLongMacroPaired(one, a[:1], b[:1])
	if err != nil {
		t.Fatal(err)
	}
	single, _ := DeLongPaired(a[0], b[0], ts.Labels[0])
	if math.Abs(mt1.Macro.Z-single.Z) > 1e-12 || mt1.Labels[0].Test != single {
		t.Fatalf("one-label macro %+v, single %+v", mt1.Macro, single)
	}
}

// TestDeLongMacroVarianceAgreesWithBootstrap checks the macro variance,
// which counts the covariance of labels sharing rows, against the bootstrap
// variance of the macro mean; ignoring the covariance would be far off here
// because labels 0 and 1 nearly coincide.
func TestDeLongMacroVarianceAgreesWithBootstrap(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ts, a, _ := multiLabel(r, 400)
	_, v, tested, err := DeLongMacroVariance(ts, a)
	if err != nil || !slices.Equal(tested, []bool{true, true, true}) {
		t.Fatal(err, tested)
	}
	var indep float64
	for j := range a {
		_, vj, _ := DeLongVariance(a[j], ts.Labels[j])
		indep += vj / 9
	}
	bp, err := prepareBootstrap(ts, []Scores{a})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var sum, sum2 float64
	const reps = 1500
	w := make([]float64, ts.Len())
	mac := make([]float64, 1)
	stats := [][][]float64{make([][]float64, 3)}
	for range reps {
		clear(w)
		for range ts.Len() {
			w[rng.IntN(ts.Len())]++
		}
		bp.resample(w, stats, mac)
		sum += mac[0]
		sum2 += mac[0] * mac[0]
	}
	bv := sum2/reps - (sum/reps)*(sum/reps)
	t.Logf("macro variance: DeLong %.3g, bootstrap %.3g, labels as independent %.3g", v, bv, indep)
	if ratio := v / bv; ratio < 0.8 || ratio > 1.25 {
		t.Errorf("DeLong macro variance %.3g, bootstrap %.3g (ratio %.2f)", v, bv, ratio)
	}
	if ratio := indep / bv; ratio > 0.85 {
		t.Errorf("independence variance %.3g unexpectedly close to bootstrap %.3g: test lost its power", indep, bv)
	}
}

func TestDeLongMacroUnpaired(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	t1, a, _ := multiLabel(r, 200)
	t2, b, _ := multiLabel(r, 150)
	mt, err := DeLongMacroUnpaired(t1, a, t2, b)
	if err != nil {
		t.Fatal(err)
	}
	m1, v1, _, _ := DeLongMacroVariance(t1, a)
	m2, v2, _, _ := DeLongMacroVariance(t2, b)
	want := (m1 - m2) / math.Sqrt(v1+v2)
	if math.Abs(mt.Macro.Z-want) > 1e-12 || mt.Macro.DF <= 0 || mt.Macro.PStudent < mt.Macro.P {
		t.Fatalf("unpaired macro %+v, want z %v", mt.Macro, want)
	}
	single, _ := DeLongUnpaired(a[2], t1.Labels[2], b[2], t2.Labels[2])
	if mt.Labels[2].Test != single {
		t.Fatalf("label test %+v, single %+v", mt.Labels[2].Test, single)
	}
	t3 := &TestSet{Names: []string{"x", "y", "z"}, Labels: t2.Labels}
	if _, err := DeLongMacroUnpaired(t1, a, t3, b); !errors.Is(err, ErrLength) {
		t.Fatalf("different label names: err = %v", err)
	}
}

func TestDeLongMacroUntestedLabels(t *testing.T) {
	ts := &TestSet{Names: []string{"ok", "one positive", "no positive"}, Labels: [][]model.Label{
		{P, P, N, N, N}, {P, N, N, N, U}, {N, N, N, U, B},
	}}
	a := Scores{{0.9, 0.6, 0.5, 0.1, 0.2}, {0.9, 0.1, 0.2, 0.3, 0.4}, {0.1, 0.2, 0.3, 0.4, 0.5}}
	b := Scores{{0.5, 0.6, 0.7, 0.1, 0.2}, {0.1, 0.1, 0.2, 0.3, 0.4}, {0.1, 0.2, 0.3, 0.4, 0.5}}
	mt, err := DeLongMacroPaired(ts, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if mt.Tested != 1 || !mt.Labels[0].Tested || mt.Labels[1].Tested || mt.Labels[2].Tested || mt.Labels[1].Reason == "" {
		t.Fatalf("tested labels wrong: %+v", mt.Labels)
	}
	if mt.Macro != mt.Labels[0].Test {
		t.Fatalf("macro over one tested label %+v != label test %+v", mt.Macro, mt.Labels[0].Test)
	}
	none := &TestSet{Names: ts.Names[1:], Labels: ts.Labels[1:]}
	if _, err := DeLongMacroPaired(none, a[1:], b[1:]); !errors.Is(err, ErrNoLabels) {
		t.Fatalf("no testable label: err = %v", err)
	}
}
