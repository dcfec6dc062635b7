package opencl

// elementwise launches a one-work-item-per-element kernel over n values.
func (o *Ops) elementwise(name string, n int, bufs ...*Buffer) error {
	if err := sameLen(name, n, bufs...); err != nil {
		return err
	}
	args := make([]any, 0, len(bufs)+1)
	args = append(args, int32(n))
	for _, b := range bufs {
		args = append(args, b)
	}
	return o.launch1(name, n, args...)
}

// Add computes out = a + b elementwise (its gradient passes dy through to
// both inputs, so it has no kernel of its own).
func (o *Ops) Add(a, b, out *Buffer) error { return o.elementwise("add_f32", a.Len(), a, b, out) }

// Mul computes out = a * b elementwise.
func (o *Ops) Mul(a, b, out *Buffer) error { return o.elementwise("mul_f32", a.Len(), a, b, out) }

// MulGrad computes the gradients of out = a*b: da = dy*b, db = dy*a.
func (o *Ops) MulGrad(a, b, dy, da, db *Buffer) error {
	return o.elementwise("mul_grad_f32", a.Len(), a, b, dy, da, db)
}

// SiLU computes out = x * sigmoid(x).
func (o *Ops) SiLU(x, out *Buffer) error { return o.elementwise("silu_f32", x.Len(), x, out) }

// SiLUGrad computes dx = dy * s * (1 + x*(1-s)) with s = sigmoid(x).
func (o *Ops) SiLUGrad(x, dy, dx *Buffer) error {
	return o.elementwise("silu_grad_f32", x.Len(), x, dy, dx)
}

// Axpy computes y += alpha*x.
func (o *Ops) Axpy(alpha float32, x, y *Buffer) error {
	if err := sameLen("axpy", x.Len(), x, y); err != nil {
		return err
	}
	return o.launch1("axpy_f32", x.Len(), int32(x.Len()), alpha, x, y)
}
