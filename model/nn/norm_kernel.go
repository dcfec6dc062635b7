package nn

import "math"

// NormParams describes a GroupNorm over x (N, C, S...) where the spatial
// extent S (H*W for images) is flattened: each group of C/Groups channels of
// one sample is normalised on its own, then scaled by gamma and shifted by
// beta per channel, then passed through SiLU when SiLU is set.
type NormParams struct {
	N, C, HW, Groups int
	Eps              float64
	SiLU             bool
}

// groupStats returns the mean and 1/sqrt(var+eps) of one group, accumulated
// in float64 with two passes for accuracy.
func groupStats[T Float](xs []T, eps float64) (mean, rstd float64) {
	var s float64
	for _, v := range xs {
		s += float64(v)
	}
	mean = s / float64(len(xs))
	var ss float64
	for _, v := range xs {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/float64(len(xs))+eps)
}

// groupNormForward computes y = [SiLU](gamma*(x-mean)*rstd + beta),
// samples split across workers. When stats is not nil it also stores each
// (sample, group)'s mean and rstd there, for the backward pass.
func groupNormForward[T Float](p NormParams, x, gamma, beta, y []T, stats []float64) {
	cg := p.C / p.Groups
	gsize := cg * p.HW
	parallelDynamic(p.N, 1, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			for g := 0; g < p.Groups; g++ {
				base := (n*p.C + g*cg) * p.HW
				mean, rstd := groupStats(x[base:base+gsize], p.Eps)
				if stats != nil {
					stats[2*(n*p.Groups+g)], stats[2*(n*p.Groups+g)+1] = mean, rstd
				}
				for c := 0; c < cg; c++ {
					ch := g*cg + c
					a := T(rstd) * gamma[ch]
					b := beta[ch] - T(mean)*a
					off := base + c*p.HW
					xs, ys := x[off:off+p.HW], y[off:off+p.HW]
					if p.SiLU {
						for i, v := range xs {
							z := v*a + b
							ys[i] = z * sigmoid(z)
						}
						continue
					}
					for i, v := range xs {
						ys[i] = v*a + b
					}
				}
			}
		}
	})
}

// groupNormBackward computes dx, dgamma and dbeta from dy. The statistics
// come from the forward pass's stats when not nil and are recomputed from x
// otherwise; with SiLU the pre-activation is recomputed. Each sample's
// dgamma and dbeta sums go to their own slot and are added in sample order,
// so the result does not depend on how the samples were scheduled.
func groupNormBackward[T Float](p NormParams, x, gamma, beta, dy, dx, dgamma, dbeta []T, stats []float64) {
	acc := make([]float64, p.N*2*p.C)
	parallelDynamic(p.N, 1, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			for g := 0; g < p.Groups; g++ {
				groupNormBackwardGroup(p, n, g, x, gamma, beta, dy, dx, acc[n*2*p.C:(n+1)*2*p.C], stats)
			}
		}
	})
	reduceNormSamples(p, acc, dgamma, dbeta)
}

// reduceNormSamples adds the per-sample [dgamma | dbeta] sums in acc.
func reduceNormSamples[T Float](p NormParams, acc []float64, dgamma, dbeta []T) {
	for ch := 0; ch < p.C; ch++ {
		var sg, sb float64
		for n := 0; n < p.N; n++ {
			sg += acc[n*2*p.C+ch]
			sb += acc[n*2*p.C+p.C+ch]
		}
		dgamma[ch], dbeta[ch] = T(sg), T(sb)
	}
}

// groupNormBackwardGroup handles one (sample, group): the first pass stores
// dL/dxhat in dx and gathers the two group sums, the second turns it into
// dL/dx.
func groupNormBackwardGroup[T Float](p NormParams, n, g int, x, gamma, beta, dy, dx []T, acc, stats []float64) {
	cg := p.C / p.Groups
	gsize := cg * p.HW
	base := (n*p.C + g*cg) * p.HW
	var mean, rstd float64
	if stats != nil {
		mean, rstd = stats[2*(n*p.Groups+g)], stats[2*(n*p.Groups+g)+1]
	} else {
		mean, rstd = groupStats(x[base:base+gsize], p.Eps)
	}
	m, r := T(mean), T(rstd)
	var s1, s2 float64
	for c := 0; c < cg; c++ {
		ch := g*cg + c
		gam, bet := gamma[ch], beta[ch]
		off := base + c*p.HW
		xs, dys, dxs := x[off:off+p.HW], dy[off:off+p.HW], dx[off:off+p.HW]
		var dg, db, cs1, cs2 T
		for i, v := range xs {
			xh := (v - m) * r
			d := dys[i]
			if p.SiLU {
				z := xh*gam + bet
				s := sigmoid(z)
				d *= s * (1 + z*(1-s))
			}
			dg += d * xh
			db += d
			dxh := d * gam
			dxs[i] = dxh
			cs1 += dxh
			cs2 += dxh * xh
		}
		acc[ch] += float64(dg)
		acc[p.C+ch] += float64(db)
		s1 += float64(cs1)
		s2 += float64(cs2)
	}
	m1, m2 := T(s1/float64(gsize)), T(s2/float64(gsize))
	for c := 0; c < cg; c++ {
		off := base + c*p.HW
		xs, dxs := x[off:off+p.HW], dx[off:off+p.HW]
		for i, v := range xs {
			xh := (v - m) * r
			dxs[i] = r * (dxs[i] - m1 - xh*m2)
		}
	}
}
