package ddpm

import (
	"math"
	"testing"
)

// Reference values computed independently with numpy (see the test
// comments): cosine abar with betas clipped at 0.999, cumulative product,
// then the zero-terminal-SNR rescale of sqrt(abar).
func TestCosineScheduleValues(t *testing.T) {
	cases := []struct {
		name    string
		steps   int
		zero    bool
		idx     []int
		want    []float64
		relTol  float64
		betaEnd float64
	}{
		{"T=1000 zero SNR", 1000, true, []int{0, 1, 499, 998, 999},
			[]float64{0.9999587157751779, 0.9999125736533471, 0.4938230007559878, 2.277811478992018e-06, 0}, 1e-12, 1},
		{"T=1000 plain", 1000, false, []int{0, 499, 999},
			[]float64{0.999958715775178, 0.4938435904406382, 2.4287669070348567e-09}, 1e-9, 0.999},
		{"T=4 zero SNR", 4, true, []int{0, 1, 2, 3},
			[]float64{0.8470121613269047, 0.48980778295545035, 0.13889356910885292, 0}, 1e-12, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := CosineSchedule(tc.steps, 0.008, tc.zero)
			if err != nil {
				t.Fatal(err)
			}
			for k, i := range tc.idx {
				got, want := s.AlphaBar[i], tc.want[k]
				if want == 0 {
					if got != 0 {
						t.Errorf("abar[%d] = %g, want exactly 0", i, got)
					}
					continue
				}
				if math.Abs(got-want) > tc.relTol*want {
					t.Errorf("abar[%d] = %.17g, want %.17g", i, got, want)
				}
			}
			if b := s.Beta[tc.steps-1]; math.Abs(b-tc.betaEnd) > 1e-9 {
				t.Errorf("last beta %v, want %v", b, tc.betaEnd)
			}
			for i := 1; i < s.T(); i++ {
				if s.AlphaBar[i] >= s.AlphaBar[i-1] {
					t.Fatalf("abar not decreasing at %d", i)
				}
				// beta and abar agree: abar_i = abar_{i-1} (1 - beta_i).
				if d := s.AlphaBar[i-1]*(1-s.Beta[i]) - s.AlphaBar[i]; math.Abs(d) > 1e-12 {
					t.Fatalf("beta inconsistent at %d by %g", i, d)
				}
			}
		})
	}
	if _, err := CosineSchedule(1, 0.008, true); err == nil {
		t.Error("1-step schedule accepted")
	}
	if _, err := CosineSchedule(10, 0, true); err == nil {
		t.Error("zero offset accepted")
	}
}

func TestVIdentities(t *testing.T) {
	s, err := CosineSchedule(1000, 0.008, true)
	if err != nil {
		t.Fatal(err)
	}
	x0 := []float32{-1, -0.25, 0, 0.5, 1}
	eps := []float32{0.3, -1.2, 2, 0.1, -0.7}
	for _, i := range []int{0, 10, 500, 998, 999} {
		xt := make([]float32, len(x0))
		v := make([]float32, len(x0))
		s.QSample(xt, v, x0, eps, i)
		a, sg := s.Coeffs(i)
		gx0 := make([]float32, len(x0))
		geps := make([]float32, len(x0))
		s.FromV(gx0, geps, xt, v, i)
		for k := range x0 {
			// Hand formulas of DESIGN.md.
			wantXt := a*float64(x0[k]) + sg*float64(eps[k])
			wantV := a*float64(eps[k]) - sg*float64(x0[k])
			if math.Abs(float64(xt[k])-wantXt) > 1e-6 || math.Abs(float64(v[k])-wantV) > 1e-6 {
				t.Fatalf("i=%d k=%d: x_t %v v %v, want %v %v", i, k, xt[k], v[k], wantXt, wantV)
			}
			if math.Abs(float64(gx0[k]-x0[k])) > 1e-5 || math.Abs(float64(geps[k]-eps[k])) > 1e-5 {
				t.Fatalf("i=%d k=%d: recovered x0 %v eps %v, want %v %v", i, k, gx0[k], geps[k], x0[k], eps[k])
			}
		}
	}
	// At t = T the input is pure noise and v = -x0.
	xt := make([]float32, len(x0))
	v := make([]float32, len(x0))
	s.QSample(xt, v, x0, eps, 999)
	for k := range x0 {
		if xt[k] != eps[k] || v[k] != -x0[k] {
			t.Fatalf("t=T: x_t %v v %v", xt, v)
		}
	}
}
