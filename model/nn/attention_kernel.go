package nn

import "math"

// HeadLayout locates the matrix of one (batch item, head) inside a flat
// buffer: it starts at Base + b*BatchStride + h*HeadStride.
type HeadLayout struct {
	Base, BatchStride, HeadStride int
}

func (hl HeadLayout) at(b, h int) int { return hl.Base + b*hl.BatchStride + h*hl.HeadStride }

// AttnParams describes scaled dot-product attention over Batch*Heads
// independent (query, key, value) triples of L tokens with D features.
// Each matrix is stored (L, D) row-major, or (D, L) when ChannelMajor is
// set, as the channels of an NCHW feature map are. The gradients of Q, K
// and V use the layouts of Q, K and V.
type AttnParams struct {
	Batch, Heads, L, D int
	ChannelMajor       bool
	Q, K, V, O         HeadLayout
}

// loadHead copies one head matrix into dst as (L, D) row-major.
func loadHead[T Float](p AttnParams, src []T, off int, dst []T) {
	if !p.ChannelMajor {
		copy(dst, src[off:off+p.L*p.D])
		return
	}
	for d := 0; d < p.D; d++ {
		row := src[off+d*p.L : off+(d+1)*p.L]
		for l, v := range row {
			dst[l*p.D+d] = v
		}
	}
}

// storeHead writes an (L, D) row-major matrix back in the stored layout.
func storeHead[T Float](p AttnParams, m []T, dst []T, off int) {
	if !p.ChannelMajor {
		copy(dst[off:off+p.L*p.D], m)
		return
	}
	for d := 0; d < p.D; d++ {
		row := dst[off+d*p.L : off+(d+1)*p.L]
		for l := range row {
			row[l] = m[l*p.D+d]
		}
	}
}

// softmaxRows turns each row of s (rows x n) into a probability vector.
func softmaxRows[T Float](s []T, rows, n int) {
	for i := 0; i < rows; i++ {
		r := s[i*n : (i+1)*n]
		mx := r[0]
		for _, v := range r {
			mx = max(mx, v)
		}
		var sum T
		for j, v := range r {
			e := expT(v - mx)
			r[j] = e
			sum += e
		}
		inv := 1 / sum
		for j := range r {
			r[j] *= inv
		}
	}
}

// attnProbs computes P = softmax(Q K^T / sqrt(D)) for one head.
func attnProbs[T Float](p AttnParams, q, k, s []T) {
	scale := T(1 / math.Sqrt(float64(p.D)))
	gemm(false, true, p.L, p.L, p.D, scale, q, p.D, k, p.D, 0, s, p.L)
	softmaxRows(s, p.L, p.L)
}

// attentionForward computes O = softmax(Q K^T / sqrt(D)) V for every head,
// heads split across workers.
func attentionForward[T Float](p AttnParams, q, k, v, o []T) {
	ld, ll := p.L*p.D, p.L*p.L
	parallelDynamic(p.Batch*p.Heads, 1, func(lo, hi int) {
		buf := getScratch[T](4*ld + ll)
		defer putScratch(buf)
		qm, km, vm, om, s := buf[:ld], buf[ld:2*ld], buf[2*ld:3*ld], buf[3*ld:4*ld], buf[4*ld:]
		for it := lo; it < hi; it++ {
			b, h := it/p.Heads, it%p.Heads
			loadHead(p, q, p.Q.at(b, h), qm)
			loadHead(p, k, p.K.at(b, h), km)
			loadHead(p, v, p.V.at(b, h), vm)
			attnProbs(p, qm, km, s)
			gemm(false, false, p.L, p.D, p.L, 1, s, p.L, vm, p.D, 0, om, p.D)
			storeHead(p, om, o, p.O.at(b, h))
		}
	})
}

// attentionBackward computes dQ, dK and dV from dO, recomputing the
// attention probabilities.
func attentionBackward[T Float](p AttnParams, q, k, v, do, dq, dk, dv []T) {
	ld, ll := p.L*p.D, p.L*p.L
	scale := T(1 / math.Sqrt(float64(p.D)))
	parallelDynamic(p.Batch*p.Heads, 1, func(lo, hi int) {
		buf := getScratch[T](7*ld + 2*ll)
		defer putScratch(buf)
		qm, km, vm, dom := buf[:ld], buf[ld:2*ld], buf[2*ld:3*ld], buf[3*ld:4*ld]
		dqm, dkm, dvm := buf[4*ld:5*ld], buf[5*ld:6*ld], buf[6*ld:7*ld]
		s, dp := buf[7*ld:7*ld+ll], buf[7*ld+ll:]
		for it := lo; it < hi; it++ {
			b, h := it/p.Heads, it%p.Heads
			loadHead(p, q, p.Q.at(b, h), qm)
			loadHead(p, k, p.K.at(b, h), km)
			loadHead(p, v, p.V.at(b, h), vm)
			loadHead(p, do, p.O.at(b, h), dom)
			attnProbs(p, qm, km, s)
			gemm(true, false, p.L, p.D, p.L, 1, s, p.L, dom, p.D, 0, dvm, p.D)
			gemm(false, true, p.L, p.L, p.D, 1, dom, p.D, vm, p.D, 0, dp, p.L)
			for i := 0; i < p.L; i++ {
				pr, dr := s[i*p.L:(i+1)*p.L], dp[i*p.L:(i+1)*p.L]
				var dot T
				for j, pv := range pr {
					dot += pv * dr[j]
				}
				for j, pv := range pr {
					dr[j] = pv * (dr[j] - dot)
				}
			}
			gemm(false, false, p.L, p.D, p.L, scale, dp, p.L, km, p.D, 0, dqm, p.D)
			gemm(true, false, p.L, p.D, p.L, scale, dp, p.L, qm, p.D, 0, dkm, p.D)
			storeHead(p, dqm, dq, p.Q.at(b, h))
			storeHead(p, dkm, dk, p.K.at(b, h))
			storeHead(p, dvm, dv, p.V.at(b, h))
		}
	})
}
