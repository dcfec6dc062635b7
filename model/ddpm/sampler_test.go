package ddpm

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func TestSampleSteps(t *testing.T) {
	cases := []struct {
		T, n int
		want []int
	}{
		{1000, 4, []int{999, 749, 499, 249}},
		{1000, 3, []int{999, 666, 332}},
		{5, 5, []int{4, 3, 2, 1, 0}},
		{1000, 1, []int{999}},
	}
	for _, tc := range cases {
		got, err := SampleSteps(tc.T, tc.n)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SampleSteps(%d,%d) = %v, %v; want %v", tc.T, tc.n, got, err, tc.want)
		}
	}
	if _, err := SampleSteps(10, 11); err == nil {
		t.Error("more steps than the schedule accepted")
	}
}

// pointOracle is the exact denoiser for data concentrated on one image per
// condition: x0 = target(cond), eps = (x_t - a x0)/sg, v = a eps - sg x0.
type pointOracle struct {
	s     *Schedule
	px    int
	calls int
}

func (o *pointOracle) target(c [model.CondDim]float32, k int, null bool) float32 {
	if null {
		return 0
	}
	return c[0] * float32(k%3-1) / 2
}

func (o *pointOracle) PredictV(_ context.Context, out, x []float32, t []int, cond [][model.CondDim]float32, null []bool) error {
	o.calls++
	for n := range t {
		a, sg := o.s.Coeffs(t[n])
		for k := range o.px {
			x0 := float64(o.target(cond[n], k, null[n]))
			xt := float64(x[n*o.px+k])
			eps := xt // at abar = 0 the input is the noise
			if a > 0 {
				eps = (xt - a*x0) / sg
			}
			out[n*o.px+k] = float32(a*eps - sg*x0)
		}
	}
	return nil
}

