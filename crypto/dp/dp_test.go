package dp

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/internal/config"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestClipL2(t *testing.T) {
	cases := []struct {
		name  string
		v     []float32
		bound float64
		want  []float32
	}{
		{"inside", []float32{0.3, 0.4}, 1, []float32{0.3, 0.4}},
		{"scaled", []float32{3, 4}, 1, []float32{0.6, 0.8}},
		{"zero", []float32{0, 0}, 1, []float32{0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := append([]float32(nil), tc.v...)
			n, err := ClipL2(v, tc.bound)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(n-norm(tc.v)) > 1e-6 {
				t.Fatalf("reported norm %v, want %v", n, norm(tc.v))
			}
			if norm(v) > tc.bound {
				t.Fatalf("clipped norm %v above bound %v", norm(v), tc.bound)
			}
			for i := range v {
				if math.Abs(float64(v[i]-tc.want[i])) > 1e-5 {
					t.Fatalf("clipped %v, want %v", v, tc.want)
				}
			}
		})
	}
	// Many elements: the norm must never exceed the bound after float32 rounding.
	v := make([]float32, 100_000)
	for i := range v {
		v[i] = float32(math.Sin(float64(i))) * 3
	}
	if _, err := ClipL2(v, 0.5); err != nil || norm(v) > 0.5 {
		t.Fatalf("large clip: norm %v err %v", norm(v), err)
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		bad := []float32{1, 2, float32(x), 3}
		_, err := ClipL2(bad, 1)
		if !errors.Is(err, ErrNonFinite) || bad[0] != 1 || !strings.Contains(err.Error(), "element 2") {
			t.Fatalf("update with %v: err %v, v %v", x, err, bad)
		}
	}
	// The largest finite float32 values square to a finite float64 sum.
	huge := []float32{math.MaxFloat32, -math.MaxFloat32, math.MaxFloat32}
	if n, err := ClipL2(huge, 1); err != nil || math.IsInf(n, 0) || norm(huge) > 1 {
		t.Fatalf("huge finite update: norm %v err %v, after %v", n, err, norm(huge))
	}
}

// TestDistributedNoiseSumsToSigma checks that t sites each adding
// N(0, sigma^2/t) give a sum with variance sigma^2.
func TestDistributedNoiseSumsToSigma(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ClipNorm, cfg.NoiseMultiplier = 0.5, 2 // sigma = 1
	const tSites, m = 7, 200_000
	sum := make([]float64, m)
	for s := 0; s < tSites; s++ {
		v := make([]float32, m)
		if err := NewSeededNoise([32]byte{byte(s)}).AddNoise(v, cfg.SiteSigma(tSites)); err != nil {
			t.Fatal(err)
		}
		for i, x := range v {
			sum[i] += float64(x)
		}
	}
	var mean, sq float64
	for _, x := range sum {
		mean += x
		sq += x * x
	}
	mean /= m
	variance := sq/m - mean*mean
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.02 {
		t.Fatalf("sum of %d sites' noise: mean %v variance %v, want 0 and 1", tSites, mean, variance)
	}
}

// TestEpsilonReferenceValues checks the zCDP to (epsilon, delta)
// conversion against published values.
//
// OpenDP (docs.rs/crate/opendp/0.14.2, src/combinators/measure_cast/
// zCDP_to_approxDP/test.rs, test_zCDP_to_approxDP_nontrivial): the Gaussian
// mechanism with scale 4 and sensitivity 1 is rho = 1/32 zCDP, and its CKS
// conversion gives epsilon 0.6880024554878086 at delta 1e-3, and delta
// 0.1508457845622862 at epsilon 0.
//
// Balle and Wang 2018 (analytic Gaussian mechanism): sigma = 3.7306 is
// exactly (1, 1e-5)-DP for sensitivity 1, so no conversion from its zCDP
// guarantee may claim less than epsilon 1 there.
func TestEpsilonReferenceValues(t *testing.T) {
	rho := GaussianRho(1, 4)
	if rho != 1.0/32 {
		t.Fatalf("GaussianRho(1, 4) = %v, want 1/32", rho)
	}
	if got := Epsilon(rho, 1e-3); math.Abs(got-0.6880024554878086) > 1e-9 {
		t.Errorf("Epsilon(1/32, 1e-3) = %.16g, OpenDP gives 0.6880024554878086", got)
	}
	if got := Delta(rho, 0); math.Abs(got-0.1508457845622862) > 1e-9 {
		t.Errorf("Delta(1/32, 0) = %.16g, OpenDP gives 0.1508457845622862", got)
	}
	if got := Epsilon(GaussianRho(1, 3.7306), 1e-5); got < 1 {
		t.Errorf("Epsilon for the analytic-Gaussian sigma = %v, below the exact epsilon 1", got)
	}
	// Bun-Steinke bound by hand, and CKS never above it.
	if got, want := EpsilonBS(0.5, 1e-5), 0.5+2*math.Sqrt(0.5*math.Log(1e5)); math.Abs(got-want) > 1e-12 {
		t.Errorf("EpsilonBS = %v, want %v", got, want)
	}
	prev := 0.0
	for _, r := range []float64{1e-4, 1e-3, 0.01, 0.1, 0.5, 1, 2.63, 10, 100} {
		for _, d := range []float64{1e-10, 1e-6, 1e-3} {
			e := Epsilon(r, d)
			if e > EpsilonBS(r, d)+1e-12 || e <= 0 {
				t.Errorf("Epsilon(%v, %v) = %v, Bun-Steinke %v", r, d, e, EpsilonBS(r, d))
			}
			// Round trip: delta at that epsilon is the delta asked for.
			if back := Delta(r, e); math.Abs(back-d)/d > 1e-6 {
				t.Errorf("Delta(%v, Epsilon(%v, %v)) = %v", r, r, d, back)
			}
		}
		e := Epsilon(r, 1e-6)
		if e <= prev {
			t.Errorf("Epsilon not increasing in rho at %v", r)
		}
		prev = e
	}
}

