package opencl

import "errors"

// errorsJoin is errors.Join (short for the argument checks).
func errorsJoin(errs ...error) error { return errors.Join(errs...) }

// EMA folds w into the average: ema = d*ema + (1-d)*w, as
// model/optim.EMA.Update with that update's decay d.
func (o *Ops) EMA(d float64, w, ema *Buffer) error {
	if err := sameLen("ema", w.Len(), w, ema); err != nil {
		return err
	}
	return o.launch1("ema_f32", w.Len(), int32(w.Len()), float32(d), float32(1-d), w, ema)
}

// sumsqParts bounds the work-groups of a long sum of squares' first
// stage; sumsqSplit is the length from which it is split in two stages.
const (
	sumsqParts = 512
	sumsqSplit = 1 << 16
)

// SumSquares adds the sum of squares of every buffer to out[at], in order
// (out[at] must hold the starting value, usually 0: see Fill). A long
// buffer is reduced in two stages: partial sums over up to 512
// work-groups, then their sum in order (deterministic).
func (o *Ops) SumSquares(out *Buffer, at int, xs ...*Buffer) error {
	if err := statsSlot("sum of squares", out, at, 1); err != nil {
		return err
	}
	for _, x := range xs {
		if err := sameLen("sum of squares", x.Len(), x); err != nil {
			return err
		}
		if x.Len() < sumsqSplit {
			if err := o.kernels["sumsq_acc_f32"].Launch([]int{reduceGroup}, []int{reduceGroup}, int32(x.Len()), x, out, int32(at)); err != nil {
				return err
			}
			continue
		}
		if err := o.sumSquaresSplit(x, out, at); err != nil {
			return err
		}
	}
	return nil
}

// sumSquaresSplit is SumSquares' two-stage reduction of one long buffer.
func (o *Ops) sumSquaresSplit(x, out *Buffer, at int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	parts := min(sumsqParts, (x.Len()+sumsqSplit/16-1)/(sumsqSplit/16))
	part, err := o.scratch("sumsq_part", sumsqParts)
	if err != nil {
		return err
	}
	if err := o.kernels["sumsq_part_f32"].Launch([]int{parts * reduceGroup}, []int{reduceGroup}, int32(x.Len()), x, part); err != nil {
		return err
	}
	return o.kernels["sum_acc_f32"].Launch([]int{reduceGroup}, []int{reduceGroup}, int32(parts), part, out, int32(at))
}

// ClipGradients scales the gradients in place by model/optim.Adam's
// clipping factor for maxNorm (maxNorm / global norm when the norm exceeds
// it), computed on the device: out[at] gets the squared global norm and
// out[at+1] the factor. Nothing is read back.
func (o *Ops) ClipGradients(maxNorm float32, out *Buffer, at int, grads ...*Buffer) error {
	if err := statsSlot("clip", out, at, 2); err != nil {
		return err
	}
	if err := o.launch1("fill_f32", 1, int32(1), float32(0), out, int32(at)); err != nil {
		return err
	}
	if err := o.SumSquares(out, at, grads...); err != nil {
		return err
	}
	if err := o.launch1("clip_scale_f32", 1, maxNorm, out, int32(at)); err != nil {
		return err
	}
	for _, g := range grads {
		if err := o.launch1("scale_by_f32", g.Len(), int32(g.Len()), out, int32(at+1), g); err != nil {
			return err
		}
	}
	return nil
}

// Fill sets every value of x to v.
func (o *Ops) Fill(v float32, x *Buffer) error {
	if err := sameLen("fill", x.Len(), x); err != nil {
		return err
	}
	return o.launch1("fill_f32", x.Len(), int32(x.Len()), v, x, int32(0))
}

// Prox adds FedProx's proximal gradient to g where mask is 1 (0: a
// tensor without the term): g += mu*mask*(p - anchor), as
// model/optim.AddProximal (the difference taken first).
func (o *Ops) Prox(mu float32, p, anchor, mask, g *Buffer) error {
	if err := sameLen("prox", p.Len(), p, anchor, mask, g); err != nil {
		return err
	}
	return o.launch1("prox_f32", p.Len(), int32(p.Len()), mu, p, anchor, mask, g)
}

// Copy copies x into y (of the same length).
func (o *Ops) Copy(x, y *Buffer) error {
	if err := sameLen("copy", x.Len(), x, y); err != nil {
		return err
	}
	return o.launch1("copy_f32", x.Len(), int32(x.Len()), x, y)
}

// DenoiseStep is one step of a diffusion sampler as DenoiseStep runs it,
// with model/ddpm's conventions: Images images of Pixels values; with
// Guidance (Doubled) v and x hold the conditional then the unconditional
// halves, guided = c + W*(c - u), rescaled by Rescale (phi) to the
// conditional std; x0 = SqrtAbar*x - SqrtOneMinus*v and
// eps = SqrtOneMinus*x + SqrtAbar*v (x0 clamped to [-1, 1] when Clip);
// x' = C0*x0 + CEps*eps + CX*x + SD*z.
type DenoiseStep struct {
	Images, Pixels         int
	Doubled                bool
	W, Rescale             float64
	SqrtAbar, SqrtOneMinus float64
	Clip                   bool
	C0, CEps, CX, SD       float64
}

// Denoise applies s to x in place from the predictions v, with noise z
// (Images*Pixels values; nil when s.SD is 0) and scale, scratch of Images
// values for the guidance rescale.
func (o *Ops) Denoise(s DenoiseStep, v, x, z, scale *Buffer) error {
	m := s.Images
	if s.Doubled {
		m *= 2
	}
	if err := errorsJoin(dims("denoise", s.Images, s.Pixels), sameLen("denoise v/x", m*s.Pixels, v, x), sameLen("denoise scale", s.Images, scale)); err != nil {
		return err
	}
	if s.SD != 0 {
		if err := sameLen("denoise noise", s.Images*s.Pixels, z); err != nil {
			return err
		}
	} else {
		z = x // not read
	}
	if s.Doubled && s.Rescale != 0 {
		if err := o.kernels["guide_scale_f32"].Launch([]int{s.Images * reduceGroup}, []int{reduceGroup},
			int32(s.Images), int32(s.Pixels), float32(s.W), float32(s.Rescale), v, scale); err != nil {
			return err
		}
	} else if err := o.Fill(1, scale); err != nil {
		return err
	}
	n := s.Images * s.Pixels
	return o.launch1("denoise_step_f32", n, int32(s.Images), int32(s.Pixels), b2i(s.Doubled), float32(s.W), scale, v, x,
		float32(s.SqrtAbar), float32(s.SqrtOneMinus), b2i(s.Clip), float32(s.C0), float32(s.CEps), float32(s.CX), float32(s.SD), z)
}
