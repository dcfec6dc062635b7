package nn

// linearChunk is the smallest number of multiply-adds per worker for the
// fully connected kernels.
const linearChunk = 1 << 18

// linearForward computes y (n,out) = x (n,in) * w^T, w being (out,in) as in
// PyTorch's nn.Linear. Rows of x are split across workers.
func linearForward[T Float](n, in, out int, x, w, y []T) {
	parallelDynamic(n, max(1, linearChunk/max(in*out, 1)), func(lo, hi int) {
		gemm(false, true, hi-lo, out, in, 1, x[lo*in:hi*in], in, w, in, 0, y[lo*out:hi*out], out)
	})
}

// linearGradX computes dx (n,in) = dy (n,out) * w.
func linearGradX[T Float](n, in, out int, w, dy, dx []T) {
	parallelDynamic(n, max(1, linearChunk/max(in*out, 1)), func(lo, hi int) {
		gemm(false, false, hi-lo, in, out, 1, dy[lo*out:hi*out], out, w, in, 0, dx[lo*in:hi*in], in)
	})
}

// linearGradW computes dw (out,in) = dy^T * x. Rows of dw are split across
// workers.
func linearGradW[T Float](n, in, out int, x, dy, dw []T) {
	parallelDynamic(out, max(1, linearChunk/max(n*in, 1)), func(lo, hi int) {
		gemm(true, false, hi-lo, in, n, 1, dy[lo:], out, x, in, 0, dw[lo*in:hi*in], in)
	})
}