func TestSamplersRecoverPointData(t *testing.T) {
	s, err := CosineSchedule(1000, 0.008, true)
	if err != nil {
		t.Fatal(err)
	}
	const size = 4
	conds := make([][model.CondDim]float32, 5)
	seeds := make([]int64, 5)
	for i := range conds {
		conds[i][0] = float32(i) / 4
		seeds[i] = int64(100 + i)
	}
	for _, method := range []string{MethodDDIM, MethodDDPM} {
		for _, steps := range []int{1, 7, 50} {
			cfg := SampleConfig{Method: method, Steps: steps, BatchSize: 2, ClipX0: true}
			o := &pointOracle{s: s, px: size * size}
			img, err := SampleWith(context.Background(), o, s, size*size, conds, seeds, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if want := 3 * steps; o.calls != want {
				t.Errorf("%s/%d: %d denoiser calls, want %d (3 batches x steps)", method, steps, o.calls, want)
			}
			for n := range conds {
				for k := range size * size {
					want := o.target(conds[n], k, false)
					if got := img[n*size*size+k]; math.Abs(float64(got-want)) > 1e-4 {
						t.Fatalf("%s/%d steps: image %d pixel %d = %v, want %v", method, steps, n, k, got, want)
					}
				}
			}
		}
	}
}

// gaussOracle is the exact denoiser for pixels drawn i.i.d. from N(0, q^2):
// E[x0|x_t] = a q^2 x_t / (a^2 q^2 + sg^2).
type gaussOracle struct {
	s *Schedule
	q float64
}

func (o gaussOracle) PredictV(_ context.Context, out, x []float32, t []int, _ [][model.CondDim]float32, _ []bool) error {
	px := len(x) / len(t)
	for n := range t {
		a, sg := o.s.Coeffs(t[n])
		for k := range px {
			xt := float64(x[n*px+k])
			x0 := a * o.q * o.q * xt / (a*a*o.q*o.q + sg*sg)
			eps := xt
			if a > 0 {
				eps = (xt - a*x0) / sg
			}
			out[n*px+k] = float32(a*eps - sg*x0)
		}
	}
	return nil
}

func TestDDPMSamplerMatchesGaussianData(t *testing.T) {
	s, err := CosineSchedule(1000, 0.008, true)
	if err != nil {
		t.Fatal(err)
	}
	const size = 48
	const q = 0.3
	cfg := SampleConfig{Method: MethodDDPM, Steps: 1000, BatchSize: 2}
	img, err := SampleWith(context.Background(), gaussOracle{s, q}, s, size*size, make([][model.CondDim]float32, 2), []int64{1, 2}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	for _, v := range img {
		ss += float64(v) * float64(v)
	}
	std := math.Sqrt(ss / float64(len(img)))
	if math.Abs(std-q)/q > 0.05 {
		t.Fatalf("sample std %v, data std %v", std, q)
	}
}

// condNoiseDenoiser mixes the input with the condition and the null flag so
// that a mix-up of images between batch slots would change the output.
type condNoiseDenoiser struct{}

func (condNoiseDenoiser) PredictV(_ context.Context, out, x []float32, t []int, cond [][model.CondDim]float32, null []bool) error {
	px := len(x) / len(t)
	for n := range t {
		for k := range px {
			c := cond[n][1]
			if null[n] {
				c = -0.5
			}
			out[n*px+k] = 0.3*x[n*px+k] + c + float32(t[n])/2000
		}
	}
	return nil
}

func TestSampleIndependentOfBatching(t *testing.T) {
	s, _ := CosineSchedule(100, 0.008, true)
	conds := make([][model.CondDim]float32, 5)
	seeds := []int64{9, 8, 7, 6, 5}
	for i := range conds {
		conds[i][1] = float32(i)
	}
	for _, method := range []string{MethodDDIM, MethodDDPM} {
		for _, w := range []float64{0, 2} {
			cfg := SampleConfig{Method: method, Steps: 10, BatchSize: 5, Guidance: w, GuidanceRescale: 0.7}
			all, err := SampleWith(context.Background(), condNoiseDenoiser{}, s, 9, conds, seeds, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.BatchSize = 2
			split, _ := SampleWith(context.Background(), condNoiseDenoiser{}, s, 9, conds, seeds, cfg)
			one, _ := SampleWith(context.Background(), condNoiseDenoiser{}, s, 9, conds[3:4], seeds[3:4], cfg)
			if !slices.Equal(all, split) || !slices.Equal(all[27:36], one) {
				t.Fatalf("%s w=%v: image depends on batch composition", method, w)
			}
			if w == 0 {
				continue
			}
			cfg.Guidance = 0
			plain, _ := SampleWith(context.Background(), condNoiseDenoiser{}, s, 9, conds, seeds, cfg)
			if slices.Equal(plain, all) {
				t.Fatalf("%s: guidance had no effect", method)
			}
		}
	}
}

func TestGuide(t *testing.T) {
	cond := []float32{1, 2}
	uncond := []float32{0, 0}
	cases := []struct {
		w, phi float64
		want   []float32
	}{
		{0, 0, []float32{1, 2}},
		{1, 0, []float32{2, 4}},
		{0.5, 0, []float32{1.5, 3}},
		// std(cond) = 0.5, std(guided [2,4]) = 1: full rescale halves it.
		{1, 1, []float32{1, 2}},
		// phi = 0.5: 0.5*[1,2] + 0.5*[2,4].
		{1, 0.5, []float32{1.5, 3}},
	}
	for _, tc := range cases {
		dst := make([]float32, 2)
		Guide(dst, cond, uncond, tc.w, tc.phi)
		if !slices.Equal(dst, tc.want) {
			t.Errorf("Guide(w=%v, phi=%v) = %v, want %v", tc.w, tc.phi, dst, tc.want)
		}
	}
}

func TestSampleHonoursContextAndValidates(t *testing.T) {
	s, _ := CosineSchedule(100, 0.008, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := SampleWith(ctx, condNoiseDenoiser{}, s, 4, make([][model.CondDim]float32, 1), []int64{1}, DefaultSampleConfig())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	bad := SampleConfig{Method: "euler", Steps: 0, Guidance: -1, GuidanceRescale: 2, BatchSize: 0}
	err = bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, field := range []string{"method", "steps", "guidance", "guidance_rescale", "batch_size"} {
		if !containsField(err.Error(), "sample."+field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func containsField(s, f string) bool {
	for i := 0; i+len(f) <= len(s); i++ {
		if s[i:i+len(f)] == f && (i+len(f) == len(s) || s[i+len(f)] == ' ') {
			return true
		}
	}
	return false
}
