package opencl

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model/nn"
)

// dense wraps x as a 1-D tensor for model/nn's CPU kernels.
func dense(x []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(x)), tensor.WithBacking(x))
}

// closeTo fails when got and want differ by more than rel of |want| plus
// abs.
func closeTo(t *testing.T, what string, got, want []float32, rel, abs float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= rel*math.Abs(float64(want[i]))+abs) {
			t.Fatalf("%s[%d] = %v, CPU %v (error %.3g)", what, i, got[i], want[i], d)
		}
	}
}

// TestLossesMatchCPU compares the masked BCE and MSE, forward and
// backward, with model/nn's CPU kernels, on lengths below, at and above
// the reduction group (256). The device sums in float32 in a tree, the
// CPU in float64: the losses are held to 1e-5 relative, the gradients
// (elementwise) to 1e-5 relative plus 1e-7 of their scale.
func TestLossesMatchCPU(t *testing.T) {
	o := testOps(t)
	cpu := nn.CPU()
	for _, n := range []int{1, 7, 256, 1000, 4099} {
		l, tg, b := randn(uint64(n), n, 3), randn(uint64(n+1), n, 1), randn(uint64(n+2), n, 1)
		m := randn(uint64(n+3), n, 1) // negative entries are masked out
		for i := range tg {
			tg[i] = float32(math.Abs(float64(tg[i]))) / 3
			if i%5 == 0 {
				m[i] = 1
			}
		}
		out := zeros(t, o, 4)
		dl, dl2, da, db := zeros(t, o, n), zeros(t, o, n), zeros(t, o, n), zeros(t, o, n)
		dL, dT, dM, dB := upload(t, o, l), upload(t, o, tg), upload(t, o, m), upload(t, o, b)
		if err := o.BCEMasked(dL, dT, dM, out, 1); err != nil {
			t.Fatal(err)
		}
		if err := o.BCEMaskedGrad(0.5, dL, dT, dM, out, 1, dl); err != nil {
			t.Fatal(err)
		}
		if err := o.MSE(dL, dB, out, 3); err != nil {
			t.Fatal(err)
		}
		if err := o.MSEGrad(0.5, dL, dB, da, db); err != nil {
			t.Fatal(err)
		}
		if err := o.MSEGrad(0.5, dL, dB, dl2, nil); err != nil {
			t.Fatal(err)
		}
		stats := read(t, out)
		bce := cpu.BCEMasked(dense(l), dense(tg), dense(m))
		mse := cpu.MSE(dense(l), dense(b))
		closeTo(t, "bce", stats[1:2], []float32{float32(bce)}, 1e-5, 0)
		closeTo(t, "mse", stats[3:4], []float32{float32(mse)}, 1e-5, 0)
		wantDL, wantDA, wantDB := make([]float32, n), make([]float32, n), make([]float32, n)
		cpu.BCEMaskedGrad(0.5, dense(l), dense(tg), dense(m), dense(wantDL))
		cpu.MSEGrad(0.5, dense(l), dense(b), dense(wantDA), dense(wantDB))
		closeTo(t, "bce grad", read(t, dl), wantDL, 1e-5, 1e-7/float64(n))
		closeTo(t, "mse grad a", read(t, da), wantDA, 1e-5, 1e-7/float64(n))
		closeTo(t, "mse grad b", read(t, db), wantDB, 1e-5, 1e-7/float64(n))
		closeTo(t, "mse grad a only", read(t, dl2), wantDA, 1e-5, 1e-7/float64(n))
	}
}

// TestLossMaskAllOut checks that a loss with no counted entry is 0 with a
// zero gradient, as model/nn's.
func TestLossMaskAllOut(t *testing.T) {
	o := testOps(t)
	n := 300
	m := make([]float32, n)
	out, dl := zeros(t, o, 2), upload(t, o, randn(3, n, 1))
	l := upload(t, o, randn(4, n, 1))
	if err := o.BCEMasked(l, l, upload(t, o, m), out, 0); err != nil {
		t.Fatal(err)
	}
	if err := o.BCEMaskedGrad(1, l, l, upload(t, o, m), out, 0, dl); err != nil {
		t.Fatal(err)
	}
	closeTo(t, "stats", read(t, out), []float32{0, 0}, 0, 0)
	closeTo(t, "grad", read(t, dl), make([]float32, n), 0, 0)
	if err := o.BCEMasked(l, l, l, out, 1); err == nil {
		t.Fatal("stats slot past the end accepted")
	}
}
