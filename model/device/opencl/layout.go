package opencl

import "fmt"

// dims checks that every count is positive.
func dims(op string, xs ...int) error {
	for _, x := range xs {
		if x <= 0 {
			return fmt.Errorf("opencl: %s: dimensions %v: %w", op, xs, ErrInvalidValue)
		}
	}
	return nil
}

// itemGroup is the work-group size of the one-work-item-per-value kernels.
// A fixed size (the global size rounded up to it; every such kernel guards
// its index) means one compiled variant per kernel: pocl compiles a kernel
// for each local size it is launched with, and with the size left to the
// driver each new tensor length cost a compilation (a cold make test took
// minutes).
const itemGroup = 64

// launch1 runs a one-work-item-per-output kernel over n outputs.
func (o *Ops) launch1(name string, n int, args ...any) error {
	local := min(itemGroup, int(o.c.dev.MaxWorkGroupSize))
	return o.kernels[name].Launch([]int{(n + local - 1) / local * local}, []int{local}, args...)
}

// ChannelAdd computes y[n,c,:] = x[n,c,:] + b[c], or + b[n,c] when
// perSample, over n samples of c channels of hw values.
func (o *Ops) ChannelAdd(n, c, hw int, perSample bool, x, b, y *Buffer) error {
	if err := dims("channel add", n, c, hw); err != nil {
		return err
	}
	nb := c
	if perSample {
		nb = n * c
	}
	if err := errorsJoin(sameLen("channel add", n*c*hw, x, y), sameLen("channel add bias", nb, b)); err != nil {
		return err
	}
	return o.launch1("channel_add_f32", n*c*hw, int32(n), int32(c), int32(hw), b2i(perSample), x, b, y)
}

// ChannelSum is ChannelAdd's bias gradient: db[c] sums dy over samples and
// positions (db[n,c] over positions when perSample).
func (o *Ops) ChannelSum(n, c, hw int, perSample bool, dy, db *Buffer) error {
	if err := dims("channel sum", n, c, hw); err != nil {
		return err
	}
	nb := c
	if perSample {
		nb = n * c
	}
	if err := errorsJoin(sameLen("channel sum", n*c*hw, dy), sameLen("channel sum out", nb, db)); err != nil {
		return err
	}
	return o.launch1("channel_sum_f32", nb, int32(n), int32(c), int32(hw), b2i(perSample), dy, db)
}

// Upsample2x repeats each value of x (planes, h, w) into a 2x2 block of y.
func (o *Ops) Upsample2x(planes, h, w int, x, y *Buffer) error {
	if err := dims("upsample", planes, h, w); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("upsample x", planes*h*w, x), sameLen("upsample y", 4*planes*h*w, y)); err != nil {
		return err
	}
	return o.launch1("upsample2x_f32", 4*planes*h*w, int32(planes), int32(h), int32(w), x, y)
}

// Upsample2xGrad sums each 2x2 block of dy into dx.
func (o *Ops) Upsample2xGrad(planes, h, w int, dy, dx *Buffer) error {
	if err := dims("upsample grad", planes, h, w); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("upsample grad dy", 4*planes*h*w, dy), sameLen("upsample grad dx", planes*h*w, dx)); err != nil {
		return err
	}
	return o.launch1("upsample2x_grad_f32", planes*h*w, int32(planes), int32(h), int32(w), dy, dx)
}

// AvgPool computes y[p] = the mean of plane p of x (hw values each).
func (o *Ops) AvgPool(planes, hw int, x, y *Buffer) error {
	if err := dims("avgpool", planes, hw); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("avgpool x", planes*hw, x), sameLen("avgpool y", planes, y)); err != nil {
		return err
	}
	return o.launch1("avgpool_f32", planes, int32(planes), int32(hw), x, y)
}

// AvgPoolGrad spreads dy[p]/hw over plane p of dx.
func (o *Ops) AvgPoolGrad(planes, hw int, dy, dx *Buffer) error {
	if err := dims("avgpool grad", planes, hw); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("avgpool grad dy", planes, dy), sameLen("avgpool grad dx", planes*hw, dx)); err != nil {
		return err
	}
	return o.launch1("avgpool_grad_f32", planes*hw, int32(planes), int32(hw), dy, dx)
}

// Concat writes, for each of outer rows, a's row (na values) then b's row
// (nb values) into y.
func (o *Ops) Concat(outer, na, nb int, a, b, y *Buffer) error {
	if err := dims("concat", outer, na, nb); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("concat a", outer*na, a), sameLen("concat b", outer*nb, b), sameLen("concat y", outer*(na+nb), y)); err != nil {
		return err
	}
	return o.launch1("concat_f32", outer*(na+nb), int32(outer), int32(na), int32(nb), a, b, y)
}

// SliceRows copies values [lo, hi) of each row of width w of dy into dx.
func (o *Ops) SliceRows(outer, w, lo, hi int, dy, dx *Buffer) error {
	if err := dims("slice rows", outer, w, hi-lo); err != nil || lo < 0 || hi > w {
		return fmt.Errorf("opencl: slice rows [%d,%d) of width %d: %w", lo, hi, w, ErrInvalidValue)
	}
	if err := errorsJoin(sameLen("slice rows dy", outer*w, dy), sameLen("slice rows dx", outer*(hi-lo), dx)); err != nil {
		return err
	}
	return o.launch1("slice_rows_f32", outer*(hi-lo), int32(outer), int32(w), int32(lo), int32(hi), dy, dx)
}

// SumBatch computes y[i] = the sum over b of x[b*len(y) + i], in order.
func (o *Ops) SumBatch(batch int, x, y *Buffer) error {
	n := y.Len()
	if err := errorsJoin(dims("sum batch", batch, n), sameLen("sum batch x", batch*n, x)); err != nil {
		return err
	}
	return o.launch1("sum_batch_f32", n, int32(batch), int32(n), x, y)
}

// SoftmaxRows replaces each of rows rows of n values of s by its softmax.
func (o *Ops) SoftmaxRows(rows, n int, s *Buffer) error {
	if err := errorsJoin(dims("softmax", rows, n), sameLen("softmax", rows*n, s)); err != nil {
		return err
	}
	return o.launch1("softmax_rows_f32", rows, int32(rows), int32(n), s)
}

// SoftmaxGradRows turns d = dL/dp into dL/ds = p*(d - sum(p*d)) per row,
// in place, where p is the softmax output.
func (o *Ops) SoftmaxGradRows(rows, n int, p, d *Buffer) error {
	if err := errorsJoin(dims("softmax grad", rows, n), sameLen("softmax grad", rows*n, p, d)); err != nil {
		return err
	}
	return o.launch1("softmax_grad_rows_f32", rows, int32(rows), int32(n), p, d)
}
