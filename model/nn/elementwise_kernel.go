package nn

import "math"

// elemChunk is the smallest number of elements worth a worker goroutine.
const elemChunk = 1 << 15

// channelAdd computes y[n,c,:] = x[n,c,:] + b[c] (perSample false) or
// + b[n,c] (perSample true) over n samples of c channels of hw elements.
func channelAdd[T Float](n, c, hw int, perSample bool, x, b, y []T) {
	parallelDynamic(n*c, max(1, elemChunk/max(hw, 1)), func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			bv := b[nc%c]
			if perSample {
				bv = b[nc]
			}
			xs, ys := x[nc*hw:(nc+1)*hw], y[nc*hw:(nc+1)*hw]
			for i, v := range xs {
				ys[i] = v + bv
			}
		}
	})
}

// channelSum is channelAdd's gradient for b: db[c] = sum over n and hw of
// dy (perSample false) or db[n,c] = sum over hw (perSample true).
func channelSum[T Float](n, c, hw int, perSample bool, dy, db []T) {
	if perSample {
		parallelDynamic(n*c, max(1, elemChunk/max(hw, 1)), func(lo, hi int) {
			for nc := lo; nc < hi; nc++ {
				db[nc] = sumT(dy[nc*hw : (nc+1)*hw])
			}
		})
		return
	}
	parallelDynamic(c, max(1, elemChunk/max(n*hw, 1)), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for i := 0; i < n; i++ {
				s += float64(sumT(dy[(i*c+ch)*hw : (i*c+ch+1)*hw]))
			}
			db[ch] = T(s)
		}
	})
}

// sumT sums xs with four accumulators.
func sumT[T Float](xs []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		s0 += xs[i]
		s1 += xs[i+1]
		s2 += xs[i+2]
		s3 += xs[i+3]
	}
	for ; i < len(xs); i++ {
		s0 += xs[i]
	}
	return s0 + s1 + s2 + s3
}

// siluForward computes y = x*sigmoid(x).
func siluForward[T Float](x, y []T) {
	parallelDynamic(len(x), elemChunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			y[i] = v * sigmoid(v)
		}
	})
}

// siluBackward computes dx = dy * s*(1 + x*(1-s)) with s = sigmoid(x).
func siluBackward[T Float](x, dy, dx []T) {
	parallelDynamic(len(x), elemChunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			s := sigmoid(v)
			dx[i] = dy[i] * s * (1 + v*(1-s))
		}
	})
}

// upsample2x repeats each element of x (planes, h, w) into a 2x2 block of
// y (planes, 2h, 2w).
func upsample2x[T Float](planes, h, w int, x, y []T) {
	parallelDynamic(planes, max(1, elemChunk/max(4*h*w, 1)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp := x[pl*h*w : (pl+1)*h*w]
			yp := y[pl*4*h*w : (pl+1)*4*h*w]
			for i := 0; i < h; i++ {
				r0 := yp[(2*i)*2*w : (2*i+1)*2*w]
				for j, v := range xp[i*w : (i+1)*w] {
					r0[2*j] = v
					r0[2*j+1] = v
				}
				copy(yp[(2*i+1)*2*w:(2*i+2)*2*w], r0)
			}
		}
	})
}

// upsample2xGrad sums each 2x2 block of dy (planes, 2h, 2w) into dx.
func upsample2xGrad[T Float](planes, h, w int, dy, dx []T) {
	parallelDynamic(planes, max(1, elemChunk/max(4*h*w, 1)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dp := dy[pl*4*h*w : (pl+1)*4*h*w]
			xp := dx[pl*h*w : (pl+1)*h*w]
			for i := 0; i < h; i++ {
				r0 := dp[(2*i)*2*w : (2*i+1)*2*w]
				r1 := dp[(2*i+1)*2*w : (2*i+2)*2*w]
				xr := xp[i*w : (i+1)*w]
				for j := range xr {
					xr[j] = r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]
				}
			}
		}
	})
}

// avgPool computes y[p] = mean of x[p, :] over planes of hw elements.
func avgPool[T Float](planes, hw int, x, y []T) {
	inv := 1 / float64(hw)
	for pl := 0; pl < planes; pl++ {
		y[pl] = T(float64(sumT(x[pl*hw:(pl+1)*hw])) * inv)
	}
}

