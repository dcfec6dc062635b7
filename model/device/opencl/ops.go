package opencl

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
)

//go:embed kernels/*.cl
var kernelFS embed.FS

// Source returns the OpenCL C source of every kernel synthfed ships, the
// files of kernels/ in name order.
func Source() string {
	names, err := fs.Glob(kernelFS, "kernels/*.cl")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		src, err := kernelFS.ReadFile(n)
		if err != nil {
			panic(err) // embedded
		}
		fmt.Fprintf(&b, "// ---- %s\n%s\n", n, src)
	}
	return b.String()
}

// kernelNames are the __kernel functions of Source.
var kernelNames = []string{
	"add_f32", "mul_f32", "mul_grad_f32", "silu_f32", "silu_grad_f32",
	"sgemm_f32", "sgemm_rt_f32", "adamw_f32", "axpy_f32",
	"bce_masked_f32", "bce_masked_grad_f32", "mse_f32", "mse_grad_f32",
	"logreg_norm_input_f32", "logreg_norm_grad_f32",
	"channel_add_f32", "channel_sum_f32", "upsample2x_f32", "upsample2x_grad_f32", "avgpool_f32", "avgpool_grad_f32",
	"concat_f32", "slice_rows_f32", "sum_batch_f32", "im2col_f32", "col2im_f32",
	"softmax_rows_f32", "softmax_grad_rows_f32",
	"groupnorm_stats_f32", "groupnorm_apply_f32", "groupnorm_grad_f32", "groupnorm_param_grad_f32",
	"ema_f32", "sumsq_acc_f32", "clip_scale_f32", "scale_by_f32", "fill_f32", "prox_f32", "copy_f32", "guide_scale_f32", "denoise_step_f32", "sumsq_part_f32", "sum_acc_f32",
}

// Ops runs synthfed's device kernels on one context. Each op enqueues and
// returns: results are there for a later Buffer.Read (same in-order queue)
// or after Context.Finish.
type Ops struct {
	c       *Context
	prog    *Program
	kernels map[string]*Kernel

	// GEMM, when set, forces the GEMM kernel (GEMMTiled16 or
	// GEMMRegister64) instead of the choice by size; set it before use.
	GEMM string

	// mu serialises the ops that use scratch buffers.
	mu          sync.Mutex
	scratchBufs map[string]*Buffer
}

// NewOps compiles Source on c's device and creates every kernel.
func NewOps(c *Context) (*Ops, error) {
	prog, err := c.Build(Source(), "-cl-std=CL1.2")
	if err != nil {
		return nil, err
	}
	o := &Ops{c: c, prog: prog, kernels: map[string]*Kernel{}, scratchBufs: map[string]*Buffer{}}
	for _, n := range kernelNames {
		k, err := prog.Kernel(n)
		if err != nil {
			o.Release()
			return nil, err
		}
		o.kernels[n] = k
	}
	return o, nil
}

// Context returns the context the ops run on.
func (o *Ops) Context() *Context { return o.c }

// Release frees the kernels and the program.
func (o *Ops) Release() error {
	var errs []error
	for _, k := range o.kernels {
		errs = append(errs, k.Release())
	}
	for _, b := range o.scratchBufs {
		errs = append(errs, b.Release())
	}
	errs = append(errs, o.prog.Release())
	return errors.Join(errs...)
}

// sameLen checks that every buffer holds n values.
func sameLen(op string, n int, bufs ...*Buffer) error {
	for i, b := range bufs {
		if b == nil {
			return fmt.Errorf("opencl: %s: buffer %d is nil: %w", op, i, ErrInvalidMemObject)
		}
		if b.Len() != n {
			return fmt.Errorf("opencl: %s: buffer %d holds %d values, want %d: %w", op, i, b.Len(), n, ErrInvalidValue)
		}
	}
	return nil
}
