package nn

import "math"

// Naive float64 references for the ops, written for clarity, not speed.

func refConv(x, w []float64, n, c, h, wd, o, kh, kw, s, pad int) []float64 {
	oh, ow := (h+2*pad-kh)/s+1, (wd+2*pad-kw)/s+1
	y := make([]float64, n*o*oh*ow)
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var sum float64
					for ic := 0; ic < c; ic++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								ih, iw := i*s-pad+ki, j*s-pad+kj
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								sum += x[((b*c+ic)*h+ih)*wd+iw] * w[((oc*c+ic)*kh+ki)*kw+kj]
							}
						}
					}
					y[((b*o+oc)*oh+i)*ow+j] = sum
				}
			}
		}
	}
	return y
}

func refChannelAdd(x, b []float64, n, c, hw int, perSample bool) []float64 {
	y := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			bv := b[ch]
			if perSample {
				bv = b[i*c+ch]
			}
			for k := 0; k < hw; k++ {
				y[(i*c+ch)*hw+k] = x[(i*c+ch)*hw+k] + bv
			}
		}
	}
	return y
}

func refSiLU(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v / (1 + math.Exp(-v))
	}
	return y
}

func refGroupNorm(x, gamma, beta []float64, n, c, hw, groups int, eps float64, silu bool) []float64 {
	y := make([]float64, len(x))
	cg := c / groups
	for i := 0; i < n; i++ {
		for g := 0; g < groups; g++ {
			var mean, sq float64
			cnt := float64(cg * hw)
			for ch := g * cg; ch < (g+1)*cg; ch++ {
				for k := 0; k < hw; k++ {
					mean += x[(i*c+ch)*hw+k] / cnt
				}
			}
			for ch := g * cg; ch < (g+1)*cg; ch++ {
				for k := 0; k < hw; k++ {
					d := x[(i*c+ch)*hw+k] - mean
					sq += d * d / cnt
				}
			}
			for ch := g * cg; ch < (g+1)*cg; ch++ {
				for k := 0; k < hw; k++ {
					idx := (i*c+ch)*hw + k
					y[idx] = (x[idx]-mean)/math.Sqrt(sq+eps)*gamma[ch] + beta[ch]
				}
			}
		}
	}
	if silu {
		return refSiLU(y)
	}
	return y
}

func refUpsample(x []float64, planes, h, w int) []float64 {
	y := make([]float64, 4*len(x))
	for p := 0; p < planes; p++ {
		for i := 0; i < 2*h; i++ {
			for j := 0; j < 2*w; j++ {
				y[(p*2*h+i)*2*w+j] = x[(p*h+i/2)*w+j/2]
			}
		}
	}
	return y
}

func refAvgPool(x []float64, planes, hw int) []float64 {
	y := make([]float64, planes)
	for p := range y {
		for k := 0; k < hw; k++ {
			y[p] += x[p*hw+k] / float64(hw)
		}
	}
	return y
}

func refConcat(a, b []float64, n int) []float64 {
	na, nb := len(a)/n, len(b)/n
	var y []float64
	for i := 0; i < n; i++ {
		y = append(y, a[i*na:(i+1)*na]...)
		y = append(y, b[i*nb:(i+1)*nb]...)
	}
	return y
}

func refLinear(x, w, b []float64, n, in, out int) []float64 {
	y := make([]float64, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			var s float64
			if b != nil {
				s = b[o]
			}
			for k := 0; k < in; k++ {
				s += x[i*in+k] * w[o*in+k]
			}
			y[i*out+o] = s
		}
	}
	return y
}

func refBCE(l, t, m []float64) []float64 {
	var s, ws float64
	for i := range l {
		if m[i] <= 0 {
			continue
		}
		p := 1 / (1 + math.Exp(-l[i]))
		s += m[i] * -(t[i]*math.Log(p) + (1-t[i])*math.Log(1-p))
		ws += m[i]
	}
	if ws == 0 {
		return []float64{0}
	}
	return []float64{s / ws}
}

func refMSE(a, b []float64) []float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return []float64{s / float64(len(a))}
}

// refAttn attends one head: q, k, v are accessed through index functions
// giving element (token, feature); out is written through set.
func refAttn(l, d int, q, k, v func(t, f int) float64, set func(t, f int, x float64)) {
	for i := 0; i < l; i++ {
		s := make([]float64, l)
		mx := math.Inf(-1)
		for j := range s {
			for f := 0; f < d; f++ {
				s[j] += q(i, f) * k(j, f) / math.Sqrt(float64(d))
			}
			mx = math.Max(mx, s[j])
		}
		var z float64
		for j := range s {
			s[j] = math.Exp(s[j] - mx)
			z += s[j]
		}
		for f := 0; f < d; f++ {
			var o float64
			for j := range s {
				o += s[j] / z * v(j, f)
			}
			set(i, f, o)
		}
	}
}

func refAttention(q, k, v []float64, b, l, d int) []float64 {
	out := make([]float64, len(q))
	for bi := 0; bi < b; bi++ {
		at := func(m []float64) func(t, f int) float64 {
			return func(t, f int) float64 { return m[(bi*l+t)*d+f] }
		}
		refAttn(l, d, at(q), at(k), at(v), func(t, f int, x float64) { out[(bi*l+t)*d+f] = x })
	}
	return out
}

func refSelfAttention2D(qkv []float64, n, c, l, heads int) []float64 {
	d := c / heads
	out := make([]float64, n*c*l)
	for b := 0; b < n; b++ {
		for h := 0; h < heads; h++ {
			at := func(part int) func(t, f int) float64 {
				return func(t, f int) float64 { return qkv[(b*3*c+part*c+h*d+f)*l+t] }
			}
			refAttn(l, d, at(0), at(1), at(2), func(t, f int, x float64) { out[(b*c+h*d+f)*l+t] = x })
		}
	}
	return out
}
