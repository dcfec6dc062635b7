package fed_test

import (
	"errors"
	"math"
	"testing"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/protocol/fed"
)

// secureMean runs the sites' metric tails through the fixed-point encoding
// and ring sum of crypto/secagg, as a secure round does, and decodes them.
func secureMean(t *testing.T, names []string, bound float64, p secagg.Params, sites []map[string]float64, weights []float64) map[string]float64 {
	t.Helper()
	n := len(sites)
	sum := make([]uint32, p.Length+1)
	for i, m := range sites {
		tail, _ := fed.EncodeSecureMetrics(m, names, bound, weights[i], p.Clip)
		enc, clipped, err := secagg.Encode(secagg.Input{Values: tail, Weight: weights[i]}, p, n)
		if err != nil || clipped != 0 {
			t.Fatalf("site %d: encode %v, %d elements clipped by the ring", i, err, clipped)
		}
		for k, v := range enc {
			sum[k] += v
		}
	}
	dec, _, err := secagg.DecodeSum(sum, p, n)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fed.DecodeSecureMetrics(dec, names, bound)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSecureMetricsWeightedMean compares the securely summed metrics with
// the plain weighted mean over the sites that reported each one, within
// the documented fixed-point error.
func TestSecureMetricsWeightedMean(t *testing.T) {
	names := []string{"train_loss", "eval_accuracy", "eval_val_loss", "huge"}
	const bound = 100
	cases := []struct {
		name    string
		clip    float64
		sites   []map[string]float64
		weights []float64
	}{
		{"three sites, small weights", 1, []map[string]float64{
			{"train_loss": 0.71, "eval_accuracy": 0.8, "huge": 1e9},
			{"train_loss": 0.52, "eval_accuracy": 0.9, "eval_val_loss": 0.3, "huge": 150},
			{"train_loss": 0.63, "eval_accuracy": math.NaN(), "eval_val_loss": -2},
		}, []float64{1e-3, 2.5e-3, 4e-3}},
		{"ten sites, clip 0.05", 0.05, func() []map[string]float64 {
			var out []map[string]float64
			for i := range 10 {
				out = append(out, map[string]float64{"train_loss": 0.1 * float64(i+1), "eval_accuracy": 0.5 + 0.03*float64(i)})
			}
			return out
		}(), []float64{0.1, 0.2, 0.05, 0.3, 0.01, 0.4, 0.7, 1, 0.15, 0.25}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.sites)
			p := secagg.Params{Length: fed.SecureMetricElems * len(names), Threshold: n/2 + 1, Clip: tc.clip, MaxWeight: 1}
			got := secureMean(t, names, bound, p, tc.sites, tc.weights)
			for _, name := range names {
				var num, den float64
				for i, m := range tc.sites {
					v, ok := m[name]
					if !ok || math.IsNaN(v) {
						continue
					}
					num += tc.weights[i] * math.Max(-bound, math.Min(bound, v))
					den += tc.weights[i]
				}
				g, ok := got[name]
				if den == 0 {
					if ok {
						t.Errorf("%s: no site reported it, got %v", name, g)
					}
					continue
				}
				want := num / den
				tol := float64(n*n)*(bound+math.Abs(want))/(math.Pow(2, 32)*den)*1.1 + 1e-6*math.Abs(want)
				if !ok || math.Abs(g-want) > tol {
					t.Errorf("%s: secure %v, weighted mean %v (tolerance %g)", name, g, want, tol)
				}
			}
		})
	}
}

func TestSecureMetricsRefusals(t *testing.T) {
	if _, err := fed.DecodeSecureMetrics(make([]float64, 3), []string{"a", "b"}, 1); !errors.Is(err, fed.ErrMalformed) {
		t.Errorf("short tail: %v", err)
	}
	cases := []struct {
		names []string
		bound float64
		ok    bool
	}{
		{nil, 0, true},
		{[]string{"train_loss"}, 100, true},
		{[]string{"train_loss"}, 0, false},
		{[]string{"train_loss"}, math.Inf(1), false},
		{[]string{"a", "a"}, 1, false},
		{[]string{"bad name"}, 1, false},
		{make([]string, fed.MaxSecureMetrics+1), 1, false},
	}
	for _, tc := range cases {
		if err := fed.ValidateSecureMetrics(tc.names, tc.bound); (err == nil) != tc.ok {
			t.Errorf("%v bound %v: %v, want ok=%v", tc.names, tc.bound, err, tc.ok)
		}
	}
	tail, clipped := fed.EncodeSecureMetrics(map[string]float64{"a": 1e6, "b": -3}, []string{"a", "b", "c"}, 10, 0.5, 2)
	want := []float32{1, 1, -0.3, 1, 0, 0}
	for i := range want {
		if math.Abs(float64(tail[i]-want[i])) > 1e-7 {
			t.Fatalf("tail %v, want %v", tail, want)
		}
	}
	if clipped != 1 {
		t.Errorf("%d clipped, want 1", clipped)
	}
}
