package ddpm

import (
	"context"
	"math"

	"github.com/synthfed/synthfed/model"
)

// guider runs the denoiser for one batch with classifier-free guidance.
// With a zero scale it asks only for the conditional prediction; otherwise
// it stacks the conditional and the null-conditioned copies in one call.
type guider struct {
	n, px   int
	cfg     SampleConfig
	conds   [][model.CondDim]float32
	null    []bool
	t       []int
	xin     []float32
	out     []float32
	guided  []float32
	doubled bool
}

func newGuider(n, px int, conds [][model.CondDim]float32, cfg SampleConfig) *guider {
	g := &guider{n: n, px: px, cfg: cfg, doubled: cfg.Guidance != 0}
	m := n
	if g.doubled {
		m = 2 * n
	}
	g.conds = make([][model.CondDim]float32, m)
	copy(g.conds, conds)
	copy(g.conds[n:], conds)
	g.null = make([]bool, m)
	for k := n; k < m; k++ {
		g.null[k] = true
	}
	g.t = make([]int, m)
	g.xin = make([]float32, m*px)
	g.out = make([]float32, m*px)
	g.guided = make([]float32, n*px)
	return g
}

// predict returns the (guided) v for x at step index i. The returned slice
// is reused by the next call.
func (g *guider) predict(ctx context.Context, den Denoiser, x []float32, i int) ([]float32, error) {
	for k := range g.t {
		g.t[k] = i
	}
	copy(g.xin, x)
	if g.doubled {
		copy(g.xin[len(x):], x)
	}
	if err := den.PredictV(ctx, g.out, g.xin, g.t, g.conds, g.null); err != nil {
		return nil, err
	}
	if !g.doubled {
		return g.out, nil
	}
	for k := range g.n {
		lo, hi := k*g.px, (k+1)*g.px
		Guide(g.guided[lo:hi], g.out[lo:hi], g.out[g.n*g.px+lo:g.n*g.px+hi], g.cfg.Guidance, g.cfg.GuidanceRescale)
	}
	return g.guided, nil
}

// Guide writes the guided prediction of one image into dst:
// guided = cond + w*(cond - uncond), the study code's convention (w = 0 is
// the conditional prediction). When phi > 0 the result is blended with a
// copy rescaled to the conditional prediction's standard deviation:
// dst = phi*guided*std(cond)/std(guided) + (1-phi)*guided.
func Guide(dst, cond, uncond []float32, w, phi float64) {
	for k := range dst {
		c := float64(cond[k])
		dst[k] = float32(c + w*(c-float64(uncond[k])))
	}
	if phi == 0 {
		return
	}
	sc, sg := stdDev(cond), stdDev(dst)
	if sg == 0 {
		return
	}
	f := phi*sc/sg + (1 - phi)
	for k := range dst {
		dst[k] = float32(float64(dst[k]) * f)
	}
}

// stdDev returns the population standard deviation of v.
func stdDev(v []float32) float64 {
	var s, ss float64
	for _, x := range v {
		s += float64(x)
	}
	mean := s / float64(len(v))
	for _, x := range v {
		d := float64(x) - mean
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(v)))
}
