package opencl

import "fmt"

// normGroup is NG of kernels/norm.cl.
const normGroup = 256

// NormShape is model/nn's NormParams: x is (N, C, HW) with C/Groups
// channels per group, SiLU fused after the affine.
type NormShape struct {
	N, C, HW, Groups int
	Eps              float64
	SiLU             bool
}

func (p NormShape) check(op string) error {
	if p.N <= 0 || p.C <= 0 || p.HW <= 0 || p.Groups <= 0 || p.C%p.Groups != 0 || !(p.Eps > 0) {
		return fmt.Errorf("opencl: %s %+v: %w", op, p, ErrInvalidValue)
	}
	return nil
}

// GroupNormStats writes each (sample, group)'s mean and 1/sqrt(var+eps) at
// stats[2*(n*Groups+g)] (2*N*Groups values).
func (o *Ops) GroupNormStats(p NormShape, x, stats *Buffer) error {
	if err := p.check("groupnorm stats"); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("groupnorm x", p.N*p.C*p.HW, x), sameLen("groupnorm stats", 2*p.N*p.Groups, stats)); err != nil {
		return err
	}
	groups := p.N * p.Groups
	return o.kernels["groupnorm_stats_f32"].Launch([]int{groups * normGroup}, []int{normGroup},
		int32(p.C), int32(p.HW), int32(p.Groups), float32(p.Eps), x, stats)
}

// GroupNorm computes y = [SiLU](gamma*(x-mean)*rstd + beta), writing the
// statistics into stats for GroupNormGrad: the fused GroupNorm+SiLU is two
// launches (the statistics' reduction, then one pass over x).
func (o *Ops) GroupNorm(p NormShape, x, gamma, beta, y, stats *Buffer) error {
	if err := o.GroupNormStats(p, x, stats); err != nil {
		return err
	}
	if err := errorsJoin(sameLen("groupnorm y", p.N*p.C*p.HW, y), sameLen("groupnorm gamma/beta", p.C, gamma, beta)); err != nil {
		return err
	}
	n := p.N * p.C * p.HW
	return o.launch1("groupnorm_apply_f32", n, int32(p.N), int32(p.C), int32(p.HW), int32(p.Groups), b2i(p.SiLU),
		x, gamma, beta, stats, y)
}

// GroupNormGrad computes dx, dgamma and dbeta from dy with the forward's
// stats; acc is scratch of 2*N*C values (the per-sample parameter sums,
// added in sample order).
func (o *Ops) GroupNormGrad(p NormShape, x, gamma, beta, stats, dy, dx, dgamma, dbeta, acc *Buffer) error {
	if err := p.check("groupnorm grad"); err != nil {
		return err
	}
	n := p.N * p.C * p.HW
	if err := errorsJoin(sameLen("groupnorm grad", n, x, dy, dx), sameLen("groupnorm grad params", p.C, gamma, beta, dgamma, dbeta),
		sameLen("groupnorm grad stats", 2*p.N*p.Groups, stats), sameLen("groupnorm grad scratch", 2*p.N*p.C, acc)); err != nil {
		return err
	}
	if err := o.kernels["groupnorm_grad_f32"].Launch([]int{p.N * p.Groups * normGroup}, []int{normGroup},
		int32(p.C), int32(p.HW), int32(p.Groups), b2i(p.SiLU), x, gamma, beta, stats, dy, dx, acc); err != nil {
		return err
	}
	return o.launch1("groupnorm_param_grad_f32", p.C, int32(p.N), int32(p.C), acc, dgamma, dbeta)
}