func TestRoundRho(t *testing.T) {
	cases := []struct {
		z      float64
		t, c   int
		secure bool
		want   float64
	}{
		{1, 7, 0, true, 0.5},
		{2, 7, 0, true, 0.125},
		{1, 7, 0, false, 3.5},
		{1, 8, 4, true, 1},
		{1, 4, 4, true, math.Inf(1)},
	}
	for _, tc := range cases {
		got, err := RoundRho(tc.z, tc.t, tc.c, tc.secure)
		if err != nil || got != tc.want {
			t.Errorf("RoundRho(%v, %d, %d, %v) = %v, %v; want %v", tc.z, tc.t, tc.c, tc.secure, got, err, tc.want)
		}
	}
	if _, err := RoundRho(0, 3, 0, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero noise multiplier: %v", err)
	}
}

func TestAccountantEnforcesBudgetAcrossJobs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "budget.json")
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	b := Budget{Epsilon: 6, Delta: 1e-6}
	a, err := OpenAccountant(path, "site-a", b, clk)
	if err != nil {
		t.Fatal(err)
	}
	// z = 4: rho 1/32 per round. Find how many rounds fit.
	per, _ := RoundRho(4, 5, 0, true)
	if err := a.Check(Task{Job: "job-1", Rounds: 5, RhoPerRound: per}); err != nil {
		t.Fatalf("small task refused: %v", err)
	}
	for r := uint64(1); r <= 5; r++ {
		if err := a.Charge("job-1", r, per); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Charge("job-1", 3, per); err != nil { // a repeat is free
		t.Fatal(err)
	}
	// A second job, after a restart: the ledger persists.
	a, err = OpenAccountant(path, "site-a", b, clk)
	if err != nil {
		t.Fatal(err)
	}
	spent, eps := a.Spent()
	if math.Abs(spent-5*per) > 1e-12 || math.Abs(eps-Epsilon(5*per, 1e-6)) > 1e-12 {
		t.Fatalf("after reopening: spent rho %v eps %v, want %v", spent, eps, 5*per)
	}
	err = a.Check(Task{Job: "job-2", Rounds: 100, RhoPerRound: per})
	var be *BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("large task: err %v, want a BudgetError", err)
	}
	for _, want := range []string{`"site-a"`, `"job-2"`, "budget of 6", "rounds at this noise"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not say %s: %v", want, err)
		}
	}
	if be.RemainingRound <= 0 || be.RemainingRound >= 100 {
		t.Fatalf("remaining rounds %d", be.RemainingRound)
	}
	// Exactly the remaining rounds fit; one more does not.
	if err := a.Check(Task{Job: "job-2", Rounds: be.RemainingRound, RhoPerRound: per}); err != nil {
		t.Fatalf("remaining %d rounds refused: %v", be.RemainingRound, err)
	}
	for r := 1; r <= be.RemainingRound; r++ {
		if err := a.Charge("job-2", uint64(r), per); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
	}
	if err := a.Charge("job-2", uint64(be.RemainingRound+1), per); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("charge past the budget: %v", err)
	}
	if _, eps := a.Spent(); eps > b.Epsilon {
		t.Fatalf("spent epsilon %v over budget %v", eps, b.Epsilon)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want only the ledger (no temporaries)", len(entries))
	}
}

func TestAccountantRefusesBadLedgers(t *testing.T) {
	dir := t.TempDir()
	b := Budget{Epsilon: 1, Delta: 1e-6}
	for name, body := range map[string]string{
		"garbage":    "{",
		"version":    `{"version": 9, "site": "s"}`,
		"negative":   `{"version": 1, "site": "s", "charges": [{"job": "j", "round": 1, "rho": -1}]}`,
		"other site": `{"version": 1, "site": "t"}`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := OpenAccountant(p, "s", b, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s ledger: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{Enabled: true, ClipNorm: 0, NoiseMultiplier: -1, Delta: 1, EpsilonBudget: math.Inf(1), AssumedColluders: -1}
	err := c.Validate()
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"clip_norm", "noise_multiplier", "delta", "epsilon_budget", "assumed_colluders", "state_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s", want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeLedger(f *testing.F) {
	f.Add([]byte(`{"version": 1, "site": "s", "charges": [{"job": "j", "round": 1, "rho": 0.5, "time": "2026-01-02T03:04:05Z"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeLedger(b)
		if err != nil {
			return
		}
		for _, c := range st.Charges {
			if !(c.Rho >= 0) {
				t.Fatalf("accepted rho %v", c.Rho)
			}
		}
	})
}

func TestTaskFor(t *testing.T) {
	c := DefaultConfig()
	c.NoiseMultiplier = 2
	task, err := c.TaskFor("j", 10, 5, true)
	if err != nil || task.RhoPerRound != 0.125 || task.Rounds != 10 {
		t.Fatalf("TaskFor = %+v, %v", task, err)
	}
}
