package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opBase holds what every op in this package shares: a name, the integer
// parameters that distinguish two instances, and an instance id for ops
// that carry state between forward and backward nodes. It supplies the
// bookkeeping methods of gorgonia.Op.
type opBase struct {
	kind   string
	params []int
	uid    uint64
	k      Kernels
}

// nextUID numbers stateful op instances so that gorgonia never merges two
// of them into one node.
var nextUID atomic.Uint64

func newBase(kind string, stateful bool, params ...int) opBase {
	b := opBase{kind: kind, params: params, k: currentKernels()}
	if stateful {
		b.uid = nextUID.Add(1)
	}
	return b
}

// ReturnsPtr reports false: every op returns its own buffer.
func (b *opBase) ReturnsPtr() bool { return false }

// CallsExtern reports false so that gorgonia inserts no allocation or flush
// instructions around the op; the kernels manage their own memory.
func (b *opBase) CallsExtern() bool { return false }

// OverwritesInput reports -1: no op writes into its inputs.
func (b *opBase) OverwritesInput() int { return -1 }

// WriteHash writes the op's identity into h.
func (b *opBase) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.%s%v#%d", b.kind, b.params, b.uid)
}

// Hashcode returns the FNV-1a hash of WriteHash's output.
func (b *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}

// String names the op and its parameters.
func (b *opBase) String() string { return fmt.Sprintf("nn.%s%v", b.kind, b.params) }

// tensorType is the type of a float tensor of rank dims.
func tensorType(dims int) hm.Type {
	return gorgonia.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

// fnType builds the function type of an op from argument types and a result.
func fnType(ts ...hm.Type) hm.Type { return hm.NewFnType(ts...) }

// scalarType is the type of a float scalar.
func scalarType() hm.Type { return hm.TypeVariable('a') }

// outBuf is an op's reusable output tensor. The same buffer is returned
// every run, so steady-state training allocates nothing for the op; it is
// reshaped back when a downstream in-place reshape changed its shape.
type outBuf struct{ t *tensor.Dense }

func (o *outBuf) get(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	if o.t != nil && o.t.Dtype() == dt && o.t.DataSize() == shape.TotalSize() {
		if !o.t.Shape().Eq(shape) {
			if err := o.t.Reshape(shape...); err == nil {
				return o.t
			}
		} else {
			return o.t
		}
	}
	o.t = tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
	return o.t
}

// shapeOf returns the shape of a DimSizer known to be a tensor.Shape.
func shapeOf(d gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%w: %v is not a tensor shape", ErrShape, d)
	}
	return s.Clone(), nil
}

// dtypeOf returns the dtype shared by vs, which must be float32 or float64
// tensors or scalars.
func dtypeOf(op string, vs ...gorgonia.Value) (tensor.Dtype, error) {
	var dt tensor.Dtype
	for i, v := range vs {
		d := v.Dtype()
		if d != tensor.Float32 && d != tensor.Float64 {
			return dt, fmt.Errorf("%w: %s input %d is %v", ErrDtype, op, i, d)
		}
		if i > 0 && d != dt {
			return dt, fmt.Errorf("%w: %s mixes %v and %v", ErrDtype, op, dt, d)
		}
		dt = d
	}
	return dt, nil
}

// nodeDtype returns the dtype of a node, checking it is float32 or float64.
func nodeDtype(op string, ns ...*gorgonia.Node) (tensor.Dtype, error) {
	var dt tensor.Dtype
	for i, n := range ns {
		d := n.Dtype()
		if d != tensor.Float32 && d != tensor.Float64 {
			return dt, fmt.Errorf("%w: %s input %d (%s) is %v", ErrDtype, op, i, n.Name(), d)
		}
		if i > 0 && d != dt {
			return dt, fmt.Errorf("%w: %s mixes %v and %v", ErrDtype, op, dt, d)
		}
		dt = d
	}
	return dt, nil
}

// dense returns v as a *tensor.Dense whose data length is want.
func dense(op string, i int, v gorgonia.Value, want int) (*tensor.Dense, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%w: %s input %d is %T, want a dense tensor", ErrShape, op, i, v)
	}
	if t.IsView() {
		t = t.Materialize().(*tensor.Dense)
	}
	if t.DataSize() != want {
		return nil, fmt.Errorf("%w: %s input %d has %d elements, want %d", ErrShape, op, i, t.DataSize(), want)
	}
	return t, nil
}

// scalarValue returns the float value of a scalar Value (gorgonia scalar or
// 0-d/1-element tensor).
func scalarValue(op string, v gorgonia.Value) (float64, error) {
	switch s := v.(type) {
	case *gorgonia.F32:
		return float64(*s), nil
	case *gorgonia.F64:
		return float64(*s), nil
	case *tensor.Dense:
		if s.DataSize() == 1 {
			switch d := s.Data().(type) {
			case float32:
				return float64(d), nil
			case float64:
				return d, nil
			case []float32:
				return float64(d[0]), nil
			case []float64:
				return d[0], nil
			}
		}
	}
	return 0, fmt.Errorf("%w: %s wants a scalar gradient, got %T", ErrShape, op, v)
}

// newScalar returns a gorgonia scalar value of dtype dt.
func newScalar(dt tensor.Dtype, v float64) gorgonia.Value {
	if dt == tensor.Float32 {
		return gorgonia.NewF32(float32(v))
	}
	return gorgonia.NewF64(v)
}

// sharedGrads carries gradients that one backward node computes for several
// inputs at once; gradPartOp nodes hand them out.
type sharedGrads struct {
	parts []outBuf
}

// gradPartOp returns part idx of the gradients computed by the backward
// node it takes as its only input. The dependency on that node orders the
// two in the tape.
type gradPartOp struct {
	opBase
	src   *sharedGrads
	idx   int
	shape tensor.Shape
	dims  int
	in    int
}

func newGradPart(src *sharedGrads, idx int, primary *gorgonia.Node, shape tensor.Shape) (*gorgonia.Node, error) {
	op := &gradPartOp{opBase: newBase("gradPart", true, idx), src: src, idx: idx, shape: shape.Clone(),
		dims: shape.Dims(), in: primary.Dims()}
	return gorgonia.ApplyOp(op, primary)
}

// Arity is 1: the primary backward node.
func (op *gradPartOp) Arity() int { return 1 }

// Type maps the primary's type to a tensor of the part's rank.
func (op *gradPartOp) Type() hm.Type { return fnType(tensorType(op.in), tensorType(op.dims)) }

// InferShape returns the part's shape.
func (op *gradPartOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

// Do returns the stored part.
func (op *gradPartOp) Do(...gorgonia.Value) (gorgonia.Value, error) {
	t := op.src.parts[op.idx].t
	if t == nil {
		return nil, fmt.Errorf("%w: gradient part %d read before it was computed", ErrArg, op.idx)
	}
	return t, nil
}