// avgPoolGrad spreads dy[p]/hw over each plane of dx.
func avgPoolGrad[T Float](planes, hw int, dy, dx []T) {
	inv := 1 / T(hw)
	for pl := 0; pl < planes; pl++ {
		v := dy[pl] * inv
		d := dx[pl*hw : (pl+1)*hw]
		for i := range d {
			d[i] = v
		}
	}
}

// concatRows writes, for each of outer rows, a's row (na elements) then
// b's row (nb elements) into y.
func concatRows[T Float](outer, na, nb int, a, b, y []T) {
	parallelDynamic(outer, max(1, elemChunk/max(na+nb, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(y[i*(na+nb):], a[i*na:(i+1)*na])
			copy(y[i*(na+nb)+na:], b[i*nb:(i+1)*nb])
		}
	})
}

// sliceRows copies elements [lo, hi) of each row of width w in dy to dx.
func sliceRows[T Float](outer, w, lo, hi int, dy, dx []T) {
	n := hi - lo
	parallelDynamic(outer, max(1, elemChunk/max(n, 1)), func(r0, r1 int) {
		for i := r0; i < r1; i++ {
			copy(dx[i*n:(i+1)*n], dy[i*w+lo:i*w+hi])
		}
	})
}

// addInto writes y = a + b elementwise.
func addInto[T Float](a, b, y []T) {
	parallelDynamic(len(a), elemChunk, func(lo, hi int) {
		ys, bs := y[lo:hi], b[lo:hi]
		for i, v := range a[lo:hi] {
			ys[i] = v + bs[i]
		}
	})
}

// bceMasked returns sum(m*bce(l, t))/sum(m) over entries with m > 0, where
// bce(l, t) = max(l,0) - l*t + log(1+e^-|l|) is the stable binary cross
// entropy with logits, and the weight total sum(m).
func bceMasked[T Float](l, t, m []T) (loss, wsum float64) {
	var s float64
	for i, lv := range l {
		w := float64(m[i])
		if !(w > 0) {
			continue
		}
		x := float64(lv)
		s += w * (math.Max(x, 0) - x*float64(t[i]) + math.Log1p(math.Exp(-math.Abs(x))))
		wsum += w
	}
	if wsum == 0 {
		return 0, 0
	}
	return s / wsum, wsum
}

// bceMaskedGrad writes dl = g * m*(sigmoid(l) - t)/sum(m) for m > 0 and 0
// elsewhere.
func bceMaskedGrad[T Float](g float64, l, t, m, dl []T) {
	var wsum float64
	for _, w := range m {
		if w > 0 {
			wsum += float64(w)
		}
	}
	if wsum == 0 {
		clear(dl)
		return
	}
	scale := g / wsum
	for i, lv := range l {
		w := float64(m[i])
		if !(w > 0) {
			dl[i] = 0
			continue
		}
		dl[i] = T(scale * w * (float64(sigmoid(lv)) - float64(t[i])))
	}
}

// sumBlock is the block size of blockSum's fixed partition.
const sumBlock = 1 << 14

// blockSum returns the sum over i in [0, n) of f's partial sums over
// fixed blocks of sumBlock indices, computed in parallel and added in block
// order, so the result does not depend on the scheduling or thread count.
func blockSum(n int, f func(lo, hi int) float64) float64 {
	nb := (n + sumBlock - 1) / sumBlock
	if nb <= 1 {
		return f(0, n)
	}
	parts := make([]float64, nb)
	parallelDynamic(nb, 1, func(b0, b1 int) {
		for b := b0; b < b1; b++ {
			parts[b] = f(b*sumBlock, min((b+1)*sumBlock, n))
		}
	})
	var s float64
	for _, v := range parts {
		s += v
	}
	return s
}

// mse returns mean((a-b)^2) accumulated in float64.
func mse[T Float](a, b []T) float64 {
	if len(a) == 0 {
		return 0
	}
	s := blockSum(len(a), func(lo, hi int) float64 {
		var s float64
		for i, av := range a[lo:hi] {
			d := float64(av - b[lo+i])
			s += d * d
		}
		return s
	})
	return s / float64(len(a))
}

// mseGrad writes da = 2g(a-b)/n and db = -da; either may be nil.
func mseGrad[T Float](g float64, a, b, da, db []T) {
	if len(a) == 0 {
		return
	}
	s := T(2 * g / float64(len(a)))
	parallelDynamic(len(a), elemChunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d := s * (a[i] - b[i])
			if da != nil {
				da[i] = d
			}
			if db != nil {
				db[i] = -d
			}
		}
	})
}
