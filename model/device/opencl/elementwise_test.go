package opencl

import (
	"math"
	"testing"
)

// Add, Mul and MulGrad are single IEEE float32 operations, so the device
// must match Go exactly. SiLU and its gradient go through exp, which
// OpenCL's full profile allows 3 ulp, and a division (2.5 ulp), so they are
// held to a relative error of 2e-6 against a float64 reference (with an
// absolute floor of 1e-7 near zero).
func TestElementwiseMatchesGo(t *testing.T) {
	o := testOps(t)
	for _, n := range []int{1, 17, 1000, 4097} {
		a, b, dy := randn(1, n, 3), randn(2, n, 3), randn(3, n, 1)
		da, db, dx := upload(t, o, a), upload(t, o, b), upload(t, o, dy)
		out, g1, g2 := zeros(t, o, n), zeros(t, o, n), zeros(t, o, n)

		exact := func(name string, got []float32, want func(i int) float32) {
			t.Helper()
			for i := range got {
				if w := want(i); got[i] != w {
					t.Fatalf("%s n=%d [%d] = %v, want %v", name, n, i, got[i], w)
				}
			}
		}
		close := func(name string, got []float32, want func(i int) float64) {
			t.Helper()
			for i := range got {
				w := want(i)
				if d := math.Abs(float64(got[i]) - w); d > 2e-6*math.Abs(w)+1e-7 {
					t.Fatalf("%s n=%d [%d] = %v, want %v (error %.3g)", name, n, i, got[i], w, d)
				}
			}
		}

		if err := o.Add(da, db, out); err != nil {
			t.Fatal(err)
		}
		exact("add", read(t, out), func(i int) float32 { return a[i] + b[i] })
		if err := o.Mul(da, db, out); err != nil {
			t.Fatal(err)
		}
		exact("mul", read(t, out), func(i int) float32 { return a[i] * b[i] })
		if err := o.MulGrad(da, db, dx, g1, g2); err != nil {
			t.Fatal(err)
		}
		exact("mul grad a", read(t, g1), func(i int) float32 { return dy[i] * b[i] })
		exact("mul grad b", read(t, g2), func(i int) float32 { return dy[i] * a[i] })

		sig := func(x float32) float64 { return 1 / (1 + math.Exp(-float64(x))) }
		if err := o.SiLU(da, out); err != nil {
			t.Fatal(err)
		}
		close("silu", read(t, out), func(i int) float64 { return float64(a[i]) * sig(a[i]) })
		if err := o.SiLUGrad(da, dx, g1); err != nil {
			t.Fatal(err)
		}
		close("silu grad", read(t, g1), func(i int) float64 {
			s := sig(a[i])
			return float64(dy[i]) * s * (1 + float64(a[i])*(1-s))
		})
	}
}

// TestSiLUGradIsDerivative checks the reference itself: the analytic
// gradient against a central difference of the device's SiLU.
func TestSiLUGradIsDerivative(t *testing.T) {
	o := testOps(t)
	const n, h = 64, 1e-2
	x := randn(4, n, 2)
	xp, xm := make([]float32, n), make([]float32, n)
	ones := make([]float32, n)
	for i := range x {
		xp[i], xm[i], ones[i] = x[i]+h, x[i]-h, 1
	}
	yp, ym, g := zeros(t, o, n), zeros(t, o, n), zeros(t, o, n)
	if err := o.SiLU(upload(t, o, xp), yp); err != nil {
		t.Fatal(err)
	}
	if err := o.SiLU(upload(t, o, xm), ym); err != nil {
		t.Fatal(err)
	}
	if err := o.SiLUGrad(upload(t, o, x), upload(t, o, ones), g); err != nil {
		t.Fatal(err)
	}
	p, m, gr := read(t, yp), read(t, ym), read(t, g)
	for i := range x {
		fd := (float64(p[i]) - float64(m[i])) / (2 * h)
		if math.Abs(fd-float64(gr[i])) > 1e-3 {
			t.Fatalf("silu grad [%d] at %v: %v, finite difference %v", i, x[i], gr[i], fd)
		}
	}
}
