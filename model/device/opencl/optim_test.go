package opencl

import (
	"math"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
)

// TestEMAMatchesOptim folds three updates into an average on the device
// and with model/optim.EMA (warm-up on, so each update has its own decay).
// optim computes in float64 and rounds per update; the device in float32:
// 1e-6 relative plus 1e-7.
func TestEMAMatchesOptim(t *testing.T) {
	o := testOps(t)
	const n = 1000
	w0 := randn(70, n, 1)
	shadow := model.MustWeights(model.Tensor{Name: "w", Shape: []int{n}, Data: append([]float32(nil), w0...)})
	e, err := optim.NewEMA(shadow, 0.99, true)
	if err != nil {
		t.Fatal(err)
	}
	dev := upload(t, o, w0)
	for u := range 3 {
		w := randn(uint64(71+u), n, 1)
		d := min(0.99, (1+float64(u))/(10+float64(u))) // optim's warm-up rate
		if err := e.Update([]optim.Param{{Name: "w", Value: w}}); err != nil {
			t.Fatal(err)
		}
		if err := o.EMA(d, upload(t, o, w), dev); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := e.Weights().Get("w")
	closeTo(t, "ema", read(t, dev), want.Data, 1e-6, 1e-7)
}

// TestClipGradientsMatchesOptim clips four gradient tensors (one long
// enough for the two-stage sum of squares) by their global norm on the
// device (nothing read back) and compares the squared norm, the factor and
// the scaled gradients with optim.GradNorm's; a norm under the cap leaves
// them as they are.
func TestClipGradientsMatchesOptim(t *testing.T) {
	o := testOps(t)
	gs := [][]float32{randn(80, 1000, 1), randn(81, 7, 3), randn(82, 300, 0.5), randn(83, 200003, 0.1)}
	params := make([]optim.Param, len(gs))
	for i, g := range gs {
		params[i] = optim.Param{Name: string(rune('a' + i)), Grad: g}
	}
	norm := optim.GradNorm(params)
	for _, maxNorm := range []float64{norm / 4, norm * 2} {
		bufs := make([]*Buffer, len(gs))
		for i, g := range gs {
			bufs[i] = upload(t, o, g)
		}
		out := upload(t, o, []float32{9, 9, 9}) // stale values must not count
		if err := o.ClipGradients(float32(maxNorm), out, 1, bufs...); err != nil {
			t.Fatal(err)
		}
		st := read(t, out)
		scale := math.Min(1, maxNorm/norm)
		closeTo(t, "norm^2 and scale", st[1:], []float32{float32(norm * norm), float32(scale)}, 1e-5, 0)
		for i, g := range gs {
			want := make([]float32, len(g))
			for j, v := range g {
				want[j] = float32(float64(v) * scale)
			}
			closeTo(t, "clipped", read(t, bufs[i]), want, 1e-5, 0)
		}
	}
}
